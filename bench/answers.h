/* The answers of a bench workload's children: one byte each through a pipe
 * they share ('R' set up, 'P' or 'F' checked), read by the program, which
 * then reaps them. Not its business: what the children check. */
#ifndef CRYO_BENCH_ANSWERS_H
#define CRYO_BENCH_ANSWERS_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

/* Reads @n answer bytes, each of which must be @want; false on a wrong one
 * or after 60 s of silence. */
static inline bool read_answers(int fd, uint64_t n, char want)
{
	char buf[512];

	while (n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		if (poll(&p, 1, 60000) <= 0)
			return prog_fail("%llu children did not answer '%c'", (unsigned long long)n,
					 want);
		got = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return prog_fail("reading the children's answers: %zd", got);
		for (ssize_t i = 0; i < got; i++)
			if (buf[i] != want)
				return prog_fail("a child answered '%c', not '%c'", buf[i], want);
		n -= got;
	}
	return true;
}

/* Passes SIGTERM on to children @kids[1..@n - 1], reads their 'P' answers
 * and reaps them; each must exit 0. */
static inline void stop_children(const pid_t *kids, uint64_t n, int answer_fd)
{
	for (uint64_t i = 1; i < n; i++)
		if (kill(kids[i], SIGTERM))
			prog_fail("child %d is gone", kids[i]);
	read_answers(answer_fd, n - 1, 'P');
	for (uint64_t i = 1; i < n; i++) {
		int status;

		if (waitpid(kids[i], &status, 0) != kids[i])
			prog_fail("child %d cannot be reaped", kids[i]);
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			prog_fail("child %d ended with status 0x%x", kids[i], status);
	}
}

#endif
