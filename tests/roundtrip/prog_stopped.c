/* Children in a job-control stop come back stopped, as their parent saw
 * them. Child A is stopped by SIGSTOP and its parent has waited for that
 * stop (WUNTRACED); child B, in a process group of its own (so the kernel
 * keeps a SIGTSTP), is stopped by SIGTSTP and its stop not yet waited for.
 * Both spin counting in shared memory until stopped. On SIGTERM the parent
 * checks that both are still stopped (state T, counters still), that a
 * wait shows B's stop and not A's, that no SIGCHLD is pending (none was at
 * dump), then continues both: each must be seen continued, count again and,
 * told to end, check its own memory and exit 0. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"
#include "stop_util.h"

#define PATTERN_WORDS (256 * 1024)

struct shared {
	volatile uint64_t count[2];
	volatile int done;
};

static struct shared *sh;

static void __attribute__((noreturn)) child_main(int k)
{
	uint64_t *mem = malloc(PATTERN_WORDS * sizeof(*mem));

	if (!mem)
		_exit(2);
	for (uint64_t i = 0; i < PATTERN_WORDS; i++)
		mem[i] = (i * 0x9e3779b97f4a7c15ull) ^ (uint64_t)k;
	while (!sh->done)
		sh->count[k]++;
	for (uint64_t i = 0; i < PATTERN_WORDS; i++)
		if (mem[i] != ((i * 0x9e3779b97f4a7c15ull) ^ (uint64_t)k))
			_exit(3);
	_exit(0);
}

static pid_t start_child(int k)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (k == 1)
			setpgid(0, 0);
		child_main(k);
	}
	if (pid > 0 && k == 1)
		setpgid(pid, pid);
	return pid;
}

/* Still stopped: every thread in state T, and the counter does not move. */
static void check_still_stopped(pid_t child, int k)
{
	uint64_t before = sh->count[k];
	int threads, stopped;

	stop_nap_ms(50);
	stop_count_threads(child, &threads, &stopped);
	PROG_CHECK(threads == 1 && stopped == 1, "child %d: %d of %d threads stopped", child,
		   stopped, threads);
	PROG_CHECK(sh->count[k] == before, "child %d counts on while stopped", child);
}

static void check_counts_again(pid_t child, int k)
{
	uint64_t before = sh->count[k];

	for (int i = 0; i < 500 && sh->count[k] == before; i++)
		stop_nap_ms(10);
	PROG_CHECK(sh->count[k] != before, "child %d does not count after SIGCONT", child);
}

int main(int argc, char **argv)
{
	sigset_t chld;
	pid_t a, b;
	int status;

	prog_init(argc, argv);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	a = start_child(0);
	b = start_child(1);
	if (a < 0 || b < 0)
		return 1;
	while (!sh->count[0] || !sh->count[1])
		stop_nap_ms(1);
	if (kill(a, SIGSTOP) || waitpid(a, &status, WUNTRACED) != a || !WIFSTOPPED(status) ||
	    WSTOPSIG(status) != SIGSTOP)
		return 1;
	if (kill(b, SIGTSTP) || !stop_wait_reportable(b, SIGTSTP))
		return 1;
	stop_drain_sigchld();
	prog_ready();
	prog_wait_sigterm();

	check_still_stopped(a, 0);
	check_still_stopped(b, 1);
	PROG_CHECK(stop_unreported(a) == 0, "A's stop, already waited for, is reported again");
	PROG_CHECK(stop_unreported(b) == SIGTSTP, "B's stop by SIGTSTP is not reported (%d)",
		   stop_unreported(b));
	PROG_CHECK(waitpid(b, &status, WUNTRACED | WNOHANG) == b && WIFSTOPPED(status) &&
			   WSTOPSIG(status) == SIGTSTP,
		   "waitpid(WUNTRACED) does not report B's stop");
	PROG_CHECK(stop_unreported(b) == 0, "B's stop is reported twice");
	PROG_CHECK(!stop_sigchld_pending(), "a SIGCHLD is pending that was not at dump");
	stop_continue(a);
	stop_continue(b);
	check_counts_again(a, 0);
	check_counts_again(b, 1);
	sh->done = 1;
	stop_reap(a);
	stop_reap(b);
	prog_finish();
}
