/*
 * tsa.c - RFC 3161 time-stamp client over libcurl; see tsa.h.
 *
 * One request: TS_REQ (version 1, message imprint, 64-bit nonce from RAND_bytes,
 * certReq, policy when configured) as DER, POSTed with Content-Type
 * application/timestamp-query; the answer is collected into a bounded buffer and
 * checked step by step, each step with its own message, so that a person reading
 * the quarantine reason knows whether to fix the URL, the CA or call the TSA.
 * The token handed back is the byte range of the TimeStampResp that holds it,
 * not a re-encoding, so nothing the TSA signed can change on the way.
 * Nothing is logged here: every failure goes into err for the caller, who knows
 * the job id.
 */
#include "tsa.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "fault.h"
#include "xalloc.h"

#define TSA_CT_QUERY "application/timestamp-query"
#define TSA_CT_REPLY "application/timestamp-reply"
#define TSA_NONCE_BYTES 8
#define TSA_CONF_HINT "conf/signing.yaml `tsa:`"

struct tsa_client {
	char *url;
	char *ca_path;
	char *tls_ca_path;
	char *proxy;
	ASN1_OBJECT *policy; /* NULL: the TSA's default */
	const EVP_MD *md;
	long timeout;
	X509_STORE *store; /* trust anchors for the TSA certificate */
	CURL *curl;
	int curl_global; /* curl_global_init succeeded: pair it with cleanup */
	struct curl_slist *headers;
	char curlerr[CURL_ERROR_SIZE];
	buf resp;	 /* the answer being received, at most TSA_MAX_RESPONSE */
	int resp_toobig; /* the write callback refused more */
};

static void tsa_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a message into err. */
static void tsa_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Drain OpenSSL's error queue into out as "reason (detail); reason". Returns the
 * reason code of the first error (0 if the queue was empty).
 */
static int tsa_ossl_reasons(char *out, size_t outlen)
{
	const char *data, *reason;
	unsigned long e;
	int flags, first = 0;
	size_t off = 0;

	out[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (first == 0)
			first = ERR_GET_REASON(e);
		if ((reason = ERR_reason_error_string(e)) == NULL)
			reason = "unknown OpenSSL error";
		if (off < outlen)
			off += (size_t)snprintf(out + off, outlen - off, "%s%s", off ? "; " : "",
						reason);
		if ((flags & ERR_TXT_STRING) && data != NULL && *data != '\0' && off < outlen)
			off += (size_t)snprintf(out + off, outlen - off, " (%s)", data);
	}
	if (out[0] == '\0')
		snprintf(out, outlen, "no detail from OpenSSL");
	return first;
}

/* The write callback: append to the bounded answer buffer, refuse beyond it. */
static size_t tsa_write_cb(char *p, size_t size, size_t n, void *arg)
{
	tsa_client *t = arg;
	size_t len = size * n;

	if (buf_add(&t->resp, p, len) == -1) {
		t->resp_toobig = 1;
		return 0;
	}
	return len;
}

/* The digest named by the configuration; NULL if it is not one we allow. */
static const EVP_MD *tsa_digest(const char *name)
{
	if (name == NULL || strcmp(name, "sha256") == 0)
		return EVP_sha256();
	if (strcmp(name, "sha384") == 0)
		return EVP_sha384();
	if (strcmp(name, "sha512") == 0)
		return EVP_sha512();
	return NULL;
}

/* Set the libcurl options that stay the same for every request. 0 or -1. */
static int tsa_curl_setup(tsa_client *t)
{
	CURL *c = t->curl;
	struct curl_slist *h;

	/* "Expect:" keeps libcurl from waiting for a 100-continue the TSA never sends. */
	if ((h = curl_slist_append(NULL, "Content-Type: " TSA_CT_QUERY)) == NULL)
		return -1;
	t->headers = h;
	if ((h = curl_slist_append(t->headers, "Accept: " TSA_CT_REPLY)) == NULL ||
	    (h = curl_slist_append(t->headers, "Expect:")) == NULL)
		return -1;
	if (curl_easy_setopt(c, CURLOPT_URL, t->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "mailroom-sign/" MAILROOM_VERSION) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, t->timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, t->timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TSA_MAX_RESPONSE) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tsa_write_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, t) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->curlerr) != CURLE_OK)
		return -1;
	if (t->tls_ca_path != NULL &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, t->tls_ca_path) != CURLE_OK)
		return -1;
	if (t->proxy != NULL && curl_easy_setopt(c, CURLOPT_PROXY, t->proxy) != CURLE_OK)
		return -1;
	return 0;
}

