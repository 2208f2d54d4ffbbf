/*
 * resign.c - mailroom-resign: evidence records (RFC 4998, TR-ESOR-ERS) for sealed
 * letters, and their renewal before their proof value decreases (§ 15 VDG).
 *
 * SYNOPSIS
 *	mailroom-resign [-c DIR] [--dry-run] [--json] [--now TIME]
 *
 *	Run nightly (deploy/systemd/mailroom-resign.timer). In this order:
 *	1. finishes a run that a crash or a TSA outage left open (resign_run.h);
 *	2. hash-tree renewal of every chain whose hash algorithm comes within the
 *	   horizon of its end in the policy: the documents are read again, a new
 *	   chain with renewal_digest, one time-stamp;
 *	3. timestamp renewal of every chain whose last time-stamp's TSA
 *	   certificate, signature algorithm or key size comes within the horizon:
 *	   one time-stamp over a tree of the distinct previous time-stamps;
 *	4. the initial archive time-stamp: every letter sealed and archived since
 *	   the last run (var/archive/<id>/ with signing.level) in one hash tree,
 *	   one time-stamp over its root, <letter>/evidence.ers (+ evidence.json)
 *	   per letter and a journal event.
 *	Then it prints what it did and when the next renewal will be due.
 *
 * OPTIONS
 *	-c DIR	configuration directory (default $MAILROOM_CONF, else the source conf/);
 *		reads mailroom.yaml and resign.yaml
 *	--dry-run	change nothing: report what is due now (letters waiting for
 *		their first record, renewals) and when the next renewal will be
 *	--json	the report as one JSON object
 *	--now TIME	take TIME (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) as "now" for the
 *		renewal policy (tests, planning); time-stamps still carry the TSA's
 *		real time
 *	-h	help
 *
 * FILES
 *	reads	var/archive/<id>/ (job.json and the files it lists), conf/resign.yaml
 *	writes	var/archive/<id>/evidence.ers and evidence.json (atomically: tmp,
 *		fsync, rename, fsync dir), var/resign.db (SQLite WAL: runs, trees,
 *		tokens, members, letters), journal events (var/journal.db, stage
 *		"resign", actions evidence / evidence-renewed / evidence-rehashed)
 *	lock	var/resign.lock (flock): one instance at a time
 *
 * SECURITY
 *	Trusts its configuration. Archived letters are input: job_read checks each
 *	record and the SHA-256 of every file it lists before anything is hashed for a
 *	time-stamp (a letter that fails is reported, not stamped). Evidence records
 *	read for renewal are parsed by common/ers.c (bounded, DER only). The TSA's
 *	answers are verified by common/tsa.c (imprint, nonce, chain, ESS) and the
 *	imprint checked against the tree's root before a token is stored. Writes only
 *	below var/. Nothing secret is handled.
 *
 * EXIT STATUS
 *	0 everything done (or nothing due); EX_DATAERR some letters were refused or a
 *	renewal is due that the policy or the TSA cannot satisfy (see the report);
 *	EX_TEMPFAIL the TSA cannot answer now, or another instance holds the lock
 *	(the next start goes on); EX_CONFIG a wrong configuration; EX_USAGE a bad
 *	option; EX_IOERR the archive, database or journal failed, or the TSA's
 *	answer is wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ers.h"
#include "fileio.h"
#include "journal.h"
#include "log.h"
#include "resign_conf.h"
#include "resign_db.h"
#include "resign_run.h"
#include "settings.h"
#include "timefmt.h"
#include "xalloc.h"

#define RESIGN_PROGRAM "mailroom-resign"
#define RESIGN_LOCK_FILE "resign.lock"

/* Print the usage. */
static void resign_usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-c DIR] [--dry-run] [--json] [--now TIME]\n"
		"  -c DIR      configuration directory (mailroom.yaml, resign.yaml)\n"
		"  --dry-run   change nothing; report what is due now and the next renewal\n"
		"  --json      the report as JSON\n"
		"  --now TIME  YYYY-MM-DD[THH:MM:SSZ]: \"now\" for the renewal policy\n"
		"  -h          this help\n",
		RESIGN_PROGRAM);
}

/* Take the instance lock; -1 (logged) if another holds it or it cannot be made. */
static int resign_lock(const settings *set)
{
	char *p = fio_join(set->var_dir, RESIGN_LOCK_FILE);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (fd != -1 && errno == EWOULDBLOCK)
			log_errorx("another %s holds %s: try later", RESIGN_PROGRAM, p);
		else
			log_error("cannot lock %s", p);
		if (fd != -1)
			close(fd);
		free(p);
		return -1;
	}
	free(p);
	return fd; /* held until exit */
}

