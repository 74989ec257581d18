/* Round-trip program: connections waiting in unix listeners' accept
 * queues. A stream listener (abstract name) has three, in order: a client
 * of the root bound to a name of its own, one whose client a child holds,
 * an unbound client of the root; a seqpacket listener on a path has two
 * clients of the root. On SIGTERM: each accept() gives the connections in
 * that order, each talks both ways with its client, the peer name is as
 * before, and then the queues are empty. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

struct addr {
	struct sockaddr_un sa;
	socklen_t len;
};

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_unix_accept: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static void make_addr(struct addr *a, bool abstract, const char *fmt, int n)
{
	memset(a, 0, sizeof(*a));
	a->sa.sun_family = AF_UNIX;
	snprintf(a->sa.sun_path + abstract, sizeof(a->sa.sun_path) - 1, fmt, prog_dir(), n);
	a->len = offsetof(struct sockaddr_un, sun_path) + abstract +
		 strlen(a->sa.sun_path + abstract) + !abstract;
}

static int listener(int type, const struct addr *a, int backlog)
{
	int fd = socket(AF_UNIX, type | SOCK_NONBLOCK, 0);

	if (fd < 0 || bind(fd, (const struct sockaddr *)&a->sa, a->len) || listen(fd, backlog))
		die("listener");
	return fd;
}

static int client(int type, const struct addr *to, const struct addr *own)
{
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || (own && bind(fd, (const struct sockaddr *)&own->sa, own->len)) ||
	    connect(fd, (const struct sockaddr *)&to->sa, to->len))
		die("client");
	return fd;
}

/* Sends @msg from @from and checks @to reads exactly it. */
static bool talks(int from, int to, const char *msg, const char *what)
{
	char buf[64];
	ssize_t n;

	if (send(from, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg))
		return prog_fail("%s: cannot send: %s", what, strerror(errno));
	n = recv(to, buf, sizeof(buf), 0);
	return PROG_CHECK(n == (ssize_t)strlen(msg) && !memcmp(buf, msg, n),
			  "%s: read %zd bytes", what, n);
}

/* The next waiting connection of @l; -1 (a failure) when there is none. */
static int next(int l, const char *what)
{
	int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		prog_fail("%s: accept: %s", what, strerror(errno));
	return fd;
}

static bool empty(int l, const char *what)
{
	int fd = accept(l, NULL, NULL);

	if (fd >= 0)
		close(fd);
	return PROG_CHECK(fd < 0 && errno == EAGAIN, "%s: a connection more than saved", what);
}

static bool peer_is(int fd, const struct addr *a, const char *what)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (getpeername(fd, (struct sockaddr *)&sa, &len))
		return prog_fail("%s: getpeername: %s", what, strerror(errno));
	return PROG_CHECK(len == a->len && !memcmp(&sa, &a->sa, len), "%s: another peer name",
			  what);
}

int main(int argc, char **argv)
{
	struct addr l1a, l2a, own;
	int l1, l2, a, a2, s1, s2, k, verdict[2], go[2];
	pid_t kid;
	char c = 0;

	prog_init(argc, argv);
	make_addr(&l1a, true, "%s/cryo-accept-stream-%d", getpid());
	make_addr(&l2a, false, "%s/seq-%d.sock", getpid());
	make_addr(&own, true, "%s/cryo-accept-client-%d", getpid());
	l1 = listener(SOCK_STREAM, &l1a, 8);
	l2 = listener(SOCK_SEQPACKET, &l2a, 4);
	if (pipe(verdict) || pipe(go))
		die("pipe");

	a = client(SOCK_STREAM, &l1a, &own);
	kid = fork();
	if (kid < 0)
		die("fork");
	if (kid == 0) {
		char buf[16];
		ssize_t n;

		close(verdict[0]);
		close(go[1]);
		k = client(SOCK_STREAM, &l1a, NULL);
		if (write(verdict[1], "r", 1) != 1)
			die("ready");
		prog_wait_sigterm();
		/* The root accepts, then says so. */
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		n = recv(k, buf, sizeof(buf), 0);
		c = n == 4 && !memcmp(buf, "to k", 4) && send(k, "from k", 6, 0) == 6 ? 'P' : 'F';
		if (write(verdict[1], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	if (read(verdict[0], &c, 1) != 1 || c != 'r')
		die("child's client");
	a2 = client(SOCK_STREAM, &l1a, NULL);
	s1 = client(SOCK_SEQPACKET, &l2a, NULL);
	s2 = client(SOCK_SEQPACKET, &l2a, NULL);
	prog_ready();
	prog_wait_sigterm();

	kill(kid, SIGTERM);
	{
		int c1 = next(l1, "stream 1"), c3 = next(l1, "stream 2"), c4 = next(l1, "stream 3");

		if (c1 >= 0 && talks(c1, a, "to a", "stream 1") &&
		    talks(a, c1, "from a", "stream 1 back"))
			peer_is(c1, &own, "stream 1");
		if (c3 >= 0) {
			char buf[16];
			ssize_t n;

			if (send(c3, "to k", 4, 0) != 4 || write(go[1], "g", 1) != 1)
				prog_fail("stream 2: cannot send to the child's client");
			n = recv(c3, buf, sizeof(buf), 0);
			PROG_CHECK(n == 6 && !memcmp(buf, "from k", 6),
				   "stream 2: the child's client answered %zd bytes", n);
			PROG_CHECK(read(verdict[0], &c, 1) == 1 && c == 'P',
				   "the child's client did not read what was sent");
		}
		if (c4 >= 0 && talks(c4, a2, "to a2", "stream 3"))
			talks(a2, c4, "from a2", "stream 3 back");
		empty(l1, "stream listener");
	}
	{
		int c1 = next(l2, "seqpacket 1"), c2 = next(l2, "seqpacket 2");

		if (c1 >= 0 && talks(c1, s1, "to s1", "seqpacket 1"))
			talks(s1, c1, "from s1", "seqpacket 1 back");
		if (c2 >= 0 && talks(s2, c2, "from s2", "seqpacket 2"))
			talks(c2, s2, "to s2", "seqpacket 2 back");
		empty(l2, "seqpacket listener");
	}
	close(go[1]);
	waitpid(kid, NULL, 0);
	unlink(l2a.sa.sun_path);
	prog_finish();
}
