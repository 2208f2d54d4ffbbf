/*
 * scan_sane.c - SANE capture (the sequence of scanimage.c); see scan_sane.h.
 */
#include "scan_sane.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <sane/sane.h>
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
	int wedged; /* sane_cancel did not return: the handle is never touched again */
};

#define SCAN_SANE_CANCEL_SECONDS 10

/* The helper thread of scan_sane_cancel and what it reports back. */
struct scan_sane_canceller {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	SANE_Handle h;
	int done;
	int abandoned; /* the waiter gave up: the thread frees this itself */
};

static void *scan_sane_cancel_thread(void *arg)
{
	struct scan_sane_canceller *c = arg;
	int abandoned;

	sane_cancel(c->h);
	pthread_mutex_lock(&c->mu);
	c->done = 1;
	abandoned = c->abandoned;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (abandoned)
		free(c);
	return NULL;
}

/* Set by the signal handlers; the handle they may cancel. */
static volatile sig_atomic_t scan_sane_stop;
static volatile sig_atomic_t scan_sane_timeouts;
static SANE_Handle volatile scan_sane_active;

/* SIGINT/SIGTERM: stop the scan. */
static void scan_sane_on_stop(int sig)
{
	(void)sig;
	scan_sane_stop = 1;
	if (scan_sane_active != NULL)
		sane_cancel(scan_sane_active);
}

/* SIGALRM: the scanner delivered nothing for too long. Cancel it; if even that does
 * not return within 10 s, give up the process (the job left in tmp/ is moved to
 * corrupt/ at the next start, never lost). */
static void scan_sane_on_alarm(int sig)
{
	static const char msg[] = "mailroom-scan: error: the scanner does not answer any "
				  "more, even to cancel; giving up\n";

	(void)sig;
	if (scan_sane_timeouts++ > 0) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* nothing left to do */
		}
		_exit(EX_IOERR);
	}
	if (scan_sane_active != NULL)
		sane_cancel(scan_sane_active);
	alarm(10);
}

/* Install the handlers (no SA_RESTART: a blocked read returns). */
static void scan_sane_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = scan_sane_on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = scan_sane_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
}

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

/* What the operator should do about a status. */
static const char *scan_sane_advice(SANE_Status st)
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
				      "scanner %s has no option '%s' (see 'scanimage -d %s -A' "
				      "for its options)",
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

/* Read option name into the settings object under key (absent options are skipped). */
static void scan_sane_record(scan_sane *s, const char *name, const char *key)
{
	const SANE_Option_Descriptor *d = NULL;
	json_object *v = NULL;
	void *val;
	int idx;

	if ((idx = scan_sane_find(s, name, &d)) == -1 || !SANE_OPTION_IS_ACTIVE(d->cap) ||
	    d->type == SANE_TYPE_BUTTON || d->type == SANE_TYPE_GROUP || d->size <= 0)
		return;
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
	if (v != NULL)
		json_object_object_add(s->settings, key, v);
}

/* The resolution option's value (or x-resolution's) in dpi; 0 if unknown. */
static double scan_sane_dpi(const json_object *settings, const char *key)
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

