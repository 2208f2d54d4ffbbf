/*
 * export.c - mailroom-dms-export: the last stage. Delivers each letter as an
 * xdomea 3.0.0 package into its office's VIS inbox, or writes a routing record
 * for letters whose paper goes to an office that does not receive mail digitally,
 * and reads what the DMS answers.
 *
 * SYNOPSIS
 *	mailroom-dms-export [-c confdir] [--once]
 *
 *	Letters of pilot offices scanned "ersetzend" or "kopierend" become one ZIP
 *	<ProzessID>_<Nachrichtentyp>.zip (message 0101 Information.Information or
 *	0605 FVDaten.SGOAblegen, per office in conf/offices.yaml) in
 *	<inbox>/<office inbox>/, validated against the xdomea schema before it
 *	leaves. Letters of other offices and "nicht_scannen" letters get a routing
 *	record instead: a printable slip <var>/routing/<office>/<date>_<id>.txt
 *	and/or (per office, routing: in conf/export.yaml) an xdomea message without
 *	files whose Dokument is Medium 003 Papier. Either way the letter then leaves
 *	the pipeline into <var>/archive/<id>.
 *	Every delivery runs in a child process bounded by share_timeout_seconds
 *	(export_watch.h): an inbox that does not answer (a hung NFS or SMB share)
 *	defers the letter, never the stage.
 *	The DMS's answers - import receipts 0102/0629/0630 in an office's reply
 *	folder, packages in its error folder - are matched to the letters by
 *	ProzessID and journaled exactly once (export_replies.h); a rejected letter
 *	shows in `mailroom status` and `mailroom show`.
 *	--once drains incoming/, reads the reply folders once and exits; otherwise it
 *	runs as a daemon (inotify wake-ups and a timer rescan, daemon.rescan_seconds)
 *	with a second process that reads the reply folders at the same interval.
 *
 * SPOOL DIRECTORIES
 *	Claims from spool/export/incoming into spool/export/active (stage loop).
 *	Writes packages into the inbox folders (paths.inbox, default <var>/vis-inbox),
 *	routing slips into <var>/routing/, moves finished letters to <var>/archive/,
 *	records every delivery's ProzessID in <var>/dms/sent/<ProzessID>.
 *	Quarantines into spool/export/corrupt; deferred letters stay in incoming/
 *	with RETRY.txt. At start, letters whose record says export already finished
 *	(a crash before the archive move) are moved to the archive. Moves receipts it
 *	has read into done/, unknown/ or bad/ of the reply folder and rejected
 *	packages into done/ of the error folder.
 *
 * SECURITY
 *	Trusts the job record only after job_read has checked its digests. Text from
 *	the record (subject, sender) is sanitised to XML characters and bounded.
 *	Receipts are untrusted: read bounded, parsed without network, DTD or entity
 *	substitution and validated against the schema before anything in them is
 *	used. Opens payload files with O_NOFOLLOW; never overwrites a file in an
 *	inbox; reads the xdomea schema in place (read-only, never copied). Holds no
 *	keys. Never logs document content.
 *
 * EXIT STATUS
 *	0 (EX_OK) on a clean stop; EX_USAGE for bad options; EX_CONFIG for a wrong
 *	configuration (file:line), a missing xdomea schema; EX_TEMPFAIL if another
 *	instance runs; EX_IOERR if the spool cannot be worked.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "export_deliver.h"
#include "export_replies.h"
#include "export_watch.h"
#include "export_xdomea.h"
#include "export_zip.h"
#include "fileio.h"
#include "log.h"
#include "offices.h"
#include "settings.h"
#include "spool.h"
#include "stage.h"
#include "timefmt.h"
#include "xalloc.h"

/* conf/export.yaml keys and their defaults (Postfix mail_params style). */
#define EXPORT_CONF_FILE "export.yaml"
#define VAR_XSD "xsd"
#define DEF_XSD "../../shared/xsd/xdomea_3.0.0/xdomea.xsd"
#define VAR_SENDER "sender" /* {name}: Organisationseinheit of the sender */
#define VAR_MAX_PACKAGE_MB "max_package_mb"
#define DEF_MAX_PACKAGE_MB 256
#define VAR_PACKAGE_MODE "package_mode"
#define DEF_PACKAGE_MODE "0640"
#define VAR_SHARE_TIMEOUT "share_timeout_seconds" /* bound of one delivery / reply scan */
#define DEF_SHARE_TIMEOUT 120
#define VAR_SETTLE "receipt_settle_seconds" /* a malformed receipt this young waits */
#define DEF_SETTLE 60
#define VAR_OFFICES "offices"			/* {<office id>: {the VAR_OFF_ keys}} */
#define VAR_OFF_CONTAINER "id_container"	/* 0605 IDContainer; default none */
#define VAR_OFF_ABLAGEORT "ablageort"		/* 0605 Ablageort; default the inbox folder */
#define VAR_OFF_REPLIES "replies"		/* reply folder; default none */
#define VAR_OFF_ERRORS "errors"			/* error folder; default none */
#define VAR_OFF_ROUTING "routing"		/* slip | xdomea | both; default slip */
#define VAR_OFF_ROUTING_FOLDER "routing_folder" /* default the office's inbox folder */

