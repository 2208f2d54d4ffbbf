/*
 * classify_rules_test.c - unit tests of the classify stage's engine on strings:
 * folding and word matching, any/all/regex rules, umlaut and ae/ä equivalence,
 * vetoes, abstention, configuration errors with file:line, routing by the address
 * block, extraction of date/subject/references, UTF-8 cleaning of OCR output,
 * and that the shipped conf/scankonzept.yaml loads and tells till receipts,
 * invoices, offers, plain letters and advertising apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "classify_extract.h"
#include "classify_ocr.h"
#include "classify_route.h"
#include "classify_rules.h"
#include "conf.h"
#include "log.h"
#include "offices.h"

static int failures, checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		checks++;                                                                          \
		if (a_ == NULL || strcmp(a_, b_) != 0) {                                           \
			failures++;                                                                \
			fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__,               \
				a_ ? a_ : "(null)", b_);                                           \
		}                                                                                  \
	} while (0)

static offices test_offices;

/* The folded form of s (static buffer, for comparisons). */
static const char *fold(const char *s)
{
	static char out[1024];
	buf b;

	buf_init(&b, sizeof(out) - 1);
	if (classify_rules_fold(s, &b) == -1) {
		buf_free(&b);
		return "(overflow)";
	}
	snprintf(out, sizeof(out), "%s", b.data);
	buf_free(&b);
	return out;
}

