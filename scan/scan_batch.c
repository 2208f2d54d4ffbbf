/*
 * scan_batch.c - the batch engine of mailroom-scan; see scan_batch.h.
 *
 * Where things are while a batch runs (all below spool/scan/tmp/<batch>):
 *	pages/pNNNNNN.tif	every captured page in capture order, one lossless TIFF
 *				each; kept for the batch record (dropped blank pages,
 *				separator sheets and sheets fed again after a fault too)
 *	letters/<id>/		a finished document: scan.tiff and job.json
 *	batch.json		the batch record, written when the batch ends
 * The batch directory then moves to spool/scan/batches/<batch> (or, held for
 * review, to spool/scan/corrupt/<batch>). A run that dies leaves it in tmp/, where
 * the next start quarantines it with everything inside: no letter of it was
 * submitted.
 */
#include "scan_batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <leptonica/allheaders.h>
#include <tiffio.h>

#include "buf.h"
#include "digest.h"
#include "fileio.h"
#include "ident.h"
#include "log.h"
#include "tiffpage.h"
#include "timefmt.h"
#include "xalloc.h"

#define SB_BATCH_RECORD "batch.json"
#define SB_BATCH_FORMAT "mailroom-batch/1"
#define SB_MAX_PROBLEMS 64
#define SB_MAX_FAULTS 1000

/* Set by the signal handlers. */
static volatile sig_atomic_t sb_stop;	/* SIGINT/SIGTERM: end the stack now */
static volatile sig_atomic_t sb_resume; /* SIGUSR1: continue after a fault */
static volatile sig_atomic_t sb_quit;	/* SIGUSR2: end the stack after a fault */

enum sb_role { SB_PENDING, SB_PAGE, SB_DROPPED, SB_SEPARATOR, SB_SUPERSEDED };
static const char *const sb_role_names[] = {"pending", "page", "dropped", "separator",
					    "superseded"};

/* One captured page (frame). */
struct sb_page {
	long seq;    /* capture order, 1-based: pages/p<seq>.tif */
	long sheet;  /* batch sheet number */
	int side;    /* 0 front, 1 back */
	int attempt; /* feeds of the sheet (2: fed again after a fault) */
	enum sb_role role;
	long doc; /* document (1-based) of a page or dropped page */
	uint32_t width, height;
	int bits, samples;
	double xres, yres;
	char sha256[SCAN_TIFF_SHA_HEX]; /* of the page as captured */
	double ink, rotation_conf;
	enum scan_page_blank blank;
	int rotation;
	int osd_deg;	 /* a turn OSD suggested but was not trusted (0: none) */
	double osd_conf; /* its confidence */
	int analysed;	 /* 0: the analysis failed; kept as a page */
	int sep_found, sep_valid;
	long sep_sheet;
	char at[TIMEFMT_ISO_MAX];
};

/* One document of the batch. */
struct sb_doc {
	long n;
	char id[IDENT_JOB_MAX]; /* its letter, "" when it has no page */
	long first_sheet, last_sheet;
	long pages, dropped;
	int complete;
	int built;
	long sep_sheet; /* the separator sheet before it (0: none) */
	struct scan_page_sep sep;
	char at[TIMEFMT_ISO_MAX]; /* its first page */
};

/* One fault during the batch. */
struct sb_fault {
	long sheet;
	int side;
	char status[48]; /* JAMMED, COVER_OPEN, ..., HANG, CRASH */
	char call[16];
	char text[512];	   /* English, for the log and the record */
	char message[512]; /* German, for the operator */
	char at[TIMEFMT_ISO_MAX];
	const char *outcome; /* resumed, stopped */
	long discarded;	     /* frames given up: the partial one and a pending front */
};

struct sb {
	const struct scan_env *env;
	const struct scan_batch_cfg *cfg;
	char id[IDENT_JOB_MAX];
	char *dir, *pages_dir, *letters_dir;
	char started[TIMEFMT_ISO_MAX];
	double t0;
	scan_page *pa;
	scan_separate *sp;
	/* the device as it opened first */
	json_object *device, *settings;
	char devname[256];
	int opened, feeder, duplex;
	double xres, yres;
	/* where the feeder is */
	long sheet;
	int side;
	long seg_sheet; /* first sheet of the running device process, and its attempt */
	int seg_attempt;
	long seg_frames;		 /* frames the running device process delivered */
	struct scan_page_result pend[2]; /* analysis of the pending sheet's sides */
	int pend_have[2];
	/* pages */
	struct sb_page *pages;
	size_t npages, cappages;
	long kept_frames; /* captured frames that were not superseded */
	/* the frame being received */
	int in_frame;
	scan_tiff *ft;
	char fpath[4096];
	SANE_Parameters fp;
	unsigned char *row;
	size_t have, bpl, need;
	uint32_t rows;
	PIX *pix; /* the analysis image, filled as rows come (pages of known length) */
	/* documents */
	struct sb_doc *docs;
	size_t ndocs, capdocs;
	int doc_open;
	struct scan_page_sep next_sep; /* the last separator: presets of the next document */
	long next_sep_sheet;
	int have_next_sep;
	/* faults, problems */
	struct sb_fault *faults;
	size_t nfaults, capfaults;
	char *problems[SB_MAX_PROBLEMS];
	size_t nproblems;
	long warnings;
	int stopped; /* the stack ended with a fault */
	char stop_text[600];
	int failed; /* a letter could not be written: nothing of the batch is submitted */
	char fail_text[600];
	int odd_end; /* duplex: the last sheet has no back */
	int ctl;     /* control FIFO, or -1 */
	int tty;
};

/* ---- small helpers ---- */

/* Monotonic seconds. */
static double sb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size and its peak in KiB from /proc/self/status. */
static void sb_rss(long *rss, long *peak)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	*rss = *peak = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*peak = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

/* Pages per minute since the batch began. */
static double sb_rate(const struct sb *b)
{
	double dt = sb_now() - b->t0;

	return dt > 0.5 ? (double)b->npages * 60.0 / dt : 0;
}

/* Letters (documents with pages) so far. */
static long sb_letters(const struct sb *b)
{
	long n = 0;
	size_t i;

	for (i = 0; i < b->ndocs; i++)
		if (b->docs[i].pages > 0)
			n++;
	return n;
}

/* Clear the status line before other output. */
static void sb_progress_clear(struct sb *b)
{
	if (b->tty)
		fputs("\r\033[K", stderr);
}

/* Redraw the status line. */
static void sb_progress(struct sb *b)
{
	if (!b->tty)
		return;
	fprintf(stderr,
		"\r\033[KBlatt %ld | Seiten %zu | Dokumente %ld | %.1f Seiten/min | Warnungen %ld",
		b->sheet, b->npages, sb_letters(b), sb_rate(b), b->warnings);
	fflush(stderr);
}

/* Write one JSON event (taken over) to stdout. */
static void sb_event(struct sb *b, const char *name, json_object *o)
{
	char now[TIMEFMT_ISO_MAX];

	if (!b->cfg->json) {
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "event", json_object_new_string(name));
	json_object_object_add(o, "batch", json_object_new_string(b->id));
	json_object_object_add(o, "at", json_object_new_string(timefmt_now(now)));
	fprintf(stdout, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

/* A problem that sends the batch to review. */
static void sb_problem(struct sb *b, const char *text)
{
	json_object *o;

	b->warnings++;
	sb_progress_clear(b);
	log_warnx("%s: %s", b->id, text);
	if (b->nproblems < SB_MAX_PROBLEMS)
		b->problems[b->nproblems++] = xstrdup(text);
	o = json_object_new_object();
	json_object_object_add(o, "text", json_object_new_string(text));
	sb_event(b, "problem", o);
}

/* The file name of page seq inside the batch directory. */
static void sb_page_file(long seq, char *out, size_t outlen)
{
	snprintf(out, outlen, "pages/p%06ld.tif", seq);
}

/* Where a page image stays once the batch is recorded (relative to var/). */
static void sb_page_final(const struct sb *b, long seq, char *out, size_t outlen)
{
	char f[64];

	sb_page_file(seq, f, sizeof(f));
	snprintf(out, outlen, "spool/scan/batches/%s/%s", b->id, f);
}

/* ---- signals ---- */

static void sb_on_stop(int sig)
{
	(void)sig;
	sb_stop = 1;
}

static void sb_on_usr1(int sig)
{
	(void)sig;
	sb_resume = 1;
}

static void sb_on_usr2(int sig)
{
	(void)sig;
	sb_quit = 1;
}

/* Install the handlers (no SA_RESTART: a blocked poll or read returns). */
static void sb_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sb_on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = sb_on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = sb_on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sb_stop = sb_resume = sb_quit = 0;
}

/* ---- pages ---- */

/* Row y of a page (bits 1, 8 or 16; spp 1 or 3) into the analysis image: 1 and 8 bpp
 * as bytes (pixEndianByteSwap when the page is complete), 16 bits by their high
 * byte, RGB as 32 bpp. */
static void sb_pix_row(PIX *pix, uint32_t y, const unsigned char *row, int bits, int spp)
{
	l_uint32 *line = pixGetData(pix) + (size_t)y * (size_t)pixGetWpl(pix);
	uint32_t x, w = (uint32_t)pixGetWidth(pix);

	if (spp == 1 && bits != 16) {
		memcpy(line, row, (size_t)(bits == 1 ? (w + 7) / 8 : w));
	} else if (spp == 1) {
		const uint16_t *r16 = (const uint16_t *)row;

		for (x = 0; x < w; x++)
			((unsigned char *)line)[x] = (unsigned char)(r16[x] >> 8);
	} else {
		for (x = 0; x < w; x++) {
			l_int32 r, g, bl;

			if (bits == 8) {
				r = row[3 * x];
				g = row[3 * x + 1];
				bl = row[3 * x + 2];
			} else {
				const uint16_t *r16 = (const uint16_t *)row;

				r = r16[3 * x] >> 8;
				g = r16[3 * x + 1] >> 8;
				bl = r16[3 * x + 2] >> 8;
			}
			composeRGBPixel(r, g, bl, &line[x]);
		}
	}
}

/* A new analysis image for a page. */
static PIX *sb_pix_new(uint32_t w, uint32_t h, int bits, int spp, double xres, double yres)
{
	PIX *pix = pixCreateNoInit((l_int32)w, (l_int32)h, bits == 1 ? 1 : spp == 3 ? 32 : 8);

	if (pix != NULL)
		pixSetResolution(pix, (l_int32)lround(xres), (l_int32)lround(yres));
	return pix;
}

/* A leptonica image of the page file at path for the analysis (1, 8 or 32 bpp):
 * for pages whose length the scanner did not announce. */
static PIX *sb_pix(const char *path, char *err, size_t errlen)
{
	struct tiffpage_errs msg;
	TIFF *tif;
	PIX *pix = NULL;
	uint32_t w = 0, h = 0, y;
	uint16_t bits = 0, spp = 1;
	tmsize_t sl;
	unsigned char *row = NULL;

	memset(&msg, 0, sizeof(msg));
	msg.tag = path;
	if ((tif = tiffpage_open(path, SCAN_TIFF_MAX_ALLOC, &msg)) == NULL) {
		snprintf(err, errlen, "%s", msg.msg);
		return NULL;
	}
	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
	sl = TIFFScanlineSize(tif);
	if (w == 0 || h == 0 || sl <= 0 || (bits != 1 && bits != 8 && bits != 16) ||
	    (spp != 1 && spp != 3)) {
		snprintf(err, errlen, "unexpected page layout");
		goto out;
	}
	{
		float xr = 0, yr = 0;

		TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr);
		TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yr);
		if ((pix = sb_pix_new(w, h, bits, spp, xr, yr)) == NULL) {
			snprintf(err, errlen, "out of memory for the page image");
			goto out;
		}
	}
	row = xmalloc((size_t)sl);
	for (y = 0; y < h; y++) {
		if (TIFFReadScanline(tif, row, y, 0) != 1) {
			snprintf(err, errlen, "row %u cannot be read back", y);
			pixDestroy(&pix);
			goto out;
		}
		sb_pix_row(pix, y, row, bits, spp);
	}
	if (spp == 1)
		pixEndianByteSwap(pix); /* rows were copied as bytes, MSB first */
