/*
 * classify_features_test.c - unit tests of the deeper classify features on
 * strings and generated images: fuzzy matching against OCR errors, exact:
 * phrases, priority as tie-break, the DIN 5008 regions of page 1 and rules on
 * them, routing by the address region, extraction with positions (IBAN mod 97,
 * amounts, deadlines, references) and duplicate detection (bytes, fingerprint).
 */
#include <leptonica/allheaders.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "classify_dup.h"
#include "classify_extract.h"
#include "classify_route.h"
#include "classify_rules.h"
#include "conf.h"
#include "log.h"
#include "offices.h"

static offices test_offices;

/* 1 if term occurs fuzzily (maxd from the auto option) in text after folding. */
static int fuzzy(const char *text, const char *term, int option)
{
	buf t, w;
	int r;

	buf_init(&t, 1 << 20);
	buf_init(&w, 1 << 20);
	classify_rules_fold(text, &t);
	classify_rules_fold(term, &w);
	r = classify_rules_find(t.data, w.data, NULL) ||
	    classify_rules_find_fuzzy(t.data, w.data, classify_rules_fuzzy_maxd(w.data, option),
				      NULL, NULL, NULL);
	buf_free(&t);
	buf_free(&w);
	return r;
}

/* Load rules from YAML text; NULL with e set. */
static classify_rules *load(const char *yaml, conf_err *e)
{
	conf_node *root = conf_load_mem("scankonzept.yaml", yaml, strlen(yaml), e);
	classify_rules *cr;

	if (root == NULL)
		return NULL;
	cr = classify_rules_load(root, &test_offices, e);
	conf_free(root);
	return cr;
}

#define TYPE(id, prio)                                                                        \
	"  - id: " id "\n    name: " id "\n    scan_mode: ersetzend\n"                            \
	"    protection: {integrity: hoch, confidentiality: normal, availability: normal}\n"     \
	"    qs_sample_rate: 5\n    office: kaemmerei\n    priority: " prio "\n    rules:\n"

static const char yaml[] = "thresholds: {min_score: 2.0, min_margin: 0.0, fuzzy_weight: 0.5}\n"
			   "types:\n" TYPE("rechnung", "normal") "      - any: [Rechnungsnummer]\n"
			   "        weight: 4\n"
			   "      - exact: [\"GmbH & Co. KG\"]\n"
			   "        weight: 1\n"
			   "      - all: [Widerspruch, Bescheid]\n"
			   "        region: subject\n"
			   "        weight: 3\n"
			   "        fuzzy: no\n" TYPE("mahnung", "eilig") "      - any: [Mahnung]\n"
			   "        region: letterhead\n"
			   "        weight: 4\n"
			   "      - any: [Zahlungserinnerung]\n"
			   "        region: address\n"
			   "        weight: 4\n";

static const char letter[] = "M\xc3\xbcller GmbH \xc2\xb7 Hauptstr. 5 \xc2\xb7 12345 Musterstadt\n"
			     "\n"
			     "Stadt Musterstadt\n"
			     "K\xc3\xa4mmerei\n"
			     "Rathausplatz 1\n"
			     "\n"
			     "12345 Musterstadt\n"
			     "\n"
			     "Musterstadt, 21.11.2026\n"
			     "Lieferung von B\xc3\xbcromaterial\n"
			     "\n"
			     "Sehr geehrte Damen und Herren,\n"
			     "Text.\n";

