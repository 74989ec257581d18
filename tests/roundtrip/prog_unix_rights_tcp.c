/* An established TCP connection's client end in flight (SCM_RIGHTS) in a
 * unix datagram queue, dumped with --tcp-established; the program holds
 * the listener and the server end. Each end has bytes the other sent and
 * has not read. After restore the program receives the client end: each
 * end reads what was queued to it, and new bytes go both ways. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static bool reads(int fd, const char *what, const char *want)
{
	char buf[64];
	size_t got = 0;

	while (got < strlen(want)) {
		ssize_t n = read(fd, buf + got, strlen(want) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return PROG_CHECK(got == strlen(want) && !memcmp(buf, want, got),
			  "%s reads %zu bytes, not '%s'", what, got, want);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = "tcp", .iov_len = 3 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	socklen_t len = sizeof(addr);
	int dg[2], listener, client, server;
	char buf[8];

	prog_init(argc, argv);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	client = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || client < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) ||
	    bind(listener, (struct sockaddr *)&addr, sizeof(addr)) || listen(listener, 1) ||
	    getsockname(listener, (struct sockaddr *)&addr, &len) ||
	    connect(client, (struct sockaddr *)&addr, sizeof(addr)))
		return 1;
	server = accept(listener, NULL, NULL);
	if (server < 0 || write(client, "to the server", 13) != 13 ||
	    write(server, "to the client", 13) != 13)
		return 1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &client, sizeof(int));
	if (sendmsg(dg[1], &msg, 0) != 3)
		return 1;
	close(client);
	prog_ready();
	prog_wait_sigterm();

	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	msg.msg_controllen = sizeof(control.buf);
	if (!PROG_CHECK(recvmsg(dg[0], &msg, MSG_DONTWAIT) == 3 && (c = CMSG_FIRSTHDR(&msg)) &&
				c->cmsg_type == SCM_RIGHTS,
			"no message with the client end"))
		prog_finish();
	memcpy(&client, CMSG_DATA(c), sizeof(int));
	reads(client, "the client end in flight", "to the client");
	reads(server, "the server end", "to the server");
	PROG_CHECK(write(client, "ping", 4) == 4 && write(server, "pong", 4) == 4,
		   "the connection cannot send");
	reads(server, "the server end", "ping");
	reads(client, "the client end in flight", "pong");
	close(client);
	prog_finish();
}
