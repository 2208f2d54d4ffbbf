/*
 * export.c - mailroom-dms-export: the last stage. Delivers each letter as an
 * xdomea 3.0.0 package into its office's VIS inbox, or writes a routing slip for
 * letters whose paper goes to an office that does not receive mail digitally.
 *
 * SYNOPSIS
 *	mailroom-dms-export [-c confdir] [--once]
 *
 *	Letters of pilot offices scanned "ersetzend" or "kopierend" become one ZIP
 *	<ProzessID>_<Nachrichtentyp>.zip (message 0101 Information.Information or
 *	0605 FVDaten.SGOAblegen, per office in conf/offices.yaml) in
 *	<inbox>/<office inbox>/, validated against the xdomea schema before it
 *	leaves. Letters of other offices and "nicht_scannen" letters get a printable
 *	routing slip <var>/routing/<office>/<date>_<id>.txt instead. Either way the
 *	letter then leaves the pipeline into <var>/archive/<id>.
 *	--once drains incoming/ and exits; otherwise it runs as a daemon (inotify
 *	wake-ups and a timer rescan, daemon.rescan_seconds).
 *
 * SPOOL DIRECTORIES
 *	Claims from spool/export/incoming into spool/export/active (stage loop).
 *	Writes packages into the inbox folders (paths.inbox, default <var>/vis-inbox),
 *	routing slips into <var>/routing/, moves finished letters to <var>/archive/.
 *	Quarantines into spool/export/corrupt; deferred letters stay in incoming/
 *	with RETRY.txt. At start, letters whose record says export already finished
 *	(a crash before the archive move) are moved to the archive.
 *
 * SECURITY
 *	Trusts the job record only after job_read has checked its digests. Text from
 *	the record (subject, sender) is sanitised to XML characters and bounded. Opens
 *	payload files with O_NOFOLLOW; never overwrites a file in an inbox; reads the
 *	xdomea schema in place (read-only, never copied). Holds no keys. Never logs
 *	document content.
 *
 * EXIT STATUS
 *	0 (EX_OK) on a clean stop; EX_USAGE for bad options; EX_CONFIG for a wrong
 *	configuration (file:line), a missing xdomea schema; EX_TEMPFAIL if another
 *	instance runs; EX_IOERR if the spool cannot be worked.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "conf.h"
#include "export_deliver.h"
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
#define VAR_OFFICES "offices" /* {<office id>: {id_container, ablageort}} for 0605 */

#define EXPORT_SLIP_MAX 8192

/* Per-office extras from export.yaml. */
struct export_office {
	const char *id, *id_container, *ablageort;
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
};

/* What export_write_pkg needs. */
struct export_write_arg {
	job *j;
	const struct xdomea_pkg *pkg;
	const buf *xml;
	uint64_t max;
};

/* Print the usage and exit with status. */
static void export_usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: mailroom-dms-export [-c confdir] [--once]\n"
		"  -c DIR     configuration directory (default $MAILROOM_CONF, else the source "
		"conf/)\n"
		"  --once     deliver what is waiting in spool/export/incoming and exit\n"
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

