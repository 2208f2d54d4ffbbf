/*
 * classify_ocr.h - OCR of a letter's image with the tesseract C API.
 *
 * One engine per process (per classify worker), initialised once ("deu+eng")
 * and reused for every letter, plus a second one with the first language only
 * for the early pass (classify_ocr_early) and a third with tesseract's
 * orientation model ("osd") for pages that read badly. One recognition pass per page produces
 * everything at once: the text (pages separated by form feed, cleaned to valid UTF-8), the text of
 * the top region of page 1 (letterhead, address block, subject: from the layout, not guessed), the
 * mean word confidence of every page, and - when asked - the searchable PDF rendition through
 * tesseract's PDF renderer.
 *
 * Orientation: a page that reads badly (low mean confidence, or text lines that run down the
 * image) is shown to tesseract's orientation detection (OSD, about 0.35 s CPU on a page);
 * when it is sure the page is turned, the page is turned upright (a multiple of 90 degrees) and
 * recognised again, and the better reading is kept. An upright page that reads well costs nothing
 * extra. The early pass decides the orientation of page 1 before it crops the top region;
 * classify_ocr_run then starts page 1 of the same file from that orientation, and every later
 * page from the orientation of the page before (a letter fed upside down is upside down
 * throughout). The turned page is what the searchable PDF shows; the image file is never changed.
 *
 * Noise: a gray or colour page whose light paper is grainy (a cheap estimate on every fourth
 * row) is smoothed (3x3 mean, to gray) before tesseract binarises it; otherwise tesseract finds
 * tens of thousands of speckle "characters" on a sparse page (minutes of CPU, hundreds of MB).
 * Clean pages are passed on untouched.
 */
#ifndef MAILROOM_CLASSIFY_OCR_H
#define MAILROOM_CLASSIFY_OCR_H

#include <stddef.h>

#include "buf.h"

#define CLASSIFY_OCR_LANGS "deu+eng"
#define CLASSIFY_OCR_MAX_PAGES 500
#define CLASSIFY_OCR_TEXT_MAX (16u << 20)
/* The top region of page 1: letterhead, address block, information block and
 * subject line. A DIN 5008 subject sits at about 100 mm of 297 mm, so "the first
 * third" is taken generously. */
#define CLASSIFY_OCR_TOP_FRACTION 0.4

/* Return codes of classify_ocr_run besides 0. */
#define CLASSIFY_OCR_UNREADABLE (-1) /* the image cannot be read: quarantine */
#define CLASSIFY_OCR_FAILED (-2)     /* recognition or output failed: retry later */

typedef struct classify_ocr classify_ocr;

/*
 * The early pass reads page 1 at about CLASSIFY_OCR_EARLY_DPI: the page's own resolution
 * when it declares a plausible one (CLASSIFY_OCR_MIN_DPI or more: scanners always do),
 * otherwise one estimated from the size of its characters (a photographed receipt, a
 * JPEG without density). 300 -> 120 dpi reads as much text as 150 dpi on the benchmark
 * pages for a fifth less CPU. Its first look covers as much paper as the top 40% of an A4
 * page (the letterhead, address block and subject of a letter; a till receipt or a
 * small slip whole); when that is not safe and the page goes on, a second look reads the
 * rest of page 1 at the same resolution (classify_ocr_early_rest).
 */
#define CLASSIFY_OCR_EARLY_DPI 120
#define CLASSIFY_OCR_MIN_DPI 100

/* What the early pass read (classify_ocr_result.early). */
struct classify_ocr_early_view {
	double scale;	 /* the factor page 1 was reduced by (1: not reduced) */
	int dpi;	 /* the resolution page 1 was taken to have (declared or estimated) */
	int estimated;	 /* 1 if dpi was estimated from the character size (char_px) */
	double char_px;	 /* median character size found on page 1 in pixels (when estimated) */
	int top_percent; /* share of page 1's height the first look read: 1..100 */
	int rest;	 /* 1 if the second look read the rest of page 1 */
};

/* How one page was read (classify_ocr_result.page[i]). */
struct classify_ocr_page {
	int rotation;	 /* degrees the page image was turned clockwise before recognition to make
			  * it upright: 0, 90, 180 or 270 (a page scanned turned 90 degrees
			  * clockwise gets 270) */
	double osd_conf; /* confidence of tesseract's orientation detection (its margin over
			  * the next orientation: about 15 is sure, below 1 not taken); 0 when
			  * it could not tell (too few letters), -1 when it did not run (the
			  * page read well) */
	int passes;	 /* recognition passes over the page (the early pass: over its top region):
			  * 1, or 2-3 when OSD ran and said turned */
	int denoised;	 /* 1 if the page was grainy and smoothed to gray before recognition (the
			  * searchable PDF then shows the smoothed page) */
};

