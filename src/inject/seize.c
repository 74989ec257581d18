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
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/procfs.h"
#include "common/textfile.h"
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

/* The state letter of a thread in /proc/PID/task/TID/stat; 'X' when gone. */
static char thread_state(pid_t pid, pid_t tid)
{
	_cleanup_free_ char *text = NULL;
	struct proc_stat st;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (read_text_file(path, &text) || proc_stat_parse(text, &st))
		return 'X';
	return st.state;
}

/* A thread that already exited but is not reaped (a zombie leader whose
 * other threads run on) never reports a stop: it must not be waited for. */
static bool thread_is_dead(pid_t pid, pid_t tid)
{
	char state = thread_state(pid, tid);

	return state == 'Z' || state == 'X';
}

/* After the detach of a task in a job-control stop, each thread goes back
 * into the stop on its own, a moment later: waited for (up to a second),
 * so that whoever looks next finds it stopped, not about to be. */
static void wait_stopped_again(const struct inj_task *task)
{
	struct timespec nap = { 0, 200000 };

	for (int round = 0; round < 5000; round++) {
		bool all = true;

		for (int i = 0; all && i < task->nr_threads; i++)
			all = thread_state(task->pid, task->threads[i].tid) == 'T';
		if (all)
			return;
		nanosleep(&nap, NULL);
	}
	inj_warn("pid %d: not all of its threads are back in their stop a second after "
		 "release (a SIGCONT?)", task->pid);
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

/* A seize stop is a PTRACE_EVENT_STOP: SIGTRAP for our interrupt, or the
 * signal of a job-control stop in effect (the task stays stopped on detach,
 * as the kernel puts the stop back). */
static void note_seize_stop(struct inj_task *task, pid_t tid, int status)
{
	int sig = WSTOPSIG(status);

	for (int i = 0; i < task->nr_threads; i++)
		if (task->threads[i].tid == tid)
			task->threads[i].stop_signal = sig == SIGTRAP ? 0 : sig;
}

/* Waits for the stop that PTRACE_INTERRUPT asked for. A signal that was
 * already on its way is delivered first, as it would have been anyway. */
static int wait_seize_stop(struct inj_task *task, pid_t tid, const struct timespec *deadline)
{
	for (;;) {
		int status, ret = wait_thread_until(task, tid, &status, deadline);

		if (ret)
			return ret;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 16 == PTRACE_EVENT_STOP) {
			note_seize_stop(task, tid, status);
			return 0;
		}
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status)) < 0)
			return -errno;
	}
}

/* A thread in a job-control stop traps as soon as it is seized (the seize
 * waits for that). Interrupting it then would leave a second trap pending,
 * to be met at the first remote syscall: it is only interrupted otherwise.
 * Returns 1 when it trapped so, 0 when it runs (a signal that stopped it
 * on its way is delivered), -ESRCH when it exited. */
static int trapped_at_seize(struct inj_task *task, pid_t tid)
{
	int status;
	pid_t r = waitpid(tid, &status, WNOHANG | __WALL);

	if (r != tid)
		return 0;
	if (WIFEXITED(status) || WIFSIGNALED(status))
		return -ESRCH;
	if (WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_STOP) {
		note_seize_stop(task, tid, status);
		return 1;
	}
	if (WIFSTOPPED(status) &&
	    ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status)) < 0)
		return -errno;
	return 0;
}

/* The pid that traces @tid (TracerPid), 0 if none. */
static long tracer_of(pid_t pid, pid_t tid)
{
	char path[64];
	long tracer = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	read_status_field(path, "TracerPid", &tracer);
	return tracer;
}

/* Names what @tid waits in, as /proc shows it: its state and wchan. */
static void report_not_stopped(const struct inj_task *task, pid_t tid)
{
	_cleanup_free_ char *wchan = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", task->pid, tid);
	if (read_text_file(path, &wchan) || !wchan[0] || !strcmp(wchan, "0")) {
		free(wchan);
		wchan = NULL;
	}
	inj_err("pid %d: thread %d did not stop in time: it is in state %c%s%s (an "
		"uninterruptible wait, such as a vfork parent's, takes no ptrace stop until it "
		"ends)", task->pid, tid, thread_state(task->pid, tid), wchan ? ", waiting in " : "",
		wchan ? wchan : "");
}

static void forget_thread(struct inj_task *task, pid_t tid)
{
	for (int i = 0; i < task->nr_threads; i++)
		if (task->threads[i].tid == tid)
			task->threads[i] = task->threads[--task->nr_threads];
}