/* 1 if word occurs in s, ignoring case. */
static int scan_sane_contains(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

/* 1 if the device's mode option offers value. */
static int scan_sane_has_mode(scan_sane *s, const char *value)
{
	const SANE_Option_Descriptor *d = NULL;

	if (scan_sane_find(s, SANE_NAME_SCAN_MODE, &d) == -1)
		return 0;
	return scan_sane_choice(d, value) != NULL;
}

scan_sane *scan_sane_open(const struct scan_sane_req *rq, char *err, size_t errlen)
{
	scan_sane *s = xcalloc(1, sizeof(*s));
	SANE_Int version = 0;
	SANE_Status st;
	const char *mode = rq->mode;
	long depth = rq->depth;
	char num[32];
	size_t i;

	s->rq = rq;
	s->settings = json_object_new_object();
	scan_sane_stop = 0;
	scan_sane_timeouts = 0;
	scan_sane_signals();
	if ((st = sane_init(&version, NULL)) != SANE_STATUS_GOOD) {
		scan_sane_fail(err, errlen, "SANE cannot start: %s", sane_strstatus(st));
		goto fail;
	}
	s->inited = 1;
	if ((st = sane_open(rq->device, &s->h)) != SANE_STATUS_GOOD) {
		s->h = NULL;
		scan_sane_fail(err, errlen,
			       "cannot open scanner %s: %s; check that it is switched on and "
			       "connected and that the name matches 'scanimage -L'",
			       rq->device, sane_strstatus(st));
		goto fail;
	}
	scan_sane_active = s->h;
	scan_sane_identify(s);
	if (rq->source != NULL &&
	    scan_sane_set(s, SANE_NAME_SCAN_SOURCE, rq->source, rq->given & SCAN_SANE_GIVEN_SOURCE,
			  err, errlen) == -1)
		goto fail;
	if (mode != NULL && strcasecmp(mode, "Lineart") == 0 && !scan_sane_has_mode(s, mode)) {
		log_info("scanner %s has no Lineart mode; scanning Gray at depth 1", rq->device);
		mode = "Gray";
		depth = 1;
	}
	if (mode != NULL && scan_sane_set(s, SANE_NAME_SCAN_MODE, mode,
					  rq->given & SCAN_SANE_GIVEN_MODE, err, errlen) == -1)
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
	for (i = 0; i < rq->n_options; i++) {
		const char *eq = strchr(rq->options[i], '=');
		char name[128];

		if (eq == NULL || eq == rq->options[i] ||
		    (size_t)(eq - rq->options[i]) >= sizeof(name)) {
			scan_sane_fail(err, errlen, "--sane-option '%s': expected name=value",
				       rq->options[i]);
			goto fail;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - rq->options[i]), rq->options[i]);
		if (scan_sane_set(s, name, eq + 1, 1, err, errlen) == -1)
			goto fail;
	}
	/* what is in effect, read back from the device */
	scan_sane_record(s, SANE_NAME_SCAN_SOURCE, "source");
	scan_sane_record(s, SANE_NAME_SCAN_MODE, "mode");
	scan_sane_record(s, SANE_NAME_BIT_DEPTH, "depth");
	scan_sane_record(s, SANE_NAME_SCAN_RESOLUTION, "resolution");
	scan_sane_record(s, SANE_NAME_SCAN_X_RESOLUTION, "x-resolution");
	scan_sane_record(s, SANE_NAME_SCAN_Y_RESOLUTION, "y-resolution");
	for (i = 0; i < rq->n_options; i++) {
		const char *eq = strchr(rq->options[i], '=');
		char name[128];

		snprintf(name, sizeof(name), "%.*s", (int)(eq - rq->options[i]), rq->options[i]);
		scan_sane_record(s, name, name);
	}
	s->xres = scan_sane_dpi(s->settings, "x-resolution");
	if (s->xres <= 0)
		s->xres = scan_sane_dpi(s->settings, "resolution");
	s->yres = scan_sane_dpi(s->settings, "y-resolution");
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
			const char *v = json_object_get_string(src);

			s->feeder = scan_sane_contains(v, "feeder") ||
				    scan_sane_contains(v, "adf") || scan_sane_contains(v, "duplex");
		}
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

double scan_sane_resolution(const scan_sane *s)
{
	return s->xres;
}

