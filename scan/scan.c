/*
 * scan.c - mailroom-scan: the pipeline's producer. Paper comes in through a SANE
 * scanner, digital mail through the import folder; each letter becomes a new job
 * (scan.tiff + job.json, plus the original file of an import) that is handed to
 * the classify stage.
 *
 * SYNOPSIS
 *	mailroom-scan [-c DIR] --sane DEVICE [--source S] [--mode Gray|Color|Lineart]
 *		[--resolution N] [--depth N] [--pages N] [--sane-option name=value ...]
 *		[--operator NAME]
 *	mailroom-scan [-c DIR] [--import [DIR]] [--once] [--operator NAME]
 *
 *	--sane scans one document: all pages of one run (flatbed: one page or
 *	--pages; feeder: until it is empty) form one letter; it always runs once
 *	(--once is accepted). Settings missing on the command line come from
 *	scan.yaml defaults, which a device without that option ignores. --import (the default
 *	mode) takes every regular file in the import folder (default paths.import of
 *	mailroom.yaml) as one letter once its size and mtime have been unchanged for
 *	import.stable_seconds; with --once it drains the folder and exits, otherwise
 *	it keeps watching (inotify plus a rescan every daemon.rescan_seconds).
 *	Settings: conf/scan.yaml (sane_config_dir, device, defaults, capture, import).
 *
 * SPOOL DIRECTORIES
 *	spool/scan/tmp/<id>	built here: scan.tiff, original.<ext>, job.json
 *	spool/classify/incoming/<id>	where finished letters are submitted
 *	spool/scan/corrupt/<id>	imports that cannot be decoded (with the original
 *				and QUARANTINE.txt), and jobs a crashed run left in tmp/
 *	spool/scan/.lock	one mailroom-scan at a time
 *	journal.db		event "captured" per letter (outcome ok or quarantined);
 *				table imports: which import file became which letter
 *	An imported file is removed from the import folder only after its job was
 *	submitted (or quarantined with the original inside) and journaled. After a
 *	crash, a file whose letter already exists is removed, not imported twice; an
 *	unfinished import in tmp/ whose file is still unchanged in the folder is
 *	removed and imported again. Nothing else is deleted.
 *
 * SECURITY
 *	Imported files are untrusted: their type is taken from their content, each
 *	decoder is bounded (import.max_pixels, import.max_pages, libtiff allocation
 *	limit), symlinks and non-regular files in the import folder are refused, the
 *	original is copied byte for byte before anything parses it. Scanner data is
 *	trusted as far as its announced geometry, which is checked. No key material
 *	is handled here; document content is never logged.
 *
 * EXIT STATUS
 *	0		every letter was submitted to classify
 *	EX_USAGE	bad command line
 *	EX_DATAERR	--import --once: at least one file could not be decoded; it is
 *			in spool/scan/corrupt/<id> with the reason (the other files went on)
 *	EX_NOINPUT	the import folder given does not exist
 *	EX_UNAVAILABLE	the scanner cannot be opened or refused a setting
 *	EX_IOERR	the scanner faulted during the scan (pages finished before the
 *			fault were submitted as a letter, as the message says), or a
 *			spool file could not be written
 *	EX_TEMPFAIL	another mailroom-scan holds the lock, or the journal is unavailable
 *	EX_CONFIG	a wrong setting in mailroom.yaml or scan.yaml (file:line)
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "digest.h"
#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "journal.h"
#include "log.h"
#include "settings.h"
#include "spool.h"
#include "stage.h"
#include "timefmt.h"
#include "xalloc.h"

#include "scan_import.h"
#include "scan_sane.h"
#include "scan_tiff.h"

#define SCAN_SOFTWARE "mailroom-scan " MAILROOM_VERSION
#define SCAN_TIFF_NAME "scan.tiff"
#define SCAN_MAX_OPTIONS 32
#define SCAN_TIFF_MAX_ALLOC (256L << 20) /* libtiff single allocation limit */

/*
 * scan.yaml keys: name, default, and the field they set (struct scan_conf).
 * Every key is documented in conf/scan.yaml.
 */
#define SCAN_KEY_SANE_CONFIG_DIR "sane_config_dir" /* none: SANE's own */
#define SCAN_KEY_DEVICE "device"		   /* none: --sane is required */
#define SCAN_KEY_SOURCE "source"		   /* defaults.: device default */
#define SCAN_KEY_MODE "mode"			   /* defaults.: device default */
#define SCAN_KEY_RESOLUTION "resolution"	   /* defaults.: 0, device default */
#define SCAN_KEY_DEPTH "depth"			   /* defaults.: 0, device default */
#define SCAN_KEY_MAX_PAGES "max_pages"		   /* capture. and import. */
#define SCAN_DEF_CAPTURE_MAX_PAGES 500
#define SCAN_KEY_TIMEOUT "timeout_seconds" /* capture. */
#define SCAN_DEF_TIMEOUT 60
#define SCAN_KEY_STABLE "stable_seconds" /* import. */
#define SCAN_DEF_STABLE 2
#define SCAN_KEY_PDF_DPI "pdf_dpi" /* import. */
#define SCAN_DEF_PDF_DPI 300
#define SCAN_KEY_MAX_PIXELS "max_pixels" /* import. */
#define SCAN_DEF_MAX_PIXELS 100000000L
#define SCAN_DEF_IMPORT_MAX_PAGES 500
#define SCAN_KEY_DEFAULT_DPI "default_dpi" /* import. */
#define SCAN_DEF_DEFAULT_DPI 300

