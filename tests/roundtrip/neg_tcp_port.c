/* A TCP listener on a port the kernel chose, with one connection accepted
 * from it (both ends in the program; dumped with --tcp-established). It
 * writes the listener's port to the file "port" in its directory so that
 * a test can take that port before the restore. On SIGTERM it checks that
 * the connection still carries bytes both ways and the listener accepts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	char path[4200], buf[4];
	int listener, client, server, again;
	FILE *f;

	prog_init(argc, argv);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	client = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || client < 0 || bind(listener, (struct sockaddr *)&addr, len) ||
	    listen(listener, 4) || getsockname(listener, (struct sockaddr *)&addr, &len) ||
	    connect(client, (struct sockaddr *)&addr, len))
		return 1;
	server = accept(listener, NULL, NULL);
	if (server < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/port", prog_dir());
	f = fopen(path, "w");
	if (!f || fprintf(f, "%u\n", ntohs(addr.sin_port)) < 0 || fclose(f))
		return 1;
	prog_ready();
	prog_wait_sigterm();
	PROG_CHECK(send(client, "ping", 4, 0) == 4 && recv(server, buf, 4, MSG_WAITALL) == 4 &&
			   send(server, "pong", 4, 0) == 4 &&
			   recv(client, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "pong", 4),
		   "the connection no longer carries bytes");
	again = socket(AF_INET, SOCK_STREAM, 0);
	PROG_CHECK(again >= 0 && !connect(again, (struct sockaddr *)&addr, len) &&
			   accept(listener, NULL, NULL) >= 0,
		   "the listener no longer accepts");
	prog_finish();
}
