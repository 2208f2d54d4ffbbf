/*
 * xmlschema.c - XSD validation with libxml2; see xmlschema.h.
 *
 * libxml2 reports parser errors through the (thread-local) structured error
 * handler and schema errors through the handler of the schema context; both are
 * pointed at one collector that keeps the first few messages with their lines.
 */
#include "xmlschema.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "log.h"
#include "xalloc.h"

#define XMLSCHEMA_MAX_MSGS 3 /* libxml2 messages kept per error */

struct xmlschema {
	xmlSchemaPtr schema;
};

/* Collects the first libxml2 errors as "line N: message", joined by "; ". */
struct xmlschema_errs {
	char *out; /* starts as "" */
	size_t outlen;
	int n;
};

/*
 * libxml2 structured error handler: keep the first few errors as one line each.
 * Declared with a const error (libxml2 >= 2.12) and cast where it is installed,
 * so that it fits the older prototype too.
 */
static void xmlschema_collect(void *arg, const xmlError *e)
{
	struct xmlschema_errs *c = arg;
	size_t used = strlen(c->out);
	char msg[512];
	size_t l;

	if (e == NULL || c->n >= XMLSCHEMA_MAX_MSGS || used + 1 >= c->outlen)
		return;
	snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "error");
	l = strlen(msg);
	while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
		msg[--l] = '\0';
	snprintf(c->out + used, c->outlen - used, "%sline %d: %s", c->n ? "; " : "", e->line, msg);
	c->n++;
}

xmlschema *xmlschema_load(const char *path, char *err, size_t errlen)
{
	xmlSchemaParserCtxtPtr pc;
	xmlExternalEntityLoader loader;
	char msgs[1024] = "";
	struct xmlschema_errs c = {msgs, sizeof(msgs), 0};
	xmlschema *s;

	xmlInitParser();
	if (access(path, R_OK) == -1) {
		snprintf(err, errlen, "schema %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((pc = xmlSchemaNewParserCtxt(path)) == NULL) {
		snprintf(err, errlen, "schema %s: cannot create a parser", path);
		return NULL;
	}
	xmlSchemaSetParserStructuredErrors(pc, (xmlStructuredErrorFunc)xmlschema_collect, &c);
	s = xcalloc(1, sizeof(*s));
	/* the schema parser takes no parse options: refuse network URLs in what the
	 * schema includes or imports through the entity loader instead */
	loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
	s->schema = xmlSchemaParse(pc);
	xmlSetExternalEntityLoader(loader);
	if (s->schema == NULL) {
		snprintf(err, errlen, "schema %s does not parse: %s", path,
			 msgs[0] ? msgs : "not a usable XML schema");
		s = xmlschema_free(s);
	}
	xmlSchemaFreeParserCtxt(pc);
	return s;
}

xmlschema *xmlschema_free(xmlschema *s)
{
	if (s == NULL)
		return NULL;
	if (s->schema != NULL)
		xmlSchemaFree(s->schema);
	free(s);
	return NULL;
}

/* Parse xml into a document; NULL with err set and *why the XMLSCHEMA_ result. */
static xmlDocPtr xmlschema_read(const char *xml, size_t len, char *err, size_t errlen, int *why)
{
	struct xmlschema_errs c = {err, errlen, 0};
	xmlParserCtxtPtr pc;
	xmlDocPtr doc;

	err[0] = '\0';
	*why = XMLSCHEMA_ERROR;
	if (len > INT_MAX) {
		snprintf(err, errlen, "document larger than %d bytes", INT_MAX);
		return NULL;
	}
	if ((pc = xmlNewParserCtxt()) == NULL) {
		snprintf(err, errlen, "libxml2: cannot create a parser");
		return NULL;
	}
	xmlSetStructuredErrorFunc(&c, (xmlStructuredErrorFunc)xmlschema_collect);
	doc = xmlCtxtReadMemory(pc, xml, (int)len, NULL, "UTF-8", XML_PARSE_NONET);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (doc != NULL && !pc->wellFormed) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(pc);
	if (doc == NULL) {
		*why = XMLSCHEMA_NOTWF;
		if (err[0] == '\0')
			snprintf(err, errlen, "not well-formed XML");
	}
	return doc;
}

xmlDocPtr xmlschema_parse(const char *xml, size_t len, char *err, size_t errlen)
{
	int why;

	return xmlschema_read(xml, len, err, errlen, &why);
}

int xmlschema_validate_doc(xmlschema *s, xmlDocPtr doc, char *err, size_t errlen)
{
	struct xmlschema_errs c = {err, errlen, 0};
	xmlSchemaValidCtxtPtr vc;
	int v;

	if (s == NULL || doc == NULL)
		log_panic("xmlschema_validate_doc: no schema or no document");
	err[0] = '\0';
	if ((vc = xmlSchemaNewValidCtxt(s->schema)) == NULL) {
		snprintf(err, errlen, "libxml2: cannot create a validation context");
		return XMLSCHEMA_ERROR;
	}
	xmlSchemaSetValidStructuredErrors(vc, (xmlStructuredErrorFunc)xmlschema_collect, &c);
	v = xmlSchemaValidateDoc(vc, doc);
	xmlSchemaFreeValidCtxt(vc);
	if (v == 0)
		return XMLSCHEMA_OK;
	/* v < 0 is libxml2 giving up (entity references, say): not valid either */
	if (err[0] == '\0')
		snprintf(err, errlen, "schema validation failed (libxml2 code %d)", v);
	return XMLSCHEMA_INVALID;
}

int xmlschema_validate(xmlschema *s, const char *xml, size_t len, char *err, size_t errlen)
{
	xmlDocPtr doc;
	int rc;

	if ((doc = xmlschema_read(xml, len, err, errlen, &rc)) == NULL)
		return rc;
	rc = xmlschema_validate_doc(s, doc, err, errlen);
	xmlFreeDoc(doc);
	return rc;
}
