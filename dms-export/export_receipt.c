/*
 * export_receipt.c - parse and validate xdomea import receipts; see export_receipt.h.
 */
#include "export_receipt.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "export_xdomea.h"

static void rcpt_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a reason into err. */
static void rcpt_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The codes a DMS answers a 0605 with: AllgemeineRueckmeldung 1.1 (the direction
 * Fachverfahren -> DMS, which is ours) and 0605.SpezifischeFehlermeldung 1.0, from
 * ../shared/xsd/xdomea_3.0.0/code_lists. Shortened where the list repeats itself.
 */
static const struct {
	const char *code, *text;
} rcpt_codes[] = {
    {"0000000", "Ausführung wurde erfolgreich beendet"},
    {"0000001", "das DMS ist nicht verfügbar oder antwortet nicht in angemessener Zeit"},
    {"0000002", "Verbindungsabbruch"},
    {"0000003", "die Kennung ist dem DMS nicht bekannt"},
    {"0000004", "dem Benutzer bzw. der Rolle fehlen die erforderlichen Rechte"},
    {"0000005", "die ID des Fachverfahrens ist unbekannt"},
    {"0000006", "die ID der Verwaltung ist unbekannt"},
    {"0000007", "die DMS-Session-ID ist ungültig bzw. nicht bekannt"},
    {"0000008", "die XML-Struktur entspricht nicht dem Schema und ist nicht valide"},
    {"0000009", "die Nachricht ist bereits verarbeitet"},
    {"0000010", "die Stapellänge ist kleiner oder gleich 0"},
    {"0000011", "die Stapellänge ist größer als 1 (Dialogverarbeitung)"},
    {"0000012", "die Stapellänge ist kleiner als 1 (Stapelverarbeitung)"},
    {"0000013", "die Länge des Stapels stimmt nicht mit der Anzahl der Objekte überein"},
    {"0000014", "der Stapel ist syntaktisch nicht korrekt"},
    {"0000015", "Übertragungsfehler"},
    {"0000016", "das Verzeichnis ist ungültig"},
    {"0000017", "die URL ist ungültig"},
    {"0000018", "die Datei kann nicht gefunden werden"},
    {"0000019", "die Datenbanktabelle ist nicht zugreifbar"},
    {"0000499", "unbekannter Fehler"},
    {"0605001", "die ID des Containers ist im DMS unbekannt/ungültig"},
    {"0605002", "das Verzeichnis ist ungültig"},
    {"0605003", "die URL ist ungültig"},
    {"0605004", "Datei kann nicht gefunden werden"},
    {"0605005", "Datei kann im DMS nicht abgelegt werden"},
    {"0605006", "der Name eines Metadatums enthält ungültige Zeichen"},
    {"0605007", "der Wert eines Metadatums enthält ungültige Zeichen"},
    {"0605008", "die Beschreibung eines Metadatums enthält ungültige Zeichen"},
};

const char *export_receipt_code_text(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(rcpt_codes) / sizeof(rcpt_codes[0]); i++)
		if (strcmp(rcpt_codes[i].code, code) == 0)
			return rcpt_codes[i].text;
	return NULL;
}

/* The receipts we read: root element, message code, name. */
static const struct {
	const char *root, *code, *name;
} rcpt_types[] = {
    {"Information.EmpfangBestaetigen.0102", "0102", "Information.EmpfangBestaetigen"},
    {"FVDaten.EmpfangBestaetigen.0629", "0629", "FVDaten.EmpfangBestaetigen"},
    {"FVDaten.ImportBestaetigen.0630", "0630", "FVDaten.ImportBestaetigen"},
};

/* 1 if n is the element name in the xdomea namespace (ns NULL: unqualified). */
static int rcpt_is(const xmlNode *n, const char *ns, const char *name)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
		return 0;
	if (ns == NULL)
		return n->ns == NULL;
	return n->ns != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

/* The first child element of n with that name, or NULL. */
static xmlNode *rcpt_child(const xmlNode *n, const char *ns, const char *name)
{
	xmlNode *c;

	for (c = n ? n->children : NULL; c != NULL; c = c->next)
		if (rcpt_is(c, ns, name))
			return c;
	return NULL;
}

/* The cleaned text of n into out ("" if n is NULL); returns out. */
static char *rcpt_text(const xmlNode *n, char *out, size_t outlen)
{
	xmlChar *t;

	out[0] = '\0';
	if (n == NULL || (t = xmlNodeGetContent(n)) == NULL)
		return out;
	xdomea_text((const char *)t, out, outlen);
	xmlFree(t);
	return out;
}

/* Append "; " and text to reason (bounded). */
static void rcpt_add(char *reason, size_t rlen, const char *text)
{
	size_t used = strlen(reason);

	if (used + 3 >= rlen)
		return;
	snprintf(reason + used, rlen - used, "%s%s", used ? "; " : "", text);
}

/* One Rueckmeldung of a 0630: 1 success, 0 an error (added to r->reason). */
static int rcpt_rueckmeldung(const xmlNode *rm, struct export_receipt *r)
{
	const xmlNode *c;
	char code[32], name[256], line[400];
	const char *words;

	for (c = rm->children; c != NULL && c->type != XML_ELEMENT_NODE; c = c->next)
		;
	if (c == NULL)
		return 0; /* the schema forbids it */
	if (rcpt_is(c, XDOMEA_NS, "SonstigeFehlermeldung")) {
		snprintf(line, sizeof(line), "SonstigeFehlermeldung: %s",
			 rcpt_text(c, name, sizeof(name)));
		rcpt_add(r->reason, sizeof(r->reason), line);
		return 0;
	}
	rcpt_text(rcpt_child(c, NULL, "code"), code, sizeof(code));
	rcpt_text(rcpt_child(c, NULL, "name"), name, sizeof(name));
	if (rcpt_is(c, XDOMEA_NS, "AllgemeineRueckmeldung") && strcmp(code, "0000000") == 0)
		return 1;
	words = name[0] != '\0' ? name : export_receipt_code_text(code);
	snprintf(line, sizeof(line), "%s %s%s%s", (const char *)c->name, code, words ? ": " : "",
		 words ? words : "");
	rcpt_add(r->reason, sizeof(r->reason), line);
	return 0;
}

