/*
 * xmlschema.h - XML Schema (XSD) validation with libxml2, for the documents the
 * stages write: the Transfervermerk (sign) and the xdomea message (dms-export).
 *
 * A schema is parsed once and used for many documents. Documents are parsed from
 * memory without network access, without loading a DTD and without expanding
 * external entities (XML_PARSE_NONET, no XML_PARSE_NOENT / XML_PARSE_DTDLOAD);
 * the schema itself is read from local files only. Errors carry the first few
 * libxml2 messages as "line N: message", joined by "; ". The callers add what
 * the document is and which setting names the schema.
 */
#ifndef MAILROOM_XMLSCHEMA_H
#define MAILROOM_XMLSCHEMA_H

#include <stddef.h>

#include <libxml/tree.h>

/* Results of xmlschema_validate and xmlschema_validate_doc (0 is valid). */
enum xmlschema_result {
	XMLSCHEMA_OK = 0,
	XMLSCHEMA_ERROR = -1,	/* too large, out of memory */
	XMLSCHEMA_NOTWF = -2,	/* not well-formed XML */
	XMLSCHEMA_INVALID = -3, /* well-formed, but the schema rejects it */
};

typedef struct xmlschema xmlschema;

/*
 * Parse the schema at path (and what it includes) once. NULL with err set,
 * naming the path: "schema <path>: <strerror>" or "schema <path> does not
 * parse: line N: ...". Free with xmlschema_free.
 */
xmlschema *xmlschema_load(const char *path, char *err, size_t errlen);
/* Free a schema; accepts NULL, returns NULL. */
xmlschema *xmlschema_free(xmlschema *s);

/*
 * Parse xml (len bytes, UTF-8) from memory without network access or external
 * entities. The document (free with xmlFreeDoc), or NULL with err set (the first
 * libxml2 errors, or "not well-formed XML").
 */
xmlDocPtr xmlschema_parse(const char *xml, size_t len, char *err, size_t errlen);
/* Validate a parsed document. XMLSCHEMA_OK, or a negative result with err set. */
int xmlschema_validate_doc(xmlschema *s, xmlDocPtr doc, char *err, size_t errlen);
/*
 * Parse xml and validate it. XMLSCHEMA_OK, or XMLSCHEMA_NOTWF / XMLSCHEMA_INVALID /
 * XMLSCHEMA_ERROR with the first libxml2 errors (line N: message) in err.
 */
int xmlschema_validate(xmlschema *s, const char *xml, size_t len, char *err, size_t errlen);

#endif
