/* The same remote system calls in many threads of one task at once: each
 * thread is borrowed as inj_thread_syscalls() borrows one (its own saved
 * state, frame and scratch below its stack pointer), and every step is
 * asked of all of them before any is waited for, so their ptrace stops
 * come in together instead of one hand-off after another. The per-thread
 * path (thread.c) stays for one thread and for tasks without libc's
 * trampoline; this file owns only the lockstep. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inject/internal.h"

/* One borrowed thread: a copy of the task whose worker it is. */
struct lane {
	struct inj_task t;
	struct inj_thread_calls *work;
	unsigned long scratch;
	int err;
};

static void lane_fail(struct lane *l, int err, const char *what)
{
	if (l->err)
		return;
	l->err = err;
	inj_err("pid %d thread %d: %s: %s", l->t.pid, l->t.worker, what, strerror(-err));
}

/* Borrows the lane's thread and places its frame and scratch. */
static void lane_borrow(struct lane *l, const struct inj_task *task)
{
	int ret;

	l->t = *task;
	l->t.worker = l->work->tid;
	l->t.hijacked = false;
	l->t.signals_blocked = false;
	l->t.orig_regs = NULL;
	l->t.stack_saved = NULL;
	l->t.stack_frame = 0;
	l->t.unmap_frame = 0;
	l->t.stop_signal_held = false;
	ret = hijack_worker(&l->t);
	if (!ret)
		ret = bootstrap_scratch(&l->t, &l->scratch);
	if (ret)
		lane_fail(l, ret, "cannot borrow the thread");
}

static bool lane_runs(const struct lane *l, size_t call)
{
	return !l->err && call < l->work->n;
}

static void lane_start(struct lane *l, struct inj_call *c)
{
	int ret = c->len ? scratch_io(l->t.pid, l->scratch, c->buf, c->len, true) : 0;

	if (!ret)
		ret = bootstrap_call_start(&l->t);
	if (ret)
		lane_fail(l, ret, "cannot start a remote syscall");
}

static void lane_redirect(struct lane *l, struct inj_call *c)
{
	unsigned long args[6];
	int ret;

	scratch_args(c->args, c->len, l->scratch, args);
	ret = bootstrap_call_redirect(&l->t, c->nr, args);
	if (ret)
		lane_fail(l, ret, "cannot run a remote syscall");
}

static void lane_result(struct lane *l, struct inj_call *c)
{
	int ret = bootstrap_call_result(&l->t, &c->result);

	if (!ret && c->len)
		ret = scratch_io(l->t.pid, l->scratch, c->buf, c->len, false);
	if (ret)
		lane_fail(l, ret, "cannot read a remote syscall's result");
}

/* Waits for the stop of every lane let go by the step just asked. */
static void lanes_finish(struct lane *lanes, size_t nr, bool *went)
{
	for (size_t i = 0; i < nr; i++) {
		int ret;

		if (!went[i])
			continue;
		ret = step_finish(&lanes[i].t);
		if (ret)
			lane_fail(&lanes[i], ret, "remote syscall did not stop as expected");
		went[i] = false;
	}
}

/* One step of call @call asked of every lane that runs it, then waited for
 * in each that went. */
static void lanes_step(struct lane *lanes, size_t nr, size_t call, bool *went,
		       void (*step)(struct lane *, struct inj_call *))
{
	for (size_t i = 0; i < nr; i++) {
		if (!lane_runs(&lanes[i], call))
			continue;
		step(&lanes[i], &lanes[i].work->calls[call]);
		went[i] = !lanes[i].err;
	}
	lanes_finish(lanes, nr, went);
}

static void lanes_run(struct lane *lanes, size_t nr, size_t max_calls, bool *went)
{
	for (size_t call = 0; call < max_calls; call++) {
		lanes_step(lanes, nr, call, went, lane_start);
		lanes_step(lanes, nr, call, went, lane_redirect);
		for (size_t i = 0; i < nr; i++)
			if (lane_runs(&lanes[i], call))
				lane_result(&lanes[i], &lanes[i].work->calls[call]);
	}
}

/* Every borrowed thread parked (all asked first) and given back as seized;
 * a lane that failed is given back alone, as thread.c would. */
static void lanes_give_back(struct lane *lanes, size_t nr, bool *went)
{
	for (size_t i = 0; i < nr; i++) {
		struct lane *l = &lanes[i];

		went[i] = false;
		if (!l->t.hijacked || l->err)
			continue;
		l->err = park_worker_start(&l->t, false);
		went[i] = !l->err;
	}
	for (size_t i = 0; i < nr; i++) {
		struct lane *l = &lanes[i];
		int ret;

		if (!l->t.hijacked)
			continue;
		if (went[i]) {
			ret = park_worker_finish(&l->t);
			if (!ret)
				ret = restore_parked_worker(&l->t);
			else
				inj_err("pid %d: cannot restore the state of thread %d: %s",
					l->t.pid, l->t.worker, strerror(-ret));
		} else {
			ret = restore_worker(&l->t);
		}
		if (ret && !l->err)
			l->err = ret;
	}
}

static int check_batch(struct inj_task *task, const struct inj_thread_calls *each, size_t nr)
{
	if (task->parasite || task->hijacked) {
		inj_err("pid %d: remote syscalls while the worker thread %d is borrowed", task->pid,
			task->worker);
		return -EBUSY;
	}
	for (size_t i = 0; i < nr; i++) {
		if (!task_is_thread(task, each[i].tid))
			return -ESRCH;
		for (size_t c = 0; c < each[i].n; c++)
			if (each[i].calls[c].len > INJ_SCRATCH_MAX)
				return -EINVAL;
	}
	return 0;
}

/* The leader (whose wait polls while it has traced siblings, reaping them
 * from the task's list) and a task without the trampoline go one thread
 * at a time. */
static bool goes_alone(struct inj_task *task, const struct inj_thread_calls *work)
{
	return work->tid == task->pid || !bootstrap_trampoline(task);
}

int inj_threads_syscalls(struct inj_task *task, struct inj_thread_calls *each, size_t nr)
{
	struct lane *lanes;
	size_t nr_lanes = 0, max_calls = 0;
	bool *went;
	int ret = check_batch(task, each, nr);

	for (size_t i = 0; !ret && i < nr; i++)
		if (goes_alone(task, &each[i]))
			ret = inj_thread_syscalls(task, each[i].tid, each[i].calls, each[i].n);
	if (ret)
		return ret;
	lanes = calloc(nr ? nr : 1, sizeof(*lanes));
	went = calloc(nr ? nr : 1, sizeof(*went));
	if (!lanes || !went) {
		free(lanes);
		free(went);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nr; i++) {
		if (goes_alone(task, &each[i]))
			continue;
		lanes[nr_lanes].work = &each[i];
		lane_borrow(&lanes[nr_lanes], task);
		if (each[i].n > max_calls)
			max_calls = each[i].n;
		nr_lanes++;
	}
	lanes_run(lanes, nr_lanes, max_calls, went);
	lanes_give_back(lanes, nr_lanes, went);
	for (size_t i = 0; i < nr_lanes; i++) {
		if (lanes[i].err && !ret)
			ret = lanes[i].err;
		if (lanes[i].t.stop_signal_held)
			task->stop_signal_held = true;
		free(lanes[i].t.orig_regs);
		free(lanes[i].t.stack_saved);
	}
	free(lanes);
	free(went);
	return ret;
}
