/* Validation of a TaskCore before anything is created from it: every
 * attribute within the bounds the kernel accepts, and consistent with the
 * others (one entry per signal, resource, timer and thread, the main thread
 * present). Registers and xstate are left to their owner. Also the check
 * of core-PID.img that the image registry runs. */
#include <limits.h>
#include <linux/ioprio.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "files/ghost_dir.h"
#include "images/format.h"
#include "kabi/kabi.h"
#include "task/internal.h"
#include "task/task.h"
#include "images/proto/core.pb-c.h"

/* Above any x86_64 user address, 5-level paging included. */
#define USER_ADDR_END (1ULL << 56)
/* The kernel's MINSIGSTKSZ (uapi asm/signal.h); libc's may be a sysconf(). */
#define KERNEL_MINSIGSTKSZ 2048
/* The kernel's struct robust_list_head: set_robust_list takes no other size. */
#define ROBUST_LIST_HEAD_SIZE 24
/* The kernel sets no upper bound on an rseq area (it reads and writes only
 * the fields it knows), but none is near a page: one larger is a corrupt
 * image, and lazy restore fills the pages of every rseq area eagerly. */
#define RSEQ_MAX_ABI_SIZE 4096
/* The kernel's NGROUPS_MAX. */
#define MAX_GROUPS 65536
/* SECBIT_NOROOT through SECBIT_EXEC_DENY_INTERACTIVE_LOCKED (6.14). */
#define SECUREBITS_KNOWN 0xfffu
#define ALL_PERMS 0777u
/* The personality() argument that only queries. */
#define PERSONALITY_QUERY 0xffffffffu

struct where {
	const char *prefix;	/* "core", or the image file and offset */
	int pid;
};

__attribute__((format(printf, 2, 3))) static int invalid(const struct where *w,
							   const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("%s: pid %d: %s", w->prefix, w->pid, msg);
	return -EINVAL;
}

static bool valid_signo(uint32_t sig)
{
	return sig >= 1 && sig <= TASK_NSIG;
}

static bool user_addr(uint64_t addr)
{
	return addr < USER_ADDR_END;
}

static int check_pending(const struct where *w, const char *queue, PendingSignal *const *p,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int32_t signo;

		if (p[i]->siginfo.len != SIGINFO_SIZE)
			return invalid(w, "%s pending signal %zu: siginfo of %zu bytes, not %d", queue,
				       i, p[i]->siginfo.len, SIGINFO_SIZE);
		memcpy(&signo, p[i]->siginfo.data, sizeof(signo));
		if (signo < 1 || signo > TASK_NSIG)
			return invalid(w, "%s pending signal %zu: signal number %d is not 1-%d",
				       queue, i, signo, TASK_NSIG);
	}
	return 0;
}

/* NULL when @s is within the kernel's bounds; else why not, in @buf. */
static const char *sched_invalid(const SchedState *s, char *buf, size_t size)
{
	uint32_t class = s->ioprio >> IOPRIO_CLASS_SHIFT;

	if (s->policy > TASK_POLICY_EXT || s->policy == 4)
		snprintf(buf, size, "scheduling policy %u is not one", s->policy);
	else if (s->flags & ~(uint32_t)SCHED_FLAG_RESET_ON_FORK)
		snprintf(buf, size, "scheduling flags %#x are not SCHED_FLAG_RESET_ON_FORK",
			 s->flags);
	else if (s->nice < -20 || s->nice > 19)
		snprintf(buf, size, "nice %d is not -20 to 19", s->nice);
	else if (task_policy_is_rt(s->policy) ? s->priority < 1 || s->priority > 99 : s->priority)
		snprintf(buf, size, "priority %u does not go with %s", s->priority,
			 task_policy_name(s->policy));
	else if (s->policy != TASK_POLICY_DEADLINE && (s->deadline || s->period))
		snprintf(buf, size, "deadline parameters without SCHED_DEADLINE");
	else if (!s->affinity.len || s->affinity.len > TASK_AFFINITY_MAX_BYTES)
		snprintf(buf, size, "a CPU affinity of %zu bytes (1 to %d)", s->affinity.len,
			 TASK_AFFINITY_MAX_BYTES);
	else if (class > IOPRIO_CLASS_IDLE || (s->ioprio & ~(uint32_t)0xffff))
		snprintf(buf, size, "I/O priority %#x is not a class and its data", s->ioprio);
	else if (s->has_util_min != s->has_util_max || s->util_min > TASK_UCLAMP_MAX ||
		 s->util_max > TASK_UCLAMP_MAX)
		snprintf(buf, size, "utilization clamps (min %u, max %u) are not both 0 to %d",
			 s->util_min, s->util_max, TASK_UCLAMP_MAX);
	else if (s->timer_slack_ns > TASK_TIMER_SLACK_MAX)
		snprintf(buf, size, "timer slack %llu ns is out of range",
			 (unsigned long long)s->timer_slack_ns);
	else
		return NULL;
	return buf;
}

