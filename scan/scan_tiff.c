/*
 * scan_tiff.c - the multi-page TIFF writer for scan.tiff; see scan_tiff.h.
 *
 * The file is written through libtiff's client I/O on a descriptor we own, so
 * that an aborted page can be taken back: the writer remembers the file size
 * before each page, and on abort truncates to it and swallows everything libtiff
 * still wants to write (the half page's strips and directory). The complete
 * pages before it stay exactly as they were written.
 */
#include "scan_tiff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tiffio.h>

#include "fileio.h"
#include "log.h"
#include "tiffpage.h"
#include "xalloc.h"

#include "scan_rotate.h"

#define SCAN_TIFF_MAX_ROWS 1000000u /* and columns: 1 m pixels is 3.3 m at 300 dpi */

struct scan_tiff {
	int fd;
	TIFF *tif;
	char *path;
	char *make, *model, *software, *artist, *source;
	int discard;  /* swallow writes: the page being written was aborted */
	int nosync;   /* the caller makes the file durable (scan_tiff_nosync) */
	int finished; /* no more pages may start (after an abort or an error) */
	int in_page;
	struct scan_tiff_page cur;
	json_object *cur_settings;
	uint32_t row;
	size_t row_bytes;
	unsigned char *rowbuf; /* libtiff's predictor alters the row it is given */
	off_t page_start;
	tiffpage_hash *hash; /* the page digest of the rows as written */
	struct scan_tiff_done *done;
	int n_done, cap_done;
	char err[512];
	int io_errno; /* the first failed write of ours (ENOSPC, EIO), 0 if none */
};

/* Keep the first error message of the writer. */
static void scan_tiff_fail(scan_tiff *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void scan_tiff_fail(scan_tiff *t, const char *fmt, ...)
{
	va_list ap;

	if (t->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
}

/* libtiff error handler of the writer: to the log and into t->err. */
static int scan_tiff_on_write_error(TIFF *tif, void *ud, const char *module, const char *fmt,
				    va_list ap)
{
	scan_tiff *t = ud;
	char msg[512];

	(void)tif;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (t->discard) /* expected while a page is being thrown away */
		return 1;
	log_warnx("%s: libtiff: %s: %s", t->path, module ? module : "-", msg);
	scan_tiff_fail(t, "libtiff: %s", msg);
	return 1;
}

/* libtiff warning handler of the writer: to the debug log. */
static int scan_tiff_on_write_warning(TIFF *tif, void *ud, const char *module, const char *fmt,
				      va_list ap)
{
	scan_tiff *t = ud;
	char msg[512];

	(void)tif;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_debug("%s: libtiff warning: %s: %s", t->path, module ? module : "-", msg);
	return 1;
}

/* Client I/O: read from our descriptor. */
static tmsize_t scan_tiff_io_read(thandle_t h, void *p, tmsize_t n)
{
	scan_tiff *t = h;
	ssize_t r;

	do
		r = read(t->fd, p, (size_t)n);
	while (r == -1 && errno == EINTR);
	return (tmsize_t)r;
}

/* Client I/O: write, or pretend to while a page is being discarded. */
static tmsize_t scan_tiff_io_write(thandle_t h, void *p, tmsize_t n)
{
	scan_tiff *t = h;

	if (t->discard)
		return n;
	if (fio_write_all(t->fd, p, (size_t)n) == -1) {
		if (t->io_errno == 0)
			t->io_errno = errno != 0 ? errno : EIO;
		scan_tiff_fail(t, "write %s: %s", t->path, strerror(errno));
		return -1;
	}
	return n;
}

/* Client I/O: seek. */
static toff_t scan_tiff_io_seek(thandle_t h, toff_t off, int whence)
{
	scan_tiff *t = h;
	off_t r = lseek(t->fd, (off_t)off, whence);

	return r == -1 ? (toff_t)-1 : (toff_t)r;
}

/* Client I/O: the descriptor is closed by scan_tiff_close, after fsync. */
static int scan_tiff_io_close(thandle_t h)
{
	(void)h;
	return 0;
}

/* Client I/O: file size. */
static toff_t scan_tiff_io_size(thandle_t h)
{
	scan_tiff *t = h;
	struct stat st;

	if (fstat(t->fd, &st) == -1)
		return 0;
	return (toff_t)st.st_size;
}

/* Client I/O: no memory mapping. */
static int scan_tiff_io_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0;
}

/* Client I/O: no memory mapping. */
static void scan_tiff_io_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

/* Duplicate s, or "" for NULL. */
static char *scan_tiff_dup(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

scan_tiff *scan_tiff_create(const char *path, const struct scan_tiff_meta *meta, size_t max_alloc,
			    char *err, size_t errlen)
{
	scan_tiff *t = xcalloc(1, sizeof(*t));
	TIFFOpenOptions *opts = NULL;

	t->path = xstrdup(path);
	t->make = scan_tiff_dup(meta->make);
	t->model = scan_tiff_dup(meta->model);
	t->software = scan_tiff_dup(meta->software);
	t->artist = scan_tiff_dup(meta->artist);
	t->source = scan_tiff_dup(meta->source);
	t->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t->fd == -1) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((opts = TIFFOpenOptionsAlloc()) == NULL) {
		snprintf(err, errlen, "libtiff: out of memory");
		goto fail;
	}
	if (max_alloc > 0)
		TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t)max_alloc);
	TIFFOpenOptionsSetErrorHandlerExtR(opts, scan_tiff_on_write_error, t);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, scan_tiff_on_write_warning, t);
	t->tif = TIFFClientOpenExt(path, "w", (thandle_t)t, scan_tiff_io_read, scan_tiff_io_write,
				   scan_tiff_io_seek, scan_tiff_io_close, scan_tiff_io_size,
				   scan_tiff_io_map, scan_tiff_io_unmap, opts);
	TIFFOpenOptionsFree(opts);
	if (t->tif == NULL) {
		snprintf(err, errlen, "cannot start %s: %s", path,
			 t->err[0] ? t->err : "libtiff refused it");
		goto fail;
	}
	return t;
