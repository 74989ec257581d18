/* Bench workload: a container of PROCS (first argument) processes, the
 * program and PROCS - 1 children, in user, network, mount, UTS and IPC
 * namespaces of their own, as a runtime makes them (root inside is uid
 * 100000 outside; no pid namespace: the bench dumps the process it
 * started, which must be the tree's root). Each process holds SOCKETS
 * (second argument) sockets on the container's loopback, every other one a
 * TCP listener, the rest bound UDP sockets, each on a port of its own. On
 * SIGTERM the program passes it on; each process checks that every socket
 * is still of its kind on its port and works (a connection accepted, a
 * datagram to itself received), and answers one byte ('P' or 'F') through
 * a pipe they all share. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "answers.h"
#include "pattern.h"
#include "userns_maps.h"

#define USERNS_ROOT 100000
#define USERNS_IDS 65536
#define FIRST_PORT 20000
#define HOSTNAME "wl-container"
#define INSIDE "CRYO_BENCH_IN_CONTAINER"

static uint64_t nr_procs, nr_sockets;

static uint16_t port_of(uint64_t proc, uint64_t sock)
{
	return (uint16_t)(FIRST_PORT + proc * nr_sockets + sock);
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* Its stdio (the bench's /dev/null and log) opened again by path, so that
 * they are files of the container's mounts, as a runtime's are. */
static bool reopen_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		char link[32], path[PATH_MAX];
		ssize_t n;
		int again;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		if (n <= 0 || path[0] != '/')
			continue;
		path[n] = '\0';
		again = open(path, (fd ? O_WRONLY | O_APPEND : O_RDONLY));
		if (again < 0 || dup2(again, fd) < 0)
			return prog_fail("cannot open %s again as fd %d: %s", path, fd,
					 strerror(errno));
		close(again);
	}
	return true;
}

/* Root of its user namespace (userns_maps.h), the loopback up and a host
 * name of its own. */
static bool enter_container(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int ret, s;

	/* Its files (pid, out and log files) stay writable by its root. */
	if (chown(prog_dir(), USERNS_ROOT, USERNS_ROOT))
		return prog_fail("cannot hand %s to uid %d: %s", prog_dir(), USERNS_ROOT,
				 strerror(errno));
	for (int fd = 1; fd < 3; fd++) {
		struct stat st;

		if (!fstat(fd, &st) && S_ISREG(st.st_mode) &&
		    fchown(fd, USERNS_ROOT, USERNS_ROOT))
			return prog_fail("cannot hand its fd %d to uid %d: %s", fd, USERNS_ROOT,
					 strerror(errno));
	}
	ret = userns_enter(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC,
			   USERNS_ROOT, USERNS_IDS);
	if (ret)
		return prog_fail("cannot make the container's namespaces: %s", strerror(-ret));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    sethostname(HOSTNAME, strlen(HOSTNAME)))
		return prog_fail("cannot set up the container's mounts and name: %s",
				 strerror(errno));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		return prog_fail("cannot read the loopback's flags: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		return prog_fail("cannot bring the loopback up: %s", strerror(errno));
	close(s);
	return reopen_stdio();
}

static bool is_tcp(uint64_t sock)
{
	return sock % 2 == 0;
}

/* Process @proc's sockets into @fds. */
static bool open_sockets(uint64_t proc, int *fds)
{
	for (uint64_t i = 0; i < nr_sockets; i++) {
		struct sockaddr_in a = loopback(port_of(proc, i));
		int s = socket(AF_INET, (is_tcp(i) ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);

		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
		    (is_tcp(i) && listen(s, 4)))
			return prog_fail("process %llu: socket on port %d: %s",
					 (unsigned long long)proc, port_of(proc, i),
					 strerror(errno));
		fds[i] = s;
	}
	return true;
}

/* A TCP listener accepts a connection to it; a UDP socket receives a
 * datagram it sends itself. */
