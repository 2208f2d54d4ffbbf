/*
 * ers_vectors.c - run the RFC 4998 interop vectors of ../shared/vectors/ers
 * through common/ers.c and compare with the verdict MANIFEST.tsv expects.
 *
 * usage: ers_vectors [--dir VECTORS] [--anchors | --path-want VERDICT] [ID...]
 *
 * Without IDs every vector runs. Modes (README of the vectors):
 *   bin        the ER file against the data files hashed as bytes
 *   er-only    the ER alone
 *   malformed  must not parse
 *   digests    data objects given as digests in digests.tsv (the k-th row of an
 *              algorithm belongs to object k)
 *   xaip       every derived.protected* directory in bin mode: its
 *              embedded_er.der if there is one, else the vector's ER file; the
 *              NN_*.bin files in INDEX.tsv order
 *   cms        ers_cms_split of the .p7s (the ER and the signature without it
 *              must equal derived.er.der and derived.cms-without-er.der byte for
 *              byte), then the ER against the data file and the CMS
 * A verdict "INVALID:A@c0a0+B@c0a0" accepts either code. --anchors adds path
 * validation at genTime against the vector's trust anchors and prints the
 * result without judging it (the verdicts exclude path validation);
 * --path-want VERDICT judges that result instead of the manifest's verdict.
 * Exit 0 when every vector reached its verdict, 1 otherwise, 77 when the
 * vectors are absent (../shared is not beside the checkout).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "buf.h"
#include "ers.h"
#include "fileio.h"
#include "xalloc.h"

#define V_MAX_FIELDS 11
#define V_MAX_OBJS 64

struct vec {
	char *f[V_MAX_FIELDS]; /* id dir mode er data algs shape verdict reference anchors title */
};

static const char *vdir;
static int with_anchors;
static const char *path_want;

/* Split a tab-separated line in place. */
static int v_split(char *line, struct vec *v)
{
	int n = 0;
	char *p = line, *t;

	memset(v, 0, sizeof(*v));
	while (n < V_MAX_FIELDS) {
		v->f[n++] = p;
		if ((t = strchr(p, '\t')) == NULL)
			break;
		*t = '\0';
		p = t + 1;
	}
	if ((t = strchr(v->f[n - 1], '\n')) != NULL)
		*t = '\0';
	while (n < V_MAX_FIELDS)
		v->f[n++] = "";
	return 0;
}

/* 1 if got is one of the alternatives of want ("INVALID:A@x+B@y"). */
static int v_verdict_ok(const char *want, const char *got)
{
	char alt[128];
	const char *p, *q;

	if (strcmp(want, got) == 0)
		return 1;
	if (strncmp(want, "INVALID:", 8) != 0 || strncmp(got, "INVALID:", 8) != 0)
		return 0;
	for (p = want + 8; *p; p = *q ? q + 1 : q) {
		q = strchr(p, '+');
		if (q == NULL)
			q = p + strlen(p);
		snprintf(alt, sizeof(alt), "INVALID:%.*s", (int)(q - p), p);
		if (strcmp(alt, got) == 0)
			return 1;
	}
	return 0;
}

/* Read a file whole. 0 or -1. */
static int v_read(const char *path, buf *b)
{
	buf_init(b, ERS_MAX_DER);
	if (fio_read_file(path, ERS_MAX_DER, b) == -1) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A trust store with the vector's anchors (comma-separated file names). */
static X509_STORE *v_anchors(const char *list)
{
	X509_STORE *s = X509_STORE_new();
	char *copy = xstrdup(list), *tok, *save = NULL, *path;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		path = xasprintf("%s/trust-anchors/%s", vdir, tok);
		if (X509_STORE_load_file(s, path) != 1)
			fprintf(stderr, "cannot load anchor %s\n", path);
		free(path);
	}
	free(copy);
	return s;
}

