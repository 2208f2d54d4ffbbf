/*
 * ers_test.c - common/ers.c: hash trees, records, renewals and verification
 * round trips with real RFC 3161 tokens (an in-process OpenSSL TS_RESP_CTX with a
 * throwaway EC CA and TSA certificate made here), every check with its negative
 * control, and hostile input for the parser and the CMS splitter.
 *
 *  tree     n = 1..40 leaves: every leaf's reduced hash tree evaluates to the
 *           root; every list after the first holds one value (the layout RFC
 *           4998 and Bouncy Castle verifiers read alike); H(root input) = root
 *  initial  data groups of 1..4 objects (given as digests) -> VALID, with the
 *           trust anchor too; a changed object -> DATA_NOT_COVERED; another
 *           anchor -> TST_CHAIN; a changed tree value -> ROOT_MISMATCH; a changed
 *           token byte -> TST_SIGNATURE; a token over other data ->
 *           ROOT_MISMATCH; an undeclared algorithm -> DIGEST_ALG_NOT_DECLARED
 *  renewal  timestamp renewal over a tree of 3 distinct tokens and over one (no
 *           tree) -> VALID, a changed earlier token -> PREV_ATS_NOT_COVERED or
 *           TST_SIGNATURE; hash-tree renewal SHA-256 -> SHA-512 over data bytes,
 *           unsorted and sorted concatenation -> VALID, sorted_only rejects the
 *           unsorted one; a changed document -> DATA_NOT_COVERED@c1a0 (and
 *           @c0a0 for chain 0)
 *  hostile  every truncation of a record is MALFORMED; byte flips and random
 *           buffers never crash; ers_cms_split refuses truncations
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "check.h"
#include "ers.h"
#include "xalloc.h"

/* ---- a throwaway CA and TSA ---- */

static EVP_PKEY *ca_key, *tsa_key, *other_key;
static X509 *ca_cert, *tsa_cert, *other_cert;
static long serial_no = 1;

static EVP_PKEY *t_key(void)
{
	return EVP_EC_gen("P-256");
}

/* A certificate for key, issued by issuer (self-signed when NULL). */
static X509 *t_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, int tsa)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial_no++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if (tsa) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage, "critical,timeStamping");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,digitalSignature");
	} else {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign");
	}
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, ikey ? ikey : key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

static ASN1_INTEGER *t_serial_cb(TS_RESP_CTX *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	ASN1_INTEGER *i = ASN1_INTEGER_new();

	ASN1_INTEGER_set(i, serial_no++);
	return i;
}

/* A token (DER, malloc'ed) over the imprint dg of md. */
static unsigned char *t_stamp(const EVP_MD *md, const unsigned char *dg, size_t dglen, size_t *len)
{
	TS_RESP_CTX *c = TS_RESP_CTX_new();
	TS_REQ *rq = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_OBJECT *pol = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
	unsigned char *q = NULL, *out = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	TS_RESP *r;
	int ql;

	X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL);
	TS_MSG_IMPRINT_set_algo(mi, alg);
	TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)dg, (int)dglen);
	TS_REQ_set_version(rq, 1);
	TS_REQ_set_msg_imprint(rq, mi);
	TS_REQ_set_cert_req(rq, 1);
	ql = i2d_TS_REQ(rq, &q);
	BIO_write(b, q, ql);
	TS_RESP_CTX_set_serial_cb(c, t_serial_cb, NULL);
	TS_RESP_CTX_set_signer_cert(c, tsa_cert);
	TS_RESP_CTX_set_signer_key(c, tsa_key);
	TS_RESP_CTX_set_signer_digest(c, EVP_sha256());
	TS_RESP_CTX_set_def_policy(c, pol);
	TS_RESP_CTX_add_md(c, EVP_sha256());
	TS_RESP_CTX_add_md(c, EVP_sha384());
	TS_RESP_CTX_add_md(c, EVP_sha512());
	r = TS_RESP_create_response(c, b);
	if (r != NULL && TS_RESP_get_token(r) != NULL) {
		int l = i2d_PKCS7(TS_RESP_get_token(r), &out);

		*len = l > 0 ? (size_t)l : 0;
	}
	TS_RESP_free(r);
	BIO_free(b);
	OPENSSL_free(q);
	ASN1_OBJECT_free(pol);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(rq);
	TS_RESP_CTX_free(c);
	return out;
}

