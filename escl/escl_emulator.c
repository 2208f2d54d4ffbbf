/*
 * escl_emulator.c - mailroom-escl-emulator: a small eSCL (AirScan) scanner on
 * 127.0.0.1 for the tests, so that SANE's real escl backend delivers real page
 * images from a stack of files. TEST ONLY.
 *
 * SYNOPSIS
 *	mailroom-escl-emulator --stack DIR|MANIFEST [--port N] [--port-file F]
 *			       [--pid-file F] [--log F] [--dpi N] [--formats png,jpeg]
 *			       [--jam-at N] [--cover-open-at N] [--busy-at N]
 *			       [--busy-count K] [--hang-at N] [--drop-at N] [--slow MS]
 *			       [--job-timeout S] [--error-body]
 *	mailroom-escl-emulator --probe PORT | --clear PORT | --reset PORT
 *	mailroom-escl-emulator --render IMAGE OUT.pnm [--color C] [--resolution R]
 *			       [--dpi N]
 *
 *	Serves until SIGTERM or SIGINT on 127.0.0.1:PORT (--port 0, the default,
 *	picks a free port and writes it to --port-file once the socket listens;
 *	--pid-file gets the process id; both are removed at a clean stop).
 *	--probe asks a running emulator for its status and exits 0 if it answers;
 *	--clear tells it that the operator cleared a jam / closed the cover;
 *	--reset puts the whole stack back into the feeder and arms the faults again.
 *	--render writes IMAGE as the emulator would scan it (colour mode C, default
 *	RGB24, at R dpi, default 300), as PNM, so a test can compare what SANE
 *	delivered with what the scanner was given.
 *
 * THE STACK
 *	--stack DIR takes the files of DIR whose names start with a digit and end
 *	in .png .pnm .pgm .ppm .pbm .tif .tiff .jpg or .jpeg, in name order
 *	(0001.png, 0002.png, ...); --stack FILE takes a manifest: one image path per
 *	line (relative to the manifest's directory), '#' comments and blank lines
 *	skipped. The stack lies in the feeder. A simplex job takes one image per
 *	sheet, a duplex job two (front, back; a last sheet without a back gets a
 *	white back). A Platen job takes the next image (the operator lays it on the
 *	glass). Images state their resolution (PNG pHYs, TIFF) or are taken at --dpi
 *	(default 300); each is converted to the job's colour mode, resolution,
 *	region and format when it is requested (escl_page.h), and the feeder moves
 *	on. Once the client has the whole image it is logged on stderr and, with
 *	--log, as one line "sheet N side front|back served" in FILE (flushed at
 *	once), so a test can check that no page was lost or doubled; an image the
 *	client did not take is logged "... NOT delivered": its sheet went through
 *	the scanner and is lost, as on a real one. Sheets are numbered from 1 over
 *	the whole stack: in a duplex job sheet N is images 2N-1 and 2N.
 *
 * PROTOCOL (eSCL 2.x as SANE's escl backend uses it)
 *	GET /eSCL/ScannerCapabilities: Platen, Adf simplex and AdfDuplexInputCaps,
 *	A4 (2480 x 3508 / 300 in), BlackAndWhite1, Grayscale8, RGB24, 150 200 300 600
 *	dpi, image/jpeg and image/png (--formats narrows it; no application/pdf, so
 *	the backend asks for raster images).
 *	GET /eSCL/ScannerStatus: State Idle, or Processing while a job runs;
 *	AdfState ScannerAdfLoaded / ScannerAdfEmpty / ScannerAdfJam /
 *	ScannerAdfDoorOpen; the jobs with JobUri, ImagesCompleted,
 *	ImagesToTransfer, JobState (Processing, Completed, Aborted, Canceled).
 *	POST /eSCL/ScanJobs (ScanSettings): 201 with Location
 *	http://127.0.0.1:PORT/eSCL/ScanJobs/UUID; 409 when the feeder is empty,
 *	jammed or open or a setting is not offered; 503 while another job runs.
 *	GET /eSCL/ScanJobs/UUID/NextDocument: 200 with the next image; 404 when the
 *	job has no more (completed, aborted, cancelled); 503 while busy.
 *	DELETE /eSCL/ScanJobs/UUID cancels the job (the sheet not yet served stays in
 *	the feeder). A job without a request for --job-timeout seconds (default 60)
 *	is aborted, as a real scanner does, so a vanished client does not block it.
 *	Error answers have an empty body unless --error-body is given (the escl
 *	backend does not look at the HTTP status of NextDocument, only at whether a
 *	body came: see tests/integration/escl_faults.sh).
 *	Not eSCL, for the tests: POST /control/clear (the operator clears the jam or
 *	closes the cover: the sheet that jammed is fed again), POST /control/reset
 *	(the whole stack back in the feeder, faults armed again, jobs forgotten),
 *	GET /control/state (one line: next image, images, served, fault, job).
 *	HTTP/1.1, one request per connection, "Connection: close" on every answer.
 *	Connections are served at the same time (a thread each, at most 32: the
 *	backend's sane_cancel opens a new one while a transfer may still run), but
 *	requests change the scanner's state one at a time, under one lock.
 *
 * FAULTS (each fires once, at sheet N of the stack)
 *	A scanner picks the next sheet as soon as the last side of the previous one
 *	is served (or when a job starts). --jam-at N: picking sheet N jams: the job
 *	is aborted, AdfState says ScannerAdfJam, further NextDocument get 404, new
 *	jobs 409, until POST /control/clear; then sheet N is the next sheet.
 *	--cover-open-at N: the same with ScannerAdfDoorOpen. --busy-at N: the
 *	request that would take sheet N is answered 503, --busy-count times (default
 *	1): the POST of a job that starts at sheet N, else NextDocument.
 *	--hang-at N: the NextDocument for sheet N is accepted and never answered (the
 *	connection is held until the client closes it or the emulator stops); the job
 *	is aborted and sheet N stays in the feeder. --drop-at N: the NextDocument for
 *	sheet N is answered by closing the connection (a scanner that loses power or
 *	network); the job is aborted, sheet N stays. --slow MS: every image is
 *	answered MS milliseconds late.
 *
 * SECURITY
 *	Listens on 127.0.0.1 only. Reads at most 8 KiB of header and 64 KiB of body
 *	per request within 5 s; the body goes to libxml2 without network access or
 *	entity substitution. Stack images are bounded (escl_page.h). TEST ONLY.
 *
 * EXIT STATUS
 *	0 after SIGTERM/SIGINT (or a successful --probe, --clear, --reset,
 *	--render); EX_USAGE for bad options; EX_NOINPUT when the stack is empty or
 *	unreadable; EX_OSERR when the socket cannot be set up; EX_UNAVAILABLE when
 *	--probe, --clear or --reset gets no answer; EX_DATAERR when --render cannot
 *	render.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <leptonica/allheaders.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "buf.h"
#include "escl_http.h"
#include "escl_page.h"
#include "fileio.h"
#include "ident.h"
#include "log.h"
#include "xalloc.h"

#define EMU_MAX_STACK 10000
#define EMU_MAX_JOBS 16
#define EMU_MAX_CONNS 32
#define EMU_IO_MS 5000
#define EMU_SEND_MS 30000
#define EMU_MAX_XML (256u << 10)
#define EMU_A4_W 2480 /* 210 mm in 1/300 inch */
#define EMU_A4_H 3508 /* 297 mm in 1/300 inch */

