/*
 * resign_run.c - hash trees, time-stamps and evidence records; see resign_run.h.
 */
#include "resign_run.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "buf.h"
#include "digest.h"
#include "ers.h"
#include "fileio.h"
#include "ident.h"
#include "job.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

#define RESIGN_BATCH 64	    /* records written between two database commits */
#define RESIGN_MAX_FILES 64 /* files in one letter's data group */
#define RESIGN_SIDECAR_MAX (64u << 10)
#define RESIGN_BLOCK 65536

/* ---- small helpers ---- */

/* The digest called name ("sha256"), or NULL. */
static const EVP_MD *resign_md(const char *name)
{
	return ers_md(ers_md_nid(name));
}

/* A letter's directory in the archive (caller frees). */
static char *resign_dir(const struct resign_ctx *c, const char *jid)
{
	return fio_join(c->set->archive_dir, jid);
}

static void resign_problem(struct resign_ctx *c, const char *jid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A letter that could not be handled: logged, counted, reported. */
static void resign_problem(struct resign_ctx *c, const char *jid, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", jid, msg);
	c->st.refused++;
	json_object_object_add(o, "job", json_object_new_string(jid));
	json_object_object_add(o, "problem", json_object_new_string(msg));
	json_object_array_add(c->problems, o);
}

/* The TSA client for imprints with nid, opened on first use; NULL (logged) on error. */
static tsa_client *resign_tsa(struct resign_ctx *c, int nid)
{
	struct tsa_conf tc;
	char err[512];
	int i;

	for (i = 0; i < 4 && c->tsa[i] != NULL; i++)
		if (c->tsa_nid[i] == nid)
			return c->tsa[i];
	if (i == 4)
		return NULL;
	memset(&tc, 0, sizeof(tc));
	tc.url = c->conf->tsa_url;
	tc.ca_path = c->conf->tsa_ca_path;
	tc.policy = c->conf->tsa_policy;
	tc.digest = ers_md_name(nid);
	tc.timeout_seconds = c->conf->tsa_timeout;
	tc.tls_ca_path = c->conf->tsa_tls_ca_path;
	tc.proxy = c->conf->tsa_proxy;
	if ((c->tsa[i] = tsa_open(&tc, err, sizeof(err))) == NULL) {
		log_errorx("%s (tsa: in conf/%s)", err, RESIGN_CONF_FILE);
		return NULL;
	}
	c->tsa_nid[i] = nid;
	return c->tsa[i];
}

void resign_ctx_close(struct resign_ctx *c)
{
	int i;

	for (i = 0; i < 4; i++)
		c->tsa[i] = tsa_close(c->tsa[i]);
}

/* Read a whole file (bounded) into b; -1 with errno. */
static int resign_read(const char *path, size_t max, buf *b)
{
	buf_init(b, max);
	return fio_read_file(path, max, b);
}

/* Write data to path atomically, removing a stale path.tmp from a crash first. */
static int resign_write(const char *path, const void *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp", path);
	int rc;

	if (unlink(tmp) == -1 && errno != ENOENT) {
		free(tmp);
		return -1;
	}
	free(tmp);
	rc = fio_write_atomic(path, data, len, 0600);
	return rc;
}

/* Hash a file with md into out; its length, 0 with errno on error. */
static size_t resign_hash_file(const char *path, const EVP_MD *md, unsigned char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *blk = xmalloc(RESIGN_BLOCK);
	unsigned int ol = 0;
	FILE *f = fopen(path, "rb");
	size_t r;
	int ok = f != NULL && ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL);

	while (ok && (r = fread(blk, 1, RESIGN_BLOCK, f)) > 0)
		ok = EVP_DigestUpdate(ctx, blk, r);
	if (ok && ferror(f)) {
		errno = EIO;
		ok = 0;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, &ol);
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(ctx);
	free(blk);
	return ok ? ol : 0;
}

/* ---- the sidecar ---- */

/* The sidecar of a letter: its covered files (newline-separated list). */
static char *resign_sidecar(const char *jid, const char *files)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	char *copy = xstrdup(files), *save = NULL, *t, *out;

	json_object_object_add(o, "format", json_object_new_string(RESIGN_SIDECAR_FORMAT));
	json_object_object_add(o, "job", json_object_new_string(jid));
	json_object_object_add(o, "record", json_object_new_string(RESIGN_ER_FILE));
	for (t = strtok_r(copy, "\n", &save); t != NULL; t = strtok_r(NULL, "\n", &save))
		json_object_array_add(a, json_object_new_string(t));
	json_object_object_add(o, "files", a);
	json_object_object_add(
	    o, "note",
	    json_object_new_string("evidence.ers (RFC 4998) covers these files of the letter as "
				   "one data group; job.json is not covered (it changes after "
				   "archiving). Check: mailroom verify <this directory>"));
	out = xasprintf("%s\n", json_object_to_json_string_ext(
				    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(copy);
	return out;
}

/* ---- candidates: what goes into a new run ---- */

struct cand {
	char job[IDENT_JOB_MAX];
	char *files;	    /* newline-separated */
	unsigned char *grp; /* sorted group values, ngrp * hlen */
	size_t ngrp;
	unsigned char leaf[ERS_MAX_HASH];
	long long prev_run;
	long leaf_idx;
};

struct cands {
	struct cand *v;
	size_t n, cap;
	size_t hlen;
};

static struct cand *cands_add(struct cands *cs, const char *jid)
{
	struct cand *x;

	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 64;
		cs->v = xrealloc(cs->v, cs->cap * sizeof(*cs->v));
	}
	x = &cs->v[cs->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->job, sizeof(x->job), "%s", jid);
	return x;
}

static void cands_free(struct cands *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++) {
		free(cs->v[i].files);
		free(cs->v[i].grp);
	}
	free(cs->v);
	memset(cs, 0, sizeof(*cs));
}

/* Sort order of candidates by leaf value (then job). */
static size_t cand_cmp_hlen;
static int cand_cmp_leaf(const void *a, const void *b)
{
	const struct cand *x = *(const struct cand *const *)a, *y = *(const struct cand *const *)b;
	int r = memcmp(x->leaf, y->leaf, cand_cmp_hlen);

	return r != 0 ? r : strcmp(x->job, y->job);
}

/*
 * Create a run of kind over the candidates: distinct leaves (in leaf order),
 * members, letters (new ones for initial runs) marked pending - one
 * transaction. The run id, or -1.
 */