static int check_thread(const struct where *w, const ThreadCore *t)
{
	char queue[48], why[128];
	int ret;

	if (t->tid <= 0)
		return invalid(w, "thread id %d is not a process id", t->tid);
	snprintf(queue, sizeof(queue), "thread %d", t->tid);
	ret = check_pending(w, queue, t->pending, t->n_pending);
	if (ret)
		return ret;
	if (t->comm && strlen(t->comm) >= TASK_COMM_LEN)
		return invalid(w, "thread %d: name \"%s\" is longer than %d bytes", t->tid, t->comm,
			       TASK_COMM_LEN - 1);
	if (t->altstack) {
		const SigAltStack *s = t->altstack;

		if (s->flags & ~(uint32_t)(SS_ONSTACK | SS_AUTODISARM))
			return invalid(w, "thread %d: sigaltstack flags %#x are not SS_AUTODISARM",
				       t->tid, s->flags);
		if (s->size < KERNEL_MINSIGSTKSZ || !user_addr(s->sp) ||
		    s->size > USER_ADDR_END - s->sp)
			return invalid(w, "thread %d: sigaltstack of %#llx bytes at %#llx is not a user stack of at least %d bytes",
				       t->tid, (unsigned long long)s->size,
				       (unsigned long long)s->sp, KERNEL_MINSIGSTKSZ);
	}
	if (t->has_clear_child_tid && !user_addr(t->clear_child_tid))
		return invalid(w, "thread %d: clear_child_tid %#llx is not a user address", t->tid,
			       (unsigned long long)t->clear_child_tid);
	if (t->has_robust_list != t->has_robust_list_len)
		return invalid(w, "thread %d: a robust list needs both its head and its length",
			       t->tid);
	if (t->has_robust_list &&
	    (!t->robust_list || !user_addr(t->robust_list) ||
	     t->robust_list_len != ROBUST_LIST_HEAD_SIZE))
		return invalid(w, "thread %d: robust list of %llu bytes at %#llx is not a user robust_list_head of %d bytes",
			       t->tid, (unsigned long long)t->robust_list_len,
			       (unsigned long long)t->robust_list, ROBUST_LIST_HEAD_SIZE);
	if (t->sched && sched_invalid(t->sched, why, sizeof(why)))
		return invalid(w, "thread %d: %s", t->tid, why);
	if (t->rseq) {
		const Rseq *r = t->rseq;

		if (!r->abi_pointer || r->abi_pointer % 32 || !user_addr(r->abi_pointer) ||
		    r->abi_size < 32 || r->abi_size > RSEQ_MAX_ABI_SIZE || r->flags)
			return invalid(w, "thread %d: rseq area of %u bytes at %#llx (flags %#x) is not a 32-byte aligned area of 32 to %d bytes",
				       t->tid, r->abi_size, (unsigned long long)r->abi_pointer,
				       r->flags, RSEQ_MAX_ABI_SIZE);
	}
	return 0;
}

static bool cgroup_path_valid(const char *path)
{
	return path[0] == '/' && !strstr(path, "/..") && !strchr(path, '\n');
}