/* 1 if term occurs in text after folding both. */
static int found(const char *text, const char *term)
{
	buf t, w;
	int r;

	buf_init(&t, 1 << 20);
	buf_init(&w, 1 << 20);
	classify_rules_fold(text, &t);
	classify_rules_fold(term, &w);
	r = classify_rules_find(t.data, w.data, NULL);
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

/* The id of the decided type, "(none)" when abstained. */
static const char *decided(const classify_rules *cr, const struct classify_decision *d)
{
	return d->decided ? classify_rules_type(cr, (size_t)d->best)->id : "(none)";
}

static const char rules_yaml[] =
    "thresholds: {min_score: 3.0, min_margin: 1.5}\n"
    "types:\n"
    "  - id: rechnung\n"
    "    name: Rechnung\n"
    "    scan_mode: ersetzend\n"
    "    protection: {integrity: hoch, confidentiality: normal, availability: normal}\n"
    "    qs_sample_rate: 10\n"
    "    office: kaemmerei\n"
    "    rules:\n"
    "      - any: [Rechnungsnummer, \"zahlbar bis\"]\n"
    "        weight: 3\n"
    "      - all: [Netto, Brutto]\n"
    "        weight: 2\n"
    "      - regex: '\\bK\xc3\xa4mmerei\\b'\n"
    "        weight: 1\n"
    "      - any: [Rechnung]\n"
    "        region: top\n"
    "        weight: 2\n"
    "  - id: quittung\n"
    "    name: Quittung\n"
    "    scan_mode: ersetzend\n"
    "    protection: {integrity: hoch, confidentiality: normal, availability: normal}\n"
    "    qs_sample_rate: 5\n"
    "    office: kaemmerei\n"
    "    rules:\n"
    "      - any: [Kassenbon, \"Betrag dankend erhalten\"]\n"
    "        weight: 2.5\n"
    "      - any: [\"Geb\xc3\xbchr\"]\n"
    "        weight: 1\n"
    "  - id: brief\n"
    "    name: Brief\n"
    "    scan_mode: ersetzend\n"
    "    protection: {integrity: normal, confidentiality: normal, availability: normal}\n"
    "    qs_sample_rate: 5\n"
    "    office: address\n"
    "    priority: normal\n"
    "    rules:\n"
    "      - any: [\"Sehr geehrte Damen und Herren\", \"Stra\xc3\x9f\x65\"]\n"
    "        weight: 3.5\n"
    "    not: [Rechnungsnummer, Widerspruch]\n";

/* Folding: case, umlauts, ß, diacritics, whitespace, hyphenation at line ends. */
static void test_fold(void)
{
	CHECK_STR(fold("K\xc3\xa4mmerei"), "kaemmerei");
	CHECK_STR(fold("K\xc3\x84MMEREI"), "kaemmerei");
	CHECK_STR(fold("KAEMMEREI"), "kaemmerei");
	CHECK_STR(fold("Stra\xc3\x9f\x65"), "strasse");
	CHECK_STR(fold("GROSS \xe1\xba\x9e"), "gross ss");
	CHECK_STR(fold("Caf\xc3\xa9  au\n\n lait"), "cafe au lait");
	CHECK_STR(fold("Rechnungs-\nnummer"), "rechnungsnummer");
	CHECK_STR(fold("Hin- und R\xc3\xbc\x63kfahrt"), "hin- und rueckfahrt");
	CHECK_STR(fold("Soft\xc2\xadhyphen"), "softhyphen");
	CHECK_STR(fold("  leading"), "leading");
	/* invalid UTF-8 never breaks folding */
	CHECK_STR(fold("a\xff"
		       "b"),
		  "a\xef\xbf\xbd"
		  "b");
}

/* Word-boundary matching and prefix terms. */
static void test_find(void)
{
	CHECK(found("Ihre Rechnung vom 1.1.", "Rechnung"));
	CHECK(!found("Rechnungsnummer: 4711", "Rechnung"));
	CHECK(found("Rechnungsnummer: 4711", "Rechnungs*"));
	CHECK(!found("Stadtkasse", "Kasse"));
	CHECK(found("an die KASSE.", "Kasse"));
	CHECK(found("USt-IdNr.: DE123", "USt-IdNr"));
	CHECK(found("Betrag\ndankend   erhalten", "Betrag dankend erhalten"));
	CHECK(found("Stadtk\xc3\xa4mmerei", "Stadtkaemmerei"));
	CHECK(!found("Oberb\xc3\xbcrgermeister", "B\xc3\xbcrgermeister"));
	CHECK(found("Pos. 1", "Pos."));
}

/* any/all/regex rules, region top, veto and the decision. */
static void test_score(void)
{
	struct classify_decision d;
	conf_err e;
	classify_rules *cr = load(rules_yaml, &e);
	size_t i;
	int veto = 0;

	CHECK(cr != NULL);
	if (cr == NULL) {
		fprintf(stderr, "load: %s\n", e.msg);
		return;
	}
	CHECK(classify_rules_count(cr) == 3);

	/* any: one term is enough; decided with score 3 and no competitor */
	classify_rules_score(cr, "Bitte zahlbar bis 1.12.", "", &d);
	CHECK_STR(decided(cr, &d), "rechnung");
	CHECK(d.best_score == 3.0 && d.margin == 3.0);
	CHECK(d.n_hits == 1 && strcmp(d.hits[0].kind, "any") == 0);
	classify_decision_free(&d);

	/* all: both terms needed */
	classify_rules_score(cr, "Netto 10 EUR", "", &d);
	CHECK(!d.decided && d.best_score == 0.0);
	classify_decision_free(&d);
	classify_rules_score(cr, "Netto 10 EUR Brutto 11,90 EUR Rechnungsnummer 1", "", &d);
	CHECK(d.scores[0] == 5.0);
	classify_decision_free(&d);

	/* regex with umlauts: UTF-8 + UCP + caseless */
	classify_rules_score(cr, "AN DIE K\xc3\x84MMEREI", "", &d);
	CHECK(d.scores[0] == 1.0);
	classify_decision_free(&d);
	classify_rules_score(cr, "An die Kaemmerei", "", &d); /* regexes see the text as read */
	CHECK(d.scores[0] == 0.0);
	classify_decision_free(&d);

	/* ae/ä and ss/ß equivalence for words */
	classify_rules_score(cr, "GEBUEHR", "", &d);
	CHECK(d.scores[1] == 1.0);
	classify_decision_free(&d);
	classify_rules_score(cr, "In der STRASSE 5", "", &d);
	CHECK(d.scores[2] == 3.5);
	CHECK_STR(decided(cr, &d), "brief");
	classify_decision_free(&d);

	/* region top: only the given top text counts */
	classify_rules_score(cr, "Kopf\nText Rechnung", "Kopf", &d);
	CHECK(d.scores[0] == 0.0);
	classify_decision_free(&d);
	classify_rules_score(cr, "Rechnung\nText", "Rechnung", &d);
	CHECK(d.scores[0] == 2.0);
	classify_decision_free(&d);

	/* negative terms veto a type; the veto is in the trace */
	classify_rules_score(cr,
			     "Sehr geehrte Damen und Herren, hiermit lege ich "
			     "Widerspruch ein.",
			     NULL, &d);
	CHECK(d.vetoed[2] && d.scores[2] == 0.0);
	CHECK(!d.decided);
	for (i = 0; i < d.n_hits; i++)
		if (strcmp(d.hits[i].kind, "not") == 0 && d.hits[i].type == 2)
			veto = 1;
	CHECK(veto);
	classify_decision_free(&d);

	/* abstention: margin below min_margin, naming both types and scores */
	classify_rules_score(cr, "Rechnungsnummer 1, Kassenbon", "", &d);
	CHECK(!d.decided);
	CHECK(d.best == 0 && d.second == 1);
	CHECK(strstr(d.reason, "rechnung 3.0 vs quittung 2.5") != NULL);
	CHECK(strstr(d.reason, "margin 0.5 < 1.5") != NULL);
	classify_decision_free(&d);

	/* abstention: below min_score */
	classify_rules_score(cr, "Kassenbon", "", &d);
	CHECK(!d.decided && d.best == 1);
	CHECK(strstr(d.reason, "min_score") != NULL);
	classify_decision_free(&d);

	/* nothing at all */
	classify_rules_score(cr, "", "", &d);
	CHECK(!d.decided && d.best == -1 && strstr(d.reason, "no rule fired") != NULL);
	classify_decision_free(&d);

	/* the trace as JSON */
	classify_rules_score(cr, "Rechnungsnummer 1 zahlbar bis", "", &d);
	{
		json_object *t = classify_decision_trace(cr, &d), *h, *m;

		/* the rechnung rule, then the veto of brief */
		CHECK(json_object_array_length(t) == 2);
		h = json_object_array_get_idx(t, 0);
		CHECK(json_object_object_get_ex(h, "matched", &m) &&
		      json_object_array_length(m) == 2);
		CHECK(json_object_object_get_ex(h, "line", &m) && json_object_get_int(m) == 10);
		json_object_put(t);
	}
	classify_decision_free(&d);
	classify_rules_free(cr);
}

/* Configuration errors name the file and line. */
static void test_errors(void)
{
	conf_err e;
	char *y;
	classify_rules *cr;

	/* broken regex: line of the pattern, PCRE2's message and offset */
	y = strdup(rules_yaml);
	memcpy(strstr(y, "'\\bK"), "'(bK", 4);
	cr = load(y, &e);
	CHECK(cr == NULL);
	CHECK(strstr(e.msg, "scankonzept.yaml:14:") != NULL);
	CHECK(strstr(e.msg, "does not compile") != NULL && strstr(e.msg, "offset") != NULL);
	classify_rules_free(cr);
	free(y);

	/* unknown key */
	cr = load(
	    "thresholds: {min_score: 3, min_margin: 1}\n"
	    "types:\n"
	    "  - id: x\n"
	    "    name: X\n"
	    "    scan_mode: ersetzend\n"
	    "    protection: {integrity: hoch, confidentiality: normal, availability: normal}\n"
	    "    qs_sample_rate: 5\n"
	    "    office: kaemmerei\n"
	    "    rules:\n"
	    "      - any: [a]\n"
	    "        wieght: 2\n",
	    &e);
	CHECK(cr == NULL && strstr(e.msg, ":11:") != NULL && strstr(e.msg, "wieght") != NULL);
	classify_rules_free(cr);

	/* bad enum value */
	cr = load("thresholds: {min_score: 3, min_margin: 1}\n"
		  "types:\n"
		  "  - id: x\n"
		  "    name: X\n"
		  "    scan_mode: ersetzen\n",
		  &e);
	CHECK(cr == NULL && strstr(e.msg, ":5:") != NULL && strstr(e.msg, "ersetzend") != NULL);
	classify_rules_free(cr);

	/* office not in offices.yaml */
	cr = load(
	    "thresholds: {min_score: 3, min_margin: 1}\n"
	    "types:\n"
	    "  - id: x\n"
	    "    name: X\n"
	    "    scan_mode: kopierend\n"
	    "    protection: {integrity: hoch, confidentiality: normal, availability: sehr_hoch}\n"
	    "    qs_sample_rate: 5\n"
	    "    office: finanzamt\n"
	    "    rules: [{any: [a], weight: 1}]\n",
	    &e);
	CHECK(cr == NULL && strstr(e.msg, ":8:") != NULL && strstr(e.msg, "finanzamt") != NULL);
	classify_rules_free(cr);

	/* a rule with two kinds, and min_score 0 */
	cr = load("thresholds: {min_score: 3, min_margin: 1}\n"
		  "types:\n"
		  "  - id: x\n"
		  "    name: X\n"
		  "    scan_mode: kopierend\n"
		  "    protection: {integrity: hoch, confidentiality: normal, availability: hoch}\n"
		  "    qs_sample_rate: 5\n"
		  "    office: address\n"
		  "    rules:\n"
		  "      - {any: [a], regex: 'a', weight: 1}\n",
		  &e);
	CHECK(cr == NULL && strstr(e.msg, ":10:") != NULL && strstr(e.msg, "exactly one") != NULL);
	classify_rules_free(cr);
	cr = load("thresholds: {min_score: 0, min_margin: 1}\ntypes: []\n", &e);
	CHECK(cr == NULL && strstr(e.msg, ":1:") != NULL);
	classify_rules_free(cr);
}

/* The shipped conf/scankonzept.yaml from conf_dir, or NULL (a failed check). */
static classify_rules *shipped_load(const char *conf_dir)
{
	char path[4096];
	conf_err e;
	conf_node *root;
	classify_rules *cr = NULL;

	if (snprintf(path, sizeof(path), "%s/scankonzept.yaml", conf_dir) >= (int)sizeof(path)) {
		CHECK(!"conf dir path too long");
		return NULL;
	}
	root = conf_load(path, &e);
	CHECK(root != NULL);
	if (root != NULL)
		cr = classify_rules_load(root, &test_offices, &e);
	conf_free(root);
	CHECK(cr != NULL);
	if (cr == NULL)
		fprintf(stderr, "shipped scankonzept.yaml: %s\n", e.msg);
	return cr;
}

/* The score of the type with id in d (0 if vetoed, -1 if there is no such type). */
static double score_of(const classify_rules *cr, const struct classify_decision *d, const char *id)
{
	size_t i;

	for (i = 0; i < classify_rules_count(cr); i++)
		if (strcmp(classify_rules_type(cr, i)->id, id) == 0)
			return d->scores[i];
	return -1.0;
}

/* The shipped Scankonzept loads and decides the obvious cases. */
static void test_shipped(const char *conf_dir)
{
	classify_rules *cr;
	struct classify_decision d;
	size_t i;
	int seen = 0;
	static const char *const required[] = {
	    "rechnung", "quittung", "antrag",  "brief",	   "vertrag",	"bescheid", "widerspruch",
	    "gericht",	"urkunde",  "werbung", "personal", "merkblatt", "mahnung"};

	if ((cr = shipped_load(conf_dir)) == NULL)
		return;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		size_t k;

		for (k = 0; k < classify_rules_count(cr); k++)
			if (strcmp(classify_rules_type(cr, k)->id, required[i]) == 0)
				seen++;
	}
	CHECK(seen == (int)(sizeof(required) / sizeof(required[0])));

	classify_rules_score(
	    cr,
	    "Sehr geehrte Damen und Herren,\ngegen den Bescheid vom 01.10.2026 "
	    "lege ich hiermit Widerspruch ein.\nMit freundlichen Gr\xc3\xbc\xc3\x9f\x65n",
	    "Widerspruch", &d);
	CHECK_STR(decided(cr, &d), "widerspruch");
	classify_decision_free(&d);
	classify_rules_score(
	    cr,
	    "Verwaltungsgericht Musterstadt\nLADUNG\nIn dem Verwaltungsrechtsstreit "
	    "3 K 1234/26\nTermin zur m\xc3\xbcndlichen Verhandlung",
	    "Verwaltungsgericht Musterstadt\nLADUNG", &d);
	CHECK_STR(decided(cr, &d), "gericht");
	classify_decision_free(&d);
	classify_rules_score(cr, "Jetzt 20 % Rabatt! Newsletter abbestellen", "", &d);
	CHECK_STR(decided(cr, &d), "werbung");
	classify_decision_free(&d);
	/* a plain note without marks is not guessed */
	classify_rules_score(cr, "Bitte um R\xc3\xbc\x63kruf. Danke", NULL, &d);
	CHECK(!d.decided);
	classify_decision_free(&d);
	classify_rules_free(cr);
}

