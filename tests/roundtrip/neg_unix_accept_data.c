/* A unix listener with a connection waiting in its accept queue whose
 * client has sent bytes: a dump must refuse it and leave the queue as it
 * was. On SIGTERM the program accepts: the connection is there, with its
 * bytes, and reaches its client. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int l, client, c;
	char buf[32];
	ssize_t n;

	prog_init(argc, argv);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "cryo-neg-accept-%d", getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	client = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || client < 0 || bind(l, (struct sockaddr *)&sa, len) || listen(l, 4) ||
	    connect(client, (struct sockaddr *)&sa, len) || send(client, "sent before", 11, 0) != 11)
		return 1;
	prog_ready();
	prog_wait_sigterm();
	c = accept(l, NULL, NULL);
	if (c < 0) {
		prog_fail("the waiting connection is gone");
		prog_finish();
	}
	n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	PROG_CHECK(n == 11 && !memcmp(buf, "sent before", 11), "it holds %zd bytes", n);
	PROG_CHECK(send(c, "back", 4, 0) == 4 && recv(client, buf, sizeof(buf), 0) == 4,
		   "it does not reach its client");
	prog_finish();
}
