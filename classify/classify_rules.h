/*
 * classify_rules.h - the Scankonzept rules engine: document types, their scan
 * mode, protection needs and office, and the word/regex rules that recognise them.
 *
 * Loaded from the parsed conf/scankonzept.yaml (every value checked, errors as
 * file:line). Scoring is a pure function of the text: each type's score is the
 * sum of the weights of its rules that fire; a type whose negative terms occur is
 * vetoed (score 0). The decision takes the best type only when its score reaches
 * thresholds.min_score and its lead over the second reaches thresholds.min_margin;
 * otherwise it abstains with a reason that names both types. It never guesses.
 * Equal scores are ordered by the types' priority (eilig > hoch > normal), then by
 * their order in the file: that decides which is "best" and which "second", never
 * whether the margin suffices.
 *
 * Fuzzy matching survives OCR errors: a term of at least CLASSIFY_FUZZY_MIN
 * letters (rule option fuzzy: auto, the default; fuzzy: yes for shorter words
 * too) also matches a word sequence within a Damerau-Levenshtein (optimal string
 * alignment) distance of one edit per CLASSIFY_FUZZY_PER letters (at least one) on
 * the folded text; the OCR confusion "rn" for "m" counts as one edit. (One edit
 * per 6 letters was tried first: it matched inflections, "vereinbaren" for
 * "Vereinbarung", and sent a plain letter to review.) A rule that fires only through fuzzy matches scores its weight times
 * thresholds.fuzzy_weight and is marked "fuzzy" in the trace. Candidates are
 * pre-filtered by word start, first letters and word length, so the cost stays
 * linear in the text. Negative terms and exact: phrases never match fuzzily.
 *
 * Regions (region: on a rule): whole, top (the OCR engine's top region of page 1),
 * and letterhead, address, subject found by classify_regions_find from the
 * lines of page 1 with a DIN 5008 layout heuristic (described there).
 *
 * Matching of words and phrases works on folded text (classify_rules_fold):
 * lower case, umlauts and ß spelled out (ä = ae, ß = ss), other Latin diacritics
 * dropped, whitespace collapsed, words hyphenated across a line break joined;
 * terms match on word boundaries. Regexes (PCRE2, UTF + UCP + caseless) run on the
 * original text.
 */
#ifndef MAILROOM_CLASSIFY_RULES_H
#define MAILROOM_CLASSIFY_RULES_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "offices.h"

#define CLASSIFY_RULES_FILE "scankonzept.yaml"
#define CLASSIFY_TEXT_MAX (16u << 20) /* largest OCR text we classify */
#define CLASSIFY_MATCH_MAX 160	      /* matched text kept in a trace entry */

enum classify_scan_mode { CLASSIFY_ERSETZEND, CLASSIFY_KOPIEREND, CLASSIFY_NICHT_SCANNEN };
enum classify_protection { CLASSIFY_NORMAL, CLASSIFY_HOCH, CLASSIFY_SEHR_HOCH };
enum classify_region {
	CLASSIFY_WHOLE,
	CLASSIFY_TOP,
	CLASSIFY_LETTERHEAD,
	CLASSIFY_ADDRESS,
	CLASSIFY_SUBJECT
};
#define CLASSIFY_REGIONS 5
#define CLASSIFY_FUZZY_MIN 7	 /* fuzzy: auto matches terms of this many letters and more */
#define CLASSIFY_FUZZY_PER 8	 /* one edit allowed per this many letters (at least 1) */
#define CLASSIFY_FUZZY_TERM_MAX 64 /* longer terms are matched exactly only */

/* The names used in the configuration and in job.json, indexed by the enums. */
extern const char *const classify_scan_mode_names[];
extern const char *const classify_protection_names[];
extern const char *const classify_region_names[];
extern const char *const classify_priority_names[];

/* One document type of the Scankonzept; strings are owned by the rules. */
struct classify_type {
	const char *id;
	const char *name;
	enum classify_scan_mode scan_mode;
	enum classify_protection integrity, confidentiality, availability;
	double qs_sample_rate; /* percent of letters of this type for quality checks */
	const char *office;    /* an office id, or NULL: route by the address block */
	int priority;	       /* index into classify_priority_names */
	int line;	       /* where the type starts in the file */
};

/* One fired rule (or veto) in a decision's trace. */
struct classify_hit {
	int type;	  /* index of the type */
	const char *kind; /* "any", "all", "exact", "regex" or "not" */
	enum classify_region region;
	double weight;			  /* what it scored (reduced when fuzzy); 0 for a veto */
	int fuzzy;			  /* 1 if it fired only through fuzzy matches */
	int line;			  /* the rule's line in the file */
	char matched[CLASSIFY_MATCH_MAX]; /* the words found, "; "-separated */
};

