/*
 * scan.c - mailroom-scan: the pipeline's producer. Paper comes in through a SANE
 * scanner, digital mail through the import folder; each letter becomes a new job
 * (scan.tiff + job.json, plus the original file of an import) that is handed to
 * the classify stage.
 *
 * SYNOPSIS
 *	mailroom-scan [-c DIR] --sane DEVICE [--batch] [--profile NAME] [--source S]
 *		[--mode Color|Gray|Lineart] [--resolution N] [--depth N] [--page-size A4]
 *		[--pages N] [--separation separator|pages:N|blank|none] [--duplex-frames]
 *		[--sane-option name=value ...] [--sheet-option SHEET:name=value ...]
 *		[--interactive] [--on-fault ask|wait-for-resume|stop] [--control FIFO]
 *		[--json] [--operator NAME]
 *	mailroom-scan [-c DIR] --list [--json] | --list-options DEVICE
 *	mailroom-scan [-c DIR] --release
 *	mailroom-scan [-c DIR] [--import [DIR]] [--once] [--operator NAME]
 *
 *	--sane scans from a SANE device in a device process (scan_device.c) that is
 *	killed when the backend hangs or crashes. Without --batch all pages of the run
 *	(flatbed: one page or --pages; feeder: until it is empty) form one letter. With
 *	--batch, or a --profile whose source is a feeder, the stack is a batch
 *	(scan_batch.h): scanned until the feeder is empty, simplex or duplex, split
 *	into documents by separator sheets, a page count or blank sheets, every
 *	document a letter; faults are reported to the operator with what to do, and
 *	the batch goes on with no page lost or doubled. Settings: command line, then
 *	the profile (scan.yaml profiles), then scan.yaml defaults (which a device
 *	without that option ignores). A fault is handled as --on-fault says; the
 *	default is ask on a terminal (or with --interactive), else capture.on_fault.
 *	--list and --list-options show the devices SANE finds and a device's options.
 *	--release (and every start) releases what `mailroom requeue` put back after a
 *	review (held batches and letters, see scan_batch_release).
 *	--import (the default mode) takes every regular file in the import folder
 *	(default paths.import of mailroom.yaml) as one letter once its size and mtime
 *	have been unchanged for import.stable_seconds; with --once it drains the
 *	folder and exits, otherwise it keeps watching (inotify plus a rescan every
 *	daemon.rescan_seconds).
 *	Settings: conf/scan.yaml (sane_config_dir, device, defaults, capture, batch,
 *	profiles, import).
 *
 * SPOOL DIRECTORIES
 *	spool/scan/tmp/<id>	built here: scan.tiff, original.<ext>, job.json; a scan
 *				batch: pages/, letters/<id>/, batch.json
 *	spool/classify/incoming/<id>	where finished letters are submitted
 *	spool/scan/batches/<batch>	the record of every finished batch: batch.json
 *				and every page image (dropped and separator pages too)
 *	spool/scan/corrupt/<id>	imports that cannot be decoded (with the original
 *				and QUARANTINE.txt), batches held for review, the
 *				incomplete last letter of a stack ended by a fault, and
 *				jobs a crashed run left in tmp/
 *	spool/scan/incoming/<id>	what `mailroom requeue` released from corrupt/;
 *				submitted at the next start
 *	spool/scan/.lock	one mailroom-scan at a time
 *	journal.db		event "captured" per letter (outcome ok or quarantined),
 *				"held"/"released" per batch held for review;
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
 *	trusted as far as its announced geometry, which is checked; the device
 *	process's messages are framed and bounded. No key material is handled here;
 *	document content is never logged.
 *
 * EXIT STATUS
 *	0		every letter was submitted to classify
 *	EX_USAGE	bad command line
 *	EX_DATAERR	--import --once: at least one file could not be decoded; it is
 *			in spool/scan/corrupt/<id> with the reason (the other files went
 *			on); --batch: the batch is held for review in spool/scan/corrupt
 *	EX_NOINPUT	the import folder given does not exist
 *	EX_UNAVAILABLE	the scanner cannot be opened or refused a setting
 *	EX_IOERR	the scanner faulted and the scan was not continued (pages
 *			finished before the fault were kept, as the messages say), or a
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

#include "scan_batch.h"
#include "scan_import.h"
#include "scan_job.h"
#include "scan_profile.h"

#define SCAN_MAX_OPTIONS 32

/* Everything a run needs. */
struct scan_ctx {
	settings set;
	struct scan_conf sc;
	struct scan_env env;
};