tsa_client *tsa_open(const struct tsa_conf *c, char *err, size_t errlen)
{
	tsa_client *t;
	char why[512];

	err[0] = '\0';
	if (c->url == NULL ||
	    (strncasecmp(c->url, "http://", 7) != 0 && strncasecmp(c->url, "https://", 8) != 0)) {
		tsa_errf(err, errlen, "TSA URL \"%s\" is not an http:// or https:// URL: fix %s",
			 c->url ? c->url : "", TSA_CONF_HINT);
		return NULL;
	}
	if (c->ca_path == NULL) {
		tsa_errf(err, errlen, "no CA for the TSA certificate: set it in %s", TSA_CONF_HINT);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->url = xstrdup(c->url);
	t->ca_path = xstrdup(c->ca_path);
	t->tls_ca_path = c->tls_ca_path ? xstrdup(c->tls_ca_path) : NULL;
	t->proxy = c->proxy ? xstrdup(c->proxy) : NULL;
	t->timeout = c->timeout_seconds > 0 ? c->timeout_seconds : TSA_DEFAULT_TIMEOUT;
	buf_init(&t->resp, TSA_MAX_RESPONSE);
	if ((t->md = tsa_digest(c->digest)) == NULL) {
		tsa_errf(err, errlen, "TSA digest \"%s\" is not sha256, sha384 or sha512: fix %s",
			 c->digest, TSA_CONF_HINT);
		goto fail;
	}
	if (c->policy != NULL && (t->policy = OBJ_txt2obj(c->policy, 1)) == NULL) {
		ERR_clear_error();
		tsa_errf(err, errlen, "TSA policy \"%s\" is not a dotted OID: fix %s", c->policy,
			 TSA_CONF_HINT);
		goto fail;
	}
	if (access(t->ca_path, R_OK) == -1) {
		tsa_errf(err, errlen,
			 "%s: cannot read the CA for the TSA certificate: %s: fix the path in %s "
			 "(for tests: scripts/pki.sh VARDIR makes pki/ca.pem)",
			 t->ca_path, strerror(errno), TSA_CONF_HINT);
		goto fail;
	}
	if ((t->store = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(t->store, t->ca_path) != 1 ||
	    sk_X509_OBJECT_num(X509_STORE_get0_objects(t->store)) < 1) {
		tsa_ossl_reasons(why, sizeof(why));
		tsa_errf(err, errlen,
			 "%s: no PEM CA certificate for the TSA in it (%s): fix the path in %s",
			 t->ca_path, why, TSA_CONF_HINT);
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tsa_errf(err, errlen, "libcurl cannot be initialised");
		goto fail;
	}
	t->curl_global = 1;
	if ((t->curl = curl_easy_init()) == NULL || tsa_curl_setup(t) == -1) {
		tsa_errf(err, errlen,
			 "libcurl refuses the settings for %s (libcurl %s too old? it needs 7.85)",
			 t->url, curl_version());
		goto fail;
	}
	return t;
fail:
	tsa_close(t);
	return NULL;
}

tsa_client *tsa_close(tsa_client *t)
{
	if (t == NULL)
		return NULL;
	if (t->curl != NULL)
		curl_easy_cleanup(t->curl);
	if (t->curl_global)
		curl_global_cleanup();
	curl_slist_free_all(t->headers);
	X509_STORE_free(t->store);
	ASN1_OBJECT_free(t->policy);
	buf_free(&t->resp);
	free(t->url);
	free(t->ca_path);
	free(t->tls_ca_path);
	free(t->proxy);
	free(t);
	return NULL;
}

const char *tsa_url(const tsa_client *t)
{
	return t->url;
}

/* Build the request for data: imprint, fresh nonce, certReq, policy. NULL on error. */
static TS_REQ *tsa_make_request(const tsa_client *t, const unsigned char *data, size_t len)
{
	TS_REQ *rq = NULL;
	TS_MSG_IMPRINT *mi = NULL;
	X509_ALGOR *alg = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *nonce = NULL;
	unsigned char dg[EVP_MAX_MD_SIZE], rnd[TSA_NONCE_BYTES];
	unsigned int dglen;
	int ok = 0;

	if (!EVP_Digest(data, len, dg, &dglen, t->md, NULL))
		goto out;
	if ((rq = TS_REQ_new()) == NULL || !TS_REQ_set_version(rq, 1) ||
	    (mi = TS_MSG_IMPRINT_new()) == NULL || (alg = X509_ALGOR_new()) == NULL)
		goto out;
	/* Parameters NULL, as `openssl ts -query` sends them; every TSA accepts that. */
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(t->md)), V_ASN1_NULL, NULL) ||
	    !TS_MSG_IMPRINT_set_algo(mi, alg) || !TS_MSG_IMPRINT_set_msg(mi, dg, (int)dglen) ||
	    !TS_REQ_set_msg_imprint(rq, mi))
		goto out;
	if (t->policy != NULL && !TS_REQ_set_policy_id(rq, t->policy))
		goto out;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    (nonce = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || !TS_REQ_set_nonce(rq, nonce))
		goto out;
	if (!TS_REQ_set_cert_req(rq, 1))
		goto out;
	ok = 1;
