/*
 * sign_tv.c - write and validate the Transfervermerk; see sign_tv.h.
 *
 * Every string taken from job.json is checked to be UTF-8 without control
 * characters before it goes into the XML: a record that would make an invalid
 * document is reported, never silently mended.
 */
#include "sign_tv.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>

#include "log.h"
#include "timefmt.h"

#define SIGN_TV_MAX_SETTINGS 64
#define SIGN_TV_MAX_ANOMALIES 256
#define SIGN_TV_MAX_TEXT 4000

/* The writer and the first error. */
struct tvw {
	xmlTextWriterPtr w;
	int failed;
	char *err;
	size_t errlen;
};

static void tvw_fail(struct tvw *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record the first error; later writes become no-ops. */
static void tvw_fail(struct tvw *t, const char *fmt, ...)
{
	va_list ap;

	if (t->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(t->err, t->errlen, fmt, ap);
	va_end(ap);
}

/* 1 if s is well-formed UTF-8 without XML-forbidden control characters. */
static int sign_tv_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p != '\0') {
		unsigned int c = *p, need, i;
		uint32_t cp;

		if (++n > SIGN_TV_MAX_TEXT)
			return 0;
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return 0;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
			return 0;
		p += need + 1;
	}
	return 1;
}

/* Open an element. */
static void tvw_start(struct tvw *t, const char *name)
{
	if (!t->failed && xmlTextWriterStartElement(t->w, BAD_CAST name) < 0)
		tvw_fail(t, "XML writer failed at <%s>", name);
}

/* Close the current element. */
static void tvw_end(struct tvw *t)
{
	if (!t->failed && xmlTextWriterEndElement(t->w) < 0)
		tvw_fail(t, "XML writer failed closing an element");
}

/* An attribute; "what" names the record field for the error message. */
static void tvw_attr(struct tvw *t, const char *name, const char *value, const char *what)
{
	if (t->failed)
		return;
	if (!sign_tv_text_ok(value)) {
		tvw_fail(t, "%s is not valid UTF-8 text (or too long)", what);
		return;
	}
	if (xmlTextWriterWriteAttribute(t->w, BAD_CAST name, BAD_CAST value) < 0)
		tvw_fail(t, "XML writer failed at attribute %s", name);
}

/* An attribute from a number. */
static void tvw_attr_num(struct tvw *t, const char *name, long long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", v);
	tvw_attr(t, name, s, name);
}

/* Text content. */
static void tvw_text(struct tvw *t, const char *s, const char *what)
{
	if (t->failed)
		return;
	if (!sign_tv_text_ok(s)) {
		tvw_fail(t, "%s is not valid UTF-8 text (or too long)", what);
		return;
	}
	if (xmlTextWriterWriteString(t->w, BAD_CAST s) < 0)
		tvw_fail(t, "XML writer failed writing text");
}

/* <name>text</name> */
static void tvw_elem(struct tvw *t, const char *name, const char *text, const char *what)
{
	tvw_start(t, name);
	tvw_text(t, text, what);
	tvw_end(t);
}

/* A required string of the record, or a failure naming it. */
static const char *tvw_need(struct tvw *t, const job *j, const char *path)
{
	const char *s = job_get_str(j, path);

	if (s == NULL || *s == '\0') {
		tvw_fail(t, "job.json has no %s", path);
		return "";
	}
	return s;
}

/* An object at a dotted path in the record (NULL if absent). */
static json_object *sign_tv_obj(const job *j, const char *path)
{
	json_object *o = job_meta((job *)j);
	char key[64];
	const char *p = path, *dot;

	for (;;) {
		dot = strchr(p, '.');
		snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - p) : (int)strlen(p), p);
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		if (dot == NULL)
			return o;
		p = dot + 1;
	}
}

/* A member of an object as text (strings as they are, numbers formatted), or NULL. */
static const char *sign_tv_member(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return NULL;
	return json_object_get_string(v);
}

