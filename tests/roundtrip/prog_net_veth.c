/* A program in a network namespace of its own (the runner unshares it)
 * with veth devices: the pair cv0/cv1, both ends inside (cv0 with MTU
 * 1400, its own MAC address, up, 10.56.0.1/24; cv1 up, a port of the
 * bridge cbr0, which has settings of its own, 10.59.0.1/24), and cvi, whose
 * peer cryo-vo0 is outside, made by peer_veth (restored with --external
 * veth[cvi]:cryo-vo0): MTU 1450, its own MAC address, up, 10.55.0.2/24
 * and a route through the peer's 10.55.0.1. A UDP socket on 10.55.0.2
 * has its datagram echoed by the peer before the dump. After restore:
 * every device with its MTU, MAC address and state, cv1 in cbr0 with its
 * settings, the same addresses and routes, and a datagram echoed across
 * the veth again. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netdev_prog.h"
#include "prog.h"

#define PEER_PORT 47400

#define BRIDGE_CMD "ip -d link show cbr0 | grep -o 'forward_delay [0-9]* .*priority [0-9]*'; " \
		   "ip -o link show master cbr0 | cut -d' ' -f2"

static struct netdev devices[] = { { .name = "cv0" }, { .name = "cv1" }, { .name = "cvi" },
				   { .name = "cbr0" } };
#define NR_DEVICES (sizeof(devices) / sizeof(devices[0]))

static int sk;
static char addrs[2048], routes[2048], bridge[512];

/* linkdown is the state of the outer end, which peer_veth brings up again
 * a little after each restore, not something restored. */
#define ROUTES_CMD \
	"ip -4 route show table all | grep -v '^local\\|^broadcast' | sed 's/ linkdown//'"

/* Sends a datagram to the peer every 100 ms until it comes back (5 s). */
static bool echoed(const char *what)
{
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(PEER_PORT) };
	char buf[64];

	peer.sin_addr.s_addr = htonl(0x0a370001);
	for (int i = 0; i < 50; i++) {
		struct pollfd pfd = { .fd = sk, .events = POLLIN };

		sendto(sk, what, strlen(what), 0, (struct sockaddr *)&peer, sizeof(peer));
		if (poll(&pfd, 1, 100) == 1 && recv(sk, buf, sizeof(buf), 0) == (ssize_t)strlen(what) &&
		    !memcmp(buf, what, strlen(what)))
			return true;
	}
	return prog_fail("%s: no echo from the peer across the veth", what);
}

static bool setup(void)
{
	struct sockaddr_in local = { .sin_family = AF_INET };
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/early-pid", prog_dir());
	if (!PROG_CHECK(!system("ip link set lo up && ip link add cv0 type veth peer name cv1 && "
				"ip link set cv0 mtu 1400 address 02:00:00:00:00:10 up && "
				"ip link set cv1 up && ip addr add 10.56.0.1/24 dev cv0 && "
				"ip link add cbr0 type bridge forward_delay 700 ageing_time 12000 "
				"priority 7 && ip link set cv1 master cbr0 && ip link set cbr0 up && "
				"ip addr add 10.59.0.1/24 dev cbr0"),
			"making cv0, cv1 and cbr0"))
		return false;
	f = fopen(path, "w");
	if (!PROG_CHECK(f, "writing %s", path))
		return false;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	/* The peer moves cvi in. */
	for (int i = 0; i < 500 && !if_nametoindex("cvi"); i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (!PROG_CHECK(if_nametoindex("cvi"), "the peer did not move cvi in") ||
	    !PROG_CHECK(!system("ip link set cvi mtu 1450 address 02:00:00:00:00:20 up && "
				"ip addr add 10.55.0.2/24 dev cvi && "
				"ip route add 10.58.0.0/24 via 10.55.0.1"), "setting cvi up"))
		return false;
	if (!netdevs_read(devices, NR_DEVICES))
		return false;
	for (size_t i = 0; i < NR_DEVICES; i++)
		if (!PROG_CHECK(devices[i].up, "%s is not up", devices[i].name))
			return false;
	PROG_CHECK(devices[0].mtu == 1400 && devices[2].mtu == 1450, "MTUs not set");
	local.sin_addr.s_addr = htonl(0x0a370002);
	sk = socket(AF_INET, SOCK_DGRAM, 0);
	if (!PROG_CHECK(sk >= 0 && !bind(sk, (struct sockaddr *)&local, sizeof(local)),
			"binding 10.55.0.2: %s", strerror(errno)) || !echoed("before the dump"))
		return false;
	run_text("ip -o -4 addr show | awk '{print $2, $4}' | sort", addrs, sizeof(addrs));
	run_text(ROUTES_CMD, routes, sizeof(routes));
	run_text(BRIDGE_CMD, bridge, sizeof(bridge));
	return PROG_CHECK(strstr(bridge, "cv1") && strstr(bridge, "priority 7"), "bridge: %s",
			  bridge);
}

static void check(void)
{
	netdevs_check(devices, NR_DEVICES);
	same_text("bridge", BRIDGE_CMD, bridge);
	same_text("addresses", "ip -o -4 addr show | awk '{print $2, $4}' | sort", addrs);
	same_text("routes", ROUTES_CMD, routes);
	echoed("after the restore");
}

int main(int argc, char **argv)
{
	return netdev_prog_main(argc, argv, setup, check);
}
