/*
 * classify.c - mailroom-classify: OCR a scanned letter, decide its document type
 * by the Scankonzept, route it to an office, extract its basic metadata.
 *
 * SYNOPSIS
 *	mailroom-classify [-c confdir] [--once]
 *	mailroom-classify [-c confdir] --explain [--json] file...
 *
 *	Without --explain the program is a consuming stage: it claims letters from
 *	its spool, runs tesseract once per page (text, per-page confidence and the
 *	searchable PDF in the same pass), scores the text with the rules of
 *	conf/scankonzept.yaml and hands the letter to the signing stage, or to the
 *	review queue when the rules are unsure (it never guesses) or when no office
 *	can be found. Letters of a "nicht_scannen" type go on as well: the later
 *	stages turn them into a routing slip for the paper instead of a package.
 *	--once drains incoming/ and exits; otherwise it runs as a daemon.

	The work is done by worker processes (conf/classify.yaml "workers", by
	default one per CPU), each with its own tesseract engines initialised once;
	the parent holds the stage lock, restarts a worker that dies and re-queues
	or quarantines its letter (docs/SPOOL-FORMAT.md "Workers"). The type is
	first decided from the top of page 1 at reduced resolution (the early pass;
	with early.rest, when that is not sure, from the rest of page 1 too); when
	the margin reaches early.margin that decision stands, and a
	nicht_scannen letter then gets no full-text OCR at all. job.json records
	both ("decided_from": "early" or "full", "early": {...}).
 *
 *	--explain classifies image files (TIFF, PNG, JPEG) without touching the
 *	spool and prints type, scan mode, office, score, margin and every rule that
 *	fired; --json prints one JSON object per file instead (for scripts).
 *
 * SPOOL DIRECTORIES
 *	reads and claims spool/classify/incoming -> spool/classify/active;
 *	writes ocr.txt, ocr.pdf and job.json inside the claimed job (via *.tmp and
 *	rename); hands on to spool/sign/incoming or spool/review/incoming; damaged
 *	or unreadable letters go to spool/classify/corrupt with QUARANTINE.txt.
 *	Appends to var/journal.db; records every letter's page digests and
 *	fingerprints in var/fingerprints.db (duplicate detection: a resubmitted
 *	letter is flagged with duplicate_of and goes on).
 *
 * SECURITY
 *	The scanned image is untrusted input: it is parsed by libtiff (with an
 *	allocation limit) and leptonica and recognised by tesseract with a time
 *	limit per page, under a wall-clock limit per letter and an address-space
	limit per worker (conf/classify.yaml "limits"); a letter over a limit is
	quarantined and its worker replaced. The program holds no key. It writes only inside the job
 *	directories it has claimed and the journal. OCR text and matched words
 *	are never logged above debug level; they go into the job record only.
 *
 * EXIT STATUS
 *	0 (EX_OK) on success or after SIGTERM; EX_USAGE for bad options;
 *	EX_CONFIG for a configuration error (file:line on stderr); EX_SOFTWARE
 *	when tesseract cannot start; EX_CANTCREAT when the spool or journal
 *	cannot be opened; EX_TEMPFAIL when another instance holds the lock;
 *	EX_IOERR when the spool fails. --explain: EX_DATAERR if a file could
 *	not be read (the others are still explained).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <unistd.h>

#include "classify_dup.h"
#include "classify_engine.h"
#include "classify_extract.h"
#include "classify_ocr.h"
#include "classify_route.h"
#include "classify_rules.h"
#include "conf.h"
#include "digest.h"
#include "fileio.h"
#include "job.h"
#include "log.h"
#include "offices.h"
#include "settings.h"
#include "stage.h"
#include "xalloc.h"

#define CLASSIFY_STAGE "classify"
#define CLASSIFY_NEXT "sign"
#define CLASSIFY_RENDER_DIR "ocr.tmp" /* removed by the spool if a run dies */

