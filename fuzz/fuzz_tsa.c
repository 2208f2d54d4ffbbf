/*
 * fuzz_tsa.c - libFuzzer target: RFC 3161 answers (common/tsa.c). The bytes are
 * read as the TSA's reply by tsa_check_reply (the code tsa_stamp runs after the
 * HTTP exchange: DER TimeStampResp, status, the token span, TS_VERIFY_CTX against
 * a throwaway CA and a fresh nonce, so a real token fails there at the latest)
 * and as a stored token by tsa_token_info (mailroom show / verify).
 */
#include <stdlib.h>

#include "fuzz_util.h"
#include "tsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tsa_client *t;
	struct tsa_info info;
	unsigned char *tok = NULL;
	size_t toklen = 0;
	char err[1024];

	if (t == NULL) {
		struct tsa_conf c = {0};

		fuzz_quiet();
		c.url = "http://127.0.0.1:9/"; /* never contacted */
		c.ca_path = fuzz_ca_pem();
		if ((t = tsa_open(&c, err, sizeof(err))) == NULL)
			abort();
	}
	(void)tsa_token_info(data, size, &info, err, sizeof(err));
	(void)tsa_check_reply(t, (const unsigned char *)"fuzz", 4, data, size, &tok, &toklen, err,
			      sizeof(err));
	free(tok);
	return 0;
}