struct scan_conf {
	conf_node *root;
	char *sane_config_dir; /* absolute, or NULL */
	const char *device;
	const char *source, *mode;
	long resolution, depth;
	long capture_max_pages, timeout_seconds;
	long stable_seconds;
	struct scan_import_limits lim;
};

/* Everything a run needs. */
struct scan_ctx {
	settings set;
	struct scan_conf sc;
	journal *jr;
	spool *scan, *classify;
	const char *operator_name;
};

/* Load conf_dir/scan.yaml into sc. -1 with e set (file:line) on error. */
static int scan_conf_load(const char *conf_dir, struct scan_conf *sc, conf_err *e)
{
	static const char *const top[] = {
	    SCAN_KEY_SANE_CONFIG_DIR, SCAN_KEY_DEVICE, "defaults", "capture", "import", NULL};
	static const char *const defaults[] = {SCAN_KEY_SOURCE, SCAN_KEY_MODE, SCAN_KEY_RESOLUTION,
					       SCAN_KEY_DEPTH, NULL};
	static const char *const capture[] = {SCAN_KEY_MAX_PAGES, SCAN_KEY_TIMEOUT, NULL};
	static const char *const import[] = {SCAN_KEY_STABLE,	   SCAN_KEY_PDF_DPI,
					     SCAN_KEY_MAX_PIXELS,  SCAN_KEY_MAX_PAGES,
					     SCAN_KEY_DEFAULT_DPI, NULL};
	static const char *const modes[] = {"Gray", "Color", "Lineart", NULL};
	const conf_node *d, *c, *im;
	const char *scd = NULL;
	char *file = fio_join(conf_dir, "scan.yaml");
	int mode = -1;

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
	if ((d && (conf_expect(d, CONF_MAP, "defaults", e) == -1 ||
		   conf_check_keys(d, defaults, "defaults", e) == -1)) ||
	    (c && (conf_expect(c, CONF_MAP, "capture", e) == -1 ||
		   conf_check_keys(c, capture, "capture", e) == -1)) ||
	    (im && (conf_expect(im, CONF_MAP, "import", e) == -1 ||
		    conf_check_keys(im, import, "import", e) == -1)))
		return -1;
	if (conf_str(sc->root, SCAN_KEY_SANE_CONFIG_DIR, 0, NULL, &scd, e) == -1 ||
	    conf_str(sc->root, SCAN_KEY_DEVICE, 0, NULL, &sc->device, e) == -1 ||
	    conf_str(d, SCAN_KEY_SOURCE, 0, NULL, &sc->source, e) == -1 ||
	    conf_enum(d, SCAN_KEY_MODE, 0, -1, modes, &mode, e) == -1 ||
	    conf_long(d, SCAN_KEY_RESOLUTION, 0, 0, 0, 4800, &sc->resolution, e) == -1 ||
	    conf_long(d, SCAN_KEY_DEPTH, 0, 0, 0, 16, &sc->depth, e) == -1 ||
	    conf_long(c, SCAN_KEY_MAX_PAGES, 0, SCAN_DEF_CAPTURE_MAX_PAGES, 1, 10000,
		      &sc->capture_max_pages, e) == -1 ||
	    conf_long(c, SCAN_KEY_TIMEOUT, 0, SCAN_DEF_TIMEOUT, 5, 3600, &sc->timeout_seconds, e) ==
		-1 ||
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
	if (mode >= 0)
		sc->mode = modes[mode];
	if (sc->depth != 0 && sc->depth != 1 && sc->depth != 8 && sc->depth != 16)
		return conf_fail(e, conf_get(d, SCAN_KEY_DEPTH),
				 "'depth: %ld' is not a scan depth (expected 1, 8 or 16)",
				 sc->depth);
	if (scd != NULL)
		sc->sane_config_dir = settings_resolve(conf_dir, scd);
	sc->lim.max_alloc = SCAN_TIFF_MAX_ALLOC;
	return 0;
}

/* Free what scan_conf_load allocated. */
static void scan_conf_free(struct scan_conf *sc)
{
	free(sc->sane_config_dir);
	conf_free(sc->root);
	memset(sc, 0, sizeof(*sc));
}

/* Append one journal event for job id; failures are logged (the spool is the truth). */
static void scan_journal(struct scan_ctx *cx, const char *id, const char *action,
			 const char *outcome, const char *state, const char *location,
			 const char *detail, const char *reason)
{
	struct journal_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.job = id;
	ev.stage = "scan";
	ev.action = action;
	ev.outcome = outcome;
	ev.detail = detail;
	ev.state = state;
	ev.location = location;
	ev.reason = reason;
	if (journal_record(cx->jr, &ev) == -1)
		log_errorx("%s: cannot record '%s' in the journal %s", id, action,
			   cx->set.journal_path);
}

/* Move job directories a crashed run left in tmp/ to corrupt/ (never deleted). */
static int scan_recover_tmp(struct scan_ctx *cx)
{
	static const char reason[] =
	    "left in spool/scan/tmp by an interrupted mailroom-scan run (crash, kill or power "
	    "loss); it was never submitted. Compare it with the paper or the import folder: "
	    "rescan or re-import the letter if it did not go through, then remove this "
	    "directory";
	char **ids = spool_list(cx->scan, SPOOL_TMP, 0, NULL);
	char loc[128];
	int i;

	if (ids == NULL) {
		log_error("cannot list %s", spool_dir(cx->scan, SPOOL_TMP));
		return -1;
	}
	for (i = 0; ids[i] != NULL; i++) {
		char ipath[4096], isha[DIGEST_SHA256_HEX], now_sha[DIGEST_SHA256_HEX];

		/* An unfinished import whose file is still, unchanged, in the import
		 * folder: the job is a partial copy of it, the file will be imported
		 * again, so the copy goes (keeping it would make the letter twice). */
		if (journal_import_of(cx->jr, ids[i], ipath, sizeof(ipath), isha, sizeof(isha)) ==
			1 &&
		    digest_sha256_file_hex(ipath, now_sha, NULL) == 0 &&
		    strcmp(isha, now_sha) == 0) {
			char *tdir = spool_path(cx->scan, SPOOL_TMP, ids[i]);

			if (fio_rmtree(tdir) == 0) {
				fio_fsync_dir(spool_dir(cx->scan, SPOOL_TMP));
				journal_import_done(cx->jr, ids[i]);
				log_info("%s: removed the unfinished import of '%s' left by an "
					 "interrupted run; the file is still in the import folder "
					 "and is imported again",
					 ids[i], ipath);
				free(tdir);
				continue;
			}
			free(tdir);
		}
		if (spool_quarantine(cx->scan, SPOOL_TMP, ids[i], reason) == -1) {
			log_error("%s: cannot move the leftover from scan/tmp to scan/corrupt",
				  ids[i]);
			continue;
		}
		log_warnx("%s: %s; moved to spool/scan/corrupt", ids[i], reason);
		snprintf(loc, sizeof(loc), "spool/scan/corrupt/%s", ids[i]);
		scan_journal(cx, ids[i], "recovered", "quarantined", "quarantined", loc,
			     "unfinished job of an interrupted run", reason);
	}
	spool_list_free(ids);
	return 0;
}

/* The pages of t as the job.json capture.pages array. */
static json_object *scan_pages_json(const scan_tiff *t)
{
	json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < scan_tiff_pages(t); i++) {
		const struct scan_tiff_done *d = scan_tiff_page_info(t, i);
		json_object *p = json_object_new_object();

		json_object_object_add(p, "n", json_object_new_int(d->n));
		json_object_object_add(p, "width", json_object_new_int64(d->width));
		json_object_object_add(p, "height", json_object_new_int64(d->height));
		json_object_object_add(p, "xres", json_object_new_double(d->xres));
		json_object_object_add(p, "yres", json_object_new_double(d->yres));
		json_object_object_add(p, "bits", json_object_new_int(d->bits));
		json_object_object_add(p, "samples", json_object_new_int(d->samples));
		json_object_object_add(p, "compression", json_object_new_string(d->compression));
		json_object_object_add(p, "sha256", json_object_new_string(d->sha256));
		json_object_array_add(a, p);
	}
	return a;
}