static bool socket_works(int s, bool tcp, uint16_t port)
{
	struct sockaddr_in a = loopback(port);
	char buf[8] = "";
	int c, got;

	if (!tcp)
		return sendto(s, "wl", 2, 0, (struct sockaddr *)&a, sizeof(a)) == 2 &&
		       recv(s, buf, sizeof(buf), 0) == 2 && !memcmp(buf, "wl", 2);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a))) {
		if (c >= 0)
			close(c);
		return false;
	}
	got = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	close(c);
	if (got >= 0)
		close(got);
	return got >= 0;
}

static bool check_sockets(uint64_t proc, const int *fds)
{
	char host[64] = "";

	if (gethostname(host, sizeof(host)) || strcmp(host, HOSTNAME))
		return prog_fail("process %llu: host name '%s', not " HOSTNAME,
				 (unsigned long long)proc, host);
	for (uint64_t i = 0; i < nr_sockets; i++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a), olen = sizeof(int);
		int type = 0, listening = 0;
		uint16_t port = port_of(proc, i);

		if (getsockname(fds[i], (struct sockaddr *)&a, &len) ||
		    getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &olen) ||
		    getsockopt(fds[i], SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen))
			return prog_fail("process %llu: socket %llu (port %d): %s",
					 (unsigned long long)proc, (unsigned long long)i, port,
					 strerror(errno));
		if (ntohs(a.sin_port) != port || type != (is_tcp(i) ? SOCK_STREAM : SOCK_DGRAM) ||
		    listening != is_tcp(i))
			return prog_fail("process %llu: socket %llu is on port %d, type %d, "
					 "listening %d; not port %d, %s", (unsigned long long)proc,
					 (unsigned long long)i, ntohs(a.sin_port), type, listening,
					 port, is_tcp(i) ? "a TCP listener" : "UDP");
		if (!socket_works(fds[i], is_tcp(i), port))
			return prog_fail("process %llu: its %s socket on port %d does not work: %s",
					 (unsigned long long)proc, is_tcp(i) ? "TCP" : "UDP", port,
					 strerror(errno));
	}
	return true;
}

static void __attribute__((noreturn)) child(int answer_fd, uint64_t proc, int *fds)
{
	char c = 'R';
	bool ok = open_sockets(proc, fds);

	if (!ok || write(answer_fd, &c, 1) != 1)
		_exit(2);
	prog_wait_sigterm();
	ok = check_sockets(proc, fds);
	c = ok ? 'P' : 'F';
	if (write(answer_fd, &c, 1) != 1)
		_exit(2);
	_exit(ok ? 0 : 1);
}

int main(int argc, char **argv)
{
	pid_t *kids;
	int answers[2], *fds;

	prog_init(argc, argv);
	/* Then the program again, as a runtime execs the container's init:
	 * its executable is a file of the container's mounts, and the
	 * process dumpable again after its change of ids. */
	if (!getenv(INSIDE)) {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		if (n <= 0 || !enter_container() || setenv(INSIDE, "1", 1))
			prog_finish();
		/* By its path: /proc/self/exe leads to the file on the mount
		 * of the namespace it was started in. */
		exe[n] = '\0';
		execv(exe, argv);
		prog_fail("cannot exec itself in the container: %s", strerror(errno));
		prog_finish();
	}
	if (optind + 1 >= argc)
		return 2;
	nr_procs = strtoull(argv[optind], NULL, 0);
	nr_sockets = strtoull(argv[optind + 1], NULL, 0);
	if (!nr_procs || !nr_sockets || port_of(nr_procs, 0) < FIRST_PORT)
		return 2;
	kids = calloc(nr_procs, sizeof(*kids));
	fds = calloc(nr_sockets, sizeof(*fds));
	if (!kids || !fds || pipe(answers))
		return 2;
	for (uint64_t i = 1; i < nr_procs; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			return 2;
		if (kids[i] == 0) {
			close(answers[0]);
			child(answers[1], i, fds);
		}
	}
	if (!read_answers(answers[0], nr_procs - 1, 'R') || !open_sockets(0, fds))
		prog_finish();
	prog_ready();
	prog_wait_sigterm();
	check_sockets(0, fds);
	stop_children(kids, nr_procs, answers[0]);
	prog_finish();
}
