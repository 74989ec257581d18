/* A program in a network namespace of its own (the runner unshares it)
 * with established TCP connections inside it, both ends its own (dumped
 * with --tcp-established): over 127.0.0.1 and ::1, with data unread in
 * both directions. After restore: the connections are established between
 * the same addresses, every queued byte arrives, new data goes both ways,
 * and the namespace holds no nftables table (the network lock was made and
 * removed inside it). With the argument "iptables" (cryo's --network-lock
 * iptables), the empty filter tables iptables-nft made may stay, but no
 * chain of cryo's. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define QUEUED 4000	/* unread at dump, each way */

struct conn {
	const char *what, *addr;
	int family;
	int client, server;
	struct sockaddr_storage client_addr, server_addr;
};

static struct conn conns[] = {
	{ .what = "IPv4 connection", .addr = "127.0.0.1", .family = AF_INET },
	{ .what = "IPv6 connection", .addr = "::1", .family = AF_INET6 },
};

static uint8_t pattern(int dir, size_t i)
{
	return (uint8_t)(i * 11 + dir * 5 + 3);
}

static bool send_pattern(const struct conn *c, int fd, int dir, size_t from, size_t n)
{
	uint8_t buf[QUEUED];

	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(dir, from + i);
	return PROG_CHECK(send(fd, buf, n, 0) == (ssize_t)n, "%s: send: %s", c->what,
			  strerror(errno));
}

static bool loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok = s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr);

	ifr.ifr_flags |= IFF_UP;
	ok = ok && !ioctl(s, SIOCSIFFLAGS, &ifr);
	if (s >= 0)
		close(s);
	return PROG_CHECK(ok, "bringing the loopback up");
}

static bool setup(struct conn *c)
{
	struct sockaddr_storage sa = { 0 };
	socklen_t len = c->family == AF_INET ? sizeof(struct sockaddr_in) :
					       sizeof(struct sockaddr_in6);
	int listener = socket(c->family, SOCK_STREAM, 0);

	sa.ss_family = c->family;
	inet_pton(c->family, c->addr, c->family == AF_INET ?
		  (void *)&((struct sockaddr_in *)&sa)->sin_addr :
		  (void *)&((struct sockaddr_in6 *)&sa)->sin6_addr);
	c->client = socket(c->family, SOCK_STREAM, 0);
	if (!PROG_CHECK(listener >= 0 && c->client >= 0, "%s: socket", c->what) ||
	    !PROG_CHECK(!bind(listener, (struct sockaddr *)&sa, len) && !listen(listener, 1) &&
			!getsockname(listener, (struct sockaddr *)&sa, &len) &&
			!connect(c->client, (struct sockaddr *)&sa, len),
			"%s: connect: %s", c->what, strerror(errno)))
		return false;
	c->server = accept(listener, NULL, NULL);
	/* Only the connection stays: no listener to answer a lost one. */
	close(listener);
	if (!PROG_CHECK(c->server >= 0, "%s: accept", c->what))
		return false;
	len = sizeof(c->client_addr);
	getsockname(c->client, (struct sockaddr *)&c->client_addr, &len);
	len = sizeof(c->server_addr);
	getsockname(c->server, (struct sockaddr *)&c->server_addr, &len);
	return send_pattern(c, c->client, 0, 0, QUEUED) && send_pattern(c, c->server, 1, 0, QUEUED);
}

/* Reads exactly @n bytes (5 s at most), compared with the pattern from @from. */
static bool read_pattern(const struct conn *c, int fd, int dir, size_t from, size_t n,
			 const char *which)
{
	uint8_t buf[QUEUED];
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 5000) != 1)
			return prog_fail("%s: %s: %zu of %zu bytes came", c->what, which, got, n);
		r = recv(fd, buf, n - got, MSG_DONTWAIT);
		if (r <= 0)
			return prog_fail("%s: %s: recv after %zu bytes: %s", c->what, which, got,
					 r ? strerror(errno) : "end of stream");
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(dir, from + got + i))
				return prog_fail("%s: %s: byte %zu differs", c->what, which,
						 got + i);
		got += (size_t)r;
	}
	return true;
}

static bool same_addr(int fd, const struct sockaddr_storage *want, bool peer)
{
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);

	if (peer ? getpeername(fd, (struct sockaddr *)&got, &len) :
		   getsockname(fd, (struct sockaddr *)&got, &len))
		return false;
	return !memcmp(&got, want, len);
}

static void check(struct conn *c)
{
	struct tcp_info info;
	socklen_t ilen = sizeof(info);

	PROG_CHECK(!getsockopt(c->client, SOL_TCP, TCP_INFO, &info, &ilen) &&
		   info.tcpi_state == TCP_ESTABLISHED, "%s: client not established", c->what);
	PROG_CHECK(same_addr(c->client, &c->client_addr, false) &&
		   same_addr(c->client, &c->server_addr, true) &&
		   same_addr(c->server, &c->server_addr, false) &&
		   same_addr(c->server, &c->client_addr, true), "%s: addresses differ", c->what);
	if (!read_pattern(c, c->server, 0, 0, QUEUED, "data to the server") ||
	    !read_pattern(c, c->client, 1, 0, QUEUED, "data to the client"))
		return;
	if (send_pattern(c, c->client, 0, QUEUED, 1000) &&
	    send_pattern(c, c->server, 1, QUEUED, 1000) &&
	    read_pattern(c, c->server, 0, QUEUED, 1000, "new data to the server"))
		read_pattern(c, c->client, 1, QUEUED, 1000, "new data to the client");
}

/* The network lock's table went with the dump or restore that made it. */
static void check_no_tables(bool iptables)
{
	FILE *f = popen("nft list tables 2>&1", "r");
	char line[256] = "", other[256] = "";

	while (f && fgets(line, sizeof(line), f))
		if (!iptables || (strcmp(line, "table ip filter\n") &&
				  strcmp(line, "table ip6 filter\n")))
			snprintf(other, sizeof(other), "%s", line);
	if (f)
		pclose(f);
	PROG_CHECK(f && !other[0], "the namespace still has nftables: %s", other);
	if (!iptables)
		return;
	f = popen("(iptables-save; ip6tables-save) 2>&1", "r");
	other[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "CRYO_"))
			snprintf(other, sizeof(other), "%s", line);
	if (f)
		pclose(f);
	PROG_CHECK(f && !other[0], "the namespace still has a chain of cryo's: %s", other);
}

int main(int argc, char **argv)
{
	bool iptables;

	prog_init(argc, argv);
	iptables = optind < argc && !strcmp(argv[optind], "iptables");
	if (loopback_up())
		for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++)
			if (!setup(&conns[i]))
				prog_finish();
	prog_ready();
	prog_wait_sigterm();
	check_no_tables(iptables);
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++)
		check(&conns[i]);
	prog_finish();
}