static long long resign_create(struct resign_ctx *c, const char *kind, const char *digest,
			       struct cands *cs)
{
	struct cand **order = xcalloc(cs->n, sizeof(*order));
	long long run = -1;
	long nleaves = 0;
	size_t i;
	int initial = strcmp(kind, "initial") == 0;

	for (i = 0; i < cs->n; i++)
		order[i] = &cs->v[i];
	cand_cmp_hlen = cs->hlen;
	qsort(order, cs->n, sizeof(*order), cand_cmp_leaf);
	if (resign_db_begin(c->db) == -1)
		goto fail;
	if ((run = resign_db_run_new(c->db, kind, digest)) == -1)
		goto fail;
	for (i = 0; i < cs->n; i++) {
		struct cand *x = order[i];

		if (i == 0 || memcmp(x->leaf, order[i - 1]->leaf, cs->hlen) != 0) {
			if (resign_db_leaf_add(c->db, run, nleaves, x->leaf, cs->hlen) == -1)
				goto fail;
			nleaves++;
		}
		x->leaf_idx = nleaves - 1;
		if (resign_db_member_add(c->db, run, x->job, x->leaf_idx, x->grp,
					 x->ngrp * cs->hlen, x->prev_run) == -1)
			goto fail;
		if (initial) {
			char rel[IDENT_JOB_MAX + 16];

			snprintf(rel, sizeof(rel), "archive/%s", x->job);
			if (resign_db_letter_add(c->db, x->job, rel, x->files, digest, run) == -1)
				goto fail;
		} else if (resign_db_letter_pending(c->db, x->job, run) == -1) {
			goto fail;
		}
	}
	if (resign_db_commit(c->db) == -1)
		goto fail;
	free(order);
	log_info("run %lld (%s, %s): %zu letter(s), %ld leaves", run, kind, digest, cs->n, nleaves);
	return run;
fail:
	log_errorx("cannot record the %s run in %s: %s", kind, RESIGN_DB_FILE,
		   resign_db_error(c->db));
	resign_db_rollback(c->db);
	free(order);
	return -1;
}

/* ---- finishing a run: stamp, write, record ---- */

/* One member in memory while its record is written. */
struct mem {
	char *job;
	long leaf;
	unsigned char *grp;
	size_t grplen;
	long long prev_run;
	int done;
};

struct mems {
	struct mem *v;
	size_t n, cap;
};

static int mems_cb(const struct resign_member *m, void *arg)
{
	struct mems *ms = arg;
	struct mem *x;

	if (ms->n == ms->cap) {
		ms->cap = ms->cap ? ms->cap * 2 : 64;
		ms->v = xrealloc(ms->v, ms->cap * sizeof(*ms->v));
	}
	x = &ms->v[ms->n++];
	x->job = xstrdup(m->job);
	x->leaf = m->leaf;
	x->grplen = m->grp != NULL ? m->grplen : 0;
	x->grp = NULL;
	if (x->grplen > 0) {
		x->grp = xmalloc(x->grplen);
		memcpy(x->grp, m->grp, x->grplen);
	}
	x->prev_run = m->prev_run;
	x->done = m->done;
	return 0;
}

static void mems_free(struct mems *ms)
{
	size_t i;

	for (i = 0; i < ms->n; i++) {
		free(ms->v[i].job);
		free(ms->v[i].grp);
	}
	free(ms->v);
	memset(ms, 0, sizeof(*ms));
}

/* Tokens of earlier runs (the ones a timestamp run renews), by run id. */
struct prevtok {
	long long run;
	struct resign_run r;
};

struct runctx {
	struct resign_ctx *c;
	struct resign_run run;
	const EVP_MD *md;
	size_t hlen;
	ers_tree *tree;
	struct prevtok *prev;
	size_t nprev;
	const char *action;
	long written, already, refused;
};

/* The stored run prev (loaded once). NULL if it has no token. */
static const struct resign_run *runctx_prev(struct runctx *rc, long long id)
{
	size_t i;

	for (i = 0; i < rc->nprev; i++)
		if (rc->prev[i].run == id)
			return rc->prev[i].r.token ? &rc->prev[i].r : NULL;
	rc->prev = xrealloc(rc->prev, (rc->nprev + 1) * sizeof(*rc->prev));
	rc->prev[rc->nprev].run = id;
	if (resign_db_run_get(rc->c->db, id, &rc->prev[rc->nprev].r) != 1)
		memset(&rc->prev[rc->nprev].r, 0, sizeof(rc->prev[rc->nprev].r));
	return rc->prev[rc->nprev++].r.token ? &rc->prev[rc->nprev - 1].r : NULL;
}

/* Stamp an open run: the root input to the TSA, the token stored. */
static int resign_stamp(struct runctx *rc, const struct mems *ms)
{
	struct resign_ctx *c = rc->c;
	struct ers_token_info ti;
	unsigned char *tok = NULL;
	size_t toklen = 0;
	tsa_client *t;
	char err[1024];
	long long id;
	buf in;
	int r;

	buf_init(&in, ERS_MAX_DER);
	if (ers_tree_leaves(rc->tree) > 1) {
		if (ers_tree_root_input(rc->tree, &in) != ERS_OK)
			goto fail_mem;
	} else if (strcmp(rc->run.kind, "timestamp") == 0) {
		const struct resign_run *p = runctx_prev(rc, ms->v[0].prev_run);

		if (p == NULL) {
			log_errorx(
			    "run %lld: the time-stamp of run %lld that it renews is not in %s",
			    rc->run.id, ms->v[0].prev_run, RESIGN_DB_FILE);
			buf_free(&in);
			return RESIGN_FAIL;
		}
		if (buf_add(&in, p->token, p->token_len) == -1)
			goto fail_mem;
	} else if (buf_add(&in, ms->v[0].grp, ms->v[0].grplen) == -1) {
		goto fail_mem;
	}
	if ((t = resign_tsa(c, EVP_MD_get_type(rc->md))) == NULL) {
		buf_free(&in);
		return RESIGN_FAIL;
	}
	c->st.tsa_calls++;
	r = tsa_stamp(t, (const unsigned char *)in.data, in.len, &tok, &toklen, err, sizeof(err));
	buf_free(&in);
	if (r != TSA_OK) {
		log_errorx("run %lld: %s", rc->run.id, err);
		return r == TSA_LATER ? RESIGN_LATER : RESIGN_FAIL;
	}
	if (ers_token_describe(tok, toklen, &ti, err, sizeof(err)) != ERS_OK ||
	    ti.imprint_len != rc->hlen ||
	    memcmp(ti.imprint, ers_tree_root(rc->tree), rc->hlen) != 0) {
		log_errorx("run %lld: the TSA's token does not time-stamp the root of the tree",
			   rc->run.id);
		free(tok);
		return RESIGN_FAIL;
	}
	if (resign_db_run_stamped(c->db, rc->run.id, ers_tree_root(rc->tree), rc->hlen, tok, toklen,
				  ti.gen_time, ti.tsa, ti.tsa_not_after, ti.key_type, ti.key_bits,
				  ers_md_name(ti.sig_digest_nid)) == -1) {
		log_errorx("run %lld: cannot store the time-stamp in %s: %s", rc->run.id,
			   RESIGN_DB_FILE, resign_db_error(c->db));
		free(tok);
		return RESIGN_FAIL;
	}
	free(tok);
	id = rc->run.id;
	resign_run_clear(&rc->run);
	if (resign_db_run_get(c->db, id, &rc->run) != 1)
		return RESIGN_FAIL;
	return RESIGN_OK;
fail_mem:
	buf_free(&in);
	log_errorx("run %lld: cannot build the root input", rc->run.id);
	return RESIGN_FAIL;
}