out:
	free(row);
	TIFFClose(tif);
	return pix;
}

/* Record a new page; returns it. */
static struct sb_page *sb_page_add(struct sb *b)
{
	struct sb_page *p;

	if (b->npages == b->cappages) {
		b->cappages = b->cappages ? 2 * b->cappages : 64;
		b->pages = xrealloc(b->pages, b->cappages * sizeof(*b->pages));
	}
	p = &b->pages[b->npages++];
	memset(p, 0, sizeof(*p));
	p->seq = (long)b->npages;
	return p;
}

/* The attempt number of sheet in the running device process. */
static int sb_attempt(const struct sb *b, long sheet)
{
	return sheet == b->seg_sheet ? b->seg_attempt : 1;
}

/* ---- documents ---- */

/* The open document (opened when needed). */
static struct sb_doc *sb_doc_open(struct sb *b, long sheet)
{
	struct sb_doc *d;

	if (b->doc_open)
		return &b->docs[b->ndocs - 1];
	if (b->ndocs == b->capdocs) {
		b->capdocs = b->capdocs ? 2 * b->capdocs : 16;
		b->docs = xrealloc(b->docs, b->capdocs * sizeof(*b->docs));
	}
	d = &b->docs[b->ndocs++];
	memset(d, 0, sizeof(*d));
	d->n = (long)b->ndocs;
	d->first_sheet = d->last_sheet = sheet;
	if (b->have_next_sep) {
		d->sep = b->next_sep;
		d->sep_sheet = b->next_sep_sheet;
		b->have_next_sep = 0;
	}
	b->doc_open = 1;
	return d;
}

static int sb_letter_build(struct sb *b, struct sb_doc *d);

/* Close the open document: its letter is written now. */
static void sb_doc_close(struct sb *b, int complete)
{
	struct sb_doc *d;
	json_object *o;

	if (!b->doc_open)
		return;
	d = &b->docs[b->ndocs - 1];
	b->doc_open = 0;
	d->complete = complete;
	if (d->pages == 0) {
		char t[256];

		snprintf(t, sizeof(t),
			 "document %ld (sheets %ld-%ld) has only blank pages: no letter", d->n,
			 d->first_sheet, d->last_sheet);
		b->warnings++;
		sb_progress_clear(b);
		log_warnx("%s: %s", b->id, t);
	} else if (sb_letter_build(b, d) == 0) {
		d->built = 1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "n", json_object_new_int64(d->n));
	json_object_object_add(o, "letter",
			       d->pages > 0 && d->built ? json_object_new_string(d->id) : NULL);
	json_object_object_add(o, "pages", json_object_new_int64(d->pages));
	json_object_object_add(o, "dropped", json_object_new_int64(d->dropped));
	json_object_object_add(o, "first_sheet", json_object_new_int64(d->first_sheet));
	json_object_object_add(o, "last_sheet", json_object_new_int64(d->last_sheet));
	json_object_object_add(o, "complete", json_object_new_boolean(complete));
	sb_event(b, "document", o);
}

/* A complete sheet: split, assign roles, close documents. */
static void sb_sheet_done(struct sb *b, long sheet)
{
	struct scan_sep_side sides[2];
	struct scan_sep_verdict v;
	struct sb_page *pg[2] = {NULL, NULL};
	size_t i;
	int s;

	memset(sides, 0, sizeof(sides));
	for (i = b->npages; i > 0; i--) {
		struct sb_page *p = &b->pages[i - 1];

		if (p->sheet != sheet || p->role != SB_PENDING)
			continue;
		pg[p->side] = p;
	}
	for (s = 0; s < 2; s++) {
		if (pg[s] == NULL || !b->pend_have[s])
			continue;
		sides[s].present = 1;
		sides[s].r = &b->pend[s];
	}
	scan_separate_sheet(b->sp, sheet, sides, &v);
	if (v.close_before)
		sb_doc_close(b, 1);
	if (v.sep != NULL) {
		b->next_sep = *v.sep;
		b->next_sep_sheet = sheet;
		b->have_next_sep = 1;
	}
	b->pend_have[0] = b->pend_have[1] = 0;
	for (s = 0; s < 2; s++) {
		struct sb_doc *d;

		if (pg[s] == NULL)
			continue;
		switch (v.role[s]) {
		case SCAN_SEP_ROLE_SEPARATOR:
			pg[s]->role = SB_SEPARATOR;
			break;
		case SCAN_SEP_ROLE_DROPPED:
			d = sb_doc_open(b, sheet);
			pg[s]->role = SB_DROPPED;
			pg[s]->doc = d->n;
			d->dropped++;
			d->last_sheet = sheet;
			break;
		default:
			d = sb_doc_open(b, sheet);
			pg[s]->role = SB_PAGE;
			pg[s]->doc = d->n;
			d->pages++;
			d->last_sheet = sheet;
			if (d->at[0] == '\0')
				snprintf(d->at, sizeof(d->at), "%s", pg[s]->at);
			break;
		}
	}
	if (v.problem[0] != '\0')
		sb_problem(b, v.problem);
	if (v.close_after)
		sb_doc_close(b, 1);
}

/* ---- letters ---- */

/* Copy page p (its page file) into t, turned upright by its rotation. */
static int sb_copy_page(struct sb *b, scan_tiff *t, const struct sb_page *p, char *err,
			size_t errlen)
{
	struct scan_tiff_page pg;
	char rel[64], *path;
	int r;

	sb_page_file(p->seq, rel, sizeof(rel));
	path = fio_join(b->dir, rel);
	memset(&pg, 0, sizeof(pg));
	pg.width = p->width;
	pg.height = p->height;
	pg.bits = p->bits;
	pg.samples = p->samples;
	pg.xres = p->xres;
	pg.yres = p->yres;
	pg.compression = b->cfg->compression;
	pg.quality = b->cfg->quality;
	if (p->rotation == 0 && (p->bits == 1 || b->cfg->compression != SCAN_TIFF_JPEG))
		/* the page file has the letter's compression: its strips are copied */
		r = scan_tiff_page_copy(t, path, &pg, p->sha256, b->settings);
	else
		r = scan_tiff_page_transcode(t, path, &pg, p->rotation, b->settings);
	if (r == -1)
		snprintf(err, errlen, "%s: %s", rel, scan_tiff_error(t));
	free(path);
	return r;
}

/* The German name of a fault status, for anomalies. */
static const char *sb_fault_de(const char *status)
{
	if (strcmp(status, "JAMMED") == 0)
		return "Papierstau";
	if (strcmp(status, "COVER_OPEN") == 0)
		return "Abdeckung offen";
	if (strcmp(status, "DEVICE_BUSY") == 0)
		return "Scanner belegt";
	if (strcmp(status, "IO_ERROR") == 0)
		return "Verbindungsfehler";
	if (strcmp(status, "NO_DOCS") == 0)
		return "Einzug leer";
	if (strcmp(status, "HANG") == 0)
		return "Scanner antwortet nicht";
	if (strcmp(status, "CRASH") == 0)
		return "Scannertreiber abgestürzt";
	if (strcmp(status, "STOPPED") == 0)
		return "abgebrochen";
	return "Scannerfehler";
}

/* An anomaly for the Transfervermerk (capture.anomalies). */
static void sb_anomaly(json_object *a, const char *kind, long page, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void sb_anomaly(json_object *a, const char *kind, long page, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char text[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "kind", json_object_new_string(kind));
	if (page > 0)
		json_object_object_add(o, "page", json_object_new_int64(page));
	json_object_object_add(o, "text", json_object_new_string(text));
	json_object_array_add(a, o);
}

/* A fault as JSON. */
static json_object *sb_fault_json(const struct sb_fault *f)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "sheet", json_object_new_int64(f->sheet));
	json_object_object_add(o, "side", json_object_new_string(f->side ? "back" : "front"));
	json_object_object_add(o, "status", json_object_new_string(f->status));
	json_object_object_add(o, "call", json_object_new_string(f->call));
	json_object_object_add(o, "text", json_object_new_string(f->text));
	json_object_object_add(o, "message", json_object_new_string(f->message));
	json_object_object_add(o, "at", json_object_new_string(f->at));
	json_object_object_add(o, "outcome", json_object_new_string(f->outcome ? f->outcome : ""));
	json_object_object_add(o, "discarded_frames", json_object_new_int64(f->discarded));
	return o;
}

/* A copy of the settings with the scalar extras of the profile. */
static json_object *sb_settings_copy(const struct sb *b)
{
	json_object *s = NULL;

	if (json_object_deep_copy(b->settings, &s, NULL) != 0)
		s = json_object_new_object();
	return s;
}