out:
	ASN1_INTEGER_free(nonce);
	BN_free(bn);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	if (!ok) {
		TS_REQ_free(rq);
		rq = NULL;
	}
	return rq;
}

/*
 * Find the TimeStampToken inside a DER TimeStampResp ::= SEQUENCE { status,
 * timeStampToken OPTIONAL }: its first byte and length. 0, or -1 when the bytes are
 * not that shape (indefinite lengths, trailing bytes, no token).
 */
static int tsa_token_span(const unsigned char *der, long len, const unsigned char **tok,
			  long *toklen)
{
	const unsigned char *p = der, *end, *start;
	long l;
	int tag, xclass;

	if (ASN1_get_object(&p, &l, &tag, &xclass, len) != V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL || p + l != der + len)
		return -1;
	end = p + l;
	if (ASN1_get_object(&p, &l, &tag, &xclass, end - p) != V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE)
		return -1;
	p += l; /* PKIStatusInfo */
	if (p >= end)
		return -1;
	start = p;
	if (ASN1_get_object(&p, &l, &tag, &xclass, end - p) != V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE || p + l != end)
		return -1;
	*tok = start;
	*toklen = end - start;
	return 0;
}

/* The names of the failInfo bits that are set, into out. */
static void tsa_failinfo(const ASN1_BIT_STRING *fi, char *out, size_t outlen)
{
	static const struct {
		int bit;
		const char *name;
	} bits[] = {
	    {TS_INFO_BAD_ALG, "badAlg"},
	    {TS_INFO_BAD_REQUEST, "badRequest"},
	    {TS_INFO_BAD_DATA_FORMAT, "badDataFormat"},
	    {TS_INFO_TIME_NOT_AVAILABLE, "timeNotAvailable"},
	    {TS_INFO_UNACCEPTED_POLICY, "unacceptedPolicy"},
	    {TS_INFO_UNACCEPTED_EXTENSION, "unacceptedExtension"},
	    {TS_INFO_ADD_INFO_NOT_AVAILABLE, "addInfoNotAvailable"},
	    {TS_INFO_SYSTEM_FAILURE, "systemFailure"},
	};
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; fi != NULL && i < sizeof(bits) / sizeof(bits[0]); i++)
		if (ASN1_BIT_STRING_get_bit(fi, bits[i].bit) && off < outlen)
			off += (size_t)snprintf(out + off, outlen - off, "%s%s", off ? "," : "",
						bits[i].name);
	if (out[0] == '\0')
		snprintf(out, outlen, "none given");
}

/*
 * Check the PKIStatusInfo: TSA_OK for granted / grantedWithMods, else the
 * class of the refusal with err set.
 */
