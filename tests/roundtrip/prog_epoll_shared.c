/* Round-trip program: epolls watching files that only another process of
 * the tree holds. One epoll that two processes hold (a child inherited
 * it) watches an eventfd that only the parent's fd table still holds (the
 * child has another file at that number) and one that only the child's
 * holds (the parent closed it). A second epoll, the parent's alone,
 * watches a pipe whose ends only the child holds, under a number where
 * the parent now has an eventfd registered too. After restore: one open
 * epoll file in both (kcmp), its registrations listed, EPOLL_CTL_DEL of the
 * reused number removes the parent's eventfd and not the child's pipe, and
 * each epoll wakes when the process that holds a target writes to it. */
#include <errno.h>
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

#define TARGET_FD 40		/* the parent's eventfd; a pipe in the child */
#define EPOLL_FD 41		/* the shared epoll */
#define OWN_EPOLL_FD 42		/* the parent's epoll */
#define PIPE_AT 43		/* the pipe's read end (child); an eventfd (parent) */
#define CHILD_ONLY_FD 44	/* the child's eventfd */
#define PIPE_W 45		/* the pipe's write end (child) */
#define DATA 0x5eedf00dull
#define DATA_CHILD 0xc41dull
#define DATA_PIPE 0x919eull
#define DATA_OTHER 0x07e4ull

/* The events @epfd reports within @ms milliseconds, as a mask of @want's
 * bits (bit i: an EPOLLIN event with data @want[i]); bit 7 for any other. */
static unsigned int events_seen(int epfd, const uint64_t *want, int n, int ms)
{
	struct epoll_event ev[8];
	unsigned int seen = 0;
	int got = epoll_wait(epfd, ev, 8, ms);

	for (int i = 0; i < got; i++) {
		unsigned int bit = 1u << 7;

		for (int j = 0; j < n; j++)
			if (ev[i].data.u64 == want[j] && (ev[i].events & EPOLLIN))
				bit = 1u << j;
		seen |= bit;
	}
	return seen;
}

/* The registrations @epfd's fdinfo lists; those under @tfd with @data in
 * *@matching. */
static int registrations(int epfd, int tfd, uint64_t data, int *matching)
{
	char path[64], line[256];
	int n = 0;
	FILE *f;

	*matching = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long d;
		unsigned int ev;
		int fd;

		if (sscanf(line, "tfd: %d events: %x data: %llx", &fd, &ev, &d) != 3)
			continue;
		n++;
		*matching += fd == tfd && d == data;
	}
	if (f)
		fclose(f);
	return n;
}

/* The child: its own file at TARGET_FD, the pipe and its eventfd. On the
 * first SIGTERM it writes to both; exits on the second, 0 if the shared
 * epoll then reported the parent's eventfd and its own. */
static pid_t fork_holder(void)
{
	const uint64_t want[] = { DATA, DATA_CHILD };
	unsigned int seen;
	int p[2];
	pid_t pid = fork();

	if (pid)
		return pid;
	close(OWN_EPOLL_FD);
	if (pipe(p) || dup2(p[0], TARGET_FD) != TARGET_FD)
		_exit(2);
	prog_wait_sigterm();
	/* The eventfd first: once the parent sees the pipe, both are. */
	if (eventfd_write(CHILD_ONLY_FD, 1) || write(PIPE_W, "x", 1) != 1)
		_exit(3);
	seen = events_seen(EPOLL_FD, want, 2, 1000);
	prog_wait_sigterm();
	_exit(seen == 3 ? 0 : 1);
}

/* Moves @fd to @at; false on failure. */
static bool put_at(int fd, int at)
{
	return fd >= 0 && dup2(fd, at) == at && close(fd) == 0;
}

static bool set_up(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int p[2];

	if (!put_at(eventfd(0, EFD_NONBLOCK), TARGET_FD) || !put_at(epoll_create1(0), EPOLL_FD) ||
	    !put_at(epoll_create1(0), OWN_EPOLL_FD) ||
	    !put_at(eventfd(0, EFD_NONBLOCK), CHILD_ONLY_FD) || pipe(p) || !put_at(p[0], PIPE_AT) ||
	    !put_at(p[1], PIPE_W))
		return false;
	ev.data.u64 = DATA;
	if (epoll_ctl(EPOLL_FD, EPOLL_CTL_ADD, TARGET_FD, &ev))
		return false;
	ev.data.u64 = DATA_CHILD;
	if (epoll_ctl(EPOLL_FD, EPOLL_CTL_ADD, CHILD_ONLY_FD, &ev))
		return false;
	ev.data.u64 = DATA_PIPE;
	return !epoll_ctl(OWN_EPOLL_FD, EPOLL_CTL_ADD, PIPE_AT, &ev);
}

