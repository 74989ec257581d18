/* Round-trip program: listening TCP sockets. One on 127.0.0.1 with many
 * options (SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, TCP_NODELAY,
 * TCP_DEFER_ACCEPT, TCP_KEEPIDLE, TCP_MAXSEG, TCP_USER_TIMEOUT,
 * TCP_FASTOPEN, reno congestion control); one on ::1 (IPV6_V6ONLY) with
 * backlog 2, and a dual-stack one on [::]. After restore: the same
 * addresses and options, exactly three connections fit the second one's
 * queue (backlog + 1) while a fourth waits, and each accepts clients (over
 * IPv4 too for the dual-stack one) that then talk to it. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define BACKLOG 2

/* What TCP_DEFER_ACCEPT reads back as: the kernel rounds it. */
static int defer_accept;

struct listener {
	const char *what;
	int fd;
	struct sockaddr_storage addr;
	socklen_t len;
};

enum { V4, V6, DUAL, NR_LISTENERS };

static struct listener l[NR_LISTENERS] = {
	[V4] = { .what = "listener on 127.0.0.1" },
	[V6] = { .what = "listener on ::1" },
	[DUAL] = { .what = "dual-stack listener on [::]" },
};

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_tcp_listen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_int(int i, int level, int name, int value)
{
	if (setsockopt(l[i].fd, level, name, &value, sizeof(value)))
		die(l[i].what);
}

static int get_int(int i, int level, int name)
{
	int value = -12345;
	socklen_t len = sizeof(value);

	getsockopt(l[i].fd, level, name, &value, &len);
	return value;
}

static void make(int i, int family, const char *host, int backlog)
{
	struct sockaddr_storage sa = { 0 };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
					    sizeof(struct sockaddr_in6);

	sa.ss_family = family;
	if (family == AF_INET)
		inet_pton(family, host, &((struct sockaddr_in *)&sa)->sin_addr);
	else
		inet_pton(family, host, &((struct sockaddr_in6 *)&sa)->sin6_addr);
	if (bind(l[i].fd, (struct sockaddr *)&sa, len) || listen(l[i].fd, backlog))
		die(l[i].what);
	l[i].len = sizeof(l[i].addr);
	if (getsockname(l[i].fd, (struct sockaddr *)&l[i].addr, &l[i].len))
		die(l[i].what);
}

/* A nonblocking client of listener @i (over IPv4 with @v4), connecting. */
static int client_of(int i, bool v4)
{
	struct sockaddr_storage to = l[i].addr;
	socklen_t len = l[i].len;
	int fd;

	if (v4 && to.ss_family == AF_INET6) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&to;
		uint16_t port = ((struct sockaddr_in6 *)&l[i].addr)->sin6_port;

		memset(&to, 0, sizeof(to));
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else if (to.ss_family == AF_INET6 &&
		   IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&to)->sin6_addr)) {
		((struct sockaddr_in6 *)&to)->sin6_addr = in6addr_loopback;
	}
	fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&to, len) && errno != EINPROGRESS))
		return -1;
	return fd;
}

/* Whether @fd's connection is up within @ms. */
static bool connected_within(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = -1;
	socklen_t len = sizeof(err);

	return poll(&pfd, 1, ms) == 1 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) &&
	       !err;
}

/* A client connects to listener @i, is accepted, and they talk. */
static bool talks(int i, bool v4)
{
	int c = client_of(i, v4), a = -1;
	char buf[8] = "";
	bool ok = false;

	/* The client speaks first, as TCP_DEFER_ACCEPT wants. */
	if (c >= 0 && connected_within(c, 2000) && write(c, "hello", 5) == 5 &&
	    (a = accept(l[i].fd, NULL, NULL)) >= 0 && read(a, buf, sizeof(buf)) == 5)
		ok = !memcmp(buf, "hello", 5);
	/* The client closes first: no TIME_WAIT on the listener's port. */
	if (c >= 0)
		close(c);
	if (a >= 0)
		close(a);
	return PROG_CHECK(ok, "%s: a client could not connect and talk%s", l[i].what,
			  v4 ? " over IPv4" : "");
}

/* BACKLOG + 1 connections complete without an accept(); one more waits. */
static bool backlog_holds(int i)
{
	int c[BACKLOG + 2], n = 0;
	bool ok = true;

	for (n = 0; n < BACKLOG + 2; n++)
		if ((c[n] = client_of(i, false)) < 0)
			break;
	for (int k = 0; k < n && ok; k++) {
		bool up = connected_within(c[k], k <= BACKLOG ? 2000 : 300);

		if (k <= BACKLOG)
			ok = PROG_CHECK(up, "%s: connection %d of %d did not fit its backlog",
					l[i].what, k + 1, BACKLOG + 1);
		else
			ok = PROG_CHECK(!up, "%s: connection %d fit, past its backlog of %d",
					l[i].what, k + 1, BACKLOG);
	}
	ok = ok && PROG_CHECK(n == BACKLOG + 2, "%s: clients: %s", l[i].what, strerror(errno));
	for (int k = 0; k < n; k++)
		close(c[k]);
	/* Take what was queued, so later clients find room. */
	for (;;) {
		struct pollfd pfd = { .fd = l[i].fd, .events = POLLIN };
		int a;

		if (poll(&pfd, 1, 0) != 1 || (a = accept(l[i].fd, NULL, NULL)) < 0)
			break;
		close(a);
	}
	return ok;
}

