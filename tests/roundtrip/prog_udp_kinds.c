/* Round-trip program: UDP sockets of every shape but the seed's. IPv6 on
 * ::1 (IPV6_V6ONLY, hop limit, IPV6_MULTICAST_IF) with a queued datagram;
 * a dual-stack socket on [::] with datagrams from an IPv4 sender (seen
 * v4-mapped) and an IPv6 one; an unbound socket with many options
 * (SO_TIMESTAMPING among them) and another owner; one on 0.0.0.0 with
 * SO_REUSEPORT that joined two multicast groups (one for a single source),
 * the dual-stack one an IPv6 and an IPv4 group; connected sockets shut
 * down for reading and for writing; one bound to the device lo; UDP-lite
 * with its coverage and a queued datagram; a socket whose peek offset is
 * on; one whose SO_PRIORITY went back to 0 after IP_TOS. After restore each is checked for its addresses, options, owner,
 * memberships, queue and that it still works. */
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "prog.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define SOL_UDPLITE 136
#define UDPLITE_SEND_CSCOV 10
/* SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE */
#define TIMESTAMPING_FLAGS ((1 << 3) | (1 << 4))
/* Who owns the socket with options (its inode, and the socket's uid). */
#define OWNER_UID 1234
#define OWNER_GID 5678

struct sock {
	const char *what;
	int fd;
	struct sockaddr_storage addr;	/* getsockname() once set up */
	socklen_t len;
};

enum {
	V6, V6_SENDER, DUAL, V4_SENDER, OPTS, ANY, SHUT_RD_SOCK, SHUT_WR_SOCK, SHUT_PEER,
	DEVICE, LITE, LITE_SENDER, PEEKING, TOS, NR_SOCKS
};

static struct sock s[NR_SOCKS] = {
	[V6] = { .what = "IPv6 socket on ::1" },
	[V6_SENDER] = { .what = "IPv6 sender" },
	[DUAL] = { .what = "dual-stack socket on [::]" },
	[V4_SENDER] = { .what = "IPv4 sender" },
	[OPTS] = { .what = "unbound socket with options" },
	[ANY] = { .what = "socket on 0.0.0.0 with SO_REUSEPORT" },
	[SHUT_RD_SOCK] = { .what = "socket shut down for reading" },
	[SHUT_WR_SOCK] = { .what = "socket shut down for writing" },
	[SHUT_PEER] = { .what = "peer of the shut down sockets" },
	[DEVICE] = { .what = "socket bound to lo" },
	[LITE] = { .what = "UDP-lite socket" },
	[LITE_SENDER] = { .what = "UDP-lite sender" },
	[PEEKING] = { .what = "socket with SO_PEEK_OFF on" },
	[TOS] = { .what = "unbound socket with IP_TOS, its priority put back to 0" },
};

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_udp_kinds: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_int(int i, int level, int name, int value)
{
	if (setsockopt(s[i].fd, level, name, &value, sizeof(value)))
		die(s[i].what);
}

static int get_int(int i, int level, int name)
{
	int value = -12345;
	socklen_t len = sizeof(value);

	getsockopt(s[i].fd, level, name, &value, &len);
	return value;
}

static void make(int i, int family, int protocol)
{
	s[i].fd = socket(family, SOCK_DGRAM, protocol);
	if (s[i].fd < 0)
		die(s[i].what);
}

static void bind_to(int i, const char *host)
{
	struct sockaddr_storage sa = { 0 };
	socklen_t len;

	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sa;

		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, host, &sin6->sin6_addr);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&sa;

		sin->sin_family = AF_INET;
		inet_pton(AF_INET, host, &sin->sin_addr);
		len = sizeof(*sin);
	}
	if (bind(s[i].fd, (struct sockaddr *)&sa, len))
		die(s[i].what);
	s[i].len = sizeof(s[i].addr);
	if (getsockname(s[i].fd, (struct sockaddr *)&s[i].addr, &s[i].len))
		die(s[i].what);
}

/* The address to send to @i at: its own, with loopback for "any". */
static socklen_t dest_of(int i, struct sockaddr_storage *to)
{
	*to = s[i].addr;
	if (to->ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)to;

		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)to;

	if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*sin);
}

