/* Round-trip program: one epoll that two processes hold (a child inherited
 * it), watching an eventfd that only the parent's fd table still holds;
 * the child has another file at that fd number. After restore both hold
 * one open file (kcmp), its fdinfo lists the one registration, and an
 * event of the parent's eventfd wakes the epoll in both processes. */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define TARGET_FD 40
#define EPOLL_FD 41
#define DATA 0x5eedf00dull

/* Whether the epoll wakes within a second with the eventfd's registration. */
static bool wakes(void)
{
	struct epoll_event ev = { 0 };

	return epoll_wait(EPOLL_FD, &ev, 1, 1000) == 1 && ev.data.u64 == DATA &&
	       (ev.events & EPOLLIN);
}

/* The registrations the epoll's fdinfo lists. */
static int registrations(void)
{
	char path[64], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", EPOLL_FD);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		n += !strncmp(line, "tfd:", 4);
	if (f)
		fclose(f);
	return n;
}

/* The child: its own file at TARGET_FD; on SIGTERM (sent once the parent
 * made an event), exits 0 if the shared epoll woke it. */
static pid_t fork_holder(void)
{
	int p[2];
	pid_t pid = fork();

	if (pid)
		return pid;
	if (pipe(p) || dup2(p[0], TARGET_FD) != TARGET_FD)
		_exit(2);
	prog_wait_sigterm();
	_exit(wakes() ? 0 : 1);
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = DATA };
	int efd, ep, status = -1;
	pid_t holder, me;

	prog_init(argc, argv);
	efd = eventfd(0, EFD_NONBLOCK);
	ep = epoll_create1(0);
	if (efd < 0 || ep < 0 || dup2(efd, TARGET_FD) != TARGET_FD ||
	    dup2(ep, EPOLL_FD) != EPOLL_FD || close(efd) || close(ep) ||
	    epoll_ctl(EPOLL_FD, EPOLL_CTL_ADD, TARGET_FD, &ev))
		return 1;
	holder = fork_holder();
	if (holder < 0)
		return 1;
	prog_ready();
	prog_wait_sigterm();
	me = getpid();
	PROG_CHECK(syscall(SYS_kcmp, me, holder, KCMP_FILE, EPOLL_FD, EPOLL_FD) == 0,
		   "the epoll is no longer one open file with child %d's", holder);
	PROG_CHECK(registrations() == 1, "the epoll lists %d registrations, not 1",
		   registrations());
	PROG_CHECK(!wakes(), "the epoll woke with no event");
	PROG_CHECK(eventfd_write(TARGET_FD, 1) == 0, "write the eventfd");
	PROG_CHECK(wakes(), "the epoll did not wake for its eventfd");
	kill(holder, SIGTERM);
	PROG_CHECK(waitpid(holder, &status, 0) == holder && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "in child %d the shared epoll did not wake (status "
		   "%#x)", holder, status);
	prog_finish();
}
