/*
 * job.h - the job record: one letter's metadata, job.json in its job directory.
 *
 * A job directory holds the letter's payload files (scan.tiff, ocr.txt, ...) and
 * job.json, a JSON object that every stage extends. The record ends with
 * "files" (name -> sha256, size of every payload file) and the end marker
 * "end": "mailroom-job/1"; job_read() rejects a record without the marker, with
 * a wrong id, or whose files are missing or do not match their digests — a
 * truncated or altered job is detected before any stage works on it.
 * Format details: docs/SPOOL-FORMAT.md.
 */
#ifndef MAILROOM_JOB_H
#define MAILROOM_JOB_H

#include <stddef.h>

#include <json-c/json.h>

#include "ident.h"

#define JOB_RECORD "job.json"
#define JOB_FORMAT "mailroom-job/1"
#define JOB_MAX_RECORD (8u << 20)

typedef struct job job;

/* A new, empty record for job id in directory dir (nothing is written yet). */
job *job_new(const char *id, const char *dir);
/*
 * Read and check dir/job.json and every payload digest. On error returns NULL
 * and writes the reason ("job.json has no end marker", "scan.tiff: digest
 * mismatch", ...) into err.
 */
job *job_read(const char *dir, const char *id, char *err, size_t errlen);
/* Recompute the digests of all recorded files and write job.json atomically. */
int job_write(job *j);
job *job_free(job *j);

const char *job_id(const job *j);
const char *job_dir(const job *j);
/* The record's root object; owned by the job (add keys with json_object_object_add). */
json_object *job_meta(job *j);
/* The object at key in the root, created empty if absent; owned by the job. */
json_object *job_section(job *j, const char *key);

/* Record payload file name (must be in the job dir; [A-Za-z0-9._-]); hashed on job_write. */
int job_add_file(job *j, const char *name);
/* Remove a payload file from the record (the file itself is left alone). */
void job_drop_file(job *j, const char *name);
/*
 * Announce that the recorded file name is about to be replaced, atomically, by
 * content with this SHA-256 (hex) and size: job_read accepts either content
 * until a job_write finds the file replaced (it then forgets the announcement). The protocol for replacing a recorded file: write the new
 * content under another name (durably), job_expect_file + job_write, rename it
 * over the old one. A crash at any point leaves a record that matches. -1 if
 * name is not recorded.
 */
int job_expect_file(job *j, const char *name, const char *sha256_hex, uint64_t size);
/* 1 if the record lists file name. */
int job_has_file(const job *j, const char *name);
/* The recorded sha256 hex of name, or NULL; owned by the job. */
const char *job_file_sha256(const job *j, const char *name);
/* dir/name as a new string (caller frees). */
char *job_path(const job *j, const char *name);

/* Append {"stage", "at", "outcome"} to the "history" array. */
void job_mark_stage(job *j, const char *stage, const char *outcome);
/* 1 if the history says stage finished with outcome "ok". */
int job_stage_done(const job *j, const char *stage);

/* Convenience getters on the root: "a.b.c" paths through objects; NULL if absent. */
const char *job_get_str(const job *j, const char *path);
void job_set_str(job *j, const char *section, const char *key, const char *value);

/* 1 if name is a safe payload file name. */
int job_file_name_valid(const char *name);

#endif
