/*
 * sign_qs.c - page count and page digest check of scan.tiff; see sign_qs.h.
 */
#include "sign_qs.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/evp.h>
#include <tiffio.h>

#include "log.h"
#include "xalloc.h"

#define SIGN_QS_MAX_LINE (16u << 20)   /* bytes per decoded scanline */
#define SIGN_QS_MAX_ALLOC (256u << 20) /* libtiff's largest single allocation */

/* libtiff messages of one check: logged with the job id, the first one kept. */
struct sign_qs_tiffmsg {
	const char *tag;
	char first[256]; /* the first error */
	int errors;
};

/* Route libtiff warnings through the log, with the job id. */
static int sign_qs_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt,
				va_list ap)
{
	struct sign_qs_tiffmsg *m = user;
	char msg[256];

	(void)tif;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_warnx("%s: libtiff: %s: %s", m->tag, module ? module : "", msg);
	return 1;
}

/* Route libtiff errors through the log and keep the first for the reason. */
static int sign_qs_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt,
			      va_list ap)
{
	struct sign_qs_tiffmsg *m = user;
	char msg[256];

	(void)tif;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_warnx("%s: libtiff error: %s: %s", m->tag, module ? module : "", msg);
	if (m->errors++ == 0)
		snprintf(m->first, sizeof(m->first), "%s", msg);
	return 1;
}