static int check_creds(const struct where *w, const char *who, const Creds *c);

/* A thread's own credentials and no_new_privs stand beside the process's,
 * which are the main thread's; an LSM label of its own is never saved. */
static int check_thread_creds(const struct where *w, const TaskCore *core, const ThreadCore *t)
{
	const char *label, *main_label;
	char who[48];

	if (!t->creds && !t->has_no_new_privs)
		return 0;
	if (t->tid == core->pid)
		return invalid(w, "thread %d: the main thread's credentials and no_new_privs are "
			       "the process's, not its own", t->tid);
	if ((t->creds && !core->creds) || (t->has_no_new_privs && !core->prctl))
		return invalid(w, "thread %d: credentials or no_new_privs of its own, but the "
			       "process has none", t->tid);
	if (!t->creds)
		return 0;
	label = t->creds->lsm_profile ? t->creds->lsm_profile : "";
	main_label = core->creds->lsm_profile ? core->creds->lsm_profile : "";
	if (strcmp(label, main_label))
		return invalid(w, "thread %d: an LSM label other than its main thread's", t->tid);
	snprintf(who, sizeof(who), "thread %d creds", t->tid);
	return check_creds(w, who, t->creds);
}

/* A thread's own parent-death signal stands beside the process's, which
 * is the main thread's, as the process's is checked. */
static int check_thread_pdeath_signal(const struct where *w, const TaskCore *core,
				      const ThreadCore *t)
{
	if (!t->has_pdeath_signal)
		return 0;
	if (t->tid == core->pid || !core->prctl)
		return invalid(w, "thread %d: a parent-death signal of its own, but it is the main "
			       "thread or the process has none", t->tid);
	if (t->pdeath_signal > TASK_NSIG)
		return invalid(w, "thread %d: parent-death signal %u is not 0-%d", t->tid,
			       t->pdeath_signal, TASK_NSIG);
	return 0;
}

static int check_thread_fs(const struct where *w, const TaskCore *core, const ThreadCore *t);

static int check_threads(const struct where *w, const TaskCore *core)
{
	bool has_main = false;
	int ret;

	if (!core->n_threads)
		return invalid(w, "no threads");
	if (core->n_threads > TASK_MAX_THREADS)
		return invalid(w, "%zu threads, at most %d", core->n_threads, TASK_MAX_THREADS);
	for (size_t i = 0; i < core->n_threads; i++) {
		ret = check_thread(w, core->threads[i]);
		if (!ret)
			ret = check_thread_creds(w, core, core->threads[i]);
		if (!ret)
			ret = check_thread_pdeath_signal(w, core, core->threads[i]);
		if (!ret)
			ret = check_thread_fs(w, core, core->threads[i]);
		if (ret)
			return ret;
		/* Restore moves a thread into its own cgroup after its process. */
		if (core->threads[i]->cgroup &&
		    (!core->cgroup || !cgroup_path_valid(core->threads[i]->cgroup)))
			return invalid(w, "thread %d: cgroup \"%.64s\" is not an absolute path "
				       "without \"..\", or its process has none",
				       core->threads[i]->tid, core->threads[i]->cgroup);
		for (size_t j = 0; j < i; j++)
			if (core->threads[j]->tid == core->threads[i]->tid)
				return invalid(w, "thread %d appears twice", core->threads[i]->tid);
		has_main |= core->threads[i]->tid == core->pid;
	}
	if (!has_main)
		return invalid(w, "its main thread (tid %d) is missing", core->pid);
	return 0;
}