struct classify_ctx {
	classify_engine eng;
	classify_dup *dup; /* opened at the first letter; NULL with --explain */
	int dup_failed;	   /* could not be opened: warned once, letters go on */
};

/* Print the usage message to f. */
static void classify_usage(FILE *f)
{
	fprintf(f, "usage: mailroom-classify [-c confdir] [--once]\n"
		   "       mailroom-classify [-c confdir] --explain [--json] file...\n"
		   "\n"
		   "  -c DIR      configuration directory (default $MAILROOM_CONF, else the "
		   "source conf/)\n"
		   "  --once      classify what is waiting in spool/classify and exit\n"
		   "  --explain   classify image files (TIFF/PNG/JPEG) without the spool and show "
		   "why\n"
		   "  --json      with --explain: one JSON object per file\n"
		   "  -h, --help  this text\n");
}

/* The image to recognise in a job: scan.tiff, else an imported original image. */
static const char *classify_job_image(job *j)
{
	static const char *const names[] = {
	    "scan.tiff",    "original.tiff", "original.tif", "original.png",
	    "original.jpg", "original.jpeg", "original.pnm", NULL};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (job_has_file(j, names[i]))
			return names[i];
	return NULL;
}

/* A letter classified before (sent back from review): take its old OCR files out
 * of the record first, so that a crash while they are being replaced (or when no
 * full text is made this time) leaves a record that still matches its files.
 * -1 with the verdict set. */
static int classify_drop_ocr(job *j, struct stage_result *r)
{
	static const char *const names[] = {"ocr.txt", "ocr.pdf", NULL};
	size_t i;

	if (!job_has_file(j, "ocr.txt") && !job_has_file(j, "ocr.pdf"))
		return 0;
	for (i = 0; names[i] != NULL; i++)
		job_drop_file(j, names[i]);
	if (job_write(j) == -1) {
		stage_set(r, STAGE_DEFER, "cannot rewrite job.json: %s; will retry",
			  strerror(errno));
		return -1;
	}
	for (i = 0; names[i] != NULL; i++) {
		char *p = job_path(j, names[i]);

		if (unlink(p) == -1 && errno != ENOENT)
			log_warn("%s: cannot remove the old %s", job_id(j), names[i]);
		free(p);
	}
	return 0;
}

/* 1 if the filesystem of dir has less than 1 MiB left for us. */
static int classify_disk_low(const char *dir)
{
	struct statvfs vfs;

	if (statvfs(dir, &vfs) == -1)
		return errno == ENOSPC;
	return (unsigned long long)vfs.f_bavail * vfs.f_frsize < (1ULL << 20);
}

/* OCR the job's image into ocr.txt and ocr.pdf (durable); verdict set on failure. */
static int classify_job_ocr(struct classify_ctx *ctx, job *j, const char *image,
			    struct classify_ocr_result *res, struct stage_result *r)
{
	char *img = job_path(j, image), *rdir = job_path(j, CLASSIFY_RENDER_DIR);
	char *base = fio_join(rdir, "ocr"), *pdf = xasprintf("%s.pdf", base);
	char *final_pdf = job_path(j, "ocr.pdf"), *txt = job_path(j, "ocr.txt");
	char err[1024];
	int rc = -1, o;

