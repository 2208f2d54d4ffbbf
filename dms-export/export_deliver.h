/*
 * export_deliver.h - exactly-once, atomic delivery of a package into an office's
 * inbox folder (a watched folder of the DMS, xdomea Datenaustauschart 001).
 *
 * The package is written as .<name>.tmp in the inbox folder itself (same
 * filesystem), fsynced and closed; the intention is recorded in the job; then the
 * tmp is link()ed to the final name (link never replaces an existing file), the
 * folder is fsynced and the tmp removed. Nothing half-written ever carries a final
 * name. The name is deterministic (the letter's uuid), so a run after a crash
 * finds an earlier delivery and does not write the package again.
 */
#ifndef MAILROOM_EXPORT_DELIVER_H
#define MAILROOM_EXPORT_DELIVER_H

#include <stddef.h>
#include <sys/types.h>

#include "digest.h"
#include "export_xdomea.h"

enum export_delivery {
	EXPORT_DELIVERED, /* the package was written by this run */
	EXPORT_FOUND,	  /* a complete package of this letter was already there */
	EXPORT_TAKEN,	  /* an earlier run delivered it and the DMS has since taken it */
	EXPORT_DEFER,	  /* inbox missing, read-only or full: retry later (reason set) */
	EXPORT_REFUSE	  /* cannot be delivered without a person (reason set) */
};

/* Where a package goes. */
struct export_target {
	const char *inbox_root; /* paths.inbox, or <var>/vis-inbox */
	const char *folder;	/* the office's folder below the root */
	int create;		/* 1: create missing folders (local demo inbox under var/) */
	int begun;		/* 1: the job record says this delivery had begun */
	mode_t mode;		/* file mode of the package */
};

/* How the package is produced and how the intention is recorded. */
struct export_delivery_ops {
	/* Write the package to fd: 0, EXPORT_ZIP_WRITE (errno) or EXPORT_ZIP_BUILD (err). */
	int (*write)(int fd, void *arg, char *err, size_t errlen);
	/* Record durably that the package is about to get its final name: 0 or -1. */
	int (*intent)(void *arg);
	void *arg;
};

/*
 * Deliver the package p to t. On EXPORT_DELIVERED and EXPORT_FOUND, path gets the
 * package's path and sha256 its SHA-256 (hex); on EXPORT_TAKEN path is set and
 * sha256 is "". On EXPORT_DEFER / EXPORT_REFUSE, reason says what happened and the
 * fix.
 */
enum export_delivery export_deliver(const struct export_target *t, const struct xdomea_pkg *p,
				    const struct export_delivery_ops *ops, char *path,
				    size_t pathlen, char sha256[DIGEST_SHA256_HEX], char *reason,
				    size_t rlen);

#endif
