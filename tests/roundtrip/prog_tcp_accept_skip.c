/* Round-trip program, dumped with --tcp-established --skip-in-flight: a
 * TCP listener on 127.0.0.1 with a connection of its own client waiting
 * in its accept queue. The kernel cannot put a connection back into an
 * accept queue, so the dump leaves it out; the client (established, so
 * restored by repair) then meets a reset. On SIGTERM: accept() finds
 * nothing, the client's send fails with a reset, and a new connection to
 * the listener is accepted and talks. Not in the leave-running cycle: the
 * original keeps the connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_tcp_accept_skip: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static int client(const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof(*to)))
		die("client");
	return fd;
}

/* Sends until the reset shows (the first send may still be taken). */
static int send_until_reset(int fd)
{
	for (int i = 0; i < 50; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (send(fd, "x", 1, MSG_NOSIGNAL) < 0)
			return errno;
		poll(&pfd, 1, 100);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l, waiting, fresh, c, err;
	char buf[4];

	prog_init(argc, argv);
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		die("listener");
	waiting = client(&sa);
	prog_ready();
	prog_wait_sigterm();

	c = accept(l, NULL, NULL);
	PROG_CHECK(c < 0 && errno == EAGAIN, "a connection left out is still waiting");
	err = send_until_reset(waiting);
	PROG_CHECK(err == ECONNRESET || err == EPIPE,
		   "the left-out connection's client sends on (%s)", strerror(err));
	fresh = client(&sa);
	c = accept(l, NULL, NULL);
	if (c < 0) {
		prog_fail("accept of a new connection: %s", strerror(errno));
	} else {
		PROG_CHECK(send(fresh, "hi", 2, 0) == 2 && recv(c, buf, sizeof(buf), 0) == 2,
			   "the new connection does not talk");
	}
	prog_finish();
}
