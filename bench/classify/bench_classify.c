/*
 * bench_classify.c - mailroom-bench-classify: how well and how cheaply the
 * classify engine decides a letter's type, measured against the tesseract CLI
 * on the same pages in the same run.
 *
 * SYNOPSIS
 *	mailroom-bench-classify [-c confdir] --manifest FILE --work DIR
 *		[--variants clean,noise,skew,rot90,rot180] [--no-cli]
 *		[--pages N] [--tsv FILE]
 *
 *	The manifest lists the labelled pages, one per line, grouped by document:
 *	"document<TAB>label<TAB>image" (bench/classify/run.sh writes it from
 *	../shared/corpus: PDF pages rendered at 300 dpi, JPEG scans as they are).
 *	For every document and every variant the program builds the variant's
 *	images in DIR (the clean variant of a one-page document is the original
 *	file; others are LZW TIFFs made with leptonica: gaussian noise, a skew of
 *	2 to 5 degrees either way, a rotation by 90 or 180 degrees), then
 *	  - runs the classify path in-process: classify_engine_file, the very
 *	    function of mailroom-classify --explain (early pass over page 1 at
 *	    about 120 dpi: the top, with early.rest the rest too; full-text OCR
 *	    unless nicht_scannen was decided early, the
 *	    Scankonzept rules, routing), one engine initialised once, timed with
 *	    getrusage(RUSAGE_SELF);
 *	  - runs "tesseract PAGE OUT -l deu+eng" (OMP_THREAD_LIMIT=1) once per page
 *	    of the same images, timed with the child's rusage (wait4).
 *	It prints per-type precision and recall, macro-F1, abstention rate, CPU per
 *	document for both, their ratio, the worker's RSS, and the targets of issue 3.
 *
 *	--pages N is the soak mode: no CLI, the documents and variants are cycled
 *	until N pages have been recognised and the RSS is printed as it goes.
 *	Flat means the RSS after a document is no more than BENCH_RSS_GROWTH_MB
 *	(median) above the RSS after the same document a cycle before, from the
 *	third cycle on; the RSS between documents follows the page size.
 *
 * SECURITY
 *	A benchmark on trusted, shared test material; writes only below DIR.
 *
 * EXIT STATUS
 *	0 when the run completed (whether or not the targets are met), EX_USAGE,
 *	EX_CONFIG, EX_NOINPUT (manifest), EX_SOFTWARE (engine), EX_CANTCREAT (DIR).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <leptonica/allheaders.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "classify_engine.h"
#include "conf.h"
#include "fileio.h"
#include "log.h"
#include "offices.h"
#include "settings.h"
#include "xalloc.h"

extern char **environ;

#define BENCH_MAX_DOCS 1000
#define BENCH_MAX_PAGES 64 /* pages per document */
#define BENCH_LINE_MAX 4096
#define BENCH_CPU_TARGET (1.0 / 6.0)
#define BENCH_PRECISION_TARGET 0.97
#define BENCH_RSS_GROWTH_MB 10.0 /* soak: median growth of the RSS after the same document */
#define BENCH_RSS_TARGET_MB 300.0

enum bench_variant { V_CLEAN, V_NOISE, V_SKEW, V_ROT90, V_ROT180, V_COUNT };
static const char *const bench_variant_names[V_COUNT] = {"clean", "noise", "skew", "rot90",
							 "rot180"};

/* One labelled document of the manifest. */
struct bench_doc {
	char *name;  /* the corpus file */
	char *label; /* its document_type */
	char *pages[BENCH_MAX_PAGES];
	size_t n_pages;
};

/* What one run of one document and variant gave. */
struct bench_result {
	int doc, variant;
	int ok;		  /* OCR succeeded */
	int decided;	  /* the rules decided a type */
	int routed;	  /* ... and an office was found */
	char type[64];	  /* decided type, or "" */
	double cpu;	  /* classify path, seconds */
	double cpu_early; /* of it: the early pass */
	double cpu_type;  /* until the type was known: the early pass when it was safe */
	int early_safe;	  /* the type was decided from the early pass */
	int early_rest;	  /* ... which read the rest of page 1 (second look) */
	int early_wrong;  /* ... and its type is not the label */
	double cli_cpu;	  /* tesseract CLI over the same pages, seconds (-1: not run) */
	size_t pages;
	double score, margin;
};

struct bench {
	classify_engine eng; /* the decision path of mailroom-classify */
	struct bench_doc docs[BENCH_MAX_DOCS];
	size_t n_docs;
	const char *work;
	int variants[V_COUNT];
	int cli;
};

