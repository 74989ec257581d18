/* Round-trip program: TCP connections in every state after established
 * (dumped with --tcp-established), both ends inside, over 127.0.0.1, ::1
 * and v4-mapped (::ffff:127.0.0.1 between two IPv6 sockets). Packets the
 * states wait for are dropped by an nftables table of the program's own
 * (by port pair; packets carrying cryo's mark pass, as they pass cryo's
 * lock), so the states hold through dump and restore:
 *   A: client FIN_WAIT2, server CLOSE_WAIT (the client shut down writing);
 *   B: client FIN_WAIT1 with 100 bytes and its FIN unacknowledged, server
 *      ESTABLISHED;
 *   C: server LAST_ACK with 100 bytes unread (its client read everything,
 *      shut down and closed: its end is a TIME_WAIT outside the program);
 *   D: client CLOSING (it got the server's bytes and FIN after sending its
 *      own), server FIN_WAIT1;
 *   E: client SYN_SENT (a non-blocking connect() whose SYN is dropped), to
 *      a listener of the program.
 * After restore: each socket is in its state; the table is deleted, and
 * every connection ends as TCP does, every byte arriving once, in order. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define BYTES 100
#define MARK "0x63727930"	/* cryo's packets (src/net/internal.h) */

struct family {
	const char *what;
	int family;
	const char *addr;
};

static const struct family families[] = {
	{ "IPv4", AF_INET, "127.0.0.1" },
	{ "IPv6", AF_INET6, "::1" },
	{ "v4-mapped", AF_INET6, "::ffff:127.0.0.1" },
};
#define NR_FAMILIES (sizeof(families) / sizeof(families[0]))

enum { PAIR_A, PAIR_B, PAIR_C, PAIR_D, PAIR_E, NR_PAIRS };

struct pair {
	char what[32];
	int listener, client, server;
	int cport, sport;
};

static struct pair pairs[NR_FAMILIES][NR_PAIRS];
static char table[64];

static void __attribute__((noreturn)) die(const char *c, const char *what)
{
	fprintf(stderr, "prog_tcp_states: %s: %s: %s\n", c, what, strerror(errno));
	exit(1);
}

static void nft(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void nft(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int n = snprintf(cmd, sizeof(cmd), "nft '");

	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	strncat(cmd, "'", sizeof(cmd) - strlen(cmd) - 1);
	if (system(cmd))
		die(cmd, "nft");
}

static void delete_table(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "nft delete table inet %s 2>/dev/null", table);
	if (system(cmd)) {
		/* Already gone: the original deleted it (a copy restored later). */
	}
}

/* Drops the packets from port @from to port @to (both on loopback). */
static void drop(int from, int to)
{
	nft("add element inet %s drops { %d . %d }", table, from, to);
}

static void undrop(int from, int to)
{
	nft("delete element inet %s drops { %d . %d }", table, from, to);
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

static socklen_t make_addr(const struct family *f, int port, struct sockaddr_storage *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (f->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, f->addr, &in->sin_addr);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, f->addr, &in6->sin6_addr);
	return sizeof(*in6);
}

static uint8_t pattern(const struct pair *p, int dir, size_t i)
{
	return (uint8_t)(p->cport * 3 + dir * 101 + i * 7);
}

static void send_pattern(const struct pair *p, int fd, int dir)
{
	uint8_t buf[BYTES];

	for (size_t i = 0; i < BYTES; i++)
		buf[i] = pattern(p, dir, i);
	if (send(fd, buf, BYTES, 0) != BYTES)
		die(p->what, "send");
}

static int state_of(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);

	return getsockopt(fd, SOL_TCP, TCP_INFO, &info, &len) ? -1 : info.tcpi_state;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (10 s at most) for @fd to reach @state. */
static bool wait_state(int fd, int state)
{
	long deadline = now_ms() + 10000;

	while (state_of(fd) != state && now_ms() < deadline)
		usleep(5000);
	return state_of(fd) == state;
}

static void connect_pair(const struct family *f, struct pair *p, const char *name)
{
	struct sockaddr_storage sa;
	socklen_t len = make_addr(f, 0, &sa);

	snprintf(p->what, sizeof(p->what), "%s %s", f->what, name);
	p->listener = socket(f->family, SOCK_STREAM, 0);
	if (p->listener < 0 || bind(p->listener, (struct sockaddr *)&sa, len) ||
	    listen(p->listener, 1))
		die(p->what, "listen");
	len = make_addr(f, port_of(p->listener), &sa);
	p->client = socket(f->family, SOCK_STREAM, 0);
	if (p->client < 0 || connect(p->client, (struct sockaddr *)&sa, len))
		die(p->what, "connect");
	p->server = accept(p->listener, NULL, NULL);
	if (p->server < 0)
		die(p->what, "accept");
	close(p->listener);
	p->cport = port_of(p->client);
	p->sport = port_of(p->server);
}

