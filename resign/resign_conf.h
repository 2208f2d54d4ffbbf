/*
 * resign_conf.h - conf/resign.yaml for mailroom-resign: the hash algorithms of
 * new and renewed hash trees, the TSA, the renewal horizons and the policy
 * (algorithms with the date until which they are suitable).
 *
 * resign_conf_load() checks everything at start and fails with file:line: an
 * unknown key, a date that is not YYYY-MM-DD, a digest or renewal_digest that
 * the policy does not list, a renewal_digest that ends before the digest.
 * The policy answers "until when" for a hash (resign_hash_until) and for the
 * signature of a time-stamp (resign_sig_until); 0 means "not in the policy",
 * which the caller treats as due now.
 */
#ifndef MAILROOM_RESIGN_CONF_H
#define MAILROOM_RESIGN_CONF_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "settings.h"

#define RESIGN_CONF_FILE "resign.yaml"
#define RESIGN_MAX_HASHES 8
#define RESIGN_MAX_SIGALGS 16

struct resign_sigalg {
	char type[16]; /* rsa, rsa-pss, ec, ed25519 ... (ers_token_info.key_type) */
	int min_bits;
	time_t until;
};

struct resign_conf {
	conf_node *root;
	int digest_nid, renewal_nid; /* digest, renewal_digest */
	const char *tsa_url, *tsa_policy, *tsa_proxy;
	char *tsa_ca_path, *tsa_tls_ca_path;
	long tsa_timeout;
	long tsa_horizon_months, alg_horizon_months;
	struct {
		int nid;
		time_t until;
	} hash[RESIGN_MAX_HASHES];
	size_t nhash;
	struct resign_sigalg sig[RESIGN_MAX_SIGALGS];
	size_t nsig;
	long max_letters;
};

/* Load conf_dir/resign.yaml. -1 with e set (file:line) on error. */
int resign_conf_load(const settings *set, struct resign_conf *c, conf_err *e);
void resign_conf_free(struct resign_conf *c);

/* End of suitability of hash nid (end of the day), 0 if not in the policy. */
time_t resign_hash_until(const struct resign_conf *c, int nid);
/*
 * End of suitability of a time-stamp signature: the key (type, bits) and the
 * signature's hash (digest_nid), whichever ends first; 0 if one of them is not
 * in the policy (why says which).
 */
time_t resign_sig_until(const struct resign_conf *c, const char *type, int bits, int digest_nid,
			char *why, size_t whylen);
/* t minus months (calendar months, UTC). */
time_t resign_months_before(time_t t, long months);
/* Parse "YYYY-MM-DD" (end of that day, UTC) or "YYYY-MM-DDTHH:MM:SSZ"; -1 if neither. */
time_t resign_parse_time(const char *s, int end_of_day);

#endif