static int tsa_check_status(const tsa_client *t, TS_RESP *resp, char *err, size_t errlen)
{
	TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
	const STACK_OF(ASN1_UTF8STRING) *texts = TS_STATUS_INFO_get0_text(si);
	const ASN1_BIT_STRING *fi = TS_STATUS_INFO_get0_failure_info(si);
	long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
	char text[256] = "", fails[160];
	const char *hint;
	int i;

	if (status == TS_STATUS_GRANTED || status == TS_STATUS_GRANTED_WITH_MODS)
		return TSA_OK;
	for (i = 0; i < sk_ASN1_UTF8STRING_num(texts) && strlen(text) < sizeof(text) - 1; i++) {
		ASN1_UTF8STRING *s = sk_ASN1_UTF8STRING_value(texts, i);
		size_t off = strlen(text);
		int n = ASN1_STRING_length(s), k;
		const unsigned char *d = ASN1_STRING_get0_data(s);

		if (off > 0)
			off += (size_t)snprintf(text + off, sizeof(text) - off, "; ");
		/* The TSA's words, shown in a log line: printable ASCII only. */
		for (k = 0; k < n && off < sizeof(text) - 1; k++)
			text[off++] = (d[k] >= 0x20 && d[k] < 0x7f) ? (char)d[k] : '?';
		text[off] = '\0';
	}
	tsa_failinfo(fi, fails, sizeof(fails));
	if (status == TS_STATUS_WAITING ||
	    (fi != NULL && (ASN1_BIT_STRING_get_bit(fi, TS_INFO_SYSTEM_FAILURE) ||
			    ASN1_BIT_STRING_get_bit(fi, TS_INFO_TIME_NOT_AVAILABLE)))) {
		tsa_errf(
		    err, errlen,
		    "TSA %s cannot time-stamp now (status %ld, failure %s, \"%s\"); will retry",
		    t->url, status, fails, text);
		return TSA_LATER;
	}
	if (fi != NULL && ASN1_BIT_STRING_get_bit(fi, TS_INFO_UNACCEPTED_POLICY))
		hint = "check the policy OID in " TSA_CONF_HINT;
	else if (fi != NULL && ASN1_BIT_STRING_get_bit(fi, TS_INFO_BAD_ALG))
		hint = "choose a digest the TSA accepts in " TSA_CONF_HINT;
	else if (status == TS_STATUS_REVOCATION_WARNING ||
		 status == TS_STATUS_REVOCATION_NOTIFICATION)
		hint = "the TSA certificate is (about to be) revoked: ask the TSA operator";
	else
		hint = "ask the TSA operator; check " TSA_CONF_HINT;
	tsa_errf(err, errlen, "TSA %s rejected the request (status %ld, failure %s, \"%s\"): %s",
		 t->url, status, fails, text, hint);
	return TSA_PERMANENT;
}