static const int emu_resolutions[] = {150, 200, 300, 600};

enum emu_jstate { JOB_PROCESSING, JOB_COMPLETED, JOB_ABORTED, JOB_CANCELED };
enum emu_fault { FAULT_NONE, FAULT_JAM, FAULT_DOOR };

struct emu_job {
	char uuid[IDENT_UUID_LEN];
	int feeder, duplex;
	char color[32];
	int xres, yres;
	enum escl_page_format format;
	int rx, ry, rw, rh;
	enum emu_jstate state;
	const char *reason;
	int images;		    /* images served */
	long long created, touched; /* monotonic ms */
};

struct emu {
	char **stack; /* image paths, owned */
	size_t nstack;
	size_t pos; /* next image of the stack */
	int default_dpi;
	int offer_png, offer_jpeg;
	long jam_at, door_at, busy_at, busy_count, hang_at, drop_at, slow_ms, job_timeout;
	int jam_fired, door_fired, busy_fired, hang_fired, drop_fired;
	long busy_left;
	int error_body;
	enum emu_fault fault;
	long fault_sheet;
	struct emu_job jobs[EMU_MAX_JOBS];
	size_t njobs;  /* jobs created so far (the ring holds the last 16) */
	unsigned port; /* the port we listen on */
	FILE *log;     /* --log, or NULL */
	unsigned long served;
};

static volatile sig_atomic_t emu_stop;
static int emu_wake[2] = {-1, -1}; /* self-pipe: the signal handler wakes poll() */

/* SIGTERM/SIGINT: note it and wake the loop. */
static void emu_on_signal(int sig)
{
	int e = errno;

	(void)sig;
	emu_stop = 1;
	if (write(emu_wake[1], "x", 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = e;
}

/* The monotonic clock in ms. */
static long long emu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line to stderr and, with --log, to the log file (flushed: a test reads it). */
static void emu_event(struct emu *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emu_event(struct emu *e, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_info("%s", line);
	if (e->log != NULL) {
		fprintf(e->log, "%s\n", line);
		fflush(e->log);
	}
}

/* ---- the stack ---------------------------------------------------------------- */

/* 1 if name looks like a stack image: a leading digit and an image suffix. */
static int emu_stack_name(const char *name)
{
	static const char *const sfx[] = {".png", ".pnm",  ".pgm", ".ppm", ".pbm",
					  ".tif", ".tiff", ".jpg", ".jpeg"};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (name[0] < '0' || name[0] > '9' || dot == NULL)
		return 0;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (strcasecmp(dot, sfx[i]) == 0)
			return 1;
	return 0;
}

/* qsort: by name. */
static int emu_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append path to the stack; -1 when the stack is full or path is no readable file. */
static int emu_stack_add(struct emu *e, char *path)
{
	struct stat st;

	if (e->nstack == EMU_MAX_STACK) {
		log_errorx("the stack has more than %d images", EMU_MAX_STACK);
		free(path);
		return -1;
	}
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode) || access(path, R_OK) == -1) {
		log_errorx("%s: not a readable file", path);
		free(path);
		return -1;
	}
	e->stack = xrealloc(e->stack, (e->nstack + 1) * sizeof(*e->stack));
	e->stack[e->nstack++] = path;
	return 0;
}

/* Load the stack from a directory or a manifest. 0, or -1 with a message logged. */
static int emu_stack_load(struct emu *e, const char *arg)
{
	struct stat st;

	if (stat(arg, &st) == -1) {
		log_error("--stack %s", arg);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(arg);
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, i;
		int rc = 0;

		if (d == NULL) {
			log_error("--stack %s", arg);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (!emu_stack_name(de->d_name))
				continue;
			if (n == EMU_MAX_STACK) {
				log_errorx("%s: more than %d images", arg, EMU_MAX_STACK);
				rc = -1;
				break;
			}
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
		closedir(d);
		if (n > 0)
			qsort(names, n, sizeof(*names), emu_cmp_str);
		for (i = 0; i < n; i++) {
			if (rc == 0 && emu_stack_add(e, fio_join(arg, names[i])) == -1)
				rc = -1;
			free(names[i]);
		}
		free(names);
		return rc;
	} else {
		buf b;
		char *dir = xstrdup(arg), *slash, *line, *next;
		int rc = 0;

		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		else
			snprintf(dir, strlen(dir) + 1, ".");
		buf_init(&b, 1u << 20);
		if (fio_read_file(arg, 1u << 20, &b) == -1) {
			log_error("--stack %s: cannot read the manifest (at most 1 MiB)", arg);
			buf_free(&b);
			free(dir);
			return -1;
		}
		for (line = b.data; rc == 0 && line != NULL && *line != '\0'; line = next) {
			size_t len;

			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			len = strlen(line);
			while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
					   line[len - 1] == '\t'))
				line[--len] = '\0';
			while (*line == ' ' || *line == '\t')
				line++;
			if (*line == '\0' || *line == '#')
				continue;
			rc = emu_stack_add(e, line[0] == '/' ? xstrdup(line) : fio_join(dir, line));
		}
		buf_free(&b);
		free(dir);
		return rc;
	}
}

/* ---- jobs ------------------------------------------------------------------------ */

/* The job called uuid, or NULL. */
static struct emu_job *emu_job_find(struct emu *e, const char *uuid)
{
	size_t i, n = e->njobs < EMU_MAX_JOBS ? e->njobs : EMU_MAX_JOBS;

	for (i = 0; i < n; i++)
		if (strcmp(e->jobs[i].uuid, uuid) == 0)
			return &e->jobs[i];
	return NULL;
}

/* The job that is processing, or NULL. */
static struct emu_job *emu_job_active(struct emu *e)
{
	size_t i, n = e->njobs < EMU_MAX_JOBS ? e->njobs : EMU_MAX_JOBS;

	for (i = 0; i < n; i++)
		if (e->jobs[i].state == JOB_PROCESSING)
			return &e->jobs[i];
	return NULL;
}

/* Images per sheet for job j. */
static size_t emu_per_sheet(const struct emu_job *j)
{
	return j->duplex ? 2 : 1;
}

/* The sheet number (from 1) of stack image pos in job j. */
static long emu_sheet_of(const struct emu_job *j, size_t pos)
{
	return (long)(pos / emu_per_sheet(j)) + 1;
}

