/*
 * classify_rules.c - the Scankonzept rules engine; see classify_rules.h.
 *
 * The engine keeps its own copies of everything it needs from the parsed file
 * (terms folded once at load, regexes compiled once), so the conf tree may be freed
 * after classify_rules_load().
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "classify_rules.h"

#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "log.h"
#include "xalloc.h"

#define RULES_SEP '\x1f'	 /* separates matched terms inside a hit */
#define RULES_MATCH_LIMIT 100000 /* PCRE2 backtracking limit per match */
#define RULES_EPS 1e-9

const char *const classify_scan_mode_names[] = {"ersetzend", "kopierend", "nicht_scannen", NULL};
const char *const classify_protection_names[] = {"normal", "hoch", "sehr_hoch", NULL};
const char *const classify_region_names[] = {"whole",   "top",	  "letterhead",
					     "address", "subject", NULL};
const char *const classify_priority_names[] = {"normal", "hoch", "eilig", NULL};

enum rules_kind { RULES_ANY, RULES_ALL, RULES_EXACT, RULES_REGEX };
static const char *const rules_kind_names[] = {"any", "all", "exact", "regex"};
/* fuzzy: no | yes | auto (also false/true) */
static const char *const rules_fuzzy_names[] = {"no", "yes", "auto", "false", "true", NULL};
#define RULES_FUZZY_DEFAULT_WEIGHT 0.75

struct rules_rule {
	enum rules_kind kind;
	char **terms;  /* as written in the file (for the trace) */
	char **folded; /* folded for matching (exact: whitespace collapsed only) */
	int *maxd;     /* per term: edits allowed by fuzzy matching (0: exact only) */
	size_t n_terms;
	pcre2_code *re;
	double weight;
	enum classify_region region;
	int line;
};

struct rules_type {
	struct classify_type t;
	struct rules_rule *rules;
	size_t n_rules;
	char **not_terms, **not_folded;
	size_t n_not;
	int not_line;
};

struct classify_rules {
	double min_score, min_margin, fuzzy_weight;
	struct rules_type *types;
	size_t n;
};

/* Free a NULL-terminated or counted array of strings. */
static void rules_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

classify_rules *classify_rules_free(classify_rules *cr)
{
	size_t i, k;

	if (cr == NULL)
		return NULL;
	for (i = 0; i < cr->n; i++) {
		struct rules_type *ty = &cr->types[i];

		free((char *)ty->t.id);
		free((char *)ty->t.name);
		free((char *)ty->t.office);
		for (k = 0; k < ty->n_rules; k++) {
			rules_strv_free(ty->rules[k].terms, ty->rules[k].n_terms);
			rules_strv_free(ty->rules[k].folded, ty->rules[k].n_terms);
			free(ty->rules[k].maxd);
			pcre2_code_free(ty->rules[k].re);
		}
		free(ty->rules);
		rules_strv_free(ty->not_terms, ty->n_not);
		rules_strv_free(ty->not_folded, ty->n_not);
	}
	free(cr->types);
	free(cr);
	return NULL;
}

/* ---- folding -------------------------------------------------------------- */

/* Decode one UTF-8 sequence at s; invalid bytes decode as U+FFFD of length 1. */
static unsigned rules_utf8(const unsigned char *s, size_t *len)
{
	unsigned c = s[0], cp;
	size_t n, i;

	if (c < 0x80) {
		*len = 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		*len = 1;
		return 0xfffd;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*len = 1;
			return 0xfffd;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff)) {
		*len = 1;
		return 0xfffd;
	}
	*len = n;
	return cp;
}

/* The ASCII spelling of a Latin-1 letter (U+00C0..U+00FF), or NULL to keep it. */
static const char *rules_latin1(unsigned cp)
{
	/* clang-format off */
	static const char *const map[64] = {
	    "a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e",  "e", "i", "i", "i", "i",
	    "d", "n", "o", "o", "o",  "o", "oe", NULL, "o", "u", "u", "u", "ue", "y", "th", "ss",
	    "a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e",  "e", "i", "i", "i", "i",
	    "d", "n", "o", "o", "o",  "o", "oe", NULL, "o", "u", "u", "u", "ue", "y", "th", "y"};
	/* clang-format on */

	if (cp < 0xc0 || cp > 0xff)
		return NULL;
	return map[cp - 0xc0];
}

/* 1 for code points that fold to a space. */
static int rules_is_space(unsigned cp)
{
	return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' ||
	       cp == 0xa0 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x202f || cp == 0x3000;
}

/* 1 if the text after a hyphen at s is a line break followed by a lower-case letter
 * (a word hyphenated at the end of a line); *skip gets the bytes to drop. */
static int rules_hyphen_break(const unsigned char *s, size_t *skip)
{
	const unsigned char *p = s;
	int nl = 0;
	size_t l;
	unsigned cp;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
		if (*p == '\n')
			nl++;
		p++;
	}
	if (nl != 1)
		return 0;
	cp = rules_utf8(p, &l);
	if ((cp >= 'a' && cp <= 'z') || cp == 0xe4 || cp == 0xf6 || cp == 0xfc || cp == 0xdf) {
		*skip = (size_t)(p - s);
		return 1;
	}
	return 0;
}

int classify_rules_fold(const char *text, buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	int space = 0, any = 0;

	while (*s != '\0') {
		size_t len, skip;
		unsigned cp = rules_utf8(s, &len);
		const char *rep = NULL;
		char one[2] = {0, 0};

		s += len;
		if (rules_is_space(cp)) {
			space = 1;
			continue;
		}
		if (cp == 0xad || cp == 0x200b || cp == 0xfeff)
			continue; /* soft hyphen, zero-width space, BOM */
		if (cp == '-' && rules_hyphen_break(s, &skip)) {
			s += skip;
			continue;
		}
		if (cp < 0x80) {
			one[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
			rep = one;
		} else if ((rep = rules_latin1(cp)) != NULL) {
			;
		} else if (cp == 0x1e9e) {
			rep = "ss";
		} else if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212) {
			rep = "-";
		} else if (cp >= 0x2018 && cp <= 0x201b) {
			rep = "'";
		} else if ((cp >= 0x201c && cp <= 0x201f) || cp == 0xab || cp == 0xbb) {
			rep = "\"";
		}
		if (space && any && buf_add(out, " ", 1) == -1)
			return -1;
		space = 0;
		any = 1;
		if (rep != NULL) {
			if (buf_adds(out, rep) == -1)
				return -1;
		} else if (cp == 0xfffd && len == 1) {
			if (buf_adds(out, "\xef\xbf\xbd") == -1)
				return -1;
		} else if (buf_add(out, s - len, len) == -1) {
			return -1;
		}
	}
	if (out->data == NULL && buf_add(out, "", 0) == -1)
		return -1;
	return 0;
}

