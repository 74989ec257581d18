/* Round-trip program: established TCP connections with both ends inside
 * (dumped with --tcp-established), over 127.0.0.1 and ::1, each accepted
 * from a listener kept open beside it. Each connection holds data unread in
 * both directions and, on the server's side, data corked (TCP_CORK) and so
 * never sent; the client has TCP_NODELAY, keepalive settings,
 * TCP_USER_TIMEOUT, reno and SO_LINGER. After restore: the same addresses
 * and options, every queued byte arrives in order once uncorked, and new
 * data goes both ways. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define TO_SERVER 3000	/* unread by the server */
#define TO_CLIENT 5000	/* unread by the client */
#define CORKED 100	/* queued by the server under TCP_CORK */

struct conn {
	const char *what;
	int family;
	int listener, client, server;
	struct sockaddr_storage client_addr, server_addr;
};

static struct conn conns[] = {
	{ .what = "IPv4 connection", .family = AF_INET },
	{ .what = "IPv6 connection", .family = AF_INET6 },
};

static void __attribute__((noreturn)) die(const char *c, const char *what)
{
	fprintf(stderr, "prog_tcp_conn: %s: %s: %s\n", c, what, strerror(errno));
	exit(1);
}

static void set_int(const struct conn *c, int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)))
		die(c->what, "setsockopt");
}

static int get_int(int fd, int level, int name)
{
	int value = -12345;
	socklen_t len = sizeof(value);

	getsockopt(fd, level, name, &value, &len);
	return value;
}

static uint8_t pattern(int dir, size_t i)
{
	return (uint8_t)(i * 7 + dir * 13 + 1);
}

static void send_pattern(const struct conn *c, int fd, int dir, size_t from, size_t n)
{
	uint8_t buf[8192];

	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(dir, from + i);
	if (send(fd, buf, n, 0) != (ssize_t)n)
		die(c->what, "send");
}

static void setup(struct conn *c)
{
	struct sockaddr_storage sa = { 0 };
	socklen_t len = c->family == AF_INET ? sizeof(struct sockaddr_in) :
					       sizeof(struct sockaddr_in6);
	struct linger linger = { .l_onoff = 1, .l_linger = 5 };

	sa.ss_family = c->family;
	if (c->family == AF_INET)
		inet_pton(AF_INET, "127.0.0.1", &((struct sockaddr_in *)&sa)->sin_addr);
	else
		inet_pton(AF_INET6, "::1", &((struct sockaddr_in6 *)&sa)->sin6_addr);
	c->listener = socket(c->family, SOCK_STREAM, 0);
	c->client = socket(c->family, SOCK_STREAM, 0);
	if (c->listener < 0 || c->client < 0)
		die(c->what, "socket");
	set_int(c, c->listener, SOL_SOCKET, SO_REUSEADDR, 1);
	if (bind(c->listener, (struct sockaddr *)&sa, len) || listen(c->listener, 4) ||
	    getsockname(c->listener, (struct sockaddr *)&sa, &len))
		die(c->what, "listen");
	set_int(c, c->client, SOL_TCP, TCP_NODELAY, 1);
	set_int(c, c->client, SOL_SOCKET, SO_KEEPALIVE, 1);
	set_int(c, c->client, SOL_TCP, TCP_KEEPIDLE, 77);
	set_int(c, c->client, SOL_TCP, TCP_KEEPINTVL, 11);
	set_int(c, c->client, SOL_TCP, TCP_KEEPCNT, 4);
	set_int(c, c->client, SOL_TCP, TCP_USER_TIMEOUT, 12345);
	if (setsockopt(c->client, SOL_TCP, TCP_CONGESTION, "reno", 4) ||
	    setsockopt(c->client, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)))
		die(c->what, "client options");
	if (connect(c->client, (struct sockaddr *)&sa, len))
		die(c->what, "connect");
	c->server = accept(c->listener, NULL, NULL);
	if (c->server < 0)
		die(c->what, "accept");
	len = sizeof(c->client_addr);
	getsockname(c->client, (struct sockaddr *)&c->client_addr, &len);
	len = sizeof(c->server_addr);
	getsockname(c->server, (struct sockaddr *)&c->server_addr, &len);
	send_pattern(c, c->client, 0, 0, TO_SERVER);
	send_pattern(c, c->server, 1, 0, TO_CLIENT);
	set_int(c, c->server, SOL_TCP, TCP_CORK, 1);
	send_pattern(c, c->server, 1, TO_CLIENT, CORKED);
}