fail:
	if (t->fd != -1) {
		close(t->fd);
		unlink(path);
	}
	t->fd = -1;
	t->tif = NULL;
	scan_tiff_close(t, NULL, 0);
	return NULL;
}

void scan_tiff_nosync(scan_tiff *t)
{
	t->nosync = 1;
}

size_t scan_tiff_row_bytes(const scan_tiff *t)
{
	return t->row_bytes;
}

int scan_tiff_pages(const scan_tiff *t)
{
	return t->n_done;
}

const struct scan_tiff_done *scan_tiff_page_info(const scan_tiff *t, int i)
{
	if (i < 0 || i >= t->n_done)
		log_panic("scan_tiff_page_info: no page %d", i);
	return &t->done[i];
}

int scan_tiff_io_errno(const scan_tiff *t)
{
	return t->io_errno;
}

const char *scan_tiff_error(const scan_tiff *t)
{
	return t->err[0] ? t->err : "unknown error";
}

/* TIFF DateTime ("YYYY:MM:DD HH:MM:SS", UTC) into out[20]. */
static void scan_tiff_datetime(char out[20])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 20, "%Y:%m:%d %H:%M:%S", &tm);
}

int scan_tiff_page_begin(scan_tiff *t, const struct scan_tiff_page *p, json_object *settings)
{
	TIFF *tif = t->tif;
	char dt[20];
	uint32_t rps;
	uint64_t rowbits;
	int ok = 1;
	tmsize_t sl;
	struct stat st;

	if (t->in_page || t->finished) {
		scan_tiff_fail(t, "%s: no new page after an aborted page or error", t->path);
		return -1;
	}
	if (!((p->bits == 1 && p->samples == 1) ||
	      ((p->bits == 8 || p->bits == 16) && (p->samples == 1 || p->samples == 3))) ||
	    p->width == 0 || p->width > SCAN_TIFF_MAX_ROWS || p->height > SCAN_TIFF_MAX_ROWS) {
		scan_tiff_fail(t, "unsupported page layout: %u x %u, %d bits, %d samples", p->width,
			       p->height, p->bits, p->samples);
		return -1;
	}
	if (fstat(t->fd, &st) == -1) {
		scan_tiff_fail(t, "%s: %s", t->path, strerror(errno));
		return -1;
	}
	t->page_start = st.st_size;
	t->cur = *p;
	scan_tiff_datetime(dt);
	ok &= TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
	ok &= TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, p->width);
	/* unknown length: libtiff cannot grow a compressed page, so announce the
	 * maximum and set the real length when the page ends */
	ok &=
	    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, p->height > 0 ? p->height : SCAN_TIFF_MAX_ROWS);
	ok &= TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)p->bits);
	ok &= TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)p->samples);
	ok &= TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	ok &= TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
	/* JPEG only where it works: 8 bits and a known number of rows */
	if (t->cur.compression == SCAN_TIFF_JPEG && (p->bits != 8 || p->height == 0))
		t->cur.compression = SCAN_TIFF_DEFLATE;
	if (p->bits == 1) {
		ok &= TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
		ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
	} else {
		ok &= TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
				   p->samples == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
		switch (t->cur.compression) {
		case SCAN_TIFF_JPEG:
			ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
			ok &= TIFFSetField(tif, TIFFTAG_JPEGQUALITY,
					   p->quality > 0 && p->quality <= 100 ? p->quality : 85);
			break;
		case SCAN_TIFF_LZW:
			ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
			ok &= TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
			break;
		default:
			ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
			ok &= TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
			if (p->quality >= 1 && p->quality <= 9)
				ok &= TIFFSetField(tif, TIFFTAG_ZIPQUALITY, p->quality);
			break;
		}
	}
	ok &= TIFFSetField(tif, TIFFTAG_XRESOLUTION, (float)p->xres);
	ok &= TIFFSetField(tif, TIFFTAG_YRESOLUTION, (float)p->yres);
	ok &= TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
	ok &= TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)t->n_done, (uint16_t)0);
	ok &= TIFFSetField(tif, TIFFTAG_MAKE, t->make);
	ok &= TIFFSetField(tif, TIFFTAG_MODEL, t->model);
	ok &= TIFFSetField(tif, TIFFTAG_SOFTWARE, t->software);
	ok &= TIFFSetField(tif, TIFFTAG_DATETIME, dt);
	if (t->artist[0] != '\0')
		ok &= TIFFSetField(tif, TIFFTAG_ARTIST, t->artist);
	sl = TIFFScanlineSize(tif);
	if (sl <= 0)
		ok = 0;
	/* strips of about 64 KiB of raw rows: streaming, and readers need little memory;
	 * a page of unknown length is one strip */
	rps = sl > 0 ? (uint32_t)(65536 / sl) : 1;
	if (t->cur.compression == SCAN_TIFF_JPEG && p->bits != 1)
		rps = (rps + 15) / 16 * 16; /* JPEG strips: whole MCU rows */
	if (rps == 0)
		rps = 1;
	if (p->height == 0)
		rps = (uint32_t)-1;
	ok &= TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps);
	/* the output buffer would be sized to the strip: bound it for a page of one
	 * strip (full buffers are flushed to the file as the page goes on) */
	if (ok && p->height == 0)
		ok &= TIFFWriteBufferSetup(tif, NULL, (tmsize_t)1 << 20);
	if (!ok) {
		scan_tiff_fail(t, "%s: cannot set the page tags", t->path);
		t->finished = 1;
		return -1;
	}
	t->row_bytes = (size_t)sl;
	t->rowbuf = xrealloc(t->rowbuf, t->row_bytes);
	t->row = 0;
	if (t->hash == NULL)
		t->hash = tiffpage_hash_new();
	rowbits = tiffpage_row_bits(p->width, (unsigned int)p->bits, (unsigned int)p->samples);
	if (tiffpage_hash_begin(t->hash, rowbits, t->row_bytes) == -1) {
		scan_tiff_fail(t, "SHA-256 unavailable");
		return -1;
	}
	json_object_put(t->cur_settings);
	t->cur_settings = settings != NULL ? json_object_get(settings) : NULL;
	t->in_page = 1;
	return 0;
}

