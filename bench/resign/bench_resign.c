/*
 * bench_resign.c - mailroom-bench-resign: how fast evidence records are made and
 * renewed (common/ers.c, common/tsa.c), for bench/resign/run.sh.
 *
 * SYNOPSIS
 *	mailroom-bench-resign ers --leaves N --tsa URL --ca PEM --out DIR
 *	mailroom-bench-resign renew --tsa URL --ca PEM --in DIR --out DIR
 *	mailroom-bench-resign mkletters --archive DIR --letters M --mb S
 *
 *	ers: N leaf hashes (SHA-256 of N distinct documents, given, as the issue
 *	says), one hash tree, ONE time-stamp over its root from the TSA (HTTP), then
 *	N evidence records - the reduced hash tree of each leaf and the token - each
 *	written to DIR/<i>.ers (write + close, as a plain file write; no fsync).
 *	renew: every record of DIR read and parsed, the last time-stamp of each
 *	chain hashed, one tree over the distinct ones, ONE time-stamp, the new
 *	archive time-stamp appended to every chain, written to the out DIR.
 *	Both print one line "phase seconds" per step and a total.
 *	mkletters: M archived letters for the hash-tree renewal bench, the way
 *	mailroom-dms-export leaves them (job.json with signing.level and the
 *	files' SHA-256): scan.tiff of S MB of random bytes, a Transfervermerk and
 *	two small seals (random bytes: they are only hashed).
 *
 * SECURITY
 *	A benchmark: test TSA, random data, writes only below DIR.
 *
 * EXIT STATUS
 *	0, EX_USAGE, EX_UNAVAILABLE (TSA), EX_IOERR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "buf.h"
#include "ers.h"
#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "log.h"
#include "tsa.h"
#include "xalloc.h"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: mailroom-bench-resign ers --leaves N --tsa URL --ca PEM --out DIR\n"
		   "       mailroom-bench-resign renew --tsa URL --ca PEM --in DIR --out DIR\n"
		   "       mailroom-bench-resign mkletters --archive DIR --letters M --mb S\n");
}

/* Write len bytes to path (create/truncate, no fsync). 0 or -1. */
static int bench_write(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd == -1 || fio_write_all(fd, p, len) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * One time-stamp over the tree's root (the TSA hashes what it is given: the
 * root's two children; with one leaf, single is what the leaf is the hash of).
 * 0 or -1.
 */
static int bench_stamp(tsa_client *t, const ers_tree *tree, const unsigned char *single,
		       size_t single_len, unsigned char **tok, size_t *toklen)
{
	char err[1024];
	buf in;
	int rc;

	buf_init(&in, ERS_MAX_DER);
	if (ers_tree_leaves(tree) > 1)
		ers_tree_root_input(tree, &in);
	else
		buf_add(&in, single, single_len);
	rc = tsa_stamp(t, (const unsigned char *)in.data, in.len, tok, toklen, err, sizeof(err));
	buf_free(&in);
	if (rc != TSA_OK) {
		fprintf(stderr, "bench-resign: %s\n", err);
		return -1;
	}
	return 0;
}

static tsa_client *bench_tsa(const char *url, const char *ca)
{
	struct tsa_conf tc;
	char err[512];
	tsa_client *t;

	memset(&tc, 0, sizeof(tc));
	tc.url = url;
	tc.ca_path = ca;
	tc.digest = "sha256";
	tc.proxy = "";
	if ((t = tsa_open(&tc, err, sizeof(err))) == NULL)
		fprintf(stderr, "bench-resign: %s\n", err);
	return t;
}

/* ers: N leaves -> tree -> one token -> N records. */
static int bench_ers(long n, const char *url, const char *ca, const char *out)
{
	const EVP_MD *md = EVP_sha256();
	unsigned char *leaves = xmalloc((size_t)n * 32), *tok = NULL;
	const unsigned char *vals[ERS_TREE_PATH_MAX];
	size_t counts[ERS_MAX_LISTS], nl, toklen = 0, total = 0;
	double t0, t1, t2, t3, t_enc = 0, t_wr = 0, a;
	tsa_client *t = bench_tsa(url, ca);
	ers_tree *tree;
	char path[4096];
	buf ats, er;
	long i;

	if (t == NULL)
		return EX_UNAVAILABLE;
	RAND_bytes(leaves, (int)((size_t)n * 32)); /* SHA-256 values of n documents */
	t0 = bench_now();
	tree = ers_tree_new(md, leaves, (size_t)n, NULL, 0);
	t1 = bench_now();
	/* (one leaf: its record's first list is the leaf alone, the imprint H(leaf)) */
	if (tree == NULL || bench_stamp(t, tree, leaves, 32, &tok, &toklen) == -1)
		return EX_UNAVAILABLE;
	t2 = bench_now();
	buf_init(&ats, ERS_MAX_DER);
	buf_init(&er, ERS_MAX_DER);
	for (i = 0; i < n; i++) {
		a = bench_now();
		buf_reset(&ats);
		buf_reset(&er);
		ers_tree_path(tree, (size_t)i, 0, vals, counts, &nl);
		if (ers_ats_encode(&ats, md, 0, NULL, 0, vals, counts, nl, tok, toklen) != ERS_OK ||
		    ers_record_encode(&er, md, (const unsigned char *)ats.data, ats.len) != ERS_OK)
			return EX_SOFTWARE;
		t_enc += bench_now() - a;
		a = bench_now();
		snprintf(path, sizeof(path), "%s/%07ld.ers", out, i);
		if (bench_write(path, er.data, er.len) == -1) {
			fprintf(stderr, "bench-resign: %s: %s\n", path, strerror(errno));
			return EX_IOERR;
		}
		t_wr += bench_now() - a;
		total += er.len;
	}
	t3 = bench_now();
	printf("ers leaves=%ld tsa_calls=1 tree=%.3f tsa=%.3f encode=%.3f write=%.3f total=%.3f "
	       "bytes=%zu avg_record=%zu\n",
	       n, t1 - t0, t2 - t1, t_enc, t_wr, t3 - t0, total, total / (size_t)n);
	buf_free(&ats);
	buf_free(&er);
	ers_tree_free(tree);
	free(tok);
	free(leaves);
	tsa_close(t);
	return EX_OK;
}

/* A distinct previous token: its hash and the leaf index. */
struct prev {
	unsigned char h[32];
	long leaf;
};

static int prev_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* renew: every record of in, one tree over the distinct last time-stamps, one token. */
static int bench_renew(const char *url, const char *ca, const char *in, const char *out)
{
	const EVP_MD *md = EVP_sha256();
	tsa_client *t = bench_tsa(url, ca);
	DIR *d = opendir(in);
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i, np = 0, k, nl, toklen = 0, total = 0;
	ers_record **ers;
	unsigned char(*h)[32], *leaves, *tok = NULL;
	const unsigned char *vals[ERS_TREE_PATH_MAX];
	size_t counts[ERS_MAX_LISTS];
	struct prev *pv;
	long *leaf_of;
	double t0, t1, t2, t3, t4, t5;
	unsigned int hl;
	ers_tree *tree;
	buf b, ats, er;

	if (t == NULL || d == NULL)
		return EX_UNAVAILABLE;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	ers = xcalloc(n, sizeof(*ers));
	h = xcalloc(n, sizeof(*h));
	leaf_of = xcalloc(n, sizeof(*leaf_of));
	pv = xcalloc(n, sizeof(*pv));
	t0 = bench_now();
	/* read and parse every record; hash its last time-stamp */
	for (i = 0; i < n; i++) {
		const struct ers_ats *last;

		snprintf(path, sizeof(path), "%s/%s", in, names[i]);
		buf_init(&b, ERS_MAX_DER);
		if (fio_read_file(path, ERS_MAX_DER, &b) == -1 ||
		    ers_parse((const unsigned char *)b.data, b.len, &ers[i], NULL, 0) != ERS_OK)
			return EX_IOERR;
		buf_free(&b);
		last = ers_last_ats(ers[i]);
		EVP_Digest(last->ts, last->ts_len, h[i], &hl, md, NULL);
	}
	t1 = bench_now();
	/* the distinct previous time-stamps are the leaves */
	for (i = 0; i < n; i++) {
		memcpy(pv[i].h, h[i], 32);
		pv[i].leaf = -1;
	}
	qsort(pv, n, sizeof(*pv), prev_cmp);
	for (i = 0; i < n; i++)
		if (np == 0 || memcmp(pv[i].h, pv[np - 1].h, 32) != 0)
			pv[np++] = pv[i];
	leaves = xmalloc(np * 32);
	for (i = 0; i < np; i++) {
		memcpy(leaves + 32 * i, pv[i].h, 32);
		pv[i].leaf = (long)i;
	}
	for (i = 0; i < n; i++) {
		struct prev *p = bsearch(h[i], pv, np, sizeof(*pv), prev_cmp);

		leaf_of[i] = p->leaf;
	}
	tree = ers_tree_new(md, leaves, np, NULL, 0);
	t2 = bench_now();
	/* one distinct time-stamp: no tree, the token is over H(that time-stamp) */
	if (tree == NULL || bench_stamp(t, tree, ers_last_ats(ers[0])->ts,
					ers_last_ats(ers[0])->ts_len, &tok, &toklen) == -1)
		return EX_UNAVAILABLE;
	t3 = bench_now();
	buf_init(&ats, ERS_MAX_DER);
	buf_init(&er, ERS_MAX_DER);
	for (i = 0; i < n; i++) {
		buf_reset(&ats);
		buf_reset(&er);
		nl = 0;
		if (np > 1)
			ers_tree_path(tree, (size_t)leaf_of[i], 0, vals, counts, &nl);
		if (ers_ats_encode(&ats, md, 0, NULL, 0, vals, counts, nl, tok, toklen) != ERS_OK ||
		    ers_append_ats(ers[i], (const unsigned char *)ats.data, ats.len, &er) != ERS_OK)
			return EX_SOFTWARE;
		snprintf(path, sizeof(path), "%s/%s", out, names[i]);
		if (bench_write(path, er.data, er.len) == -1)
			return EX_IOERR;
		total += er.len;
	}
	t4 = bench_now();
	for (k = 0; k < n; k++) {
		ers_record_free(ers[k]);
		free(names[k]);
	}
	t5 = bench_now();
	printf("renew chains=%zu distinct_previous=%zu tsa_calls=1 read_parse_hash=%.3f tree=%.3f "
	       "tsa=%.3f encode_write=%.3f total=%.3f bytes=%zu\n",
	       n, np, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0, total);
	(void)t5;
	buf_free(&ats);
	buf_free(&er);
	ers_tree_free(tree);
	free(tok);
	free(leaves);
	free(pv);
	free(leaf_of);
	free(h);
	free(ers);
	free(names);
	tsa_close(t);
	return EX_OK;
}

/* mkletters: M archived, sealed letters with a scan of S MB. */
static int bench_mkletters(const char *archive, long m, long mb)
{
	static const char *names[] = {"scan.tiff", "scan.tiff.p7s", "transfervermerk.xml",
				      "transfervermerk.xml.p7s"};
	size_t sizes[4] = {(size_t)mb << 20, 2048, 4096, 2048}, k;
	unsigned char *blk = xmalloc(sizes[0]);
	char id[IDENT_JOB_MAX], *dir, *p;
	json_object *s;
	long i;
	job *j;

	if (fio_mkdirs(archive, 0700) == -1)
		return EX_IOERR;
	for (i = 0; i < m; i++) {
		ident_job_new(id);
		dir = fio_join(archive, id);
		if (fio_mkdirs(dir, 0700) == -1)
			return EX_IOERR;
		j = job_new(id, dir);
		for (k = 0; k < 4; k++) {
			RAND_bytes(blk, (int)sizes[k]);
			p = fio_join(dir, names[k]);
			if (bench_write(p, blk, sizes[k]) == -1)
				return EX_IOERR;
			free(p);
			job_add_file(j, names[k]);
		}
		s = json_object_new_object();
		json_object_object_add(s, "level", json_object_new_string("CAdES-B-B"));
		json_object_object_add(job_meta(j), "signing", s);
		if (job_write(j) == -1)
			return EX_IOERR;
		job_free(j);
		free(dir);
	}
	free(blk);
	printf("mkletters letters=%ld scan_mb=%ld\n", m, mb);
	return EX_OK;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"leaves", required_argument, NULL, 'n'},
					   {"tsa", required_argument, NULL, 't'},
					   {"ca", required_argument, NULL, 'c'},
					   {"out", required_argument, NULL, 'o'},
					   {"in", required_argument, NULL, 'i'},
					   {"archive", required_argument, NULL, 'a'},
					   {"letters", required_argument, NULL, 'm'},
					   {"mb", required_argument, NULL, 's'},
					   {NULL, 0, NULL, 0}};
	const char *cmd, *url = NULL, *ca = NULL, *out = NULL, *in = NULL, *archive = NULL;
	long n = 100000, m = 10, mb = 8;
	int ch;

	log_init("mailroom-bench-resign");
	if (argc < 2) {
		bench_usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			n = atol(optarg);
			break;
		case 't':
			url = optarg;
			break;
		case 'c':
			ca = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'i':
			in = optarg;
			break;
		case 'a':
			archive = optarg;
			break;
		case 'm':
			m = atol(optarg);
			break;
		case 's':
			mb = atol(optarg);
			break;
		default:
			bench_usage(stderr);
			return EX_USAGE;
		}
	}
	if (strcmp(cmd, "ers") == 0 && url && ca && out && n > 0)
		return bench_ers(n, url, ca, out);
	if (strcmp(cmd, "renew") == 0 && url && ca && out && in)
		return bench_renew(url, ca, in, out);
	if (strcmp(cmd, "mkletters") == 0 && archive && m > 0 && mb > 0)
		return bench_mkletters(archive, m, mb);
	bench_usage(stderr);
	return EX_USAGE;
}