/* Fill the capture section common to both sources (device and settings are taken over). */
static void scan_capture_section(struct scan_ctx *cx, job *j, const char *started,
				 json_object *device, json_object *sets, json_object *pages)
{
	json_object *c = job_section(j, "capture");

	json_object_object_add(c, "station", json_object_new_string(cx->set.station));
	json_object_object_add(c, "operator", json_object_new_string(cx->operator_name));
	json_object_object_add(c, "time", json_object_new_string(started));
	{
		json_object *sw = json_object_new_object();

		json_object_object_add(sw, "name", json_object_new_string("mailroom-scan"));
		json_object_object_add(sw, "version", json_object_new_string(MAILROOM_VERSION));
		json_object_object_add(sw, "sha256", json_object_new_string(digest_self_exe_hex()));
		json_object_object_add(c, "software", sw);
	}
	json_object_object_add(c, "device", device);
	json_object_object_add(c, "settings", sets);
	json_object_object_add(
	    c, "page_count", json_object_new_int(pages ? (int)json_object_array_length(pages) : 0));
	json_object_object_add(c, "pages", pages ? pages : json_object_new_array());
}

/* A new record for a letter in dir with its uuid. */
static job *scan_job_new(const char *id, const char *dir)
{
	job *j = job_new(id, dir);
	char uuid[IDENT_UUID_LEN];

	ident_uuid_v4(uuid);
	json_object_object_add(job_meta(j), "uuid", json_object_new_string(uuid));
	return j;
}

/* Write the record and submit tmp/<id> to classify. 0 or -1 (logged). */
static int scan_submit(struct scan_ctx *cx, job *j)
{
	job_mark_stage(j, "scan", "ok");
	if (job_write(j) == -1) {
		log_error("%s: cannot write %s", job_id(j), JOB_RECORD);
		return -1;
	}
	if (spool_submit(cx->scan, job_id(j), cx->classify) == -1) {
		log_error("%s: cannot submit to spool/classify/incoming", job_id(j));
		return -1;
	}
	return 0;
}

