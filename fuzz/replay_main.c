/*
 * replay_main.c - the standalone driver of the fuzz targets for the normal
 * build (no libFuzzer): feeds every file of the directories and files named on
 * the command line to LLVMFuzzerTestOneInput, one after the other, and reports
 * how many it ran. ctest replays each corpus and its regression files with it.
 * A crash, an abort or a sanitizer report ends the run with a failure; a
 * missing directory is an error (a test that replays nothing proves nothing).
 *
 * EXIT STATUS: 0 all inputs ran; 1 an input could not be read; 64 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

#define REPLAY_MAX_INPUT (64u << 20)

/* Run one file; 0, or -1 when it cannot be read. */
static int replay_file(const char *path, size_t *n)
{
	FILE *f;
	unsigned char *data = NULL;
	size_t len = 0, cap = 0, r;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= REPLAY_MAX_INPUT) {
				fprintf(stderr, "replay: %s: larger than %u bytes\n", path,
					REPLAY_MAX_INPUT);
				fclose(f);
				free(data);
				return -1;
			}
			cap = cap ? 2 * cap : 65536;
			if ((data = realloc(data, cap)) == NULL)
				abort();
		}
		if ((r = fread(data + len, 1, cap - len, f)) == 0)
			break;
		len += r;
	}
	fclose(f);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	(*n)++;
	return 0;
}

/* Run every regular file of dir (dot files skipped) in name order. */
static int replay_dir(const char *dir, size_t *n)
{
	struct dirent **ents;
	int i, k, rc = 0;

	if ((k = scandir(dir, &ents, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < k; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && strcmp(ents[i]->d_name, "README.md") != 0 &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, n) == -1)
			rc = -1;
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = 0;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 64;
	}
	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &n) == -1
					       : replay_file(argv[i], &n) == -1) {
			rc = 1;
		}
	}
	printf("replay %s: %zu input(s) run, %s\n", argv[0], n, rc ? "with errors" : "ok");
	return rc;
}