#define EXPORT_SLIP_MAX 8192

/* How a letter without a package is routed (offices.<id>.routing); a bit set. */
enum export_routing { EXPORT_ROUTE_SLIP = 1, EXPORT_ROUTE_XDOMEA = 2 };

/* Per-office extras from export.yaml. */
struct export_office {
	const char *id, *id_container, *ablageort;
	char *replies, *errors;	    /* absolute, or NULL: not configured */
	const char *routing_folder; /* xdomea routing records, below the inbox root */
	int routing;		    /* EXPORT_ROUTE_ bits */
};

/* The stage's configuration and state, built once at start. */
struct export_ctx {
	conf_node *conf;
	offices offs;
	xmlschema *schema;
	char *xsd_path;
	const char *sender_name;
	uint64_t max_package;
	mode_t package_mode;
	int create_inbox; /* the inbox root is the local <var>/vis-inbox: create folders */
	struct export_office *oc;
	size_t noc;
	char *routing_dir;
	char *index_dir;	 /* <var>/dms/sent */
	char *lock_path;	 /* spool/export/.lock, closed in children */
	unsigned share_timeout;	 /* seconds */
	unsigned settle_seconds; /* receipt_settle_seconds */
	int have_replies;	 /* some office has a reply or error folder */
};

/* What export_write_pkg needs. */
struct export_write_arg {
	job *j;
	const struct xdomea_pkg *pkg;
	const buf *xml;
	uint64_t max;
};

/* A delivery run in a child process (export_watch): its input ... */
struct export_dl {
	const struct export_target *t;
	const struct xdomea_pkg *p;
	struct export_write_arg *wa;
	export_watch *w; /* set in the child */
};

/* ... and what the child sends back. */
struct export_dl_result {
	int res; /* enum export_delivery */
	char path[PATH_MAX];
	char sha[DIGEST_SHA256_HEX];
	char reason[1024];
};

/* Print the usage and exit with status. */
static void export_usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: mailroom-dms-export [-c confdir] [--once]\n"
		"  -c DIR     configuration directory (default $MAILROOM_CONF, else the source "
		"conf/)\n"
		"  --once     deliver what is waiting in spool/export/incoming, read the DMS's "
		"receipts once, and exit\n"
		"  -h, --help this text\n");
	exit(status);
}

/* The extras of office id from export.yaml, or NULL. */
static const struct export_office *export_office_conf(const struct export_ctx *cx, const char *id)
{
	size_t i;

	for (i = 0; i < cx->noc; i++)
		if (strcmp(cx->oc[i].id, id) == 0)
			return &cx->oc[i];
	return NULL;
}

/* A folder of the DMS share: absolute as given, else below the inbox root. NULL if
 * not configured. A new string (caller frees). */
static char *export_share_path(const settings *set, const char *folder)
{
	if (folder == NULL)
		return NULL;
	if (folder[0] == '/')
		return xstrdup(folder);
	return fio_join(set->inbox_dir, folder);
}

/* One office's block in export.yaml into eo. -1 with e set. */
static int export_office_load(struct export_ctx *cx, const settings *set, const conf_node *o,
			      struct export_office *eo, conf_err *e)
{
	static const char *const office_keys[] = {VAR_OFF_CONTAINER,
						  VAR_OFF_ABLAGEORT,
						  VAR_OFF_REPLIES,
						  VAR_OFF_ERRORS,
						  VAR_OFF_ROUTING,
						  VAR_OFF_ROUTING_FOLDER,
						  NULL};
	static const char *const routings[] = {"slip", "xdomea", "both", NULL};
	const char *replies, *errors;
	int routing;

	if (offices_find(&cx->offs, eo->id) == NULL)
		return conf_fail(
		    e, o, "office '%s' is not in offices.yaml (expected one of its ids)", eo->id);
	if (conf_check_keys(o, office_keys, eo->id, e) == -1 ||
	    conf_str(o, VAR_OFF_CONTAINER, 0, NULL, &eo->id_container, e) == -1 ||
	    conf_str(o, VAR_OFF_ABLAGEORT, 0, NULL, &eo->ablageort, e) == -1 ||
	    conf_str(o, VAR_OFF_REPLIES, 0, NULL, &replies, e) == -1 ||
	    conf_str(o, VAR_OFF_ERRORS, 0, NULL, &errors, e) == -1 ||
	    conf_enum(o, VAR_OFF_ROUTING, 0, 0, routings, &routing, e) == -1 ||
	    conf_str(o, VAR_OFF_ROUTING_FOLDER, 0, NULL, &eo->routing_folder, e) == -1)
		return -1;
	if ((replies != NULL && replies[0] == '\0') || (errors != NULL && errors[0] == '\0'))
		return conf_fail(e, o,
				 "office '%s': an empty folder name (leave the key out "
				 "instead)",
				 eo->id);
	if (eo->routing_folder != NULL &&
	    (eo->routing_folder[0] == '\0' || strstr(eo->routing_folder, "..") != NULL))
		return conf_fail(e, conf_get(o, VAR_OFF_ROUTING_FOLDER),
				 "routing_folder '%s' must be a folder below the inbox root (no "
				 "'..')",
				 eo->routing_folder);
	eo->routing = routing == 0   ? EXPORT_ROUTE_SLIP
		      : routing == 1 ? EXPORT_ROUTE_XDOMEA
				     : EXPORT_ROUTE_SLIP | EXPORT_ROUTE_XDOMEA;
	eo->replies = export_share_path(set, replies);
	eo->errors = export_share_path(set, errors);
	if (eo->replies != NULL || eo->errors != NULL)
		cx->have_replies = 1;
	return 0;
}

