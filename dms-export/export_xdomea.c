/*
 * export_xdomea.c - plan, build and validate the xdomea 3.0.0 message of a letter;
 * see export_xdomea.h. Code lists used (../shared/xsd/xdomea_3.0.0/code_lists):
 * Nachrichtentyp 2.0, Medium 1.0, Dateiformat 1.0.
 */
#include "export_xdomea.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "log.h"
#include "timefmt.h"

#define XDOMEA_TEXT_MAX 1024 /* longest text taken from the job record into the message */

#define LIST_NACHRICHTENTYP "urn:xoev-de:xdomea:codeliste:nachrichtentyp"
#define LIST_MEDIUM "urn:xoev-de:xdomea:codeliste:medium"
#define LIST_DATEIFORMAT "urn:xoev-de:xdomea:codeliste:dateiformat"

static void xdomea_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a reason into err. */
static void xdomea_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *xdomea_message_name(const char *code)
{
	if (strcmp(code, "0101") == 0)
		return "Information.Information";
	if (strcmp(code, "0605") == 0)
		return "FVDaten.SGOAblegen";
	return NULL;
}

/* Length of the UTF-8 sequence at s if it is a character XML 1.0 allows, else 0. */
static size_t xdomea_xml_char(const unsigned char *s)
{
	unsigned long cp;
	size_t n, i;

	if (s[0] < 0x80)
		return (s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') ? 1 : 0;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0; /* overlong */
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff || cp > 0x10ffff)
		return 0;
	return n;
}

