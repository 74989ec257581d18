/* Bench workload: a tree of COUNT (argument) processes, the program and
 * COUNT - 1 children, each with 1 MiB of its own memory filled. On SIGTERM
 * the program passes it on to every child; each checks its memory and its
 * PID and answers one byte ('P' or 'F') through a pipe they all share, and
 * the program reaps them all before it reports. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "answers.h"
#include "pattern.h"

static void __attribute__((noreturn)) child(int answer_fd, uint64_t index)
{
	pid_t pid = getpid();
	uint8_t *mem = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char c = 'R';
	bool ok;

	if (mem == MAP_FAILED)
		_exit(2);
	pattern_fill(mem, MIB, index);
	if (write(answer_fd, &c, 1) != 1)
		_exit(2);
	prog_wait_sigterm();
	ok = pattern_check(mem, MIB, index, "child") && getpid() == pid;
	c = ok ? 'P' : 'F';
	if (write(answer_fd, &c, 1) != 1)
		_exit(2);
	_exit(ok ? 0 : 1);
}

int main(int argc, char **argv)
{
	uint64_t count;
	pid_t *kids;
	uint8_t *mem;
	int answers[2];

	prog_init(argc, argv);
	if (optind >= argc)
		return 2;
	count = strtoull(argv[optind], NULL, 0);
	kids = calloc(count, sizeof(*kids));
	mem = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!kids || mem == MAP_FAILED || pipe(answers))
		return 2;
	for (uint64_t i = 1; i < count; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			return 2;
		if (kids[i] == 0) {
			close(answers[0]);
			child(answers[1], i);
		}
	}
	if (!read_answers(answers[0], count - 1, 'R'))
		return 2;
	/* Filled only now, so that no child shares these pages. */
	pattern_fill(mem, MIB, 0);
	prog_ready();
	prog_wait_sigterm();
	pattern_check(mem, MIB, 0, "the tree's root");
	stop_children(kids, count, answers[0]);
	prog_finish();
}
