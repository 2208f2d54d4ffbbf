/*
 * classify_extract.c - minimal metadata extraction; see classify_extract.h.
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
     "(?:Rechnungsnummer|Rechnungs-?Nr\\.?|Rechnung-Nr\\.?|Rechnung\\s+Nr\\.?|"
     "Invoice\\s+(?:No\\.?|Number))\\s*:?\\s*([A-Za-z0-9][A-Za-z0-9/_.\\-]{0,40})"},
    {"kundennummer",
     "(?:Kundennummer|Kunden-?Nr\\.?|Kd\\.?-Nr\\.?|"
     "Customer\\s+(?:No\\.?|Number))\\s*:?\\s*([A-Za-z0-9][A-Za-z0-9/_.\\-]{0,40})"},
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
	return atoi(tmp);
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
			snprintf(iso, 11, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
			*pos = ov[0];
			rc = 0;
			break;
		}
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
	}
	pcre2_match_data_free(md);
	return rc;
}

/* The earliest valid date of any form in s[0..len). */
static int extract_date_in(const char *s, size_t len, char iso[11])
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
	return best == (size_t)-1 ? -1 : 0;
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

/* End of the line starting at p (its '\n', '\f' or NUL). */
static const char *extract_eol(const char *p)
{
	while (*p != '\0' && *p != '\n' && *p != '\f')
		p++;
	return p;
}

/* The subject: what follows "Betreff"/"Betr." at the start of a line of page 1. */
static json_object *extract_subject(const char *text)
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

			if (v != NULL)
				return v;
			/* label alone on its line: the subject is the next non-empty line */
			for (p = *e == '\n' ? e + 1 : e; *p != '\0' && *p != '\f';) {
				e = extract_eol(p);
				if ((v = extract_field(p, (size_t)(e - p))) != NULL)
					return v;
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

/* The letter date: a "Datum" line of the top region, else its first date, else page 1's. */
static json_object *extract_letter_date(const char *text, const char *top)
{
	const char *p = top, *page_end;
	char iso[11];

	while (*p != '\0') {
		const char *e = extract_eol(p);
		size_t n = (size_t)(e - p);
		char line[512];

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (extract_has_datum(line) && extract_date_in(line, n, iso) == 0)
			return json_object_new_string(iso);
		p = *e != '\0' ? e + 1 : e;
	}
	if (extract_date_in(top, strlen(top), iso) == 0)
		return json_object_new_string(iso);
	page_end = strchr(text, '\f');
	if (extract_date_in(text, page_end ? (size_t)(page_end - text) : strlen(text), iso) == 0)
		return json_object_new_string(iso);
	return NULL;
}

/* The sender: the first non-empty line of the top region. */
static json_object *extract_sender(const char *top)
{
	const char *p = top;

	while (*p != '\0') {
		const char *e = extract_eol(p);
		json_object *v = extract_field(p, (size_t)(e - p));

		if (v != NULL)
			return v;
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
static json_object *extract_references(const char *text)
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

json_object *classify_extract(const char *text, const char *top)
{
	json_object *o = json_object_new_object();
	buf guess;

	buf_init(&guess, CLASSIFY_TEXT_MAX + 1);
	if (top == NULL) {
		if (classify_rules_top_guess(text, &guess) == -1)
			buf_add(&guess, "", 0);
		top = guess.data != NULL ? guess.data : "";
	}
	json_object_object_add(o, "subject", extract_subject(text));
	json_object_object_add(o, "date", extract_letter_date(text, top));
	json_object_object_add(o, "sender", extract_sender(top));
	json_object_object_add(o, "references", extract_references(text));
	buf_free(&guess);
	return o;
}