/* Waits for the stop of a thread seize_thread() interrupted. */
static int finish_seize(struct inj_task *task, pid_t tid, const struct timespec *deadline)
{
	int ret = wait_seize_stop(task, tid, deadline);

	if (ret == -ESRCH) {
		/* The thread exited while being stopped: forget it. */
		forget_thread(task, tid);
		return 0;
	}
	if (ret == -ETIMEDOUT)
		report_not_stopped(task, tid);
	else if (ret)
		inj_err("pid %d: thread %d did not stop: %s", task->pid, tid, strerror(-ret));
	return ret;
}

/* Seizes @tid and asks it to stop; *interrupted tells whether its stop is
 * still to be waited for (not when it trapped at the seize or was gone). */
static int seize_thread(struct inj_task *task, pid_t tid, long options,
			const struct timespec *deadline, bool *interrupted)
{
	bool ours = false;
	int ret;

	*interrupted = false;
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options) < 0) {
		long tracer;

		ret = -errno;
		if (ret == -ESRCH)
			return 0; /* exited meanwhile: nothing to seize */
		tracer = ret == -EPERM ? tracer_of(task->pid, tid) : 0;
		/* Seized and interrupted by this process already (a v1 freezer's
		 * threads, while frozen): its stop is on its way. */
		ours = tracer == getpid();
		if (!ours && tracer > 0)
			inj_err("pid %d: thread %d is traced by pid %ld (ptrace): a task another "
				"tracer holds, stopped or not, cannot be seized", task->pid, tid,
				tracer);
		else if (!ours)
			inj_err("pid %d: cannot seize thread %d: %s%s", task->pid, tid,
				strerror(-ret), ret == -EPERM ? " (not permitted)" : "");
		if (!ours)
			return ret;
	}
	ret = add_thread(task, tid);
	if (ret) {
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return ret;
	}
	if (ours) {
		/* Its stop is on its way: a second interrupt would leave a second
		 * trap pending. Options are set once it is stopped. */
		ret = finish_seize(task, tid, deadline);
		if (!ret && ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)options) < 0 &&
		    errno != ESRCH)
			ret = -errno;
		return ret;
	}
	ret = trapped_at_seize(task, tid);
	if (ret == -ESRCH) {
		forget_thread(task, tid);
		return 0;
	}
	if (ret < 0)
		inj_err("pid %d: thread %d did not stop: %s", task->pid, tid, strerror(-ret));
	if (ret)
		return ret == 1 ? 0 : ret;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return -errno;
	*interrupted = true;
	return 0;
}

/* One pass over /proc/PID/task; *added counts threads seized in this pass.
 * Every new thread is interrupted first and waited for after: their stops
 * come in together rather than one hand-off after another. */
static int seize_new_threads(struct inj_task *task, long options,
			     const struct timespec *deadline, int *added)
{
	char path[64];
	struct dirent *de;
	pid_t *waiting = NULL;
	int nr_waiting = 0, cap_waiting = 0, before = task->nr_threads, ret = 0;
	bool leader_waits = false;
	DIR *dir;

	*added = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", task->pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(dir))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
		bool interrupted;

		if (tid <= 0 || task_is_thread(task, tid) || thread_is_dead(task->pid, tid))
			continue;
		if (nr_waiting == cap_waiting) {
			int cap = cap_waiting ? cap_waiting * 2 : 16;
			pid_t *grown = reallocarray(waiting, (size_t)cap, sizeof(*grown));

			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			waiting = grown;
			cap_waiting = cap;
		}
		ret = seize_thread(task, tid, options, deadline, &interrupted);
		if (ret)
			break;
		if (interrupted)
			waiting[nr_waiting++] = tid;
	}
	closedir(dir);
	/* Each interrupted thread is waited for, even after a failure: none
	 * may be left with its stop unreported when the caller detaches. The
	 * leader last: while its siblings' stops are pending, its wait polls. */
	for (int i = 0; i < nr_waiting; i++) {
		int err;

		if (waiting[i] == task->pid) {
			leader_waits = true;
			continue;
		}
		err = finish_seize(task, waiting[i], deadline);
		if (err && !ret)
			ret = err;
	}
	if (leader_waits) {
		int err = finish_seize(task, task->pid, deadline);

		if (err && !ret)
			ret = err;
	}
	free(waiting);
	*added = task->nr_threads - before;
	return ret;
}

