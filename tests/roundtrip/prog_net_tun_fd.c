/* A program in a network namespace of its own (the runner unshares it)
 * holding tun/tap devices through its /dev/net/tun fds, none persistent:
 * the tap cft0 (MTU 1400, its own MAC address, 10.71.0.1/24, up) and the
 * multiqueue tun cfm0 (10.72.0.1/24, up) with two queues, the second
 * detached. After restore: each fd attached to its device with the same
 * flags and queue state; the devices as before; a frame written on the tap
 * fd counts in cft0's received packets; a datagram sent to 10.72.0.2 arrives on
 * the tun's attached queue and an ARP request for 10.71.0.2 on the tap's;
 * the detached queue attaches again; and cft0 goes with its last fd. Its
 * peer (peer_tun_namesake), outside the dump, holds a tap named cft0 too,
 * in a namespace of its own: the program waits for it before it is ready,
 * so that every dump meets a namesake held outside the tree. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <netinet/in.h>

#include "netdev_prog.h"
#include "prog.h"

static struct netdev devices[] = { { .name = "cft0" }, { .name = "cfm0" } };
#define NR_DEVICES (sizeof(devices) / sizeof(devices[0]))
#define ADDRS_CMD "ip -o -4 addr show | awk '{print $2, $4}' | sort"

static int tap_fd = -1, mq_fd = -1, detached_fd = -1;
static char addrs[1024];

static int tun_open(const char *name, short flags)
{
	struct ifreq ifr = { .ifr_flags = flags };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (!PROG_CHECK(fd >= 0 && !ioctl(fd, TUNSETIFF, &ifr), "attaching %s: %s", name,
			strerror(errno)))
		return -1;
	return fd;
}

/* Whether @fd is attached to @name with exactly @flags (TUNGETIFF's, but
 * its IFF_NOFILTER, which is IFF_NO_PI's bit: packet information is
 * checked by reading a packet). */
static bool tun_is(int fd, const char *name, short flags)
{
	struct ifreq ifr = { 0 };

	if (!PROG_CHECK(!ioctl(fd, TUNGETIFF, &ifr), "TUNGETIFF on %s: %s", name,
			strerror(errno)))
		return false;
	return PROG_CHECK(!strcmp(ifr.ifr_name, name) &&
			  (ifr.ifr_flags & ~IFF_NOFILTER) == (flags & ~IFF_NOFILTER),
			  "fd of %s: attached to %s with flags %#x, not %#x", name, ifr.ifr_name,
			  ifr.ifr_flags & ~IFF_NOFILTER, flags & ~IFF_NOFILTER);
}

/* The peer's DIR/peer-ready, within 5 s. */
static bool peer_ready(void)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/peer-ready", prog_dir());
	for (int i = 0; i < 500; i++) {
		if (!access(path, F_OK))
			return true;
		usleep(10000);
	}
	return PROG_CHECK(false, "the peer's namesake cft0 was not made within 5 s");
}

static bool setup(void)
{
	if (!peer_ready())
		return false;
	/* No IPv6: its router solicitations would queue packets on the fds. */
	if (!PROG_CHECK(!system("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"),
			"disabling IPv6"))
		return false;
	tap_fd = tun_open("cft0", IFF_TAP | IFF_NO_PI);
	mq_fd = tun_open("cfm0", IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE);
	detached_fd = tun_open("cfm0", IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE);
	if (tap_fd < 0 || mq_fd < 0 || detached_fd < 0)
		return false;
	if (!PROG_CHECK(!ioctl(detached_fd, TUNSETQUEUE,
			       &(struct ifreq){ .ifr_flags = IFF_DETACH_QUEUE }),
			"detaching a queue of cfm0: %s", strerror(errno)) ||
	    !PROG_CHECK(!system("ip link set lo up && "
				"ip link set cft0 mtu 1400 address 02:00:00:00:07:10 up && "
				"ip addr add 10.71.0.1/24 dev cft0 && "
				"ip link set cfm0 up && ip addr add 10.72.0.1/24 dev cfm0"),
			"configuring cft0 and cfm0") ||
	    !netdevs_read(devices, NR_DEVICES))
		return false;
	run_text(ADDRS_CMD, addrs, sizeof(addrs));
	return tun_is(detached_fd, "cfm0", IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE |
					   IFF_DETACH_QUEUE) &&
	       PROG_CHECK(strstr(addrs, "cft0 10.71.0.1/24") && strstr(addrs, "cfm0 10.72.0.1/24"),
			  "addresses: %s", addrs);
}