/* 1 for bytes that belong to a word (ASCII letters and digits, any non-ASCII). */
static int rules_is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

int classify_rules_find(const char *folded_text, const char *folded_term, size_t *at)
{
	size_t tl = strlen(folded_term);
	int need_l, need_r = 1;
	const char *p;

	if (tl > 0 && folded_term[tl - 1] == '*') { /* prefix term: "rechnungs*" */
		tl--;
		need_r = 0;
	}
	if (tl == 0)
		return 0;
	need_l = rules_is_word((unsigned char)folded_term[0]);
	need_r = need_r && rules_is_word((unsigned char)folded_term[tl - 1]);
	for (p = folded_text; (p = strchr(p, folded_term[0])) != NULL; p++) {
		if (strncmp(p, folded_term, tl) != 0)
			continue;
		if (need_l && p > folded_text && rules_is_word((unsigned char)p[-1]))
			continue;
		if (need_r && rules_is_word((unsigned char)p[tl]))
			continue;
		if (at != NULL)
			*at = (size_t)(p - folded_text);
		return 1;
	}
	return 0;
}

int classify_rules_top_guess(const char *text, buf *out)
{
	const char *end = strchr(text, '\f'), *p;
	size_t lines = 0, want, n = 0;

	if (end == NULL)
		end = text + strlen(text);
	for (p = text; p < end; p++)
		if (*p == '\n')
			lines++;
	if (end > text && end[-1] != '\n')
		lines++;
	want = lines / 3 < 10 ? 10 : lines / 3;
	for (p = text; p < end && n < want; p++)
		if (*p == '\n')
			n++;
	if (buf_add(out, text, (size_t)(p - text)) == -1)
		return -1;
	if (out->data == NULL && buf_add(out, "", 0) == -1)
		return -1;
	return 0;
}


/* Collapse every run of whitespace in UTF-8 text to one space (for exact: phrases,
 * which keep case and umlauts); -1 if out is full. */
static int rules_squash(const char *text, buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	int space = 0, any = 0;

	while (*s != '\0') {
		size_t len;
		unsigned cp = rules_utf8(s, &len);

		if (rules_is_space(cp)) {
			space = 1;
			s += len;
			continue;
		}
		if (space && any && buf_add(out, " ", 1) == -1)
			return -1;
		space = 0;
		any = 1;
		if (buf_add(out, s, len) == -1)
			return -1;
		s += len;
	}
	if (out->data == NULL && buf_add(out, "", 0) == -1)
		return -1;
	return 0;
}

int classify_rules_fuzzy_maxd(const char *folded_term, int option)
{
	size_t i, letters = 0, len = strlen(folded_term);

	if (option == 0 || len > CLASSIFY_FUZZY_TERM_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)folded_term[i];

		if (c >= 'a' && c <= 'z')
			letters++;
		else if (c >= '0' && c <= '9')
			return 0; /* numbers ("Amt 20") must be read right */
		else if (c >= 0x80)
			letters++; /* a letter outside Latin-1, one byte of it */
	}
	if (option == 2 && letters < CLASSIFY_FUZZY_MIN)
		return 0;
	if (option == 1 && letters < 5)
		return 0;
	return letters / CLASSIFY_FUZZY_PER > 0 ? (int)(letters / CLASSIFY_FUZZY_PER) : 1;
}

/* Length of the word (run of word bytes) at p. */
static size_t rules_word_len(const char *p)
{
	size_t n = 0;

	while (p[n] != '\0' && rules_is_word((unsigned char)p[n]))
		n++;
	return n;
}

/*
 * Bounded optimal-string-alignment distance (plus the OCR confusion m <-> rn as
 * one edit) of term t (m bytes) against every
 * prefix of s up to n bytes; the smallest distance among prefixes that end on a
 * word boundary (any prefix if prefix_ok) goes to *best_d, its length to *best_l.
 * Rows are cut off as soon as every cell exceeds maxd.
 */