/* Write document d as a letter into letters/<id>. 0 or -1 (logged). */
static int sb_letter_build(struct sb *b, struct sb_doc *d)
{
	struct scan_tiff_meta meta;
	scan_tiff *t = NULL;
	job *j = NULL;
	json_object *pages = NULL, *an = NULL, *dropped = NULL, *faults = NULL, *c, *bo, *src;
	char *ldir = NULL, *tpath = NULL, err[1024], img[256], (*hex)[SCAN_TIFF_SHA_HEX] = NULL;
	const char *devn = b->devname;
	size_t i;
	long k = 0, np = d->pages;
	int rc = -1;

	ident_job_new(d->id);
	ldir = fio_join(b->letters_dir, d->id);
	if (mkdir(ldir, 0700) == -1) {
		log_error("%s: cannot create %s", d->id, ldir);
		goto out;
	}
	tpath = fio_join(ldir, SCAN_TIFF_NAME);
	memset(&meta, 0, sizeof(meta));
	meta.make = json_object_get_string(json_object_object_get(b->device, "vendor"));
	meta.model = json_object_get_string(json_object_object_get(b->device, "model"));
	meta.software = SCAN_SOFTWARE;
	meta.artist = b->env->operator_name;
	meta.source = devn;
	if ((t = scan_tiff_create(tpath, &meta, SCAN_TIFF_MAX_ALLOC, err, sizeof(err))) == NULL) {
		log_errorx("%s: %s", d->id, err);
		goto out;
	}
	pages = json_object_new_array();
	an = json_object_new_array();
	dropped = json_object_new_array();
	hex = xcalloc((size_t)np, sizeof(*hex));
	for (i = 0; i < b->npages; i++) {
		const struct sb_page *p = &b->pages[i];
		const struct scan_tiff_done *td;
		json_object *o;

		if (p->doc != d->n)
			continue;
		if (p->role == SB_DROPPED) {
			o = json_object_new_object();
			sb_page_final(b, p->seq, img, sizeof(img));
			json_object_object_add(o, "sheet", json_object_new_int64(p->sheet));
			json_object_object_add(o, "side",
					       json_object_new_string(p->side ? "back" : "front"));
			json_object_object_add(o, "ink", json_object_new_double(p->ink));
			json_object_object_add(o, "image", json_object_new_string(img));
			json_object_object_add(o, "sha256", json_object_new_string(p->sha256));
			json_object_array_add(dropped, o);
			sb_anomaly(an, "erfassung", 0,
				   "Leere %s von Blatt %ld entfernt (bedeckte Fläche %.2f %%); Abbild "
				   "aufbewahrt: %s",
				   p->side ? "Rückseite" : "Vorderseite", p->sheet, 100 * p->ink,
				   img);
			continue;
		}
		if (p->role != SB_PAGE)
			continue;
		if (sb_copy_page(b, t, p, err, sizeof(err)) == -1) {
			log_errorx("%s: page from sheet %ld: %s", d->id, p->sheet, err);
			goto out;
		}
		td = scan_tiff_page_info(t, (int)k);
		k++;
		o = json_object_new_object();
		sb_page_final(b, p->seq, img, sizeof(img));
		json_object_object_add(o, "n", json_object_new_int(td->n));
		json_object_object_add(o, "width", json_object_new_int64(td->width));
		json_object_object_add(o, "height", json_object_new_int64(td->height));
		json_object_object_add(o, "xres", json_object_new_double(td->xres));
		json_object_object_add(o, "yres", json_object_new_double(td->yres));
		json_object_object_add(o, "bits", json_object_new_int(td->bits));
		json_object_object_add(o, "samples", json_object_new_int(td->samples));
		json_object_object_add(o, "compression", json_object_new_string(td->compression));
		json_object_object_add(o, "sha256", json_object_new_string(td->sha256));
		json_object_object_add(o, "sheet", json_object_new_int64(p->sheet));
		json_object_object_add(o, "side",
				       json_object_new_string(p->side ? "back" : "front"));
		json_object_object_add(o, "attempt", json_object_new_int(p->attempt));
		if (p->analysed)
			json_object_object_add(o, "ink", json_object_new_double(p->ink));
		json_object_object_add(o, "blank",
				       json_object_new_string(!p->analysed ? "unknown"
							      : p->blank == SCAN_PAGE_FLAG
								  ? "flag"
								  : "keep"));
		json_object_object_add(o, "rotation", json_object_new_int(p->rotation));
		json_object_object_add(o, "rotation_conf",
				       json_object_new_double(p->rotation_conf));
		if (p->osd_deg != 0) {
			json_object_object_add(o, "rotation_doubtful",
					       json_object_new_int(p->osd_deg));
			json_object_object_add(o, "rotation_doubtful_conf",
					       json_object_new_double(p->osd_conf));
		}
		json_object_object_add(o, "image", json_object_new_string(img));
		json_object_object_add(o, "capture_sha256", json_object_new_string(p->sha256));
		json_object_array_add(pages, o);
		if (p->attempt > 1) {
			const char *why = "Störung";
			size_t f;

			for (f = b->nfaults; f > 0; f--)
				if (b->faults[f - 1].sheet == p->sheet) {
					why = sb_fault_de(b->faults[f - 1].status);
					break;
				}
			sb_anomaly(an, "erfassung", k,
				   "Blatt %ld nach Störung (%s) erneut eingezogen (%d. Einzug)",
				   p->sheet, why, p->attempt);
		}
		if (p->rotation != 0)
			sb_anomaly(an, "seite", k,
				   "Seite um %d Grad gedreht (automatische Lageerkennung, "
				   "Konfidenz %.1f)",
				   p->rotation, p->rotation_conf);
		if (p->osd_deg != 0)
			sb_anomaly(an, "seite", k,
				   "Lage unsicher: die Lageerkennung hält eine Drehung um %d Grad "
				   "für möglich (Konfidenz %.1f, zu gering), die Seite wurde nicht "
				   "gedreht: bitte prüfen",
				   p->osd_deg, p->osd_conf);
		if (p->analysed && p->blank == SCAN_PAGE_FLAG)
			sb_anomaly(an, "seite", k,
				   "Seite fast leer (bedeckte Fläche %.2f %%): bitte prüfen",
				   100 * p->ink);
		if (!p->analysed)
			sb_anomaly(an, "seite", k, "Seitenanalyse fehlgeschlagen: bitte prüfen");
	}
	if (scan_tiff_close(t, err, sizeof(err)) == -1) {
		t = NULL;
		log_errorx("%s: cannot finish %s: %s", d->id, SCAN_TIFF_NAME, err);
		goto out;
	}
	t = NULL;
	if (b->cfg->compression == SCAN_TIFF_JPEG) {
		/* lossy: the digest of what a reader decodes, as the sign stage takes it */
		if (scan_tiff_file_digests(tpath, SCAN_TIFF_MAX_ALLOC, hex, (int)np, err,
					   sizeof(err)) == -1) {
			log_errorx("%s: %s", d->id, err);
			goto out;
		}
		for (i = 0; i < (size_t)np; i++)
			json_object_object_add(json_object_array_get_idx(pages, i), "sha256",
					       json_object_new_string(hex[i]));
	}
	faults = json_object_new_array();
	for (i = 0; i < b->nfaults; i++)
		if (b->faults[i].sheet >= d->first_sheet && b->faults[i].sheet <= d->last_sheet)
			json_object_array_add(faults, sb_fault_json(&b->faults[i]));
	if (!d->complete)
		sb_anomaly(an, "erfassung", 0,
			   "Dokument unvollständig: der Stapel endete bei Blatt %ld mit einer "
			   "Störung (%s)",
			   b->sheet, b->stop_text);
	if (b->odd_end && d->last_sheet == b->sheet - 1)
		sb_anomaly(an, "erfassung", 0,
			   "Beidseitiger Scan: das letzte Blatt %ld hat keine Rückseite geliefert",
			   d->last_sheet);
	j = scan_job_new(d->id, ldir);
	src = job_section(j, "source");
	json_object_object_add(src, "kind", json_object_new_string("sane"));
	json_object_object_add(src, "device", json_object_new_string(devn));
	json_object_object_add(src, "batch", json_object_new_string(b->id));
	scan_job_capture(b->env, j, d->at[0] ? d->at : b->started, json_object_get(b->device),
			 sb_settings_copy(b), pages);
	pages = NULL;
	c = job_section(j, "capture");
	bo = json_object_new_object();
	json_object_object_add(bo, "id", json_object_new_string(b->id));
	json_object_object_add(bo, "document", json_object_new_int64(d->n));
	{
		char mode[32];

		scan_separate_mode_name(&b->cfg->sep, mode, sizeof(mode));
		json_object_object_add(bo, "separation",
				       json_object_new_string(b->cfg->batch ? mode : "none"));
	}
	json_object_object_add(bo, "first_sheet", json_object_new_int64(d->first_sheet));
	json_object_object_add(bo, "last_sheet", json_object_new_int64(d->last_sheet));
	json_object_object_add(bo, "duplex", json_object_new_boolean(b->duplex));
	if (d->sep_sheet > 0) {
		json_object *so = json_object_new_object();

		json_object_object_add(so, "sheet", json_object_new_int64(d->sep_sheet));
		json_object_object_add(so, "number", json_object_new_int64(d->sep.sheet));
		if (d->sep.batch[0])
			json_object_object_add(so, "batch", json_object_new_string(d->sep.batch));
		if (d->sep.doc_type[0])
			json_object_object_add(so, "doc_type",
					       json_object_new_string(d->sep.doc_type));
		if (d->sep.office[0])
			json_object_object_add(so, "office", json_object_new_string(d->sep.office));
		json_object_object_add(bo, "separator", so);
	}
	json_object_object_add(c, "batch", bo);
	json_object_object_add(c, "dropped", dropped);
	dropped = NULL;
	json_object_object_add(c, "faults", faults);
	faults = NULL;
	json_object_object_add(c, "anomalies", an);
	an = NULL;
	json_object_object_add(c, "complete", json_object_new_boolean(d->complete));
	if (!d->complete)
		json_object_object_add(c, "fault", json_object_new_string(b->stop_text));
	if (job_add_file(j, SCAN_TIFF_NAME) == -1)
		log_panic("sb_letter_build: bad file name");
	job_mark_stage(j, "scan", "ok");
	if (job_write(j) == -1) {
		log_error("%s: cannot write %s", d->id, JOB_RECORD);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		b->warnings++;
		if (!b->failed) {
			b->failed = 1;
			snprintf(b->fail_text, sizeof(b->fail_text),
				 "the letter of document %ld (sheets %ld-%ld) could not be written "
				 "(see the log: disk full?)",
				 d->n, d->first_sheet, d->last_sheet);
		}
		if (ldir != NULL)
			fio_rmtree(ldir);
		d->id[0] = '\0';
	}
	scan_tiff_close(t, NULL, 0);
	json_object_put(pages);
	json_object_put(an);
	json_object_put(dropped);
	json_object_put(faults);
	job_free(j);
	free(hex);
	free(tpath);
	free(ldir);
	return rc;
}

/* ---- frames from the device ---- */

/* Give up the frame being received (its file goes). */
static void sb_frame_abort(struct sb *b)
{
	if (!b->in_frame)
		return;
	scan_tiff_close(b->ft, NULL, 0);
	b->ft = NULL;
	unlink(b->fpath);
	free(b->row);
	b->row = NULL;
	pixDestroy(&b->pix);
	b->in_frame = 0;
	b->npages--; /* its record was added at the frame's start */
}