/* Move job directories a crashed run left in tmp/ to corrupt/ (never deleted). */
static int scan_recover_tmp(struct scan_ctx *cx)
{
	static const char reason[] =
	    "left in spool/scan/tmp by an interrupted mailroom-scan run (crash, kill or power "
	    "loss); it was never submitted. Compare it with the paper or the import folder: "
	    "rescan or re-import the letter if it did not go through, then remove this "
	    "directory";
	char **ids = spool_list(cx->env.scan, SPOOL_TMP, 0, NULL);
	char loc[128];
	int i;

	if (ids == NULL) {
		log_error("cannot list %s", spool_dir(cx->env.scan, SPOOL_TMP));
		return -1;
	}
	for (i = 0; ids[i] != NULL; i++) {
		char ipath[4096], isha[DIGEST_SHA256_HEX], now_sha[DIGEST_SHA256_HEX];

		/* An unfinished import whose file is still, unchanged, in the import
		 * folder: the job is a partial copy of it, the file will be imported
		 * again, so the copy goes (keeping it would make the letter twice). */
		if (journal_import_of(cx->env.jr, ids[i], ipath, sizeof(ipath), isha,
				      sizeof(isha)) == 1 &&
		    digest_sha256_file_hex(ipath, now_sha, NULL) == 0 &&
		    strcmp(isha, now_sha) == 0) {
			char *tdir = spool_path(cx->env.scan, SPOOL_TMP, ids[i]);

			if (fio_rmtree(tdir) == 0) {
				fio_fsync_dir(spool_dir(cx->env.scan, SPOOL_TMP));
				journal_import_done(cx->env.jr, ids[i]);
				log_info("%s: removed the unfinished import of '%s' left by an "
					 "interrupted run; the file is still in the import folder "
					 "and is imported again",
					 ids[i], ipath);
				free(tdir);
				continue;
			}
			free(tdir);
		}
		if (spool_quarantine(cx->env.scan, SPOOL_TMP, ids[i], reason) == -1) {
			log_error("%s: cannot move the leftover from scan/tmp to scan/corrupt",
				  ids[i]);
			continue;
		}
		log_warnx("%s: %s; moved to spool/scan/corrupt", ids[i], reason);
		snprintf(loc, sizeof(loc), "spool/scan/corrupt/%s", ids[i]);
		scan_job_journal(&cx->env, ids[i], "recovered", "quarantined", "quarantined", loc,
				 "unfinished job of an interrupted run", reason);
	}
	spool_list_free(ids);
	return 0;
}

/* What the command line says about a SANE scan. */
struct scan_cli {
	const char *device, *profile, *source, *mode, *page_size, *separation;
	const char *on_fault, *control;
	long res, depth, pages;
	int batch, duplex_frames, interactive, json;
	const char *options[SCAN_MAX_OPTIONS];
	size_t nopt;
	struct scan_device_sheetopt sheetopts[SCAN_DEVICE_MAX_SHEETOPTS];
	size_t nsheet;
};

