/* A program in a network namespace of its own (the runner unshares it)
 * with macvlans over devices inside: the veth pair cvd0 (MTU 1400, its own
 * MAC address, up, 10.61.0.1/24 and a route through 10.61.0.2) and cvd1
 * (down), the macvlan cmi0 over cvd0 (private mode, MTU 1300, its own MAC
 * address, up, 10.64.0.1/24) and the macvlan cmp0 over cvd1 (passthru
 * mode, nopromisc, down); the persistent tap ctp0 (no packet information,
 * virtio header, multiqueue, user 1234, group 5678, MTU 1450, its own MAC
 * address, up) and tun ctn0 (with packet information, down), which no
 * process holds; and per-device sysctls off their defaults, of
 * IPv4 and IPv6, of all, default, the loopback and the devices. (This
 * kernel has neither dummy nor ipvlan devices: the lower devices are
 * veths.) After restore:
 * every device with its kind, mode, lower device, MTU, MAC address and
 * state, the same addresses and routes, and every key of
 * net/ipv{4,6}/conf/ the same as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netdev_prog.h"
#include "prog.h"

static struct netdev devices[] = { { .name = "cvd0" }, { .name = "cvd1" }, { .name = "cmi0" },
				   { .name = "cmp0" }, { .name = "ctp0" }, { .name = "ctn0" } };
#define NR_DEVICES (sizeof(devices) / sizeof(devices[0]))

/* Each off its default; cvd0's arp_ignore is not, while default's is. */
static const char *const sysctls[][2] = {
	{ "net/ipv4/conf/cvd0/rp_filter", "2" },
	{ "net/ipv4/conf/cvd0/forwarding", "1" },
	{ "net/ipv6/conf/cvd0/disable_ipv6", "1" },
	{ "net/ipv6/conf/cmi0/forwarding", "1" },
	{ "net/ipv6/conf/cmi0/hop_limit", "33" },
	{ "net/ipv4/conf/cmi0/arp_announce", "2" },
	{ "net/ipv4/conf/lo/accept_local", "1" },
	{ "net/ipv4/conf/all/log_martians", "1" },
	{ "net/ipv4/conf/default/arp_ignore", "1" },
	{ "net/ipv6/conf/default/hop_limit", "44" },
};

/* Each device's name (with its lower device or peer), macvlan mode and
 * tun settings. */
#define LINKS_CMD "ip -d -o link show | awk -F': ' '{ m = match($0, " \
		  "/macvlan mode [a-z]+( nopromisc)?|tun type .* persist on( user [0-9]+)?" \
		  "( group [0-9]+)?/); print $2, m ? substr($0, RSTART, RLENGTH) : \"\" }' | sort"
/* linkdown follows the carrier, which comes a moment after a device is up. */
#define ROUTES_CMD \
	"ip -4 route show table all | grep -v '^local\\|^broadcast' | sed 's/ linkdown//'"
#define ADDRS_CMD "ip -o -4 addr show | awk '{print $2, $4}' | sort"
/* Every per-device key (stable_secret reads EIO while unset). */
#define CONF_CMD "cd /proc/sys/net && grep -r . ipv4/conf ipv6/conf 2>/dev/null | sort"

static char links[2048], addrs[1024], routes[1024], conf[1 << 16];

static bool write_sysctl(const char *name, const char *value)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	f = fopen(path, "w");
	if (!PROG_CHECK(f, "opening %s", path))
		return false;
	fprintf(f, "%s\n", value);
	return PROG_CHECK(!fclose(f), "writing %s to %s", value, path);
}

static bool setup(void)
{
	if (!PROG_CHECK(!system("ip link set lo up && "
				"ip link add cvd0 type veth peer name cvd1 && "
				"ip link set cvd0 mtu 1400 address 02:00:00:00:01:10 up && "
				"ip addr add 10.61.0.1/24 dev cvd0 && "
				"ip route add 10.62.0.0/24 via 10.61.0.2 && "
				"ip link add cmi0 link cvd0 type macvlan mode private && "
				"ip link set cmi0 mtu 1300 address 02:00:00:00:01:20 up && "
				"ip addr add 10.64.0.1/24 dev cmi0 && "
				"ip link add cmp0 link cvd1 type macvlan mode passthru "
				"nopromisc && "
				"ip tuntap add dev ctp0 mode tap user 1234 group 5678 vnet_hdr "
				"multi_queue && "
				"ip link set ctp0 mtu 1450 address 02:00:00:00:01:30 up && "
				"ip tuntap add dev ctn0 mode tun pi"),
			"making cvd0, cvd1, cmi0, cmp0, ctp0 and ctn0"))
		return false;
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		if (!write_sysctl(sysctls[i][0], sysctls[i][1]))
			return false;
	if (!netdevs_read(devices, NR_DEVICES))
		return false;
	run_text(LINKS_CMD, links, sizeof(links));
	run_text(ADDRS_CMD, addrs, sizeof(addrs));
	run_text(ROUTES_CMD, routes, sizeof(routes));
	run_text(CONF_CMD, conf, sizeof(conf));
	return PROG_CHECK(strstr(links, "cmi0@cvd0") && strstr(links, "macvlan mode private") &&
			  strstr(links, "cmp0@cvd1") && strstr(links, "passthru nopromisc") &&
			  strstr(links, "tun type tap pi off vnet_hdr on multi_queue") &&
			  strstr(links, "user 1234 group 5678") &&
			  strstr(links, "tun type tun pi on"), "links: %s", links) &&
	       PROG_CHECK(devices[0].up && !devices[1].up && devices[2].up && !devices[3].up &&
			  devices[4].up && !devices[5].up,
			  "devices not up or down as set");
}

static void check(void)
{
	static char now[1 << 16];

	netdevs_check(devices, NR_DEVICES);
	same_text("links", LINKS_CMD, links);
	same_text("addresses", ADDRS_CMD, addrs);
	same_text("routes", ROUTES_CMD, routes);
	run_text(CONF_CMD, now, sizeof(now));
	if (strcmp(now, conf)) {
		/* The first line that differs. */
		size_t at = 0;

		while (now[at] == conf[at])
			at++;
		while (at && now[at - 1] != '|')
			at--;
		prog_fail("per-device sysctls differ from: [%.120s] against [%.120s]", now + at,
			  conf + at);
	}
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		char line[160];

		snprintf(line, sizeof(line), "%s:%s|", sysctls[i][0] + 4, sysctls[i][1]);
		if (!strstr(now, line))
			prog_fail("%s is not %s", sysctls[i][0], sysctls[i][1]);
	}
}

int main(int argc, char **argv)
{
	return netdev_prog_main(argc, argv, setup, check);
}
