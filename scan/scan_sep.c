/*
 * scan_sep.c - the separator sheet payload; see scan_sep.h.
 */
#include "scan_sep.h"

#include <stdio.h>
#include <string.h>

#define SEP_PREFIX_LEN (sizeof(SCAN_SEP_PREFIX) - 1)

/* A character of a batch id. */
static int sep_id_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* A character of a type or office name. */
static int sep_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* 1 if the bytes at d[pos..len) begin with the string lit. */
static int sep_at(const unsigned char *d, size_t len, size_t pos, const char *lit)
{
	size_t n = strlen(lit);

	return pos <= len && len - pos >= n && memcmp(d + pos, lit, n) == 0;
}

/* A value of characters ok() allows, 1 to SCAN_SEP_FIELD_MAX of them, from d[*pos]
 * up to the next ';' or the end, into out. 0, or -1 with err. */
static int sep_value(const unsigned char *d, size_t len, size_t *pos, int (*ok)(int),
		     const char *what, char *out, char *err, size_t errlen)
{
	size_t start = *pos, n;

	while (*pos < len && d[*pos] != ';') {
		if (!ok(d[*pos])) {
			snprintf(err, errlen, "byte 0x%02x at offset %zu is not allowed in the %s",
				 d[*pos], *pos, what);
			return -1;
		}
		(*pos)++;
	}
	n = *pos - start;
	if (n == 0 || n > SCAN_SEP_FIELD_MAX) {
		snprintf(err, errlen, "the %s at offset %zu has %zu characters (1 to %d)", what,
			 start, n, SCAN_SEP_FIELD_MAX);
		return -1;
	}
	memcpy(out, d + start, n);
	out[n] = '\0';
	return 0;
}

int scan_sep_is_ours(const unsigned char *data, size_t len)
{
	return data != NULL && sep_at(data, len, 0, SCAN_SEP_PREFIX);
}

int scan_sep_parse(const unsigned char *d, size_t len, struct scan_sep *s, char *err, size_t errlen)
{
	size_t pos = SEP_PREFIX_LEN, vstart;
	long n = 0;

	memset(s, 0, sizeof(*s));
	if (d == NULL || len > SCAN_SEP_MAX) {
		snprintf(err, errlen, "a payload of %zu bytes (at most %d)", d ? len : 0,
			 SCAN_SEP_MAX);
		return -1;
	}
	if (!scan_sep_is_ours(d, len)) {
		snprintf(err, errlen, "the payload does not begin with %s", SCAN_SEP_PREFIX);
		return -1;
	}
	vstart = pos;
	while (pos < len && d[pos] >= '0' && d[pos] <= '9' && pos - vstart < 6)
		pos++;
	if (pos == vstart || (pos < len && d[pos] != ';')) {
		snprintf(err, errlen, "no version number after %s", SCAN_SEP_PREFIX);
		return -1;
	}
	if (pos - vstart != 1 || d[vstart] != '0' + SCAN_SEP_VERSION) {
		snprintf(err, errlen,
			 "separator version %.*s is not supported (this program reads version %d)",
			 (int)(pos - vstart), (const char *)d + vstart, SCAN_SEP_VERSION);
		return -1;
	}
	if (!sep_at(d, len, pos, ";batch=")) {
		snprintf(err, errlen, "expected ';batch=' at offset %zu", pos);
		goto fail;
	}
	pos += 7;
	if (sep_value(d, len, &pos, sep_id_char, "batch id", s->batch, err, errlen) == -1)
		goto fail;
	if (!sep_at(d, len, pos, ";sheet=")) {
		snprintf(err, errlen, "expected ';sheet=' at offset %zu", pos);
		goto fail;
	}
	pos += 7;
	vstart = pos;
	while (pos < len && d[pos] >= '0' && d[pos] <= '9') {
		if (pos - vstart >= 6) {
			snprintf(err, errlen, "the sheet number at offset %zu is above %ld", vstart,
				 SCAN_SEP_SHEET_MAX);
			goto fail;
		}
		n = n * 10 + (d[pos] - '0');
		pos++;
	}
	if (pos == vstart || d[vstart] == '0' || (pos < len && d[pos] != ';')) {
		snprintf(err, errlen, "the sheet number at offset %zu is not a number 1 to %ld",
			 vstart, SCAN_SEP_SHEET_MAX);
		goto fail;
	}
	s->sheet = n;
	if (sep_at(d, len, pos, ";type=")) {
		pos += 6;
		if (sep_value(d, len, &pos, sep_name_char, "document type", s->type, err, errlen) ==
		    -1)
			goto fail;
	}
	if (sep_at(d, len, pos, ";office=")) {
		pos += 8;
		if (sep_value(d, len, &pos, sep_name_char, "office", s->office, err, errlen) == -1)
			goto fail;
	}
	if (pos != len) {
		snprintf(err, errlen,
			 "unexpected bytes at offset %zu (fields: batch, sheet, type, office, in "
			 "this order, each once)",
			 pos);
		goto fail;
	}
	return 0;
fail:
	memset(s, 0, sizeof(*s));
	return -1;
}

/* 1 if s has 1 to SCAN_SEP_FIELD_MAX characters, each allowed by ok(). */
static int sep_valid(const char *s, int (*ok)(int))
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if (n >= SCAN_SEP_FIELD_MAX || !ok((unsigned char)s[n]))
			return 0;
	return n > 0;
}

int scan_sep_valid_id(const char *s)
{
	return sep_valid(s, sep_id_char);
}

int scan_sep_valid_name(const char *s)
{
	return sep_valid(s, sep_name_char);
}

int scan_sep_format(const struct scan_sep *s, char *out, size_t outlen, char *err, size_t errlen)
{
	int n;

	if (!scan_sep_valid_id(s->batch)) {
		snprintf(err, errlen, "batch id '%.40s': 1 to %d of A-Z a-z 0-9 - _", s->batch,
			 SCAN_SEP_FIELD_MAX);
		return -1;
	}
	if (s->sheet < 1 || s->sheet > SCAN_SEP_SHEET_MAX) {
		snprintf(err, errlen, "sheet number %ld: 1 to %ld", s->sheet, SCAN_SEP_SHEET_MAX);
		return -1;
	}
	if (s->type[0] != '\0' && !scan_sep_valid_name(s->type)) {
		snprintf(err, errlen, "document type '%.40s': 1 to %d of a-z 0-9 - _", s->type,
			 SCAN_SEP_FIELD_MAX);
		return -1;
	}
	if (s->office[0] != '\0' && !scan_sep_valid_name(s->office)) {
		snprintf(err, errlen, "office '%.40s': 1 to %d of a-z 0-9 - _", s->office,
			 SCAN_SEP_FIELD_MAX);
		return -1;
	}
	n = snprintf(out, outlen, "%s%d;batch=%s;sheet=%ld%s%s%s%s", SCAN_SEP_PREFIX,
		     SCAN_SEP_VERSION, s->batch, s->sheet, s->type[0] ? ";type=" : "", s->type,
		     s->office[0] ? ";office=" : "", s->office);
	if (n < 0 || (size_t)n >= outlen || n > SCAN_SEP_MAX) {
		snprintf(err, errlen, "the payload does not fit in %zu bytes", outlen);
		return -1;
	}
	return n;
}

void scan_sep_printable(const unsigned char *data, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0;

	if (outlen == 0)
		return;
	for (i = 0; i < len && n + 1 < outlen; i++)
		out[n++] = data[i] >= 0x20 && data[i] < 0x7f ? (char)data[i] : '?';
	out[n] = '\0';
}