/* A frame begins: check its layout, open its page file. 0 or -1 with err. */
static int sb_frame_begin(struct sb *b, const SANE_Parameters *p, char *err, size_t errlen)
{
	struct scan_tiff_meta meta;
	struct scan_tiff_page pg;
	struct sb_page *rec;
	char rel[64], cerr[512];
	char *path;

	if (p->format != SANE_FRAME_GRAY && p->format != SANE_FRAME_RGB) {
		snprintf(err, errlen,
			 "scanner %s sends three-pass colour frames, which are not supported: "
			 "switch three-pass off (--sane-option three-pass=no)",
			 b->devname);
		return -1;
	}
	if (!p->last_frame || p->pixels_per_line <= 0 || p->bytes_per_line <= 0 ||
	    !(p->depth == 1 || p->depth == 8 || p->depth == 16) ||
	    (p->depth == 1 && p->format == SANE_FRAME_RGB) || p->lines > 1000000 ||
	    p->pixels_per_line > 1000000) {
		snprintf(err, errlen,
			 "scanner %s: page layout not supported (%d bits, frame %d, %d pixels): "
			 "choose Gray or Color at depth 8",
			 b->devname, p->depth, (int)p->format, p->pixels_per_line);
		return -1;
	}
	rec = sb_page_add(b);
	rec->sheet = b->sheet;
	rec->side = b->side;
	rec->attempt = sb_attempt(b, b->sheet);
	rec->role = SB_PENDING;
	timefmt_now(rec->at);
	sb_page_file(rec->seq, rel, sizeof(rel));
	path = fio_join(b->dir, rel);
	snprintf(b->fpath, sizeof(b->fpath), "%s", path);
	free(path);
	memset(&meta, 0, sizeof(meta));
	meta.make = json_object_get_string(json_object_object_get(b->device, "vendor"));
	meta.model = json_object_get_string(json_object_object_get(b->device, "model"));
	meta.software = SCAN_SOFTWARE;
	meta.artist = b->env->operator_name;
	meta.source = b->devname;
	if ((b->ft = scan_tiff_create(b->fpath, &meta, SCAN_TIFF_MAX_ALLOC, cerr, sizeof(cerr))) ==
	    NULL) {
		b->npages--;
		snprintf(err, errlen, "%s", cerr);
		return -1;
	}
	scan_tiff_nosync(b->ft); /* sb_sync makes every page file durable at the end */
	memset(&pg, 0, sizeof(pg));
	pg.width = (uint32_t)p->pixels_per_line;
	pg.height = p->lines > 0 ? (uint32_t)p->lines : 0;
	pg.bits = p->depth;
	pg.samples = p->format == SANE_FRAME_RGB ? 3 : 1;
	pg.xres = b->xres;
	pg.yres = b->yres;
	/* the page file is lossless and, unless the letters are JPEG, already in the
	 * letters' compression: a letter then copies its strips as they are */
	if (b->cfg->compression == SCAN_TIFF_JPEG) {
		pg.compression = SCAN_TIFF_DEFLATE;
		pg.quality = 1;
	} else {
		pg.compression = b->cfg->compression;
	}
	b->in_frame = 1;
	if (scan_tiff_page_begin(b->ft, &pg, NULL) == -1) {
		snprintf(err, errlen, "%s", scan_tiff_error(b->ft));
		sb_frame_abort(b);
		return -1;
	}
	b->fp = *p;
	b->bpl = (size_t)p->bytes_per_line;
	b->need = scan_tiff_row_bytes(b->ft);
	if (b->bpl < b->need) {
		snprintf(err, errlen, "scanner %s: %zu bytes per line for %zu needed", b->devname,
			 b->bpl, b->need);
		sb_frame_abort(b);
		return -1;
	}
	b->row = xmalloc(b->bpl);
	b->have = 0;
	b->rows = 0;
	pixDestroy(&b->pix);
	if (pg.height > 0)
		b->pix = sb_pix_new(pg.width, pg.height, pg.bits, pg.samples, pg.xres, pg.yres);
	return 0;
}

/* Image bytes of the frame. 0 or -1 with err. */
static int sb_frame_data(struct sb *b, const unsigned char *p, size_t n, char *err, size_t errlen)
{
	while (n > 0) {
		size_t take = b->bpl - b->have;

		if (take > n)
			take = n;
		memcpy(b->row + b->have, p, take);
		b->have += take;
		p += take;
		n -= take;
		if (b->have == b->bpl) {
			if (b->fp.lines > 0 && b->rows >= (uint32_t)b->fp.lines) {
				snprintf(err, errlen,
					 "scanner %s sent more rows than the %d announced",
					 b->devname, b->fp.lines);
				return -1;
			}
			if (scan_tiff_page_row(b->ft, b->row) == -1) {
				snprintf(err, errlen, "%s", scan_tiff_error(b->ft));
				return -1;
			}
			if (b->pix != NULL)
				sb_pix_row(b->pix, b->rows, b->row, b->fp.depth,
					   b->fp.format == SANE_FRAME_RGB ? 3 : 1);
			b->rows++;
			b->have = 0;
		}
	}
	return 0;
}

/* The frame is complete: close its file, analyse it, advance the sheet. 0 or -1. */
static int sb_frame_end(struct sb *b, char *err, size_t errlen)
{
	struct sb_page *rec = &b->pages[b->npages - 1];
	const struct scan_tiff_done *td;
	struct scan_page_result r;
	char aerr[512];
	PIX *pix, *up = NULL;
	json_object *o;

	if (b->have != 0) {
		snprintf(err, errlen, "scanner %s: the page ends in the middle of a line",
			 b->devname);
		return -1;
	}
	if (scan_tiff_page_end(b->ft) == -1) {
		snprintf(err, errlen, "scanner %s: %s", b->devname, scan_tiff_error(b->ft));
		return -1;
	}
	td = scan_tiff_page_info(b->ft, 0);
	rec->width = td->width;
	rec->height = td->height;
	rec->bits = td->bits;
	rec->samples = td->samples;
	rec->xres = td->xres;
	rec->yres = td->yres;
	memcpy(rec->sha256, td->sha256, sizeof(rec->sha256));
	if (scan_tiff_close(b->ft, aerr, sizeof(aerr)) == -1) {
		b->ft = NULL;
		snprintf(err, errlen, "page file: %s", aerr);
		return -1;
	}
	b->ft = NULL;
	free(b->row);
	b->row = NULL;
	b->in_frame = 0;
	b->kept_frames++;
	/* analysis: a failure keeps the page (flagged), never loses it */
	memset(&r, 0, sizeof(r));
	pix = b->pix;
	b->pix = NULL;
	if (pix != NULL && b->fp.format != SANE_FRAME_RGB)
		pixEndianByteSwap(pix); /* the rows were copied as bytes */
	if (pix == NULL)
		pix = sb_pix(b->fpath, aerr, sizeof(aerr));
	if (pix == NULL || scan_page_analyse(b->pa, pix, &r, &up, aerr, sizeof(aerr)) == -1) {
		b->warnings++;
		sb_progress_clear(b);
		log_warnx("%s: sheet %ld %s: page analysis failed (%s); the page is kept", b->id,
			  rec->sheet, rec->side ? "back" : "front", aerr);
		memset(&r, 0, sizeof(r));
		r.blank = SCAN_PAGE_KEEP;
	} else {
		rec->analysed = 1;
	}
	pixDestroy(&pix);
	pixDestroy(&up); /* the stored page is turned losslessly from its file */
	rec->ink = r.ink;
	rec->blank = r.blank;
	rec->rotation = r.rotation == 90 || r.rotation == 180 || r.rotation == 270 ? r.rotation : 0;
	rec->rotation_conf = r.rotation_conf;
	/* a turn OSD saw but was not sure of: the page stays as scanned, a person looks */
	rec->osd_deg = r.rotation == 0 && (r.osd_deg == 90 || r.osd_deg == 180 || r.osd_deg == 270)
			   ? r.osd_deg
			   : 0;
	rec->osd_conf = rec->osd_deg != 0 ? r.osd_conf : 0;
	rec->sep_found = r.sep.found;
	rec->sep_valid = r.sep.valid;
	rec->sep_sheet = r.sep.sheet;
	b->pend[rec->side] = r;
	b->pend[rec->side].rotation = rec->rotation;
	b->pend_have[rec->side] = 1;
	b->seg_frames++;
	o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64(rec->seq));
	json_object_object_add(o, "sheet", json_object_new_int64(rec->sheet));
	json_object_object_add(o, "side", json_object_new_string(rec->side ? "back" : "front"));
	json_object_object_add(o, "attempt", json_object_new_int(rec->attempt));
	json_object_object_add(o, "ink", json_object_new_double(rec->ink));
	json_object_object_add(o, "blank",
			       json_object_new_string(rec->blank == SCAN_PAGE_DROP   ? "drop"
						      : rec->blank == SCAN_PAGE_FLAG ? "flag"
										     : "keep"));
	json_object_object_add(o, "rotation", json_object_new_int(rec->rotation));
	json_object_object_add(o, "separator", json_object_new_boolean(rec->sep_found));
	json_object_object_add(o, "pages", json_object_new_int64((int64_t)b->npages));
	json_object_object_add(o, "pages_per_min", json_object_new_double(sb_rate(b)));
	json_object_object_add(o, "warnings", json_object_new_int64(b->warnings));
	{
		long rss, peak;

		sb_rss(&rss, &peak);
		json_object_object_add(o, "rss_kb", json_object_new_int64(rss));
	}
	json_object_object_add(o, "documents", json_object_new_int64(sb_letters(b)));
	sb_event(b, "page", o);
	/* advance the feeder position; a complete sheet goes to the splitter */
	if (b->duplex && b->side == 0) {
		b->side = 1;
	} else {
		long done = b->sheet;

		b->side = 0;
		b->sheet++;
		sb_sheet_done(b, done);
	}
	sb_progress(b);
	return 0;
}

/* ---- faults ---- */