/* Scanprodukt: ids, class, protection need, pages. */
static void sign_tv_product(struct tvw *t, const struct sign_tv_input *in)
{
	const job *j = in->j;
	json_object *prot = sign_tv_obj(j, "classification.protection");
	const char *name = job_get_str(j, "classification.type_name");
	const char *type = tvw_need(t, j, "classification.type");
	const char *v;
	char pages[32];

	tvw_start(t, "Scanprodukt");
	tvw_elem(t, "Kennung", job_id(j), "id");
	tvw_elem(t, "UUID", tvw_need(t, j, "uuid"), "uuid");
	tvw_start(t, "Dokumenttyp");
	tvw_attr(t, "schluessel", type, "classification.type");
	tvw_text(t, name != NULL && *name ? name : type, "classification.type_name");
	tvw_end(t);
	tvw_elem(t, "Scanmodus", tvw_need(t, j, "classification.scan_mode"),
		 "classification.scan_mode");
	tvw_start(t, "Schutzbedarf");
	if ((v = sign_tv_member(prot, "integrity")) == NULL)
		tvw_fail(t, "job.json has no classification.protection.integrity");
	else
		tvw_attr(t, "integritaet", v, "classification.protection.integrity");
	if ((v = sign_tv_member(prot, "confidentiality")) != NULL)
		tvw_attr(t, "vertraulichkeit", v, "classification.protection.confidentiality");
	if ((v = sign_tv_member(prot, "availability")) != NULL)
		tvw_attr(t, "verfuegbarkeit", v, "classification.protection.availability");
	tvw_end(t);
	snprintf(pages, sizeof(pages), "%ld", in->qs->found_pages);
	tvw_elem(t, "Seiten", pages, "pages");
	tvw_end(t);
}

/* a) the responsible natural person. */
static void sign_tv_person(struct tvw *t, const struct sign_tv_input *in)
{
	const char *op = tvw_need(t, in->j, "capture.operator");
	const char *station = tvw_need(t, in->j, "capture.station");
	char how[512];

	tvw_start(t, "Verantwortlich");
	tvw_elem(t, "Pseudonym", op, "capture.operator");
	snprintf(how, sizeof(how),
		 "Pseudonym der Person, die die Erfassung verantwortet; ohne Verzug auflösbar "
		 "über den Dienstplan der Scanstelle \"%s\"",
		 station);
	tvw_elem(t, "Aufloesung", how, "capture.station");
	tvw_end(t);
}

/* One Software element from "name version" text or a {name, version} object. */
static void sign_tv_software(struct tvw *t, json_object *sw, const char *role)
{
	char name[256];
	const char *s, *sp, *ver = NULL, *hash = NULL;

	if (sw == NULL)
		return;
	if (json_object_is_type(sw, json_type_object)) {
		if ((s = sign_tv_member(sw, "name")) == NULL)
			return;
		snprintf(name, sizeof(name), "%s", s);
		ver = sign_tv_member(sw, "version");
		hash = sign_tv_member(sw, "sha256");
	} else if (json_object_is_type(sw, json_type_string)) {
		s = json_object_get_string(sw);
		if ((sp = strrchr(s, ' ')) != NULL && sp != s && sp[1] != '\0') {
			snprintf(name, sizeof(name), "%.*s", (int)(sp - s), s);
			ver = sp + 1;
		} else {
			snprintf(name, sizeof(name), "%s", s);
		}
	} else {
		return;
	}
	if (name[0] == '\0')
		return;
	tvw_start(t, "Software");
	tvw_attr(t, "name", name, "capture.software");
	if (ver != NULL && *ver != '\0')
		tvw_attr(t, "version", ver, "capture.software");
	if (hash != NULL && strlen(hash) == 64)
		tvw_attr(t, "sha256", hash, "software sha256");
	tvw_attr(t, "rolle", role, "role");
	tvw_end(t);
}

