/* Seizing and releasing a whole process: every thread is attached with
 * PTRACE_SEIZE and stopped with PTRACE_INTERRUPT, re-reading the thread list
 * until no new thread appears; release undoes what the library changed and
 * detaches, so the task runs on as before. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject/internal.h"

/* Reads one "Key:\tvalue" number from /proc/PID[/task/TID]/status. */
static int read_status_field(const char *path, const char *key, long *value)
{
	char line[256];
	size_t key_len = strlen(key);
	FILE *f = fopen(path, "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, key_len) && line[key_len] == ':') {
			*value = strtol(line + key_len + 1, NULL, 10);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* A thread that already exited but is not reaped (a zombie leader whose
 * other threads run on) never reports a stop: it must not be waited for. */
static bool thread_is_dead(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *state;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The state follows the last ')' of the comm field. */
	state = strrchr(buf, ')');
	return !state || state[1] != ' ' || state[2] == 'Z' || state[2] == 'X';
}

bool task_is_thread(const struct inj_task *task, pid_t tid)
{
	for (int i = 0; i < task->nr_threads; i++)
		if (task->threads[i].tid == tid)
			return true;
	return false;
}

static int add_thread(struct inj_task *task, pid_t tid)
{
	if (task->nr_threads == task->cap_threads) {
		int cap = task->cap_threads ? task->cap_threads * 2 : 16;
		struct inj_thread *threads = realloc(task->threads, cap * sizeof(*threads));

		if (!threads)
			return -ENOMEM;
		task->threads = threads;
		task->cap_threads = cap;
	}
	task->threads[task->nr_threads++].tid = tid;
	return 0;
}

/* Waits for the stop that PTRACE_INTERRUPT asked for. A signal that was
 * already on its way is delivered first, as it would have been anyway; a
 * job-control stop is a valid stop too (the task stays stopped on detach). */
static int wait_seize_stop(struct inj_task *task, pid_t tid)
{
	for (;;) {
		int status, ret = wait_thread(task, tid, &status);

		if (ret)
			return ret;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 16 == PTRACE_EVENT_STOP)
			return 0;
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status)) < 0)
			return -errno;
	}
}

static int seize_thread(struct inj_task *task, pid_t tid, long options)
{
	int ret;

	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options) < 0) {
		ret = -errno;
		if (ret == -ESRCH)
			return 0; /* exited meanwhile: nothing to seize */
		inj_err("pid %d: cannot seize thread %d: %s%s", task->pid, tid, strerror(-ret),
			ret == -EPERM ? " (traced by another process, or not permitted)" : "");
		return ret;
	}
	ret = add_thread(task, tid);
	if (ret) {
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return ret;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return -errno;
	ret = wait_seize_stop(task, tid);
	if (ret == -ESRCH) {
		/* The thread exited while being stopped: forget it. */
		for (int i = 0; i < task->nr_threads; i++)
			if (task->threads[i].tid == tid)
				task->threads[i] = task->threads[--task->nr_threads];
		return 0;
	}
	if (ret)
		inj_err("pid %d: thread %d did not stop: %s", task->pid, tid, strerror(-ret));
	return ret;
}

/* One pass over /proc/PID/task; *added counts threads seized in this pass. */
static int seize_new_threads(struct inj_task *task, long options, int *added)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	*added = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", task->pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(dir))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
		int before = task->nr_threads;

		if (tid <= 0 || task_is_thread(task, tid) || thread_is_dead(task->pid, tid))
			continue;
		ret = seize_thread(task, tid, options);
		if (ret)
			break;
		*added += task->nr_threads - before;
	}
	closedir(dir);
	return ret;
}

/* Seccomp filters would judge the system calls we run in the task (and may
 * kill it for them): suspend them while it is seized. */
static long seize_options(pid_t pid)
{
	char path[64];
	long mode = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!read_status_field(path, "Seccomp", &mode) && mode != 0)
		return PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP;
	return PTRACE_O_TRACESYSGOOD;
}

static int check_target(pid_t pid)
{
	char path[64];
	long tgid;
	int ret;

	if (pid == getpid()) {
		inj_err("pid %d: cannot seize the calling process itself", pid);
		return -EDEADLK;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ret = read_status_field(path, "Tgid", &tgid);
	if (ret) {
		inj_err("pid %d: no such process", pid);
		return -ESRCH;
	}
	if (tgid != pid) {
		inj_err("pid %d: is a thread of process %ld, not a process", pid, tgid);
		return -EINVAL;
	}
	return 0;
}

static void detach_all(struct inj_task *task)
{
	for (int i = 0; i < task->nr_threads; i++)
		ptrace(PTRACE_DETACH, task->threads[i].tid, NULL, NULL);
}

int inj_seize(pid_t pid, struct inj_task **out)
{
	struct inj_task *task;
	long options;
	int added, ret;

	ret = check_target(pid);
	if (ret)
		return ret;
	task = calloc(1, sizeof(*task));
	if (!task)
		return -ENOMEM;
	task->pid = pid;
	options = seize_options(pid);

	/* A stopped thread cannot start new ones, so the list converges. */
	do {
		ret = seize_new_threads(task, options, &added);
		if (ret)
			goto err;
	} while (added);

	if (!task->nr_threads) {
		inj_err("pid %d: no live thread to seize", pid);
		ret = -ESRCH;
		goto err;
	}
	/* Run remote code in the main thread when it lives, else in any thread. */
	task->worker = task_is_thread(task, pid) ? pid : task->threads[0].tid;
	inj_debug("pid %d: seized %d thread(s), worker %d", pid, task->nr_threads, task->worker);
	*out = task;
	return 0;
err:
	detach_all(task);
	free(task->threads);
	free(task);
	return ret;
}

int inj_release(struct inj_task *task)
{
	int ret = 0, err;

	if (!task)
		return 0;
	if (task->parasite) {
		err = inj_parasite_cure(task->parasite);
		if (err && !ret)
			ret = err;
	}
	if (task->hijacked) {
		err = restore_worker(task);
		if (err && !ret)
			ret = err;
	}
	detach_all(task);
	/* A SIGSTOP that arrived while we held the worker was suppressed then. */
	if (task->stop_signal_held)
		kill(task->pid, SIGSTOP);
	free(task->stack_saved);
	free(task->orig_regs);
	free(task->threads);
	free(task);
	return ret;
}

pid_t inj_task_pid(const struct inj_task *task)
{
	return task->pid;
}

int inj_thread_count(const struct inj_task *task)
{
	return task->nr_threads;
}

pid_t inj_thread_tid(const struct inj_task *task, int index)
{
	if (index < 0 || index >= task->nr_threads)
		return -1;
	return task->threads[index].tid;
}
