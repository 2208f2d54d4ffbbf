/*
 * scan_sane.c - SANE access (the sequence of scanimage.c); see scan_sane.h.
 *
 * Runs in the device process: a backend that hangs in sane_read, sane_start or
 * sane_cancel (the test backend's reader thread can deadlock in sane_cancel when
 * it is cancelled inside malloc) is killed from outside with the process, so
 * nothing here needs a watchdog or a helper thread.
 */
#include "scan_sane.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sane/saneopts.h>

#include "log.h"
#include "xalloc.h"

struct scan_sane {
	SANE_Handle h;
	int inited;
	const struct scan_sane_req *rq;
	struct scan_sane_device dev;
	json_object *settings;
	double xres, yres;
	int feeder; /* the source is a document feeder */
	int duplex; /* both sides as consecutive frames */
};

/* Format into err; returns -1. */
static int scan_sane_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int scan_sane_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

const char *scan_sane_advice(SANE_Status st)
{
	switch (st) {
	case SANE_STATUS_JAMMED:
		return "clear the paper jam, put the pages from this one on back into the "
		       "feeder and scan them again";
	case SANE_STATUS_NO_DOCS:
		return "put the letter into the feeder and scan again";
	case SANE_STATUS_COVER_OPEN:
		return "close the scanner cover and scan again";
	case SANE_STATUS_DEVICE_BUSY:
		return "the scanner is in use by another program; wait until it is free and "
		       "scan again";
	case SANE_STATUS_IO_ERROR:
		return "check the scanner's power and cable or network, then scan again";
	case SANE_STATUS_ACCESS_DENIED:
		return "the scanner refused access; check its permissions (udev group) or "
		       "password";
	case SANE_STATUS_NO_MEM:
		return "the scanner ran out of memory; scan fewer pages at once";
	case SANE_STATUS_CANCELLED:
		return "the scan was cancelled; scan the letter again";
	default:
		return "check the scanner and scan the letter again";
	}
}

/* 1 if word occurs in s, ignoring case. */
static int scan_sane_contains(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

enum scan_sane_source scan_sane_source_class(const char *name)
{
	if (name == NULL)
		return SCAN_SANE_SRC_OTHER;
	if (scan_sane_contains(name, "duplex") ||
	    (scan_sane_contains(name, "front") && scan_sane_contains(name, "back")))
		return SCAN_SANE_SRC_DUPLEX;
	if (scan_sane_contains(name, "adf") || scan_sane_contains(name, "feeder") ||
	    scan_sane_contains(name, "automatic document")) {
		/* "ADF Back": the back sides only, never what a batch asks for */
		if (scan_sane_contains(name, "back") && !scan_sane_contains(name, "front"))
			return SCAN_SANE_SRC_OTHER;
		return SCAN_SANE_SRC_ADF;
	}
	if (scan_sane_contains(name, "flatbed") || scan_sane_contains(name, "platen") ||
	    scan_sane_contains(name, "document table") || scan_sane_contains(name, "glass") ||
	    strcasecmp(name, "Normal") == 0)
		return SCAN_SANE_SRC_FLATBED;
	return SCAN_SANE_SRC_OTHER;
}

int scan_sane_mode_class(const char *name)
{
	int colour;

	if (name == NULL)
		return 0;
	colour = scan_sane_contains(name, "color") || scan_sane_contains(name, "colour") ||
		 scan_sane_contains(name, "rgb");
	if (scan_sane_contains(name, "halftone") || scan_sane_contains(name, "dither"))
		return colour ? 0 : 'H';
	if (scan_sane_contains(name, "lineart") || scan_sane_contains(name, "line art") ||
	    scan_sane_contains(name, "binary") || scan_sane_contains(name, "black & white") ||
	    scan_sane_contains(name, "black and white") || strcasecmp(name, "bw") == 0 ||
	    strcasecmp(name, "b&w") == 0 || strcasecmp(name, "mono") == 0)
		return colour ? 0 : 'L';
	if (colour)
		return 'C';
	if (scan_sane_contains(name, "gray") || scan_sane_contains(name, "grey"))
		return 'G';
	return 0;
}

int scan_sane_page_size(const char *text, double *w, double *h)
{
	static const struct {
		const char *name;
		double w, h;
	} sizes[] = {{"A3", 297, 420}, {"A4", 210, 297},	 {"A5", 148, 210},
		     {"A6", 105, 148}, {"Letter", 215.9, 279.4}, {"Legal", 215.9, 355.6},
		     {"B5", 176, 250}};
	char *end;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (strcasecmp(text, sizes[i].name) == 0) {
			*w = sizes[i].w;
			*h = sizes[i].h;
			return 0;
		}
	errno = 0;
	*w = strtod(text, &end);
	if (errno || end == text || (*end != 'x' && *end != 'X'))
		return -1;
	text = end + 1;
	*h = strtod(text, &end);
	if (errno || end == text || (*end != '\0' && strcasecmp(end, "mm") != 0))
		return -1;
	if (!(*w >= 10 && *w <= 2000 && *h >= 10 && *h <= 10000))
		return -1;
	return 0;
}

/* Index of the option called name, or -1; *d gets its descriptor. */
static int scan_sane_find(scan_sane *s, const char *name, const SANE_Option_Descriptor **d)
{
	const SANE_Option_Descriptor *od;
	SANE_Int count = 0, i;

	if (sane_control_option(s->h, 0, SANE_ACTION_GET_VALUE, &count, NULL) != SANE_STATUS_GOOD)
		return -1;
	for (i = 1; i < count; i++) {
		if ((od = sane_get_option_descriptor(s->h, i)) == NULL || od->name == NULL)
			continue;
		if (strcmp(od->name, name) == 0) {
			*d = od;
			return i;
		}
	}
	return -1;
}

/* The string-list entry matching value case-insensitively, or NULL. */
static const char *scan_sane_choice(const SANE_Option_Descriptor *d, const char *value)
{
	const SANE_String_Const *l;

	if (d->constraint_type != SANE_CONSTRAINT_STRING_LIST)
		return value;
	for (l = d->constraint.string_list; *l != NULL; l++)
		if (strcasecmp(*l, value) == 0)
			return *l;
	return NULL;
}

/* The choices of a string-list option, comma separated, into out. */
static void scan_sane_choices(const SANE_Option_Descriptor *d, char *out, size_t outlen)
{
	const SANE_String_Const *l;
	size_t n = 0;

	out[0] = '\0';
	if (d->constraint_type != SANE_CONSTRAINT_STRING_LIST)
		return;
	for (l = d->constraint.string_list; *l != NULL && n < outlen; l++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", *l);
}

/* Parse a SANE word (bool, int or fixed) from text. */
static int scan_sane_word(const SANE_Option_Descriptor *d, const char *v, SANE_Word *w)
{
	char *end;

	if (d->type == SANE_TYPE_BOOL) {
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
		    !strcasecmp(v, "on"))
			*w = SANE_TRUE;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
			 !strcasecmp(v, "off"))
			*w = SANE_FALSE;
		else
			return -1;
		return 0;
	}
	errno = 0;
	if (d->type == SANE_TYPE_INT) {
		long l = strtol(v, &end, 10);

		if (errno || end == v || *end != '\0' || l < -2147483647L || l > 2147483647L)
			return -1;
		*w = (SANE_Word)l;
	} else {
		double x = strtod(v, &end);

		if (errno || end == v || *end != '\0' || x < -32767 || x > 32767)
			return -1;
		*w = SANE_FIX(x);
	}
	return 0;
}

