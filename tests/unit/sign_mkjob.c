/*
 * sign_mkjob.c - test helper: put a classified letter into spool/sign/incoming,
 * as the scan and classify stages would leave it, and print its job id.
 *
 * usage: sign_mkjob -c CONF [--mode M] [--pages N] [--color|--gray|--bilevel]
 *                   [--tiff FILE] [--import FILE] [--ocr-pdf FILE]
 *                   [--claim-pages N] [--bad-digest K] [--note TEXT]
 *                   [--integrity normal|hoch|sehr_hoch] [--no-classification]
 *
 * Without --tiff it writes an N-page TIFF itself (Deflate, or G4 for --bilevel)
 * and records each page's SHA-256 over the scanlines as they are written - the
 * way mailroom-scan defines it, computed independently of sign_qs.c, which reads
 * them back. With --tiff it copies FILE and hashes its decoded scanlines.
 * --claim-pages and --bad-digest falsify the capture record for negative tests.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <tiffio.h>

#include "digest.h"
#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "log.h"
#include "settings.h"
#include "spool.h"
#include "timefmt.h"
#include "xalloc.h"

#define MK_MAX_PAGES 64

struct mk_page {
	uint32_t w, h;
	uint16_t bits, samples;
	char sha256[DIGEST_SHA256_HEX];
};

/* Write an n-page TIFF at path; digests of the scanlines as written into pages. */
static int mk_write_tiff(const char *path, int n, int kind, struct mk_page *pages)
{
	TIFF *t = TIFFOpen(path, "w");
	int p;

	if (t == NULL)
		return -1;
	for (p = 0; p < n; p++) {
		/* bilevel pages get widths that leave padding bits in the last byte */
		uint32_t w = kind == 'b' ? 235 + 2 * (uint32_t)p : 240 + 8 * (uint32_t)p, h = 320,
			 y, x;
		uint16_t spp = kind == 'c' ? 3 : 1, bps = kind == 'b' ? 1 : 8;
		tmsize_t ls;
		unsigned char *line;
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		unsigned char md[32];
		unsigned int mdlen;

		TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
		TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
		TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bps);
		TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
		TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
		TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
			     kind == 'c'   ? PHOTOMETRIC_RGB
			     : kind == 'b' ? PHOTOMETRIC_MINISWHITE
					   : PHOTOMETRIC_MINISBLACK);
		TIFFSetField(t, TIFFTAG_COMPRESSION,
			     kind == 'b' ? COMPRESSION_CCITTFAX4 : COMPRESSION_ADOBE_DEFLATE);
		if (kind != 'b')
			TIFFSetField(t, TIFFTAG_PREDICTOR, 2);
		TIFFSetField(t, TIFFTAG_XRESOLUTION, 300.0);
		TIFFSetField(t, TIFFTAG_YRESOLUTION, 300.0);
		TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
		TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
		TIFFSetField(t, TIFFTAG_PAGENUMBER, (uint16_t)p, (uint16_t)n);
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
		ls = TIFFScanlineSize(t);
		line = xmalloc((size_t)ls);
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		for (y = 0; y < h; y++) {
			for (x = 0; x < (uint32_t)ls; x++)
				line[x] = (unsigned char)((x * 7 + y * 3 + (uint32_t)p * 11) ^
							  (y / 10 % 2 ? 0xff : 0));
			if (bps == 1 && w % 8 != 0) /* as mailroom-scan: padding bits cleared */
				line[w / 8] &= (unsigned char)(0xff << (8 - w % 8));
			EVP_DigestUpdate(c, line, (size_t)ls);
			if (TIFFWriteScanline(t, line, y, 0) == -1)
				return -1;
		}
		EVP_DigestFinal_ex(c, md, &mdlen);
		EVP_MD_CTX_free(c);
		free(line);
		digest_hex(md, mdlen, pages[p].sha256);
		pages[p].w = w;
		pages[p].h = h;
		pages[p].bits = bps;
		pages[p].samples = spp;
		if (!TIFFWriteDirectory(t))
			return -1;
	}
	TIFFClose(t);
	return 0;
}