/* Reads exactly @n bytes (5 s at most) and compares them with the pattern
 * from byte @from on. */
static bool read_pattern(const struct conn *c, int fd, int dir, size_t from, size_t n,
			 const char *which)
{
	uint8_t buf[8192];
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 5000) != 1)
			return prog_fail("%s: %s: %zu of %zu bytes came", c->what, which, got, n);
		r = recv(fd, buf, n - got, MSG_DONTWAIT);
		if (r <= 0)
			return prog_fail("%s: %s: recv after %zu bytes: %s", c->what, which, got,
					 r ? strerror(errno) : "end of stream");
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(dir, from + got + i))
				return prog_fail("%s: %s: byte %zu differs", c->what, which,
						 got + i);
		got += (size_t)r;
	}
	return true;
}

static bool same_addr(int fd, const struct sockaddr_storage *want, bool peer)
{
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);

	if (peer ? getpeername(fd, (struct sockaddr *)&got, &len) :
		   getsockname(fd, (struct sockaddr *)&got, &len))
		return false;
	return !memcmp(&got, want, len);
}

static void check(struct conn *c)
{
	char cc[16] = "";
	socklen_t len = sizeof(cc);
	struct linger linger = { 0 };
	socklen_t llen = sizeof(linger);
	struct tcp_info info;
	socklen_t ilen = sizeof(info);

	getsockopt(c->client, SOL_TCP, TCP_CONGESTION, cc, &len);
	getsockopt(c->client, SOL_SOCKET, SO_LINGER, &linger, &llen);
	PROG_CHECK(!getsockopt(c->server, SOL_TCP, TCP_INFO, &info, &ilen) &&
		   info.tcpi_state == TCP_ESTABLISHED, "%s: server not established", c->what);
	PROG_CHECK(same_addr(c->client, &c->client_addr, false) &&
		   same_addr(c->client, &c->server_addr, true) &&
		   same_addr(c->server, &c->server_addr, false) &&
		   same_addr(c->server, &c->client_addr, true), "%s: addresses differ", c->what);
	PROG_CHECK(get_int(c->client, SOL_TCP, TCP_NODELAY) == 1, "%s", c->what);
	PROG_CHECK(get_int(c->client, SOL_SOCKET, SO_KEEPALIVE) == 1, "%s", c->what);
	PROG_CHECK(get_int(c->client, SOL_TCP, TCP_KEEPIDLE) == 77, "%s", c->what);
	PROG_CHECK(get_int(c->client, SOL_TCP, TCP_KEEPINTVL) == 11, "%s", c->what);
	PROG_CHECK(get_int(c->client, SOL_TCP, TCP_KEEPCNT) == 4, "%s", c->what);
	PROG_CHECK(get_int(c->client, SOL_TCP, TCP_USER_TIMEOUT) == 12345, "%s", c->what);
	PROG_CHECK(!strcmp(cc, "reno"), "%s: congestion control %s", c->what, cc);
	PROG_CHECK(linger.l_onoff && linger.l_linger == 5, "%s: SO_LINGER", c->what);
	PROG_CHECK(get_int(c->server, SOL_TCP, TCP_CORK) == 1, "%s: TCP_CORK", c->what);
	PROG_CHECK(get_int(c->listener, SOL_SOCKET, SO_ACCEPTCONN) == 1, "%s", c->what);
	PROG_CHECK(get_int(c->listener, SOL_SOCKET, SO_REUSEADDR) == 1, "%s", c->what);
	if (!read_pattern(c, c->server, 0, 0, TO_SERVER, "data to the server") ||
	    !read_pattern(c, c->client, 1, 0, TO_CLIENT, "data to the client"))
		return;
	set_int(c, c->server, SOL_TCP, TCP_CORK, 0);
	if (!read_pattern(c, c->client, 1, TO_CLIENT, CORKED, "corked data"))
		return;
	/* And on: new data both ways. */
	send_pattern(c, c->client, 0, TO_SERVER, 1000);
	send_pattern(c, c->server, 1, TO_CLIENT + CORKED, 1000);
	if (read_pattern(c, c->server, 0, TO_SERVER, 1000, "new data to the server"))
		read_pattern(c, c->client, 1, TO_CLIENT + CORKED, 1000, "new data to the client");
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++)
		setup(&conns[i]);
	prog_ready();
	prog_wait_sigterm();
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++)
		check(&conns[i]);
	prog_finish();
}
