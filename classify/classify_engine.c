/*
 * classify_engine.c - the decision path of mailroom-classify; see classify_engine.h.
 */
#include "classify_engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "fileio.h"
#include "log.h"
#include "stage.h"
#include "xalloc.h"

#define CLASSIFY_CONF_FILE "classify.yaml"

/* conf/classify.yaml keys: name, default (documented in the shipped file). */
#define CLASSIFY_WORKERS "workers" /* "auto" = online CPUs, or 1..CLASSIFY_MAX_WORKERS */
#define DEF_CLASSIFY_WORKERS "auto"
#define CLASSIFY_EARLY "early"
#define CLASSIFY_EARLY_ENABLED "enabled"
#define DEF_CLASSIFY_EARLY_ENABLED 1
#define CLASSIFY_EARLY_MARGIN "margin"
#define DEF_CLASSIFY_EARLY_MARGIN_FACTOR 2.0 /* times thresholds.min_margin */
#define CLASSIFY_EARLY_REST "rest"
#define DEF_CLASSIFY_EARLY_REST 0
#define CLASSIFY_LIMITS "limits"
#define CLASSIFY_LETTER_SECONDS "letter_seconds"
#define DEF_CLASSIFY_LETTER_SECONDS 600
#define CLASSIFY_MEMORY_MB "memory_mb"
#define DEF_CLASSIFY_MEMORY_MB 2048
#define CLASSIFY_MIN_MEMORY_MB 256

/* Parse conf/classify.yaml (optional: absent means the defaults); -1 with e set. */
static int classify_load_engine(const char *conf_dir, double min_margin, struct classify_cfg *c,
				conf_err *e)
{
	static const char *const top_keys[] = {CLASSIFY_WORKERS, CLASSIFY_EARLY, CLASSIFY_LIMITS,
					       NULL};
	static const char *const early_keys[] = {CLASSIFY_EARLY_ENABLED, CLASSIFY_EARLY_MARGIN,
						 CLASSIFY_EARLY_REST, NULL};
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
	c->early_rest = DEF_CLASSIFY_EARLY_REST;
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
				&c->early_margin, e) == -1 ||
		    conf_bool(early, CLASSIFY_EARLY_REST, 0, c->early_rest, &c->early_rest, e) ==
			-1)
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
int classify_engine_load(const char *conf_dir, classify_engine *eng, conf_err *e)
{
	char *file = fio_join(conf_dir, CLASSIFY_RULES_FILE);
	conf_node *root = NULL;
	int rc = -1;

	if (offices_load(conf_dir, &eng->of, e) == -1)
		goto out;
	if ((root = conf_load(file, e)) == NULL)
		goto out;
	if ((eng->rules = classify_rules_load(root, &eng->of, e)) == NULL)
		goto out;
	if (classify_load_engine(conf_dir, classify_rules_min_margin(eng->rules), &eng->cfg, e) ==
	    -1)
		goto out;
	rc = 0;
out:
	conf_free(root);
	free(file);
	return rc;
}

/* Where the early pass read, for the log and the trace: "top 40% of page 1",
 * "page 1" (all of it in the first look) or "page 1 (top 40%, then the rest)". */
static void classify_early_where(const struct classify_ocr_early_view *v, char *s, size_t n)
{
	if (v->top_percent >= 100)
		snprintf(s, n, "page 1");
	else if (v->rest)
		snprintf(s, n, "page 1 (top %d%%, then the rest)", v->top_percent);
	else
		snprintf(s, n, "top %d%% of page 1", v->top_percent);
}

/* Score the early text into ce->d and judge it; -1 if it cannot be scored. */
static int classify_early_score(classify_engine *eng, const char *log_id, struct classify_early *ce)
{
	classify_decision_free(&ce->d);
	if (classify_rules_score(eng->rules, ce->res.text.data, ce->res.top.data, &ce->d) == -1) {
		log_warnx("%s: early pass: the text cannot be scored; the full text decides",
			  log_id);
		ce->safe = 0;
		return -1;
	}
	ce->safe = ce->d.decided && ce->d.margin >= eng->cfg.early_margin;
	return 0;
}

