/*
 * ident.h - job ids and UUIDs.
 *
 * A job id is "YYYYMMDDTHHMMSSZ-" plus 16 random hex digits: unique, sortable by
 * creation time, not guessable, only [A-Za-z0-9_-], at most IDENT_JOB_MAX-1 chars.
 * Every id that comes from outside (a directory name, a command line) is checked
 * with ident_job_valid before use.
 */
#ifndef MAILROOM_IDENT_H
#define MAILROOM_IDENT_H

#include <stddef.h>

#define IDENT_JOB_MAX 64
#define IDENT_UUID_LEN 37

/* A new job id into out[IDENT_JOB_MAX]. */
void ident_job_new(char out[IDENT_JOB_MAX]);
/* 1 if s is a well-formed job id: 1..63 chars of [A-Za-z0-9_-], not starting with '-'. */
int ident_job_valid(const char *s);
/* A random (version 4) UUID, lowercase, into out[IDENT_UUID_LEN]. */
void ident_uuid_v4(char out[IDENT_UUID_LEN]);
/* Fill p with n random bytes from the kernel (fatal if it cannot). */
void ident_random(void *p, size_t n);

#endif
