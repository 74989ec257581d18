/* What the container runtime tests (test_runc.c, test_podman.c) share: a
 * monotonic clock for their waits, a shell command line, and where cryo
 * is. Header-only. */
#ifndef CRYO_TESTS_CONTAINER_UTIL_H
#define CRYO_TESTS_CONTAINER_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the command line made from @fmt with /bin/sh; its system() status. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* The cryo to test in @path: $CRYO, else build/cryo beside this binary
 * (build/tests/rpc/test_x). */
static inline bool cryo_path(char *path, size_t size)
{
	char self[PATH_MAX - 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return false;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(path, size, "%s/../../cryo", self);
	if (getenv("CRYO"))
		snprintf(path, size, "%s", getenv("CRYO"));
	return true;
}

#endif