/* Why a status ended the scan: interrupted, timed out, or the device said so. */
static int scan_sane_fault(scan_sane *s, SANE_Status st, int page, const char *during, char *err,
			   size_t errlen)
{
	if (scan_sane_stop)
		return scan_sane_fail(err, errlen,
				      "scanner %s: interrupted by a signal during page %d; scan "
				      "the letter again",
				      s->rq->device, page);
	if (scan_sane_timeouts)
		return scan_sane_fail(err, errlen,
				      "scanner %s: no data for %ld seconds during page %d (%s); "
				      "check the scanner, then scan the letter again",
				      s->rq->device, s->rq->timeout_seconds, page, during);
	return scan_sane_fail(err, errlen, "scanner %s: %s during page %d (%s): %s", s->rq->device,
			      sane_strstatus(st), page, during, scan_sane_advice(st));
}

/* Scan one page whose parameters are p into t. */
static int scan_sane_page(scan_sane *s, scan_tiff *t, const SANE_Parameters *p, int page, char *err,
			  size_t errlen)
{
	struct scan_tiff_page pg;
	unsigned char *row = NULL;
	size_t have = 0, need, bpl;
	SANE_Int len;
	SANE_Status st;
	int rc = -1;

	if (p->format != SANE_FRAME_GRAY && p->format != SANE_FRAME_RGB)
		return scan_sane_fail(err, errlen,
				      "scanner %s sends three-pass colour frames, which are not "
				      "supported: switch three-pass off (--sane-option "
				      "three-pass=no)",
				      s->rq->device);
	if (!p->last_frame || p->pixels_per_line <= 0 || p->bytes_per_line <= 0 ||
	    !(p->depth == 1 || p->depth == 8 || p->depth == 16) ||
	    (p->depth == 1 && p->format == SANE_FRAME_RGB))
		return scan_sane_fail(err, errlen,
				      "scanner %s: page layout not supported (%d bits, frame %d, "
				      "%d pixels): choose Gray or Color at depth 8",
				      s->rq->device, p->depth, (int)p->format, p->pixels_per_line);
	memset(&pg, 0, sizeof(pg));
	pg.width = (uint32_t)p->pixels_per_line;
	pg.height = p->lines > 0 ? (uint32_t)p->lines : 0;
	pg.bits = p->depth;
	pg.samples = p->format == SANE_FRAME_RGB ? 3 : 1;
	pg.xres = s->xres;
	pg.yres = s->yres;
	if (scan_tiff_page_begin(t, &pg, s->settings) == -1)
		return scan_sane_fail(err, errlen, "page %d: %s", page, scan_tiff_error(t));
	need = scan_tiff_row_bytes(t);
	bpl = (size_t)p->bytes_per_line;
	if (bpl < need) {
		scan_sane_fail(err, errlen, "scanner %s: %zu bytes per line for %zu needed",
			       s->rq->device, bpl, need);
		goto out;
	}
	row = xmalloc(bpl);
	for (;;) {
		len = 0;
		st = sane_read(s->h, row + have, (SANE_Int)(bpl - have), &len);
		if (st == SANE_STATUS_EOF)
			break;
		if (st != SANE_STATUS_GOOD) {
			scan_sane_fault(s, st, page, "reading", err, errlen);
			goto out;
		}
		if (len > 0)
			alarm((unsigned)s->rq->timeout_seconds); /* data flows: re-arm */
		have += (size_t)len;
		if (have == bpl) {
			if (scan_tiff_page_row(t, row) == -1) {
				scan_sane_fail(err, errlen, "page %d: %s", page,
					       scan_tiff_error(t));
				goto out;
			}
			have = 0;
		}
	}
	if (have != 0) {
		scan_sane_fail(err, errlen, "scanner %s: page %d ends in the middle of a line",
			       s->rq->device, page);
		goto out;
	}
	if (scan_tiff_page_end(t) == -1) {
		scan_sane_fail(err, errlen, "scanner %s: page %d: %s", s->rq->device, page,
			       scan_tiff_error(t));
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		scan_tiff_page_abort(t);
	free(row);
	return rc;
}

/*
 * sane_cancel with a time limit. A backend may never return from it: the SANE
 * test backend cancels its reader thread asynchronously (sanei_thread's
 * pthread_cancel), and a thread cancelled inside malloc leaves the arena locked,
 * so the join in sane_cancel waits forever (seen in CI after a JAMMED read). The
 * pages captured so far must still be written, so the cancel runs in a helper
 * thread; after SCAN_SANE_CANCEL_SECONDS the handle is marked wedged and left
 * alone (no sane_close / sane_exit: they would wait as well) and the process goes
 * on to store what it has and exits.
 * XXX issue 6: run the device in a child process that can simply be killed.
 */
static void scan_sane_cancel(scan_sane *s)
{
	struct scan_sane_canceller *c;
	struct timespec until;
	pthread_t th;
	int done;

	if (s->wedged || s->h == NULL)
		return;
	c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->h = s->h;
	if (pthread_create(&th, NULL, scan_sane_cancel_thread, c) != 0) {
		free(c);
		sane_cancel(s->h); /* no thread to spare: unbounded, as before */
		return;
	}
	pthread_detach(th);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SCAN_SANE_CANCEL_SECONDS;
	pthread_mutex_lock(&c->mu);
	while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
		;
	done = c->done;
	if (!done)
		c->abandoned = 1;
	pthread_mutex_unlock(&c->mu);
	if (done) {
		free(c);
		return;
	}
	s->wedged = 1;
	log_warnx("scanner %s does not stop (sane_cancel has not returned after %d s); the "
		  "pages captured so far are kept. Switch the scanner off and on before the next "
		  "scan",
		  s->rq->device, SCAN_SANE_CANCEL_SECONDS);
}

int scan_sane_run(scan_sane *s, scan_tiff *t, char *err, size_t errlen)
{
	SANE_Parameters p;
	SANE_Status st;
	long limit;
	int page = 0, rc = -1;

	if (s->rq->pages > 0)
		limit = s->rq->pages;
	else
		limit = s->feeder ? s->rq->max_pages : 1;
	if (limit > s->rq->max_pages)
		limit = s->rq->max_pages;
	while (page < limit) {
		if (scan_sane_stop) {
			scan_sane_fault(s, SANE_STATUS_CANCELLED, page + 1, "start", err, errlen);
			goto out;
		}
		alarm((unsigned)s->rq->timeout_seconds);
		st = sane_start(s->h);
		if (st == SANE_STATUS_NO_DOCS && page > 0 && !scan_sane_stop && !scan_sane_timeouts)
			break; /* the feeder is empty: the batch is complete */
		if (st != SANE_STATUS_GOOD) {
			scan_sane_fault(s, st, page + 1, "start", err, errlen);
			goto out;
		}
		if ((st = sane_get_parameters(s->h, &p)) != SANE_STATUS_GOOD) {
			scan_sane_fault(s, st, page + 1, "parameters", err, errlen);
			goto out;
		}
		if (scan_sane_page(s, t, &p, page + 1, err, errlen) == -1)
			goto out;
		page++;
		log_debug("scanner %s: page %d done", s->rq->device, page);
	}
	if (page == limit && s->feeder && s->rq->pages == 0)
		log_warnx("scanner %s: stopped after capture.max_pages (%ld) pages; pages left in "
			  "the feeder are not part of this letter",
			  s->rq->device, s->rq->max_pages);
	rc = 0;
out:
	alarm(0);
	/* ends the batch (required after the last frame) and stops a faulted scan */
	scan_sane_cancel(s);
	return rc;
}

scan_sane *scan_sane_close(scan_sane *s)
{
	struct sigaction sa;

	if (s == NULL)
		return NULL;
	alarm(0);
	scan_sane_active = NULL;
	if (s->h != NULL && !s->wedged) {
		scan_sane_cancel(s);
		if (!s->wedged)
			sane_close(s->h);
	}
	if (s->inited && !s->wedged)
		sane_exit();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	json_object_put(s->settings);
	free(s);
	return NULL;
}
