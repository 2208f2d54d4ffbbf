/*
 * scan_profile.c - conf/scan.yaml; see scan_profile.h.
 */
#include "scan_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fileio.h"
#include "xalloc.h"

/*
 * scan.yaml keys: name, default, and the field they set. Every key is documented
 * in conf/scan.yaml (tests/integration/scan_profiles.sh checks it).
 */
#define SCAN_KEY_SANE_CONFIG_DIR "sane_config_dir" /* none: SANE's own */
#define SCAN_KEY_DEVICE "device"		   /* none: --sane is required */
#define SCAN_KEY_SOURCE "source"		   /* defaults./profile: device default */
#define SCAN_KEY_MODE "mode"			   /* defaults./profile: device default */
#define SCAN_KEY_RESOLUTION "resolution"	   /* defaults./profile: 0, device default */
#define SCAN_KEY_DEPTH "depth"			   /* defaults./profile: 0, device default */
#define SCAN_KEY_PAGE_SIZE "page_size"		   /* defaults./profile: device's area */
#define SCAN_KEY_MAX_PAGES "max_pages"		   /* capture. and import. */
#define SCAN_DEF_CAPTURE_MAX_PAGES 500
#define SCAN_KEY_TIMEOUT "timeout_seconds" /* capture. */
#define SCAN_DEF_TIMEOUT 60.0
#define SCAN_KEY_CANCEL "cancel_seconds" /* capture. */
#define SCAN_DEF_CANCEL 5.0
#define SCAN_KEY_ON_FAULT "on_fault"	      /* capture.: stop */
#define SCAN_KEY_CONTROL "control"	      /* capture.: none */
#define SCAN_KEY_SEPARATION "separation"      /* batch./profile: separator */
#define SCAN_KEY_MAX_DOC "max_document_pages" /* batch./profile: 0, no limit */
#define SCAN_KEY_BLANK "blank"		      /* batch./profile: drop, flag */
#define SCAN_KEY_BLANK_DROP "drop"
#define SCAN_DEF_BLANK_DROP 0.0001 /* as conf/scan.yaml: keeps a handwritten initial */
#define SCAN_KEY_BLANK_FLAG "flag"
#define SCAN_DEF_BLANK_FLAG 0.005
#define SCAN_KEY_ORIENTATION "orientation"   /* batch./profile: true */
#define SCAN_KEY_COMPRESSION "compression"   /* batch./profile: deflate */
#define SCAN_KEY_JPEG_QUALITY "jpeg_quality" /* batch./profile: 85 */
#define SCAN_DEF_JPEG_QUALITY 85
#define SCAN_KEY_DUPLEX_FRAMES "duplex_frames" /* profile: false */
#define SCAN_KEY_DESCRIPTION "description"     /* profile: text for people */
#define SCAN_KEY_STABLE "stable_seconds"       /* import. */
#define SCAN_DEF_STABLE 2
#define SCAN_KEY_PDF_DPI "pdf_dpi" /* import. */
#define SCAN_DEF_PDF_DPI 300
#define SCAN_KEY_MAX_PIXELS "max_pixels" /* import. */
#define SCAN_DEF_MAX_PIXELS 100000000L
#define SCAN_DEF_IMPORT_MAX_PAGES 500
#define SCAN_KEY_DEFAULT_DPI "default_dpi" /* import. */
#define SCAN_DEF_DEFAULT_DPI 300

const char *scan_profile_comp_name(enum scan_tiff_comp c)
{
	switch (c) {
	case SCAN_TIFF_LZW:
		return "lzw";
	case SCAN_TIFF_JPEG:
		return "jpeg";
	default:
		return "deflate";
	}
}

/* Check a mode value: Color, Gray, Lineart or a backend's synonym. */
static int scan_profile_mode(const conf_node *map, const char **out, conf_err *e)
{
	if (conf_str(map, SCAN_KEY_MODE, 0, NULL, out, e) == -1)
		return -1;
	if (*out != NULL && scan_sane_mode_class(*out) == 0)
		return conf_fail(e, conf_get(map, SCAN_KEY_MODE),
				 "'mode: %s' is not a scan mode (expected Color, Gray or Lineart)",
				 *out);
	return 0;
}