/* Load conf/export.yaml into cx. -1 with e set (file:line). */
static int export_conf_load(struct export_ctx *cx, const settings *set, conf_err *e)
{
	static const char *const top[] = {VAR_XSD,	    VAR_SENDER,	 VAR_MAX_PACKAGE_MB,
					  VAR_PACKAGE_MODE, VAR_OFFICES, NULL};
	static const char *const sender_keys[] = {"name", NULL};
	static const char *const office_keys[] = {"id_container", "ablageort", NULL};
	const conf_node *sender, *offs, *paths;
	const char *xsd, *mode;
	char *file = settings_conf_file(set, EXPORT_CONF_FILE), *end;
	long mb, m;
	size_t i;

	cx->conf = conf_load(file, e);
	free(file);
	if (cx->conf == NULL)
		return -1;
	if (conf_check_keys(cx->conf, top, EXPORT_CONF_FILE, e) == -1 ||
	    conf_str(cx->conf, VAR_XSD, 0, DEF_XSD, &xsd, e) == -1 ||
	    conf_long(cx->conf, VAR_MAX_PACKAGE_MB, 0, DEF_MAX_PACKAGE_MB, 1, 4096, &mb, e) == -1 ||
	    conf_str(cx->conf, VAR_PACKAGE_MODE, 0, DEF_PACKAGE_MODE, &mode, e) == -1)
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
			const conf_node *o = offs->items[i];
			struct export_office *eo = &cx->oc[i];

			eo->id = offs->keys[i];
			if (offices_find(&cx->offs, eo->id) == NULL)
				return conf_fail(
				    e, o,
				    "office '%s' is not in offices.yaml (expected one of "
				    "its ids)",
				    eo->id);
			if (conf_check_keys(o, office_keys, eo->id, e) == -1 ||
			    conf_str(o, "id_container", 0, NULL, &eo->id_container, e) == -1 ||
			    conf_str(o, "ablageort", 0, NULL, &eo->ablageort, e) == -1)
				return -1;
			cx->noc = i + 1;
		}
	}
	/* A configured paths.inbox is a mounted share: a missing folder means it is not
	 * mounted, so never create it there. The local demo inbox is created. */
	paths = conf_get(set->root, "paths");
	cx->create_inbox = conf_get(paths, "inbox") == NULL;
	cx->routing_dir = fio_join(set->var_dir, "routing");
	return 0;
}