/* End job j with state and reason. */
static void emu_job_end(struct emu *e, struct emu_job *j, enum emu_jstate st, const char *why)
{
	static const char *const names[] = {"Processing", "Completed", "Aborted", "Canceled"};

	j->state = st;
	j->reason = why;
	j->touched = emu_now();
	emu_event(e, "job %s %s (%s) after %d images", j->uuid, names[st], why, j->images);
}

/* Abort the active job when its client has been silent for --job-timeout seconds. */
static void emu_job_expire(struct emu *e)
{
	struct emu_job *j = emu_job_active(e);

	if (j != NULL && e->job_timeout > 0 && emu_now() - j->touched > e->job_timeout * 1000)
		emu_job_end(e, j, JOB_ABORTED, "JobTimedOut");
}

/*
 * The scanner picks the sheet at e->pos for job j (at the job's start and after
 * the last side of a sheet was served): the feeder may be empty (the job is
 * complete), or the fault set for this sheet fires.
 */
static void emu_pick(struct emu *e, struct emu_job *j)
{
	long sheet;

	if (e->pos >= e->nstack) {
		emu_job_end(e, j, JOB_COMPLETED, "JobCompletedSuccessfully");
		return;
	}
	sheet = emu_sheet_of(j, e->pos);
	if (j->feeder && sheet == e->jam_at && !e->jam_fired) {
		e->jam_fired = 1;
		e->fault = FAULT_JAM;
		e->fault_sheet = sheet;
		emu_event(e, "sheet %ld jammed", sheet);
		emu_job_end(e, j, JOB_ABORTED, "AbortedBySystem");
		return;
	}
	if (j->feeder && sheet == e->door_at && !e->door_fired) {
		e->door_fired = 1;
		e->fault = FAULT_DOOR;
		e->fault_sheet = sheet;
		emu_event(e, "sheet %ld: feeder cover opened", sheet);
		emu_job_end(e, j, JOB_ABORTED, "AbortedBySystem");
		return;
	}
	if (sheet == e->busy_at && !e->busy_fired) {
		e->busy_fired = 1;
		e->busy_left = e->busy_count;
	}
}

/* ---- XML --------------------------------------------------------------------------- */

#define EMU_NS                                                                                     \
	"xmlns:pwg=\"http://www.pwg.org/schemas/2010/12/sm\" "                                     \
	"xmlns:scan=\"http://schemas.hp.com/imaging/escl/2011/05/03\""

/* One InputCaps element (Platen, AdfSimplex, AdfDuplex). */
static void emu_caps_input(const struct emu *e, buf *b, const char *name)
{
	size_t i;

	buf_printf(b,
		   "<scan:%s><scan:MinWidth>16</scan:MinWidth><scan:MaxWidth>%d</scan:MaxWidth>"
		   "<scan:MinHeight>16</scan:MinHeight><scan:MaxHeight>%d</scan:MaxHeight>"
		   "<scan:MaxScanRegions>1</scan:MaxScanRegions>"
		   "<scan:SettingProfiles><scan:SettingProfile><scan:ColorModes>"
		   "<scan:ColorMode>BlackAndWhite1</scan:ColorMode>"
		   "<scan:ColorMode>Grayscale8</scan:ColorMode>"
		   "<scan:ColorMode>RGB24</scan:ColorMode></scan:ColorModes>"
		   "<scan:ContentTypes><pwg:ContentType>Photo</pwg:ContentType>"
		   "<pwg:ContentType>Text</pwg:ContentType>"
		   "<pwg:ContentType>TextAndPhoto</pwg:ContentType></scan:ContentTypes>"
		   "<scan:DocumentFormats>",
		   name, EMU_A4_W, EMU_A4_H);
	if (e->offer_jpeg)
		buf_adds(b, "<pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat>");
	if (e->offer_png)
		buf_adds(b, "<pwg:DocumentFormat>image/png</pwg:DocumentFormat>");
	if (e->offer_jpeg)
		buf_adds(b, "<scan:DocumentFormatExt>image/jpeg</scan:DocumentFormatExt>");
	if (e->offer_png)
		buf_adds(b, "<scan:DocumentFormatExt>image/png</scan:DocumentFormatExt>");
	buf_adds(b, "</scan:DocumentFormats><scan:SupportedResolutions><scan:DiscreteResolutions>");
	for (i = 0; i < sizeof(emu_resolutions) / sizeof(emu_resolutions[0]); i++)
		buf_printf(b,
			   "<scan:DiscreteResolution><scan:XResolution>%d</scan:XResolution>"
			   "<scan:YResolution>%d</scan:YResolution></scan:DiscreteResolution>",
			   emu_resolutions[i], emu_resolutions[i]);
	buf_printf(b,
		   "</scan:DiscreteResolutions></scan:SupportedResolutions>"
		   "<scan:ColorSpaces><scan:ColorSpace>sRGB</scan:ColorSpace></scan:ColorSpaces>"
		   "</scan:SettingProfile></scan:SettingProfiles>"
		   "<scan:SupportedIntents><scan:Intent>Document</scan:Intent>"
		   "<scan:Intent>TextAndGraphic</scan:Intent><scan:Intent>Photo</scan:Intent>"
		   "</scan:SupportedIntents>"
		   "<scan:MaxOpticalXResolution>600</scan:MaxOpticalXResolution>"
		   "<scan:MaxOpticalYResolution>600</scan:MaxOpticalYResolution>"
		   "<scan:RiskyLeftMargin>0</scan:RiskyLeftMargin>"
		   "<scan:RiskyRightMargin>0</scan:RiskyRightMargin>"
		   "<scan:RiskyTopMargin>0</scan:RiskyTopMargin>"
		   "<scan:RiskyBottomMargin>0</scan:RiskyBottomMargin></scan:%s>",
		   name);
}

/* The ScannerCapabilities document into b. */
static void emu_caps(const struct emu *e, buf *b)
{
	buf_printf(b,
		   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<scan:ScannerCapabilities " EMU_NS
		   "><pwg:Version>2.63</pwg:Version>"
		   "<pwg:MakeAndModel>mailroom eSCL emulator</pwg:MakeAndModel>"
		   "<pwg:SerialNumber>MAILROOM-TEST-%u</pwg:SerialNumber>"
		   "<scan:UUID>4d61696c-726f-6f6d-2d65-73636c000001</scan:UUID>"
		   "<scan:Platen>",
		   e->port);
	emu_caps_input(e, b, "PlatenInputCaps");
	buf_adds(b, "</scan:Platen><scan:Adf>");
	emu_caps_input(e, b, "AdfSimplexInputCaps");
	emu_caps_input(e, b, "AdfDuplexInputCaps");
	buf_adds(b, "<scan:FeederCapacity>100</scan:FeederCapacity><scan:AdfOptions>"
		    "<scan:AdfOption>DetectPaperLoaded</scan:AdfOption>"
		    "<scan:AdfOption>Duplex</scan:AdfOption></scan:AdfOptions></scan:Adf>"
		    "</scan:ScannerCapabilities>\n");
}