const char *xdomea_text(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, n;
	int space = 1;

	while (*p != '\0') {
		n = xdomea_xml_char(p);
		if (n == 0 || *p == '\t' || *p == '\n' || *p == '\r' || *p == ' ') {
			if (!space && o + 1 < outlen)
				out[o++] = ' ';
			space = 1;
			p += n ? n : 1;
			continue;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
		space = 0;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/* 1 if s is an ISO date YYYY-MM-DD (as xs:date needs it). */
static int xdomea_is_date(const char *s)
{
	int i;

	if (s == NULL || strlen(s) < 10)
		return 0;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return 0;
		} else if (s[i] < '0' || s[i] > '9') {
			return 0;
		}
	}
	if (strncmp(s + 5, "01", 2) < 0 || strncmp(s + 5, "12", 2) > 0 ||
	    strncmp(s + 8, "01", 2) < 0 || strncmp(s + 8, "31", 2) > 0)
		return 0;
	return s[10] == '\0' || s[10] == 'T';
}

/* The seal file recorded for name in "signing.signatures", or NULL. */
static const char *xdomea_seal_of(job *j, const char *name)
{
	json_object *sig, *sigs, *v;

	if (!json_object_object_get_ex(job_meta(j), "signing", &sig) ||
	    !json_object_object_get_ex(sig, "signatures", &sigs) ||
	    !json_object_is_type(sigs, json_type_object) ||
	    !json_object_object_get_ex(sigs, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The "%PDF-x.y" version of a PDF in the job, or "" if unreadable. */
static void xdomea_pdf_version(job *j, const char *name, char *out, size_t outlen)
{
	char *path = job_path(j, name);
	char head[16];
	ssize_t n = -1;
	int fd;

	out[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		n = read(fd, head, sizeof(head) - 1);
		close(fd);
	}
	free(path);
	if (n >= 8 && memcmp(head, "%PDF-", 5) == 0 && head[5] >= '1' && head[5] <= '9' &&
	    head[6] == '.' && head[7] >= '0' && head[7] <= '9')
		snprintf(out, outlen, "%c.%c", head[5], head[7]);
}

/* Dateiformat code (code list 1.0) for a file extension; 100 "Sonstiges" if not listed. */
static const char *xdomea_format_code(const char *ext)
{
	static const struct {
		const char *ext, *code;
	} map[] = {{"pdf", "018"}, {"tif", "023"},  {"tiff", "024"}, {"png", "019"},
		   {"jpg", "011"}, {"jpeg", "010"}, {"jpe", "009"},  {"xml", "030"},
		   {"txt", "045"}, {"bmp", "001"},  {"eml", "006"},  {"msg", "012"}};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(ext, map[i].ext) == 0)
			return map[i].code;
	return "100";
}

/* Add one file of the letter to the plan. -1 (err set) if it cannot be packaged. */
static int xdomea_add_part(job *j, struct xdomea_pkg *p, enum xdomea_role role, const char *name,
			   int need_seal, char *err, size_t errlen)
{
	struct xdomea_part *pt;
	const char *ext = strrchr(name, '.'), *seal;
	char uuid[IDENT_UUID_LEN], pkg_name[XDOMEA_NAME_MAX], ers[XDOMEA_NAME_MAX];

	if (p->nparts == XDOMEA_MAX_PARTS) {
		xdomea_errf(err, errlen, "too many files for one package");
		return -1;
	}
	pt = &p->parts[p->nparts];
	memset(pt, 0, sizeof(*pt));
	pt->role = role;
	ext = ext ? ext + 1 : "bin";
	snprintf(pt->job_name, sizeof(pt->job_name), "%s", name);
	ident_uuid_v4(uuid);
	snprintf(pkg_name, sizeof(pkg_name), "%s.%.100s", uuid, ext);
	snprintf(pt->pkg_name, sizeof(pt->pkg_name), "%s", pkg_name);
	pt->format_code = xdomea_format_code(ext);
	if (strcmp(pt->format_code, "100") == 0)
		pt->other_format = ext;
	if (strcasecmp(ext, "pdf") == 0)
		xdomea_pdf_version(j, name, pt->format_version, sizeof(pt->format_version));
	else if (strcasecmp(ext, "tif") == 0 || strcasecmp(ext, "tiff") == 0)
		snprintf(pt->format_version, sizeof(pt->format_version), "6.0");
	else if (strcasecmp(ext, "xml") == 0)
		snprintf(pt->format_version, sizeof(pt->format_version), "1.0");
	if (pt->format_version[0] == '\0')
		snprintf(pt->format_version, sizeof(pt->format_version), "unbekannt");
	if ((seal = xdomea_seal_of(j, name)) != NULL) {
		if (!job_file_name_valid(seal) || !job_has_file(j, seal)) {
			xdomea_errf(err, errlen,
				    "job.json names the seal %.100s of %s, but the job does not "
				    "hold it",
				    seal, name);
			return -1;
		}
		snprintf(pt->sig_job_name, sizeof(pt->sig_job_name), "%s", seal);
		snprintf(pt->sig_pkg_name, sizeof(pt->sig_pkg_name), "%.150s.p7s", pkg_name);
	} else if (need_seal) {
		xdomea_errf(err, errlen,
			    "%s of a replacing scan (ersetzend) has no seal; the sign stage must "
			    "seal it first (requeue the letter into spool/sign)",
			    name);
		return -1;
	}
	/* an evidence record of the nightly re-signing (RFC 4998), whatever made it */
	if (snprintf(ers, sizeof(ers), "%s.ers", name) < (int)sizeof(ers) &&
	    job_file_name_valid(ers) && job_has_file(j, ers)) {
		snprintf(pt->ers_job_name, sizeof(pt->ers_job_name), "%s", ers);
		snprintf(pt->ers_pkg_name, sizeof(pt->ers_pkg_name), "%.150s.ers", pkg_name);
	}
	p->nparts++;
	return 0;
}

/* 1 if name ends with suffix. */
static int xdomea_ends(const char *name, const char *suffix)
{
	size_t l = strlen(name), n = strlen(suffix);

	return l > n && strcmp(name + l - n, suffix) == 0;
}

/* Fill the names and ids every plan has; -1 with err if the letter has no uuid. */
static int xdomea_plan_head(job *j, const char *message, struct xdomea_pkg *p, char *err,
			    size_t errlen)
{
	const char *uuid = job_get_str(j, "uuid");
	const char *mname = xdomea_message_name(message);
	size_t i;

	memset(p, 0, sizeof(*p));
	if (mname == NULL) {
		xdomea_errf(err, errlen, "unknown xdomea message type %s", message);
		return -1;
	}
	if (uuid == NULL || strlen(uuid) != IDENT_UUID_LEN - 1) {
		xdomea_errf(err, errlen, "job.json has no valid \"uuid\" (the xdomea ProzessID)");
		return -1;
	}
	for (i = 0; uuid[i] != '\0'; i++) {
		char c = uuid[i];
		int dash = (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F'))) {
			xdomea_errf(err, errlen, "job.json \"uuid\" is not a UUID");
			return -1;
		}
	}
	snprintf(p->process_id, sizeof(p->process_id), "%s", uuid);
	ident_uuid_v4(p->tv_id);
	p->message = message;
	snprintf(p->msg_base, sizeof(p->msg_base), "%s_%s.%s", uuid, mname, message);
	snprintf(p->zip_name, sizeof(p->zip_name), "%.180s.zip", p->msg_base);
	snprintf(p->xml_name, sizeof(p->xml_name), "%.180s.xml", p->msg_base);
	return 0;
}

int xdomea_plan_paper(job *j, const char *message, struct xdomea_pkg *p, char *err, size_t errlen)
{
	if (xdomea_plan_head(j, message, p, err, errlen) == -1)
		return -1;
	p->paper = 1;
	return 0;
}

int xdomea_plan(job *j, const char *message, struct xdomea_pkg *p, char *err, size_t errlen)
{
	const char *mode = job_get_str(j, "classification.scan_mode");
	json_object *files;

	if (xdomea_plan_head(j, message, p, err, errlen) == -1)
		return -1;
	if (mode == NULL || (strcmp(mode, "ersetzend") != 0 && strcmp(mode, "kopierend") != 0)) {
		xdomea_errf(err, errlen,
			    "scan mode %s cannot be packaged (expected ersetzend or "
			    "kopierend)",
			    mode ? mode : "(none)");
		return -1;
	}
	p->replacing = strcmp(mode, "ersetzend") == 0;

	if (!job_has_file(j, "scan.tiff")) {
		xdomea_errf(err, errlen, "the job has no scan.tiff (scan product)");
		return -1;
	}
	if (xdomea_add_part(j, p, XDOMEA_SCAN, "scan.tiff", p->replacing, err, errlen) == -1)
		return -1;
	if (job_has_file(j, "ocr.pdf") &&
	    xdomea_add_part(j, p, XDOMEA_PDF, "ocr.pdf", 0, err, errlen) == -1)
		return -1;
	if (json_object_object_get_ex(job_meta(j), "files", &files)) {
		json_object_object_foreach(files, name, v)
		{
			(void)v;
			/* original.<ext>, not its seal original.<ext>.p7s nor its evidence
			 * record original.<ext>.ers (SignaturSiegelDatei of the original) */
			if (strncmp(name, "original.", 9) == 0 && !xdomea_ends(name, ".p7s") &&
			    !xdomea_ends(name, ".ers") &&
			    xdomea_add_part(j, p, XDOMEA_ORIGINAL, name, 0, err, errlen) == -1)
				return -1;
		}
	}
	if (job_has_file(j, "transfervermerk.xml")) {
		if (xdomea_add_part(j, p, XDOMEA_TV, "transfervermerk.xml", p->replacing, err,
				    errlen) == -1)
			return -1;
	} else if (p->replacing) {
		xdomea_errf(
		    err, errlen,
		    "a replacing scan (ersetzend) has no transfervermerk.xml; the sign stage "
		    "must write it (requeue the letter into spool/sign)");
		return -1;
	}
	return 0;
}

/* ---- message building ---- */

/* Building state: the document, the xdomea namespace, the letter. */
struct xb {
	xmlDocPtr doc;
	xmlNsPtr ns;
	job *j;
	const struct xdomea_env *env;
	const struct xdomea_pkg *p;
};

/* Append element name (in ns, or unqualified with ns NULL) with optional sanitized text. */
static xmlNodePtr xb_el(struct xb *b, xmlNodePtr parent, xmlNsPtr ns, const char *name,
			const char *text)
{
	xmlNodePtr n = xmlNewDocNode(b->doc, ns, (const xmlChar *)name, NULL);
	char clean[XDOMEA_TEXT_MAX];

	if (n == NULL)
		log_fatalx(EX_OSERR, "libxml2: out of memory");
	if (text != NULL)
		xmlAddChild(n, xmlNewDocText(b->doc, (const xmlChar *)xdomea_text(text, clean,
										  sizeof(clean))));
	xmlAddChild(parent, n);
	return n;
}

/* Append an xdomea element with text. */
static xmlNodePtr xb_x(struct xb *b, xmlNodePtr parent, const char *name, const char *text)
{
	return xb_el(b, parent, b->ns, name, text);
}

/* Append a code element: <name listURI listVersionID><code/><name/></name>. */
static void xb_code(struct xb *b, xmlNodePtr parent, const char *name, const char *list_uri,
		    const char *list_version, const char *code, const char *code_name)
{
	xmlNodePtr n = xb_x(b, parent, name, NULL);

	if (list_uri != NULL)
		xmlNewProp(n, (const xmlChar *)"listURI", (const xmlChar *)list_uri);
	if (list_version != NULL)
		xmlNewProp(n, (const xmlChar *)"listVersionID", (const xmlChar *)list_version);
	xb_el(b, n, NULL, "code", code);
	if (code_name != NULL)
		xb_el(b, n, NULL, "name", code_name);
}

/* A KontaktType for the city (Institution) with a Behördenkennung and an org unit. */
static void xb_kontakt(struct xb *b, xmlNodePtr parent, const char *elname, const char *bk_s,
		       const char *bk_p, const char *unit)
{
	xmlNodePtr k = xb_x(b, parent, elname, NULL), n;

	n = xb_x(b, k, "Behoerdenkennung", NULL);
	xb_code(b, n, "Behoerdenschluessel", NULL, NULL, bk_s, NULL);
	xb_code(b, n, "Praefix", NULL, NULL, bk_p, NULL);
	n = xb_x(b, k, "Institution", NULL);
	xb_x(b, n, "Name", b->env->offs->city_name);
	if (unit != NULL) {
		n = xb_x(b, k, "Organisationseinheit", NULL);
		xb_x(b, n, "Name", unit);
	}
}

/* The common header fields (NkBasisType). */
static xmlNodePtr xb_kopf(struct xb *b, xmlNodePtr root)
{
	const struct xdomea_env *env = b->env;
	xmlNodePtr kopf = xb_x(b, root, "Kopf", NULL), sys;

	xb_x(b, kopf, "ProzessID", b->p->process_id);
	xb_code(b, kopf, "Nachrichtentyp", LIST_NACHRICHTENTYP, "2.0", b->p->message,
		xdomea_message_name(b->p->message));
	xb_x(b, kopf, "Erstellungszeitpunkt", env->created);
	xb_kontakt(b, kopf, "Absender", env->offs->city_bk_schluessel, env->offs->city_bk_praefix,
		   env->sender_name);
	xb_kontakt(b, kopf, "Empfaenger", env->office->bk_schluessel, env->office->bk_praefix,
		   env->office->name);
	sys = xb_x(b, kopf, "SendendesSystem", NULL);
	xb_x(b, sys, "InstanzID", env->station);
	xb_x(b, sys, "Produktname", "mailroom");
	xb_x(b, sys, "Version", MAILROOM_VERSION);
	return kopf;
}

/* Medium code (code list Medium 1.0): 001 Elektronisch, 002 Hybrid, 003 Papier. */
static void xb_medium(struct xb *b, xmlNodePtr parent, const char *code)
{
	xb_code(b, parent, "Medium", LIST_MEDIUM, "1.0", code,
		strcmp(code, "001") == 0   ? "Elektronisch"
		: strcmp(code, "002") == 0 ? "Hybrid"
					   : "Papier");
}

/* One Format entry with its Primaerdokument (and SignaturSiegel). */
static void xb_format(struct xb *b, xmlNodePtr version, const struct xdomea_part *pt)
{
	xmlNodePtr f = xb_x(b, version, "Format", NULL), pd, ss;
	const char *ctime = job_get_str(b->j, "capture.time");

	xb_code(b, f, "Name", LIST_DATEIFORMAT, "1.0", pt->format_code, NULL);
	if (pt->other_format != NULL)
		xb_x(b, f, "SonstigerName", pt->other_format);
	xb_x(b, f, "Version", pt->format_version);
	pd = xb_x(b, f, "Primaerdokument", NULL);
	xb_x(b, pd, "Dateiname", pt->pkg_name);
	xb_x(b, pd, "DateinameOriginal", pt->job_name);
	if (pt->role == XDOMEA_SCAN) {
		xb_x(b, pd, "Ersteller", b->env->sender_name);
		if (ctime != NULL && timefmt_parse(ctime) != -1)
			xb_x(b, pd, "DatumUhrzeit", ctime);
	}
	if (pt->sig_pkg_name[0] != '\0' || pt->ers_pkg_name[0] != '\0') {
		/* SignaturSiegelType is a choice: embedded (fixed true) or detached files;
		 * the seal first, then the evidence record that renews it. */
		ss = xb_x(b, pd, "SignaturSiegel", NULL);
		if (pt->sig_pkg_name[0] != '\0')
			xb_x(b, ss, "SignaturSiegelDatei", pt->sig_pkg_name);
		if (pt->ers_pkg_name[0] != '\0')
			xb_x(b, ss, "SignaturSiegelDatei", pt->ers_pkg_name);
	}
}

/* The Transfervermerk as an Anlage of the letter (its own Dokument). */
static void xb_anlage_tv(struct xb *b, xmlNodePtr doc, const struct xdomea_part *pt)
{
	xmlNodePtr a = xb_x(b, doc, "Anlage", NULL), n;

	n = xb_x(b, a, "Identifikation", NULL);
	xb_x(b, n, "ID", b->p->tv_id);
	n = xb_x(b, a, "AllgemeineMetadaten", NULL);
	xb_x(b, n, "Betreff", "Transfervermerk (BSI TR-03138 A.NB.4)");
	xb_medium(b, n, "001");
	xb_x(b, a, "Typ", "Transfervermerk");
	n = xb_x(b, a, "Version", NULL);
	xb_x(b, n, "Nummer", "1");
	xb_format(b, n, pt);
	xb_x(b, a, "Nummer", "1");
}

/* The first reference number of the letter (string or {"value": ...}), or NULL. */
static const char *xb_first_reference(job *j)
{
	json_object *ex, *refs, *r, *v;

	if (!json_object_object_get_ex(job_meta(j), "extraction", &ex) ||
	    !json_object_object_get_ex(ex, "references", &refs) ||
	    !json_object_is_type(refs, json_type_array) || json_object_array_length(refs) == 0)
		return NULL;
	r = json_object_array_get_idx(refs, 0);
	if (json_object_is_type(r, json_type_string))
		return json_object_get_string(r);
	if (json_object_is_type(r, json_type_object) && json_object_object_get_ex(r, "value", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* The Bemerkung of the letter: how it was scanned and where the paper goes. */
static void xb_note(struct xb *b, char *note, size_t notelen)
{
	const char *mode = job_get_str(b->j, "classification.scan_mode");
	const char *office = b->env->office->name;

	if (!b->p->paper && b->p->replacing)
		snprintf(note, notelen,
			 "Ersetzend gescannt (BSI TR-03138); Scanprodukt und Transfervermerk "
			 "gesiegelt.");
	else if (!b->p->paper)
		snprintf(note, notelen, "Kopierend gescannt: das Papieroriginal folgt an %s.",
			 office);
	else if (mode != NULL && strcmp(mode, "nicht_scannen") == 0)
		snprintf(note, notelen,
			 "Laufzettel: nicht gescannt (Scankonzept: nicht scannen); das "
			 "Papieroriginal geht unverändert an %s.",
			 office);
	else if (mode != NULL && strcmp(mode, "kopierend") == 0)
		snprintf(note, notelen,
			 "Laufzettel: %s empfängt keine elektronische Post (nicht im "
			 "VIS-Pilot); das Papieroriginal folgt an %s (kopierend).",
			 office, office);
	else
		snprintf(note, notelen,
			 "Laufzettel: %s empfängt keine elektronische Post (nicht im "
			 "VIS-Pilot); das Papieroriginal geht an %s und darf NICHT vernichtet "
			 "werden.",
			 office, office);
}

/* The letter as a Dokument element (DokumentType) under parent. */
static void xb_dokument(struct xb *b, xmlNodePtr parent)
{
	job *j = b->j;
	const struct xdomea_pkg *p = b->p;
	const char *subject = job_get_str(j, "extraction.subject");
	const char *type_name = job_get_str(j, "classification.type_name");
	const char *letter_date = job_get_str(j, "extraction.date");
	const char *sender = job_get_str(j, "extraction.sender");
	const char *ctime = job_get_str(j, "capture.time");
	const char *ref = xb_first_reference(j);
	char betreff[XDOMEA_TEXT_MAX], note[512], date[11];
	xmlNodePtr d, n, v;
	size_t i;

	if (type_name == NULL)
		type_name = job_get_str(j, "classification.type");
	if (subject != NULL)
		xdomea_text(subject, betreff, sizeof(betreff));
	if (subject == NULL || betreff[0] == '\0')
		snprintf(betreff, sizeof(betreff), "Posteingang %s", type_name ? type_name : "");
	d = xb_x(b, parent, "Dokument", NULL);
	n = xb_x(b, d, "Identifikation", NULL);
	xb_x(b, n, "ID", p->process_id);
	n = xb_x(b, d, "AllgemeineMetadaten", NULL);
	xb_x(b, n, "Betreff", betreff);
	xb_note(b, note, sizeof(note));
	xb_x(b, n, "Bemerkung", note);
	xb_medium(b, n, p->paper ? "003" : p->replacing ? "001" : "002");
	if (ref != NULL)
		xb_x(b, d, "FremdesGeschaeftszeichen", ref);
	if (ctime == NULL || !xdomea_is_date(ctime))
		ctime = job_get_str(j, "created");
	if (ctime != NULL && xdomea_is_date(ctime)) {
		snprintf(date, sizeof(date), "%.10s", ctime);
		xb_x(b, d, "Posteingangsdatum", date);
	}
	if (letter_date != NULL && xdomea_is_date(letter_date)) {
		snprintf(date, sizeof(date), "%.10s", letter_date);
		xb_x(b, d, "DatumDesSchreibens", date);
	}
	if (type_name != NULL)
		xb_x(b, d, "Typ", type_name);
	if (!p->paper) { /* a paper letter has no electronic version */
		v = xb_x(b, d, "Version", NULL);
		xb_x(b, v, "Nummer", "1");
		for (i = 0; i < p->nparts; i++)
			if (p->parts[i].role != XDOMEA_TV)
				xb_format(b, v, &p->parts[i]);
	}
	for (i = 0; i < p->nparts; i++)
		if (p->parts[i].role == XDOMEA_TV)
			xb_anlage_tv(b, d, &p->parts[i]);
	if (sender != NULL && xdomea_text(sender, betreff, sizeof(betreff))[0] != '\0') {
		/* XXX extraction cannot tell a person from an organisation yet: Institution. */
		n = xb_x(b, d, "Absender", NULL);
		n = xb_x(b, n, "Institution", NULL);
		xb_x(b, n, "Name", betreff);
	}
	xb_kontakt(b, d, "Empfaenger", b->env->office->bk_schluessel, b->env->office->bk_praefix,
		   b->env->office->name);
}

int xdomea_build(job *j, const struct xdomea_env *env, const struct xdomea_pkg *p, buf *out,
		 char *err, size_t errlen)
{
	struct xb b;
	xmlNodePtr root, kopf, n;
	xmlChar *mem = NULL;
	char rootname[64];
	int len = 0, rc = -1;

	memset(&b, 0, sizeof(b));
	b.j = j;
	b.env = env;
	b.p = p;
	if ((b.doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL)
		log_fatalx(EX_OSERR, "libxml2: out of memory");
	snprintf(rootname, sizeof(rootname), "%s.%s", xdomea_message_name(p->message), p->message);
	root = xmlNewDocNode(b.doc, NULL, (const xmlChar *)rootname, NULL);
	xmlDocSetRootElement(b.doc, root);
	b.ns = xmlNewNs(root, (const xmlChar *)XDOMEA_NS, (const xmlChar *)"xdomea");
	xmlSetNs(root, b.ns);
	kopf = xb_kopf(&b, root);
	if (strcmp(p->message, "0101") == 0) {
		/* a 0102 is asked for when the office has a reply folder to put it in */
		xb_x(&b, kopf, "Empfangsbestaetigung", env->receipt ? "true" : "false");
		n = xb_x(&b, root, "Schriftgutobjekt", NULL);
		xb_dokument(&b, n);
	} else {
		xb_x(&b, kopf, "Empfangsbestaetigung", env->receipt ? "true" : "false");
		xb_x(&b, kopf, "Importbestaetigung", "1"); /* fixed by the schema: 0630 */
		xb_x(&b, kopf, "Erstellerkennung", env->sender_name);
		xb_x(&b, kopf, "Stapel", "false");
		n = xb_x(&b, root, "SchriftgutobjektZumAblegen", NULL);
		xb_x(&b, n, "FachverfahrenObjektID", job_id(j));
		if (env->id_container != NULL)
			xb_x(&b, n, "IDContainer", env->id_container);
		xb_dokument(&b, xb_x(&b, n, "Schriftgutobjekt", NULL));
		xb_x(&b, n, "Ablageort", env->ablageort ? env->ablageort : env->office->inbox);
	}
	xmlDocDumpFormatMemoryEnc(b.doc, &mem, &len, "UTF-8", 1);
	if (mem == NULL || len <= 0) {
		xdomea_errf(err, errlen, "libxml2 could not serialize the message");
		goto out;
	}
	buf_reset(out);
	if (buf_add(out, mem, (size_t)len) == -1) {
		xdomea_errf(err, errlen, "the message is larger than %u bytes", XDOMEA_MAX_XML);
		goto out;
	}
	rc = 0;
out:
	xmlFree(mem);
	xmlFreeDoc(b.doc);
	return rc;
}

/* ---- schema ---- */

xmlschema *xdomea_schema_load(const char *path, char *err, size_t errlen)
{
	xmlschema *s;
	char why[1024];

	if ((s = xmlschema_load(path, why, sizeof(why))) == NULL)
		xdomea_errf(err, errlen,
			    "xdomea %s (set xsd: in conf/export.yaml to the xdomea 3.0.0 "
			    "xdomea.xsd, e.g. ../shared/xsd/xdomea_3.0.0/xdomea.xsd; it is read in "
			    "place, never copied)",
			    why);
	return s;
}

int xdomea_validate(xmlschema *s, const char *xml, size_t len, char *err, size_t errlen)
{
	if (len > XDOMEA_MAX_XML) {
		xdomea_errf(err, errlen, "message larger than %u bytes", XDOMEA_MAX_XML);
		return -1;
	}
	return xmlschema_validate(s, xml, len, err, errlen) == XMLSCHEMA_OK ? 0 : -1;
}

int xdomea_process_id(const char *xml, size_t len, char *out, size_t outlen)
{
	char errs[512];
	xmlDocPtr doc;
	xmlNodePtr root, n, k;
	int rc = -1;

	if (len > XDOMEA_MAX_XML || (doc = xmlschema_parse(xml, len, errs, sizeof(errs))) == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	for (n = root ? root->children : NULL; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || n->ns == NULL ||
		    strcmp((const char *)n->ns->href, XDOMEA_NS) != 0 ||
		    strcmp((const char *)n->name, "Kopf") != 0)
			continue;
		for (k = n->children; k != NULL; k = k->next) {
			xmlChar *t;

			if (k->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)k->name, "ProzessID") != 0)
				continue;
			t = xmlNodeGetContent(k);
			if (t != NULL) {
				snprintf(out, outlen, "%s", (const char *)t);
				xmlFree(t);
				rc = 0;
			}
			break;
		}
		break;
	}
	xmlFreeDoc(doc);
	return rc;
}