static void expect_state(const struct pair *p, int fd, int state, const char *end)
{
	if (!wait_state(fd, state))
		die(p->what, end);
}

static void set_up(const struct family *f, struct pair *pp)
{
	struct pair *p;
	uint8_t buf[BYTES];

	/* A: the client shuts down writing. */
	p = &pp[PAIR_A];
	connect_pair(f, p, "A");
	send_pattern(p, p->client, 0);
	send_pattern(p, p->server, 1);
	shutdown(p->client, SHUT_WR);
	expect_state(p, p->client, TCP_FIN_WAIT2, "client not in FIN_WAIT2");
	expect_state(p, p->server, TCP_CLOSE_WAIT, "server not in CLOSE_WAIT");
	/* B: the client's bytes and FIN are dropped. */
	p = &pp[PAIR_B];
	connect_pair(f, p, "B");
	drop(p->cport, p->sport);
	send_pattern(p, p->client, 0);
	shutdown(p->client, SHUT_WR);
	expect_state(p, p->client, TCP_FIN_WAIT1, "client not in FIN_WAIT1");
	/* C: the server's last ACK is dropped; its client is gone. */
	p = &pp[PAIR_C];
	connect_pair(f, p, "C");
	send_pattern(p, p->client, 0);
	send_pattern(p, p->server, 1);
	if (recv(p->client, buf, BYTES, MSG_WAITALL) != BYTES)
		die(p->what, "recv");
	shutdown(p->client, SHUT_WR);
	expect_state(p, p->server, TCP_CLOSE_WAIT, "server not in CLOSE_WAIT");
	close(p->client);
	p->client = -1;
	drop(p->cport, p->sport);
	shutdown(p->server, SHUT_WR);
	expect_state(p, p->server, TCP_LAST_ACK, "server not in LAST_ACK");
	/* D: both FINs dropped, then the server's let through. */
	p = &pp[PAIR_D];
	connect_pair(f, p, "D");
	drop(p->cport, p->sport);
	drop(p->sport, p->cport);
	send_pattern(p, p->client, 0);
	shutdown(p->client, SHUT_WR);
	send_pattern(p, p->server, 1);
	shutdown(p->server, SHUT_WR);
	undrop(p->sport, p->cport);
	expect_state(p, p->client, TCP_CLOSING, "client not in CLOSING");
	expect_state(p, p->server, TCP_FIN_WAIT1, "server not in FIN_WAIT1");
	/* E: the client's port is known before its SYN, which is dropped. */
	p = &pp[PAIR_E];
	snprintf(p->what, sizeof(p->what), "%s E", f->what);
	{
		struct sockaddr_storage sa;
		socklen_t len = make_addr(f, 0, &sa);

		p->listener = socket(f->family, SOCK_STREAM, 0);
		p->client = socket(f->family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (p->listener < 0 || p->client < 0 ||
		    bind(p->listener, (struct sockaddr *)&sa, len) || listen(p->listener, 1) ||
		    bind(p->client, (struct sockaddr *)&sa, len))
			die(p->what, "bind");
		p->cport = port_of(p->client);
		p->sport = port_of(p->listener);
		drop(p->cport, p->sport);
		len = make_addr(f, p->sport, &sa);
		if (!connect(p->client, (struct sockaddr *)&sa, len) || errno != EINPROGRESS)
			die(p->what, "connect did not wait");
		p->server = -1;
		expect_state(p, p->client, TCP_SYN_SENT, "client not in SYN_SENT");
	}
}

/* Reads the pattern of direction @dir, then (with @eof) the end: 10 s. */
static void read_all(const struct pair *p, int fd, int dir, bool eof, const char *end)
{
	uint8_t buf[BYTES + 1];
	size_t got = 0;

	while (got < BYTES + (size_t)eof) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 10000) != 1) {
			prog_fail("%s %s: %zu of %d bytes%s, then nothing", p->what, end, got,
				  BYTES, eof ? " and the end" : "");
			return;
		}
		n = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
		if (n < 0) {
			prog_fail("%s %s: recv: %s", p->what, end, strerror(errno));
			return;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	PROG_CHECK(got == BYTES, "%s %s: %zu bytes, not %d", p->what, end, got, BYTES);
	for (size_t i = 0; i < got && i < BYTES; i++)
		if (buf[i] != pattern(p, dir, i)) {
			prog_fail("%s %s: byte %zu differs", p->what, end, i);
			return;
		}
}