/* The ScannerStatus document into b. */
static void emu_status(struct emu *e, buf *b)
{
	static const char *const names[] = {"Processing", "Completed", "Aborted", "Canceled"};
	const char *adf;
	size_t i, n = e->njobs < EMU_MAX_JOBS ? e->njobs : EMU_MAX_JOBS;
	long long now = emu_now();

	if (e->fault == FAULT_JAM)
		adf = "ScannerAdfJam";
	else if (e->fault == FAULT_DOOR)
		adf = "ScannerAdfDoorOpen";
	else if (e->pos < e->nstack)
		adf = "ScannerAdfLoaded";
	else
		adf = "ScannerAdfEmpty";
	buf_printf(b,
		   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<scan:ScannerStatus " EMU_NS
		   "><pwg:Version>2.63</pwg:Version><pwg:State>%s</pwg:State>"
		   "<scan:AdfState>%s</scan:AdfState><scan:Jobs>",
		   emu_job_active(e) != NULL ? "Processing" : "Idle", adf);
	/* the last EMU_MAX_JOBS jobs, latest slot first */
	for (i = n; i-- > 0;) {
		const struct emu_job *j = &e->jobs[i];

		buf_printf(b,
			   "<scan:JobInfo><pwg:JobUri>/eSCL/ScanJobs/%s</pwg:JobUri>"
			   "<pwg:JobUuid>%s</pwg:JobUuid><scan:Age>%lld</scan:Age>"
			   "<pwg:ImagesCompleted>%d</pwg:ImagesCompleted>"
			   "<pwg:ImagesToTransfer>%d</pwg:ImagesToTransfer>"
			   "<pwg:JobState>%s</pwg:JobState><pwg:JobStateReasons>"
			   "<pwg:JobStateReason>%s</pwg:JobStateReason></pwg:JobStateReasons>"
			   "</scan:JobInfo>",
			   j->uuid, j->uuid, (now - j->touched) / 1000, j->images,
			   j->state == JOB_PROCESSING && e->pos < e->nstack ? 1 : 0,
			   names[j->state], j->reason);
	}
	buf_adds(b, "</scan:Jobs></scan:ScannerStatus>\n");
}

/* The text of the first element called name (any namespace) below node, or NULL. */
static xmlNode *emu_xml_find(xmlNode *node, const char *name)
{
	xmlNode *c, *hit;

	for (c = node; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)c->name, name) == 0)
			return c;
		if ((hit = emu_xml_find(c->children, name)) != NULL)
			return hit;
	}
	return NULL;
}

/* Copy the trimmed text of element name into out; 0 if found, -1 if absent. */
static int emu_xml_text(xmlNode *root, const char *name, char *out, size_t outlen)
{
	xmlNode *n = emu_xml_find(root, name);
	xmlChar *t;
	const char *s;
	size_t len;

	if (n == NULL || (t = xmlNodeGetContent(n)) == NULL)
		return -1;
	s = (const char *)t;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
			   s[len - 1] == '\r'))
		len--;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, s, len);
	out[len] = '\0';
	xmlFree(t);
	return 0;
}

/* Integer text of element name, or def when absent; -1 when present but no number. */
static long emu_xml_int(xmlNode *root, const char *name, long def)
{
	char s[32], *end;
	long v;

	if (emu_xml_text(root, name, s, sizeof(s)) == -1)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 1000000)
		return -1;
	return v;
}

/* 1 if res is one of the offered resolutions. */
static int emu_res_ok(long res)
{
	size_t i;

	for (i = 0; i < sizeof(emu_resolutions) / sizeof(emu_resolutions[0]); i++)
		if (emu_resolutions[i] == res)
			return 1;
	return 0;
}

/*
 * Parse ScanSettings into j. 0, or -1 with the reason in why (a static string or
 * one in whybuf).
 */
