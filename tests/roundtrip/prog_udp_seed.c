/* Round-trip program, the seed case of UDP: a connected UDP socket whose
 * local port the kernel chose, with a datagram from its peer waiting, and
 * an unconnected one with three datagrams queued from two senders, all on
 * loopback. After restore: the same addresses and ports, the queued
 * datagrams in order with their senders, the peek offset untouched, and
 * that sending and receiving work both ways. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

struct udp {
	const char *what;
	int fd;
	struct sockaddr_in addr;	/* getsockname() when set up */
};

static struct udp receiver = { .what = "receiver" }, sender1 = { .what = "sender 1" },
		  sender2 = { .what = "sender 2" }, connected = { .what = "connected socket" },
		  peer = { .what = "its peer" };

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_udp_seed: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A UDP socket on 127.0.0.1, at a port the kernel chooses when @bind_it. */
static void make(struct udp *u, bool bind_it)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(u->addr);

	u->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (u->fd < 0 || (bind_it && bind(u->fd, (struct sockaddr *)&lo, sizeof(lo))))
		die(u->what);
	if (bind_it && getsockname(u->fd, (struct sockaddr *)&u->addr, &len))
		die(u->what);
}

static void send_to(const struct udp *from, const struct udp *to, const char *text)
{
	if (sendto(from->fd, text, strlen(text), 0, (const struct sockaddr *)&to->addr,
		   sizeof(to->addr)) != (ssize_t)strlen(text))
		die(from->what);
}

static bool same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
	       a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* The next datagram on @u, without waiting: @text from @from. */
static bool expect(const struct udp *u, const char *text, const struct udp *from)
{
	struct sockaddr_in src;
	socklen_t len = sizeof(src);
	char buf[256];
	ssize_t n = recvfrom(u->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&src,
			     &len);

	if (n < 0)
		return prog_fail("%s: no datagram \"%s\" from %s: %s", u->what, text, from->what,
				 strerror(errno));
	buf[n] = 0;
	if (strcmp(buf, text))
		return prog_fail("%s: got \"%s\", expected \"%s\"", u->what, buf, text);
	return PROG_CHECK(same_addr(&src, &from->addr),
			  "%s: \"%s\" came from port %u, not %s's %u", u->what, text,
			  ntohs(src.sin_port), from->what, ntohs(from->addr.sin_port));
}

static bool expect_empty(const struct udp *u)
{
	char buf[16];
	ssize_t n = recv(u->fd, buf, sizeof(buf), MSG_DONTWAIT);

	return PROG_CHECK(n < 0 && errno == EAGAIN, "%s: more datagrams than expected (%zd)",
			  u->what, n);
}

static bool check_addresses(const struct udp *u, const struct udp *want_peer)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int peek_off = 0;

	if (getsockname(u->fd, (struct sockaddr *)&a, &len) || !same_addr(&a, &u->addr))
		return prog_fail("%s: local address is port %u, was %u", u->what,
				 ntohs(a.sin_port), ntohs(u->addr.sin_port));
	len = sizeof(a);
	if (want_peer && (getpeername(u->fd, (struct sockaddr *)&a, &len) ||
			  !same_addr(&a, &want_peer->addr)))
		return prog_fail("%s: not connected to %s's port %u any more", u->what,
				 want_peer->what, ntohs(want_peer->addr.sin_port));
	len = sizeof(a);
	if (!want_peer && !getpeername(u->fd, (struct sockaddr *)&a, &len))
		return prog_fail("%s: connected, it was not", u->what);
	len = sizeof(peek_off);
	/* The dump peeks with SO_PEEK_OFF and must put it back. */
	if (getsockopt(u->fd, SOL_SOCKET, SO_PEEK_OFF, &peek_off, &len) || peek_off != -1)
		return prog_fail("%s: SO_PEEK_OFF is %d, was -1", u->what, peek_off);
	return true;
}

int main(int argc, char **argv)
{
	socklen_t len = sizeof(connected.addr);

	prog_init(argc, argv);
	make(&receiver, true);
	make(&sender1, true);
	make(&sender2, true);
	make(&peer, true);
	/* connect() gives it a port the kernel chooses: the seed case. */
	make(&connected, false);
	if (connect(connected.fd, (struct sockaddr *)&peer.addr, sizeof(peer.addr)) ||
	    getsockname(connected.fd, (struct sockaddr *)&connected.addr, &len))
		die("connect");
	send_to(&sender1, &receiver, "first from 1");
	send_to(&sender2, &receiver, "from 2");
	send_to(&sender1, &receiver, "second from 1");
	send_to(&peer, &connected, "to the connected one");
	prog_ready();
	prog_wait_sigterm();

	check_addresses(&receiver, NULL);
	check_addresses(&connected, &peer);
	if (expect(&receiver, "first from 1", &sender1) && expect(&receiver, "from 2", &sender2) &&
	    expect(&receiver, "second from 1", &sender1))
		expect_empty(&receiver);
	if (expect(&connected, "to the connected one", &peer))
		expect_empty(&connected);
	/* Both ways, after the restore. */
	if (send(connected.fd, "ping", 4, 0) != 4)
		prog_fail("connected socket: send: %s", strerror(errno));
	else
		expect(&peer, "ping", &connected);
	send_to(&peer, &connected, "pong");
	expect(&connected, "pong", &peer);
	send_to(&sender2, &receiver, "after");
	expect(&receiver, "after", &sender2);
	prog_finish();
}
