/* Round-trip program: raw sockets. A raw ICMP socket on 127.0.0.1 whose
 * ICMP_FILTER lets only echo replies through; a raw IPv4 socket of
 * protocol 253 connected to 127.0.0.1; one with IP_HDRINCL; a raw IPv6
 * socket of protocol 253 on ::1 with IPV6_CHECKSUM; a raw ICMPv6 socket.
 * After restore: addresses, peers and options as before, a packet the
 * connected socket sends comes back to it, and the ICMP socket sees the
 * reply to an echo request that a raw socket sends, and not the request. */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "prog.h"

#define PROTO_TEST 253	/* RFC 3692: for experiments */

struct raw {
	const char *what;
	int fd;
	struct sockaddr_storage addr, peer;
	socklen_t len, peer_len;
};

enum { ICMP4, CONNECTED, HDRINCL, V6, ICMP6, NR_RAWS };

static struct raw r[NR_RAWS] = {
	[ICMP4] = { .what = "raw ICMP socket" },
	[CONNECTED] = { .what = "connected raw socket" },
	[HDRINCL] = { .what = "raw socket with IP_HDRINCL" },
	[V6] = { .what = "raw IPv6 socket" },
	[ICMP6] = { .what = "raw ICMPv6 socket" },
};

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_raw_sockets: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int get_int(int i, int level, int name)
{
	int value = -12345;
	socklen_t len = sizeof(value);

	getsockopt(r[i].fd, level, name, &value, &len);
	return value;
}

static void remember(int i)
{
	r[i].len = sizeof(r[i].addr);
	r[i].peer_len = sizeof(r[i].peer);
	if (getsockname(r[i].fd, (struct sockaddr *)&r[i].addr, &r[i].len))
		die(r[i].what);
	if (getpeername(r[i].fd, (struct sockaddr *)&r[i].peer, &r[i].peer_len))
		r[i].peer_len = 0;
}

static bool unchanged(int i)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	if (getsockname(r[i].fd, (struct sockaddr *)&a, &len) || len != r[i].len ||
	    memcmp(&a, &r[i].addr, len))
		return prog_fail("%s: its address changed", r[i].what);
	len = sizeof(a);
	if (getpeername(r[i].fd, (struct sockaddr *)&a, &len))
		len = 0;
	return PROG_CHECK(len == r[i].peer_len && !memcmp(&a, &r[i].peer, len),
			  "%s: its peer changed", r[i].what);
}

static void set_up(void)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 lo6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct icmp_filter filter = { ~(1u << ICMP_ECHOREPLY) };
	int one = 1, two = 2;

	/* The runner gives it a network namespace of its own, so that no
	 * other test's ICMP reaches these sockets. */
	if (system("ip link set lo up"))
		die("ip link set lo up");
	r[ICMP4].fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	r[CONNECTED].fd = socket(AF_INET, SOCK_RAW, PROTO_TEST);
	r[HDRINCL].fd = socket(AF_INET, SOCK_RAW, PROTO_TEST);
	r[V6].fd = socket(AF_INET6, SOCK_RAW, PROTO_TEST);
	r[ICMP6].fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	for (int i = 0; i < NR_RAWS; i++)
		if (r[i].fd < 0)
			die(r[i].what);
	if (setsockopt(r[ICMP4].fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter)) ||
	    bind(r[ICMP4].fd, (struct sockaddr *)&lo, sizeof(lo)))
		die(r[ICMP4].what);
	if (connect(r[CONNECTED].fd, (struct sockaddr *)&lo, sizeof(lo)))
		die(r[CONNECTED].what);
	if (setsockopt(r[HDRINCL].fd, SOL_IP, IP_HDRINCL, &one, sizeof(one)))
		die(r[HDRINCL].what);
	if (setsockopt(r[V6].fd, SOL_IPV6, IPV6_CHECKSUM, &two, sizeof(two)) ||
	    bind(r[V6].fd, (struct sockaddr *)&lo6, sizeof(lo6)))
		die(r[V6].what);
	for (int i = 0; i < NR_RAWS; i++)
		remember(i);
}