struct classify_ocr_result {
	buf text;			/* UTF-8, pages separated by '\f' */
	buf top;			/* text lines in the top region of page 1 */
	double *conf;			/* mean confidence (0..100) per page; owned */
	struct classify_ocr_page *page; /* per page (n_pages of them); owned */
	size_t n_pages;
	int cleaned;	    /* 1 if invalid UTF-8 from the engine was replaced */
	size_t pages_total; /* pages in the image (the early pass reads only page 1) */
	size_t rotated;	    /* pages recognised turned (rotation != 0) */
	int osd;	    /* 1 if orientation detection was available (osd.traineddata) */
	struct classify_ocr_early_view early; /* classify_ocr_early only */
};

/*
 * Call first thing in main(): tesseract's OpenMP threads cost about four times
 * the CPU on one page and cannot be limited at run time, because libgomp reads
 * OMP_THREAD_LIMIT when it is loaded, before main(). Unless the variable is
 * already "1", this sets it and re-executes the program (/proc/self/exe, same
 * argv); it returns only if it is set or the exec failed (with a warning).
 */
void classify_ocr_prepare(char **argv);
/* Initialise tesseract with languages (NULL: CLASSIFY_OCR_LANGS) and the orientation model
 * "osd" (without it, a warning: pages are read as they lie). NULL with err set. */
classify_ocr *classify_ocr_open(const char *langs, char *err, size_t errlen);
classify_ocr *classify_ocr_close(classify_ocr *o);
/* The engine's version string (TessVersion()); static. */
const char *classify_ocr_version(void);
/* The languages the engine was initialised with; owned by o. */
const char *classify_ocr_langs(const classify_ocr *o);

/*
 * Recognise image (TIFF, multi-page; or PNG/JPEG/PNM: one page). With pdf_base
 * not NULL, tesseract's PDF renderer writes pdf_base + ".pdf" (not fsynced: the
 * caller makes it durable). res is initialised here; free with
 * classify_ocr_result_free even on error. log_id prefixes log lines (a job id or
 * the file name); messages name the image as display (NULL: image). Returns 0,
 * CLASSIFY_OCR_UNREADABLE or CLASSIFY_OCR_FAILED with err set (a message that names the file and
 * the fix). Page 1 starts from the orientation the last classify_ocr_early found for the same file
 * (same device, inode, size and mtime), so a turned first page is not detected twice. When the
 * letter left much free heap behind (a large page), it is handed back to the system (malloc_trim)
 * before this returns.
 */
int classify_ocr_run(classify_ocr *o, const char *log_id, const char *image, const char *display,
		     const char *pdf_base, struct classify_ocr_result *res, char *err,
		     size_t errlen);
void classify_ocr_result_free(struct classify_ocr_result *res);

/*
 * The early pass, first look: the top of page 1 (see CLASSIFY_OCR_EARLY_DPI), reduced -
 * enough text for the letterhead, address block and subject at a fraction of the CPU of
 * a full page. res->text and res->top both get that text; n_pages is 1, pages_total the
 * image's page count; page[0] says how page 1 lies (the region is cut from the upright
 * page); res->early what was read. Same checks and return codes as classify_ocr_run.
 * The upright page is kept for classify_ocr_early_rest until classify_ocr_early_release.
 */
int classify_ocr_early(classify_ocr *o, const char *log_id, const char *image, const char *display,
		       struct classify_ocr_result *res, char *err, size_t errlen);
/* 1 if the first look left part of page 1 unread (classify_ocr_early_rest would read it). */
int classify_ocr_early_has_rest(const classify_ocr *o);
/*
 * The early pass, second look: the rest of page 1 below the first look, at the same
 * resolution and orientation; its text is appended to res->text (res->top stays the
 * first look's) and res->early.rest set. 0, or CLASSIFY_OCR_FAILED with err set (res
 * then holds the first look unchanged). Releases the kept page either way.
 */
int classify_ocr_early_rest(classify_ocr *o, const char *log_id, struct classify_ocr_result *res,
			    char *err, size_t errlen);
/* Drop the page the first look kept (idempotent). */
void classify_ocr_early_release(classify_ocr *o);

/* CPU seconds (user + system) this process has used so far (getrusage). */
double classify_ocr_cpu(void);

/* Replace invalid UTF-8 in s[0..n) by U+FFFD, appending to out. 1 if anything was
 * replaced, 0 if not, -1 if out is full. */
int classify_ocr_clean_utf8(const char *s, size_t n, buf *out);

#endif
