/* Putting a seized task into a job-control stop, as a SIGSTOP (or SIGTSTP,
 * SIGTTIN, SIGTTOU) would have, while every thread is still held: the stop
 * is complete, and the parent told, before the task is released, and the
 * kernel keeps it stopped after the detach. Reading the stop a task was
 * seized in is seize.c's. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "inject/internal.h"

#define STOP_WAIT_MS 5000

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* A stop should come at once; a thread that runs on instead (the kernel
 * dropped the signal) must not make us wait forever. */
static int wait_stop_timed(pid_t tid, int *status)
{
	struct timespec nap = { 0, 1000000 };

	for (int waited = 0; waited < STOP_WAIT_MS; waited++) {
		pid_t r = waitpid(tid, status, WNOHANG | __WALL);

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		nanosleep(&nap, NULL);
	}
	return -ETIMEDOUT;
}

/* Resumes @tid until it traps in the group stop of @sig. The thread that
 * takes the signal reports its delivery first and is resumed with it; the
 * others find the stop pending and join it. */
static int join_stop(struct inj_task *task, pid_t tid, int sig)
{
	long deliver = 0;

	for (int round = 0; round < 4; round++) {
		int status, ret;

		if (ptrace(PTRACE_CONT, tid, NULL, (void *)deliver) < 0)
			return -errno;
		ret = wait_stop_timed(tid, &status);
		if (ret == -ETIMEDOUT) {
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			wait_stop_timed(tid, &status);
			inj_err("pid %d: thread %d ran on instead of stopping by %s (the kernel "
				"discards it in an orphaned process group)", task->pid, tid,
				strsignal(sig));
			return -EIO;
		}
		if (ret)
			return ret;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (status >> 16 == PTRACE_EVENT_STOP && WSTOPSIG(status) == sig)
			return 0;
		/* The delivery of our signal, or an interrupt still pending. */
		deliver = status >> 16 == 0 && WSTOPSIG(status) == sig ? sig : 0;
		if (!deliver && status >> 16 != PTRACE_EVENT_STOP) {
			inj_err("pid %d: thread %d stopped with status %#x while being stopped "
				"by %s", task->pid, tid, status, strsignal(sig));
			return -EIO;
		}
	}
	inj_err("pid %d: thread %d did not enter the stop by %s", task->pid, tid, strsignal(sig));
	return -EIO;
}

/* Every thread, the worker (main thread) first: it takes the signal. */
static int stop_threads(struct inj_task *task, int sig)
{
	int ret = join_stop(task, task->worker, sig);

	for (int i = 0; !ret && i < task->nr_threads; i++)
		if (task->threads[i].tid != task->worker)
			ret = join_stop(task, task->threads[i].tid, sig);
	return ret;
}

int inj_stop(struct inj_task *task, int sig)
{
	uint64_t only_sig = ~(1ULL << (sig - 1));
	uint64_t *masks;
	int ret = 0, i;

	if (!is_stop_signal(sig))
		return -EINVAL;
	if (task->hijacked || task->parasite)
		return -EBUSY;
	masks = calloc((size_t)task->nr_threads, sizeof(*masks));
	if (!masks)
		return -ENOMEM;
	/* Only @sig may be taken: a pending signal delivered under ptrace
	 * would run its handler before the stop instead of after it. */
	for (i = 0; !ret && i < task->nr_threads; i++) {
		pid_t tid = task->threads[i].tid;

		if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(uint64_t), &masks[i]) < 0 ||
		    ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(uint64_t), &only_sig) < 0)
			ret = -errno;
	}
	if (!ret && kill(task->pid, sig) < 0)
		ret = -errno;
	if (!ret)
		ret = stop_threads(task, sig);
	while (i-- > 0)
		if (ptrace(PTRACE_SETSIGMASK, task->threads[i].tid, (void *)sizeof(uint64_t),
			   &masks[i]) < 0 && !ret)
			ret = -errno;
	free(masks);
	task->stopped = !ret;
	if (ret)
		inj_err("pid %d: cannot put it in a stop by %s: %s", task->pid, strsignal(sig),
			strerror(-ret));
	return ret;
}
