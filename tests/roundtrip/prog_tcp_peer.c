/* Round-trip program: a server whose clients are outside the dump (the
 * runner's peer_tcp_client, over 127.0.0.1 and ::1), dumped with
 * --tcp-established. Before it is ready it accepts both connections and
 * sends 500 bytes on each; the client sends a counter byte every 20 ms,
 * left unread. After restore: the counter goes on without a gap (bytes
 * queued at dump, then bytes sent while the program was dumped, kept
 * back by the network lock, then new ones), and 1,000 more bytes reach the
 * client, which checks them and that the connection then ends cleanly. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

struct conn {
	const char *what;
	int family;
	int listener, fd;
	size_t sent, got;
};

static struct conn conns[] = {
	{ .what = "IPv4 connection", .family = AF_INET },
	{ .what = "IPv6 connection", .family = AF_INET6 },
};

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_tcp_peer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int listen_on(struct conn *c)
{
	struct sockaddr_storage sa = { 0 };
	socklen_t len = c->family == AF_INET ? sizeof(struct sockaddr_in) :
					       sizeof(struct sockaddr_in6);

	sa.ss_family = c->family;
	if (c->family == AF_INET)
		inet_pton(AF_INET, "127.0.0.1", &((struct sockaddr_in *)&sa)->sin_addr);
	else
		inet_pton(AF_INET6, "::1", &((struct sockaddr_in6 *)&sa)->sin6_addr);
	c->listener = socket(c->family, SOCK_STREAM, 0);
	if (c->listener < 0 || bind(c->listener, (struct sockaddr *)&sa, len) ||
	    listen(c->listener, 1) || getsockname(c->listener, (struct sockaddr *)&sa, &len))
		die(c->what);
	return ntohs(c->family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port :
					    ((struct sockaddr_in6 *)&sa)->sin6_port);
}

static void send_pattern(struct conn *c, size_t n)
{
	uint8_t buf[1000];

	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((c->sent + i) * 7 + 1);
	if (send(c->fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
		die("send");
	c->sent += n;
}

/* Reads the counter until @want bytes came in all (5 s at most). */
static bool read_counter(struct conn *c, size_t want)
{
	uint8_t buf[4096];

	while (c->got < want) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 5000) != 1)
			return prog_fail("%s: the counter stopped after %zu bytes", c->what,
					 c->got);
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return prog_fail("%s: recv after %zu bytes: %s", c->what, c->got,
					 n ? strerror(errno) : "end of stream");
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (uint8_t)((c->got + i) % 251))
				return prog_fail("%s: counter byte %zu is %u", c->what,
						 c->got + i, buf[i]);
		c->got += (size_t)n;
	}
	return true;
}

/* Drains what is queued now, then waits for 10 bytes more: the client
 * still sends to this very connection. Then our end, and its. */
static void check(struct conn *c)
{
	int queued = 0;

	if (ioctl(c->fd, SIOCINQ, &queued))
		die("SIOCINQ");
	if (!read_counter(c, (size_t)queued + 10))
		return;
	send_pattern(c, 1000);
	shutdown(c->fd, SHUT_WR);
	for (;;) {
		uint8_t buf[4096];
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 5000) != 1) {
			prog_fail("%s: the client did not end its side", c->what);
			return;
		}
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0) {
			PROG_CHECK(n == 0, "%s: %s while the client ended", c->what,
				   strerror(errno));
			return;
		}
	}
}

int main(int argc, char **argv)
{
	char path[4096], tmp[4096];
	int port4, port6;
	FILE *f;

	prog_init(argc, argv);
	port4 = listen_on(&conns[0]);
	port6 = listen_on(&conns[1]);
	snprintf(path, sizeof(path), "%s/ports", prog_dir());
	snprintf(tmp, sizeof(tmp), "%s/ports.tmp", prog_dir());
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%d %d\n", port4, port6) < 0 || fclose(f) || rename(tmp, path))
		die("ports file");
	for (int i = 0; i < 2; i++) {
		struct pollfd pfd = { .fd = conns[i].listener, .events = POLLIN };

		if (poll(&pfd, 1, 10000) != 1)
			die("no client came");
		conns[i].fd = accept(conns[i].listener, NULL, NULL);
		if (conns[i].fd < 0)
			die("accept");
		send_pattern(&conns[i], 500);
	}
	/* Some counter bytes queued unread at dump; the client goes on
	 * sending while the program is dumped, so bytes arrive between the
	 * lock and the reading of the queue (and a delayed ACK is often
	 * pending): only a lock that holds every connection keeps them. */
	usleep(100 * 1000);
	prog_ready();
	prog_wait_sigterm();
	for (int i = 0; i < 2; i++)
		check(&conns[i]);
	prog_finish();
}