/* A number as the device can take it: the nearest entry of a word list, or clamped
 * into its range (logged when it differs: 300 dpi on a 150/200/600 scanner). */
static SANE_Word scan_sane_nearest(scan_sane *s, const SANE_Option_Descriptor *d, const char *name,
				   SANE_Word w)
{
	SANE_Word best = w;
	double x = d->type == SANE_TYPE_FIXED ? SANE_UNFIX(w) : (double)w, bx = 0;
	int i;

	if (d->constraint_type == SANE_CONSTRAINT_WORD_LIST && d->constraint.word_list[0] > 0) {
		for (i = 1; i <= d->constraint.word_list[0]; i++) {
			SANE_Word c = d->constraint.word_list[i];
			double cx = d->type == SANE_TYPE_FIXED ? SANE_UNFIX(c) : (double)c;

			if (i == 1 || fabs(cx - x) < fabs(bx - x)) {
				best = c;
				bx = cx;
			}
		}
	} else if (d->constraint_type == SANE_CONSTRAINT_RANGE) {
		if (w < d->constraint.range->min)
			best = d->constraint.range->min;
		else if (w > d->constraint.range->max)
			best = d->constraint.range->max;
		bx = d->type == SANE_TYPE_FIXED ? SANE_UNFIX(best) : (double)best;
	}
	if (best != w)
		log_info("scanner %s: %s %g is not offered; using %g", s->rq->device, name, x, bx);
	return best;
}

