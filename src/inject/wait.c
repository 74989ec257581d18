/* Waiting for one seized thread without ever hanging (but for a signal
 * the caller sends itself at a deadline, see inj_seize_until()). A blocking waitpid()
 * on a thread-group leader never returns once the task is killed, because
 * the kernel holds the leader back until its tracer (us) has reaped every
 * other thread. So where we trace other threads of the task the wait polls,
 * spinning briefly first (a ptrace stop usually lands within microseconds),
 * and reaps dead siblings as it goes. Where the thread is the only one we
 * trace, nothing of ours can hold it back, and the wait blocks: polling
 * there cost a tree of 500 processes over a second of naps that overshoot
 * the stop (a parasite command takes longer than the spin). */
#include <errno.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>

#include "inject/internal.h"

#define SPIN_NS 200000L
#define MAX_SLEEP_NS 5000000L

static long elapsed_ns(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

/* Collects the exit of every other thread that died and drops it from the task. */
static void reap_dead_threads(struct inj_task *task, pid_t waiting_for)
{
	for (int i = 0; i < task->nr_threads; i++) {
		pid_t tid = task->threads[i].tid;
		int status;

		if (tid == waiting_for || waitpid(tid, &status, WNOHANG | __WALL) != tid)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			task->threads[i] = task->threads[--task->nr_threads];
			i--;
		}
	}
}

static bool past(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

int wait_thread(struct inj_task *task, pid_t tid, int *status)
{
	return wait_thread_until(task, tid, status, NULL);
}

int wait_thread_until(struct inj_task *task, pid_t tid, int *status,
		      const struct timespec *deadline)
{
	struct timespec start, nap = { 0, 20000 };

	/* A lone thread's wait blocks even when bounded: a signal of the
	 * caller's (dump's timer) cuts it short at the deadline. */
	if (task->nr_threads == 1 && task->threads[0].tid == tid) {
		for (;;) {
			pid_t r = waitpid(tid, status, __WALL);

			if (r == tid)
				return 0;
			if (r < 0 && errno != EINTR)
				return -errno;
			if (deadline && past(deadline))
				return -ETIMEDOUT;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(tid, status, WNOHANG | __WALL);

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (elapsed_ns(&start) < SPIN_NS) {
			sched_yield();
			continue;
		}
		if (deadline && past(deadline))
			return -ETIMEDOUT;
		reap_dead_threads(task, tid);
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < MAX_SLEEP_NS)
			nap.tv_nsec *= 2;
	}
}
