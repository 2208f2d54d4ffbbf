/*
 * classify_extract.c - metadata extraction with positions; see classify_extract.h.
 *
 * XXX the subject of a DIN 5008 letter without a "Betreff" label is a bold line;
 * finding it needs the font attributes of the OCR result, which tesseract's LSTM
 * engine does not report reliably. Not done yet.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "classify_extract.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "classify_rules.h"
#include "log.h"
#include "xalloc.h"

#define EXTRACT_MATCH_LIMIT 100000

static const char extract_re_numeric[] =
    "(?<![\\d.])(\\d{1,2})\\.\\s?(\\d{1,2})\\.\\s?((?:19|20)\\d{2}|\\d{2})(?![\\d])";
static const char extract_re_named[] =
    "(?<!\\d)(\\d{1,2})\\.\\s*(?:(Januar|J\xc3\xa4nner|Jaenner|Jan\\.?)|(Februar|Feb\\.?)|"
    "(M\xc3\xa4rz|Maerz|M\xc3\xa4r\\.?|Mrz\\.?)|(April|Apr\\.?)|(Mai)|(Juni|Jun\\.?)|"
    "(Juli|Jul\\.?)|(August|Aug\\.?)|(September|Sept?\\.?)|(Oktober|Okt\\.?)|"
    "(November|Nov\\.?)|(Dezember|Dez\\.?))\\s*((?:19|20)\\d{2})(?!\\d)";
static const char extract_re_iso[] = "(?<!\\d)((?:19|20)\\d{2})-(\\d{2})-(\\d{2})(?!\\d)";

static const struct {
	const char *kind;
	const char *re;
} extract_refs[] = {
    {"aktenzeichen", "(?:Aktenzeichen|Gesch\xc3\xa4\x66tszeichen|Geschaeftszeichen|\\bAz\\.|"
		     "\\bAZ\\b)\\s*:?\\s*"
		     /* tokens: the first, then capitals (the "K" of "3 K 1234/26") or
		      * tokens starting with a digit; a word like "Datum" ends it */
		     "((?-i)[A-Z0-9][A-Za-z0-9./\\-]*(?:[ ](?:[A-Z]{1,4}(?![A-Za-z])|"
		     "\\d[A-Za-z0-9./\\-]*)){0,6})"},
    {"rechnungsnummer",
     "(?:Rechnungsnum(?:m|rn)er|Rechnungs-?Nr\\.?|Rechnung-Nr\\.?|Rechnung\\s+Nr\\.?|"
     "Invoice\\s+(?:No\\.?|Number))\\s*:?\\s*([A-Za-z0-9][A-Za-z0-9/_.\\-]{0,40})"},
    {"kundennummer",
     "(?:Kundennum(?:m|rn)er|Kunden-?Nr\\.?|Kd\\.?-Nr\\.?|"
     "Customer\\s+(?:No\\.?|Number))\\s*:?\\s*([A-Za-z0-9][A-Za-z0-9/_.\\-]{0,40})"},
    {"vertragsnummer",
     "(?:Vertragsnum(?:m|rn)er|Vertrags-?Nr\\.?|Vertrag\\s+Nr\\.?|Contract\\s+No\\.?)"
     "\\s*:?\\s*([A-Za-z0-9][A-Za-z0-9/_.\\-]{0,40})"},
    {"steuernummer",
     "(?:Steuernum(?:m|rn)er|Steuer-Nr\\.?|(?<![A-Za-z])St\\.?-?Nr\\.?)\\s*:?\\s*"
     "(\\d[\\d/ ]{8,15}\\d)"},
};

/* Compile one of our own patterns; failing is a programming error. */
static pcre2_code *extract_compile(const char *pattern)
{
	pcre2_code *re;
	PCRE2_SIZE off;
	int err;

	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			   PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &err, &off, NULL);
	if (re == NULL)
		log_panic("classify_extract: pattern does not compile at offset %zu", (size_t)off);
	return re;
}