/* Set option name to value on the device; required: a missing option is an error. */
static int scan_sane_set(scan_sane *s, const char *name, const char *value, int required, char *err,
			 size_t errlen)
{
	const SANE_Option_Descriptor *d = NULL;
	SANE_Int info = 0;
	SANE_Status st;
	void *val = NULL;
	int idx, rc = -1;
	size_t i, nw;

	if ((idx = scan_sane_find(s, name, &d)) == -1) {
		if (!required) {
			log_info("scanner %s has no option '%s'; the default from scan.yaml is "
				 "not used",
				 s->rq->device, name);
			return 0;
		}
		return scan_sane_fail(err, errlen,
				      "scanner %s has no option '%s' (see 'mailroom-scan "
				      "--list-options %s' for its options)",
				      s->rq->device, name, s->rq->device);
	}
	if (!SANE_OPTION_IS_ACTIVE(d->cap) || !SANE_OPTION_IS_SETTABLE(d->cap))
		return scan_sane_fail(err, errlen,
				      "option '%s' of scanner %s cannot be set now (inactive or "
				      "read-only; another option may enable it)",
				      name, s->rq->device);
	switch (d->type) {
	case SANE_TYPE_BOOL:
	case SANE_TYPE_INT:
	case SANE_TYPE_FIXED: {
		SANE_Word w;

		if (scan_sane_word(d, value, &w) == -1) {
			scan_sane_fail(err, errlen, "option '%s' of scanner %s: '%s' is not a %s",
				       name, s->rq->device, value,
				       d->type == SANE_TYPE_BOOL ? "yes/no value" : "number");
			goto out;
		}
		if (d->type != SANE_TYPE_BOOL)
			w = scan_sane_nearest(s, d, name, w);
		nw =
		    d->size > (SANE_Int)sizeof(SANE_Word) ? (size_t)d->size / sizeof(SANE_Word) : 1;
		val = xcalloc(nw, sizeof(SANE_Word));
		for (i = 0; i < nw; i++)
			((SANE_Word *)val)[i] = w;
		break;
	}
	case SANE_TYPE_STRING: {
		const char *c = scan_sane_choice(d, value);
		char list[512];

		if (c == NULL) {
			scan_sane_choices(d, list, sizeof(list));
			scan_sane_fail(err, errlen,
				       "option '%s' of scanner %s: '%s' is not one of: %s", name,
				       s->rq->device, value, list);
			goto out;
		}
		if (strlen(c) >= (size_t)d->size) {
			scan_sane_fail(err, errlen, "option '%s': value too long", name);
			goto out;
		}
		val = xcalloc(1, (size_t)d->size);
		memcpy(val, c, strlen(c));
		break;
	}
	case SANE_TYPE_BUTTON:
		break;
	default:
		scan_sane_fail(err, errlen, "option '%s' of scanner %s cannot be set from here",
			       name, s->rq->device);
		goto out;
	}
	st = sane_control_option(s->h, idx, SANE_ACTION_SET_VALUE, val, &info);
	if (st != SANE_STATUS_GOOD) {
		scan_sane_fail(err, errlen, "scanner %s refused %s=%s: %s", s->rq->device, name,
			       value, sane_strstatus(st));
		goto out;
	}
	if (info & SANE_INFO_INEXACT)
		log_info("scanner %s rounded %s=%s to the nearest value it supports", s->rq->device,
			 name, value);
	/* options are looked up by name on every use, so a reload needs no cache flush */
	if (info & SANE_INFO_RELOAD_OPTIONS)
		log_debug("scanner %s: options changed after setting %s", s->rq->device, name);
	rc = 0;
out:
	free(val);
	return rc;
}

int scan_sane_set_option(scan_sane *s, const char *name_value, char *err, size_t errlen)
{
	const char *eq = strchr(name_value, '=');
	char name[128];

	if (eq == NULL || eq == name_value || (size_t)(eq - name_value) >= sizeof(name))
		return scan_sane_fail(err, errlen, "option '%s': expected name=value", name_value);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - name_value), name_value);
	return scan_sane_set(s, name, eq + 1, 1, err, errlen);
}

/* The value of option name as JSON (NULL if absent, inactive or not a value). */
static json_object *scan_sane_value(scan_sane *s, const char *name)
{
	const SANE_Option_Descriptor *d = NULL;
	json_object *v = NULL;
	void *val;
	int idx;

	if ((idx = scan_sane_find(s, name, &d)) == -1 || !SANE_OPTION_IS_ACTIVE(d->cap) ||
	    d->type == SANE_TYPE_BUTTON || d->type == SANE_TYPE_GROUP || d->size <= 0)
		return NULL;
	val = xcalloc(1, (size_t)d->size + 1);
	if (sane_control_option(s->h, idx, SANE_ACTION_GET_VALUE, val, NULL) == SANE_STATUS_GOOD) {
		SANE_Word w = *(SANE_Word *)val;

		switch (d->type) {
		case SANE_TYPE_BOOL:
			v = json_object_new_boolean(w == SANE_TRUE);
			break;
		case SANE_TYPE_INT:
			v = json_object_new_int(w);
			break;
		case SANE_TYPE_FIXED:
			v = json_object_new_double(SANE_UNFIX(w));
			break;
		case SANE_TYPE_STRING:
			v = json_object_new_string(val);
			break;
		default:
			break;
		}
	}
	free(val);
	return v;
}

