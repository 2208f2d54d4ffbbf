/*
 * ers.h - Evidence Records (RFC 4998, as profiled by BSI TR-03125 TR-ESOR-ERS):
 * parse, build, renew and verify.
 *
 * An EvidenceRecord proves that data existed unchanged since the time of its
 * first Archive Time-Stamp (ATS): an RFC 3161 time-stamp over the root of a hash
 * tree, with the reduced hash tree (the path from the data's leaf to the root)
 * stored per document. Chains of ATS extend the proof: a timestamp renewal adds
 * an ATS over the previous time-stamp to the same chain (RFC 4998 5.2), a
 * hash-tree renewal starts a new chain over H(H(d) || H(ArchiveTimeStampSequence))
 * with a stronger hash (5.3).
 *
 * PARSING. ers_parse() reads DER only (definite lengths, IMPLICIT tags of the
 * RFC 4998 module), bounded by ERS_MAX_DER, at most ERS_MAX_CHAINS chains,
 * ERS_MAX_ATS time-stamps per chain, ERS_MAX_LISTS lists per tree and
 * ERS_MAX_VALUES values per list; anything else is ERS_MALFORMED. The record
 * keeps its own copy of the bytes and points into it (the DER of every chain and
 * time-stamp stays available unchanged, as hash-tree renewal needs). It never
 * touches OpenSSL's decoders; tokens are decoded only by ers_verify() and
 * ers_token_describe(). Safe for any input (the libFuzzer entry point is
 * ers_parse on a byte buffer).
 *
 * BUILDING. ers_tree_new() builds one binary hash tree over n leaves: nodes are
 * paired level by level, each pair sorted as unsigned byte strings, concatenated
 * and hashed (RFC 4998 4.2); an odd last node moves up a level unchanged. Every
 * list of a reduced hash tree after the first therefore holds exactly one value
 * (the sibling), which RFC 4998 verifiers (append the child hash, sort, hash) and
 * Bouncy Castle's (each list is one sibling subtree) read alike. The TSA is asked
 * for H(ers_tree_root_input()), which is the root. ers_tree_path() gives the
 * reduced hash tree of one leaf; with a data group (several hashes per document,
 * RFC 4998 4.2 "data groups") the group's values form the first list and the
 * leaf is H(sorted group). ers_ats_encode() and
 * ers_record_encode()/ers_append_ats()/ers_append_chain() write DER.
 *
 * VERIFYING. ers_verify() checks, per chain i and time-stamp j, in this order
 * (the first failure is the verdict):
 *   TST_SIGNATURE            the token cannot be decoded (CMS SignedData over a
 *                            TSTInfo);
 *   DIGEST_ALG_NOT_DECLARED  the ATS hash algorithm (digestAlgorithm [0], else
 *                            the imprint's) is not in digestAlgorithms;
 *   DIGEST_ALG_MISMATCH      digestAlgorithm [0] differs from the imprint's;
 *   ROOT_MISMATCH            the reduced tree does not evaluate to the imprint
 *                            under any of the conventions in use: a list left
 *                            with a single value passed through or re-hashed
 *                            (RFC 4998 5.3 step 3), the child hash appended to
 *                            the next list only when it is not there yet, or
 *                            always; duplicates are kept;
 *   DATA_NOT_COVERED / CMS_HASH_NOT_COVERED (j = 0): a data object's hash is not
 *                            in the first list (or is not the imprint without a
 *                            tree); in chain i > 0 the hash is H(H(d) || ha) or
 *                            the sorted variant H(sort(H(d), ha)) (HINWEIS 8),
 *                            ha = H(DER of chains 0..i-1 in a SEQUENCE);
 *   PREV_ATS_NOT_COVERED (j > 0): H(DER of ATS[j-1].timeStamp) is not covered;
 *   TST_SIGNATURE            CMS_verify fails (signature, messageDigest);
 *   TST_CHAIN                only when trust anchors are given: the TSA
 *                            certificate does not chain to them at genTime
 *                            (purpose timestamp signing; untrusted certificates
 *                            from the token).
 * ER_VERSION is checked first (version != 1). The verdict is "VALID" or
 * "INVALID:<CODE>@c<i>a<j>" ("INVALID:ER_VERSION", "INVALID:MALFORMED"), the
 * notation of ../shared/vectors/ers/README.md. Tokens are verified with the CMS
 * API (CMS_verify, then d2i_TS_TST_INFO of the eContent): the PKCS7-based
 * TS_RESP_verify_token cannot read RSASSA-PSS signer infos nor OCSP responses
 * in OtherRevocationInfoFormat.
 *
 * CMS-EMBEDDED ERs. ers_cms_split() takes a CMS signature carrying an ER in the
 * unsigned attribute id-aa-er-internal / -external (1.2.840.113549.1.9.16.2.49 /
 * .50) apart: the ER, and the signature without it (the attribute removed, the
 * enclosing definite lengths recomputed, every other byte - BER indefinite
 * lengths included - unchanged), which the ER must cover as ERS_OBJ_CMS.
 *
 * Nothing here logs, allocates without bound, or keeps global state.
 */