/* Hash the decoded scanlines of every page of an existing TIFF. Returns pages or -1. */
static int mk_read_tiff(const char *path, struct mk_page *pages)
{
	TIFF *t = TIFFOpen(path, "r");
	int n = 0;

	if (t == NULL)
		return -1;
	do {
		uint32_t y;
		tmsize_t ls = TIFFScanlineSize(t);
		unsigned char *line = xcalloc(1, (size_t)ls), md[32];
		unsigned int mdlen;
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		if (n == MK_MAX_PAGES)
			return -1;
		TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &pages[n].w);
		TIFFGetField(t, TIFFTAG_IMAGELENGTH, &pages[n].h);
		TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &pages[n].bits);
		TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &pages[n].samples);
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		for (y = 0; y < pages[n].h; y++) {
			if (TIFFReadScanline(t, line, y, 0) == -1)
				return -1;
			if (pages[n].bits == 1 && pages[n].w % 8 != 0)
				line[pages[n].w / 8] &=
				    (unsigned char)(0xff << (8 - pages[n].w % 8));
			EVP_DigestUpdate(c, line, (size_t)ls);
		}
		EVP_DigestFinal_ex(c, md, &mdlen);
		EVP_MD_CTX_free(c);
		free(line);
		digest_hex(md, mdlen, pages[n].sha256);
		n++;
	} while (TIFFReadDirectory(t));
	TIFFClose(t);
	return n;
}