/* 1 if y-m-d is a real calendar date. */
static int extract_valid_date(int y, int m, int d)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= days[m - 1] + (m == 2 && leap);
}

/* Integer value of capture group g, or -1 if unset. */
static int extract_group_int(const char *s, const PCRE2_SIZE *ov, int g)
{
	char tmp[8];
	size_t n;

	if (ov[2 * g] == PCRE2_UNSET)
		return -1;
	n = ov[2 * g + 1] - ov[2 * g];
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s + ov[2 * g], n);
	tmp[n] = '\0';
	return (int)strtol(tmp, NULL, 10);
}

/* The earliest valid date of one pattern kind in s[0..len); its offset in *pos. */
static int extract_date_kind(pcre2_code *re, int kind, const char *s, size_t len, char iso[11],
			     size_t *pos)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	PCRE2_SIZE start = 0;
	int rc = -1;

	while (start <= len && pcre2_match(re, (PCRE2_SPTR)s, len, start, 0, md, NULL) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		int y, m = -1, d, g;

		if (kind == 0) {
			d = extract_group_int(s, ov, 1);
			m = extract_group_int(s, ov, 2);
			y = extract_group_int(s, ov, 3);
			if (y >= 0 && y < 100)
				y += 2000;
		} else if (kind == 1) {
			d = extract_group_int(s, ov, 1);
			for (g = 2; g <= 13; g++)
				if (ov[2 * g] != PCRE2_UNSET)
					m = g - 1;
			y = extract_group_int(s, ov, 14);
		} else {
			y = extract_group_int(s, ov, 1);
			m = extract_group_int(s, ov, 2);
			d = extract_group_int(s, ov, 3);
		}
		if (extract_valid_date(y, m, d)) {
			/* extract_valid_date bounds y, m and d: the text fits in 11 bytes */
			snprintf(iso, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
				 (unsigned)d % 100u);
			*pos = ov[0];
			rc = 0;
			break;
		}
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
	}
	pcre2_match_data_free(md);
	return rc;
}

/* The earliest valid date of any form in s[0..len); its offset in *at (may be NULL). */
static int extract_date_at(const char *s, size_t len, char iso[11], size_t *at)
{
	const char *const pats[] = {extract_re_numeric, extract_re_named, extract_re_iso};
	size_t best = (size_t)-1, pos;
	char tmp[11];
	int k;

	for (k = 0; k < 3; k++) {
		pcre2_code *re = extract_compile(pats[k]);

		if (extract_date_kind(re, k, s, len, tmp, &pos) == 0 && pos < best) {
			best = pos;
			memcpy(iso, tmp, 11);
		}
		pcre2_code_free(re);
	}
	if (at != NULL)
		*at = best;
	return best == (size_t)-1 ? -1 : 0;
}

/* The earliest valid date of any form in s[0..len). */
static int extract_date_in(const char *s, size_t len, char iso[11])
{
	return extract_date_at(s, len, iso, NULL);
}

int classify_extract_date(const char *s, char iso[11])
{
	return extract_date_in(s, strlen(s), iso);
}

/* A trimmed copy of s[0..n) cut at CLASSIFY_EXTRACT_FIELD_MAX (UTF-8 safe), or NULL. */
static json_object *extract_field(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == ':'))
		s++, n--;
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (n > CLASSIFY_EXTRACT_FIELD_MAX) {
		n = CLASSIFY_EXTRACT_FIELD_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n == 0)
		return NULL;
	return json_object_new_string_len(s, (int)n);
}