/* Load conf/export.yaml into cx. -1 with e set (file:line). */
static int export_conf_load(struct export_ctx *cx, const settings *set, conf_err *e)
{
	static const char *const top[] = {
	    VAR_XSD,	       VAR_SENDER, VAR_MAX_PACKAGE_MB, VAR_PACKAGE_MODE,
	    VAR_SHARE_TIMEOUT, VAR_SETTLE, VAR_OFFICES,	       NULL};
	static const char *const sender_keys[] = {"name", NULL};
	const conf_node *sender, *offs, *paths;
	const char *xsd, *mode;
	char *file = settings_conf_file(set, EXPORT_CONF_FILE), *end;
	long mb, m, timeout, settle;
	size_t i;

	cx->conf = conf_load(file, e);
	free(file);
	if (cx->conf == NULL)
		return -1;
	if (conf_check_keys(cx->conf, top, EXPORT_CONF_FILE, e) == -1 ||
	    conf_str(cx->conf, VAR_XSD, 0, DEF_XSD, &xsd, e) == -1 ||
	    conf_long(cx->conf, VAR_MAX_PACKAGE_MB, 0, DEF_MAX_PACKAGE_MB, 1, 4096, &mb, e) == -1 ||
	    conf_str(cx->conf, VAR_PACKAGE_MODE, 0, DEF_PACKAGE_MODE, &mode, e) == -1 ||
	    conf_long(cx->conf, VAR_SHARE_TIMEOUT, 0, DEF_SHARE_TIMEOUT, 1, 3600, &timeout, e) ==
		-1 ||
	    conf_long(cx->conf, VAR_SETTLE, 0, DEF_SETTLE, 0, 86400, &settle, e) == -1)
		return -1;
	m = strtol(mode, &end, 8);
	if (*mode == '\0' || *end != '\0' || m < 0600 || m > 0666 || (m & 0600) != 0600) {
		return conf_fail(
		    e, conf_get(cx->conf, VAR_PACKAGE_MODE),
		    "package_mode '%s' is not a file mode like 0640 (owner rw required, "
		    "no execute bits)",
		    mode);
	}
	cx->package_mode = (mode_t)m;
	cx->max_package = (uint64_t)mb << 20;
	cx->share_timeout = (unsigned)timeout;
	cx->settle_seconds = (unsigned)settle;
	cx->xsd_path = settings_resolve(set->conf_dir, xsd);
	cx->sender_name = set->station;
	if ((sender = conf_get(cx->conf, VAR_SENDER)) != NULL &&
	    (conf_check_keys(sender, sender_keys, VAR_SENDER, e) == -1 ||
	     conf_str(sender, "name", 0, set->station, &cx->sender_name, e) == -1))
		return -1;
	if ((offs = conf_get(cx->conf, VAR_OFFICES)) != NULL) {
		if (conf_expect(offs, CONF_MAP, VAR_OFFICES, e) == -1)
			return -1;
		cx->oc = xcalloc(offs->n ? offs->n : 1, sizeof(*cx->oc));
		for (i = 0; i < offs->n; i++) {
			cx->oc[i].id = offs->keys[i];
			cx->noc = i + 1;
			if (export_office_load(cx, set, offs->items[i], &cx->oc[i], e) == -1)
				return -1;
		}
	}
	/* A configured paths.inbox is a mounted share: a missing folder means it is not
	 * mounted, so never create it there. The local demo inbox is created. */
	paths = conf_get(set->root, "paths");
	cx->create_inbox = conf_get(paths, "inbox") == NULL;
	cx->routing_dir = fio_join(set->var_dir, "routing");
	cx->index_dir = xasprintf("%s/dms/sent", set->var_dir);
	cx->lock_path = xasprintf("%s/export/.lock", set->spool_dir);
	return 0;
}

/* Free what export_conf_load and main set up. */
static void export_ctx_free(struct export_ctx *cx)
{
	size_t i;

	cx->schema = xmlschema_free(cx->schema);
	free(cx->xsd_path);
	for (i = 0; i < cx->noc; i++) {
		free(cx->oc[i].replies);
		free(cx->oc[i].errors);
	}
	free(cx->oc);
	free(cx->routing_dir);
	free(cx->index_dir);
	free(cx->lock_path);
	offices_free(&cx->offs);
	cx->conf = conf_free(cx->conf);
}

/* Copy text for a slip: one line, control characters as spaces, bounded. */
static const char *export_line(const char *s, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && o + 1 < outlen; i++)
		out[o++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
	out[o] = '\0';
	return out;
}

/* export_delivery_ops.write: build the package into fd. */
static int export_write_pkg(int fd, void *arg, char *err, size_t errlen)
{
	struct export_write_arg *a = arg;

	return export_zip_write(fd, job_dir(a->j), a->pkg, a->xml->data, a->xml->len, a->max, err,
				errlen);
}