/* 1 stops proc_each_thread() at the first thread with a seccomp mode. */
static int thread_has_seccomp(pid_t tid, void *arg)
{
	char path[64];
	long mode = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", *(pid_t *)arg, tid);
	return !read_status_field(path, "Seccomp", &mode) && mode;
}

/* Seccomp filters would judge the system calls we run in the task (and may
 * kill it for them): suspend them while it is seized. Any thread may have
 * a mode of its own, so each one is asked. */
static long seize_options(pid_t pid)
{
	/* An unreadable task list counts as no seccomp, as before. */
	if (proc_each_thread(pid, thread_has_seccomp, &pid) > 0)
		return PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP;
	return PTRACE_O_TRACESYSGOOD;
}

int inj_suspend_seccomp(struct inj_task *task)
{
	for (int i = 0; i < task->nr_threads; i++) {
		pid_t tid = task->threads[i].tid;

		long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP |
			       (task->exit_kill ? PTRACE_O_EXITKILL : 0);

		if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)options) < 0) {
			int ret = -errno;

			inj_err("pid %d thread %d: cannot suspend seccomp (PTRACE_O_SUSPEND_SECCOMP "
				"needs CAP_SYS_ADMIN): %s", task->pid, tid, strerror(-ret));
			return ret;
		}
	}
	return 0;
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
	return inj_seize_until(pid, NULL, out);
}

int inj_seize_until(pid_t pid, const struct timespec *deadline, struct inj_task **out)
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
		ret = seize_new_threads(task, options, deadline, &added);
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
	if (task->stopped || inj_stop_signal(task) > 0)
		wait_stopped_again(task);
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

int inj_stop_signal(const struct inj_task *task)
{
	int sig = task->nr_threads ? task->threads[0].stop_signal : 0;

	for (int i = 1; i < task->nr_threads; i++)
		if (task->threads[i].stop_signal != sig)
			return -EAGAIN;
	return sig;
}

pid_t inj_thread_tid(const struct inj_task *task, int index)
{
	if (index < 0 || index >= task->nr_threads)
		return -1;
	return task->threads[index].tid;
}

/* Waits for the stops of the @nr threads seize_thread() interrupted, the
 * leader last (while its siblings' stops are pending, its wait polls). */
static int wait_interrupted(struct inj_task *task, const pid_t *tids, int nr)
{
	int ret = 0, err;

	for (int i = 0; i < nr; i++) {
		if (tids[i] == task->pid)
			continue;
		err = finish_seize(task, tids[i], NULL);
		if (err && !ret)
			ret = err;
	}
	for (int i = 0; i < nr; i++) {
		if (tids[i] != task->pid)
			continue;
		err = finish_seize(task, tids[i], NULL);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

/* A process the caller made and holds dies with it: nothing half-made of
 * it runs if the caller dies before it lets it go. */
#define SEIZE_KNOWN_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)

int inj_seize_threads(pid_t pid, const pid_t *tids, int nr, struct inj_task **out)
{
	struct inj_task *task = calloc(1, sizeof(*task));
	pid_t *waiting = calloc((size_t)nr + 1, sizeof(*waiting));
	int nr_waiting = 0, added, ret = 0;

	if (!task || !waiting) {
		free(task);
		free(waiting);
		return -ENOMEM;
	}
	task->pid = pid;
	task->exit_kill = true;
	for (int i = 0; !ret && i < nr; i++) {
		bool interrupted;

		ret = seize_thread(task, tids[i], SEIZE_KNOWN_OPTIONS, NULL, &interrupted);
		if (!ret && interrupted)
			waiting[nr_waiting++] = tids[i];
	}
	/* Every interrupted thread is waited for, even after a failure. */
	{
		int err = wait_interrupted(task, waiting, nr_waiting);

		if (err && !ret)
			ret = err;
	}
	free(waiting);
	/* A thread not on the list would run on: one pass seizes it. */
	if (!ret)
		ret = seize_new_threads(task, SEIZE_KNOWN_OPTIONS, NULL, &added);
	if (!ret && (!task->nr_threads || !task_is_thread(task, pid))) {
		inj_err("pid %d: its main thread was not seized", pid);
		ret = -ESRCH;
	}
	if (ret) {
		detach_all(task);
		free(task->threads);
		free(task);
		return ret;
	}
	task->worker = pid;
	inj_debug("pid %d: seized %d known thread(s)", pid, task->nr_threads);
	*out = task;
	return 0;
}