/* 1 if the token bytes of an ATS are the run's token. */
static int resign_is_token(const struct ers_ats *a, const struct resign_run *r)
{
	return a->ts_len == r->token_len && memcmp(a->ts, r->token, a->ts_len) == 0;
}

/*
 * Build and write one member's record. 0 written, 1 already there, -1 refused
 * (reported; the run goes on), -2 I/O failure (the run stops; a restart goes on).
 * chains/ats: the record's counts afterwards.
 */
static int resign_member(struct runctx *rc, const struct mem *m, long *chains, long *ats)
{
	struct resign_ctx *c = rc->c;
	const char *kind = rc->run.kind;
	char *dir = resign_dir(c, m->job), *erp = fio_join(dir, RESIGN_ER_FILE), *scp = NULL,
	     *side = NULL, err[300];
	const unsigned char *vals[ERS_TREE_PATH_MAX];
	size_t counts[ERS_MAX_LISTS], nlists = 0;
	ers_record *old = NULL, *nw = NULL;
	struct resign_letter l;
	buf cur, ats_b, out, sc;
	int rc_ = -1, initial = strcmp(kind, "initial") == 0, tsr = strcmp(kind, "timestamp") == 0;

	buf_init(&cur, ERS_MAX_DER);
	buf_init(&ats_b, ERS_MAX_DER);
	buf_init(&out, ERS_MAX_DER);
	buf_init(&sc, RESIGN_SIDECAR_MAX);
	/* what is there now */
	if (resign_read(erp, ERS_MAX_DER, &cur) == -1) {
		if (errno != ENOENT || !initial) {
			resign_problem(c, m->job, "cannot read %s: %s", erp, strerror(errno));
			goto out;
		}
	} else if (ers_parse((const unsigned char *)cur.data, cur.len, &old, err, sizeof(err)) !=
		   ERS_OK) {
		resign_problem(c, m->job, "%s is not an evidence record (%s): left alone", erp,
			       err);
		goto out;
	}
	if (old != NULL) {
		const struct ers_ats *last = ers_last_ats(old);

		if ((initial && resign_is_token(&old->chains[0].ats[0], &rc->run)) ||
		    (!initial && resign_is_token(tsr ? last : &old->chains[old->nchains - 1].ats[0],
						 &rc->run))) {
			*chains = (long)old->nchains;
			*ats = (long)old->chains[old->nchains - 1].n;
			rc_ = 1; /* written before a crash */
			goto out;
		}
		if (initial) {
			resign_problem(
			    c, m->job,
			    "%s exists and was not made by this run: left alone (remove it "
			    "if it is not needed, then run again)",
			    erp);
			goto out;
		}
		if (tsr) {
			const struct resign_run *p = runctx_prev(rc, m->prev_run);

			if (p == NULL || !resign_is_token(last, p)) {
				resign_problem(
				    c, m->job,
				    "%s: its last time-stamp is not the one of run %lld "
				    "that this renewal extends (changed by someone else?)",
				    erp, m->prev_run);
				goto out;
			}
		}
	}
	/* the new archive time-stamp */
	if (ers_tree_leaves(rc->tree) > 1 &&
	    ers_tree_path(rc->tree, (size_t)m->leaf, !tsr, vals, counts, &nlists) != ERS_OK) {
		resign_problem(c, m->job, "leaf %ld is not in the tree of run %lld", m->leaf,
			       rc->run.id);
		goto out;
	}
	if (ers_ats_encode(&ats_b, rc->md, 0, tsr ? NULL : m->grp, tsr ? 0 : m->grplen / rc->hlen,
			   vals, counts, nlists, rc->run.token, rc->run.token_len) != ERS_OK ||
	    (initial && ers_record_encode(&out, rc->md, (const unsigned char *)ats_b.data,
					  ats_b.len) != ERS_OK) ||
	    (tsr &&
	     ers_append_ats(old, (const unsigned char *)ats_b.data, ats_b.len, &out) != ERS_OK) ||
	    (!initial && !tsr &&
	     ers_append_chain(old, rc->md, (const unsigned char *)ats_b.data, ats_b.len, &out) !=
		 ERS_OK) ||
	    ers_parse((const unsigned char *)out.data, out.len, &nw, err, sizeof(err)) != ERS_OK) {
		resign_problem(c, m->job, "cannot build the evidence record");
		goto out;
	}
	if (initial) {
		if (resign_db_letter_get(c->db, m->job, &l) != 1) {
			resign_problem(c, m->job, "not in %s", RESIGN_DB_FILE);
			goto out;
		}
		side = resign_sidecar(m->job, l.files);
		scp = fio_join(dir, RESIGN_SIDECAR_FILE);
		if ((resign_read(scp, RESIGN_SIDECAR_MAX, &sc) == -1 || sc.len != strlen(side) ||
		     memcmp(sc.data, side, sc.len) != 0) &&
		    resign_write(scp, side, strlen(side)) == -1) {
			log_error("%s: cannot write %s", m->job, scp);
			rc_ = -2;
			goto out;
		}
	}
	if (resign_write(erp, out.data, out.len) == -1) {
		log_error("%s: cannot write %s", m->job, erp);
		rc_ = -2;
		goto out;
	}
	*chains = (long)nw->nchains;
	*ats = (long)nw->chains[nw->nchains - 1].n;
	rc_ = 0;
out:
	ers_record_free(old);
	ers_record_free(nw);
	buf_free(&cur);
	buf_free(&ats_b);
	buf_free(&out);
	buf_free(&sc);
	free(side);
	free(scp);
	free(erp);
	free(dir);
	return rc_;
}