/* --sane: scan one document into a new job. Returns an exit code. */
static int scan_sane_main(struct scan_ctx *cx, struct scan_sane_req *rq)
{
	const struct scan_sane_device *dev;
	struct scan_tiff_meta meta;
	scan_sane *ss = NULL;
	scan_tiff *t = NULL;
	job *j = NULL;
	json_object *device, *pages = NULL, *src;
	char id[IDENT_JOB_MAX], started[TIMEFMT_ISO_MAX], err[1024], fault[1024], cerr[512];
	char detail[1400], loc[128];
	char *dir = NULL, *tpath = NULL;
	int rc = EX_SOFTWARE, faulted, npages;

	if (cx->sc.sane_config_dir != NULL && getenv("SANE_CONFIG_DIR") == NULL)
		setenv("SANE_CONFIG_DIR", cx->sc.sane_config_dir, 1);
	timefmt_now(started);
	if ((ss = scan_sane_open(rq, err, sizeof(err))) == NULL) {
		log_errorx("%s", err);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	dev = scan_sane_device(ss);
	ident_job_new(id);
	if ((dir = spool_create(cx->scan, id)) == NULL) {
		log_error("%s: cannot create spool/scan/tmp/%s", id, id);
		rc = EX_CANTCREAT;
		goto out;
	}
	tpath = fio_join(dir, SCAN_TIFF_NAME);
	memset(&meta, 0, sizeof(meta));
	meta.make = dev->vendor;
	meta.model = dev->model;
	meta.software = SCAN_SOFTWARE;
	meta.artist = cx->operator_name;
	meta.source = dev->name;
	if ((t = scan_tiff_create(tpath, &meta, SCAN_TIFF_MAX_ALLOC, err, sizeof(err))) == NULL) {
		log_errorx("%s: %s", id, err);
		rc = EX_CANTCREAT;
		goto out;
	}
	log_info("%s: scanning from %s (%s %s)", id, dev->name, dev->vendor, dev->model);
	faulted = scan_sane_run(ss, t, fault, sizeof(fault)) == -1;
	pages = scan_pages_json(t);
	npages = scan_tiff_pages(t);
	if (scan_tiff_close(t, cerr, sizeof(cerr)) == -1) {
		t = NULL;
		log_errorx("%s: cannot finish %s: %s", id, SCAN_TIFF_NAME, cerr);
		rc = EX_IOERR;
		goto out;
	}
	t = NULL;
	if (npages == 0) {
		/* nothing was captured: no letter exists, the empty job is ours to drop */
		log_errorx("%s; no page was captured, no letter was created", fault);
		fio_rmtree(dir);
		rc = EX_IOERR;
		goto out;
	}
	j = scan_job_new(id, dir);
	src = job_section(j, "source");
	json_object_object_add(src, "kind", json_object_new_string("sane"));
	json_object_object_add(src, "device", json_object_new_string(dev->name));
	device = json_object_new_object();
	json_object_object_add(device, "name", json_object_new_string(dev->name));
	json_object_object_add(device, "vendor", json_object_new_string(dev->vendor));
	json_object_object_add(device, "model", json_object_new_string(dev->model));
	json_object_object_add(device, "type", json_object_new_string(dev->type));
	scan_capture_section(cx, j, started, device, json_object_get(scan_sane_settings(ss)),
			     pages);
	pages = NULL;
	if (faulted) {
		json_object *c = job_section(j, "capture");

		json_object_object_add(c, "complete", json_object_new_boolean(0));
		json_object_object_add(c, "fault", json_object_new_string(fault));
	}
	if (job_add_file(j, SCAN_TIFF_NAME) == -1 || scan_submit(cx, j) == -1) {
		rc = EX_IOERR;
		goto out;
	}
	snprintf(detail, sizeof(detail), "%d page%s from %s%s%s", npages, npages == 1 ? "" : "s",
		 dev->name, faulted ? "; stopped by a fault: " : "", faulted ? fault : "");
	snprintf(loc, sizeof(loc), "spool/classify/incoming");
	scan_journal(cx, id, "captured", "ok", "queued", loc, detail, faulted ? fault : NULL);
	if (faulted) {
		log_errorx("%s: %s", id, fault);
		log_errorx("%s: %d page%s scanned before the fault %s kept and submitted as "
			   "this letter; scan the remaining pages as a new letter",
			   id, npages, npages == 1 ? "" : "s", npages == 1 ? "was" : "were");
		rc = EX_IOERR;
	} else {
		log_info("%s: %s, submitted to classify", id, detail);
		rc = EX_OK;
	}
out:
	scan_tiff_close(t, NULL, 0);
	json_object_put(pages);
	job_free(j);
	scan_sane_close(ss);
	free(tpath);
	free(dir);
	return rc;
}

/* Extension for the original: from the detected type, else from the name. */
static void scan_orig_name(enum scan_import_kind k, const char *file, char *out, size_t outlen)
{
	const char *dot = strrchr(file, '.');
	char ext[9];
	size_t n = 0;

	if (k == SCAN_IMPORT_UNKNOWN && dot != NULL) {
		for (dot++; *dot != '\0' && n < sizeof(ext) - 1; dot++) {
			char ch = *dot;

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
				break;
			ext[n++] = ch;
		}
	}
	ext[n] = '\0';
	snprintf(out, outlen, "original.%s", n > 0 && *dot == '\0' ? ext : scan_import_ext(k));
}

/*
 * Import one file of the import folder as a letter. 0 submitted, 1 quarantined
 * (the job with the original is in scan/corrupt), -1 failed (file left in place).
 */
static int scan_import_file(struct scan_ctx *cx, const char *idir, const char *name)
{
	struct scan_tiff_meta meta;
	enum scan_import_kind k;
	scan_tiff *t = NULL;
	job *j = NULL;
	json_object *src, *device, *sets, *pages = NULL;
	char id[IDENT_JOB_MAX], started[TIMEFMT_ISO_MAX], orig[32], reason[2048], why[900];
	char detail[1200], loc[160], cerr[512], sha[DIGEST_SHA256_HEX], prev[IDENT_JOB_MAX];
	char where[128];
	char *path = fio_join(idir, name), *dir = NULL, *opath = NULL, *tpath = NULL;
	int rc = -1, bad = 0, npages = 0;

	timefmt_now(started);
	if (digest_sha256_file_hex(path, sha, NULL) == -1) {
		log_error("cannot read '%s' in the import folder", name);
		goto out;
	}
	/* Captured before, but the run died before the file left the folder? */
	if (journal_import_pending(cx->jr, path, sha, prev, sizeof(prev)) == 1 &&
	    spool_find(cx->set.spool_dir, cx->set.archive_dir, prev, where, sizeof(where)) == 1) {
		log_warnx("%s: '%s' was already captured by an interrupted run (the letter is in "
			  "%s); removing it from the import folder, not importing it twice",
			  prev, name, where);
		if (unlink(path) == -1) {
			log_error("%s: cannot remove '%s' from the import folder", prev, name);
			goto out;
		}
		fio_fsync_dir(idir);
		journal_import_done(cx->jr, prev);
		if (journal_has_event(cx->jr, prev, "captured", "ok") == 0 &&
		    strcmp(where, "scan/corrupt") != 0) {
			snprintf(detail, sizeof(detail), "import '%s' (recorded after a restart)",
				 name);
			snprintf(loc, sizeof(loc), "spool/%s", where);
			scan_journal(cx, prev, "captured", "ok", "queued", loc, detail, NULL);
		}
		rc = 0;
		goto out;
	}
	ident_job_new(id);
	if (journal_import_begin(cx->jr, id, path, sha) == -1) {
		log_errorx("%s: cannot record the import of '%s' in the journal %s; it stays in "
			   "the import folder",
			   id, name, cx->set.journal_path);
		goto out;
	}
	if ((dir = spool_create(cx->scan, id)) == NULL) {
		log_error("%s: cannot create spool/scan/tmp/%s", id, id);
		goto out;
	}
	why[0] = '\0';
	k = scan_import_detect(path, why, sizeof(why));
	scan_orig_name(k, name, orig, sizeof(orig));
	opath = fio_join(dir, orig);
	if (fio_copy_file(path, opath, 0600) == -1) {
		log_error("%s: cannot copy '%s' from the import folder", id, name);
		fio_rmtree(dir);
		goto out;
	}
	log_info("%s: importing '%s' (%s)", id, name, scan_import_name(k));
	j = scan_job_new(id, dir);
	src = job_section(j, "source");
	json_object_object_add(src, "kind", json_object_new_string("import"));
	json_object_object_add(src, "device", json_object_new_string("import"));
	json_object_object_add(src, "file", json_object_new_string(name));
	json_object_object_add(src, "original", json_object_new_string(orig));
	json_object_object_add(src, "type", json_object_new_string(scan_import_name(k)));
	if (job_add_file(j, orig) == -1)
		log_panic("scan_import_file: bad original name");
	sets = json_object_new_object();
	json_object_object_add(sets, "decoder", json_object_new_string(scan_import_name(k)));
	if (k == SCAN_IMPORT_PDF)
		json_object_object_add(sets, "pdf_dpi", json_object_new_int64(cx->sc.lim.pdf_dpi));
	if (k == SCAN_IMPORT_UNKNOWN) {
		bad = 1;
	} else {
		tpath = fio_join(dir, SCAN_TIFF_NAME);
		memset(&meta, 0, sizeof(meta));
		meta.make = "import";
		meta.model = scan_import_name(k);
		meta.software = SCAN_SOFTWARE;
		meta.artist = cx->operator_name;
		meta.source = name;
		if ((t = scan_tiff_create(tpath, &meta, SCAN_TIFF_MAX_ALLOC, why, sizeof(why))) ==
		    NULL) {
			json_object_put(sets);
			log_errorx("%s: %s", id, why);
			goto fail_tmp;
		}
		/* decode the copy in the job: what is recorded is what was decoded */
		bad =
		    scan_import_decode(opath, k, &cx->sc.lim, t, sets, id, why, sizeof(why)) == -1;
		pages = scan_pages_json(t);
		npages = scan_tiff_pages(t);
		if (scan_tiff_close(t, cerr, sizeof(cerr)) == -1 && !bad) {
			t = NULL;
			json_object_put(sets);
			log_errorx("%s: cannot finish %s: %s", id, SCAN_TIFF_NAME, cerr);
			goto fail_tmp;
		}
		t = NULL;
		if (bad)
			unlink(tpath); /* our own partial product, not evidence */
	}
	device = json_object_new_object();
	json_object_object_add(device, "name", json_object_new_string("import"));
	json_object_object_add(device, "vendor", json_object_new_string("mailroom"));
	json_object_object_add(device, "model", json_object_new_string(scan_import_name(k)));
	json_object_object_add(device, "type", json_object_new_string("file import"));
	scan_capture_section(cx, j, started, device, sets, bad ? NULL : pages);
	if (!bad)
		pages = NULL;
	if (bad) {
		snprintf(reason, sizeof(reason),
			 "import of '%s' failed: %s. The file is kept here unchanged as %s; "
			 "after fixing, put the corrected file into the import folder",
			 name, why, orig);
		job_mark_stage(j, "scan", "quarantined");
		json_object_object_add(job_section(j, "capture"), "error",
				       json_object_new_string(why));
		if (job_write(j) == -1 || spool_quarantine(cx->scan, SPOOL_TMP, id, reason) == -1) {
			log_error("%s: cannot quarantine the import of '%s'", id, name);
			goto fail_tmp;
		}
		log_warnx("%s: %s; moved to spool/scan/corrupt/%s", id, reason, id);
		rc = 1;
	} else {
		if (job_add_file(j, SCAN_TIFF_NAME) == -1 || scan_submit(cx, j) == -1)
			goto fail_tmp;
		rc = 0;
	}
	/* journal first: a crash before the file leaves the folder is then recognised */
	if (rc == 0) {
		snprintf(detail, sizeof(detail), "%d page%s from import '%s' (%s)", npages,
			 npages == 1 ? "" : "s", name, scan_import_name(k));
		scan_journal(cx, id, "captured", "ok", "queued", "spool/classify/incoming", detail,
			     NULL);
		log_info("%s: %s, submitted to classify", id, detail);
	} else {
		snprintf(detail, sizeof(detail), "import '%s' (%s) cannot be decoded", name,
			 scan_import_name(k));
		snprintf(loc, sizeof(loc), "spool/scan/corrupt/%s", id);
		scan_journal(cx, id, "captured", "quarantined", "quarantined", loc, detail, reason);
	}
	/* the letter is safe in the spool: only now does the file leave the import folder */
	if (unlink(path) == -1) {
		log_error("%s: cannot remove '%s' from the import folder; it would be imported "
			  "again: remove it by hand",
			  id, name);
	} else {
		fio_fsync_dir(idir);
		journal_import_done(cx->jr, id);
	}
	goto out;
fail_tmp:
	/* not submitted: the file stays in the import folder; the job dir is our own */
	log_errorx("%s: '%s' stays in the import folder and is tried again", id, name);
	fio_rmtree(dir);
	rc = -1;
out:
	scan_tiff_close(t, NULL, 0);
	json_object_put(pages);
	job_free(j);
	free(tpath);
	free(opath);
	free(dir);
	free(path);
	return rc;
}

/* What we saw of a file in the import folder, to tell when it stops changing. */
struct scan_seen {
	char *name;
	off_t size;
	struct timespec mtime;
	time_t since; /* monotonic seconds when size/mtime were last seen changing */
	int present;
};

struct scan_watch {
	struct scan_seen *v;
	size_t n, cap;
};

/* Monotonic seconds. */
static time_t scan_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* 1 if the file has been unchanged for stable seconds (records what it saw). */
static int scan_stable(struct scan_watch *w, const char *name, const struct stat *st, long stable)
{
	struct scan_seen *s = NULL;
	time_t now = scan_mono();
	size_t i;

	for (i = 0; i < w->n; i++)
		if (strcmp(w->v[i].name, name) == 0) {
			s = &w->v[i];
			break;
		}
	if (s == NULL) {
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 16;
			w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
		}
		s = &w->v[w->n++];
		memset(s, 0, sizeof(*s));
		s->name = xstrdup(name);
		s->size = -1;
	}
	s->present = 1;
	if (s->size != st->st_size || s->mtime.tv_sec != st->st_mtim.tv_sec ||
	    s->mtime.tv_nsec != st->st_mtim.tv_nsec) {
		s->size = st->st_size;
		s->mtime = st->st_mtim;
		s->since = now;
	}
	return now - s->since >= stable;
}

