/* A program in a network namespace of its own (the runner unshares it)
 * with the macvlan cmv0 over cryo-mvp0, a device outside it, made by
 * peer_macvlan (restored with --external macvlan[cmv0]:cryo-mvp0): bridge
 * mode, MTU 1400, its own MAC address, up, 10.65.0.2/24 and a route
 * through 10.65.0.1. After restore: its mode, lower device, MTU, MAC
 * address and state, the same addresses and routes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netdev_prog.h"
#include "prog.h"

static struct netdev devices[] = { { .name = "cmv0" } };

/* The lower device shows as @ifN, N its index in the runner's namespace. */
#define LINKS_CMD "ip -d -o link show | sed 's/^[0-9]*: //' | " \
		  "grep -o '^[^:]*\\|macvlan mode [a-z]*'"
#define ROUTES_CMD "ip -4 route show table all | grep -v '^local\\|^broadcast'"
#define ADDRS_CMD "ip -o -4 addr show | awk '{print $2, $4}' | sort"

static char links[1024], addrs[1024], routes[1024];

static bool setup(void)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/early-pid", prog_dir());
	f = fopen(path, "w");
	if (!PROG_CHECK(f, "writing %s", path))
		return false;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	for (int i = 0; i < 500 && !if_nametoindex("cmv0"); i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (!PROG_CHECK(if_nametoindex("cmv0"), "the peer did not make cmv0") ||
	    !PROG_CHECK(!system("ip link set lo up && "
				"ip link set cmv0 mtu 1400 address 02:00:00:00:02:10 up && "
				"ip addr add 10.65.0.2/24 dev cmv0 && "
				"ip route add 10.66.0.0/24 via 10.65.0.1"),
			"setting cmv0 up"))
		return false;
	if (!netdevs_read(devices, 1) || !PROG_CHECK(devices[0].up, "cmv0 is not up"))
		return false;
	run_text(LINKS_CMD, links, sizeof(links));
	run_text(ADDRS_CMD, addrs, sizeof(addrs));
	run_text(ROUTES_CMD, routes, sizeof(routes));
	return PROG_CHECK(strstr(links, "cmv0@if") && strstr(links, "macvlan mode bridge"),
			  "links: %s", links);
}

static void check(void)
{
	netdevs_check(devices, 1);
	same_text("links", LINKS_CMD, links);
	same_text("addresses", ADDRS_CMD, addrs);
	same_text("routes", ROUTES_CMD, routes);
}

int main(int argc, char **argv)
{
	return netdev_prog_main(argc, argv, setup, check);
}