/* Fuzzy matching: OCR errors within one edit per six letters, never short words. */
static void test_fuzzy(void)
{
	CHECK(fuzzy("Rechnungsnumrner: 4711", "Rechnungsnummer", 2));
	CHECK(fuzzy("RECHNUNGSNUMMFR 4711", "Rechnungsnummer", 2));
	CHECK(fuzzy("Rechnugnsnummer", "Rechnungsnummer", 2)); /* transposition */
	CHECK(fuzzy("Gebuhrenbescheid", "Geb\xc3\xbchrenbescheid", 2));
	CHECK(fuzzy("Sehr geehrle Damen und Herren", "Sehr geehrte Damen und Herren", 2));
	CHECK(!fuzzy("Rechnungsdatum", "Rechnungsnummer", 2));
	CHECK(!fuzzy("Rechnungsnummern", "Rechnung", 2)); /* word boundary */
	CHECK(!fuzzy("Rechnurg", "Antrag", 2));
	CHECK(!fuzzy("Antrog", "Antrag", 2)); /* 6 letters: exact only with auto */
	CHECK(fuzzy("Antrog", "Antrag", 1));  /* fuzzy: yes */
	CHECK(!fuzzy("Rechnungsnumrner", "Rechnungsnummer", 0));
	CHECK(classify_rules_fuzzy_maxd("amt 20", 2) == 0);
	CHECK(classify_rules_fuzzy_maxd("rechnungsnummer", 2) == 1);
	CHECK(classify_rules_fuzzy_maxd("sehr geehrte damen und herren", 2) == 3);
	CHECK(!fuzzy("vereinbaren", "Vereinbarung", 2)); /* an inflection, not an OCR error */
	CHECK(classify_rules_fuzzy_maxd("rechnung", 2) == 1);
	/* speed: a long text without the term stays fast (pre-filter) */
	{
		buf t;
		size_t i;

		buf_init(&t, 4u << 20);
		for (i = 0; i < 40000; i++)
			buf_adds(&t, "rechnen rechnungen regnet recht nummer ");
		CHECK(!classify_rules_find_fuzzy(t.data, "rechnungsnummer", 2, NULL, NULL, NULL));
		buf_free(&t);
	}
}

/* exact:, all:, fuzzy weight and trace mark, priority tie-break, regions in rules. */
static void test_rules(void)
{
	struct classify_decision d;
	conf_err e;
	classify_rules *cr = load(yaml, &e);
	json_object *t, *h, *v;

	CHECK(cr != NULL);
	if (cr == NULL) {
		fprintf(stderr, "load: %s\n", e.msg);
		return;
	}
	/* fuzzy fires with the reduced weight and the trace says so */
	classify_rules_score(cr, "Rechnungsnumrner 4711", NULL, &d);
	CHECK(d.scores[0] == 2.0 && d.n_hits == 1 && d.hits[0].fuzzy == 1);
	t = classify_decision_trace(cr, &d);
	h = json_object_array_get_idx(t, 0);
	CHECK(json_object_object_get_ex(h, "fuzzy", &v) && json_object_get_boolean(v));
	CHECK(json_object_object_get_ex(h, "matched", &v) &&
	      strstr(json_object_get_string(json_object_array_get_idx(v, 0)), "~") != NULL);
	json_object_put(t);
	classify_decision_free(&d);
	classify_rules_score(cr, "Rechnungsnummer 4711", NULL, &d);
	CHECK(d.scores[0] == 4.0 && d.hits[0].fuzzy == 0);
	classify_decision_free(&d);
	/* exact: case-sensitive, whitespace-tolerant */
	classify_rules_score(cr, "Muster GmbH &\n Co. KG", NULL, &d);
	CHECK(d.scores[0] == 1.0);
	classify_decision_free(&d);
	classify_rules_score(cr, "Muster GMBH & CO. KG", NULL, &d);
	CHECK(d.scores[0] == 0.0);
	classify_decision_free(&d);
	/* all: in the subject region only (the labelled Betreff line) */
	classify_rules_score(cr, "Betreff: Widerspruch gegen den Bescheid\nText", NULL, &d);
	CHECK(d.scores[0] == 3.0);
	classify_decision_free(&d);
	classify_rules_score(cr, "Betreff: Widerspruch\nText zum Bescheid", NULL, &d);
	CHECK(d.scores[0] == 0.0);
	classify_decision_free(&d);
	/* priority breaks a tie: mahnung (eilig) before rechnung (normal) at 4 : 4 */
	classify_rules_score(cr, "Mahnung\nRechnungsnummer 1\n", NULL, &d);
	CHECK(d.scores[0] == 4.0 && d.scores[1] == 4.0);
	CHECK(d.best == 1 && d.second == 0 && d.decided);
	classify_decision_free(&d);
	/* letterhead and address regions */
	classify_rules_score(cr,
			     "Zahlungserinnerung GmbH\nStadt Musterstadt\nMahnung\n"
			     "12345 Musterstadt\n\nSehr geehrte Damen und Herren\n",
			     NULL, &d);
	CHECK(d.scores[1] == 0.0); /* each word in the other region */
	classify_decision_free(&d);
	classify_rules_score(cr, "Mahnung GmbH\nStadt Musterstadt\n12345 Musterstadt\n", NULL, &d);
	CHECK(d.scores[1] == 4.0);
	classify_decision_free(&d);
	classify_rules_free(cr);

	/* fuzzy on a regex rule is a configuration error with file:line */
	cr = load("thresholds: {min_score: 3, min_margin: 1}\ntypes:\n" TYPE("x", "normal")
		  "      - regex: 'a'\n        weight: 1\n        fuzzy: yes\n",
		  &e);
	CHECK(cr == NULL && strstr(e.msg, ":13:") != NULL && strstr(e.msg, "fuzzy") != NULL);
	if (cr == NULL && strstr(e.msg, ":13:") == NULL)
		fprintf(stderr, "fuzzy on regex: %s\n", e.msg);
	classify_rules_free(cr);
}

