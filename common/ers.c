/*
 * ers.c - Evidence Records (RFC 4998 / TR-ESOR-ERS); see ers.h.
 *
 * The DER reader and writer are our own (a few dozen lines, bounded, no
 * recursion on input for the record itself); OpenSSL decodes only the time-stamp
 * tokens (CMS) and checks their signatures. Hash values in a record are kept as
 * pointers into the record's copy of the input.
 */
#include "ers.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "xalloc.h"

#define ERS_FILE_BLOCK 65536
#define ERS_BER_DEPTH 48
#define ERS_MAX_NALGS 16 /* digestAlgorithms entries */

/* The private spans of a record that the writers need (after the public part). */
struct ers_record_priv {
	ers_record pub;
	const unsigned char *p_version; /* the version TLV */
	size_t l_version;
	const unsigned char *p_algs; /* the content of digestAlgorithms (entries) */
	size_t l_algs;
	const unsigned char *p_extra; /* cryptoInfos and encryptionInfo TLVs */
	size_t l_extra;
};

/* ---- errors ---- */

static void ers_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Write a message into err (if there is room for one). */
static void ers_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *ers_code_name(enum ers_code c)
{
	static const char *const names[] = {"VALID",
					    "MALFORMED",
					    "ER_VERSION",
					    "DIGEST_ALG_NOT_DECLARED",
					    "DIGEST_ALG_MISMATCH",
					    "ROOT_MISMATCH",
					    "DATA_NOT_COVERED",
					    "PREV_ATS_NOT_COVERED",
					    "CMS_HASH_NOT_COVERED",
					    "TST_SIGNATURE",
					    "TST_CHAIN",
					    "NO_DATA"};

	if ((size_t)c >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[c];
}

/* ---- hash algorithms: OIDs (DER content of the OBJECT IDENTIFIER) ---- */

static const struct ers_alg_oid {
	int nid;
	const char *name;
	unsigned char oid[9];
	size_t oid_len;
} ers_alg_oids[] = {
    {NID_sha1, "sha1", {0x2b, 0x0e, 0x03, 0x02, 0x1a}, 5},
    {NID_ripemd160, "ripemd160", {0x2b, 0x24, 0x03, 0x02, 0x01}, 5},
    {NID_sha224, "sha224", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04}, 9},
    {NID_sha256, "sha256", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, 9},
    {NID_sha384, "sha384", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, 9},
    {NID_sha512, "sha512", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}, 9},
    {NID_sha3_256, "sha3-256", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x08}, 9},
    {NID_sha3_384, "sha3-384", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x09}, 9},
    {NID_sha3_512, "sha3-512", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x0a}, 9},
};
#define ERS_NALG_OIDS (sizeof(ers_alg_oids) / sizeof(ers_alg_oids[0]))

/* The table entry of nid, or NULL. */
static const struct ers_alg_oid *ers_alg_by_nid(int nid)
{
	size_t i;

	for (i = 0; i < ERS_NALG_OIDS; i++)
		if (ers_alg_oids[i].nid == nid)
			return &ers_alg_oids[i];
	return NULL;
}

const EVP_MD *ers_md(int nid)
{
	return ers_alg_by_nid(nid) != NULL ? EVP_get_digestbynid(nid) : NULL;
}

const char *ers_md_name(int nid)
{
	const struct ers_alg_oid *a = ers_alg_by_nid(nid);

	return a != NULL ? a->name : "unknown";
}

int ers_md_nid(const char *name)
{
	size_t i;

	for (i = 0; i < ERS_NALG_OIDS; i++)
		if (strcmp(ers_alg_oids[i].name, name) == 0)
			return ers_alg_oids[i].nid;
	return NID_undef;
}

/* NID of an OID's content bytes, NID_undef if not a known hash. */
static int ers_oid_nid(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < ERS_NALG_OIDS; i++)
		if (ers_alg_oids[i].oid_len == n && memcmp(ers_alg_oids[i].oid, p, n) == 0)
			return ers_alg_oids[i].nid;
	return NID_undef;
}

/* ---- DER reading ---- */

/* One TLV: identifier octet (low tag numbers only), header and content. */
struct der_tlv {
	unsigned char tag;
	const unsigned char *hdr; /* first byte of the TLV */
	size_t hdr_len;
	const unsigned char *val;
	size_t len;
	size_t total; /* hdr_len + len */
};

/*
 * Read one DER TLV at *p (before end): single-octet identifier, definite
 * minimal length. Advances *p past it. 0, or -1 (not DER / truncated).
 */
static int der_read(const unsigned char **p, const unsigned char *end, struct der_tlv *t)
{
	const unsigned char *q = *p;
	size_t len, i, nb;

	if (q >= end || end - q < 2)
		return -1;
	t->hdr = q;
	t->tag = *q++;
	if ((t->tag & 0x1f) == 0x1f) /* high tag numbers: not in RFC 4998 */
		return -1;
	if (*q < 0x80) {
		len = *q++;
	} else {
		nb = *q++ & 0x7f;
		if (nb == 0 || nb > 4 || (size_t)(end - q) < nb ||
		    *q == 0) /* indefinite, huge, non-minimal */
			return -1;
		for (len = 0, i = 0; i < nb; i++)
			len = (len << 8) | *q++;
		if (len < 0x80)
			return -1; /* DER: the short form was required */
	}
	if (len > (size_t)(end - q))
		return -1;
	t->hdr_len = (size_t)(q - t->hdr);
	t->val = q;
	t->len = len;
	t->total = t->hdr_len + len;
	*p = q + len;
	return 0;
}

/* Read a TLV that must have tag; -1 otherwise. */
static int der_expect(const unsigned char **p, const unsigned char *end, unsigned char tag,
		      struct der_tlv *t)
{
	const unsigned char *save = *p;

	if (der_read(p, end, t) == -1 || t->tag != tag) {
		*p = save;
		return -1;
	}
	return 0;
}

/* 1 if the next TLV at p has tag. */
static int der_peek(const unsigned char *p, const unsigned char *end, unsigned char tag)
{
	return p < end && *p == tag;
}

/* AlgorithmIdentifier content (OID and optional NULL parameters) -> NID. -1 if malformed. */
static int der_alg_content(const unsigned char *p, size_t n, int *nid)
{
	const unsigned char *end = p + n;
	struct der_tlv oid, par;

	if (der_expect(&p, end, 0x06, &oid) == -1 || oid.len == 0)
		return -1;
	if (p < end) {
		if (der_read(&p, end, &par) == -1 || p != end)
			return -1;
	}
	*nid = ers_oid_nid(oid.val, oid.len);
	return 0;
}

/* ---- parsing ---- */

static void ers_chain_free(struct ers_chain *c)
{
	size_t i, k;

	for (i = 0; i < c->n; i++) {
		for (k = 0; k < c->ats[i].nlists; k++) {
			free(c->ats[i].lists[k].v);
			free(c->ats[i].lists[k].len);
		}
		free(c->ats[i].lists);
	}
	free(c->ats);
}

ers_record *ers_record_free(ers_record *er)
{
	size_t i;

	if (er == NULL)
		return NULL;
	for (i = 0; i < er->nchains; i++)
		ers_chain_free(&er->chains[i]);
	free(er->chains);
	free(er->algs);
	free(er->der);
	free(er);
	return NULL;
}

/* Count the TLVs in [p, end); -1 if they do not parse. */
static long der_count(const unsigned char *p, const unsigned char *end)
{
	struct der_tlv t;
	long n = 0;

	while (p < end) {
		if (der_read(&p, end, &t) == -1)
			return -1;
		n++;
	}
	return n;
}