static void check_state(const struct pair *p, int fd, int state, const char *end)
{
	int now = state_of(fd);

	PROG_CHECK(now == state, "%s %s: state %d, not %d", p->what, end, now, state);
}

static void check(struct pair *pp)
{
	check_state(&pp[PAIR_A], pp[PAIR_A].client, TCP_FIN_WAIT2, "client");
	check_state(&pp[PAIR_A], pp[PAIR_A].server, TCP_CLOSE_WAIT, "server");
	check_state(&pp[PAIR_B], pp[PAIR_B].client, TCP_FIN_WAIT1, "client");
	check_state(&pp[PAIR_B], pp[PAIR_B].server, TCP_ESTABLISHED, "server");
	check_state(&pp[PAIR_C], pp[PAIR_C].server, TCP_LAST_ACK, "server");
	check_state(&pp[PAIR_D], pp[PAIR_D].client, TCP_CLOSING, "client");
	check_state(&pp[PAIR_D], pp[PAIR_D].server, TCP_FIN_WAIT1, "server");
	check_state(&pp[PAIR_E], pp[PAIR_E].client, TCP_SYN_SENT, "client");
}

/* With nothing dropped, every connection ends. */
static void check_ends(struct pair *pp)
{
	struct pair *p = &pp[PAIR_A];

	read_all(p, p->server, 0, true, "server");
	read_all(p, p->client, 1, false, "client");
	shutdown(p->server, SHUT_WR);
	PROG_CHECK(wait_state(p->client, TCP_CLOSE) && wait_state(p->server, TCP_CLOSE),
		   "%s: not closed after the server's FIN", p->what);
	p = &pp[PAIR_B];
	read_all(p, p->server, 0, true, "server");
	PROG_CHECK(wait_state(p->client, TCP_FIN_WAIT2), "%s: client not in FIN_WAIT2", p->what);
	p = &pp[PAIR_C];
	read_all(p, p->server, 0, true, "server");
	PROG_CHECK(wait_state(p->server, TCP_CLOSE), "%s: server not closed", p->what);
	p = &pp[PAIR_D];
	read_all(p, p->client, 1, true, "client");
	read_all(p, p->server, 0, true, "server");
	PROG_CHECK(wait_state(p->client, TCP_CLOSE) && wait_state(p->server, TCP_CLOSE),
		   "%s: not closed", p->what);
	p = &pp[PAIR_E];
	{
		struct pollfd pfd = { .fd = p->client, .events = POLLOUT };
		int err = -1;
		socklen_t len = sizeof(err);
		char buf[4];

		if (!PROG_CHECK(poll(&pfd, 1, 15000) == 1 &&
					!getsockopt(p->client, SOL_SOCKET, SO_ERROR, &err, &len) &&
					!err,
				"%s: the connect() did not complete (%s)", p->what, strerror(err)))
			return;
		p->server = accept(p->listener, NULL, NULL);
		fcntl(p->client, F_SETFL, 0);
		PROG_CHECK(p->server >= 0 && send(p->client, "ping", 4, 0) == 4 &&
				   recv(p->server, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "ping", 4),
			   "%s: the connection does not carry bytes", p->what);
	}
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	snprintf(table, sizeof(table), "cryo_test_states_%d", (int)getpid());
	atexit(delete_table);
	nft("add table inet %s", table);
	nft("add set inet %s drops { type inet_service . inet_service; }", table);
	nft("add chain inet %s input { type filter hook input priority raw; policy accept; }",
	    table);
	nft("add rule inet %s input tcp sport . tcp dport @drops meta mark != " MARK " drop",
	    table);
	for (size_t i = 0; i < NR_FAMILIES; i++)
		set_up(&families[i], pairs[i]);
	prog_ready();
	prog_wait_sigterm();
	for (size_t i = 0; i < NR_FAMILIES; i++)
		check(pairs[i]);
	delete_table();
	for (size_t i = 0; i < NR_FAMILIES; i++)
		check_ends(pairs[i]);
	prog_finish();
}