/* Forget files that are gone; mark the rest absent for the next pass. */
static void scan_watch_prune(struct scan_watch *w)
{
	size_t i = 0;

	while (i < w->n) {
		if (!w->v[i].present) {
			free(w->v[i].name);
			w->v[i] = w->v[--w->n];
			continue;
		}
		w->v[i++].present = 0;
	}
}

/* Free the watch list. */
static void scan_watch_free(struct scan_watch *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->v[i].name);
	free(w->v);
	memset(w, 0, sizeof(*w));
}

/* Sort names. */
static int scan_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * One pass over the import folder: import every stable file (in name order).
 * Returns the number of files still settling, or -1 if the folder cannot be read;
 * *quarantined and *failed count this pass's outcomes.
 */
static int scan_import_pass(struct scan_ctx *cx, struct scan_watch *w, const char *idir,
			    int *quarantined, int *failed)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int pending = 0;

	if ((d = opendir(idir)) == NULL) {
		log_error("cannot read the import folder %s", idir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') /* hidden: uploads in progress, our own files */
			continue;
		if (n + 1 >= cap) {
			cap = cap ? 2 * cap : 32;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), scan_cmp);
	for (i = 0; i < n && !stage_stopping(); i++) {
		char *p = fio_join(idir, names[i]);
		struct stat st;
		int r;

		if (lstat(p, &st) == -1) {
			free(p);
			continue;
		}
		free(p);
		if (!S_ISREG(st.st_mode)) {
			if (scan_stable(w, names[i], &st, 0))
				log_debug("import: ignoring '%s': not a regular file", names[i]);
			continue;
		}
		if (!scan_stable(w, names[i], &st, cx->sc.stable_seconds)) {
			pending++;
			continue;
		}
		r = scan_import_file(cx, idir, names[i]);
		if (r == 1)
			(*quarantined)++;
		else if (r == -1)
			(*failed)++;
	}
	scan_watch_prune(w);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return pending;
}