/* The early pass on image; ce filled. 0, or CLASSIFY_OCR_UNREADABLE with err set
 * (a pass that failed otherwise is logged and the full text decides). */
int classify_early_pass(classify_engine *eng, const char *log_id, const char *image,
			const char *display, struct classify_early *ce, char *err, size_t errlen)
{
	double cpu0 = classify_ocr_cpu();
	char where[64];
	int o;

	memset(ce, 0, sizeof(*ce));
	ce->d.best = ce->d.second = -1;
	if (!eng->cfg.early)
		return 0;
	o = classify_ocr_early(eng->ocr, log_id, image, display, &ce->res, err, errlen);
	if (o != 0) {
		classify_ocr_early_release(eng->ocr);
		ce->cpu = classify_ocr_cpu() - cpu0;
		if (o == CLASSIFY_OCR_UNREADABLE)
			return o;
		log_warnx("%s: early pass: %s; the full text decides", log_id, err);
		return 0;
	}
	if (classify_early_score(eng, log_id, ce) == -1) {
		classify_ocr_early_release(eng->ocr);
		ce->cpu = classify_ocr_cpu() - cpu0;
		return 0;
	}
	/* the first look is not sure: read the rest of page 1 (a receipt's total, an
	 * invoice's tax lines) before all pages are read in full */
	if (!ce->safe && eng->cfg.early_rest && classify_ocr_early_has_rest(eng->ocr)) {
		log_debug("%s: early pass: top of page 1 not safe (%s %.1f, margin %.1f); "
			  "reading the rest of page 1",
			  log_id,
			  ce->d.best >= 0 ? classify_rules_type(eng->rules, (size_t)ce->d.best)->id
					  : "(none)",
			  ce->d.best_score, ce->d.margin);
		if (classify_ocr_early_rest(eng->ocr, log_id, &ce->res, err, errlen) != 0)
			log_warnx("%s: early pass: %s; the top of page 1 decides", log_id, err);
		else if (classify_early_score(eng, log_id, ce) == -1) {
			ce->cpu = classify_ocr_cpu() - cpu0;
			return 0;
		}
	}
	classify_ocr_early_release(eng->ocr);
	ce->cpu = classify_ocr_cpu() - cpu0;
	ce->ran = 1;
	ce->skip_full =
	    ce->safe && classify_rules_type(eng->rules, (size_t)ce->d.best)->scan_mode ==
			    CLASSIFY_NICHT_SCANNEN;
	classify_early_where(&ce->res.early, where, sizeof(where));
	log_info("%s: early pass (%s at %d dpi): %s %.1f, margin %.1f: %s (%.2f s CPU)", log_id,
		 where, (int)(ce->res.early.dpi * ce->res.early.scale + 0.5),
		 ce->d.best >= 0 ? classify_rules_type(eng->rules, (size_t)ce->d.best)->id
				 : "(none)",
		 ce->d.best_score, ce->d.margin,
		 ce->skip_full ? "safe, nicht_scannen: no full-text OCR"
		 : ce->safe    ? "safe"
			       : "not safe, the full text decides",
		 ce->cpu);
	return 0;
}

void classify_early_take(struct classify_early *ce, struct classify_ocr_result *res)
{
	*res = ce->res;
	memset(&ce->res, 0, sizeof(ce->res));
	ce->res.early = res->early;
	ce->res.pages_total = res->pages_total;
	if (res->n_pages > 0 && res->conf != NULL && res->page != NULL) {
		ce->res.conf = xcalloc(1, sizeof(*ce->res.conf));
		ce->res.conf[0] = res->conf[0];
		ce->res.page = xcalloc(1, sizeof(*ce->res.page));
		ce->res.page[0] = res->page[0];
		ce->res.n_pages = 1;
	}
}