/* The German message for the operator. */
static void sb_fault_message(struct sb *b, struct sb_fault *f, int nothing_yet)
{
	const char *what = "Scannerfehler", *todo = NULL;
	char first[160];

	if (strcmp(f->status, "NO_DOCS") == 0 && nothing_yet) {
		snprintf(f->message, sizeof(f->message), "Kein Papier im Einzug: Stapel einlegen");
		return;
	}
	if (strcmp(f->status, "WRITE") == 0 || strcmp(f->status, "LAYOUT") == 0 ||
	    strcmp(f->status, "DATA") == 0) {
		snprintf(f->message, sizeof(f->message),
			 "%s bei Blatt %ld: der Stapel wird beendet; Stapel nach Behebung neu "
			 "scannen",
			 strcmp(f->status, "WRITE") == 0 ? "Speichern fehlgeschlagen"
							 : "Scanner liefert ungültige Daten",
			 f->sheet);
		return;
	}
	if (strcmp(f->status, "JAMMED") == 0) {
		what = "Papierstau";
		todo = "Stau beheben";
	} else if (strcmp(f->status, "COVER_OPEN") == 0) {
		what = "Abdeckung offen";
		todo = "Abdeckung schließen";
	} else if (strcmp(f->status, "DEVICE_BUSY") == 0) {
		what = "Scanner belegt";
		todo = "warten, bis der Scanner frei ist";
	} else if (strcmp(f->status, "IO_ERROR") == 0) {
		what = "Verbindung zum Scanner gestört";
		todo = "Strom, Kabel oder Netz prüfen";
	} else if (strcmp(f->status, "NO_DOCS") == 0) {
		what = "Einzug leer mitten im Blatt";
		todo = NULL;
	} else if (strcmp(f->status, "HANG") == 0) {
		what = "Scanner antwortet nicht";
		todo = "Scanner aus- und wieder einschalten";
	} else if (strcmp(f->status, "CRASH") == 0) {
		what = "Scannertreiber abgestürzt";
		todo = NULL;
	} else if (strcmp(f->status, "OPEN") == 0) {
		what = "Scanner nicht erreichbar";
		todo = "Scanner einschalten und verbinden";
	}
	if (b->feeder)
		snprintf(first, sizeof(first), "Blatt %ld und folgende wieder einlegen", f->sheet);
	else
		snprintf(first, sizeof(first), "Blatt %ld wieder auflegen", f->sheet);
	snprintf(f->message, sizeof(f->message), "%s bei Blatt %ld: %s%s%s", what, f->sheet,
		 todo ? todo : "", todo ? ", " : "", first);
}

/* Record a fault at the feeder's position: the partial frame and the pending front
 * of the sheet are given up. Returns it. */
static struct sb_fault *sb_fault(struct sb *b, const char *status, const char *call,
				 const char *text)
{
	struct sb_fault *f;
	size_t i;

	if (b->nfaults == b->capfaults) {
		b->capfaults = b->capfaults ? 2 * b->capfaults : 8;
		b->faults = xrealloc(b->faults, b->capfaults * sizeof(*b->faults));
	}
	f = &b->faults[b->nfaults++];
	memset(f, 0, sizeof(*f));
	f->sheet = b->sheet;
	f->side = b->side;
	snprintf(f->status, sizeof(f->status), "%s", status);
	snprintf(f->call, sizeof(f->call), "%s", call);
	snprintf(f->text, sizeof(f->text), "%s", text);
	timefmt_now(f->at);
	if (b->in_frame) {
		sb_frame_abort(b);
		f->discarded++;
	}
	/* duplex: the whole sheet is fed again, so its front goes too */
	for (i = 0; i < b->npages; i++)
		if (b->pages[i].role == SB_PENDING && b->pages[i].sheet == b->sheet) {
			b->pages[i].role = SB_SUPERSEDED;
			b->kept_frames--;
			f->discarded++;
		}
	b->side = 0;
	b->pend_have[0] = b->pend_have[1] = 0;
	sb_fault_message(b, f, b->kept_frames == 0 && b->nfaults == 1);
	b->warnings++;
	return f;
}

/* Read a line of the operator's answer from stdin: 1 go on, 0 end the stack. */
static int sb_ask(struct sb *b)
{
	char c;
	int quit = 0, any = 0;

	(void)b;
	fprintf(stderr, "  Enter = weiter, q = Stapel beenden: ");
	fflush(stderr);
	for (;;) {
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		ssize_t r;

		if (sb_stop)
			return 0;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		r = read(STDIN_FILENO, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0; /* no operator any more */
		if (c == '\n')
			break;
		if (c == 'q' || c == 'Q')
			quit = 1;
		else if (c != ' ' && c != '\r')
			any = 1;
	}
	(void)any;
	return !quit;
}

/* Empty the control FIFO (commands sent before the fault do not count). */
static void sb_ctl_drain(struct sb *b)
{
	char junk[256];

	if (b->ctl == -1)
		return;
	while (read(b->ctl, junk, sizeof(junk)) > 0)
		;
}

/* Wait for SIGUSR1 / "continue" (1) or SIGUSR2 / "stop" / a signal to stop (0). */
static int sb_wait(struct sb *b)
{
	char line[128];
	size_t n = 0;

	for (;;) {
		struct pollfd pfd = {.fd = b->ctl, .events = POLLIN};
		char c;

		if (sb_stop || sb_quit)
			return 0;
		if (sb_resume)
			return 1;
		if (poll(&pfd, b->ctl == -1 ? 0 : 1, 500) <= 0)
			continue;
		while (read(b->ctl, &c, 1) == 1) {
			if (c != '\n') {
				if (n < sizeof(line) - 1)
					line[n++] = c;
				continue;
			}
			line[n] = '\0';
			n = 0;
			if (strcmp(line, "continue") == 0 || strcmp(line, "weiter") == 0)
				return 1;
			if (strcmp(line, "stop") == 0 || strcmp(line, "q") == 0)
				return 0;
			log_warnx("%s: control: unknown command '%s' (continue or stop)", b->id,
				  line);
		}
	}
}

/* Tell the operator and decide: 1 go on with the next device process, 0 stop. */
static int sb_decide(struct sb *b, struct sb_fault *f, int resumable)
{
	json_object *o;
	int go = 0;
	enum scan_fault_mode mode = b->cfg->on_fault;

	if (!resumable || sb_stop)
		mode = SCAN_FAULT_STOP;
	sb_progress_clear(b);
	log_errorx("%s: %s", b->id, f->text);
	if (mode == SCAN_FAULT_WAIT) {
		sb_ctl_drain(b);
		sb_resume = sb_quit = 0;
	}
	o = sb_fault_json(f);
	json_object_object_add(o, "waiting", json_object_new_boolean(mode != SCAN_FAULT_STOP));
	json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
	sb_event(b, "fault", o);
	switch (mode) {
	case SCAN_FAULT_ASK:
		fprintf(stderr, "\n*** %s\n", f->message);
		go = sb_ask(b);
		break;
	case SCAN_FAULT_WAIT:
		if (b->cfg->control != NULL)
			log_info("%s: %s. Waiting: 'continue' into %s or kill -USR1 %ld goes on; "
				 "'stop' or kill -USR2 %ld ends the stack",
				 b->id, f->message, b->cfg->control, (long)getpid(),
				 (long)getpid());
		else
			log_info("%s: %s. Waiting: kill -USR1 %ld goes on; kill -USR2 %ld ends the "
				 "stack",
				 b->id, f->message, (long)getpid(), (long)getpid());
		go = sb_wait(b);
		break;
	case SCAN_FAULT_STOP:
		if (resumable)
			log_info("%s: %s", b->id, f->message);
		go = 0;
		break;
	}
	f->outcome = go ? "resumed" : "stopped";
	o = json_object_new_object();
	json_object_object_add(o, "sheet", json_object_new_int64(f->sheet));
	if (go) {
		json_object_object_add(
		    o, "attempt",
		    json_object_new_int(f->sheet == b->seg_sheet ? b->seg_attempt + 1 : 2));
		sb_event(b, "resume", o);
		log_info("%s: going on at sheet %ld", b->id, f->sheet);
	} else {
		json_object_object_add(o, "reason", json_object_new_string(f->text));
		sb_event(b, "stop", o);
	}
	return go;
}

/* The status name without SANE_STATUS_. */
static const char *sb_status_name(SANE_Status st)
{
	switch (st) {
	case SANE_STATUS_JAMMED:
		return "JAMMED";
	case SANE_STATUS_COVER_OPEN:
		return "COVER_OPEN";
	case SANE_STATUS_DEVICE_BUSY:
		return "DEVICE_BUSY";
	case SANE_STATUS_IO_ERROR:
		return "IO_ERROR";
	case SANE_STATUS_NO_DOCS:
		return "NO_DOCS";
	case SANE_STATUS_EOF:
		return "EOF";
	case SANE_STATUS_CANCELLED:
		return "CANCELLED";
	case SANE_STATUS_NO_MEM:
		return "NO_MEM";
	case SANE_STATUS_ACCESS_DENIED:
		return "ACCESS_DENIED";
	case SANE_STATUS_INVAL:
		return "INVAL";
	case SANE_STATUS_UNSUPPORTED:
		return "UNSUPPORTED";
	default:
		return "ERROR";
	}
}

/* How a device process ended. */
enum sb_seg { SB_SEG_END, SB_SEG_FAULT, SB_SEG_FATAL };

/* Where a fault happened, as the log says it: "page N" (one letter) or "sheet N". */
static void sb_where(const struct sb *b, char *out, size_t outlen)
{
	if (b->cfg->batch)
		snprintf(out, outlen, "sheet %ld%s", b->sheet,
			 b->duplex ? (b->side ? " (back)" : " (front)") : "");
	else
		snprintf(out, outlen, "page %ld", b->kept_frames + 1);
}

/* Take the first OPENED message. 0, or -1 (bad message). */
static int sb_opened(struct sb *b, const struct scan_device_msg *m)
{
	json_object *o = json_tokener_parse((const char *)m->data), *v;

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -1;
	}
	if (!b->opened) {
		json_object *dev = NULL, *set = NULL;

		json_object_object_get_ex(o, "device", &dev);
		json_object_object_get_ex(o, "settings", &set);
		b->device = dev ? json_object_get(dev) : json_object_new_object();
		b->settings = NULL;
		if (set == NULL || json_object_deep_copy(set, &b->settings, NULL) != 0)
			b->settings = json_object_new_object();
		if (b->cfg->extra_settings != NULL) {
			json_object_object_foreach(b->cfg->extra_settings, key, val)
			    json_object_object_add(b->settings, key, json_object_get(val));
		}
		snprintf(b->devname, sizeof(b->devname), "%s",
			 json_object_object_get_ex(dev, "name", &v) ? json_object_get_string(v)
								    : b->cfg->rq.device);
		b->feeder =
		    json_object_object_get_ex(o, "feeder", &v) && json_object_get_boolean(v);
		b->duplex =
		    (json_object_object_get_ex(o, "duplex", &v) && json_object_get_boolean(v)) ||
		    b->cfg->duplex_frames;
		b->xres = json_object_object_get_ex(o, "xres", &v) ? json_object_get_double(v) : 0;
		b->yres = json_object_object_get_ex(o, "yres", &v) ? json_object_get_double(v) : 0;
		if (b->duplex)
			json_object_object_add(b->settings, "duplex", json_object_new_boolean(1));
		b->opened = 1;
	}
	json_object_put(o);
	return 0;
}