/* 1 if x has extendedKeyUsage timeStamping only, marked critical (RFC 3161 §2.3). */
static int tsa_cert_eku_ok(X509 *x)
{
	int i = X509_get_ext_by_NID(x, NID_ext_key_usage, -1);

	if (i < 0 || !X509_EXTENSION_get_critical(X509_get_ext(x, i)))
		return 0;
	return (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0 &&
	       X509_get_extended_key_usage(x) == XKU_TIMESTAMP;
}

/*
 * Verify the granted answer against the request: signature, chain to the CA,
 * imprint, nonce, policy, version; then the signer's EKU and the ESS binding.
 */
static int tsa_verify(const tsa_client *t, TS_REQ *rq, TS_RESP *resp, char *err, size_t errlen)
{
	TS_VERIFY_CTX *vc = NULL;
	PKCS7 *token = TS_RESP_get_token(resp);
	STACK_OF(X509) *signers = NULL;
	STACK_OF(PKCS7_SIGNER_INFO) * sis;
	PKCS7_SIGNER_INFO *si;
	char why[512];
	const char *hint;
	int reason, rc = TSA_PERMANENT;

	if (token == NULL) {
		tsa_errf(err, errlen, "TSA %s granted the request but sent no token", t->url);
		goto out;
	}
	if ((vc = TS_REQ_to_TS_VERIFY_CTX(rq, NULL)) == NULL || !X509_STORE_up_ref(t->store)) {
		tsa_ossl_reasons(why, sizeof(why));
		tsa_errf(err, errlen, "cannot set up the verification: %s", why);
		goto out;
	}
	TS_VERIFY_CTX_set_store(vc, t->store); /* the context now holds one reference */
	TS_VERIFY_CTX_add_flags(vc, TS_VFY_SIGNATURE | TS_VFY_VERSION);
	if (TS_RESP_verify_response(vc, resp) != 1) {
		reason = tsa_ossl_reasons(why, sizeof(why));
		switch (reason) {
		case TS_R_CERTIFICATE_VERIFY_ERROR:
			hint = "the TSA certificate does not chain to the configured TSA CA "
			       "or is not valid for time-stamping: check the CA in " TSA_CONF_HINT;
			break;
		case TS_R_NONCE_MISMATCH:
		case TS_R_NONCE_NOT_RETURNED:
			hint = "the answer is not for this request (replay, or a broken proxy "
			       "between us and the TSA)";
			break;
		case TS_R_MESSAGE_IMPRINT_MISMATCH:
			hint = "the token time-stamps other data (replay, or a broken proxy)";
			break;
		case TS_R_POLICY_MISMATCH:
			hint =
			    "the TSA used another policy: check the policy OID in " TSA_CONF_HINT;
			break;
		default:
			hint = "the answer was altered or the TSA is faulty: ask the TSA operator";
			break;
		}
		tsa_errf(err, errlen, "time-stamp from %s does not verify (%s): %s", t->url, why,
			 hint);
		goto out;
	}
	/* TS_RESP_verify_response checked the purpose; say it in our words as well. */
	signers = PKCS7_get0_signers(token, NULL, 0);
	if (signers == NULL || sk_X509_num(signers) != 1 ||
	    !tsa_cert_eku_ok(sk_X509_value(signers, 0))) {
		ERR_clear_error();
		tsa_errf(err, errlen,
			 "the certificate of TSA %s lacks a critical extendedKeyUsage "
			 "timeStamping (RFC 3161 2.3): not a time-stamping certificate",
			 t->url);
		goto out;
	}
	sis = PKCS7_get_signer_info(token);
	si = sk_PKCS7_SIGNER_INFO_value(sis, 0);
	if (si == NULL ||
	    (PKCS7_get_signed_attribute(si, NID_id_smime_aa_signingCertificateV2) == NULL &&
	     PKCS7_get_signed_attribute(si, NID_id_smime_aa_signingCertificate) == NULL)) {
		tsa_errf(err, errlen,
			 "the token of TSA %s has no ESS signing-certificate(-v2) attribute "
			 "(RFC 5816): use a TSA that binds its certificate",
			 t->url);
		goto out;
	}
	rc = TSA_OK;
out:
	sk_X509_free(signers);
	TS_VERIFY_CTX_free(vc);
	ERR_clear_error();
	return rc;
}

/* Map a failed transfer to LATER or PERMANENT with a message. */
static int tsa_curl_failed(tsa_client *t, CURLcode cc, char *err, size_t errlen)
{
	const char *detail = t->curlerr[0] ? t->curlerr : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (cc == CURLE_FILESIZE_EXCEEDED || t->resp_toobig) {
			tsa_errf(err, errlen,
				 "TSA %s sent more than %u bytes: not a time-stamp reply; check "
				 "the URL in %s",
				 t->url, TSA_MAX_RESPONSE, TSA_CONF_HINT);
			return TSA_PERMANENT;
		}
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		tsa_errf(err, errlen, "TSA URL %s is not usable (%s): fix %s", t->url, detail,
			 TSA_CONF_HINT);
		return TSA_PERMANENT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		tsa_errf(err, errlen,
			 "TLS: the server certificate of %s is not trusted (%s): check the TLS CA "
			 "in %s",
			 t->url, detail, TSA_CONF_HINT);
		return TSA_PERMANENT;
	case CURLE_OPERATION_TIMEDOUT:
		tsa_errf(err, errlen,
			 "TSA %s gave no answer within %ld s (%s): check that the TSA runs; will "
			 "retry",
			 t->url, t->timeout, detail);
		return TSA_LATER;
	default:
		break;
	}
	tsa_errf(err, errlen,
		 "TSA %s unreachable (%s): check the URL in %s and that the TSA runs; will retry",
		 t->url, detail, TSA_CONF_HINT);
	return TSA_LATER;
}