/* reducedHashtree content: SEQUENCE OF PartialHashtree (SEQUENCE OF OCTET STRING). */
static int ers_parse_tree(const unsigned char *p, const unsigned char *end, struct ers_ats *a,
			  char *err, size_t errlen)
{
	struct der_tlv lt, vt;
	long nl = der_count(p, end), nv;
	size_t k, i;

	if (nl <= 0 || nl > ERS_MAX_LISTS) {
		ers_errf(err, errlen, "reducedHashtree: %s",
			 nl <= 0 ? "empty or not DER" : "too many lists");
		return -1;
	}
	a->lists = xcalloc((size_t)nl, sizeof(*a->lists));
	a->nlists = (size_t)nl;
	for (k = 0; k < a->nlists; k++) {
		const unsigned char *q, *qe;

		if (der_expect(&p, end, 0x30, &lt) == -1) {
			ers_errf(err, errlen, "reducedHashtree list %zu is not a SEQUENCE", k);
			return -1;
		}
		q = lt.val;
		qe = lt.val + lt.len;
		nv = der_count(q, qe);
		if (nv <= 0 || nv > ERS_MAX_VALUES) {
			ers_errf(err, errlen, "reducedHashtree list %zu: %s", k,
				 nv <= 0 ? "empty or not DER" : "too many values");
			return -1;
		}
		a->lists[k].n = (size_t)nv;
		a->lists[k].v = xcalloc((size_t)nv, sizeof(*a->lists[k].v));
		a->lists[k].len = xcalloc((size_t)nv, sizeof(*a->lists[k].len));
		for (i = 0; i < a->lists[k].n; i++) {
			if (der_expect(&q, qe, 0x04, &vt) == -1 || vt.len == 0 ||
			    vt.len > ERS_MAX_HASH) {
				ers_errf(err, errlen,
					 "reducedHashtree list %zu value %zu is not a hash value "
					 "(OCTET STRING of 1..%d bytes)",
					 k, i, ERS_MAX_HASH);
				return -1;
			}
			a->lists[k].v[i] = vt.val;
			a->lists[k].len[i] = vt.len;
		}
	}
	return 0;
}

/* One ArchiveTimeStamp TLV's content. */
static int ers_parse_ats(const struct der_tlv *at, struct ers_ats *a, char *err, size_t errlen)
{
	const unsigned char *p = at->val, *end = at->val + at->len;
	struct der_tlv t;

	a->der = at->hdr;
	a->der_len = at->total;
	a->digest_nid = NID_undef;
	if (der_peek(p, end, 0xa0)) {
		if (der_read(&p, end, &t) == -1 ||
		    der_alg_content(t.val, t.len, &a->digest_nid) == -1) {
			ers_errf(err, errlen, "ArchiveTimeStamp.digestAlgorithm [0] is malformed");
			return -1;
		}
		if (a->digest_nid == NID_undef)
			a->digest_nid = -1; /* present but unknown: never matches */
	}
	if (der_peek(p, end, 0xa1)) {
		if (der_read(&p, end, &t) == -1) {
			ers_errf(err, errlen, "ArchiveTimeStamp.attributes [1] is malformed");
			return -1;
		}
		a->has_attributes = 1;
	}
	if (der_peek(p, end, 0xa2)) {
		if (der_read(&p, end, &t) == -1 ||
		    ers_parse_tree(t.val, t.val + t.len, a, err, errlen) == -1) {
			if (err != NULL && errlen > 0 && err[0] == '\0')
				ers_errf(err, errlen, "reducedHashtree [2] is malformed");
			return -1;
		}
		a->has_tree = 1;
	}
	if (der_expect(&p, end, 0x30, &t) == -1 || p != end) {
		ers_errf(err, errlen, "ArchiveTimeStamp.timeStamp is missing or followed by bytes");
		return -1;
	}
	a->ts = t.hdr;
	a->ts_len = t.total;
	return 0;
}

int ers_parse(const unsigned char *der, size_t len, ers_record **out, char *err, size_t errlen)
{
	struct ers_record_priv *pr;
	ers_record *er;
	const unsigned char *p, *end, *q, *qe, *r, *re;
	struct der_tlv top, ver, algs, seq, ch, at, t;
	long n, i, k;
	int rc = ERS_MALFORMED;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (der == NULL || len == 0 || len > ERS_MAX_DER) {
		ers_errf(err, errlen, "%s",
			 len > ERS_MAX_DER ? "larger than any evidence record" : "empty");
		return ERS_MALFORMED;
	}
	pr = xcalloc(1, sizeof(*pr));
	er = &pr->pub;
	er->der = xmalloc(len);
	memcpy(er->der, der, len);
	er->der_len = len;
	p = er->der;
	end = p + len;
	if (der_expect(&p, end, 0x30, &top) == -1 || p != end) {
		ers_errf(err, errlen, "not a DER SEQUENCE (EvidenceRecord) filling the input");
		goto out;
	}
	p = top.val;
	end = top.val + top.len;
	if (der_expect(&p, end, 0x02, &ver) == -1 || ver.len == 0 || ver.len > 4 ||
	    (ver.len > 1 && ver.val[0] == 0 && !(ver.val[1] & 0x80))) {
		ers_errf(err, errlen, "EvidenceRecord.version is not a small INTEGER");
		goto out;
	}
	er->version = (ver.val[0] & 0x80) ? -1 : 0;
	for (i = 0; i < (long)ver.len; i++)
		er->version = (long)(((unsigned long)er->version << 8) | ver.val[i]);
	pr->p_version = ver.hdr;
	pr->l_version = ver.total;
	if (der_expect(&p, end, 0x30, &algs) == -1) {
		ers_errf(err, errlen, "EvidenceRecord.digestAlgorithms is not a SEQUENCE");
		goto out;
	}
	pr->p_algs = algs.val;
	pr->l_algs = algs.len;
	n = der_count(algs.val, algs.val + algs.len);
	if (n < 0 || n > ERS_MAX_NALGS) {
		ers_errf(err, errlen, "EvidenceRecord.digestAlgorithms is malformed");
		goto out;
	}
	er->algs = xcalloc((size_t)n + 1, sizeof(*er->algs));
	q = algs.val;
	qe = algs.val + algs.len;
	for (i = 0; i < n; i++) {
		if (der_expect(&q, qe, 0x30, &t) == -1 ||
		    der_alg_content(t.val, t.len, &er->algs[i]) == -1) {
			ers_errf(err, errlen,
				 "digestAlgorithms entry %ld is not an AlgorithmIdentifier", i);
			goto out;
		}
	}
	er->nalgs = (size_t)n;
	pr->p_extra = p;
	if (der_peek(p, end, 0xa0)) {
		if (der_read(&p, end, &t) == -1) {
			ers_errf(err, errlen, "cryptoInfos [0] is malformed");
			goto out;
		}
		er->has_crypto_infos = 1;
	}
	if (der_peek(p, end, 0xa1)) {
		if (der_read(&p, end, &t) == -1) {
			ers_errf(err, errlen, "encryptionInfo [1] is malformed");
			goto out;
		}
		er->has_encryption_info = 1;
	}
	pr->l_extra = (size_t)(p - pr->p_extra);
	if (der_expect(&p, end, 0x30, &seq) == -1 || p != end) {
		ers_errf(
		    err, errlen,
		    "archiveTimeStampSequence is missing, not a SEQUENCE, or followed by bytes");
		goto out;
	}
	n = der_count(seq.val, seq.val + seq.len);
	if (n <= 0 || n > ERS_MAX_CHAINS) {
		ers_errf(err, errlen, "archiveTimeStampSequence: %s",
			 n <= 0 ? "no chain, or not DER" : "too many chains");
		goto out;
	}
	er->chains = xcalloc((size_t)n, sizeof(*er->chains));
	er->nchains = (size_t)n;
	q = seq.val;
	qe = seq.val + seq.len;
	for (i = 0; i < n; i++) {
		struct ers_chain *c = &er->chains[i];

		if (der_expect(&q, qe, 0x30, &ch) == -1) {
			ers_errf(err, errlen, "chain %ld is not a SEQUENCE", i);
			goto out;
		}
		c->der = ch.hdr;
		c->der_len = ch.total;
		r = ch.val;
		re = ch.val + ch.len;
		k = der_count(r, re);
		if (k <= 0 || k > ERS_MAX_ATS) {
			ers_errf(err, errlen, "chain %ld: %s", i,
				 k <= 0 ? "no ArchiveTimeStamp, or not DER"
					: "too many time-stamps");
			goto out;
		}
		c->ats = xcalloc((size_t)k, sizeof(*c->ats));
		c->n = (size_t)k;
		for (k = 0; k < (long)c->n; k++) {
			char sub[200] = "";

			if (der_expect(&r, re, 0x30, &at) == -1 ||
			    ers_parse_ats(&at, &c->ats[k], sub, sizeof(sub)) == -1) {
				ers_errf(err, errlen, "chain %ld, ArchiveTimeStamp %ld: %s", i, k,
					 sub[0] ? sub : "not a SEQUENCE");
				goto out;
			}
		}
	}
	rc = ERS_OK;
out:
	if (rc != ERS_OK) {
		ers_record_free(er);
		return rc;
	}
	*out = er;
	return ERS_OK;
}