/* Run one device process until it ends. *fault gets the fault (SB_SEG_FAULT). */
static enum sb_seg sb_segment(struct sb *b, scan_device *dev, struct sb_fault **fault,
			      int *resumable, char *fatal, size_t fatallen)
{
	struct scan_device_msg m;
	char err[1024], text[1200], where[64];

	*fault = NULL;
	*resumable = 1;
	for (;;) {
		scan_device_next(dev, &m);
		switch (m.type) {
		case SCAN_DEV_OPENED:
			if (sb_opened(b, &m) == -1) {
				snprintf(fatal, fatallen,
					 "scanner %s: bad answer from the device process",
					 b->cfg->rq.device);
				if (b->npages == 0)
					return SB_SEG_FATAL;
				*fault = sb_fault(b, "CRASH", "open", fatal);
				*resumable = 0;
				return SB_SEG_FAULT;
			}
			break;
		case SCAN_DEV_OPEN_FAILED:
			if (!b->opened && b->npages == 0) {
				snprintf(fatal, fatallen, "%s", (const char *)m.data);
				return SB_SEG_FATAL;
			}
			*fault = sb_fault(b, "OPEN", "open", (const char *)m.data);
			return SB_SEG_FAULT;
		case SCAN_DEV_FRAME:
			if (sb_frame_begin(b, &m.params, err, sizeof(err)) == -1) {
				*fault = sb_fault(b, "LAYOUT", "parameters", err);
				*resumable = 0;
				return SB_SEG_FAULT;
			}
			break;
		case SCAN_DEV_DATA:
			if (!b->in_frame ||
			    sb_frame_data(b, m.data, m.len, err, sizeof(err)) == -1) {
				*fault = sb_fault(b, "DATA", "reading",
						  b->in_frame ? err : "image data outside a page");
				*resumable = 0;
				return SB_SEG_FAULT;
			}
			break;
		case SCAN_DEV_FRAME_END:
			if (!b->in_frame || sb_frame_end(b, err, sizeof(err)) == -1) {
				*fault = sb_fault(b, "DATA", "reading",
						  b->in_frame ? err : "a page end outside a page");
				*resumable = 0;
				return SB_SEG_FAULT;
			}
			if (b->failed) {
				*fault = sb_fault(b, "WRITE", "-", b->fail_text);
				*resumable = 0;
				return SB_SEG_FAULT;
			}
			break;
		case SCAN_DEV_DONE:
			return SB_SEG_END;
		case SCAN_DEV_STATUS:
			/* the feeder is empty: the end of the stack, unless it is empty right
			 * after a fault, when the operator was to put the sheets back */
			if (m.status == SANE_STATUS_NO_DOCS && m.call == SCAN_DEV_CALL_START &&
			    b->kept_frames > 0 && (b->seg_frames > 0 || b->nfaults == 0)) {
				/* the feeder is empty: the stack is complete */
				if (b->duplex && b->side == 1)
					b->odd_end = 1;
				return SB_SEG_END;
			}
			sb_where(b, where, sizeof(where));
			snprintf(text, sizeof(text), "scanner %s: %s during %s (%s): %s",
				 b->devname, (const char *)m.data, where,
				 scan_device_call_name(m.call), scan_sane_advice(m.status));
			*fault = sb_fault(b, sb_status_name(m.status),
					  scan_device_call_name(m.call), text);
			return SB_SEG_FAULT;
		case SCAN_DEV_HANG:
			sb_where(b, where, sizeof(where));
			snprintf(text, sizeof(text), "%s during %s; the pages before are kept",
				 (const char *)m.data, where);
			*fault = sb_fault(b, "HANG", "-", text);
			return SB_SEG_FAULT;
		case SCAN_DEV_DIED:
		case SCAN_DEV_BROKEN:
			sb_where(b, where, sizeof(where));
			snprintf(text, sizeof(text),
				 "scanner %s: %s during %s; the pages before are "
				 "kept",
				 b->devname[0] ? b->devname : b->cfg->rq.device,
				 (const char *)m.data, where);
			*fault = sb_fault(b, "CRASH", "-", text);
			return SB_SEG_FAULT;
		case SCAN_DEV_STOPPED:
			sb_where(b, where, sizeof(where));
			snprintf(
			    text, sizeof(text),
			    "scanner %s: interrupted by a signal during %s; scan the rest again",
			    b->devname[0] ? b->devname : b->cfg->rq.device, where);
			*fault = sb_fault(b, "STOPPED", "-", text);
			*resumable = 0;
			return SB_SEG_FAULT;
		}
	}
}

/* ---- the batch record ---- */

/* batch.json for the batch as it stands. */
static json_object *sb_record(struct sb *b, const char *state, const char *review)
{
	json_object *r = json_object_new_object(), *a;
	char now[TIMEFMT_ISO_MAX], mode[32];
	size_t i;

	json_object_object_add(r, "format", json_object_new_string(SB_BATCH_FORMAT));
	json_object_object_add(r, "id", json_object_new_string(b->id));
	json_object_object_add(r, "state", json_object_new_string(state));
	json_object_object_add(r, "started", json_object_new_string(b->started));
	json_object_object_add(r, "ended", json_object_new_string(timefmt_now(now)));
	json_object_object_add(r, "station", json_object_new_string(b->env->set->station));
	json_object_object_add(r, "operator", json_object_new_string(b->env->operator_name));
	json_object_object_add(r, "device", b->device ? json_object_get(b->device) : NULL);
	json_object_object_add(r, "settings", b->settings ? json_object_get(b->settings) : NULL);
	json_object_object_add(r, "profile",
			       b->cfg->profile ? json_object_new_string(b->cfg->profile) : NULL);
	scan_separate_mode_name(&b->cfg->sep, mode, sizeof(mode));
	json_object_object_add(r, "separation",
			       json_object_new_string(b->cfg->batch ? mode : "none"));
	json_object_object_add(r, "duplex", json_object_new_boolean(b->duplex));
	json_object_object_add(r, "sheets",
			       json_object_new_int64(b->sheet - 1 + (b->side ? 1 : 0)));
	a = json_object_new_array();
	for (i = 0; i < b->npages; i++) {
		const struct sb_page *p = &b->pages[i];
		json_object *o = json_object_new_object();
		char f[64];

		sb_page_file(p->seq, f, sizeof(f));
		json_object_object_add(o, "seq", json_object_new_int64(p->seq));
		json_object_object_add(o, "file", json_object_new_string(f));
		json_object_object_add(o, "sheet", json_object_new_int64(p->sheet));
		json_object_object_add(o, "side",
				       json_object_new_string(p->side ? "back" : "front"));
		json_object_object_add(o, "attempt", json_object_new_int(p->attempt));
		json_object_object_add(o, "role", json_object_new_string(sb_role_names[p->role]));
		if (p->doc > 0)
			json_object_object_add(o, "document", json_object_new_int64(p->doc));
		json_object_object_add(o, "ink", json_object_new_double(p->ink));
		json_object_object_add(o, "blank",
				       json_object_new_string(p->blank == SCAN_PAGE_DROP ? "drop"
							      : p->blank == SCAN_PAGE_FLAG
								  ? "flag"
								  : "keep"));
		json_object_object_add(o, "rotation", json_object_new_int(p->rotation));
		json_object_object_add(o, "sha256", json_object_new_string(p->sha256));
		if (p->sep_found) {
			json_object *s = json_object_new_object();

			json_object_object_add(s, "valid", json_object_new_boolean(p->sep_valid));
			json_object_object_add(s, "number", json_object_new_int64(p->sep_sheet));
			json_object_object_add(o, "separator", s);
		}
		json_object_object_add(o, "at", json_object_new_string(p->at));
		json_object_array_add(a, o);
	}
	json_object_object_add(r, "pages", a);
	a = json_object_new_array();
	for (i = 0; i < b->ndocs; i++) {
		const struct sb_doc *d = &b->docs[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "n", json_object_new_int64(d->n));
		json_object_object_add(o, "letter",
				       d->built ? json_object_new_string(d->id) : NULL);
		json_object_object_add(o, "first_sheet", json_object_new_int64(d->first_sheet));
		json_object_object_add(o, "last_sheet", json_object_new_int64(d->last_sheet));
		json_object_object_add(o, "pages", json_object_new_int64(d->pages));
		json_object_object_add(o, "dropped", json_object_new_int64(d->dropped));
		json_object_object_add(o, "complete", json_object_new_boolean(d->complete));
		if (d->sep_sheet > 0) {
			json_object_object_add(o, "separator_sheet",
					       json_object_new_int64(d->sep_sheet));
			if (d->sep.raw[0])
				json_object_object_add(o, "separator",
						       json_object_new_string(d->sep.raw));
		}
		json_object_array_add(a, o);
	}
	json_object_object_add(r, "documents", a);
	a = json_object_new_array();
	for (i = 0; i < b->nfaults; i++)
		json_object_array_add(a, sb_fault_json(&b->faults[i]));
	json_object_object_add(r, "faults", a);
	a = json_object_new_array();
	for (i = 0; i < b->nproblems; i++)
		json_object_array_add(a, json_object_new_string(b->problems[i]));
	json_object_object_add(r, "problems", a);
	json_object_object_add(r, "review", review ? json_object_new_string(review) : NULL);
	return r;
}

/* Write batch.json into the batch directory. 0 or -1. */
static int sb_record_write(struct sb *b, const char *state, const char *review)
{
	json_object *r = sb_record(b, state, review);
	char *path = fio_join(b->dir, SB_BATCH_RECORD);
	const char *txt = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY |
								JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = fio_write_atomic(path, txt, strlen(txt), 0600);

	if (rc == -1)
		log_error("%s: cannot write %s", b->id, path);
	free(path);
	json_object_put(r);
	return rc;
}

/* ---- the end of a batch ---- */

/* Submit the letter of document d (letters/<id> -> classify/incoming/<id>). 0 or -1. */
static int sb_submit(struct sb *b, struct sb_doc *d, long ndocs_letters)
{
	char *from = fio_join(b->letters_dir, d->id);
	char *to = spool_path(b->env->classify, SPOOL_INCOMING, d->id);
	char detail[1400];
	int rc;

	rc = fio_rename(from, to);
	if (rc == -1) {
		log_error("%s: cannot submit to spool/classify/incoming", d->id);
	} else {
		if (b->cfg->batch) {
			char sheets[64], drop[64] = "";

			if (d->first_sheet == d->last_sheet)
				snprintf(sheets, sizeof(sheets), "sheet %ld", d->first_sheet);
			else
				snprintf(sheets, sizeof(sheets), "sheets %ld-%ld", d->first_sheet,
					 d->last_sheet);
			if (d->dropped > 0)
				snprintf(drop, sizeof(drop), ", %ld blank page%s dropped",
					 d->dropped, d->dropped == 1 ? "" : "s");
			snprintf(detail, sizeof(detail),
				 "%ld page%s from %s (batch %s, document %ld of %ld, %s%s)",
				 d->pages, d->pages == 1 ? "" : "s", b->devname, b->id, d->n,
				 ndocs_letters, sheets, drop);
		} else {
			snprintf(detail, sizeof(detail), "%ld page%s from %s%s%s", d->pages,
				 d->pages == 1 ? "" : "s", b->devname,
				 d->complete ? "" : "; stopped by a fault: ",
				 d->complete ? "" : b->stop_text);
		}
		scan_job_journal(b->env, d->id, "captured", "ok", "queued",
				 "spool/classify/incoming", detail,
				 d->complete ? NULL : b->stop_text);
		sb_progress_clear(b);
		if (d->complete)
			log_info("%s: %s, submitted to classify", d->id, detail);
	}
	free(from);
	free(to);
	return rc;
}