int scan_sane_get_option(scan_sane *s, const char *name, char *out, size_t outlen)
{
	json_object *v = scan_sane_value(s, name);

	out[0] = '\0';
	if (v == NULL)
		return -1;
	snprintf(out, outlen, "%s", json_object_get_string(v));
	json_object_put(v);
	return 0;
}

/* Read option name into the settings object under key (absent options are skipped). */
static void scan_sane_record(scan_sane *s, const char *name, const char *key)
{
	json_object *v = scan_sane_value(s, name);

	if (v != NULL)
		json_object_object_add(s->settings, key, v);
}

/* A number from the settings object; 0 if absent. */
static double scan_sane_num(const json_object *settings, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(settings, key, &v))
		return 0;
	return json_object_get_double(v);
}

/* Fill s->dev from the device list (name, vendor, model, type). */
static void scan_sane_identify(scan_sane *s)
{
	const SANE_Device **list = NULL;
	const SANE_Device *hit = NULL;
	size_t n = strlen(s->rq->device);
	int i;

	snprintf(s->dev.name, sizeof(s->dev.name), "%s", s->rq->device);
	snprintf(s->dev.vendor, sizeof(s->dev.vendor), "unknown");
	snprintf(s->dev.model, sizeof(s->dev.model), "unknown");
	snprintf(s->dev.type, sizeof(s->dev.type), "unknown");
	if (sane_get_devices(&list, SANE_FALSE) != SANE_STATUS_GOOD || list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i]->name, s->rq->device) == 0) {
			hit = list[i];
			break;
		}
	/* "test" opens the backend's first device, "test:0" */
	for (i = 0; hit == NULL && list[i] != NULL; i++)
		if (strncmp(list[i]->name, s->rq->device, n) == 0 && list[i]->name[n] == ':')
			hit = list[i];
	if (hit == NULL)
		return;
	snprintf(s->dev.vendor, sizeof(s->dev.vendor), "%s", hit->vendor ? hit->vendor : "");
	snprintf(s->dev.model, sizeof(s->dev.model), "%s", hit->model ? hit->model : "");
	snprintf(s->dev.type, sizeof(s->dev.type), "%s", hit->type ? hit->type : "");
}

/* The device's string-list entry for a wanted value: the value itself if listed,
 * else the first entry of the same class (cls maps a name to its class). NULL if
 * none; *d gets the descriptor (NULL if the option is absent). */
static const char *scan_sane_synonym(scan_sane *s, const char *option, const char *want,
				     int (*cls)(const char *), const SANE_Option_Descriptor **d)
{
	const SANE_String_Const *l;
	int c;

	*d = NULL;
	if (scan_sane_find(s, option, d) == -1 || (*d)->type != SANE_TYPE_STRING ||
	    (*d)->constraint_type != SANE_CONSTRAINT_STRING_LIST)
		return NULL;
	for (l = (*d)->constraint.string_list; *l != NULL; l++)
		if (strcasecmp(*l, want) == 0)
			return *l;
	if ((c = cls(want)) == 0)
		return NULL;
	for (l = (*d)->constraint.string_list; *l != NULL; l++)
		if (cls(*l) == c)
			return *l;
	return NULL;
}

/* scan_sane_source_class as an int for scan_sane_synonym (OTHER is 0). */
static int scan_sane_source_int(const char *name)
{
	return (int)scan_sane_source_class(name);
}