/*
 * The shipped rules tell the kinds of commercial mail and letters apart by what
 * the kind itself carries, not by what every business paper carries (texts
 * written for the test, not taken from the corpus).
 */
static void test_shipped_kinds(const char *conf_dir)
{
	classify_rules *cr;
	struct classify_decision d;

	if ((cr = shipped_load(conf_dir)) == NULL)
		return;
	/* a till slip that calls itself TAX INVOICE: total, cash, change -> receipt */
	classify_rules_score(cr,
			     "KEDAI MAJU SDN BHD\nTAX INVOICE\nInvoice No: 10233\n"
			     "12/03/2019 14:22:10  Cashier: 02\n2 x MINERAL WATER   3.00\n"
			     "TOTAL               6.00\nCASH               10.00\n"
			     "CHANGE              4.00\nTHANK YOU, PLEASE COME AGAIN\n",
			     "KEDAI MAJU SDN BHD\nTAX INVOICE\nInvoice No: 10233\n", &d);
	CHECK_STR(decided(cr, &d), "quittung");
	classify_decision_free(&d);
	/* a German cash till receipt without a title: Summe, BAR, RUECKGELD */
	classify_rules_score(cr,
			     "Baumarkt Beispiel GmbH\nMarktweg 1\n12345 Musterstadt\n"
			     "Schrauben 4x40         3,49\nHolzleim              2,99\n"
			     "SUMME EUR              6,48\nBAR EUR               10,00\n"
			     "R\xc3\x9c"
			     "CKGELD EUR            3,52\n21.11.2026 10:14  Kasse 2\n",
			     NULL, &d);
	CHECK_STR(decided(cr, &d), "quittung");
	classify_decision_free(&d);
	/* an invoice saying "due upon receipt" is no receipt */
	classify_rules_score(
	    cr,
	    "Example Ltd\nINVOICE\nInvoice No: 2026-044\nInvoice date: 02.03.2026\n"
	    "Consulting, 2 days   1,200.00\nTotal due   1,200.00 EUR\n"
	    "Payment due upon receipt of this invoice.\n",
	    "Example Ltd\nINVOICE\nInvoice No: 2026-044\n", &d);
	CHECK_STR(decided(cr, &d), "rechnung");
	CHECK(score_of(cr, &d, "quittung") < classify_rules_min_score(cr));
	classify_decision_free(&d);
	/* an offer has items, VAT, a total, tax id and bank details, but no mark of an
	 * invoice: those alone never reach min_score for rechnung */
	classify_rules_score(
	    cr,
	    "Buerotechnik Beispiel KG\nAngebot Nr. AN-2026-17\n"
	    "Sehr geehrte Damen und Herren,\ngerne bieten wir Ihnen an:\n"
	    "Pos. Menge Bezeichnung Einzelpreis\n1 10 Ordner 2,10 EUR\n"
	    "Nettobetrag 21,00 EUR\nzzgl. 19 % MwSt. 3,99 EUR\nGesamtbetrag 24,99 EUR\n"
	    "Mit freundlichen Gr\xc3\xbc\xc3\x9f"
	    "en\nUSt-IdNr.: DE123456789  IBAN: DE89 3704 0044 0532 0130 00\n",
	    NULL, &d);
	CHECK(score_of(cr, &d, "rechnung") < classify_rules_min_score(cr));
	CHECK(!d.decided || strcmp(decided(cr, &d), "rechnung") != 0);
	classify_decision_free(&d);
	/* a citizen who wants to deregister is not unsubscribing from a newsletter, and
	 * "anmelden" is not "abmelden" read with an OCR error: never advertising */
	classify_rules_score(cr,
			     "Sehr geehrte Damen und Herren,\nich m\xc3\xb6"
			     "chte meinen Wohnsitz abmelden und mein Gewerbe anmelden.\n"
			     "Mit freundlichen Gr\xc3\xbc\xc3\x9f"
			     "en\n",
			     NULL, &d);
	CHECK(score_of(cr, &d, "werbung") == 0.0);
	classify_decision_free(&d);
	/* a DIN 5008 letter: date line, subject, salutation, closing */
	classify_rules_score(
	    cr,
	    "Erika Beispiel - Lindenweg 7 - 12345 Musterstadt\nStadt Musterstadt\n"
	    "Ordnungsamt\nRathausplatz 1\n12345 Musterstadt\n"
	    "Musterstadt, 05.11.2026\nParkplatz am Rathaus\n"
	    "Sehr geehrte Damen und Herren,\nbitte pruefen Sie die Beschilderung.\n"
	    "Mit freundlichen Gr\xc3\xbc\xc3\x9f"
	    "en\nErika Beispiel\n",
	    NULL, &d);
	CHECK_STR(decided(cr, &d), "brief");
	CHECK(score_of(cr, &d, "brief") >= 5.0);
	classify_decision_free(&d);
	/* the same letter giving notice: the original may be evidence, not a plain letter */
	classify_rules_score(cr,
			     "Erika Beispiel - Lindenweg 7 - 12345 Musterstadt\nStadt Musterstadt\n"
			     "Ordnungsamt\nRathausplatz 1\n12345 Musterstadt\n"
			     "Musterstadt, 05.11.2026\nK\xc3\xbc"
			     "ndigung des Stellplatzes\n"
			     "Sehr geehrte Damen und Herren,\nhiermit k\xc3\xbc"
			     "ndige ich den Stellplatz.\n"
			     "Mit freundlichen Gr\xc3\xbc\xc3\x9f"
			     "en\nErika Beispiel\n",
			     NULL, &d);
	CHECK(score_of(cr, &d, "brief") == 0.0);
	CHECK(!d.decided);
	classify_decision_free(&d);
	/* a reminder names the invoice but is none: to accounts payable, urgent */
	classify_rules_score(
	    cr,
	    "Elektro Beispiel GmbH - Werkstrasse 3 - 12345 Musterstadt\n"
	    "Stadt Musterstadt\nK\xc3\xa4mmerei\nRathausplatz 1\n12345 Musterstadt\n"
	    "Musterstadt, 12.11.2026\nZahlungserinnerung\n"
	    "Sehr geehrte Damen und Herren,\nunsere Rechnung Nr. 2026-118 vom "
	    "01.10.2026 wurde noch nicht beglichen. Bitte \xc3\xbc"
	    "berweisen Sie den offenen Betrag zuz\xc3\xbc"
	    "glich 5,00 EUR Mahngeb\xc3\xbchr.\n",
	    "Elektro Beispiel GmbH - Werkstrasse 3 - 12345 Musterstadt\n"
	    "Stadt Musterstadt\nK\xc3\xa4mmerei\nRathausplatz 1\n12345 Musterstadt\n"
	    "Musterstadt, 12.11.2026\nZahlungserinnerung\n",
	    &d);
	CHECK_STR(decided(cr, &d), "mahnung");
	CHECK(score_of(cr, &d, "rechnung") == 0.0); /* vetoed */
	classify_decision_free(&d);
	/* an insurer changes the terms of the city's policy: mail about a contract */
	classify_rules_score(
	    cr,
	    "Kommunalversicherung Beispiel VaG\nStadt Musterstadt\nHauptamt\n"
	    "Versicherungsnummer KV-55-1234\nAnpassung Ihres Vertrages zum 01.01.2027\n"
	    "Sehr geehrte Damen und Herren,\nder Versicherungsschutz f\xc3\xbcr Ihre "
	    "Geb\xc3\xa4ude wird angepasst. Ihnen steht ein Sonderk\xc3\xbc"
	    "ndigungsrecht zu.\n",
	    NULL, &d);
	CHECK_STR(decided(cr, &d), "vertrag");
	classify_decision_free(&d);
	classify_rules_free(cr);
}