int scan_tiff_page_row(scan_tiff *t, const void *row)
{
	if (!t->in_page)
		log_panic("scan_tiff_page_row: no page started");
	if (t->cur.height > 0 && t->row >= t->cur.height) {
		scan_tiff_fail(t, "page %d: more rows than the %u announced", t->n_done + 1,
			       t->cur.height);
		return -1;
	}
	if (t->row >= SCAN_TIFF_MAX_ROWS) {
		scan_tiff_fail(t, "page %d: more than %u rows", t->n_done + 1, SCAN_TIFF_MAX_ROWS);
		return -1;
	}
	/* the predictor differences the row in place: give libtiff a copy, its
	 * padding bits cleared by the digest so that the file holds what was hashed */
	memcpy(t->rowbuf, row, t->row_bytes);
	if (tiffpage_hash_row(t->hash, t->rowbuf) == -1) {
		scan_tiff_fail(t, "SHA-256 failed");
		return -1;
	}
	if (TIFFWriteScanline(t->tif, t->rowbuf, t->row, 0) != 1) {
		scan_tiff_fail(t, "page %d row %u: cannot write", t->n_done + 1, t->row);
		return -1;
	}
	t->row++;
	return 0;
}

/* Record the page just written (t->cur) as complete; the caller fills in
 * compression and sha256. */
