/*
 * osd.c - page orientation with tesseract OSD; see osd.h.
 */
#include "osd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leptonica/allheaders.h>
#include <tesseract/capi.h>

#include "xalloc.h"

struct osd {
	TessBaseAPI *api;
};

osd *osd_open(const char *datapath, char *err, size_t errlen)
{
	osd *o = xcalloc(1, sizeof(*o));

	if ((o->api = TessBaseAPICreate()) == NULL) {
		snprintf(err, errlen, "tesseract: cannot create an engine");
		free(o);
		return NULL;
	}
	/* tesseract's tprintf diagnostics ("Too few characters. Skipping this page")
	 * go to debug_file: not into our log */
	TessBaseAPISetVariable(o->api, "debug_file", "/dev/null");
	if (TessBaseAPIInit2(o->api, datapath, "osd", OEM_TESSERACT_ONLY) != 0) {
		snprintf(err, errlen,
			 "tesseract cannot load its orientation data osd.traineddata from %s: "
			 "install tesseract-ocr-osd (or switch orientation off)",
			 datapath ? datapath : "its default tessdata directory");
		TessBaseAPIDelete(o->api);
		free(o);
		return NULL;
	}
	TessBaseAPISetPageSegMode(o->api, PSM_OSD_ONLY);
	return o;
}

osd *osd_close(osd *o)
{
	if (o == NULL)
		return NULL;
	TessBaseAPIEnd(o->api);
	TessBaseAPIDelete(o->api);
	free(o);
	return NULL;
}

int osd_detect(osd *o, struct Pix *pix, struct osd_result *r, char *err, size_t errlen)
{
	int deg = 0;
	float conf = 0, sconf = 0;
	const char *script = NULL;
	BOOL ok;

	memset(r, 0, sizeof(*r));
	if (o == NULL || pix == NULL || pixGetWidth(pix) <= 0 || pixGetHeight(pix) <= 0) {
		snprintf(err, errlen, "orientation: no image");
		return -1;
	}
	TessBaseAPISetImage2(o->api, pix);
	ok = TessBaseAPIDetectOrientationScript(o->api, &deg, &conf, &script, &sconf);
	if (ok && (deg == 0 || deg == 90 || deg == 180 || deg == 270)) {
		/* tesseract names the clockwise turn the page has; undo it */
		r->deg = (360 - deg) % 360;
		r->conf = conf;
		r->script_conf = sconf;
		if (script != NULL)
			snprintf(r->script, sizeof(r->script), "%s", script);
	}
	TessBaseAPIClear(o->api);
	return ok && (deg == 0 || deg == 90 || deg == 180 || deg == 270) ? 1 : 0;
}

int osd_trusted(const struct osd_result *r)
{
	return r->conf >= (strcmp(r->script, "Latin") == 0 ? OSD_MIN_CONF : OSD_MIN_CONF_ANY);
}