/* The device's received packets, from /proc/net/dev: /sys shows the
 * namespace it was mounted in, not the program's. */
static unsigned long rx_packets(const char *dev)
{
	char cmd[96], out[32];

	snprintf(cmd, sizeof(cmd), "awk '$1 == \"%s:\" { print $3 }' /proc/net/dev", dev);
	run_text(cmd, out, sizeof(out));
	return strtoul(out, NULL, 10);
}

/* The first packet read from @fd within 2 s: its length, or -1. */
static ssize_t read_packet(int fd, unsigned char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 2000) != 1)
		return -1;
	return read(fd, buf, size);
}

/* Sends 3 bytes of @payload to @addr from a UDP socket and reads the first
 * packet that then comes out of @fd: its length, or -1. */
static ssize_t send_then_read(const char *addr, const char *payload, int fd, unsigned char *pkt,
			      size_t size)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(7777) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool sent;

	inet_pton(AF_INET, addr, &to.sin_addr);
	sent = s >= 0 && sendto(s, payload, 3, 0, (struct sockaddr *)&to, sizeof(to)) == 3;
	PROG_CHECK(sent, "sending to %s: %s", addr, strerror(errno));
	if (s >= 0)
		close(s);
	return sent ? read_packet(fd, pkt, size) : -1;
}

/* A datagram to 10.72.0.2 goes out through cfm0's attached queue, with
 * no packet information before it. */
static void check_tun_receives(void)
{
	static const unsigned char dst[4] = { 10, 72, 0, 2 };
	unsigned char pkt[2048];
	ssize_t n = send_then_read("10.72.0.2", "tun", mq_fd, pkt, sizeof(pkt));

	PROG_CHECK(n == 20 + 8 + 3 && pkt[0] == 0x45 && pkt[9] == IPPROTO_UDP &&
		   !memcmp(pkt + 16, dst, 4) && !memcmp(pkt + 28, "tun", 3),
		   "cfm0's queue: no datagram to 10.72.0.2 (read %zd)", n);
}

/* A frame written on the tap fd is received by cft0; a datagram to
 * 10.71.0.2 makes cft0 ask for its MAC address on the fd. */
static void check_tap(void)
{
	static const unsigned char frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						 0x02, 0, 0, 0, 0x07, 0x99, 0x88, 0xb5 };
	static const unsigned char asked[4] = { 10, 71, 0, 2 };
	unsigned long before = rx_packets("cft0");
	unsigned char pkt[2048];
	ssize_t n;

	PROG_CHECK(write(tap_fd, frame, sizeof(frame)) == sizeof(frame), "writing on cft0: %s",
		   strerror(errno));
	PROG_CHECK(rx_packets("cft0") > before, "cft0's received packets did not grow from %lu",
		   before);
	n = send_then_read("10.71.0.2", "tap", tap_fd, pkt, sizeof(pkt));
	PROG_CHECK(n >= 42 && pkt[12] == 0x08 && pkt[13] == 0x06 && !memcmp(pkt + 38, asked, 4),
		   "cft0's queue: no ARP request for 10.71.0.2 (read %zd)", n);
}

static void check(void)
{
	const short mq = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;

	netdevs_check(devices, NR_DEVICES);
	same_text("addresses", ADDRS_CMD, addrs);
	tun_is(tap_fd, "cft0", IFF_TAP | IFF_NO_PI);
	tun_is(mq_fd, "cfm0", mq);
	tun_is(detached_fd, "cfm0", mq | IFF_DETACH_QUEUE);
	check_tun_receives();
	check_tap();
	PROG_CHECK(!ioctl(detached_fd, TUNSETQUEUE, &(struct ifreq){ .ifr_flags = IFF_ATTACH_QUEUE }),
		   "attaching cfm0's detached queue again: %s", strerror(errno));
	close(tap_fd);
	PROG_CHECK(!if_nametoindex("cft0"), "cft0 stays without its fd: it was not persistent");
}

int main(int argc, char **argv)
{
	return netdev_prog_main(argc, argv, setup, check);
}