/* --import: drain (--once) or watch the import folder. Returns an exit code. */
static int scan_import_main(struct scan_ctx *cx, const char *idir, int once)
{
	struct scan_watch w;
	int ino = -1, quarantined = 0, failed = 0, rc = EX_OK, pending;
	struct stat st;

	memset(&w, 0, sizeof(w));
	if (stat(idir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_errorx("import folder %s does not exist or is not a directory", idir);
		return EX_NOINPUT;
	}
	stage_signals();
	if (!once) {
		if ((ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1 ||
		    inotify_add_watch(ino, idir,
				      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB |
					  IN_MODIFY) == -1)
			log_warn("import: no inotify on %s; rescanning every %ld s", idir,
				 cx->set.rescan_seconds);
		log_info("watching %s for letters to import", idir);
	}
	for (;;) {
		if ((pending = scan_import_pass(cx, &w, idir, &quarantined, &failed)) == -1) {
			rc = EX_IOERR;
			break;
		}
		if (stage_stopping() || (once && pending == 0))
			break;
		if (once) {
			sleep(1); /* files still settling */
			continue;
		}
		{
			struct pollfd pfd = {.fd = ino, .events = POLLIN};
			char evbuf[4096];
			int ms = pending > 0 ? 1000 : (int)cx->set.rescan_seconds * 1000;

			if (ino == -1)
				pfd.fd = -1;
			if (poll(&pfd, 1, ms) > 0 && ino != -1) {
				while (read(ino, evbuf, sizeof(evbuf)) > 0) {
					/* drain: wake-ups are hints, the pass looks at everything
					 */
				}
			}
		}
	}
	if (ino != -1)
		close(ino);
	scan_watch_free(&w);
	if (rc == EX_OK && failed > 0)
		rc = EX_IOERR;
	else if (rc == EX_OK && quarantined > 0)
		rc = EX_DATAERR;
	return rc;
}

/* Print the usage. */
static void scan_usage(FILE *f)
{
	fprintf(f,
		"usage: mailroom-scan [-c DIR] --sane DEVICE [--source S] "
		"[--mode Gray|Color|Lineart]\n"
		"                     [--resolution N] [--depth N] [--pages N]\n"
		"                     [--sane-option name=value ...] [--operator NAME]\n"
		"       mailroom-scan [-c DIR] [--import [DIR]] [--once] [--operator NAME]\n"
		"\n"
		"  -c DIR             configuration directory (default $MAILROOM_CONF, else the\n"
		"                     source tree's conf/)\n"
		"  --sane DEVICE      scan one letter from a SANE device ('-' : device of "
		"scan.yaml)\n"
		"  --import [DIR]     import the files of DIR (default paths.import) [default]\n"
		"  --once             import: drain the folder and exit instead of watching it\n"
		"  --operator NAME    operator pseudonym (default station.operator)\n"
		"  -h, --help         this text\n");
}

/* Parse a whole number option in [min, max]; exits with EX_USAGE otherwise. */
static long scan_num(const char *opt, const char *v, long min, long max)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || l < min || l > max)
		log_fatalx(EX_USAGE, "%s '%s': expected a number %ld..%ld", opt, v, min, max);
	return l;
}

