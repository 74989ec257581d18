/* Round-trip program: pidfds of one struct pid keep referring to one struct
 * pid, as pidfs shows it (one inode per struct pid, kernel 6.9+), and
 * pidfds of different ones stay different. Pidfds of: a reaped child (two
 * opens), a live child (two), an unreaped zombie child (plain and
 * PIDFD_THREAD), a reaped child held by this process and by a live child
 * (one open file both inherit, plus one open of each), itself (plain and
 * PIDFD_THREAD), a live second thread (two PIDFD_THREAD opens) and a thread
 * that exited. After restore: which pairs share an inode is what it was,
 * signals go through the live ones (to the very thread for the thread's),
 * the dead ones fail with ESRCH, and waitid(P_PIDFD) sees what it saw: no
 * child for the reaped ones, a running child, and the zombie's status. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

/* 6.9; O_EXCL, in f_flags too. */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

#define ZOMBIE_STATUS 7

enum target { REAPED, LIVE, ZOMBIE, SHARED_REAPED, SELF, THREAD, DEAD_THREAD };

struct pidfd_state {
	const char *what;
	int fd;
	enum target target;
	ino_t ino;	/* before the dump */
};

enum {
	REAPED_A, REAPED_B, LIVE_A, LIVE_B, ZOMBIE_A, ZOMBIE_THREAD, SHARED_INHERITED,
	SHARED_OWN, SELF_PLAIN, SELF_THREAD, THREAD_A, THREAD_B, DEAD_THREAD_A, DEAD_THREAD_B,
	NR_PIDFDS
};

static struct pidfd_state s[NR_PIDFDS] = {
	[REAPED_A] = { "reaped child, first pidfd", 20, REAPED },
	[REAPED_B] = { "reaped child, second pidfd (nonblocking)", 21, REAPED },
	[LIVE_A] = { "live child, first pidfd", 22, LIVE },
	[LIVE_B] = { "live child, second pidfd (nonblocking)", 23, LIVE },
	[ZOMBIE_A] = { "zombie child, plain pidfd", 24, ZOMBIE },
	[ZOMBIE_THREAD] = { "zombie child, PIDFD_THREAD pidfd", 25, ZOMBIE },
	[SHARED_INHERITED] = { "reaped child, pidfd the live child inherited", 26, SHARED_REAPED },
	[SHARED_OWN] = { "reaped child, pidfd of this process alone", 27, SHARED_REAPED },
	[SELF_PLAIN] = { "own pidfd", 28, SELF },
	[SELF_THREAD] = { "own PIDFD_THREAD pidfd", 29, SELF },
	[THREAD_A] = { "second thread, first pidfd", 30, THREAD },
	[THREAD_B] = { "second thread, second pidfd (nonblocking)", 31, THREAD },
	[DEAD_THREAD_A] = { "exited thread, first pidfd", 32, DEAD_THREAD },
	[DEAD_THREAD_B] = { "exited thread, second pidfd", 33, DEAD_THREAD },
};

/* The fds of the live child: the pidfd it inherited, its own, a report pipe. */
#define CHILD_OWN_FD 40
#define CHILD_REPORT_FD 41

static pid_t live_child, zombie_child, sharing_child;
static int report_read = -1;
static _Atomic pid_t thread_tid, dead_thread_tid, usr1_taken_by;
static atomic_bool dead_thread_may_exit;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_pidfd_identity: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void keep(int i, int fd)
{
	if (fd < 0 || dup3(fd, s[i].fd, O_CLOEXEC) != s[i].fd)
		die(s[i].what);
	close(fd);
}

static ino_t inode_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* Forks a child that exits with @status at once and waits until it is a
 * zombie, not reaped. */
static pid_t fork_zombie(int status)
{
	siginfo_t si;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(status);
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		die("waitid");
	return pid;
}

static void reap(pid_t pid)
{
	if (waitpid(pid, NULL, 0) != pid)
		die("waitpid");
}

/* The live child that shares the reaped child's pidfds: after SIGTERM it
 * checks its own against the inherited one and against this process's, and
 * writes "ok" or what differed to its report pipe. */
static void __attribute__((noreturn)) sharing_child_main(pid_t parent)
{
	struct stat parents;
	char path[64], msg[256] = "ok";
	siginfo_t si;

	prog_wait_sigterm();
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", parent, s[SHARED_OWN].fd);
	if (inode_of(s[SHARED_INHERITED].fd) != inode_of(CHILD_OWN_FD))
		snprintf(msg, sizeof(msg), "child: its own pidfd and the inherited one differ");
	else if (stat(path, &parents) || parents.st_ino != inode_of(CHILD_OWN_FD))
		snprintf(msg, sizeof(msg), "child: its pidfd and its parent's (%s) differ", path);
	else if (pidfd_send_signal(CHILD_OWN_FD, 0, NULL, 0) == 0 || errno != ESRCH)
		snprintf(msg, sizeof(msg), "child: signal 0 to the reaped one did not fail with "
			 "ESRCH");
	else if (waitid(P_PIDFD, CHILD_OWN_FD, &si, WEXITED | WNOHANG) == 0 || errno != ECHILD)
		snprintf(msg, sizeof(msg), "child: waitid on the reaped one did not fail with "
			 "ECHILD");
	if (write(CHILD_REPORT_FD, msg, strlen(msg)) < 0)
		_exit(2);
	_exit(0);
}