/* Fail the check with a reason (the first reason wins). */
static void sign_qs_fail(struct sign_qs *qs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sign_qs_fail(struct sign_qs *qs, const char *fmt, ...)
{
	va_list ap;

	qs->passed = 0;
	if (qs->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(qs->reason, sizeof(qs->reason), fmt, ap);
	va_end(ap);
}

/* Digest the current directory's pixel data into p. 0 or -1 with qs failed. */
static int sign_qs_page(TIFF *tif, long n, struct sign_qs_page *p, struct sign_qs *qs)
{
	uint32_t w = 0, h = 0, row;
	uint16_t bps = 1, spp = 1, photo = 0, planar = PLANARCONFIG_CONTIG, s, planes;
	tmsize_t linesz;
	uint64_t rowbits;
	unsigned char *line = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_MD_CTX *c = NULL;
	int rc = -1;

	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
	TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
	p->width = (long)w;
	p->height = (long)h;
	p->bits = bps;
	p->samples = spp;
	p->colour = photo == PHOTOMETRIC_RGB || photo == PHOTOMETRIC_YCBCR ||
		    photo == PHOTOMETRIC_SEPARATED || photo == PHOTOMETRIC_PALETTE || spp >= 3;
	if (TIFFIsTiled(tif)) {
		sign_qs_fail(qs, "page %ld of scan.tiff is tiled; the scan stage writes strips", n);
		return -1;
	}
	linesz = TIFFScanlineSize(tif);
	if (w == 0 || h == 0 || linesz <= 0 || (uint64_t)linesz > SIGN_QS_MAX_LINE) {
		sign_qs_fail(qs, "page %ld of scan.tiff has an unusable size (%ux%u)", n, w, h);
		return -1;
	}
	line = xcalloc(1, (size_t)linesz);
	if ((c = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		log_fatalx(EX_OSERR, "out of memory");
	planes = planar == PLANARCONFIG_SEPARATE ? spp : 1;
	/* Bits past the last pixel of a row are not image data: the scan stage clears
	 * them before hashing, and decoders (CCITT G4) need not write them. */
	rowbits = (uint64_t)w * bps * (planes == 1 ? spp : 1);
	for (s = 0; s < planes; s++) {
		for (row = 0; row < h; row++) {
			if (TIFFReadScanline(tif, line, row, s) == -1) {
				sign_qs_fail(qs, "page %ld of scan.tiff: row %u cannot be decoded",
					     n, row);
				goto out;
			}
			if (rowbits % 8 != 0 && (uint64_t)linesz == (rowbits + 7) / 8)
				line[linesz - 1] &= (unsigned char)(0xff << (8 - rowbits % 8));
			EVP_DigestUpdate(c, line, (size_t)linesz);
		}
	}
	EVP_DigestFinal_ex(c, md, &mdlen);
	digest_hex(md, mdlen, p->sha256);
	rc = 0;
out:
	EVP_MD_CTX_free(c);
	free(line);
	return rc;
}

/* The expected digest of page i (0-based) from capture.pages, into out ("" if none). */
static void sign_qs_expected(json_object *pages, size_t i, char out[DIGEST_SHA256_HEX])
{
	json_object *pg, *h;

	out[0] = '\0';
	if (pages == NULL || i >= json_object_array_length(pages))
		return;
	pg = json_object_array_get_idx(pages, i);
	if (json_object_object_get_ex(pg, "sha256", &h) && json_object_is_type(h, json_type_string))
		snprintf(out, DIGEST_SHA256_HEX, "%s", json_object_get_string(h));
}

void sign_qs_run(const char *tiff_path, json_object *capture, struct sign_qs *qs, const char *tag)
{
	struct sign_qs_tiffmsg msg;
	TIFFOpenOptions *opts = NULL;
	TIFF *tif = NULL;
	json_object *o, *pages = NULL;
	size_t cap = 0, i, n_expected = 0;

	memset(qs, 0, sizeof(*qs));
	memset(&msg, 0, sizeof(msg));
	msg.tag = tag;
	qs->at = time(NULL);
	qs->expected_pages = -1;
	qs->passed = 1;
	qs->colour = 1;
	if (capture != NULL && json_object_object_get_ex(capture, "page_count", &o) &&
	    json_object_is_type(o, json_type_int))
		qs->expected_pages = (long)json_object_get_int64(o);
	if (capture != NULL && json_object_object_get_ex(capture, "pages", &o) &&
	    json_object_is_type(o, json_type_array)) {
		pages = o;
		n_expected = json_object_array_length(pages);
	}
	if ((opts = TIFFOpenOptionsAlloc()) == NULL)
		log_fatalx(EX_OSERR, "out of memory");
	TIFFOpenOptionsSetMaxSingleMemAlloc(opts, SIGN_QS_MAX_ALLOC);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, sign_qs_tiff_error, &msg);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, sign_qs_tiff_warning, &msg);
	if ((tif = TIFFOpenExt(tiff_path, "r", opts)) == NULL) {
		sign_qs_fail(qs, "scan.tiff is not a readable TIFF (%s)",
			     msg.first[0] ? msg.first : "libtiff refused it");
		goto out;
	}
	do {
		struct sign_qs_page *p;

		if (qs->found_pages >= SIGN_QS_MAX_PAGES) {
			sign_qs_fail(qs, "scan.tiff has more than %d pages", SIGN_QS_MAX_PAGES);
			goto out;
		}
		if ((size_t)qs->found_pages == cap) {
			cap = cap ? 2 * cap : 8;
			qs->pages = xrealloc(qs->pages, cap * sizeof(*qs->pages));
		}
		p = &qs->pages[qs->found_pages];
		memset(p, 0, sizeof(*p));
		qs->found_pages++;
		if (sign_qs_page(tif, qs->found_pages, p, qs) == -1)
			goto out;
		sign_qs_expected(pages, (size_t)qs->found_pages - 1, p->expected);
		p->match = p->expected[0] != '\0' && strcmp(p->sha256, p->expected) == 0;
		if (!p->colour)
			qs->colour = 0;
	} while (TIFFReadDirectory(tif));
	if (msg.errors > 0) /* e.g. a damaged directory chain ended the loop early */
		sign_qs_fail(qs, "scan.tiff: %s", msg.first);
out:
	qs->complete = qs->expected_pages >= 0 && qs->expected_pages == qs->found_pages &&
		       n_expected == (size_t)qs->found_pages;
	qs->digests_ok = qs->found_pages > 0;
	for (i = 0; i < (size_t)qs->found_pages; i++)
		if (!qs->pages[i].match)
			qs->digests_ok = 0;
	if (qs->found_pages == 0)
		qs->colour = 0;
	if (qs->expected_pages < 0)
		sign_qs_fail(qs, "job.json has no capture.page_count; the completeness check "
				 "needs it");
	else if (qs->expected_pages != qs->found_pages)
		sign_qs_fail(qs, "incomplete: scan.tiff has %ld page(s), the capture recorded %ld",
			     qs->found_pages, qs->expected_pages);
	else if (n_expected != (size_t)qs->found_pages)
		sign_qs_fail(qs, "capture.pages lists %zu page(s), scan.tiff has %ld", n_expected,
			     qs->found_pages);
	for (i = 0; i < (size_t)qs->found_pages; i++)
		if (!qs->pages[i].match)
			sign_qs_fail(qs, "page %zu: %s", i + 1,
				     qs->pages[i].expected[0] ? "pixel data differ from the capture"
							      : "no digest recorded at capture");
	if (!qs->complete || !qs->digests_ok)
		qs->passed = 0;
	if (tif != NULL)
		TIFFClose(tif);
	TIFFOpenOptionsFree(opts);
}

void sign_qs_free(struct sign_qs *qs)
{
	free(qs->pages);
	qs->pages = NULL;
	qs->found_pages = 0;
}