/* Choose and set the source; sets s->feeder and s->duplex. */
static int scan_sane_set_source(scan_sane *s, char *err, size_t errlen)
{
	const struct scan_sane_req *rq = s->rq;
	const SANE_Option_Descriptor *d = NULL;
	enum scan_sane_source want = scan_sane_source_class(rq->source);
	const char *v;
	char list[512];

	v = scan_sane_synonym(s, SANE_NAME_SCAN_SOURCE, rq->source, scan_sane_source_int, &d);
	if (v == NULL && want == SCAN_SANE_SRC_DUPLEX && d != NULL) {
		/* a feeder plus the backend's own duplex switch */
		const SANE_Option_Descriptor *dd = NULL;
		const char *feeder =
		    scan_sane_synonym(s, SANE_NAME_SCAN_SOURCE, "ADF", scan_sane_source_int, &d);

		if (feeder != NULL && (scan_sane_find(s, "duplex", &dd) != -1 ||
				       scan_sane_find(s, "adf-mode", &dd) != -1)) {
			if (scan_sane_set(s, SANE_NAME_SCAN_SOURCE, feeder, 1, err, errlen) == -1)
				return -1;
			if (dd->type == SANE_TYPE_BOOL) {
				if (scan_sane_set(s, "duplex", "yes", 1, err, errlen) == -1)
					return -1;
			} else {
				const char *dv = scan_sane_choice(dd, "Duplex");

				if (dv == NULL ||
				    scan_sane_set(s, dd->name, dv, 1, err, errlen) == -1)
					return scan_sane_fail(err, errlen,
							      "scanner %s: cannot switch its "
							      "feeder to duplex (%s)",
							      rq->device, dd->name);
			}
			s->feeder = s->duplex = 1;
			return 0;
		}
	}
	if (v == NULL) {
		if (d == NULL) {
			if (!(rq->given & SCAN_SANE_GIVEN_SOURCE) && want != SCAN_SANE_SRC_DUPLEX) {
				log_info("scanner %s has no option 'source'; the default from "
					 "scan.yaml is not used",
					 rq->device);
				return 0;
			}
			return scan_sane_fail(err, errlen,
					      "scanner %s has no option 'source' (see "
					      "'mailroom-scan --list-options %s')",
					      rq->device, rq->device);
		}
		scan_sane_choices(d, list, sizeof(list));
		return scan_sane_fail(err, errlen,
				      "option 'source' of scanner %s: '%s' is not one of: %s%s",
				      rq->device, rq->source, list,
				      want == SCAN_SANE_SRC_DUPLEX
					  ? " (and it has no duplex option: it cannot scan both "
					    "sides)"
					  : "");
	}
	if (strcmp(v, rq->source) != 0)
		log_info("scanner %s: source '%s' is called '%s' there", rq->device, rq->source, v);
	if (scan_sane_set(s, SANE_NAME_SCAN_SOURCE, v, 1, err, errlen) == -1)
		return -1;
	return 0;
}

/* Choose and set the mode (and depth 1 for Lineart on a device without it). */
static int scan_sane_set_mode(scan_sane *s, long *depth, char *err, size_t errlen)
{
	const struct scan_sane_req *rq = s->rq;
	const SANE_Option_Descriptor *d = NULL;
	int want = scan_sane_mode_class(rq->mode);
	const char *v =
	    scan_sane_synonym(s, SANE_NAME_SCAN_MODE, rq->mode, scan_sane_mode_class, &d);
	char list[512];

	if (v == NULL && want == 'L' && d != NULL) {
		/* bilevel: halftone if that is all the device has, else Gray at depth 1 */
		v = scan_sane_synonym(s, SANE_NAME_SCAN_MODE, "Halftone", scan_sane_mode_class, &d);
		if (v == NULL) {
			v = scan_sane_synonym(s, SANE_NAME_SCAN_MODE, "Gray", scan_sane_mode_class,
					      &d);
			if (v != NULL) {
				log_info("scanner %s has no Lineart mode; scanning %s at depth 1",
					 rq->device, v);
				*depth = 1;
			}
		}
	}
	if (v == NULL) {
		if (d == NULL) {
			if (!(rq->given & SCAN_SANE_GIVEN_MODE)) {
				log_info("scanner %s has no option 'mode'; the default from "
					 "scan.yaml is not used",
					 rq->device);
				return 0;
			}
			return scan_sane_fail(err, errlen, "scanner %s has no option 'mode'",
					      rq->device);
		}
		scan_sane_choices(d, list, sizeof(list));
		return scan_sane_fail(err, errlen,
				      "option 'mode' of scanner %s: '%s' is not one of: %s",
				      rq->device, rq->mode, list);
	}
	if (strcasecmp(v, rq->mode) != 0)
		log_info("scanner %s: mode '%s' is called '%s' there", rq->device, rq->mode, v);
	return scan_sane_set(s, SANE_NAME_SCAN_MODE, v, 1, err, errlen);
}

/* Set a length option (mm) to want, clamped to its range; *got gets the value set. */
static int scan_sane_set_mm(scan_sane *s, const char *name, double want, double *got, char *err,
			    size_t errlen)
{
	const SANE_Option_Descriptor *d = NULL;
	char num[64];
	double v = want;

	*got = 0;
	if (scan_sane_find(s, name, &d) == -1 || !SANE_OPTION_IS_ACTIVE(d->cap))
		return 1;
	if (d->unit != SANE_UNIT_MM || (d->type != SANE_TYPE_FIXED && d->type != SANE_TYPE_INT)) {
		log_info("scanner %s: option '%s' is not in mm; the page size does not set it",
			 s->rq->device, name);
		return 1;
	}
	if (d->constraint_type == SANE_CONSTRAINT_RANGE) {
		double lo = d->type == SANE_TYPE_FIXED ? SANE_UNFIX(d->constraint.range->min)
						       : d->constraint.range->min;
		double hi = d->type == SANE_TYPE_FIXED ? SANE_UNFIX(d->constraint.range->max)
						       : d->constraint.range->max;

		if (v > hi) {
			log_info("scanner %s: %s %.1f mm is more than the device's %.1f mm; "
				 "using %.1f",
				 s->rq->device, name, want, hi, hi);
			v = hi;
		}
		if (v < lo)
			v = lo;
	}
	if (d->type == SANE_TYPE_INT)
		snprintf(num, sizeof(num), "%ld", lround(v));
	else
		snprintf(num, sizeof(num), "%.4f", v);
	if (scan_sane_set(s, name, num, 1, err, errlen) == -1)
		return -1;
	*got = v;
	return 0;
}