/* Journal: has job an event of this run already? */
struct jfind {
	const char *prefix;
	int found;
};

static int jfind_cb(const struct journal_entry *e, void *arg)
{
	struct jfind *f = arg;

	if (e->stage != NULL && strcmp(e->stage, "resign") == 0 && e->detail != NULL &&
	    strncmp(e->detail, f->prefix, strlen(f->prefix)) == 0)
		f->found = 1;
	return f->found;
}

/* The journal event of one member; 0 or -1. check: look for it first. */
static int resign_journal(struct runctx *rc, const char *jid, long chains, long ats, int check)
{
	struct resign_ctx *c = rc->c;
	struct journal_event ev;
	char prefix[48], detail[512], when[TIMEFMT_ISO_MAX];
	struct jfind f;

	snprintf(prefix, sizeof(prefix), "run %lld:", rc->run.id);
	if (check) {
		f.prefix = prefix;
		f.found = 0;
		if (journal_events(c->jr, jid, jfind_cb, &f) == -1)
			return -1;
		if (f.found)
			return 0;
	}
	snprintf(detail, sizeof(detail),
		 "%s %s, chain %ld time-stamp %ld, %s, TSA time %s, %ld letter(s) in the tree",
		 prefix, RESIGN_ER_FILE, chains - 1, ats - 1, rc->run.digest,
		 timefmt_iso(rc->run.gen_time, when), rc->run.members);
	memset(&ev, 0, sizeof(ev));
	ev.job = jid;
	ev.stage = "resign";
	ev.action = rc->action;
	ev.outcome = "ok";
	ev.detail = detail;
	return journal_record(c->jr, &ev);
}

/* Write, record and journal the members ms->v[from..to). */
static int resign_batch(struct runctx *rc, struct mems *ms, size_t from, size_t to)
{
	struct resign_ctx *c = rc->c;
	long *ch = xcalloc(to - from, sizeof(long)), *at = xcalloc(to - from, sizeof(long));
	int *res = xcalloc(to - from, sizeof(int));
	size_t i;
	int rc_ = RESIGN_OK, r;

	for (i = from; i < to; i++) {
		struct mem *m = &ms->v[i];

		res[i - from] = 3; /* nothing to do */
		if (m->done >= 1)
			continue;
		r = resign_member(rc, m, &ch[i - from], &at[i - from]);
		if (r == -2) {
			rc_ = RESIGN_FAIL;
			to = i; /* record what was written so far, then stop */
			break;
		}
		res[i - from] = r;
	}
	if (resign_db_begin(c->db) == -1)
		goto dbfail;
	for (i = from; i < to; i++) {
		struct mem *m = &ms->v[i];
		const char *dg = rc->run.digest;

		if (res[i - from] == 3)
			continue;
		if (res[i - from] == -1) { /* refused: reported, leave the letter as it was */
			if (resign_db_member_done(c->db, rc->run.id, m->job, 3) == -1 ||
			    resign_db_letter_pending(c->db, m->job, 0) == -1)
				goto dbfail;
			m->done = 3;
			rc->refused++;
			continue;
		}
		if (resign_db_member_done(c->db, rc->run.id, m->job, 1) == -1 ||
		    resign_db_letter_written(c->db, m->job, dg, ch[i - from], at[i - from],
					     rc->run.id) == -1)
			goto dbfail;
		m->done = 1;
		if (res[i - from] == 1)
			rc->already++;
		else
			rc->written++;
	}
	if (resign_db_commit(c->db) == -1)
		goto dbfail;
	/* the journal: done 1 -> 2; a member that was 1 before this start may have it */
	for (i = from; i < to; i++) {
		struct mem *m = &ms->v[i];
		struct resign_letter l;
		long chains = ch[i - from], ats = at[i - from];

		if (m->done != 1)
			continue;
		if (res[i - from] == 3) { /* written before a crash: counts from the database */
			if (resign_db_letter_get(c->db, m->job, &l) != 1)
				goto dbfail;
			chains = l.chains;
			ats = l.ats;
		}
		if (resign_journal(rc, m->job, chains, ats, res[i - from] == 3) == -1) {
			log_errorx("%s: cannot record the evidence record in the journal", m->job);
			rc_ = RESIGN_FAIL;
			break;
		}
		if (resign_db_member_done(c->db, rc->run.id, m->job, 2) == -1)
			goto dbfail;
		m->done = 2;
		c->st.journaled++;
	}
	free(ch);
	free(at);
	free(res);
	return rc_;
dbfail:
	log_errorx("run %lld: %s: %s", rc->run.id, RESIGN_DB_FILE, resign_db_error(c->db));
	resign_db_rollback(c->db);
	free(ch);
	free(at);
	free(res);
	return RESIGN_FAIL;
}