/* Free what export_conf_load and main set up. */
static void export_ctx_free(struct export_ctx *cx)
{
	cx->schema = xmlschema_free(cx->schema);
	free(cx->xsd_path);
	free(cx->oc);
	free(cx->routing_dir);
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

/* Letters without a package: write the routing slip; result set for the stage loop. */
static int export_route(struct export_ctx *cx, job *j, const struct office *of, const char *mode,
			struct stage_result *r)
{
	const char *id = job_id(j), *ctime = job_get_str(j, "capture.time");
	const char *sender = job_get_str(j, "extraction.sender");
	const char *subject = job_get_str(j, "extraction.subject");
	const char *type_name = job_get_str(j, "classification.type_name");
	char date[16], now[TIMEFMT_ISO_MAX], line[512], why[512];
	char *dir = fio_join(cx->routing_dir, of->id), *path = NULL;
	json_object *ex;
	buf b;
	int rc = -1;

	buf_init(&b, EXPORT_SLIP_MAX);
	timefmt_now(now);
	snprintf(date, sizeof(date), "%.10s", ctime && strlen(ctime) >= 10 ? ctime : now);
	if (strspn(date, "0123456789-") != 10) /* it becomes part of a file name */
		snprintf(date, sizeof(date), "%.10s", now);
	if (type_name == NULL)
		type_name = job_get_str(j, "classification.type");
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
	path = xasprintf("%s/%s_%s.txt", dir, date, id);
	if (fio_mkdirs(dir, 0700) == -1 || fio_write_atomic(path, b.data, b.len, 0600) == -1) {
		stage_set(r, STAGE_DEFER, "cannot write the routing slip %s: %s; will retry", path,
			  strerror(errno));
		goto out;
	}
	ex = json_object_new_object();
	json_object_object_add(ex, "routing", json_object_new_string(path));
	json_object_object_add(ex, "office", json_object_new_string(of->id));
	json_object_object_add(ex, "routed_at", json_object_new_string(now));
	json_object_object_add(ex, "reason", json_object_new_string(why));
	json_object_object_add(job_meta(j), "export", ex);
	r->verdict = STAGE_FINISHED;
	r->action = "routed";
	r->state = "routed";
	snprintf(r->detail, sizeof(r->detail), "routing slip %s (paper to %s)", path, of->id);
	rc = 0;
out:
	buf_free(&b);
	free(path);
	free(dir);
	return rc;
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

/* Letters for a pilot office: build, validate and deliver the xdomea package. */
static int export_package(struct export_ctx *cx, struct stage_env *env, job *j,
			  const struct office *of, struct stage_result *r)
{
	const struct export_office *eo = export_office_conf(cx, of->id);
	struct xdomea_pkg pkg;
	struct xdomea_env xe;
	struct export_write_arg wa;
	struct export_delivery_ops ops;
	struct export_target t;
	enum export_delivery res;
	char err[1024], reason[1024], path[PATH_MAX], sha[DIGEST_SHA256_HEX];
	char now[TIMEFMT_ISO_MAX], *inbox;
	const char *begun = job_get_str(j, "export.begun");
	json_object *ex, *contents;
	buf xml;
	size_t i;
	int rc = -1;

	buf_init(&xml, XDOMEA_MAX_XML);
	if (xdomea_plan(j, of->message, &pkg, err, sizeof(err)) == -1) {
		stage_set(r, STAGE_QUARANTINE, "cannot package the letter: %s", err);
		goto out;
	}
	memset(&xe, 0, sizeof(xe));
	xe.offs = &cx->offs;
	xe.office = of;
	xe.sender_name = cx->sender_name;
	xe.station = env->set.station;
	xe.id_container = eo ? eo->id_container : NULL;
	xe.ablageort = eo ? eo->ablageort : NULL;
	xe.created = timefmt_now(now);
	if (xdomea_build(j, &xe, &pkg, &xml, err, sizeof(err)) == -1) {
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
	t.folder = of->inbox;
	t.create = cx->create_inbox;
	t.begun = begun != NULL && strcmp(begun, pkg.zip_name) == 0;
	t.mode = cx->package_mode;
	wa.j = j;
	wa.pkg = &pkg;
	wa.xml = &xml;
	wa.max = cx->max_package;
	ops.write = export_write_pkg;
	ops.intent = export_intent;
	ops.arg = &wa;
	res = export_deliver(&t, &pkg, &ops, path, sizeof(path), sha, reason, sizeof(reason));
	if (res == EXPORT_DEFER) {
		stage_set(r, STAGE_DEFER, "%s", reason);
		goto out;
	}
	if (res == EXPORT_REFUSE) {
		stage_set(r, STAGE_QUARANTINE, "%s", reason);
		goto out;
	}
	inbox = xasprintf("%s/%s", t.inbox_root, t.folder);
	ex = json_object_new_object();
	json_object_object_add(ex, "package", json_object_new_string(path));
	json_object_object_add(ex, "inbox", json_object_new_string(inbox));
	json_object_object_add(ex, "office", json_object_new_string(of->id));
	json_object_object_add(ex, "message_type", json_object_new_string(pkg.message));
	json_object_object_add(ex, "delivered_at", json_object_new_string(timefmt_now(now)));
	json_object_object_add(ex, "sha256", json_object_new_string(sha));
	if (res == EXPORT_DELIVERED) {
		contents = json_object_new_object();
		json_object_object_add(contents, pkg.xml_name, json_object_new_string("message"));
		for (i = 0; i < pkg.nparts; i++) {
			json_object_object_add(contents, pkg.parts[i].pkg_name,
					       json_object_new_string(pkg.parts[i].job_name));
			if (pkg.parts[i].sig_pkg_name[0] != '\0')
				json_object_object_add(
				    contents, pkg.parts[i].sig_pkg_name,
				    json_object_new_string(pkg.parts[i].sig_job_name));
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
	snprintf(r->detail, sizeof(r->detail), "package %.700s (%s %s to %s%s)", path, pkg.message,
		 xdomea_message_name(pkg.message), of->id,
		 res == EXPORT_DELIVERED ? ""
		 : res == EXPORT_FOUND	 ? "; delivered by an earlier run"
					 : "; delivered by an earlier run, since taken by the DMS");
	rc = 0;
out:
	buf_free(&xml);
	return rc;
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
		return export_route(cx, j, of, mode, r);
	return export_package(cx, env, j, of, r);
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
	rc = stage_run(&ops, &env, once);
out:
	export_ctx_free(&cx);
	stage_env_close(&env);
	return rc;
}