static int check_sigactions(const struct where *w, const TaskCore *core)
{
	uint64_t seen = 0;

	for (size_t i = 0; i < core->n_sigactions; i++) {
		const SigAction *a = core->sigactions[i];
		uint64_t bit;

		if (!valid_signo(a->signo))
			return invalid(w, "sigaction for signal %u: signal numbers are 1-%d", a->signo,
				       TASK_NSIG);
		bit = 1ULL << (a->signo - 1);
		if (a->signo == SIGKILL || a->signo == SIGSTOP)
			return invalid(w, "sigaction for signal %u (%s): it cannot have one", a->signo,
				       a->signo == SIGKILL ? "SIGKILL" : "SIGSTOP");
		if (seen & bit)
			return invalid(w, "sigaction for signal %u appears twice", a->signo);
		seen |= bit;
		/* Unknown flag bits need no check: the kernel drops them. */
		if (!user_addr(a->handler) || !user_addr(a->restorer))
			return invalid(w, "sigaction for signal %u: handler %#llx or restorer %#llx is not a user address",
				       a->signo, (unsigned long long)a->handler,
				       (unsigned long long)a->restorer);
		if (a->mask & (1ULL << (SIGKILL - 1) | 1ULL << (SIGSTOP - 1)))
			return invalid(w, "sigaction for signal %u: mask %#llx blocks SIGKILL or SIGSTOP",
				       a->signo, (unsigned long long)a->mask);
	}
	return 0;
}

/* An LSM label as dump saves it (task/lsm.c): not empty, printable, below
 * the 4096 bytes /proc's attr files give. */
static bool lsm_label_valid(const char *label)
{
	size_t len = strlen(label);

	if (!len || len >= 4096)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
			return false;
	return true;
}

/* @who: "creds", or "thread N creds". */
static int check_creds(const struct where *w, const char *who, const Creds *c)
{
	const uint32_t ids[] = { c->uid, c->euid, c->suid, c->fsuid,
				 c->gid, c->egid, c->sgid, c->fsgid };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (ids[i] == (uint32_t)-1)
			return invalid(w, "%s: user or group id -1 is not an id", who);
	if (c->n_groups > MAX_GROUPS)
		return invalid(w, "%s: %zu supplementary groups, at most %d", who, c->n_groups,
			       MAX_GROUPS);
	for (size_t i = 0; i < c->n_groups; i++)
		if (c->groups[i] == (uint32_t)-1)
			return invalid(w, "%s: supplementary group -1 is not an id", who);
	if (c->cap_effective & ~c->cap_permitted)
		return invalid(w, "%s: effective capabilities %#llx are not all permitted (%#llx)",
			       who, (unsigned long long)c->cap_effective,
			       (unsigned long long)c->cap_permitted);
	if (c->cap_ambient & ~(c->cap_permitted & c->cap_inheritable))
		return invalid(w, "%s: ambient capabilities %#llx are not all permitted and inheritable",
			       who, (unsigned long long)c->cap_ambient);
	if (c->securebits & ~SECUREBITS_KNOWN)
		return invalid(w, "%s: unknown securebits %#x", who, c->securebits);
	if (c->lsm_profile && !lsm_label_valid(c->lsm_profile))
		return invalid(w, "%s: the LSM label is empty, too long or not printable", who);
	return 0;
}

static const char *const rlimit_names[RLIM_NLIMITS] = {
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
	"RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
	"RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

const char *task_rlimit_name(uint32_t resource)
{
	return resource < RLIM_NLIMITS ? rlimit_names[resource] : "RLIMIT_?";
}

static int check_rlimits(const struct where *w, const TaskCore *core)
{
	uint32_t seen = 0;

	for (size_t i = 0; i < core->n_rlimits; i++) {
		const Rlimit *r = core->rlimits[i];

		if (r->resource >= RLIM_NLIMITS)
			return invalid(w, "rlimit %u: resources are 0-%d", r->resource,
				       RLIM_NLIMITS - 1);
		if (seen & 1u << r->resource)
			return invalid(w, "rlimit %s appears twice", rlimit_names[r->resource]);
		seen |= 1u << r->resource;
		if (r->cur > r->max)
			return invalid(w, "rlimit %s: soft limit %llu is above the hard limit %llu",
				       rlimit_names[r->resource], (unsigned long long)r->cur,
				       (unsigned long long)r->max);
	}
	return 0;
}

static int check_itimers(const struct where *w, const TaskCore *core)
{
	uint32_t seen = 0;

	for (size_t i = 0; i < core->n_itimers; i++) {
		const ITimer *t = core->itimers[i];

		if (t->which > ITIMER_PROF)
			return invalid(w, "itimer %u: timers are 0-%d (real, virtual, prof)",
				       t->which, ITIMER_PROF);
		if (seen & 1u << t->which)
			return invalid(w, "itimer %u appears twice", t->which);
		seen |= 1u << t->which;
	}
	return 0;
}

/* The clocks timer_create() accepts, as the dump records them. */
static bool timer_clock_known(uint32_t clock)
{
	switch (clock) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
	case CLOCK_BOOTTIME:
	case CLOCK_REALTIME_ALARM:
	case CLOCK_BOOTTIME_ALARM:
	case CLOCK_TAI:
		return true;
	default:
		return false;
	}
}

