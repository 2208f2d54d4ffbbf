/*
 * classify_extract.h - minimal extraction of letter metadata from the OCR text:
 * subject, letter date, sender, reference numbers.
 *
 * Deliberately simple (a later issue deepens it): the subject is the text after
 * "Betreff:"/"Betr.", the date the first date in the top region of page 1
 * (preferring a line that says "Datum"), the sender the first line of the top
 * region, the references what follows "Aktenzeichen", "Rechnungsnummer",
 * "Kundennummer" and their abbreviations.
 */
#ifndef MAILROOM_CLASSIFY_EXTRACT_H
#define MAILROOM_CLASSIFY_EXTRACT_H

#include <json-c/json.h>

#define CLASSIFY_EXTRACT_FIELD_MAX 200 /* longest subject/sender/reference kept */
#define CLASSIFY_EXTRACT_REFS_MAX 20

/*
 * The "extraction" object for job.json: {"subject", "date" (ISO yyyy-mm-dd),
 * "sender", "references": [{"kind", "value"}]}; absent values are null.
 * text is the whole OCR text (pages split by '\f'), top the top region of page 1
 * (NULL: guessed from the text). Caller owns the result.
 */
json_object *classify_extract(const char *text, const char *top);

/* Parse a German date at s ("21.11.2026", "21. November 2026", "2026-11-21") into
 * iso[11]; 0 or -1. For tests. */
int classify_extract_date(const char *s, char iso[11]);

#endif
