/* The peer of prog_net_veth, started by the runner outside the dump, in
 * the runner's network namespace, as a container runtime's network hook:
 * it makes the veth pair cryo-vo0 (its end) and cvi (moved into the
 * program's namespace, whose pid the program writes to DIR/early-pid),
 * gives cryo-vo0 10.55.0.1/24 and brings it up whenever it exists without
 * (after a restore, cryo makes it again, bare, from --external), and echoes
 * every UDP datagram to port 47400 back. On SIGTERM it deletes cryo-vo0 and
 * writes PASS to DIR/peer.out when it echoed at least one datagram. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer_util.h"

#define OUTER "cryo-vo0"
#define PORT 47400

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Whether OUTER holds 10.55.0.1. */
static bool configured(void)
{
	struct ifaddrs *all, *a;
	bool found = false;

	if (getifaddrs(&all))
		return false;
	for (a = all; a && !found; a = a->ifa_next)
		found = a->ifa_addr && a->ifa_addr->sa_family == AF_INET &&
			!strcmp(a->ifa_name, OUTER) &&
			((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr ==
				htonl(0x0a370001);
	freeifaddrs(all);
	return found;
}

int main(int argc, char **argv)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	char path[4096], out[4096], cmd[128], failure[256] = "";
	long echoed = 0, config_failures = 0;
	bool made = false;
	int sk = socket(AF_INET, SOCK_DGRAM, 0);
	FILE *f;

	if (argc != 3 || strcmp(argv[1], "--dir"))
		return 2;
	snprintf(path, sizeof(path), "%s/early-pid", argv[2]);
	snprintf(out, sizeof(out), "%s/peer.out", argv[2]);
	signal(SIGTERM, on_term);
	if (sk < 0 || bind(sk, (struct sockaddr *)&any, sizeof(any)))
		snprintf(failure, sizeof(failure), "cannot bind UDP port %d", PORT);
	while (!stop && !failure[0]) {
		struct pollfd pfd = { .fd = sk, .events = POLLIN };
		int pid = 0;

		if (!made && (f = fopen(path, "r"))) {
			if (fscanf(f, "%d", &pid) == 1 && pid > 0) {
				snprintf(cmd, sizeof(cmd), "ip link add " OUTER " type veth peer name "
					 "cvi netns %d", pid);
				if (system(cmd))
					snprintf(failure, sizeof(failure), "%s failed", cmd);
				made = true;
			}
			fclose(f);
		}
		/* The old end goes away a little after the dumped namespace dies,
		 * maybe between the look and the add: fail only if it lasts. */
		if (made && if_nametoindex(OUTER) && !configured() &&
		    system("ip addr add 10.55.0.1/24 dev " OUTER " 2>/dev/null && "
			   "ip link set " OUTER " up") && ++config_failures > 100)
			snprintf(failure, sizeof(failure), "cannot configure " OUTER);
		if (poll(&pfd, 1, 20) == 1) {
			struct sockaddr_in from;
			socklen_t len = sizeof(from);
			char buf[256];
			ssize_t n = recvfrom(sk, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

			if (n > 0 && sendto(sk, buf, (size_t)n, 0, (struct sockaddr *)&from, len) == n)
				echoed++;
		}
	}
	if (if_nametoindex(OUTER))
		system("ip link del " OUTER);
	if (!failure[0] && !echoed)
		snprintf(failure, sizeof(failure), "no datagram came across the veth");
	return peer_write_verdict(out, failure);
}
