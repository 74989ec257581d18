/* The peer of prog_net_tun_fd, started by the runner outside the dump: in
 * a network namespace of its own it holds a tap named cft0, as the
 * program's own, through an open /dev/net/tun, and then writes
 * DIR/peer-ready, which the program waits for. A device of the same name
 * in another namespace is another device: the program's dump must not take
 * this one for a holder of its cft0 outside the tree. On SIGTERM it writes
 * PASS to DIR/peer.out when its tap was made and is still its own. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "peer_util.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct ifreq ifr = { .ifr_name = "cft0", .ifr_flags = IFF_TAP | IFF_NO_PI };
	char ready[4096], out[4096], failure[300] = "";
	int fd = -1;
	FILE *f;

	if (argc != 3 || strcmp(argv[1], "--dir"))
		return 2;
	snprintf(ready, sizeof(ready), "%s/peer-ready", argv[2]);
	snprintf(out, sizeof(out), "%s/peer.out", argv[2]);
	signal(SIGTERM, on_term);
	if (unshare(CLONE_NEWNET))
		snprintf(failure, sizeof(failure), "unshare(CLONE_NEWNET): %s", strerror(errno));
	else if ((fd = open("/dev/net/tun", O_RDWR)) < 0 || ioctl(fd, TUNSETIFF, &ifr))
		snprintf(failure, sizeof(failure), "making tap cft0: %s", strerror(errno));
	else if (!(f = fopen(ready, "w")) || fclose(f))
		snprintf(failure, sizeof(failure), "writing peer-ready: %s", strerror(errno));
	while (!stop)
		pause();
	memset(&ifr, 0, sizeof(ifr));
	if (!failure[0] && (ioctl(fd, TUNGETIFF, &ifr) || strcmp(ifr.ifr_name, "cft0")))
		snprintf(failure, sizeof(failure), "its fd is no longer attached to its cft0");
	return peer_write_verdict(out, failure);
}