/* b) technical and organisational environment. */
static void sign_tv_environment(struct tvw *t, const struct sign_tv_input *in)
{
	const job *j = in->j;
	json_object *dev = sign_tv_obj(j, "capture.device");
	json_object *set = sign_tv_obj(j, "capture.settings");
	json_object *ocr = sign_tv_obj(j, "classification.ocr.engine");
	const char *kind = tvw_need(t, j, "source.kind");
	const char *v;
	int n = 0;

	tvw_start(t, "Umgebung");
	tvw_elem(t, "Scanstelle", tvw_need(t, j, "capture.station"), "capture.station");
	tvw_elem(t, "Erfassungsart", kind, "source.kind");
	if (dev != NULL && json_object_is_type(dev, json_type_object)) {
		tvw_start(t, "Geraet");
		if ((v = sign_tv_member(dev, "name")) != NULL && *v)
			tvw_attr(t, "name", v, "capture.device.name");
		if ((v = sign_tv_member(dev, "vendor")) != NULL && *v)
			tvw_attr(t, "hersteller", v, "capture.device.vendor");
		if ((v = sign_tv_member(dev, "model")) != NULL && *v)
			tvw_attr(t, "modell", v, "capture.device.model");
		if ((v = sign_tv_member(dev, "type")) != NULL && *v)
			tvw_attr(t, "typ", v, "capture.device.type");
		tvw_end(t);
	} else if ((v = job_get_str(j, "source.device")) != NULL && *v) {
		tvw_start(t, "Geraet");
		tvw_attr(t, "name", v, "source.device");
		tvw_end(t);
	}
	tvw_start(t, "Einstellungen");
	if (set != NULL && json_object_is_type(set, json_type_object)) {
		json_object_object_foreach(set, key, val)
		{
			const char *s;

			if (val == NULL || json_object_is_type(val, json_type_object) ||
			    json_object_is_type(val, json_type_array))
				continue;
			if (++n > SIGN_TV_MAX_SETTINGS) {
				tvw_fail(t, "capture.settings has more than %d entries",
					 SIGN_TV_MAX_SETTINGS);
				break;
			}
			s = json_object_get_string(val);
			tvw_start(t, "Einstellung");
			tvw_attr(t, "name", key, "capture.settings key");
			tvw_text(t, s, "capture.settings value");
			tvw_end(t);
		}
	}
	tvw_end(t);
	sign_tv_software(t, sign_tv_obj(j, "capture.software"), "Erfassung");
	sign_tv_software(t, sign_tv_obj(j, "classification.program"), "Klassifikation");
	sign_tv_software(t, ocr, "Texterkennung");
	tvw_start(t, "Software");
	tvw_attr(t, "name", in->software, "software");
	tvw_attr(t, "version", in->software_version, "software");
	if (in->software_sha256 != NULL && strlen(in->software_sha256) == 64)
		tvw_attr(t, "sha256", in->software_sha256, "software sha256");
	tvw_attr(t, "rolle", "Qualitätsprüfung, Transfervermerk und Versiegelung", "role");
	tvw_end(t);
	tvw_start(t, "Verfahrensdokumentation");
	tvw_attr(t, "name", in->procedure_name, "procedure.name");
	tvw_attr(t, "version", in->procedure_version, "procedure.version");
	tvw_end(t);
	tvw_end(t);
}

/* One anomaly. */
static void sign_tv_anomaly(struct tvw *t, const char *kind, long page, const char *text,
			    const char *what)
{
	tvw_start(t, "Auffaelligkeit");
	tvw_attr(t, "art", kind, what);
	if (page > 0)
		tvw_attr_num(t, "seite", page);
	tvw_text(t, text, what);
	tvw_end(t);
}

