/* Dump of what only ptrace shows: the signals queued for each thread and
 * for the whole process, with their siginfo (PTRACE_PEEKSIGINFO, which
 * reads without dequeuing), and each thread's rseq registration
 * (PTRACE_GET_RSEQ_CONFIGURATION); then what each thread tells by a remote
 * syscall of its own (dump_threads.c) and its seccomp filters
 * (dump_seccomp.c). Every thread must be in a ptrace stop. */
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>

#include "common/log.h"
#include "kabi/kabi.h"
#include "task/internal.h"
#include "task/task.h"

#define PEEK_BATCH 32

_Static_assert(sizeof(siginfo_t) == SIGINFO_SIZE, "siginfo_t is not the kernel's 128 bytes");

static int push_siginfo(PendingSignal ***pending, size_t *n, const siginfo_t *info)
{
	PendingSignal *p = malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	pending_signal__init(p);
	p->siginfo.data = malloc(SIGINFO_SIZE);
	if (!p->siginfo.data)
		goto nomem;
	memcpy(p->siginfo.data, info, SIGINFO_SIZE);
	p->siginfo.len = SIGINFO_SIZE;
	if (task_push(*pending, *n, p))
		goto nomem;
	return 0;
nomem:
	free(p->siginfo.data);
	free(p);
	return -ENOMEM;
}

/* Copies the queue of @tid (or the process's, with @shared) in order. */
static int dump_queue(pid_t pid, pid_t tid, bool shared, PendingSignal ***pending, size_t *n)
{
	struct __ptrace_peeksiginfo_args args = {
		.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
		.nr = PEEK_BATCH,
	};
	siginfo_t batch[PEEK_BATCH];

	for (;;) {
		long got = ptrace(PTRACE_PEEKSIGINFO, tid, &args, batch);

		if (got < 0)
			return pr_errno_ret("dump: pid %d thread %d: cannot read its %s pending signals (every thread must be in a ptrace stop, with no parasite running)",
					    pid, tid, shared ? "process-wide" : "own");
		if (got == 0)
			return 0;
		for (long i = 0; i < got; i++)
			if (push_siginfo(pending, n, &batch[i]))
				return -ENOMEM;
		args.off += got;
	}
}

static int dump_rseq(pid_t pid, ThreadCore *thread)
{
	struct __ptrace_rseq_configuration conf = {};
	long ret = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, thread->tid, sizeof(conf), &conf);

	if (ret < 0)
		return pr_errno_ret("dump: pid %d thread %d: cannot read its rseq registration",
				    pid, thread->tid);
	if (!conf.rseq_abi_pointer)
		return 0;
	thread->rseq = malloc(sizeof(*thread->rseq));
	if (!thread->rseq)
		return -ENOMEM;
	rseq__init(thread->rseq);
	thread->rseq->abi_pointer = conf.rseq_abi_pointer;
	thread->rseq->abi_size = conf.rseq_abi_size;
	thread->rseq->signature = conf.signature;
	thread->rseq->flags = conf.flags;
	return 0;
}

int task_dump_ptrace_attrs(struct inj_task *task, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);
	int ret = 0;

	for (int i = 0; !ret && i < inj_thread_count(task); i++) {
		ThreadCore *thread = task_thread_get(core, inj_thread_tid(task, i));

		if (!thread) {
			ret = -ENOMEM;
			break;
		}
		ret = dump_queue(pid, thread->tid, false, &thread->pending, &thread->n_pending);
		if (!ret)
			ret = dump_rseq(pid, thread);
	}
	if (!ret)
		ret = dump_queue(pid, inj_thread_tid(task, 0), true, &core->shared_pending,
				 &core->n_shared_pending);
	/* Remote syscalls in each thread: also while no parasite runs. */
	if (!ret)
		ret = dump_thread_own_state(task, core);
	if (!ret)
		ret = dump_seccomp(task, core);
	if (ret == -ENOMEM)
		pr_err("dump: pid %d: out of memory while collecting the state of its threads",
		       pid);
	return ret;
}
