/*
 * sign_tv.h - the Transfervermerk (BSI TR-03138 A.NB.4) as XML.
 *
 * Built from the job record (capture, source, classification, uuid, id), the
 * result of the quality check and the seal that will protect it; written with
 * libxml2's xmlTextWriter in UTF-8, namespace SIGN_TV_NS, and validated against
 * sign/transfervermerk.xsd before it is sealed. The builder is deterministic: the
 * same inputs give the same bytes (golden-file tests rely on it).
 */
#ifndef MAILROOM_SIGN_TV_H
#define MAILROOM_SIGN_TV_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "job.h"
#include "sign_qs.h"
#include "xmlschema.h"

#define SIGN_TV_NS "urn:mailroom:transfervermerk:1"
#define SIGN_TV_FILE "transfervermerk.xml"
#define SIGN_TV_MAX (4u << 20) /* bytes of XML */

/* A file bound by its digest. */
struct sign_tv_file {
	const char *name;   /* scan.tiff, original.pdf, ocr.pdf */
	const char *role;   /* Scanprodukt, Original, Textwiedergabe */
	const char *sha256; /* lowercase hex */
	unsigned long long size;
	const char *p7s; /* its detached signature file, or NULL */
};

/* The seal that protects scan product and Transfervermerk. */
struct sign_tv_seal {
	const char *level;   /* CAdES-B-B */
	const char *subject; /* RFC 2253 */
	const char *issuer;
	const char *serial; /* uppercase hex */
	int test_pki;
};

struct sign_tv_input {
	const job *j;
	const struct sign_qs *qs;
	const char *procedure_name; /* Verfahrensdokumentation */
	const char *procedure_version;
	const char *software; /* this program's name */
	const char *software_version;
	const char *software_sha256; /* SHA-256 hex of the sealing program, or NULL */
	time_t sealed_at;
	const struct sign_tv_file *files;
	size_t n_files;
	const struct sign_tv_seal *seal;
};

/*
 * Write the Transfervermerk into out (appended; out's maximum applies). 0, or -1
 * with err naming what is missing or unusable in the record ("job.json has no
 * capture.operator", "capture.station is not valid UTF-8 text").
 */
int sign_tv_build(const struct sign_tv_input *in, buf *out, char *err, size_t errlen);

/*
 * Validate a Transfervermerk against the XSD (loaded once with xmlschema_load).
 * 0 valid, -1 with the first libxml2 errors in err.
 */
int sign_tv_validate(xmlschema *s, const char *xml, size_t len, char *err, size_t errlen);

#endif