static void rules_osa(const char *t, size_t m, const char *s, size_t n, int maxd, int need_r,
		      int *best_d, size_t *best_l)
{
	int rows[3][CLASSIFY_FUZZY_TERM_MAX + 2 * 8 + 2];
	int *pp = rows[0], *p = rows[1], *c = rows[2], *tmp;
	size_t i, j;

	*best_d = maxd + 1;
	*best_l = 0;
	for (j = 0; j <= n; j++)
		p[j] = (int)j;
	for (i = 1; i <= m; i++) {
		int rowmin;

		c[0] = (int)i;
		rowmin = c[0];
		for (j = 1; j <= n; j++) {
			int cost = t[i - 1] == s[j - 1] ? 0 : 1, v = p[j - 1] + cost;

			if (p[j] + 1 < v)
				v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (i > 1 && j > 1 && t[i - 1] == s[j - 2] && t[i - 2] == s[j - 1] &&
			    pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1; /* transposition */
			/* OCR reads "m" as "rn" (and back): one edit, not two */
			if (j > 1 && t[i - 1] == 'm' && s[j - 2] == 'r' && s[j - 1] == 'n' &&
			    p[j - 2] + 1 < v)
				v = p[j - 2] + 1;
			if (i > 1 && t[i - 2] == 'r' && t[i - 1] == 'n' && s[j - 1] == 'm' &&
			    pp[j - 1] + 1 < v)
				v = pp[j - 1] + 1;
			c[j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		if (rowmin > maxd)
			return;
		tmp = pp;
		pp = p;
		p = c;
		c = tmp;
	}
	for (j = 1; j <= n; j++) {
		if (p[j] > maxd || p[j] >= *best_d)
			continue;
		if (need_r && rules_is_word((unsigned char)s[j]))
			continue;
		if (!rules_is_word((unsigned char)s[j - 1]))
			continue; /* do not end on the space before the next word */
		*best_d = p[j];
		*best_l = j;
	}
}

int classify_rules_find_fuzzy(const char *folded_text, const char *folded_term, int maxd,
			      size_t *at, size_t *len, int *dist)
{
	size_t tl = strlen(folded_term), w1, avail, n;
	int need_r = 1;
	const char *p;

	if (maxd <= 0)
		return 0;
	if (maxd > 8)
		maxd = 8;
	if (tl > 0 && folded_term[tl - 1] == '*') {
		tl--;
		need_r = 0;
	}
	if (tl < 2 || tl > CLASSIFY_FUZZY_TERM_MAX || !rules_is_word((unsigned char)folded_term[0]))
		return 0;
	for (w1 = 0; w1 < tl && rules_is_word((unsigned char)folded_term[w1]); w1++)
		;
	for (p = folded_text; *p != '\0'; p++) {
		size_t wl, best_l;
		int best_d;

		if (!rules_is_word((unsigned char)*p) ||
		    (p > folded_text && rules_is_word((unsigned char)p[-1])))
			continue; /* only at word starts */
		/* pre-filter: first or second letter, and the length of the first word */
		if (p[0] != folded_term[0] && (p[1] == '\0' || p[1] != folded_term[1]))
			continue;
		wl = rules_word_len(p);
		if (wl + (size_t)maxd < w1 || (need_r && w1 == tl && wl > w1 + (size_t)maxd))
			continue;
		for (avail = 0; avail < tl + (size_t)maxd && p[avail] != '\0'; avail++)
			;
		n = avail;
		rules_osa(folded_term, tl, p, n, maxd, need_r, &best_d, &best_l);
		if (best_d <= maxd && best_d > 0) {
			if (at != NULL)
				*at = (size_t)(p - folded_text);
			if (len != NULL)
				*len = best_l;
			if (dist != NULL)
				*dist = best_d;
			return 1;
		}
	}
	return 0;
}

/* ---- regions of page 1 ------------------------------------------------------ */

#define RULES_REGION_LINES 400 /* lines of page 1 looked at */
#define RULES_ADDRESS_ABOVE 5  /* address lines above the postal code line */
#define RULES_LETTERHEAD_GUESS 5

struct rules_line {
	const char *s; /* start in the text */
	size_t n;      /* bytes, without the newline */
	int blank;
};

/* s[0..n) starts (after blanks) with prefix, compared without case (ASCII). */
static int rules_line_starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	return n >= k && strncasecmp(s, prefix, k) == 0;
}

/* 1 if s[i..] is a postal code: 5 digits, not part of a longer number, then
 * blanks and a letter. */
static int rules_plz_at(const char *s, size_t n, size_t i)
{
	size_t k;

	if (i > 0 && ((s[i - 1] >= '0' && s[i - 1] <= '9') || s[i - 1] == '.' || s[i - 1] == ','))
		return 0;
	for (k = 0; k < 5; k++)
		if (i + k >= n || s[i + k] < '0' || s[i + k] > '9')
			return 0;
	i += 5;
	if (i >= n || s[i] != ' ')
		return 0;
	while (i < n && s[i] == ' ')
		i++;
	return i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
			 (unsigned char)s[i] >= 0x80);
}

/* 1 if the line starts with a postal code ("12345 Ort", "D-12345 Ort"). */
static int rules_line_plz_start(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 2 < n && (s[i] == 'D' || s[i] == 'd') && (s[i + 1] == '-' || s[i + 1] == ' '))
		i += 2;
	return rules_plz_at(s, n, i);
}

/* 1 if a postal code occurs anywhere in the line. */
static int rules_line_plz_any(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 5 < n; i++)
		if (rules_plz_at(s, n, i))
			return 1;
	return 0;
}