/* An echo request to 127.0.0.1 through the socket with IP_HDRINCL. */
static bool send_echo_request(void)
{
	struct {
		struct iphdr ip;
		struct icmphdr icmp;
	} pkt = {
		.ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_ICMP,
			.saddr = htonl(INADDR_LOOPBACK), .daddr = htonl(INADDR_LOOPBACK) },
		.icmp = { .type = ICMP_ECHO, .un.echo = { htons(0x4242), htons(7) } },
	};
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint32_t sum = 0;
	const uint16_t *w = (const uint16_t *)&pkt.icmp;

	for (size_t k = 0; k < sizeof(pkt.icmp) / 2; k++)
		sum += w[k];
	sum = (sum & 0xffff) + (sum >> 16);
	pkt.icmp.checksum = (uint16_t)~(sum + (sum >> 16));
	return PROG_CHECK(sendto(r[HDRINCL].fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&lo,
				 sizeof(lo)) == sizeof(pkt), "echo request: %s", strerror(errno));
}

/* The raw ICMP socket sees the reply, never the request it filters. */
static bool sees_echo_reply(void)
{
	struct timeval tv = { 2, 0 };
	uint8_t buf[256];
	ssize_t n;

	setsockopt(r[ICMP4].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(r[ICMP4].fd, buf, sizeof(buf), 0);
	if (n < (ssize_t)(sizeof(struct iphdr) + sizeof(struct icmphdr)))
		return prog_fail("raw ICMP socket: no echo reply: %s", strerror(errno));
	struct icmphdr *icmp = (struct icmphdr *)(buf + ((struct iphdr *)buf)->ihl * 4);

	return PROG_CHECK(icmp->type == ICMP_ECHOREPLY && icmp->un.echo.id == htons(0x4242),
			  "raw ICMP socket: type %u id %#x, not our echo reply", icmp->type,
			  ntohs(icmp->un.echo.id));
}

static bool own_packet_returns(void)
{
	struct timeval tv = { 2, 0 };
	uint8_t buf[256];
	ssize_t n;

	setsockopt(r[CONNECTED].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(r[CONNECTED].fd, "raw!", 4, 0) != 4)
		return prog_fail("connected raw socket: send: %s", strerror(errno));
	n = recv(r[CONNECTED].fd, buf, sizeof(buf), 0);
	return PROG_CHECK(n == (ssize_t)sizeof(struct iphdr) + 4 &&
			  !memcmp(buf + sizeof(struct iphdr), "raw!", 4),
			  "connected raw socket: its packet did not come back (%zd)", n);
}

int main(int argc, char **argv)
{
	struct icmp_filter filter = { 0 };
	socklen_t len = sizeof(filter);

	prog_init(argc, argv);
	set_up();
	prog_ready();
	prog_wait_sigterm();

	for (int i = 0; i < NR_RAWS; i++)
		unchanged(i);
	getsockopt(r[ICMP4].fd, SOL_RAW, ICMP_FILTER, &filter, &len);
	PROG_CHECK(filter.data == ~(1u << ICMP_ECHOREPLY), "ICMP_FILTER is %#x", filter.data);
	PROG_CHECK(get_int(HDRINCL, SOL_IP, IP_HDRINCL) == 1, "IP_HDRINCL lost");
	PROG_CHECK(get_int(CONNECTED, SOL_IP, IP_HDRINCL) == 0, "IP_HDRINCL gained");
	PROG_CHECK(get_int(V6, SOL_IPV6, IPV6_CHECKSUM) == 2, "IPV6_CHECKSUM is %d",
		   get_int(V6, SOL_IPV6, IPV6_CHECKSUM));
	PROG_CHECK(get_int(ICMP6, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_ICMPV6, "not ICMPv6");
	own_packet_returns();
	if (send_echo_request())
		sees_echo_reply();
	prog_finish();
}
