/*
 * export_zip.h - the xdomea package: one flat ZIP (libzip) holding the message
 * XML and the letter's files under their package names, and the check that an
 * existing package is complete.
 */
#ifndef MAILROOM_EXPORT_ZIP_H
#define MAILROOM_EXPORT_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "export_xdomea.h"

#define EXPORT_ZIP_WRITE (-1) /* writing to the file failed: errno says why */
#define EXPORT_ZIP_BUILD (-2) /* the package cannot be built: err says why */

/*
 * Build the package of p (files read from jobdir, message xml) in memory, at most
 * max bytes of input, and write it to fd (not synced; the caller fsyncs).
 * 0, EXPORT_ZIP_WRITE (errno set) or EXPORT_ZIP_BUILD (err set).
 */
int export_zip_write(int fd, const char *jobdir, const struct xdomea_pkg *p, const char *xml,
		     size_t xml_len, uint64_t max, char *err, size_t errlen);

/*
 * Check the package at path: a readable ZIP whose every entry reads back with a
 * correct CRC and whose message p->xml_name names p->process_id. 1 complete;
 * 0 not (err says why).
 */
int export_zip_check(const char *path, const struct xdomea_pkg *p, char *err, size_t errlen);

#endif