/* export_delivery_ops.intent: record in job.json that the package is being linked. */
static int export_intent(void *arg)
{
	struct export_write_arg *a = arg;

	job_set_str(a->j, "export", "begun", a->pkg->zip_name);
	return job_write(a->j);
}

/* In the delivery child: the package is written by the child itself. */
static int export_dl_write(int fd, void *arg, char *err, size_t errlen)
{
	struct export_dl *d = arg;

	return export_write_pkg(fd, d->wa, err, errlen);
}

/* In the delivery child: the stage process records the intent in job.json (the
 * spool is its business); the answer is 0 or the errno of the failure. */
static int export_dl_intent(void *arg)
{
	struct export_dl *d = arg;
	int a = export_watch_ask(d->w, 'I');

	if (a == 0)
		return 0;
	errno = a > 0 ? a : EPIPE;
	return -1;
}

/* export_watch child: deliver and send the result. */
static int export_dl_child(export_watch *w, void *arg)
{
	struct export_dl *d = arg;
	struct export_delivery_ops ops;
	struct export_dl_result r;

	d->w = w;
	memset(&r, 0, sizeof(r));
	ops.write = export_dl_write;
	ops.intent = export_dl_intent;
	ops.arg = d;
	r.res = export_deliver(d->t, d->p, &ops, r.path, sizeof(r.path), r.sha, r.reason,
			       sizeof(r.reason));
	return export_watch_reply(w, &r, sizeof(r)) == 0 ? 0 : 1;
}

/* export_watch answer: the intent, done here in the stage process. */
static int export_dl_answer(void *arg, int question)
{
	struct export_dl *d = arg;

	(void)question;
	if (export_intent(d->wa) == 0)
		return 0;
	return errno > 0 && errno < 256 ? errno : EIO;
}

/*
 * Deliver the planned package (message xml) of j to t, in a child process bounded
 * by share_timeout_seconds. Returns the delivery result; on EXPORT_DEFER /
 * EXPORT_REFUSE reason is set; otherwise path (and sha256) as export_deliver says.
 */
static enum export_delivery
export_deliver_bounded(struct export_ctx *cx, job *j, const struct export_target *t,
		       const struct xdomea_pkg *pkg, const buf *xml, char *path, size_t pathlen,
		       char sha[DIGEST_SHA256_HEX], char *reason, size_t rlen)
{
	struct export_write_arg wa;
	struct export_dl d;
	struct export_watch_ops wops;
	struct export_dl_result *r = xcalloc(1, sizeof(*r));
	enum export_delivery res = EXPORT_DEFER;
	int st;

	wa.j = j;
	wa.pkg = pkg;
	wa.xml = xml;
	wa.max = cx->max_package;
	if (getenv("MAILROOM_FAULT") != NULL) {
		/* Fault injection counts the Nth operation of a process (util/fault.h);
		 * a child's operations would not advance the stage's counters, so under
		 * injection the delivery runs here, unbounded. XXX the crash tests thus
		 * never run the forked path; it is tested without injection. */
		struct export_delivery_ops ops = {export_write_pkg, export_intent, &wa};

		free(r);
		return export_deliver(t, pkg, &ops, path, pathlen, sha, reason, rlen);
	}
	d.t = t;
	d.p = pkg;
	d.wa = &wa;
	d.w = NULL;
	memset(&wops, 0, sizeof(wops));
	wops.child = export_dl_child;
	wops.answer = export_dl_answer;
	wops.arg = &d;
	wops.close_all = 1; /* the delivery child uses no SQLite */
	switch (export_watch_run(&wops, cx->share_timeout, r, sizeof(*r), &st)) {
	case EXPORT_WATCH_DONE:
		res = (enum export_delivery)r->res;
		snprintf(path, pathlen, "%s", r->path);
		memcpy(sha, r->sha, DIGEST_SHA256_HEX);
		sha[DIGEST_SHA256_HEX - 1] = '\0';
		snprintf(reason, rlen, "%s", r->reason);
		break;
	case EXPORT_WATCH_TIMEOUT:
		snprintf(reason, rlen,
			 "inbox %s/%s does not answer within %u s (a hung or very slow share?); "
			 "the delivery was stopped, nothing half-written carries the package's "
			 "name; will retry",
			 t->inbox_root, t->folder, cx->share_timeout);
		break;
	case EXPORT_WATCH_BUSY:
		snprintf(reason, rlen,
			 "%d earlier deliveries still hang on a share that does not answer; "
			 "check the VIS share (mount, network); will retry",
			 EXPORT_WATCH_MAX_STUCK);
		break;
	case EXPORT_WATCH_FORK:
		snprintf(reason, rlen, "cannot start the delivery process: %s; will retry",
			 strerror(errno));
		break;
	case EXPORT_WATCH_DIED:
		snprintf(reason, rlen,
			 "the delivery process into %s/%s ended without a result (%s %d); will "
			 "retry",
			 t->inbox_root, t->folder,
			 st != -1 && WIFSIGNALED(st) ? "signal" : "status",
			 st == -1	   ? -1
			 : WIFSIGNALED(st) ? WTERMSIG(st)
					   : WEXITSTATUS(st));
		break;
	}
	free(r);
	return res;
}