/* Hold the incomplete letter of document d alone in scan/corrupt. 0 or -1. */
static int sb_hold_letter(struct sb *b, struct sb_doc *d)
{
	char *from = fio_join(b->letters_dir, d->id);
	char *to = spool_path(b->env->scan, SPOOL_TMP, d->id);
	char reason[2048], loc[160], detail[1200];
	int rc = -1;

	snprintf(reason, sizeof(reason),
		 "incomplete document of batch %s: the stack ended at sheet %ld with a fault "
		 "(%s); this letter holds sheets %ld-%ld (%ld pages). Scan the rest of the "
		 "document (sheet %ld and following) and compare: if this letter is complete as "
		 "it is, 'mailroom requeue %s' releases it to classify at the next start of "
		 "mailroom-scan; otherwise scan the whole document again and remove this "
		 "directory",
		 b->id, b->sheet, b->stop_text, d->first_sheet, d->last_sheet, d->pages, b->sheet,
		 d->id);
	if (fio_rename(from, to) == -1 ||
	    spool_quarantine(b->env->scan, SPOOL_TMP, d->id, reason) == -1) {
		log_error("%s: cannot hold the incomplete letter in spool/scan/corrupt", d->id);
		goto out;
	}
	snprintf(loc, sizeof(loc), "spool/scan/corrupt/%s", d->id);
	snprintf(detail, sizeof(detail),
		 "%ld page%s from %s (batch %s, document %ld, sheets %ld-%ld), incomplete",
		 d->pages, d->pages == 1 ? "" : "s", b->devname, b->id, d->n, d->first_sheet,
		 d->last_sheet);
	scan_job_journal(b->env, d->id, "captured", "quarantined", "quarantined", loc, detail,
			 reason);
	sb_progress_clear(b);
	log_warnx("%s: %s; held in %s", d->id, reason, loc);
	rc = 0;
out:
	free(from);
	free(to);
	return rc;
}

/* Make every page file durable (they are written without fsync, page by page);
 * before the batch record is written and any letter of the batch leaves. 0 or -1. */
static int sb_sync(struct sb *b)
{
	char rel[64], *path;
	size_t i;
	int rc = 0;

	for (i = 0; i < b->npages; i++) {
		sb_page_file(b->pages[i].seq, rel, sizeof(rel));
		path = fio_join(b->dir, rel);
		if (fio_fsync_file(path) == -1) {
			log_error("%s: cannot make %s durable", b->id, rel);
			rc = -1;
		}
		free(path);
	}
	if (fio_fsync_dir(b->pages_dir) == -1) {
		log_error("%s: cannot make %s durable", b->id, b->pages_dir);
		rc = -1;
	}
	return rc;
}

/* Finish the batch: submit or hold. Returns the exit code. */
static int sb_finish(struct sb *b)
{
	char reason[4096], loc[160], *bdest;
	size_t i, n = 0;
	long letters = 0, held = 0, failed = 0, peak, rss;
	int rc = EX_OK, hold = b->nproblems > 0;
	json_object *o, *ids;

	/* a duplex sheet whose back never came (the feeder emptied) */
	if (b->duplex && b->side == 1) {
		b->odd_end = 1;
		b->side = 0;
		b->sheet++;
		sb_sheet_done(b, b->sheet - 1);
	}
	if (b->odd_end) {
		b->warnings++;
		log_warnx("%s: duplex: the last sheet (%ld) delivered no back side", b->id,
			  b->sheet - 1);
	}
	sb_doc_close(b, !b->stopped);
	for (i = 0; i < b->ndocs; i++)
		if (b->docs[i].built)
			letters++;
	if (b->npages == 0 || (b->kept_frames == 0 && letters == 0)) {
		/* nothing was captured: no letter exists; the pages dir is ours to drop
		 * unless it holds superseded pages, which stay as a record */
		sb_progress_clear(b);
		if (b->npages == 0) {
			log_errorx("%s%sno page was captured, no letter was created",
				   b->stop_text[0] ? b->stop_text : "",
				   b->stop_text[0] ? "; " : "");
			fio_rmtree(b->dir);
			return b->stopped ? EX_IOERR : EX_NOINPUT;
		}
	}
	if (sb_sync(b) == -1)
		return EX_IOERR; /* the batch stays in tmp/: quarantined at the next start */
	if (b->failed) {
		/* a document has no letter: submitting the others would lose its pages */
		snprintf(reason, sizeof(reason),
			 "batch not submitted: %s. Every page is in pages/ and the record in "
			 "batch.json; free the space (or fix the cause), then scan the stack again "
			 "and remove this directory",
			 b->fail_text);
		sb_record_write(b, "failed", reason);
		if (spool_quarantine(b->env->scan, SPOOL_TMP, b->id, reason) == -1)
			log_error("%s: cannot move the batch to spool/scan/corrupt; it stays in "
				  "spool/scan/tmp and is moved at the next start",
				  b->id);
		snprintf(loc, sizeof(loc), "spool/scan/corrupt/%s", b->id);
		scan_job_journal(b->env, b->id, "held", "failed", "quarantined", loc,
				 "scan batch could not be written", reason);
		sb_progress_clear(b);
		log_errorx("%s: %s", b->id, reason);
		return EX_IOERR;
	}
	if (hold) {
		size_t k = 0;

		k += (size_t)snprintf(reason + k, sizeof(reason) - k,
				      "batch held for review, nothing of it was submitted: ");
		for (i = 0; i < b->nproblems && k < sizeof(reason); i++)
			k += (size_t)snprintf(reason + k, sizeof(reason) - k, "%s%s", i ? "; " : "",
					      b->problems[i]);
		if (k < sizeof(reason))
			snprintf(
			    reason + k, sizeof(reason) - k,
			    ". The proposed split is in batch.json (documents) with its %ld "
			    "letter(s) in letters/ and every page image in pages/. Compare it "
			    "with the stack: if it is right, 'mailroom requeue %s' releases the "
			    "letters to classify at the next start of mailroom-scan; otherwise "
			    "fix the separator sheets, scan the stack again and remove this "
			    "directory",
			    letters, b->id);
		if (sb_record_write(b, "held", reason) == -1 ||
		    spool_quarantine(b->env->scan, SPOOL_TMP, b->id, reason) == -1) {
			log_error("%s: cannot hold the batch in spool/scan/corrupt", b->id);
			return EX_IOERR;
		}
		snprintf(loc, sizeof(loc), "spool/scan/corrupt/%s", b->id);
		scan_job_journal(b->env, b->id, "held", "review", "quarantined", loc,
				 "scan batch held for review", reason);
		sb_progress_clear(b);
		log_warnx("%s: %s", b->id, reason);
		rc = EX_DATAERR;
	} else {
		if (sb_record_write(b, b->stopped ? "stopped" : "submitted", NULL) == -1)
			return EX_IOERR;
		for (i = 0; i < b->ndocs; i++) {
			struct sb_doc *d = &b->docs[i];

			if (!d->built)
				continue;
			if (!d->complete && b->cfg->batch) {
				if (sb_hold_letter(b, d) == 0)
					held++;
				else
					failed++;
			} else if (sb_submit(b, d, letters) == -1) {
				failed++;
			} else {
				n++;
			}
		}
		rmdir(b->letters_dir); /* empty once every letter left; kept otherwise */
		bdest = fio_join(spool_dir(b->env->scan, SPOOL_TMP), "../batches");
		if (fio_mkdirs(bdest, 0700) == -1) {
			log_error("%s: cannot create %s", b->id, bdest);
			free(bdest);
			return EX_IOERR;
		}
		{
			char *to = fio_join(bdest, b->id);

			if (fio_rename(b->dir, to) == -1) {
				log_error("%s: cannot move the batch record to %s", b->id, to);
				failed++;
			}
			free(to);
		}
		free(bdest);
		if (failed > 0)
			rc = EX_IOERR;
		else if (b->stopped)
			rc = EX_IOERR;
	}
	sb_progress_clear(b);
	if (!b->cfg->batch && b->stopped && letters > 0) {
		for (i = 0; i < b->ndocs; i++)
			if (b->docs[i].built) {
				log_errorx("%s: %s", b->docs[i].id, b->stop_text);
				log_errorx(
				    "%s: %ld page%s scanned before the fault %s kept and "
				    "submitted as this letter; scan the remaining pages as a "
				    "new letter",
				    b->docs[i].id, b->docs[i].pages,
				    b->docs[i].pages == 1 ? "" : "s",
				    b->docs[i].pages == 1 ? "was" : "were");
			}
	}
	if (b->cfg->batch)
		log_info("%s: batch of %ld sheet%s (%zu pages): %ld letter%s submitted to "
			 "classify%s%s, %zu fault%s%s",
			 b->id, b->sheet - 1, b->sheet - 1 == 1 ? "" : "s", b->npages, (long)n,
			 n == 1 ? "" : "s", held ? ", 1 incomplete letter held" : "",
			 hold ? " (held for review)" : "", b->nfaults, b->nfaults == 1 ? "" : "s",
			 b->stopped ? "; the stack ended with a fault" : "");
	o = json_object_new_object();
	ids = json_object_new_array();
	for (i = 0; i < b->ndocs; i++)
		if (b->docs[i].built)
			json_object_array_add(ids, json_object_new_string(b->docs[i].id));
	json_object_object_add(o, "letters", ids);
	json_object_object_add(o, "pages", json_object_new_int64((int64_t)b->npages));
	json_object_object_add(o, "sheets", json_object_new_int64(b->sheet - 1));
	json_object_object_add(o, "documents", json_object_new_int64(letters));
	json_object_object_add(o, "faults", json_object_new_int64((int64_t)b->nfaults));
	json_object_object_add(o, "held", json_object_new_boolean(hold));
	json_object_object_add(o, "stopped", json_object_new_boolean(b->stopped));
	json_object_object_add(o, "exit", json_object_new_int(rc));
	sb_rss(&rss, &peak);
	json_object_object_add(o, "rss_kb", json_object_new_int64(rss));
	json_object_object_add(o, "peak_rss_kb", json_object_new_int64(peak));
	sb_event(b, "batch-end", o);
	return rc;
}

/* Free everything of b. */
static void sb_free(struct sb *b)
{
	size_t i;

	if (b->in_frame)
		sb_frame_abort(b);
	scan_page_close(b->pa);
	scan_separate_free(b->sp);
	json_object_put(b->device);
	json_object_put(b->settings);
	for (i = 0; i < b->nproblems; i++)
		free(b->problems[i]);
	free(b->pages);
	free(b->docs);
	free(b->faults);
	free(b->dir);
	free(b->pages_dir);
	free(b->letters_dir);
	if (b->ctl != -1)
		close(b->ctl);
}

