/* Leases (issue 11 item 9): a read lease on a file opened read-only and a
 * write lease on a file opened read-write. On SIGTERM: F_GETLEASE gives
 * each back, and the write lease is a real one: a child's open() of its
 * file for reading with O_NONBLOCK fails with EWOULDBLOCK and sends the
 * holder the lease-break signal (F_SETSIG SIGRTMIN+2, blocked and taken
 * here, naming the fd). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static int open_with_lease(const char *name, int flags, int lease)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", prog_dir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, name, 4) != 4 || close(fd))
		return -1;
	fd = open(path, flags);
	/* With a signal of its own, the break's siginfo names the fd. */
	if (fd < 0 || fcntl(fd, F_SETSIG, SIGRTMIN + 2) || fcntl(fd, F_SETLEASE, lease))
		return -1;
	return fd;
}

/* The child's open() of the write-leased file: 0 when it was refused with
 * EWOULDBLOCK, as a lease makes it. */
static int child_open(const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", prog_dir(), name);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	return fd < 0 && errno == EWOULDBLOCK ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct timespec two_seconds = { 2, 0 };
	int rfd, wfd, status = 0;
	siginfo_t info;
	sigset_t sigio;
	pid_t child;

	prog_init(argc, argv);
	sigemptyset(&sigio);
	sigaddset(&sigio, SIGRTMIN + 2);
	if (sigprocmask(SIG_BLOCK, &sigio, NULL))
		return 1;
	rfd = open_with_lease("read-leased", O_RDONLY, F_RDLCK);
	wfd = open_with_lease("write-leased", O_RDWR, F_WRLCK);
	if (rfd < 0 || wfd < 0)
		return 1;
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(fcntl(rfd, F_GETLEASE) == F_RDLCK, "read lease: F_GETLEASE gives %d",
		   fcntl(rfd, F_GETLEASE));
	PROG_CHECK(fcntl(wfd, F_GETLEASE) == F_WRLCK, "write lease: F_GETLEASE gives %d",
		   fcntl(wfd, F_GETLEASE));
	child = fork();
	if (child == 0)
		_exit(child_open("write-leased"));
	PROG_CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0,
		   "the child's open() was not held off by the write lease (status %#x)", status);
	PROG_CHECK(sigtimedwait(&sigio, &info, &two_seconds) == SIGRTMIN + 2 && info.si_fd == wfd,
		   "no lease-break signal for fd %d within 2 s (errno %d, si_fd %d)", wfd, errno,
		   info.si_fd);
	prog_finish();
}