/* Verify er bytes against objects and judge the verdict. 0 pass, 1 fail. */
static int v_judge(const struct vec *v, const char *what, const buf *er, struct ers_object *objs,
		   size_t n)
{
	struct ers_verify_opts o = {0};
	struct ers_result res;
	char err[512] = "";
	int rc, pass;

	if (ers_verify_der((const unsigned char *)er->data, er->len, objs, n, &o, &res, err,
			   sizeof(err)) != ERS_OK) {
		printf("FAIL %s %s: could not verify: %s\n", v->f[0], what, err);
		ers_result_free(&res);
		return 1;
	}
	pass = v_verdict_ok(v->f[7], res.verdict) || path_want != NULL;
	printf("%s %s %s: %s (want %s)%s%s\n", pass ? "ok  " : "FAIL", v->f[0], what, res.verdict,
	       v->f[7], res.detail[0] ? ": " : "", res.detail);
	ers_result_free(&res);
	if (with_anchors && v->f[9][0] != '\0') {
		o.anchors = v_anchors(v->f[9]);
		rc = ers_verify_der((const unsigned char *)er->data, er->len, objs, n, &o, &res,
				    err, sizeof(err));
		printf("     %s with anchors %s: %s%s%s\n", v->f[0], v->f[9],
		       rc == ERS_OK ? res.verdict : "error", res.detail[0] ? ": " : "", res.detail);
		if (path_want != NULL) {
			pass = rc == ERS_OK && v_verdict_ok(path_want, res.verdict);
			printf("%s %s path validation: %s (want %s)\n", pass ? "ok  " : "FAIL",
			       v->f[0], res.verdict, path_want);
		}
		ers_result_free(&res);
		X509_STORE_free(o.anchors);
	} else if (path_want != NULL) {
		printf("FAIL %s: no trust anchors listed for path validation\n", v->f[0]);
		pass = 0;
	}
	return pass ? 0 : 1;
}

/* bin / er-only / malformed: the ER file and the data files of the manifest. */
static int v_bin(const struct vec *v)
{
	struct ers_object objs[V_MAX_OBJS];
	char *paths[V_MAX_OBJS], *data = xstrdup(v->f[4]), *tok, *save = NULL, *erp;
	size_t n = 0, i;
	buf er;
	int rc = 1;

	memset(objs, 0, sizeof(objs));
	erp = xasprintf("%s/%s/%s", vdir, v->f[1], v->f[3]);
	if (strcmp(v->f[2], "er-only") != 0)
		for (tok = strtok_r(data, ";", &save); tok != NULL && n < V_MAX_OBJS;
		     tok = strtok_r(NULL, ";", &save)) {
			paths[n] = xasprintf("%s/%s/%s", vdir, v->f[1], tok);
			objs[n].name = tok;
			objs[n].path = paths[n];
			n++;
		}
	if (v_read(erp, &er) == 0)
		rc = v_judge(v, "", &er, objs, n);
	buf_free(&er);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(erp);
	free(data);
	return rc;
}

/* digests: digests.tsv rows "algorithm base64 hex". */
static int v_digests(const struct vec *v)
{
	struct ers_object objs[V_MAX_OBJS];
	struct ers_digest dg[V_MAX_OBJS][4];
	size_t per_alg[V_MAX_OBJS] = {0}, n = 0, i;
	int algs[V_MAX_OBJS], nalgs = 0, a;
	char *path = xasprintf("%s/%s/digests.tsv", vdir, v->f[1]), line[512], name[V_MAX_OBJS][32];
	FILE *f = fopen(path, "r");
	buf er;
	char *erp;
	int rc = 1;

	memset(objs, 0, sizeof(objs));
	if (f == NULL) {
		printf("FAIL %s: cannot read %s\n", v->f[0], path);
		free(path);
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char alg[32], b64[200], hex[300];
		size_t k, hl;
		int nid;

		if (sscanf(line, "%31s %199s %299s", alg, b64, hex) != 3 ||
		    strcmp(alg, "algorithm") == 0)
			continue;
		if ((nid = ers_md_nid(alg)) == NID_undef)
			continue;
		for (a = 0; a < nalgs && algs[a] != nid; a++)
			;
		if (a == nalgs)
			algs[nalgs++] = nid;
		k = per_alg[a]++;
		if (k >= V_MAX_OBJS)
			break;
		if (k >= n)
			n = k + 1;
		hl = strlen(hex) / 2;
		if (hl > ERS_MAX_HASH)
			continue;
		dg[k][objs[k].ndigests].nid = nid;
		dg[k][objs[k].ndigests].len = hl;
		for (i = 0; i < hl; i++)
			sscanf(hex + 2 * i, "%2hhx", &dg[k][objs[k].ndigests].v[i]);
		objs[k].ndigests++;
	}
	fclose(f);
	for (i = 0; i < n; i++) {
		snprintf(name[i], sizeof(name[i]), "digest row %zu", i + 1);
		objs[i].name = name[i];
		objs[i].digests = dg[i];
	}
	erp = xasprintf("%s/%s/%s", vdir, v->f[1], v->f[3]);
	if (v_read(erp, &er) == 0)
		rc = v_judge(v, "(digests)", &er, objs, n);
	buf_free(&er);
	free(erp);
	free(path);
	return rc;
}

