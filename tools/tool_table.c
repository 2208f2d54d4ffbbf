/*
 * tool_table.c - aligned text tables for people, and neutralising of text
 * that comes from files (reasons, journal details) before it reaches a
 * terminal: control characters could otherwise move the cursor or rewrite
 * what the operator sees.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tool.h"
#include "xalloc.h"

#define TOOL_CELL_MAX 2048

struct tool_table {
	int ncols;
	char *align;
	char **cells; /* rows * ncols */
	size_t rows, cap;
};

char *tool_clean(const char *s, char *out, size_t outlen)
{
	size_t i = 0;

	if (outlen == 0)
		return out;
	for (; s != NULL && *s != '\0' && i + 1 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n' || ch == '\r' || ch == '\t')
			out[i++] = ' ';
		else if (ch < 0x20 || ch == 0x7f)
			out[i++] = '?';
		else
			out[i++] = (char)ch;
	}
	/* do not leave half a UTF-8 sequence at a cut */
	if (s != NULL && *s != '\0') {
		while (i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0xc0)
			i--;
	}
	out[i] = '\0';
	return out;
}

size_t tool_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

tool_table *tool_table_new(int ncols, const char *align)
{
	tool_table *t = xcalloc(1, sizeof(*t));
	int i;

	t->ncols = ncols;
	t->align = xcalloc((size_t)ncols + 1, 1);
	for (i = 0; i < ncols; i++)
		t->align[i] = (align != NULL && i < (int)strlen(align)) ? align[i] : 'l';
	return t;
}

tool_table *tool_table_free(tool_table *t)
{
	size_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < t->rows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->align);
	free(t);
	return NULL;
}

void tool_table_row(tool_table *t, const char *const *cells)
{
	char clean[TOOL_CELL_MAX];
	int i;

	if (t->rows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap * (size_t)t->ncols * sizeof(*t->cells));
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->rows * (size_t)t->ncols + (size_t)i] =
		    xstrdup(cells[i] != NULL ? tool_clean(cells[i], clean, sizeof(clean)) : "-");
	t->rows++;
}

size_t tool_table_rows(const tool_table *t)
{
	return t->rows;
}

void tool_table_print(const tool_table *t, FILE *fp, const char *indent)
{
	size_t *w = xcalloc((size_t)t->ncols, sizeof(*w));
	size_t r;
	buf line;
	int i;

	for (r = 0; r < t->rows; r++)
		for (i = 0; i < t->ncols; i++) {
			size_t cw = tool_width(t->cells[r * (size_t)t->ncols + (size_t)i]);

			if (cw > w[i])
				w[i] = cw;
		}
	buf_init(&line, (size_t)t->ncols * (TOOL_CELL_MAX + 2) + 256);
	for (r = 0; r < t->rows; r++) {
		buf_reset(&line);
		buf_adds(&line, indent != NULL ? indent : "");
		for (i = 0; i < t->ncols; i++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)i];
			size_t pad = w[i] - tool_width(cell), k;

			if (t->align[i] == 'r')
				for (k = 0; k < pad; k++)
					buf_add(&line, " ", 1);
			buf_adds(&line, cell);
			if (t->align[i] != 'r')
				for (k = 0; k < pad; k++)
					buf_add(&line, " ", 1);
			buf_add(&line, "  ", 2);
		}
		/* no trailing blanks */
		while (line.len > 0 && line.data[line.len - 1] == ' ')
			line.data[--line.len] = '\0';
		fprintf(fp, "%s\n", line.data != NULL ? line.data : "");
	}
	buf_free(&line);
	free(w);
}