/* Add a string member. */
static void mk_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"mode", required_argument, NULL, 'm'},
					   {"pages", required_argument, NULL, 'n'},
					   {"color", no_argument, NULL, 'C'},
					   {"gray", no_argument, NULL, 'G'},
					   {"bilevel", no_argument, NULL, 'B'},
					   {"tiff", required_argument, NULL, 't'},
					   {"import", required_argument, NULL, 'i'},
					   {"ocr-pdf", required_argument, NULL, 'o'},
					   {"claim-pages", required_argument, NULL, 'p'},
					   {"bad-digest", required_argument, NULL, 'd'},
					   {"note", required_argument, NULL, 'N'},
					   {"integrity", required_argument, NULL, 'I'},
					   {"no-classification", no_argument, NULL, 'X'},
					   {NULL, 0, NULL, 0}};
	const char *conf_dir = NULL, *mode = "ersetzend", *tiff = NULL, *import = NULL, *ocr = NULL,
		   *note = NULL, *integrity = "normal";
	int ch, n = 2, kind = 'g', claim = -1, bad = 0, nocls = 0, i;
	struct mk_page pages[MK_MAX_PAGES];
	char id[IDENT_JOB_MAX], uuid[IDENT_UUID_LEN], now[TIMEFMT_ISO_MAX], *dir, *p;
	json_object *root, *src, *cap, *dev, *set, *pg, *cls, *prot, *hist, *h;
	settings s;
	conf_err ce;
	spool *sp;
	job *j;

	log_init("sign_mkjob");
	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_dir = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'C':
			kind = 'c';
			break;
		case 'G':
			kind = 'g';
			break;
		case 'B':
			kind = 'b';
			break;
		case 't':
			tiff = optarg;
			break;
		case 'i':
			import = optarg;
			break;
		case 'o':
			ocr = optarg;
			break;
		case 'p':
			claim = atoi(optarg);
			break;
		case 'd':
			bad = atoi(optarg);
			break;
		case 'N':
			note = optarg;
			break;
		case 'I':
			integrity = optarg;
			break;
		case 'X':
			nocls = 1;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (n < 1 || n > MK_MAX_PAGES)
		return EX_USAGE;
	if (settings_load(conf_dir, &s, &ce) == -1)
		log_fatalx(EX_CONFIG, "%s", ce.msg);
	if ((sp = spool_open(s.spool_dir, "sign")) == NULL)
		log_fatalx(EX_IOERR, "spool_open");
	ident_job_new(id);
	if ((dir = spool_create(sp, id)) == NULL)
		log_fatalx(EX_IOERR, "spool_create");
	j = job_new(id, dir);
	root = job_meta(j);
	p = job_path(j, "scan.tiff");
	if (tiff != NULL) {
		if (fio_copy_file(tiff, p, 0600) == -1 || (n = mk_read_tiff(p, pages)) < 1)
			log_fatalx(EX_DATAERR, "%s: cannot use", tiff);
	} else if (mk_write_tiff(p, n, kind, pages) == -1) {
		log_fatalx(EX_IOERR, "cannot write %s", p);
	}
	free(p);
	job_add_file(j, "scan.tiff");
	ident_uuid_v4(uuid);
	mk_str(root, "uuid", uuid);
	src = json_object_new_object();
	if (import != NULL) {
		const char *ext = strrchr(import, '.');
		char oname[64];

		snprintf(oname, sizeof(oname), "original%s", ext ? ext : ".bin");
		p = job_path(j, oname);
		if (fio_copy_file(import, p, 0600) == -1)
			log_fatalx(EX_IOERR, "copy %s", import);
		free(p);
		job_add_file(j, oname);
		mk_str(src, "kind", "import");
		mk_str(src, "file", strrchr(import, '/') ? strrchr(import, '/') + 1 : import);
		mk_str(src, "original", oname);
	} else {
		mk_str(src, "kind", "sane");
		mk_str(src, "device", "test:0");
	}
	json_object_object_add(root, "source", src);
	cap = json_object_new_object();
	mk_str(cap, "station", "Zentrale Scanstelle Rathaus");
	mk_str(cap, "operator", "scan-op-01");
	mk_str(cap, "time", timefmt_now(now));
	mk_str(cap, "software", "mailroom-scan 0.1.0");
	dev = json_object_new_object();
	mk_str(dev, "name", "test:0");
	mk_str(dev, "vendor", "Noname");
	mk_str(dev, "model", "frontend-tester");
	mk_str(dev, "type", "virtual device");
	json_object_object_add(cap, "device", dev);
	set = json_object_new_object();
	mk_str(set, "source", "Automatic Document Feeder");
	mk_str(set, "mode", kind == 'c' ? "Color" : kind == 'b' ? "Lineart" : "Gray");
	json_object_object_add(set, "depth", json_object_new_int(kind == 'b' ? 1 : 8));
	json_object_object_add(set, "resolution", json_object_new_int(300));
	json_object_object_add(cap, "settings", set);
	json_object_object_add(cap, "page_count", json_object_new_int(claim >= 0 ? claim : n));
	pg = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "n", json_object_new_int(i + 1));
		json_object_object_add(e, "width", json_object_new_int((int)pages[i].w));
		json_object_object_add(e, "height", json_object_new_int((int)pages[i].h));
		json_object_object_add(e, "xres", json_object_new_int(300));
		json_object_object_add(e, "yres", json_object_new_int(300));
		json_object_object_add(e, "bits", json_object_new_int(pages[i].bits));
		json_object_object_add(e, "samples", json_object_new_int(pages[i].samples));
		mk_str(e, "compression", pages[i].bits == 1 ? "g4" : "deflate");
		if (bad == i + 1)
			pages[i].sha256[0] = pages[i].sha256[0] == '0' ? '1' : '0';
		mk_str(e, "sha256", pages[i].sha256);
		if (note != NULL && i == 0)
			mk_str(e, "note", note);
		json_object_array_add(pg, e);
	}
	json_object_object_add(cap, "pages", pg);
	json_object_object_add(root, "capture", cap);
	if (!nocls) {
		cls = json_object_new_object();
		mk_str(cls, "type", "rechnung");
		mk_str(cls, "type_name", "Rechnung");
		mk_str(cls, "scan_mode", mode);
		prot = json_object_new_object();
		mk_str(prot, "integrity", integrity);
		mk_str(prot, "confidentiality", "normal");
		mk_str(prot, "availability", "normal");
		json_object_object_add(cls, "protection", prot);
		mk_str(cls, "office", "kaemmerei");
		mk_str(cls, "office_name", "Kämmerei");
		json_object_object_add(root, "classification", cls);
	}
	if (ocr != NULL) {
		p = job_path(j, "ocr.pdf");
		if (fio_copy_file(ocr, p, 0600) == -1)
			log_fatalx(EX_IOERR, "copy %s", ocr);
		free(p);
		job_add_file(j, "ocr.pdf");
	}
	hist = json_object_new_array();
	h = json_object_new_object();
	mk_str(h, "stage", "scan");
	mk_str(h, "at", now);
	mk_str(h, "outcome", "ok");
	json_object_array_add(hist, h);
	if (!nocls) {
		h = json_object_new_object();
		mk_str(h, "stage", "classify");
		mk_str(h, "at", now);
		mk_str(h, "outcome", "ok");
		json_object_array_add(hist, h);
	}
	json_object_object_add(root, "history", hist);
	if (job_write(j) == -1 || spool_submit(sp, id, sp) == -1)
		log_fatalx(EX_IOERR, "cannot submit %s", id);
	printf("%s\n", id);
	job_free(j);
	free(dir);
	spool_close(sp);
	settings_free(&s);
	return 0;
}
