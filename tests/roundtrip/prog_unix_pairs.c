/* Round-trip program: connected unix sockets with data in flight. A stream,
 * a seqpacket and a datagram socketpair with data queued both ways (records
 * keep their boundaries); a stream pair shut down one way and one both
 * ways; a stream socket whose peer closed with bytes still queued; a
 * listener with an accepted connection and its client, bytes queued each
 * way; a peek offset in the middle of a queue; a datagram and a seqpacket
 * pair with a record larger than the dump's first peek (64 KiB) between
 * small ones. On SIGTERM: every byte and record reads back in order, EOF
 * and shutdown where saved, each pair still talks, and the listener
 * accepts a new client. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

enum { STREAM, SEQPACKET, DGRAM, NR_PAIRS };

static const int types[NR_PAIRS] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
static const char *const names[NR_PAIRS] = { "stream", "seqpacket", "datagram" };
static const char *const to_a[] = { "first", "second record", "3" };
static const char *const to_b[] = { "reply one", "two" };

/* The big records' pairs: datagram, seqpacket. */
#define BIG_RECORD (200 << 10)
static const int big_types[2] = { SOCK_DGRAM, SOCK_SEQPACKET };
static int big[2][2];

static int pair[NR_PAIRS][2];
static int half[2], shut_both[2], orphan, listener, client, served, peeker[2];
static struct sockaddr_un listen_addr;

static bool send_all(int fd, const char *const *msgs, int n)
{
	for (int i = 0; i < n; i++)
		if (send(fd, msgs[i], strlen(msgs[i]), 0) != (ssize_t)strlen(msgs[i]))
			return false;
	return true;
}

/* Reads the records (or for a stream, their bytes in one run) back. */
static bool reads(int fd, int type, const char *const *msgs, int n, const char *what)
{
	char buf[256], want[256] = "";
	ssize_t got;

	if (type == SOCK_STREAM) {
		size_t len = 0;

		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(want + len, sizeof(want) - len, "%s", msgs[i]);
		got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		return PROG_CHECK(got == (ssize_t)len && !memcmp(buf, want, len),
				  "%s: read %zd bytes, not the %zu saved", what, got, len);
	}
	for (int i = 0; i < n; i++) {
		got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (!PROG_CHECK(got == (ssize_t)strlen(msgs[i]) && !memcmp(buf, msgs[i], got),
				"%s: record %d is %zd bytes, not \"%s\"", what, i, got, msgs[i]))
			return false;
	}
	got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	return PROG_CHECK(got < 0 && errno == EAGAIN, "%s: more than was queued", what);
}

static bool talks(int a, int b, const char *what)
{
	char buf[8];

	return PROG_CHECK(send(a, "ping", 4, 0) == 4 && recv(b, buf, sizeof(buf), 0) == 4 &&
				  send(b, "pong", 4, 0) == 4 && recv(a, buf, sizeof(buf), 0) == 4 &&
				  !memcmp(buf, "pong", 4),
			  "%s: no longer talks: %s", what, strerror(errno));
}

static bool at_eof(int fd, const char *what)
{
	char c;

	return PROG_CHECK(recv(fd, &c, 1, MSG_DONTWAIT) == 0, "%s: not at EOF", what);
}

static uint8_t big_byte(int kind, size_t i)
{
	return (uint8_t)(kind * 31 + i * 7 + (i >> 11));
}

/* "small", a BIG_RECORD one, "tail", from end 1 to end 0. */
static bool send_big(int kind)
{
	static uint8_t buf[BIG_RECORD];
	int room = 1 << 20;

	for (size_t i = 0; i < BIG_RECORD; i++)
		buf[i] = big_byte(kind, i);
	return !socketpair(AF_UNIX, big_types[kind], 0, big[kind]) &&
	       !setsockopt(big[kind][1], SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof(room)) &&
	       send(big[kind][1], "small", 5, 0) == 5 &&
	       send(big[kind][1], buf, BIG_RECORD, 0) == BIG_RECORD &&
	       send(big[kind][1], "tail", 4, 0) == 4;
}

static void big_reads(int kind)
{
	static uint8_t buf[BIG_RECORD + 1];
	const char *what = kind ? "seqpacket pair with a big record" :
				  "datagram pair with a big record";
	ssize_t n;
	size_t i;

	n = recv(big[kind][0], buf, sizeof(buf), MSG_DONTWAIT);
	PROG_CHECK(n == 5 && !memcmp(buf, "small", 5), "%s: first record %zd bytes", what, n);
	n = recv(big[kind][0], buf, sizeof(buf), MSG_DONTWAIT);
	for (i = 0; n == BIG_RECORD && i < BIG_RECORD && buf[i] == big_byte(kind, i); i++)
		;
	PROG_CHECK(n == BIG_RECORD && i == BIG_RECORD,
		   "%s: the big record read %zd bytes, wrong from byte %zu", what, n, i);
	n = recv(big[kind][0], buf, sizeof(buf), MSG_DONTWAIT);
	PROG_CHECK(n == 4 && !memcmp(buf, "tail", 4), "%s: last record %zd bytes", what, n);
	n = recv(big[kind][0], buf, sizeof(buf), MSG_DONTWAIT);
	PROG_CHECK(n < 0 && errno == EAGAIN, "%s: more than three records (%zd)", what, n);
}