/* 1 if the line holds a date: "21.11.2026", "21. November 2026", "2026-11-21". */
static int rules_line_date(const char *s, size_t n)
{
	static const char *const months[] = {"januar", "februar", "maerz",   "m\xc3\xa4rz",
					     "april",  "mai",	  "juni",    "juli",
					     "august", "september", "oktober", "november",
					     "dezember", NULL};
	size_t i, k;

	for (i = 0; i < n; i++) {
		size_t j = i, d;

		if (s[i] < '0' || s[i] > '9' || (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'))
			continue;
		for (d = 0; j < n && s[j] >= '0' && s[j] <= '9'; j++)
			d++;
		if (d == 4 && j + 5 < n && s[j] == '-' && s[j + 1] >= '0' && s[j + 1] <= '9' &&
		    s[j + 3] == '-')
			return 1;
		if (d > 2 || j >= n || s[j] != '.')
			continue;
		j++;
		while (j < n && s[j] == ' ')
			j++;
		if (j < n && s[j] >= '0' && s[j] <= '9') {
			for (d = 0; j < n && s[j] >= '0' && s[j] <= '9'; j++)
				d++;
			if (d <= 2 && j + 2 < n && s[j] == '.' && s[j + 1] >= '0' && s[j + 1] <= '9')
				return 1;
			continue;
		}
		for (k = 0; months[k] != NULL; k++)
			if (n - j >= strlen(months[k]) &&
			    strncasecmp(s + j, months[k], strlen(months[k])) == 0)
				return 1;
	}
	return 0;
}

/* 1 if the line opens the letter's body ("Sehr geehrte ...", "Guten Tag"). */
static int rules_line_salutation(const char *s, size_t n)
{
	static const char *const sal[] = {"sehr geehrte", "guten tag", "liebe ", "lieber ",
					  "hallo",	  "dear ",     NULL};
	size_t k;

	for (k = 0; sal[k] != NULL; k++)
		if (rules_line_starts(s, n, sal[k]))
			return 1;
	return 0;
}

/* Bytes of a "Betreff"/"Betr." label at the start of the line (after blanks), or 0. */
static size_t rules_line_betreff(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (n - i >= 7 && strncasecmp(s + i, "betreff", 7) == 0 &&
	    (n - i == 7 || s[i + 7] == ':' || s[i + 7] == ' ' || s[i + 7] == '\t'))
		return i + 7 + (n - i > 7 && s[i + 7] == ':');
	if (n - i >= 5 && strncasecmp(s + i, "betr", 4) == 0 && (s[i + 4] == '.' || s[i + 4] == ':'))
		return i + 5;
	return 0;
}

/* 1 if the line is a labelled reference or contact line, not a subject. */
static int rules_line_reference(const char *s, size_t n)
{
	static const char *const labels[] = {
	    "kundennummer", "kunden-nr",     "rechnungsnummer", "rechnungs-nr", "ihr zeichen",
	    "ihre zeichen", "unser zeichen", "ihre nachricht",  "ihr schreiben", "aktenzeichen",
	    "az.",	    "az:",	     "telefon",	 "tel.",	 "e-mail",
	    "fax",	    "seite",	     "datum",		"vertragsnummer", "steuernummer",
	    NULL};
	size_t k;

	for (k = 0; labels[k] != NULL; k++)
		if (rules_line_starts(s, n, labels[k]))
			return 1;
	return 0;
}

/* Append lines [a, b] (non-blank ones) of page 1 to out, one per line. */
static void rules_region_add(buf *out, const struct rules_line *ln, int a, int b)
{
	int i;

	for (i = a; i <= b; i++)
		if (!ln[i].blank && (buf_add(out, ln[i].s, ln[i].n) == -1 || buf_add(out, "\n", 1) == -1))
			return; /* cannot happen: page 1 is smaller than the maximum */
}

int classify_regions_find(const char *text, struct classify_regions *rg)
{
	struct rules_line *ln;
	const char *p = text;
	int n = 0, i, first = -1, sal = -1, betr = -1, limit, plz = -1, top, count, date = -1;

	memset(rg, 0, sizeof(*rg));
	buf_init(&rg->letterhead, CLASSIFY_TEXT_MAX + 1);
	buf_init(&rg->address, CLASSIFY_TEXT_MAX + 1);
	buf_init(&rg->subject, CLASSIFY_TEXT_MAX + 1);
	buf_add(&rg->letterhead, "", 0);
	buf_add(&rg->address, "", 0);
	buf_add(&rg->subject, "", 0);
	if (strlen(text) > CLASSIFY_TEXT_MAX)
		return -1;
	ln = xcalloc(RULES_REGION_LINES, sizeof(*ln));
	while (n < RULES_REGION_LINES && *p != '\0' && *p != '\f') {
		const char *e = p;
		size_t k;

		while (*e != '\0' && *e != '\n' && *e != '\f')
			e++;
		ln[n].s = p;
		ln[n].n = (size_t)(e - p);
		ln[n].blank = 1;
		for (k = 0; k < ln[n].n; k++)
			if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r')
				ln[n].blank = 0;
		if (!ln[n].blank) {
			if (first < 0)
				first = n;
			if (sal < 0 && rules_line_salutation(p, ln[n].n))
				sal = n;
			if (betr < 0 && sal < 0 && rules_line_betreff(p, ln[n].n) > 0)
				betr = n;
		}
		n++;
		p = *e == '\n' ? e + 1 : e;
	}
	if (first < 0)
		goto out;
	/* the address block: the last postal code line before the body begins */
	/* the body begins with the subject or the salutation; without either, the
	 * address is in the first 60% of the page */
	limit = (n * 6 + 9) / 10;
	if (betr >= 0 || sal >= 0)
		limit = betr >= 0 && (sal < 0 || betr < sal) ? betr : sal;
	for (i = first; i < limit; i++)
		if (!ln[i].blank && rules_line_plz_start(ln[i].s, ln[i].n))
			plz = i;
	if (plz > first) {
		top = plz;
		for (i = plz - 1, count = 0; i > first && count < RULES_ADDRESS_ABOVE; i--) {
			if (ln[i].blank)
				continue;
			if (rules_line_plz_any(ln[i].s, ln[i].n) || rules_line_date(ln[i].s, ln[i].n))
				break;
			top = i;
			count++;
		}
		rg->address_first = top + 1;
		rg->address_last = plz + 1;
		rules_region_add(&rg->address, ln, top, plz);
		rg->letterhead_first = first + 1;
		for (i = top - 1; i >= first && ln[i].blank; i--)
			;
		rg->letterhead_last = i + 1;
		rules_region_add(&rg->letterhead, ln, first, i);
	} else {
		/* no address block: the first lines before the body are the letterhead */
		int stop = sal >= 0 ? sal : n;

		if (betr >= 0 && betr < stop)
			stop = betr;
		for (i = first, count = 0; i < stop && count < RULES_LETTERHEAD_GUESS; i++)
			if (!ln[i].blank) {
				rg->letterhead_last = i + 1;
				count++;
			}
		if (count > 0) {
			rg->letterhead_first = first + 1;
			rules_region_add(&rg->letterhead, ln, first, rg->letterhead_last - 1);
		}
	}
	/* the subject: a labelled line, else the line after the date before the salutation */
	if (betr >= 0) {
		size_t skip = rules_line_betreff(ln[betr].s, ln[betr].n);
		const char *s = ln[betr].s + skip;
		size_t k = ln[betr].n - skip;

		while (k > 0 && (*s == ' ' || *s == '\t' || *s == ':')) {
			s++;
			k--;
		}
		while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r'))
			k--;
		if (k > 0) {
			rg->subject_line = betr + 1;
			rg->subject_off = (size_t)(s - text);
			buf_add(&rg->subject, s, k);
		} else {
			for (i = betr + 1; i < n && (sal < 0 || i < sal); i++)
				if (!ln[i].blank)
					break;
			if (i < n && (sal < 0 || i < sal)) {
				rg->subject_line = i + 1;
				rg->subject_off = (size_t)(ln[i].s - text);
				buf_add(&rg->subject, ln[i].s, ln[i].n);
			}
		}
	} else if (sal >= 0) {
		for (i = sal - 1; i >= first; i--)
			if (!ln[i].blank && rules_line_date(ln[i].s, ln[i].n)) {
				date = i;
				break;
			}
		for (i = date + 1; date >= 0 && i < sal; i++) {
			if (ln[i].blank || rules_line_reference(ln[i].s, ln[i].n) ||
			    rules_line_date(ln[i].s, ln[i].n))
				continue;
			rg->subject_line = i + 1;
			rg->subject_off = (size_t)(ln[i].s - text);
			buf_add(&rg->subject, ln[i].s, ln[i].n);
			break;
		}
	}
out:
	free(ln);
	return 0;
}

void classify_regions_free(struct classify_regions *rg)
{
	buf_free(&rg->letterhead);
	buf_free(&rg->address);
	buf_free(&rg->subject);
	memset(rg, 0, sizeof(*rg));
}

const char *classify_regions_text(const struct classify_regions *rg, enum classify_region r,
				  const char *text, const char *top)
{
	switch (r) {
	case CLASSIFY_WHOLE:
		return text;
	case CLASSIFY_TOP:
		return top != NULL ? top : "";
	case CLASSIFY_LETTERHEAD:
		return rg->letterhead.data != NULL ? rg->letterhead.data : "";
	case CLASSIFY_ADDRESS:
		return rg->address.data != NULL ? rg->address.data : "";
	case CLASSIFY_SUBJECT:
		return rg->subject.data != NULL ? rg->subject.data : "";
	}
	return "";
}

/* ---- loading -------------------------------------------------------------- */

/* 1 if s is a valid type id: [a-z0-9_-], 1..32 chars. */
static int rules_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 32)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

/* Copy and fold a list of terms from key of map (squash: only collapse whitespace,
 * for exact: phrases); an empty folded term is an error. */
static int rules_terms(const conf_node *map, const char *key, int squash, char ***terms,
		       char ***folded, size_t *n, conf_err *e)
{
	const char **v = NULL;
	const conf_node *node = conf_get(map, key);
	size_t i, cnt = 0;
	int rc = -1;

	*terms = *folded = NULL;
	*n = 0;
	if (conf_strlist(map, key, &v, &cnt, e) == -1)
		return -1;
	if (cnt == 0) {
		conf_fail(e, node != NULL ? node : map, "'%s' needs at least one word or phrase",
			  key);
		goto out;
	}
	*terms = xcalloc(cnt, sizeof(char *));
	*folded = xcalloc(cnt, sizeof(char *));
	*n = cnt;
	for (i = 0; i < cnt; i++) {
		buf b;

		buf_init(&b, 4096);
		(*terms)[i] = xstrdup(v[i]);
		if ((squash ? rules_squash(v[i], &b) : classify_rules_fold(v[i], &b)) == -1 ||
		    b.len == 0 || strcmp(b.data, "*") == 0) {
			buf_free(&b);
			conf_fail(e, node->kind == CONF_SEQ ? node->items[i] : node,
				  "'%s': the term '%.80s' is empty or too long (expected a word "
				  "or phrase of at most 4096 bytes)",
				  key, v[i]);
			goto out;
		}
		(*folded)[i] = buf_detach(&b);
	}
	rc = 0;
out:
	free(v);
	return rc;
}

/* Compile a rule's regex; a compile error names PCRE2's message and offset. */
static int rules_regex(const conf_node *rnode, struct rules_rule *r, conf_err *e)
{
	const conf_node *n = conf_get(rnode, "regex");
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int err;

	if (n == NULL || n->kind != CONF_SCALAR)
		return conf_fail(e, n != NULL ? n : rnode, "'regex' must be a single pattern");
	if (n->value[0] == '\0')
		return conf_fail(e, n, "'regex' is empty (expected a PCRE2 pattern)");
	r->terms = xcalloc(1, sizeof(char *));
	r->terms[0] = xstrdup(n->value);
	r->n_terms = 1;
	r->re = pcre2_compile((PCRE2_SPTR)n->value, PCRE2_ZERO_TERMINATED,
			      PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &err, &off, NULL);
	if (r->re == NULL) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		return conf_fail(e, n, "regex '%.120s' does not compile: %s at offset %zu",
				 n->value, (const char *)msg, (size_t)off);
	}
	return 0;
}