/* c) anomalies: import of a digital original, capture anomalies, page notes. */
static void sign_tv_anomalies(struct tvw *t, const struct sign_tv_input *in)
{
	const job *j = in->j;
	json_object *an = sign_tv_obj(j, "capture.anomalies");
	json_object *pages = sign_tv_obj(j, "capture.pages");
	const char *kind = job_get_str(j, "source.kind");
	char text[1024];
	size_t i, n;
	int count = 0;

	tvw_start(t, "Auffaelligkeiten");
	if (kind != NULL && strcmp(kind, "import") == 0) {
		const char *file = job_get_str(j, "source.file");
		const char *orig = job_get_str(j, "source.original");

		snprintf(text, sizeof(text),
			 "Digitales Original importiert (%s), kein Papieroriginal gescannt; das "
			 "Original liegt unverändert bei (%s)",
			 file ? file : "Dateiname nicht erfasst", orig ? orig : "nicht beigefügt");
		sign_tv_anomaly(t, "import", 0, text, "source.file");
	}
	if (an != NULL && json_object_is_type(an, json_type_array)) {
		n = json_object_array_length(an);
		for (i = 0; i < n && count < SIGN_TV_MAX_ANOMALIES; i++, count++) {
			json_object *a = json_object_array_get_idx(an, i);
			const char *s = NULL, *k = "erfassung";
			json_object *pg;
			long page = 0;

			if (json_object_is_type(a, json_type_string)) {
				s = json_object_get_string(a);
			} else if (json_object_is_type(a, json_type_object)) {
				s = sign_tv_member(a, "text");
				if (sign_tv_member(a, "kind") != NULL)
					k = sign_tv_member(a, "kind");
				if (json_object_object_get_ex(a, "page", &pg))
					page = (long)json_object_get_int64(pg);
			}
			if (s != NULL && *s != '\0')
				sign_tv_anomaly(t, k, page, s, "capture.anomalies");
		}
	}
	/* pages the OCR found turned (classify: tesseract OSD); the scan product itself
	 * is as captured, the searchable rendition shows them upright */
	{
		json_object *rot = sign_tv_obj(j, "classification.ocr.rotation");

		if (rot != NULL && json_object_is_type(rot, json_type_array)) {
			n = json_object_array_length(rot);
			for (i = 0; i < n && count < SIGN_TV_MAX_ANOMALIES; i++) {
				int deg = json_object_get_int(json_object_array_get_idx(rot, i));

				if (deg != 90 && deg != 180 && deg != 270)
					continue;
				snprintf(
				    text, sizeof(text),
				    "Seite liegt gedreht im Scanprodukt; für die Texterkennung und "
				    "die durchsuchbare Wiedergabe (ocr.pdf) um %d Grad im "
				    "Uhrzeigersinn gedreht",
				    deg);
				sign_tv_anomaly(t, "drehung", (long)i + 1, text,
						"classification.ocr.rotation");
				count++;
			}
		}
	}
	if (pages != NULL && json_object_is_type(pages, json_type_array)) {
		n = json_object_array_length(pages);
		for (i = 0; i < n && count < SIGN_TV_MAX_ANOMALIES; i++) {
			json_object *pg = json_object_array_get_idx(pages, i);
			const char *note = sign_tv_member(pg, "note");

			if (note == NULL)
				note = sign_tv_member(pg, "notes");
			if (note != NULL && *note != '\0') {
				sign_tv_anomaly(t, "seite", (long)i + 1, note,
						"capture.pages[].note");
				count++;
			}
		}
	}
	tvw_end(t);
}

/* The time the classify stage finished, from the history, or NULL. */
static const char *sign_tv_classified_at(const job *j)
{
	json_object *hist = sign_tv_obj(j, "history");
	const char *at = NULL;
	size_t i, n;

	if (hist == NULL || !json_object_is_type(hist, json_type_array))
		return NULL;
	n = json_object_array_length(hist);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(hist, i);
		const char *st = sign_tv_member(e, "stage"), *o = sign_tv_member(e, "outcome");

		if (st != NULL && o != NULL && strcmp(st, "classify") == 0 && strcmp(o, "ok") == 0)
			at = sign_tv_member(e, "at");
	}
	return at;
}

/* d) times. */
static void sign_tv_times(struct tvw *t, const struct sign_tv_input *in)
{
	char qs_at[TIMEFMT_ISO_MAX], sealed[TIMEFMT_ISO_MAX];
	const char *cls = sign_tv_classified_at(in->j);

	tvw_start(t, "Zeitpunkte");
	tvw_elem(t, "Erfassung", tvw_need(t, in->j, "capture.time"), "capture.time");
	if (cls != NULL)
		tvw_elem(t, "Klassifikation", cls, "history classify at");
	tvw_elem(t, "Qualitaetssicherung", timefmt_iso(in->qs->at, qs_at), "qs time");
	tvw_elem(t, "Versiegelung", timefmt_iso(in->sealed_at, sealed), "sealing time");
	tvw_end(t);
}