/* Finish run id: stamp it if open, write every record, mark it done. */
static int resign_finish(struct resign_ctx *c, long long id)
{
	struct runctx rc;
	struct mems ms;
	unsigned char *leaves = NULL;
	size_t nleaves = 0, i;
	char err[256], when[TIMEFMT_ISO_MAX];
	int r = RESIGN_OK;
	json_object *o;

	memset(&rc, 0, sizeof(rc));
	memset(&ms, 0, sizeof(ms));
	rc.c = c;
	if (resign_db_run_get(c->db, id, &rc.run) != 1 ||
	    (rc.md = resign_md(rc.run.digest)) == NULL) {
		log_errorx("run %lld: not in %s, or unknown hash", id, RESIGN_DB_FILE);
		return RESIGN_FAIL;
	}
	rc.hlen = (size_t)EVP_MD_get_size(rc.md);
	rc.action = strcmp(rc.run.kind, "initial") == 0	    ? "evidence"
		    : strcmp(rc.run.kind, "timestamp") == 0 ? "evidence-renewed"
							    : "evidence-rehashed";
	if (resign_db_members(c->db, id, mems_cb, &ms) == -1 ||
	    resign_db_leaves(c->db, id, rc.hlen, &leaves, &nleaves) == -1 || ms.n == 0 ||
	    nleaves == 0) {
		log_errorx("run %lld: members or leaves unreadable in %s", id, RESIGN_DB_FILE);
		r = RESIGN_FAIL;
		goto out;
	}
	if ((rc.tree = ers_tree_new(rc.md, leaves, nleaves, err, sizeof(err))) == NULL) {
		log_errorx("run %lld: %s", id, err);
		r = RESIGN_FAIL;
		goto out;
	}
	if (strcmp(rc.run.state, "open") == 0 && (r = resign_stamp(&rc, &ms)) != RESIGN_OK)
		goto out;
	for (i = 0; i < ms.n && r == RESIGN_OK; i += RESIGN_BATCH)
		r = resign_batch(&rc, &ms, i, i + RESIGN_BATCH < ms.n ? i + RESIGN_BATCH : ms.n);
	if (r != RESIGN_OK)
		goto out;
	if (resign_db_run_done(c->db, id) == -1) {
		r = RESIGN_FAIL;
		goto out;
	}
	c->st.runs++;
	if (c->nfinished < 64)
		c->finished[c->nfinished++] = id;
	c->st.written += rc.written;
	c->st.already += rc.already;
	if (strcmp(rc.run.kind, "initial") == 0)
		c->st.initial += rc.written + rc.already;
	else if (strcmp(rc.run.kind, "timestamp") == 0)
		c->st.timestamp += rc.written + rc.already;
	else
		c->st.hashtree += rc.written + rc.already;
	o = json_object_new_object();
	json_object_object_add(o, "run", json_object_new_int64(id));
	json_object_object_add(o, "kind", json_object_new_string(rc.run.kind));
	json_object_object_add(o, "digest", json_object_new_string(rc.run.digest));
	json_object_object_add(o, "letters", json_object_new_int64((int64_t)ms.n));
	json_object_object_add(o, "leaves", json_object_new_int64((int64_t)nleaves));
	json_object_object_add(o, "written", json_object_new_int64(rc.written));
	json_object_object_add(o, "already_written", json_object_new_int64(rc.already));
	json_object_object_add(o, "refused", json_object_new_int64(rc.refused));
	json_object_object_add(o, "tsa_time",
			       json_object_new_string(timefmt_iso(rc.run.gen_time, when)));
	json_object_object_add(o, "tsa", json_object_new_string(rc.run.tsa));
	json_object_array_add(c->runs, o);
	log_info("run %lld (%s, %s) done: %ld record(s) written, %ld already there, %ld refused, "
		 "TSA time %s",
		 id, rc.run.kind, rc.run.digest, rc.written, rc.already, rc.refused, when);
	if (rc.refused > 0)
		r = RESIGN_REFUSED;
out:
	ers_tree_free(rc.tree);
	free(leaves);
	mems_free(&ms);
	for (i = 0; i < rc.nprev; i++)
		resign_run_clear(&rc.prev[i].r);
	free(rc.prev);
	resign_run_clear(&rc.run);
	return r;
}

int resign_resume(struct resign_ctx *c)
{
	long long ids[64];
	int n, i, r, worst = RESIGN_OK;

	if ((n = resign_db_unfinished(c->db, ids, 64)) == -1) {
		log_errorx("%s: %s", RESIGN_DB_FILE, resign_db_error(c->db));
		return RESIGN_FAIL;
	}
	for (i = 0; i < n; i++) {
		log_info("run %lld was not finished: finishing it", ids[i]);
		if ((r = resign_finish(c, ids[i])) > worst)
			worst = r;
		if (r >= RESIGN_LATER)
			return worst; /* later runs wait behind it */
	}
	return worst;
}

/* ---- initial runs ---- */

static int resign_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A sealed archived letter as a candidate: job_read checks the record and every
 * payload digest; the group is the hash of every payload file. 1 added, 0 not
 * sealed, -1 refused (reported).
 */
static int resign_candidate(struct resign_ctx *c, const char *id, struct cands *cs, int nid)
{
	const EVP_MD *md = ers_md(nid);
	char *dir = resign_dir(c, id), err[512], *names[RESIGN_MAX_FILES];
	json_object *files;
	struct cand *x;
	size_t n = 0, i;
	buf list;
	job *j;
	int rc = -1;

	if ((j = job_read(dir, id, err, sizeof(err))) == NULL) {
		resign_problem(c, id,
			       "archive/%s: the record does not check out (%s): not "
			       "time-stamped; see mailroom verify",
			       id, err);
		free(dir);
		return -1;
	}
	if (job_get_str(j, "signing.level") == NULL) {
		job_free(j);
		free(dir);
		return 0;
	}
	if (!json_object_object_get_ex(job_meta(j), "files", &files) ||
	    !json_object_is_type(files, json_type_object)) {
		resign_problem(c, id, "job.json lists no files");
		goto out;
	}
	json_object_object_foreach(files, key, val)
	{
		(void)val;
		if (n == RESIGN_MAX_FILES || !job_file_name_valid(key) ||
		    strcmp(key, RESIGN_ER_FILE) == 0 || strcmp(key, RESIGN_SIDECAR_FILE) == 0)
			continue;
		names[n++] = key;
	}
	if (n == 0) {
		resign_problem(c, id, "job.json lists no files");
		goto out;
	}
	qsort(names, n, sizeof(*names), resign_strcmp);
	x = cands_add(cs, id);
	x->grp = xmalloc(n * cs->hlen);
	x->ngrp = n;
	buf_init(&list, 1u << 16);
	for (i = 0; i < n; i++) {
		const char *hex = job_file_sha256(j, names[i]);
		unsigned char *v = x->grp + i * cs->hlen;

		buf_printf(&list, "%s%s", i ? "\n" : "", names[i]);
		if (nid == NID_sha256 && hex != NULL && strlen(hex) == 64) {
			size_t k; /* job_read has just checked the file against it */

			for (k = 0; k < 32; k++)
				sscanf(hex + 2 * k, "%2hhx", &v[k]);
		} else {
			char *p = fio_join(dir, names[i]);

			if (resign_hash_file(p, md, v) != cs->hlen) {
				resign_problem(c, id, "cannot read %s: %s", p, strerror(errno));
				free(p);
				buf_free(&list);
				cs->n--;
				free(x->grp);
				goto out;
			}
			free(p);
		}
	}
	x->files = buf_detach(&list);
	ers_hash_sorted(md, x->grp, n, cs->hlen, x->leaf);
	rc = 1;
out:
	job_free(j);
	free(dir);
	return rc;
}

