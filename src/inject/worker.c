/* The worker thread's lifecycle: borrowing it for remote code (its registers
 * and signal mask saved, its signals blocked), waiting for its stops, parking
 * it in a ptrace event stop and giving it back exactly as it was seized.
 * Reading and writing registers is regs.c's; running code is syscall.c's. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "inject/internal.h"

static bool is_sigstop_delivery(int status)
{
	return WIFSTOPPED(status) && status >> 16 == 0 && WSTOPSIG(status) == SIGSTOP;
}

int wait_worker_stop(struct inj_task *task, int *status)
{
	for (;;) {
		int ret = wait_thread(task, task->worker, status);

		if (ret)
			return ret;
		if (WIFEXITED(*status) || WIFSIGNALED(*status)) {
			inj_err("pid %d: thread %d died while running remote code", task->pid,
				task->worker);
			return -ESRCH;
		}
		if (WIFSTOPPED(*status))
			return 0;
	}
}

/* Resumes with @request after a SIGSTOP, which is held back until release
 * (SIGKILL aside, it is the only signal that can reach a worker whose
 * signals are all blocked). Returns true when the stop was such a SIGSTOP. */
bool hold_worker_sigstop(struct inj_task *task, int status, int request)
{
	if (!is_sigstop_delivery(status))
		return false;
	task->stop_signal_held = true;
	ptrace(request, task->worker, NULL, NULL);
	return true;
}

int park_worker_start(struct inj_task *task, bool running)
{
	/* Any stop clears a pending interrupt, so it is asked on each round. */
	if (ptrace(PTRACE_INTERRUPT, task->worker, NULL, NULL) < 0)
		return -errno;
	if (!running && ptrace(PTRACE_CONT, task->worker, NULL, NULL) < 0)
		return -errno;
	return 0;
}

int park_worker_finish(struct inj_task *task)
{
	for (;;) {
		int status, ret = wait_worker_stop(task, &status);

		if (ret)
			return ret;
		if (status >> 16 == PTRACE_EVENT_STOP)
			return 0;
		if (!is_sigstop_delivery(status)) {
			inj_err("pid %d: thread %d stopped unexpectedly (status %#x) while being "
				"parked", task->pid, task->worker, status);
			return -EIO;
		}
		task->stop_signal_held = true;
		ret = park_worker_start(task, false);
		if (ret)
			return ret;
	}
}

int park_worker(struct inj_task *task, bool running)
{
	int ret = park_worker_start(task, running);

	return ret ? ret : park_worker_finish(task);
}

int hijack_worker(struct inj_task *task)
{
	int ret;

	if (task->hijacked)
		return 0;
	if (!task->orig_regs) {
		task->orig_regs = aligned_alloc(64, sizeof(*task->orig_regs));
		if (!task->orig_regs)
			return -ENOMEM;
	}
	ret = regs_read(task->worker, task->orig_regs);
	if (!ret && ptrace(PTRACE_GETSIGMASK, task->worker, (void *)sizeof(uint64_t),
			   &task->orig_sigmask) < 0)
		ret = -errno;
	if (ret) {
		inj_err("pid %d: cannot save the state of thread %d: %s", task->pid, task->worker,
			strerror(-ret));
		return ret;
	}
	task->hijacked = true;
	task->signals_blocked = false;
	return 0;
}

/*
 * Signals wait until the cure: no handler may run on borrowed registers,
 * and no signal stop may come between two syscall stops. They are blocked
 * only once the borrowed registers are in place, which (through the
 * trampoline or the gadget) return through a frame that carries the saved
 * mask: a dumper killed before or after this leaves the thread whole.
 */
int block_worker_signals(struct inj_task *task)
{
	uint64_t block_all = ~0ULL;

	if (task->signals_blocked)
		return 0;
	if (ptrace(PTRACE_SETSIGMASK, task->worker, (void *)sizeof(uint64_t), &block_all) < 0)
		return -errno;
	task->signals_blocked = true;
	return 0;
}

int restore_parked_worker(struct inj_task *task)
{
	int ret = 0;

	if (ptrace(PTRACE_SETSIGMASK, task->worker, (void *)sizeof(uint64_t),
		   &task->orig_sigmask) < 0)
		ret = -errno;
	if (!ret)
		ret = regs_write(task->worker, task->orig_regs);
	/* The thread is itself again: the bootstrap frame's bytes go back. */
	if (!ret)
		bootstrap_put_back_stack(task);
	if (ret) {
		inj_err("pid %d: cannot restore the state of thread %d: %s", task->pid,
			task->worker, strerror(-ret));
		return ret;
	}
	task->hijacked = false;
	task->signals_blocked = false;
	return 0;
}

int restore_worker(struct inj_task *task)
{
	int ret;

	if (!task->hijacked)
		return 0;
	/*
	 * The worker is parked in an event stop first, inside the kernel's
	 * signal path, still on the borrowed registers. Then the saved mask
	 * goes back, then the saved registers: until that last write a task
	 * let go returns through the frame, and after it the thread is itself.
	 * On detach the kernel restarts an interrupted system call from those
	 * registers, as if never seized.
	 */
	ret = park_worker(task, false);
	if (ret) {
		inj_err("pid %d: cannot restore the state of thread %d: %s", task->pid,
			task->worker, strerror(-ret));
		return ret;
	}
	return restore_parked_worker(task);
}