/* Where byte offset off of text is: page, line, column, region (a JSON object). */
static json_object *extract_pos(const char *text, size_t off, const struct classify_regions *rg)
{
	json_object *o = json_object_new_object();
	int page = 1, line = 1, col = 0;
	const char *region = "body";
	size_t i;

	for (i = 0; i < off && text[i] != '\0'; i++) {
		if (text[i] == '\f') {
			page++;
			line = 1;
			col = 0;
		} else if (text[i] == '\n') {
			line++;
			col = 0;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			col++;
		}
	}
	if (page == 1) {
		if (rg->subject_line == line)
			region = "subject";
		else if (line >= rg->address_first && line <= rg->address_last && rg->address_first)
			region = "address";
		else if (line >= rg->letterhead_first && line <= rg->letterhead_last &&
			 rg->letterhead_first)
			region = "letterhead";
	}
	json_object_object_add(o, "page", json_object_new_int(page));
	json_object_object_add(o, "line", json_object_new_int(line));
	json_object_object_add(o, "column", json_object_new_int(col));
	json_object_object_add(o, "region", json_object_new_string(region));
	return o;
}

/* Copy the keys of a position object into o (for list items). */
static void extract_pos_into(json_object *o, const char *text, size_t off,
			     const struct classify_regions *rg)
{
	json_object *p = extract_pos(text, off, rg);

	json_object_object_foreach(p, k, v) json_object_object_add(o, k, json_object_get(v));
	json_object_put(p);
}

/* End of the line starting at p (its '\n', '\f' or NUL). */
static const char *extract_eol(const char *p)
{
	while (*p != '\0' && *p != '\n' && *p != '\f')
		p++;
	return p;
}

/* The subject: what follows "Betreff"/"Betr." at the start of a line of page 1;
 * *off gets its offset in text. */
static json_object *extract_subject(const char *text, size_t *off)
{
	const char *p = text;

	while (*p != '\0' && *p != '\f') {
		const char *e = extract_eol(p), *q = p;
		size_t skip = 0;

		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(e - q) >= 7 && strncasecmp(q, "betreff", 7) == 0)
			skip = 7;
		else if ((size_t)(e - q) >= 5 && strncasecmp(q, "betr.", 5) == 0)
			skip = 5;
		else if ((size_t)(e - q) >= 5 && strncasecmp(q, "betr:", 5) == 0)
			skip = 4;
		if (skip > 0 && (q + skip == e || q[skip] == ':' || q[skip] == ' ' ||
				 q[skip] == '\t' || q[skip - 1] == '.')) {
			json_object *v = extract_field(q + skip, (size_t)(e - q - skip));

			if (v != NULL) {
				*off = (size_t)(q + skip - text);
				while (text[*off] == ' ' || text[*off] == ':' || text[*off] == '\t')
					(*off)++;
				return v;
			}
			/* label alone on its line: the subject is the next non-empty line */
			for (p = *e == '\n' ? e + 1 : e; *p != '\0' && *p != '\f';) {
				e = extract_eol(p);
				if ((v = extract_field(p, (size_t)(e - p))) != NULL) {
					*off = (size_t)(p - text);
					while (text[*off] == ' ' || text[*off] == '\t')
						(*off)++;
					return v;
				}
				p = *e == '\n' ? e + 1 : e;
			}
			return NULL;
		}
		p = *e == '\n' ? e + 1 : e;
	}
	return NULL;
}

/* 1 if line contains "datum" in any case. */
static int extract_has_datum(const char *line)
{
	const char *p;

	for (p = line; *p != '\0'; p++)
		if (strncasecmp(p, "datum", 5) == 0)
			return 1;
	return 0;
}

/* Offset in page 1 of text of the n bytes at s (a line of the top region), or -1. */
static long extract_find_page1(const char *text, const char *s, size_t n)
{
	const char *end = strchr(text, '\f'), *p;

	if (end == NULL)
		end = text + strlen(text);
	if (n == 0)
		return -1;
	for (p = text; p + n <= end; p++)
		if (*p == *s && memcmp(p, s, n) == 0)
			return (long)(p - text);
	return -1;
}

/* The letter date: a "Datum" line of the top region, else its first date, else
 * page 1's; *off gets its offset in text (or (size_t)-1 if not found there). */