/* Job ids in the archive, sorted (caller frees). */
static char **resign_archive(struct resign_ctx *c, size_t *n)
{
	DIR *d = opendir(c->set->archive_dir);
	struct dirent *de;
	struct stat st;
	char **v = NULL, *p;
	size_t cap = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (!ident_job_valid(de->d_name))
			continue;
		p = fio_join(c->set->archive_dir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[(*n)++] = xstrdup(de->d_name);
		}
		free(p);
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), resign_strcmp);
	return v;
}

/* The candidates of an initial run (letters without a record). */
static int resign_initial_cands(struct resign_ctx *c, struct cands *cs)
{
	size_t n, i;
	char **ids = resign_archive(c, &n);
	int known = 0;

	cs->hlen = (size_t)EVP_MD_get_size(ers_md(c->conf->digest_nid));
	for (i = 0; i < n; i++) {
		if ((long)cs->n >= c->conf->max_letters) {
			free(ids[i]);
			continue;
		}
		if ((known = resign_db_letter_known(c->db, ids[i])) == 0)
			resign_candidate(c, ids[i], cs, c->conf->digest_nid);
		else if (known == -1)
			log_errorx("%s: %s", RESIGN_DB_FILE, resign_db_error(c->db));
		free(ids[i]);
	}
	free(ids);
	return 0;
}

int resign_initial(struct resign_ctx *c)
{
	struct cands cs;
	long long run;
	int r;
	long refused = c->st.refused;

	memset(&cs, 0, sizeof(cs));
	resign_initial_cands(c, &cs);
	if (cs.n == 0) {
		cands_free(&cs);
		log_info("no new sealed letters in %s", c->set->archive_dir);
		return c->st.refused > refused ? RESIGN_REFUSED : RESIGN_OK;
	}
	run = resign_create(c, "initial", ers_md_name(c->conf->digest_nid), &cs);
	cands_free(&cs);
	if (run == -1)
		return RESIGN_FAIL;
	r = resign_finish(c, run);
	if (r == RESIGN_OK && c->st.refused > refused)
		r = RESIGN_REFUSED;
	return r;
}

/* ---- the renewal policy ---- */

/* When a letter's chain is due: hash-tree and timestamp renewal, with reasons. */
struct due {
	time_t hash_due, ts_due;
	char hash_why[256], ts_why[512];
};

/* Due dates of a chain with hash digest whose last time-stamp is run r. */
static void resign_due(const struct resign_ctx *c, const char *digest, const struct resign_run *r,
		       struct due *d)
{
	const struct resign_conf *p = c->conf;
	time_t hu = resign_hash_until(p, ers_md_nid(digest)), su, cert;
	char why[200], a[TIMEFMT_ISO_MAX];

	memset(d, 0, sizeof(*d));
	d->hash_due = hu ? resign_months_before(hu, p->alg_horizon_months) : 0;
	if (hu)
		snprintf(d->hash_why, sizeof(d->hash_why),
			 "hash %s suitable until %.10s (policy), horizon %ld months", digest,
			 timefmt_iso(hu, a), p->alg_horizon_months);
	else
		snprintf(d->hash_why, sizeof(d->hash_why), "hash %s is not in the policy", digest);
	cert = r->tsa_not_after ? resign_months_before(r->tsa_not_after, p->tsa_horizon_months) : 0;
	su = resign_sig_until(p, r->key_type, r->key_bits, ers_md_nid(r->sig_digest), why,
			      sizeof(why));
	su = su ? resign_months_before(su, p->alg_horizon_months) : 0;
	if (cert <= su) {
		d->ts_due = cert;
		if (r->tsa_not_after)
			snprintf(d->ts_why, sizeof(d->ts_why),
				 "TSA certificate %s expires %s, horizon %ld months", r->tsa,
				 timefmt_iso(r->tsa_not_after, a), p->tsa_horizon_months);
		else
			snprintf(d->ts_why, sizeof(d->ts_why),
				 "the time-stamp carries no TSA certificate");
	} else {
		d->ts_due = su;
		if (su)
			snprintf(
			    d->ts_why, sizeof(d->ts_why),
			    "%s of the time-stamp (%s-%d, %s) suitable per policy until %.10s, "
			    "horizon %ld months",
			    why, r->key_type, r->key_bits, r->sig_digest,
			    timefmt_iso(resign_sig_until(p, r->key_type, r->key_bits,
							 ers_md_nid(r->sig_digest), why,
							 sizeof(why)),
					a),
			    p->alg_horizon_months);
		else
			snprintf(d->ts_why, sizeof(d->ts_why), "%s", why);
	}
}

/* All stamped runs, sorted by id, for the due computation. */
struct runlist {
	struct resign_run *v;
	size_t n, cap;
};

static int runlist_cb(const struct resign_run *r, void *arg)
{
	struct runlist *l = arg;
	struct resign_run *x;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	x = &l->v[l->n++];
	*x = *r;
	x->token = NULL; /* not needed here (and r's is freed by the caller) */
	x->token_len = 0;
	return 0;
}