/* The DIN 5008 regions of page 1, and routing by the address region. */
static void test_regions(void)
{
	struct classify_regions rg;
	struct classify_type ty;
	struct classify_route r;

	classify_regions_find(letter, &rg);
	CHECK(rg.letterhead_first == 1 && rg.letterhead_last == 1);
	CHECK(rg.address_first == 3 && rg.address_last == 7);
	CHECK_STR(rg.address.data, "Stadt Musterstadt\nK\xc3\xa4mmerei\nRathausplatz 1\n"
				   "12345 Musterstadt\n");
	CHECK(rg.subject_line == 10);
	CHECK_STR(rg.subject.data, "Lieferung von B\xc3\xbcromaterial");
	classify_regions_free(&rg);
	/* a labelled subject wins; without a postal code line there is no address */
	classify_regions_find("Briefkopf\nBetreff: Antrag auf Wohngeld\nSehr geehrte Frau X\n",
			      &rg);
	CHECK(rg.address.len == 0 && rg.address_first == 0);
	CHECK_STR(rg.subject.data, "Antrag auf Wohngeld");
	CHECK_STR(rg.letterhead.data, "Briefkopf\n");
	classify_regions_free(&rg);

	memset(&ty, 0, sizeof(ty));
	ty.id = "antrag";
	/* the sender is the Bauordnungsamt of another city: only the address counts */
	CHECK(classify_route_letter(&test_offices, &ty,
				    "Landkreis X - Bauordnungsamt\n\nStadt Musterstadt\n"
				    "K\xc3\xa4mmerei\nRathausplatz 1\n12345 Musterstadt\n\n"
				    "Sehr geehrte Damen und Herren\n",
				    "Landkreis X - Bauordnungsamt\nStadt Musterstadt\n"
				    "K\xc3\xa4mmerei\n",
				    &r) == 0);
	CHECK(r.office != NULL && strcmp(r.office->id, "kaemmerei") == 0);
	CHECK_STR(r.block, "address");
	CHECK(classify_route(&test_offices, &ty,
			     "Landkreis X - Bauordnungsamt\nStadt Musterstadt\nK\xc3\xa4mmerei\n",
			     &r) == 1); /* the top region names two offices */
}

/* The item of array arr (a key of o) whose key equals value, or NULL. */
static json_object *item(json_object *o, const char *arr, const char *key, const char *value)
{
	json_object *a, *x, *v;
	size_t i;

	if (!json_object_object_get_ex(o, arr, &a))
		return NULL;
	for (i = 0; i < json_object_array_length(a); i++) {
		x = json_object_array_get_idx(a, i);
		if (json_object_object_get_ex(x, key, &v) &&
		    strcmp(json_object_get_string(v), value) == 0)
			return x;
	}
	return NULL;
}