/* Load one rule of a type. */
static int rules_rule_load(const conf_node *rn, struct rules_rule *r, conf_err *e)
{
	static const char *const keys[] = {"any",    "all",    "exact", "regex",
					   "weight", "region", "fuzzy", NULL};
	int kinds = 0, region, fuzzy;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (conf_check_keys(rn, keys, "rule", e) == -1)
		return -1;
	r->line = rn->line;
	kinds = (conf_get(rn, "any") != NULL) + (conf_get(rn, "all") != NULL) +
		(conf_get(rn, "exact") != NULL) + (conf_get(rn, "regex") != NULL);
	if (kinds != 1)
		return conf_fail(e, rn,
				 "a rule needs exactly one of 'any', 'all', 'exact' or 'regex'");
	if (conf_double(rn, "weight", 1, 0, 0.0, 100.0, &r->weight, e) == -1)
		return -1;
	if (r->weight <= 0.0)
		return conf_fail(e, conf_get(rn, "weight"),
				 "'weight' must be greater than 0 (use 'not:' on the type to "
				 "veto it)");
	if (conf_enum(rn, "region", 0, CLASSIFY_WHOLE, classify_region_names, &region, e) == -1)
		return -1;
	r->region = (enum classify_region)region;
	if (conf_enum(rn, "fuzzy", 0, 2, rules_fuzzy_names, &fuzzy, e) == -1)
		return -1;
	fuzzy = fuzzy == 3 ? 0 : fuzzy == 4 ? 1 : fuzzy;
	if (fuzzy == 1 && conf_get(rn, "any") == NULL && conf_get(rn, "all") == NULL)
		return conf_fail(e, conf_get(rn, "fuzzy"),
				 "'fuzzy' applies to 'any' and 'all' rules only (exact phrases "
				 "and regexes match as written)");
	if (conf_get(rn, "any") != NULL || conf_get(rn, "all") != NULL) {
		const char *key = conf_get(rn, "any") != NULL ? "any" : "all";

		r->kind = conf_get(rn, "any") != NULL ? RULES_ANY : RULES_ALL;
		if (rules_terms(rn, key, 0, &r->terms, &r->folded, &r->n_terms, e) == -1)
			return -1;
		r->maxd = xcalloc(r->n_terms, sizeof(int));
		for (i = 0; i < r->n_terms; i++)
			r->maxd[i] = classify_rules_fuzzy_maxd(r->folded[i], fuzzy);
		return 0;
	}
	if (conf_get(rn, "exact") != NULL) {
		r->kind = RULES_EXACT;
		return rules_terms(rn, "exact", 1, &r->terms, &r->folded, &r->n_terms, e);
	}
	r->kind = RULES_REGEX;
	return rules_regex(rn, r, e);
}

/* Load the protection needs {integrity, confidentiality, availability}. */
static int rules_protection(const conf_node *tn, struct classify_type *t, conf_err *e)
{
	static const char *const keys[] = {"integrity", "confidentiality", "availability", NULL};
	const conf_node *p = conf_get(tn, "protection");
	int i, c, a;

	if (p == NULL)
		return conf_fail(e, tn,
				 "type '%s' has no 'protection' (expected {integrity, "
				 "confidentiality, availability})",
				 t->id);
	if (conf_check_keys(p, keys, "protection", e) == -1 ||
	    conf_enum(p, "integrity", 1, 0, classify_protection_names, &i, e) == -1 ||
	    conf_enum(p, "confidentiality", 1, 0, classify_protection_names, &c, e) == -1 ||
	    conf_enum(p, "availability", 1, 0, classify_protection_names, &a, e) == -1)
		return -1;
	t->integrity = (enum classify_protection)i;
	t->confidentiality = (enum classify_protection)c;
	t->availability = (enum classify_protection)a;
	return 0;
}

