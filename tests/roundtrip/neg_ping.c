/* ICMP (ping) sockets, which need the group in net.ipv4.ping_group_range
 * (the test sets it): an IPv4 one bound to 127.0.0.1 with an id the kernel
 * chose and connected to it, and an unbound IPv6 one. On SIGTERM: the
 * same id and peer, and an echo request through each gets its reply. */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "prog.h"

/* Sends an echo request through the ping socket @fd (to @to, or without an
 * address to its peer: only a connected one can) and waits for the reply;
 * the kernel fills in the id and checksum. */
static bool echoes(int fd, int type, const struct sockaddr *to, socklen_t len, const char *what)
{
	struct icmphdr req = { .type = (uint8_t)type, .un.echo.sequence = htons(9) };
	struct icmphdr reply = { 0 };
	struct timeval tv = { 2, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, &req, sizeof(req), 0, to, to ? len : 0) != sizeof(req))
		return prog_fail("%s: cannot send an echo request: %s", what, strerror(errno));
	if (recv(fd, &reply, sizeof(reply), 0) != sizeof(reply))
		return prog_fail("%s: no echo reply: %s", what, strerror(errno));
	return PROG_CHECK(reply.un.echo.sequence == htons(9), "%s: the reply is not ours", what);
}

int main(int argc, char **argv)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 lo6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in local, now;
	socklen_t len = sizeof(local);
	int v4, v6;

	prog_init(argc, argv);
	v4 = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	v6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	if (v4 < 0 || v6 < 0 || bind(v4, (struct sockaddr *)&lo, sizeof(lo)) ||
	    connect(v4, (struct sockaddr *)&lo, sizeof(lo)) ||
	    getsockname(v4, (struct sockaddr *)&local, &len))
		return 1;
	prog_ready();
	prog_wait_sigterm();
	len = sizeof(now);
	PROG_CHECK(!getsockname(v4, (struct sockaddr *)&now, &len) &&
		   now.sin_port == local.sin_port && now.sin_addr.s_addr == local.sin_addr.s_addr,
		   "the IPv4 ping socket's id or address changed");
	len = sizeof(now);
	PROG_CHECK(!getsockname(v6, (struct sockaddr *)&now, &len) && now.sin_port == 0,
		   "the unbound IPv6 ping socket has an id");
	echoes(v4, ICMP_ECHO, NULL, 0, "IPv4 ping socket");
	echoes(v6, ICMPV6_ECHO_REQUEST, (struct sockaddr *)&lo6, sizeof(lo6), "IPv6 ping socket");
	prog_finish();
}