/* A reaped child whose pidfds this process and a live child both hold. */
static void setup_shared(void)
{
	int report[2];
	pid_t dead = fork_zombie(0), parent = getpid();
	char byte;

	keep(SHARED_INHERITED, pidfd_open(dead, 0));
	if (pipe2(report, O_CLOEXEC))
		die("pipe");
	sharing_child = fork();
	if (sharing_child < 0)
		die("fork");
	if (sharing_child == 0) {
		/* Opened while the dead child is still a zombie. */
		if (dup2(report[1], CHILD_REPORT_FD) != CHILD_REPORT_FD ||
		    dup2(pidfd_open(dead, PIDFD_NONBLOCK), CHILD_OWN_FD) != CHILD_OWN_FD)
			_exit(91);
		close(report[0]);
		close(report[1]);
		byte = 'r';
		if (write(CHILD_REPORT_FD, &byte, 1) != 1)
			_exit(92);
		sharing_child_main(parent);
	}
	close(report[1]);
	report_read = report[0];
	keep(SHARED_OWN, pidfd_open(dead, 0));
	if (read(report_read, &byte, 1) != 1)
		die("the sharing child did not start");
	reap(dead);
}

static void *thread_main(void *arg)
{
	sigset_t usr1;
	siginfo_t si;

	(void)arg;
	thread_tid = gettid();
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	for (;;)
		if (sigwaitinfo(&usr1, &si) == SIGUSR1)
			usr1_taken_by = gettid();
	return NULL;
}

static void *dead_thread_main(void *arg)
{
	(void)arg;
	dead_thread_tid = gettid();
	while (!dead_thread_may_exit)
		usleep(1000);
	return NULL;
}

static void setup_threads(void)
{
	pthread_t live, dead;
	sigset_t usr1;

	/* Only the second thread takes SIGUSR1, and only when sent to it. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pthread_create(&live, NULL, thread_main, NULL) ||
	    pthread_create(&dead, NULL, dead_thread_main, NULL))
		die("pthread_create");
	while (!thread_tid || !dead_thread_tid)
		usleep(1000);
	keep(THREAD_A, pidfd_open(thread_tid, PIDFD_THREAD));
	keep(THREAD_B, pidfd_open(thread_tid, PIDFD_THREAD | PIDFD_NONBLOCK));
	/* Opened before it may exit. */
	keep(DEAD_THREAD_A, pidfd_open(dead_thread_tid, PIDFD_THREAD));
	keep(DEAD_THREAD_B, pidfd_open(dead_thread_tid, PIDFD_THREAD));
	dead_thread_may_exit = true;
	if (pthread_join(dead, NULL))
		die("pthread_join");
}

static void setup(void)
{
	pid_t reaped;

	setup_shared();
	reaped = fork_zombie(0);
	keep(REAPED_A, pidfd_open(reaped, 0));
	keep(REAPED_B, pidfd_open(reaped, PIDFD_NONBLOCK));
	reap(reaped);
	live_child = fork();
	if (live_child < 0)
		die("fork");
	if (live_child == 0) {
		prog_wait_sigterm();
		_exit(0);
	}
	keep(LIVE_A, pidfd_open(live_child, 0));
	keep(LIVE_B, pidfd_open(live_child, PIDFD_NONBLOCK));
	zombie_child = fork_zombie(ZOMBIE_STATUS);
	keep(ZOMBIE_A, pidfd_open(zombie_child, 0));
	keep(ZOMBIE_THREAD, pidfd_open(zombie_child, PIDFD_THREAD));
	keep(SELF_PLAIN, pidfd_open(getpid(), 0));
	keep(SELF_THREAD, pidfd_open(getpid(), PIDFD_THREAD));
	setup_threads();
	for (int i = 0; i < NR_PIDFDS; i++)
		s[i].ino = inode_of(s[i].fd);
	/* The premise: pidfs, one inode per struct pid. */
	if (s[REAPED_A].ino != s[REAPED_B].ino || s[LIVE_A].ino == s[REAPED_A].ino) {
		fprintf(stderr, "prog_pidfd_identity: pidfds of one process do not share an "
			"inode: the kernel has no pidfs (6.9+)\n");
		exit(1);
	}
}