/*
 * Build, validate and deliver the planned message pkg of j for office of into
 * folder (below the inbox root). 0 with *res, path and sha set; -1 with r set to
 * defer or quarantine the letter.
 */
static int export_send(struct export_ctx *cx, struct stage_env *env, job *j,
		       const struct office *of, struct xdomea_pkg *pkg, const char *folder,
		       enum export_delivery *res, char *path, size_t pathlen,
		       char sha[DIGEST_SHA256_HEX], struct stage_result *r)
{
	const struct export_office *eo = export_office_conf(cx, of->id);
	const char *begun = job_get_str(j, "export.begun");
	struct xdomea_env xe;
	struct export_target t;
	char err[1024], reason[1024], now[TIMEFMT_ISO_MAX];
	buf xml;
	int rc = -1;

	buf_init(&xml, XDOMEA_MAX_XML);
	memset(&xe, 0, sizeof(xe));
	xe.offs = &cx->offs;
	xe.office = of;
	xe.sender_name = cx->sender_name;
	xe.station = env->set.station;
	xe.id_container = eo ? eo->id_container : NULL;
	xe.ablageort = eo ? eo->ablageort : NULL;
	xe.created = timefmt_now(now);
	xe.receipt = eo != NULL && eo->replies != NULL;
	if (xdomea_build(j, &xe, pkg, &xml, err, sizeof(err)) == -1) {
		stage_set(r, STAGE_QUARANTINE, "cannot build the xdomea message: %s", err);
		goto out;
	}
	if (xdomea_validate(cx->schema, xml.data, xml.len, err, sizeof(err)) == -1) {
		stage_set(r, STAGE_QUARANTINE,
			  "the xdomea message does not validate against %s: %s (a bug or an "
			  "unexpected value in job.json; nothing was delivered)",
			  cx->xsd_path, err);
		goto out;
	}
	memset(&t, 0, sizeof(t));
	t.inbox_root = env->set.inbox_dir;
	t.folder = folder;
	t.create = cx->create_inbox;
	t.begun = begun != NULL && strcmp(begun, pkg->zip_name) == 0;
	t.mode = cx->package_mode;
	*res = export_deliver_bounded(cx, j, &t, pkg, &xml, path, pathlen, sha, reason,
				      sizeof(reason));
	if (*res == EXPORT_DEFER) {
		stage_set(r, STAGE_DEFER, "%s", reason);
		goto out;
	}
	if (*res == EXPORT_REFUSE) {
		stage_set(r, STAGE_QUARANTINE, "%s", reason);
		goto out;
	}
	/* the ProzessID -> letter index for the DMS's receipts; a cache (the archive
	 * is searched when an entry is missing), so a failure only warns */
	if (export_index_put(cx->index_dir, pkg->process_id, job_id(j), of->id, pkg->zip_name,
			     sha) == -1)
		log_warn("%s: cannot record ProzessID %s in %s", job_id(j), pkg->process_id,
			 cx->index_dir);
	rc = 0;
out:
	buf_free(&xml);
	return rc;
}

