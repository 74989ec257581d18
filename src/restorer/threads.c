/* The threads of a restored task, in the restorer: the main thread creates
 * every other one with clone3 and its saved tid, each on a small stack in
 * the area (but those that share a thread's own fs info, which that thread
 * creates); each sets what only it can set for itself (its own fs info,
 * sigaltstack, clear_child_tid, robust list, rseq, name, no_new_privs,
 * credentials: its own or the process's), says it is ready
 * through a futex word and pauses, with every signal blocked, until cryo
 * gives it its registers and signal mask. Not here: the registers, which
 * cryo sets through ptrace. */
#include <asm/errno.h>
#include <linux/futex.h>
#include <linux/prctl.h>
#include <linux/sched.h>

#include "blob/syscall.h"
#include "restorer/restorer.h"

#define SS_AUTODISARM_FLAG (1u << 31)
#define WAIT_SECONDS 30
#define THREAD_FLAGS \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

/* The kernel's struct clone_args up to set_tid_size (CLONE_ARGS_SIZE_VER1). */
struct thread_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size;
};

struct kernel_stack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

struct kernel_timespec {
	int64_t sec, nsec;
};

/*
 * clone3(@args, @size); the new thread returns from the syscall on its own
 * stack, where no C frame exists, so it must not return into C: it calls
 * @fn(@arg), which never returns. r8 and r9 carry both across the syscall,
 * which keeps them (only rcx and r11 are clobbered) in both threads.
 */
long restorer_clone3(struct thread_clone_args *args, unsigned long size,
		     void (*fn)(struct restorer_thread *), struct restorer_thread *arg);
asm(".text\n"
    ".type restorer_clone3, @function\n"
    "restorer_clone3:\n"
    "\tmov %rdx, %r8\n"
    "\tmov %rcx, %r9\n"
    "\tmov $435, %eax\n"	/* __NR_clone3 */
    "\tsyscall\n"
    "\ttest %rax, %rax\n"
    "\tjnz 1f\n"
    "\txor %ebp, %ebp\n"
    "\tmov %r9, %rdi\n"
    "\tcall *%r8\n"
    "\tud2\n"
    "1:\tret\n"
    ".size restorer_clone3, .-restorer_clone3\n");

static const struct restorer_args *the_args;

const struct restorer_thread *main_thread(const struct restorer_args *a)
{
	const struct restorer_thread *t = (const void *)a->threads;

	for (uint32_t i = 0; i < a->nr_threads; i++)
		if (t[i].tid == a->pid)
			return &t[i];
	return 0;
}

long thread_own_state(const struct restorer_thread *t, int32_t *step, uint64_t *addr)
{
	long ret;

	if (t->altstack_size) {
		/* SS_ONSTACK is a state, not a setting: only the flag is kept. */
		struct kernel_stack ss = { t->altstack_sp, (int32_t)(t->altstack_flags &
								     SS_AUTODISARM_FLAG),
					   0, t->altstack_size };

		ret = blob_syscall(__NR_sigaltstack, &ss, 0, 0, 0, 0, 0);
		if (ret) {
			*step = RESTORER_STEP_ALTSTACK;
			*addr = t->altstack_sp;
			return ret;
		}
	}
	if (t->has_clear_child_tid)
		blob_syscall(__NR_set_tid_address, t->clear_child_tid, 0, 0, 0, 0, 0);
	if (t->robust_list) {
		ret = blob_syscall(__NR_set_robust_list, t->robust_list, t->robust_list_len, 0, 0,
				   0, 0);
		if (ret) {
			*step = RESTORER_STEP_ROBUST_LIST;
			*addr = t->robust_list;
			return ret;
		}
	}
	if (t->rseq_abi) {
		ret = sys_rseq((const void *)t->rseq_abi, t->rseq_len, 0, t->rseq_sig);
		if (ret) {
			*step = RESTORER_STEP_RSEQ;
			*addr = t->rseq_abi;
			return ret;
		}
	}
	if (t->comm[0]) {
		ret = sys_prctl(PR_SET_NAME, (unsigned long)t->comm, 0, 0, 0);
		if (ret) {
			*step = RESTORER_STEP_NAME;
			*addr = 0;
			return ret;
		}
	}
	if (t->no_new_privs) {
		ret = sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (ret) {
			*step = RESTORER_STEP_NO_NEW_PRIVS;
			*addr = 0;
			return ret;
		}
	}
	return 0;
}

/* A thread's own fs info: unshared from the process's it was born with
 * (CLONE_FS), its root and cwd entered through the fds stage 2 opened,
 * its umask. Before its credentials: chroot needs cryo's. */