static void send_to(int from, int to, const char *text)
{
	struct sockaddr_storage dest;
	socklen_t len = dest_of(to, &dest);

	if (to == DUAL && s[from].addr.ss_family == AF_INET) {
		/* An IPv4 sender reaches the dual-stack socket at 127.0.0.1. */
		struct sockaddr_in *sin = (struct sockaddr_in *)&dest;
		uint16_t port = ((struct sockaddr_in6 *)&s[to].addr)->sin6_port;

		memset(&dest, 0, sizeof(dest));
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	}
	if (sendto(s[from].fd, text, strlen(text), 0, (struct sockaddr *)&dest, len) !=
	    (ssize_t)strlen(text))
		die(s[from].what);
}

/* Whether @got is @sender's address, v4-mapped when @mapped. */
static bool from_sender(const struct sockaddr_storage *got, int sender, bool mapped)
{
	if (!mapped)
		return !memcmp(got, &s[sender].addr, s[sender].len);
	const struct sockaddr_in6 *g = (const void *)got;
	const struct sockaddr_in *want = (const void *)&s[sender].addr;

	return g->sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&g->sin6_addr) &&
	       !memcmp(&g->sin6_addr.s6_addr[12], &want->sin_addr, 4) &&
	       g->sin6_port == want->sin_port;
}

static bool expect(int i, const char *text, int sender, bool mapped)
{
	struct sockaddr_storage src;
	socklen_t len = sizeof(src);
	char buf[256];
	ssize_t n = recvfrom(s[i].fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&src,
			     &len);

	if (n < 0)
		return prog_fail("%s: no \"%s\" from the %s: %s", s[i].what, text, s[sender].what,
				 strerror(errno));
	buf[n] = 0;
	if (strcmp(buf, text))
		return prog_fail("%s: got \"%s\", expected \"%s\"", s[i].what, buf, text);
	return PROG_CHECK(from_sender(&src, sender, mapped), "%s: \"%s\" not from the %s",
			  s[i].what, text, s[sender].what);
}

static bool same_local(int i)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	if (getsockname(s[i].fd, (struct sockaddr *)&a, &len) || len != s[i].len ||
	    memcmp(&a, &s[i].addr, len))
		return prog_fail("%s: its local address changed", s[i].what);
	return true;
}

static void connect_to(int i, int to)
{
	struct sockaddr_storage dest;
	socklen_t len = dest_of(to, &dest);

	if (connect(s[i].fd, (struct sockaddr *)&dest, len))
		die(s[i].what);
	s[i].len = sizeof(s[i].addr);
	getsockname(s[i].fd, (struct sockaddr *)&s[i].addr, &s[i].len);
}

/* Joins @group on lo (with one source when @source, in INCLUDE mode). */
static void join(int i, int family, const char *group, const char *source)
{
	struct group_source_req req = { .gsr_interface = if_nametoindex("lo") };
	int level = family == AF_INET ? SOL_IP : SOL_IPV6;

	req.gsr_group.ss_family = family;
	inet_pton(family, group, family == AF_INET ?
		  (void *)&((struct sockaddr_in *)&req.gsr_group)->sin_addr :
		  (void *)&((struct sockaddr_in6 *)&req.gsr_group)->sin6_addr);
	if (source) {
		req.gsr_source.ss_family = AF_INET;
		inet_pton(AF_INET, source, &((struct sockaddr_in *)&req.gsr_source)->sin_addr);
	}
	if (setsockopt(s[i].fd, level, source ? MCAST_JOIN_SOURCE_GROUP : MCAST_JOIN_GROUP, &req,
		       source ? sizeof(req) : sizeof(struct group_req)))
		die(group);
}

/* @i's filter of @group on lo: its mode and number of sources, or -errno
 * when @i is not a member. */
static int membership(int i, int family, const char *group, uint32_t *mode)
{
	uint8_t buf[GROUP_FILTER_SIZE(4)];
	struct group_filter *gf = (struct group_filter *)buf;
	socklen_t len = sizeof(buf);

	memset(buf, 0, sizeof(buf));
	gf->gf_interface = if_nametoindex("lo");
	gf->gf_numsrc = 4;
	gf->gf_group.ss_family = family;
	inet_pton(family, group, family == AF_INET ?
		  (void *)&((struct sockaddr_in *)&gf->gf_group)->sin_addr :
		  (void *)&((struct sockaddr_in6 *)&gf->gf_group)->sin6_addr);
	if (getsockopt(s[i].fd, family == AF_INET ? SOL_IP : SOL_IPV6, MCAST_MSFILTER, gf, &len))
		return -errno;
	*mode = gf->gf_fmode;
	return (int)gf->gf_numsrc;
}

