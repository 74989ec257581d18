/* Remote system calls: the worker thread is pointed at a "syscall"
 * instruction that already exists in the task (in the vDSO, or else in any
 * executable mapping) and stepped through it with PTRACE_SYSCALL, so no byte
 * of the task's memory is ever patched. */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "common/procmap.h"
#include "inject/internal.h"

#define SYSCALL_STOP (SIGTRAP | 0x80)
#define SCAN_LIMIT (1UL << 20)

/* Looks for the bytes 0f 05 in [start, end) of the task's memory. */
static unsigned long find_syscall_insn(pid_t pid, unsigned long start, unsigned long end)
{
	size_t len = end - start < SCAN_LIMIT ? end - start : SCAN_LIMIT;
	unsigned long found = 0;
	unsigned char *buf = malloc(len);
	struct iovec local = { buf, len }, remote = { (void *)start, len };
	ssize_t n;

	if (!buf)
		return 0;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	for (ssize_t i = 0; i + 1 < n; i++) {
		if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
			found = start + i;
			break;
		}
	}
	free(buf);
	return found;
}

struct site_search {
	struct inj_task *task;
	bool vdso;		/* this pass looks at [vdso] alone */
	unsigned long site;
};

static int try_mapping(const struct proc_maps_line *m, void *arg)
{
	struct site_search *s = arg;

	if (!strcmp(m->name, "[vdso]") != s->vdso)
		return 0;
	s->site = find_syscall_insn(s->task->pid, m->start, m->end);
	return s->site != 0;
}

/* The vDSO is tried first: it is small and every x86_64 vDSO has a syscall
 * fallback. Other executable mappings are tried in order after it. Only
 * the readable executable mappings are asked for (procmap.h): a task of
 * 50,000 mappings has a dozen. */
static int locate_syscall_site(struct inj_task *task)
{
	struct site_search s = { .task = task };
	int ret = 0;

	for (int pass = 0; pass < 2 && !s.site && ret >= 0; pass++) {
		s.vdso = pass == 0;
		ret = proc_each_mapping(task->pid, PROC_MAPPING_READ | PROC_MAPPING_EXEC,
					try_mapping, &s);
	}
	if (ret < 0)
		return ret;
	if (!s.site) {
		inj_err("pid %d: no syscall instruction found in [vdso] or any readable "
			"executable mapping; cannot run remote system calls", task->pid);
		return -ENOEXEC;
	}
	task->syscall_ip = s.site;
	inj_debug("pid %d: remote syscalls run at %#lx", task->pid, s.site);
	return 0;
}

void inj_task_offer_syscall_site(struct inj_task *task, unsigned long ip)
{
	unsigned char insn[2];
	struct iovec local = { insn, sizeof(insn) }, remote = { (void *)ip, sizeof(insn) };

	if (task->syscall_ip || !ip)
		return;
	if (process_vm_readv(task->pid, &local, 1, &remote, 1, 0) == sizeof(insn) &&
	    insn[0] == 0x0f && insn[1] == 0x05)
		task->syscall_ip = ip;
}

/* An interrupt that was still pending, or a job-control stop taking
 * effect, traps the worker on its way to the syscall: it goes on. */
static bool pass_event_stop(struct inj_task *task, int status)
{
	if (status >> 16 != PTRACE_EVENT_STOP)
		return false;
	ptrace(PTRACE_SYSCALL, task->worker, NULL, NULL);
	return true;
}

int step_start(struct inj_task *task)
{
	return ptrace(PTRACE_SYSCALL, task->worker, NULL, NULL) < 0 ? -errno : 0;
}

int step_finish(struct inj_task *task)
{
	int status, ret;

	do {
		ret = wait_worker_stop(task, &status);
		if (ret)
			return ret;
	} while (hold_worker_sigstop(task, status, PTRACE_SYSCALL) ||
		 pass_event_stop(task, status));
	if (WSTOPSIG(status) != SYSCALL_STOP || status >> 16) {
		inj_err("pid %d: thread %d stopped with status %#x instead of at a syscall",
			task->pid, task->worker, status);
		return -EIO;
	}
	return 0;
}

int step_to_syscall_stop(struct inj_task *task)
{
	int ret = step_start(task);

	return ret ? ret : step_finish(task);
}

int remote_syscall(struct inj_task *task, long *result, long nr, const unsigned long args[6])
{
	struct user_regs_struct regs = task->orig_regs->gp;
	struct iovec iov = { &regs, sizeof(regs) };
	int ret;

	regs.rax = nr;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	regs.rip = task->safe_ip ? task->safe_ip : task->syscall_ip;
	if (task->safe_ip)
		regs.rsp = task->safe_sp;
	/* Not inside a system call: the kernel must not try to restart one. */
	regs.orig_rax = -1;
	if (ptrace(PTRACE_SETREGSET, task->worker, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	ret = block_worker_signals(task);
	if (!ret)
		ret = step_to_syscall_stop(task);
	if (!ret)
		ret = step_to_syscall_stop(task);
	if (ret)
		return ret;
	if (ptrace(PTRACE_GETREGSET, task->worker, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	*result = (long)regs.rax;
	return 0;
}

int prepare_worker(struct inj_task *task)
{
	if (!task->syscall_ip) {
		int ret = locate_syscall_site(task);

		if (ret)
			return ret;
	}
	return hijack_worker(task);
}

int inj_syscall(struct inj_task *task, long *result, long nr, unsigned long a1,
		unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5,
		unsigned long a6)
{
	const unsigned long args[6] = { a1, a2, a3, a4, a5, a6 };
	int ret, err;

	if (task->parasite) {
		inj_err("pid %d: remote syscall while a parasite runs", task->pid);
		return -EBUSY;
	}
	ret = prepare_worker(task);
	if (ret)
		return ret;
	ret = remote_syscall(task, result, nr, args);
	if (ret)
		inj_err("pid %d: remote syscall %ld failed: %s", task->pid, nr, strerror(-ret));
	/* The thread is given back at once: if we were killed before the next
	 * call, the kernel would detach it still on the borrowed registers,
	 * with every signal blocked. */
	err = restore_worker(task);
	return ret ? ret : err;
}