/* Routing by type and by the address block. */
static void test_route(void)
{
	struct classify_type t;
	struct classify_route r;

	memset(&t, 0, sizeof(t));
	t.id = "antrag";
	t.office = NULL;
	CHECK(classify_route(&test_offices, &t,
			     "Stadt Musterstadt\nSTADTK\xc3\x84MMEREI\nRathausplatz 1", &r) == 0);
	CHECK(r.office != NULL && strcmp(r.office->id, "kaemmerei") == 0);
	CHECK_STR(r.how, "address");
	CHECK(classify_route(&test_offices, &t, "Stadt Musterstadt\nWohngeldstelle", &r) == 0);
	CHECK(r.office != NULL && strcmp(r.office->id, "sozialamt") == 0);
	CHECK(classify_route(&test_offices, &t, "Stadt Musterstadt\nRathausplatz 1", &r) == 1);
	CHECK(strstr(r.reason, "no office found in the address block") != NULL);
	CHECK(classify_route(&test_offices, &t, "Kaemmerei\nBauordnungsamt", &r) == 1);
	CHECK(strstr(r.reason, "kaemmerei") != NULL && strstr(r.reason, "bauamt") != NULL);
	t.office = "rechtsamt";
	CHECK(classify_route(&test_offices, &t, "", &r) == 0 &&
	      strcmp(r.office->id, "rechtsamt") == 0);
}

