/*
 * scan_batch.h - the scanning station's engine: a stack of sheets from a SANE
 * scanner becomes correctly separated letters, with no page lost or doubled.
 *
 * A batch runs the scanner in a device process (scan_device.h), restarted after
 * every fault, and streams each page into its own file in the batch directory
 * (spool/scan/tmp/<batch>/pages/pNNNNNN.tif, lossless), so memory does not grow
 * with the stack. After each page: page analysis (scan_page.h: blank score,
 * separator code, orientation); after each sheet (both sides in duplex): the
 * splitter (scan_separate.h). A finished document becomes a letter at once
 * (letters/<id>/: scan.tiff in the profile's compression with the pages in order
 * and upright, job.json with the capture metadata of every page); letters are
 * submitted to classify when the batch ends and passed the plausibility checks.
 *
 * Faults (JAMMED, COVER_OPEN, DEVICE_BUSY, IO_ERROR, NO_DOCS after a start, a
 * hang, a crash of the backend): the page being scanned is discarded, and in
 * duplex the front of its sheet too (the whole sheet is fed again); the pages
 * before are kept. The operator is told what happened and what to do, in German
 * ("Papierstau bei Blatt 23: Stau beheben, Blatt 23 und folgende wieder einlegen,
 * Enter = weiter, q = Stapel beenden"); on "weiter" a new device process starts at
 * the same sheet and the re-fed sheet takes the place of the discarded pages.
 * on_fault: ask (a terminal), wait (SIGUSR1 or "continue" on the control FIFO go
 * on; SIGUSR2 or "stop" end the stack), stop (end the stack at once).
 *
 * When the batch ends: a batch with a plausibility problem (separator out of
 * sequence, unreadable separator, document longer than allowed) is held for
 * review as a whole in spool/scan/corrupt/<batch> with QUARANTINE.txt; `mailroom
 * requeue <batch>` releases its letters (scan_batch_release) after the operator
 * checked the stack. Otherwise every letter goes to spool/classify/incoming, except
 * the last document of a stack ended by a fault, which is incomplete and held alone
 * in spool/scan/corrupt/<letter>. The batch record (batch.json, every page image)
 * stays in spool/scan/batches/<batch>. Without batch (a single letter, the old
 * --sane): all pages form one letter; after a fault it is submitted marked
 * incomplete (capture.complete false, capture.fault).
 *
 * Progress: a status line on a terminal (pages, documents, pages/min, warnings);
 * with json one JSON event per line on stdout: batch-start, device, page,
 * document, problem, fault, resume, stop, batch-end.
 */
#ifndef MAILROOM_SCAN_BATCH_H
#define MAILROOM_SCAN_BATCH_H

#include <stddef.h>

#include <json-c/json.h>

#include "scan_device.h"
#include "scan_job.h"
#include "scan_page.h"
#include "scan_sane.h"
#include "scan_separate.h"
#include "scan_tiff.h"

enum scan_fault_mode { SCAN_FAULT_ASK, SCAN_FAULT_WAIT, SCAN_FAULT_STOP };

struct scan_batch_cfg {
	struct scan_sane_req rq; /* the device and its settings */
	long pages;		 /* frames to scan (0: flatbed 1, feeder until empty) */
	long max_pages;		 /* hard limit of a batch (capture.max_pages) */
	double timeout;		 /* seconds without data: the backend hangs */
	double cancel_grace;	 /* seconds the device process gets to stop */
	int duplex_frames;	 /* frames are front, back though the device does not say so */
	const struct scan_device_sheetopt *sheetopts;
	size_t n_sheetopts;
	enum scan_tiff_comp compression; /* gray and colour pages of the letters */
	int quality;			 /* JPEG quality */
	struct scan_page_cfg page;	 /* analysis */
	int batch;			 /* 1: a stack separated into documents */
	struct scan_sep_cfg sep;	 /* how (batch only) */
	const char *profile;		 /* profile name, or NULL */
	json_object *extra_settings;	 /* borrowed: recorded in capture.settings too */
	enum scan_fault_mode on_fault;
	const char *control; /* FIFO for on_fault wait, or NULL */
	int json;	     /* JSON events on stdout */
	int progress;	     /* a status line on stderr */
};

/* Scan one batch (or one letter). Returns a sysexits code: 0 every letter
 * submitted; EX_DATAERR the batch is held for review; EX_IOERR the stack ended
 * with a fault; EX_UNAVAILABLE the scanner cannot be opened; EX_CANTCREAT,
 * EX_IOERR spool errors. */
int scan_batch_run(const struct scan_env *env, const struct scan_batch_cfg *cfg);

/*
 * Release what `mailroom requeue` put into spool/scan/incoming: a held batch (its
 * letters go to classify, the batch record to spool/scan/batches) or a held letter
 * (to classify). Something that cannot be released goes back to spool/scan/corrupt
 * with the reason. Returns the number of letters released, or -1.
 */
int scan_batch_release(const struct scan_env *env);

#endif
