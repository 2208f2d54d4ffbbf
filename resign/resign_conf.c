/*
 * resign_conf.c - conf/resign.yaml; see resign_conf.h.
 */
#include "resign_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "ers.h"
#include "timefmt.h"
#include "tsa.h"
#include "xalloc.h"

/* The keys of conf/resign.yaml: name, default, where it lands (struct resign_conf). */
#define VAR_RESIGN_DIGEST "digest"	    /* hash of new trees */
#define DEF_RESIGN_DIGEST "sha256"	    /* -> digest_nid */
#define VAR_RESIGN_RENEWAL "renewal_digest" /* hash a hash-tree renewal moves to */
#define DEF_RESIGN_RENEWAL "sha512"	    /* -> renewal_nid */
#define VAR_RESIGN_TSA "tsa"		    /* {url, ca, policy, timeout_seconds, tls_ca, proxy} */
#define DEF_RESIGN_TSA_CA "${var}/pki/ca.pem" /* -> tsa_ca_path */
#define VAR_RESIGN_HORIZONS "horizons"	      /* {tsa_certificate_months, algorithm_months} */
#define DEF_RESIGN_TSA_HORIZON 12	      /* -> tsa_horizon_months */
#define DEF_RESIGN_ALG_HORIZON 12	      /* -> alg_horizon_months */
#define VAR_RESIGN_ALGORITHMS "algorithms"    /* {hash: {name: date}, signature: [...]} */
#define VAR_RESIGN_MAX_LETTERS "max_letters"  /* letters in one initial tree */
#define DEF_RESIGN_MAX_LETTERS 1000000	      /* -> max_letters */

time_t resign_parse_time(const char *s, int end_of_day)
{
	struct tm tm;
	char rest;
	time_t t;

	if (s == NULL)
		return -1;
	if (strlen(s) == 10) {
		memset(&tm, 0, sizeof(tm));
		if (sscanf(s, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &rest) != 3 ||
		    tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
		    tm.tm_year < 1970)
			return -1;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		if (end_of_day) {
			tm.tm_hour = 23;
			tm.tm_min = 59;
			tm.tm_sec = 59;
		}
		t = timegm(&tm);
		return t;
	}
	return timefmt_parse(s);
}

time_t resign_months_before(time_t t, long months)
{
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL)
		return 0;
	tm.tm_mon -= (int)months;
	return timegm(&tm);
}

time_t resign_hash_until(const struct resign_conf *c, int nid)
{
	size_t i;

	for (i = 0; i < c->nhash; i++)
		if (c->hash[i].nid == nid)
			return c->hash[i].until;
	return 0;
}

time_t resign_sig_until(const struct resign_conf *c, const char *type, int bits, int digest_nid,
			char *why, size_t whylen)
{
	time_t h = resign_hash_until(c, digest_nid), k = 0;
	size_t i;

	for (i = 0; i < c->nsig; i++)
		if (strcmp(c->sig[i].type, type) == 0 && bits >= c->sig[i].min_bits) {
			k = c->sig[i].until;
			break;
		}
	if (k == 0) {
		snprintf(why, whylen,
			 "signature key %s-%d is not in the policy (algorithms.signature)", type,
			 bits);
		return 0;
	}
	if (h == 0) {
		snprintf(why, whylen,
			 "the signature's hash %s is not in the policy (algorithms.hash)",
			 ers_md_name(digest_nid));
		return 0;
	}
	snprintf(why, whylen, "%s", k <= h ? "signature key" : "signature hash");
	return k < h ? k : h;
}

/* A path setting (resolved), NULL when absent. */
static int resign_conf_path(const conf_node *m, const char *key, const char *def,
			    const settings *set, char **out, conf_err *e)
{
	const char *v = NULL;

	*out = NULL;
	if (conf_str(m, key, 0, def, &v, e) == -1)
		return -1;
	if (v != NULL && *v == '\0') {
		conf_fail(e, conf_get(m, key), "'%s' must not be empty", key);
		return -1;
	}
	if (v != NULL)
		*out = settings_path(set, v);
	return 0;
}

/* A hash name of the policy -> nid; -1 with e set. */
static int resign_conf_digest(const conf_node *root, const char *key, const char *def, int *nid,
			      conf_err *e)
{
	static const char *const names[] = {"sha256", "sha384", "sha512", NULL};
	int i;

	if (conf_enum(root, key, 0, strcmp(def, "sha256") == 0 ? 0 : 2, names, &i, e) == -1)
		return -1;
	*nid = ers_md_nid(names[i]);
	return 0;
}