/* 1 if s is an acceptable operator pseudonym (printable ASCII, 1..64). */
static int scan_operator_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || i >= 64)
			return 0;
	return i > 0;
}

int main(int argc, char **argv)
{
	enum {
		O_SANE = 256,
		O_SOURCE,
		O_MODE,
		O_RES,
		O_DEPTH,
		O_PAGES,
		O_OPT,
		O_OPER,
		O_IMPORT,
		O_ONCE
	};
	static const struct option longopts[] = {{"sane", required_argument, NULL, O_SANE},
						 {"source", required_argument, NULL, O_SOURCE},
						 {"mode", required_argument, NULL, O_MODE},
						 {"resolution", required_argument, NULL, O_RES},
						 {"depth", required_argument, NULL, O_DEPTH},
						 {"pages", required_argument, NULL, O_PAGES},
						 {"sane-option", required_argument, NULL, O_OPT},
						 {"operator", required_argument, NULL, O_OPER},
						 {"import", no_argument, NULL, O_IMPORT},
						 {"once", no_argument, NULL, O_ONCE},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	struct scan_ctx cx;
	struct scan_sane_req rq;
	const char *options[SCAN_MAX_OPTIONS];
	const char *conf_dir = NULL, *device = NULL, *oper = NULL, *idir_arg = NULL;
	const char *source = NULL, *mode = NULL;
	long res = 0, depth = 0, pages = 0;
	int c, once = 0, import = 0, rc = EX_SOFTWARE;
	size_t nopt = 0;
	conf_err ce;
	char err[1024];
	char *idir = NULL;

	log_init("mailroom-scan");
	memset(&cx, 0, sizeof(cx));
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf_dir = optarg;
			break;
		case O_SANE:
			device = optarg;
			break;
		case O_SOURCE:
			source = optarg;
			break;
		case O_MODE:
			mode = optarg;
			break;
		case O_RES:
			res = scan_num("--resolution", optarg, 1, 4800);
			break;
		case O_DEPTH:
			depth = scan_num("--depth", optarg, 1, 16);
			break;
		case O_PAGES:
			pages = scan_num("--pages", optarg, 1, 10000);
			break;
		case O_OPT:
			if (nopt == SCAN_MAX_OPTIONS)
				log_fatalx(EX_USAGE, "at most %d --sane-option", SCAN_MAX_OPTIONS);
			options[nopt++] = optarg;
			break;
		case O_OPER:
			oper = optarg;
			break;
		case O_IMPORT:
			import = 1;
			break;
		case O_ONCE:
			once = 1;
			break;
		case 'h':
			scan_usage(stdout);
			return EX_OK;
		default:
			scan_usage(stderr);
			return EX_USAGE;
		}
	}
	if (import && optind < argc)
		idir_arg = argv[optind++];
	if (optind < argc || (device != NULL && import)) {
		scan_usage(stderr);
		return EX_USAGE;
	}
	if (device == NULL && (source || mode || res || depth || pages || nopt))
		log_fatalx(EX_USAGE, "scanner settings need --sane DEVICE");
	if (oper != NULL && !scan_operator_valid(oper))
		log_fatalx(EX_USAGE, "--operator: expected 1 to 64 printable ASCII characters");
	if (settings_load(conf_dir, &cx.set, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		return EX_CONFIG;
	}
	if (scan_conf_load(cx.set.conf_dir, &cx.sc, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		rc = EX_CONFIG;
		goto out;
	}
	cx.operator_name = oper != NULL ? oper : cx.set.operator_name;
	if ((cx.jr = journal_open(cx.set.journal_path, err, sizeof(err))) == NULL) {
		log_errorx("journal: %s", err);
		rc = EX_TEMPFAIL;
		goto out;
	}
	if ((cx.scan = spool_open(cx.set.spool_dir, "scan")) == NULL ||
	    (cx.classify = spool_open(cx.set.spool_dir, "classify")) == NULL) {
		log_error("spool %s", cx.set.spool_dir);
		rc = EX_CANTCREAT;
		goto out;
	}
	/* XXX one lock for both modes: a watching import holds off a --sane run */
	if (spool_lock(cx.scan) == -1) {
		if (errno == EWOULDBLOCK)
			log_errorx(
			    "another mailroom-scan is running (lock %s/scan/.lock); wait for "
			    "it to finish",
			    cx.set.spool_dir);
		else
			log_error("cannot lock %s/scan/.lock", cx.set.spool_dir);
		rc = EX_TEMPFAIL;
		goto out;
	}
	if (scan_recover_tmp(&cx) == -1) {
		rc = EX_IOERR;
		goto out;
	}
	if (device != NULL) {
		memset(&rq, 0, sizeof(rq));
		rq.device = strcmp(device, "-") == 0 ? cx.sc.device : device;
		if (rq.device == NULL) {
			log_errorx("--sane -: no 'device' in %s/scan.yaml", cx.set.conf_dir);
			rc = EX_CONFIG;
			goto out;
		}
		rq.given =
		    (source ? SCAN_SANE_GIVEN_SOURCE : 0) | (mode ? SCAN_SANE_GIVEN_MODE : 0) |
		    (res ? SCAN_SANE_GIVEN_RESOLUTION : 0) | (depth ? SCAN_SANE_GIVEN_DEPTH : 0);
		rq.source = source ? source : cx.sc.source;
		rq.mode = mode ? mode : cx.sc.mode;
		rq.resolution = res ? res : cx.sc.resolution;
		rq.depth = depth ? depth : cx.sc.depth;
		rq.pages = pages;
		rq.max_pages = cx.sc.capture_max_pages;
		rq.timeout_seconds = cx.sc.timeout_seconds;
		rq.options = options;
		rq.n_options = nopt;
		rc = scan_sane_main(&cx, &rq);
	} else {
		if (idir_arg != NULL) {
			idir = xstrdup(idir_arg);
		} else {
			idir = xstrdup(cx.set.import_dir);
			if (fio_mkdirs(idir, 0700) == -1) {
				log_error("cannot create the import folder %s", idir);
				rc = EX_CANTCREAT;
				goto out;
			}
		}
		rc = scan_import_main(&cx, idir, once);
	}
out:
	free(idir);
	spool_close(cx.classify);
	spool_close(cx.scan);
	journal_close(cx.jr);
	scan_conf_free(&cx.sc);
	settings_free(&cx.set);
	return rc;
}