void classify_early_free(struct classify_early *ce)
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
static void classify_scores_json(classify_engine *eng, json_object *o,
				 const struct classify_decision *d)
{
	json_object_object_add(
	    o, "candidate",
	    d->best >= 0
		? json_object_new_string(classify_rules_type(eng->rules, (size_t)d->best)->id)
		: NULL);
	json_object_object_add(o, "score", classify_num(d->best_score));
	json_object_object_add(
	    o, "second_type",
	    d->second >= 0
		? json_object_new_string(classify_rules_type(eng->rules, (size_t)d->second)->id)
		: NULL);
	json_object_object_add(o, "second_score", classify_num(d->second_score));
	json_object_object_add(o, "margin", classify_num(d->margin));
}

/* The "early" object of the trace. */
static json_object *classify_early_json(classify_engine *eng, const struct classify_early *ce)
{
	json_object *o;
	char where[64];

	if (!ce->ran)
		return NULL;
	o = json_object_new_object();
	classify_scores_json(eng, o, &ce->d);
	json_object_object_add(o, "early_margin", json_object_new_double(eng->cfg.early_margin));
	json_object_object_add(o, "safe", json_object_new_boolean(ce->safe));
	json_object_object_add(o, "confirmed_by_full_text",
			       ce->safe && !ce->skip_full ? json_object_new_boolean(ce->agrees)
							  : NULL);
	classify_early_where(&ce->res.early, where, sizeof(where));
	json_object_object_add(o, "region", json_object_new_string(where));
	json_object_object_add(o, "scale", classify_num(ce->res.early.scale));
	json_object_object_add(o, "dpi", json_object_new_int(ce->res.early.dpi));
	json_object_object_add(o, "dpi_estimated",
			       json_object_new_boolean(ce->res.early.estimated));
	json_object_object_add(o, "cpu_seconds", json_object_new_double(ce->cpu));
	if (ce->res.n_pages > 0 && ce->res.page != NULL) {
		json_object_object_add(o, "rotation",
				       json_object_new_int(ce->res.page[0].rotation));
		json_object_object_add(
		    o, "osd_confidence",
		    ce->res.page[0].osd_conf < 0 ? NULL : classify_num(ce->res.page[0].osd_conf));
	}
	json_object_object_add(o, "confidence",
			       json_object_new_double(ce->res.n_pages ? ce->res.conf[0] : 0.0));
	return o;
}

/* Score the OCR result, route the letter and decide whether a person must look at it. */
void classify_decide(classify_engine *eng, const char *log_id,
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
		classify_rules_score(eng->rules, res->text.data, res->top.data, &oc->d);
		/* With the full text at hand a safe early decision is confirmed by it (the
		 * rules on text cost milliseconds): a veto or a stronger type further down
		 * the page wins, so the early pass never decides against the full text. */
		if (ce != NULL && ce->safe) {
			ce->agrees = oc->d.decided && oc->d.best == ce->d.best;
			if (!ce->agrees)
				log_warnx(
				    "%s: the early pass decided %s, the full text %s%s; the full "
				    "text decides",
				    log_id, classify_rules_type(eng->rules, (size_t)ce->d.best)->id,
				    oc->d.decided ? "decided " : "is unsure",
				    oc->d.decided
					? classify_rules_type(eng->rules, (size_t)oc->d.best)->id
					: "");
		}
	}
	if (!oc->d.decided) {
		snprintf(oc->review, sizeof(oc->review), "%s", oc->d.reason);
		return;
	}
	oc->type = classify_rules_type(eng->rules, (size_t)oc->d.best);
	if (classify_route_letter(&eng->of, oc->type, res->text.data, res->top.data, &oc->route) !=
	    0) {
		snprintf(oc->review, sizeof(oc->review), "%s", oc->route.reason);
		return;
	}
	oc->routed = 1;
	/* nicht_scannen letters go on like the others: sign passes them unsealed and
	 * dms-export writes the routing slip that sends the paper to the office. */
}