static void check_multicast(void)
{
	uint32_t mode = 0;

	PROG_CHECK(membership(ANY, AF_INET, "239.1.2.3", &mode) == 0 && mode == MCAST_EXCLUDE,
		   "239.1.2.3 joined no more");
	PROG_CHECK(membership(ANY, AF_INET, "232.1.1.1", &mode) == 1 && mode == MCAST_INCLUDE,
		   "232.1.1.1 from 127.0.0.1 joined no more");
	PROG_CHECK(membership(DUAL, AF_INET6, "ff15::1234", &mode) == 0, "ff15::1234 lost");
	PROG_CHECK(membership(DUAL, AF_INET, "239.1.2.5", &mode) == 0,
		   "the dual-stack socket's IPv4 group lost");
	PROG_CHECK(membership(DUAL, AF_INET, "239.1.2.3", &mode) == -EADDRNOTAVAIL,
		   "the dual-stack socket joined another socket's group");
}

static void set_up(void)
{
	struct timeval tv = { 1, 500000 };

	make(V6, AF_INET6, 0);
	set_int(V6, SOL_IPV6, IPV6_V6ONLY, 1);
	set_int(V6, SOL_IPV6, IPV6_UNICAST_HOPS, 7);
	set_int(V6, SOL_IPV6, IPV6_RECVPKTINFO, 1);
	set_int(V6, SOL_IPV6, IPV6_MULTICAST_IF, (int)if_nametoindex("lo"));
	bind_to(V6, "::1");
	make(V6_SENDER, AF_INET6, 0);
	bind_to(V6_SENDER, "::1");
	make(DUAL, AF_INET6, 0);
	set_int(DUAL, SOL_IPV6, IPV6_V6ONLY, 0);
	bind_to(DUAL, "::");
	make(V4_SENDER, AF_INET, 0);
	bind_to(V4_SENDER, "127.0.0.1");

	make(OPTS, AF_INET, 0);
	set_int(OPTS, SOL_SOCKET, SO_BROADCAST, 1);
	set_int(OPTS, SOL_SOCKET, SO_REUSEADDR, 1);
	set_int(OPTS, SOL_SOCKET, SO_MARK, 42);
	set_int(OPTS, SOL_SOCKET, SO_RCVBUF, 100000);
	set_int(OPTS, SOL_SOCKET, SO_SNDBUF, 50000);
	/* IP_TOS sets the priority too; SO_PRIORITY after it wins. */
	set_int(OPTS, SOL_IP, IP_TOS, 0x10);
	set_int(OPTS, SOL_SOCKET, SO_PRIORITY, 3);
	set_int(OPTS, SOL_IP, IP_TTL, 9);
	set_int(OPTS, SOL_IP, IP_PKTINFO, 1);
	set_int(OPTS, SOL_IP, IP_RECVTTL, 1);
	set_int(OPTS, SOL_IP, IP_FREEBIND, 1);
	set_int(OPTS, SOL_SOCKET, SO_TIMESTAMPING, TIMESTAMPING_FLAGS);
	/* SO_PRIORITY at a new socket's value, which restore's IP_TOS
	 * changes: it must be set again after. */
	make(TOS, AF_INET, 0);
	set_int(TOS, SOL_IP, IP_TOS, 0x10);
	set_int(TOS, SOL_SOCKET, SO_PRIORITY, 0);
	if (fchown(s[OPTS].fd, OWNER_UID, OWNER_GID))
		die("fchown");
	if (setsockopt(s[OPTS].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("SO_RCVTIMEO");

	make(ANY, AF_INET, 0);
	set_int(ANY, SOL_SOCKET, SO_REUSEPORT, 1);
	bind_to(ANY, "0.0.0.0");
	join(ANY, AF_INET, "239.1.2.3", NULL);
	join(ANY, AF_INET, "232.1.1.1", "127.0.0.1");
	join(DUAL, AF_INET6, "ff15::1234", NULL);
	join(DUAL, AF_INET, "239.1.2.5", NULL);

	make(SHUT_PEER, AF_INET, 0);
	bind_to(SHUT_PEER, "127.0.0.1");
	make(SHUT_RD_SOCK, AF_INET, 0);
	connect_to(SHUT_RD_SOCK, SHUT_PEER);
	make(SHUT_WR_SOCK, AF_INET, 0);
	connect_to(SHUT_WR_SOCK, SHUT_PEER);
	if (shutdown(s[SHUT_RD_SOCK].fd, SHUT_RD) || shutdown(s[SHUT_WR_SOCK].fd, SHUT_WR))
		die("shutdown");

	make(DEVICE, AF_INET, 0);
	if (setsockopt(s[DEVICE].fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2))
		die("SO_BINDTODEVICE");
	bind_to(DEVICE, "127.0.0.1");

	make(LITE, AF_INET, IPPROTO_UDPLITE);
	set_int(LITE, SOL_UDPLITE, UDPLITE_SEND_CSCOV, 20);
	bind_to(LITE, "127.0.0.1");
	make(LITE_SENDER, AF_INET, IPPROTO_UDPLITE);
	bind_to(LITE_SENDER, "127.0.0.1");

	make(PEEKING, AF_INET, 0);
	bind_to(PEEKING, "127.0.0.1");
	set_int(PEEKING, SOL_SOCKET, SO_PEEK_OFF, 0);

	send_to(V6_SENDER, V6, "v6 datagram");
	send_to(V4_SENDER, DUAL, "v4 to dual");
	send_to(V6_SENDER, DUAL, "v6 to dual");
	send_to(V4_SENDER, DEVICE, "through lo");
	send_to(LITE_SENDER, LITE, "lite datagram");
	send_to(V4_SENDER, PEEKING, "peek one");
	send_to(V4_SENDER, PEEKING, "peek two");
	send_to(V4_SENDER, ANY, "to any");
}

static void check_options(void)
{
	struct timeval tv = { 0 };
	socklen_t len = sizeof(tv);
	struct sockaddr_in a;
	struct stat st = { 0 };

	PROG_CHECK(get_int(V6, SOL_IPV6, IPV6_V6ONLY) == 1, "IPV6_V6ONLY lost");
	PROG_CHECK(get_int(V6, SOL_IPV6, IPV6_UNICAST_HOPS) == 7, "hop limit lost");
	PROG_CHECK(get_int(V6, SOL_IPV6, IPV6_RECVPKTINFO) == 1, "IPV6_RECVPKTINFO lost");
	PROG_CHECK(get_int(V6, SOL_IPV6, IPV6_MULTICAST_IF) == (int)if_nametoindex("lo"),
		   "IPV6_MULTICAST_IF lost");
	PROG_CHECK(get_int(OPTS, SOL_SOCKET, SO_TIMESTAMPING) == TIMESTAMPING_FLAGS,
		   "SO_TIMESTAMPING is %#x", get_int(OPTS, SOL_SOCKET, SO_TIMESTAMPING));
	PROG_CHECK(get_int(DUAL, SOL_IPV6, IPV6_V6ONLY) == 0, "dual stack lost");
	PROG_CHECK(get_int(OPTS, SOL_SOCKET, SO_BROADCAST) == 1, "SO_BROADCAST lost");
	PROG_CHECK(get_int(OPTS, SOL_SOCKET, SO_REUSEADDR) == 1, "SO_REUSEADDR lost");
	PROG_CHECK(get_int(OPTS, SOL_SOCKET, SO_PRIORITY) == 3, "SO_PRIORITY lost");
	PROG_CHECK(get_int(OPTS, SOL_SOCKET, SO_MARK) == 42, "SO_MARK lost");
	PROG_CHECK(get_int(OPTS, SOL_SOCKET, SO_RCVBUF) == 200000, "SO_RCVBUF is %d",
		   get_int(OPTS, SOL_SOCKET, SO_RCVBUF));
	PROG_CHECK(get_int(OPTS, SOL_SOCKET, SO_SNDBUF) == 100000, "SO_SNDBUF is %d",
		   get_int(OPTS, SOL_SOCKET, SO_SNDBUF));
	PROG_CHECK(get_int(OPTS, SOL_IP, IP_TOS) == 0x10, "IP_TOS lost");
	PROG_CHECK(get_int(TOS, SOL_IP, IP_TOS) == 0x10 && get_int(TOS, SOL_SOCKET, SO_PRIORITY) == 0,
		   "IP_TOS %#x and SO_PRIORITY %d, not 0x10 and 0", get_int(TOS, SOL_IP, IP_TOS),
		   get_int(TOS, SOL_SOCKET, SO_PRIORITY));
	PROG_CHECK(get_int(OPTS, SOL_IP, IP_TTL) == 9, "IP_TTL lost");
	PROG_CHECK(get_int(OPTS, SOL_IP, IP_PKTINFO) == 1, "IP_PKTINFO lost");
	PROG_CHECK(get_int(OPTS, SOL_IP, IP_RECVTTL) == 1, "IP_RECVTTL lost");
	PROG_CHECK(get_int(OPTS, SOL_IP, IP_FREEBIND) == 1, "IP_FREEBIND lost");
	getsockopt(s[OPTS].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
	PROG_CHECK(tv.tv_sec == 1 && tv.tv_usec == 500000, "SO_RCVTIMEO is %ld.%06ld",
		   (long)tv.tv_sec, (long)tv.tv_usec);
	len = sizeof(a);
	PROG_CHECK(getsockname(s[OPTS].fd, (struct sockaddr *)&a, &len) == 0 && a.sin_port == 0,
		   "the unbound socket got a port");
	PROG_CHECK(get_int(ANY, SOL_SOCKET, SO_REUSEPORT) == 1, "SO_REUSEPORT lost");
	PROG_CHECK(get_int(LITE, SOL_UDPLITE, UDPLITE_SEND_CSCOV) == 20, "UDP-lite coverage lost");
	PROG_CHECK(get_int(LITE, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_UDPLITE, "not UDP-lite");
	PROG_CHECK(get_int(PEEKING, SOL_SOCKET, SO_PEEK_OFF) == 0, "SO_PEEK_OFF is %d, was 0",
		   get_int(PEEKING, SOL_SOCKET, SO_PEEK_OFF));
	PROG_CHECK(get_int(OPTS, SOL_SOCKET, SO_PEEK_OFF) == -1, "SO_PEEK_OFF turned on");
	PROG_CHECK(!fstat(s[OPTS].fd, &st) && st.st_uid == OWNER_UID && st.st_gid == OWNER_GID,
		   "its owner is %u:%u, not %u:%u", st.st_uid, st.st_gid, OWNER_UID, OWNER_GID);
}

static void check_device(void)
{
	char dev[IFNAMSIZ] = "";
	socklen_t len = sizeof(dev);

	getsockopt(s[DEVICE].fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len);
	PROG_CHECK(!strcmp(dev, "lo"), "bound to device '%s', not lo", dev);
}

static void check_shutdown(void)
{
	struct pollfd pfd = { .fd = s[SHUT_RD_SOCK].fd, .events = POLLRDHUP };

	PROG_CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLRDHUP),
		   "the socket shut down for reading is not");
	PROG_CHECK(send(s[SHUT_WR_SOCK].fd, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
		   "the socket shut down for writing sends");
	PROG_CHECK(send(s[SHUT_RD_SOCK].fd, "y", 1, 0) == 1, "the other direction fails");
	expect(SHUT_PEER, "y", SHUT_RD_SOCK, false);
}

int main(int argc, char **argv)
{
	char buf[32];

	prog_init(argc, argv);
	set_up();
	prog_ready();
	prog_wait_sigterm();

	for (int i = 0; i < NR_SOCKS; i++)
		if (i != OPTS && i != TOS && i != SHUT_RD_SOCK && i != SHUT_WR_SOCK)
			same_local(i);
	check_options();
	check_device();
	check_shutdown();
	check_multicast();
	/* The peek offset was on: the first peek starts at the front. */
	PROG_CHECK(recv(s[PEEKING].fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) == 8,
		   "peek with SO_PEEK_OFF 0 did not show the first datagram");
	expect(V6, "v6 datagram", V6_SENDER, false);
	expect(DUAL, "v4 to dual", V4_SENDER, true);
	expect(DUAL, "v6 to dual", V6_SENDER, false);
	expect(DEVICE, "through lo", V4_SENDER, false);
	expect(LITE, "lite datagram", LITE_SENDER, false);
	expect(ANY, "to any", V4_SENDER, false);
	/* And they still carry new datagrams. */
	send_to(V4_SENDER, DUAL, "again");
	expect(DUAL, "again", V4_SENDER, true);
	send_to(LITE_SENDER, LITE, "lite again");
	expect(LITE, "lite again", LITE_SENDER, false);
	send_to(V6_SENDER, V6, "v6 again");
	expect(V6, "v6 again", V6_SENDER, false);
	prog_finish();
}
