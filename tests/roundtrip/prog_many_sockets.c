/* Round-trip program: a table of more than 64 fds, mostly sockets, each
 * with its own close-on-exec bit and O_NONBLOCK, which a dump reads from
 * the task's parasite instead of fdinfo (files/fd_flags.c): 30 socketpairs
 * (stream, datagram, seqpacket in turn) with a message queued each way,
 * 8 bound UDP sockets, and a pipe and a file among them (not sockets: the
 * usual probe). The bits are set both ways: by SOCK_CLOEXEC and undone by
 * F_SETFD, or set by F_SETFD alone; every fifth pair's first end has
 * SO_KEEPALIVE and SO_RCVLOWAT off their defaults among pairs at them (a
 * restore reads a new socket's defaults once, options.c). With the
 * argument "flock", one socket
 * also holds a flock(), so /proc/locks shows a lock on a socket and the
 * dump probes every fd through fdinfo, where locks are found. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define PAIRS 30
#define UDP 8
#define FIRST_FD 100

struct fd_state {
	int fd;
	int fl;			/* F_GETFL */
	int fd_flags;		/* F_GETFD */
};

static struct fd_state pair[PAIRS][2], udp[UDP], pipe_end[2], file;
static in_port_t udp_port[UDP];
static bool with_flock;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_many_sockets: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Moves @fd to @to with close-on-exec @cloexec and O_NONBLOCK @nonblock,
 * and records what it must stay. */
static void place(struct fd_state *s, int fd, int to, bool cloexec, bool nonblock)
{
	if (dup2(fd, to) != to)
		die("dup2");
	close(fd);
	if (fcntl(to, F_SETFD, cloexec ? FD_CLOEXEC : 0) ||
	    fcntl(to, F_SETFL, nonblock ? O_NONBLOCK : 0))
		die("fcntl");
	s->fd = to;
	s->fl = fcntl(to, F_GETFL);
	s->fd_flags = fcntl(to, F_GETFD);
}

static void message(char *buf, int i, int end)
{
	snprintf(buf, 32, "pair %02d to end %d", i, end);
}

static void setup(void)
{
	static const int types[3] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	int next = FIRST_FD, fds[2];
	char buf[32];

	for (int i = 0; i < PAIRS; i++) {
		/* Half made close-on-exec by SOCK_CLOEXEC: every third of those
		 * has it undone below, every third of the others set. */
		if (socketpair(AF_UNIX, types[i % 3] | (i % 2 ? SOCK_CLOEXEC : 0), 0, fds))
			die("socketpair");
		for (int end = 0; end < 2; end++)
			place(&pair[i][end], fds[end], next++, (i % 2) != (i % 3 == 0),
			      (i + end) % 3 == 1);
		if (i % 5 == 2 && (setsockopt(pair[i][0].fd, SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 },
					      sizeof(int)) ||
				   setsockopt(pair[i][0].fd, SOL_SOCKET, SO_RCVLOWAT, &(int){ 3 },
					      sizeof(int))))
			die("setsockopt");
		for (int end = 0; end < 2; end++) {
			message(buf, i, !end);
			if (send(pair[i][end].fd, buf, strlen(buf) + 1, 0) < 0)
				die("send");
		}
	}
	for (int i = 0; i < UDP; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
		    getsockname(fd, (struct sockaddr *)&a, &len))
			die("udp socket");
		udp_port[i] = a.sin_port;
		place(&udp[i], fd, next++, i % 2, i % 4 == 1);
	}
	if (pipe(fds))
		die("pipe");
	place(&pipe_end[0], fds[0], next++, true, false);
	place(&pipe_end[1], fds[1], next++, false, true);
	snprintf(buf, sizeof(buf), "%s/f", prog_dir());
	fds[0] = open(buf, O_RDWR | O_CREAT, 0600);
	if (fds[0] < 0)
		die("open");
	place(&file, fds[0], next++, true, false);
	if (with_flock && flock(pair[0][0].fd, LOCK_EX))
		die("flock");
}

/* SO_KEEPALIVE and SO_RCVLOWAT of pair @i's first end as set up. */
static bool options_kept(int i)
{
	int keepalive = -1, lowat = -1;
	socklen_t len = sizeof(int);
	bool set = i % 5 == 2;

	getsockopt(pair[i][0].fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, &len);
	len = sizeof(int);
	getsockopt(pair[i][0].fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, &len);
	return PROG_CHECK(keepalive == set && lowat == (set ? 3 : 1),
			  "pair %d: SO_KEEPALIVE %d, SO_RCVLOWAT %d", i, keepalive, lowat);
}

static bool same(const struct fd_state *s, const char *what, int i)
{
	int fl = fcntl(s->fd, F_GETFL), fd_flags = fcntl(s->fd, F_GETFD);

	return PROG_CHECK(fl == s->fl && fd_flags == s->fd_flags,
			  "%s %d (fd %d): flags %#o, fd flags %d, were %#o, %d", what, i, s->fd,
			  fl, fd_flags, s->fl, s->fd_flags);
}

static void check(void)
{
	char want[32], got[64];

	for (int i = 0; i < PAIRS; i++)
		for (int end = 0; end < 2; end++) {
			if (!same(&pair[i][end], "pair", i) || !options_kept(i))
				return;
			message(want, i, end);
			memset(got, 0, sizeof(got));
			if (!PROG_CHECK(recv(pair[i][end].fd, got, sizeof(got), MSG_DONTWAIT) ==
					(ssize_t)strlen(want) + 1 && !strcmp(got, want),
					"pair %d end %d: read '%s', not '%s'", i, end, got, want))
				return;
			if (!PROG_CHECK(send(pair[i][!end].fd, "again", 6, 0) == 6 &&
					recv(pair[i][end].fd, got, sizeof(got), 0) == 6,
					"pair %d end %d: no longer meets its peer", i, end))
				return;
		}
	for (int i = 0; i < UDP; i++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		if (!same(&udp[i], "udp", i) ||
		    !PROG_CHECK(!getsockname(udp[i].fd, (struct sockaddr *)&a, &len) &&
				a.sin_port == udp_port[i], "udp %d: port changed", i))
			return;
	}
	if (!same(&pipe_end[0], "pipe end", 0) || !same(&pipe_end[1], "pipe end", 1) ||
	    !same(&file, "file", 0))
		return;
	if (with_flock) {
		char path[64], info[1024] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pair[0][0].fd);
		f = fopen(path, "r");
		if (f) {
			info[fread(info, 1, sizeof(info) - 1, f)] = '\0';
			fclose(f);
		}
		PROG_CHECK(strstr(info, "FLOCK  ADVISORY  WRITE"), "the flock on pair 0 end 0 "
			   "is gone: %s", info);
	}
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	with_flock = optind < argc && !strcmp(argv[optind], "flock");
	setup();
	prog_ready();
	prog_wait_sigterm();
	check();
	prog_finish();
}