static bool has_thread(const TaskCore *core, int32_t tid)
{
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->tid == tid)
			return true;
	return false;
}

static int check_posix_timer(const struct where *w, const TaskCore *core, const PosixTimer *t)
{
	uint32_t how = t->notify & ~(uint32_t)SIGEV_THREAD_ID;

	if (t->id < 0)
		return invalid(w, "posix timer %d: ids are not negative", t->id);
	if (!timer_clock_known(t->clock_id))
		return invalid(w, "posix timer %d: clock %u is not one timers can use", t->id,
			       t->clock_id);
	if (t->notify > (SIGEV_THREAD | SIGEV_THREAD_ID) ||
	    (how != SIGEV_SIGNAL && how != SIGEV_NONE && how != SIGEV_THREAD))
		return invalid(w, "posix timer %d: notification %u is unknown", t->id, t->notify);
	if (how != SIGEV_NONE ? !valid_signo(t->signo) : t->signo > TASK_NSIG)
		return invalid(w, "posix timer %d: signal number %u is not 1-%d", t->id, t->signo,
			       TASK_NSIG);
	if (!!(t->notify & SIGEV_THREAD_ID) != t->has_notify_tid)
		return invalid(w, "posix timer %d: a target thread goes with SIGEV_THREAD_ID, and only with it",
			       t->id);
	if (t->has_notify_tid && !has_thread(core, t->notify_tid))
		return invalid(w, "posix timer %d: notifies thread %d, which is not one of its threads",
			       t->id, t->notify_tid);
	if (t->overrun < 0)
		return invalid(w, "posix timer %d: negative overrun count %d", t->id, t->overrun);
	return 0;
}

static int check_posix_timers(const struct where *w, const TaskCore *core)
{
	for (size_t i = 0; i < core->n_posix_timers; i++) {
		int ret = check_posix_timer(w, core, core->posix_timers[i]);

		if (ret)
			return ret;
		for (size_t j = 0; j < i; j++)
			if (core->posix_timers[j]->id == core->posix_timers[i]->id)
				return invalid(w, "posix timer %d appears twice",
					       core->posix_timers[i]->id);
	}
	return 0;
}

static int check_path(const struct where *w, const char *what, const char *path)
{
	if (path && (path[0] != '/' || strlen(path) >= PATH_MAX))
		return invalid(w, "%s \"%.64s\" is not an absolute path shorter than %d bytes", what,
			       path, PATH_MAX);
	return 0;
}

