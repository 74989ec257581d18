/* A program in a network namespace of its own (the runner unshares it)
 * with veth devices: the pair cv0/cv1, both ends inside (cv0 with MTU
 * 1400, its own MAC address, up, 10.56.0.1/24; cv1 up), and cvi, whose
 * peer cryo-vo0 is outside, made by peer_veth (restored with --external
 * veth[cvi]:cryo-vo0): MTU 1450, its own MAC address, up, 10.55.0.2/24
 * and a route through the peer's 10.55.0.1. A UDP socket on 10.55.0.2
 * has its datagram echoed by the peer before the dump. After restore:
 * every device with its MTU, MAC address and state, the same addresses
 * and routes, and a datagram echoed across the veth again. */
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

#include "prog.h"

#define PEER_PORT 47400

static const struct {
	const char *name;
	int mtu;
	unsigned char mac[6];	/* all zero: the kernel's */
} devices[] = {
	{ "cv0", 1400, { 0x02, 0, 0, 0, 0, 0x10 } },
	{ "cv1", 1500, { 0 } },
	{ "cvi", 1450, { 0x02, 0, 0, 0, 0, 0x20 } },
};

static int sk;
static unsigned char kernel_mac[6];	/* cv1's, chosen by the kernel */
static char addrs[2048], routes[2048];

static void run_text(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	if (f)
		pclose(f);
}

/* The device's MTU, MAC address and IFF_UP, through ioctls. */
static bool device(const char *name, int *mtu, unsigned char mac[6], bool *up)
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
	int mtu;
	bool up;

	snprintf(path, sizeof(path), "%s/early-pid", prog_dir());
	if (!PROG_CHECK(!system("ip link set lo up && ip link add cv0 type veth peer name cv1 && "
				"ip link set cv0 mtu 1400 address 02:00:00:00:00:10 up && "
				"ip link set cv1 up && ip addr add 10.56.0.1/24 dev cv0"),
			"making cv0 and cv1"))
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
	device("cv1", &mtu, kernel_mac, &up);
	local.sin_addr.s_addr = htonl(0x0a370002);
	sk = socket(AF_INET, SOCK_DGRAM, 0);
	if (!PROG_CHECK(sk >= 0 && !bind(sk, (struct sockaddr *)&local, sizeof(local)),
			"binding 10.55.0.2: %s", strerror(errno)) || !echoed("before the dump"))
		return false;
	run_text("ip -o -4 addr show | awk '{print $2, $4}'", addrs, sizeof(addrs));
	run_text("ip -4 route show table all | grep -v '^local\\|^broadcast'", routes,
		 sizeof(routes));
	return true;
}

static void check(void)
{
	char now[2048];

	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		static const unsigned char zero[6];
		unsigned char mac[6];
		int mtu = 0;
		bool up = false;

		if (!PROG_CHECK(device(devices[i].name, &mtu, mac, &up), "%s is gone",
				devices[i].name))
			continue;
		PROG_CHECK(mtu == devices[i].mtu, "%s: MTU %d", devices[i].name, mtu);
		PROG_CHECK(up, "%s is down", devices[i].name);
		PROG_CHECK(!memcmp(mac, memcmp(devices[i].mac, zero, 6) ? devices[i].mac :
					kernel_mac, 6), "%s: another MAC address", devices[i].name);
	}
	run_text("ip -o -4 addr show | awk '{print $2, $4}'", now, sizeof(now));
	PROG_CHECK(!strcmp(now, addrs), "addresses differ: [%s] against [%s]", now, addrs);
	run_text("ip -4 route show table all | grep -v '^local\\|^broadcast'", now, sizeof(now));
	PROG_CHECK(!strcmp(now, routes), "routes differ: [%s] against [%s]", now, routes);
	echoed("after the restore");
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	if (!setup())
		prog_finish();
	prog_ready();
	prog_wait_sigterm();
	check();
	prog_finish();
}