/* The plan in words. */
static void resign_print_plan(json_object *plan, int dry)
{
	json_object *v, *x;
	size_t i, n;

	if (dry) {
		json_object_object_get_ex(plan, "unfinished_runs", &v);
		n = json_object_array_length(v);
		if (n == 0)
			printf("  unfinished runs: none\n");
		for (i = 0; i < n; i++) {
			x = json_object_array_get_idx(v, i);
			printf("  unfinished run %s (%s, %s, %s letter(s)): finished first\n",
			       json_object_get_string(json_object_object_get(x, "run")),
			       json_object_get_string(json_object_object_get(x, "kind")),
			       json_object_get_string(json_object_object_get(x, "state")),
			       json_object_get_string(json_object_object_get(x, "letters")));
		}
		json_object_object_get_ex(plan, "initial", &v);
		printf("  initial archive time-stamp: %s sealed letter(s) without an evidence "
		       "record (one tree, %s, one TSA call)\n",
		       json_object_get_string(json_object_object_get(v, "letters")),
		       json_object_get_string(json_object_object_get(v, "digest")));
		json_object_object_get_ex(plan, "hashtree_renewal", &v);
		printf("  hash-tree renewal due now: %s letter(s) (to %s)",
		       json_object_get_string(json_object_object_get(v, "due")),
		       json_object_get_string(json_object_object_get(v, "to")));
		if (json_object_get_int64(json_object_object_get(v, "blocked_by_policy")) > 0)
			printf(
			    "; %s more due but the policy's renewal_digest ends as well: update "
			    "the policy",
			    json_object_get_string(json_object_object_get(v, "blocked_by_policy")));
		printf("\n");
		json_object_object_get_ex(plan, "timestamp_renewal", &v);
		printf("  timestamp renewal due now: %s letter(s)\n",
		       json_object_get_string(json_object_object_get(v, "due")));
		if (json_object_get_int64(json_object_object_get(v, "due_but_same_tsa")) > 0)
			printf(
			    "  %s letter(s) %s\n",
			    json_object_get_string(json_object_object_get(v, "due_but_same_tsa")),
			    json_object_get_string(json_object_object_get(v, "note")));
	}
	printf("  letters with evidence records: %s\n",
	       json_object_get_string(json_object_object_get(plan, "letters_with_records")));
	if (json_object_object_get_ex(plan, "next_renewal", &v) && v != NULL)
		printf("  next renewal: %s, %s letter(s) (%s)\n",
		       json_object_get_string(json_object_object_get(v, "at")),
		       json_object_get_string(json_object_object_get(v, "letters")),
		       json_object_get_string(json_object_object_get(v, "reason")));
	else if (json_object_get_int64(json_object_object_get(plan, "letters_with_records")) > 0)
		printf("  next renewal: none after what is due now\n");
	else
		printf("  next renewal: none (no evidence records yet)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"config", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},	      {"now", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0}};
	const char *conf_dir = NULL, *now_s = NULL;
	struct resign_conf rconf;
	struct resign_ctx c;
	settings set;
	conf_err ce;
	char err[1024], when[TIMEFMT_ISO_MAX], *dbpath = NULL;
	int ch, dry = 0, json = 0, lockfd = -1, r = RESIGN_OK, rc = EX_OK;
	json_object *out, *plan, *sum;

	log_init(RESIGN_PROGRAM);
	while ((ch = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_dir = optarg;
			break;
		case 'd':
			dry = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			now_s = optarg;
			break;
		case 'h':
			resign_usage(stdout);
			return EX_OK;
		default:
			resign_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		resign_usage(stderr);
		return EX_USAGE;
	}
	memset(&c, 0, sizeof(c));
	c.now = time(NULL);
	if (now_s != NULL && (c.now = resign_parse_time(now_s, 0)) <= 0) {
		log_errorx("--now %s: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", now_s);
		return EX_USAGE;
	}
	if (settings_load(conf_dir, &set, &ce) == -1) {
		log_errorx("%s", ce.msg);
		return EX_CONFIG;
	}
	if (resign_conf_load(&set, &rconf, &ce) == -1) {
		log_errorx("%s", ce.msg);
		settings_free(&set);
		return EX_CONFIG;
	}
	c.set = &set;
	c.conf = &rconf;
	c.runs = json_object_new_array();
	c.problems = json_object_new_array();
	dbpath = fio_join(set.var_dir, RESIGN_DB_FILE);
	if (!dry) {
		if (fio_mkdirs(set.var_dir, 0700) == -1) {
			log_error("cannot create %s", set.var_dir);
			rc = EX_IOERR;
			goto out;
		}
		if ((lockfd = resign_lock(&set)) == -1) {
			rc = EX_TEMPFAIL;
			goto out;
		}
		if ((c.db = resign_db_open(dbpath, 0, err, sizeof(err))) == NULL ||
		    (c.jr = journal_open(set.journal_path, err, sizeof(err))) == NULL) {
			log_errorx("%s", err);
			rc = EX_IOERR;
			goto out;
		}
		if ((r = resign_resume(&c)) < RESIGN_LATER) {
			int r2 = resign_renew(&c);

			if (r2 > r)
				r = r2;
			if (r < RESIGN_LATER && (r2 = resign_initial(&c)) > r)
				r = r2;
		}
		rc = r == RESIGN_OK	   ? EX_OK
		     : r == RESIGN_REFUSED ? EX_DATAERR
		     : r == RESIGN_LATER   ? EX_TEMPFAIL
					   : EX_IOERR;
	} else {
		/* a dry run writes nothing: an empty in-memory state when there is none yet */
		c.db = fio_exists(dbpath) == 1 ? resign_db_open(dbpath, 1, err, sizeof(err))
					       : resign_db_open(":memory:", 0, err, sizeof(err));
		if (c.db == NULL) {
			log_errorx("%s", err);
			rc = EX_IOERR;
			goto out;
		}
	}
	plan = resign_plan(&c);
	if (json) {
		out = json_object_new_object();
		json_object_object_add(out, "ok", json_object_new_boolean(rc == EX_OK));
		json_object_object_add(out, "dry_run", json_object_new_boolean(dry));
		json_object_object_add(out, "now",
				       json_object_new_string(timefmt_iso(c.now, when)));
		json_object_object_add(out, "runs", json_object_get(c.runs));
		sum = json_object_new_object();
		json_object_object_add(sum, "runs", json_object_new_int64(c.st.runs));
		json_object_object_add(sum, "tsa_calls", json_object_new_int64(c.st.tsa_calls));
		json_object_object_add(sum, "written", json_object_new_int64(c.st.written));
		json_object_object_add(sum, "already_written", json_object_new_int64(c.st.already));
		json_object_object_add(sum, "journal_events",
				       json_object_new_int64(c.st.journaled));
		json_object_object_add(sum, "refused", json_object_new_int64(c.st.refused));
		json_object_object_add(sum, "initial", json_object_new_int64(c.st.initial));
		json_object_object_add(sum, "timestamp_renewed",
				       json_object_new_int64(c.st.timestamp));
		json_object_object_add(sum, "hashtree_renewed",
				       json_object_new_int64(c.st.hashtree));
		json_object_object_add(out, "summary", sum);
		json_object_object_add(out, "problems", json_object_get(c.problems));
		json_object_object_add(out, "plan", plan);
		printf("%s\n", json_object_to_json_string_ext(
				   out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(out);
	} else {
		size_t i;

		printf("%s: %s at %s (policy %s/%s)\n", RESIGN_PROGRAM, dry ? "dry run" : "run",
		       timefmt_iso(c.now, when), set.conf_dir, RESIGN_CONF_FILE);
		if (!dry)
			printf("  %ld run(s), %ld TSA call(s): %ld record(s) written (%ld initial, "
			       "%ld timestamp renewal, %ld hash-tree renewal), %ld found written "
			       "before a restart, %ld refused\n",
			       c.st.runs, c.st.tsa_calls, c.st.written, c.st.initial,
			       c.st.timestamp, c.st.hashtree, c.st.already, c.st.refused);
		for (i = 0; i < json_object_array_length(c.problems); i++) {
			json_object *p = json_object_array_get_idx(c.problems, i);

			printf("  refused %s: %s\n",
			       json_object_get_string(json_object_object_get(p, "job")),
			       json_object_get_string(json_object_object_get(p, "problem")));
		}
		resign_print_plan(plan, dry);
		json_object_put(plan);
	}
out:
	resign_ctx_close(&c);
	c.db = resign_db_close(c.db);
	c.jr = journal_close(c.jr);
	json_object_put(c.runs);
	json_object_put(c.problems);
	free(dbpath);
	resign_conf_free(&rconf);
	settings_free(&set);
	if (lockfd != -1)
		close(lockfd);
	return rc;
}
