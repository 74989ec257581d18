/* Bench workload: one process of COUNT (argument) threads. Each thread but
 * the first fills 1 MiB of its own and sleeps in a futex wait. On SIGTERM
 * the first thread wakes them; each checks its memory and its thread id,
 * and the first thread joins them all before it reports. */
#include <getopt.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pattern.h"

struct worker {
	pthread_t thread;
	uint64_t index;
	pid_t tid;
	uint8_t *mem;
	bool ok;
};

static atomic_uint ready, go, done;

static void futex_wait(atomic_uint *word, unsigned int val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1 << 30, NULL, NULL, 0);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = gettid();
	w->mem = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->mem != MAP_FAILED)
		pattern_fill(w->mem, MIB, w->index);
	atomic_fetch_add(&ready, 1);
	futex_wake(&ready);
	while (!atomic_load(&go))
		futex_wait(&go, 0);
	w->ok = w->mem != MAP_FAILED && gettid() == w->tid;
	atomic_fetch_add(&done, 1);
	futex_wake(&done);
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker *workers;
	uint64_t count;
	unsigned int n;

	prog_init(argc, argv);
	if (optind >= argc)
		return 2;
	count = strtoull(argv[optind], NULL, 0);
	workers = calloc(count, sizeof(*workers));
	if (!workers)
		return 2;
	for (uint64_t i = 1; i < count; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]))
			return 2;
	}
	while ((n = atomic_load(&ready)) < count - 1)
		futex_wait(&ready, n);
	prog_ready();
	prog_wait_sigterm();
	atomic_store(&go, 1);
	futex_wake(&go);
	while ((n = atomic_load(&done)) < count - 1)
		futex_wait(&done, n);
	for (uint64_t i = 1; i < count; i++) {
		pthread_join(workers[i].thread, NULL);
		PROG_CHECK(workers[i].ok, "thread %llu lost its memory or its id %d",
			   (unsigned long long)i, workers[i].tid);
		if (workers[i].mem != MAP_FAILED)
			pattern_check(workers[i].mem, MIB, i, "a thread's memory");
	}
	prog_finish();
}