/* Load one type. */
static int rules_type_load(const conf_node *tn, const offices *of, struct rules_type *ty,
			   conf_err *e)
{
	static const char *const keys[] = {
	    "id",     "name",	  "scan_mode", "protection", "qs_sample_rate",
	    "office", "priority", "rules",     "not",	     NULL};
	const char *id, *name, *office;
	const conf_node *rules;
	int mode, prio;
	size_t i;

	if (conf_check_keys(tn, keys, "type", e) == -1 || conf_str(tn, "id", 1, NULL, &id, e) == -1)
		return -1;
	if (!rules_id_valid(id))
		return conf_fail(e, conf_get(tn, "id"),
				 "type id '%.40s' is not valid (expected 1-32 of a-z, 0-9, _, -)",
				 id);
	ty->t.id = xstrdup(id);
	ty->t.line = tn->line;
	if (conf_str(tn, "name", 1, NULL, &name, e) == -1 ||
	    conf_enum(tn, "scan_mode", 1, 0, classify_scan_mode_names, &mode, e) == -1 ||
	    rules_protection(tn, &ty->t, e) == -1 ||
	    conf_double(tn, "qs_sample_rate", 1, 0, 0.0, 100.0, &ty->t.qs_sample_rate, e) == -1 ||
	    conf_str(tn, "office", 1, NULL, &office, e) == -1 ||
	    conf_enum(tn, "priority", 0, 0, classify_priority_names, &prio, e) == -1)
		return -1;
	ty->t.name = xstrdup(name);
	ty->t.scan_mode = (enum classify_scan_mode)mode;
	ty->t.priority = prio;
	if (strcmp(office, "address") != 0) {
		if (offices_find(of, office) == NULL)
			return conf_fail(e, conf_get(tn, "office"),
					 "office '%.40s' of type '%s' is not in offices.yaml "
					 "(expected an office id or 'address')",
					 office, id);
		ty->t.office = xstrdup(office);
	}
	if ((rules = conf_get(tn, "rules")) == NULL)
		return conf_fail(e, tn, "type '%s' needs 'rules:' (a list of rules)", id);
	if (conf_expect(rules, CONF_SEQ, "rules", e) == -1)
		return -1;
	if (rules->n == 0)
		return conf_fail(e, rules, "type '%s' has no rules", id);
	ty->rules = xcalloc(rules->n, sizeof(*ty->rules));
	for (i = 0; i < rules->n; i++) {
		ty->n_rules = i + 1;
		if (rules_rule_load(rules->items[i], &ty->rules[i], e) == -1)
			return -1;
	}
	if (conf_get(tn, "not") != NULL) {
		ty->not_line = conf_get(tn, "not")->line;
		if (rules_terms(tn, "not", 0, &ty->not_terms, &ty->not_folded, &ty->n_not, e) == -1)
			return -1;
	}
	return 0;
}

classify_rules *classify_rules_load(const conf_node *root, const offices *of, conf_err *e)
{
	static const char *const top[] = {"thresholds", "types", NULL};
	static const char *const tkeys[] = {"min_score", "min_margin", "fuzzy_weight", NULL};
	classify_rules *cr = xcalloc(1, sizeof(*cr));
	const conf_node *th, *types;
	size_t i, k;

	if (conf_check_keys(root, top, CLASSIFY_RULES_FILE, e) == -1)
		goto fail;
	th = conf_get(root, "thresholds");
	if (conf_check_keys(th, tkeys, "thresholds", e) == -1 ||
	    conf_double(th, "min_score", 1, 0, 0.0, 1000.0, &cr->min_score, e) == -1 ||
	    conf_double(th, "min_margin", 1, 0, 0.0, 1000.0, &cr->min_margin, e) == -1 ||
	    conf_double(th, "fuzzy_weight", 0, RULES_FUZZY_DEFAULT_WEIGHT, 0.0, 1.0,
			&cr->fuzzy_weight, e) == -1)
		goto fail;
	if (cr->min_score <= 0.0) {
		conf_fail(e, conf_get(th, "min_score"),
			  "'min_score' must be greater than 0 (a letter without any evidence "
			  "must never be decided)");
		goto fail;
	}
	types = conf_get(root, "types");
	if (conf_expect(types, CONF_SEQ, "types", e) == -1)
		goto fail;
	if (types->n == 0) {
		conf_fail(e, types, "no document types defined (expected at least one)");
		goto fail;
	}
	cr->types = xcalloc(types->n, sizeof(*cr->types));
	for (i = 0; i < types->n; i++) {
		cr->n = i + 1;
		if (rules_type_load(types->items[i], of, &cr->types[i], e) == -1)
			goto fail;
		for (k = 0; k < i; k++)
			if (strcmp(cr->types[k].t.id, cr->types[i].t.id) == 0) {
				conf_fail(e, types->items[i],
					  "type '%s' is defined twice (first at line %d)",
					  cr->types[i].t.id, cr->types[k].t.line);
				goto fail;
			}
	}
	return cr;
fail:
	classify_rules_free(cr);
	return NULL;
}

size_t classify_rules_count(const classify_rules *cr)
{
	return cr->n;
}

const struct classify_type *classify_rules_type(const classify_rules *cr, size_t i)
{
	if (i >= cr->n)
		log_panic("classify_rules_type: index %zu out of range", i);
	return &cr->types[i].t;
}

double classify_rules_min_score(const classify_rules *cr)
{
	return cr->min_score;
}

double classify_rules_min_margin(const classify_rules *cr)
{
	return cr->min_margin;
}

/* ---- scoring -------------------------------------------------------------- */

