/*
 * tiffpage.c - TIFF reading with limits and log routing, and the page digest
 * shared by the scan.tiff writer and the quality check; see tiffpage.h.
 */
#include "tiffpage.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/evp.h>

#include "log.h"
#include "xalloc.h"

struct tiffpage_hash {
	EVP_MD_CTX *md;
	uint64_t row_bits;
	size_t row_bytes;
};

/* Error handler of a reading handle: log with the tag and keep the first message. */
static int tiffpage_on_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	struct tiffpage_errs *e = ud;
	char msg[512];

	(void)tif;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_warnx("%s: libtiff error: %s: %s", e->tag ? e->tag : "-", module ? module : "-", msg);
	if (e->errors++ == 0)
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	return 1;
}

/* Warning handler of a reading handle: unknown tags and the like. */
static int tiffpage_on_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	struct tiffpage_errs *e = ud;
	char msg[512];

	(void)tif;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (e->quiet)
		log_debug("%s: libtiff warning: %s: %s", e->tag ? e->tag : "-",
			  module ? module : "-", msg);
	else
		log_warnx("%s: libtiff warning: %s: %s", e->tag ? e->tag : "-",
			  module ? module : "-", msg);
	return 1;
}

TIFF *tiffpage_open(const char *path, size_t max_alloc, struct tiffpage_errs *errs)
{
	TIFFOpenOptions *opts;
	TIFF *tif;

	errs->msg[0] = '\0';
	errs->errors = 0;
	if ((opts = TIFFOpenOptionsAlloc()) == NULL) {
		snprintf(errs->msg, sizeof(errs->msg), "libtiff: out of memory");
		return NULL;
	}
	if (max_alloc > 0)
		TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t)max_alloc);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, tiffpage_on_error, errs);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, tiffpage_on_warning, errs);
	tif = TIFFOpenExt(path, "r", opts);
	TIFFOpenOptionsFree(opts);
	if (tif == NULL && errs->msg[0] == '\0')
		snprintf(errs->msg, sizeof(errs->msg), "libtiff refused it");
	return tif;
}

uint64_t tiffpage_row_bits(uint32_t width, unsigned int bits, unsigned int samples)
{
	return (uint64_t)width * bits * samples;
}

void tiffpage_clear_pad(unsigned char *row, size_t row_bytes, uint64_t row_bits)
{
	/* only a row packed without gaps ends in padding; other layouts (YCbCr
	 * subsampling) are hashed as decoded */
	if (row_bits % 8 != 0 && (uint64_t)row_bytes == (row_bits + 7) / 8)
		row[row_bytes - 1] &= (unsigned char)(0xff << (8 - row_bits % 8));
}

tiffpage_hash *tiffpage_hash_new(void)
{
	tiffpage_hash *h = xcalloc(1, sizeof(*h));

	if ((h->md = EVP_MD_CTX_new()) == NULL)
		log_fatalx(EX_OSERR, "out of memory");
	return h;
}

tiffpage_hash *tiffpage_hash_free(tiffpage_hash *h)
{
	if (h == NULL)
		return NULL;
	EVP_MD_CTX_free(h->md);
	free(h);
	return NULL;
}

int tiffpage_hash_begin(tiffpage_hash *h, uint64_t row_bits, size_t row_bytes)
{
	h->row_bits = row_bits;
	h->row_bytes = row_bytes;
	return EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

int tiffpage_hash_row(tiffpage_hash *h, unsigned char *row)
{
	tiffpage_clear_pad(row, h->row_bytes, h->row_bits);
	return EVP_DigestUpdate(h->md, row, h->row_bytes) == 1 ? 0 : -1;
}

int tiffpage_hash_end(tiffpage_hash *h, char hex[DIGEST_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_DigestFinal_ex(h->md, md, &mdlen) != 1 || mdlen != DIGEST_SHA256_LEN)
		return -1;
	digest_hex(md, mdlen, hex);
	return 0;
}

int tiffpage_digest(TIFF *tif, struct tiffpage_info *info, char hex[DIGEST_SHA256_HEX])
{
	tiffpage_hash *h = NULL;
	unsigned char *line = NULL;
	tmsize_t linesz;
	uint64_t rowbits;
	uint16_t s, planes;
	uint32_t row;
	int rc = TIFFPAGE_ERROR;

	memset(info, 0, sizeof(*info));
	info->bits = 1;
	info->samples = 1;
	info->planar = PLANARCONFIG_CONTIG;
	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &info->width);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &info->height);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &info->bits);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &info->samples);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &info->planar);
	TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &info->photometric);
	if (TIFFIsTiled(tif))
		return TIFFPAGE_TILED;
	linesz = TIFFScanlineSize(tif);
	if (info->width == 0 || info->height == 0 || linesz <= 0 ||
	    (uint64_t)linesz > TIFFPAGE_MAX_LINE)
		return TIFFPAGE_SIZE;
	planes = info->planar == PLANARCONFIG_SEPARATE ? info->samples : 1;
	line = xcalloc(1, (size_t)linesz);
	h = tiffpage_hash_new();
	rowbits = tiffpage_row_bits(info->width, info->bits, planes == 1 ? info->samples : 1);
	if (tiffpage_hash_begin(h, rowbits, (size_t)linesz) == -1)
		goto out;
	for (s = 0; s < planes; s++) {
		for (row = 0; row < info->height; row++) {
			if (TIFFReadScanline(tif, line, row, s) == -1) {
				info->bad_row = row;
				rc = TIFFPAGE_DECODE;
				goto out;
			}
			if (tiffpage_hash_row(h, line) == -1)
				goto out;
		}
	}
	if (tiffpage_hash_end(h, hex) == -1)
		goto out;
	rc = TIFFPAGE_OK;
out:
	tiffpage_hash_free(h);
	free(line);
	return rc;
}
