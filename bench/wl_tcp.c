/* Bench workload: COUNT (first argument) established TCP connections over
 * 127.0.0.1, both ends in the program, each end with KIB (second argument)
 * KiB unread in its receive queue (dumped with --tcp-established). It
 * raises its soft limit on open files as far as it needs. After restore
 * every end's unread bytes are checked, then each connection carries one
 * more message each way. */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pattern.h"

struct conn {
	int client, server;
};

static uint8_t byte_of(size_t conn, int side, size_t i)
{
	return (uint8_t)(conn * 31 + (size_t)side * 17 + i * 13 + (i >> 8));
}

/* Sends @len bytes of the pattern on @fd, non-blocking, waiting for room
 * (the peer reads nothing: its window must hold them). */
static bool send_pattern(int fd, size_t conn, int side, size_t len)
{
	uint8_t buf[4096];
	size_t sent = 0;

	while (sent < len) {
		size_t n = len - sent < sizeof(buf) ? len - sent : sizeof(buf);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			buf[i] = byte_of(conn, side, sent + i);
		w = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			if (poll(&pfd, 1, 10000) != 1)
				return prog_fail("connection %zu: %zu of %zu bytes sent, no room", conn,
						 sent, len);
			continue;
		}
		if (w <= 0)
			return prog_fail("connection %zu: send: %s", conn, strerror(errno));
		sent += (size_t)w;
	}
	return true;
}

/* Reads exactly @len bytes of the pattern the other side sent. */
static bool expect_pattern(int fd, size_t conn, int side, size_t len)
{
	uint8_t buf[4096];
	size_t got = 0;

	while (got < len) {
		size_t n = len - got < sizeof(buf) ? len - got : sizeof(buf);
		ssize_t r = recv(fd, buf, n, MSG_WAITALL);

		if (r <= 0)
			return prog_fail("connection %zu: %zu of %zu bytes, then %s", conn, got, len,
					 r ? strerror(errno) : "the end");
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != byte_of(conn, side, got + (size_t)i))
				return prog_fail("connection %zu: byte %zu differs", conn,
						 got + (size_t)i);
		got += (size_t)r;
	}
	return true;
}

static bool check_conn(const struct conn *c, size_t i, size_t len)
{
	char buf[8];

	if (!expect_pattern(c->server, i, 0, len) || !expect_pattern(c->client, i, 1, len))
		return false;
	return PROG_CHECK(send(c->client, "ping", 4, 0) == 4 &&
				  recv(c->server, buf, 4, MSG_WAITALL) == 4 &&
				  send(c->server, "pong", 4, 0) == 4 &&
				  recv(c->client, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "pong", 4),
			  "connection %zu no longer talks", i);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct conn *conns;
	size_t count, bytes;
	struct rlimit lim;
	int listener;

	prog_init(argc, argv);
	if (optind + 1 >= argc)
		return 2;
	count = strtoull(argv[optind], NULL, 0);
	bytes = strtoull(argv[optind + 1], NULL, 0) * KIB;
	conns = calloc(count, sizeof(*conns));
	if (!conns || getrlimit(RLIMIT_NOFILE, &lim))
		return 2;
	if (lim.rlim_cur < 2 * count + 64) {
		lim.rlim_cur = 2 * count + 64;
		if (setrlimit(RLIMIT_NOFILE, &lim)) {
			fprintf(stderr, "cannot raise the open-files limit to %llu\n",
				(unsigned long long)lim.rlim_cur);
			return 2;
		}
	}
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, len) || listen(listener, 128) ||
	    getsockname(listener, (struct sockaddr *)&sa, &len))
		return 2;
	for (size_t i = 0; i < count; i++) {
		struct conn *c = &conns[i];

		c->client = socket(AF_INET, SOCK_STREAM, 0);
		if (c->client < 0 || connect(c->client, (struct sockaddr *)&sa, len))
			return 2;
		c->server = accept(listener, NULL, NULL);
		if (c->server < 0)
			return 2;
		if (!send_pattern(c->client, i, 0, bytes) || !send_pattern(c->server, i, 1, bytes))
			prog_finish();
	}
	prog_ready();
	prog_wait_sigterm();
	for (size_t i = 0; i < count; i++)
		if (!check_conn(&conns[i], i, bytes))
			break;
	prog_finish();
}