/* The page size: page-width/page-height if present, then the scan area. */
static int scan_sane_set_page(scan_sane *s, char *err, size_t errlen)
{
	const struct scan_sane_req *rq = s->rq;
	double got, bw = 0, bh = 0;
	int rw, rh;

	if (rq->page_w <= 0 || rq->page_h <= 0)
		return 0;
	if (scan_sane_set_mm(s, SANE_NAME_PAGE_WIDTH, rq->page_w, &got, err, errlen) == -1 ||
	    scan_sane_set_mm(s, SANE_NAME_PAGE_HEIGHT, rq->page_h, &got, err, errlen) == -1 ||
	    scan_sane_set_mm(s, SANE_NAME_SCAN_TL_X, 0, &got, err, errlen) == -1 ||
	    scan_sane_set_mm(s, SANE_NAME_SCAN_TL_Y, 0, &got, err, errlen) == -1)
		return -1;
	if ((rw = scan_sane_set_mm(s, SANE_NAME_SCAN_BR_X, rq->page_w, &bw, err, errlen)) == -1 ||
	    (rh = scan_sane_set_mm(s, SANE_NAME_SCAN_BR_Y, rq->page_h, &bh, err, errlen)) == -1)
		return -1;
	if (rw == 1 || rh == 1) {
		if (rq->given & SCAN_SANE_GIVEN_PAGE)
			return scan_sane_fail(err, errlen,
					      "scanner %s has no scan area options (br-x, br-y) "
					      "for the page size",
					      rq->device);
		log_info("scanner %s has no scan area options; the page size is not used",
			 rq->device);
		return 0;
	}
	if (bw + 0.5 < rq->page_w || bh + 0.5 < rq->page_h)
		json_object_object_add(s->settings, "page_clamped", json_object_new_boolean(1));
	return 0;
}

