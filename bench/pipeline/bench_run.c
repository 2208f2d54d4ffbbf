/*
 * bench_run.c - mailroom-bench-run: run a command and report what it cost.
 *
 * SYNOPSIS
 *	mailroom-bench-run [-o FILE] [-l LABEL] -- command [args...]
 *
 *	Runs the command, waits for it, and prints one line
 *	  "LABEL wall=S cpu=S user=S sys=S maxrss_mb=M status=N"
 *	to FILE (appended) or to stderr: wall-clock seconds, and the user and system
 *	CPU seconds of the command and of every descendant it waited for
 *	(getrusage(RUSAGE_CHILDREN)), and the largest RSS among them. The benchmarks
 *	use it to time a whole stage, a shell loop of tesseract CLI calls or
 *	OCRmyPDF with all its helper processes.
 *
 * SECURITY
 *	A benchmark helper; it runs what it is given, with the caller's rights.
 *
 * EXIT STATUS
 *	The command's exit status (128 + signal when it was killed); EX_USAGE;
 *	EX_OSERR when it cannot be started.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* User + system CPU seconds of a rusage. */
static double run_cpu(const struct timeval *u, const struct timeval *s)
{
	return (double)u->tv_sec + (double)u->tv_usec / 1e6 + (double)s->tv_sec +
	       (double)s->tv_usec / 1e6;
}

/* Monotonic wall clock in seconds. */
static double run_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *label = "run";
	struct rusage ru;
	double t0, wall;
	pid_t pid;
	int ch, st = 0, code;
	FILE *f;

	while ((ch = getopt(argc, argv, "o:l:")) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		default:
			fprintf(stderr, "usage: mailroom-bench-run [-o FILE] [-l LABEL] -- command "
					"[args...]\n");
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: mailroom-bench-run [-o FILE] [-l LABEL] -- command "
				"[args...]\n");
		return EX_USAGE;
	}
	t0 = run_wall();
	if ((pid = fork()) == -1) {
		perror("mailroom-bench-run: fork");
		return EX_OSERR;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "mailroom-bench-run: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR) {
			perror("mailroom-bench-run: waitpid");
			return EX_OSERR;
		}
	}
	wall = run_wall() - t0;
	getrusage(RUSAGE_CHILDREN, &ru);
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	f = out != NULL ? fopen(out, "a") : stderr;
	if (f == NULL) {
		perror(out);
		return EX_CANTCREAT;
	}
	fprintf(f, "%s wall=%.3f cpu=%.3f user=%.3f sys=%.3f maxrss_mb=%.1f status=%d\n", label,
		wall, run_cpu(&ru.ru_utime, &ru.ru_stime),
		(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
		(double)ru.ru_maxrss / 1024.0, code);
	if (f != stderr && fclose(f) != 0) {
		perror(out);
		return EX_IOERR;
	}
	return code;
}