/* An integer field of o, -1 if absent. */
static int field_int(json_object *o, const char *key)
{
	json_object *v;

	return o != NULL && json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : -1;
}

/* A string field of o, or NULL. */
static const char *field_str(json_object *o, const char *key)
{
	json_object *v;

	return o != NULL && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* IBAN check digits, amounts, deadlines, references with positions. */
static void test_extract(void)
{
	const char *reason;
	char c[40];
	long long cents;
	json_object *o, *x, *pos;
	const char *text =
	    "M\xc3\xbcller GmbH \xc2\xb7 Hauptstr. 5 \xc2\xb7 12345 Musterstadt\n\n"
	    "Stadt Musterstadt\nK\xc3\xa4mmerei\n12345 Musterstadt\n\n"
	    "Rechnungsnumrner: RE-77  Datum: 21.11.2026\n"
	    "Vertragsnummer: V-2026/12\nSteuernummer: 123/456/78901\nAz.: 20.1-0815\n\n"
	    "Sehr geehrte Damen und Herren,\n"
	    "Nettobetrag: 1.000,00 EUR\nGesamtbetrag: \xe2\x82\xac 1.190,00\n"
	    "Rechnungsbetrag 1.234,56 EUR\n"
	    "Zahlbar bis 15.12.2026.\n"
	    "Bitte zahlen Sie sp\xc3\xa4testens bis zum 20.12.2026.\n"
	    "IBAN: DE89 3704 0044 0532 0130 00\n"
	    "Alte IBAN: DE88 3704 0044 0532 0130 00\n"
	    "\fGegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe "
	    "Widerspruch erhoben werden. Der Widerspruch ist innerhalb eines Monats "
	    "einzulegen.\nDie Frist endet am 31.12.2026.\n";

	CHECK(classify_extract_iban("DE89 3704 0044 0532 0130 00", c, sizeof(c), &reason) == 1);
	CHECK_STR(c, "DE89370400440532013000");
	CHECK(classify_extract_iban("GB82 WEST 1234 5698 7654 32", c, sizeof(c), &reason) == 1);
	CHECK(classify_extract_iban("DE89 3704 0044 0532 0130 01", c, sizeof(c), &reason) == 0);
	CHECK(reason != NULL && strstr(reason, "mod 97") != NULL);
	CHECK(classify_extract_iban("DE89 3704 0044 0532 0130", c, sizeof(c), &reason) == 0);
	CHECK(reason != NULL && strstr(reason, "short") != NULL);
	CHECK(classify_extract_iban("DE89 37O4 0044 0532 0130 00", c, sizeof(c), &reason) == 0);
	CHECK(classify_extract_amount("1.234,56", &cents) == 0 && cents == 123456);
	CHECK(classify_extract_amount("0,99", &cents) == 0 && cents == 99);
	CHECK(classify_extract_amount("12.34,56", &cents) == -1);
	CHECK(classify_extract_amount("1234", &cents) == -1);

	o = classify_extract(text, NULL);
	/* references: OCR-damaged label, Vertragsnummer, Steuernummer, Az. */
	x = item(o, "references", "kind", "rechnungsnummer");
	CHECK_STR(field_str(x, "value"), "RE-77");
	CHECK(field_int(x, "page") == 1 && field_int(x, "line") == 7 &&
	      field_int(x, "column") == 18);
	CHECK_STR(field_str(item(o, "references", "kind", "vertragsnummer"), "value"),
		  "V-2026/12");
	CHECK_STR(field_str(item(o, "references", "kind", "steuernummer"), "value"),
		  "123/456/78901");
	CHECK_STR(field_str(item(o, "references", "kind", "aktenzeichen"), "value"), "20.1-0815");
	/* IBAN: the valid one listed, the wrong one rejected with the reason */
	x = item(o, "ibans", "value", "DE89370400440532013000");
	CHECK(x != NULL && field_int(x, "line") == 18);
	CHECK(item(o, "ibans", "value", "DE88370400440532013000") == NULL);
	x = item(o, "rejected", "kind", "iban");
	CHECK(x != NULL && strstr(field_str(x, "reason"), "mod 97") != NULL &&
	      field_int(x, "line") == 19);
	/* amounts with their labels, currency before or after */
	x = item(o, "amounts", "label", "Gesamtbetrag");
	CHECK(x != NULL && json_object_get_double(json_object_object_get(x, "value")) == 1190.0);
	x = item(o, "amounts", "label", "Rechnungsbetrag");
	CHECK(x != NULL && json_object_get_double(json_object_object_get(x, "value")) == 1234.56);
	CHECK_STR(field_str(x, "region"), "body");
	CHECK(item(o, "amounts", "label", "Nettobetrag") != NULL);
	/* deadlines with dates */
	CHECK_STR(field_str(item(o, "deadlines", "kind", "zahlbar_bis"), "date"), "2026-12-15");
	CHECK_STR(field_str(item(o, "deadlines", "kind", "spaetestens"), "date"), "2026-12-20");
	x = item(o, "deadlines", "kind", "widerspruch");
	CHECK(x != NULL && field_int(x, "page") == 2);
	CHECK_STR(field_str(item(o, "deadlines", "kind", "frist"), "date"), "2026-12-31");
	/* positions of sender and date */
	CHECK(json_object_object_get_ex(o, "positions", &pos));
	CHECK_STR(field_str(json_object_object_get(pos, "sender"), "region"), "letterhead");
	CHECK(field_int(json_object_object_get(pos, "date"), "line") == 7);
	json_object_put(o);

	/* OCR-damaged text: a wrong digit in the IBAN is never reported as IBAN */
	o = classify_extract("Bankverbindung: IBAN DE89 3704 0044 0532 0138 00\n", NULL);
	CHECK(json_object_array_length(json_object_object_get(o, "ibans")) == 0);
	CHECK(json_object_array_length(json_object_object_get(o, "rejected")) == 1);
	json_object_put(o);
}

/* A white page with "words" (black boxes) on text lines, laid out by a simple
 * generator from seed (two seeds: two different letters); shift moves it all. */
static PIX *page_with(unsigned seed, int shift)
{
	PIX *p = pixCreate(1240, 1754, 1);
	unsigned s = seed;
	int y, x;

	for (y = 120; y < 1600; y += 36) {
		s = s * 1103515245u + 12345u;
		if ((s >> 16) % 4 == 0)
			continue; /* an empty line */
		for (x = 120; x < 1100;) {
			int w;

			s = s * 1103515245u + 12345u;
			w = 20 + (int)((s >> 16) % 120);
			if (x + w > 1100 || (s >> 8) % 13 == 0)
				break;
			pixRasterop(p, x + shift, y + shift, w, 20, PIX_SET, NULL, 0, 0);
			x += w + 14;
		}
	}
	return p;
}

/*
 * Workers check twins at the same moment: DUP_RACERS processes, each with its own
 * handle, released together through one pipe, check the same bytes key. Exactly
 * one of them may be "first"; every other one must find an earlier twin.
 */
#define DUP_RACERS 8
static void test_dup_concurrent(const char *db, const uint64_t *fp)
{
	int gate[2], results[2], firsts = 0, dups = 0;
	char c;

	CHECK(pipe(gate) == 0 && pipe(results) == 0);
	for (int i = 0; i < DUP_RACERS; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			struct classify_dup_match m;
			char err[256] = "", job[32];
			classify_dup *h;
			int r = -1;

			close(gate[1]);
			snprintf(job, sizeof(job), "race-%d", i);
			h = classify_dup_open(db, err, sizeof(err));
			if (read(gate[0], &c, 1) == 0 && h != NULL) /* EOF: all go */
				r = classify_dup_check(h, job, "race-key", fp, 1, &m, err,
						       sizeof(err));
			if (r == -1)
				fprintf(stderr, "racer %d: %s\n", i, err);
			classify_dup_close(h);
			c = (char)(r == 0 ? 'f' : r == 1 ? 'd' : 'e');
			_exit(write(results[1], &c, 1) == 1 ? 0 : 1);
		}
		CHECK(pid > 0);
	}
	close(gate[0]);
	close(results[1]);
	usleep(100000); /* let every racer open its handle */
	close(gate[1]);
	while (read(results[0], &c, 1) == 1) {
		firsts += c == 'f';
		dups += c == 'd';
	}
	close(results[0]);
	while (wait(NULL) > 0)
		;
	printf("concurrent twins: %d first, %d flagged of %d\n", firsts, dups, DUP_RACERS);
	CHECK(firsts == 1);
	CHECK(dups == DUP_RACERS - 1);
}


