/*
 * verify_doc.h - the XML documents `mailroom verify` reads besides signatures:
 * the Transfervermerk (what it binds, and whether it validates against its XSD)
 * and the xdomea message of a package (which files it names, which seals).
 *
 * Both are parsed from memory with common/xmlschema.c (no network, no DTD, no
 * external entities) and at most VERIFY_DOC_MAX bytes; what is read from them
 * is copied into fixed-size fields (longer values are refused, not cut).
 * The element names are those sign/sign_tv.c and dms-export/export_xdomea.c
 * write; a tool never includes a stage's headers, so the two namespaces are
 * repeated here.
 */
#ifndef MAILROOM_VERIFY_DOC_H
#define MAILROOM_VERIFY_DOC_H

#include <stddef.h>

#include "xmlschema.h"

#define VERIFY_TV_NS "urn:mailroom:transfervermerk:1"	     /* = SIGN_TV_NS of sign_tv.h */
#define VERIFY_XDOMEA_NS_PREFIX "urn:xoev-de:xdomea:schema:" /* any xdomea version */
#define VERIFY_DOC_MAX (8u << 20)			     /* bytes of XML read */
#define VERIFY_DOC_MAX_FILES 32
#define VERIFY_NAME_MAX 256

/* One <Datei> of the Transfervermerk's <Bindung>. */
struct verify_tv_file {
	char name[VERIFY_NAME_MAX];
	char role[VERIFY_NAME_MAX];
	char sha256[65]; /* lowercase hex as written */
	unsigned long long size;
	int size_ok; /* groesse was a number */
};

/* What a Transfervermerk says about the files it binds and its seal. */
struct verify_tv {
	int parsed; /* well-formed, root element Transfervermerk in VERIFY_TV_NS */
	struct verify_tv_file files[VERIFY_DOC_MAX_FILES];
	size_t n_files;
	int too_many; /* more <Datei> than VERIFY_DOC_MAX_FILES */
	char id[64];  /* Scanprodukt/Kennung */
	char scan_mode[32];
	char level[32]; /* Siegel/@niveau */
	int test_pki;	/* Siegel/@testPKI = true */
};

/* 1 if xml (len bytes) is a Transfervermerk by its root element and namespace. */
int verify_tv_is(const char *xml, size_t len);

/*
 * Read a Transfervermerk. Validates it against s when s is not NULL and fills tv
 * from the document as it is (also when it is invalid, so bindings can still be
 * compared). Returns XMLSCHEMA_OK, XMLSCHEMA_INVALID (err: the schema's first
 * complaints), XMLSCHEMA_NOTWF (not XML, or not a Transfervermerk; tv->parsed 0)
 * or XMLSCHEMA_ERROR (too large, out of memory).
 */
int verify_tv_read(xmlschema *s, const char *xml, size_t len, struct verify_tv *tv, char *err,
		   size_t errlen);

/* One Primaerdokument of the xdomea message. */
struct verify_xdomea_part {
	char name[VERIFY_NAME_MAX];	/* Dateiname: the entry in the ZIP */
	char original[VERIFY_NAME_MAX]; /* DateinameOriginal: the name in the job */
	char seal[VERIFY_NAME_MAX];	/* the first SignaturSiegelDatei (the .p7s), or "" */
	char ers[VERIFY_NAME_MAX];	/* a further SignaturSiegelDatei ending .ers, or "" */
};

/* What an xdomea message names. */
struct verify_xdomea {
	struct verify_xdomea_part parts[VERIFY_DOC_MAX_FILES];
	size_t n_parts;
	int too_many;		/* more Primaerdokumente than fit */
	char namespace_uri[64]; /* urn:xoev-de:xdomea:schema:3.0.0 */
	char message[16];	/* Nachrichtentyp code, "0101" */
	char process_id[64];	/* Kopf/ProzessID */
	int has_tv;		/* an Anlage of Typ "Transfervermerk" */
	int electronic, hybrid; /* Medium codes 001 / 002 seen */
};

/*
 * Read an xdomea message: 1 and x filled when the root element is in an xdomea
 * namespace; 0 when xml is another XML document; -1 when it is not well-formed
 * or too large (err set).
 */
int verify_xdomea_read(const char *xml, size_t len, struct verify_xdomea *x, char *err,
		       size_t errlen);

/* The part whose DateinameOriginal is name, or NULL. */
const struct verify_xdomea_part *verify_xdomea_original(const struct verify_xdomea *x,
							const char *name);

#endif
