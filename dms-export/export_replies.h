/*
 * export_replies.h - what the DMS answers: import receipts in an office's reply
 * folder and packages it could not import in its error folder, matched to the
 * letters and recorded in the journal exactly once.
 *
 * Reply folder: every regular file <name>.xml (or a <name>.zip xdomea container
 * holding one .xml) is an untrusted receipt (export_receipt.h). It is matched by
 * its ProzessID to the letter (the index below, else a search of the archive) and
 * journaled on the letter: action "receipt" (0102/0629 received, state
 * "received"; 0630 imported, state "imported") or "rejected" (0630 with errors,
 * state "rejected", reason = the DMS's words). Then it is moved to done/ in that
 * folder. A receipt that is not one (not XML, a DTD, invalid against the schema,
 * another message, larger than EXPORT_RECEIPT_MAX) goes to bad/, one whose
 * ProzessID matches no delivered letter to unknown/, each with <name>.reason.txt
 * beside it and a log line. A malformed file younger than settle_seconds is left
 * alone for the next scan (the DMS may still be writing it).
 * Error folder: every <ProzessID>_<...>.zip there is a package of ours the DMS gave
 * up on: journaled as "rejected" on its letter and moved to done/ in that folder;
 * other files are not ours and are left alone.
 *
 * Exactly once: every event carries "sha256 <hex>" of the receipt (or package)
 * file; before journaling, the letter's events are searched for it, so a crash
 * between the journal and the move to done/ never counts a receipt twice.
 *
 * Index: at delivery the stage writes <index_dir>/<ProzessID> ("job <id>",
 * "office", "package", "sha256" lines). A ProzessID missing there is searched in
 * the archive (every archive/<id>/job.json "uuid") and the index entry rewritten.
 */
#ifndef MAILROOM_EXPORT_REPLIES_H
#define MAILROOM_EXPORT_REPLIES_H

#include <stddef.h>

#include "journal.h"
#include "xmlschema.h"

/* Where the DMS answers for one office; NULL where not configured. */
struct export_replies_office {
	const char *office;  /* office id */
	const char *replies; /* absolute path of the reply folder */
	const char *errors;  /* absolute path of the error folder */
};

struct export_replies_env {
	journal *jr;
	xmlschema *schema;	 /* xdomea.xsd */
	const char *index_dir;	 /* <var>/dms/sent */
	const char *archive_dir; /* <var>/archive */
	unsigned settle_seconds; /* leave a malformed file this young for the next scan */
	int create;		 /* create missing folders (below the local demo inbox) */
};

/* What one scan did. */
struct export_replies_counts {
	int receipts;	/* journaled: received or imported */
	int rejected;	/* journaled: rejected (receipt or error folder) */
	int duplicates; /* already journaled earlier: only moved to done/ */
	int unknown;	/* set aside: no letter with that ProzessID */
	int bad;	/* set aside: not a usable receipt */
	int failed;	/* folder missing or unreadable, a move or the journal failed */
};

/* Scan one office's reply and error folders; adds to c. 0, or -1 if a folder could
 * not be read (logged; the next scan tries again). */
int export_replies_scan(const struct export_replies_env *env, const struct export_replies_office *o,
			struct export_replies_counts *c);

/* Record a delivery in the index: 0, or -1 (errno). Written with write + rename,
 * without fsync and not with the fault-injected fileio helpers: the index is a
 * cache, a lost or empty entry is found again in the archive. */
int export_index_put(const char *index_dir, const char *process_id, const char *jobid,
		     const char *office, const char *package, const char *sha256);
/* The job id of ProzessID into jobid (index, then the archive): 1 found, 0 not. */
int export_index_find(const char *index_dir, const char *archive_dir, const char *process_id,
		      char *jobid, size_t joblen);

#endif