static json_object *extract_letter_date(const char *text, const char *top, size_t *off)
{
	const char *p = top, *page_end;
	char iso[11];
	size_t at;
	long lo;

	*off = (size_t)-1;
	while (*p != '\0') {
		const char *e = extract_eol(p);
		size_t n = (size_t)(e - p);
		char line[512];

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (extract_has_datum(line) && extract_date_at(line, n, iso, &at) == 0) {
			if ((lo = extract_find_page1(text, p, n)) >= 0)
				*off = (size_t)lo + at;
			return json_object_new_string(iso);
		}
		p = *e != '\0' ? e + 1 : e;
	}
	if (extract_date_at(top, strlen(top), iso, &at) == 0) {
		const char *ls = top + at, *le;

		while (ls > top && ls[-1] != '\n')
			ls--;
		le = extract_eol(ls);
		if ((lo = extract_find_page1(text, ls, (size_t)(le - ls))) >= 0)
			*off = (size_t)lo + (size_t)(top + at - ls);
		return json_object_new_string(iso);
	}
	page_end = strchr(text, '\f');
	if (extract_date_at(text, page_end ? (size_t)(page_end - text) : strlen(text), iso, &at) ==
	    0) {
		*off = at;
		return json_object_new_string(iso);
	}
	return NULL;
}

/* The sender: the first line of the letterhead, else of the top region. */
static json_object *extract_sender(const char *text, const char *top,
				   const struct classify_regions *rg, size_t *off)
{
	const char *p = rg->letterhead.len > 0 ? rg->letterhead.data : top;

	*off = (size_t)-1;
	while (*p != '\0') {
		const char *e = extract_eol(p);
		json_object *v = extract_field(p, (size_t)(e - p));

		if (v != NULL) {
			const char *q = p;
			long lo;

			while (*q == ' ' || *q == '\t' || *q == ':')
				q++;
			if ((lo = extract_find_page1(text, q, (size_t)(e - q))) >= 0)
				*off = (size_t)lo;
			return v;
		}
		p = *e != '\0' ? e + 1 : e;
	}
	return NULL;
}

/* 1 if the array already holds kind/value. */
static int extract_ref_known(json_object *arr, const char *kind, const char *value)
{
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *k, *v;

		if (json_object_object_get_ex(o, "kind", &k) &&
		    json_object_object_get_ex(o, "value", &v) &&
		    strcmp(json_object_get_string(k), kind) == 0 &&
		    strcmp(json_object_get_string(v), value) == 0)
			return 1;
	}
	return 0;
}

/* Every reference number after its label, deduplicated. */
static json_object *extract_references(const char *text, const struct classify_regions *rg)
{
	json_object *arr = json_object_new_array();
	size_t len = strlen(text), k;
	pcre2_match_context *mc = pcre2_match_context_create(NULL);

	pcre2_set_match_limit(mc, EXTRACT_MATCH_LIMIT);
	for (k = 0; k < sizeof(extract_refs) / sizeof(extract_refs[0]); k++) {
		pcre2_code *re = extract_compile(extract_refs[k].re);
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
		PCRE2_SIZE start = 0;

		while (start < len && json_object_array_length(arr) < CLASSIFY_EXTRACT_REFS_MAX &&
		       pcre2_match(re, (PCRE2_SPTR)text, len, start, 0, md, mc) > 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			const char *v = text + ov[2];
			size_t n = ov[3] - ov[2], i;
			char val[CLASSIFY_EXTRACT_FIELD_MAX + 1];
			int digit = 0;

			for (i = 0; i + 1 < n; i++) /* a table column gap ends the value */
				if (v[i] == ' ' && v[i + 1] == ' ')
					n = i;
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '.' || v[n - 1] == ',' ||
					 v[n - 1] == '\r' || v[n - 1] == '\t'))
				n--;
			if (n > CLASSIFY_EXTRACT_FIELD_MAX)
				n = CLASSIFY_EXTRACT_FIELD_MAX;
			while (n > 0 && n < ov[3] - ov[2] && ((unsigned char)v[n] & 0xc0) == 0x80)
				n--;
			memcpy(val, v, n);
			val[n] = '\0';
			for (i = 0; i < n; i++)
				digit |= val[i] >= '0' && val[i] <= '9';
			if (digit && !extract_ref_known(arr, extract_refs[k].kind, val)) {
				json_object *o = json_object_new_object();

				json_object_object_add(
				    o, "kind", json_object_new_string(extract_refs[k].kind));
				json_object_object_add(o, "value", json_object_new_string(val));
				extract_pos_into(o, text, ov[2], rg);
				json_object_array_add(arr, o);
			}
			start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	pcre2_match_context_free(mc);
	return arr;
}