#ifndef MAILROOM_ERS_H
#define MAILROOM_ERS_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"

#define ERS_MAX_DER (64u << 20) /* an ER: a few KiB; ervt-bin-18 has 64 KiB of tree */
#define ERS_MAX_CHAINS 64	/* hash-tree renewals: one per hash generation */
#define ERS_MAX_ATS 4096	/* timestamp renewals in one chain */
#define ERS_MAX_LISTS 256	/* levels of a reduced hash tree */
#define ERS_MAX_VALUES 65536	/* values of one list */
#define ERS_MAX_HASH EVP_MAX_MD_SIZE
#define ERS_MAX_TREE_LEAVES (1u << 26)

/* Return codes. */
enum ers_rc {
	ERS_OK = 0,
	ERS_MALFORMED = -1, /* not a DER EvidenceRecord (or a CMS without one) */
	ERS_ERROR = -2	    /* an argument, a limit or the library failed */
};

/* Verdict codes (ers_result.code). */
enum ers_code {
	ERS_VALID = 0,
	ERS_C_MALFORMED,
	ERS_C_ER_VERSION,
	ERS_C_DIGEST_ALG_NOT_DECLARED,
	ERS_C_DIGEST_ALG_MISMATCH,
	ERS_C_ROOT_MISMATCH,
	ERS_C_DATA_NOT_COVERED,
	ERS_C_PREV_ATS_NOT_COVERED,
	ERS_C_CMS_HASH_NOT_COVERED,
	ERS_C_TST_SIGNATURE,
	ERS_C_TST_CHAIN,
	ERS_C_NO_DATA /* data objects of an unreadable file (I/O) */
};

/* The name of a code ("ROOT_MISMATCH"); "VALID" for ERS_VALID. Static. */
const char *ers_code_name(enum ers_code c);

/* ---- the record ---- */

/* One list (PartialHashtree): n values, each a pointer into the record. */
struct ers_list {
	size_t n;
	const unsigned char **v;
	size_t *len;
};

/* One ArchiveTimeStamp. */
struct ers_ats {
	int digest_nid;		/* digestAlgorithm [0], or NID_undef when absent */
	int has_attributes;	/* attributes [1] present (TR-ESOR: SHOULD be absent) */
	int has_tree;		/* reducedHashtree [2] present */
	struct ers_list *lists; /* the reducedHashtree, nlists lists */
	size_t nlists;
	const unsigned char *ts; /* timeStamp: the token's ContentInfo, DER */
	size_t ts_len;
	const unsigned char *der; /* the whole ATS */
	size_t der_len;
};

/* One ArchiveTimeStampChain. */
struct ers_chain {
	struct ers_ats *ats;
	size_t n;
	const unsigned char *der; /* the whole chain, DER as in the record */
	size_t der_len;
};

typedef struct ers_record {
	long version;
	int *algs; /* digestAlgorithms as NIDs (NID_undef for unknown OIDs) */
	size_t nalgs;
	int has_crypto_infos, has_encryption_info;
	struct ers_chain *chains;
	size_t nchains;
	unsigned char *der; /* owned copy of the input */
	size_t der_len;
} ers_record;

/*
 * Parse len bytes of DER into a new record (*out; free with ers_record_free).
 * ERS_OK, or ERS_MALFORMED with err saying which element is wrong. A version
 * other than 1 parses (ers_verify reports it).
 */