/* Extraction: dates, subject, sender, references. */
static void test_extract(void)
{
	char iso[11];
	json_object *o, *v;
	const char *text = "M\xc3\xbcller GmbH, Hauptstr. 5\nStadt Musterstadt\n"
			   "Ihr Schreiben vom 02.10.2026\nDatum: 21. November 2026\n"
			   "Betreff: Ihre Bestellung 123\nRechnungsnummer: RE-2026-0815\n"
			   "Kunden-Nr. K4711\nAz.: 3 K 1234/26  Seite 1\n\fSeite 2";

	CHECK(classify_extract_date("am 21.11.2026", iso) == 0);
	CHECK_STR(iso, "2026-11-21");
	CHECK(classify_extract_date("21. November 2026", iso) == 0);
	CHECK_STR(iso, "2026-11-21");
	CHECK(classify_extract_date("1. M\xc3\xa4rz 2027", iso) == 0);
	CHECK_STR(iso, "2027-03-01");
	CHECK(classify_extract_date("2026-02-28", iso) == 0);
	CHECK_STR(iso, "2026-02-28");
	CHECK(classify_extract_date("31.02.2026", iso) == -1);
	CHECK(classify_extract_date("Version 1.2.3", iso) == -1);

	o = classify_extract(text, NULL);
	CHECK(json_object_object_get_ex(o, "date", &v));
	CHECK_STR(json_object_get_string(v), "2026-11-21");
	CHECK(json_object_object_get_ex(o, "subject", &v));
	CHECK_STR(json_object_get_string(v), "Ihre Bestellung 123");
	CHECK(json_object_object_get_ex(o, "sender", &v));
	CHECK_STR(json_object_get_string(v), "M\xc3\xbcller GmbH, Hauptstr. 5");
	CHECK(json_object_object_get_ex(o, "references", &v));
	CHECK(json_object_array_length(v) == 3);
	if (json_object_array_length(v) == 3) {
		json_object *r = json_object_array_get_idx(v, 0), *x;

		CHECK(json_object_object_get_ex(r, "value", &x));
		CHECK_STR(json_object_get_string(x), "3 K 1234/26");
	}
	json_object_put(o);

	/* OCR joins table columns with one space: the value ends before "Datum" */
	o = classify_extract("Aktenzeichen: 3 K 1234/26 Datum: 18.11.2026\n", NULL);
	CHECK(json_object_object_get_ex(o, "references", &v) && json_object_array_length(v) == 1);
	if (json_object_array_length(v) == 1) {
		json_object *x;

		CHECK(json_object_object_get_ex(json_object_array_get_idx(v, 0), "value", &x));
		CHECK_STR(json_object_get_string(x), "3 K 1234/26");
	}
	json_object_put(o);

	o = classify_extract("Betreff\n\nAntrag auf Wohngeld\nText", "");
	CHECK(json_object_object_get_ex(o, "subject", &v));
	CHECK_STR(json_object_get_string(v), "Antrag auf Wohngeld");
	CHECK(json_object_object_get_ex(o, "date", &v) && v == NULL);
	json_object_put(o);
}