/* ---- IBAN ------------------------------------------------------------------ */

/* The IBAN length of a country (ISO 13616 registry, the countries a German city
 * hears from), 0 if not listed. */
static int extract_iban_len(const char *cc)
{
	static const struct {
		char cc[3];
		int len;
	} t[] = {{"DE", 22}, {"AT", 20}, {"CH", 21}, {"LI", 21}, {"NL", 18}, {"BE", 16},
		 {"LU", 20}, {"FR", 27}, {"IT", 27}, {"ES", 24}, {"PT", 25}, {"GB", 22},
		 {"IE", 22}, {"DK", 18}, {"SE", 24}, {"NO", 15}, {"FI", 18}, {"PL", 28},
		 {"CZ", 24}, {"SK", 24}, {"HU", 28}, {"SI", 19}, {"HR", 21}, {"GR", 27}};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (cc[0] == t[i].cc[0] && cc[1] == t[i].cc[1])
			return t[i].len;
	return 0;
}

int classify_extract_iban(const char *s, char *out, size_t outlen, const char **reason)
{
	char c[40];
	size_t n = 0, i;
	int want, rem = 0;

	*reason = NULL;
	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (n + 1 >= sizeof(c)) {
			*reason = "longer than 34 characters";
			return 0;
		}
		c[n++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
	}
	c[n] = '\0';
	if (n < 5 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' || c[2] < '0' ||
	    c[2] > '9' || c[3] < '0' || c[3] > '9') {
		*reason = "does not start with a country code and two check digits";
		return 0;
	}
	for (i = 4; i < n; i++)
		if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'A' && c[i] <= 'Z'))) {
			*reason = "contains characters other than letters and digits";
			return 0;
		}
	want = extract_iban_len(c);
	if (want > 0 && (int)n != want) {
		*reason = (int)n < want ? "too short for its country" : "too long for its country";
		return 0;
	}
	if (want == 0 && (n < 15 || n > 34)) {
		*reason = "length outside 15..34";
		return 0;
	}
	if (strncmp(c, "DE", 2) == 0)
		for (i = 4; i < n; i++)
			if (c[i] < '0' || c[i] > '9') {
				*reason = "a German IBAN has only digits after the country code";
				return 0;
			}
	/* ISO 13616 / ISO 7064 mod 97-10: the first four characters moved to the end,
	 * letters as 10..35, the number mod 97 must be 1 */
	for (i = 0; i < n; i++) {
		char ch = c[(i + 4) % n];

		if (ch >= '0' && ch <= '9')
			rem = (rem * 10 + (ch - '0')) % 97;
		else
			rem = (rem * 100 + (ch - 'A' + 10)) % 97;
	}
	if (rem != 1) {
		*reason = "checksum (ISO 13616 mod 97) does not match: misread or mistyped";
		return 0;
	}
	if (out != NULL && outlen > n)
		memcpy(out, c, n + 1);
	return 1;
}