/* algorithms: {hash: {name: date}, signature: [{type, min_bits, until}]} */
static int resign_conf_algs(const conf_node *a, struct resign_conf *c, conf_err *e)
{
	static const char *const keys[] = {"hash", "signature", NULL};
	static const char *const row_keys[] = {"type", "min_bits", "until", NULL};
	static const char *const types[] = {"rsa", "rsa-pss", "ec", "ed25519", "ed448", NULL};
	const conf_node *h, *s, *row;
	const char *d;
	size_t i;
	long bits;
	int ty;

	if (conf_expect(a, CONF_MAP, VAR_RESIGN_ALGORITHMS, e) == -1 ||
	    conf_check_keys(a, keys, VAR_RESIGN_ALGORITHMS, e) == -1)
		return -1;
	if ((h = conf_get(a, "hash")) == NULL ||
	    conf_expect(h, CONF_MAP, "algorithms.hash", e) == -1) {
		if (h == NULL)
			conf_fail(e, a, "algorithms: needs 'hash:' (name: YYYY-MM-DD per hash)");
		return -1;
	}
	for (i = 0; i < h->n; i++) {
		int nid = ers_md_nid(h->keys[i]);

		if (nid == NID_undef || c->nhash == RESIGN_MAX_HASHES) {
			conf_fail(e, h->items[i],
				  "unknown hash '%s' (sha256, sha384, sha512, sha3-256, ...)",
				  h->keys[i]);
			return -1;
		}
		if (h->items[i]->kind != CONF_SCALAR ||
		    (c->hash[c->nhash].until = resign_parse_time(h->items[i]->value, 1)) <= 0) {
			conf_fail(e, h->items[i], "'%s' needs a date YYYY-MM-DD (suitable until)",
				  h->keys[i]);
			return -1;
		}
		c->hash[c->nhash++].nid = nid;
	}
	if ((s = conf_get(a, "signature")) == NULL ||
	    conf_expect(s, CONF_SEQ, "algorithms.signature", e) == -1) {
		if (s == NULL)
			conf_fail(e, a,
				  "algorithms: needs 'signature:' (a list of {type, min_bits, "
				  "until})");
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		struct resign_sigalg *g = &c->sig[c->nsig];

		row = s->items[i];
		if (c->nsig == RESIGN_MAX_SIGALGS) {
			conf_fail(e, row, "at most %d signature rows", RESIGN_MAX_SIGALGS);
			return -1;
		}
		if (conf_expect(row, CONF_MAP, "algorithms.signature row", e) == -1 ||
		    conf_check_keys(row, row_keys, "algorithms.signature row", e) == -1 ||
		    conf_enum(row, "type", 1, 0, types, &ty, e) == -1 ||
		    conf_long(row, "min_bits", 1, 0, 1, 100000, &bits, e) == -1 ||
		    conf_str(row, "until", 1, NULL, &d, e) == -1)
			return -1;
		if ((g->until = resign_parse_time(d, 1)) <= 0) {
			conf_fail(e, conf_get(row, "until"), "'until' needs a date YYYY-MM-DD");
			return -1;
		}
		snprintf(g->type, sizeof(g->type), "%s", types[ty]);
		g->min_bits = (int)bits;
		c->nsig++;
	}
	return 0;
}

void resign_conf_free(struct resign_conf *c)
{
	free(c->tsa_ca_path);
	free(c->tsa_tls_ca_path);
	conf_free(c->root);
	memset(c, 0, sizeof(*c));
}

