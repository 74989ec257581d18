/* A program started in a network namespace of its own (the table of test
 * programs has the runner unshare it before exec) holding what cryo does
 * not restore in one yet, as NEG_NETNS says (set up with ip(8) or nft(8)):
 * "device", an ifb device; "tunfd", a tap that the program's open
 * /dev/net/tun holds, with a packet (an ARP request) queued on it; "tunout",
 * a tap held by a process outside the tree (a grandchild left to the
 * runner); "tunlink", a persistent tap of another link type (TUNSETLINK);
 * "tuncarrier", a tap the program holds with its carrier turned off;
 * "nexthop", a nexthop object and a route through it;
 * "nft", an nftables table owned by a process (flags owner). A
 * dump must refuse it by name, before any parasite runs in it. On SIGTERM
 * it checks that it is still in that namespace. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

/* A datagram to @addr: on a tap, its ARP request queues on the fd. */
static int send_udp(const char *addr)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int ret = s < 0 || inet_pton(AF_INET, addr, &to.sin_addr) != 1 ||
		  sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) != 1;

	if (s >= 0)
		close(s);
	return ret ? -1 : 0;
}

/* A grandchild, left to the runner when its parent exits, holds tap
 * cryo-t2 until it is ended; 0 once it does, -1 on failure. */
static int tun_held_outside(void)
{
	int ready[2], status;
	char c;
	pid_t child;

	if (pipe(ready) || (child = fork()) < 0)
		return -1;
	if (!child) {
		if (fork() == 0) {
			struct ifreq ifr = { .ifr_name = "cryo-t2", .ifr_flags = IFF_TAP };
			int tun = open("/dev/net/tun", O_RDWR);

			if (tun >= 0 && !ioctl(tun, TUNSETIFF, &ifr))
				(void)!write(ready[1], "y", 1);
			for (;;)
				pause();
		}
		_exit(0);
	}
	close(ready[1]);
	if (waitpid(child, &status, 0) != child || read(ready[0], &c, 1) != 1)
		return -1;
	close(ready[0]);
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct stat start, now, parent;
	char path[64];
	static const char *const setups[][2] = {
		{ "device", "ip link add cryo-t0 type ifb" },
		/* Taps that an fd holds, made below; no IPv6, so that only
		 * the ARP request asked for is queued. */
		{ "tunfd", "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6" },
		{ "tunout", "true" },
		/* A persistent tap of another link type, made below. */
		{ "tunlink", "true" },
		/* A tap the program's fd holds, its carrier turned off. */
		{ "tuncarrier", "true" },
		{ "nexthop", "ip link set lo up && ip nexthop add id 7 dev lo && "
			     "ip route add 10.8.0.0/16 nhid 7" },
		/* Owned by an nft left running outside the tree, until the
		 * runner ends it. */
		{ "nft", "(echo 'add table inet cryo_neg { flags owner; }'; exec sleep 1000) | "
			 "nft -i >/dev/null 2>&1 & for i in $(seq 200); do "
			 "nft list tables | grep -q cryo_neg && exit 0; sleep 0.05; done; exit 1" },
	};
	const char *what = getenv("NEG_NETNS");
	sigset_t term;
	size_t i;

	prog_init(argc, argv);
	for (i = 0; what && i < sizeof(setups) / sizeof(setups[0]); i++)
		if (!strcmp(what, setups[i][0]))
			break;
	if (!what || i == sizeof(setups) / sizeof(setups[0]) || system(setups[i][1]))
		return 1;
	if (!strcmp(what, "tunfd")) {
		struct ifreq ifr = { .ifr_name = "cryo-t1", .ifr_flags = IFF_TAP | IFF_NO_PI };
		struct pollfd queued = { .events = POLLIN };

		queued.fd = open("/dev/net/tun", O_RDWR);
		if (queued.fd < 0 || ioctl(queued.fd, TUNSETIFF, &ifr) ||
		    system("ip link set cryo-t1 up && ip addr add 10.9.0.1/24 dev cryo-t1") ||
		    send_udp("10.9.0.2") || poll(&queued, 1, 2000) != 1)
			return 1;
	}
	if (!strcmp(what, "tunout") && tun_held_outside() < 0)
		return 1;
	if (!strcmp(what, "tuncarrier")) {
		struct ifreq ifr = { .ifr_name = "cryo-t4", .ifr_flags = IFF_TAP | IFF_NO_PI };
		int fd = open("/dev/net/tun", O_RDWR), off = 0;

		if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETCARRIER, &off))
			return 1;
	}
	if (!strcmp(what, "tunlink")) {
		struct ifreq ifr = { .ifr_name = "cryo-t3", .ifr_flags = IFF_TAP | IFF_NO_PI };
		int fd = open("/dev/net/tun", O_RDWR);

		if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETLINK, ARPHRD_NONE) ||
		    ioctl(fd, TUNSETPERSIST, 1))
			return 1;
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", getppid());
	if (stat("/proc/self/ns/net", &start) || stat(path, &parent) ||
	    start.st_ino == parent.st_ino)
		return 1;
	prog_ready();
	/* Ticks, so that the runner sees it still runs after the dump. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	PROG_CHECK(!stat("/proc/self/ns/net", &now) && now.st_ino == start.st_ino,
		   "its network namespace changed");
	prog_finish();
}