/* Check a page size. */
static int scan_profile_page(const conf_node *map, double *w, double *h, conf_err *e)
{
	const char *ps = NULL;

	if (conf_str(map, SCAN_KEY_PAGE_SIZE, 0, NULL, &ps, e) == -1)
		return -1;
	if (ps != NULL && scan_sane_page_size(ps, w, h) == -1)
		return conf_fail(e, conf_get(map, SCAN_KEY_PAGE_SIZE),
				 "'page_size: %s': expected A3, A4, A5, A6, B5, Letter, Legal or "
				 "WxH in mm (e.g. 210x297)",
				 ps);
	return 0;
}

/*
 * The analysis, separation and compression keys of a profile or of batch:, with
 * def as the fallback. is_profile: the profile keys (device settings) as well.
 */
static int scan_profile_load(const conf_node *m, const char *what, const struct scan_profile *def,
			     int is_profile, struct scan_profile *p, conf_err *e)
{
	static const char *const batch_keys[] = {SCAN_KEY_SEPARATION,
						 SCAN_KEY_MAX_DOC,
						 SCAN_KEY_BLANK,
						 SCAN_KEY_ORIENTATION,
						 SCAN_KEY_COMPRESSION,
						 SCAN_KEY_JPEG_QUALITY,
						 NULL};
	static const char *const profile_keys[] = {SCAN_KEY_DESCRIPTION,   SCAN_KEY_SOURCE,
						   SCAN_KEY_MODE,	   SCAN_KEY_RESOLUTION,
						   SCAN_KEY_DEPTH,	   SCAN_KEY_PAGE_SIZE,
						   SCAN_KEY_SEPARATION,	   SCAN_KEY_MAX_DOC,
						   SCAN_KEY_BLANK,	   SCAN_KEY_ORIENTATION,
						   SCAN_KEY_COMPRESSION,   SCAN_KEY_JPEG_QUALITY,
						   SCAN_KEY_DUPLEX_FRAMES, NULL};
	static const char *const blank_keys[] = {SCAN_KEY_BLANK_DROP, SCAN_KEY_BLANK_FLAG, NULL};
	const conf_node *bl, *cn;
	const char *comp = NULL, *sep = NULL, *desc = NULL;
	long q = 0, maxd = 0;

	*p = *def;
	if (m == NULL)
		return 0;
	if (conf_expect(m, CONF_MAP, what, e) == -1 ||
	    conf_check_keys(m, is_profile ? profile_keys : batch_keys, what, e) == -1)
		return -1;
	if (is_profile) {
		if (conf_str(m, SCAN_KEY_DESCRIPTION, 0, NULL, &desc, e) == -1 ||
		    conf_str(m, SCAN_KEY_SOURCE, 0, NULL, &p->source, e) == -1 ||
		    scan_profile_mode(m, &p->mode, e) == -1 ||
		    conf_long(m, SCAN_KEY_RESOLUTION, 0, 0, 0, 4800, &p->resolution, e) == -1 ||
		    conf_long(m, SCAN_KEY_DEPTH, 0, 0, 0, 16, &p->depth, e) == -1 ||
		    scan_profile_page(m, &p->page_w, &p->page_h, e) == -1 ||
		    conf_bool(m, SCAN_KEY_DUPLEX_FRAMES, 0, 0, &p->duplex_frames, e) == -1)
			return -1;
		if (p->depth != 0 && p->depth != 1 && p->depth != 8 && p->depth != 16)
			return conf_fail(e, conf_get(m, SCAN_KEY_DEPTH),
					 "'depth: %ld' is not a scan depth (expected 1, 8 or 16)",
					 p->depth);
	}
	if ((bl = conf_get(m, SCAN_KEY_BLANK)) != NULL) {
		if (conf_expect(bl, CONF_MAP, "blank", e) == -1 ||
		    conf_check_keys(bl, blank_keys, "blank", e) == -1 ||
		    conf_double(bl, SCAN_KEY_BLANK_DROP, 0, def->blank_drop, 0, 1, &p->blank_drop,
				e) == -1 ||
		    conf_double(bl, SCAN_KEY_BLANK_FLAG, 0, def->blank_flag, 0, 1, &p->blank_flag,
				e) == -1)
			return -1;
		if (p->blank_flag < p->blank_drop)
			return conf_fail(e, bl,
					 "blank: flag (%g) must not be below drop (%g): a page is "
					 "dropped below drop and flagged between drop and flag",
					 p->blank_flag, p->blank_drop);
	}
	if (conf_bool(m, SCAN_KEY_ORIENTATION, 0, def->orientation, &p->orientation, e) == -1 ||
	    conf_str(m, SCAN_KEY_SEPARATION, 0, NULL, &sep, e) == -1 ||
	    conf_long(m, SCAN_KEY_MAX_DOC, 0, def->sep.max_document_pages, 0, 10000, &maxd, e) ==
		-1 ||
	    conf_str(m, SCAN_KEY_COMPRESSION, 0, NULL, &comp, e) == -1 ||
	    conf_long(m, SCAN_KEY_JPEG_QUALITY, 0, def->quality, 1, 100, &q, e) == -1)
		return -1;
	if (sep != NULL && scan_separate_mode_parse(sep, &p->sep) == -1)
		return conf_fail(e, conf_get(m, SCAN_KEY_SEPARATION),
				 "'separation: %s': expected separator, pages:N, blank or none",
				 sep);
	p->sep.max_document_pages = maxd;
	p->quality = (int)q;
	if (comp != NULL) {
		cn = conf_get(m, SCAN_KEY_COMPRESSION);
		if (strcasecmp(comp, "jbig2") == 0 || strcasecmp(comp, "jbig") == 0 ||
		    strcasecmp(comp, "jb2") == 0)
			return conf_fail(
			    e, cn,
			    "'compression: %s' is not allowed: JBIG2's symbol coding "
			    "(pattern matching and substitution) can replace one "
			    "character by another, which BSI TR-03138 A.SC.12 forbids "
			    "for scan products; use g4 for bilevel pages, deflate, lzw "
			    "or jpeg for gray and colour",
			    comp);
		if (strcmp(comp, "g4") == 0)
			p->compression = SCAN_TIFF_DEFLATE; /* bilevel pages are always G4 */
		else if (strcmp(comp, "deflate") == 0)
			p->compression = SCAN_TIFF_DEFLATE;
		else if (strcmp(comp, "lzw") == 0)
			p->compression = SCAN_TIFF_LZW;
		else if (strcmp(comp, "jpeg") == 0)
			p->compression = SCAN_TIFF_JPEG;
		else
			return conf_fail(
			    e, cn,
			    "'compression: %s': expected g4 (bilevel), deflate, lzw or "
			    "jpeg (gray and colour)",
			    comp);
	}
	return 0;
}

