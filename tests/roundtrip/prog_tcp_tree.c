/* Round-trip program: a tree of two processes, each holding both ends of
 * its own established TCP connection over 127.0.0.1 with bytes queued
 * unread each way (dumped with --tcp-established). The dump locks the four
 * connections of both processes in one run (test_neg_netlock.c checks the
 * log). After restore each process reads its queued bytes and new data
 * goes both ways. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

struct conn {
	int client, server;
};

static bool make_conn(int listener, const struct sockaddr_in *at, struct conn *c)
{
	c->client = socket(AF_INET, SOCK_STREAM, 0);
	if (c->client < 0 || connect(c->client, (const struct sockaddr *)at, sizeof(*at)))
		return false;
	c->server = accept(listener, NULL, NULL);
	return c->server >= 0;
}

static bool send_text(int fd, const char *text)
{
	return write(fd, text, strlen(text)) == (ssize_t)strlen(text);
}

static bool read_text_exact(int fd, const char *text)
{
	char buf[64] = "";
	size_t len = strlen(text), got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return !memcmp(buf, text, len);
}

/* Queued before the dump, read after restore, then a round trip. */
static bool check_conn(const struct conn *c, const char *who)
{
	return PROG_CHECK(read_text_exact(c->server, "to-server"),
			  "%s: the server's queued bytes", who) &&
	       PROG_CHECK(read_text_exact(c->client, "to-client"),
			  "%s: the client's queued bytes", who) &&
	       PROG_CHECK(send_text(c->client, "ping") && read_text_exact(c->server, "ping"),
			  "%s: new data to the server", who) &&
	       PROG_CHECK(send_text(c->server, "pong") && read_text_exact(c->client, "pong"),
			  "%s: new data to the client", who);
}

int main(int argc, char **argv)
{
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(at);
	struct conn mine, childs;
	int listener, ready[2], status;
	pid_t child;

	prog_init(argc, argv);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&at, sizeof(at)) ||
	    listen(listener, 4) || getsockname(listener, (struct sockaddr *)&at, &len) ||
	    !make_conn(listener, &at, &mine) || !make_conn(listener, &at, &childs) || pipe(ready))
		return 1;
	close(listener);
	child = fork();
	if (child == 0) {
		close(mine.client);
		close(mine.server);
		if (!send_text(childs.client, "to-server") || !send_text(childs.server, "to-client"))
			_exit(1);
		prog_child_ready(ready);
		prog_wait_sigterm();
		/* The out file is the parent's: the child says by its status. */
		_exit(check_conn(&childs, "the child") ? 0 : 1);
	}
	close(childs.client);
	close(childs.server);
	close(ready[1]);
	if (child < 0 || read(ready[0], &status, 1) != 1 || !send_text(mine.client, "to-server") ||
	    !send_text(mine.server, "to-client"))
		return 1;
	close(ready[0]);
	prog_ready();
	prog_wait_sigterm();
	check_conn(&mine, "the parent");
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "the child's connection failed a check after "
		   "restore (status %#x)", status);
	prog_finish();
}