/* Append s to a hit's matched list (truncated at a UTF-8 boundary if full). */
static void rules_hit_add(struct classify_hit *h, const char *s, size_t n)
{
	size_t used = strlen(h->matched), room, i;

	if (used > 0) {
		if (used + 2 >= sizeof(h->matched))
			return;
		h->matched[used++] = RULES_SEP;
		h->matched[used] = '\0';
	}
	room = sizeof(h->matched) - used - 1;
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--; /* do not cut a UTF-8 sequence */
	}
	for (i = 0; i < n; i++)
		h->matched[used + i] = (s[i] == '\n' || s[i] == '\f' || s[i] == '\r' ||
					s[i] == '\t' || s[i] == RULES_SEP)
					   ? ' '
					   : s[i];
	h->matched[used + n] = '\0';
}

/* Grow the hits array by one and return the new, zeroed hit. */
static struct classify_hit *rules_hit_new(struct classify_decision *d, size_t *cap)
{
	if (d->n_hits == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		d->hits = xrealloc(d->hits, *cap * sizeof(*d->hits));
	}
	memset(&d->hits[d->n_hits], 0, sizeof(*d->hits));
	return &d->hits[d->n_hits++];
}

/* The text of one region in the forms the rules need; filled on first use. */
struct rules_view {
	const char *orig;
	buf folded, squashed;
	int have_folded, have_squashed, failed;
};

/* The folded (squash 0) or whitespace-collapsed (1) form of a view, or NULL. */
static const char *rules_view_get(struct rules_view *v, int squash)
{
	if (squash && !v->have_squashed) {
		v->have_squashed = 1;
		if (rules_squash(v->orig, &v->squashed) == -1)
			v->failed = 1;
	}
	if (!squash && !v->have_folded) {
		v->have_folded = 1;
		if (classify_rules_fold(v->orig, &v->folded) == -1)
			v->failed = 1;
	}
	if (v->failed)
		return NULL;
	return squash ? v->squashed.data : v->folded.data;
}

/* Look for one term of a rule: 2 exact, 1 fuzzy (the words found added to h), 0. */
static int rules_term(const struct rules_rule *r, size_t i, const char *folded,
		      struct classify_hit *h)
{
	size_t at, len;
	int dist;
	char tmp[CLASSIFY_MATCH_MAX];

	if (classify_rules_find(folded, r->folded[i], NULL))
		return 2;
	if (r->maxd == NULL || r->maxd[i] == 0 ||
	    !classify_rules_find_fuzzy(folded, r->folded[i], r->maxd[i], &at, &len, &dist))
		return 0;
	if (h != NULL) {
		snprintf(tmp, sizeof(tmp), "%s ~ %.*s", r->terms[i], (int)(len < 80 ? len : 80),
			 folded + at);
		rules_hit_add(h, tmp, strlen(tmp));
	}
	return 1;
}

/* Evaluate one rule on a region; 1 if it fired (h filled), 0 if not. */
static int rules_eval(const struct rules_rule *r, struct rules_view *v, pcre2_match_data *md,
		      pcre2_match_context *mc, const char *type_id, struct classify_hit *h)
{
	const char *t;
	size_t i, found = 0, exact = 0;
	int rc;

	switch (r->kind) {
	case RULES_ANY:
		if ((t = rules_view_get(v, 0)) == NULL)
			return 0;
		for (i = 0; i < r->n_terms; i++)
			if (classify_rules_find(t, r->folded[i], NULL)) {
				rules_hit_add(h, r->terms[i], strlen(r->terms[i]));
				found++;
				exact++;
			}
		if (exact == 0)
			for (i = 0; i < r->n_terms && found == 0; i++)
				if (rules_term(r, i, t, h) == 1)
					found++;
		h->fuzzy = found > 0 && exact == 0;
		return found > 0;
	case RULES_ALL:
		if ((t = rules_view_get(v, 0)) == NULL)
			return 0;
		for (i = 0; i < r->n_terms; i++)
			if ((rc = rules_term(r, i, t, NULL)) == 0)
				return 0;
			else if (rc == 1)
				h->fuzzy = 1;
		for (i = 0; i < r->n_terms; i++)
			if (rules_term(r, i, t, h) == 2)
				rules_hit_add(h, r->terms[i], strlen(r->terms[i]));
		return 1;
	case RULES_EXACT:
		if ((t = rules_view_get(v, 1)) == NULL)
			return 0;
		for (i = 0; i < r->n_terms; i++)
			if (classify_rules_find(t, r->folded[i], NULL)) {
				rules_hit_add(h, r->terms[i], strlen(r->terms[i]));
				found++;
			}
		return found > 0;
	case RULES_REGEX:
		rc = pcre2_match(r->re, (PCRE2_SPTR)v->orig, strlen(v->orig), 0, 0, md, mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
		if (rc < 0) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(rc, msg, sizeof(msg));
			log_warnx("rule at line %d of type %s: regex match failed (%s); rule "
				  "ignored for this letter",
				  r->line, type_id, (const char *)msg);
			return 0;
		} else {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

			rules_hit_add(h, v->orig + ov[0], ov[1] > ov[0] ? ov[1] - ov[0] : 0);
			return 1;
		}
	}
	return 0;
}

/* 1 if type i ranks before type k at equal score: higher priority, then file order. */
static int rules_before(const classify_rules *cr, const struct classify_decision *d, size_t i,
			int k)
{
	if (k < 0)
		return 1;
	if (d->scores[i] > d->scores[k] + RULES_EPS)
		return 1;
	if (d->scores[i] + RULES_EPS < d->scores[k])
		return 0;
	return cr->types[i].t.priority > cr->types[k].t.priority;
}

/* Fill in best, second, margin and decided/reason from the scores. */
static void rules_decide(const classify_rules *cr, struct classify_decision *d)
{
	size_t i;

	d->best = d->second = -1;
	for (i = 0; i < cr->n; i++) {
		if (d->scores[i] <= 0.0)
			continue;
		if (rules_before(cr, d, i, d->best)) {
			d->second = d->best;
			d->best = (int)i;
		} else if (rules_before(cr, d, i, d->second)) {
			d->second = (int)i;
		}
	}
	d->best_score = d->best >= 0 ? d->scores[d->best] : 0.0;
	d->second_score = d->second >= 0 ? d->scores[d->second] : 0.0;
	d->margin = d->best_score - d->second_score;
	d->decided = 0;
	if (d->best < 0) {
		snprintf(d->reason, sizeof(d->reason),
			 "unsure: no document type recognised (no rule fired); decide with "
			 "mailroom review");
	} else if (d->best_score + RULES_EPS < cr->min_score) {
		snprintf(d->reason, sizeof(d->reason),
			 "unsure: %s %.1f vs %s %.1f, score %.1f < min_score %.1f; decide with "
			 "mailroom review",
			 cr->types[d->best].t.id, d->best_score,
			 d->second >= 0 ? cr->types[d->second].t.id : "(none)", d->second_score,
			 d->best_score, cr->min_score);
	} else if (d->margin + RULES_EPS < cr->min_margin) {
		snprintf(d->reason, sizeof(d->reason),
			 "unsure: %s %.1f vs %s %.1f, margin %.1f < %.1f; decide with mailroom "
			 "review",
			 cr->types[d->best].t.id, d->best_score,
			 d->second >= 0 ? cr->types[d->second].t.id : "(none)", d->second_score,
			 d->margin, cr->min_margin);
	} else {
		d->decided = 1;
		d->reason[0] = '\0';
	}
}