static void setup(void)
{
	socklen_t len = sizeof(listen_addr);
	int closing[2], zero = 0;
	char buf[4];

	for (int i = 0; i < NR_PAIRS; i++) {
		if (socketpair(AF_UNIX, types[i], 0, pair[i]) ||
		    !send_all(pair[i][1], to_a, 3) || !send_all(pair[i][0], to_b, 2))
			_exit(1);
	}
	if (!send_big(0) || !send_big(1))
		_exit(1);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, half) || send(half[0], "last", 4, 0) != 4 ||
	    shutdown(half[0], SHUT_WR))
		_exit(1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, shut_both) || shutdown(shut_both[0], SHUT_RDWR))
		_exit(1);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, closing) || send(closing[1], "bye", 3, 0) != 3)
		_exit(1);
	close(closing[1]);
	orphan = closing[0];
	listen_addr.sun_family = AF_UNIX;
	snprintf(listen_addr.sun_path, sizeof(listen_addr.sun_path), "%s/listen.sock",
		 prog_dir());
	listener = socket(AF_UNIX, SOCK_STREAM, 0);
	client = socket(AF_UNIX, SOCK_STREAM, 0);
	if (listener < 0 || client < 0 ||
	    bind(listener, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) ||
	    listen(listener, 5) || connect(client, (struct sockaddr *)&listen_addr, len))
		_exit(1);
	served = accept(listener, NULL, NULL);
	if (served < 0 || send(client, "request", 7, 0) != 7 || send(served, "answer", 6, 0) != 6)
		_exit(1);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, peeker) || send(peeker[1], "abcdef", 6, 0) != 6 ||
	    setsockopt(peeker[0], SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) ||
	    recv(peeker[0], buf, 2, MSG_PEEK) != 2)
		_exit(1);
}

int main(int argc, char **argv)
{
	char buf[16];
	int off = -1, c2, s2;
	socklen_t len = sizeof(off);

	prog_init(argc, argv);
	setup();
	prog_ready();
	prog_wait_sigterm();

	for (int i = 0; i < NR_PAIRS; i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s pair, end a", names[i]);
		reads(pair[i][0], types[i], to_a, 3, what);
		snprintf(what, sizeof(what), "%s pair, end b", names[i]);
		reads(pair[i][1], types[i], to_b, 2, what);
		talks(pair[i][0], pair[i][1], names[i]);
	}
	PROG_CHECK(recv(half[1], buf, sizeof(buf), 0) == 4 && !memcmp(buf, "last", 4),
		   "half-shut pair: its last bytes");
	at_eof(half[1], "half-shut pair's reader");
	PROG_CHECK(send(half[0], "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
		   "half-shut pair: the writer can still write");
	PROG_CHECK(send(half[1], "back", 4, 0) == 4 && recv(half[0], buf, sizeof(buf), 0) == 4,
		   "half-shut pair: the other way is shut too");
	at_eof(shut_both[0], "seqpacket shut both ways");
	PROG_CHECK(send(shut_both[1], "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
		   "seqpacket shut both ways: its peer can still send");
	PROG_CHECK(recv(orphan, buf, sizeof(buf), MSG_DONTWAIT) == 3 && !memcmp(buf, "bye", 3),
		   "socket whose peer closed: its bytes");
	at_eof(orphan, "socket whose peer closed");
	PROG_CHECK(recv(served, buf, sizeof(buf), MSG_DONTWAIT) == 7 &&
			   !memcmp(buf, "request", 7), "accepted connection: its request");
	PROG_CHECK(recv(client, buf, sizeof(buf), MSG_DONTWAIT) == 6 && !memcmp(buf, "answer", 6),
		   "client: its answer");
	talks(client, served, "client and accepted connection");
	c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	PROG_CHECK(c2 >= 0 && !connect(c2, (struct sockaddr *)&listen_addr, sizeof(listen_addr)),
		   "a new client cannot connect to the listener: %s", strerror(errno));
	s2 = accept(listener, NULL, NULL);
	if (PROG_CHECK(s2 >= 0, "the listener accepts no new client: %s", strerror(errno)))
		talks(c2, s2, "new client");
	big_reads(0);
	big_reads(1);
	getsockopt(peeker[0], SOL_SOCKET, SO_PEEK_OFF, &off, &len);
	PROG_CHECK(off == 2, "peek offset %d, not 2", off);
	PROG_CHECK(recv(peeker[0], buf, sizeof(buf), MSG_PEEK) == 4 && !memcmp(buf, "cdef", 4),
		   "a peek does not go on from the peek offset");
	prog_finish();
}