/* 1 if the Content-Type is application/timestamp-reply (parameters allowed). */
static int tsa_ct_ok(const char *ct)
{
	size_t n = strlen(TSA_CT_REPLY);

	return ct != NULL && strncasecmp(ct, TSA_CT_REPLY, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/*
 * Check the TSA's answer (rlen bytes of a TimeStampResp) to the request rq as
 * tsa_stamp does: DER, status granted, one token that verifies. TSA_OK with the
 * token copied into *token_der, else TSA_LATER or TSA_PERMANENT with err set.
 */
static int tsa_reply(const tsa_client *t, TS_REQ *rq, const unsigned char *reply, size_t rlen,
		     unsigned char **token_der, size_t *token_len, char *err, size_t errlen)
{
	TS_RESP *resp = NULL;
	const unsigned char *p, *tok;
	long toklen;
	int rc = TSA_PERMANENT;

	p = reply;
	if (rlen == 0 || (resp = d2i_TS_RESP(NULL, &p, (long)rlen)) == NULL ||
	    p != reply + rlen) {
		ERR_clear_error();
		tsa_errf(err, errlen,
			 "TSA %s sent %zu bytes that are not a DER TimeStampResp: ask the TSA "
			 "operator, check %s",
			 t->url, rlen, TSA_CONF_HINT);
		goto out;
	}
	if ((rc = tsa_check_status(t, resp, err, errlen)) != TSA_OK)
		goto out;
	rc = TSA_PERMANENT;
	if (tsa_token_span(reply, (long)rlen, &tok, &toklen) == -1) {
		tsa_errf(err, errlen,
			 "TSA %s: the TimeStampResp is not DER with one token: ask the TSA "
			 "operator",
			 t->url);
		goto out;
	}
	if ((rc = tsa_verify(t, rq, resp, err, errlen)) != TSA_OK)
		goto out;
	*token_der = xmalloc((size_t)toklen);
	memcpy(*token_der, tok, (size_t)toklen);
	*token_len = (size_t)toklen;
	rc = TSA_OK;
out:
	TS_RESP_free(resp);
	return rc;
}

int tsa_stamp(tsa_client *t, const unsigned char *data, size_t len, unsigned char **token_der,
	      size_t *token_len, char *err, size_t errlen)
{
	TS_REQ *rq = NULL;
	unsigned char *qder = NULL;
	const char *ct = NULL;
	char why[512];
	long code = 0;
	int qlen, rc = TSA_PERMANENT;
	CURLcode cc;

	err[0] = '\0';
	*token_der = NULL;
	*token_len = 0;
	if ((rq = tsa_make_request(t, data, len)) == NULL || (qlen = i2d_TS_REQ(rq, &qder)) <= 0) {
		tsa_ossl_reasons(why, sizeof(why));
		tsa_errf(err, errlen, "cannot build the time-stamp request: %s; will retry", why);
		rc = TSA_LATER; /* RAND or memory: nothing the configuration can fix */
		goto out;
	}
	if (fault_point("tsa") == -1) {
		tsa_errf(err, errlen, "TSA %s: injected fault (MAILROOM_FAULT); will retry",
			 t->url);
		rc = TSA_LATER;
		goto out;
	}
	buf_reset(&t->resp);
	t->resp_toobig = 0;
	t->curlerr[0] = '\0';
	if (curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, qder) != CURLE_OK ||
	    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE, (long)qlen) != CURLE_OK) {
		tsa_errf(err, errlen, "libcurl refuses the request body");
		goto out;
	}
	cc = curl_easy_perform(t->curl);
	/* The body pointer must not outlive qder. */
	curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, NULL);
	if (cc != CURLE_OK) {
		rc = tsa_curl_failed(t, cc, err, errlen);
		goto out;
	}
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		int later = code == 408 || code == 429 || (code >= 500 && code <= 599);

		tsa_errf(err, errlen, "TSA %s answered HTTP %ld: %s", t->url, code,
			 later ? "the TSA is busy or failing; will retry"
			       : "check the URL (path) in " TSA_CONF_HINT);
		rc = later ? TSA_LATER : TSA_PERMANENT;
		goto out;
	}
	curl_easy_getinfo(t->curl, CURLINFO_CONTENT_TYPE, &ct);
	if (!tsa_ct_ok(ct)) {
		tsa_errf(err, errlen,
			 "TSA %s answered with Content-Type \"%.60s\", not " TSA_CT_REPLY
			 ": is the URL in %s an RFC 3161 service?",
			 t->url, ct ? ct : "(none)", TSA_CONF_HINT);
		goto out;
	}
	rc = tsa_reply(t, rq, (const unsigned char *)t->resp.data, t->resp.len, token_der,
		       token_len, err, errlen);