static struct scan_tiff_done *scan_tiff_done_add(scan_tiff *t)
{
	struct scan_tiff_done *d;

	if (t->n_done == t->cap_done) {
		t->cap_done = t->cap_done ? 2 * t->cap_done : 8;
		t->done = xrealloc(t->done, (size_t)t->cap_done * sizeof(*t->done));
	}
	d = &t->done[t->n_done++];
	memset(d, 0, sizeof(*d));
	d->n = t->n_done;
	d->width = t->cur.width;
	d->height = t->cur.height;
	d->xres = t->cur.xres;
	d->yres = t->cur.yres;
	d->bits = t->cur.bits;
	d->samples = t->cur.samples;
	return d;
}

int scan_tiff_page_end(scan_tiff *t)
{
	struct scan_tiff_done *d;
	char hex[SCAN_TIFF_SHA_HEX];
	json_object *desc;

	if (!t->in_page)
		log_panic("scan_tiff_page_end: no page started");
	if (t->row == 0 || (t->cur.height > 0 && t->row != t->cur.height)) {
		scan_tiff_fail(t, "page %d is incomplete: %u of %u rows", t->n_done + 1, t->row,
			       t->cur.height);
		return -1;
	}
	if (t->cur.height == 0) {
		t->cur.height = t->row;
		if (TIFFSetField(t->tif, TIFFTAG_IMAGELENGTH, t->row) != 1) {
			scan_tiff_fail(t, "page %d: cannot set its length", t->n_done + 1);
			return -1;
		}
	}
	if (tiffpage_hash_end(t->hash, hex) == -1) {
		scan_tiff_fail(t, "SHA-256 failed");
		return -1;
	}
	desc = json_object_new_object();
	json_object_object_add(desc, "page", json_object_new_int(t->n_done + 1));
	json_object_object_add(desc, "source", json_object_new_string(t->source));
	if (t->cur_settings != NULL)
		json_object_object_add(desc, "settings", json_object_get(t->cur_settings));
	if (t->cur.compression == SCAN_TIFF_JPEG && t->cur.bits != 1)
		json_object_object_add(desc, "lossy", json_object_new_string("jpeg"));
	else
		json_object_object_add(desc, "sha256", json_object_new_string(hex));
	if (TIFFSetField(t->tif, TIFFTAG_IMAGEDESCRIPTION,
			 json_object_to_json_string_ext(
			     desc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) != 1) {
		json_object_put(desc);
		scan_tiff_fail(t, "page %d: cannot set its description", t->n_done + 1);
		return -1;
	}
	json_object_put(desc);
	if (TIFFWriteDirectory(t->tif) != 1) {
		scan_tiff_fail(t, "page %d: TIFFWriteDirectory failed", t->n_done + 1);
		/* the directory may be half written: nothing more goes into this file */
		t->finished = 1;
		return -1;
	}
	t->in_page = 0;
	d = scan_tiff_done_add(t);
	if (t->cur.bits == 1)
		d->compression = "g4";
	else if (t->cur.compression == SCAN_TIFF_JPEG)
		d->compression = "jpeg";
	else if (t->cur.compression == SCAN_TIFF_LZW)
		d->compression = "lzw";
	else
		d->compression = "deflate";
	if (t->cur.bits != 1 && t->cur.compression == SCAN_TIFF_JPEG)
		d->sha256[0] = '\0';
	else
		memcpy(d->sha256, hex, sizeof(hex));
	return 0;
}

int scan_tiff_page_abort(scan_tiff *t)
{
	if (!t->in_page)
		return 0;
	/* from here on libtiff writes nothing: the half page never reaches the file */
	t->discard = 1;
	t->finished = 1;
	t->in_page = 0;
	if (ftruncate(t->fd, t->page_start) == -1) {
		scan_tiff_fail(t, "%s: cannot drop the unfinished page: %s", t->path,
			       strerror(errno));
		return -1;
	}
	return 0;
}

int scan_tiff_close(scan_tiff *t, char *err, size_t errlen)
{
	int rc = 0;

	if (t == NULL)
		return 0;
	if (t->in_page && scan_tiff_page_abort(t) == -1)
		rc = -1;
	if (t->tif != NULL) {
		/* after an abort or error the current directory must not reach the file */
		if (t->finished)
			t->discard = 1;
		TIFFClose(t->tif);
	}
	if (t->fd != -1) {
		if (!t->nosync && fio_fsync(t->fd) == -1) {
			scan_tiff_fail(t, "fsync %s: %s", t->path, strerror(errno));
			rc = -1;
		}
		if (close(t->fd) == -1) {
			scan_tiff_fail(t, "close %s: %s", t->path, strerror(errno));
			rc = -1;
		}
	}
	if (rc == -1 && err != NULL)
		snprintf(err, errlen, "%s", scan_tiff_error(t));
	tiffpage_hash_free(t->hash);
	json_object_put(t->cur_settings);
	free(t->done);
	free(t->rowbuf);
	free(t->path);
	free(t->make);
	free(t->model);
	free(t->software);
	free(t->artist);
	free(t->source);
	free(t);
	return rc;
}

int scan_tiff_file_digests(const char *path, size_t max_alloc, char (*hex)[SCAN_TIFF_SHA_HEX],
			   int n, char *err, size_t errlen)
{
	struct tiffpage_errs msg;
	struct tiffpage_info info;
	TIFF *tif;
	int i = 0, r, rc = -1;

	memset(&msg, 0, sizeof(msg));
	msg.tag = path;
	if ((tif = tiffpage_open(path, max_alloc, &msg)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, msg.msg);
		return -1;
	}
	do {
		if (i >= n) {
			snprintf(err, errlen, "%s has more than %d pages", path, n);
			goto out;
		}
		if ((r = tiffpage_digest(tif, &info, hex[i])) != TIFFPAGE_OK) {
			snprintf(err, errlen, "%s: page %d cannot be read back (%d)", path, i + 1,
				 r);
			goto out;
		}
		i++;
	} while (TIFFReadDirectory(tif));
	if (i != n || msg.errors > 0) {
		snprintf(err, errlen, "%s: %d pages read back of %d%s%s", path, i, n,
			 msg.errors ? ": " : "", msg.errors ? msg.msg : "");
		goto out;
	}
	rc = 0;
out:
	TIFFClose(tif);
	return rc;
}

int scan_tiff_page_copy(scan_tiff *t, const char *src, const struct scan_tiff_page *p,
			const char *sha256, json_object *settings)
{
	struct tiffpage_errs msg;
	struct stat st;
	struct scan_tiff_done *d;
	TIFF *in = NULL, *tif = t->tif;
	uint16_t comp = 0, pred = PREDICTOR_NONE, photo = 0, bits = 0, spp = 0;
	uint32_t w = 0, h = 0, rps = 0, i, n;
	uint64_t *counts = NULL;
	unsigned char *raw = NULL;
	size_t rawcap = 0;
	json_object *desc;
	char dt[20];
	int ok = 1, rc = -1;

	if (t->in_page || t->finished) {
		scan_tiff_fail(t, "%s: no new page after an aborted page or error", t->path);
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	msg.tag = src;
	if ((in = tiffpage_open(src, 0, &msg)) == NULL) {
		scan_tiff_fail(t, "%s: %s", src, msg.msg);
		return -1;
	}
	TIFFGetField(in, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(in, TIFFTAG_IMAGELENGTH, &h);
	TIFFGetFieldDefaulted(in, TIFFTAG_BITSPERSAMPLE, &bits);
	TIFFGetFieldDefaulted(in, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetFieldDefaulted(in, TIFFTAG_COMPRESSION, &comp);
	TIFFGetFieldDefaulted(in, TIFFTAG_PREDICTOR, &pred);
	TIFFGetField(in, TIFFTAG_PHOTOMETRIC, &photo);
	TIFFGetFieldDefaulted(in, TIFFTAG_ROWSPERSTRIP, &rps);
	if (w != p->width || h != p->height || bits != p->bits || spp != p->samples ||
	    TIFFIsTiled(in) || !TIFFGetField(in, TIFFTAG_STRIPBYTECOUNTS, &counts) ||
	    !(comp == COMPRESSION_CCITTFAX4 || comp == COMPRESSION_ADOBE_DEFLATE ||
	      comp == COMPRESSION_LZW)) {
		scan_tiff_fail(t, "%s is not a page file of this layout", src);
		goto out;
	}
	if (fstat(t->fd, &st) == -1) {
		scan_tiff_fail(t, "%s: %s", t->path, strerror(errno));
		goto out;
	}
	t->page_start = st.st_size;
	t->cur = *p;
	t->in_page = 1;
	scan_tiff_datetime(dt);
	ok &= TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
	ok &= TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
	ok &= TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
	ok &= TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
	ok &= TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, spp);
	ok &= TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	ok &= TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
	ok &= TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, photo);
	ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, comp);
	if (comp != COMPRESSION_CCITTFAX4)
		ok &= TIFFSetField(tif, TIFFTAG_PREDICTOR, pred);
	ok &= TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps);
	ok &= TIFFSetField(tif, TIFFTAG_XRESOLUTION, (float)p->xres);
	ok &= TIFFSetField(tif, TIFFTAG_YRESOLUTION, (float)p->yres);
	ok &= TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
	ok &= TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)t->n_done, (uint16_t)0);
	ok &= TIFFSetField(tif, TIFFTAG_MAKE, t->make);
	ok &= TIFFSetField(tif, TIFFTAG_MODEL, t->model);
	ok &= TIFFSetField(tif, TIFFTAG_SOFTWARE, t->software);
	ok &= TIFFSetField(tif, TIFFTAG_DATETIME, dt);
	if (t->artist[0] != '\0')
		ok &= TIFFSetField(tif, TIFFTAG_ARTIST, t->artist);
	desc = json_object_new_object();
	json_object_object_add(desc, "page", json_object_new_int(t->n_done + 1));
	json_object_object_add(desc, "source", json_object_new_string(t->source));
	if (settings != NULL)
		json_object_object_add(desc, "settings", json_object_get(settings));
	json_object_object_add(desc, "sha256", json_object_new_string(sha256));
	ok &= TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION,
			   json_object_to_json_string_ext(
			       desc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(desc);
	if (!ok) {
		scan_tiff_fail(t, "%s: cannot set the page tags", t->path);
		goto out;
	}
	/* the compressed strips as they are: the pixels do not change */
	n = TIFFNumberOfStrips(in);
	for (i = 0; i < n; i++) {
		if (counts[i] > (64u << 20)) {
			scan_tiff_fail(t, "%s: strip %u too large", src, i);
			goto out;
		}
		if (counts[i] > rawcap) {
			rawcap = (size_t)counts[i];
			raw = xrealloc(raw, rawcap);
		}
		if (TIFFReadRawStrip(in, i, raw, (tmsize_t)counts[i]) != (tmsize_t)counts[i] ||
		    TIFFWriteRawStrip(tif, i, raw, (tmsize_t)counts[i]) != (tmsize_t)counts[i]) {
			scan_tiff_fail(t, "%s: strip %u cannot be copied", src, i);
			goto out;
		}
	}
	if (TIFFWriteDirectory(tif) != 1) {
		scan_tiff_fail(t, "page %d: TIFFWriteDirectory failed", t->n_done + 1);
		goto out;
	}
	t->in_page = 0;
	d = scan_tiff_done_add(t);
	d->compression = comp == COMPRESSION_CCITTFAX4 ? "g4"
			 : comp == COMPRESSION_LZW     ? "lzw"
						       : "deflate";
	snprintf(d->sha256, sizeof(d->sha256), "%s", sha256);
	rc = 0;
out:
	if (rc == -1 && t->in_page)
		scan_tiff_page_abort(t);
	free(raw);
	TIFFClose(in);
	return rc;
}