/*
 * One Rueckgabeparameter of a 0630 (a result per stored object): 1 if Erfolgreich,
 * its IDSGO kept as the DMS's id; 0 if not, its Rueckmeldungen added to r->reason.
 */
static int rcpt_parameter(const xmlNode *rp, struct export_receipt *r)
{
	const xmlNode *c;
	char ok[16];
	int errs = 0;

	rcpt_text(rcpt_child(rp, XDOMEA_NS, "Erfolgreich"), ok, sizeof(ok));
	if (strcmp(ok, "true") == 0 || strcmp(ok, "1") == 0) {
		if (r->dms_id[0] == '\0')
			rcpt_text(rcpt_child(rp, XDOMEA_NS, "IDSGO"), r->dms_id, sizeof(r->dms_id));
		return 1;
	}
	for (c = rp->children; c != NULL; c = c->next)
		if (rcpt_is(c, XDOMEA_NS, "Rueckmeldung")) {
			rcpt_rueckmeldung(c, r);
			errs++;
		}
	if (errs == 0)
		rcpt_add(r->reason, sizeof(r->reason), "Rueckgabeparameter: Erfolgreich = false");
	return 0;
}

int export_receipt_parse(xmlschema *s, const char *xml, size_t len, struct export_receipt *r,
			 char *err, size_t errlen)
{
	char why[1024], code[16];
	xmlDocPtr doc;
	xmlNode *root, *kopf, *n;
	size_t i;
	int rc = -1, good = 1, nrm = 0;

	memset(r, 0, sizeof(*r));
	if (len > EXPORT_RECEIPT_MAX) {
		rcpt_errf(err, errlen, "larger than %u bytes", EXPORT_RECEIPT_MAX);
		return -1;
	}
	if ((doc = xmlschema_parse(xml, len, why, sizeof(why))) == NULL) {
		rcpt_errf(err, errlen, "not well-formed XML: %s", why);
		return -1;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		rcpt_errf(err, errlen, "carries a DTD (refused: a receipt has none)");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	for (i = 0; i < sizeof(rcpt_types) / sizeof(rcpt_types[0]); i++)
		if (rcpt_is(root, XDOMEA_NS, rcpt_types[i].root))
			break;
	if (i == sizeof(rcpt_types) / sizeof(rcpt_types[0])) {
		rcpt_errf(err, errlen,
			  "not an xdomea 3.0.0 receipt (root element %.100s%s%.100s; expected "
			  "0102, 0629 or 0630 in %s)",
			  root ? (const char *)root->name : "(none)",
			  root && root->ns ? " in " : "",
			  root && root->ns ? (const char *)root->ns->href : "", XDOMEA_NS);
		goto out;
	}
	if (xmlschema_validate_doc(s, doc, why, sizeof(why)) != XMLSCHEMA_OK) {
		rcpt_errf(err, errlen, "does not validate against the xdomea schema: %s", why);
		goto out;
	}
	snprintf(r->message, sizeof(r->message), "%s", rcpt_types[i].code);
	r->message_name = rcpt_types[i].name;
	kopf = rcpt_child(root, XDOMEA_NS, "Kopf");
	rcpt_text(rcpt_child(rcpt_child(kopf, XDOMEA_NS, "Nachrichtentyp"), NULL, "code"), code,
		  sizeof(code));
	if (strcmp(code, r->message) != 0) {
		rcpt_errf(err, errlen, "Kopf/Nachrichtentyp says %.16s, the root element %s", code,
			  r->message);
		goto out;
	}
	rcpt_text(rcpt_child(kopf, XDOMEA_NS, "ProzessID"), why, sizeof(why));
	if (strlen(why) != IDENT_UUID_LEN - 1) {
		rcpt_errf(err, errlen, "Kopf/ProzessID '%.60s' is not a UUID", why);
		goto out;
	}
	for (i = 0; why[i] != '\0'; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? why[i] != '-' : !isxdigit((unsigned char)why[i])) {
			rcpt_errf(err, errlen, "Kopf/ProzessID '%.60s' is not a UUID", why);
			goto out;
		}
		r->process_id[i] = (char)tolower((unsigned char)why[i]);
	}
	rcpt_text(rcpt_child(kopf, XDOMEA_NS, "Erstellungszeitpunkt"), r->created,
		  sizeof(r->created));
	r->kind = EXPORT_RECEIPT_RECEIVED;
	if (strcmp(r->message, "0630") == 0) {
		n = rcpt_child(root, XDOMEA_NS, "ErfolgOderMisserfolg");
		for (n = n ? n->children : NULL; n != NULL; n = n->next) {
			if (rcpt_is(n, XDOMEA_NS, "Rueckmeldung")) {
				nrm++;
				good &= rcpt_rueckmeldung(n, r);
			} else if (rcpt_is(n, XDOMEA_NS, "Rueckgabeparameter")) {
				good &= rcpt_parameter(n, r);
			}
		}
		r->kind = good && nrm > 0 ? EXPORT_RECEIPT_IMPORTED : EXPORT_RECEIPT_REJECTED;
		if (r->kind == EXPORT_RECEIPT_REJECTED && r->reason[0] == '\0')
			snprintf(r->reason, sizeof(r->reason), "no Rueckmeldung");
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}
