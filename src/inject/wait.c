/* Waiting for one seized thread without ever hanging (but for a signal
 * the caller sends itself at a deadline, see inj_seize_until()). A blocking waitpid()
 * on a thread-group leader never returns once the task is killed, because
 * the kernel holds the leader back until its tracer (us) has reaped every
 * other thread. So a wait for the leader while we trace other threads of
 * the task blocks in waitid(P_ALL, WNOWAIT), which wakes for any tracee's
 * news, and reaps the dead siblings it names; only news of another task
 * (which would wake it again at once) turns it to polling, spinning briefly
 * first (a ptrace stop usually lands within microseconds) and reaping dead
 * siblings as it goes. Any other thread (one not the leader, or the only
 * one we trace) reports its own stop or death whatever its siblings do, and
 * its wait blocks in waitpid(). Polling cost a tree of 500 processes over a
 * second of naps that overshoot the stop (a parasite command takes longer
 * than the spin), and a process of 64 threads 40,000 wait4 calls a dump. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
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

static bool is_death(const siginfo_t *info)
{
	return info->si_code == CLD_EXITED || info->si_code == CLD_KILLED ||
	       info->si_code == CLD_DUMPED;
}

/* Reaps thread @i when it died and drops it from the task; a stop it
 * reports is left for its own wait (another wait may be for it). */
static bool reap_thread(struct inj_task *task, int i)
{
	pid_t tid = task->threads[i].tid;
	siginfo_t info = { 0 };
	int status;

	if (waitid(P_PID, (id_t)tid, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 ||
	    info.si_pid != tid || !is_death(&info) ||
	    waitpid(tid, &status, WNOHANG | __WALL) != tid)
		return false;
	task->threads[i] = task->threads[--task->nr_threads];
	return true;
}

/* Collects the exit of every other thread that died and drops it from the task. */
static void reap_dead_threads(struct inj_task *task, pid_t waiting_for)
{
	for (int i = 0; i < task->nr_threads; i++)
		if (task->threads[i].tid != waiting_for && reap_thread(task, i))
			i--;
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

/* Blocks until some tracee or child of ours has news, without taking it;
 * returns 1 with @info, 0 after a signal, or -errno. */
static int wait_any_news(siginfo_t *info)
{
	memset(info, 0, sizeof(*info));
	if (waitid(P_ALL, 0, info, WEXITED | WSTOPPED | WNOWAIT | __WALL) < 0)
		return errno == EINTR ? 0 : -errno;
	return 1;
}

/* The leader, with traced siblings: blocked in wait_any_news() while the
 * news is its own or a sibling's death (reaped, which lets a killed leader
 * report); 1 when other news is pending (another task's, or a sibling's
 * stop that its own wait will take), which would wake every such wait at
 * once: the caller polls instead. */
static int wait_leader(struct inj_task *task, pid_t tid, int *status,
		       const struct timespec *deadline)
{
	for (;;) {
		pid_t r = waitpid(tid, status, WNOHANG | __WALL);
		siginfo_t info;
		int news, i;

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		news = wait_any_news(&info);
		if (news < 0)
			return news;
		if (!news && deadline && past(deadline))
			return -ETIMEDOUT;
		if (!news || info.si_pid == tid)
			continue;
		for (i = 0; i < task->nr_threads && task->threads[i].tid != info.si_pid; i++)
			;
		if (i == task->nr_threads || !is_death(&info) || !reap_thread(task, i))
			return 1;
	}
}

int wait_thread_until(struct inj_task *task, pid_t tid, int *status,
		      const struct timespec *deadline)
{
	struct timespec start, nap = { 0, 20000 };
	int ret;

	/* Such a wait blocks even when bounded: a signal of the caller's
	 * (dump's timer) cuts it short at the deadline. */
	if (tid != task->pid || (task->nr_threads == 1 && task->threads[0].tid == tid)) {
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
	ret = wait_leader(task, tid, status, deadline);
	if (ret <= 0)
		return ret;
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