/* ---- tokens ---- */

/* A token: the CMS structure and its TSTInfo, decoded. */
struct ers_tok {
	CMS_ContentInfo *cms;
	TS_TST_INFO *tst;
};

static void ers_tok_free(struct ers_tok *t)
{
	TS_TST_INFO_free(t->tst);
	CMS_ContentInfo_free(t->cms);
	memset(t, 0, sizeof(*t));
}

/* Decode a token: SignedData with eContentType id-ct-TSTInfo. 0 or -1 (err set). */
static int ers_tok_decode(const unsigned char *der, size_t len, struct ers_tok *t, char *err,
			  size_t errlen)
{
	const unsigned char *p = der;
	ASN1_OCTET_STRING **pos;

	memset(t, 0, sizeof(*t));
	if (len > ERS_MAX_DER || (t->cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		ers_errf(err, errlen, "the time-stamp token is not a DER CMS ContentInfo");
		goto fail;
	}
	if (OBJ_obj2nid(CMS_get0_type(t->cms)) != NID_pkcs7_signed ||
	    OBJ_obj2nid(CMS_get0_eContentType(t->cms)) != NID_id_smime_ct_TSTInfo) {
		ers_errf(err, errlen, "the time-stamp token is not SignedData over a TSTInfo");
		goto fail;
	}
	if ((pos = CMS_get0_content(t->cms)) == NULL || *pos == NULL) {
		ers_errf(err, errlen, "the time-stamp token has no TSTInfo content");
		goto fail;
	}
	p = ASN1_STRING_get0_data(*pos);
	if ((t->tst = d2i_TS_TST_INFO(NULL, &p, ASN1_STRING_length(*pos))) == NULL ||
	    p != ASN1_STRING_get0_data(*pos) + ASN1_STRING_length(*pos)) {
		ers_errf(err, errlen, "the token's TSTInfo does not decode");
		goto fail;
	}
	ERR_clear_error();
	return 0;
fail:
	ERR_clear_error();
	ers_tok_free(t);
	return -1;
}

/* The signer certificate of a token (from its certificates), or NULL. Not owned. */
static X509 *ers_tok_signer(struct ers_tok *t, STACK_OF(X509) * certs)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(t->cms);
	CMS_SignerInfo *si;
	int i;

	if (sis == NULL || sk_CMS_SignerInfo_num(sis) < 1 || certs == NULL)
		return NULL;
	si = sk_CMS_SignerInfo_value(sis, 0);
	for (i = 0; i < sk_X509_num(certs); i++)
		if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0)
			return sk_X509_value(certs, i);
	return NULL;
}

/* ASN1_TIME to time_t (UTC); 0 on error. */
static time_t ers_asn1_time(const ASN1_TIME *a)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Fill ti from a decoded token. */
static void ers_tok_info(struct ers_tok *t, struct ers_token_info *ti)
{
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(t->tst);
	const ASN1_OBJECT *alg = NULL;
	ASN1_OCTET_STRING *msg;
	STACK_OF(X509) *certs = CMS_get1_certs(t->cms);
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(t->cms);
	X509_ALGOR *dig = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	X509 *signer;
	EVP_PKEY *pk;

	memset(ti, 0, sizeof(*ti));
	ti->gen_time = ers_asn1_time(TS_TST_INFO_get_time(t->tst));
	X509_ALGOR_get0(&alg, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
	ti->imprint_nid = alg != NULL ? OBJ_obj2nid(alg) : NID_undef;
	msg = TS_MSG_IMPRINT_get_msg(mi);
	if (msg != NULL && ASN1_STRING_length(msg) > 0 &&
	    ASN1_STRING_length(msg) <= (int)sizeof(ti->imprint)) {
		ti->imprint_len = (size_t)ASN1_STRING_length(msg);
		memcpy(ti->imprint, ASN1_STRING_get0_data(msg), ti->imprint_len);
	}
	if ((bn = ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(t->tst), NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL)
		snprintf(ti->serial, sizeof(ti->serial), "%s", hex);
	snprintf(ti->key_type, sizeof(ti->key_type), "?");
	if ((signer = ers_tok_signer(t, certs)) != NULL) {
		X509_NAME_oneline(X509_get_subject_name(signer), ti->tsa, sizeof(ti->tsa));
		ti->tsa_not_after = ers_asn1_time(X509_get0_notAfter(signer));
		if ((pk = X509_get0_pubkey(signer)) != NULL) {
			int id = EVP_PKEY_get_base_id(pk);

			snprintf(ti->key_type, sizeof(ti->key_type), "%s",
				 id == EVP_PKEY_RSA	  ? "rsa"
				 : id == EVP_PKEY_RSA_PSS ? "rsa-pss"
				 : id == EVP_PKEY_EC	  ? "ec"
				 : id == EVP_PKEY_ED25519 ? "ed25519"
				 : id == EVP_PKEY_ED448	  ? "ed448"
				 : id == EVP_PKEY_DSA	  ? "dsa"
							  : "?");
			ti->key_bits = EVP_PKEY_get_bits(pk);
		}
	}
	if (sis != NULL && sk_CMS_SignerInfo_num(sis) > 0) {
		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), NULL, NULL, &dig, NULL);
		if (dig != NULL) {
			X509_ALGOR_get0(&alg, NULL, NULL, dig);
			ti->sig_digest_nid = OBJ_obj2nid(alg);
		}
	}
	sk_X509_pop_free(certs, X509_free);
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
}

int ers_token_describe(const unsigned char *tok, size_t len, struct ers_token_info *ti, char *err,
		       size_t errlen)
{
	struct ers_tok t;

	memset(ti, 0, sizeof(*ti));
	if (ers_tok_decode(tok, len, &t, err, errlen) == -1)
		return ERS_MALFORMED;
	ers_tok_info(&t, ti);
	ers_tok_free(&t);
	return ERS_OK;
}

int ers_ats_alg(const struct ers_ats *a)
{
	struct ers_token_info ti;

	if (a->digest_nid != NID_undef)
		return a->digest_nid;
	if (ers_token_describe(a->ts, a->ts_len, &ti, NULL, 0) != ERS_OK)
		return NID_undef;
	return ti.imprint_nid;
}

/* The OpenSSL errors of the queue as text (emptied). */
static void ers_ossl_reasons(char *out, size_t outlen)
{
	unsigned long e;
	size_t used = 0;

	out[0] = '\0';
	while ((e = ERR_get_error()) != 0 && used + 2 < outlen) {
		const char *r = ERR_reason_error_string(e);

		used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? "; " : "",
					 r ? r : "unknown error");
	}
	ERR_clear_error();
	if (out[0] == '\0')
		snprintf(out, outlen, "no reason given");
}

/* CMS_verify of a token: signature and messageDigest (no path validation). 0 or -1. */
static int ers_tok_verify(struct ers_tok *t, char *why, size_t whylen)
{
	if (CMS_verify(t->cms, NULL, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		ers_ossl_reasons(why, whylen);
		return -1;
	}
	ERR_clear_error();
	return 0;
}

/* Path validation of the token's signer at genTime against anchors. 0 or -1. */
static int ers_tok_path(struct ers_tok *t, X509_STORE *anchors, time_t at, char *why, size_t whylen)
{
	STACK_OF(X509) *certs = CMS_get1_certs(t->cms);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *signer = ers_tok_signer(t, certs);
	int rc = -1;

	if (signer == NULL || ctx == NULL) {
		snprintf(why, whylen, "the token carries no signer certificate");
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, anchors, signer, certs) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_TIMESTAMP_SIGN) != 1) {
		ers_ossl_reasons(why, whylen);
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(why, whylen, "%s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return rc;
}

/* ---- hashing ---- */

/* Compare two byte strings as unsigned, a prefix first. */
static int ers_cmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c != 0)
		return c;
	return al < bl ? -1 : al > bl ? 1 : 0;
}

struct ers_val {
	const unsigned char *p;
	size_t n;
};

static int ers_val_cmp(const void *a, const void *b)
{
	const struct ers_val *x = a, *y = b;

	return ers_cmp(x->p, x->n, y->p, y->n);
}