/* Every IBAN candidate: valid ones into ibans, the others into rejected. */
static void extract_ibans(const char *text, const struct classify_regions *rg, json_object *ibans,
			  json_object *rejected)
{
	/* a country code, two check digits, then groups of letters/digits; the
	 * candidate must carry an IBAN label before it or a country we know */
	static const char re_iban[] =
	    "(?-i)(?<![A-Za-z0-9])(IBAN\\s*:?\\s*)?([A-Z]{2}\\s?\\d{2}(?:\\s?[A-Z0-9]{4}){2,7}"
	    "(?:\\s?[A-Z0-9]{1,3})?)(?![A-Za-z0-9])";
	pcre2_code *re = extract_compile(re_iban);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	size_t len = strlen(text);
	PCRE2_SIZE start = 0;

	pcre2_set_match_limit(mc, EXTRACT_MATCH_LIMIT);
	while (start < len && json_object_array_length(ibans) < CLASSIFY_EXTRACT_REFS_MAX &&
	       json_object_array_length(rejected) < CLASSIFY_EXTRACT_REFS_MAX &&
	       pcre2_match(re, (PCRE2_SPTR)text, len, start, 0, md, mc) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		size_t n = ov[5] - ov[4], i;
		char cand[64], compact[40];
		const char *reason;
		int labelled = ov[2] != PCRE2_UNSET && ov[3] > ov[2];
		json_object *o;

		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (n >= sizeof(cand))
			continue;
		memcpy(cand, text + ov[4], n);
		cand[n] = '\0';
		for (i = 0; i < n; i++) /* line breaks inside: keep the text on one line */
			if (cand[i] == '\n' || cand[i] == '\t' || cand[i] == '\r' || cand[i] == '\f')
				cand[i] = ' ';
		if (!labelled && extract_iban_len(cand) == 0)
			continue; /* "AB12 3456 7890": not evidently an IBAN */
		o = json_object_new_object();
		if (classify_extract_iban(cand, compact, sizeof(compact), &reason)) {
			json_object_object_add(o, "value", json_object_new_string(compact));
			json_object_object_add(o, "text", json_object_new_string(cand));
			extract_pos_into(o, text, ov[4], rg);
			json_object_array_add(ibans, o);
		} else {
			json_object_object_add(o, "kind", json_object_new_string("iban"));
			json_object_object_add(o, "text", json_object_new_string(cand));
			json_object_object_add(o, "reason", json_object_new_string(reason));
			extract_pos_into(o, text, ov[4], rg);
			json_object_array_add(rejected, o);
		}
	}
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
}

/* ---- amounts ---------------------------------------------------------------- */

