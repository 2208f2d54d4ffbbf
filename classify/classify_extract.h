/*
 * classify_extract.h - extraction of letter metadata from the OCR text, each item
 * with where it was found: page, line (1-based within the page), column (in
 * characters, 0-based) and the region of page 1 (letterhead, address, subject,
 * body; see classify_regions_find).
 *
 * - subject: after "Betreff:"/"Betr." on page 1, else the region heuristic's subject;
 * - date: a "Datum" line of the top region, else its first date, else page 1's;
 * - sender: the first line of the letterhead (or of the top region);
 * - references: Aktenzeichen ("Az."), Kundennummer, Rechnungsnummer, Vertragsnummer,
 *   Steuernummer - what follows the label (also "Rechnungsnumrner": OCR reads
 *   "m" as "rn");
 * - ibans: candidates checked by ISO 13616 (length per country, mod 97 = 1); a
 *   candidate that fails is listed under "rejected" with the reason, never as IBAN;
 * - amounts: German format 1.234,56 with EUR/Euro/€ before or after, and the label
 *   before it on the line (Rechnungsbetrag, Gesamtbetrag, Nettobetrag ...);
 * - deadlines: "Widerspruch ... innerhalb eines Monats", "Frist", "zahlbar bis
 *   <date>", "spätestens (bis|am) <date>", with the date when one is given.
 */
#ifndef MAILROOM_CLASSIFY_EXTRACT_H
#define MAILROOM_CLASSIFY_EXTRACT_H

#include <json-c/json.h>

#define CLASSIFY_EXTRACT_FIELD_MAX 200 /* longest subject/sender/reference kept */
#define CLASSIFY_EXTRACT_REFS_MAX 20

/*
 * The "extraction" object for job.json: {"subject", "date" (ISO yyyy-mm-dd),
 * "sender", "positions": {"subject"|"date"|"sender": position}, "references":
 * [{"kind", "value", position...}], "ibans": [{"value", "text", position...}],
 * "rejected": [{"kind": "iban", "text", "reason", position...}], "amounts":
 * [{"value", "currency", "label", "text", position...}], "deadlines": [{"kind",
 * "text", "date", position...}]}; absent values are null. A position is {"page",
 * "line", "column", "region"}.
 * text is the whole OCR text (pages split by '\f'), top the top region of page 1
 * (NULL: guessed from the text). Caller owns the result.
 */
json_object *classify_extract(const char *text, const char *top);

/* Parse a German date at s ("21.11.2026", "21. November 2026", "2026-11-21") into
 * iso[11]; 0 or -1. For tests. */
int classify_extract_date(const char *s, char iso[11]);

/* Check an IBAN candidate (spaces allowed): 1 valid (compact form into out, at least
 * 35 bytes), 0 invalid with *reason set (static text). For tests. */
int classify_extract_iban(const char *s, char *out, size_t outlen, const char **reason);

/* Parse a German amount "1.234,56" at s into cents; 0 or -1. For tests. */
int classify_extract_amount(const char *s, long long *cents);

#endif