scan_sane *scan_sane_open(const struct scan_sane_req *rq, char *err, size_t errlen)
{
	scan_sane *s = xcalloc(1, sizeof(*s));
	SANE_Int version = 0;
	SANE_Status st;
	long depth = rq->depth;
	char num[32];
	size_t i;

	s->rq = rq;
	s->settings = json_object_new_object();
	if ((st = sane_init(&version, NULL)) != SANE_STATUS_GOOD) {
		scan_sane_fail(err, errlen, "SANE cannot start: %s", sane_strstatus(st));
		goto fail;
	}
	s->inited = 1;
	if ((st = sane_open(rq->device, &s->h)) != SANE_STATUS_GOOD) {
		s->h = NULL;
		scan_sane_fail(err, errlen,
			       "cannot open scanner %s: %s; check that it is switched on and "
			       "connected and that the name matches 'mailroom-scan --list'",
			       rq->device, sane_strstatus(st));
		goto fail;
	}
	scan_sane_identify(s);
	if (rq->source != NULL && scan_sane_set_source(s, err, errlen) == -1)
		goto fail;
	if (rq->mode != NULL && scan_sane_set_mode(s, &depth, err, errlen) == -1)
		goto fail;
	if (depth > 0) {
		snprintf(num, sizeof(num), "%ld", depth);
		if (scan_sane_set(s, SANE_NAME_BIT_DEPTH, num,
				  rq->given & (SCAN_SANE_GIVEN_DEPTH | SCAN_SANE_GIVEN_MODE), err,
				  errlen) == -1)
			goto fail;
	}
	if (rq->resolution > 0) {
		snprintf(num, sizeof(num), "%ld", rq->resolution);
		if (scan_sane_set(s, SANE_NAME_SCAN_RESOLUTION, num,
				  rq->given & SCAN_SANE_GIVEN_RESOLUTION, err, errlen) == -1)
			goto fail;
	}
	if (scan_sane_set_page(s, err, errlen) == -1)
		goto fail;
	for (i = 0; i < rq->n_options; i++)
		if (scan_sane_set_option(s, rq->options[i], err, errlen) == -1)
			goto fail;
	/* what is in effect, read back from the device */
	scan_sane_record(s, SANE_NAME_SCAN_SOURCE, "source");
	scan_sane_record(s, SANE_NAME_SCAN_MODE, "mode");
	scan_sane_record(s, SANE_NAME_BIT_DEPTH, "depth");
	scan_sane_record(s, SANE_NAME_SCAN_RESOLUTION, "resolution");
	scan_sane_record(s, SANE_NAME_SCAN_X_RESOLUTION, "x-resolution");
	scan_sane_record(s, SANE_NAME_SCAN_Y_RESOLUTION, "y-resolution");
	scan_sane_record(s, "duplex", "duplex");
	scan_sane_record(s, "adf-mode", "adf-mode");
	if (rq->page_w > 0) {
		scan_sane_record(s, SANE_NAME_PAGE_WIDTH, SANE_NAME_PAGE_WIDTH);
		scan_sane_record(s, SANE_NAME_PAGE_HEIGHT, SANE_NAME_PAGE_HEIGHT);
		scan_sane_record(s, SANE_NAME_SCAN_TL_X, SANE_NAME_SCAN_TL_X);
		scan_sane_record(s, SANE_NAME_SCAN_TL_Y, SANE_NAME_SCAN_TL_Y);
		scan_sane_record(s, SANE_NAME_SCAN_BR_X, SANE_NAME_SCAN_BR_X);
		scan_sane_record(s, SANE_NAME_SCAN_BR_Y, SANE_NAME_SCAN_BR_Y);
	}
	for (i = 0; i < rq->n_options; i++) {
		const char *eq = strchr(rq->options[i], '=');
		char name[128];

		snprintf(name, sizeof(name), "%.*s", (int)(eq - rq->options[i]), rq->options[i]);
		scan_sane_record(s, name, name);
	}
	s->xres = scan_sane_num(s->settings, "x-resolution");
	if (s->xres <= 0)
		s->xres = scan_sane_num(s->settings, "resolution");
	s->yres = scan_sane_num(s->settings, "y-resolution");
	if (s->yres <= 0)
		s->yres = s->xres;
	if (s->xres <= 0) {
		scan_sane_fail(err, errlen,
			       "scanner %s does not report its resolution; set it with "
			       "--resolution",
			       rq->device);
		goto fail;
	}
	{
		json_object *src;

		if (json_object_object_get_ex(s->settings, "source", &src)) {
			enum scan_sane_source c =
			    scan_sane_source_class(json_object_get_string(src));

			if (c == SCAN_SANE_SRC_ADF || c == SCAN_SANE_SRC_DUPLEX)
				s->feeder = 1;
			if (c == SCAN_SANE_SRC_DUPLEX)
				s->duplex = 1;
		}
		if (json_object_object_get_ex(s->settings, "duplex", &src) &&
		    json_object_get_boolean(src))
			s->duplex = s->feeder = 1;
		if (json_object_object_get_ex(s->settings, "adf-mode", &src) &&
		    scan_sane_contains(json_object_get_string(src), "duplex"))
			s->duplex = s->feeder = 1;
	}
	return s;
fail:
	scan_sane_close(s);
	return NULL;
}

const struct scan_sane_device *scan_sane_device(const scan_sane *s)
{
	return &s->dev;
}

json_object *scan_sane_settings(const scan_sane *s)
{
	return s->settings;
}

double scan_sane_xres(const scan_sane *s)
{
	return s->xres;
}

double scan_sane_yres(const scan_sane *s)
{
	return s->yres;
}

int scan_sane_feeder(const scan_sane *s)
{
	return s->feeder;
}

int scan_sane_duplex(const scan_sane *s)
{
	return s->duplex;
}

SANE_Status scan_sane_start(scan_sane *s, SANE_Parameters *p, const char **during)
{
	SANE_Status st;

	*during = "start";
	if ((st = sane_start(s->h)) != SANE_STATUS_GOOD)
		return st;
	*during = "parameters";
	return sane_get_parameters(s->h, p);
}

SANE_Status scan_sane_read(scan_sane *s, unsigned char *buf, int max, int *len)
{
	SANE_Int n = 0;
	SANE_Status st = sane_read(s->h, buf, (SANE_Int)max, &n);

	*len = n;
	return st;
}

void scan_sane_cancel(scan_sane *s)
{
	if (s != NULL && s->h != NULL)
		sane_cancel(s->h);
}

scan_sane *scan_sane_close(scan_sane *s)
{
	if (s == NULL)
		return NULL;
	if (s->h != NULL) {
		sane_cancel(s->h);
		sane_close(s->h);
	}
	if (s->inited)
		sane_exit();
	json_object_put(s->settings);
	free(s);
	return NULL;
}

