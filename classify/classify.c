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
	first decided from the top 40% of page 1 at reduced resolution (the early
	pass); when the margin reaches early.margin that decision stands, and a
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
#include <sysexits.h>
#include <unistd.h>

#include "classify_dup.h"
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
#define CLASSIFY_CONF_FILE "classify.yaml"
#define CLASSIFY_MAX_WORKERS 64

/* conf/classify.yaml keys: name, default (documented in the shipped file). */
#define CLASSIFY_WORKERS "workers" /* "auto" = online CPUs, or 1..CLASSIFY_MAX_WORKERS */
#define DEF_CLASSIFY_WORKERS "auto"
#define CLASSIFY_EARLY "early"
#define CLASSIFY_EARLY_ENABLED "enabled"
#define DEF_CLASSIFY_EARLY_ENABLED 1
#define CLASSIFY_EARLY_MARGIN "margin"
#define DEF_CLASSIFY_EARLY_MARGIN_FACTOR 2.0 /* times thresholds.min_margin */
#define CLASSIFY_LIMITS "limits"
#define CLASSIFY_LETTER_SECONDS "letter_seconds"
#define DEF_CLASSIFY_LETTER_SECONDS 600
#define CLASSIFY_MEMORY_MB "memory_mb"
#define DEF_CLASSIFY_MEMORY_MB 2048
#define CLASSIFY_MIN_MEMORY_MB 256

/* conf/classify.yaml: the engine settings (workers, early decision, limits). */
struct classify_cfg {
	int workers;	     /* resolved: "auto" is the number of online CPUs */
	int early;	     /* 1: decide the type from the early pass when it is safe */
	double early_margin; /* margin the early pass needs (>= thresholds.min_margin) */
	long letter_seconds; /* wall-clock limit per letter (0: none) */
	long memory_mb;	     /* RLIMIT_AS of a worker in MiB (0: none) */
};

/* The early pass over the top of page 1 and what the rules made of it. */
struct classify_early {
	int ran;       /* the pass ran and its text was scored */
	int safe;      /* decided with margin >= early_margin: the type stands */
	int skip_full; /* safe and nicht_scannen: no full-text OCR at all */
	int agrees;    /* safe, and the full text decided the same type */
	struct classify_ocr_result res;
	struct classify_decision d;
	double cpu; /* CPU seconds of the pass */
};

struct classify_ctx {
	struct classify_cfg cfg;
	classify_rules *rules;
	offices of;
	classify_ocr *ocr;
	classify_dup *dup; /* opened at the first letter; NULL with --explain */
	int dup_failed;	   /* could not be opened: warned once, letters go on */
};

