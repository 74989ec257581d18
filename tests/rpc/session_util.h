/* What the RPC and runtime tests (test_rpc.c, test_runc.c) share about a
 * restored session: a shell answering on its terminal's master, and
 * whether a process is in a given namespace. Header-only. */
#ifndef CRYO_TESTS_SESSION_UTIL_H
#define CRYO_TESTS_SESSION_UTIL_H

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Types @line into the terminal's master and waits up to 5 s for the
 * shell's answer "got LINE". */
static inline bool terminal_answers(int master, const char *line)
{
	char want[64], seen[1024] = "";
	size_t used = 0;

	snprintf(want, sizeof(want), "got %s", line);
	if (dprintf(master, "%s\n", line) < 0)
		return false;
	/* 50 polls of 100 ms. */
	for (int i = 0; i < 50 && !strstr(seen, want); i++) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = read(master, seen + used, sizeof(seen) - 1 - used);
		if (n <= 0)
			return false;
		used += (size_t)n;
		seen[used] = '\0';
		if (used == sizeof(seen) - 1)
			used = 0;
	}
	return strstr(seen, want);
}

/* Whether @pid's namespace @kind is the one at @path. */
static inline bool in_namespace(pid_t pid, const char *kind, const char *path)
{
	char own[64];
	struct stat a, b;

	snprintf(own, sizeof(own), "/proc/%d/ns/%s", pid, kind);
	return !stat(own, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

#endif
