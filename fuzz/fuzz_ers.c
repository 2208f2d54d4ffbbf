/*
 * fuzz_ers.c - libFuzzer target: RFC 4998 evidence records (common/ers.c) as
 * `mailroom verify` and mailroom-resign read them: ers_parse, then
 * ers_verify_der over a fixed data object (every ATS token decoded and checked),
 * and ers_cms_split (an ER inside a CMS signature's unsigned attribute).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "buf.h"
#include "ers.h"
#include "fuzz_util.h"

#define FUZZ_ERS_DATA "mailroom fuzz content\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	ers_record *er = NULL;
	struct ers_object obj;
	struct ers_verify_opts o;
	struct ers_result res;
	buf er_der, cms_der;
	char err[512];
	int internal = 0;

	if (!init) {
		fuzz_quiet();
		init = 1;
	}
	if (ers_parse(data, size, &er, err, sizeof(err)) == ERS_OK) {
		unsigned char ha[ERS_MAX_HASH];

		if (er->nchains > 0)
			(void)ers_sequence_hash(er, er->nchains, EVP_sha256(), ha);
		(void)ers_last_ats(er);
	}
	er = ers_record_free(er);

	memset(&obj, 0, sizeof(obj));
	obj.name = "data";
	obj.kind = ERS_OBJ_DATA;
	obj.data = (const unsigned char *)FUZZ_ERS_DATA;
	obj.len = strlen(FUZZ_ERS_DATA);
	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	(void)ers_verify_der(data, size, &obj, 1, &o, &res, err, sizeof(err));
	ers_result_free(&res);

	buf_init(&er_der, ERS_MAX_DER);
	buf_init(&cms_der, ERS_MAX_DER);
	(void)ers_cms_split(data, size, &er_der, &cms_der, &internal, err, sizeof(err));
	buf_free(&er_der);
	buf_free(&cms_der);
	ERR_clear_error();
	return 0;
}