int resign_conf_load(const settings *set, struct resign_conf *c, conf_err *e)
{
	static const char *const top[] = {VAR_RESIGN_DIGEST,
					  VAR_RESIGN_RENEWAL,
					  VAR_RESIGN_TSA,
					  VAR_RESIGN_HORIZONS,
					  VAR_RESIGN_ALGORITHMS,
					  VAR_RESIGN_MAX_LETTERS,
					  NULL};
	static const char *const tsa_keys[] = {"url",	 "ca",	  "policy", "timeout_seconds",
					       "tls_ca", "proxy", NULL};
	static const char *const hz_keys[] = {"tsa_certificate_months", "algorithm_months", NULL};
	const conf_node *t, *hz, *a;
	char *file = settings_conf_file(set, RESIGN_CONF_FILE);
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->tsa_horizon_months = DEF_RESIGN_TSA_HORIZON;
	c->alg_horizon_months = DEF_RESIGN_ALG_HORIZON;
	if ((c->root = conf_load(file, e)) == NULL)
		goto out;
	if (c->root->kind != CONF_MAP) {
		conf_fail(e, c->root, "%s must be a map of settings", RESIGN_CONF_FILE);
		goto out;
	}
	if (conf_check_keys(c->root, top, RESIGN_CONF_FILE, e) == -1 ||
	    resign_conf_digest(c->root, VAR_RESIGN_DIGEST, DEF_RESIGN_DIGEST, &c->digest_nid, e) ==
		-1 ||
	    resign_conf_digest(c->root, VAR_RESIGN_RENEWAL, DEF_RESIGN_RENEWAL, &c->renewal_nid,
			       e) == -1 ||
	    conf_long(c->root, VAR_RESIGN_MAX_LETTERS, 0, DEF_RESIGN_MAX_LETTERS, 1,
		      ERS_MAX_TREE_LEAVES, &c->max_letters, e) == -1)
		goto out;
	if ((t = conf_get(c->root, VAR_RESIGN_TSA)) == NULL) {
		conf_fail(e, c->root,
			  "'tsa:' with the url of the time-stamping authority is missing");
		goto out;
	}
	if (conf_expect(t, CONF_MAP, VAR_RESIGN_TSA, e) == -1 ||
	    conf_check_keys(t, tsa_keys, VAR_RESIGN_TSA, e) == -1 ||
	    conf_str(t, "url", 1, NULL, &c->tsa_url, e) == -1 ||
	    resign_conf_path(t, "ca", DEF_RESIGN_TSA_CA, set, &c->tsa_ca_path, e) == -1 ||
	    conf_str(t, "policy", 0, NULL, &c->tsa_policy, e) == -1 ||
	    conf_long(t, "timeout_seconds", 0, TSA_DEFAULT_TIMEOUT, 1, 600, &c->tsa_timeout, e) ==
		-1 ||
	    resign_conf_path(t, "tls_ca", NULL, set, &c->tsa_tls_ca_path, e) == -1 ||
	    conf_str(t, "proxy", 0, NULL, &c->tsa_proxy, e) == -1)
		goto out;
	if ((hz = conf_get(c->root, VAR_RESIGN_HORIZONS)) != NULL &&
	    (conf_expect(hz, CONF_MAP, VAR_RESIGN_HORIZONS, e) == -1 ||
	     conf_check_keys(hz, hz_keys, VAR_RESIGN_HORIZONS, e) == -1 ||
	     conf_long(hz, "tsa_certificate_months", 0, DEF_RESIGN_TSA_HORIZON, 0, 240,
		       &c->tsa_horizon_months, e) == -1 ||
	     conf_long(hz, "algorithm_months", 0, DEF_RESIGN_ALG_HORIZON, 0, 240,
		       &c->alg_horizon_months, e) == -1))
		goto out;
	if ((a = conf_get(c->root, VAR_RESIGN_ALGORITHMS)) == NULL) {
		conf_fail(e, c->root,
			  "'algorithms:' (the policy: hash and signature algorithms with their "
			  "end dates) is missing");
		goto out;
	}
	if (resign_conf_algs(a, c, e) == -1)
		goto out;
	if (resign_hash_until(c, c->digest_nid) == 0) {
		conf_fail(e, conf_get(c->root, VAR_RESIGN_DIGEST),
			  "digest %s is not listed under algorithms.hash",
			  ers_md_name(c->digest_nid));
		goto out;
	}
	if (resign_hash_until(c, c->renewal_nid) == 0) {
		conf_fail(e,
			  conf_get(c->root, VAR_RESIGN_RENEWAL)
			      ? conf_get(c->root, VAR_RESIGN_RENEWAL)
			      : c->root,
			  "renewal_digest %s is not listed under algorithms.hash",
			  ers_md_name(c->renewal_nid));
		goto out;
	}
	rc = 0;
out:
	free(file);
	if (rc == -1)
		resign_conf_free(c);
	return rc;
}