static int check_process(const struct where *w, const TaskCore *core)
{
	if (core->pid <= 0)
		return invalid(w, "not a process id");
	if (core->ppid < 0 || core->pgid < 0 || core->sid < 0)
		return invalid(w, "negative parent %d, process group %d or session %d", core->ppid,
			       core->pgid, core->sid);
	if (strlen(core->comm) >= TASK_COMM_LEN)
		return invalid(w, "name \"%s\" is longer than %d bytes", core->comm,
			       TASK_COMM_LEN - 1);
	if (core->personality == PERSONALITY_QUERY)
		return invalid(w, "personality %#x is not one", core->personality);
	if (core->umask & ~ALL_PERMS)
		return invalid(w, "umask %#o has bits outside 0777", core->umask);
	if (core->exit_signal > TASK_NSIG)
		return invalid(w, "exit signal %u is not 0-%d", core->exit_signal, TASK_NSIG);
	if (core->has_oom_score_adj && (core->oom_score_adj < -1000 || core->oom_score_adj > 1000))
		return invalid(w, "oom_score_adj %d is not -1000 to 1000", core->oom_score_adj);
	if (core->prctl && core->prctl->thp_disable && core->prctl->thp_disable != 1 &&
	    core->prctl->thp_disable != (1 | PR_THP_DISABLE_EXCEPT_ADVISED << 1))
		return invalid(w, "THP disable state %u is not 0, 1 or 3", core->prctl->thp_disable);
	if (core->prctl && core->prctl->membarrier & ~TASK_MEMBARRIER_REGISTERED)
		return invalid(w, "membarrier registrations %#x are not REGISTER_* commands",
			       core->prctl->membarrier);
	if (core->prctl && core->prctl->pdeath_signal > TASK_NSIG)
		return invalid(w, "parent-death signal %u is not 0-%d", core->prctl->pdeath_signal,
			       TASK_NSIG);
	if (core->has_stop_signal && core->stop_signal != SIGSTOP && core->stop_signal != SIGTSTP &&
	    core->stop_signal != SIGTTIN && core->stop_signal != SIGTTOU)
		return invalid(w, "stopped by signal %u, which is no job-control stop signal",
			       core->stop_signal);
	if (core->has_stop_reported && !core->has_stop_signal)
		return invalid(w, "says whether its stop was reported, but it was not stopped");
	return 0;
}

/* The kernel's BPF_MAXINSNS, and MAX_INSNS_PER_PATH with the 4 it counts
 * for each filter of a chain (kernel/seccomp.c). */
#define SECCOMP_FILTER_MAX_INSNS 4096
#define SECCOMP_PATH_MAX_INSNS 32768
#define SECCOMP_FLAG_LOG 2u

static int check_seccomp(const struct where *w, const TaskCore *core)
{
	for (size_t i = 0; i < core->n_seccomp_filters; i++) {
		const SeccompFilter *f = core->seccomp_filters[i];

		if (!f->insns.len || f->insns.len % 8 ||
		    f->insns.len / 8 > SECCOMP_FILTER_MAX_INSNS)
			return invalid(w, "seccomp filter %zu: %zu bytes are not 1 to %d BPF "
				       "instructions", i, f->insns.len, SECCOMP_FILTER_MAX_INSNS);
		if (f->flags & ~SECCOMP_FLAG_LOG)
			return invalid(w, "seccomp filter %zu: flags %#x, only LOG is saved", i,
				       f->flags);
	}
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCore *t = core->threads[i];
		size_t path = 0;

		if (t->seccomp_mode > 2)
			return invalid(w, "thread %d: seccomp mode %u is none of 0-2", t->tid,
				       t->seccomp_mode);
		if ((t->seccomp_mode == 2) != (t->n_seccomp_chain > 0))
			return invalid(w, "thread %d: seccomp mode %u with %zu filters", t->tid,
				       t->seccomp_mode, t->n_seccomp_chain);
		for (size_t j = 0; j < t->n_seccomp_chain; j++) {
			if (t->seccomp_chain[j] >= core->n_seccomp_filters)
				return invalid(w, "thread %d: seccomp filter %u of %zu", t->tid,
					       t->seccomp_chain[j], core->n_seccomp_filters);
			path += core->seccomp_filters[t->seccomp_chain[j]]->insns.len / 8 + 4;
		}
		if (path > SECCOMP_PATH_MAX_INSNS)
			return invalid(w, "thread %d: seccomp filters of %zu instructions in all, "
				       "the kernel takes %d", t->tid, path, SECCOMP_PATH_MAX_INSNS);
	}
	return 0;
}