int ers_parse(const unsigned char *der, size_t len, ers_record **out, char *err, size_t errlen);
/* Free a record; accepts NULL, returns NULL. */
ers_record *ers_record_free(ers_record *er);

/* The digest of nid (EVP_get_digestbynid) or NULL; "sha256" for a name. */
const EVP_MD *ers_md(int nid);
const char *ers_md_name(int nid);
/* NID of "sha256" | "sha384" | "sha512" | "sha224" | "sha3-256" ..., NID_undef if unknown. */
int ers_md_nid(const char *name);
/* The hash algorithm of an ATS: digestAlgorithm [0], else the imprint's (which
 * needs the token decoded: NID_undef when the token cannot be read). */
int ers_ats_alg(const struct ers_ats *a);

/* ---- describing a time-stamp token ---- */

struct ers_token_info {
	time_t gen_time;
	int imprint_nid;		     /* messageImprint.hashAlgorithm */
	unsigned char imprint[ERS_MAX_HASH]; /* messageImprint.hashedMessage */
	size_t imprint_len;
	char serial[80];      /* hex */
	char tsa[256];	      /* subject of the signer certificate, one line, "" if absent */
	time_t tsa_not_after; /* of the signer certificate, 0 if absent */
	char key_type[16];    /* "rsa", "ec", "rsa-pss", "ed25519", "?" */
	int key_bits;	      /* modulus / field size */
	int sig_digest_nid;   /* digest of the signer info (the signature's hash) */
};

/* Decode a token (DER ContentInfo) without verifying it. ERS_OK or ERS_MALFORMED. */
int ers_token_describe(const unsigned char *tok, size_t len, struct ers_token_info *ti, char *err,
		       size_t errlen);

/* ---- verification ---- */

/* One data object the record must cover. */
enum ers_obj_kind {
	ERS_OBJ_DATA, /* a document: DATA_NOT_COVERED when missing */
	ERS_OBJ_CMS   /* the CMS around a CMS-embedded ER: CMS_HASH_NOT_COVERED */
};
struct ers_digest {
	int nid;
	unsigned char v[ERS_MAX_HASH];
	size_t len;
};
struct ers_object {
	const char *name; /* shown in messages */
	enum ers_obj_kind kind;
	const char *path;	   /* a file to hash (streamed), or NULL */
	const unsigned char *data; /* else these bytes, or NULL */
	size_t len;
	const struct ers_digest *digests; /* else given digests (one per algorithm) */
	size_t ndigests;
};

struct ers_verify_opts {
	X509_STORE *anchors; /* NULL: no path validation (the vectors' VALID level) */
	int sorted_only;     /* 1: hash-tree renewal only as H(sort(h, ha)); 0: both */
};

/* What the record says, for reports (filled as far as verification got). */
struct ers_ats_report {
	int chain, index;
	int alg_nid;
	struct ers_token_info tok;
	int tok_ok; /* tok is filled */
};

struct ers_result {
	enum ers_code code;
	int chain, ats;	  /* where it failed (-1 when not at an ATS) */
	char verdict[64]; /* "VALID" or "INVALID:CODE@c<i>a<j>" */
	char detail[512]; /* what exactly failed, with the object's name */
	size_t nchains, nats;
	struct ers_ats_report *ats_info; /* nats entries, owned: ers_result_free */
};

/*
 * Verify er against the data objects (nobj may be 0: then only the chains and
 * tokens are checked). Returns ERS_OK when the checks ran (the verdict is in
 * res, VALID or not), ERS_ERROR when they could not (err: a file unreadable,
 * memory) - then res->code is ERS_C_NO_DATA.
 */
int ers_verify(const ers_record *er, const struct ers_object *objs, size_t nobj,
	       const struct ers_verify_opts *o, struct ers_result *res, char *err, size_t errlen);
/* Parse and verify in one step (MALFORMED becomes a verdict). */
int ers_verify_der(const unsigned char *der, size_t len, const struct ers_object *objs, size_t nobj,
		   const struct ers_verify_opts *o, struct ers_result *res, char *err,
		   size_t errlen);