/* "bestanden" or "nicht bestanden". */
static const char *sign_tv_result(int ok)
{
	return ok ? "bestanden" : "nicht bestanden";
}

/* e) the quality check. */
static void sign_tv_quality(struct tvw *t, const struct sign_tv_input *in)
{
	const struct sign_qs *qs = in->qs;
	long i;

	tvw_start(t, "Qualitaetssicherung");
	tvw_attr(t, "ergebnis", sign_tv_result(qs->passed), "qs");
	tvw_attr(t, "verfahren", "automatisch", "qs");
	tvw_start(t, "Vollstaendigkeit");
	tvw_attr_num(t, "erwartet", qs->expected_pages < 0 ? 0 : qs->expected_pages);
	tvw_attr_num(t, "vorgefunden", qs->found_pages);
	tvw_attr(t, "ergebnis", sign_tv_result(qs->complete), "qs");
	tvw_end(t);
	for (i = 0; i < qs->found_pages; i++) {
		const struct sign_qs_page *p = &qs->pages[i];

		tvw_start(t, "Seite");
		tvw_attr_num(t, "nr", i + 1);
		tvw_attr_num(t, "breite", p->width);
		tvw_attr_num(t, "hoehe", p->height);
		tvw_attr_num(t, "bitsProKanal", p->bits);
		tvw_attr_num(t, "kanaele", p->samples);
		tvw_attr(t, "farbe", p->colour ? "true" : "false", "qs");
		tvw_attr(t, "sha256", p->sha256, "qs");
		tvw_attr(t, "ergebnis", sign_tv_result(p->match), "qs");
		tvw_end(t);
	}
	tvw_elem(t, "Beschreibung",
		 "Automatische Prüfung: Seitenzahl des Scanprodukts gleich der bei der Erfassung "
		 "gezählten Seitenzahl, SHA-256 der Bilddaten jeder Seite gleich dem bei der "
		 "Erfassung berechneten Wert",
		 "qs");
	if (qs->reason[0] != '\0')
		tvw_fail(t, "quality check failed: %s", qs->reason); /* never seal that */
	tvw_end(t);
}

/* f) the statement of pictorial and content match. */
static void sign_tv_match(struct tvw *t, const struct sign_tv_input *in)
{
	const char *kind = job_get_str(in->j, "source.kind");
	int import = kind != NULL && strcmp(kind, "import") == 0;
	const char *orig = import ? "dem importierten digitalen Original" : "dem Papieroriginal";
	char text[256];

	tvw_start(t, "Uebereinstimmung");
	tvw_attr(t, "bildlich", in->qs->colour ? "true" : "false", "match");
	tvw_attr(t, "inhaltlich", "true", "match");
	snprintf(text, sizeof(text), "Das Scanprodukt stimmt mit %s %s überein.", orig,
		 in->qs->colour ? "bildlich und inhaltlich" : "inhaltlich");
	tvw_elem(t, "Erklaerung", text, "match");
	if (!in->qs->colour)
		tvw_elem(t, "Hinweis",
			 "Erfassung in Graustufen oder bitonal: erklärt wird nur die inhaltliche "
			 "Übereinstimmung; die bildliche Übereinstimmung setzt eine farbige "
			 "Erfassung voraus (BSI TR-03138 Anwendungshinweis F, FAQ 5.3).",
			 "match");
	tvw_end(t);
}