/* H(sorted concatenation of vals) into out; its length, 0 on error. */
static size_t ers_hash_vals(const EVP_MD *md, struct ers_val *vals, size_t n, unsigned char *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int ol = 0;
	size_t i;
	int ok;

	if (n > 1)
		qsort(vals, n, sizeof(*vals), ers_val_cmp);
	ok = c != NULL && EVP_DigestInit_ex(c, md, NULL);
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(c, vals[i].p, vals[i].n);
	ok = ok && EVP_DigestFinal_ex(c, out, &ol);
	EVP_MD_CTX_free(c);
	return ok ? ol : 0;
}

void ers_hash_sorted(const EVP_MD *md, unsigned char *vals, size_t n, size_t len,
		     unsigned char *out)
{
	struct ers_val *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t i;

	for (i = 0; i < n; i++) {
		v[i].p = vals + i * len;
		v[i].n = len;
	}
	ers_hash_vals(md, v, n, out);
	/* the caller's array in sorted order, as documented */
	if (n > 1) {
		unsigned char *tmp = xmalloc(n * len);

		for (i = 0; i < n; i++)
			memcpy(tmp + i * len, v[i].p, len);
		memcpy(vals, tmp, n * len);
		free(tmp);
	}
	free(v);
}

/* H(a || b) (sorted: the smaller first) into out; its length. */
static size_t ers_hash2(const EVP_MD *md, const unsigned char *a, size_t al, const unsigned char *b,
			size_t bl, int sorted, unsigned char *out)
{
	struct ers_val v[2] = {{a, al}, {b, bl}};
	EVP_MD_CTX *c;
	unsigned int ol = 0;
	int ok;

	if (sorted)
		return ers_hash_vals(md, v, 2, out);
	c = EVP_MD_CTX_new();
	ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, a, al) &&
	     EVP_DigestUpdate(c, b, bl) && EVP_DigestFinal_ex(c, out, &ol);
	EVP_MD_CTX_free(c);
	return ok ? ol : 0;
}

/*
 * Evaluate a reduced hash tree: the root into out (length returned, 0 on error).
 * conv bit 0 (rehash): a list that ends up with a single value is hashed (RFC
 * 4998 5.3 step 3) instead of passed through. conv bit 1 (always append): the
 * child hash is appended to the next list even when the list already holds it
 * (ervt-xaip-12 V002 needs it; ervt-xaip-09 needs the opposite).
 */
static size_t ers_tree_eval(const EVP_MD *md, const struct ers_ats *a, int conv, unsigned char *out)
{
	unsigned char cur[ERS_MAX_HASH];
	size_t curlen = 0, k, i, n;
	struct ers_val *v = NULL;
	size_t cap = 0;
	int rehash = conv & 1, always = conv & 2;

	for (k = 0; k < a->nlists; k++) {
		const struct ers_list *l = &a->lists[k];
		int have = 0;

		if (l->n + 1 > cap) {
			cap = l->n + 1;
			v = xrealloc(v, cap * sizeof(*v));
		}
		for (i = 0, n = 0; i < l->n; i++) {
			v[n].p = l->v[i];
			v[n++].n = l->len[i];
			if (k > 0 && !always && l->len[i] == curlen &&
			    memcmp(l->v[i], cur, curlen) == 0)
				have = 1;
		}
		if (k > 0 && !have) {
			v[n].p = cur;
			v[n++].n = curlen;
		}
		if (n == 1 && !rehash) {
			memmove(cur, v[0].p, v[0].n);
			curlen = v[0].n;
		} else {
			unsigned char tmp[ERS_MAX_HASH];

			if ((curlen = ers_hash_vals(md, v, n, tmp)) == 0)
				break;
			memcpy(cur, tmp, curlen);
		}
	}
	free(v);
	memcpy(out, cur, curlen);
	return curlen;
}

/* 1 if h is in the first list of a (or is the imprint when a has no tree). */
static int ers_covers(const struct ers_ats *a, const struct ers_token_info *ti,
		      const unsigned char *h, size_t hl)
{
	size_t i;

	if (!a->has_tree)
		return hl == ti->imprint_len && memcmp(h, ti->imprint, hl) == 0;
	for (i = 0; i < a->lists[0].n; i++)
		if (a->lists[0].len[i] == hl && memcmp(a->lists[0].v[i], h, hl) == 0)
			return 1;
	return 0;
}

/* ---- verification ---- */

/* The digests of one object under every algorithm needed. */
struct ers_objhash {
	int have[ERS_NALG_OIDS];
	unsigned char v[ERS_NALG_OIDS][ERS_MAX_HASH];
	size_t len[ERS_NALG_OIDS];
};

/* Index of nid in the algorithm table, or -1. */
static int ers_alg_index(int nid)
{
	size_t i;

	for (i = 0; i < ERS_NALG_OIDS; i++)
		if (ers_alg_oids[i].nid == nid)
			return (int)i;
	return -1;
}

