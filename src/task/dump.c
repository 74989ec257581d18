/* task_dump_attrs(): the order of the attribute collectors, the ones that
 * ask the parasite (signal actions, itimers, prctl state; its own thread's
 * state is dump_threads.c's), and
 * freeing what they allocated. procfs is read in dump_proc.c, POSIX timers
 * in dump_timers.c, ptrace-only state in dump_ptrace.c. */
#include <signal.h>
#include <string.h>

#include "common/log.h"
#include "files/ghost_dir.h"
#include "parasite/commands.h"
#include "task/internal.h"
#include "task/task.h"

ThreadCore *task_thread_get(TaskCore *core, pid_t tid)
{
	ThreadCore *thread;

	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->tid == tid)
			return core->threads[i];
	thread = malloc(sizeof(*thread));
	if (!thread)
		return NULL;
	thread_core__init(thread);
	thread->tid = tid;
	if (task_push(core->threads, core->n_threads, thread)) {
		free(thread);
		return NULL;
	}
	return thread;
}

/* Calls @cmd, which takes no argument and answers exactly @len bytes. */
static int call_fixed(struct inj_parasite *parasite, pid_t pid, uint32_t cmd, const char *what,
		      void *out, size_t len)
{
	size_t got = 0;
	int ret = inj_parasite_call(parasite, cmd, NULL, 0, out, len, &got, NULL);

	if (!ret && got != len)
		ret = -EPROTO;
	if (ret)
		pr_err("dump: pid %d: cannot read the %s through the parasite: %s", pid, what,
		       strerror(-ret));
	return ret;
}

/* Only actions that differ from the default (all zero) are recorded. */
static int dump_sigactions(struct inj_parasite *parasite, pid_t pid, TaskCore *core)
{
	struct parasite_sigaction actions[PARASITE_NSIG];
	int ret;

	ret = call_fixed(parasite, pid, PARASITE_CMD_SIGACTIONS, "signal actions", actions,
			 sizeof(actions));
	if (ret)
		return ret;
	for (int sig = 1; sig <= PARASITE_NSIG; sig++) {
		const struct parasite_sigaction *a = &actions[sig - 1];
		SigAction *action;

		if (sig == SIGKILL || sig == SIGSTOP ||
		    !(a->handler | a->flags | a->restorer | a->mask))
			continue;
		action = malloc(sizeof(*action));
		if (!action)
			return -ENOMEM;
		sig_action__init(action);
		action->signo = sig;
		action->handler = a->handler;
		action->flags = a->flags;
		action->restorer = a->restorer;
		action->mask = a->mask;
		if (task_push(core->sigactions, core->n_sigactions, action)) {
			free(action);
			return -ENOMEM;
		}
	}
	return 0;
}

static uint64_t timeval_ns(int64_t sec, int64_t usec)
{
	return (uint64_t)sec * 1000000000ULL + (uint64_t)usec * 1000ULL;
}