/* The removed directory @g at @path (the cwd or root @what of @who): its
 * mode, and the removed folders above it, each a plain name of the path
 * (restore makes and removes them: never ".", ".." or empty). */
static int check_ghost(const struct where *w, const char *who, const char *what,
		       const char *path, const GhostDir *g)
{
	int level;

	if (!g)
		return 0;
	if (!path || g->mode & ~07777u)
		return invalid(w, "%s: a removed %s needs its path and a mode of permission bits",
			       who, what);
	if (g->n_removed_folders > GHOST_DIR_MAX_FOLDERS)
		return invalid(w, "%s: a removed %s in %zu removed folders, at most %d", who, what,
			       g->n_removed_folders, GHOST_DIR_MAX_FOLDERS);
	level = ghost_dir_bad_level(g);
	if (level >= 0)
		return invalid(w, "%s: removed folder %d of its %s: a mode of other bits than "
			       "permissions, or folders of its own", who, level, what);
	level = ghost_dir_unnamed_level(path, g->n_removed_folders + 1);
	if (level >= 0)
		return invalid(w, "%s: removed %s \"%.64s\" has no name for its level %d", who,
			       what, path, level);
	return 0;
}

/* A removed cwd or root that is a file object of the tree (@file, 0:
 * none) is a ghost that no fd of the task holds (@fd -1). Which object is
 * files_need_dir()'s to check. */
static int check_dir_file(const struct where *w, const char *who, const char *what,
			  const GhostDir *ghost, int64_t fd, bool has_file, uint32_t file)
{
	if (has_file && (!ghost || fd != -1 || !file))
		return invalid(w, "%s: its %s is file %u of the tree, but no removed directory, "
			       "or one an fd of its own holds", who, what, file);
	return 0;
}

/* The file objects of a removed cwd and root that others share. */
struct dir_files {
	bool has_cwd, has_root;
	uint32_t cwd, root;
};

/* A process's or a thread's cwd, root and their ghosts; @cwd_fd and
 * @root_fd, when not -1, the fds that hold its removed cwd and root. */
static int check_dirs(const struct where *w, const char *who, const char *cwd,
		      const GhostDir *cwd_ghost, const char *root, const GhostDir *root_ghost,
		      bool cwd_is_root, int64_t cwd_fd, int64_t root_fd, struct dir_files files)
{
	int ret = check_path(w, "cwd", cwd);

	if (!ret)
		ret = check_dir_file(w, who, "cwd", cwd_ghost, cwd_fd, files.has_cwd, files.cwd);
	if (!ret)
		ret = check_dir_file(w, who, "root", root_ghost, root_fd, files.has_root,
				     files.root);

	if (!ret)
		ret = check_path(w, "root", root);
	if (!ret && cwd_is_root && (!root_ghost || cwd_ghost))
		ret = invalid(w, "%s: a cwd that is its removed root needs that root, and no "
			      "removed cwd of its own", who);
	if (!ret && cwd_fd != -1 && (!cwd_ghost || cwd_fd > INT_MAX))
		ret = invalid(w, "%s: fd %lld holds its cwd, which is no removed directory, or "
			      "no fd", who, (long long)cwd_fd);
	if (!ret && root_fd != -1 && (!root_ghost || root_fd > INT_MAX))
		ret = invalid(w, "%s: fd %lld holds its root, which is no removed directory, or "
			      "no fd", who, (long long)root_fd);
	if (!ret)
		ret = check_ghost(w, who, "cwd", cwd, cwd_ghost);
	if (!ret)
		ret = check_ghost(w, who, "root", root, root_ghost);
	return ret;
}

/* A thread's own fs info: all of it, or the tid of another thread with
 * its own that it shares. */