	if (classify_drop_ocr(j, r) == -1)
		goto out;
	if (fio_exists(rdir) == 1)
		fio_rmtree(rdir);
	if (mkdir(rdir, 0700) == -1) {
		stage_set(r, STAGE_DEFER, "cannot create %s: %s; will retry", CLASSIFY_RENDER_DIR,
			  strerror(errno));
		goto out;
	}
	if ((o = classify_ocr_run(ctx->eng.ocr, job_id(j), img, image, base, res, err,
				  sizeof(err))) != 0) {
		if (o == CLASSIFY_OCR_UNREADABLE)
			stage_set(r, STAGE_QUARANTINE, "%s (then 'mailroom requeue %s')", err,
				  job_id(j));
		else if (classify_disk_low(rdir))
			/* tesseract's PDF renderer does not say why a write failed */
			stage_set(r, STAGE_DEFER, "%s: the disk is full; free space for %s, "
				  "will retry", err, rdir);
		else
			stage_set(r, STAGE_DEFER, "%s; will retry", err);
		goto out;
	}
	if (fio_fsync_file(pdf) == -1 || fio_rename(pdf, final_pdf) == -1) {
		stage_set(r, STAGE_DEFER, "cannot store ocr.pdf: %s; will retry", strerror(errno));
		goto out;
	}
	if (fio_write_atomic(txt, res->text.data, res->text.len, 0600) == -1) {
		stage_set(r, STAGE_DEFER, "cannot store ocr.txt: %s; will retry", strerror(errno));
		goto out;
	}
	if (job_add_file(j, "ocr.txt") == -1 || job_add_file(j, "ocr.pdf") == -1) {
		stage_set(r, STAGE_DEFER, "cannot record the OCR files in the job; will retry");
		goto out;
	}
	rc = 0;
out:
	if (fio_exists(rdir) == 1 && fio_rmtree(rdir) == -1)
		log_warn("%s: cannot remove %s", job_id(j), CLASSIFY_RENDER_DIR);
	free(img);
	free(rdir);
	free(base);
	free(pdf);
	free(final_pdf);
	free(txt);
	return rc;
}

/*
 * Duplicate check of a claimed letter: its bytes key (SHA-256 over the page
 * digests of capture.pages[], else the original's digest) and its page
 * fingerprints against every letter seen before. 1 found (m filled), 0 not or
 * when the check cannot run (a warning; the letter goes on unflagged).
 */
static int classify_job_dup(struct classify_ctx *ctx, struct stage_env *env, job *j,
			    const char *image, struct classify_dup_match *m)
{
	static const char *const originals[] = {
	    "original.pdf", "original.tiff", "original.tif", "original.png",
	    "original.jpg", "original.jpeg", "original.pnm", NULL};
	json_object *pages, *pg, *sha;
	uint64_t *fp = NULL;
	char err[1024], key[DIGEST_SHA256_HEX], *img = NULL, *db;
	const char *bytes = NULL;
	unsigned char md[DIGEST_SHA256_LEN];
	size_t i, n = 0;
	buf cat;
	int rc = 0;

	if (ctx->dup == NULL && !ctx->dup_failed) {
		db = fio_join(env->set.var_dir, CLASSIFY_DUP_FILE);
		if ((ctx->dup = classify_dup_open(db, err, sizeof(err))) == NULL) {
			log_warnx("%s; duplicate detection is off", err);
			ctx->dup_failed = 1;
		}
		free(db);
	}
	if (ctx->dup == NULL)
		return 0;
	buf_init(&cat, CLASSIFY_DUP_MAX_PAGES * DIGEST_SHA256_HEX);
	if (json_object_object_get_ex(job_meta(j), "capture", &pg) &&
	    json_object_object_get_ex(pg, "pages", &pages) &&
	    json_object_is_type(pages, json_type_array) && json_object_array_length(pages) > 0) {
		for (i = 0; i < json_object_array_length(pages); i++)
			if (json_object_object_get_ex(json_object_array_get_idx(pages, i), "sha256",
						      &sha) &&
			    buf_adds(&cat, json_object_get_string(sha)) == -1)
				break;
		if (cat.len > 0) {
			digest_sha256(cat.data, cat.len, md);
			digest_hex(md, sizeof(md), key);
			bytes = key;
		}
	}
	for (i = 0; bytes == NULL && originals[i] != NULL; i++)
		bytes = job_file_sha256(j, originals[i]);
	fp = xcalloc(CLASSIFY_DUP_MAX_PAGES * CLASSIFY_DUP_WORDS, sizeof(*fp));
	img = job_path(j, image);
	if (classify_dup_fingerprint(img, fp, CLASSIFY_DUP_MAX_PAGES, &n, err, sizeof(err)) == -1) {
		log_warnx("%s: page fingerprint: %s; compared by bytes only", job_id(j), err);
		n = 0;
	}
	if ((rc = classify_dup_check(ctx->dup, job_id(j), bytes, fp, n, m, err, sizeof(err))) ==
	    -1) {
		log_warnx("%s: duplicate check: %s; letter not checked", job_id(j), err);
		rc = 0;
	}
	buf_free(&cat);
	free(img);
	free(fp);
	return rc;
}