int scan_tiff_page_transcode(scan_tiff *t, const char *src, const struct scan_tiff_page *p,
			     int rotation, json_object *settings)
{
	struct tiffpage_errs msg;
	struct scan_tiff_page pg = *p;
	TIFF *in;
	unsigned char *page = NULL, *rot = NULL, *row = NULL;
	uint32_t y, dw = 0, dh = 0;
	size_t rb = scan_rotate_row_bytes(p->width, p->bits, p->samples);
	tmsize_t sl;
	int rc = -1, started = 0;

	memset(&msg, 0, sizeof(msg));
	msg.tag = src;
	if ((in = tiffpage_open(src, 0, &msg)) == NULL) {
		scan_tiff_fail(t, "%s: %s", src, msg.msg);
		return -1;
	}
	sl = TIFFScanlineSize(in);
	if (sl <= 0 || (size_t)sl != rb || p->height == 0) {
		scan_tiff_fail(t, "%s is not a page of this layout", src);
		goto out;
	}
	if (rotation == 0) {
		row = xmalloc(rb);
		if (scan_tiff_page_begin(t, &pg, settings) == -1)
			goto out;
		started = 1;
		for (y = 0; y < p->height; y++) {
			if (TIFFReadScanline(in, row, y, 0) != 1) {
				scan_tiff_fail(t, "%s: row %u cannot be read", src, y);
				goto out;
			}
			if (scan_tiff_page_row(t, row) == -1)
				goto out;
		}
	} else {
		/* the whole page in memory, once: turning needs every row */
		page = xmalloc(rb * p->height);
		for (y = 0; y < p->height; y++)
			if (TIFFReadScanline(in, page + (size_t)y * rb, y, 0) != 1) {
				scan_tiff_fail(t, "%s: row %u cannot be read", src, y);
				goto out;
			}
		if (scan_rotate(page, p->width, p->height, p->bits, p->samples, rotation, &rot, &dw,
				&dh) == -1) {
			scan_tiff_fail(t, "%s: cannot turn by %d degrees", src, rotation);
			goto out;
		}
		free(page);
		page = NULL;
		pg.width = dw;
		pg.height = dh;
		if (rotation != 180) {
			pg.xres = p->yres;
			pg.yres = p->xres;
		}
		rb = scan_rotate_row_bytes(dw, p->bits, p->samples);
		if (scan_tiff_page_begin(t, &pg, settings) == -1)
			goto out;
		started = 1;
		for (y = 0; y < dh; y++)
			if (scan_tiff_page_row(t, rot + (size_t)y * rb) == -1)
				goto out;
	}
	if (scan_tiff_page_end(t) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1 && started)
		scan_tiff_page_abort(t);
	free(row);
	free(page);
	free(rot);
	TIFFClose(in);
	return rc;
}