/* Invalid UTF-8 from the OCR engine is replaced, valid text kept byte for byte. */
static void test_clean_utf8(void)
{
	buf b;
	const char ok[] = "K\xc3\xa4mmerei \xe2\x82\xac 5";
	const char bad[] = "a\xc3(b\xed\xa0\x80\xf0\x9f\x98";

	buf_init(&b, 1024);
	CHECK(classify_ocr_clean_utf8(ok, strlen(ok), &b) == 0);
	CHECK_STR(b.data, ok);
	buf_reset(&b);
	CHECK(classify_ocr_clean_utf8(bad, strlen(bad), &b) == 1);
	CHECK_STR(b.data, "a\xef\xbf\xbd(b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			  "\xef\xbf\xbd\xef\xbf\xbd");
	buf_free(&b);
}

int main(void)
{
	const char *src = getenv("MAILROOM_SOURCE");
	char conf_dir[4096];
	conf_err e;

	log_init("classify_rules_test");
	snprintf(conf_dir, sizeof(conf_dir), "%s/conf", src ? src : MAILROOM_SOURCE_FALLBACK);
	if (offices_load(conf_dir, &test_offices, &e) == -1) {
		fprintf(stderr, "offices.yaml: %s\n", e.msg);
		return 1;
	}
	test_fold();
	test_find();
	test_score();
	test_errors();
	test_shipped(conf_dir);
	test_shipped_kinds(conf_dir);
	test_route();
	test_extract();
	test_clean_utf8();
	offices_free(&test_offices);
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
