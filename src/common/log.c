/* Log sink and level for the cryo tool. Messages at or below the level go to
 * the log file; errors also go to stderr when a log file is set, so the user
 * always sees why a command failed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static FILE *log_file;
static int log_level = LOG_WARN;
static char *capture_buf;
static size_t capture_size;

int log_init(const char *path, int level)
{
	int fd;

	log_level = level;
	if (!path)
		return 0;
	/* 0600 like the images: a log names the process's files and addresses. */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	log_file = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!log_file) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		fprintf(stderr, "cryo: cannot open log file %s: %s\n", path, strerror(e));
		return -e;
	}
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

void log_capture_errors(char *buf, size_t size)
{
	capture_buf = buf;
	capture_size = size;
	if (size)
		buf[0] = '\0';
}

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}

static const char *const level_names[] = {
	[LOG_ERROR] = "Error",
	[LOG_WARN] = "Warn",
	[LOG_INFO] = "Info",
	[LOG_DEBUG] = "Debug",
};

static void (*stderr_hook)(void *arg);
static void *stderr_hook_arg;

void log_set_stderr_hook(void (*hook)(void *arg), void *arg)
{
	stderr_hook = hook;
	stderr_hook_arg = arg;
}

/* The message is formatted once and written with one call a stream, so
 * that lines from two threads (a tree's dump, dump/pipeline.c) never mix:
 * each stdio call holds its stream's lock. */
void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved_errno = errno;
	char text[4096], *msg = text;
	va_list ap;
	int len;

	if (capture_buf) {
		if (level == LOG_ERROR && capture_size) {
			va_start(ap, fmt);
			vsnprintf(capture_buf, capture_size, fmt, ap);
			va_end(ap);
		}
		errno = saved_errno;
		return;
	}
	/* Errors always reach the user, whatever -v says. */
	if (level != LOG_ERROR && (int)level > log_level)
		return;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len >= (int)sizeof(text)) {
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) < 0)
			msg = text;	/* cut short rather than lost */
		va_end(ap);
	}
	if (log_file) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(log_file, "(%5ld.%06ld) %s: %s\n", (long)ts.tv_sec, ts.tv_nsec / 1000,
			level_names[level], msg);
	}
	if (!log_file || level == LOG_ERROR) {
		if (stderr_hook)
			stderr_hook(stderr_hook_arg);
		fprintf(stderr, "%s%s\n", level == LOG_ERROR ? "cryo: error: " : "cryo: ", msg);
	}
	if (msg != text)
		free(msg);
	errno = saved_errno;
}
