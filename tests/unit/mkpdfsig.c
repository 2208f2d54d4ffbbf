/*
 * mkpdfsig.c - test helper: write a one-page PDF with a PDF signature (a detached
 * CMS over the ByteRange, as adbe.pkcs7.detached), the way a signing program does.
 *
 *	mkpdfsig KEY.pem CERT.pem OUT.pdf [tamper]
 *
 * tamper changes one byte of the signed page content after signing (the signature no
 * longer matches: poppler reports a digest mismatch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/pem.h>

#define SIG_HEX 16384 /* room for the CMS, hex digits */

static void die(const char *m)
{
	fprintf(stderr, "mkpdfsig: %s\n", m);
	exit(1);
}

int main(int argc, char **argv)
{
	static char pdf[65536];
	static const char content[] = "BT /F1 24 Tf 30 100 Td (Signiertes Schreiben) Tj ET";
	long off[8], n = 0, contents_lt, contents_gt, br_pos, xref;
	char br[80];
	BIO *kb, *cb, *data;
	EVP_PKEY *key;
	X509 *cert;
	CMS_ContentInfo *cms;
	unsigned char *der = NULL;
	int len, i;
	FILE *f;

	if (argc < 4)
		die("usage: mkpdfsig KEY.pem CERT.pem OUT.pdf [tamper]");
#define PUT(...) (n += snprintf(pdf + n, sizeof(pdf) - (size_t)n, __VA_ARGS__))
	PUT("%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n");
	off[1] = n;
	PUT("1 0 obj\n<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 "
	    ">> >>\nendobj\n");
	off[2] = n;
	PUT("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
	off[3] = n;
	PUT("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Annots [4 0 R] "
	    "/Resources << /Font << /F1 7 0 R >> >> /Contents 6 0 R >>\nendobj\n");
	off[4] = n;
	PUT("4 0 obj\n<< /Type /Annot /Subtype /Widget /FT /Sig /Rect [0 0 0 0] /F 132 "
	    "/T (Signatur1) /V 5 0 R /P 3 0 R >>\nendobj\n");
	off[5] = n;
	PUT("5 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
	    "/Name (Test Signer) /M (D:20261122080000Z) /ByteRange ");
	br_pos = n;
	PUT("%-60s /Contents <", "[]");
	contents_lt = n - 1;
	memset(pdf + n, '0', SIG_HEX);
	n += SIG_HEX;
	contents_gt = n; /* the '>' closing the hex string */
	PUT("> >>\nendobj\n");
	off[6] = n;
	PUT("6 0 obj\n<< /Length %zu >>\nstream\n%s\nendstream\nendobj\n", strlen(content),
	    content);
	off[7] = n;
	PUT("7 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
	xref = n;
	PUT("xref\n0 8\n0000000000 65535 f \n");
	for (i = 1; i <= 7; i++)
		PUT("%010ld 00000 n \n", off[i]);
	PUT("trailer\n<< /Size 8 /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", xref);
	if ((size_t)n >= sizeof(pdf) - 1)
		die("PDF too large");
	/* the ByteRange: everything but the hex string with its < > */
	snprintf(br, sizeof(br), "[0 %ld %ld %ld]", contents_lt, contents_gt + 1,
		 n - (contents_gt + 1));
	memset(pdf + br_pos, ' ', 60);
	memcpy(pdf + br_pos, br, strlen(br));

	if ((kb = BIO_new_file(argv[1], "r")) == NULL ||
	    (key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL)
		die("cannot read the key");
	if ((cb = BIO_new_file(argv[2], "r")) == NULL ||
	    (cert = PEM_read_bio_X509(cb, NULL, NULL, NULL)) == NULL)
		die("cannot read the certificate");
	data = BIO_new(BIO_s_mem());
	BIO_write(data, pdf, (int)contents_lt);
	BIO_write(data, pdf + contents_gt + 1, (int)(n - (contents_gt + 1)));
	cms = CMS_sign(cert, key, NULL, data, CMS_DETACHED | CMS_BINARY);
	if (cms == NULL || (len = i2d_CMS_ContentInfo(cms, &der)) <= 0 || len * 2 > SIG_HEX)
		die("cannot sign");
	for (i = 0; i < len; i++) {
		static const char hx[] = "0123456789abcdef";

		pdf[contents_lt + 1 + 2 * i] = hx[der[i] >> 4];
		pdf[contents_lt + 1 + 2 * i + 1] = hx[der[i] & 15];
	}
	if (argc > 4 && strcmp(argv[4], "tamper") == 0) {
		char *p = strstr(pdf + off[6], "Signiertes");

		if (p == NULL)
			die("no content to tamper with");
		*p = 's';
	}
	if ((f = fopen(argv[3], "wb")) == NULL || fwrite(pdf, 1, (size_t)n, f) != (size_t)n ||
	    fclose(f) != 0)
		die("cannot write the PDF");
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(data);
	BIO_free(kb);
	BIO_free(cb);
	EVP_PKEY_free(key);
	X509_free(cert);
	return 0;
}