static int check_thread_fs(const struct where *w, const TaskCore *core, const ThreadCore *t)
{
	const ThreadFs *fs = t->fs;
	char who[32];

	if (!fs)
		return 0;
	if (t->tid == core->pid)
		return invalid(w, "fs info of its own on the main thread");
	snprintf(who, sizeof(who), "thread %d", t->tid);
	if (fs->has_shared_with) {
		size_t i;

		for (i = 0; i < core->n_threads; i++) {
			const ThreadCore *o = core->threads[i];

			if (o->tid == fs->shared_with && o != t && o->fs &&
			    !o->fs->has_shared_with)
				break;
		}
		if (i == core->n_threads)
			return invalid(w, "%s shares the fs info of thread %d, which has none "
				       "of its own", who, fs->shared_with);
		if (fs->cwd || fs->root || fs->has_umask || fs->cwd_ghost || fs->root_ghost ||
		    fs->cwd_is_root || fs->has_cwd_fd || fs->has_root_fd || fs->has_cwd_file ||
		    fs->has_root_file)
			return invalid(w, "%s shares another thread's fs info, and has its own", who);
		return 0;
	}
	if (!fs->cwd || !fs->root || !fs->has_umask || fs->umask & ~ALL_PERMS)
		return invalid(w, "%s: fs info of its own needs a cwd, a root and a umask of "
			       "permission bits", who);
	return check_dirs(w, who, fs->cwd, fs->cwd_ghost, fs->root, fs->root_ghost,
			  fs->cwd_is_root, fs->has_cwd_fd ? (int64_t)fs->cwd_fd : -1,
			  fs->has_root_fd ? (int64_t)fs->root_fd : -1,
			  (struct dir_files){ fs->has_cwd_file, fs->has_root_file, fs->cwd_file,
					      fs->root_file });
}

static int validate(const struct where *w, const TaskCore *core)
{
	int ret = check_process(w, core);

	if (!ret && core->cgroup && !cgroup_path_valid(core->cgroup))
		ret = invalid(w, "cgroup \"%.64s\" is not an absolute path without \"..\"",
			      core->cgroup);
	if (!ret)
		ret = check_dirs(w, "process", core->cwd, core->cwd_ghost, core->root,
				 core->root_ghost, core->cwd_is_root,
				 core->has_cwd_fd ? (int64_t)core->cwd_fd : -1,
				 core->has_root_fd ? (int64_t)core->root_fd : -1,
				 (struct dir_files){ core->has_cwd_file, core->has_root_file,
						     core->cwd_file, core->root_file });
	if (!ret)
		ret = check_threads(w, core);
	if (!ret)
		ret = check_pending(w, "process-wide", core->shared_pending,
				    core->n_shared_pending);
	if (!ret)
		ret = check_sigactions(w, core);
	if (!ret && core->creds)
		ret = check_creds(w, "creds", core->creds);
	if (!ret)
		ret = check_rlimits(w, core);
	if (!ret)
		ret = check_itimers(w, core);
	if (!ret)
		ret = check_posix_timers(w, core);
	if (!ret)
		ret = check_seccomp(w, core);
	return ret;
}

int task_validate(const TaskCore *core)
{
	const struct where w = { "core", core->pid };

	return validate(&w, core);
}

int task_core_check(const struct image *img, const struct image_dir *dir, int id)
{
	const TaskCore *core;
	char prefix[PATH_MAX + 32];
	struct where w = { prefix, 0 };

	(void)dir;
	if (img->nr_records != 1) {
		image_error(img->path, img->nr_records ? img->records[1].offset : IMG_HDR_SIZE,
			    "a task core holds one record, this one holds %zu", img->nr_records);
		return -EBADMSG;
	}
	core = (const TaskCore *)img->records[0].msg;
	snprintf(prefix, sizeof(prefix), "%s: offset %zu", img->path, img->records[0].offset);
	w.pid = core->pid;
	if (id && core->pid != id) {
		invalid(&w, "the file is named for pid %d", id);
		return -EBADMSG;
	}
	return validate(&w, core) ? -EBADMSG : 0;
}

static const struct image_kind_desc task_kinds[] = {
	{ IMG_CORE, "core", "core-%d.img", &task_core__descriptor, task_core_check },
};

const struct image_kind_set task_image_kinds = { "task", task_kinds, ARRAY_SIZE(task_kinds) };
