/*
 * osd.h - page orientation with tesseract's orientation and script detection
 * (OSD): which way a page must be turned to be upright. Shared by the stages
 * that see page images (scan's page analysis; classify later); built as its own
 * library, mailroom_osd, so that only they link tesseract.
 *
 * One osd per process (or worker): tesseract's legacy engine initialised once
 * with the "osd" data (Debian: tesseract-ocr-osd), page segmentation OSD only,
 * its diagnostics sent to /dev/null. osd_detect runs on the image it is given:
 * give it a page at 150 to 300 dpi (below about 140 dpi OSD guesses: measured),
 * bilevel or gray, with its resolution set; about 0.2-0.4 s per A4 page at 150
 * dpi on one core.
 *
 * Trust (osd_trusted): tesseract calls a confidence of 15 "reasonably confident".
 * Measured with tesseract 5.3 on 53 page images (20 rendered letters of
 * shared/ocr-pages, 33 pages of the shared corpus) at 150 dpi, each turned by 0,
 * 90, 180 and 270 degrees (212 runs): the wrong answers had confidences up to
 * 5.72, those naming the script Latin up to 4.27 (at 100 dpi too, where a third
 * of the answers are wrong); right answers went from 0.7 to 28, and sideways
 * pages of Latin text are often seen as Cyrillic with a high confidence. The
 * rule: OSD_MIN_CONF (6) when the script is Latin, else OSD_MIN_CONF_ANY (10).
 * It turned none of the 53 upright pages and corrected 124 of the 159 turned
 * ones; the rest stay as scanned (a page is never turned on weak evidence).
 */
#ifndef MAILROOM_OSD_H
#define MAILROOM_OSD_H

#include <stddef.h>

struct Pix;

#define OSD_MIN_CONF 6.0      /* see above: script Latin */
#define OSD_MIN_CONF_ANY 10.0 /* any other script */

/* What OSD saw on a page. */
struct osd_result {
	int deg;	    /* degrees clockwise that turn the page upright: 0, 90, 180, 270 */
	double conf;	    /* tesseract's orientation confidence */
	char script[32];    /* the script it saw ("Latin"), "" if none */
	double script_conf; /* its confidence in the script */
};

typedef struct osd osd;

/* Initialise tesseract for OSD (datapath NULL: tesseract's default tessdata).
 * NULL with the reason and the fix in err. */
osd *osd_open(const char *datapath, char *err, size_t errlen);
/* Accepts NULL; returns NULL. */
osd *osd_close(osd *o);
/*
 * Detect the orientation of pix (1, 8 or 32 bpp; its resolution should be set).
 * 1 with *r filled; 0 when the page has too little text to tell (*r cleared);
 * -1 with err on misuse (no image).
 */
int osd_detect(osd *o, struct Pix *pix, struct osd_result *r, char *err, size_t errlen);
/* 1 if r is evidence enough to turn the page (see above), else 0. */
int osd_trusted(const struct osd_result *r);

#endif
