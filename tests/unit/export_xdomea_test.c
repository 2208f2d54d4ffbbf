/*
 * export_xdomea_test.c - unit tests of the dms-export modules: the xdomea message
 * builder (0101 and 0605, ersetzend and kopierend, hostile text) validated against
 * the real xdomea 3.0.0 schema, messages the schema must reject, the ZIP package
 * and its completeness check, and the delivery state machine (delivered, found,
 * taken, deferred, refused).
 *
 * Needs $MAILROOM_SHARED/xsd/xdomea_3.0.0/xdomea.xsd; exits 77 (skipped) without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "export_deliver.h"
#include "export_xdomea.h"
#include "export_zip.h"
#include "fileio.h"
#include "job.h"
#include "log.h"
#include "offices.h"
#include "xalloc.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static char tmproot[] = "/tmp/export_xdomea_test.XXXXXX";

/* Write a small file. */
static void put(const char *dir, const char *name, const char *text)
{
	char *p = fio_join(dir, name);
	FILE *f = fopen(p, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		log_fatalx(1, "cannot write %s", p);
	free(p);
}

/* A job directory from a job.json in tests/data/export plus dummy payload files. */
static job *make_job(const char *data_name, const char *id, int with_seals, const char *subject)
{
	char *src = xasprintf("%s/tests/data/export/%s", MAILROOM_SOURCE_DIR, data_name);
	char *dir = xasprintf("%s/%s", tmproot, id), *dst;
	char err[512];
	job *j;
	buf b;

	buf_init(&b, 1 << 20);
	if (fio_read_file(src, 1 << 20, &b) == -1)
		log_fatalx(1, "cannot read %s", src);
	fio_rmtree(dir);
	if (mkdir(dir, 0700) == -1)
		log_fatalx(1, "mkdir %s", dir);
	dst = fio_join(dir, "job.json");
	if (fio_write_atomic(dst, b.data, b.len, 0600) == -1)
		log_fatalx(1, "write %s", dst);
	if ((j = job_read(dir, id, err, sizeof(err))) == NULL)
		log_fatalx(1, "job_read %s: %s", dir, err);
	put(dir, "scan.tiff", "II*\0 not really a tiff, the builder does not look inside\n");
	put(dir, "ocr.pdf", "%PDF-1.5\n% dummy\n");
	job_add_file(j, "scan.tiff");
	job_add_file(j, "ocr.pdf");
	if (with_seals) {
		put(dir, "transfervermerk.xml", "<tv/>\n");
		put(dir, "scan.tiff.p7s", "dummy seal\n");
		put(dir, "transfervermerk.xml.p7s", "dummy seal\n");
		job_add_file(j, "transfervermerk.xml");
		job_add_file(j, "scan.tiff.p7s");
		job_add_file(j, "transfervermerk.xml.p7s");
	}
	if (subject != NULL)
		job_set_str(j, "extraction", "subject", subject);
	if (job_write(j) == -1)
		log_fatalx(1, "job_write");
	buf_free(&b);
	free(src);
	free(dst);
	free(dir);
	return j;
}

/* Build and validate a message; returns the XML (caller frees) or NULL. */
static char *build(xmlschema *s, const offices *offs, job *j, const char *office_id,
		   struct xdomea_pkg *pkg)
{
	const struct office *of = offices_find(offs, office_id);
	struct xdomea_env env;
	char err[1024];
	buf xml;

	memset(&env, 0, sizeof(env));
	env.offs = offs;
	env.office = of;
	env.sender_name = "Zentrale Scanstelle Rathaus";
	env.station = "Zentrale Scanstelle Rathaus";
	env.id_container = "container-4711";
	env.created = "2026-11-21T22:50:00Z";
	buf_init(&xml, XDOMEA_MAX_XML);
	if (xdomea_plan(j, of->message, pkg, err, sizeof(err)) == -1) {
		CHECK(0, "plan %s: %s", job_id(j), err);
		return NULL;
	}
	if (xdomea_build(j, &env, pkg, &xml, err, sizeof(err)) == -1) {
		CHECK(0, "build %s: %s", job_id(j), err);
		return NULL;
	}
	if (xdomea_validate(s, xml.data, xml.len, err, sizeof(err)) == -1) {
		CHECK(0, "message of %s does not validate: %s\n%s", job_id(j), err, xml.data);
		buf_free(&xml);
		return NULL;
	}
	return buf_detach(&xml);
}

/* Replace the first occurrence of from in s by to (new string). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);

	if (p == NULL)
		return NULL;
	return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

/* The schema must reject each of these changes to a valid message. */
static void test_rejects(xmlschema *s, const char *xml)
{
	static const char *const cases[][2] = {
	    {"<xdomea:ProzessID>", "<xdomea:ProzessID>not-a-uuid"},
	    {"<code>001</code>", "<code>004</code>"},
	    {"<xdomea:Posteingangsdatum>", "<xdomea:Posteingangsdatum>21.11."},
	    {"<xdomea:Empfangsbestaetigung>false", "<xdomea:Empfangsbestaetigung>vielleicht"},
	    {"listVersionID=\"1.0\"", "listVersionID=\"1.0\" foo=\"bar\""},
	};
	char err[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *bad = replace(xml, cases[i][0], cases[i][1]);

		CHECK(bad != NULL, "case %zu: pattern %s not in the message", i, cases[i][0]);
		if (bad == NULL)
			continue;
		CHECK(xdomea_validate(s, bad, strlen(bad), err, sizeof(err)) == -1,
		      "case %zu (%s) was accepted", i, cases[i][1]);
		CHECK(strstr(err, "line ") != NULL, "case %zu: error without a line: %s", i, err);
		free(bad);
	}
	CHECK(xdomea_validate(s, "<x>", 3, err, sizeof(err)) == -1, "broken XML accepted");
}

/* export_delivery_ops for the tests. */
struct wr {
	job *j;
	struct xdomea_pkg *pkg;
	const char *xml;
	int intents;
};

static int wr_write(int fd, void *arg, char *err, size_t errlen)
{
	struct wr *w = arg;

	return export_zip_write(fd, job_dir(w->j), w->pkg, w->xml, strlen(w->xml), 1 << 20, err,
				errlen);
}

static int wr_intent(void *arg)
{
	((struct wr *)arg)->intents++;
	return 0;
}

/* The package and the delivery state machine. */
static void test_deliver(job *j, struct xdomea_pkg *pkg, const char *xml)
{
	struct wr w = {j, pkg, xml, 0};
	struct export_delivery_ops ops = {wr_write, wr_intent, &w};
	struct export_target t;
	char path[4096], sha[DIGEST_SHA256_HEX], reason[1024], why[512], *root, *cmd, *tmp;
	enum export_delivery r;
	struct stat st;
	int fd;

	root = xasprintf("%s/inbox", tmproot);
	memset(&t, 0, sizeof(t));
	t.inbox_root = root;
	t.folder = "kaemmerei";
	t.mode = 0640;

	/* a configured share that is not there: defer, nothing created */
	r = export_deliver(&t, pkg, &ops, path, sizeof(path), sha, reason, sizeof(reason));
	CHECK(r == EXPORT_DEFER, "missing share: %d", r);
	CHECK(strstr(reason, "mount the VIS share") != NULL, "reason: %s", reason);
	CHECK(fio_exists(root) == 0, "share root was created");

	/* the local demo inbox is created, the package written */
	t.create = 1;
	r = export_deliver(&t, pkg, &ops, path, sizeof(path), sha, reason, sizeof(reason));
	CHECK(r == EXPORT_DELIVERED, "deliver: %d %s", r, reason);
	CHECK(w.intents == 1, "intent recorded %d times", w.intents);
	CHECK(strlen(sha) == 64, "sha256 %s", sha);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "package mode");
	CHECK(export_zip_check(path, pkg, why, sizeof(why)) == 1, "package incomplete: %s", why);
	tmp = xasprintf("%s/kaemmerei/.%s.tmp", root, pkg->zip_name);
	CHECK(fio_exists(tmp) == 0, "tmp left behind");
	cmd = xasprintf("unzip -tq '%s' >/dev/null", path);
	CHECK(system(cmd) == 0, "unzip -t fails on %s", path);
	free(cmd);

	/* again: found, not written twice */
	r = export_deliver(&t, pkg, &ops, path, sizeof(path), sha, reason, sizeof(reason));
	CHECK(r == EXPORT_FOUND, "second delivery: %d %s", r, reason);
	CHECK(w.intents == 1, "written again");

	/* a stale tmp of ours (crash before the intent) is replaced */
	unlink(path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd != -1 && write(fd, "PK half", 7) == 7, "stale tmp");
	close(fd);
	r = export_deliver(&t, pkg, &ops, path, sizeof(path), sha, reason, sizeof(reason));
	CHECK(r == EXPORT_DELIVERED && w.intents == 2, "after stale tmp: %d", r);
	CHECK(fio_exists(tmp) == 0, "stale tmp left behind");

	/* begun and gone: the DMS took it; never delivered twice */
	unlink(path);
	t.begun = 1;
	r = export_deliver(&t, pkg, &ops, path, sizeof(path), sha, reason, sizeof(reason));
	CHECK(r == EXPORT_TAKEN && w.intents == 2 && fio_exists(path) == 0, "taken: %d", r);
	t.begun = 0;

	/* a foreign or damaged file under our name is never overwritten */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd != -1 && write(fd, "PK\3\4 truncated", 15) == 15, "foreign file");
	close(fd);
	r = export_deliver(&t, pkg, &ops, path, sizeof(path), sha, reason, sizeof(reason));
	CHECK(r == EXPORT_REFUSE, "damaged final: %d", r);
	CHECK(strstr(reason, "never overwritten") != NULL, "reason: %s", reason);
	CHECK(export_zip_check(path, pkg, why, sizeof(why)) == 0, "damaged zip accepted");
	free(tmp);
	free(root);
}

