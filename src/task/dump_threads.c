/* Dump of the per-thread state that only the thread itself can tell: its
 * alternate signal stack, its clear_child_tid (PR_GET_TID_ADDRESS), its
 * securebits and its timer slack, each read by a remote syscall run in
 * that very thread (inj_thread_syscall); and its robust futex list, which get_robust_list
 * reads from outside. Every thread must be in a ptrace stop, with no
 * parasite running. The rest of a thread's credentials is read from procfs
 * in dump_proc.c. */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cgroup2.h"
#include "common/log.h"
#include "kabi/kabi.h"
#include "task/internal.h"
#include "task/task.h"

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif

/* The kernel's x86_64 stack_t, as sigaltstack() writes it. */
struct kernel_stack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

static int thread_call(struct inj_task *task, pid_t tid, const char *what, long *result,
		       void *buf, size_t len, long nr, unsigned long a1, unsigned long a2)
{
	const unsigned long args[6] = { a1, a2 };
	int ret = inj_thread_syscall(task, tid, result, buf, len, nr, args);

	if (!ret && *result < 0 && *result > -4096)
		ret = (int)*result;
	if (ret)
		pr_err("dump: pid %d thread %d: cannot read its %s: %s", inj_task_pid(task), tid,
		       what, strerror(-ret));
	return ret;
}

/* No entry means no alternate stack (SS_DISABLE). */
static int dump_altstack(struct inj_task *task, ThreadCore *thread)
{
	struct kernel_stack stack = {};
	long result;
	int ret;

	ret = thread_call(task, thread->tid, "sigaltstack", &result, &stack, sizeof(stack),
			  SYS_sigaltstack, 0, INJ_ARG_BUF);
	if (ret || (stack.flags & SS_DISABLE))
		return ret;
	thread->altstack = malloc(sizeof(*thread->altstack));
	if (!thread->altstack)
		return -ENOMEM;
	sig_alt_stack__init(thread->altstack);
	thread->altstack->sp = stack.sp;
	thread->altstack->flags = (uint32_t)stack.flags;
	thread->altstack->size = stack.size;
	return 0;
}

static int dump_clear_tid(struct inj_task *task, ThreadCore *thread)
{
	uint64_t addr = 0;
	long result;
	int ret;

	ret = thread_call(task, thread->tid, "clear_child_tid (PR_GET_TID_ADDRESS)", &result,
			  &addr, sizeof(addr), SYS_prctl, PR_GET_TID_ADDRESS, INJ_ARG_BUF);
	if (ret)
		return ret;
	thread->has_clear_child_tid = true;
	thread->clear_child_tid = addr;
	return 0;
}

/* Securebits live in each thread's credentials and only the thread can
 * read its own. With them a thread's credentials (dump_proc.c) are whole,
 * and kept only when they differ from the main thread's, whose securebits
 * the parasite read. */
static int dump_thread_securebits(struct inj_task *task, const TaskCore *core,
				  ThreadCore *thread)
{
	long bits;
	int ret;

	if (!thread->creds)
		return 0;
	ret = thread_call(task, thread->tid, "securebits", &bits, NULL, 0, SYS_prctl,
			  PR_GET_SECUREBITS, 0);
	if (ret)
		return ret;
	thread->creds->securebits = (uint32_t)bits;
	if (task_creds_equal(thread->creds, core->creds)) {
		task_creds_free(thread->creds);
		thread->creds = NULL;
	}
	return 0;
}

static int dump_robust_list(pid_t pid, ThreadCore *thread)
{
	uint64_t head = 0, len = 0;

	if (syscall(SYS_get_robust_list, thread->tid, &head, &len))
		return pr_errno_ret("dump: pid %d thread %d: cannot read its robust futex list",
				    pid, thread->tid);
	thread->has_robust_list = thread->has_robust_list_len = head != 0;
	thread->robust_list = head;
	thread->robust_list_len = len;
	return 0;
}

/* The thread reads its own timer slack (not /proc/TID: see sched.c). */
static int dump_timer_slack(struct inj_task *task, ThreadCore *thread)
{
	long slack;
	int ret;

	if (task_thread_sched(thread))
		return -ENOMEM;
	ret = thread_call(task, thread->tid, "timer slack (PR_GET_TIMERSLACK)", &slack, NULL, 0,
			  SYS_prctl, PR_GET_TIMERSLACK, 0);
	if (!ret)
		thread->sched->timer_slack_ns = (uint64_t)slack;
	return ret;
}

/* A thread in a cgroup v2 other than its process's: a threaded cgroup. */
static int dump_thread_cgroup(pid_t pid, ThreadCore *thread)
{
	char process[PATH_MAX], own[PATH_MAX];

	if (cgroup2_path_of(pid, process, sizeof(process)) ||
	    cgroup2_path_of_thread(pid, thread->tid, own, sizeof(own)) || !strcmp(process, own))
		return 0;
	thread->cgroup = strdup(own);
	return thread->cgroup ? 0 : -ENOMEM;
}

int dump_thread_own_state(struct inj_task *task, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);
	int ret = 0;

	for (int i = 0; !ret && i < inj_thread_count(task); i++) {
		ThreadCore *thread = task_thread_get(core, inj_thread_tid(task, i));

		if (!thread)
			return -ENOMEM;
		ret = dump_thread_securebits(task, core, thread);
		if (!ret)
			ret = dump_altstack(task, thread);
		if (!ret)
			ret = dump_clear_tid(task, thread);
		if (!ret)
			ret = dump_robust_list(pid, thread);
		if (!ret)
			ret = dump_timer_slack(task, thread);
		if (!ret)
			ret = dump_thread_cgroup(pid, thread);
	}
	return ret;
}