static const struct resign_run *runlist_find(const struct runlist *l, long long id)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (l->v[mid].id == id)
			return &l->v[mid];
		if (l->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* One letter's renewal state, collected by resign_scan. */
struct scan {
	struct resign_ctx *c;
	struct runlist runs;
	const struct resign_run *newest;
	struct cands hash_c;  /* due for hash-tree renewal */
	struct cands ts_c[3]; /* due for timestamp renewal, per chain hash */
	int ts_nid[3];
	long letters, hash_due, ts_due, ts_skipped, hash_blocked;
	time_t next; /* the earliest due date in the future */
	char next_why[600];
	long next_count;
	char ts_skip_why[600];
	int collect; /* 1: build the candidate lists */
};

/* 1 if r and s come from the same TSA certificate. */
static int resign_same_tsa(const struct resign_run *r, const struct resign_run *s)
{
	return strcmp(r->tsa, s->tsa) == 0 && r->tsa_not_after == s->tsa_not_after &&
	       strcmp(r->key_type, s->key_type) == 0 && r->key_bits == s->key_bits;
}

/* Note a future due date for the "next renewal" line. */
static void scan_next(struct scan *s, time_t at, const char *kind, const char *why)
{
	if (at <= s->c->now)
		return;
	if (s->next == 0 || at < s->next) {
		s->next = at;
		s->next_count = 1;
		snprintf(s->next_why, sizeof(s->next_why), "%s renewal: %s", kind, why);
	} else if (at == s->next) {
		s->next_count++;
	}
}

static int scan_cb(const struct resign_letter *l, void *arg)
{
	struct scan *s = arg;
	struct resign_ctx *c = s->c;
	const struct resign_run *r = runlist_find(&s->runs, l->last_run);
	time_t renew_due;
	struct due d;
	int i, nid;

	s->letters++;
	if (r == NULL)
		return 0;
	for (i = 0; s->collect && i < c->nfinished; i++)
		if (c->finished[i] == l->last_run)
			return 0; /* stamped or renewed just now (a resumed run): the next run
				     decides */
	resign_due(c, l->digest, r, &d);
	renew_due = resign_months_before(resign_hash_until(c->conf, c->conf->renewal_nid),
					 c->conf->alg_horizon_months);
	if (d.hash_due <= c->now) {
		if (renew_due <= c->now) {
			s->hash_blocked++; /* the policy leaves nothing to renew to */
			return 0;
		}
		s->hash_due++;
		if (s->collect) {
			struct cand *x = cands_add(&s->hash_c, l->job);

			x->files = xstrdup(l->files);
		}
		return 0;
	}
	scan_next(s, d.hash_due, "hash-tree", d.hash_why);
	if (d.ts_due <= c->now) {
		struct due nd;

		/*
		 * A renewal by a TSA whose newest token is itself due does not help. The
		 * TSA's current certificate is known only from its newest token, so the
		 * first renewal of a chain is tried; a chain whose last time-stamp is
		 * already such a renewal waits until a newer token (the next initial
		 * run) shows a newer certificate or algorithm.
		 * XXX a quiet archive (no new letters) waits until someone stamps one.
		 */
		if (s->newest != NULL && strcmp(r->kind, "timestamp") == 0 &&
		    resign_same_tsa(r, s->newest)) {
			resign_due(c, l->digest, s->newest, &nd);
			if (nd.ts_due <= c->now) {
				s->ts_skipped++;
				snprintf(
				    s->ts_skip_why, sizeof(s->ts_skip_why),
				    "due (%.300s), but the TSA's newest time-stamp is itself due: "
				    "renewing with the same TSA certificate does not help; "
				    "give the TSA a newer certificate or algorithm (the renewal "
				    "follows once a time-stamp from it is seen)",
				    d.ts_why);
				return 0;
			}
		}
		s->ts_due++;
		if (s->collect) {
			nid = ers_md_nid(l->digest);
			for (i = 0; i < 3 && s->ts_nid[i] != 0 && s->ts_nid[i] != nid; i++)
				;
			if (i < 3) {
				struct cand *x;

				s->ts_nid[i] = nid;
				x = cands_add(&s->ts_c[i], l->job);
				x->prev_run = l->last_run;
			}
		}
		return 0;
	}
	scan_next(s, d.ts_due, "timestamp", d.ts_why);
	return 0;
}

static void scan_free(struct scan *s)
{
	int i;

	free(s->runs.v);
	cands_free(&s->hash_c);
	for (i = 0; i < 3; i++)
		cands_free(&s->ts_c[i]);
}

/* Collect the renewal state of every letter with a record. */
static int resign_scan(struct resign_ctx *c, struct scan *s, int collect)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->c = c;
	s->collect = collect;
	if (resign_db_runs(c->db, runlist_cb, &s->runs) == -1)
		return -1;
	for (i = 0; i < s->runs.n; i++)
		if (s->newest == NULL || s->runs.v[i].gen_time >= s->newest->gen_time)
			s->newest = &s->runs.v[i];
	return resign_db_letters(c->db, scan_cb, s) == -1 ? -1 : 0;
}

/* The hash-tree renewal group of one letter: H'(H'(d) || ha) per covered file. */
static int resign_rehash_cand(struct resign_ctx *c, struct cand *x, const EVP_MD *md, size_t hl)
{
	char *dir = resign_dir(c, x->job), *erp = fio_join(dir, RESIGN_ER_FILE), err[256];
	char *copy = xstrdup(x->files), *save = NULL, *t;
	unsigned char ha[ERS_MAX_HASH], h[ERS_MAX_HASH];
	ers_record *er = NULL;
	size_t n = 0, hal;
	buf b;
	int rc = -1;

	for (t = copy; *t; t++)
		n += *t == '\n';
	n++;
	x->grp = xmalloc(n * hl);
	x->ngrp = 0;
	if (resign_read(erp, ERS_MAX_DER, &b) == -1 ||
	    ers_parse((const unsigned char *)b.data, b.len, &er, err, sizeof(err)) != ERS_OK) {
		resign_problem(c, x->job,
			       "cannot read its evidence record %s for the hash-tree "
			       "renewal: %s",
			       erp, errno ? strerror(errno) : err);
		goto out;
	}
	hal = ers_sequence_hash(er, er->nchains, md, ha);
	for (t = strtok_r(copy, "\n", &save); t != NULL; t = strtok_r(NULL, "\n", &save)) {
		char *p = fio_join(dir, t);
		EVP_MD_CTX *mc;
		unsigned int ol;
		int ok;

		if (resign_hash_file(p, md, h) != hl) {
			resign_problem(c, x->job, "cannot read %s for the hash-tree renewal: %s", p,
				       strerror(errno));
			free(p);
			goto out;
		}
		free(p);
		mc = EVP_MD_CTX_new();
		ok = mc != NULL && EVP_DigestInit_ex(mc, md, NULL) && EVP_DigestUpdate(mc, h, hl) &&
		     EVP_DigestUpdate(mc, ha, hal) &&
		     EVP_DigestFinal_ex(mc, x->grp + x->ngrp * hl, &ol);
		EVP_MD_CTX_free(mc);
		if (!ok)
			goto out;
		x->ngrp++;
	}
	ers_hash_sorted(md, x->grp, x->ngrp, hl, x->leaf);
	rc = 0;
out:
	ers_record_free(er);
	buf_free(&b);
	free(copy);
	free(erp);
	free(dir);
	return rc;
}