static void check(void)
{
	struct linger linger = { 0 };
	socklen_t len = sizeof(linger);
	char cc[16] = "";

	for (int i = 0; i < NR_LISTENERS; i++) {
		struct sockaddr_storage a;
		socklen_t alen = sizeof(a);

		PROG_CHECK(!getsockname(l[i].fd, (struct sockaddr *)&a, &alen) &&
			   alen == l[i].len && !memcmp(&a, &l[i].addr, alen),
			   "%s: its address changed", l[i].what);
		PROG_CHECK(get_int(i, SOL_SOCKET, SO_ACCEPTCONN) == 1, "%s: not listening",
			   l[i].what);
	}
	PROG_CHECK(get_int(V4, SOL_SOCKET, SO_REUSEADDR) == 1, "SO_REUSEADDR lost");
	PROG_CHECK(get_int(V4, SOL_SOCKET, SO_KEEPALIVE) == 1, "SO_KEEPALIVE lost");
	PROG_CHECK(get_int(V4, SOL_TCP, TCP_NODELAY) == 1, "TCP_NODELAY lost");
	PROG_CHECK(get_int(V4, SOL_TCP, TCP_DEFER_ACCEPT) == defer_accept,
		   "TCP_DEFER_ACCEPT is %d, was %d", get_int(V4, SOL_TCP, TCP_DEFER_ACCEPT),
		   defer_accept);
	PROG_CHECK(get_int(V4, SOL_TCP, TCP_KEEPIDLE) == 77, "TCP_KEEPIDLE lost");
	PROG_CHECK(get_int(V4, SOL_TCP, TCP_MAXSEG) == 1200, "TCP_MAXSEG is %d",
		   get_int(V4, SOL_TCP, TCP_MAXSEG));
	PROG_CHECK(get_int(V4, SOL_TCP, TCP_USER_TIMEOUT) == 3000, "TCP_USER_TIMEOUT lost");
	PROG_CHECK(get_int(V4, SOL_TCP, TCP_FASTOPEN) == 5, "TCP_FASTOPEN lost");
	getsockopt(l[V4].fd, SOL_SOCKET, SO_LINGER, &linger, &len);
	PROG_CHECK(linger.l_onoff && linger.l_linger == 4, "SO_LINGER lost");
	len = sizeof(cc) - 1;
	getsockopt(l[V4].fd, SOL_TCP, TCP_CONGESTION, cc, &len);
	PROG_CHECK(!strcmp(cc, "reno"), "congestion control is '%s', not reno", cc);
	PROG_CHECK(get_int(V6, SOL_IPV6, IPV6_V6ONLY) == 1, "IPV6_V6ONLY lost");
	PROG_CHECK(get_int(DUAL, SOL_IPV6, IPV6_V6ONLY) == 0, "dual stack lost");
	/* Not TCP_DEFER_ACCEPT's listener: a client that sends nothing
	 * would not be accepted. */
	backlog_holds(V6);
	talks(V6, false);
	talks(DUAL, false);
	talks(DUAL, true);
	talks(V4, false);
}

int main(int argc, char **argv)
{
	struct linger linger = { 1, 4 };

	prog_init(argc, argv);
	l[V4].fd = socket(AF_INET, SOCK_STREAM, 0);
	l[V6].fd = socket(AF_INET6, SOCK_STREAM, 0);
	l[DUAL].fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (l[V4].fd < 0 || l[V6].fd < 0 || l[DUAL].fd < 0)
		die("socket");
	set_int(V4, SOL_SOCKET, SO_REUSEADDR, 1);
	set_int(V4, SOL_SOCKET, SO_KEEPALIVE, 1);
	set_int(V4, SOL_TCP, TCP_NODELAY, 1);
	set_int(V4, SOL_TCP, TCP_DEFER_ACCEPT, 5);
	defer_accept = get_int(V4, SOL_TCP, TCP_DEFER_ACCEPT);
	set_int(V4, SOL_TCP, TCP_KEEPIDLE, 77);
	set_int(V4, SOL_TCP, TCP_MAXSEG, 1200);
	set_int(V4, SOL_TCP, TCP_USER_TIMEOUT, 3000);
	set_int(V4, SOL_TCP, TCP_FASTOPEN, 5);
	if (setsockopt(l[V4].fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)) ||
	    setsockopt(l[V4].fd, SOL_TCP, TCP_CONGESTION, "reno", 4))
		die("SO_LINGER or TCP_CONGESTION");
	set_int(V6, SOL_IPV6, IPV6_V6ONLY, 1);
	set_int(DUAL, SOL_IPV6, IPV6_V6ONLY, 0);
	make(V4, AF_INET, "127.0.0.1", 16);
	make(V6, AF_INET6, "::1", BACKLOG);
	make(DUAL, AF_INET6, "::", 16);
	prog_ready();
	prog_wait_sigterm();
	check();
	prog_finish();
}
