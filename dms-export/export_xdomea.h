/*
 * export_xdomea.h - the xdomea 3.0.0 message of one letter: which files go into the
 * package under which names (the plan), the message XML (0101
 * Information.Information or 0605 FVDaten.SGOAblegen), and its validation
 * against the official schema with libxml2.
 *
 * Mapping (see dms-export/README.md): the letter is one Schriftgutobjekt/Dokument
 * whose Identifikation/ID is the letter's "uuid" (also the ProzessID). Version 1
 * holds the renditions as Format entries: scan.tiff (the scan product, with its
 * seal), ocr.pdf (searchable PDF) and, for imports, original.<ext>. The
 * Transfervermerk is an Anlage (its own Dokument) with its seal. Every file in the
 * package is named <new UUID>.<ext>, its seal <that name>.p7s and its evidence
 * record (RFC 4998, a job file <file>.ers) <that name>.ers; both are listed as
 * SignaturSiegelDatei of the file's Primaerdokument, the seal first.
 */
#ifndef MAILROOM_EXPORT_XDOMEA_H
#define MAILROOM_EXPORT_XDOMEA_H

#include <stddef.h>

#include "buf.h"
#include "ident.h"
#include "job.h"
#include "offices.h"
#include "xmlschema.h"

#define XDOMEA_NS "urn:xoev-de:xdomea:schema:3.0.0"
#define XDOMEA_MAX_PARTS 8
#define XDOMEA_MAX_XML (4u << 20) /* a message is a few kB; anything near this is wrong */
#define XDOMEA_NAME_MAX 200

/* What a file is for; decides where it appears in the message. */
enum xdomea_role { XDOMEA_SCAN, XDOMEA_PDF, XDOMEA_ORIGINAL, XDOMEA_TV };

/* One file of the package (and its detached seal, if any). */
struct xdomea_part {
	enum xdomea_role role;
	char job_name[XDOMEA_NAME_MAX];	    /* name in the job directory */
	char pkg_name[XDOMEA_NAME_MAX];	    /* <uuid>.<ext> in the package */
	char sig_job_name[XDOMEA_NAME_MAX]; /* its .p7s in the job directory, "" if none */
	char sig_pkg_name[XDOMEA_NAME_MAX]; /* <pkg_name>.p7s, "" if none */
	char ers_job_name[XDOMEA_NAME_MAX]; /* its evidence record <job_name>.ers, "" if none */
	char ers_pkg_name[XDOMEA_NAME_MAX]; /* <pkg_name>.ers, "" if none */
	const char *format_code;	    /* Dateiformat code list 1.0 */
	const char *other_format;	    /* SonstigerName for code 100, else NULL */
	char format_version[16];	    /* e.g. "1.5" for a PDF */
};

/* The planned package of one letter. */
struct xdomea_pkg {
	char process_id[IDENT_UUID_LEN]; /* the letter's uuid: ProzessID and Dokument ID */
	char tv_id[IDENT_UUID_LEN];	 /* ID of the Transfervermerk Anlage */
	const char *message;		 /* "0101" or "0605" */
	char msg_base[XDOMEA_NAME_MAX];	 /* <ProzessID>_Information.Information.0101 */
	char zip_name[XDOMEA_NAME_MAX];	 /* msg_base + ".zip" */
	char xml_name[XDOMEA_NAME_MAX];	 /* msg_base + ".xml" */
	int replacing; /* 1 ersetzend (Medium Elektronisch), 0 kopierend (Hybrid) */
	int paper;     /* 1 a routing record: no files, Medium Papier (xdomea_plan_paper) */
	struct xdomea_part parts[XDOMEA_MAX_PARTS];
	size_t nparts;
};

/* Sender, receiver and the per-office extras of a message. */
struct xdomea_env {
	const offices *offs;	     /* the city: name and Behördenkennung */
	const struct office *office; /* the receiving office */
	const char *sender_name;     /* Organisationseinheit of the sender (scanning station) */
	const char *station;	     /* InstanzID of the sending system */
	const char *id_container;    /* 0605 IDContainer, NULL to leave out */
	const char *ablageort;	     /* 0605 Ablageort, NULL: the office's inbox folder */
	const char *created;	     /* Erstellungszeitpunkt, ISO 8601 UTC */
	int receipt; /* 1: ask for a receipt (Empfangsbestaetigung; the office has a reply
			folder); 0101 then expects 0102, 0605 expects 0629 */
};

/*
 * Copy text (from the job record or a receipt) into out as XML-safe UTF-8: characters
 * XML does not allow (control characters, broken UTF-8) become a space, whitespace
 * runs are collapsed, the result is trimmed and cut (on a character boundary) to
 * fit. Returns out.
 */
const char *xdomea_text(const char *s, char *out, size_t outlen);

/* The message type name of a code ("0101" -> "Information.Information"), NULL if unknown. */
const char *xdomea_message_name(const char *code);

/*
 * Plan the package of letter j for message type code: file names, new file UUIDs,
 * format codes, seals (from "signing.signatures"). Returns 0, or -1 with a reason
 * in err when the letter cannot be packaged (no uuid, no scan.tiff, an
 * ersetzend letter without its seal) - the caller quarantines it.
 */
int xdomea_plan(job *j, const char *message, struct xdomea_pkg *p, char *err, size_t errlen);

/*
 * Plan a routing record of letter j: a message (type code message) without files
 * whose Dokument says Medium 003 Papier - the letter exists only on paper for the
 * receiving office, which gets the paper original. The Bemerkung says where the
 * paper goes. 0, or -1 with err (no valid uuid).
 */
int xdomea_plan_paper(job *j, const char *message, struct xdomea_pkg *p, char *err, size_t errlen);

/*
 * Build the message XML of the planned package into out (UTF-8, bounded by
 * XDOMEA_MAX_XML). 0, or -1 with err set.
 */
int xdomea_build(job *j, const struct xdomea_env *env, const struct xdomea_pkg *p, buf *out,
		 char *err, size_t errlen);

/*
 * Parse the xdomea schema (xdomea.xsd) once, with common/xmlschema. NULL with err
 * set (names the path and the xsd: setting). Free with xmlschema_free.
 */
xmlschema *xdomea_schema_load(const char *path, char *err, size_t errlen);
/*
 * Parse xml (as it will leave) and validate it. 0 valid; -1 with the first libxml2
 * errors (line: message) in err.
 */
int xdomea_validate(xmlschema *s, const char *xml, size_t len, char *err, size_t errlen);

/* The ProzessID in a message's Kopf into out; 0, or -1 if not found / not XML. */
int xdomea_process_id(const char *xml, size_t len, char *out, size_t outlen);

#endif
