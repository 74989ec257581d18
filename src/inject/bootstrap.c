/* Remote syscalls made while the parasite's area, and with it the safe
 * gadget, does not exist: the mmap that creates the area and the munmap
 * that removes it. They run through the task's own rt_sigreturn trampoline
 * (libc's __restore_rt: "mov $15, %rax; syscall") over a frame of the saved
 * state written just below the task's stack pointer. At the syscall-entry
 * stop the injector turns that rt_sigreturn into the call it wants, and
 * points the return back at the trampoline: whenever cryo dies, the task
 * ends in rt_sigreturn through the frame and is itself again.
 * Without such a trampoline, or room on the stack, the vDSO's syscall
 * instruction is used as before.
 * Once armed for the parasite's area, the way back goes through a call
 * frame first: its sigreturn runs munmap(area) at a "syscall; ret" of
 * libc's, whose ret finds the trampoline at the saved state's frame (its
 * pretcode), so a task let go while the area may exist never keeps it. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "common/procmap.h"
#include "inject/internal.h"

#define RED_ZONE 128
/* Small reads that stop at the first hit: both patterns sit in the first
 * few hundred KiB of glibc's text, and a tree scans it once per process
 * (4 MiB reads copied all 1.4 MiB of it twice, into fresh pages). */
#define SCAN_CHUNK (64UL << 10)

static const unsigned char restore_rt[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f,
					    0x05 };
static const unsigned char syscall_ret[] = { 0x0f, 0x05, 0xc3 };

/* The first address of @pattern (no longer than restore_rt) in a mapping. */
static unsigned long scan_mapping(pid_t pid, unsigned long start, unsigned long end,
				  const unsigned char *pattern, size_t pattern_len)
{
	unsigned char *buf = malloc(SCAN_CHUNK);
	unsigned long found = 0;

	if (!buf)
		return 0;
	for (unsigned long at = start; at < end && !found;
	     at += SCAN_CHUNK - sizeof(restore_rt)) {
		size_t len = end - at < SCAN_CHUNK ? end - at : SCAN_CHUNK;
		struct iovec local = { buf, len }, remote = { (void *)at, len };
		ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		unsigned char *hit;

		if (n < (ssize_t)sizeof(restore_rt))
			break;
		hit = memmem(buf, (size_t)n, pattern, pattern_len);
		if (hit)
			found = at + (unsigned long)(hit - buf);
		if ((size_t)n < len)
			break;
	}
	free(buf);
	return found;
}

/* Whether @addr, inside [@start, @end), holds @pattern in the task. */
static bool holds_pattern(pid_t pid, unsigned long start, unsigned long end, unsigned long addr,
			  const unsigned char *pattern, size_t pattern_len)
{
	unsigned char buf[sizeof(restore_rt)];
	struct iovec local = { buf, pattern_len }, remote = { (void *)addr, pattern_len };

	if (addr < start || addr >= end || end - addr < pattern_len)
		return false;
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)pattern_len &&
	       !memcmp(buf, pattern, pattern_len);
}

/* The offered sites when this mapping holds both, else a scan of it. */
static void find_in_mapping(struct inj_task *task, unsigned long start, unsigned long end)
{
	if (holds_pattern(task->pid, start, end, task->offered_restore_rt, restore_rt,
			  sizeof(restore_rt)) &&
	    holds_pattern(task->pid, start, end, task->offered_syscall_ret, syscall_ret,
			  sizeof(syscall_ret))) {
		task->restore_rt = task->offered_restore_rt;
		task->syscall_ret = task->offered_syscall_ret;
		return;
	}
	task->restore_rt = scan_mapping(task->pid, start, end, restore_rt, sizeof(restore_rt));
	if (task->restore_rt)
		task->syscall_ret = scan_mapping(task->pid, start, end, syscall_ret,
						 sizeof(syscall_ret));
}

void inj_task_offer_sites(struct inj_task *task, const struct inj_task *like)
{
	if (task->restore_rt_searched || !like->restore_rt || !like->syscall_ret)
		return;
	task->offered_restore_rt = like->restore_rt;
	task->offered_syscall_ret = like->syscall_ret;
}

static int try_libc(const struct proc_maps_line *m, void *arg)
{
	struct inj_task *task = arg;

	if (strstr(m->name, "libc"))
		find_in_mapping(task, m->start, m->end);
	return task->restore_rt != 0;
}

/* Finds the trampoline (and libc's "syscall; ret") once, among the readable
 * executable mappings alone (procmap.h); 0 when the task has none (no
 * glibc). */
static unsigned long find_restore_rt(struct inj_task *task)
{
	if (task->restore_rt_searched)
		return task->restore_rt;
	task->restore_rt_searched = true;
	if (proc_each_mapping(task->pid, PROC_MAPPING_READ | PROC_MAPPING_EXEC, try_libc, task) < 0)
		return 0;
	return task->restore_rt;
}

static int set_gp(pid_t tid, struct user_regs_struct *regs)
{
	struct iovec iov = { regs, sizeof(*regs) };

	return ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0 ? -errno : 0;
}

static int get_gp(pid_t tid, struct user_regs_struct *regs)
{
	struct iovec iov = { regs, sizeof(*regs) };

	return ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0 ? -errno : 0;
}