static int emu_settings(const struct emu *e, const char *body, size_t len, struct emu_job *j,
			const char **why)
{
	xmlDoc *doc;
	xmlNode *root;
	char src[32] = "", fmt[64] = "", ext[64] = "", duplex[16] = "";
	long xr, yr;
	int rc = -1;

	if (body == NULL || len == 0) {
		*why = "no ScanSettings in the request";
		return -1;
	}
	doc = xmlReadMemory(body, (int)len, "ScanSettings.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL ||
	    strcmp((const char *)root->name, "ScanSettings") != 0) {
		*why = "not a ScanSettings document";
		goto out;
	}
	emu_xml_text(root, "InputSource", src, sizeof(src));
	if (strcmp(src, "Feeder") == 0 || strcmp(src, "ADF") == 0)
		j->feeder = 1;
	else if (strcmp(src, "Platen") == 0 || src[0] == '\0')
		j->feeder = 0;
	else {
		*why = "InputSource is not Platen or Feeder";
		goto out;
	}
	emu_xml_text(root, "Duplex", duplex, sizeof(duplex));
	j->duplex = j->feeder && (strcmp(duplex, "true") == 0 || strcmp(duplex, "1") == 0);
	if (emu_xml_text(root, "ColorMode", j->color, sizeof(j->color)) == -1)
		snprintf(j->color, sizeof(j->color), "RGB24");
	if (!escl_page_color_ok(j->color)) {
		*why = "ColorMode is not offered";
		goto out;
	}
	xr = emu_xml_int(root, "XResolution", 300);
	yr = emu_xml_int(root, "YResolution", xr);
	if (!emu_res_ok(xr) || yr != xr) {
		*why = "XResolution/YResolution is not one of 150, 200, 300, 600 (both equal)";
		goto out;
	}
	j->xres = (int)xr;
	j->yres = (int)yr;
	emu_xml_text(root, "DocumentFormat", fmt, sizeof(fmt));
	if (emu_xml_text(root, "DocumentFormatExt", ext, sizeof(ext)) == 0 && ext[0] != '\0')
		snprintf(fmt, sizeof(fmt), "%s", ext);
	if (fmt[0] == '\0')
		snprintf(fmt, sizeof(fmt), "%s", e->offer_png ? "image/png" : "image/jpeg");
	if (strcmp(fmt, "image/png") == 0 && e->offer_png)
		j->format = ESCL_PAGE_PNG;
	else if (strcmp(fmt, "image/jpeg") == 0 && e->offer_jpeg)
		j->format = ESCL_PAGE_JPEG;
	else {
		*why = "DocumentFormat is not offered";
		goto out;
	}
	j->rx = (int)emu_xml_int(root, "XOffset", 0);
	j->ry = (int)emu_xml_int(root, "YOffset", 0);
	j->rw = (int)emu_xml_int(root, "Width", 0);
	j->rh = (int)emu_xml_int(root, "Height", 0);
	if (j->rx < 0 || j->ry < 0 || j->rw < 0 || j->rh < 0) {
		*why = "bad ScanRegion";
		goto out;
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

/* ---- answers ----------------------------------------------------------------------- */

/*
 * What to do with a connection after its request was routed (under the lock):
 * send an answer, hold the connection open forever (hang) or close it without an
 * answer (drop). The body is owned: freed with lept_free when lept is set, else free.
 */
struct emu_resp {
	int code; /* HTTP status; 0 with park or drop */
	int park, drop;
	const char *ctype;
	char extra[256]; /* more header lines, each ending in CRLF */
	unsigned char *body;
	size_t len;
	int lept;
	char served[128]; /* the event to log once the body was delivered */
};

/* Set r to an answer with a copy of the len bytes at body. */
static void emu_answer(struct emu_resp *r, int code, const char *ctype, const void *body,
		       size_t len)
{
	r->code = code;
	r->ctype = ctype;
	if (len > 0) {
		r->body = xmalloc(len);
		memcpy(r->body, body, len);
	}
	r->len = len;
}

/* An error answer (empty body unless --error-body). */
static void emu_error(const struct emu *e, struct emu_resp *r, int code, const char *why)
{
	char body[256];
	int n = 0;

	if (e->error_body)
		n = snprintf(body, sizeof(body), "%d %s: %s\n", code, escl_http_reason(code), why);
	emu_answer(r, code, e->error_body ? "text/plain" : NULL, body, (size_t)n);
	if (code == 503)
		snprintf(r->extra, sizeof(r->extra), "Retry-After: 1\r\n");
}

/* Wait ms milliseconds (or until a stop signal). */
static void emu_delay(long ms)
{
	long long until = emu_now() + ms;

	while (!emu_stop && emu_now() < until) {
		long long left = until - emu_now();

		poll(NULL, 0, left > 200 ? 200 : (int)left);
	}
}

/* POST /eSCL/ScanJobs. */
static void emu_new_job(struct emu *e, struct emu_resp *r, const struct escl_req *rq)
{
	struct emu_job j, *slot;
	const char *why = "";

	memset(&j, 0, sizeof(j));
	if (emu_settings(e, rq->body, rq->body_len, &j, &why) == -1) {
		emu_error(e, r, 409, why);
		return;
	}
	if (emu_job_active(e) != NULL) {
		emu_error(e, r, 503, "another job is running");
		return;
	}
	if (e->fault != FAULT_NONE) {
		emu_error(e, r, 409,
			  e->fault == FAULT_JAM ? "the feeder is jammed"
						: "the feeder cover is open");
		return;
	}
	if (e->pos >= e->nstack) {
		emu_error(e, r, 409, "no paper");
		return;
	}
	/* busy when the job would start at the busy sheet */
	if (emu_sheet_of(&j, e->pos) == e->busy_at && !e->busy_fired) {
		e->busy_fired = 1;
		e->busy_left = e->busy_count;
	}
	if (e->busy_left > 0) {
		e->busy_left--;
		emu_event(e, "sheet %ld busy (503 to the new job)", emu_sheet_of(&j, e->pos));
		emu_error(e, r, 503, "busy");
		return;
	}
	ident_uuid_v4(j.uuid);
	j.state = JOB_PROCESSING;
	j.reason = "JobScanning";
	j.created = j.touched = emu_now();
	slot = &e->jobs[e->njobs % EMU_MAX_JOBS];
	*slot = j;
	e->njobs++;
	emu_event(e, "job %s created: %s%s, %s, %d dpi, %s", slot->uuid,
		  slot->feeder ? "Feeder" : "Platen", slot->duplex ? " duplex" : "", slot->color,
		  slot->xres, slot->format == ESCL_PAGE_PNG ? "image/png" : "image/jpeg");
	r->code = 201;
	snprintf(r->extra, sizeof(r->extra), "Location: http://127.0.0.1:%u/eSCL/ScanJobs/%s\r\n",
		 e->port, slot->uuid);
	if (slot->feeder)
		emu_pick(e, slot);
}

/* A white back side of the size of the front (a one-sided last sheet in a duplex job). */
static int emu_blank(const struct emu_job *j, int w, int h, unsigned char **data, size_t *len)
{
	PIX *pix = pixCreate(w, h, strcmp(j->color, "RGB24") == 0 ? 32 : 8);
	l_uint8 *out = NULL;
	size_t n = 0;
	int rc;

	if (pix == NULL)
		return -1;
	pixSetAllArbitrary(pix, strcmp(j->color, "RGB24") == 0 ? 0xffffff00 : 0xff);
	if (strcmp(j->color, "RGB24") == 0)
		pixSetSpp(pix, 3);
	pixSetResolution(pix, j->xres, j->yres);
	rc = j->format == ESCL_PAGE_PNG ? pixWriteMem(&out, &n, pix, IFF_PNG)
					: pixWriteMemJpeg(&out, &n, pix, 90, 0);
	pixDestroy(&pix);
	if (rc != 0)
		return -1;
	*data = out;
	*len = n;
	return 0;
}

/*
 * GET /eSCL/ScanJobs/UUID/NextDocument: the next image of the job. The scanner's
 * state moves on when the image is made (a sheet that went through the scanner is
 * in the output tray even if the transfer fails); "served" is logged once the
 * client has the whole image.
 */
static void emu_next_document(struct emu *e, struct emu_resp *r, struct emu_job *j)
{
	unsigned char *data = NULL;
	size_t len = 0, per;
	long sheet;
	int side, w = 0, h = 0;
	char err[512];
	struct escl_page_req pr;

	j->touched = emu_now();
	if (j->state != JOB_PROCESSING) {
		emu_error(e, r, 404, "the job has no more documents");
		return;
	}
	per = j->feeder ? emu_per_sheet(j) : 1;
	sheet = emu_sheet_of(j, e->pos);
	side = (int)(e->pos % per);
	if (e->busy_left > 0) {
		e->busy_left--;
		emu_event(e, "sheet %ld busy (503)", sheet);
		emu_error(e, r, 503, "busy");
		return;
	}
	if (side == 0 && sheet == e->hang_at && !e->hang_fired) {
		e->hang_fired = 1;
		emu_event(e, "sheet %ld hangs: NextDocument is never answered", sheet);
		emu_job_end(e, j, JOB_ABORTED, "AbortedBySystem");
		r->park = 1;
		return;
	}
	if (side == 0 && sheet == e->drop_at && !e->drop_fired) {
		e->drop_fired = 1;
		emu_event(e, "sheet %ld: connection dropped without an answer", sheet);
		emu_job_end(e, j, JOB_ABORTED, "AbortedBySystem");
		r->drop = 1;
		return;
	}
	memset(&pr, 0, sizeof(pr));
	pr.color = j->color;
	pr.xres = j->xres;
	pr.yres = j->yres;
	pr.format = j->format;
	pr.rx = j->rx;
	pr.ry = j->ry;
	pr.rw = j->rw;
	pr.rh = j->rh;
	pr.default_dpi = e->default_dpi;
	if (e->pos >= e->nstack) {
		/* the back of a one-sided last sheet: white, as big as the front before it */
		if (escl_page_render(e->stack[e->pos - 1], &pr, &data, &len, &w, &h, err,
				     sizeof(err)) == -1)
			goto fail;
		escl_page_free(data);
		data = NULL;
		if (emu_blank(j, w, h, &data, &len) == -1) {
			snprintf(err, sizeof(err), "cannot make a blank back side");
			goto fail;
		}
	} else if (escl_page_render(e->stack[e->pos], &pr, &data, &len, &w, &h, err, sizeof(err)) ==
		   -1) {
		goto fail;
	}
	r->code = 200;
	r->ctype = j->format == ESCL_PAGE_PNG ? "image/png" : "image/jpeg";
	r->body = data;
	r->len = len;
	r->lept = 1;
	snprintf(r->served, sizeof(r->served), "sheet %ld side %s served", sheet,
		 side ? "back" : "front");
	j->images++;
	e->pos++;
	if (!j->feeder) {
		emu_job_end(e, j, JOB_COMPLETED, "JobCompletedSuccessfully");
	} else if (j->duplex && e->pos % 2 == 1 && e->pos == e->nstack) {
		/* a last sheet without a back: the back is white, served next */
	} else if (e->pos % per == 0 || e->pos > e->nstack) {
		if (e->pos > e->nstack)
			e->pos = e->nstack;
		emu_pick(e, j);
	}
	return;
fail:
	log_errorx("sheet %ld: %s", sheet, err);
	emu_job_end(e, j, JOB_ABORTED, "AbortedBySystem");
	emu_error(e, r, 500, err);
}

/* POST /control/reset: the whole stack back in the feeder, faults armed again, no jobs. */
static void emu_reset(struct emu *e)
{
	e->pos = 0;
	e->fault = FAULT_NONE;
	e->jam_fired = e->door_fired = e->busy_fired = e->hang_fired = e->drop_fired = 0;
	e->busy_left = 0;
	e->njobs = 0;
	memset(e->jobs, 0, sizeof(e->jobs));
	emu_event(e, "reset: %zu images in the feeder", e->nstack);
}

/* Route one request (called with the lock held); the answer goes into r. */
static void emu_route(struct emu *e, struct emu_resp *r, const struct escl_req *rq)
{
	static const char jobs[] = "/eSCL/ScanJobs/";
	const char *t = rq->target;
	buf b;

	emu_job_expire(e);
	if (strcmp(t, "/eSCL/ScannerCapabilities") == 0 || strcmp(t, "/eSCL/ScannerStatus") == 0) {
		if (strcmp(rq->method, "GET") != 0) {
			emu_error(e, r, 405, "GET only");
			return;
		}
		buf_init(&b, EMU_MAX_XML);
		if (strcmp(t, "/eSCL/ScannerCapabilities") == 0)
			emu_caps(e, &b);
		else
			emu_status(e, &b);
		emu_answer(r, 200, "text/xml", b.data, b.len);
		buf_free(&b);
		return;
	}
	if (strcmp(t, "/eSCL/ScanJobs") == 0) {
		if (strcmp(rq->method, "POST") != 0)
			emu_error(e, r, 405, "POST only");
		else
			emu_new_job(e, r, rq);
		return;
	}
	if (strncmp(t, jobs, sizeof(jobs) - 1) == 0) {
		char uuid[IDENT_UUID_LEN];
		const char *id = t + sizeof(jobs) - 1, *rest = strchr(id, '/');
		size_t n = rest ? (size_t)(rest - id) : strlen(id);
		struct emu_job *j = NULL;

		if (n > 0 && n < sizeof(uuid)) {
			memcpy(uuid, id, n);
			uuid[n] = '\0';
			j = emu_job_find(e, uuid);
		}
		if (j == NULL)
			emu_error(e, r, 404, "no such job");
		else if (rest != NULL && strcmp(rest, "/NextDocument") == 0 &&
			 strcmp(rq->method, "GET") == 0)
			emu_next_document(e, r, j);
		else if (rest != NULL && strcmp(rest, "/NextDocument") == 0)
			emu_error(e, r, 405, "GET only");
		else if (rest == NULL && strcmp(rq->method, "DELETE") == 0) {
			if (j->state == JOB_PROCESSING)
				emu_job_end(e, j, JOB_CANCELED, "JobCanceledByUser");
			r->code = 200;
		} else
			emu_error(e, r, rest == NULL ? 405 : 404, "not served");
		return;
	}
	if (strcmp(t, "/control/clear") == 0 && strcmp(rq->method, "POST") == 0) {
		if (e->fault != FAULT_NONE)
			emu_event(e, "cleared (%s at sheet %ld); sheet %ld is fed again",
				  e->fault == FAULT_JAM ? "jam" : "cover open", e->fault_sheet,
				  e->fault_sheet);
		else
			emu_event(e, "cleared (no fault)");
		e->fault = FAULT_NONE;
		emu_answer(r, 200, "text/plain", "cleared\n", 8);
		return;
	}
	if (strcmp(t, "/control/reset") == 0 && strcmp(rq->method, "POST") == 0) {
		emu_reset(e);
		emu_answer(r, 200, "text/plain", "reset\n", 6);
		return;
	}
	if (strcmp(t, "/control/state") == 0 && strcmp(rq->method, "GET") == 0) {
		struct emu_job *j = emu_job_active(e);
		char s[256];
		int n =
		    snprintf(s, sizeof(s), "next_image=%zu images=%zu served=%lu fault=%s job=%s\n",
			     e->pos + 1, e->nstack, e->served,
			     e->fault == FAULT_JAM    ? "jam"
			     : e->fault == FAULT_DOOR ? "cover-open"
						      : "none",
			     j != NULL ? j->uuid : "-");

		emu_answer(r, 200, "text/plain", s, (size_t)n);
		return;
	}
	emu_error(e, r, 404, "not an eSCL resource");
}

/* ---- connections ----------------------------------------------------------------------- */

static pthread_mutex_t emu_mu = PTHREAD_MUTEX_INITIALIZER; /* guards struct emu */
static pthread_cond_t emu_cv = PTHREAD_COND_INITIALIZER;   /* a connection ended */
static int emu_conns;					   /* connections being served */

struct emu_conn {
	struct emu *e;
	int fd;
};

/* Hold a hanging connection until the client closes it or the emulator stops. */
static void emu_hold(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char tmp[512];

	while (!emu_stop) {
		if (poll(&p, 1, 200) == 1 && recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT) == 0) {
			log_info("a client gave up its hanging request");
			return;
		}
	}
}

/* Serve one connection: read the request, route it under the lock, answer outside it. */
static void *emu_serve(void *arg)
{
	struct emu_conn *c = arg;
	struct emu *e = c->e;
	struct escl_req rq;
	struct emu_resp r;
	long long t0 = emu_now();
	const char *why;
	int code, sent = 0;

	memset(&r, 0, sizeof(r));
	if (escl_http_read(c->fd, &rq, EMU_IO_MS, &code, &why) == -1) {
		if (code != 0) {
			escl_http_respond(c->fd, code, "text/plain", NULL, why, strlen(why),
					  EMU_IO_MS);
			log_info("\"%s\" -> %d (%s)", rq.line, code, why);
		}
		goto out;
	}
	/* a slow scanner takes its time before it looks at the job */
	if (e->slow_ms > 0 && strstr(rq.target, "/NextDocument") != NULL)
		emu_delay(e->slow_ms);
	pthread_mutex_lock(&emu_mu);
	emu_route(e, &r, &rq);
	pthread_mutex_unlock(&emu_mu);
	if (r.park) {
		log_info("\"%s\" -> held open, never answered", rq.line);
		emu_hold(c->fd);
	} else if (r.drop) {
		log_info("\"%s\" -> connection closed without an answer", rq.line);
		shutdown(c->fd, SHUT_RDWR);
	} else {
		sent = escl_http_respond(c->fd, r.code, r.ctype, r.extra[0] ? r.extra : NULL,
					 r.body, r.len, EMU_SEND_MS) == 0;
		log_info("\"%s\" -> %d, %zu bytes (%lld ms)%s", rq.line, r.code, r.len,
			 emu_now() - t0, sent ? "" : ", not delivered");
		if (r.served[0] != '\0') {
			pthread_mutex_lock(&emu_mu);
			if (sent) {
				e->served++;
				emu_event(e, "%s", r.served);
			} else {
				emu_event(e,
					  "%s: NOT delivered (the client did not take it); the "
					  "image is lost",
					  r.served);
			}
			pthread_mutex_unlock(&emu_mu);
		}
	}
	escl_http_req_free(&rq);
out:
	if (r.lept)
		escl_page_free(r.body);
	else
		free(r.body);
	close(c->fd);
	free(c);
	pthread_mutex_lock(&emu_mu);
	emu_conns--;
	pthread_cond_signal(&emu_cv);
	pthread_mutex_unlock(&emu_mu);
	return NULL;
}

/* Start a thread for the accepted connection fd (refused with 503 when too many). */
static void emu_accept(struct emu *e, int fd)
{
	struct emu_conn *c;
	pthread_attr_t at;
	pthread_t th;
	int busy;

	pthread_mutex_lock(&emu_mu);
	busy = emu_conns >= EMU_MAX_CONNS;
	if (!busy)
		emu_conns++;
	pthread_mutex_unlock(&emu_mu);
	if (busy) {
		escl_http_respond(fd, 503, NULL, "Retry-After: 1\r\n", NULL, 0, EMU_IO_MS);
		log_warnx("more than %d connections at once: refused one with 503", EMU_MAX_CONNS);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->e = e;
	c->fd = fd;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, emu_serve, c) != 0) {
		log_warnx("cannot start a thread: the connection is served in line");
		emu_serve(c);
	}
	pthread_attr_destroy(&at);
}

