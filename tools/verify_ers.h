/*
 * verify_ers.h - `mailroom verify` of evidence records (RFC 4998, TR-ESOR-ERS),
 * end to end: data -> leaf -> reduced hash tree -> root -> time-stamp ->
 * certificate chain, for every time-stamp of every chain (common/ers.c).
 *
 * In a letter directory (var/archive/<id>/) the record is evidence.ers and the
 * files it covers are the ones evidence.json names (mailroom-resign writes both);
 * each must be there, be a plain file name, and be covered as one data group.
 * A detached record (`mailroom verify FILE.ers DATA...`) covers the data files
 * given, each one a data object.
 * Trust: every time-stamp's TSA certificate must chain to the anchors at the
 * time-stamp's genTime (purpose time stamping); without anchors the check is
 * WARN ("not validated") instead of OK.
 *
 * Nothing is logged; the result says everything.
 */
#ifndef MAILROOM_VERIFY_ERS_H
#define MAILROOM_VERIFY_ERS_H

#include <stddef.h>

#include <openssl/x509.h>

#include "verify_cades.h"

#define VERIFY_ERS_FILE "evidence.ers"
#define VERIFY_ERS_SIDECAR "evidence.json"
#define VERIFY_ERS_MAX_FILES 64

struct verify_ers_result {
	enum verify_status status;	/* OK, WARN (no anchors) or FAILED */
	char detail[VERIFY_DETAIL_MAX]; /* the check's text */
	char note[512];			/* for the OK line: chains, time-stamps, times */
	char verdict[64];		/* "VALID" or "INVALID:<CODE>@c<i>a<j>" (ers.h) */
	size_t objects;			/* data objects checked */
};

/* 1 if dir holds evidence.ers. */
int verify_ers_present(const char *dir);
/* Check dir/evidence.ers against the files dir/evidence.json names. */
void verify_ers_dir(const char *dir, X509_STORE *anchors, struct verify_ers_result *r);
/* Check the record er_path against the data files (n may be 0: the record alone). */
void verify_ers_files(const char *er_path, char *const *data, size_t n, X509_STORE *anchors,
		      struct verify_ers_result *r);
/* A store with the certificates of a PEM file, or NULL. */
X509_STORE *verify_ers_anchors(const char *pem);

#endif
