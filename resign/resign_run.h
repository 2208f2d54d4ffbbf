/*
 * resign_run.h - the work of mailroom-resign: hash trees, time-stamps and
 * evidence records for archived letters, their renewal, and the plan.
 *
 * A run is one hash tree and one time-stamp (resign_db.h). Every run goes
 * through the same steps, each of them durable before the next:
 *   1. create: choose the members (letters), compute their leaves, store run,
 *      leaves and members in one transaction (state open);
 *   2. stamp: rebuild the tree from the stored leaves, ask the TSA once for
 *      H(root input) = the root, store the token (state stamped);
 *   3. write: per member, build its record from the stored data and the token,
 *      write <letter>/evidence.ers atomically (tmp, fsync, rename, fsync dir)
 *      unless it already holds this token, record it (members.done = 1,
 *      letters), add the journal event unless the journal already has it
 *      ("run N:" in the detail), then done = 2;
 *   4. done.
 * A run killed anywhere is finished by the next start (resign_resume) from the
 * database alone: no tree is stamped twice once its token is stored, no record
 * is written twice (an existing record with the run's token counts as
 * written), no journal event is added twice.
 *
 * Which files a letter's record covers: the payload files that job.json lists
 * under "files" (scan.tiff, original.*, ocr.txt, ocr.pdf, transfervermerk.xml
 * and every *.p7s seal), checked against their recorded SHA-256 by job_read
 * before they are hashed; NOT job.json (later stages and tools rewrite it, so a
 * record over it would break; the metadata that matters is sealed inside the
 * Transfervermerk). The list goes into evidence.json (the sidecar) and
 * resign.db. Only letters in var/archive/<id>/ whose record says
 * signing.level count: a sealed letter still in the spool (export not yet
 * delivered) waits, because the spool moves it by rename while we would write
 * into it; it is protected by its CAdES seal meanwhile.
 */
#ifndef MAILROOM_RESIGN_RUN_H
#define MAILROOM_RESIGN_RUN_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "journal.h"
#include "resign_conf.h"
#include "resign_db.h"
#include "settings.h"
#include "tsa.h"

#define RESIGN_ER_FILE "evidence.ers"
#define RESIGN_SIDECAR_FILE "evidence.json"
#define RESIGN_SIDECAR_FORMAT "mailroom-evidence/1"

/* Outcomes, worst last. */
enum resign_rc {
	RESIGN_OK = 0,
	RESIGN_REFUSED = 1, /* some letters could not be handled (reported); others were */
	RESIGN_LATER = 2,   /* the TSA cannot answer now: the run stays open */
	RESIGN_FAIL = 3	    /* I/O, database, journal, or the TSA's answer is wrong */
};

struct resign_stats {
	long runs, tsa_calls, written, already, journaled, refused;
	long initial, timestamp, hashtree; /* letters per kind */
};

struct resign_ctx {
	const settings *set;
	const struct resign_conf *conf;
	resign_db *db;
	journal *jr; /* NULL in a dry run */
	time_t now;
	tsa_client *tsa[4]; /* one per imprint digest, opened on first use */
	int tsa_nid[4];
	struct resign_stats st;
	json_object *runs;	/* array: what each run did (for --json and the summary) */
	long long finished[64]; /* runs finished by this invocation: their letters wait */
	int nfinished;
	json_object *problems; /* array of {job, problem} */
};

/* Finish every run that a crash (or a TSA outage) left open. */
int resign_resume(struct resign_ctx *c);
/* Due hash-tree renewals, then due timestamp renewals (each one run per hash). */
int resign_renew(struct resign_ctx *c);
/* One initial run over every sealed archived letter without a record. */
int resign_initial(struct resign_ctx *c);
/* What is due now and when the next renewal is (for --dry-run): a JSON object. */
json_object *resign_plan(struct resign_ctx *c);
/* Close the TSA clients. */
void resign_ctx_close(struct resign_ctx *c);

#endif