/* Check that a profile's compression fits its mode and depth (with the defaults). */
static int scan_profile_check(const struct scan_conf *sc, const conf_node *m,
			      const struct scan_profile *p, conf_err *e)
{
	const char *mode = p->mode ? p->mode : sc->mode, *comp = NULL;
	long depth = p->depth ? p->depth : sc->depth;
	int bilevel = (mode != NULL &&
		       (scan_sane_mode_class(mode) == 'L' || scan_sane_mode_class(mode) == 'H')) ||
		      depth == 1;
	const conf_node *cn = conf_get(m, SCAN_KEY_COMPRESSION);
	conf_err ignore;

	if (cn != NULL)
		conf_str(m, SCAN_KEY_COMPRESSION, 0, NULL, &comp, &ignore);
	if (comp != NULL && strcmp(comp, "g4") == 0 && !bilevel)
		return conf_fail(e, cn,
				 "'compression: g4' is for bilevel pages (mode Lineart or depth "
				 "1); profile '%s' scans %s%s: use deflate, lzw or jpeg",
				 p->name, mode ? mode : "the device's default mode",
				 depth > 1 ? " at more than 1 bit" : "");
	if (cn != NULL && p->compression == SCAN_TIFF_JPEG && bilevel)
		return conf_fail(e, cn,
				 "'compression: jpeg' cannot hold bilevel pages (profile '%s' "
				 "scans Lineart or depth 1): use g4",
				 p->name);
	if (cn != NULL && p->compression == SCAN_TIFF_JPEG && depth == 16)
		return conf_fail(e, cn,
				 "'compression: jpeg' holds 8-bit pages only (profile '%s' scans "
				 "at depth 16): use depth 8 or deflate",
				 p->name);
	if (p->sep.mode == SCAN_SEP_PAGES && (p->sep.pages % 2) == 1 &&
	    (scan_sane_source_class(p->source ? p->source : sc->source) == SCAN_SANE_SRC_DUPLEX ||
	     p->duplex_frames))
		return conf_fail(e, conf_get(m, SCAN_KEY_SEPARATION),
				 "'separation: pages:%ld' with a duplex source splits a sheet "
				 "between two documents: use an even number",
				 p->sep.pages);
	return 0;
}