/* The stage callback: classify one claimed letter. */
static int classify_process(void *arg, struct stage_env *env, job *j, struct stage_result *r)
{
	struct classify_ctx *ctx = arg;
	struct classify_ocr_result res;
	struct classify_outcome oc;
	struct classify_dup_match dm;
	struct classify_early ce;
	const char *image;
	double mean = 0.0, cpu_full = -1.0, cpu0;
	size_t i;
	int dup, early;
	char dupnote[160] = "", err[1024], *img;

	memset(&res, 0, sizeof(res));
	memset(&oc, 0, sizeof(oc));
	memset(&ce, 0, sizeof(ce));
	r->action = "classified";
	if ((image = classify_job_image(j)) == NULL) {
		stage_set(r, STAGE_QUARANTINE,
			  "the job has no image to read (no scan.tiff and no original "
			  "TIFF/PNG/JPEG); PDF imports must be rendered to scan.tiff by "
			  "mailroom-scan. Rescan the letter");
		return 0;
	}
	img = job_path(j, image);
	early = classify_early_pass(&ctx->eng, job_id(j), img, image, &ce, err, sizeof(err));
	free(img);
	if (early == CLASSIFY_OCR_UNREADABLE) {
		stage_set(r, STAGE_QUARANTINE, "%s (then 'mailroom requeue %s')", err, job_id(j));
		goto out;
	}
	if (ce.skip_full) {
		/* paper that goes on needs no searchable PDF: the early text is all */
		if (classify_drop_ocr(j, r) == -1)
			goto out;
		classify_early_take(&ce, &res);
	} else {
		cpu0 = classify_ocr_cpu();
		if (classify_job_ocr(ctx, j, image, &res, r) == -1)
			goto out;
		cpu_full = classify_ocr_cpu() - cpu0;
		for (i = 0; i < res.n_pages; i++)
			mean += res.conf[i];
		log_info("%s: OCR of %s: %zu page(s), %zu bytes, mean confidence %.0f (%.2f s CPU)",
			 job_id(j), image, res.n_pages, res.text.len,
			 res.n_pages ? mean / (double)res.n_pages : 0.0, cpu_full);
	}
	classify_decide(&ctx->eng, job_id(j), &res, &ce, &oc);
	json_object_object_add(job_meta(j), "classification",
			       classify_section(&ctx->eng, &res, &oc, &ce, cpu_full));
	if ((dup = classify_job_dup(ctx, env, j, image, &dm)) == 1) {
		json_object *c = job_section(j, "classification");

		json_object_object_add(c, "duplicate_of", json_object_new_string(dm.job));
		json_object_object_add(c, "duplicate_kind", json_object_new_string(dm.kind));
		json_object_object_add(c, "duplicate_distance", json_object_new_int(dm.distance));
		snprintf(dupnote, sizeof(dupnote), "resubmission of %s (%s); ", dm.job, dm.kind);
		log_info("%s: resubmission of %s (same %s)", job_id(j), dm.job,
			 strcmp(dm.kind, "bytes") == 0 ? "page bytes" : "page fingerprints");
	}
	json_object_object_add(job_meta(j), "extraction",
			       classify_extract(res.text.data, res.top.data));
	if (oc.type != NULL) {
		r->doc_type = oc.type->id;
		r->scan_mode = classify_scan_mode_names[oc.type->scan_mode];
	}
	if (oc.routed)
		r->office = oc.route.office->id;
	if (oc.review[0] != '\0') {
		r->action = "classified";
		snprintf(r->detail, sizeof(r->detail), "%s%s %.1f vs %s %.1f, margin %.1f", dupnote,
			 oc.d.best >= 0 ? classify_rules_type(ctx->eng.rules, (size_t)oc.d.best)->id
					: "(none)",
			 oc.d.best_score,
			 oc.d.second >= 0
			     ? classify_rules_type(ctx->eng.rules, (size_t)oc.d.second)->id
			     : "(none)",
			 oc.d.second_score, oc.d.margin);
		stage_set(r, STAGE_REVIEW, "%s", oc.review);
		goto out;
	}
	snprintf(r->detail, sizeof(r->detail), "%s%s (score %.1f, margin %.1f) -> %s", dupnote,
		 oc.type->id, oc.d.best_score, oc.d.margin, oc.route.office->id);
	r->verdict = STAGE_NEXT;
out:
	classify_early_free(&ce);
	classify_decision_free(&oc.d);
	classify_ocr_result_free(&res);
	return 0;
}