/* ---- client modes -------------------------------------------------------------------- */

/* Send METHOD PATH to 127.0.0.1:port; 0 if a 2xx answer comes back within 3 s. */
static int emu_client(const char *port_s, const char *method, const char *path)
{
	struct sockaddr_in sa;
	char q[256], ans[1024];
	struct pollfd p;
	size_t n = 0;
	ssize_t r;
	long long deadline = emu_now() + 3000;
	unsigned long port;
	char *end;
	int fd, qn, rc = -1;

	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno != 0 || end == port_s || *end != '\0' || port == 0 || port > 65535)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	qn = snprintf(q, sizeof(q),
		      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%lu\r\nContent-Length: 0\r\n\r\n", method,
		      path, port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    send(fd, q, (size_t)qn, MSG_NOSIGNAL) != qn)
		goto out;
	while (n < sizeof(ans) - 1) {
		long long left = deadline - emu_now();

		p.fd = fd;
		p.events = POLLIN;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if ((r = recv(fd, ans + n, sizeof(ans) - 1 - n, 0)) <= 0)
			break;
		n += (size_t)r;
	}
	ans[n] = '\0';
	if (n >= 12 && strncmp(ans, "HTTP/1.", 7) == 0 && ans[9] == '2')
		rc = 0;
out:
	close(fd);
	return rc;
}

