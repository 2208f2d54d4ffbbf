/*
 * export_zip.c - build and check xdomea packages with libzip; see export_zip.h.
 *
 * The ZIP is built in memory (a libzip buffer source) and then written to the
 * caller's file descriptor, so libzip never creates files of its own in an inbox:
 * the only file that appears there is the caller's .tmp, then the final name.
 */
#include "export_zip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "buf.h"
#include "fileio.h"
#include "xalloc.h"

static void ezip_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a reason into err. */
static void ezip_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* 1 if a file of this name is already compressed (store it as it is). */
static int ezip_stored(const char *name)
{
	const char *ext = strrchr(name, '.');

	return ext != NULL && (strcasecmp(ext, ".tiff") == 0 || strcasecmp(ext, ".tif") == 0 ||
			       strcasecmp(ext, ".pdf") == 0 || strcasecmp(ext, ".png") == 0 ||
			       strcasecmp(ext, ".jpg") == 0 || strcasecmp(ext, ".jpeg") == 0);
}

/* Add jobdir/name to the archive as pkg_name; *total grows by its size. -1 with err. */
static int ezip_add_file(zip_t *za, const char *jobdir, const char *name, const char *pkg_name,
			 uint64_t max, uint64_t *total, char *err, size_t errlen)
{
	char *path = fio_join(jobdir, name);
	zip_source_t *src = NULL;
	zip_int64_t idx;
	struct stat st;
	FILE *fp = NULL;
	int fd = -1, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		ezip_errf(err, errlen, "%s: %s", name, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ezip_errf(err, errlen, "%s is not a regular file", name);
		goto out;
	}
	*total += (uint64_t)st.st_size;
	if (*total > max) {
		ezip_errf(err, errlen,
			  "the package would be larger than max_package_mb (%llu MiB); raise it in "
			  "conf/export.yaml",
			  (unsigned long long)(max >> 20));
		goto out;
	}
	if ((fp = fdopen(fd, "rb")) == NULL) {
		ezip_errf(err, errlen, "%s: %s", name, strerror(errno));
		goto out;
	}
	fd = -1;
	if ((src = zip_source_filep(za, fp, 0, -1)) == NULL) {
		ezip_errf(err, errlen, "%s: %s", name, zip_strerror(za));
		goto out;
	}
	fp = NULL; /* owned by the source now */
	if ((idx = zip_file_add(za, pkg_name, src, ZIP_FL_ENC_UTF_8)) < 0) {
		ezip_errf(err, errlen, "%s: %s", name, zip_strerror(za));
		zip_source_free(src);
		goto out;
	}
	if (ezip_stored(pkg_name))
		zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
	zip_file_set_mtime(za, (zip_uint64_t)idx, st.st_mtime, 0);
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

int export_zip_write(int fd, const char *jobdir, const struct xdomea_pkg *p, const char *xml,
		     size_t xml_len, uint64_t max, char *err, size_t errlen)
{
	zip_error_t ze;
	zip_source_t *mem = NULL, *xs;
	zip_t *za = NULL;
	uint64_t total = xml_len;
	char blk[65536];
	zip_int64_t n;
	size_t i;
	int rc = EXPORT_ZIP_BUILD, opened = 0, e;

	zip_error_init(&ze);
	if ((mem = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL) {
		ezip_errf(err, errlen, "libzip: %s", zip_error_strerror(&ze));
		goto out;
	}
	if ((za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze)) == NULL) {
		ezip_errf(err, errlen, "libzip: %s", zip_error_strerror(&ze));
		zip_source_free(mem);
		mem = NULL;
		goto out;
	}
	zip_source_keep(mem); /* the archive data stays ours after zip_close */
	if ((xs = zip_source_buffer(za, xml, xml_len, 0)) == NULL ||
	    zip_file_add(za, p->xml_name, xs, ZIP_FL_ENC_UTF_8) < 0) {
		ezip_errf(err, errlen, "libzip: %s", zip_strerror(za));
		if (xs != NULL)
			zip_source_free(xs);
		goto out;
	}
	for (i = 0; i < p->nparts; i++) {
		const struct xdomea_part *pt = &p->parts[i];

		if (ezip_add_file(za, jobdir, pt->job_name, pt->pkg_name, max, &total, err,
				  errlen) == -1)
			goto out;
		if (pt->sig_job_name[0] != '\0' &&
		    ezip_add_file(za, jobdir, pt->sig_job_name, pt->sig_pkg_name, max, &total, err,
				  errlen) == -1)
			goto out;
		if (pt->ers_job_name[0] != '\0' &&
		    ezip_add_file(za, jobdir, pt->ers_job_name, pt->ers_pkg_name, max, &total, err,
				  errlen) == -1)
			goto out;
	}
	if (zip_close(za) == -1) {
		ezip_errf(err, errlen, "libzip: %s", zip_strerror(za));
		goto out;
	}
	za = NULL;
	if (zip_source_open(mem) == -1) {
		ezip_errf(err, errlen, "libzip: %s", zip_error_strerror(zip_source_error(mem)));
		goto out;
	}
	opened = 1;
	while ((n = zip_source_read(mem, blk, sizeof(blk))) > 0) {
		if (fio_write_all(fd, blk, (size_t)n) == -1) {
			rc = EXPORT_ZIP_WRITE;
			goto out;
		}
	}
	if (n < 0) {
		ezip_errf(err, errlen, "libzip: %s", zip_error_strerror(zip_source_error(mem)));
		goto out;
	}
	rc = 0;
out:
	e = errno;
	if (za != NULL)
		zip_discard(za);
	if (opened)
		zip_source_close(mem);
	if (mem != NULL)
		zip_source_free(mem);
	zip_error_fini(&ze);
	errno = e;
	return rc;
}

int export_zip_check(const char *path, const struct xdomea_pkg *p, char *err, size_t errlen)
{
	zip_t *za;
	zip_int64_t nent, i;
	int zerr = 0, rc = 0, found = 0;
	char pid[64];
	buf msg;

	buf_init(&msg, XDOMEA_MAX_XML);
	if ((za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr)) == NULL) {
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		ezip_errf(err, errlen, "not a readable ZIP: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return 0;
	}
	nent = zip_get_num_entries(za, 0);
	for (i = 0; i < nent; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
		zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
		int is_msg = name != NULL && strcmp(name, p->xml_name) == 0;
		char blk[65536];
		zip_int64_t n;

		if (zf == NULL) {
			ezip_errf(err, errlen, "entry %lld cannot be opened: %s", (long long)i,
				  zip_strerror(za));
			goto out;
		}
		while ((n = zip_fread(zf, blk, sizeof(blk))) > 0) {
			if (is_msg && buf_add(&msg, blk, (size_t)n) == -1) {
				ezip_errf(err, errlen, "%s is too large", name);
				zip_fclose(zf);
				goto out;
			}
		}
		if (n < 0) {
			ezip_errf(err, errlen, "entry %s is damaged: %s", name ? name : "?",
				  zip_file_strerror(zf));
			zip_fclose(zf);
			goto out;
		}
		zip_fclose(zf);
		found |= is_msg;
	}
	if (!found) {
		ezip_errf(err, errlen, "it holds no %s", p->xml_name);
		goto out;
	}
	if (xdomea_process_id(msg.data ? msg.data : "", msg.len, pid, sizeof(pid)) == -1 ||
	    strcasecmp(pid, p->process_id) != 0) {
		ezip_errf(err, errlen, "its message does not name ProzessID %s", p->process_id);
		goto out;
	}
	rc = 1;
out:
	zip_discard(za);
	buf_free(&msg);
	return rc;
}