/* Print one --explain result as text. */
static void classify_explain_text(struct classify_ctx *ctx, const char *file,
				  const struct classify_ocr_result *res,
				  const struct classify_outcome *oc)
{
	size_t i;

	printf("%s:\n", file);
	if (oc->type != NULL)
		printf("  type:      %s (%s)\n  scan mode: %s\n", oc->type->id, oc->type->name,
		       classify_scan_mode_names[oc->type->scan_mode]);
	else
		printf("  type:      (undecided)\n");
	if (oc->routed)
		printf("  office:    %s (%s)%s%s%s%s\n", oc->route.office->id,
		       oc->route.office->name, oc->route.matched[0] ? " by address block: \"" : "",
		       oc->route.matched, oc->route.matched[0] ? "\"" : "",
		       oc->route.matched[0] && oc->route.block != NULL &&
			       strcmp(oc->route.block, "top") == 0
			   ? " (top region: no postal code line found)"
			   : "");
	printf("  score:     %.1f", oc->d.best_score);
	if (oc->d.best >= 0)
		printf(" (%s)", classify_rules_type(ctx->eng.rules, (size_t)oc->d.best)->id);
	printf(", second %.1f (%s), margin %.1f  [min_score %.1f, min_margin %.1f]\n",
	       oc->d.second_score,
	       oc->d.second >= 0 ? classify_rules_type(ctx->eng.rules, (size_t)oc->d.second)->id
				 : "none",
	       oc->d.margin, classify_rules_min_score(ctx->eng.rules),
	       classify_rules_min_margin(ctx->eng.rules));
	if (oc->review[0] != '\0')
		printf("  review:    %s\n", oc->review);
	printf("  ocr:       %zu page(s), confidence", res->n_pages);
	for (i = 0; i < res->n_pages; i++)
		printf(" %.0f", res->conf[i]);
	printf("\n  trace:\n");
	for (i = 0; i < oc->d.n_hits; i++) {
		const struct classify_hit *h = &oc->d.hits[i];
		const char *p;

		printf("    %-12s %-5s %-5s %+5.1f  line %-4d ",
		       classify_rules_type(ctx->eng.rules, (size_t)h->type)->id, h->kind,
		       classify_region_names[h->region], h->weight, h->line);
		for (p = h->matched; *p != '\0'; p++) {
			if (*p == '\x1f')
				fputs(", ", stdout);
			else
				putchar(*p);
		}
		printf("%s%s\n", strcmp(h->kind, "not") == 0 ? "  (veto)" : "",
		       h->fuzzy ? "  (fuzzy)" : "");
	}
}

