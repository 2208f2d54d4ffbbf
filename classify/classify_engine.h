/*
 * classify_engine.h - the decision path of mailroom-classify as a library: the
 * configuration (offices.yaml, scankonzept.yaml, classify.yaml), the early pass
 * over the top of page 1, the full-text pass, the Scankonzept rules, routing and
 * the "classification" record of job.json.
 *
 * mailroom-classify (the stage and --explain) and the classify benchmark call the
 * same functions, so the figures of bench/classify are those of the program.
 * One engine per process: classify_engine_load reads the configuration (parent),
 * classify_engine_start initialises tesseract (each worker).
 */
#ifndef MAILROOM_CLASSIFY_ENGINE_H
#define MAILROOM_CLASSIFY_ENGINE_H

#include <json-c/json.h>
#include <stddef.h>

#include "classify_ocr.h"
#include "classify_route.h"
#include "classify_rules.h"
#include "conf.h"
#include "offices.h"

#define CLASSIFY_MAX_WORKERS 64

/* conf/classify.yaml: the engine settings (workers, early decision, limits). */
struct classify_cfg {
	int workers;	     /* resolved: "auto" is the number of online CPUs */
	int early;	     /* 1: decide the type from the early pass when it is safe */
	double early_margin; /* margin the early pass needs (>= thresholds.min_margin) */
	int early_rest;	     /* 1: when the first look is not safe, read the rest of page 1 */
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
	double cpu; /* CPU seconds of the pass (both looks) */
};

/* What was decided about one letter (job or --explain file). */
struct classify_outcome {
	struct classify_decision d;
	struct classify_route route;
	int routed;
	const struct classify_type *type; /* NULL when abstained */
	char review[1024];		  /* non-empty: the letter goes to review */
};

typedef struct classify_engine {
	struct classify_cfg cfg;
	classify_rules *rules;
	offices of;
	classify_ocr *ocr; /* NULL until classify_engine_start */
} classify_engine;

/* Everything one image file yields (classify_engine_file). */
struct classify_letter {
	struct classify_ocr_result res; /* the full text, or the early text when skip_full */
	struct classify_early early;
	struct classify_outcome oc;
	double cpu_full; /* CPU seconds of the full-text pass; -1 when it did not run */
};

/* Load offices.yaml, scankonzept.yaml and classify.yaml from conf_dir into eng
 * (zeroed by the caller); -1 with e set (file:line). */
int classify_engine_load(const char *conf_dir, classify_engine *eng, conf_err *e);
/* Initialise the OCR engines (once per process). -1 with err set. */
int classify_engine_start(classify_engine *eng, char *err, size_t errlen);
void classify_engine_free(classify_engine *eng);

/*
 * The early pass on image (display names it in messages; NULL: image); ce filled.
 * 0, or CLASSIFY_OCR_UNREADABLE with err set (a pass that fails otherwise is
 * logged and the full text decides).
 */
int classify_early_pass(classify_engine *eng, const char *log_id, const char *image,
			const char *display, struct classify_early *ce, char *err, size_t errlen);
/* Move the early text into res (overwritten): a
 * nicht_scannen type decided early needs no other. ce keeps what its record needs:
 * what was read, page 1's confidence and orientation. */
void classify_early_take(struct classify_early *ce, struct classify_ocr_result *res);
void classify_early_free(struct classify_early *ce);

/* Score the OCR result (or take the early decision when ce->skip_full), route
 * the letter and decide whether a person must look at it. */
void classify_decide(classify_engine *eng, const char *log_id,
		     const struct classify_ocr_result *res, struct classify_early *ce,
		     struct classify_outcome *oc);

/* The "classification" object of job.json for an outcome; caller owns it.
 * cpu_full: CPU seconds of the full-text pass, -1 when it did not run. */
json_object *classify_section(classify_engine *eng, const struct classify_ocr_result *res,
			      const struct classify_outcome *oc, const struct classify_early *ce,
			      double cpu_full);

/*
 * The whole decision on one image file without the spool (--explain, the
 * benchmark): early pass, full-text OCR without the PDF rendition unless a
 * nicht_scannen type was decided early, rules, routing. out is initialised here;
 * free it with classify_letter_free even on error. 0, or CLASSIFY_OCR_UNREADABLE /
 * CLASSIFY_OCR_FAILED with err set.
 */
int classify_engine_file(classify_engine *eng, const char *file, struct classify_letter *out,
			 char *err, size_t errlen);
void classify_letter_free(struct classify_letter *l);

#endif
