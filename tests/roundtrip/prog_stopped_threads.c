/* A child of four threads, each counting in shared memory, stopped by
 * SIGSTOP, its stop not yet waited for. On SIGTERM the parent checks that
 * every thread is still stopped (state T, no counter moves) and that a wait
 * reports the stop once, then continues the child: every thread must count
 * again, and told to end, the child joins them and exits 0. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"
#include "stop_util.h"

#define THREADS 4

struct shared {
	volatile uint64_t count[THREADS];
	volatile int done;
};

static struct shared *sh;

static void *count(void *arg)
{
	int k = (int)(intptr_t)arg;

	while (!sh->done)
		sh->count[k]++;
	return NULL;
}

static void __attribute__((noreturn)) child_main(void)
{
	pthread_t threads[THREADS];

	for (int k = 1; k < THREADS; k++)
		if (pthread_create(&threads[k], NULL, count, (void *)(intptr_t)k))
			_exit(2);
	count((void *)0);
	for (int k = 1; k < THREADS; k++)
		pthread_join(threads[k], NULL);
	_exit(0);
}

static bool all_counted(void)
{
	for (int k = 0; k < THREADS; k++)
		if (!sh->count[k])
			return false;
	return true;
}

int main(int argc, char **argv)
{
	uint64_t before[THREADS];
	int threads, stopped;
	pid_t child;

	prog_init(argc, argv);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	child = fork();
	if (child == 0)
		child_main();
	if (child < 0)
		return 1;
	while (!all_counted())
		stop_nap_ms(1);
	if (kill(child, SIGSTOP) || !stop_wait_reportable(child, SIGSTOP))
		return 1;
	prog_ready();
	prog_wait_sigterm();

	for (int k = 0; k < THREADS; k++)
		before[k] = sh->count[k];
	stop_nap_ms(50);
	stop_count_threads(child, &threads, &stopped);
	PROG_CHECK(threads == THREADS && stopped == THREADS, "%d of %d threads stopped", stopped,
		   threads);
	for (int k = 0; k < THREADS; k++)
		PROG_CHECK(sh->count[k] == before[k], "thread %d counts on while stopped", k);
	PROG_CHECK(stop_unreported(child) == SIGSTOP, "the stop is not reported (%d)",
		   stop_unreported(child));
	PROG_CHECK(waitpid(child, &stopped, WUNTRACED | WNOHANG) == child &&
			   WIFSTOPPED(stopped) && WSTOPSIG(stopped) == SIGSTOP,
		   "waitpid(WUNTRACED) does not report the stop");
	stop_continue(child);
	for (int k = 0; k < THREADS; k++) {
		for (int i = 0; i < 500 && sh->count[k] == before[k]; i++)
			stop_nap_ms(10);
		PROG_CHECK(sh->count[k] != before[k], "thread %d does not count after SIGCONT", k);
	}
	sh->done = 1;
	stop_reap(child);
	prog_finish();
}
