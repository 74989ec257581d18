/* Round-trip program for --tcp-close (dump and restore): TCP connections
 * with both ends inside, over 127.0.0.1, ::1 and v4-mapped (an IPv6
 * listener on :: reached at 127.0.0.1), each with unread bytes both ways;
 * one of them half closed (its client shut down writing: FIN_WAIT2 and
 * CLOSE_WAIT at dump), and a socket never connected. After restore every
 * end of every connection is closed: reads end (0), writes fail with
 * EPIPE, no peer. The listeners still accept, and the never-connected
 * socket connects to one and talks. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

struct conn {
	const char *what;
	int family;
	const char *listen_on, *connect_to;
	bool half_closed;
	int listener, client, server;
};

static struct conn conns[] = {
	{ .what = "IPv4", .family = AF_INET, .listen_on = "127.0.0.1", .connect_to = "127.0.0.1" },
	{ .what = "IPv6", .family = AF_INET6, .listen_on = "::1", .connect_to = "::1",
	  .half_closed = true },
	{ .what = "v4-mapped", .family = AF_INET6, .listen_on = "::", .connect_to = "127.0.0.1" },
};
static int fresh = -1;

static void __attribute__((noreturn)) die(const char *c, const char *what)
{
	fprintf(stderr, "prog_tcp_close: %s: %s: %s\n", c, what, strerror(errno));
	exit(1);
}

static socklen_t make_addr(const char *host, int port, struct sockaddr_storage *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &in6->sin6_addr);
		return sizeof(*in6);
	}
	struct sockaddr_in *in = (struct sockaddr_in *)sa;

	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &in->sin_addr);
	return sizeof(*in);
}

static int port_of(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		return -1;
	return ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port :
					       ((struct sockaddr_in6 *)&sa)->sin6_port);
}

static void set_up(struct conn *c)
{
	struct sockaddr_storage sa;
	socklen_t len = make_addr(c->listen_on, 0, &sa);
	int client_family = strchr(c->connect_to, ':') ? AF_INET6 : AF_INET;

	c->listener = socket(c->family, SOCK_STREAM, 0);
	if (c->listener < 0 || bind(c->listener, (struct sockaddr *)&sa, len) ||
	    listen(c->listener, 4))
		die(c->what, "listen");
	len = make_addr(c->connect_to, port_of(c->listener), &sa);
	c->client = socket(client_family, SOCK_STREAM, 0);
	if (c->client < 0 || connect(c->client, (struct sockaddr *)&sa, len))
		die(c->what, "connect");
	c->server = accept(c->listener, NULL, NULL);
	if (c->server < 0)
		die(c->what, "accept");
	if (send(c->client, "to the server", 13, 0) != 13 ||
	    send(c->server, "to the client", 13, 0) != 13)
		die(c->what, "send");
	if (c->half_closed && shutdown(c->client, SHUT_WR))
		die(c->what, "shutdown");
}

static void check_closed(const struct conn *c, const char *end, int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	PROG_CHECK(n == 0, "%s %s: recv gave %zd (%s), not the end of the stream", c->what, end,
		   n, n < 0 ? strerror(errno) : "bytes");
	n = send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	PROG_CHECK(n < 0 && errno == EPIPE, "%s %s: send gave %zd (%s), not EPIPE", c->what, end,
		   n, n < 0 ? strerror(errno) : "sent");
	PROG_CHECK(getpeername(fd, (struct sockaddr *)&sa, &len) && errno == ENOTCONN,
		   "%s %s: still has a peer", c->what, end);
}

/* The listener of @c takes a new connection from @fd, and bytes go both ways. */
static void check_listener(const struct conn *c, int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = make_addr(c->connect_to, port_of(c->listener), &sa);
	struct pollfd pfd = { .fd = c->listener, .events = POLLIN };
	char buf[8] = { 0 };
	int server;

	if (connect(fd, (struct sockaddr *)&sa, len)) {
		prog_fail("%s: cannot connect to the listener again: %s", c->what,
			  strerror(errno));
		return;
	}
	if (poll(&pfd, 1, 5000) != 1 || (server = accept(c->listener, NULL, NULL)) < 0) {
		prog_fail("%s: the listener does not accept", c->what);
		return;
	}
	PROG_CHECK(send(fd, "ping", 4, 0) == 4 && recv(server, buf, 4, MSG_WAITALL) == 4 &&
			   !memcmp(buf, "ping", 4),
		   "%s: the new connection does not carry bytes", c->what);
	close(server);
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++)
		set_up(&conns[i]);
	fresh = socket(AF_INET, SOCK_STREAM, 0);
	if (fresh < 0)
		die("fresh socket", "socket");
	/* The half-closed connection's FIN is acknowledged. */
	usleep(50 * 1000);
	prog_ready();
	prog_wait_sigterm();
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
		check_closed(&conns[i], "client", conns[i].client);
		check_closed(&conns[i], "server", conns[i].server);
	}
	check_listener(&conns[0], fresh);
	prog_finish();
}