int scan_sane_list(FILE *out, int json, char *err, size_t errlen)
{
	const SANE_Device **list = NULL;
	SANE_Int version = 0;
	SANE_Status st;
	json_object *a = json_object_new_array();
	int i;

	if ((st = sane_init(&version, NULL)) != SANE_STATUS_GOOD) {
		json_object_put(a);
		return scan_sane_fail(err, errlen, "SANE cannot start: %s", sane_strstatus(st));
	}
	if ((st = sane_get_devices(&list, SANE_FALSE)) != SANE_STATUS_GOOD) {
		sane_exit();
		json_object_put(a);
		return scan_sane_fail(err, errlen, "SANE cannot list its devices: %s",
				      sane_strstatus(st));
	}
	for (i = 0; list != NULL && list[i] != NULL; i++) {
		const SANE_Device *d = list[i];

		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(d->name));
			json_object_object_add(o, "vendor",
					       json_object_new_string(d->vendor ? d->vendor : ""));
			json_object_object_add(o, "model",
					       json_object_new_string(d->model ? d->model : ""));
			json_object_object_add(o, "type",
					       json_object_new_string(d->type ? d->type : ""));
			json_object_array_add(a, o);
		} else {
			fprintf(out, "%s\t%s\t%s\t%s\n", d->name, d->vendor ? d->vendor : "",
				d->model ? d->model : "", d->type ? d->type : "");
		}
	}
	if (json)
		fprintf(out, "%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	else if (i == 0)
		fprintf(stderr, "no scanners found (check 'scanimage -L' and the backends in "
				"SANE's dll.conf)\n");
	json_object_put(a);
	sane_exit();
	return 0;
}

/* The constraint of option d as text into out. */
static void scan_sane_constraint(const SANE_Option_Descriptor *d, char *out, size_t outlen)
{
	size_t n = 0;
	int i;

	out[0] = '\0';
	switch (d->constraint_type) {
	case SANE_CONSTRAINT_STRING_LIST:
		scan_sane_choices(d, out, outlen);
		break;
	case SANE_CONSTRAINT_WORD_LIST:
		for (i = 1; i <= d->constraint.word_list[0] && n < outlen; i++)
			n += (size_t)snprintf(out + n, outlen - n, "%s%g", i > 1 ? "|" : "",
					      d->type == SANE_TYPE_FIXED
						  ? SANE_UNFIX(d->constraint.word_list[i])
						  : (double)d->constraint.word_list[i]);
		break;
	case SANE_CONSTRAINT_RANGE:
		if (d->type == SANE_TYPE_FIXED)
			snprintf(out, outlen, "%g..%g", SANE_UNFIX(d->constraint.range->min),
				 SANE_UNFIX(d->constraint.range->max));
		else
			snprintf(out, outlen, "%d..%d", d->constraint.range->min,
				 d->constraint.range->max);
		break;
	default:
		break;
	}
}

int scan_sane_list_options(const char *device, FILE *out, char *err, size_t errlen)
{
	static const char *const types[] = {"bool", "int", "fixed", "string", "button", "group"};
	static const char *const units[] = {"", "pel", "bit", "mm", "dpi", "%", "us"};
	struct scan_sane_req rq;
	scan_sane *s;
	SANE_Int count = 0, i;

	memset(&rq, 0, sizeof(rq));
	rq.device = device;
	if ((s = scan_sane_open(&rq, err, errlen)) == NULL)
		return -1;
	fprintf(out, "%s: %s %s (%s)\n", s->dev.name, s->dev.vendor, s->dev.model, s->dev.type);
	sane_control_option(s->h, 0, SANE_ACTION_GET_VALUE, &count, NULL);
	for (i = 1; i < count; i++) {
		const SANE_Option_Descriptor *d = sane_get_option_descriptor(s->h, i);
		char cons[512], val[256];

		if (d == NULL)
			continue;
		if (d->type == SANE_TYPE_GROUP) {
			fprintf(out, "  %s:\n", d->title ? d->title : "");
			continue;
		}
		if (d->name == NULL || d->name[0] == '\0')
			continue;
		scan_sane_constraint(d, cons, sizeof(cons));
		val[0] = '\0';
		if (SANE_OPTION_IS_ACTIVE(d->cap) && d->type != SANE_TYPE_BUTTON &&
		    d->size <= (SANE_Int)sizeof(SANE_Word) * 4)
			scan_sane_get_option(s, d->name, val, sizeof(val));
		else if (SANE_OPTION_IS_ACTIVE(d->cap) && d->type == SANE_TYPE_STRING)
			scan_sane_get_option(s, d->name, val, sizeof(val));
		fprintf(out, "    %-28s %-6s %s%s%s [%s]%s%s\n", d->name,
			(unsigned)d->type < 6 ? types[d->type] : "?", cons,
			(unsigned)d->unit < 7 ? units[d->unit] : "", cons[0] ? "" : "",
			SANE_OPTION_IS_ACTIVE(d->cap) ? val : "inactive",
			SANE_OPTION_IS_SETTABLE(d->cap) ? "" : " read-only",
			(d->cap & SANE_CAP_ADVANCED) ? " advanced" : "");
	}
	scan_sane_close(s);
	return 0;
}