/* In each worker: one tesseract engine, initialised once. */
static int classify_worker_init(void *arg, struct stage_env *env)
{
	struct classify_ctx *ctx = arg;
	char err[1024];

	(void)env;
	if (classify_engine_start(&ctx->eng, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return -1;
	}
	return 0;
}

/* --explain: classify files without the spool. Returns a sysexits code. */
static int classify_explain(struct classify_ctx *ctx, char **files, int n, int json)
{
	int i, rc = EX_OK;

	for (i = 0; i < n; i++) {
		struct classify_letter l;
		char err[1024];

		if (classify_engine_file(&ctx->eng, files[i], &l, err, sizeof(err)) != 0) {
			log_errorx("%s", err);
			classify_letter_free(&l);
			rc = EX_DATAERR;
			continue;
		}
		if (json) {
			json_object *o =
			    classify_section(&ctx->eng, &l.res, &l.oc, &l.early, l.cpu_full);

			json_object_object_add(o, "file", json_object_new_string(files[i]));
			json_object_object_add(o, "extraction",
					       classify_extract(l.res.text.data, l.res.top.data));
			printf("%s\n",
			       json_object_to_json_string_ext(
				   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else {
			classify_explain_text(ctx, files[i], &l.res, &l.oc);
		}
		fflush(stdout);
		classify_letter_free(&l);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"once", no_argument, NULL, 'o'},	      {"explain", no_argument, NULL, 'x'},
	    {"json", no_argument, NULL, 'j'},	      {"help", no_argument, NULL, 'h'},
	    {"config", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
	struct classify_ctx ctx;
	struct stage_env env;
	struct stage_ops ops;
	const char *conf_dir = NULL;
	int once = 0, explain = 0, json = 0, ch, rc = EX_OK, env_open = 0;
	char err[1024];
	conf_err ce;
	settings set;

	log_init("mailroom-classify");
	classify_ocr_prepare(argv);
	umask(077); /* spool files are 0600, directories 0700 (tesseract's PDF included) */
	memset(&ctx, 0, sizeof(ctx));
	memset(&set, 0, sizeof(set));
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_dir = optarg;
			break;
		case 'o':
			once = 1;
			break;
		case 'x':
			explain = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			classify_usage(stdout);
			return EX_OK;
		default:
			classify_usage(stderr);
			return EX_USAGE;
		}
	}
	if ((explain && optind >= argc) || (!explain && optind < argc) || (json && !explain)) {
		classify_usage(stderr);
		return EX_USAGE;
	}
	/* Every configuration file is checked before anything else happens. */
	if (settings_load(conf_dir, &set, &ce) == -1 ||
	    classify_engine_load(set.conf_dir, &ctx.eng, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		rc = EX_CONFIG;
		goto out;
	}
	if (!explain) {
		if (stage_env_open(&env, set.conf_dir, CLASSIFY_STAGE, CLASSIFY_NEXT) == -1) {
			rc = EX_CANTCREAT;
			goto out;
		}
		env_open = 1;
	}
	if (explain) {
		if (classify_engine_start(&ctx.eng, err, sizeof(err)) == -1) {
			log_errorx("%s", err);
			rc = EX_SOFTWARE;
			goto out;
		}
		rc = classify_explain(&ctx, argv + optind, argc - optind, json);
		goto out;
	}
	memset(&ops, 0, sizeof(ops));
	ops.name = CLASSIFY_STAGE;
	ops.next = CLASSIFY_NEXT;
	ops.process = classify_process;
	ops.ctx = &ctx;
	ops.workers = ctx.eng.cfg.workers;
	ops.worker_init = classify_worker_init;
	ops.letter_seconds = (unsigned)ctx.eng.cfg.letter_seconds;
	ops.memory_mb = (unsigned long)ctx.eng.cfg.memory_mb;
	log_info("started (tesseract %s, %s; %zu document types; %d worker(s), early decision "
		 "%s)",
		 classify_ocr_version(), CLASSIFY_OCR_LANGS, classify_rules_count(ctx.eng.rules),
		 ctx.eng.cfg.workers, ctx.eng.cfg.early ? "on" : "off");
	rc = stage_run(&ops, &env, once);
out:
	if (env_open)
		stage_env_close(&env);
	ctx.dup = classify_dup_close(ctx.dup);
	classify_engine_free(&ctx.eng);
	settings_free(&set);
	return rc;
}
