/* Helpers of the test programs with network devices in a namespace of
 * their own (prog_net_veth, prog_net_devices, prog_net_macvlan): a shell
 * command's output, a device's MTU, MAC address and state. */
#ifndef CRYO_TEST_NETDEV_PROG_H
#define CRYO_TEST_NETDEV_PROG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

/* The output of @cmd, at most @size - 1 bytes, its lines joined by '|'
 * (a failure's message is one line). */
static inline void run_text(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	for (char *nl = strchr(out, '\n'); nl; nl = strchr(nl, '\n'))
		*nl = '|';
	if (f)
		pclose(f);
}

/* The device's MTU, MAC address and IFF_UP, through ioctls. */
static inline bool device(const char *name, int *mtu, unsigned char mac[6], bool *up)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ok = s >= 0 && !ioctl(s, SIOCGIFMTU, &ifr);
	*mtu = ifr.ifr_mtu;
	ok = ok && !ioctl(s, SIOCGIFHWADDR, &ifr);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	ok = ok && !ioctl(s, SIOCGIFFLAGS, &ifr);
	*up = ifr.ifr_flags & IFF_UP;
	if (s >= 0)
		close(s);
	return ok;
}

/* A device as read before the dump. */
struct netdev {
	const char *name;
	int mtu;
	unsigned char mac[6];
	bool up;
};

/* Reads the state of each of @devs; false (said) when one is missing. */
static inline bool netdevs_read(struct netdev *devs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!PROG_CHECK(device(devs[i].name, &devs[i].mtu, devs[i].mac, &devs[i].up),
				"%s is missing", devs[i].name))
			return false;
	return true;
}

/* Checks that each of @devs is as read before. */
static inline void netdevs_check(const struct netdev *devs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char mac[6];
		int mtu = 0;
		bool up = false;

		if (!PROG_CHECK(device(devs[i].name, &mtu, mac, &up), "%s is gone", devs[i].name))
			continue;
		PROG_CHECK(mtu == devs[i].mtu, "%s: MTU %d, not %d", devs[i].name, mtu,
			   devs[i].mtu);
		PROG_CHECK(up == devs[i].up, "%s is %s", devs[i].name, up ? "up" : "down");
		PROG_CHECK(!memcmp(mac, devs[i].mac, 6), "%s: another MAC address", devs[i].name);
	}
}

/* Checks that @cmd still prints @before. */
static inline void same_text(const char *what, const char *cmd, const char *before)
{
	static char now[4096];

	run_text(cmd, now, sizeof(now));
	PROG_CHECK(!strcmp(now, before), "%s differ: [%s] against [%s]", what, now, before);
}

/* The main of such a program: @setup, ready, SIGTERM, @check. */
static inline int netdev_prog_main(int argc, char **argv, bool (*setup)(void),
				   void (*check)(void))
{
	prog_init(argc, argv);
	if (!setup())
		prog_finish();
	prog_ready();
	prog_wait_sigterm();
	check();
	prog_finish();
}

#endif