/* --render IN OUT: write IN as the emulator would serve it, as PNM. */
static int emu_render(const char *in, const char *out, const char *color, int res, int dpi)
{
	struct escl_page_req pr;
	unsigned char *data = NULL;
	size_t len = 0;
	int w, h;
	char err[512];

	memset(&pr, 0, sizeof(pr));
	pr.color = color;
	pr.xres = pr.yres = res;
	pr.format = ESCL_PAGE_PNM;
	pr.default_dpi = dpi;
	if (escl_page_render(in, &pr, &data, &len, &w, &h, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return EX_DATAERR;
	}
	if (fio_write_atomic(out, data, len, 0644) == -1) {
		log_error("%s", out);
		escl_page_free(data);
		return EX_CANTCREAT;
	}
	escl_page_free(data);
	return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

/* Write "value\n" to path atomically. Exits EX_OSERR when it cannot. */
static void emu_write_number(const char *path, unsigned long v)
{
	char s[32], *tmp = xasprintf("%s.tmp", path);

	unlink(tmp);
	free(tmp);
	snprintf(s, sizeof(s), "%lu\n", v);
	if (fio_write_atomic(path, s, strlen(s), 0644) == -1)
		log_fatalx(EX_OSERR, "%s: cannot write: %s", path, strerror(errno));
}

/* A positive number option, or usage. */
static long emu_num(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		log_fatalx(EX_USAGE, "%s %s: want a number from %ld to %ld", opt, s, min, max);
	return v;
}

static void usage(void) __attribute__((noreturn));
/* Print the synopsis and exit EX_USAGE. */
static void usage(void)
{
	fprintf(stderr,
		"usage: mailroom-escl-emulator --stack DIR|MANIFEST [--port N] [--port-file F]\n"
		"         [--pid-file F] [--log F] [--dpi N] [--formats png,jpeg] [--jam-at N]\n"
		"         [--cover-open-at N] [--busy-at N] [--busy-count K] [--hang-at N]\n"
		"         [--drop-at N] [--slow MS] [--job-timeout S] [--error-body]\n"
		"       mailroom-escl-emulator --probe PORT | --clear PORT | --reset PORT\n"
		"       mailroom-escl-emulator --render IMAGE OUT.pnm [--color C] [--resolution R]"
		" [--dpi N]\n"
		"An eSCL scanner emulator on 127.0.0.1 for the tests (TEST ONLY).\n");
	exit(EX_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"stack", required_argument, NULL, 's'},
					     {"port", required_argument, NULL, 'p'},
					     {"port-file", required_argument, NULL, 'P'},
					     {"pid-file", required_argument, NULL, 'i'},
					     {"log", required_argument, NULL, 'l'},
					     {"dpi", required_argument, NULL, 'd'},
					     {"formats", required_argument, NULL, 'f'},
					     {"jam-at", required_argument, NULL, 'j'},
					     {"cover-open-at", required_argument, NULL, 'c'},
					     {"busy-at", required_argument, NULL, 'b'},
					     {"busy-count", required_argument, NULL, 'B'},
					     {"hang-at", required_argument, NULL, 'H'},
					     {"drop-at", required_argument, NULL, 'D'},
					     {"slow", required_argument, NULL, 'w'},
					     {"job-timeout", required_argument, NULL, 't'},
					     {"error-body", no_argument, NULL, 'e'},
					     {"probe", required_argument, NULL, 'q'},
					     {"clear", required_argument, NULL, 'C'},
					     {"reset", required_argument, NULL, 'X'},
					     {"render", required_argument, NULL, 'r'},
					     {"color", required_argument, NULL, 'm'},
					     {"resolution", required_argument, NULL, 'R'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *stack = NULL, *port_file = NULL, *pid_file = NULL, *log_file = NULL;
	const char *probe = NULL, *clear = NULL, *reset = NULL, *render = NULL;
	const char *color = "RGB24";
	long port = 0, res = 300;
	struct emu e;
	struct sockaddr_in sa;
	struct sigaction act;
	socklen_t salen = sizeof(sa);
	int ch, lfd, one = 1;
	size_t i;

	log_init("mailroom-escl-emulator");
	unsetenv("MAILROOM_FAULT"); /* a crash test's injection is not for the scanner */
	memset(&e, 0, sizeof(e));
	e.default_dpi = 300;
	e.offer_png = e.offer_jpeg = 1;
	e.busy_count = 1;
	e.job_timeout = 60;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			stack = optarg;
			break;
		case 'p':
			port = emu_num("--port", optarg, 0, 65535);
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'i':
			pid_file = optarg;
			break;
		case 'l':
			log_file = optarg;
			break;
		case 'd':
			e.default_dpi = (int)emu_num("--dpi", optarg, 10, 2400);
			break;
		case 'f':
			e.offer_png = strstr(optarg, "png") != NULL;
			e.offer_jpeg = strstr(optarg, "jpeg") != NULL;
			if (!e.offer_png && !e.offer_jpeg)
				log_fatalx(EX_USAGE, "--formats %s: want png, jpeg or png,jpeg",
					   optarg);
			break;
		case 'j':
			e.jam_at = emu_num("--jam-at", optarg, 1, EMU_MAX_STACK);
			break;
		case 'c':
			e.door_at = emu_num("--cover-open-at", optarg, 1, EMU_MAX_STACK);
			break;
		case 'b':
			e.busy_at = emu_num("--busy-at", optarg, 1, EMU_MAX_STACK);
			break;
		case 'B':
			e.busy_count = emu_num("--busy-count", optarg, 1, 1000);
			break;
		case 'H':
			e.hang_at = emu_num("--hang-at", optarg, 1, EMU_MAX_STACK);
			break;
		case 'D':
			e.drop_at = emu_num("--drop-at", optarg, 1, EMU_MAX_STACK);
			break;
		case 'w':
			e.slow_ms = emu_num("--slow", optarg, 0, 600000);
			break;
		case 't':
			e.job_timeout = emu_num("--job-timeout", optarg, 0, 86400);
			break;
		case 'e':
			e.error_body = 1;
			break;
		case 'q':
			probe = optarg;
			break;
		case 'C':
			clear = optarg;
			break;
		case 'X':
			reset = optarg;
			break;
		case 'r':
			render = optarg;
			break;
		case 'm':
			color = optarg;
			break;
		case 'R':
			res = emu_num("--resolution", optarg, 10, 2400);
			break;
		default:
			usage();
		}
	}
	setMsgSeverity(L_SEVERITY_ERROR);
	if (probe != NULL || clear != NULL || reset != NULL) {
		int rc;

		if (optind != argc)
			usage();
		if (probe != NULL)
			rc = emu_client(probe, "GET", "/eSCL/ScannerStatus");
		else if (clear != NULL)
			rc = emu_client(clear, "POST", "/control/clear");
		else
			rc = emu_client(reset, "POST", "/control/reset");
		return rc == 0 ? 0 : EX_UNAVAILABLE;
	}
	if (render != NULL) {
		if (optind + 1 != argc)
			usage();
		return emu_render(render, argv[optind], color, (int)res, e.default_dpi);
	}
	if (optind != argc || stack == NULL)
		usage();
	if (emu_stack_load(&e, stack) == -1)
		return EX_NOINPUT;
	if (e.nstack == 0) {
		log_errorx("--stack %s: no images (want files 0001.png ... or a manifest)", stack);
		return EX_NOINPUT;
	}
	if (log_file != NULL && (e.log = fopen(log_file, "a")) == NULL)
		log_fatalx(EX_CANTCREAT, "%s: %s", log_file, strerror(errno));
	xmlInitParser();

	if (pipe(emu_wake) == -1 || fcntl(emu_wake[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(emu_wake[1], F_SETFL, O_NONBLOCK) == -1)
		log_fatalx(EX_OSERR, "pipe: %s", strerror(errno));
	memset(&act, 0, sizeof(act));
	act.sa_handler = emu_on_signal;
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		log_fatalx(EX_OSERR, "socket: %s", strerror(errno));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(lfd, 16) == -1)
		log_fatalx(EX_OSERR, "127.0.0.1:%ld: cannot listen: %s", port, strerror(errno));
	if (getsockname(lfd, (struct sockaddr *)&sa, &salen) == -1)
		log_fatalx(EX_OSERR, "getsockname: %s", strerror(errno));
	e.port = ntohs(sa.sin_port);
	if (pid_file != NULL)
		emu_write_number(pid_file, (unsigned long)getpid());
	if (port_file != NULL)
		emu_write_number(port_file, e.port);
	log_info("eSCL emulator (TEST ONLY) at http://127.0.0.1:%u/eSCL, %zu images from %s",
		 e.port, e.nstack, stack);

	while (!emu_stop) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN},
				      {.fd = emu_wake[0], .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_fatalx(EX_OSERR, "poll: %s", strerror(errno));
		}
		if (emu_stop)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
				log_warn("accept");
			continue;
		}
		/* non-blocking: sends and reads keep their time limits (escl_http.c) */
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
			log_warn("fcntl");
			close(fd);
			continue;
		}
		emu_accept(&e, fd);
	}
	close(lfd);
	/* let the connections being answered finish (hanging ones see emu_stop) */
	{
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 3;
		pthread_mutex_lock(&emu_mu);
		while (emu_conns > 0 && pthread_cond_timedwait(&emu_cv, &emu_mu, &until) == 0)
			;
		log_info("stopping (signal); %lu images served", e.served);
		pthread_mutex_unlock(&emu_mu);
	}
	if (pid_file != NULL)
		unlink(pid_file);
	if (port_file != NULL)
		unlink(port_file);
	if (e.log != NULL)
		fclose(e.log);
	for (i = 0; i < e.nstack; i++)
		free(e.stack[i]);
	free(e.stack);
	xmlCleanupParser();
	return 0;
}