int main(void)
{
	const char *shared = getenv("MAILROOM_SHARED");
	char *xsd, err[2048], pid[64];
	struct xdomea_pkg pkg, pkg2, pkg3;
	xmlschema *s;
	offices offs;
	conf_err ce;
	job *j1, *j2, *j3;
	char *x1, *x2, *x3;

	log_init("export_xdomea_test");
	if (shared == NULL || *shared == '\0')
		shared = MAILROOM_SOURCE_DIR "/../shared";
	xsd = xasprintf("%s/xsd/xdomea_3.0.0/xdomea.xsd", shared);
	if (access(xsd, R_OK) == -1) {
		fprintf(stderr, "SKIP: %s not found (the shared xdomea schemas are absent)\n", xsd);
		free(xsd);
		return 77;
	}
	if (mkdtemp(tmproot) == NULL)
		log_fatalx(1, "mkdtemp");
	if ((s = xdomea_schema_load(xsd, err, sizeof(err))) == NULL)
		log_fatalx(1, "%s", err);
	CHECK(xdomea_schema_load("/nonexistent/xdomea.xsd", err, sizeof(err)) == NULL &&
		  strstr(err, "xsd:") != NULL,
	      "missing schema: %s", err);
	if (offices_load(MAILROOM_SOURCE_DIR "/conf", &offs, &ce) == -1)
		log_fatalx(1, "%s", ce.msg);

	/* 0101, ersetzend, with seals and the Transfervermerk */
	j1 = make_job("job-ersetzend.json", "20261121T224431Z-7f3a9c2e1b004d5a", 1, NULL);
	x1 = build(s, &offs, j1, "kaemmerei", &pkg);
	CHECK(x1 != NULL, "0101 ersetzend");
	if (x1 != NULL) {
		CHECK(strstr(x1, "<xdomea:Information.Information.0101 "
				 "xmlns:xdomea=\"urn:xoev-de:xdomea:schema:3.0.0\">") != NULL,
		      "root element / prefix");
		CHECK(strstr(x1, "<xdomea:ProzessID>3f2b8c1e-9a4d-4e7b-8c21-5d6e7f8a9b0c<") != NULL,
		      "ProzessID");
		CHECK(strstr(x1, "<code>001</code>") != NULL && strstr(x1, "Elektronisch") != NULL,
		      "Medium Elektronisch");
		CHECK(strstr(x1, "<code>024</code>") != NULL, "Dateiformat tiff");
		CHECK(strstr(x1, "<code>018</code>") != NULL, "Dateiformat pdf");
		CHECK(strstr(x1, "<code>030</code>") != NULL, "Dateiformat xml");
		CHECK(strstr(x1, "<xdomea:Version>1.5</xdomea:Version>") != NULL, "PDF version");
		CHECK(strstr(x1, ".tiff.p7s</xdomea:SignaturSiegelDatei>") != NULL, "seal of scan");
		CHECK(strstr(x1, ".xml.p7s</xdomea:SignaturSiegelDatei>") != NULL, "seal of TV");
		CHECK(strstr(x1, "&amp; Winterdienst &lt;Januar&gt;") != NULL, "Betreff escaped");
		CHECK(strstr(x1, "<xdomea:DatumDesSchreibens>2026-11-18<") != NULL, "letter date");
		CHECK(strstr(x1, "<xdomea:Posteingangsdatum>2026-11-21<") != NULL, "received");
		CHECK(strstr(x1, "<xdomea:FremdesGeschaeftszeichen>RE-2026-4711<") != NULL, "ref");
		CHECK(strstr(x1, "<xdomea:Praefix>\n") != NULL || strstr(x1, "amt20") != NULL,
		      "office Behördenkennung");
		CHECK(strstr(x1, "<xdomea:Produktname>mailroom<") != NULL, "SendendesSystem");
		CHECK(pkg.nparts == 3, "parts %zu", pkg.nparts);
		CHECK(xdomea_process_id(x1, strlen(x1), pid, sizeof(pid)) == 0 &&
			  strcmp(pid, pkg.process_id) == 0,
		      "process id read back: %s", pid);
		CHECK(strcmp(pkg.zip_name, "3f2b8c1e-9a4d-4e7b-8c21-5d6e7f8a9b0c_Information."
					   "Information.0101.zip") == 0,
		      "zip name %s", pkg.zip_name);
		test_rejects(s, x1);
		test_deliver(j1, &pkg, x1);
	}

	/* 0605 (Rechtsamt), kopierend: Medium Hybrid, paper follows, no seals */
	j2 = make_job("job-kopierend.json", "20261121T224532Z-0123456789abcdef", 0, NULL);
	x2 = build(s, &offs, j2, "rechtsamt", &pkg2);
	CHECK(x2 != NULL, "0605 kopierend");
	if (x2 != NULL) {
		CHECK(strstr(x2, "<xdomea:FVDaten.SGOAblegen.0605 ") != NULL, "0605 root");
		CHECK(strstr(x2, "<code>002</code>") != NULL && strstr(x2, "Hybrid") != NULL,
		      "Medium Hybrid");
		CHECK(strstr(x2, "Papieroriginal folgt") != NULL, "paper follows note");
		CHECK(strstr(x2, "<xdomea:IDContainer>container-4711<") != NULL, "IDContainer");
		CHECK(strstr(x2, "<xdomea:Ablageort>rechtsamt<") != NULL, "Ablageort");
		CHECK(strstr(x2, "<xdomea:FremdesGeschaeftszeichen>30-2026/17<") != NULL,
		      "ref obj");
		CHECK(strstr(x2, "Betreff>Posteingang Widerspruch<") != NULL, "default Betreff");
		CHECK(strstr(x2, "SignaturSiegel") == NULL, "kopierend has no seals");
		CHECK(strstr(pkg2.zip_name, "_FVDaten.SGOAblegen.0605.zip") != NULL, "0605 name");
	}

	/* hostile text: control characters, broken UTF-8, markup */
	j3 = make_job("job-ersetzend.json", "20261121T224431Z-7f3a9c2e1b004d5a", 1,
		      "Betr.\x01\x02 \xff\xfe kaputt \xc3\x28 <![CDATA[ ]]> &#0; \xed\xa0\x80 ok");
	x3 = build(s, &offs, j3, "kaemmerei", &pkg3);
	CHECK(x3 != NULL, "hostile subject");
	if (x3 != NULL)
		CHECK(strstr(x3, "kaputt") != NULL && strstr(x3, "ok</xdomea:Betreff>") != NULL,
		      "hostile subject kept readable");

	/* an ersetzend letter without its seal is not packaged */
	job_drop_file(j3, "scan.tiff.p7s");
	CHECK(xdomea_plan(j3, "0101", &pkg3, err, sizeof(err)) == -1 && strstr(err, "seal") != NULL,
	      "unsealed ersetzend planned: %s", err);

	if (getenv("EXPORT_TEST_DUMP") != NULL) /* look at the messages by hand */
		printf("%s\n%s\n", x1 ? x1 : "", x2 ? x2 : "");
	free(x1);
	free(x2);
	free(x3);
	job_free(j1);
	job_free(j2);
	job_free(j3);
	offices_free(&offs);
	xmlschema_free(s);
	free(xsd);
	if (failures == 0)
		fio_rmtree(tmproot);
	fprintf(stderr, "%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
