/* Signal-driven I/O on fds (issue 11 item 9): the read end of a pipe owned
 * by the process (F_SETOWN) with F_SETSIG SIGRTMIN+1 and O_ASYNC, one end
 * of a socketpair owned by one thread (F_SETOWN_EX F_OWNER_TID) with
 * O_ASYNC and SIGIO, and an eventfd owned by the process group. On
 * SIGTERM: each owner, signal and O_ASYNC as set, and a byte written to
 * the pipe queues SIGRTMIN+1 with si_fd naming its read end (so
 * signal-driven I/O is really on, not only the flag). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static volatile pid_t thread_tid;

static void *idle_thread(void *arg)
{
	(void)arg;
	thread_tid = (pid_t)syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

static bool check_owner(int fd, int type, pid_t pid, int sig, bool async, const char *what)
{
	struct f_owner_ex owner = { 0 };
	int got_sig = fcntl(fd, F_GETSIG), flags = fcntl(fd, F_GETFL);

	if (fcntl(fd, F_GETOWN_EX, &owner))
		return prog_fail("%s: F_GETOWN_EX: %d", what, errno);
	/* @type -1: no owner, whatever type the kernel reports then. */
	return PROG_CHECK((type < 0 || (int)owner.type == type) && owner.pid == pid,
			  "%s: owner type %d pid %d, want %d %d", what, owner.type, owner.pid,
			  type, pid) &&
	       PROG_CHECK(got_sig == sig, "%s: signal %d, want %d", what, got_sig, sig) &&
	       PROG_CHECK(!!(flags & O_ASYNC) == async, "%s: flags %#x", what, flags);
}

static int set_owner(int fd, int type, pid_t pid, int sig, bool async)
{
	struct f_owner_ex owner = { type, pid };

	if (fcntl(fd, F_SETOWN_EX, &owner) || (sig && fcntl(fd, F_SETSIG, sig)))
		return -1;
	return async ? fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC) : 0;
}

int main(int argc, char **argv)
{
	struct timespec two_seconds = { 2, 0 };
	int pipe_fds[2], pair[2], efd;
	pthread_t thread;
	siginfo_t info;
	sigset_t sigs;

	prog_init(argc, argv);
	/* Blocked everywhere: they are taken with sigtimedwait or not at all. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGRTMIN + 1);
	sigaddset(&sigs, SIGIO);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) || pipe(pipe_fds) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, pair) || pthread_create(&thread, NULL, idle_thread,
									  NULL))
		return 1;
	efd = eventfd(0, 0);
	while (!thread_tid)
		usleep(1000);
	if (efd < 0 || set_owner(pipe_fds[0], F_OWNER_PID, getpid(), SIGRTMIN + 1, true) ||
	    set_owner(pair[0], F_OWNER_TID, thread_tid, 0, true) ||
	    set_owner(efd, F_OWNER_PGRP, getpgrp(), 0, false))
		return 1;
	prog_ready();
	prog_wait_sigterm();

	check_owner(pipe_fds[0], F_OWNER_PID, getpid(), SIGRTMIN + 1, true, "pipe");
	check_owner(pair[0], F_OWNER_TID, thread_tid, 0, true, "socket");
	check_owner(efd, F_OWNER_PGRP, getpgrp(), 0, false, "eventfd");
	check_owner(pipe_fds[1], -1, 0, 0, false, "pipe's write end");
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGRTMIN + 1);
	PROG_CHECK(write(pipe_fds[1], "x", 1) == 1, "cannot write to the pipe");
	if (PROG_CHECK(sigtimedwait(&sigs, &info, &two_seconds) == SIGRTMIN + 1,
		       "no SIGRTMIN+1 within 2 s of a write (errno %d)", errno))
		PROG_CHECK(info.si_fd == pipe_fds[0] && info.si_code == POLL_IN,
			   "si_fd %d si_code %d, want %d and POLL_IN", info.si_fd, info.si_code,
			   pipe_fds[0]);
	prog_finish();
}