static long enter_own_fs(struct restorer_thread *t)
{
	long ret = blob_syscall(__NR_unshare, CLONE_FS, 0, 0, 0, 0, 0);

	if (!ret)
		ret = blob_syscall(__NR_fchdir, t->fs_root_fd, 0, 0, 0, 0, 0);
	if (!ret)
		ret = blob_syscall(__NR_chroot, ".", 0, 0, 0, 0, 0);
	if (!ret && t->fs_cwd_fd >= 0)
		ret = blob_syscall(__NR_fchdir, t->fs_cwd_fd, 0, 0, 0, 0, 0);
	if (!ret)
		blob_syscall(__NR_umask, t->fs_umask, 0, 0, 0, 0, 0);
	sys_close(t->fs_root_fd);
	if (t->fs_cwd_fd >= 0)
		sys_close(t->fs_cwd_fd);
	return ret;
}

static long create_thread(struct restorer_thread *t);

/* The threads that share @t's own fs info, created by it so that they
 * do (CLONE_FS). One that cannot be made (or all, when @t could not enter
 * its fs info: @err) is marked failed, for the main thread's wait to
 * report. */
static void create_fs_sharers(const struct restorer_thread *t, long err)
{
	struct restorer_thread *all = (void *)the_args->threads;

	for (uint32_t i = 0; i < the_args->nr_threads; i++) {
		long ret = err;

		if (all[i].fs_maker != t->tid)
			continue;
		if (!ret)
			ret = create_thread(&all[i]);
		if (!ret)
			continue;
		all[i].step = err ? RESTORER_STEP_THREAD_FS : RESTORER_STEP_CLONE;
		all[i].err = (int32_t)ret;
		__atomic_store_n(&all[i].state, RESTORER_THREAD_FAILED, __ATOMIC_RELEASE);
		blob_syscall(__NR_futex, &all[i].state, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	}
}

static void __attribute__((noreturn, used)) thread_main(struct restorer_thread *t)
{
	int32_t step = RESTORER_STEP_DONE;
	uint64_t addr = 0;
	long ret = 0;

	if (t->own_fs) {
		ret = enter_own_fs(t);
		if (ret)
			step = RESTORER_STEP_THREAD_FS;
		create_fs_sharers(t, ret);
	}
	if (!ret)
		ret = thread_own_state(t, &step, &addr);

	if (!ret) {
		ret = restore_creds(the_args, t->creds ? (const struct restorer_creds *)t->creds :
							 &the_args->creds);
		if (ret)
			step = RESTORER_STEP_CREDS;
	}
	t->step = step;
	t->err = (int32_t)ret;
	t->addr = addr;
	__atomic_store_n(&t->state, ret ? RESTORER_THREAD_FAILED : RESTORER_THREAD_READY,
			 __ATOMIC_RELEASE);
	blob_syscall(__NR_futex, &t->state, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	/* Signals are all blocked: only cryo's ptrace stop ends this. */
	for (;;)
		sys_pause();
}

static long thread_failed(struct restorer_report *report, int32_t step, long err, uint64_t addr,
			  int32_t tid)
{
	report->step = step;
	report->err = (int32_t)err;
	report->addr = addr;
	report->tid = tid;
	return err;
}

/* Creates thread @t (clone3 with its tid); its tid, or -errno. */
static long create_thread(struct restorer_thread *t)
{
	struct thread_clone_args ca = {
		.flags = THREAD_FLAGS,
		.stack = t->stack,
		.stack_size = t->stack_size,
		.set_tid = (uint64_t)&t->tid,
		.set_tid_size = 1,
	};
	long ret = restorer_clone3(&ca, sizeof(ca), thread_main, t);

	return ret == t->tid ? 0 : ret < 0 ? ret : -EEXIST;
}

long create_threads(const struct restorer_args *a, struct restorer_report *report)
{
	struct restorer_thread *t = (void *)a->threads;

	the_args = a;
	for (uint32_t i = 0; i < a->nr_threads; i++) {
		long ret;

		if (t[i].tid == a->pid || t[i].fs_maker)
			continue;
		ret = create_thread(&t[i]);
		if (ret)
			return thread_failed(report, RESTORER_STEP_CLONE, ret, 0, t[i].tid);
	}
	return 0;
}

long wait_threads(const struct restorer_args *a, struct restorer_report *report)
{
	struct restorer_thread *t = (void *)a->threads;

	for (uint32_t i = 0; i < a->nr_threads; i++) {
		int waited = 0;
		int32_t state;

		if (t[i].tid == a->pid)
			continue;
		while ((state = __atomic_load_n(&t[i].state, __ATOMIC_ACQUIRE)) ==
		       RESTORER_THREAD_STARTING) {
			struct kernel_timespec one_second = { 1, 0 };
			long ret = blob_syscall(__NR_futex, &t[i].state, FUTEX_WAIT_PRIVATE,
						RESTORER_THREAD_STARTING, &one_second, 0, 0);

			if (ret == -ETIMEDOUT && ++waited >= WAIT_SECONDS)
				return thread_failed(report, RESTORER_STEP_WAIT, ret, 0, t[i].tid);
		}
		if (state != RESTORER_THREAD_READY)
			return thread_failed(report, t[i].step, t[i].err, t[i].addr, t[i].tid);
	}
	return 0;
}