/* The outcome of scoring one text. */
struct classify_decision {
	int decided;	  /* 1: best is the type; 0: abstained (see reason) */
	int best, second; /* type indexes, -1 if none scored */
	double best_score, second_score, margin;
	char reason[512];	   /* why it abstained; empty when decided */
	double *scores;		   /* per type (0 when vetoed); owned */
	int *vetoed;		   /* per type; owned */
	struct classify_hit *hits; /* every fired rule and veto, in file order; owned */
	size_t n_hits;
};

typedef struct classify_rules classify_rules;

/*
 * Build the rules from the root of a parsed scankonzept.yaml. Office ids are
 * checked against offices. NULL with e set ("file:line: ...") on any error:
 * unknown keys, bad enum values, a regex that does not compile, an unknown office.
 */
classify_rules *classify_rules_load(const conf_node *root, const offices *of, conf_err *e);
classify_rules *classify_rules_free(classify_rules *cr);

size_t classify_rules_count(const classify_rules *cr);
/* Type i (0 <= i < count); owned by the rules. */
const struct classify_type *classify_rules_type(const classify_rules *cr, size_t i);
double classify_rules_min_score(const classify_rules *cr);
double classify_rules_min_margin(const classify_rules *cr);

/*
 * Score text (UTF-8). top is the top region of page 1 (letterhead, address block,
 * subject) for rules with region: top; NULL means "the first third of the lines of
 * page 1". Fills d (free with classify_decision_free). 0, or -1 if the text is
 * larger than CLASSIFY_TEXT_MAX (d is then empty and abstaining).
 */
int classify_rules_score(const classify_rules *cr, const char *text, const char *top,
			 struct classify_decision *d);
void classify_decision_free(struct classify_decision *d);
/* The trace as a JSON array of {type, kind, region, weight, line, matched[, fuzzy]};
 * caller owns. */
json_object *classify_decision_trace(const classify_rules *cr, const struct classify_decision *d);

/* Fold UTF-8 text for matching (see above) and append it to out. -1 if out is full. */
int classify_rules_fold(const char *text, buf *out);
/* 1 if folded term occurs in folded text on word boundaries. With at != NULL the
 * offset of the first occurrence is stored. */
int classify_rules_find(const char *folded_text, const char *folded_term, size_t *at);
/* The first third (at least 10 lines) of page 1 of text, appended to out. */
int classify_rules_top_guess(const char *text, buf *out);

/*
 * Fuzzy search: 1 if folded_term occurs in folded_text within maxd edits
 * (Damerau-Levenshtein, optimal string alignment) on word boundaries; *at and
 * *len (may be NULL) get where, *dist the distance. 0 if not found.
 */
int classify_rules_find_fuzzy(const char *folded_text, const char *folded_term, int maxd,
			      size_t *at, size_t *len, int *dist);
/* The edit distance fuzzy matching allows for folded_term with the option
 * (0 no, 1 yes, 2 auto); 0 means exact only. */
int classify_rules_fuzzy_maxd(const char *folded_term, int option);

/*
 * The regions of page 1 of a letter, found from its OCR text by the layout of a
 * DIN 5008 letter (tesseract gives us lines, not reliable boxes):
 *  - address: the last line of page 1 that starts with a German
 *    postal code ("12345 Ort", "D-12345 Ort") before the salutation or subject
 *    (without either: in the first 60% of the lines of page 1),
 *    and up to 5 non-empty lines above it, stopping at a line with a postal code
 *    inside it (the sender's return line "Firma · Straße 5 · 12345 Ort"), a
 *    line with a date, or the first line of the page;
 *  - letterhead: the lines of page 1 before the address block (without an address
 *    block: the first 5 non-empty lines);
 *  - subject: the line starting "Betreff"/"Betr." (the label removed; the next line
 *    if the label stands alone), else the first non-empty line after the last date
 *    line that precedes the salutation ("Sehr geehrte ...", "Guten Tag").
 * Limits: a letter without a postal code line (window envelope address printed as
 * an image, a foreign address) has no address region; a two-column letterhead that
 * tesseract reads after the address puts the sender's own address into the
 * address block; forms and invoices without a salutation have no subject unless it
 * is labelled. Line numbers are 1-based within page 1; 0 means not found.
 */
struct classify_regions {
	buf letterhead, address, subject; /* the text of each region ("" if none) */
	int letterhead_first, letterhead_last;
	int address_first, address_last;
	int subject_line;
	size_t subject_off; /* byte offset of the subject text in the whole text */
};

/* Find the regions of text (see above); free with classify_regions_free. 0, or -1
 * if the text is larger than CLASSIFY_TEXT_MAX (the regions are then empty). */
int classify_regions_find(const char *text, struct classify_regions *rg);
void classify_regions_free(struct classify_regions *rg);
/* The text of region r of a letter (whole: text; top: top), never NULL. */
const char *classify_regions_text(const struct classify_regions *rg, enum classify_region r,
				  const char *text, const char *top);

#endif
