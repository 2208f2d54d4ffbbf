/*
 * fuzz_util.h - what the libFuzzer targets share: a per-process scratch
 * directory for parsers that only read files, quiet logging, a throwaway CA.
 */
#ifndef MAILROOM_FUZZ_UTIL_H
#define MAILROOM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point every target defines (and replay_main.c calls). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Log at error level only, so a run is not drowned in expected rejections. */
void fuzz_quiet(void);

/* The scratch directory of this process (created on first use, removed at exit). */
const char *fuzz_dir(void);

/* Write size bytes to fuzz_dir()/name (replaced); its path, owned here until the
 * next call. Fatal on I/O errors (the target cannot go on). */
const char *fuzz_write(const char *name, const uint8_t *data, size_t size);

/* A self-signed EC certificate written once to fuzz_dir()/ca.pem; its path. */
const char *fuzz_ca_pem(void);

/* A file of the source or shared tree named by env (MAILROOM_SOURCE /
 * MAILROOM_SHARED, set by ctest) or the compile-time default; static buffer. */
const char *fuzz_source_file(const char *rel);
const char *fuzz_shared_file(const char *rel);

#endif