/* What was decided about one letter (job or --explain file). */
struct classify_outcome {
	struct classify_decision d;
	struct classify_route route;
	int routed;
	const struct classify_type *type; /* NULL when abstained */
	char review[1024];		  /* non-empty: the letter goes to review */
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

/* Parse conf/classify.yaml (optional: absent means the defaults); -1 with e set. */
static int classify_load_engine(const char *conf_dir, double min_margin, struct classify_cfg *c,
				conf_err *e)
{
	static const char *const top_keys[] = {CLASSIFY_WORKERS, CLASSIFY_EARLY, CLASSIFY_LIMITS,
					       NULL};
	static const char *const early_keys[] = {CLASSIFY_EARLY_ENABLED, CLASSIFY_EARLY_MARGIN,
						 NULL};
	static const char *const limit_keys[] = {CLASSIFY_LETTER_SECONDS, CLASSIFY_MEMORY_MB, NULL};
	char *file = fio_join(conf_dir, CLASSIFY_CONF_FILE);
	conf_node *root = NULL;
	const conf_node *n, *early, *limits;
	const char *w;
	char *end;
	long v;
	int rc = -1;

	c->workers = stage_cpus();
	c->early = DEF_CLASSIFY_EARLY_ENABLED;
	c->early_margin = min_margin * DEF_CLASSIFY_EARLY_MARGIN_FACTOR;
	c->letter_seconds = DEF_CLASSIFY_LETTER_SECONDS;
	c->memory_mb = DEF_CLASSIFY_MEMORY_MB;
	if (fio_exists(file) != 1) {
		rc = 0;
		goto out;
	}
	if ((root = conf_load(file, e)) == NULL ||
	    conf_expect(root, CONF_MAP, CLASSIFY_CONF_FILE, e) == -1 ||
	    conf_check_keys(root, top_keys, CLASSIFY_CONF_FILE, e) == -1)
		goto out;
	if (conf_str(root, CLASSIFY_WORKERS, 0, DEF_CLASSIFY_WORKERS, &w, e) == -1)
		goto out;
	if (strcmp(w, "auto") != 0) {
		errno = 0;
		v = strtol(w, &end, 10);
		if (errno != 0 || end == w || *end != '\0' || v < 1 || v > CLASSIFY_MAX_WORKERS) {
			conf_fail(e, conf_get(root, CLASSIFY_WORKERS),
				  "workers: expected 'auto' or a number from 1 to %d, got '%s'",
				  CLASSIFY_MAX_WORKERS, w);
			goto out;
		}
		c->workers = (int)v;
	} else if (c->workers > CLASSIFY_MAX_WORKERS) {
		c->workers = CLASSIFY_MAX_WORKERS;
	}
	if ((early = conf_get(root, CLASSIFY_EARLY)) != NULL) {
		if (conf_expect(early, CONF_MAP, "early", e) == -1 ||
		    conf_check_keys(early, early_keys, "early", e) == -1 ||
		    conf_bool(early, CLASSIFY_EARLY_ENABLED, 0, c->early, &c->early, e) == -1 ||
		    conf_double(early, CLASSIFY_EARLY_MARGIN, 0, c->early_margin, 0.0, 1e6,
				&c->early_margin, e) == -1)
			goto out;
		if (c->early_margin < min_margin) {
			n = conf_get(early, CLASSIFY_EARLY_MARGIN);
			conf_fail(e, n != NULL ? n : early,
				  "early.margin %.2f is below thresholds.min_margin %.2f of "
				  "scankonzept.yaml; the early decision must be at least as sure",
				  c->early_margin, min_margin);
			goto out;
		}
	}
	if ((limits = conf_get(root, CLASSIFY_LIMITS)) != NULL &&
	    (conf_expect(limits, CONF_MAP, "limits", e) == -1 ||
	     conf_check_keys(limits, limit_keys, "limits", e) == -1 ||
	     conf_long(limits, CLASSIFY_LETTER_SECONDS, 0, c->letter_seconds, 0, 86400,
		       &c->letter_seconds, e) == -1 ||
	     conf_long(limits, CLASSIFY_MEMORY_MB, 0, c->memory_mb, 0, 1L << 20, &c->memory_mb,
		       e) == -1))
		goto out;
	if (c->memory_mb > 0 && c->memory_mb < CLASSIFY_MIN_MEMORY_MB) {
		conf_fail(e, conf_get(limits, CLASSIFY_MEMORY_MB),
			  "limits.memory_mb %ld is too small for tesseract (at least %d, or 0 "
			  "for no limit)",
			  c->memory_mb, CLASSIFY_MIN_MEMORY_MB);
		goto out;
	}
	rc = 0;
out:
	conf_free(root);
	free(file);
	return rc;
}

/* Load offices.yaml, scankonzept.yaml and classify.yaml from conf_dir; -1 with e set. */
static int classify_load_conf(const char *conf_dir, struct classify_ctx *ctx, conf_err *e)
{
	char *file = fio_join(conf_dir, CLASSIFY_RULES_FILE);
	conf_node *root = NULL;
	int rc = -1;

	if (offices_load(conf_dir, &ctx->of, e) == -1)
		goto out;
	if ((root = conf_load(file, e)) == NULL)
		goto out;
	if ((ctx->rules = classify_rules_load(root, &ctx->of, e)) == NULL)
		goto out;
	if (classify_load_engine(conf_dir, classify_rules_min_margin(ctx->rules), &ctx->cfg, e) ==
	    -1)
		goto out;
	rc = 0;
out:
	conf_free(root);
	free(file);
	return rc;
}

/* The early pass on image; ce filled. 0, or CLASSIFY_OCR_UNREADABLE with err set
 * (a pass that failed otherwise is logged and the full text decides). */
static int classify_early_pass(struct classify_ctx *ctx, const char *log_id, const char *image,
			       const char *display, struct classify_early *ce, char *err,
			       size_t errlen)
{
	double cpu0 = classify_ocr_cpu();
	int o;

	memset(ce, 0, sizeof(*ce));
	ce->d.best = ce->d.second = -1;
	if (!ctx->cfg.early)
		return 0;
	o = classify_ocr_early(ctx->ocr, log_id, image, display, &ce->res, err, errlen);
	ce->cpu = classify_ocr_cpu() - cpu0;
	if (o == CLASSIFY_OCR_UNREADABLE)
		return o;
	if (o != 0) {
		log_warnx("%s: early pass: %s; the full text decides", log_id, err);
		return 0;
	}
	if (classify_rules_score(ctx->rules, ce->res.text.data, ce->res.top.data, &ce->d) == -1) {
		log_warnx("%s: early pass: the text cannot be scored; the full text decides",
			  log_id);
		return 0;
	}
	ce->ran = 1;
	ce->safe = ce->d.decided && ce->d.margin >= ctx->cfg.early_margin;
	ce->skip_full =
	    ce->safe && classify_rules_type(ctx->rules, (size_t)ce->d.best)->scan_mode ==
			    CLASSIFY_NICHT_SCANNEN;
	log_info("%s: early pass (top of page 1): %s %.1f, margin %.1f: %s (%.2f s CPU)", log_id,
		 ce->d.best >= 0 ? classify_rules_type(ctx->rules, (size_t)ce->d.best)->id
				 : "(none)",
		 ce->d.best_score, ce->d.margin,
		 ce->skip_full ? "safe, nicht_scannen: no full-text OCR"
		 : ce->safe    ? "safe"
			       : "not safe, the full text decides",
		 ce->cpu);
	return 0;
}

static void classify_early_free(struct classify_early *ce)
{
	classify_ocr_result_free(&ce->res);
	classify_decision_free(&ce->d);
}

/* A JSON number rounded to two decimals (scores are sums of weights). */
static json_object *classify_num(double v)
{
	char s[32];

	snprintf(s, sizeof(s), "%.2f", v);
	return json_object_new_double_s(v, s);
}

/* Add candidate, score, second_type, second_score and margin of a decision to o. */
static void classify_scores_json(struct classify_ctx *ctx, json_object *o,
				 const struct classify_decision *d)
{
	json_object_object_add(
	    o, "candidate",
	    d->best >= 0
		? json_object_new_string(classify_rules_type(ctx->rules, (size_t)d->best)->id)
		: NULL);
	json_object_object_add(o, "score", classify_num(d->best_score));
	json_object_object_add(
	    o, "second_type",
	    d->second >= 0
		? json_object_new_string(classify_rules_type(ctx->rules, (size_t)d->second)->id)
		: NULL);
	json_object_object_add(o, "second_score", classify_num(d->second_score));
	json_object_object_add(o, "margin", classify_num(d->margin));
}

/* The "early" object of the trace. */
static json_object *classify_early_json(struct classify_ctx *ctx, const struct classify_early *ce)
{
	json_object *o;

	if (!ce->ran)
		return NULL;
	o = json_object_new_object();
	classify_scores_json(ctx, o, &ce->d);
	json_object_object_add(o, "early_margin", json_object_new_double(ctx->cfg.early_margin));
	json_object_object_add(o, "safe", json_object_new_boolean(ce->safe));
	json_object_object_add(o, "confirmed_by_full_text",
			       ce->safe && !ce->skip_full ? json_object_new_boolean(ce->agrees)
							  : NULL);
	json_object_object_add(o, "region", json_object_new_string("top 40% of page 1"));
	json_object_object_add(o, "scale", json_object_new_double(CLASSIFY_OCR_EARLY_SCALE));
	json_object_object_add(o, "cpu_seconds", json_object_new_double(ce->cpu));
	json_object_object_add(o, "confidence",
			       json_object_new_double(ce->res.n_pages ? ce->res.conf[0] : 0.0));
	return o;
}

/* Score the OCR result, route the letter and decide whether a person must look at it. */
static void classify_decide(struct classify_ctx *ctx, const char *log_id,
			    const struct classify_ocr_result *res, struct classify_early *ce,
			    struct classify_outcome *oc)
{
	memset(&oc->route, 0, sizeof(oc->route));
	oc->type = NULL;
	oc->routed = 0;
	oc->review[0] = '\0';
	if (ce != NULL && ce->skip_full) {
		/* nicht_scannen decided early: there is no full text, the early decision
		 * stands (its scalars stay in ce for the record) */
		oc->d = ce->d;
		memset(&ce->d, 0, sizeof(ce->d));
		ce->d.best = oc->d.best;
		ce->d.second = oc->d.second;
		ce->d.best_score = oc->d.best_score;
		ce->d.second_score = oc->d.second_score;
		ce->d.margin = oc->d.margin;
		ce->d.decided = oc->d.decided;
	} else {
		classify_rules_score(ctx->rules, res->text.data, res->top.data, &oc->d);
		/* With the full text at hand a safe early decision is confirmed by it (the
		 * rules on text cost milliseconds): a veto or a stronger type further down
		 * the page wins, so the early pass never decides against the full text. */
		if (ce != NULL && ce->safe) {
			ce->agrees = oc->d.decided && oc->d.best == ce->d.best;
			if (!ce->agrees)
				log_warnx(
				    "%s: the early pass decided %s, the full text %s%s; the full "
				    "text decides",
				    log_id, classify_rules_type(ctx->rules, (size_t)ce->d.best)->id,
				    oc->d.decided ? "decided " : "is unsure",
				    oc->d.decided
					? classify_rules_type(ctx->rules, (size_t)oc->d.best)->id
					: "");
		}
	}
	if (!oc->d.decided) {
		snprintf(oc->review, sizeof(oc->review), "%s", oc->d.reason);
		return;
	}
	oc->type = classify_rules_type(ctx->rules, (size_t)oc->d.best);
	if (classify_route_letter(&ctx->of, oc->type, res->text.data, res->top.data, &oc->route) !=
	    0) {
		snprintf(oc->review, sizeof(oc->review), "%s", oc->route.reason);
		return;
	}
	oc->routed = 1;
	/* nicht_scannen letters go on like the others: sign passes them unsealed and
	 * dms-export writes the routing slip that sends the paper to the office. */
}


/* The "classification" object of job.json for an outcome; caller owns it. */
static json_object *classify_section(struct classify_ctx *ctx,
				     const struct classify_ocr_result *res,
				     const struct classify_outcome *oc,
				     const struct classify_early *ce, double cpu_full)
{
	const struct classify_type *t = oc->type;
	const struct office *of = oc->routed ? oc->route.office : NULL;
	json_object *o = json_object_new_object(), *p, *ocr, *conf;
	size_t i;

	json_object_object_add(o, "type", t ? json_object_new_string(t->id) : NULL);
	json_object_object_add(o, "type_name", t ? json_object_new_string(t->name) : NULL);
	json_object_object_add(o, "scan_mode",
			       t ? json_object_new_string(classify_scan_mode_names[t->scan_mode])
				 : NULL);
	if (t != NULL) {
		p = json_object_new_object();
		json_object_object_add(
		    p, "integrity",
		    json_object_new_string(classify_protection_names[t->integrity]));
		json_object_object_add(
		    p, "confidentiality",
		    json_object_new_string(classify_protection_names[t->confidentiality]));
		json_object_object_add(
		    p, "availability",
		    json_object_new_string(classify_protection_names[t->availability]));
		json_object_object_add(o, "protection", p);
		json_object_object_add(o, "qs_sample_rate", classify_num(t->qs_sample_rate));
		json_object_object_add(
		    o, "priority", json_object_new_string(classify_priority_names[t->priority]));
	} else {
		json_object_object_add(o, "protection", NULL);
		json_object_object_add(o, "qs_sample_rate", NULL);
		json_object_object_add(o, "priority", NULL);
	}
	json_object_object_add(o, "office", of ? json_object_new_string(of->id) : NULL);
	json_object_object_add(o, "office_name", of ? json_object_new_string(of->name) : NULL);
	json_object_object_add(o, "pilot", of ? json_object_new_boolean(of->pilot) : NULL);
	json_object_object_add(o, "routed_by", of ? json_object_new_string(oc->route.how) : NULL);
	if (of != NULL && oc->route.matched[0] != '\0')
		json_object_object_add(o, "addressee", json_object_new_string(oc->route.matched));
	classify_scores_json(ctx, o, &oc->d);
	json_object_object_add(o, "min_score", classify_num(classify_rules_min_score(ctx->rules)));
	json_object_object_add(o, "min_margin",
			       classify_num(classify_rules_min_margin(ctx->rules)));
	json_object_object_add(o, "decided_by", t ? json_object_new_string("rules") : NULL);
	json_object_object_add(o, "review_reason",
			       oc->review[0] ? json_object_new_string(oc->review) : NULL);
	json_object_object_add(o, "trace", classify_decision_trace(ctx->rules, &oc->d));
	json_object_object_add(
	    o, "decided_from",
	    json_object_new_string(
		ce != NULL && ce->safe && (ce->skip_full || ce->agrees) ? "early" : "full"));
	json_object_object_add(o, "early", ce != NULL ? classify_early_json(ctx, ce) : NULL);
	ocr = json_object_new_object();
	json_object_object_add(ocr, "full_text",
			       json_object_new_boolean(ce == NULL || !ce->skip_full));
	if (ce != NULL && ce->skip_full)
		json_object_object_add(
		    ocr, "skipped",
		    json_object_new_string("nicht_scannen decided early: the paper goes on, no "
					   "searchable PDF is needed"));
	json_object_object_add(ocr, "cpu_seconds",
			       cpu_full >= 0 ? json_object_new_double(cpu_full) : NULL);
	json_object_object_add(ocr, "pages_total", json_object_new_int((int)res->pages_total));
	json_object_object_add(ocr, "engine", json_object_new_string(classify_ocr_version()));
	json_object_object_add(ocr, "languages",
			       json_object_new_string(classify_ocr_langs(ctx->ocr)));
	conf = json_object_new_array();
	for (i = 0; i < res->n_pages; i++)
		json_object_array_add(conf, classify_num(res->conf[i]));
	json_object_object_add(ocr, "confidence", conf);
	json_object_object_add(ocr, "pages", json_object_new_int((int)res->n_pages));
	json_object_object_add(ocr, "utf8_cleaned", json_object_new_boolean(res->cleaned));
	json_object_object_add(o, "ocr", ocr);
	return o;
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
	if ((o = classify_ocr_run(ctx->ocr, job_id(j), img, image, base, res, err, sizeof(err))) !=
	    0) {
		if (o == CLASSIFY_OCR_UNREADABLE)
			stage_set(r, STAGE_QUARANTINE, "%s (then 'mailroom requeue %s')", err,
				  job_id(j));
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
	early = classify_early_pass(ctx, job_id(j), img, image, &ce, err, sizeof(err));
	free(img);
	if (early == CLASSIFY_OCR_UNREADABLE) {
		stage_set(r, STAGE_QUARANTINE, "%s (then 'mailroom requeue %s')", err, job_id(j));
		goto out;
	}
	if (ce.skip_full) {
		/* paper that goes on needs no searchable PDF: the early text is all */
		if (classify_drop_ocr(j, r) == -1)
			goto out;
		res = ce.res;
		memset(&ce.res, 0, sizeof(ce.res));
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
	classify_decide(ctx, job_id(j), &res, &ce, &oc);
	json_object_object_add(job_meta(j), "classification",
			       classify_section(ctx, &res, &oc, &ce, cpu_full));
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
			 oc.d.best >= 0 ? classify_rules_type(ctx->rules, (size_t)oc.d.best)->id
					: "(none)",
			 oc.d.best_score,
			 oc.d.second >= 0 ? classify_rules_type(ctx->rules, (size_t)oc.d.second)->id
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
		printf(" (%s)", classify_rules_type(ctx->rules, (size_t)oc->d.best)->id);
	printf(", second %.1f (%s), margin %.1f  [min_score %.1f, min_margin %.1f]\n",
	       oc->d.second_score,
	       oc->d.second >= 0 ? classify_rules_type(ctx->rules, (size_t)oc->d.second)->id
				 : "none",
	       oc->d.margin, classify_rules_min_score(ctx->rules),
	       classify_rules_min_margin(ctx->rules));
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
		       classify_rules_type(ctx->rules, (size_t)h->type)->id, h->kind,
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
	if ((ctx->ocr = classify_ocr_open(NULL, err, sizeof(err))) == NULL) {
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
		struct classify_ocr_result res;
		struct classify_outcome oc;
		struct classify_early ce;
		char err[1024];
		double cpu0, cpu_full = -1.0;

		memset(&oc, 0, sizeof(oc));
		memset(&res, 0, sizeof(res));
		if (classify_early_pass(ctx, files[i], files[i], NULL, &ce, err, sizeof(err)) !=
		    0) {
			log_errorx("%s", err);
			classify_early_free(&ce);
			rc = EX_DATAERR;
			continue;
		}
		cpu0 = classify_ocr_cpu();
		if (ce.skip_full) {
			res = ce.res;
			memset(&ce.res, 0, sizeof(ce.res));
		} else if (classify_ocr_run(ctx->ocr, files[i], files[i], NULL, NULL, &res, err,
					    sizeof(err)) != 0) {
			log_errorx("%s", err);
			classify_ocr_result_free(&res);
			classify_early_free(&ce);
			rc = EX_DATAERR;
			continue;
		} else {
			cpu_full = classify_ocr_cpu() - cpu0;
		}
		classify_decide(ctx, files[i], &res, &ce, &oc);
		if (json) {
			json_object *o = classify_section(ctx, &res, &oc, &ce, cpu_full);

			json_object_object_add(o, "file", json_object_new_string(files[i]));
			json_object_object_add(o, "extraction",
					       classify_extract(res.text.data, res.top.data));
			printf("%s\n",
			       json_object_to_json_string_ext(
				   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else {
			classify_explain_text(ctx, files[i], &res, &oc);
		}
		fflush(stdout);
		classify_early_free(&ce);
		classify_decision_free(&oc.d);
		classify_ocr_result_free(&res);
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
	    classify_load_conf(set.conf_dir, &ctx, &ce) == -1) {
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
		if ((ctx.ocr = classify_ocr_open(NULL, err, sizeof(err))) == NULL) {
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
	ops.workers = ctx.cfg.workers;
	ops.worker_init = classify_worker_init;
	ops.letter_seconds = (unsigned)ctx.cfg.letter_seconds;
	ops.memory_mb = (unsigned long)ctx.cfg.memory_mb;
	log_info("started (tesseract %s, %s; %zu document types; %d worker(s), early decision "
		 "%s)",
		 classify_ocr_version(), CLASSIFY_OCR_LANGS, classify_rules_count(ctx.rules),
		 ctx.cfg.workers, ctx.cfg.early ? "on" : "off");
	rc = stage_run(&ops, &env, once);
out:
	if (env_open)
		stage_env_close(&env);
	ctx.ocr = classify_ocr_close(ctx.ocr);
	ctx.dup = classify_dup_close(ctx.dup);
	ctx.rules = classify_rules_free(ctx.rules);
	offices_free(&ctx.of);
	settings_free(&set);
	return rc;
}
