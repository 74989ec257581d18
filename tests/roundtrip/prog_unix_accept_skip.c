/* Round-trip program, dumped with --skip-in-flight: a stream listener
 * with three connections waiting in its accept queue: one whose client
 * (the program's) has sent bytes, one whose client sent bytes and closed,
 * and one that sent nothing. The first two cannot be made again and are
 * dropped. On SIGTERM: accept() gives the third only, which talks both
 * ways; the client of the first reads EOF and cannot send. Not in the
 * leave-running cycle: the original keeps every connection. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_unix_accept_skip: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static int client(const struct sockaddr_un *to, socklen_t len, const char *sends)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)to, len) ||
	    (sends && send(fd, sends, strlen(sends), 0) != (ssize_t)strlen(sends)))
		die("client");
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int l, sent, kept, c, more;
	char buf[16];
	ssize_t n;

	prog_init(argc, argv);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "cryo-accept-skip-%d", getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, len) || listen(l, 4))
		die("listener");
	sent = client(&sa, len, "lost bytes");
	close(client(&sa, len, "closed"));
	kept = client(&sa, len, NULL);
	prog_ready();
	prog_wait_sigterm();

	c = accept(l, NULL, NULL);
	if (c < 0) {
		prog_fail("accept: %s", strerror(errno));
	} else {
		n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
		PROG_CHECK(n < 0 && errno == EAGAIN, "the kept connection reads %zd bytes", n);
		PROG_CHECK(send(c, "hi", 2, 0) == 2 && recv(kept, buf, sizeof(buf), 0) == 2,
			   "the kept connection does not reach its client");
		PROG_CHECK(send(kept, "yo", 2, 0) == 2 && recv(c, buf, sizeof(buf), 0) == 2,
			   "the kept client does not reach its connection");
	}
	more = accept(l, NULL, NULL);
	PROG_CHECK(more < 0 && errno == EAGAIN, "a dropped connection is still waiting");
	n = recv(sent, buf, sizeof(buf), MSG_DONTWAIT);
	PROG_CHECK(n == 0, "the dropped connection's client reads %zd, not EOF", n);
	n = send(sent, "x", 1, MSG_NOSIGNAL);
	PROG_CHECK(n < 0 && errno == EPIPE, "the dropped connection's client can send (%zd)", n);
	prog_finish();
}
