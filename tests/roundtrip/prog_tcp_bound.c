/* Round-trip program: TCP sockets bound and never listening nor connected.
 * One IPv4 with SO_REUSEADDR on 127.0.0.1 at a port the kernel chose
 * (written to the file "port" in its directory, so that a test can take it
 * before a restore), one IPv6 with SO_REUSEPORT and IPV6_V6ONLY on ::1, and
 * one IPv4 on any address with TCP_NODELAY. On SIGTERM: the same addresses
 * and options, and each listens and accepts a connection made to it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static int get_int(int fd, int level, int name)
{
	int value = -1;
	socklen_t len = sizeof(value);

	getsockopt(fd, level, name, &value, &len);
	return value;
}

static int make(int family, int level, int name, const void *addr, socklen_t len)
{
	int fd = socket(family, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || setsockopt(fd, level, name, &one, sizeof(one)) ||
	    (family == AF_INET6 && setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, addr, len))
		return -1;
	return fd;
}

/* The socket at @fd has the address @want (@len bytes), and takes a
 * connection once it listens. */
static void check(int fd, const char *what, const struct sockaddr_storage *want, socklen_t len)
{
	struct sockaddr_storage now, to;
	socklen_t now_len = sizeof(now);
	int client, conn;

	if (getsockname(fd, (struct sockaddr *)&now, &now_len) || now_len != len ||
	    memcmp(&now, want, len)) {
		prog_fail("%s: its address changed", what);
		return;
	}
	PROG_CHECK(get_int(fd, SOL_SOCKET, SO_ACCEPTCONN) == 0, "%s: listening already", what);
	if (listen(fd, 4)) {
		prog_fail("%s: cannot listen: %s", what, strerror(errno));
		return;
	}
	to = now;
	if (to.ss_family == AF_INET && ((struct sockaddr_in *)&to)->sin_addr.s_addr == 0)
		((struct sockaddr_in *)&to)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	client = socket(to.ss_family, SOCK_STREAM, 0);
	if (client < 0 || connect(client, (struct sockaddr *)&to, len)) {
		prog_fail("%s: cannot connect to it: %s", what, strerror(errno));
		return;
	}
	conn = accept(fd, NULL, NULL);
	PROG_CHECK(conn >= 0, "%s: accepts nothing: %s", what, strerror(errno));
	close(client);
	if (conn >= 0)
		close(conn);
}

int main(int argc, char **argv)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_storage a4, a6, aany;
	socklen_t l4 = sizeof(a4), l6 = sizeof(a6), lany = sizeof(aany);
	int s4, s6, sany;
	char path[4200];
	FILE *f;

	prog_init(argc, argv);
	s4 = make(AF_INET, SOL_SOCKET, SO_REUSEADDR, &v4, sizeof(v4));
	s6 = make(AF_INET6, SOL_SOCKET, SO_REUSEPORT, &v6, sizeof(v6));
	sany = make(AF_INET, SOL_TCP, TCP_NODELAY, &any, sizeof(any));
	if (s4 < 0 || s6 < 0 || sany < 0 || getsockname(s4, (struct sockaddr *)&a4, &l4) ||
	    getsockname(s6, (struct sockaddr *)&a6, &l6) ||
	    getsockname(sany, (struct sockaddr *)&aany, &lany))
		return 1;
	snprintf(path, sizeof(path), "%s/port", prog_dir());
	f = fopen(path, "w");
	if (!f || fprintf(f, "%u\n", ntohs(((struct sockaddr_in *)&a4)->sin_port)) < 0 ||
	    fclose(f))
		return 1;
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(get_int(s4, SOL_SOCKET, SO_REUSEADDR) == 1, "IPv4: SO_REUSEADDR");
	PROG_CHECK(get_int(s6, SOL_SOCKET, SO_REUSEPORT) == 1, "IPv6: SO_REUSEPORT");
	PROG_CHECK(get_int(s6, SOL_IPV6, IPV6_V6ONLY) == 1, "IPv6: IPV6_V6ONLY");
	PROG_CHECK(get_int(sany, SOL_TCP, TCP_NODELAY) == 1, "any: TCP_NODELAY");
	check(s4, "IPv4", &a4, l4);
	check(s6, "IPv6", &a6, l6);
	check(sany, "any", &aany, lany);
	prog_finish();
}
