/* Registers and signal masks of seized threads: reading and writing the full
 * CPU state (general registers and the XSAVE area), and the rules of an
 * interrupted system call. Borrowing the worker thread is worker.c's. */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "inject/internal.h"

/* The kernel's internal restart codes, never seen by a task that runs. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* The XSAVE header follows the 512-byte legacy area; the smallest valid
 * buffer holds both. */
#define XSAVE_MIN_SIZE (512 + 64)

bool inj_syscall_interrupted(const struct user_regs_struct *regs)
{
	long ax = (long)regs->rax;

	return (long)regs->orig_rax >= 0 &&
	       (ax == -ERESTARTSYS || ax == -ERESTARTNOINTR || ax == -ERESTARTNOHAND ||
		ax == -ERESTART_RESTARTBLOCK);
}

void inj_reenter_syscall(struct user_regs_struct *regs)
{
	if (!inj_syscall_interrupted(regs))
		return;
	regs->rax = regs->orig_rax;
	regs->rip -= 2;	/* the length of "syscall" */
	regs->orig_rax = (unsigned long)-1;
}

int regs_read(pid_t tid, struct inj_regs *regs)
{
	struct iovec iov = { &regs->gp, sizeof(regs->gp) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	iov.iov_base = regs->xstate;
	iov.iov_len = sizeof(regs->xstate);
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return -errno;
	regs->xstate_size = (uint32_t)iov.iov_len;
	return 0;
}

int regs_write(pid_t tid, const struct inj_regs *regs)
{
	struct iovec iov = { (void *)&regs->gp, sizeof(regs->gp) };

	if (regs->xstate_size < XSAVE_MIN_SIZE || regs->xstate_size > INJ_XSTATE_MAX)
		return -EINVAL;
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	iov.iov_base = (void *)regs->xstate;
	iov.iov_len = regs->xstate_size;
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return -errno;
	return 0;
}

int inj_get_regs(struct inj_task *task, pid_t tid, struct inj_regs *regs)
{
	int ret;

	if (!task_is_thread(task, tid))
		return -ESRCH;
	if (tid == task->worker && task->hijacked) {
		memcpy(regs, task->orig_regs, sizeof(*regs));
		return 0;
	}
	ret = regs_read(tid, regs);
	if (ret)
		inj_err("pid %d: cannot read registers of thread %d: %s", task->pid, tid,
			strerror(-ret));
	return ret;
}

int inj_set_regs(struct inj_task *task, pid_t tid, const struct inj_regs *regs)
{
	int ret;

	if (!task_is_thread(task, tid))
		return -ESRCH;
	if (regs->xstate_size < XSAVE_MIN_SIZE || regs->xstate_size > INJ_XSTATE_MAX)
		return -EINVAL;
	if (tid == task->worker && task->hijacked) {
		memcpy(task->orig_regs, regs, sizeof(*regs));
		return 0;
	}
	ret = regs_write(tid, regs);
	if (ret)
		inj_err("pid %d: cannot write registers of thread %d: %s", task->pid, tid,
			strerror(-ret));
	return ret;
}

int inj_get_sigmask(struct inj_task *task, pid_t tid, uint64_t *mask)
{
	if (!task_is_thread(task, tid))
		return -ESRCH;
	if (tid == task->worker && task->hijacked) {
		*mask = task->orig_sigmask;
		return 0;
	}
	/* The kernel reports the mask a sigsuspend-like call will put back. */
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(*mask), mask) < 0)
		return -errno;
	return 0;
}

int inj_set_sigmask(struct inj_task *task, pid_t tid, uint64_t mask)
{
	if (!task_is_thread(task, tid))
		return -ESRCH;
	if (tid == task->worker && task->hijacked) {
		task->orig_sigmask = mask;
		return 0;
	}
	if (ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask) < 0)
		return -errno;
	return 0;
}
