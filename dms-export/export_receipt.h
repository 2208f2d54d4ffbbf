/*
 * export_receipt.h - read an xdomea 3.0.0 import receipt that the DMS put into an
 * office's reply folder: untrusted XML, parsed and validated before anything in it
 * is believed.
 *
 * Receipts understood (../shared/xsd/xdomea_3.0.0):
 *   0102 Information.EmpfangBestaetigen  answers a 0101; only a Kopf (NkBasisType):
 *        it says "received", never "failed".
 *   0629 FVDaten.EmpfangBestaetigen      answers a 0605: received (Kopf only).
 *   0630 FVDaten.ImportBestaetigen       answers a 0605: ErfolgOderMisserfolg with
 *        one or more Rueckmeldung, each a choice of AllgemeineRueckmeldung (code list
 *        AllgemeineRueckmeldung 1.1; 0000000 = "Ausführung wurde erfolgreich
 *        beendet"), SpezifischeFehlermeldung06nn (e.g. 0605001 "Die ID des
 *        Containers ist im DMS unbekannt"), SonstigeFehlermeldung (free text) or
 *        SonstigeFehlermeldungCode; and Rueckgabeparameter* whose IDSGO is the
 *        DMS's id of the stored document. Imported only when every Rueckmeldung is
 *        0000000.
 * The letter a receipt answers is named by Kopf/ProzessID: the ProzessID of the
 * message it confirms (xdomea: "Sie dient zur Identifikation bei Rückmeldungen"),
 * which mailroom sets to the letter's uuid.
 *
 * SECURITY: parsed from memory with XML_PARSE_NONET, no DTD loading, no entity
 * substitution (common/xmlschema); a document with a DTD (internal subset) is
 * refused outright; it must validate against xdomea.xsd; every text taken from it
 * is bounded and stripped of control characters. The caller bounds the size
 * (EXPORT_RECEIPT_MAX).
 */
#ifndef MAILROOM_EXPORT_RECEIPT_H
#define MAILROOM_EXPORT_RECEIPT_H

#include <stddef.h>

#include "ident.h"
#include "xmlschema.h"

#define EXPORT_RECEIPT_MAX (1u << 20) /* a receipt is a few kB */

enum export_receipt_kind {
	EXPORT_RECEIPT_RECEIVED, /* 0102 / 0629: the DMS has the package */
	EXPORT_RECEIPT_IMPORTED, /* 0630, every Rueckmeldung 0000000 */
	EXPORT_RECEIPT_REJECTED	 /* 0630 with an error */
};

/* What a receipt says. */
struct export_receipt {
	char message[8];		 /* "0102", "0629" or "0630" */
	const char *message_name;	 /* "Information.EmpfangBestaetigen" ... (static) */
	char process_id[IDENT_UUID_LEN]; /* Kopf/ProzessID, lower case */
	char created[40];		 /* Kopf/Erstellungszeitpunkt as given */
	enum export_receipt_kind kind;
	char dms_id[80];  /* 0630 Rueckgabeparameter/IDSGO, or "" */
	char reason[768]; /* REJECTED: the DMS's errors in words; else "" */
};

/*
 * Parse and validate the receipt xml (len bytes) against the xdomea schema s.
 * 0 with r filled; -1 with err saying why it is not a usable receipt (not XML, a
 * DTD, another message, invalid against the schema, a ProzessID that is no UUID).
 */
int export_receipt_parse(xmlschema *s, const char *xml, size_t len, struct export_receipt *r,
			 char *err, size_t errlen);

/* The words of a Rueckmeldung code (AllgemeineRueckmeldung 1.1, 0605 1.0), or NULL. */
const char *export_receipt_code_text(const char *code);

#endif