/* Write the printable routing slip of j into path (allocated). 0, or -1 with r set. */
static int export_slip(struct export_ctx *cx, job *j, const struct office *of, const char *mode,
		       const char *why, char **path, struct stage_result *r)
{
	const char *id = job_id(j), *ctime = job_get_str(j, "capture.time");
	const char *sender = job_get_str(j, "extraction.sender");
	const char *subject = job_get_str(j, "extraction.subject");
	const char *type_name = job_get_str(j, "classification.type_name");
	char date[16], now[TIMEFMT_ISO_MAX], line[512];
	char *dir = fio_join(cx->routing_dir, of->id);
	buf b;
	int rc = -1;

	*path = NULL;
	buf_init(&b, EXPORT_SLIP_MAX);
	timefmt_now(now);
	snprintf(date, sizeof(date), "%.10s", ctime && strlen(ctime) >= 10 ? ctime : now);
	if (strspn(date, "0123456789-") != 10) /* it becomes part of a file name */
		snprintf(date, sizeof(date), "%.10s", now);
	if (type_name == NULL)
		type_name = job_get_str(j, "classification.type");
	buf_printf(&b, "mailroom - Laufzettel / routing slip\n\n");
	buf_printf(&b, "To office:    %s (Amt %s) [%s]\n", of->name, of->number, of->id);
	buf_printf(&b, "Type:         %s\n",
		   export_line(type_name ? type_name : "-", line, sizeof(line)));
	buf_printf(&b, "Scan mode:    %s\n", mode);
	if (sender != NULL)
		buf_printf(&b, "Sender:       %s\n", export_line(sender, line, sizeof(line)));
	if (subject != NULL)
		buf_printf(&b, "Subject:      %s\n", export_line(subject, line, sizeof(line)));
	buf_printf(&b, "Received:     %s\n", ctime ? export_line(ctime, line, sizeof(line)) : "-");
	buf_printf(&b, "Job id:       %s\n", id);
	if (buf_printf(&b, "\n%s\n", why) == -1) {
		stage_set(r, STAGE_QUARANTINE, "routing slip larger than %d bytes",
			  EXPORT_SLIP_MAX);
		goto out;
	}
	*path = xasprintf("%s/%s_%s.txt", dir, date, id);
	if (fio_mkdirs(dir, 0700) == -1 || fio_write_atomic(*path, b.data, b.len, 0600) == -1) {
		stage_set(r, STAGE_DEFER, "cannot write the routing slip %s: %s; will retry", *path,
			  strerror(errno));
		free(*path);
		*path = NULL;
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	free(dir);
	return rc;
}

/*
 * Letters without a package: the routing record - the slip and/or the xdomea
 * message (Medium Papier) the office's routing: asks for. Result set for the loop.
 */
static int export_route(struct export_ctx *cx, struct stage_env *env, job *j,
			const struct office *of, const char *mode, struct stage_result *r)
{
	const struct export_office *eo = export_office_conf(cx, of->id);
	int routing = eo != NULL ? eo->routing : EXPORT_ROUTE_SLIP;
	char now[TIMEFMT_ISO_MAX], why[512], path[PATH_MAX] = "", sha[DIGEST_SHA256_HEX];
	char *slip = NULL;
	enum export_delivery res = EXPORT_DELIVERED;
	struct xdomea_pkg pkg;
	char err[1024];
	json_object *ex;

	if (strcmp(mode, "nicht_scannen") == 0)
		snprintf(why, sizeof(why),
			 "Nicht scannen (Scankonzept): the paper letter goes unchanged to %s.",
			 of->name);
	else if (strcmp(mode, "kopierend") == 0)
		snprintf(why, sizeof(why),
			 "%s does not receive mail digitally (not in the VIS pilot): the paper "
			 "original follows to the office (kopierend).",
			 of->name);
	else
		snprintf(why, sizeof(why),
			 "%s does not receive mail digitally (not in the VIS pilot): the paper "
			 "original goes to the office and must NOT be destroyed.",
			 of->name);
	if ((routing & EXPORT_ROUTE_SLIP) && export_slip(cx, j, of, mode, why, &slip, r) == -1)
		return -1;
	if (routing & EXPORT_ROUTE_XDOMEA) {
		if (xdomea_plan_paper(j, of->message, &pkg, err, sizeof(err)) == -1) {
			stage_set(r, STAGE_QUARANTINE, "cannot make the routing record: %s", err);
			goto fail;
		}
		if (export_send(cx, env, j, of, &pkg,
				eo->routing_folder ? eo->routing_folder : of->inbox, &res, path,
				sizeof(path), sha, r) == -1)
			goto fail;
	}
	ex = json_object_new_object();
	if (slip != NULL)
		json_object_object_add(ex, "routing", json_object_new_string(slip));
	if (path[0] != '\0') {
		json_object_object_add(ex, "record", json_object_new_string(path));
		json_object_object_add(ex, "message_type", json_object_new_string(pkg.message));
		if (sha[0] != '\0')
			json_object_object_add(ex, "sha256", json_object_new_string(sha));
	}
	json_object_object_add(ex, "office", json_object_new_string(of->id));
	json_object_object_add(ex, "routed_at", json_object_new_string(timefmt_now(now)));
	json_object_object_add(ex, "reason", json_object_new_string(why));
	json_object_object_add(job_meta(j), "export", ex);
	r->verdict = STAGE_FINISHED;
	r->action = "routed";
	r->state = "routed";
	if (slip != NULL && path[0] != '\0')
		snprintf(r->detail, sizeof(r->detail),
			 "routing slip %.400s and xdomea routing record %.400s (paper to %s)", slip,
			 path, of->id);
	else if (slip != NULL)
		snprintf(r->detail, sizeof(r->detail), "routing slip %.800s (paper to %s)", slip,
			 of->id);
	else
		snprintf(r->detail, sizeof(r->detail), "xdomea routing record %.800s (paper to %s)",
			 path, of->id);
	(void)res;
	free(slip);
	return 0;
fail:
	free(slip);
	return -1;
}

/* Letters for a pilot office: build, validate and deliver the xdomea package. */
static int export_package(struct export_ctx *cx, struct stage_env *env, job *j,
			  const struct office *of, struct stage_result *r)
{
	struct xdomea_pkg pkg;
	enum export_delivery res;
	char err[1024], path[PATH_MAX], sha[DIGEST_SHA256_HEX];
	char now[TIMEFMT_ISO_MAX], *inbox;
	json_object *ex, *contents;
	size_t i;

	if (xdomea_plan(j, of->message, &pkg, err, sizeof(err)) == -1)
		return stage_set(r, STAGE_QUARANTINE, "cannot package the letter: %s", err);
	if (export_send(cx, env, j, of, &pkg, of->inbox, &res, path, sizeof(path), sha, r) == -1)
		return -1;
	inbox = xasprintf("%s/%s", env->set.inbox_dir, of->inbox);
	ex = json_object_new_object();
	json_object_object_add(ex, "package", json_object_new_string(path));
	json_object_object_add(ex, "inbox", json_object_new_string(inbox));
	json_object_object_add(ex, "office", json_object_new_string(of->id));
	json_object_object_add(ex, "message_type", json_object_new_string(pkg.message));
	json_object_object_add(ex, "process_id", json_object_new_string(pkg.process_id));
	json_object_object_add(ex, "delivered_at", json_object_new_string(timefmt_now(now)));
	json_object_object_add(ex, "sha256", json_object_new_string(sha));
	if (res == EXPORT_DELIVERED) {
		contents = json_object_new_object();
		json_object_object_add(contents, pkg.xml_name, json_object_new_string("message"));
		for (i = 0; i < pkg.nparts; i++) {
			const struct xdomea_part *pt = &pkg.parts[i];

			json_object_object_add(contents, pt->pkg_name,
					       json_object_new_string(pt->job_name));
			if (pt->sig_pkg_name[0] != '\0')
				json_object_object_add(contents, pt->sig_pkg_name,
						       json_object_new_string(pt->sig_job_name));
			if (pt->ers_pkg_name[0] != '\0')
				json_object_object_add(contents, pt->ers_pkg_name,
						       json_object_new_string(pt->ers_job_name));
		}
		json_object_object_add(ex, "contents", contents);
	} else {
		json_object_object_add(
		    ex, "earlier_run",
		    json_object_new_string(res == EXPORT_FOUND
					       ? "package found complete in the inbox"
					       : "package already taken by the DMS"));
	}
	json_object_object_add(job_meta(j), "export", ex);
	free(inbox);
	r->verdict = STAGE_FINISHED;
	r->action = "delivered";
	r->state = "delivered";
	snprintf(r->detail, sizeof(r->detail), "package %.700s (%s %s to %s; ProzessID %s%s)", path,
		 pkg.message, xdomea_message_name(pkg.message), of->id, pkg.process_id,
		 res == EXPORT_DELIVERED ? ""
		 : res == EXPORT_FOUND	 ? "; delivered by an earlier run"
					 : "; delivered by an earlier run, since taken by the DMS");
	return 0;
}

/* stage_ops.process: route or package one claimed letter. */
static int export_process(void *ctx, struct stage_env *env, job *j, struct stage_result *r)
{
	struct export_ctx *cx = ctx;
	const char *mode = job_get_str(j, "classification.scan_mode");
	const char *office = job_get_str(j, "classification.office");
	const struct office *of;

	r->doc_type = job_get_str(j, "classification.type");
	r->scan_mode = mode;
	r->office = office;
	if (mode == NULL || office == NULL)
		return stage_set(r, STAGE_QUARANTINE,
				 "job.json has no classification (scan_mode, office): the classify "
				 "stage must run first; requeue the letter into spool/classify");
	if (strcmp(mode, "ersetzend") != 0 && strcmp(mode, "kopierend") != 0 &&
	    strcmp(mode, "nicht_scannen") != 0)
		return stage_set(r, STAGE_QUARANTINE, "unknown scan mode '%.64s' in job.json",
				 mode);
	if ((of = offices_find(&cx->offs, office)) == NULL)
		return stage_set(
		    r, STAGE_QUARANTINE,
		    "office '%.64s' is not in conf/offices.yaml: add it, or reclassify "
		    "the letter, then 'mailroom requeue %s'",
		    office, job_id(j));
	if (fio_mkdirs(env->set.archive_dir, 0700) == -1)
		return stage_set(r, STAGE_DEFER, "cannot create %s: %s; will retry",
				 env->set.archive_dir, strerror(errno));
	snprintf(r->finish_dest, sizeof(r->finish_dest), "%s/%s", env->set.archive_dir, job_id(j));
	snprintf(r->finish_location, sizeof(r->finish_location), "archive/%s", job_id(j));
	if (fio_exists(r->finish_dest) != 0)
		return stage_set(r, STAGE_QUARANTINE,
				 "a letter with this id is already archived in %s: this copy is a "
				 "duplicate and is not delivered again; compare the two and remove "
				 "this one",
				 r->finish_dest);
	if (!of->pilot || strcmp(mode, "nicht_scannen") == 0)
		return export_route(cx, env, j, of, mode, r);
	return export_package(cx, env, j, of, r);
}

/* ---- the DMS's answers ---- */

/* What a reply-folder scan needs in its child process. */
struct export_rcpt_arg {
	struct export_ctx *cx;
	struct stage_env *env;
};

/* export_watch child: read every office's reply and error folders with a journal
 * connection of its own (SQLite connections never cross fork). */
static int export_rcpt_child(export_watch *w, void *arg)
{
	struct export_rcpt_arg *a = arg;
	struct export_replies_env re;
	struct export_replies_counts c;
	char err[1024];
	size_t i;

	memset(&c, 0, sizeof(c));
	memset(&re, 0, sizeof(re));
	/* the stage's connection is left alone (not used, not closed) */
	if ((re.jr = journal_open(a->env->set.journal_path, err, sizeof(err))) == NULL) {
		log_errorx("receipts: journal: %s", err);
		return EX_CANTCREAT;
	}
	re.schema = a->cx->schema;
	re.index_dir = a->cx->index_dir;
	re.archive_dir = a->env->set.archive_dir;
	re.settle_seconds = a->cx->settle_seconds;
	re.create = a->cx->create_inbox;
	for (i = 0; i < a->cx->noc; i++) {
		const struct export_office *eo = &a->cx->oc[i];
		struct export_replies_office o = {eo->id, eo->replies, eo->errors};

		if (eo->replies != NULL || eo->errors != NULL)
			export_replies_scan(&re, &o, &c);
	}
	journal_close(re.jr);
	return export_watch_reply(w, &c, sizeof(c)) == 0 ? 0 : 1;
}

/* Read the reply and error folders once, bounded by share_timeout_seconds. */
static void export_receipts_once(struct export_ctx *cx, struct stage_env *env)
{
	struct export_rcpt_arg a = {cx, env};
	struct export_watch_ops ops = {export_rcpt_child, NULL, &a, 0, cx->lock_path};
	struct export_replies_counts c;
	int st;

	memset(&c, 0, sizeof(c));
	switch (export_watch_run(&ops, cx->share_timeout, &c, sizeof(c), &st)) {
	case EXPORT_WATCH_DONE:
		if (c.receipts + c.rejected + c.duplicates + c.unknown + c.bad + c.failed > 0)
			log_info(
			    "receipts: %d recorded, %d rejected by the DMS, %d seen before, %d "
			    "unknown, %d bad, %d failed",
			    c.receipts, c.rejected, c.duplicates, c.unknown, c.bad, c.failed);
		break;
	case EXPORT_WATCH_TIMEOUT:
		log_errorx("receipts: the reply or error folders do not answer within %u s (a "
			   "hung share?); read again at the next scan",
			   cx->share_timeout);
		break;
	case EXPORT_WATCH_BUSY:
		log_errorx("receipts: earlier scans still hang on a share that does not answer");
		break;
	case EXPORT_WATCH_FORK:
		log_error("receipts: cannot start the scan");
		break;
	case EXPORT_WATCH_DIED:
		log_errorx("receipts: the scan ended without a result (status %d)", st);
		break;
	}
}

static volatile sig_atomic_t export_rcpt_stop;

/* SIGTERM/SIGINT in the receipts process. */
static void export_rcpt_signal(int sig)
{
	(void)sig;
	export_rcpt_stop = 1;
}

/*
 * Daemon mode: a process of its own that reads the reply folders every
 * daemon.rescan_seconds, each scan in a bounded child, until SIGTERM or the death
 * of the stage. Returns its pid (0 if none is needed, -1 if fork failed).
 */
static pid_t export_receipts_start(struct export_ctx *cx, struct stage_env *env)
{
	struct sigaction sa;
	pid_t parent = getpid(), pid;

	if (!cx->have_replies)
		return 0;
	fflush(NULL);
	if ((pid = fork()) != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	/* not the stage's lock: a restarted stage must not wait for us (SQLite's
	 * descriptors stay: the scans open journal connections) */
	export_watch_close_path(cx->lock_path);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = export_rcpt_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("receipts: reading the reply folders every %ld s", env->set.rescan_seconds);
	while (!export_rcpt_stop) {
		long s;

		export_receipts_once(cx, env);
		for (s = 0; s < env->set.rescan_seconds * 10 && !export_rcpt_stop; s++)
			poll(NULL, 0, 100);
	}
	_exit(0); /* the stage's journal connection and spools are the parent's */
}

/* Stop the receipts process: SIGTERM, a moment to finish its scan, then SIGKILL. */
static void export_receipts_stop(pid_t pid)
{
	int i, st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 50; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		poll(NULL, 0, 100);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"once", no_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct export_ctx cx;
	struct stage_env env;
	struct stage_ops ops;
	const char *confdir = NULL;
	char err[2048];
	conf_err ce;
	settings probe;
	pid_t rcpt = 0;
	int c, once = 0, rc;

	log_init("mailroom-dms-export");
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			confdir = optarg;
			break;
		case 'o':
			once = 1;
			break;
		case 'h':
			export_usage(EX_OK);
			break;
		default:
			export_usage(EX_USAGE);
		}
	}
	if (optind != argc)
		export_usage(EX_USAGE);
	/* Tell a configuration error (EX_CONFIG) from a spool or journal error. */
	if (settings_load(confdir, &probe, &ce) == -1)
		log_fatalx(EX_CONFIG, "configuration: %s", ce.msg);
	settings_free(&probe);
	if (stage_env_open(&env, confdir, "export", NULL) == -1)
		return EX_IOERR;
	memset(&cx, 0, sizeof(cx));
	if (offices_load(env.set.conf_dir, &cx.offs, &ce) == -1 ||
	    export_conf_load(&cx, &env.set, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		rc = EX_CONFIG;
		goto out;
	}
	if ((cx.schema = xdomea_schema_load(cx.xsd_path, err, sizeof(err))) == NULL) {
		log_errorx("configuration: %s", err);
		rc = EX_CONFIG;
		goto out;
	}
	memset(&ops, 0, sizeof(ops));
	ops.name = "export";
	ops.next = NULL;
	ops.process = export_process;
	ops.ctx = &cx;
	if (!once && (rcpt = export_receipts_start(&cx, &env)) == -1)
		log_error("cannot start the receipts process; receipts are read by --once runs "
			  "only");
	rc = stage_run(&ops, &env, once);
	if (once && rc == EX_OK && cx.have_replies)
		export_receipts_once(&cx, &env);
	export_receipts_stop(rcpt);
	export_watch_reap();
out:
	export_ctx_free(&cx);
	stage_env_close(&env);
	return rc;
}
