/* The peer of prog_tcp_peer, started by the runner outside the dump: the
 * client whose connections, over 127.0.0.1 and ::1, must live through the
 * program's dumps and restores. It connects to the ports the program writes
 * to DIR/ports, then every 20 ms sends the next byte of a counter on each
 * connection and reads what the program sends (a pattern it checks). A
 * reset, a byte out of pattern or a failed send fails it. On SIGTERM it
 * writes PASS or "FAIL: why" to DIR/peer.out: PASS needs each connection
 * to have brought exactly the program's 1,500 bytes, then its end. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXPECTED 1500	/* bytes the program sends on each connection */

struct conn {
	const char *what;
	int fd;
	size_t sent, got;
	bool ended;
};

static struct conn conns[2] = { { .what = "IPv4" }, { .what = "IPv6" } };
static char failure[256];
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void fail(const struct conn *c, const char *fmt, const char *detail)
{
	if (failure[0])
		return;
	snprintf(failure, sizeof(failure), "%s connection: ", c ? c->what : "-");
	snprintf(failure + strlen(failure), sizeof(failure) - strlen(failure), fmt, detail);
}

static int connect_to(int family, const char *host, int port)
{
	struct sockaddr_storage sa = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &in->sin_addr);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &in6->sin6_addr);
		len = sizeof(*in6);
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len))
		return -1;
	return fd;
}

static void receive(struct conn *c)
{
	uint8_t buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		fail(c, "recv: %s", strerror(errno));
		c->ended = true;
		return;
	}
	if (n == 0) {
		c->ended = true;
		/* Ours ends too, as the program waits for. */
		shutdown(c->fd, SHUT_WR);
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != (uint8_t)((c->got + i) * 7 + 1))
			fail(c, "%s", "a byte from the program differs");
	c->got += (size_t)n;
}

static void send_next(struct conn *c)
{
	uint8_t byte = (uint8_t)(c->sent % 251);

	if (c->ended)
		return;
	if (send(c->fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
		c->sent++;
	else if (errno != EAGAIN)
		fail(c, "send: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	char path[4096], out[4096];
	int port4 = 0, port6 = 0;
	FILE *f = NULL;

	if (argc != 3 || strcmp(argv[1], "--dir"))
		return 2;
	signal(SIGTERM, on_term);
	snprintf(path, sizeof(path), "%s/ports", argv[2]);
	snprintf(out, sizeof(out), "%s/peer.out", argv[2]);
	for (int i = 0; i < 2000 && !f && !stop; i++) {
		f = fopen(path, "re");
		if (!f)
			usleep(5000);
	}
	if (!f || fscanf(f, "%d %d", &port4, &port6) != 2) {
		fail(NULL, "%s", "no ports from the program");
	} else {
		conns[0].fd = connect_to(AF_INET, "127.0.0.1", port4);
		conns[1].fd = connect_to(AF_INET6, "::1", port6);
		if (conns[0].fd < 0 || conns[1].fd < 0)
			fail(NULL, "connect: %s", strerror(errno));
	}
	if (f)
		fclose(f);
	while (!stop && !failure[0]) {
		struct pollfd pfd[2] = { { .fd = conns[0].fd, .events = POLLIN },
					 { .fd = conns[1].fd, .events = POLLIN } };

		if (poll(pfd, 2, 20) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (pfd[i].revents && !conns[i].ended)
				receive(&conns[i]);
			send_next(&conns[i]);
		}
	}
	for (int i = 0; i < 2 && !failure[0]; i++) {
		char why[64];

		snprintf(why, sizeof(why), "%zu of %u bytes, %s", conns[i].got, EXPECTED,
			 conns[i].ended ? "ended" : "not ended");
		if (conns[i].got != EXPECTED || !conns[i].ended)
			fail(&conns[i], "the program sent %s", why);
	}
	f = fopen(out, "we");
	if (!f)
		return 1;
	fprintf(f, "%s%s\n", failure[0] ? "FAIL: " : "PASS", failure);
	fclose(f);
	return 0;
}
