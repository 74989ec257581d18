/* The peer of prog_net_macvlan, started by the runner outside the dump, in
 * the runner's network namespace, as a container runtime's network hook:
 * it makes the veth pair cryo-mvp0 and cryo-mvp1 (up; this kernel has no
 * dummy devices), then the macvlan cmv0 over cryo-mvp0 (bridge mode), made
 * in the program's namespace (whose pid the program writes to
 * DIR/early-pid). On SIGTERM it deletes the pair (and so what is still
 * over it) and writes PASS to DIR/peer.out when everything was made and
 * deleted. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	char path[4096], out[4096], cmd[256], failure[300] = "";
	bool made = false;
	FILE *f;

	if (argc != 3 || strcmp(argv[1], "--dir"))
		return 2;
	snprintf(path, sizeof(path), "%s/early-pid", argv[2]);
	snprintf(out, sizeof(out), "%s/peer.out", argv[2]);
	signal(SIGTERM, on_term);
	if (system("ip link add cryo-mvp0 type veth peer name cryo-mvp1 && "
		   "ip link set cryo-mvp0 up && ip link set cryo-mvp1 up"))
		snprintf(failure, sizeof(failure), "cannot make cryo-mvp0 and cryo-mvp1");
	while (!stop && !made && !failure[0]) {
		int pid = 0;

		f = fopen(path, "r");
		if (f && fscanf(f, "%d", &pid) == 1 && pid > 0) {
			snprintf(cmd, sizeof(cmd), "ip link add cmv0 link cryo-mvp0 netns %d type "
				 "macvlan mode bridge", pid);
			if (system(cmd))
				snprintf(failure, sizeof(failure), "%s failed", cmd);
			made = true;
		}
		if (f)
			fclose(f);
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	while (!stop)
		pause();
	if (system("ip link del cryo-mvp0") && !failure[0])
		snprintf(failure, sizeof(failure), "cannot delete cryo-mvp0");
	if (!failure[0] && !made)
		snprintf(failure, sizeof(failure), "the program never said its pid");
	return peer_write_verdict(out, failure);
}