/* ---- helpers ---- */

/* The first occurrence of needle in hay, or NULL. */
static char *t_find(char *hay, size_t n, const char *needle, size_t m)
{
	size_t i;

	for (i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static X509_STORE *t_store(X509 *anchor)
{
	X509_STORE *s = X509_STORE_new();

	X509_STORE_add_cert(s, anchor);
	return s;
}

/* Verify der against objects, return the verdict code. */
static enum ers_code t_verify(const buf *der, const struct ers_object *o, size_t n,
			      X509_STORE *anchors, int sorted_only, char *verdict)
{
	struct ers_verify_opts opts = {anchors, sorted_only};
	struct ers_result res;
	char err[256];
	enum ers_code c;

	if (ers_verify_der((const unsigned char *)der->data, der->len, o, n, &opts, &res, err,
			   sizeof(err)) != ERS_OK) {
		fprintf(stderr, "verify error: %s\n", err);
		return ERS_C_NO_DATA;
	}
	c = res.code;
	if (verdict != NULL)
		snprintf(verdict, 64, "%s", res.verdict);
	if (c != ERS_VALID && getenv("ERS_TEST_VERBOSE"))
		fprintf(stderr, "%s: %s\n", res.verdict, res.detail);
	ers_result_free(&res);
	return c;
}

/* The objects for a group: each value as a given SHA-256 digest. */
static void t_group_objs(const unsigned char *grp, size_t n, struct ers_digest *dg,
			 struct ers_object *o)
{
	size_t i;

	memset(o, 0, n * sizeof(*o));
	for (i = 0; i < n; i++) {
		dg[i].nid = NID_sha256;
		dg[i].len = 32;
		memcpy(dg[i].v, grp + 32 * i, 32);
		o[i].name = "group value";
		o[i].digests = &dg[i];
		o[i].ndigests = 1;
	}
}

/* ---- tree ---- */

static void test_tree(void)
{
	const EVP_MD *md = EVP_sha256();
	unsigned char leaves[40 * 32], r[32];
	const unsigned char *vals[ERS_TREE_PATH_MAX];
	size_t counts[ERS_MAX_LISTS], nl, n, i, k, v, single_ok = 1, first_ok = 1;
	unsigned int rl;
	int all_ok = 1;

	RAND_bytes(leaves, sizeof(leaves));
	for (n = 1; n <= 40; n++) {
		ers_tree *t = ers_tree_new(md, leaves, n, NULL, 0);
		buf in;

		CHECK(t != NULL);
		if (t == NULL)
			continue;
		buf_init(&in, 1024);
		if (n > 1) {
			CHECK(ers_tree_root_input(t, &in) == ERS_OK && in.len == 64);
			EVP_Digest(in.data, in.len, r, &rl, md, NULL);
			CHECK(memcmp(r, ers_tree_root(t), 32) == 0);
		} else {
			CHECK(ers_tree_root_input(t, &in) == ERS_ERROR);
			CHECK(memcmp(ers_tree_root(t), leaves, 32) == 0);
		}
		buf_free(&in);
		for (i = 0; i < n; i++) {
			unsigned char cur[32], pair[64];

			if (ers_tree_path(t, i, 0, vals, counts, &nl) != ERS_OK) {
				all_ok = 0;
				continue;
			}
			/* evaluate as RFC 4998 4.3 says: sort, concatenate, hash; append */
			first_ok &= memcmp(vals[0], leaves + 32 * i, 32) == 0;
			memcpy(cur, vals[0], 32);
			v = 1;
			for (k = 0; k < nl; k++) {
				const unsigned char *o = NULL;

				if (k > 0)
					single_ok &= counts[k] == 1;
				if (k == 0 && counts[0] == 1)
					continue; /* the leaf alone (no sibling on level 0) */
				o = vals[v];
				v += k == 0 ? counts[0] - 1 : counts[k];
				if (memcmp(cur, o, 32) <= 0) {
					memcpy(pair, cur, 32);
					memcpy(pair + 32, o, 32);
				} else {
					memcpy(pair, o, 32);
					memcpy(pair + 32, cur, 32);
				}
				EVP_Digest(pair, 64, cur, &rl, md, NULL);
			}
			all_ok &= memcmp(cur, ers_tree_root(t), 32) == 0;
		}
		CHECK(ers_tree_path(t, n, 0, vals, counts, &nl) == ERS_ERROR);
		ers_tree_free(t);
	}
	CHECK(all_ok);
	CHECK(single_ok);
	CHECK(first_ok);
	CHECK(ers_tree_new(md, leaves, 0, NULL, 0) == NULL);
}

/* ---- initial records ---- */

struct rec {
	buf der;
	unsigned char grp[4 * 32];
	size_t ngrp;
};

/* n records of one tree over random groups; the token over the root. */
static void t_make(struct rec *recs, size_t n, unsigned char **tok, size_t *toklen)
{
	const EVP_MD *md = EVP_sha256();
	unsigned char *leaves = xmalloc(n * 32);
	const unsigned char *vals[ERS_TREE_PATH_MAX];
	size_t counts[ERS_MAX_LISTS], nl, i;
	ers_tree *t;
	buf ats;

	for (i = 0; i < n; i++) {
		recs[i].ngrp = 1 + i % 4;
		RAND_bytes(recs[i].grp, (int)(recs[i].ngrp * 32));
		ers_hash_sorted(md, recs[i].grp, recs[i].ngrp, 32, leaves + 32 * i);
	}
	t = ers_tree_new(md, leaves, n, NULL, 0);
	*tok = t_stamp(md, ers_tree_root(t), 32, toklen);
	for (i = 0; i < n; i++) {
		buf_init(&recs[i].der, ERS_MAX_DER);
		buf_init(&ats, ERS_MAX_DER);
		nl = 0;
		if (n > 1)
			ers_tree_path(t, i, 1, vals, counts, &nl);
		CHECK(ers_ats_encode(&ats, md, i % 2, recs[i].grp, recs[i].ngrp, vals, counts, nl,
				     *tok, *toklen) == ERS_OK);
		CHECK(ers_record_encode(&recs[i].der, md, (const unsigned char *)ats.data,
					ats.len) == ERS_OK);
		buf_free(&ats);
	}
	ers_tree_free(t);
	free(leaves);
}

static void test_initial(void)
{
	struct rec recs[7];
	struct ers_digest dg[4];
	struct ers_object o[4];
	unsigned char *tok;
	size_t toklen, i, ok = 0;
	X509_STORE *good = t_store(ca_cert), *bad = t_store(other_cert);
	char verdict[64];

	t_make(recs, 7, &tok, &toklen);
	CHECK(tok != NULL);
	for (i = 0; i < 7; i++) {
		t_group_objs(recs[i].grp, recs[i].ngrp, dg, o);
		ok += t_verify(&recs[i].der, o, recs[i].ngrp, NULL, 0, NULL) == ERS_VALID &&
		      t_verify(&recs[i].der, o, recs[i].ngrp, good, 0, NULL) == ERS_VALID;
	}
	CHECK(ok == 7);
	/* negative controls on record 3 */
	t_group_objs(recs[3].grp, recs[3].ngrp, dg, o);
	CHECK(t_verify(&recs[3].der, o, recs[3].ngrp, bad, 0, verdict) == ERS_C_TST_CHAIN);
	CHECK_STR(verdict, "INVALID:TST_CHAIN@c0a0");
	dg[1].v[5] ^= 1;
	CHECK(t_verify(&recs[3].der, o, recs[3].ngrp, NULL, 0, verdict) == ERS_C_DATA_NOT_COVERED);
	CHECK_STR(verdict, "INVALID:DATA_NOT_COVERED@c0a0");
	dg[1].v[5] ^= 1;
	{
		/* a tree value: the sibling in the second list */
		ers_record *er = NULL;
		buf c;
		char *p;

		buf_init(&c, ERS_MAX_DER);
		buf_add(&c, recs[3].der.data, recs[3].der.len);
		CHECK(ers_parse((const unsigned char *)c.data, c.len, &er, NULL, 0) == ERS_OK);
		if (er != NULL && er->chains[0].ats[0].nlists > 1)
			c.data[er->chains[0].ats[0].lists[1].v[0] - er->der] ^= 0x40;
		ers_record_free(er);
		CHECK(t_verify(&c, o, recs[3].ngrp, NULL, 0, verdict) == ERS_C_ROOT_MISMATCH);
		CHECK_STR(verdict, "INVALID:ROOT_MISMATCH@c0a0");
		/* the token's signature value: its last byte */
		buf_reset(&c);
		buf_add(&c, recs[3].der.data, recs[3].der.len);
		c.data[c.len - 1] ^= 1;
		CHECK(t_verify(&c, o, recs[3].ngrp, NULL, 0, verdict) == ERS_C_TST_SIGNATURE);
		CHECK_STR(verdict, "INVALID:TST_SIGNATURE@c0a0");
		/* digestAlgorithms saying sha384: byte 0x01 of the OID's last arc */
		buf_reset(&c);
		buf_add(&c, recs[3].der.data, recs[3].der.len);
		p = t_find(c.data, c.len, "\x60\x86\x48\x01\x65\x03\x04\x02\x01", 9);
		p[8] = 0x02;
		CHECK(t_verify(&c, o, recs[3].ngrp, NULL, 0, verdict) ==
		      ERS_C_DIGEST_ALG_NOT_DECLARED);
		/* version 2 */
		buf_reset(&c);
		buf_add(&c, recs[3].der.data, recs[3].der.len);
		p = t_find(c.data, c.len, "\x02\x01\x01", 3);
		p[2] = 2;
		CHECK(t_verify(&c, o, recs[3].ngrp, NULL, 0, verdict) == ERS_C_ER_VERSION);
		CHECK_STR(verdict, "INVALID:ER_VERSION");
		buf_free(&c);
	}
	{
		/* a token over other data in place of the right one */
		unsigned char other[32], *t2;
		size_t t2len;
		buf ats, er;

		RAND_bytes(other, sizeof(other));
		t2 = t_stamp(EVP_sha256(), other, 32, &t2len);
		buf_init(&ats, ERS_MAX_DER);
		buf_init(&er, ERS_MAX_DER);
		ers_ats_encode(&ats, EVP_sha256(), 0, recs[0].grp, recs[0].ngrp, NULL, NULL, 0, t2,
			       t2len);
		ers_record_encode(&er, EVP_sha256(), (const unsigned char *)ats.data, ats.len);
		t_group_objs(recs[0].grp, recs[0].ngrp, dg, o);
		CHECK(t_verify(&er, o, recs[0].ngrp, NULL, 0, NULL) == ERS_C_ROOT_MISMATCH);
		buf_free(&ats);
		buf_free(&er);
		OPENSSL_free(t2);
	}
	/* the timestamp renewal of three records of different trees, and of one */
	{
		struct rec more[2][3];
		unsigned char *toks[3] = {tok, NULL, NULL}, leaves[3 * 32];
		size_t tl[3] = {toklen, 0, 0}, k, nl;
		const unsigned char *vals[ERS_TREE_PATH_MAX];
		size_t counts[ERS_MAX_LISTS];
		unsigned char *rtok;
		size_t rtoklen;
		unsigned int hl;
		ers_tree *t;
		buf *src[3] = {&recs[2].der, NULL, NULL};
		unsigned char *sgrp[3] = {recs[2].grp, NULL, NULL};
		size_t sng[3] = {recs[2].ngrp, 0, 0};

		t_make(more[0], 3, &toks[1], &tl[1]);
		t_make(more[1], 3, &toks[2], &tl[2]);
		src[1] = &more[0][1].der;
		src[2] = &more[1][2].der;
		sgrp[1] = more[0][1].grp;
		sgrp[2] = more[1][2].grp;
		sng[1] = more[0][1].ngrp;
		sng[2] = more[1][2].ngrp;
		for (k = 0; k < 3; k++)
			EVP_Digest(toks[k], tl[k], leaves + 32 * k, &hl, EVP_sha256(), NULL);
		t = ers_tree_new(EVP_sha256(), leaves, 3, NULL, 0);
		rtok = t_stamp(EVP_sha256(), ers_tree_root(t), 32, &rtoklen);
		ok = 0;
		for (k = 0; k < 3; k++) {
			ers_record *er = NULL;
			buf ats, out;

			buf_init(&ats, ERS_MAX_DER);
			buf_init(&out, ERS_MAX_DER);
			ers_tree_path(t, k, 0, vals, counts, &nl);
			ers_parse((const unsigned char *)src[k]->data, src[k]->len, &er, NULL, 0);
			ers_ats_encode(&ats, EVP_sha256(), 0, NULL, 0, vals, counts, nl, rtok,
				       rtoklen);
			CHECK(ers_append_ats(er, (const unsigned char *)ats.data, ats.len, &out) ==
			      ERS_OK);
			t_group_objs(sgrp[k], sng[k], dg, o);
			ok += t_verify(&out, o, sng[k], good, 0, NULL) == ERS_VALID;
			if (k == 1) {
				/* an earlier token changed: its own signature, or the renewal */
				{
					const struct ers_ats *a0 = &er->chains[0].ats[0];
					size_t off = (size_t)(a0->ts - er->der) + a0->ts_len - 1;

					out.data[off] ^= 1;
				}
				CHECK(t_verify(&out, o, sng[k], NULL, 0, verdict) ==
				      ERS_C_TST_SIGNATURE);
				CHECK_STR(verdict, "INVALID:TST_SIGNATURE@c0a0");
			}
			ers_record_free(er);
			buf_free(&ats);
			buf_free(&out);
		}
		CHECK(ok == 3);
		/* a renewal whose reduced tree is another token's (leaf 2: it has no
		 * sibling on the first level, so token 0 is not in its first list) */
		{
			ers_record *er = NULL;
			buf ats, out;

			buf_init(&ats, ERS_MAX_DER);
			buf_init(&out, ERS_MAX_DER);
			ers_tree_path(t, 2, 0, vals, counts, &nl);
			ers_parse((const unsigned char *)src[0]->data, src[0]->len, &er, NULL, 0);
			ers_ats_encode(&ats, EVP_sha256(), 0, NULL, 0, vals, counts, nl, rtok,
				       rtoklen);
			ers_append_ats(er, (const unsigned char *)ats.data, ats.len, &out);
			t_group_objs(sgrp[0], sng[0], dg, o);
			CHECK(t_verify(&out, o, sng[0], NULL, 0, verdict) ==
			      ERS_C_PREV_ATS_NOT_COVERED);
			CHECK_STR(verdict, "INVALID:PREV_ATS_NOT_COVERED@c0a1");
			ers_record_free(er);
			buf_free(&ats);
			buf_free(&out);
		}
		/* one token: no reduced hash tree, the imprint is H(previous token) */
		{
			ers_record *er = NULL;
			unsigned char h[32], *t1;
			size_t t1len;
			buf ats, out;

			EVP_Digest(toks[0], tl[0], h, &hl, EVP_sha256(), NULL);
			t1 = t_stamp(EVP_sha256(), h, 32, &t1len);
			buf_init(&ats, ERS_MAX_DER);
			buf_init(&out, ERS_MAX_DER);
			ers_parse((const unsigned char *)recs[4].der.data, recs[4].der.len, &er,
				  NULL, 0);
			ers_ats_encode(&ats, EVP_sha256(), 0, NULL, 0, NULL, NULL, 0, t1, t1len);
			ers_append_ats(er, (const unsigned char *)ats.data, ats.len, &out);
			t_group_objs(recs[4].grp, recs[4].ngrp, dg, o);
			CHECK(t_verify(&out, o, recs[4].ngrp, good, 0, NULL) == ERS_VALID);
			ers_record_free(er);
			buf_free(&ats);
			buf_free(&out);
			OPENSSL_free(t1);
		}
		ers_tree_free(t);
		OPENSSL_free(rtok);
		OPENSSL_free(toks[1]);
		OPENSSL_free(toks[2]);
		for (k = 0; k < 3; k++) {
			buf_free(&more[0][k].der);
			buf_free(&more[1][k].der);
		}
	}
	for (i = 0; i < 7; i++)
		buf_free(&recs[i].der);
	OPENSSL_free(tok);
	X509_STORE_free(good);
	X509_STORE_free(bad);
}

/* ---- hash-tree renewal over real data ---- */

/* The record of 3 documents (a data group) in a 2-letter tree, then renewed to sha512. */
static void test_hashtree(void)
{
	const char *docs[3] = {"Rechnung 4711", "Transfervermerk", "seal bytes"};
	const char *other[3] = {"Brief", "Vermerk", "Siegel"};
	struct ers_object o[3];
	unsigned char grp[3 * 32], grp2[3 * 32], leaves[2 * 32], *tok, *tok2;
	const unsigned char *vals[ERS_TREE_PATH_MAX];
	size_t counts[ERS_MAX_LISTS], nl, toklen, tok2len, i;
	unsigned int hl;
	ers_tree *t;
	buf ats, er0, er1;
	int sorted;
	char verdict[64];

	memset(o, 0, sizeof(o));
	for (i = 0; i < 3; i++) {
		EVP_Digest(docs[i], strlen(docs[i]), grp + 32 * i, &hl, EVP_sha256(), NULL);
		EVP_Digest(other[i], strlen(other[i]), grp2 + 32 * i, &hl, EVP_sha256(), NULL);
		o[i].name = docs[i];
		o[i].data = (const unsigned char *)docs[i];
		o[i].len = strlen(docs[i]);
	}
	ers_hash_sorted(EVP_sha256(), grp, 3, 32, leaves);
	ers_hash_sorted(EVP_sha256(), grp2, 3, 32, leaves + 32);
	t = ers_tree_new(EVP_sha256(), leaves, 2, NULL, 0);
	tok = t_stamp(EVP_sha256(), ers_tree_root(t), 32, &toklen);
	buf_init(&ats, ERS_MAX_DER);
	buf_init(&er0, ERS_MAX_DER);
	ers_tree_path(t, 0, 1, vals, counts, &nl);
	ers_ats_encode(&ats, EVP_sha256(), 0, grp, 3, vals, counts, nl, tok, toklen);
	ers_record_encode(&er0, EVP_sha256(), (const unsigned char *)ats.data, ats.len);
	CHECK(t_verify(&er0, o, 3, NULL, 0, NULL) == ERS_VALID);
	ers_tree_free(t);
	for (sorted = 0; sorted < 2; sorted++) {
		unsigned char g[3 * 64], leaf[64], ha[64], h[64], cat[128];
		ers_record *er = NULL;
		int same = 1; /* unsorted and sorted concatenation happen to agree */

		CHECK(ers_parse((const unsigned char *)er0.data, er0.len, &er, NULL, 0) == ERS_OK);
		CHECK(ers_sequence_hash(er, er->nchains, EVP_sha512(), ha) == 64);
		for (i = 0; i < 3; i++) {
			EVP_Digest(docs[i], strlen(docs[i]), h, &hl, EVP_sha512(), NULL);
			same &= memcmp(h, ha, 64) < 0;
			if (sorted && memcmp(ha, h, 64) < 0) {
				memcpy(cat, ha, 64);
				memcpy(cat + 64, h, 64);
			} else {
				memcpy(cat, h, 64);
				memcpy(cat + 64, ha, 64);
			}
			EVP_Digest(cat, 128, g + 64 * i, &hl, EVP_sha512(), NULL);
		}
		ers_hash_sorted(EVP_sha512(), g, 3, 64, leaf);
		tok2 = t_stamp(EVP_sha512(), leaf, 64, &tok2len);
		buf_reset(&ats);
		buf_init(&er1, ERS_MAX_DER);
		ers_ats_encode(&ats, EVP_sha512(), 1, g, 3, NULL, NULL, 0, tok2, tok2len);
		CHECK(ers_append_chain(er, EVP_sha512(), (const unsigned char *)ats.data, ats.len,
				       &er1) == ERS_OK);
		CHECK(t_verify(&er1, o, 3, NULL, 0, NULL) == ERS_VALID);
		/* sorted_only: only the sorted variant passes */
		CHECK(t_verify(&er1, o, 3, NULL, 1, NULL) ==
		      (sorted || same ? ERS_VALID : ERS_C_DATA_NOT_COVERED));
		/* a changed document: caught by chain 0 first */
		o[1].data = (const unsigned char *)"Transfervermerk!";
		o[1].len = 16;
		CHECK(t_verify(&er1, o, 3, NULL, 0, verdict) == ERS_C_DATA_NOT_COVERED);
		CHECK_STR(verdict, "INVALID:DATA_NOT_COVERED@c0a0");
		o[1].data = (const unsigned char *)docs[1];
		o[1].len = strlen(docs[1]);
		ers_record_free(er);
		buf_free(&er1);
		OPENSSL_free(tok2);
	}
	buf_free(&ats);
	buf_free(&er0);
	OPENSSL_free(tok);
}

/* ---- hostile input ---- */

static void test_hostile(void)
{
	struct rec recs[2];
	unsigned char *tok, rnd[4096];
	size_t toklen, n, i, malformed = 0, total = 0;
	ers_record *er;
	buf er_b, cms_b;
	int internal;

	t_make(recs, 2, &tok, &toklen);
	for (n = 0; n < recs[1].der.len; n++) {
		er = NULL;
		total++;
		if (ers_parse((const unsigned char *)recs[1].der.data, n, &er, NULL, 0) ==
		    ERS_MALFORMED)
			malformed++;
		ers_record_free(er);
	}
	CHECK(malformed == total);
	/* single byte flips: parse, and verify what parses */
	for (i = 0; i < 3000; i++) {
		buf c;
		struct ers_result res;
		unsigned char r[3];

		RAND_bytes(r, 3);
		buf_init(&c, ERS_MAX_DER);
		buf_add(&c, recs[1].der.data, recs[1].der.len);
		c.data[(r[0] << 8 | r[1]) % c.len] ^= (unsigned char)(r[2] | 1);
		ers_verify_der((const unsigned char *)c.data, c.len, NULL, 0, NULL, &res, NULL, 0);
		ers_result_free(&res);
		buf_free(&c);
	}
	for (i = 0; i < 2000; i++) {
		er = NULL;
		RAND_bytes(rnd, sizeof(rnd));
		rnd[0] = 0x30;
		n = 1 + i % sizeof(rnd);
		if (n > 2)
			rnd[1] = (unsigned char)(n - 2 < 128 ? n - 2 : 0x82);
		ers_parse(rnd, n, &er, NULL, 0);
		ers_record_free(er);
	}
	CHECK(1); /* reaching here without a crash (ASan in the sanitizer build) */
	buf_init(&er_b, ERS_MAX_DER);
	buf_init(&cms_b, ERS_MAX_DER);
	malformed = 0;
	for (n = 0; n < 64; n++) {
		if (ers_cms_split(rnd, n, &er_b, &cms_b, &internal, NULL, 0) != ERS_OK)
			malformed++;
	}
	CHECK(malformed == 64);
	/* a token is a CMS without an ER attribute: refused */
	CHECK(ers_cms_split(tok, toklen, &er_b, &cms_b, &internal, NULL, 0) == ERS_MALFORMED);
	for (n = 0; n < toklen; n += 7)
		CHECK(ers_cms_split(tok, n, &er_b, &cms_b, &internal, NULL, 0) != ERS_OK);
	buf_free(&er_b);
	buf_free(&cms_b);
	buf_free(&recs[0].der);
	buf_free(&recs[1].der);
	OPENSSL_free(tok);
}

int main(void)
{
	ca_key = t_key();
	tsa_key = t_key();
	other_key = t_key();
	ca_cert = t_cert(ca_key, "ers_test CA", NULL, NULL, 0);
	tsa_cert = t_cert(tsa_key, "ers_test TSA", ca_cert, ca_key, 1);
	other_cert = t_cert(other_key, "ers_test other CA", NULL, NULL, 0);
	test_tree();
	test_initial();
	test_hashtree();
	test_hostile();
	X509_free(ca_cert);
	X509_free(tsa_cert);
	X509_free(other_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(tsa_key);
	EVP_PKEY_free(other_key);
	return check_done();
}
