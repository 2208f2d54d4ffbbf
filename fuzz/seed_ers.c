/*
 * seed_ers.c - makes evidence records for the seed corpus of fuzz_ers
 * (fuzz/make-seeds.sh) with the project's own builder (common/ers.c), so that
 * the corpus holds records as mailroom-resign writes them.
 *
 *   seed_ers root DATA OTHER          hex SHA-256 root of the tree over
 *                                     H(DATA), H(OTHER) (what the TSA stamps)
 *   seed_ers record DATA OTHER TOKEN  the EvidenceRecord (DER, stdout) for DATA
 *                                     with TOKEN (DER TimeStampToken over root)
 *   seed_ers single TOKEN             a record of one ATS without a tree
 *
 * EXIT STATUS: 0 done, 1 failure, 64 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "ers.h"

/* Read a whole file into b; 0 or -1. */
static int seed_read(const char *path, buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(b, chunk, n) == -1) {
			fclose(f);
			return -1;
		}
	fclose(f);
	return 0;
}

/* The tree over H(data), H(other); NULL on error. */
static ers_tree *seed_tree(const char *data, const char *other)
{
	unsigned char leaves[64];
	char err[256];
	buf a, b;
	ers_tree *t = NULL;

	buf_init(&a, 1u << 26);
	buf_init(&b, 1u << 26);
	if (seed_read(data, &a) == 0 && seed_read(other, &b) == 0 &&
	    EVP_Digest(a.data ? a.data : "", a.len, leaves, NULL, EVP_sha256(), NULL) &&
	    EVP_Digest(b.data ? b.data : "", b.len, leaves + 32, NULL, EVP_sha256(), NULL))
		t = ers_tree_new(EVP_sha256(), leaves, 2, err, sizeof(err));
	buf_free(&a);
	buf_free(&b);
	return t;
}

int main(int argc, char **argv)
{
	const unsigned char *vals[ERS_TREE_PATH_MAX];
	size_t counts[ERS_MAX_LISTS], nlists = 0, i;
	buf tok, ats, rec;
	ers_tree *t = NULL;
	int rc = 1;

	buf_init(&tok, 1u << 20);
	buf_init(&ats, 1u << 20);
	buf_init(&rec, 1u << 20);
	if (argc == 4 && strcmp(argv[1], "root") == 0) {
		if ((t = seed_tree(argv[2], argv[3])) == NULL)
			goto out;
		for (i = 0; i < 32; i++)
			printf("%02x", ers_tree_root(t)[i]);
		printf("\n");
		rc = 0;
	} else if (argc == 5 && strcmp(argv[1], "record") == 0) {
		if ((t = seed_tree(argv[2], argv[3])) == NULL || seed_read(argv[4], &tok) == -1 ||
		    ers_tree_path(t, 0, 0, vals, counts, &nlists) != ERS_OK ||
		    ers_ats_encode(&ats, EVP_sha256(), 1, NULL, 0, vals, counts, nlists,
				   (const unsigned char *)tok.data, tok.len) != ERS_OK ||
		    ers_record_encode(&rec, EVP_sha256(), (const unsigned char *)ats.data,
				      ats.len) != ERS_OK)
			goto out;
		rc = fwrite(rec.data, 1, rec.len, stdout) == rec.len ? 0 : 1;
	} else if (argc == 3 && strcmp(argv[1], "single") == 0) {
		if (seed_read(argv[2], &tok) == -1 ||
		    ers_ats_encode(&ats, EVP_sha256(), 0, NULL, 0, NULL, NULL, 0,
				   (const unsigned char *)tok.data, tok.len) != ERS_OK ||
		    ers_record_encode(&rec, EVP_sha256(), (const unsigned char *)ats.data,
				      ats.len) != ERS_OK)
			goto out;
		rc = fwrite(rec.data, 1, rec.len, stdout) == rec.len ? 0 : 1;
	} else {
		fprintf(stderr, "usage: seed_ers root DATA OTHER | record DATA OTHER TOKEN | "
				"single TOKEN\n");
		return 64;
	}
out:
	if (rc != 0)
		fprintf(stderr, "seed_ers: failed\n");
	ers_tree_free(t);
	buf_free(&tok);
	buf_free(&ats);
	buf_free(&rec);
	return rc;
}
