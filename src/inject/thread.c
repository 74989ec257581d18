/* Remote system calls in any seized thread, not only the worker: the
 * thread is made the worker for the length of one call, through the same
 * path as every other remote syscall (hijack, bootstrap trampoline over a
 * frame of its own state, restore and park), so it is given back exactly
 * as it was seized before the call returns. */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "inject/internal.h"

int scratch_io(pid_t pid, unsigned long addr, void *buf, size_t len, bool write)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0) :
			    process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

void scratch_args(const unsigned long args[6], size_t len, unsigned long scratch,
		  unsigned long real[6])
{
	for (int i = 0; i < 6; i++)
		real[i] = args[i] - INJ_ARG_BUF < (len ? len : 1) ? scratch + (args[i] - INJ_ARG_BUF) :
								    args[i];
}

/* The call itself, with @tid already hijacked as the worker. */
static int run_in_thread(struct inj_task *task, long *result, void *buf, size_t len, long nr,
			 const unsigned long args[6])
{
	unsigned long real_args[6], scratch = 0;
	int ret;

	if (len) {
		ret = bootstrap_scratch(task, &scratch);
		if (!ret)
			ret = scratch_io(task->pid, scratch, buf, len, true);
		if (ret) {
			inj_err("pid %d thread %d: no scratch memory below its stack pointer: %s",
				task->pid, task->worker, strerror(-ret));
			return ret;
		}
	}
	scratch_args(args, len, scratch, real_args);
	ret = bootstrap_syscall(task, result, nr, real_args);
	if (!ret && len)
		ret = scratch_io(task->pid, scratch, buf, len, false);
	return ret;
}

int inj_thread_syscalls(struct inj_task *task, pid_t tid, struct inj_call *calls, size_t n)
{
	pid_t worker = task->worker;
	int ret, err;

	if (task->parasite || task->hijacked) {
		inj_err("pid %d thread %d: remote syscall while the worker thread %d is borrowed",
			task->pid, tid, worker);
		return -EBUSY;
	}
	if (!task_is_thread(task, tid))
		return -ESRCH;
	for (size_t i = 0; i < n; i++)
		if (calls[i].len > INJ_SCRATCH_MAX)
			return -EINVAL;
	task->worker = tid;
	ret = prepare_worker(task);
	for (size_t i = 0; !ret && i < n; i++) {
		ret = run_in_thread(task, &calls[i].result, calls[i].buf, calls[i].len,
				    calls[i].nr, calls[i].args);
		if (ret)
			inj_err("pid %d thread %d: remote syscall %ld failed: %s", task->pid, tid,
				calls[i].nr, strerror(-ret));
	}
	/* Given back at once, its stack bytes too, as inj_syscall() does. */
	if (task->hijacked) {
		err = restore_worker(task);
		if (!ret)
			ret = err;
	}
	task->worker = worker;
	return ret;
}

int inj_thread_syscall(struct inj_task *task, pid_t tid, long *result, void *buf, size_t len,
		       long nr, const unsigned long args[6])
{
	struct inj_call call = { .nr = nr, .buf = buf, .len = len };
	int ret;

	memcpy(call.args, args, sizeof(call.args));
	ret = inj_thread_syscalls(task, tid, &call, 1);
	if (!ret)
		*result = call.result;
	return ret;
}