/* xaip: each derived.protected* directory in bin mode. */
static int v_xaip(const struct vec *v)
{
	char *dir = xasprintf("%s/%s", vdir, v->f[1]);
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0, runs = 0;

	if (d == NULL) {
		printf("FAIL %s: cannot open %s\n", v->f[0], dir);
		free(dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		struct ers_object objs[V_MAX_OBJS];
		char *paths[V_MAX_OBJS], *sub, *idx, *erp, line[1024];
		size_t n = 0, i;
		FILE *f;
		buf er;

		if (strncmp(de->d_name, "derived.protected", 17) != 0)
			continue;
		memset(objs, 0, sizeof(objs));
		sub = xasprintf("%s/%s", dir, de->d_name);
		idx = xasprintf("%s/INDEX.tsv", sub);
		if ((f = fopen(idx, "r")) == NULL) {
			printf("FAIL %s: no %s\n", v->f[0], idx);
			rc = 1;
			free(idx);
			free(sub);
			continue;
		}
		while (fgets(line, sizeof(line), f) != NULL && n < V_MAX_OBJS) {
			char *t = strchr(line, '\t');

			if (t == NULL || strncmp(line, "file\t", 5) == 0)
				continue;
			*t = '\0';
			paths[n] = xasprintf("%s/%s", sub, line);
			objs[n].name = paths[n] + strlen(sub) + 1;
			objs[n].path = paths[n];
			n++;
		}
		fclose(f);
		erp = xasprintf("%s/embedded_er.der", sub);
		if (fio_exists(erp) != 1) {
			free(erp);
			erp = xasprintf("%s/%s", dir, v->f[3]);
		}
		if (v_read(erp, &er) == 0)
			rc |= v_judge(v, de->d_name, &er, objs, n);
		else
			rc = 1;
		runs++;
		buf_free(&er);
		for (i = 0; i < n; i++)
			free(paths[i]);
		free(erp);
		free(idx);
		free(sub);
	}
	closedir(d);
	free(dir);
	if (runs == 0) {
		printf("FAIL %s: no derived.protected directory\n", v->f[0]);
		return 1;
	}
	return rc;
}

/* cms: split the signature, compare with the derived files, verify. */
static int v_cms(const struct vec *v)
{
	char *p7s = xasprintf("%s/%s/%s", vdir, v->f[1], v->f[3]);
	char *der_er = xasprintf("%s/%s/derived.er.der", vdir, v->f[1]);
	char *der_cms = xasprintf("%s/%s/derived.cms-without-er.der", vdir, v->f[1]);
	char *data = v->f[4][0] ? xasprintf("%s/%s/%s", vdir, v->f[1], v->f[4]) : NULL;
	struct ers_object objs[2];
	buf sig, er, cms, want_er, want_cms;
	char err[256];
	int rc = 1, internal;
	size_t n = 0;

	memset(objs, 0, sizeof(objs));
	buf_init(&er, ERS_MAX_DER);
	buf_init(&cms, ERS_MAX_DER);
	if (v_read(p7s, &sig) == -1 || v_read(der_er, &want_er) == -1 ||
	    v_read(der_cms, &want_cms) == -1)
		goto out;
	if (ers_cms_split((const unsigned char *)sig.data, sig.len, &er, &cms, &internal, err,
			  sizeof(err)) != ERS_OK) {
		printf("FAIL %s: ers_cms_split: %s\n", v->f[0], err);
		goto out;
	}
	if (er.len != want_er.len || memcmp(er.data, want_er.data, er.len) != 0 ||
	    cms.len != want_cms.len || memcmp(cms.data, want_cms.data, cms.len) != 0) {
		printf(
		    "FAIL %s: the split differs from derived.er.der / derived.cms-without-er.der "
		    "(%zu/%zu and %zu/%zu bytes)\n",
		    v->f[0], er.len, want_er.len, cms.len, want_cms.len);
		goto out;
	}
	printf("ok   %s: split into the ER (%zu bytes, %s) and the CMS without it (%zu bytes), "
	       "as derived\n",
	       v->f[0], er.len, internal ? "er-internal" : "er-external", cms.len);
	if (data != NULL) {
		objs[n].name = v->f[4];
		objs[n].path = data;
		n++;
	}
	objs[n].name = "the CMS signature without its ER";
	objs[n].kind = ERS_OBJ_CMS;
	objs[n].data = (const unsigned char *)cms.data;
	objs[n].len = cms.len;
	n++;
	rc = v_judge(v, "(cms)", &er, objs, n);
out:
	buf_free(&sig);
	buf_free(&er);
	buf_free(&cms);
	buf_free(&want_er);
	buf_free(&want_cms);
	free(p7s);
	free(der_er);
	free(der_cms);
	free(data);
	return rc;
}

/* Run one manifest line. */
static int v_run(const struct vec *v)
{
	const char *m = v->f[2];

	if (strcmp(m, "bin") == 0 || strcmp(m, "er-only") == 0 || strcmp(m, "malformed") == 0)
		return v_bin(v);
	if (strcmp(m, "digests") == 0)
		return v_digests(v);
	if (strcmp(m, "xaip") == 0)
		return v_xaip(v);
	if (strcmp(m, "cms") == 0)
		return v_cms(v);
	printf("FAIL %s: unknown mode %s\n", v->f[0], m);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"dir", required_argument, NULL, 'd'},
					   {"anchors", no_argument, NULL, 'a'},
					   {"path-want", required_argument, NULL, 'p'},
					   {NULL, 0, NULL, 0}};
	const char *shared = getenv("MAILROOM_SHARED");
	char *manifest, *vdir_made = NULL, line[4096];
	int ch, i, fails = 0, runs = 0;
	FILE *f;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'd')
			vdir = optarg;
		else if (ch == 'a')
			with_anchors = 1;
		else if (ch == 'p')
			with_anchors = 1, path_want = optarg;
		else
			return 64;
	}
	if (vdir == NULL)
		vdir = vdir_made = xasprintf("%s/vectors/ers", shared ? shared : "../shared");
	manifest = xasprintf("%s/MANIFEST.tsv", vdir);
	if ((f = fopen(manifest, "r")) == NULL) {
		fprintf(stderr,
			"SKIP: %s is absent (the shared vectors are not beside this checkout)\n",
			manifest);
		free(manifest);
		free(vdir_made);
		return 77;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct vec v;

		v_split(line, &v);
		if (strcmp(v.f[0], "id") == 0 || v.f[0][0] == '\0')
			continue;
		if (optind < argc) {
			for (i = optind; i < argc && strcmp(argv[i], v.f[0]) != 0; i++)
				;
			if (i == argc)
				continue;
		}
		runs++;
		fails += v_run(&v);
	}
	fclose(f);
	free(manifest);
	if (runs == 0 || (optind < argc && runs != argc - optind)) {
		fprintf(stderr, "no such vector(s) in the manifest\n");
		return 1;
	}
	printf("%d vector(s), %d failed\n", runs, fails);
	return fails == 0 ? 0 : 1;
}