static int stack_io(pid_t pid, unsigned long addr, void *buf, size_t len, bool write)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0) :
			    process_vm_readv(pid, &local, 1, &remote, 1, 0);

	return n == (ssize_t)len ? 0 : -EFAULT;
}

/* Writes the frame below the stack pointer, and leaves room for a call
 * frame and INJ_SCRATCH_MAX bytes of scratch below it, keeping what was
 * there under all three. */
static int place_frame(struct inj_task *task)
{
	size_t size = sigframe_size(task->orig_regs);
	unsigned long addr = (task->orig_regs->gp.rsp - RED_ZONE - size) & ~63UL;
	unsigned long low = addr - SIGFRAME_CALL_SIZE - INJ_SCRATCH_MAX;
	size_t span = addr + size - low;
	void *frame = aligned_alloc(64, (size + 63) & ~63UL);
	void *saved = malloc(span);
	int ret = frame && saved ? 0 : -ENOMEM;

	if (!ret)
		ret = stack_io(task->pid, low, saved, span, false);
	if (!ret)
		ret = sigframe_build(task->orig_regs, task->orig_sigmask, addr, frame, size);
	if (!ret)
		ret = stack_io(task->pid, addr, frame, size, true);
	free(frame);
	if (ret) {
		free(saved);
		return ret;
	}
	task->stack_frame = addr;
	task->stack_saved_start = low;
	task->stack_saved_size = span;
	task->stack_saved = saved;
	return 0;
}

int bootstrap_scratch(struct inj_task *task, unsigned long *addr)
{
	int ret = task->stack_saved ? 0 : place_frame(task);

	if (ret)
		return ret;
	*addr = task->stack_saved_start;
	return 0;
}

int bootstrap_arm_unmap(struct inj_task *task, unsigned long start, size_t size)
{
	unsigned long call_frame, pretcode;
	unsigned char frame[SIGFRAME_CALL_SIZE] __attribute__((aligned(64)));
	int ret;

	if (!find_restore_rt(task) || !task->syscall_ret)
		return -ENOTSUP;
	ret = task->stack_saved ? 0 : place_frame(task);
	if (ret)
		return ret;
	call_frame = task->stack_frame - SIGFRAME_CALL_SIZE;
	/* The saved state's frame is returned to by "ret": its pretcode. */
	pretcode = task->restore_rt;
	ret = stack_io(task->pid, task->stack_frame, &pretcode, sizeof(pretcode), true);
	if (!ret)
		ret = sigframe_build_call(task->orig_regs, task->syscall_ret, task->stack_frame,
					  SYS_munmap, start, size, frame);
	if (!ret)
		ret = stack_io(task->pid, call_frame, frame, sizeof(frame), true);
	if (ret)
		return ret;
	task->unmap_frame = call_frame;
	return 0;
}

void bootstrap_put_back_stack(struct inj_task *task)
{
	task->unmap_frame = 0;
	if (!task->stack_saved)
		return;
	stack_io(task->pid, task->stack_saved_start, task->stack_saved, task->stack_saved_size,
		 true);
	free(task->stack_saved);
	task->stack_saved = NULL;
}

unsigned long bootstrap_trampoline(struct inj_task *task)
{
	return find_restore_rt(task);
}

int bootstrap_call_start(struct inj_task *task)
{
	struct user_regs_struct regs = task->orig_regs->gp;
	int ret = task->stack_saved ? 0 : place_frame(task);

	if (ret)
		return ret;
	regs.rip = task->restore_rt;
	regs.rsp = (task->unmap_frame ? task->unmap_frame : task->stack_frame) + sizeof(uint64_t);
	regs.orig_rax = -1;
	ret = set_gp(task->worker, &regs);
	if (!ret)
		ret = block_worker_signals(task);
	return ret ? ret : step_start(task);
}

int bootstrap_call_redirect(struct inj_task *task, long nr, const unsigned long args[6])
{
	struct user_regs_struct regs;
	int ret = get_gp(task->worker, &regs);

	if (ret)
		return ret;
	if (regs.orig_rax != 15) {
		inj_err("pid %d: thread %d entered syscall %lld instead of rt_sigreturn",
			task->pid, task->worker, (long long)regs.orig_rax);
		return -EIO;
	}
	/* The call runs instead; it returns to the trampoline, not past it. */
	regs.orig_rax = (unsigned long)nr;
	regs.rip = task->restore_rt;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	ret = set_gp(task->worker, &regs);
	return ret ? ret : step_start(task);
}

int bootstrap_call_result(struct inj_task *task, long *result)
{
	struct user_regs_struct regs;
	int ret = get_gp(task->worker, &regs);

	if (!ret)
		*result = (long)regs.rax;
	return ret;
}

int bootstrap_syscall(struct inj_task *task, long *result, long nr, const unsigned long args[6])
{
	int ret;

	if (!find_restore_rt(task) || (!task->stack_saved && place_frame(task)))
		return remote_syscall(task, result, nr, args);
	ret = bootstrap_call_start(task);
	if (!ret)
		ret = step_finish(task);
	if (!ret)
		ret = bootstrap_call_redirect(task, nr, args);
	if (!ret)
		ret = step_finish(task);
	return ret ? ret : bootstrap_call_result(task, result);
}
