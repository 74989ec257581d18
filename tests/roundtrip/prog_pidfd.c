/* Round-trip program: pidfds keep what they refer to and their flags. A
 * pidfd of itself (plain, nonblocking, PIDFD_THREAD, and a dup sharing one
 * open file), and pidfds of a child that has exited and been reaped
 * (plain, and nonblocking with PIDFD_THREAD). After restore: fdinfo Pid and
 * NSpid, signal 0 through its own pidfds, ESRCH and a readable, hung-up
 * poll through the dead ones, exact status flags and cloexec, and no child
 * or SIGCHLD left by the restore. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

/* 6.9; O_EXCL, in f_flags too. */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

struct pidfd_state {
	const char *what;
	int fd;
	bool dead;
	int fl;		/* F_GETFL */
	int fd_flags;	/* F_GETFD */
};

enum { SELF, SELF_NB, SELF_THREAD, SELF_DUP, DEAD, DEAD_NB_THREAD, NR_PIDFDS };

static struct pidfd_state s[NR_PIDFDS] = {
	[SELF] = { "own pidfd", 10 },
	[SELF_NB] = { "own nonblocking pidfd", 11 },
	[SELF_THREAD] = { "own PIDFD_THREAD pidfd", 12 },
	[SELF_DUP] = { "dup of own pidfd", 13 },
	[DEAD] = { "pidfd of a reaped child", 20, true },
	[DEAD_NB_THREAD] = { "nonblocking PIDFD_THREAD pidfd of a reaped child", 21, true },
};

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_pidfd: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Moves @fd to s[@i].fd with @cloexec and records its flags. */
static void keep(int i, int fd, bool cloexec)
{
	if (fd < 0 || dup3(fd, s[i].fd, cloexec ? O_CLOEXEC : 0) != s[i].fd)
		die(s[i].what);
	close(fd);
	s[i].fl = fcntl(s[i].fd, F_GETFL);
	s[i].fd_flags = fcntl(s[i].fd, F_GETFD);
}

static void setup(void)
{
	int own, plain, nb_thread;
	pid_t child;

	own = pidfd_open(getpid(), 0);
	keep(SELF, own, true);
	keep(SELF_NB, pidfd_open(getpid(), PIDFD_NONBLOCK), false);
	keep(SELF_THREAD, pidfd_open(getpid(), PIDFD_THREAD), true);
	keep(SELF_DUP, dup(s[SELF].fd), false);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(0);
	/* Not reaped yet, so it can still be opened, even as a zombie. */
	plain = pidfd_open(child, 0);
	nb_thread = pidfd_open(child, PIDFD_NONBLOCK | PIDFD_THREAD);
	if (waitpid(child, NULL, 0) != child)
		die("waitpid");
	keep(DEAD, plain, false);
	keep(DEAD_NB_THREAD, nb_thread, true);
}

/* The value of "@name:" in the fdinfo of @fd, as text up to the line's end. */
static bool fdinfo_value(int fd, const char *name, char *out, size_t size)
{
	char path[64], buf[4096], *at;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n < 0 ? 0 : n] = '\0';
	for (at = buf; at; at = strchr(at, '\n'), at = at ? at + 1 : NULL) {
		if (!strncmp(at, name, strlen(name)) && at[strlen(name)] == ':') {
			at += strlen(name) + 1;
			at += strspn(at, "\t ");
			snprintf(out, size, "%.*s", (int)strcspn(at, "\n"), at);
			return true;
		}
	}
	return false;
}

static void check_one(const struct pidfd_state *st)
{
	char link[64], path[64], pid[32], nspid[32], want[32];
	struct pollfd pfd = { .fd = st->fd, .events = POLLIN };
	ssize_t n;
	int ready;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", st->fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	if (!PROG_CHECK(!strcmp(link, "anon_inode:[pidfd]"), "%s: fd %d is '%s'", st->what,
			st->fd, link))
		return;
	PROG_CHECK(fcntl(st->fd, F_GETFL) == st->fl, "%s: flags %#o, were %#o", st->what,
		   fcntl(st->fd, F_GETFL), st->fl);
	PROG_CHECK(fcntl(st->fd, F_GETFD) == st->fd_flags, "%s: fd flags %#x, were %#x",
		   st->what, fcntl(st->fd, F_GETFD), st->fd_flags);
	snprintf(want, sizeof(want), "%d", st->dead ? -1 : getpid());
	PROG_CHECK(fdinfo_value(st->fd, "Pid", pid, sizeof(pid)) && !strcmp(pid, want),
		   "%s: fdinfo Pid '%s', want '%s'", st->what, pid, want);
	PROG_CHECK(fdinfo_value(st->fd, "NSpid", nspid, sizeof(nspid)) && !strcmp(nspid, want),
		   "%s: fdinfo NSpid '%s', want '%s'", st->what, nspid, want);
	ready = poll(&pfd, 1, 0);
	if (st->dead) {
		PROG_CHECK(pidfd_send_signal(st->fd, 0, NULL, 0) < 0 && errno == ESRCH,
			   "%s: signal 0 did not fail with ESRCH (%s)", st->what, strerror(errno));
		PROG_CHECK(ready == 1 && pfd.revents == (POLLIN | POLLHUP),
			   "%s: poll %d, revents %#x, want POLLIN|POLLHUP", st->what, ready,
			   pfd.revents);
	} else {
		PROG_CHECK(pidfd_send_signal(st->fd, 0, NULL, 0) == 0, "%s: signal 0: %s",
			   st->what, strerror(errno));
		PROG_CHECK(ready == 0, "%s: poll says %#x: the process looks exited", st->what,
			   pfd.revents);
	}
}

static void check(void)
{
	siginfo_t si = { 0 };
	sigset_t pending;
	pid_t me = getpid();

	for (int i = 0; i < NR_PIDFDS; i++)
		check_one(&s[i]);
	PROG_CHECK(syscall(SYS_kcmp, me, me, KCMP_FILE, s[SELF].fd, s[SELF_DUP].fd) == 0,
		   "the dup of the own pidfd is no longer the same open file");
	PROG_CHECK(syscall(SYS_kcmp, me, me, KCMP_FILE, s[SELF].fd, s[SELF_NB].fd) != 0,
		   "two pidfd_open()s became one open file");
	PROG_CHECK(syscall(SYS_kcmp, me, me, KCMP_FILE, s[DEAD].fd, s[DEAD_NB_THREAD].fd) != 0,
		   "the two pidfds of the reaped child became one open file");
	/* The reaped child is no child to wait for, and the restore left none. */
	PROG_CHECK(waitid(P_PIDFD, s[DEAD].fd, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD,
		   "waitid on the reaped child's pidfd: %s", strerror(errno));
	PROG_CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) < 0 && errno == ECHILD,
		   "the process has a child (pid %d)", si.si_pid);
	PROG_CHECK(!sigpending(&pending) && !sigismember(&pending, SIGCHLD),
		   "a SIGCHLD is pending");
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	setup();
	prog_ready();
	prog_wait_sigterm();
	check();
	prog_finish();
}
