/* Dump of the per-thread state that only the thread itself can tell: its
 * alternate signal stack, its clear_child_tid (PR_GET_TID_ADDRESS), its
 * securebits, its timer slack and its parent-death signal, read by one batch of remote syscalls run
 * in that very thread (inj_thread_syscalls), or for the thread the parasite
 * runs in, by the parasite (PARASITE_CMD_THREAD_STATE); and its robust
 * futex list, which get_robust_list reads from outside. Every thread must be
 * in a ptrace stop, with no parasite running. The rest of a thread's
 * credentials is read from procfs in dump_proc.c. */
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
#include "parasite/commands.h"
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

/* What each thread tells only from inside, read by one batch of remote
 * calls in it (the thread is borrowed once: each borrowing costs a ptrace
 * stop of its own, and a process of 64 threads paid 64 times 4 of them). */
enum own_call {
	CALL_ALTSTACK,
	CALL_CLEAR_TID,
	CALL_SLACK,
	CALL_PDEATH,
	CALL_SECUREBITS,
	NR_OWN_CALLS
};

static const char *const own_call_names[NR_OWN_CALLS] = {
	[CALL_ALTSTACK] = "sigaltstack",
	[CALL_CLEAR_TID] = "clear_child_tid (PR_GET_TID_ADDRESS)",
	[CALL_SLACK] = "timer slack (PR_GET_TIMERSLACK)",
	[CALL_PDEATH] = "parent-death signal (PR_GET_PDEATHSIG)",
	[CALL_SECUREBITS] = "securebits",
};

struct own_state {
	struct kernel_stack stack;
	uint64_t clear_tid;
	int32_t pdeath_signal;
	long slack, securebits;
	struct inj_call calls[NR_OWN_CALLS];
};

/* The calls that read the thread's own state. Securebits live in each
 * thread's credentials and only the thread can read its own; the main
 * thread's, which the parasite read, need no call. */
static void own_calls(const TaskCore *core, pid_t tid, struct own_state *own,
		      struct inj_thread_calls *work)
{
	struct inj_call *calls = own->calls;

	calls[CALL_ALTSTACK] = (struct inj_call){ .nr = SYS_sigaltstack,
						  .args = { 0, INJ_ARG_BUF },
						  .buf = &own->stack, .len = sizeof(own->stack) };
	calls[CALL_CLEAR_TID] = (struct inj_call){ .nr = SYS_prctl,
						   .args = { PR_GET_TID_ADDRESS, INJ_ARG_BUF },
						   .buf = &own->clear_tid,
						   .len = sizeof(own->clear_tid) };
	calls[CALL_SLACK] = (struct inj_call){ .nr = SYS_prctl, .args = { PR_GET_TIMERSLACK } };
	calls[CALL_PDEATH] = (struct inj_call){ .nr = SYS_prctl,
						.args = { PR_GET_PDEATHSIG, INJ_ARG_BUF },
						.buf = &own->pdeath_signal,
						.len = sizeof(own->pdeath_signal) };
	calls[CALL_SECUREBITS] = (struct inj_call){ .nr = SYS_prctl,
						    .args = { PR_GET_SECUREBITS } };
	work->tid = tid;
	work->calls = calls;
	work->n = core->creds && tid != core->pid ? NR_OWN_CALLS : CALL_SECUREBITS;
}

/* What the calls told, or the first that failed, named. */
static int own_results(struct inj_task *task, const TaskCore *core,
		       const struct inj_thread_calls *work, struct own_state *own)
{
	for (size_t i = 0; i < work->n; i++) {
		if (own->calls[i].result < 0 && own->calls[i].result > -4096) {
			pr_err("dump: pid %d thread %d: cannot read its %s: %s",
			       inj_task_pid(task), work->tid, own_call_names[i],
			       strerror((int)-own->calls[i].result));
			return (int)own->calls[i].result;
		}
	}
	own->slack = own->calls[CALL_SLACK].result;
	own->securebits = work->n > CALL_SECUREBITS ? own->calls[CALL_SECUREBITS].result :
				core->creds ? core->creds->securebits : 0;
	return 0;
}

/* With its securebits a thread's credentials (dump_proc.c) are whole, and
 * kept only when they differ from the main thread's. */
static void keep_own_securebits(const TaskCore *core, ThreadCore *thread, long securebits)
{
	if (!thread->creds)
		return;
	thread->creds->securebits = (uint32_t)securebits;
	if (task_creds_equal(thread->creds, core->creds)) {
		task_creds_free(thread->creds);
		thread->creds = NULL;
	}
}

/* The parent-death signal is per thread (a new thread starts with none):
 * kept only when it differs from the main thread's, the process's. */
static void keep_own_pdeath_signal(const TaskCore *core, ThreadCore *thread, int32_t signal)
{
	if (thread->tid == core->pid || !core->prctl ||
	    (uint32_t)signal == core->prctl->pdeath_signal)
		return;
	thread->has_pdeath_signal = true;
	thread->pdeath_signal = (uint32_t)signal;
}

