/* Round-trip program, in a network namespace of its own (lo up, ping
 * sockets allowed): socket filters and IP-level filters. A UDP socket
 * whose classic filter drops one sender port, with a datagram from that
 * port queued before the filter came; a UDP socket, a TCP listener, an
 * established connection (one end's filter inherited from the listener),
 * a ping socket, a raw ICMP socket and a unix datagram socket with a
 * filter, some locked (SO_LOCK_FILTER); a UDP socket with IP_OPTIONS; a
 * raw ICMPv6 socket whose ICMP6_FILTER passes echo replies only. After
 * restore: SO_GET_FILTER, the locks, the options as before, the early
 * datagram still queued, the filter still drops the port while another
 * sender gets through, data crosses the connection and a ping is answered. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "prog.h"

enum { FILTERED, BANNED, ALLOWED, LOCKED, LISTENER, RAW, UNIX_A, UNIX_B, OPTS, ICMP6, CLIENT,
       SERVER, PING, NR_FDS };

static const char *const names[NR_FDS] = {
	[FILTERED] = "UDP socket with a port filter", [BANNED] = "banned sender",
	[ALLOWED] = "allowed sender", [LOCKED] = "UDP socket with a locked filter",
	[LISTENER] = "TCP listener with a filter", [RAW] = "raw ICMP socket with a filter",
	[UNIX_A] = "unix socket with a locked filter", [UNIX_B] = "unix peer",
	[OPTS] = "UDP socket with IP_OPTIONS", [ICMP6] = "raw ICMPv6 socket",
	[CLIENT] = "TCP client with a locked filter", [SERVER] = "accepted TCP socket",
	[PING] = "ping socket with a filter",
};

static int fds[NR_FDS];
static struct sock_filter port_filter[4];
/* Takes every packet, whole. */
static struct sock_filter take_all[] = { BPF_STMT(BPF_RET | BPF_K, 0xffffffff) };
/* Takes the first 64 bytes of each. */
static struct sock_filter take_64[] = { BPF_STMT(BPF_RET | BPF_K, 64) };
/* Takes the first 256 KiB of each: all of a TCP segment. */
static struct sock_filter take_256k[] = { BPF_STMT(BPF_RET | BPF_K, 0x40000) };
static const uint8_t ip_opts[8] = { IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP,
				    IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_END };
static struct icmp6_filter icmp6_filter;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_sock_filter: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		die("getsockname");
	return ntohs(a.sin_port);
}

static void attach(int i, struct sock_filter *insns, unsigned short n, bool lock)
{
	struct sock_fprog prog = { .len = n, .filter = insns };
	int one = 1;

	if (setsockopt(fds[i], SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    (lock && setsockopt(fds[i], SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one))))
		die(names[i]);
}

static void send_to(int from, int to, const char *msg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port_of(fds[to])),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (sendto(fds[from], msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a)) < 0)
		die(names[from]);
}

/* lo up, and ping sockets for group 0, in the program's namespace. */
static void set_up_namespace(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);

	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		die("lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("lo up");
	if (fd < 0 || write(fd, "0 0", 3) != 3)
		die("ping_group_range");
	close(fd);
	close(s);
}

/* A connection to the listener, both ends here: the accepted end inherits
 * the listener's filter. */
static void connect_pair(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port_of(fds[LISTENER])),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	fds[CLIENT] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[CLIENT] < 0 || connect(fds[CLIENT], (struct sockaddr *)&a, sizeof(a)))
		die(names[CLIENT]);
	fds[SERVER] = accept(fds[LISTENER], NULL, NULL);
	if (fds[SERVER] < 0)
		die(names[SERVER]);
}

static void set_up(void)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int sv[2];

	set_up_namespace();
	fds[PING] = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);

	for (int i = FILTERED; i <= LOCKED; i++)
		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
	fds[LISTENER] = socket(AF_INET, SOCK_STREAM, 0);
	fds[RAW] = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	fds[OPTS] = socket(AF_INET, SOCK_DGRAM, 0);
	fds[ICMP6] = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		die("socketpair");
	fds[UNIX_A] = sv[0];
	fds[UNIX_B] = sv[1];
	for (int i = 0; i < NR_FDS; i++)
		if (fds[i] < 0 && i != CLIENT && i != SERVER)
			die(names[i]);
	for (int i = FILTERED; i <= LISTENER; i++)
		if (bind(fds[i], (struct sockaddr *)&lo, sizeof(lo)))
			die(names[i]);
	if (listen(fds[LISTENER], 4))
		die(names[LISTENER]);
	/* Queued before the filter: restore must not filter it away. */
	send_to(BANNED, FILTERED, "early");
	/* UDP: the filter sees the UDP header first; its source port. */
	port_filter[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0);
	port_filter[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      port_of(fds[BANNED]), 0, 1);
	port_filter[2] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	port_filter[3] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffff);
	attach(FILTERED, port_filter, 4, false);
	attach(LOCKED, take_all, 1, true);
	attach(LISTENER, take_256k, 1, false);
	connect_pair();
	attach(CLIENT, take_all, 1, true);
	attach(PING, take_64, 1, false);
	attach(RAW, take_64, 1, true);
	attach(UNIX_A, take_all, 1, true);
	if (send(fds[UNIX_B], "unix", 4, 0) != 4)
		die(names[UNIX_B]);
	if (setsockopt(fds[OPTS], SOL_IP, IP_OPTIONS, ip_opts, sizeof(ip_opts)))
		die(names[OPTS]);
	ICMP6_FILTER_SETBLOCKALL(&icmp6_filter);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &icmp6_filter);
	if (setsockopt(fds[ICMP6], SOL_ICMPV6, ICMP6_FILTER, &icmp6_filter,
		       sizeof(icmp6_filter)))
		die(names[ICMP6]);
}

