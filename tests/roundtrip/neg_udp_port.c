/* A UDP socket connected from a port the kernel chose, which the program
 * writes to the file "port" in its directory so that a test can take that
 * port before the restore. On SIGTERM it checks its port and its peer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in peer, local, now;
	socklen_t len = sizeof(peer);
	char path[4200];
	FILE *f;
	int peer_fd, fd;

	prog_init(argc, argv);
	peer_fd = socket(AF_INET, SOCK_DGRAM, 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (peer_fd < 0 || fd < 0 || bind(peer_fd, (struct sockaddr *)&lo, sizeof(lo)) ||
	    getsockname(peer_fd, (struct sockaddr *)&peer, &len) ||
	    connect(fd, (struct sockaddr *)&peer, sizeof(peer)))
		return 1;
	len = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &len))
		return 1;
	snprintf(path, sizeof(path), "%s/port", prog_dir());
	f = fopen(path, "w");
	if (!f || fprintf(f, "%u\n", ntohs(local.sin_port)) < 0 || fclose(f))
		return 1;
	prog_ready();
	prog_wait_sigterm();
	len = sizeof(now);
	PROG_CHECK(!getsockname(fd, (struct sockaddr *)&now, &len) &&
		   now.sin_port == local.sin_port, "its port changed");
	len = sizeof(now);
	PROG_CHECK(!getpeername(fd, (struct sockaddr *)&now, &len) &&
		   now.sin_port == peer.sin_port, "its peer changed");
	prog_finish();
}