/* Duplicate detection: bytes key, fingerprint, a different letter, idempotence. */
static void test_dup(void)
{
	char dir[] = "/tmp/classify-dup-test.XXXXXX", path[256], err[512];
	uint64_t fa[CLASSIFY_DUP_WORDS * 2], fa2[CLASSIFY_DUP_WORDS * 2], fb[CLASSIFY_DUP_WORDS * 2];
	size_t n;
	struct classify_dup_match m;
	classify_dup *d;
	PIX *p;

	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	p = page_with(1, 0);
	snprintf(path, sizeof(path), "%s/a.tif", dir);
	pixWrite(path, p, IFF_TIFF_G4);
	pixDestroy(&p);
	CHECK(classify_dup_fingerprint(path, fa, 2, &n, err, sizeof(err)) == 0 && n == 1);
	p = page_with(1, 25); /* the same paper, shifted on the scanner */
	snprintf(path, sizeof(path), "%s/a2.png", dir);
	pixWrite(path, p, IFF_PNG);
	pixDestroy(&p);
	CHECK(classify_dup_fingerprint(path, fa2, 2, &n, err, sizeof(err)) == 0 && n == 1);
	p = page_with(2, 0);
	snprintf(path, sizeof(path), "%s/b.tif", dir);
	pixWrite(path, p, IFF_TIFF_G4);
	pixDestroy(&p);
	CHECK(classify_dup_fingerprint(path, fb, 2, &n, err, sizeof(err)) == 0 && n == 1);
	CHECK(classify_dup_distance(fa, fa2) <= CLASSIFY_DUP_MAX_BITS);
	CHECK(classify_dup_distance(fa, fb) > CLASSIFY_DUP_MAX_BITS);
	printf("fingerprint distance: same page shifted %d, other page %d bits\n",
	       classify_dup_distance(fa, fa2), classify_dup_distance(fa, fb));

	snprintf(path, sizeof(path), "%s/%s", dir, CLASSIFY_DUP_FILE);
	d = classify_dup_open(path, err, sizeof(err));
	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK(classify_dup_check(d, "job-a", "k1", fa, 1, &m, err, sizeof(err)) == 0);
	CHECK(classify_dup_check(d, "job-a", "k1", fa, 1, &m, err, sizeof(err)) == 0); /* rerun */
	CHECK(classify_dup_check(d, "job-b", "k2", fb, 1, &m, err, sizeof(err)) == 0);
	CHECK(classify_dup_check(d, "job-c", "k1", fb, 1, &m, err, sizeof(err)) == 1);
	CHECK_STR(m.job, "job-a");
	CHECK_STR(m.kind, "bytes");
	CHECK(classify_dup_check(d, "job-d", "k4", fa2, 1, &m, err, sizeof(err)) == 1);
	CHECK_STR(m.job, "job-a");
	CHECK_STR(m.kind, "fingerprint");
	classify_dup_close(d);
	snprintf(path, sizeof(path), "%s/race.db", dir);
	test_dup_concurrent(path, fa);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK(system(path) == 0);
}

int main(void)
{
	const char *src = getenv("MAILROOM_SOURCE");
	char conf_dir[4096];
	conf_err e;

	log_init("classify_features_test");
	snprintf(conf_dir, sizeof(conf_dir), "%s/conf", src ? src : MAILROOM_SOURCE_FALLBACK);
	if (offices_load(conf_dir, &test_offices, &e) == -1) {
		fprintf(stderr, "offices.yaml: %s\n", e.msg);
		return 1;
	}
	test_fuzzy();
	test_rules();
	test_regions();
	test_extract();
	test_dup();
	offices_free(&test_offices);
	return check_done();
}
