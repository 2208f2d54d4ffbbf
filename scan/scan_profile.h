/*
 * scan_profile.h - conf/scan.yaml: the scanner, capture limits, batch defaults,
 * the scan profiles per document class, and the import folder.
 *
 * A profile (TR-03138 A.SC.6: tested, released settings per document type) names
 * source, mode, resolution, depth, page size, compression (g4 for bilevel;
 * deflate, lzw or jpeg with jpeg_quality for gray and colour), the blank page
 * thresholds, orientation, the separation of a batch and the longest plausible
 * document. The loader refuses what the scan product must never be: JBIG2 (symbol
 * coding, TR-03138 A.SC.12), G4 for gray or colour, JPEG for bilevel or 16-bit
 * pages; every error names file:line and the fix.
 */
#ifndef MAILROOM_SCAN_PROFILE_H
#define MAILROOM_SCAN_PROFILE_H

#include <stddef.h>

#include "conf.h"
#include "settings.h"

#include "scan_batch.h"
#include "scan_import.h"

/* One profile (or the batch: defaults). Strings are owned by the configuration. */
struct scan_profile {
	const char *name;
	const char *source, *mode; /* NULL: the defaults: section's */
	long resolution, depth;	   /* 0: the defaults: section's */
	double page_w, page_h;	   /* 0: the defaults: section's */
	enum scan_tiff_comp compression;
	int quality;
	double blank_drop, blank_flag;
	int orientation;
	struct scan_sep_cfg sep;
	int duplex_frames;
};

struct scan_conf {
	conf_node *root;
	char *sane_config_dir; /* absolute, or NULL */
	const char *device;
	/* defaults: */
	const char *source, *mode;
	long resolution, depth;
	double page_w, page_h;
	/* capture: */
	long capture_max_pages;
	double timeout_seconds, cancel_seconds;
	enum scan_fault_mode on_fault;
	char *control; /* absolute, or NULL */
	/* batch: (used without a profile) and profiles: */
	struct scan_profile batch;
	struct scan_profile *profiles;
	size_t nprofiles;
	char *names; /* "a, b, c" */
	/* import: */
	long stable_seconds;
	struct scan_import_limits lim;
};

/* Load conf_dir/scan.yaml into sc. -1 with e set (file:line) on error. */
int scan_conf_load(const char *conf_dir, const settings *set, struct scan_conf *sc, conf_err *e);
/* Free what scan_conf_load allocated. */
void scan_conf_free(struct scan_conf *sc);
/* The profile called name, or NULL. */
const struct scan_profile *scan_profile_find(const struct scan_conf *sc, const char *name);
/* The profile names, comma separated (owned by sc). */
const char *scan_profile_names(const struct scan_conf *sc);
/* Fill the settings of bc from profile pr (NULL: defaults and batch:). 0 or -1. */
int scan_profile_apply(const struct scan_conf *sc, const struct scan_profile *pr,
		       struct scan_batch_cfg *bc);
/* "deflate", "lzw", "jpeg". */
const char *scan_profile_comp_name(enum scan_tiff_comp c);

#endif