int classify_extract_amount(const char *s, long long *cents)
{
	long long v = 0;
	int digits = 0, group = -1;

	for (; *s != '\0' && *s != ','; s++) {
		if (*s == '.') {
			if (digits == 0 || (group >= 0 && group != 3) || (group < 0 && digits > 3))
				return -1;
			group = 0;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -1;
		if (++digits > 12)
			return -1;
		if (group >= 0)
			group++;
		v = v * 10 + (*s - '0');
	}
	if (digits == 0 || (group >= 0 && group != 3) || *s != ',' || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9' || (s[3] >= '0' && s[3] <= '9'))
		return -1;
	*cents = v * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return 0;
}

/* Every amount with a currency, and the label before it on its line. */
static void extract_amounts(const char *text, const struct classify_regions *rg, json_object *arr)
{
	static const char re_amount[] =
	    "(?:(EUR|Euro|\xe2\x82\xac)\\s?)?(?<![\\d.,])(\\d{1,3}(?:\\.\\d{3})+|\\d{1,12}),(\\d{2}|-{1,2})"
	    "(?![\\d])(?:\\s?(EUR|Euro|\xe2\x82\xac)(?![A-Za-z]))?";
	pcre2_code *re = extract_compile(re_amount);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	size_t len = strlen(text);
	PCRE2_SIZE start = 0;

	pcre2_set_match_limit(mc, EXTRACT_MATCH_LIMIT);
	while (start < len && json_object_array_length(arr) < 2 * CLASSIFY_EXTRACT_REFS_MAX &&
	       pcre2_match(re, (PCRE2_SPTR)text, len, start, 0, md, mc) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		char num[40], vs[48], lab[CLASSIFY_EXTRACT_FIELD_MAX + 1];
		const char *ls, *le;
		size_t n;
		long long cents;
		json_object *o;

		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (ov[2] == PCRE2_UNSET && ov[8] == PCRE2_UNSET)
			continue; /* no currency: a number, not an amount */
		n = ov[7] - ov[4];
		if (n >= sizeof(num))
			continue;
		memcpy(num, text + ov[4], n);
		num[n] = '\0';
		if (num[n - 1] == '-') /* "12,-" and "12,--" mean whole euros */
			snprintf(num + (ov[5] - ov[4]), sizeof(num) - (ov[5] - ov[4]), ",00");
		if (classify_extract_amount(num, &cents) == -1)
			continue;
		snprintf(vs, sizeof(vs), "%lld.%02lld", cents / 100, cents % 100);
		/* the label: the text before the amount on its line, after a column gap */
		ls = text + ov[0];
		while (ls > text && ls[-1] != '\n' && ls[-1] != '\f')
			ls--;
		le = text + ov[0];
		while (le > ls && (le[-1] == ' ' || le[-1] == ':' || le[-1] == '\t'))
			le--;
		{
			const char *q = le;

			while (q > ls && !(q[-1] == '\t' || (q - ls >= 2 && q[-1] == ' ' && q[-2] == ' ')))
				q--;
			ls = q;
		}
		n = (size_t)(le - ls);
		if (n > CLASSIFY_EXTRACT_FIELD_MAX)
			n = CLASSIFY_EXTRACT_FIELD_MAX;
		while (n > 0 && ((unsigned char)ls[n] & 0xc0) == 0x80 && ls + n < le)
			n--;
		memcpy(lab, ls, n);
		lab[n] = '\0';
		o = json_object_new_object();
		json_object_object_add(o, "value", json_object_new_double_s((double)cents / 100.0, vs));
		json_object_object_add(o, "currency", json_object_new_string("EUR"));
		json_object_object_add(o, "label", n > 0 ? json_object_new_string(lab) : NULL);
		json_object_object_add(o, "text",
				       json_object_new_string_len(text + ov[0], (int)(ov[1] - ov[0])));
		extract_pos_into(o, text, ov[0], rg);
		json_object_array_add(arr, o);
	}
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
}

/* ---- deadlines -------------------------------------------------------------- */

/* Deadline hints: what the letter says about a time limit, with the date if any. */
static void extract_deadlines(const char *text, const struct classify_regions *rg,
			      json_object *arr)
{
	static const struct {
		const char *kind, *re;
	} pats[] = {
	    {"widerspruch",
	     "\\b(?:Widerspruch|Einspruch|Klage)\\b[^.\\f]{0,160}?\\binnerhalb\\s+(?:eines\\s+"
	     "Monats|von\\s+\\S+\\s+(?:Wochen|Tagen|Monaten)|\\S+\\s+(?:Wochen|Monaten))"
	     "[^.\\f]{0,80}"},
	    {"zahlbar_bis", "\\bzahlbar\\s+(?:bis|sp(?:\xc3\xa4|ae)testens)(?:\\s+(?:zum|am))?\\s+"
			    "[^\\n\\f]{0,40}"},
	    {"spaetestens", "\\bsp(?:\xc3\xa4|ae)testens\\s+(?:bis\\s+)?(?:zum\\s+|am\\s+)?"
			    "[^\\n\\f]{0,60}"},
	    {"frist", "\\b(?:Frist|Fristablauf|Fristende|Ausschlussfrist)\\b[^\\n\\f]{0,120}"},
	};
	size_t len = strlen(text), k, i;
	pcre2_match_context *mc = pcre2_match_context_create(NULL);

	pcre2_set_match_limit(mc, EXTRACT_MATCH_LIMIT);
	for (k = 0; k < sizeof(pats) / sizeof(pats[0]); k++) {
		pcre2_code *re = extract_compile(pats[k].re);
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
		PCRE2_SIZE start = 0;

		while (start < len && json_object_array_length(arr) < CLASSIFY_EXTRACT_REFS_MAX &&
		       pcre2_match(re, (PCRE2_SPTR)text, len, start, 0, md, mc) > 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			size_t n = ov[1] - ov[0], dup = 0;
			char iso[11], t[CLASSIFY_EXTRACT_FIELD_MAX + 1];
			json_object *o;

			start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
			/* a hint already reported from the same place (zahlbar bis spätestens) */
			for (i = 0; i < json_object_array_length(arr); i++) {
				json_object *x, *off;

				x = json_object_array_get_idx(arr, i);
				if (json_object_object_get_ex(x, "offset", &off) &&
				    (size_t)json_object_get_int64(off) <= ov[0] &&
				    ov[0] < (size_t)json_object_get_int64(off) + 40)
					dup = 1;
			}
			if (dup)
				continue;
			if (n > CLASSIFY_EXTRACT_FIELD_MAX)
				n = CLASSIFY_EXTRACT_FIELD_MAX;
			while (n > 0 && ((unsigned char)text[ov[0] + n] & 0xc0) == 0x80)
				n--;
			memcpy(t, text + ov[0], n);
			t[n] = '\0';
			for (i = 0; i < n; i++)
				if (t[i] == '\n' || t[i] == '\t' || t[i] == '\r')
					t[i] = ' ';
			while (n > 0 && t[n - 1] == ' ')
				t[--n] = '\0';
			o = json_object_new_object();
			json_object_object_add(o, "kind", json_object_new_string(pats[k].kind));
			json_object_object_add(o, "text", json_object_new_string(t));
			json_object_object_add(o, "date", extract_date_in(t, n, iso) == 0
							      ? json_object_new_string(iso)
							      : NULL);
			json_object_object_add(o, "offset", json_object_new_int64((int64_t)ov[0]));
			extract_pos_into(o, text, ov[0], rg);
			json_object_array_add(arr, o);
		}
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	pcre2_match_context_free(mc);
	for (i = 0; i < json_object_array_length(arr); i++)
		json_object_object_del(json_object_array_get_idx(arr, i), "offset");
}

/* A position object, or null when off is (size_t)-1. */
static json_object *extract_pos_or_null(const char *text, size_t off,
					const struct classify_regions *rg)
{
	return off == (size_t)-1 ? NULL : extract_pos(text, off, rg);
}

json_object *classify_extract(const char *text, const char *top)
{
	json_object *o = json_object_new_object(), *pos = json_object_new_object(), *subject;
	json_object *ibans = json_object_new_array(), *rejected = json_object_new_array();
	json_object *amounts = json_object_new_array(), *deadlines = json_object_new_array();
	struct classify_regions rg;
	size_t off = (size_t)-1;
	buf guess;

	buf_init(&guess, CLASSIFY_TEXT_MAX + 1);
	classify_regions_find(text, &rg);
	if (top == NULL) {
		if (classify_rules_top_guess(text, &guess) == -1)
			buf_add(&guess, "", 0);
		top = guess.data != NULL ? guess.data : "";
	}
	if ((subject = extract_subject(text, &off)) == NULL && rg.subject.len > 0) {
		subject = extract_field(rg.subject.data, rg.subject.len);
		off = rg.subject_off;
	}
	json_object_object_add(o, "subject", subject);
	json_object_object_add(pos, "subject",
			       subject != NULL ? extract_pos_or_null(text, off, &rg) : NULL);
	json_object_object_add(o, "date", extract_letter_date(text, top, &off));
	json_object_object_add(pos, "date", extract_pos_or_null(text, off, &rg));
	json_object_object_add(o, "sender", extract_sender(text, top, &rg, &off));
	json_object_object_add(pos, "sender", extract_pos_or_null(text, off, &rg));
	json_object_object_add(o, "positions", pos);
	json_object_object_add(o, "references", extract_references(text, &rg));
	extract_ibans(text, &rg, ibans, rejected);
	extract_amounts(text, &rg, amounts);
	extract_deadlines(text, &rg, deadlines);
	json_object_object_add(o, "ibans", ibans);
	json_object_object_add(o, "amounts", amounts);
	json_object_object_add(o, "deadlines", deadlines);
	json_object_object_add(o, "rejected", rejected);
	classify_regions_free(&rg);
	buf_free(&guess);
	return o;
}