/* Hash an object with every algorithm marked in need (file streamed once). 0 or -1. */
static int ers_hash_object(const struct ers_object *o, const int *need, struct ers_objhash *h,
			   char *err, size_t errlen)
{
	EVP_MD_CTX *ctx[ERS_NALG_OIDS] = {0};
	unsigned char *blk = NULL;
	FILE *f = NULL;
	size_t i, r;
	unsigned int ol;
	int rc = -1;

	memset(h, 0, sizeof(*h));
	if (o->path == NULL && o->data == NULL) {
		for (i = 0; i < o->ndigests; i++) {
			int k = ers_alg_index(o->digests[i].nid);

			if (k >= 0 && o->digests[i].len <= ERS_MAX_HASH) {
				memcpy(h->v[k], o->digests[i].v, o->digests[i].len);
				h->len[k] = o->digests[i].len;
				h->have[k] = 1;
			}
		}
		return 0;
	}
	for (i = 0; i < ERS_NALG_OIDS; i++) {
		const EVP_MD *md;

		if (!need[i])
			continue;
		if ((md = EVP_get_digestbynid(ers_alg_oids[i].nid)) == NULL)
			continue; /* unavailable here (e.g. RIPEMD-160 without legacy) */
		if ((ctx[i] = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(ctx[i], md, NULL)) {
			ers_errf(err, errlen, "cannot set up %s", ers_alg_oids[i].name);
			goto out;
		}
	}
	if (o->path != NULL) {
		if ((f = fopen(o->path, "rb")) == NULL) {
			ers_errf(err, errlen, "%s: %s", o->path, strerror(errno));
			goto out;
		}
		blk = xmalloc(ERS_FILE_BLOCK);
		while ((r = fread(blk, 1, ERS_FILE_BLOCK, f)) > 0)
			for (i = 0; i < ERS_NALG_OIDS; i++)
				if (ctx[i] != NULL && !EVP_DigestUpdate(ctx[i], blk, r))
					goto out;
		if (ferror(f)) {
			ers_errf(err, errlen, "%s: read error", o->path);
			goto out;
		}
	} else {
		for (i = 0; i < ERS_NALG_OIDS; i++)
			if (ctx[i] != NULL && !EVP_DigestUpdate(ctx[i], o->data, o->len))
				goto out;
	}
	for (i = 0; i < ERS_NALG_OIDS; i++) {
		if (ctx[i] == NULL)
			continue;
		if (!EVP_DigestFinal_ex(ctx[i], h->v[i], &ol))
			goto out;
		h->len[i] = ol;
		h->have[i] = 1;
	}
	rc = 0;
out:
	for (i = 0; i < ERS_NALG_OIDS; i++)
		EVP_MD_CTX_free(ctx[i]);
	if (f != NULL)
		fclose(f);
	free(blk);
	ERR_clear_error();
	return rc;
}

/* Set the verdict: code at chain c, ATS a (-1: none), with a detail. */
static void ers_fail(struct ers_result *res, enum ers_code code, int c, int a, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void ers_fail(struct ers_result *res, enum ers_code code, int c, int a, const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	res->chain = c;
	res->ats = a;
	if (c >= 0)
		snprintf(res->verdict, sizeof(res->verdict), "INVALID:%s@c%da%d",
			 ers_code_name(code), c, a);
	else
		snprintf(res->verdict, sizeof(res->verdict), "INVALID:%s", ers_code_name(code));
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
}

void ers_result_free(struct ers_result *res)
{
	if (res == NULL)
		return;
	free(res->ats_info);
	res->ats_info = NULL;
}

/* 1 if nid is in the record's digestAlgorithms. */
static int ers_declared(const ers_record *er, int nid)
{
	size_t i;

	for (i = 0; i < er->nalgs; i++)
		if (er->algs[i] == nid && nid != NID_undef)
			return 1;
	return 0;
}

/* Hex of the first bytes of h for messages. */
static const char *ers_hexs(const unsigned char *h, size_t n, char out[24])
{
	size_t i;

	for (i = 0; i < n && i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
	snprintf(out + 2 * i, 5, "...");
	return out;
}

/* Chain i, ATS 0: every object covered, directly (i = 0) or through the renewal rule. */
static int ers_check_objects(const ers_record *er, size_t ci, const struct ers_ats *a,
			     const struct ers_token_info *ti, int alg,
			     const struct ers_object *objs, const struct ers_objhash *oh,
			     size_t nobj, const struct ers_verify_opts *o, struct ers_result *res)
{
	const EVP_MD *md = ers_md(alg);
	int k = ers_alg_index(alg);
	unsigned char ha[ERS_MAX_HASH], h1[ERS_MAX_HASH], h2[ERS_MAX_HASH];
	size_t i, hal = 0, l1, l2;
	char hx[24];

	if (ci > 0)
		hal = ers_sequence_hash(er, ci, md, ha);
	for (i = 0; i < nobj; i++) {
		enum ers_code miss = objs[i].kind == ERS_OBJ_CMS ? ERS_C_CMS_HASH_NOT_COVERED
								 : ERS_C_DATA_NOT_COVERED;
		int ok = 0;

		if (k < 0 || !oh[i].have[k]) {
			ers_fail(res, miss, (int)ci, 0, "%s: no %s digest of it to compare",
				 objs[i].name ? objs[i].name : "object", ers_md_name(alg));
			return -1;
		}
		if (ci == 0) {
			ok = ers_covers(a, ti, oh[i].v[k], oh[i].len[k]);
		} else {
			l1 = ers_hash2(md, oh[i].v[k], oh[i].len[k], ha, hal, 0, h1);
			l2 = ers_hash2(md, oh[i].v[k], oh[i].len[k], ha, hal, 1, h2);
			ok = (!o->sorted_only && l1 > 0 && ers_covers(a, ti, h1, l1)) ||
			     (l2 > 0 && ers_covers(a, ti, h2, l2));
		}
		if (!ok) {
			ers_fail(res, miss, (int)ci, 0,
				 "%s (%s %s) is not covered by the %s of chain %zu",
				 objs[i].name ? objs[i].name : "object", ers_md_name(alg),
				 ers_hexs(oh[i].v[k], oh[i].len[k], hx),
				 a->has_tree ? "first hash list" : "time-stamp imprint", ci);
			return -1;
		}
	}
	return 0;
}

int ers_verify(const ers_record *er, const struct ers_object *objs, size_t nobj,
	       const struct ers_verify_opts *o, struct ers_result *res, char *err, size_t errlen)
{
	static const struct ers_verify_opts defaults;
	struct ers_objhash *oh = NULL;
	struct ers_tok *toks = NULL;
	int need[ERS_NALG_OIDS] = {0}, *tok_ok = NULL;
	size_t ci, ai, i, nats = 0, idx;
	char why[400];
	int rc = ERS_OK;

	if (o == NULL)
		o = &defaults;
	memset(res, 0, sizeof(*res));
	res->chain = res->ats = -1;
	snprintf(res->verdict, sizeof(res->verdict), "VALID");
	res->nchains = er->nchains;
	for (ci = 0; ci < er->nchains; ci++)
		nats += er->chains[ci].n;
	res->nats = nats;
	res->ats_info = xcalloc(nats ? nats : 1, sizeof(*res->ats_info));
	toks = xcalloc(nats ? nats : 1, sizeof(*toks));
	tok_ok = xcalloc(nats ? nats : 1, sizeof(*tok_ok));
	/* decode every token: the report, and the algorithms to hash the data with */
	for (ci = 0, idx = 0; ci < er->nchains; ci++)
		for (ai = 0; ai < er->chains[ci].n; ai++, idx++) {
			const struct ers_ats *a = &er->chains[ci].ats[ai];
			struct ers_ats_report *r = &res->ats_info[idx];

			r->chain = (int)ci;
			r->index = (int)ai;
			if (ers_tok_decode(a->ts, a->ts_len, &toks[idx], NULL, 0) == 0) {
				tok_ok[idx] = 1;
				ers_tok_info(&toks[idx], &r->tok);
				r->tok_ok = 1;
			}
			r->alg_nid = a->digest_nid != NID_undef ? a->digest_nid
				     : r->tok_ok		? r->tok.imprint_nid
								: NID_undef;
			if (ai == 0 && ers_alg_index(r->alg_nid) >= 0)
				need[ers_alg_index(r->alg_nid)] = 1;
		}
	if (er->version != 1) {
		ers_fail(res, ERS_C_ER_VERSION, -1, -1, "EvidenceRecord.version is %ld, not 1",
			 er->version);
		goto out;
	}
	oh = xcalloc(nobj ? nobj : 1, sizeof(*oh));
	for (i = 0; i < nobj; i++)
		if (ers_hash_object(&objs[i], need, &oh[i], err, errlen) == -1) {
			ers_fail(res, ERS_C_NO_DATA, -1, -1, "%s", err);
			rc = ERS_ERROR;
			goto out;
		}
	for (ci = 0, idx = 0; ci < er->nchains; ci++) {
		for (ai = 0; ai < er->chains[ci].n; ai++, idx++) {
			const struct ers_ats *a = &er->chains[ci].ats[ai];
			const struct ers_token_info *ti = &res->ats_info[idx].tok;
			int alg = res->ats_info[idx].alg_nid;
			const EVP_MD *md = ers_md(alg);
			unsigned char root[ERS_MAX_HASH], h[ERS_MAX_HASH];
			size_t rl, hl;
			unsigned int uhl;
			char hx[24];

			if (!tok_ok[idx]) {
				ers_tok_decode(a->ts, a->ts_len, &toks[idx], why, sizeof(why));
				ers_fail(res, ERS_C_TST_SIGNATURE, (int)ci, (int)ai, "%s", why);
				goto out;
			}
			if (!ers_declared(er, alg)) {
				ers_fail(
				    res, ERS_C_DIGEST_ALG_NOT_DECLARED, (int)ci, (int)ai,
				    "the time-stamp uses %s, which digestAlgorithms does not list",
				    ers_md_name(alg));
				goto out;
			}
			if (md == NULL) {
				ers_fail(res, ERS_C_DIGEST_ALG_NOT_DECLARED, (int)ci, (int)ai,
					 "hash algorithm %s is not available", ers_md_name(alg));
				goto out;
			}
			if (a->digest_nid != NID_undef && a->digest_nid != ti->imprint_nid) {
				ers_fail(res, ERS_C_DIGEST_ALG_MISMATCH, (int)ci, (int)ai,
					 "digestAlgorithm %s, but the token's imprint is %s",
					 ers_md_name(a->digest_nid), ers_md_name(ti->imprint_nid));
				goto out;
			}
			if (a->has_tree) {
				int match = 0, conv;

				for (conv = 0; conv < 4 && !match; conv++) {
					rl = ers_tree_eval(md, a, conv, root);
					match = rl == ti->imprint_len &&
						memcmp(root, ti->imprint, rl) == 0;
				}
				if (!match) {
					ers_fail(res, ERS_C_ROOT_MISMATCH, (int)ci, (int)ai,
						 "the reduced hash tree gives %s, the time-stamp "
						 "imprint is %s",
						 ers_hexs(root, rl, hx),
						 ers_hexs(ti->imprint, ti->imprint_len, why));
					goto out;
				}
			}
			if (ai == 0) {
				if (ers_check_objects(er, ci, a, ti, alg, objs, oh, nobj, o, res) ==
				    -1)
					goto out;
			} else {
				const struct ers_ats *prev = &er->chains[ci].ats[ai - 1];

				if (!EVP_Digest(prev->ts, prev->ts_len, h, &uhl, md, NULL)) {
					ers_fail(res, ERS_C_PREV_ATS_NOT_COVERED, (int)ci, (int)ai,
						 "cannot hash the previous time-stamp");
					goto out;
				}
				hl = uhl;
				if (!ers_covers(a, ti, h, hl)) {
					ers_fail(res, ERS_C_PREV_ATS_NOT_COVERED, (int)ci, (int)ai,
						 "the hash of the previous time-stamp (%s) is not "
						 "covered",
						 ers_hexs(h, hl, hx));
					goto out;
				}
			}
			if (ers_tok_verify(&toks[idx], why, sizeof(why)) == -1) {
				ers_fail(res, ERS_C_TST_SIGNATURE, (int)ci, (int)ai,
					 "the time-stamp token's signature does not verify: %s",
					 why);
				goto out;
			}
			if (o->anchors != NULL && ers_tok_path(&toks[idx], o->anchors, ti->gen_time,
							       why, sizeof(why)) == -1) {
				ers_fail(res, ERS_C_TST_CHAIN, (int)ci, (int)ai,
					 "the TSA certificate (%s) does not chain to the trust "
					 "anchors at the time-stamp's time: %s",
					 ti->tsa[0] ? ti->tsa : "not in the token", why);
				goto out;
			}
		}
	}
out:
	for (i = 0; i < nats; i++)
		ers_tok_free(&toks[i]);
	free(toks);
	free(tok_ok);
	free(oh);
	ERR_clear_error();
	return rc;
}

int ers_verify_der(const unsigned char *der, size_t len, const struct ers_object *objs, size_t nobj,
		   const struct ers_verify_opts *o, struct ers_result *res, char *err,
		   size_t errlen)
{
	ers_record *er = NULL;
	char why[300];
	int rc;

	if (ers_parse(der, len, &er, why, sizeof(why)) != ERS_OK) {
		memset(res, 0, sizeof(*res));
		ers_fail(res, ERS_C_MALFORMED, -1, -1, "not a DER EvidenceRecord: %s", why);
		return ERS_OK;
	}
	rc = ers_verify(er, objs, nobj, o, res, err, errlen);
	ers_record_free(er);
	return rc;
}

/* ---- the hash tree ---- */

struct ers_tree {
	const EVP_MD *md;
	size_t hlen;
	size_t nlevels;	       /* levels; the last one has one node (the root) */
	unsigned char **level; /* level[k]: count[k] nodes of hlen bytes */
	size_t *count;
};

ers_tree *ers_tree_new(const EVP_MD *md, const unsigned char *leaves, size_t n, char *err,
		       size_t errlen)
{
	ers_tree *t;
	size_t k, cnt, p, hl;
	int hls = md != NULL ? EVP_MD_get_size(md) : 0;

	if (md == NULL || hls <= 0 || n == 0 || n > ERS_MAX_TREE_LEAVES) {
		ers_errf(err, errlen, "a hash tree needs 1 to %u leaves and a digest",
			 ERS_MAX_TREE_LEAVES);
		return NULL;
	}
	hl = (size_t)hls;
	t = xcalloc(1, sizeof(*t));
	t->md = md;
	t->hlen = hl;
	t->level = xcalloc(64, sizeof(*t->level));
	t->count = xcalloc(64, sizeof(*t->count));
	t->level[0] = xmalloc(n * hl);
	memcpy(t->level[0], leaves, n * hl);
	t->count[0] = n;
	t->nlevels = 1;
	for (k = 0; t->count[k] > 1; k++) {
		cnt = t->count[k];
		t->count[k + 1] = (cnt + 1) / 2;
		t->level[k + 1] = xmalloc(t->count[k + 1] * hl);
		for (p = 0; p < t->count[k + 1]; p++) {
			struct ers_val v[2];

			if (2 * p + 1 == cnt) { /* the odd last node moves up unchanged */
				memcpy(t->level[k + 1] + p * hl, t->level[k] + 2 * p * hl, hl);
				continue;
			}
			v[0].p = t->level[k] + 2 * p * hl;
			v[1].p = t->level[k] + (2 * p + 1) * hl;
			v[0].n = v[1].n = hl;
			if (ers_hash_vals(md, v, 2, t->level[k + 1] + p * hl) != hl) {
				ers_errf(err, errlen, "hashing failed");
				return ers_tree_free(t);
			}
		}
		t->nlevels++;
	}
	return t;
}

ers_tree *ers_tree_free(ers_tree *t)
{
	size_t k;

	if (t == NULL)
		return NULL;
	for (k = 0; k < t->nlevels; k++)
		free(t->level[k]);
	free(t->level);
	free(t->count);
	free(t);
	return NULL;
}

size_t ers_tree_leaves(const ers_tree *t)
{
	return t->count[0];
}

const unsigned char *ers_tree_root(const ers_tree *t)
{
	return t->level[t->nlevels - 1];
}

int ers_tree_root_input(const ers_tree *t, buf *out)
{
	struct ers_val v[2];
	size_t k, i;

	if (t->nlevels < 2)
		return ERS_ERROR;
	k = t->nlevels - 2; /* the top node's two children */
	for (i = 0; i < 2; i++) {
		v[i].p = t->level[k] + i * t->hlen;
		v[i].n = t->hlen;
	}
	qsort(v, 2, sizeof(v[0]), ers_val_cmp);
	for (i = 0; i < 2; i++)
		if (buf_add(out, v[i].p, v[i].n) == -1)
			return ERS_ERROR;
	return ERS_OK;
}

int ers_tree_path(const ers_tree *t, size_t i, int skip_first, const unsigned char **vals,
		  size_t *counts, size_t *nlists)
{
	size_t k, x = i, nv = 0, sib;

	*nlists = 0;
	if (i >= t->count[0])
		return ERS_ERROR;
	if (!skip_first) {
		vals[nv++] = t->level[0] + x * t->hlen;
		counts[0] = 1;
		*nlists = 1;
	}
	for (k = 0; k + 1 < t->nlevels; k++, x /= 2) {
		sib = x ^ 1;
		if (sib >= t->count[k])
			continue; /* promoted: no sibling on this level */
		vals[nv++] = t->level[k] + sib * t->hlen;
		if (k == 0 && !skip_first)
			counts[0]++; /* the first list: the leaf and its sibling */
		else
			counts[(*nlists)++] = 1;
	}
	return ERS_OK;
}

/* ---- DER writing ---- */

/* Size of a DER length field for n. */
static size_t der_len_size(size_t n)
{
	return n < 0x80 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffff ? 4 : 5;
}

/* Append a header: tag and the length n. */
static int der_put_hdr(buf *b, unsigned char tag, size_t n)
{
	unsigned char h[6];
	size_t l = der_len_size(n), i;

	h[0] = tag;
	if (l == 1) {
		h[1] = (unsigned char)n;
	} else {
		h[1] = (unsigned char)(0x80 | (l - 1));
		for (i = 0; i < l - 1; i++)
			h[2 + i] = (unsigned char)(n >> (8 * (l - 2 - i)));
	}
	return buf_add(b, h, 1 + l);
}

/* The AlgorithmIdentifier content of md: OID and NULL parameters. */
static int der_put_alg(buf *b, unsigned char tag, int nid)
{
	const struct ers_alg_oid *a = ers_alg_by_nid(nid);
	static const unsigned char null_par[2] = {0x05, 0x00};

	if (a == NULL)
		return -1;
	if (der_put_hdr(b, tag, 2 + a->oid_len + 2) == -1 ||
	    der_put_hdr(b, 0x06, a->oid_len) == -1 || buf_add(b, a->oid, a->oid_len) == -1 ||
	    buf_add(b, null_par, 2) == -1)
		return -1;
	return 0;
}

/* Size of the AlgorithmIdentifier TLV of nid. */
static size_t der_alg_size(int nid)
{
	const struct ers_alg_oid *a = ers_alg_by_nid(nid);

	return a == NULL ? 0 : 2 + 2 + a->oid_len + 2;
}

int ers_ats_encode(buf *out, const EVP_MD *md, int with_alg, const unsigned char *group,
		   size_t ngroup, const unsigned char *const *vals, const size_t *counts,
		   size_t nlists, const unsigned char *token, size_t token_len)
{
	int nid = EVP_MD_get_type(md), hls = EVP_MD_get_size(md);
	size_t hl, val_tlv, tree = 0, content = 0, k, i, v;

	if (hls <= 0 || hls >= 0x80 || ers_alg_by_nid(nid) == NULL)
		return ERS_ERROR;
	hl = (size_t)hls;
	val_tlv = 2 + hl;
	if (ngroup > 0)
		tree += 1 + der_len_size(ngroup * val_tlv) + ngroup * val_tlv;
	for (k = 0; k < nlists; k++)
		tree += 1 + der_len_size(counts[k] * val_tlv) + counts[k] * val_tlv;
	if (with_alg)
		content += der_alg_size(nid);
	if (tree > 0)
		content += 1 + der_len_size(tree) + tree;
	content += token_len;
	if (der_put_hdr(out, 0x30, content) == -1 ||
	    (with_alg && der_put_alg(out, 0xa0, nid) == -1))
		return ERS_ERROR;
	if (tree > 0) {
		if (der_put_hdr(out, 0xa2, tree) == -1)
			return ERS_ERROR;
		if (ngroup > 0) {
			if (der_put_hdr(out, 0x30, ngroup * val_tlv) == -1)
				return ERS_ERROR;
			for (i = 0; i < ngroup; i++)
				if (der_put_hdr(out, 0x04, hl) == -1 ||
				    buf_add(out, group + i * hl, hl) == -1)
					return ERS_ERROR;
		}
		for (k = 0, v = 0; k < nlists; k++) {
			if (der_put_hdr(out, 0x30, counts[k] * val_tlv) == -1)
				return ERS_ERROR;
			for (i = 0; i < counts[k]; i++, v++)
				if (der_put_hdr(out, 0x04, hl) == -1 ||
				    buf_add(out, vals[v], hl) == -1)
					return ERS_ERROR;
		}
	}
	if (buf_add(out, token, token_len) == -1)
		return ERS_ERROR;
	return ERS_OK;
}

/* Write the EvidenceRecord around: head (version, algs, extra) and the chain bodies. */
static int ers_write_record(buf *out, const unsigned char *ver, size_t lver, const buf *algs,
			    const unsigned char *extra, size_t lextra, const buf *seq_content)
{
	size_t algs_tlv = 1 + der_len_size(algs->len) + algs->len;
	size_t seq_tlv = 1 + der_len_size(seq_content->len) + seq_content->len;

	if (der_put_hdr(out, 0x30, lver + algs_tlv + lextra + seq_tlv) == -1 ||
	    buf_add(out, ver, lver) == -1 || der_put_hdr(out, 0x30, algs->len) == -1 ||
	    buf_add(out, algs->data, algs->len) == -1 || buf_add(out, extra, lextra) == -1 ||
	    der_put_hdr(out, 0x30, seq_content->len) == -1 ||
	    buf_add(out, seq_content->data, seq_content->len) == -1)
		return ERS_ERROR;
	return ERS_OK;
}

int ers_record_encode(buf *out, const EVP_MD *md, const unsigned char *ats, size_t ats_len)
{
	static const unsigned char v1[3] = {0x02, 0x01, 0x01};
	buf algs, seq;
	int rc = ERS_ERROR;

	buf_init(&algs, 4096);
	buf_init(&seq, ERS_MAX_DER);
	if (der_put_alg(&algs, 0x30, EVP_MD_get_type(md)) == -1 ||
	    der_put_hdr(&seq, 0x30, ats_len) == -1 || buf_add(&seq, ats, ats_len) == -1)
		goto out;
	rc = ers_write_record(out, v1, sizeof(v1), &algs, NULL, 0, &seq);
out:
	buf_free(&algs);
	buf_free(&seq);
	return rc;
}

int ers_append_ats(const ers_record *er, const unsigned char *ats, size_t ats_len, buf *out)
{
	const struct ers_record_priv *pr = (const struct ers_record_priv *)er;
	const struct ers_chain *last = &er->chains[er->nchains - 1];
	size_t i, body = 0;
	buf algs, seq;
	int rc = ERS_ERROR;

	buf_init(&algs, 4096);
	buf_init(&seq, ERS_MAX_DER);
	if (last->n >= ERS_MAX_ATS || buf_add(&algs, pr->p_algs, pr->l_algs) == -1)
		goto out;
	for (i = 0; i + 1 < er->nchains; i++)
		if (buf_add(&seq, er->chains[i].der, er->chains[i].der_len) == -1)
			goto out;
	for (i = 0; i < last->n; i++)
		body += last->ats[i].der_len;
	body += ats_len;
	if (der_put_hdr(&seq, 0x30, body) == -1)
		goto out;
	for (i = 0; i < last->n; i++)
		if (buf_add(&seq, last->ats[i].der, last->ats[i].der_len) == -1)
			goto out;
	if (buf_add(&seq, ats, ats_len) == -1)
		goto out;
	rc = ers_write_record(out, pr->p_version, pr->l_version, &algs, pr->p_extra, pr->l_extra,
			      &seq);
out:
	buf_free(&algs);
	buf_free(&seq);
	return rc;
}

int ers_append_chain(const ers_record *er, const EVP_MD *md, const unsigned char *ats,
		     size_t ats_len, buf *out)
{
	const struct ers_record_priv *pr = (const struct ers_record_priv *)er;
	size_t i;
	buf algs, seq;
	int rc = ERS_ERROR;

	buf_init(&algs, 4096);
	buf_init(&seq, ERS_MAX_DER);
	if (er->nchains >= ERS_MAX_CHAINS || buf_add(&algs, pr->p_algs, pr->l_algs) == -1)
		goto out;
	if (!ers_declared(er, EVP_MD_get_type(md)) &&
	    der_put_alg(&algs, 0x30, EVP_MD_get_type(md)) == -1)
		goto out;
	for (i = 0; i < er->nchains; i++)
		if (buf_add(&seq, er->chains[i].der, er->chains[i].der_len) == -1)
			goto out;
	if (der_put_hdr(&seq, 0x30, ats_len) == -1 || buf_add(&seq, ats, ats_len) == -1)
		goto out;
	rc = ers_write_record(out, pr->p_version, pr->l_version, &algs, pr->p_extra, pr->l_extra,
			      &seq);
out:
	buf_free(&algs);
	buf_free(&seq);
	return rc;
}

size_t ers_sequence_hash(const ers_record *er, size_t nchains, const EVP_MD *md, unsigned char *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char hdr[8];
	size_t i, body = 0, hlen;
	unsigned int ol = 0;
	buf h;
	int ok;

	if (nchains > er->nchains)
		nchains = er->nchains;
	for (i = 0; i < nchains; i++)
		body += er->chains[i].der_len;
	buf_init(&h, sizeof(hdr));
	ok = c != NULL && md != NULL && der_put_hdr(&h, 0x30, body) == 0;
	hlen = h.len;
	if (ok)
		memcpy(hdr, h.data, hlen);
	buf_free(&h);
	ok = ok && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, hdr, hlen);
	for (i = 0; ok && i < nchains; i++)
		ok = EVP_DigestUpdate(c, er->chains[i].der, er->chains[i].der_len);
	ok = ok && EVP_DigestFinal_ex(c, out, &ol);
	EVP_MD_CTX_free(c);
	return ok ? ol : 0;
}

const struct ers_ats *ers_last_ats(const ers_record *er)
{
	const struct ers_chain *c = &er->chains[er->nchains - 1];

	return &c->ats[c->n - 1];
}

/* ---- CMS signatures carrying an ER (BER allowed) ---- */

/* One BER element. */
struct ber_el {
	const unsigned char *hdr;
	size_t tag_len, hdr_len;
	const unsigned char *val;
	size_t len;   /* content length (without the end-of-contents octets) */
	size_t total; /* the whole element, end-of-contents included */
	int indef;
	unsigned char tag; /* first identifier octet */
};

/* Read one BER element at p (before end), depth-limited for indefinite lengths. */
static int ber_read(const unsigned char *p, const unsigned char *end, struct ber_el *e, int depth)
{
	const unsigned char *q = p;
	size_t len, nb, i;

	if (depth > ERS_BER_DEPTH || q >= end)
		return -1;
	e->hdr = q;
	e->tag = *q++;
	if ((e->tag & 0x1f) == 0x1f) {
		for (i = 0; q < end && (*q & 0x80); q++, i++)
			if (i > 4)
				return -1;
		if (q >= end)
			return -1;
		q++;
	}
	e->tag_len = (size_t)(q - p);
	if (q >= end)
		return -1;
	if (*q == 0x80) {
		const unsigned char *c;
		struct ber_el ch;

		if (!(e->tag & 0x20))
			return -1; /* indefinite length on a primitive */
		q++;
		e->hdr_len = (size_t)(q - p);
		e->val = q;
		e->indef = 1;
		for (c = q;;) {
			if (end - c >= 2 && c[0] == 0 && c[1] == 0)
				break;
			if (ber_read(c, end, &ch, depth + 1) == -1)
				return -1;
			c += ch.total;
		}
		e->len = (size_t)(c - q);
		e->total = e->hdr_len + e->len + 2;
		return 0;
	}
	if (*q < 0x80) {
		len = *q++;
	} else {
		nb = *q++ & 0x7f;
		if (nb == 0 || nb > 4 || (size_t)(end - q) < nb)
			return -1;
		for (len = 0, i = 0; i < nb; i++)
			len = (len << 8) | *q++;
	}
	if (len > (size_t)(end - q))
		return -1;
	e->hdr_len = (size_t)(q - p);
	e->val = q;
	e->len = len;
	e->indef = 0;
	e->total = e->hdr_len + len;
	return 0;
}

/* The children of e: up to max, into out; the count, or -1. */
static int ber_children(const struct ber_el *e, struct ber_el *out, int max, int depth)
{
	const unsigned char *p = e->val, *end = e->val + e->len;
	int n = 0;

	while (p < end) {
		if (n == max || ber_read(p, end, &out[n], depth + 1) == -1)
			return -1;
		p += out[n++].total;
	}
	return n;
}

#define ERS_CMS_MAX_CHILDREN 16
#define ERS_CMS_MAX_ATTRS 64

int ers_cms_split(const unsigned char *p7s, size_t len, buf *er_out, buf *cms_out, int *internal,
		  char *err, size_t errlen)
{
	static const unsigned char oid_signed[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
						   0x0d, 0x01, 0x07, 0x02};
	static const unsigned char oid_er[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
					       0x0d, 0x01, 0x09, 0x10, 0x02};
	struct ber_el ci, kids[ERS_CMS_MAX_CHILDREN], sd[ERS_CMS_MAX_CHILDREN];
	struct ber_el sis[ERS_CMS_MAX_CHILDREN], si[ERS_CMS_MAX_CHILDREN];
	struct ber_el attrs[ERS_CMS_MAX_ATTRS], parts[4], vals[2];
	struct ber_el anc[8];
	const unsigned char *rs = NULL, *re = NULL;
	size_t nanc = 0, k;
	size_t newlen[8], delta;
	unsigned char newhdr[8][8];
	size_t newhdr_len[8];
	int n, nsd, nsis, nsi, na, i, found = 0, which = -1, found_attr = -1;

	*internal = 0;
	if (len == 0 || len > ERS_MAX_DER || ber_read(p7s, p7s + len, &ci, 0) == -1 ||
	    ci.total != len || ci.tag != 0x30) {
		ers_errf(err, errlen, "not a CMS ContentInfo (BER)");
		return ERS_MALFORMED;
	}
	if ((n = ber_children(&ci, kids, ERS_CMS_MAX_CHILDREN, 0)) != 2 || kids[0].tag != 0x06 ||
	    kids[0].len != sizeof(oid_signed) ||
	    memcmp(kids[0].val, oid_signed, sizeof(oid_signed)) != 0 || kids[1].tag != 0xa0) {
		ers_errf(err, errlen, "not a CMS SignedData");
		return ERS_MALFORMED;
	}
	anc[nanc++] = ci;
	anc[nanc++] = kids[1];
	if (ber_children(&kids[1], sd, 1, 1) != 1 || sd[0].tag != 0x30) {
		ers_errf(err, errlen, "the SignedData is malformed");
		return ERS_MALFORMED;
	}
	anc[nanc++] = sd[0];
	if ((nsd = ber_children(&anc[2], sd, ERS_CMS_MAX_CHILDREN, 2)) < 4 ||
	    sd[nsd - 1].tag != 0x31) {
		ers_errf(err, errlen, "the SignedData has no signerInfos");
		return ERS_MALFORMED;
	}
	anc[nanc++] = sd[nsd - 1];
	if ((nsis = ber_children(&sd[nsd - 1], sis, ERS_CMS_MAX_CHILDREN, 3)) < 1) {
		ers_errf(err, errlen, "the signerInfos are malformed");
		return ERS_MALFORMED;
	}
	for (i = 0; i < nsis; i++) {
		int a;

		if (sis[i].tag != 0x30 ||
		    (nsi = ber_children(&sis[i], si, ERS_CMS_MAX_CHILDREN, 4)) < 5) {
			ers_errf(err, errlen, "SignerInfo %d is malformed", i);
			return ERS_MALFORMED;
		}
		if (si[nsi - 1].tag != 0xa1)
			continue;
		if ((na = ber_children(&si[nsi - 1], attrs, ERS_CMS_MAX_ATTRS, 5)) < 1) {
			ers_errf(err, errlen, "unsignedAttrs of SignerInfo %d are malformed", i);
			return ERS_MALFORMED;
		}
		for (a = 0; a < na; a++) {
			if (attrs[a].tag != 0x30 || ber_children(&attrs[a], parts, 4, 6) != 2 ||
			    parts[0].tag != 0x06 || parts[0].len != sizeof(oid_er) + 1 ||
			    memcmp(parts[0].val, oid_er, sizeof(oid_er)) != 0 ||
			    (parts[0].val[sizeof(oid_er)] != 0x31 &&
			     parts[0].val[sizeof(oid_er)] != 0x32))
				continue;
			if (found++ > 0) {
				ers_errf(err, errlen, "more than one evidence record attribute");
				return ERS_MALFORMED;
			}
			if (parts[1].tag != 0x31 || ber_children(&parts[1], vals, 2, 7) != 1) {
				ers_errf(err, errlen,
					 "the evidence record attribute must hold one value");
				return ERS_MALFORMED;
			}
			*internal = parts[0].val[sizeof(oid_er)] == 0x31;
			buf_reset(er_out);
			if (buf_add(er_out, vals[0].hdr, vals[0].total) == -1)
				return ERS_ERROR;
			anc[nanc] = sis[i];
			which = i;
			found_attr = a;
			if (na == 1) { /* the whole [1] goes */
				rs = si[nsi - 1].hdr;
				re = rs + si[nsi - 1].total;
			} else {
				anc[nanc + 1] = si[nsi - 1];
				rs = attrs[a].hdr;
				re = rs + attrs[a].total;
			}
			(void)found_attr;
			if (na > 1)
				nanc += 2;
			else
				nanc += 1;
		}
	}
	if (!found || which < 0) {
		ers_errf(err, errlen,
			 "no evidence record attribute (id-aa-er-internal/-external) in the "
			 "unsigned attributes");
		return ERS_MALFORMED;
	}
	/* new lengths from the inside out */
	delta = (size_t)(re - rs);
	for (k = nanc; k-- > 0;) {
		buf h;

		if (anc[k].indef) {
			newhdr_len[k] = anc[k].hdr_len;
			memcpy(newhdr[k], anc[k].hdr, anc[k].hdr_len);
			continue;
		}
		newlen[k] = anc[k].len - delta;
		buf_init(&h, 16);
		if (anc[k].tag_len != 1 || der_put_hdr(&h, anc[k].tag, newlen[k]) == -1) {
			buf_free(&h);
			ers_errf(err, errlen, "unsupported tag in the signature");
			return ERS_MALFORMED;
		}
		newhdr_len[k] = h.len;
		memcpy(newhdr[k], h.data, h.len);
		buf_free(&h);
		delta += anc[k].hdr_len - newhdr_len[k];
	}
	buf_reset(cms_out);
	for (k = 0; k < nanc; k++) {
		const unsigned char *to = k + 1 < nanc ? anc[k + 1].hdr : rs;

		if (buf_add(cms_out, newhdr[k], newhdr_len[k]) == -1 ||
		    buf_add(cms_out, anc[k].val, (size_t)(to - anc[k].val)) == -1)
			return ERS_ERROR;
	}
	{
		const struct ber_el *in = &anc[nanc - 1];

		if (buf_add(cms_out, re, (size_t)(in->val + in->len - re)) == -1)
			return ERS_ERROR;
	}
	for (k = nanc; k-- > 0;) {
		const unsigned char *from = k + 1 < nanc ? anc[k + 1].hdr + anc[k + 1].total : NULL;
		const unsigned char *to = anc[k].hdr + anc[k].total;

		if (from == NULL) { /* the innermost: only its end-of-contents */
			if (anc[k].indef && buf_add(cms_out, to - 2, 2) == -1)
				return ERS_ERROR;
			continue;
		}
		if (buf_add(cms_out, from, (size_t)(to - from)) == -1)
			return ERS_ERROR;
	}
	return ERS_OK;
}