/* Binding and seal. */
static void sign_tv_binding(struct tvw *t, const struct sign_tv_input *in)
{
	const struct sign_tv_seal *s = in->seal;
	size_t i;

	tvw_start(t, "Bindung");
	tvw_attr(t, "algorithmus", "SHA-256", "binding");
	for (i = 0; i < in->n_files; i++) {
		tvw_start(t, "Datei");
		tvw_attr(t, "name", in->files[i].name, "file name");
		tvw_attr(t, "rolle", in->files[i].role, "file role");
		tvw_attr_num(t, "groesse", (long long)in->files[i].size);
		tvw_attr(t, "sha256", in->files[i].sha256, "file digest");
		tvw_end(t);
	}
	tvw_end(t);
	tvw_start(t, "Siegel");
	tvw_attr(t, "niveau", s->level, "seal level");
	tvw_attr(t, "testPKI", s->test_pki ? "true" : "false", "seal");
	tvw_elem(t, "Zertifikat", s->subject, "certificate subject");
	tvw_elem(t, "Aussteller", s->issuer, "certificate issuer");
	tvw_elem(t, "Seriennummer", s->serial, "certificate serial");
	for (i = 0; i < in->n_files; i++) {
		if (in->files[i].p7s == NULL)
			continue;
		tvw_start(t, "Signaturdatei");
		tvw_attr(t, "zu", in->files[i].name, "file name");
		tvw_text(t, in->files[i].p7s, "signature file");
		tvw_end(t);
	}
	tvw_start(t, "Signaturdatei");
	tvw_attr(t, "zu", SIGN_TV_FILE, "file name");
	tvw_text(t, SIGN_TV_FILE ".p7s", "signature file");
	tvw_end(t);
	tvw_end(t);
}

int sign_tv_build(const struct sign_tv_input *in, buf *out, char *err, size_t errlen)
{
	xmlBufferPtr xb = NULL;
	struct tvw t;
	char now[TIMEFMT_ISO_MAX];
	int rc = -1;

	memset(&t, 0, sizeof(t));
	t.err = err;
	t.errlen = errlen;
	err[0] = '\0';
	if ((xb = xmlBufferCreate()) == NULL || (t.w = xmlNewTextWriterMemory(xb, 0)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	xmlTextWriterSetIndent(t.w, 1);
	xmlTextWriterSetIndentString(t.w, BAD_CAST "  ");
	if (xmlTextWriterStartDocument(t.w, "1.0", "UTF-8", NULL) < 0)
		tvw_fail(&t, "XML writer failed to start");
	tvw_start(&t, "Transfervermerk");
	tvw_attr(&t, "xmlns", SIGN_TV_NS, "namespace");
	tvw_attr(&t, "version", "1", "version");
	tvw_attr(&t, "erstellt", timefmt_iso(in->sealed_at, now), "time");
	sign_tv_product(&t, in);
	sign_tv_person(&t, in);
	sign_tv_environment(&t, in);
	sign_tv_anomalies(&t, in);
	sign_tv_times(&t, in);
	sign_tv_quality(&t, in);
	sign_tv_match(&t, in);
	sign_tv_binding(&t, in);
	tvw_end(&t);
	if (!t.failed && xmlTextWriterEndDocument(t.w) < 0)
		tvw_fail(&t, "XML writer failed to finish");
	xmlFreeTextWriter(t.w); /* flushes into xb */
	t.w = NULL;
	if (t.failed)
		goto out;
	if (buf_add(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb)) == -1) {
		snprintf(err, errlen, "Transfervermerk larger than %zu bytes", out->max);
		goto out;
	}
	rc = 0;
out:
	if (t.w != NULL)
		xmlFreeTextWriter(t.w);
	if (xb != NULL)
		xmlBufferFree(xb);
	return rc;
}

int sign_tv_validate(xmlschema *s, const char *xml, size_t len, char *err, size_t errlen)
{
	char why[1024];

	if (len > SIGN_TV_MAX) {
		snprintf(err, errlen, "Transfervermerk too large");
		return -1;
	}
	switch (xmlschema_validate(s, xml, len, why, sizeof(why))) {
	case XMLSCHEMA_OK:
		return 0;
	case XMLSCHEMA_NOTWF:
		snprintf(err, errlen, "Transfervermerk is not well-formed XML: %s", why);
		break;
	case XMLSCHEMA_INVALID:
		snprintf(err, errlen, "Transfervermerk does not validate against the XSD: %s", why);
		break;
	default:
		snprintf(err, errlen, "Transfervermerk cannot be validated: %s", why);
		break;
	}
	return -1;
}