/* --sane: scan one letter or one batch. Returns an exit code. */
static int scan_sane_main(struct scan_ctx *cx, const struct scan_cli *cl)
{
	const struct scan_profile *pr = NULL;
	struct scan_batch_cfg bc;
	json_object *extra;
	char mode[32];
	int rc;

	if (cx->sc.sane_config_dir != NULL && getenv("SANE_CONFIG_DIR") == NULL)
		setenv("SANE_CONFIG_DIR", cx->sc.sane_config_dir, 1);
	if (cl->profile != NULL && (pr = scan_profile_find(&cx->sc, cl->profile)) == NULL) {
		log_errorx("--profile %s: no such profile in %s/scan.yaml (profiles: %s)",
			   cl->profile, cx->set.conf_dir, scan_profile_names(&cx->sc));
		return EX_USAGE;
	}
	memset(&bc, 0, sizeof(bc));
	if (scan_profile_apply(&cx->sc, pr, &bc) == -1)
		return EX_CONFIG;
	bc.rq.device = strcmp(cl->device, "-") == 0 ? cx->sc.device : cl->device;
	if (bc.rq.device == NULL) {
		log_errorx("--sane -: no 'device' in %s/scan.yaml", cx->set.conf_dir);
		return EX_CONFIG;
	}
	if (cl->source) {
		bc.rq.source = cl->source;
		bc.rq.given |= SCAN_SANE_GIVEN_SOURCE;
	}
	if (cl->mode) {
		bc.rq.mode = cl->mode;
		bc.rq.given |= SCAN_SANE_GIVEN_MODE;
	}
	if (cl->res) {
		bc.rq.resolution = cl->res;
		bc.rq.given |= SCAN_SANE_GIVEN_RESOLUTION;
	}
	if (cl->depth) {
		bc.rq.depth = cl->depth;
		bc.rq.given |= SCAN_SANE_GIVEN_DEPTH;
	}
	if (cl->page_size) {
		if (scan_sane_page_size(cl->page_size, &bc.rq.page_w, &bc.rq.page_h) == -1) {
			log_errorx(
			    "--page-size '%s': expected A3, A4, A5, A6, B5, Letter, Legal or "
			    "WxH in mm (e.g. 210x297)",
			    cl->page_size);
			return EX_USAGE;
		}
		bc.rq.given |= SCAN_SANE_GIVEN_PAGE;
	}
	bc.rq.options = cl->options;
	bc.rq.n_options = cl->nopt;
	bc.pages = cl->pages;
	bc.sheetopts = cl->sheetopts;
	bc.n_sheetopts = cl->nsheet;
	if (cl->duplex_frames)
		bc.duplex_frames = 1;
	if (cl->separation != NULL && scan_separate_mode_parse(cl->separation, &bc.sep) == -1) {
		log_errorx("--separation '%s': expected separator, pages:N, blank or none",
			   cl->separation);
		return EX_USAGE;
	}
	bc.batch = cl->batch || cl->separation != NULL ||
		   (pr != NULL && (scan_sane_source_class(pr->source) == SCAN_SANE_SRC_ADF ||
				   scan_sane_source_class(pr->source) == SCAN_SANE_SRC_DUPLEX));
	if (!bc.batch) {
		/* one letter: every page belongs to it, none is dropped as blank */
		bc.page.blank_drop = 0;
		if (bc.page.blank_flag < 0)
			bc.page.blank_flag = 0;
	}
	if (cl->on_fault != NULL) {
		if (strcmp(cl->on_fault, "ask") == 0)
			bc.on_fault = SCAN_FAULT_ASK;
		else if (strcmp(cl->on_fault, "wait-for-resume") == 0 ||
			 strcmp(cl->on_fault, "wait") == 0)
			bc.on_fault = SCAN_FAULT_WAIT;
		else if (strcmp(cl->on_fault, "stop") == 0)
			bc.on_fault = SCAN_FAULT_STOP;
		else {
			log_errorx("--on-fault '%s': expected ask, wait-for-resume or stop",
				   cl->on_fault);
			return EX_USAGE;
		}
	} else if (cl->interactive || isatty(STDIN_FILENO)) {
		bc.on_fault = SCAN_FAULT_ASK;
	} else {
		bc.on_fault = cx->sc.on_fault;
	}
	bc.control = cl->control != NULL ? cl->control : cx->sc.control;
	bc.json = cl->json;
	bc.progress = isatty(STDERR_FILENO);
	extra = json_object_new_object();
	if (pr != NULL)
		json_object_object_add(extra, "profile", json_object_new_string(pr->name));
	json_object_object_add(extra, "compression",
			       json_object_new_string(scan_profile_comp_name(bc.compression)));
	if (bc.compression == SCAN_TIFF_JPEG)
		json_object_object_add(extra, "jpeg_quality", json_object_new_int(bc.quality));
	if (bc.batch) {
		scan_separate_mode_name(&bc.sep, mode, sizeof(mode));
		json_object_object_add(extra, "separation", json_object_new_string(mode));
		json_object_object_add(extra, "blank_drop",
				       json_object_new_double(bc.page.blank_drop));
		json_object_object_add(extra, "blank_flag",
				       json_object_new_double(bc.page.blank_flag));
		if (bc.sep.max_document_pages > 0)
			json_object_object_add(extra, "max_document_pages",
					       json_object_new_int64(bc.sep.max_document_pages));
	}
	if (bc.rq.page_w > 0) {
		char ps[64];

		snprintf(ps, sizeof(ps), "%gx%g mm", bc.rq.page_w, bc.rq.page_h);
		json_object_object_add(extra, "page_size", json_object_new_string(ps));
	}
	bc.extra_settings = extra;
	rc = scan_batch_run(&cx->env, &bc);
	json_object_put(extra);
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
 * A PDF that carries electronic signatures: record them (capture.signed_original) and
 * tell the Transfervermerk (capture.anomalies) that the signed file itself is the
 * original, attached unchanged; the rendered pages are only its image. Returns the
 * number of signatures (0: none, or the check failed, which is logged).
 */
static int scan_signed_original(job *j, const char *id, const char *opath, const char *orig)
{
	json_object *sig = NULL, *c = job_section(j, "capture"), *an, *a, *f, *v;
	char err[512], text[600], who[200];
	size_t k = 0, i, n;
	int nsig;

	if (scan_import_pdf_signatures(opath, &sig, err, sizeof(err)) == -1) {
		log_warnx("%s: cannot check the PDF for signatures: %s", id, err);
		return 0;
	}
	if (sig == NULL)
		return 0;
	nsig = json_object_object_get_ex(sig, "signatures", &v) ? json_object_get_int(v) : 1;
	json_object_object_add(c, "signed_original", sig);
	who[0] = '\0';
	json_object_object_get_ex(sig, "fields", &f);
	n = f ? json_object_array_length(f) : 0;
	for (i = 0; i < n && k < sizeof(who); i++) {
		json_object *fi = json_object_array_get_idx(f, i), *s, *st;

		k += (size_t)snprintf(
		    who + k, sizeof(who) - k, "%s%s (%s)", i ? ", " : "",
		    json_object_object_get_ex(fi, "signer", &s) ? json_object_get_string(s)
								: "Unterzeichner unbekannt",
		    json_object_object_get_ex(fi, "status", &st) ? json_object_get_string(st)
								 : "?");
	}
	snprintf(text, sizeof(text),
		 "Elektronisch signiertes Original (%d Signatur%s%s%s): die signierte Datei ist "
		 "das Original und liegt unverändert bei (%s); die Seitenbilder sind nur ihre "
		 "Wiedergabe",
		 nsig, nsig == 1 ? "" : "en", who[0] ? ": " : "", who, orig);
	if (!json_object_object_get_ex(c, "anomalies", &an)) {
		an = json_object_new_array();
		json_object_object_add(c, "anomalies", an);
	}
	a = json_object_new_object();
	json_object_object_add(a, "kind", json_object_new_string("signatur"));
	json_object_object_add(a, "text", json_object_new_string(text));
	json_object_array_add(an, a);
	log_info("%s: the PDF carries %d electronic signature%s%s%s; it is kept byte for byte "
		 "as the original",
		 id, nsig, nsig == 1 ? "" : "s", who[0] ? ": " : "", who);
	return nsig;
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
	int rc = -1, bad = 0, npages = 0, nsig = 0;

	timefmt_now(started);
	if (digest_sha256_file_hex(path, sha, NULL) == -1) {
		log_error("cannot read '%s' in the import folder", name);
		goto out;
	}
	/* Captured before, but the run died before the file left the folder? */
	if (journal_import_pending(cx->env.jr, path, sha, prev, sizeof(prev)) == 1 &&
	    spool_find(cx->set.spool_dir, cx->set.archive_dir, prev, where, sizeof(where)) == 1) {
		log_warnx("%s: '%s' was already captured by an interrupted run (the letter is in "
			  "%s); removing it from the import folder, not importing it twice",
			  prev, name, where);
		if (unlink(path) == -1) {
			log_error("%s: cannot remove '%s' from the import folder", prev, name);
			goto out;
		}
		fio_fsync_dir(idir);
		journal_import_done(cx->env.jr, prev);
		if (journal_has_event(cx->env.jr, prev, "captured", "ok") == 0 &&
		    strcmp(where, "scan/corrupt") != 0) {
			snprintf(detail, sizeof(detail), "import '%s' (recorded after a restart)",
				 name);
			snprintf(loc, sizeof(loc), "spool/%s", where);
			scan_job_journal(&cx->env, prev, "captured", "ok", "queued", loc, detail,
					 NULL);
		} else if (strcmp(where, "scan/corrupt") == 0 &&
			   journal_has_event(cx->env.jr, prev, "captured", "quarantined") == 0) {
			/* the run died between the quarantine and its event */
			if (spool_reason(cx->env.scan, prev, reason, sizeof(reason)) == -1)
				snprintf(reason, sizeof(reason), "see QUARANTINE.txt");
			snprintf(detail, sizeof(detail),
				 "import '%s' cannot be decoded (recorded after a restart)", name);
			snprintf(loc, sizeof(loc), "spool/scan/corrupt/%s", prev);
			scan_job_journal(&cx->env, prev, "captured", "quarantined", "quarantined",
					 loc, detail, reason);
		}
		rc = 0;
		goto out;
	}
	ident_job_new(id);
	if (journal_import_begin(cx->env.jr, id, path, sha) == -1) {
		log_errorx("%s: cannot record the import of '%s' in the journal %s; it stays in "
			   "the import folder",
			   id, name, cx->set.journal_path);
		goto out;
	}
	if ((dir = spool_create(cx->env.scan, id)) == NULL) {
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
		meta.artist = cx->env.operator_name;
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
		if (bad && scan_tiff_io_errno(t) != 0) {
			/* our own write failed (disk full, I/O error): not the file's fault,
			 * so not quarantined; it stays in the import folder */
			int e = scan_tiff_io_errno(t);

			json_object_put(sets);
			log_errorx("%s: cannot write %s in %s: %s%s%s", id, SCAN_TIFF_NAME, dir,
				   strerror(e), e == ENOSPC ? "; free space in " : "",
				   e == ENOSPC ? cx->set.spool_dir : "");
			goto fail_tmp;
		}
		pages = scan_job_pages(t);
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
	scan_job_capture(&cx->env, j, started, device, sets, bad ? NULL : pages);
	if (!bad)
		pages = NULL;
	if (!bad && k == SCAN_IMPORT_PDF)
		nsig = scan_signed_original(j, id, opath, orig);
	if (bad) {
		snprintf(reason, sizeof(reason),
			 "import of '%s' failed: %s. The file is kept here unchanged as %s; "
			 "after fixing, put the corrected file into the import folder",
			 name, why, orig);
		job_mark_stage(j, "scan", "quarantined");
		json_object_object_add(job_section(j, "capture"), "error",
				       json_object_new_string(why));
		if (job_write(j) == -1 ||
		    spool_quarantine(cx->env.scan, SPOOL_TMP, id, reason) == -1) {
			log_error("%s: cannot quarantine the import of '%s'", id, name);
			goto fail_tmp;
		}
		log_warnx("%s: %s; moved to spool/scan/corrupt/%s", id, reason, id);
		rc = 1;
	} else {
		if (job_add_file(j, SCAN_TIFF_NAME) == -1 || scan_job_submit(&cx->env, j) == -1)
			goto fail_tmp;
		rc = 0;
	}
	/* journal first: a crash before the file leaves the folder is then recognised */
	if (rc == 0) {
		snprintf(detail, sizeof(detail), "%d page%s from import '%s' (%s%s)", npages,
			 npages == 1 ? "" : "s", name, scan_import_name(k),
			 nsig > 0 ? ", electronically signed: kept byte for byte" : "");
		scan_job_journal(&cx->env, id, "captured", "ok", "queued",
				 "spool/classify/incoming", detail, NULL);
		log_info("%s: %s, submitted to classify", id, detail);
	} else {
		snprintf(detail, sizeof(detail), "import '%s' (%s) cannot be decoded", name,
			 scan_import_name(k));
		snprintf(loc, sizeof(loc), "spool/scan/corrupt/%s", id);
		scan_job_journal(&cx->env, id, "captured", "quarantined", "quarantined", loc,
				 detail, reason);
	}
	/* the letter is safe in the spool: only now does the file leave the import folder */
	if (unlink(path) == -1) {
		log_error("%s: cannot remove '%s' from the import folder; it would be imported "
			  "again: remove it by hand",
			  id, name);
	} else {
		fio_fsync_dir(idir);
		journal_import_done(cx->env.jr, id);
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
		if (S_ISDIR(st.st_mode)) {
			if (scan_stable(w, names[i], &st, 0))
				log_debug("import: ignoring '%s': a directory", names[i]);
			continue;
		}
		if (!S_ISREG(st.st_mode) || st.st_nlink > 1) {
			/* a link could make us import (and deliver) a file from elsewhere */
			if (scan_stable(w, names[i], &st, 0))
				log_warnx("import: refusing '%s': %s; it stays in the folder and "
					  "nothing is read through it. Put the file itself there",
					  names[i],
					  S_ISLNK(st.st_mode) ? "a symbolic link"
					  : !S_ISREG(st.st_mode)
					      ? "not a regular file"
					      : "a hard link to a file elsewhere");
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
	fprintf(
	    f,
	    "usage: mailroom-scan [-c DIR] --sane DEVICE [--batch] [--profile NAME]\n"
	    "                     [--source Flatbed|ADF|ADF Duplex] [--mode Color|Gray|Lineart]\n"
	    "                     [--resolution N] [--depth N] [--page-size A4|WxH] [--pages N]\n"
	    "                     [--separation separator|pages:N|blank|none] [--duplex-frames]\n"
	    "                     [--sane-option name=value ...] [--sheet-option SHEET:name=value "
	    "...]\n"
	    "                     [--interactive] [--on-fault ask|wait-for-resume|stop]\n"
	    "                     [--control FIFO] [--json] [--operator NAME]\n"
	    "       mailroom-scan [-c DIR] --list [--json] | --list-options DEVICE\n"
	    "       mailroom-scan [-c DIR] --release\n"
	    "       mailroom-scan [-c DIR] [--import [DIR]] [--once] [--operator NAME]\n"
	    "\n"
	    "  -c DIR             configuration directory (default $MAILROOM_CONF, else the\n"
	    "                     source tree's conf/)\n"
	    "  --sane DEVICE      scan from a SANE device ('-' : device of scan.yaml)\n"
	    "  --batch            a stack: until the feeder is empty, split into documents\n"
	    "  --profile NAME     scan profile of scan.yaml (a feeder profile means --batch)\n"
	    "  --separation S     how a batch is split (default: the profile's)\n"
	    "  --duplex-frames    take frames as front and back (duplex set at the device)\n"
	    "  --sheet-option S:O set SANE option O=value before sheet S (tests: jam, blank)\n"
	    "  --interactive      ask the operator after a fault (default on a terminal)\n"
	    "  --on-fault M       after a fault: ask, wait-for-resume (SIGUSR1 or 'continue'\n"
	    "                     on the control FIFO) or stop (default capture.on_fault)\n"
	    "  --json             one JSON event per line on stdout (station interface)\n"
	    "  --list             the devices SANE finds; --list-options DEVICE its options\n"
	    "  --release          submit what 'mailroom requeue' released after a review\n"
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
		O_ONCE,
		O_BATCH,
		O_PROFILE,
		O_PAGESIZE,
		O_SEPARATION,
		O_DUPLEXF,
		O_SHEETOPT,
		O_INTERACTIVE,
		O_ONFAULT,
		O_CONTROL,
		O_JSON,
		O_LIST,
		O_LISTOPT,
		O_RELEASE
	};
	static const struct option longopts[] = {
	    {"sane", required_argument, NULL, O_SANE},
	    {"source", required_argument, NULL, O_SOURCE},
	    {"mode", required_argument, NULL, O_MODE},
	    {"resolution", required_argument, NULL, O_RES},
	    {"depth", required_argument, NULL, O_DEPTH},
	    {"pages", required_argument, NULL, O_PAGES},
	    {"sane-option", required_argument, NULL, O_OPT},
	    {"operator", required_argument, NULL, O_OPER},
	    {"import", no_argument, NULL, O_IMPORT},
	    {"once", no_argument, NULL, O_ONCE},
	    {"batch", no_argument, NULL, O_BATCH},
	    {"profile", required_argument, NULL, O_PROFILE},
	    {"page-size", required_argument, NULL, O_PAGESIZE},
	    {"separation", required_argument, NULL, O_SEPARATION},
	    {"duplex-frames", no_argument, NULL, O_DUPLEXF},
	    {"sheet-option", required_argument, NULL, O_SHEETOPT},
	    {"interactive", no_argument, NULL, O_INTERACTIVE},
	    {"on-fault", required_argument, NULL, O_ONFAULT},
	    {"control", required_argument, NULL, O_CONTROL},
	    {"json", no_argument, NULL, O_JSON},
	    {"list", no_argument, NULL, O_LIST},
	    {"list-options", required_argument, NULL, O_LISTOPT},
	    {"release", no_argument, NULL, O_RELEASE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct scan_ctx cx;
	struct scan_cli cl;
	const char *conf_dir = NULL, *oper = NULL, *idir_arg = NULL, *list_dev = NULL;
	int c, once = 0, import = 0, list = 0, release = 0, rc = EX_SOFTWARE, n;
	conf_err ce;
	char err[1024];
	char *idir = NULL;

	log_init("mailroom-scan");
	memset(&cx, 0, sizeof(cx));
	memset(&cl, 0, sizeof(cl));
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf_dir = optarg;
			break;
		case O_SANE:
			cl.device = optarg;
			break;
		case O_SOURCE:
			cl.source = optarg;
			break;
		case O_MODE:
			cl.mode = optarg;
			break;
		case O_RES:
			cl.res = scan_num("--resolution", optarg, 1, 4800);
			break;
		case O_DEPTH:
			cl.depth = scan_num("--depth", optarg, 1, 16);
			break;
		case O_PAGES:
			cl.pages = scan_num("--pages", optarg, 1, 10000);
			break;
		case O_OPT:
			if (cl.nopt == SCAN_MAX_OPTIONS)
				log_fatalx(EX_USAGE, "at most %d --sane-option", SCAN_MAX_OPTIONS);
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				log_fatalx(EX_USAGE, "--sane-option '%s': expected name=value",
					   optarg);
			cl.options[cl.nopt++] = optarg;
			break;
		case O_SHEETOPT:
			if (cl.nsheet == SCAN_DEVICE_MAX_SHEETOPTS)
				log_fatalx(EX_USAGE, "at most %d --sheet-option",
					   SCAN_DEVICE_MAX_SHEETOPTS);
			if (scan_device_sheetopt_parse(optarg, &cl.sheetopts[cl.nsheet], err,
						       sizeof(err)) == -1)
				log_fatalx(EX_USAGE, "%s", err);
			cl.nsheet++;
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
		case O_BATCH:
			cl.batch = 1;
			break;
		case O_PROFILE:
			cl.profile = optarg;
			break;
		case O_PAGESIZE:
			cl.page_size = optarg;
			break;
		case O_SEPARATION:
			cl.separation = optarg;
			break;
		case O_DUPLEXF:
			cl.duplex_frames = 1;
			break;
		case O_INTERACTIVE:
			cl.interactive = 1;
			break;
		case O_ONFAULT:
			cl.on_fault = optarg;
			break;
		case O_CONTROL:
			cl.control = optarg;
			break;
		case O_JSON:
			cl.json = 1;
			break;
		case O_LIST:
			list = 1;
			break;
		case O_LISTOPT:
			list_dev = optarg;
			break;
		case O_RELEASE:
			release = 1;
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
	if (optind < argc || (cl.device != NULL && (import || list || list_dev || release)) ||
	    ((list || list_dev) && (import || release)) || (release && import)) {
		scan_usage(stderr);
		return EX_USAGE;
	}
	if (cl.device == NULL &&
	    (cl.source || cl.mode || cl.res || cl.depth || cl.pages || cl.nopt || cl.batch ||
	     cl.profile || cl.page_size || cl.separation || cl.duplex_frames || cl.nsheet ||
	     cl.interactive || cl.on_fault || cl.control || (cl.json && !list)))
		log_fatalx(EX_USAGE, "scanner settings need --sane DEVICE");
	if (oper != NULL && !scan_operator_valid(oper))
		log_fatalx(EX_USAGE, "--operator: expected 1 to 64 printable ASCII characters");
	if (settings_load(conf_dir, &cx.set, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		return EX_CONFIG;
	}
	if (scan_conf_load(cx.set.conf_dir, &cx.set, &cx.sc, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		rc = EX_CONFIG;
		goto out;
	}
	if (list || list_dev) {
		if (cx.sc.sane_config_dir != NULL && getenv("SANE_CONFIG_DIR") == NULL)
			setenv("SANE_CONFIG_DIR", cx.sc.sane_config_dir, 1);
		if ((list ? scan_sane_list(stdout, cl.json, err, sizeof(err))
			  : scan_sane_list_options(list_dev, stdout, err, sizeof(err))) == -1) {
			log_errorx("%s", err);
			rc = EX_UNAVAILABLE;
		} else {
			rc = EX_OK;
		}
		goto out;
	}
	cx.env.set = &cx.set;
	cx.env.operator_name = oper != NULL ? oper : cx.set.operator_name;
	if ((cx.env.jr = journal_open(cx.set.journal_path, err, sizeof(err))) == NULL) {
		log_errorx("journal: %s", err);
		rc = EX_TEMPFAIL;
		goto out;
	}
	if ((cx.env.scan = spool_open(cx.set.spool_dir, "scan")) == NULL ||
	    (cx.env.classify = spool_open(cx.set.spool_dir, "classify")) == NULL) {
		log_error("spool %s", cx.set.spool_dir);
		rc = EX_CANTCREAT;
		goto out;
	}
	/* XXX one lock for both modes: a watching import holds off a --sane run */
	if (spool_lock(cx.env.scan) == -1) {
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
	/* what an operator released after a review goes on now */
	n = scan_batch_release(&cx.env);
	if (release) {
		rc = n >= 0 ? EX_OK : EX_IOERR;
		if (n >= 0)
			log_info("released %d letter%s", n, n == 1 ? "" : "s");
		goto out;
	}
	if (cl.device != NULL) {
		rc = scan_sane_main(&cx, &cl);
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
	spool_close(cx.env.classify);
	spool_close(cx.env.scan);
	journal_close(cx.env.jr);
	scan_conf_free(&cx.sc);
	settings_free(&cx.set);
	return rc;
}