int scan_conf_load(const char *conf_dir, const settings *set, struct scan_conf *sc, conf_err *e)
{
	static const char *const top[] = {SCAN_KEY_SANE_CONFIG_DIR,
					  SCAN_KEY_DEVICE,
					  "defaults",
					  "capture",
					  "batch",
					  "profiles",
					  "import",
					  NULL};
	static const char *const defaults[] = {SCAN_KEY_SOURCE,	    SCAN_KEY_MODE,
					       SCAN_KEY_RESOLUTION, SCAN_KEY_DEPTH,
					       SCAN_KEY_PAGE_SIZE,  NULL};
	static const char *const capture[] = {SCAN_KEY_MAX_PAGES, SCAN_KEY_TIMEOUT, SCAN_KEY_CANCEL,
					      SCAN_KEY_ON_FAULT,  SCAN_KEY_CONTROL, NULL};
	static const char *const import[] = {SCAN_KEY_STABLE,	   SCAN_KEY_PDF_DPI,
					     SCAN_KEY_MAX_PIXELS,  SCAN_KEY_MAX_PAGES,
					     SCAN_KEY_DEFAULT_DPI, NULL};
	static const char *const faults[] = {"ask", "wait-for-resume", "stop", NULL};
	const conf_node *d, *c, *im, *ba, *pr;
	const char *scd = NULL, *ctl = NULL;
	char *file = fio_join(conf_dir, "scan.yaml");
	struct scan_profile def;
	int fault = 2;
	size_t i, len, used;

	memset(sc, 0, sizeof(*sc));
	sc->root = conf_load(file, e);
	free(file);
	if (sc->root == NULL)
		return -1;
	if (conf_check_keys(sc->root, top, "scan.yaml", e) == -1)
		return -1;
	d = conf_get(sc->root, "defaults");
	c = conf_get(sc->root, "capture");
	im = conf_get(sc->root, "import");
	ba = conf_get(sc->root, "batch");
	pr = conf_get(sc->root, "profiles");
	if ((d && (conf_expect(d, CONF_MAP, "defaults", e) == -1 ||
		   conf_check_keys(d, defaults, "defaults", e) == -1)) ||
	    (c && (conf_expect(c, CONF_MAP, "capture", e) == -1 ||
		   conf_check_keys(c, capture, "capture", e) == -1)) ||
	    (im && (conf_expect(im, CONF_MAP, "import", e) == -1 ||
		    conf_check_keys(im, import, "import", e) == -1)) ||
	    (pr && conf_expect(pr, CONF_MAP, "profiles", e) == -1))
		return -1;
	if (conf_str(sc->root, SCAN_KEY_SANE_CONFIG_DIR, 0, NULL, &scd, e) == -1 ||
	    conf_str(sc->root, SCAN_KEY_DEVICE, 0, NULL, &sc->device, e) == -1 ||
	    conf_str(d, SCAN_KEY_SOURCE, 0, NULL, &sc->source, e) == -1 ||
	    scan_profile_mode(d, &sc->mode, e) == -1 ||
	    conf_long(d, SCAN_KEY_RESOLUTION, 0, 0, 0, 4800, &sc->resolution, e) == -1 ||
	    conf_long(d, SCAN_KEY_DEPTH, 0, 0, 0, 16, &sc->depth, e) == -1 ||
	    scan_profile_page(d, &sc->page_w, &sc->page_h, e) == -1 ||
	    conf_long(c, SCAN_KEY_MAX_PAGES, 0, SCAN_DEF_CAPTURE_MAX_PAGES, 1, 10000,
		      &sc->capture_max_pages, e) == -1 ||
	    conf_double(c, SCAN_KEY_TIMEOUT, 0, SCAN_DEF_TIMEOUT, 0.1, 3600, &sc->timeout_seconds,
			e) == -1 ||
	    conf_double(c, SCAN_KEY_CANCEL, 0, SCAN_DEF_CANCEL, 0.1, 600, &sc->cancel_seconds, e) ==
		-1 ||
	    conf_enum(c, SCAN_KEY_ON_FAULT, 0, 2, faults, &fault, e) == -1 ||
	    conf_str(c, SCAN_KEY_CONTROL, 0, NULL, &ctl, e) == -1 ||
	    conf_long(im, SCAN_KEY_STABLE, 0, SCAN_DEF_STABLE, 0, 3600, &sc->stable_seconds, e) ==
		-1 ||
	    conf_long(im, SCAN_KEY_PDF_DPI, 0, SCAN_DEF_PDF_DPI, 72, 1200, &sc->lim.pdf_dpi, e) ==
		-1 ||
	    conf_long(im, SCAN_KEY_MAX_PIXELS, 0, SCAN_DEF_MAX_PIXELS, 1, 1000000000L,
		      &sc->lim.max_pixels, e) == -1 ||
	    conf_long(im, SCAN_KEY_MAX_PAGES, 0, SCAN_DEF_IMPORT_MAX_PAGES, 1, 10000,
		      &sc->lim.max_pages, e) == -1 ||
	    conf_long(im, SCAN_KEY_DEFAULT_DPI, 0, SCAN_DEF_DEFAULT_DPI, 50, 2400,
		      &sc->lim.default_dpi, e) == -1)
		return -1;
	if (sc->depth != 0 && sc->depth != 1 && sc->depth != 8 && sc->depth != 16)
		return conf_fail(e, conf_get(d, SCAN_KEY_DEPTH),
				 "'depth: %ld' is not a scan depth (expected 1, 8 or 16)",
				 sc->depth);
	sc->on_fault = fault == 0 ? SCAN_FAULT_ASK : fault == 1 ? SCAN_FAULT_WAIT : SCAN_FAULT_STOP;
	if (ctl != NULL)
		sc->control = settings_path(set, ctl);
	memset(&def, 0, sizeof(def));
	def.name = "batch";
	def.compression = SCAN_TIFF_DEFLATE;
	def.quality = SCAN_DEF_JPEG_QUALITY;
	def.blank_drop = SCAN_DEF_BLANK_DROP;
	def.blank_flag = SCAN_DEF_BLANK_FLAG;
	def.orientation = 1;
	def.sep.mode = SCAN_SEP_SEPARATOR;
	if (scan_profile_load(ba, "batch", &def, 0, &sc->batch, e) == -1 ||
	    scan_profile_check(sc, ba, &sc->batch, e) == -1)
		return -1;
	sc->batch.name = "batch";
	if (pr != NULL && pr->n > 0) {
		sc->profiles = xcalloc(pr->n, sizeof(*sc->profiles));
		for (i = 0; i < pr->n; i++) {
			char what[160];

			snprintf(what, sizeof(what), "profiles.%s", pr->keys[i]);
			if (scan_profile_load(pr->items[i], what, &sc->batch, 1, &sc->profiles[i],
					      e) == -1)
				return -1;
			sc->profiles[i].name = pr->keys[i];
			sc->nprofiles++;
			if (scan_profile_check(sc, pr->items[i], &sc->profiles[i], e) == -1)
				return -1;
		}
	}
	for (i = 0, len = 1; i < sc->nprofiles; i++)
		len += strlen(sc->profiles[i].name) + 2;
	sc->names = xcalloc(1, len);
	for (i = 0, used = 0; i < sc->nprofiles; i++)
		used += (size_t)snprintf(sc->names + used, len - used, "%s%s", i > 0 ? ", " : "",
					 sc->profiles[i].name);
	if (scd != NULL)
		sc->sane_config_dir = settings_resolve(conf_dir, scd);
	sc->lim.max_alloc = SCAN_TIFF_MAX_ALLOC;
	return 0;
}

