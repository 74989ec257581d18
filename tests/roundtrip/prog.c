/* The shared half of every round-trip test program (see prog.h). Each
 * program becomes the leader of its own session, as a daemon would, so it
 * is restored without --shell-job. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static const char *pidfile, *outfile;
static char dir[4096];
static char first_failure[512];

void prog_init(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pidfile", required_argument, NULL, 'p' },
		{ "outfile", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	sigset_t term;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'p')
			pidfile = optarg;
		else if (c == 'o')
			outfile = optarg;
		else
			exit(2);
	}
	if (!pidfile || !outfile) {
		fprintf(stderr, "usage: %s --pidfile FILE --outfile FILE\n", argv[0]);
		exit(2);
	}
	snprintf(dir, sizeof(dir), "%s", pidfile);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	setsid();
}

static void write_file(const char *path, const char *text)
{
	char tmp[4096];
	int fd;

	/* Written aside and renamed, so the reader never sees half a line;
	 * aside under a name of its own: clones of one program share its pid
	 * and its files, and end at the same moment. */
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0644) || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) ||
	    rename(tmp, path))
		exit(3);
}

long prog_tracer_of(pid_t pid)
{
	char path[64], line[256];
	long tracer = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "TracerPid:", 10))
			tracer = atol(line + 10);
	if (f)
		fclose(f);
	return tracer;
}

const char *prog_dir(void)
{
	return dir;
}

void prog_ready(void)
{
	char text[32];

	snprintf(text, sizeof(text), "%d\n", getpid());
	write_file(pidfile, text);
}

void prog_wait_sigterm(void)
{
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* sigwaitinfo may fail with EINTR after a stop: just wait again. */
	while (sigwaitinfo(&term, NULL) != SIGTERM)
		;
}

void prog_run_until_sigterm(void)
{
	for (;;) {
		sigset_t pending;

		sigpending(&pending);
		if (sigismember(&pending, SIGTERM))
			break;
		usleep(10000);
	}
	prog_wait_sigterm();
}

void prog_child_ready(int ready_pipe[2])
{
	char byte = 'r';

	if (write(ready_pipe[1], &byte, 1) != 1)
		_exit(90);
	close(ready_pipe[1]);
	close(ready_pipe[0]);
}

bool prog_fail(const char *fmt, ...)
{
	va_list ap;

	if (first_failure[0])
		return false;
	va_start(ap, fmt);
	vsnprintf(first_failure, sizeof(first_failure), fmt, ap);
	va_end(ap);
	return false;
}

bool prog_read_proc(pid_t pid, const char *file, void *buf, size_t len, off_t off)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return prog_fail("cannot open %s: %s", path, strerror(errno));
	n = pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? true : prog_fail("cannot read %s: %s", path, strerror(errno));
}

void prog_finish(void)
{
	char text[600];

	if (first_failure[0])
		snprintf(text, sizeof(text), "FAIL: %s\n", first_failure);
	else
		snprintf(text, sizeof(text), "PASS\n");
	write_file(outfile, text);
	exit(first_failure[0] ? 1 : 0);
}