/* After the fork: the child's files leave the parent's table, and an
 * eventfd of the parent's takes the pipe's number, registered too. */
static bool hand_over(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = DATA_OTHER };

	return !close(CHILD_ONLY_FD) && !close(PIPE_W) && !close(PIPE_AT) &&
	       put_at(eventfd(0, EFD_NONBLOCK), PIPE_AT) &&
	       !epoll_ctl(OWN_EPOLL_FD, EPOLL_CTL_ADD, PIPE_AT, &ev);
}

int main(int argc, char **argv)
{
	const uint64_t shared_want[] = { DATA, DATA_CHILD }, own_want[] = { DATA_PIPE };
	int status = -1, n, matching;
	pid_t holder, me;

	prog_init(argc, argv);
	if (!set_up())
		return 1;
	holder = fork_holder();
	if (holder < 0 || !hand_over())
		return 1;
	prog_ready();
	prog_wait_sigterm();
	me = getpid();
	PROG_CHECK(syscall(SYS_kcmp, me, holder, KCMP_FILE, EPOLL_FD, EPOLL_FD) == 0,
		   "the epoll is no longer one open file with child %d's", holder);
	n = registrations(EPOLL_FD, CHILD_ONLY_FD, DATA_CHILD, &matching);
	PROG_CHECK(n == 2 && matching == 1, "the shared epoll lists %d registrations (%d of fd "
		   "%d), not 2 (1)", n, matching, CHILD_ONLY_FD);
	n = registrations(OWN_EPOLL_FD, PIPE_AT, DATA_PIPE, &matching);
	PROG_CHECK(n == 2 && matching == 1, "the parent's epoll lists %d registrations (%d of the "
		   "pipe), not 2 (1)", n, matching);
	PROG_CHECK(!events_seen(EPOLL_FD, NULL, 0, 0) && !events_seen(OWN_EPOLL_FD, NULL, 0, 0),
		   "an epoll woke with no event");
	/* The number now holds the eventfd: the key (file, number) names it,
	 * and the pipe's registration is out of reach. */
	PROG_CHECK(epoll_ctl(OWN_EPOLL_FD, EPOLL_CTL_DEL, PIPE_AT, NULL) == 0,
		   "EPOLL_CTL_DEL of fd %d: %s", PIPE_AT, strerror(errno));
	PROG_CHECK(epoll_ctl(OWN_EPOLL_FD, EPOLL_CTL_DEL, PIPE_AT, NULL) < 0 && errno == ENOENT,
		   "a second EPOLL_CTL_DEL of fd %d: %s", PIPE_AT, strerror(errno));
	n = registrations(OWN_EPOLL_FD, PIPE_AT, DATA_PIPE, &matching);
	PROG_CHECK(n == 1 && matching == 1, "after EPOLL_CTL_DEL the parent's epoll lists %d "
		   "registrations (%d of the pipe), not 1 (1)", n, matching);
	PROG_CHECK(eventfd_write(TARGET_FD, 1) == 0, "write the eventfd");
	PROG_CHECK(events_seen(EPOLL_FD, shared_want, 2, 1000) == 1,
		   "the shared epoll did not wake for the parent's eventfd alone");
	kill(holder, SIGTERM);
	PROG_CHECK(events_seen(OWN_EPOLL_FD, own_want, 1, 1000) == 1,
		   "the parent's epoll did not wake for the pipe the child wrote to");
	PROG_CHECK(events_seen(EPOLL_FD, shared_want, 2, 1000) == 3,
		   "the shared epoll did not wake for the child's eventfd");
	kill(holder, SIGTERM);
	PROG_CHECK(waitpid(holder, &status, 0) == holder && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "in child %d the shared epoll did not wake for both "
		   "eventfds (status %#x)", holder, status);
	prog_finish();
}