int classify_rules_score(const classify_rules *cr, const char *text, const char *top,
			 struct classify_decision *d)
{
	struct rules_view view[CLASSIFY_REGIONS];
	struct classify_regions rg;
	buf tg;
	pcre2_match_data *md = NULL;
	pcre2_match_context *mc = NULL;
	const char *fw;
	size_t i, k, cap = 0;
	int rc = -1, r;

	memset(d, 0, sizeof(*d));
	memset(view, 0, sizeof(view));
	d->best = d->second = -1;
	d->scores = xcalloc(cr->n, sizeof(*d->scores));
	d->vetoed = xcalloc(cr->n, sizeof(*d->vetoed));
	buf_init(&tg, CLASSIFY_TEXT_MAX + 1);
	for (r = 0; r < CLASSIFY_REGIONS; r++) {
		buf_init(&view[r].folded, CLASSIFY_TEXT_MAX + 1);
		buf_init(&view[r].squashed, CLASSIFY_TEXT_MAX + 1);
	}
	if (classify_regions_find(text, &rg) == -1 ||
	    (top != NULL && strlen(top) > CLASSIFY_TEXT_MAX) ||
	    (top == NULL && classify_rules_top_guess(text, &tg) == -1)) {
		snprintf(d->reason, sizeof(d->reason),
			 "unsure: the text is larger than %u bytes; decide with mailroom review",
			 CLASSIFY_TEXT_MAX);
		goto out;
	}
	if (top == NULL)
		top = tg.data;
	for (r = 0; r < CLASSIFY_REGIONS; r++)
		view[r].orig = classify_regions_text(&rg, (enum classify_region)r, text, top);
	if ((fw = rules_view_get(&view[CLASSIFY_WHOLE], 0)) == NULL ||
	    rules_view_get(&view[CLASSIFY_TOP], 0) == NULL) {
		snprintf(d->reason, sizeof(d->reason),
			 "unsure: the text is larger than %u bytes; decide with mailroom review",
			 CLASSIFY_TEXT_MAX);
		goto out;
	}
	md = pcre2_match_data_create(1, NULL);
	mc = pcre2_match_context_create(NULL);
	if (md == NULL || mc == NULL)
		log_fatalx(EX_SOFTWARE, "out of memory (pcre2)");
	pcre2_set_match_limit(mc, RULES_MATCH_LIMIT);
	for (i = 0; i < cr->n; i++) {
		const struct rules_type *ty = &cr->types[i];
		double score = 0.0;

		for (k = 0; k < ty->n_not; k++) {
			if (classify_rules_find(fw, ty->not_folded[k], NULL)) {
				struct classify_hit *h;

				if (!d->vetoed[i]) {
					h = rules_hit_new(d, &cap);
					h->type = (int)i;
					h->kind = "not";
					h->region = CLASSIFY_WHOLE;
					h->line = ty->not_line;
				} else {
					h = &d->hits[d->n_hits - 1];
				}
				rules_hit_add(h, ty->not_terms[k], strlen(ty->not_terms[k]));
				d->vetoed[i] = 1;
			}
		}
		for (k = 0; k < ty->n_rules; k++) {
			const struct rules_rule *rr = &ty->rules[k];
			struct classify_hit *h = rules_hit_new(d, &cap);

			h->type = (int)i;
			h->kind = rules_kind_names[rr->kind];
			h->region = rr->region;
			h->weight = rr->weight;
			h->line = rr->line;
			if (rules_eval(rr, &view[rr->region], md, mc, ty->t.id, h)) {
				if (h->fuzzy)
					h->weight = rr->weight * cr->fuzzy_weight;
				score += h->weight;
			} else {
				d->n_hits--; /* did not fire: drop the entry */
			}
		}
		d->scores[i] = d->vetoed[i] ? 0.0 : score;
	}
	rules_decide(cr, d);
	rc = 0;
out:
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	for (r = 0; r < CLASSIFY_REGIONS; r++) {
		buf_free(&view[r].folded);
		buf_free(&view[r].squashed);
	}
	classify_regions_free(&rg);
	buf_free(&tg);
	return rc;
}

void classify_decision_free(struct classify_decision *d)
{
	free(d->scores);
	free(d->vetoed);
	free(d->hits);
	memset(d, 0, sizeof(*d));
	d->best = d->second = -1;
}

json_object *classify_decision_trace(const classify_rules *cr, const struct classify_decision *d)
{
	json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < d->n_hits; i++) {
		const struct classify_hit *h = &d->hits[i];
		json_object *o = json_object_new_object(), *m = json_object_new_array();
		const char *p = h->matched, *q;

		json_object_object_add(o, "type", json_object_new_string(cr->types[h->type].t.id));
		json_object_object_add(o, "kind", json_object_new_string(h->kind));
		json_object_object_add(o, "region",
				       json_object_new_string(classify_region_names[h->region]));
		json_object_object_add(o, "weight", json_object_new_double(h->weight));
		json_object_object_add(o, "line", json_object_new_int(h->line));
		if (strcmp(h->kind, "not") == 0)
			json_object_object_add(o, "veto", json_object_new_boolean(1));
		if (h->fuzzy)
			json_object_object_add(o, "fuzzy", json_object_new_boolean(1));
		while (*p != '\0') {
			q = strchr(p, RULES_SEP);
			if (q == NULL)
				q = p + strlen(p);
			json_object_array_add(m, json_object_new_string_len(p, (int)(q - p)));
			p = *q ? q + 1 : q;
		}
		json_object_object_add(o, "matched", m);
		json_object_array_add(arr, o);
	}
	return arr;
}