static int dump_itimers(struct inj_parasite *parasite, pid_t pid, TaskCore *core)
{
	struct parasite_itimers timers;
	int ret;

	ret = call_fixed(parasite, pid, PARASITE_CMD_ITIMERS, "interval timers", &timers,
			 sizeof(timers));
	if (ret)
		return ret;
	for (int which = 0; which < PARASITE_NR_ITIMERS; which++) {
		ITimer *t = malloc(sizeof(*t));

		if (!t)
			return -ENOMEM;
		itimer__init(t);
		t->which = which;
		t->interval_ns = timeval_ns(timers.timer[which].interval_sec,
					    timers.timer[which].interval_usec);
		t->value_ns = timeval_ns(timers.timer[which].value_sec,
					 timers.timer[which].value_usec);
		if (task_push(core->itimers, core->n_itimers, t)) {
			free(t);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Completes the prctl state and the securebits (dump_proc.c made both
 * messages from /proc/PID/status). */
static int dump_prctl(struct inj_parasite *parasite, pid_t pid, TaskCore *core)
{
	struct parasite_prctl state;
	int ret;

	ret = call_fixed(parasite, pid, PARASITE_CMD_PRCTL, "prctl state", &state, sizeof(state));
	if (ret)
		return ret;
	core->prctl->dumpable = state.dumpable != 0;
	core->prctl->pdeath_signal = (uint32_t)state.pdeath_signal;
	core->prctl->child_subreaper = state.child_subreaper != 0;
	core->prctl->has_thp_disable = true;
	core->prctl->thp_disable = (uint32_t)state.thp_disable;
	core->prctl->has_memory_merge = true;
	core->prctl->memory_merge = state.memory_merge != 0;
	core->prctl->has_membarrier = true;
	core->prctl->membarrier = (uint32_t)state.membarrier;
	core->creds->securebits = (uint32_t)state.securebits;
	return 0;
}

int task_dump_attrs(struct inj_task *task, struct inj_parasite *parasite, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);
	int ret;

	ret = dump_proc_attrs(task, core);
	if (!ret)
		ret = dump_sigactions(parasite, pid, core);
	if (!ret)
		ret = dump_itimers(parasite, pid, core);
	if (!ret)
		ret = dump_prctl(parasite, pid, core);
	if (!ret)
		ret = dump_posix_timers(pid, parasite, core);
	if (!ret)
		ret = dump_sched(task, core);
	if (!ret)
		ret = dump_thread_state_inside(parasite, core);
	if (ret == -ENOMEM)
		pr_err("dump: pid %d: out of memory while collecting its attributes", pid);
	return ret;
}

static void free_pending(PendingSignal **pending, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pending[i]->siginfo.data);
		free(pending[i]);
	}
	free(pending);
}

/* Frees the entries of a repeated field of plain messages and the array. */
#define free_repeated(array, n)                     \
	do {                                        \
		for (size_t __i = 0; __i < (n); __i++) \
			free((array)[__i]);         \
		free(array);                        \
		(array) = NULL;                     \
		(n) = 0;                            \
	} while (0)

void task_creds_free(Creds *creds)
{
	if (!creds)
		return;
	free(creds->groups);
	free(creds->lsm_profile);
	free(creds);
}

void task_core_free_attrs(TaskCore *core)
{
	for (size_t i = 0; i < core->n_threads; i++) {
		ThreadCore *thread = core->threads[i];

		free_pending(thread->pending, thread->n_pending);
		free(thread->altstack);
		free(thread->rseq);
		free(thread->comm);
		if (thread->sched)
			free(thread->sched->affinity.data);
		free(thread->sched);
		free(thread->seccomp_chain);
		free(thread->cgroup);
		task_creds_free(thread->creds);
		if (thread->fs) {
			free(thread->fs->cwd);
			free(thread->fs->root);
			ghost_dir_free(thread->fs->cwd_ghost);
			ghost_dir_free(thread->fs->root_ghost);
			free(thread->fs);
		}
		free(thread);
	}
	free(core->threads);
	core->threads = NULL;
	for (size_t i = 0; i < core->n_seccomp_filters; i++)
		free(core->seccomp_filters[i]->insns.data);
	free_repeated(core->seccomp_filters, core->n_seccomp_filters);
	core->n_threads = 0;
	free_pending(core->shared_pending, core->n_shared_pending);
	core->shared_pending = NULL;
	core->n_shared_pending = 0;
	free_repeated(core->sigactions, core->n_sigactions);
	free_repeated(core->rlimits, core->n_rlimits);
	free_repeated(core->itimers, core->n_itimers);
	free_repeated(core->posix_timers, core->n_posix_timers);
	task_creds_free(core->creds);
	core->creds = NULL;
	free(core->prctl);
	core->prctl = NULL;
	free(core->cwd);
	core->cwd = NULL;
	ghost_dir_free(core->cwd_ghost);
	core->cwd_ghost = NULL;
	free(core->cgroup);
	core->cgroup = NULL;
	free(core->root);
	core->root = NULL;
	ghost_dir_free(core->root_ghost);
	core->root_ghost = NULL;
	core->has_cwd_is_root = core->cwd_is_root = false;
	if (core->comm != protobuf_c_empty_string)
		free(core->comm);
	core->comm = (char *)protobuf_c_empty_string;
}