int scan_batch_run(const struct scan_env *env, const struct scan_batch_cfg *cfg)
{
	struct sb b;
	struct scan_sep_cfg sc;
	char err[1024], fatal[1200];
	int rc = EX_SOFTWARE;
	json_object *o;

	memset(&b, 0, sizeof(b));
	b.env = env;
	b.cfg = cfg;
	b.ctl = -1;
	b.tty = cfg->progress;
	b.t0 = sb_now();
	timefmt_now(b.started);
	if ((b.pa = scan_page_open(&cfg->page, err, sizeof(err))) == NULL) {
		log_errorx("page analysis: %s", err);
		return EX_CONFIG;
	}
	sc = cfg->sep;
	if (!cfg->batch) {
		sc.mode = SCAN_SEP_NONE;
		sc.max_document_pages = 0;
	}
	b.sp = scan_separate_new(&sc);
	if (cfg->control != NULL) {
		if (mkfifo(cfg->control, 0600) == -1 && errno != EEXIST) {
			log_error("cannot create the control FIFO %s", cfg->control);
			rc = EX_CANTCREAT;
			goto out;
		}
		if ((b.ctl = open(cfg->control, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1) {
			log_error("cannot open the control FIFO %s", cfg->control);
			rc = EX_CANTCREAT;
			goto out;
		}
	}
	ident_job_new(b.id);
	if ((b.dir = spool_create(env->scan, b.id)) == NULL) {
		log_error("%s: cannot create spool/scan/tmp/%s", b.id, b.id);
		rc = EX_CANTCREAT;
		goto out;
	}
	b.pages_dir = fio_join(b.dir, "pages");
	b.letters_dir = fio_join(b.dir, "letters");
	if (mkdir(b.pages_dir, 0700) == -1 || mkdir(b.letters_dir, 0700) == -1) {
		log_error("%s: cannot create the batch directories", b.id);
		fio_rmtree(b.dir);
		rc = EX_CANTCREAT;
		goto out;
	}
	sb_signals();
	b.sheet = 1;
	b.seg_sheet = 1;
	b.seg_attempt = 1;
	o = json_object_new_object();
	json_object_object_add(o, "device", json_object_new_string(cfg->rq.device));
	json_object_object_add(o, "profile",
			       cfg->profile ? json_object_new_string(cfg->profile) : NULL);
	{
		char mode[32];

		scan_separate_mode_name(&sc, mode, sizeof(mode));
		json_object_object_add(o, "separation", json_object_new_string(mode));
	}
	json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
	sb_event(&b, "batch-start", o);
	log_info("%s: scanning from %s%s%s%s", b.id, cfg->rq.device,
		 cfg->batch ? " as a batch" : "", cfg->profile ? " with profile " : "",
		 cfg->profile ? cfg->profile : "");
	for (;;) {
		struct scan_device_cfg dc;
		scan_device *dev;
		struct sb_fault *f = NULL;
		enum sb_seg seg;
		int resumable, killed;

		memset(&dc, 0, sizeof(dc));
		dc.rq = &cfg->rq;
		dc.first_sheet = b.sheet;
		dc.attempt = b.seg_attempt;
		dc.pages_left = cfg->pages > 0 ? cfg->pages - b.kept_frames : 0;
		dc.max_left = cfg->max_pages - b.kept_frames;
		dc.duplex_frames = cfg->duplex_frames;
		dc.timeout = cfg->timeout;
		dc.cancel_grace = cfg->cancel_grace;
		dc.sheetopts = cfg->sheetopts;
		dc.n_sheetopts = cfg->n_sheetopts;
		dc.stop = &sb_stop;
		b.seg_frames = 0;
		if ((cfg->pages > 0 && dc.pages_left <= 0) || dc.max_left <= 0)
			break;
		if ((dev = scan_device_start(&dc, err, sizeof(err))) == NULL) {
			log_errorx("%s: %s", b.id, err);
			rc = EX_OSERR;
			fio_rmtree(b.dir);
			goto out;
		}
		o = json_object_new_object();
		json_object_object_add(o, "pid",
				       json_object_new_int64((int64_t)scan_device_pid(dev)));
		json_object_object_add(o, "sheet", json_object_new_int64(b.sheet));
		json_object_object_add(o, "attempt", json_object_new_int(b.seg_attempt));
		sb_event(&b, "device", o);
		seg = sb_segment(&b, dev, &f, &resumable, fatal, sizeof(fatal));
		/* a device that reported its own end or status gets time to stop; one we
		 * gave up on (bad data, a write error, a signal) is killed at once */
		scan_device_stop(dev, seg == SB_SEG_FAULT && !resumable, &killed);
		if (killed) {
			b.warnings++;
			sb_progress_clear(&b);
			log_warnx(
			    "%s: scanner %s did not stop within %.0f s (sane_cancel hangs); its "
			    "device process was killed. The pages captured are kept",
			    b.id, cfg->rq.device, cfg->cancel_grace);
		}
		if (seg == SB_SEG_FATAL) {
			sb_progress_clear(&b);
			log_errorx("%s", fatal);
			fio_rmtree(b.dir);
			rc = EX_UNAVAILABLE;
			goto out;
		}
		if (seg == SB_SEG_END) {
			if (b.feeder && cfg->pages == 0 && b.kept_frames >= cfg->max_pages)
				log_warnx(
				    "%s: scanner %s: stopped after capture.max_pages (%ld) pages; "
				    "pages left in the feeder are not part of this batch",
				    b.id, cfg->rq.device, cfg->max_pages);
			break;
		}
		{
			long fsheet = f->sheet;
			int next_attempt = fsheet == b.seg_sheet ? b.seg_attempt + 1 : 2;

			if (b.nfaults > SB_MAX_FAULTS)
				resumable = 0;
			if (sb_decide(&b, f, resumable)) {
				b.seg_sheet = fsheet;
				b.seg_attempt = next_attempt;
				continue;
			}
			b.stopped = 1;
			snprintf(b.stop_text, sizeof(b.stop_text), "%s", f->text);
			break;
		}
	}
	rc = sb_finish(&b);
out:
	sb_free(&b);
	return rc;
}

/* ---- release after review ---- */

/* Release the batch in scan/active/<id> (its letters to classify). Count or -1. */
static int sb_release_batch(const struct scan_env *env, const char *id, const char *dir)
{
	char *ldir = fio_join(dir, "letters"), *dest, *bdest;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int released = 0, bad = 0;

	if ((d = opendir(ldir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (!ident_job_valid(de->d_name))
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				names = xrealloc(names, cap * sizeof(*names));
			}
			names[n++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	for (i = 0; i < n; i++) {
		char *from = fio_join(ldir, names[i]), err[1024], detail[600];
		job *j = job_read(from, names[i], err, sizeof(err));

		if (j == NULL) {
			log_errorx("%s: letter of batch %s cannot be released: %s", names[i], id,
				   err);
			bad++;
			free(from);
			continue;
		}
		job_free(j);
		dest = spool_path(env->classify, SPOOL_INCOMING, names[i]);
		if (fio_rename(from, dest) == -1) {
			log_error("%s: cannot submit to spool/classify/incoming", names[i]);
			bad++;
		} else {
			snprintf(detail, sizeof(detail),
				 "letter of batch %s, released by the operator after review", id);
			scan_job_journal(env, names[i], "captured", "ok", "queued",
					 "spool/classify/incoming", detail, NULL);
			log_info("%s: %s, submitted to classify", names[i], detail);
			released++;
		}
		free(dest);
		free(from);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ldir);
	if (bad > 0)
		return -1;
	bdest = fio_join(spool_dir(env->scan, SPOOL_TMP), "../batches");
	dest = fio_join(bdest, id);
	if (fio_mkdirs(bdest, 0700) == -1 || fio_rename(dir, dest) == -1) {
		log_error("%s: cannot move the batch record to %s", id, dest);
		released = -1;
	} else {
		char loc[160];

		snprintf(loc, sizeof(loc), "spool/scan/batches/%s", id);
		scan_job_journal(env, id, "released", "ok", "released", loc,
				 "scan batch released by the operator after review", NULL);
	}
	free(dest);
	free(bdest);
	return released;
}

int scan_batch_release(const struct scan_env *env)
{
	char **ids = spool_list(env->scan, SPOOL_INCOMING, 0, NULL);
	int total = 0, i;

	if (ids == NULL)
		return -1;
	for (i = 0; ids[i] != NULL; i++) {
		char *dir, *rec, *jrec, err[1024];
		int r = -1, c;

		if ((c = spool_claim(env->scan, ids[i])) != 1)
			continue;
		dir = spool_path(env->scan, SPOOL_ACTIVE, ids[i]);
		rec = fio_join(dir, SB_BATCH_RECORD);
		jrec = fio_join(dir, JOB_RECORD);
		if (fio_exists(rec) == 1) {
			buf bb;
			json_object *o = NULL, *st;

			buf_init(&bb, 64u << 20);
			if (fio_read_file(rec, 64u << 20, &bb) == 0 && bb.data != NULL)
				o = json_tokener_parse(bb.data);
			buf_free(&bb);
			if (o != NULL && json_object_object_get_ex(o, "state", &st) &&
			    (strcmp(json_object_get_string(st), "held") == 0 ||
			     strcmp(json_object_get_string(st), "submitted") == 0 ||
			     strcmp(json_object_get_string(st), "stopped") == 0))
				r = sb_release_batch(env, ids[i], dir);
			else
				snprintf(err, sizeof(err),
					 "batch.json is not a finished batch record");
			json_object_put(o);
			if (r == -1 && fio_exists(dir) == 1)
				snprintf(
				    err, sizeof(err),
				    "the batch could not be released completely (see the log)");
		} else if (fio_exists(jrec) == 1) {
			job *j = job_read(dir, ids[i], err, sizeof(err));

			if (j != NULL) {
				job_free(j);
				if (spool_handoff(env->scan, ids[i], env->classify) == 0) {
					scan_job_journal(
					    env, ids[i], "captured", "ok", "queued",
					    "spool/classify/incoming",
					    "held letter released by the operator after "
					    "review",
					    NULL);
					log_info("%s: held letter released, submitted to classify",
						 ids[i]);
					r = 1;
				} else {
					snprintf(err, sizeof(err), "cannot submit it to classify");
				}
			}
		} else {
			snprintf(err, sizeof(err),
				 "neither a batch record nor a letter (an interrupted batch: its "
				 "letters were never complete); scan the stack again");
		}
		if (r == -1 && fio_exists(dir) == 1) {
			char reason[1400];

			snprintf(reason, sizeof(reason), "cannot be released: %s", err);
			spool_quarantine(env->scan, SPOOL_ACTIVE, ids[i], reason);
			log_errorx("%s: %s; back in spool/scan/corrupt", ids[i], reason);
		} else if (r > 0) {
			total += r;
		}
		free(rec);
		free(jrec);
		free(dir);
	}
	spool_list_free(ids);
	return total;
}
