/* Bench workload: PAIRS (first argument) unix socketpairs across a tree of
 * PROCS (second) processes, the program and PROCS - 1 children. Pair i is
 * stream, datagram or seqpacket in turn; its end a is held by process
 * i % PROCS, its end b by the same process for an even i and by the next
 * one, (i + 1) % PROCS, for an odd i. (cryo makes a pair two processes
 * share before the tree exists and holds it until then: 10,000 such pairs
 * would need 20,000 fds at once, the hard limit of open files here.) Each
 * end has 24
 * bytes queued from the other, naming the pair and the end. On SIGTERM
 * the program passes it on; each process reads what its ends hold and
 * checks it, then that nothing more is queued (or EOF: a process that has
 * checked exits), and answers one byte ('P' or 'F') through a pipe they
 * all share. The program makes every pair and hands each child its ends
 * over a socket of its own (SCM_RIGHTS), so that no process ever holds
 * more than its share (a hard limit of open files may be below twice
 * PAIRS). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "answers.h"
#include "pattern.h"

static const int types[3] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
static int (*pairs)[2];
static uint64_t nr_pairs, nr_procs;

static void message(char *buf, uint64_t pair, int end)
{
	snprintf(buf, 32, "pair %08llu to end %c!!", (unsigned long long)(pair % 100000000),
		 'a' + end);
}

static uint64_t owner(uint64_t pair, int end)
{
	return (pair + (end ? pair % 2 : 0)) % nr_procs;
}

/* Whether process @proc holds end @end of pair @pair. */
static bool holds(uint64_t proc, uint64_t pair, int end)
{
	return owner(pair, end) == proc;
}

static bool check_ends(uint64_t proc)
{
	char want[32], got[32];

	for (uint64_t i = 0; i < nr_pairs; i++) {
		for (int end = 0; end < 2; end++) {
			ssize_t n;

			if (!holds(proc, i, end))
				continue;
			message(want, i, end);
			n = recv(pairs[i][end], got, sizeof(got), MSG_DONTWAIT);
			if (n != 24 || memcmp(got, want, 24))
				return prog_fail("pair %llu end %c read %zd bytes, not its own",
						 (unsigned long long)i, 'a' + end, n);
			/* Nothing more; EOF once the holder of the other end
			 * has checked and exited. */
			n = recv(pairs[i][end], got, sizeof(got), MSG_DONTWAIT);
			if (n > 0 || (n < 0 && errno != EAGAIN))
				return prog_fail("pair %llu end %c holds more than was queued",
						 (unsigned long long)i, 'a' + end);
		}
	}
	return true;
}

/* Sends end @end of pair @i to a child over @ctl; pair -1: the last. */
static bool send_end(int ctl, uint64_t pair, int end, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	uint64_t what[2] = { pair, (uint64_t)end };
	struct iovec iov = { .iov_base = what, .iov_len = sizeof(what) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(ctl, &msg, 0) == sizeof(what);
}

/* A child takes its ends from @ctl until the last message. */
static bool take_ends(int ctl)
{
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} control;
		uint64_t what[2];
		struct iovec iov = { .iov_base = what, .iov_len = sizeof(what) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
				      .msg_controllen = sizeof(control.buf) };
		struct cmsghdr *c;

		if (recvmsg(ctl, &msg, 0) != sizeof(what))
			return false;
		if (what[0] == UINT64_MAX)
			return true;
		c = CMSG_FIRSTHDR(&msg);
		if (!c || c->cmsg_type != SCM_RIGHTS || what[0] >= nr_pairs || what[1] > 1)
			return false;
		memcpy(&pairs[what[0]][what[1]], CMSG_DATA(c), sizeof(int));
	}
}

static void __attribute__((noreturn)) child(int answer_fd, int ctl, uint64_t proc)
{
	char c = 'R';
	bool ok;

	if (!take_ends(ctl))
		_exit(2);
	close(ctl);
	if (write(answer_fd, &c, 1) != 1)
		_exit(2);
	prog_wait_sigterm();
	ok = check_ends(proc);
	c = ok ? 'P' : 'F';
	if (write(answer_fd, &c, 1) != 1)
		_exit(2);
	_exit(ok ? 0 : 1);
}

int main(int argc, char **argv)
{
	struct rlimit lim;
	pid_t *kids;
	int answers[2], *ctl;
	uint64_t need;

	prog_init(argc, argv);
	if (optind + 1 >= argc)
		return 2;
	nr_pairs = strtoull(argv[optind], NULL, 0);
	nr_procs = strtoull(argv[optind + 1], NULL, 0);
	pairs = calloc(nr_pairs ? nr_pairs : 1, sizeof(*pairs));
	kids = calloc(nr_procs ? nr_procs : 1, sizeof(*kids));
	ctl = calloc(nr_procs ? nr_procs : 1, sizeof(*ctl));
	if (!pairs || !kids || !ctl || !nr_procs || getrlimit(RLIMIT_NOFILE, &lim) ||
	    pipe(answers))
		return 2;
	/* Each process's share, and the pair being handed out. */
	need = 2 * nr_pairs / nr_procs + nr_procs + 64;
	if (lim.rlim_cur < need) {
		lim.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &lim)) {
			fprintf(stderr, "cannot raise the open-files limit to %llu\n",
				(unsigned long long)lim.rlim_cur);
			return 2;
		}
	}
	for (uint64_t p = 1; p < nr_procs; p++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
			return 2;
		kids[p] = fork();
		if (kids[p] < 0)
			return 2;
		if (kids[p] == 0) {
			close(answers[0]);
			close(sv[0]);
			for (uint64_t q = 1; q < p; q++)
				close(ctl[q]);
			child(answers[1], sv[1], p);
		}
		close(sv[1]);
		ctl[p] = sv[0];
	}
	for (uint64_t i = 0; i < nr_pairs; i++) {
		char buf[32];

		if (socketpair(AF_UNIX, types[i % 3], 0, pairs[i]))
			return 2;
		for (int end = 0; end < 2; end++) {
			message(buf, i, end);
			if (send(pairs[i][1 - end], buf, 24, 0) != 24)
				return 2;
		}
		for (int end = 0; end < 2; end++) {
			uint64_t to = owner(i, end);

			if (!to)
				continue;
			if (!send_end(ctl[to], i, end, pairs[i][end]))
				return 2;
			close(pairs[i][end]);
		}
	}
	for (uint64_t p = 1; p < nr_procs; p++) {
		if (!send_end(ctl[p], UINT64_MAX, 0, -1))
			return 2;
		close(ctl[p]);
	}
	if (!read_answers(answers[0], nr_procs - 1, 'R'))
		return 2;
	prog_ready();
	prog_wait_sigterm();
	check_ends(0);
	stop_children(kids, nr_procs, answers[0]);
	prog_finish();
}