static bool target_alive(enum target t)
{
	return t == LIVE || t == SELF || t == THREAD;
}

static void check_one(const struct pidfd_state *st)
{
	struct pollfd pfd = { .fd = st->fd, .events = POLLIN };
	siginfo_t si = { 0 };
	int ret;

	if (target_alive(st->target)) {
		PROG_CHECK(pidfd_send_signal(st->fd, 0, NULL, 0) == 0, "%s: signal 0: %s",
			   st->what, strerror(errno));
		return;
	}
	PROG_CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN), "%s: does not poll readable",
		   st->what);
	if (st->target == ZOMBIE) {
		/* Signal 0 to a zombie succeeds; it is still there to wait for. */
		ret = waitid(P_PIDFD, st->fd, &si, WEXITED | WNOHANG | WNOWAIT);
		PROG_CHECK(!ret && si.si_pid == zombie_child && si.si_code == CLD_EXITED &&
				   si.si_status == ZOMBIE_STATUS,
			   "%s: waitid gives pid %d code %d status %d (%s), want %d exited %d",
			   st->what, si.si_pid, si.si_code, si.si_status,
			   ret ? strerror(errno) : "", zombie_child, ZOMBIE_STATUS);
		return;
	}
	PROG_CHECK(pidfd_send_signal(st->fd, 0, NULL, 0) < 0 && errno == ESRCH,
		   "%s: signal 0 did not fail with ESRCH (%s)", st->what, strerror(errno));
	if (st->target != DEAD_THREAD)
		PROG_CHECK(waitid(P_PIDFD, st->fd, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD,
			   "%s: waitid did not fail with ECHILD (%s)", st->what, strerror(errno));
}

/* Which pidfds share an inode is what it was before the dump. */
static void check_identity(void)
{
	ino_t now[NR_PIDFDS];

	for (int i = 0; i < NR_PIDFDS; i++)
		now[i] = inode_of(s[i].fd);
	for (int i = 0; i < NR_PIDFDS; i++)
		for (int j = i + 1; j < NR_PIDFDS; j++)
			PROG_CHECK((s[i].ino == s[j].ino) == (now[i] == now[j]),
				   "'%s' and '%s' %s one inode before, %s now", s[i].what,
				   s[j].what, s[i].ino == s[j].ino ? "shared" : "did not share",
				   now[i] == now[j] ? "do" : "do not");
}

/* SIGUSR1 through the thread's pidfd reaches that very thread. */
static void check_thread_signal(void)
{
	struct timespec pause = { 0, 1000000 };
	int waited;

	if (!PROG_CHECK(pidfd_send_signal(s[THREAD_A].fd, SIGUSR1, NULL, 0) == 0,
			"SIGUSR1 through the thread's pidfd: %s", strerror(errno)))
		return;
	for (waited = 0; !usr1_taken_by && waited < 5000; waited++)
		nanosleep(&pause, NULL);
	PROG_CHECK(usr1_taken_by == thread_tid, "SIGUSR1 sent to thread %d was taken by %d",
		   (int)thread_tid, (int)usr1_taken_by);
}

static void check_children(void)
{
	char msg[256];
	siginfo_t si = { 0 };
	ssize_t n;

	PROG_CHECK(waitid(P_PIDFD, s[LIVE_A].fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0,
		   "waitid on the live child's pidfd: %s, pid %d", strerror(errno), si.si_pid);
	PROG_CHECK(pidfd_send_signal(s[LIVE_B].fd, SIGTERM, NULL, 0) == 0,
		   "SIGTERM through the live child's pidfd: %s", strerror(errno));
	PROG_CHECK(waitid(P_PIDFD, s[LIVE_A].fd, &si, WEXITED) == 0 && si.si_pid == live_child,
		   "waitid for the live child through its pidfd: %s", strerror(errno));
	/* The zombie is reaped through its pidfd. */
	PROG_CHECK(waitid(P_PIDFD, s[ZOMBIE_A].fd, &si, WEXITED) == 0 &&
			   si.si_pid == zombie_child && si.si_status == ZOMBIE_STATUS,
		   "reaping the zombie through its pidfd: %s", strerror(errno));
	kill(sharing_child, SIGTERM);
	n = read(report_read, msg, sizeof(msg) - 1);
	msg[n < 0 ? 0 : n] = '\0';
	PROG_CHECK(!strcmp(msg, "ok"), "%s", n > 0 ? msg : "the sharing child sent no report");
	reap(sharing_child);
	PROG_CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) < 0 && errno == ECHILD,
		   "the process has a child left (pid %d)", si.si_pid);
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	setup();
	prog_ready();
	prog_wait_sigterm();
	check_identity();
	for (int i = 0; i < NR_PIDFDS; i++)
		check_one(&s[i]);
	check_thread_signal();
	check_children();
	prog_finish();
}