static bool same_filter(int i, const struct sock_filter *insns, socklen_t n, int locked)
{
	struct sock_filter got[8];
	socklen_t len = 8;
	int lock = -1;
	socklen_t lock_len = sizeof(lock);

	if (getsockopt(fds[i], SOL_SOCKET, SO_GET_FILTER, got, &len))
		return prog_fail("%s: SO_GET_FILTER: %s", names[i], strerror(errno));
	if (len != n || memcmp(got, insns, n * sizeof(*got)))
		return prog_fail("%s: its filter is not the one attached (%u instructions)",
				 names[i], len);
	getsockopt(fds[i], SOL_SOCKET, SO_LOCK_FILTER, &lock, &lock_len);
	return PROG_CHECK(lock == locked, "%s: SO_LOCK_FILTER is %d, not %d", names[i], lock,
			  locked);
}

/* An echo request through the ping socket is answered through its filter. */
static bool ping_answered(void)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct icmphdr req = { .type = ICMP_ECHO, .un.echo.sequence = htons(5) };
	struct icmphdr reply = { 0 };
	struct timeval tv = { 2, 0 };

	setsockopt(fds[PING], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fds[PING], &req, sizeof(req), 0, (struct sockaddr *)&lo, sizeof(lo)) !=
	    sizeof(req))
		return prog_fail("%s: cannot send: %s", names[PING], strerror(errno));
	if (recv(fds[PING], &reply, sizeof(reply), 0) != sizeof(reply))
		return prog_fail("%s: no echo reply: %s", names[PING], strerror(errno));
	return PROG_CHECK(reply.type == ICMP_ECHOREPLY && reply.un.echo.sequence == htons(5),
			  "%s: the reply is not ours", names[PING]);
}

static bool receives(int i, const char *want, int flags)
{
	struct timeval tv = { 2, 0 };
	char buf[64] = "";
	ssize_t n;

	setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fds[i], buf, sizeof(buf) - 1, flags);
	if (n < 0)
		return prog_fail("%s: nothing to read, not \"%s\": %s", names[i], want,
				 strerror(errno));
	buf[n] = '\0';
	return PROG_CHECK(!strcmp(buf, want), "%s: read \"%s\", not \"%s\"", names[i], buf, want);
}

/* The port filter still drops the banned sender: what comes after the
 * early datagram is the allowed sender's, and nothing more. */
static void port_filter_works(void)
{
	char c;

	receives(FILTERED, "early", 0);
	send_to(BANNED, FILTERED, "late");
	send_to(ALLOWED, FILTERED, "ok");
	receives(FILTERED, "ok", 0);
	PROG_CHECK(recv(fds[FILTERED], &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
		   "%s: more than the allowed datagram came", names[FILTERED]);
}

int main(int argc, char **argv)
{
	uint8_t opts[40];
	struct icmp6_filter f6;
	socklen_t len = sizeof(opts);
	int one = 1;

	prog_init(argc, argv);
	set_up();
	prog_ready();
	prog_wait_sigterm();

	same_filter(FILTERED, port_filter, 4, 0);
	same_filter(LOCKED, take_all, 1, 1);
	same_filter(LISTENER, take_256k, 1, 0);
	same_filter(SERVER, take_256k, 1, 0);
	same_filter(CLIENT, take_all, 1, 1);
	same_filter(PING, take_64, 1, 0);
	same_filter(RAW, take_64, 1, 1);
	same_filter(UNIX_A, take_all, 1, 1);
	same_filter(UNIX_B, NULL, 0, 0);
	PROG_CHECK(setsockopt(fds[LOCKED], SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof(one)) &&
		   errno == EPERM, "%s: its filter came off", names[LOCKED]);
	receives(UNIX_A, "unix", 0);
	if (getsockopt(fds[OPTS], SOL_IP, IP_OPTIONS, opts, &len))
		prog_fail("IP_OPTIONS: %s", strerror(errno));
	else
		PROG_CHECK(len == sizeof(ip_opts) && !memcmp(opts, ip_opts, len),
			   "IP_OPTIONS: %u bytes, not the ones set", len);
	len = sizeof(f6);
	if (getsockopt(fds[ICMP6], SOL_ICMPV6, ICMP6_FILTER, &f6, &len))
		prog_fail("ICMP6_FILTER: %s", strerror(errno));
	else
		PROG_CHECK(!memcmp(&f6, &icmp6_filter, sizeof(f6)), "ICMP6_FILTER changed");
	port_filter_works();
	if (send(fds[CLIENT], "tcp", 3, 0) == 3)
		receives(SERVER, "tcp", 0);
	else
		prog_fail("%s: cannot send: %s", names[CLIENT], strerror(errno));
	ping_answered();
	prog_finish();
}