int resign_renew(struct resign_ctx *c)
{
	struct scan s;
	struct cands ok;
	long long run;
	size_t i;
	int k, r, worst = RESIGN_OK;

	if (resign_scan(c, &s, 1) == -1) {
		log_errorx("%s: %s", RESIGN_DB_FILE, resign_db_error(c->db));
		scan_free(&s);
		return RESIGN_FAIL;
	}
	if (s.hash_blocked > 0) {
		log_errorx(
		    "%ld letter(s) due for hash-tree renewal, but renewal_digest %s is itself "
		    "within the horizon of its end in the policy: update algorithms.hash or "
		    "renewal_digest in conf/%s",
		    s.hash_blocked, ers_md_name(c->conf->renewal_nid), RESIGN_CONF_FILE);
		worst = RESIGN_REFUSED;
	}
	if (s.ts_skipped > 0) {
		log_warnx("%ld letter(s): %s", s.ts_skipped, s.ts_skip_why);
		worst = RESIGN_REFUSED;
	}
	/* hash-tree renewal: every document read again */
	if (s.hash_c.n > 0) {
		const EVP_MD *md = ers_md(c->conf->renewal_nid);
		size_t hl = (size_t)EVP_MD_get_size(md);

		memset(&ok, 0, sizeof(ok));
		ok.hlen = hl;
		for (i = 0; i < s.hash_c.n; i++) {
			struct cand *x = cands_add(&ok, s.hash_c.v[i].job);

			x->files = xstrdup(s.hash_c.v[i].files);
			if (resign_rehash_cand(c, x, md, hl) == -1) {
				free(x->files);
				free(x->grp);
				ok.n--;
			}
		}
		if (ok.n > 0) {
			run = resign_create(c, "hashtree", ers_md_name(c->conf->renewal_nid), &ok);
			r = run == -1 ? RESIGN_FAIL : resign_finish(c, run);
			if (r > worst)
				worst = r;
		}
		if (ok.n < s.hash_c.n && worst < RESIGN_REFUSED)
			worst = RESIGN_REFUSED;
		cands_free(&ok);
		if (worst >= RESIGN_LATER)
			goto out;
	}
	/* timestamp renewal: one tree over the distinct previous time-stamps per hash */
	for (k = 0; k < 3; k++) {
		struct cands *cs = &s.ts_c[k];
		const EVP_MD *md;
		size_t hl;

		if (cs->n == 0)
			continue;
		md = ers_md(s.ts_nid[k]);
		hl = (size_t)EVP_MD_get_size(md);
		cs->hlen = hl;
		for (i = 0; i < cs->n; i++) {
			struct resign_run pr;

			if (resign_db_run_get(c->db, cs->v[i].prev_run, &pr) != 1 ||
			    pr.token == NULL) {
				resign_run_clear(&pr);
				log_errorx("run %lld has no token in %s", cs->v[i].prev_run,
					   RESIGN_DB_FILE);
				worst = RESIGN_FAIL;
				goto out;
			}
			/* the same token hashes the same: the leaves dedupe per earlier run */
			EVP_Digest(pr.token, pr.token_len, cs->v[i].leaf, NULL, md, NULL);
			resign_run_clear(&pr);
		}
		run = resign_create(c, "timestamp", ers_md_name(s.ts_nid[k]), cs);
		r = run == -1 ? RESIGN_FAIL : resign_finish(c, run);
		if (r > worst)
			worst = r;
		if (worst >= RESIGN_LATER)
			goto out;
	}
out:
	scan_free(&s);
	return worst;
}

/* ---- the plan ---- */

json_object *resign_plan(struct resign_ctx *c)
{
	json_object *o = json_object_new_object(), *a, *x;
	struct cands cs;
	struct scan s;
	long long ids[64];
	char when[TIMEFMT_ISO_MAX];
	int n, i;

	json_object_object_add(o, "now", json_object_new_string(timefmt_iso(c->now, when)));
	a = json_object_new_array();
	n = c->db != NULL ? resign_db_unfinished(c->db, ids, 64) : 0;
	for (i = 0; i < n; i++) {
		struct resign_run r;

		if (resign_db_run_get(c->db, ids[i], &r) != 1)
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "run", json_object_new_int64(r.id));
		json_object_object_add(x, "kind", json_object_new_string(r.kind));
		json_object_object_add(x, "state", json_object_new_string(r.state));
		json_object_object_add(x, "letters", json_object_new_int64(r.members));
		json_object_array_add(a, x);
		resign_run_clear(&r);
	}
	json_object_object_add(o, "unfinished_runs", a);
	memset(&cs, 0, sizeof(cs));
	if (c->db != NULL)
		resign_initial_cands(c, &cs);
	x = json_object_new_object();
	json_object_object_add(x, "letters", json_object_new_int64((int64_t)cs.n));
	json_object_object_add(x, "digest",
			       json_object_new_string(ers_md_name(c->conf->digest_nid)));
	json_object_object_add(o, "initial", x);
	cands_free(&cs);
	memset(&s, 0, sizeof(s));
	if (c->db != NULL && resign_scan(c, &s, 0) == -1)
		log_errorx("%s: %s", RESIGN_DB_FILE, resign_db_error(c->db));
	json_object_object_add(o, "letters_with_records", json_object_new_int64(s.letters));
	x = json_object_new_object();
	json_object_object_add(x, "due", json_object_new_int64(s.ts_due));
	json_object_object_add(x, "due_but_same_tsa", json_object_new_int64(s.ts_skipped));
	if (s.ts_skipped)
		json_object_object_add(x, "note", json_object_new_string(s.ts_skip_why));
	json_object_object_add(o, "timestamp_renewal", x);
	x = json_object_new_object();
	json_object_object_add(x, "due", json_object_new_int64(s.hash_due));
	json_object_object_add(x, "to", json_object_new_string(ers_md_name(c->conf->renewal_nid)));
	json_object_object_add(x, "blocked_by_policy", json_object_new_int64(s.hash_blocked));
	json_object_object_add(o, "hashtree_renewal", x);
	if (s.next > 0) {
		x = json_object_new_object();
		json_object_object_add(x, "at", json_object_new_string(timefmt_iso(s.next, when)));
		json_object_object_add(x, "letters", json_object_new_int64(s.next_count));
		json_object_object_add(x, "reason", json_object_new_string(s.next_why));
		json_object_object_add(o, "next_renewal", x);
	} else {
		json_object_object_add(o, "next_renewal", NULL);
	}
	scan_free(&s);
	return o;
}