/* The "classification" object of job.json for an outcome; caller owns it. */
json_object *classify_section(classify_engine *eng, const struct classify_ocr_result *res,
			      const struct classify_outcome *oc, const struct classify_early *ce,
			      double cpu_full)
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
	classify_scores_json(eng, o, &oc->d);
	json_object_object_add(o, "min_score", classify_num(classify_rules_min_score(eng->rules)));
	json_object_object_add(o, "min_margin",
			       classify_num(classify_rules_min_margin(eng->rules)));
	json_object_object_add(o, "decided_by", t ? json_object_new_string("rules") : NULL);
	json_object_object_add(o, "review_reason",
			       oc->review[0] ? json_object_new_string(oc->review) : NULL);
	json_object_object_add(o, "trace", classify_decision_trace(eng->rules, &oc->d));
	json_object_object_add(
	    o, "decided_from",
	    json_object_new_string(
		ce != NULL && ce->safe && (ce->skip_full || ce->agrees) ? "early" : "full"));
	json_object_object_add(o, "early", ce != NULL ? classify_early_json(eng, ce) : NULL);
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
			       json_object_new_string(classify_ocr_langs(eng->ocr)));
	conf = json_object_new_array();
	for (i = 0; i < res->n_pages; i++)
		json_object_array_add(conf, classify_num(res->conf[i]));
	json_object_object_add(ocr, "confidence", conf);
	{
		json_object *rot = json_object_new_array(), *osdc = json_object_new_array();
		json_object *passes = json_object_new_array(), *den = json_object_new_array();
		json_object *turned = json_object_new_array();

		for (i = 0; i < res->n_pages && res->page != NULL; i++) {
			const struct classify_ocr_page *pg = &res->page[i];

			json_object_array_add(rot, json_object_new_int(pg->rotation));
			json_object_array_add(osdc,
					      pg->osd_conf < 0 ? NULL : classify_num(pg->osd_conf));
			json_object_array_add(passes, json_object_new_int(pg->passes));
			json_object_array_add(den, json_object_new_boolean(pg->denoised));
			if (pg->rotation != 0)
				json_object_array_add(turned, json_object_new_int((int)i + 1));
		}
		json_object_object_add(ocr, "rotation", rot);
		json_object_object_add(ocr, "osd_confidence", osdc);
		json_object_object_add(ocr, "passes", passes);
		json_object_object_add(ocr, "denoised", den);
		json_object_object_add(ocr, "rotated_pages", turned);
		json_object_object_add(ocr, "osd", json_object_new_boolean(res->osd));
	}
	json_object_object_add(ocr, "pages", json_object_new_int((int)res->n_pages));
	json_object_object_add(ocr, "utf8_cleaned", json_object_new_boolean(res->cleaned));
	json_object_object_add(o, "ocr", ocr);
	{
		json_object *sw = json_object_new_object();

		json_object_object_add(sw, "name", json_object_new_string("mailroom-classify"));
		json_object_object_add(sw, "version", json_object_new_string(MAILROOM_VERSION));
		json_object_object_add(sw, "sha256", json_object_new_string(digest_self_exe_hex()));
		json_object_object_add(o, "program", sw);
	}
	return o;
}
int classify_engine_start(classify_engine *eng, char *err, size_t errlen)
{
	if ((eng->ocr = classify_ocr_open(NULL, err, errlen)) == NULL)
		return -1;
	return 0;
}

void classify_engine_free(classify_engine *eng)
{
	eng->ocr = classify_ocr_close(eng->ocr);
	eng->rules = classify_rules_free(eng->rules);
	offices_free(&eng->of);
}

int classify_engine_file(classify_engine *eng, const char *file, struct classify_letter *out,
			 char *err, size_t errlen)
{
	double cpu0;
	int o;

	memset(out, 0, sizeof(*out));
	out->cpu_full = -1.0;
	if ((o = classify_early_pass(eng, file, file, NULL, &out->early, err, errlen)) != 0)
		return o;
	if (out->early.skip_full) {
		classify_early_take(&out->early, &out->res);
	} else {
		cpu0 = classify_ocr_cpu();
		if ((o = classify_ocr_run(eng->ocr, file, file, NULL, NULL, &out->res, err,
					  errlen)) != 0)
			return o;
		out->cpu_full = classify_ocr_cpu() - cpu0;
	}
	classify_decide(eng, file, &out->res, &out->early, &out->oc);
	return 0;
}

void classify_letter_free(struct classify_letter *l)
{
	classify_early_free(&l->early);
	classify_decision_free(&l->oc.d);
	classify_ocr_result_free(&l->res);
}