out:
	OPENSSL_free(qder);
	TS_REQ_free(rq);
	buf_reset(&t->resp);
	ERR_clear_error();
	return rc;
}

int tsa_check_reply(const tsa_client *t, const unsigned char *data, size_t len,
		    const unsigned char *reply, size_t rlen, unsigned char **token_der,
		    size_t *token_len, char *err, size_t errlen)
{
	TS_REQ *rq;
	int rc;

	err[0] = '\0';
	*token_der = NULL;
	*token_len = 0;
	if ((rq = tsa_make_request(t, data, len)) == NULL) {
		ERR_clear_error();
		tsa_errf(err, errlen, "cannot build the time-stamp request");
		return TSA_LATER;
	}
	rc = tsa_reply(t, rq, reply, rlen, token_der, token_len, err, errlen);
	TS_REQ_free(rq);
	ERR_clear_error();
	return rc;
}

int tsa_token_info(const unsigned char *der, size_t len, struct tsa_info *info, char *err,
		   size_t errlen)
{
	const unsigned char *p = der;
	PKCS7 *token = NULL;
	TS_TST_INFO *tst = NULL;
	STACK_OF(X509) *signers = NULL;
	PKCS7_SIGNER_INFO *si;
	const ASN1_GENERALIZEDTIME *gt;
	const ASN1_OBJECT *alg;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	struct tm tm;
	int rc = TSA_PERMANENT;

	memset(info, 0, sizeof(*info));
	if (len > TSA_MAX_RESPONSE || (token = d2i_PKCS7(NULL, &p, (long)len)) == NULL ||
	    p != der + len || (tst = PKCS7_to_TS_TST_INFO(token)) == NULL) {
		tsa_errf(err, errlen, "not a DER TimeStampToken (%zu bytes)", len);
		goto out;
	}
	gt = TS_TST_INFO_get_time(tst);
	if (gt == NULL || ASN1_TIME_to_tm(gt, &tm) != 1) {
		tsa_errf(err, errlen, "TimeStampToken without a readable genTime");
		goto out;
	}
	info->gen_time = timegm(&tm);
	if ((bn = ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(tst), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL) {
		tsa_errf(err, errlen, "TimeStampToken without a serial number");
		goto out;
	}
	snprintf(info->serial, sizeof(info->serial), "%s", hex);
	OBJ_obj2txt(info->policy, sizeof(info->policy), TS_TST_INFO_get_policy_id(tst), 1);
	X509_ALGOR_get0(&alg, NULL, NULL,
			TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(tst)));
	snprintf(info->digest, sizeof(info->digest), "%s", OBJ_nid2ln(OBJ_obj2nid(alg)));
	si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(token), 0);
	info->ess_cert_v2 =
	    si != NULL && PKCS7_get_signed_attribute(si, NID_id_smime_aa_signingCertificateV2);
	if ((signers = PKCS7_get0_signers(token, NULL, 0)) != NULL && sk_X509_num(signers) == 1)
		X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), info->tsa_cert,
				  sizeof(info->tsa_cert));
	rc = TSA_OK;
out:
	sk_X509_free(signers);
	OPENSSL_free(hex);
	BN_free(bn);
	TS_TST_INFO_free(tst);
	PKCS7_free(token);
	ERR_clear_error();
	return rc;
}
