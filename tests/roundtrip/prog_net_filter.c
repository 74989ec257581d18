/* A program in a network namespace of its own (the runner unshares it)
 * with neighbour entries set by hand (ip neigh add: permanent, IPv4 and
 * IPv6, on a veth of a pair inside) and an nftables ruleset whose input
 * chain drops UDP to port 47501 and TCP to port 47500 (nft -f). After
 * restore: `ip neigh show nud permanent` and `nft list ruleset` show the
 * same, a datagram to 47501 is dropped while one to 47502 arrives, and a
 * connection to a listener on 47500 gets no answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define RULESET \
	"table inet cryo_filter {\n" \
	"	set blocked { type inet_service; elements = { 47501 } }\n" \
	"	chain input {\n" \
	"		type filter hook input priority filter; policy accept;\n" \
	"		udp dport @blocked drop\n" \
	"		tcp dport 47500 drop\n" \
	"	}\n" \
	"}\n"
#define NEIGH_CMD "ip neigh show nud permanent; ip -6 neigh show nud permanent"

static int udp_rx_blocked, udp_rx_open, udp_tx, listener;
static char neigh[1024], ruleset[4096];

static void run_text(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	if (f)
		pclose(f);
}

static int bound(int type, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, type, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    (type == SOCK_STREAM && listen(s, 4)))
		return -1;
	return s;
}

/* Whether a datagram to @port reaches @rx within 300 ms. */
static bool arrives(int rx, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd pfd = { .fd = rx, .events = POLLIN };
	char buf[16];

	sendto(udp_tx, "x", 1, 0, (struct sockaddr *)&a, sizeof(a));
	return poll(&pfd, 1, 300) == 1 && recv(rx, buf, sizeof(buf), 0) == 1;
}

/* Whether a connection to the listener on 47500 is answered within 300 ms. */
static bool tcp_answered(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(47500),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct pollfd pfd = { .fd = s, .events = POLLOUT };
	bool answered = s >= 0 && (!connect(s, (struct sockaddr *)&a, sizeof(a)) ||
				   (errno == EINPROGRESS && poll(&pfd, 1, 300) == 1));

	if (s >= 0)
		close(s);
	return answered;
}

static bool filtering(const char *when)
{
	return PROG_CHECK(!arrives(udp_rx_blocked, 47501), "%s: UDP to 47501 got through", when) &&
	       PROG_CHECK(arrives(udp_rx_open, 47502), "%s: UDP to 47502 was dropped", when) &&
	       PROG_CHECK(!tcp_answered(), "%s: TCP to 47500 was answered", when);
}

static bool setup(void)
{
	FILE *f;

	if (!PROG_CHECK(!system("ip link set lo up && ip link add cf0 type veth peer name cf1 && "
				"ip link set cf0 up && ip link set cf1 up && "
				"ip addr add 10.60.0.1/24 dev cf0 && "
				"ip neigh add 10.60.0.9 lladdr 02:00:00:00:00:99 dev cf0 nud permanent && "
				"ip -6 neigh add fd00::9 lladdr 02:00:00:00:00:98 dev cf0 nud permanent"),
			"making cf0 and its neighbours"))
		return false;
	f = popen("nft -f -", "w");
	if (!PROG_CHECK(f && fputs(RULESET, f) >= 0 && !pclose(f), "loading the ruleset"))
		return false;
	udp_rx_blocked = bound(SOCK_DGRAM, 47501);
	udp_rx_open = bound(SOCK_DGRAM, 47502);
	udp_tx = socket(AF_INET, SOCK_DGRAM, 0);
	listener = bound(SOCK_STREAM, 47500);
	if (!PROG_CHECK(udp_rx_blocked >= 0 && udp_rx_open >= 0 && udp_tx >= 0 && listener >= 0,
			"sockets: %s", strerror(errno)))
		return false;
	run_text(NEIGH_CMD, neigh, sizeof(neigh));
	run_text("nft list ruleset", ruleset, sizeof(ruleset));
	return PROG_CHECK(strstr(neigh, "02:00:00:00:00:99") && strstr(neigh, "fd00::9"),
			  "neighbours: %s", neigh) &&
	       filtering("before the dump");
}

int main(int argc, char **argv)
{
	char now[4096];

	prog_init(argc, argv);
	if (!setup())
		prog_finish();
	prog_ready();
	prog_wait_sigterm();
	run_text(NEIGH_CMD, now, sizeof(now));
	PROG_CHECK(!strcmp(now, neigh), "neighbours: [%s] against [%s]", now, neigh);
	run_text("nft list ruleset", now, sizeof(now));
	PROG_CHECK(!strcmp(now, ruleset), "ruleset: [%s] against [%s]", now, ruleset);
	filtering("after the restore");
	prog_finish();
}
