/*
 * fuzz_cades.c - libFuzzer target: detached CAdES signatures as `mailroom verify`
 * checks them (tools/verify_cades.c): the bytes are the .p7s (DER or PEM) over a
 * fixed content, verified against a throwaway CA (the signer's chain fails, every
 * check before and after it runs; time-stamp tokens inside are decoded).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "fuzz_util.h"
#include "verify_cades.h"

#define FUZZ_CADES_DATA "mailroom fuzz content\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static X509_STORE *ca;
	struct verify_cades_trust t;
	struct verify_cades_result r;
	BIO *content;

	if (ca == NULL) {
		fuzz_quiet();
		if ((ca = X509_STORE_new()) == NULL || X509_STORE_load_file(ca, fuzz_ca_pem()) != 1)
			abort();
	}
	if ((content = BIO_new_mem_buf(FUZZ_CADES_DATA, (int)strlen(FUZZ_CADES_DATA))) == NULL)
		abort();
	memset(&t, 0, sizeof(t));
	t.ca = ca;
	(void)verify_cades(data, size, content, &t, &r);
	BIO_free(content);
	return 0;
}