/* Keeps what the thread told (no alternate stack, SS_DISABLE, means no
 * entry); its clear_child_tid marks its own state as read. */
static int keep_own_state(ThreadCore *thread, uint64_t sp, int32_t flags, uint64_t size,
			  uint64_t clear_tid, uint64_t slack)
{
	if (!(flags & SS_DISABLE)) {
		thread->altstack = malloc(sizeof(*thread->altstack));
		if (!thread->altstack)
			return -ENOMEM;
		sig_alt_stack__init(thread->altstack);
		thread->altstack->sp = sp;
		thread->altstack->flags = (uint32_t)flags;
		thread->altstack->size = size;
	}
	/* Its own timer slack (not /proc/TID: see sched.c). */
	if (task_thread_sched(thread))
		return -ENOMEM;
	thread->sched->timer_slack_ns = slack;
	thread->has_clear_child_tid = true;
	thread->clear_child_tid = clear_tid;
	return 0;
}

int dump_thread_state_inside(struct inj_parasite *parasite, TaskCore *core)
{
	pid_t tid = inj_parasite_thread(parasite);
	struct parasite_thread_state state;
	ThreadCore *thread = task_thread_get(core, tid);
	size_t got = 0;
	int ret;

	if (!thread)
		return -ENOMEM;
	ret = inj_parasite_call(parasite, PARASITE_CMD_THREAD_STATE, NULL, 0, &state,
				sizeof(state), &got, NULL);
	if (!ret && got != sizeof(state))
		ret = -EPROTO;
	if (ret) {
		pr_err("dump: pid %d thread %d: cannot read its sigaltstack, clear_child_tid and "
		       "timer slack through the parasite: %s", core->pid, tid, strerror(-ret));
		return ret;
	}
	return keep_own_state(thread, state.altstack.sp, state.altstack.flags,
			      state.altstack.size, state.clear_child_tid, state.timer_slack_ns);
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

/* Every thread the parasite did not tell about is borrowed at once for
 * its calls (each borrowing costs a few ptrace stops: 63 threads in turn
 * paid them one after another). */
static int read_own_states(struct inj_task *task, TaskCore *core, struct own_state *own,
			   struct inj_thread_calls *work, size_t *nr)
{
	int ret;

	*nr = 0;
	for (int i = 0; i < inj_thread_count(task); i++) {
		ThreadCore *thread = task_thread_get(core, inj_thread_tid(task, i));

		if (!thread)
			return -ENOMEM;
		/* The parasite's thread told its own already. */
		if (!thread->has_clear_child_tid) {
			own_calls(core, thread->tid, &own[*nr], &work[*nr]);
			(*nr)++;
		}
	}
	ret = *nr ? inj_threads_syscalls(task, work, *nr) : 0;
	if (ret)
		pr_err("dump: pid %d: cannot read the sigaltstack, clear_child_tid, timer slack, "
		       "parent-death signal and securebits of its threads: %s", inj_task_pid(task),
		       strerror(-ret));
	return ret;
}

static int keep_own_states(struct inj_task *task, TaskCore *core, struct own_state *own,
			   const struct inj_thread_calls *work, size_t nr)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < nr; i++) {
		ThreadCore *thread = task_thread_get(core, work[i].tid);

		if (!thread)
			return -ENOMEM;
		ret = own_results(task, core, &work[i], &own[i]);
		if (!ret)
			ret = keep_own_state(thread, own[i].stack.sp, own[i].stack.flags,
					     own[i].stack.size, own[i].clear_tid,
					     (uint64_t)own[i].slack);
		if (!ret) {
			keep_own_securebits(core, thread, own[i].securebits);
			keep_own_pdeath_signal(core, thread, own[i].pdeath_signal);
		}
	}
	return ret;
}

int dump_thread_own_state(struct inj_task *task, TaskCore *core)
{
	size_t count = (size_t)inj_thread_count(task), nr;
	struct own_state *own = calloc(count ? count : 1, sizeof(*own));
	struct inj_thread_calls *work = calloc(count ? count : 1, sizeof(*work));
	pid_t pid = inj_task_pid(task);
	int ret = own && work ? 0 : -ENOMEM;

	if (!ret)
		ret = read_own_states(task, core, own, work, &nr);
	if (!ret)
		ret = keep_own_states(task, core, own, work, nr);
	free(own);
	free(work);
	for (int i = 0; !ret && i < inj_thread_count(task); i++) {
		ThreadCore *thread = task_thread_get(core, inj_thread_tid(task, i));

		if (!thread)
			return -ENOMEM;
		ret = dump_robust_list(pid, thread);
		if (!ret)
			ret = dump_thread_cgroup(pid, thread);
	}
	return ret;
}