/* Print the usage message to f. */
static void bench_usage(FILE *f)
{
	fprintf(f, "usage: mailroom-bench-classify [-c confdir] --manifest FILE --work DIR\n"
		   "         [--variants clean,noise,skew,rot90,rot180] [--no-cli] [--pages N]\n"
		   "         [--tsv FILE]\n");
}

/* User + system CPU seconds of a rusage. */
static double bench_cpu(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

/* CPU seconds this process has used so far. */
static double bench_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return bench_cpu(&ru);
}

/* Monotonic wall clock in seconds. */
static double bench_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The resident set size now, in MB (from /proc/self/statm). */
static double bench_rss_mb(void)
{
	long size = 0, rss = 0;
	FILE *f;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* The peak resident set size, in MB. */
static double bench_maxrss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

/* Read the manifest into b->docs. -1 with a message on error. */
static int bench_read_manifest(struct bench *b, const char *path)
{
	char line[BENCH_LINE_MAX];
	FILE *f;
	int lineno = 0;

	if ((f = fopen(path, "r")) == NULL) {
		log_error("%s: cannot open", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name, *label, *image, *save = NULL;
		struct bench_doc *d;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((name = strtok_r(line, "\t", &save)) == NULL ||
		    (label = strtok_r(NULL, "\t", &save)) == NULL ||
		    (image = strtok_r(NULL, "\t", &save)) == NULL) {
			log_errorx("%s:%d: expected document<TAB>label<TAB>image", path, lineno);
			fclose(f);
			return -1;
		}
		d = b->n_docs > 0 ? &b->docs[b->n_docs - 1] : NULL;
		if (d == NULL || strcmp(d->name, name) != 0) {
			if (b->n_docs == BENCH_MAX_DOCS) {
				log_errorx("%s:%d: more than %d documents", path, lineno,
					   BENCH_MAX_DOCS);
				fclose(f);
				return -1;
			}
			d = &b->docs[b->n_docs++];
			d->name = xstrdup(name);
			d->label = xstrdup(label);
		}
		if (d->n_pages == BENCH_MAX_PAGES) {
			log_errorx("%s:%d: more than %d pages in %s", path, lineno, BENCH_MAX_PAGES,
				   name);
			fclose(f);
			return -1;
		}
		d->pages[d->n_pages++] = xstrdup(image);
	}
	fclose(f);
	if (b->n_docs == 0) {
		log_errorx("%s: no documents", path);
		return -1;
	}
	return 0;
}

/* The skew of document i for the skew variant: 2 to 5 degrees, either way. */
static double bench_skew_degrees(size_t i)
{
	static const double a[] = {2.0, -3.0, 4.0, -5.0, 3.5, -2.5};

	return a[i % (sizeof(a) / sizeof(a[0]))];
}

/* Make page p in variant v; a new PIX (NULL if it cannot be read). */
static PIX *bench_make_page(const char *image, enum bench_variant v, size_t doc)
{
	PIX *src, *p1 = NULL, *out = NULL;
	l_int32 xres, yres;

	if ((src = pixRead(image)) == NULL)
		return NULL;
	xres = pixGetXRes(src);
	yres = pixGetYRes(src);
	if (pixGetColormap(src) != NULL)
		p1 = pixRemoveColormap(src, REMOVE_CMAP_BASED_ON_SRC);
	else
		p1 = pixClone(src);
	pixDestroy(&src);
	if (p1 == NULL)
		return NULL;
	if (pixGetDepth(p1) == 1) { /* noise and area-map rotation need gray */
		PIX *g = pixConvertTo8(p1, 0);

		pixDestroy(&p1);
		if ((p1 = g) == NULL)
			return NULL;
	}
	switch (v) {
	case V_CLEAN:
		out = pixClone(p1);
		break;
	case V_NOISE:
		/* the grain of a cheap scanner on grey paper: sigma 30 of 255 leaves text
		 * readable; at 40 tesseract needs minutes per page (noise speckles) */
		out = pixAddGaussianNoise(p1, 30.0);
		break;
	case V_SKEW:
		out = pixRotate(p1, (l_float32)(bench_skew_degrees(doc) * M_PI / 180.0),
				L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
		break;
	case V_ROT90:
		out = pixRotateOrth(p1, 1);
		break;
	case V_ROT180:
		out = pixRotateOrth(p1, 2);
		break;
	default:
		break;
	}
	pixDestroy(&p1);
	if (out != NULL) {
		if (xres <= 0 || yres <= 0)
			xres = yres = 300;
		pixSetResolution(out, v == V_ROT90 ? yres : xres, v == V_ROT90 ? xres : yres);
	}
	return out;
}

/*
 * Build the images of document i in variant v below the work directory: the
 * document (one file, multi-page TIFF when it has several pages) for the classify
 * path and one file per page for the CLI. The clean variant of a one-page
 * document is its original file. Paths are written into doc_path (caller frees)
 * and page_paths (caller frees each). 0 or -1.
 */
static int bench_prepare(struct bench *b, size_t i, enum bench_variant v, char **doc_path,
			 char **page_paths)
{
	const struct bench_doc *d = &b->docs[i];
	char *dir = xasprintf("%s/%s", b->work, bench_variant_names[v]);
	char *tmp_doc = NULL, *tmp_page = NULL;
	size_t p;
	int rc = -1;

	*doc_path = NULL;
	for (p = 0; p < d->n_pages; p++)
		page_paths[p] = NULL;
	if (v == V_CLEAN && d->n_pages == 1) {
		*doc_path = xstrdup(d->pages[0]);
		page_paths[0] = xstrdup(d->pages[0]);
		free(dir);
		return 0;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_error("%s", dir);
		goto out;
	}
	*doc_path = xasprintf("%s/doc%03zu.tif", dir, i);
	for (p = 0; p < d->n_pages; p++)
		page_paths[p] = xasprintf("%s/doc%03zu_p%02zu.tif", dir, i, p + 1);
	if (fio_exists(*doc_path) == 1) { /* renamed into place after every page */
		rc = 0; /* made by an earlier run: variants are deterministic per document */
		goto out;
	}
	/* written under temporary names and renamed, so a soak run in parallel never
	 * reads half a file */
	tmp_doc = xasprintf("%s.%ld.tmp", *doc_path, (long)getpid());
	tmp_page = xasprintf("%s.%ld.tmp", page_paths[0], (long)getpid());
	for (p = 0; p < d->n_pages; p++) {
		PIX *pix = bench_make_page(d->pages[p], v, i);
		int w1, w2;

		if (pix == NULL) {
			log_errorx("%s: page %zu (%s) cannot be made", d->name, p + 1,
				   bench_variant_names[v]);
			goto out;
		}
		w1 = pixWriteTiff(tmp_doc, pix, IFF_TIFF_LZW, p == 0 ? "w" : "a");
		w2 = pixWriteTiff(tmp_page, pix, IFF_TIFF_LZW, "w");
		pixDestroy(&pix);
		if (w1 != 0 || w2 != 0 || rename(tmp_page, page_paths[p]) == -1) {
			log_errorx("%s: cannot write the %s variant", d->name,
				   bench_variant_names[v]);
			goto out;
		}
	}
	if (rename(tmp_doc, *doc_path) == -1) {
		log_error("%s", *doc_path);
		goto out;
	}
	rc = 0;
out:
	if (tmp_doc != NULL)
		unlink(tmp_doc);
	if (tmp_page != NULL)
		unlink(tmp_page);
	free(tmp_doc);
	free(tmp_page);
	free(dir);
	return rc;
}

/* Run the tesseract CLI on one page; its CPU seconds, or -1. */
static double bench_cli_page(const char *work, const char *page)
{
	char *outbase = xasprintf("%s/cli-out", work);
	char *argv[] = {"tesseract", (char *)page, outbase, "-l", CLASSIFY_OCR_LANGS, NULL};
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	pid_t pid;
	int st = 0, e;
	double cpu = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	/* OMP_THREAD_LIMIT=1 is in our environment (classify_ocr_prepare) */
	if ((e = posix_spawnp(&pid, "tesseract", &fa, NULL, argv, environ)) != 0) {
		errno = e;
		log_error("cannot run tesseract");
		goto out;
	}
	while (wait4(pid, &st, 0, &ru) == -1) {
		if (errno != EINTR) {
			log_error("wait4");
			goto out;
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_warnx("tesseract failed on %s", page);
		goto out;
	}
	cpu = bench_cpu(&ru);
out:
	posix_spawn_file_actions_destroy(&fa);
	free(outbase);
	return cpu;
}

/* Classify document i in variant v (and run the CLI on its pages when asked). */
static int bench_one(struct bench *b, size_t i, enum bench_variant v, int with_cli,
		     struct bench_result *r)
{
	char *doc_path = NULL, *pages[BENCH_MAX_PAGES];
	struct classify_letter l;
	char err[1024];
	double c0;
	size_t p;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->doc = (int)i;
	r->variant = v;
	r->cli_cpu = -1;
	if (bench_prepare(b, i, v, &doc_path, pages) == -1)
		goto out;
	/* the classify path of mailroom-classify --explain: early pass, full text, rules,
	 * route (classify_engine_file) */
	c0 = bench_self_cpu();
	if (classify_engine_file(&b->eng, doc_path, &l, err, sizeof(err)) != 0) {
		r->cpu = r->cpu_type = bench_self_cpu() - c0;
		log_warnx("%s (%s): %s", b->docs[i].name, bench_variant_names[v], err);
		classify_letter_free(&l);
		rc = 0;
		goto cli;
	}
	r->cpu = bench_self_cpu() - c0;
	r->cpu_early = l.early.cpu;
	r->early_safe = l.early.safe;
	r->early_rest = l.early.res.early.rest;
	r->early_wrong =
	    l.early.safe && strcmp(classify_rules_type(b->eng.rules, (size_t)l.early.d.best)->id,
				   b->docs[i].label) != 0;
	r->cpu_type = l.early.safe ? l.early.cpu : r->cpu;
	r->ok = 1;
	r->pages = l.res.pages_total;
	r->decided = l.oc.type != NULL;
	r->score = l.oc.d.best_score;
	r->margin = l.oc.d.margin;
	if (l.oc.type != NULL)
		snprintf(r->type, sizeof(r->type), "%s", l.oc.type->id);
	r->routed = l.oc.routed;
	classify_letter_free(&l);
	rc = 0;
cli:
	if (with_cli) {
		r->cli_cpu = 0;
		for (p = 0; p < b->docs[i].n_pages; p++) {
			double c = bench_cli_page(b->work, pages[p]);

			if (c < 0) {
				r->cli_cpu = -1;
				break;
			}
			r->cli_cpu += c;
		}
	}
out:
	free(doc_path);
	for (p = 0; p < b->docs[i].n_pages; p++)
		free(pages[p]); /* bench_prepare set them, NULL at worst */
	return rc;
}

/* Index of type name in names[0..*n), added when new. */
static size_t bench_type_index(const char **names, size_t *n, size_t max, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	if (*n == max)
		log_fatalx(EX_SOFTWARE, "too many types");
	names[*n] = name;
	return (*n)++;
}

/* Print the quality table for results r[0..n) (all variants given by mask). */
static void bench_report_quality(struct bench *b, const struct bench_result *r, size_t n,
				 const char *title)
{
	enum { MAXT = 64 };
	const char *names[MAXT];
	size_t nt = 0, i, tp[MAXT] = {0}, fp[MAXT] = {0}, truth[MAXT] = {0}, abst[MAXT] = {0};
	size_t docs = 0, decided = 0, right = 0, review = 0, failed = 0, n_truth_types;
	double f1sum = 0;

	/* the labelled types first, in order of appearance */
	for (i = 0; i < n; i++)
		bench_type_index(names, &nt, MAXT, b->docs[r[i].doc].label);
	n_truth_types = nt;
	for (i = 0; i < n; i++) {
		size_t t = bench_type_index(names, &nt, MAXT, b->docs[r[i].doc].label);

		docs++;
		truth[t]++;
		if (!r[i].ok)
			failed++;
		if (!r[i].decided || !r[i].routed)
			review++;
		if (!r[i].decided) {
			abst[t]++;
			continue;
		}
		decided++;
		if (strcmp(r[i].type, names[t]) == 0) {
			tp[t]++;
			right++;
		} else {
			fp[bench_type_index(names, &nt, MAXT, r[i].type)]++;
		}
	}
	printf("\n%s\n", title);
	printf("  %-12s %5s %7s %6s %6s %9s %9s %6s\n", "type", "docs", "decided", "right",
	       "false+", "precision", "recall", "F1");
	for (i = 0; i < nt; i++) {
		double prec = tp[i] + fp[i] ? (double)tp[i] / (double)(tp[i] + fp[i]) : NAN;
		double rec = truth[i] ? (double)tp[i] / (double)truth[i] : NAN;
		double f1 = (tp[i] == 0) ? 0.0 : 2 * prec * rec / (prec + rec);

		printf("  %-12s %5zu %7zu %6zu %6zu ", names[i], truth[i], truth[i] - abst[i],
		       tp[i], fp[i]);
		if (isnan(prec))
			printf("%9s ", "-");
		else
			printf("%9.3f ", prec);
		if (isnan(rec))
			printf("%9s ", "-");
		else
			printf("%9.3f ", rec);
		printf("%6.3f%s\n", f1, i >= n_truth_types ? "  (not in the labels)" : "");
		if (i < n_truth_types)
			f1sum += f1;
	}
	printf("  (\"decided\" per type counts documents of that label the rules decided; "
	       "\"false+\" counts documents of other labels given that type)\n");
	printf("  documents %zu, decided %zu, right %zu, wrong %zu, abstained %zu (%.1f %%), "
	       "OCR failed %zu\n",
	       docs, decided, right, decided - right, docs - decided,
	       docs ? 100.0 * (double)(docs - decided) / (double)docs : 0.0, failed);
	printf("  precision on decided %.3f, macro-F1 %.3f (over the %zu labelled types), "
	       "to review incl. no office %zu\n",
	       decided ? (double)right / (double)decided : NAN,
	       n_truth_types ? f1sum / (double)n_truth_types : 0.0, n_truth_types, review);
}

/* The soak mode: cycle documents and variants until pages pages are recognised. */
static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int bench_soak(struct bench *b, long pages)
{
	long done = 0, next_print = 0, step = pages / 20 > 0 ? pages / 20 : 1;
	double rss0 = bench_rss_mb(), rss_first = -1, rss_min = 1e18, rss_max = 0,
	       t0 = bench_wall();
	/* the RSS follows the size of the page just read, so a leak shows as the RSS
	 * after a document lying higher than after the same document one cycle before,
	 * not as a spread: first[] holds the RSS after each (document, variant) in the
	 * last cycle, diff[] the differences from the third cycle on (the median is the
	 * growth per cycle) */
	size_t npos = b->n_docs * V_COUNT, ndiff = 0;
	double *first = xcalloc(npos, sizeof(*first)),
	       *diff = xcalloc((size_t)pages, sizeof(*diff));
	double growth = 0.0;
	int cycle = 0;
	double c0 = bench_self_cpu();
	size_t i = 0;
	int v = 0;

	printf("soak: %ld pages, cycling %zu documents in the variants", pages, b->n_docs);
	for (v = 0; v < V_COUNT; v++)
		if (b->variants[v])
			printf(" %s", bench_variant_names[v]);
	printf("\nsoak: RSS after engine init %.1f MB\n", rss0);
	printf("  %8s %10s %10s %10s\n", "pages", "RSS MB", "maxRSS MB", "CPU s");
	v = 0;
	while (done < pages) {
		struct bench_result r;

		while (!b->variants[v])
			v = (v + 1) % V_COUNT;
		if (bench_one(b, i, (enum bench_variant)v, 0, &r) == -1) {
			free(first);
			free(diff);
			return -1;
		}
		done += (long)(r.pages ? r.pages : 1);
		{
			double rss = bench_rss_mb();
			size_t pos = (size_t)v * b->n_docs + i;

			/* from the third cycle on: the first warms the engine up */
			if (cycle >= 2 && first[pos] > 0.0 && ndiff < (size_t)pages)
				diff[ndiff++] = rss - first[pos];
			first[pos] = rss;

			if (rss_first < 0)
				rss_first = rss;
			if (done >= pages / 10) {
				if (rss < rss_min)
					rss_min = rss;
				if (rss > rss_max)
					rss_max = rss;
			}
			if (done >= next_print || done >= pages) {
				printf("  %8ld %10.1f %10.1f %10.1f\n", done, rss,
				       bench_maxrss_mb(), bench_self_cpu() - c0);
				fflush(stdout);
				next_print = done + step;
			}
		}
		if (++i == b->n_docs) {
			i = 0;
			do {
				v = (v + 1) % V_COUNT;
				if (v == 0)
					cycle++;
			} while (!b->variants[v]);
		}
	}
	printf("soak: %ld pages in %.0f s wall, %.0f s CPU (%.2f s/page)\n", done,
	       bench_wall() - t0, bench_self_cpu() - c0, (bench_self_cpu() - c0) / (double)done);
	printf("soak: RSS after the first document %.1f MB; from page %ld on between %.1f and "
	       "%.1f MB (spread %.1f MB); peak %.1f MB\n",
	       rss_first, pages / 10, rss_min, rss_max, rss_max - rss_min, bench_maxrss_mb());
	if (ndiff > 0) {
		qsort(diff, ndiff, sizeof(*diff), bench_cmp_double);
		growth = diff[ndiff / 2];
		printf("soak: RSS after a document minus after the same one a cycle before: "
		       "median %+.1f MB over %zu documents (%+.1f to %+.1f MB)\n",
		       growth, ndiff, diff[0], diff[ndiff - 1]);
	} else {
		printf("soak: fewer than three cycles (more --pages, or fewer --variants)\n");
	}
	printf("RSS (target <= %.0f MB and flat: the same document no more than %.0f MB higher "
	       "a cycle later): peak %.1f MB, growth %+.1f MB -> %s\n",
	       BENCH_RSS_TARGET_MB, BENCH_RSS_GROWTH_MB, bench_maxrss_mb(), growth,
	       bench_maxrss_mb() <= BENCH_RSS_TARGET_MB && ndiff > 0 &&
		       growth <= BENCH_RSS_GROWTH_MB
		   ? "met"
		   : "NOT met");
	free(first);
	free(diff);
	return 0;
}

/* Parse a comma-separated variant list into b->variants. -1 on an unknown name. */
static int bench_parse_variants(struct bench *b, const char *list)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	int v, rc = 0;

	memset(b->variants, 0, sizeof(b->variants));
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		for (v = 0; v < V_COUNT; v++)
			if (strcmp(tok, bench_variant_names[v]) == 0)
				break;
		if (v == V_COUNT) {
			log_errorx("unknown variant '%s'", tok);
			rc = -1;
			break;
		}
		b->variants[v] = 1;
	}
	free(copy);
	return rc;
}

/* The full benchmark: every document in every variant, with the CLI. */
static int bench_run(struct bench *b, const char *tsv)
{
	struct bench_result *res = xcalloc(b->n_docs * V_COUNT, sizeof(*res));
	size_t n = 0, i, k;
	double rss_start = bench_rss_mb(), rss_first = -1, t0 = bench_wall();
	double cpu_v[V_COUNT] = {0}, cli_v[V_COUNT] = {0}, cpu = 0, cli = 0;
	size_t docs_v[V_COUNT] = {0}, pages_v[V_COUNT] = {0}, cli_docs_v[V_COUNT] = {0};
	size_t pages = 0, cli_docs = 0;
	double cpu_cli_docs = 0;   /* classify CPU over the documents the CLI also did */
	double type_cli_docs = 0;  /* ... until the type was known */
	double early_cli_docs = 0; /* ... of the early pass */
	size_t early_safe = 0, early_over = 0;	/* decided early; early pass > 1/6 CLI */
	size_t early_rest = 0, early_wrong = 0; /* decided by the second look; not the label */
	FILE *tf = NULL;
	int v, rc = -1, progress = isatty(STDERR_FILENO);

	if (tsv != NULL && (tf = fopen(tsv, "w")) == NULL) {
		log_error("%s", tsv);
		goto out;
	}
	if (tf != NULL)
		fprintf(tf, "document\tvariant\tlabel\tpages\tdecided\ttype\trouted\tscore\tmargin"
			    "\tcpu_s\tcli_cpu_s\tdecided_from\tearly_cpu_s\ttype_cpu_s\n");
	printf("classify benchmark: %zu documents, variants", b->n_docs);
	for (v = 0; v < V_COUNT; v++)
		if (b->variants[v])
			printf(" %s", bench_variant_names[v]);
	printf("; tesseract CLI %s\n", b->cli ? "on the same pages" : "not run (--no-cli)");
	printf("engine: tesseract %s, %s, OMP_THREAD_LIMIT=%s; RSS after engine init %.1f MB\n",
	       classify_ocr_version(), classify_ocr_langs(b->eng.ocr),
	       getenv("OMP_THREAD_LIMIT") ? getenv("OMP_THREAD_LIMIT") : "(unset)", rss_start);
	fflush(stdout);
	for (v = 0; v < V_COUNT; v++) {
		if (!b->variants[v])
			continue;
		for (i = 0; i < b->n_docs; i++) {
			struct bench_result *r = &res[n];

			if (bench_one(b, i, (enum bench_variant)v, b->cli, r) == -1)
				goto out;
			n++;
			if (rss_first < 0)
				rss_first = bench_rss_mb();
			if (progress)
				fprintf(stderr, "\r%-7s %3zu/%zu %-60.60s", bench_variant_names[v],
					i + 1, b->n_docs, b->docs[i].name);
			if (tf != NULL)
				fprintf(tf,
					"%s\t%s\t%s\t%zu\t%d\t%s\t%d\t%.2f\t%.2f\t%.3f\t%.3f\t%s\t%"
					".3f\t%.3f\n",
					b->docs[i].name, bench_variant_names[v], b->docs[i].label,
					r->pages, r->decided, r->type, r->routed, r->score,
					r->margin, r->cpu, r->cli_cpu,
					!r->early_safe	? "full"
					: r->early_rest ? "early-rest"
							: "early",
					r->cpu_early, r->cpu_type);
			docs_v[v]++;
			early_safe += r->early_safe;
			early_rest += r->early_safe && r->early_rest;
			early_wrong += r->early_wrong;
			pages_v[v] += b->docs[i].n_pages;
			cpu_v[v] += r->cpu;
			cpu += r->cpu;
			pages += b->docs[i].n_pages;
			if (r->cli_cpu >= 0) {
				cli_docs_v[v]++;
				cli_v[v] += r->cli_cpu;
				cli += r->cli_cpu;
				cli_docs++;
				cpu_cli_docs += r->cpu;
				type_cli_docs += r->cpu_type;
				early_cli_docs += r->cpu_early;
				early_over += r->cpu_early > r->cli_cpu * BENCH_CPU_TARGET;
			}
		}
	}
	if (progress)
		fprintf(stderr, "\r%80s\r", "");
	for (v = 0; v < V_COUNT; v++) {
		struct bench_result *sub;
		size_t m = 0;
		char title[128];

		if (!b->variants[v])
			continue;
		sub = xcalloc(b->n_docs, sizeof(*sub));
		for (k = 0; k < n; k++)
			if (res[k].variant == v)
				sub[m++] = res[k];
		snprintf(title, sizeof(title), "variant %s:", bench_variant_names[v]);
		bench_report_quality(b, sub, m, title);
		free(sub);
	}
	bench_report_quality(b, res, n, "all variants together:");

	printf("\nCPU (user+sys seconds, one core):\n");
	printf("  %-8s %5s %5s %14s %14s %14s %8s\n", "variant", "docs", "pages", "classify/doc",
	       "CLI/doc", "classify/page", "ratio");
	for (v = 0; v < V_COUNT; v++) {
		if (!b->variants[v])
			continue;
		printf("  %-8s %5zu %5zu %14.2f ", bench_variant_names[v], docs_v[v], pages_v[v],
		       cpu_v[v] / (double)docs_v[v]);
		if (cli_docs_v[v])
			printf("%14.2f ", cli_v[v] / (double)cli_docs_v[v]);
		else
			printf("%14s ", "-");
		printf("%14.2f ", cpu_v[v] / (double)pages_v[v]);
		if (cli_docs_v[v] && cli_v[v] > 0)
			printf("%8.2f\n", cpu_v[v] / cli_v[v]);
		else
			printf("%8s\n", "-");
	}
	printf("  %-8s %5zu %5zu %14.2f ", "all", n, pages, cpu / (double)n);
	if (cli_docs)
		printf("%14.2f ", cli / (double)cli_docs);
	else
		printf("%14s ", "-");
	printf("%14.2f ", cpu / (double)pages);
	if (cli_docs && cli > 0)
		printf("%8.2f\n", cpu_cli_docs / cli);
	else
		printf("%8s\n", "-");

	printf("\nRSS: after engine init %.1f MB, after the first document %.1f MB, at the end "
	       "%.1f MB, peak %.1f MB (over %zu pages; --pages N shows the trend)\n",
	       rss_start, rss_first, bench_rss_mb(), bench_maxrss_mb(), pages);
	printf("wall time %.0f s\n", bench_wall() - t0);

	printf("\nTargets (issue 3):\n");
	if (cli_docs && cli > 0) {
		printf("  early pass (page 1 at about %d dpi: the top, the rest when not safe): "
		       "%.3f of "
		       "the CLI's CPU (%.2f s vs %.2f s per document; target <= 1/6 = 0.17) -> %s; "
		       "over "
		       "1/6 on %zu of %zu documents\n",
		       CLASSIFY_OCR_EARLY_DPI, early_cli_docs / cli,
		       early_cli_docs / (double)cli_docs, cli / (double)cli_docs,
		       early_cli_docs / cli <= BENCH_CPU_TARGET ? "met" : "NOT met", early_over,
		       cli_docs);
		printf("  type known from the early pass for %zu of %zu documents (%.1f %%; %zu of "
		       "them from the second look), %zu of them not the label; CPU until the type "
		       "is known, early or full: %.3f of the CLI's\n",
		       early_safe, n, n ? 100.0 * (double)early_safe / (double)n : 0.0, early_rest,
		       early_wrong, type_cli_docs / cli);
		printf("  whole classify path (early + full text): %.3f of the CLI's CPU\n",
		       cpu_cli_docs / cli);
	} else
		printf("  type decided with ? of the CLI's CPU (CLI not run)\n");
	{
		size_t dec = 0, right = 0;

		for (k = 0; k < n; k++)
			if (res[k].decided) {
				dec++;
				right += strcmp(res[k].type, b->docs[res[k].doc].label) == 0;
			}
		printf("  precision on decided documents %.3f (%zu of %zu; target >= %.2f) -> %s; "
		       "abstained %.1f %%\n",
		       dec ? (double)right / (double)dec : NAN, right, dec, BENCH_PRECISION_TARGET,
		       dec && (double)right / (double)dec >= BENCH_PRECISION_TARGET ? "met"
										    : "NOT met",
		       n ? 100.0 * (double)(n - dec) / (double)n : 0.0);
	}
	printf("  RSS peak %.1f MB (target <= %.0f MB) -> %s; flatness over 1,000 pages: run with "
	       "--pages 1000\n",
	       bench_maxrss_mb(), BENCH_RSS_TARGET_MB,
	       bench_maxrss_mb() <= BENCH_RSS_TARGET_MB ? "met" : "NOT met");
	rc = 0;
out:
	if (tf != NULL && fclose(tf) != 0) {
		log_error("%s", tsv);
		rc = -1;
	}
	free(res);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"manifest", required_argument, NULL, 'm'}, {"work", required_argument, NULL, 'w'},
	    {"variants", required_argument, NULL, 'V'}, {"no-cli", no_argument, NULL, 'n'},
	    {"pages", required_argument, NULL, 'p'},	{"tsv", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},		{NULL, 0, NULL, 0}};
	static struct bench b;
	const char *conf_dir = NULL, *manifest = NULL, *tsv = NULL;
	char err[1024], *end;
	long soak = 0;
	int ch, rc = EX_OK;
	conf_err ce;
	settings set;
	size_t i, p;

	log_init("mailroom-bench-classify");
	classify_ocr_prepare(argv);
	memset(&set, 0, sizeof(set));
	b.cli = 1;
	bench_parse_variants(&b, "clean,noise,skew,rot90,rot180");
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_dir = optarg;
			break;
		case 'm':
			manifest = optarg;
			break;
		case 'w':
			b.work = optarg;
			break;
		case 'V':
			if (bench_parse_variants(&b, optarg) == -1)
				return EX_USAGE;
			break;
		case 'n':
			b.cli = 0;
			break;
		case 'p':
			errno = 0;
			soak = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || soak <= 0) {
				log_errorx("--pages wants a positive number");
				return EX_USAGE;
			}
			break;
		case 't':
			tsv = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			return EX_OK;
		default:
			bench_usage(stderr);
			return EX_USAGE;
		}
	}
	if (manifest == NULL || b.work == NULL || optind != argc) {
		bench_usage(stderr);
		return EX_USAGE;
	}
	if (mkdir(b.work, 0700) == -1 && errno != EEXIST) {
		log_error("%s", b.work);
		return EX_CANTCREAT;
	}
	if (bench_read_manifest(&b, manifest) == -1) {
		rc = EX_NOINPUT;
		goto out;
	}
	if (settings_load(conf_dir, &set, &ce) == -1 ||
	    classify_engine_load(set.conf_dir, &b.eng, &ce) == -1) {
		log_errorx("configuration: %s", ce.msg);
		rc = EX_CONFIG;
		goto out;
	}
	if (classify_engine_start(&b.eng, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		rc = EX_SOFTWARE;
		goto out;
	}
	if (soak > 0)
		rc = bench_soak(&b, soak) == 0 ? EX_OK : EX_SOFTWARE;
	else
		rc = bench_run(&b, tsv) == 0 ? EX_OK : EX_SOFTWARE;
out:
	classify_engine_free(&b.eng);
	settings_free(&set);
	for (i = 0; i < b.n_docs; i++) {
		free(b.docs[i].name);
		free(b.docs[i].label);
		for (p = 0; p < b.docs[i].n_pages; p++)
			free(b.docs[i].pages[p]);
	}
	return rc;
}