void scan_conf_free(struct scan_conf *sc)
{
	free(sc->sane_config_dir);
	free(sc->control);
	free(sc->profiles);
	free(sc->names);
	conf_free(sc->root);
	memset(sc, 0, sizeof(*sc));
}

const struct scan_profile *scan_profile_find(const struct scan_conf *sc, const char *name)
{
	size_t i;

	for (i = 0; i < sc->nprofiles; i++)
		if (strcmp(sc->profiles[i].name, name) == 0)
			return &sc->profiles[i];
	return NULL;
}

const char *scan_profile_names(const struct scan_conf *sc)
{
	return sc->names && sc->names[0] ? sc->names : "none";
}

int scan_profile_apply(const struct scan_conf *sc, const struct scan_profile *pr,
		       struct scan_batch_cfg *bc)
{
	const struct scan_profile *p = pr != NULL ? pr : &sc->batch;

	if (pr != NULL && pr->source) {
		bc->rq.source = pr->source;
		bc->rq.given |= SCAN_SANE_GIVEN_SOURCE;
	} else {
		bc->rq.source = sc->source;
	}
	if (pr != NULL && pr->mode) {
		bc->rq.mode = pr->mode;
		bc->rq.given |= SCAN_SANE_GIVEN_MODE;
	} else {
		bc->rq.mode = sc->mode;
	}
	if (pr != NULL && pr->resolution) {
		bc->rq.resolution = pr->resolution;
		bc->rq.given |= SCAN_SANE_GIVEN_RESOLUTION;
	} else {
		bc->rq.resolution = sc->resolution;
	}
	if (pr != NULL && pr->depth) {
		bc->rq.depth = pr->depth;
		bc->rq.given |= SCAN_SANE_GIVEN_DEPTH;
	} else {
		bc->rq.depth = sc->depth;
	}
	if (pr != NULL && pr->page_w > 0) {
		bc->rq.page_w = pr->page_w;
		bc->rq.page_h = pr->page_h;
		bc->rq.given |= SCAN_SANE_GIVEN_PAGE;
	} else {
		bc->rq.page_w = sc->page_w;
		bc->rq.page_h = sc->page_h;
	}
	bc->max_pages = sc->capture_max_pages;
	bc->timeout = sc->timeout_seconds;
	bc->cancel_grace = sc->cancel_seconds;
	bc->compression = p->compression;
	bc->quality = p->quality;
	bc->page.blank_drop = p->blank_drop;
	bc->page.blank_flag = p->blank_flag;
	bc->page.orientation = p->orientation;
	bc->page.separators = p->sep.mode == SCAN_SEP_SEPARATOR;
	bc->sep = p->sep;
	bc->duplex_frames = p->duplex_frames;
	bc->profile = pr != NULL ? pr->name : NULL;
	return 0;
}