void ers_result_free(struct ers_result *res);

/* ---- building ---- */

typedef struct ers_tree ers_tree;

/*
 * A hash tree with md over n leaves of EVP_MD_get_size(md) bytes each (copied).
 * NULL (err set) when n is 0 or above ERS_MAX_TREE_LEAVES. Equal leaves are
 * allowed (a verifier that does not append a child hash its next list already
 * holds reads them differently: pass distinct leaves).
 */
ers_tree *ers_tree_new(const EVP_MD *md, const unsigned char *leaves, size_t n, char *err,
		       size_t errlen);
ers_tree *ers_tree_free(ers_tree *t);
size_t ers_tree_leaves(const ers_tree *t);
/* The root (md size bytes; owned by the tree). With one leaf: the leaf. */
const unsigned char *ers_tree_root(const ers_tree *t);
/*
 * The bytes whose hash is the root: the two children of the top node, sorted,
 * concatenated. Appended to out. With one leaf there are none: ERS_ERROR (the
 * caller stamps the group, or the leaf itself without a tree).
 */
int ers_tree_root_input(const ers_tree *t, buf *out);

/*
 * The reduced hash tree of leaf i, as value pointers list after list: vals gets
 * the pointers (into the tree), counts[k] the size of list k, *nlists the number
 * of lists. The first list is {leaf i, its sibling} ({leaf i} when it has none);
 * then one list per level with the sibling of the node on the path (none on a
 * level where the node moved up unchanged). vals must hold ERS_TREE_PATH_MAX
 * pointers, counts ERS_MAX_LISTS.
 * skip_first: the leaf is H(group) and the group becomes the first list
 * (ers_ats_encode prepends it): the leaf is left out, its sibling is list 1.
 */
#define ERS_TREE_PATH_MAX (2 * 64)
int ers_tree_path(const ers_tree *t, size_t i, int skip_first, const unsigned char **vals,
		  size_t *counts, size_t *nlists);

/* Sort n values of len bytes each (in place) and hash their concatenation into out. */
void ers_hash_sorted(const EVP_MD *md, unsigned char *vals, size_t n, size_t len,
		     unsigned char *out);

/*
 * Encode one ArchiveTimeStamp into out: digestAlgorithm [0] when with_alg, the
 * reducedHashtree from group (ngroup values, may be 0) as the first list
 * followed by the lists of vals/counts (nlists; none and ngroup 0: no
 * reducedHashtree), then the token. Values are md-size bytes each.
 */
int ers_ats_encode(buf *out, const EVP_MD *md, int with_alg, const unsigned char *group,
		   size_t ngroup, const unsigned char *const *vals, const size_t *counts,
		   size_t nlists, const unsigned char *token, size_t token_len);
/* A new EvidenceRecord (version 1, digestAlgorithms {md}) with one chain of one ATS. */
int ers_record_encode(buf *out, const EVP_MD *md, const unsigned char *ats, size_t ats_len);
/* er with ats appended to its last chain (timestamp renewal). */
int ers_append_ats(const ers_record *er, const unsigned char *ats, size_t ats_len, buf *out);
/* er with a new chain holding ats (hash-tree renewal); md joins digestAlgorithms. */
int ers_append_chain(const ers_record *er, const EVP_MD *md, const unsigned char *ats,
		     size_t ats_len, buf *out);
/* ha = H(SEQUENCE of chains 0..nchains-1 as encoded) with md into out; its length. */
size_t ers_sequence_hash(const ers_record *er, size_t nchains, const EVP_MD *md,
			 unsigned char *out);
/* The last ATS of the last chain. */
const struct ers_ats *ers_last_ats(const ers_record *er);

/* ---- CMS signatures that carry an ER ---- */

/*
 * Split a CMS ContentInfo (BER) with an ER in an unsigned attribute: the ER's
 * DER into er_out, the signature without the attribute into cms_out. *internal
 * is 1 for id-aa-er-internal (encapsulated content). ERS_OK, or ERS_MALFORMED
 * (not a SignedData, no such attribute, more than one).
 */
int ers_cms_split(const unsigned char *p7s, size_t len, buf *er_out, buf *cms_out, int *internal,
		  char *err, size_t errlen);

#endif
