/* Scheduling and accounting state: per thread the policy and its
 * parameters (sched_getattr), utilization clamps, CPU affinity, I/O priority
 * and timer slack;
 * per process oom_score_adj and the audit login uid. Dump reads them from
 * outside (syscalls that take a tid, and procfs), but the timer slack,
 * which each thread reads itself (dump_threads.c); restore sets them from
 * cryo, by tid or by a syscall run in the thread, once every thread exists,
 * but the login uid, which only the task itself may write, so
 * task_restore_attrs() does. Bounds are checked by validate.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <linux/sched.h>
#include <linux/sched/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "task/internal.h"
#include "task/task.h"

#define LOGINUID_UNSET 4294967295u

/* Reads a number from /proc/@tid/@name. */
static int read_proc_number(pid_t tid, const char *name, long long *out)
{
	_cleanup_free_ char *buf = NULL;
	char *end;
	int ret = proc_read(tid, name, &buf);

	if (ret)
		return ret;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	if (errno || end == buf) {
		pr_err("dump: pid %d: /proc/%d/%s is not a number: %.32s", tid, tid, name, buf);
		return -EINVAL;
	}
	return 0;
}

/* Whether this kernel clamps utilization (CONFIG_UCLAMP_TASK): one does
 * refuse an out-of-range clamp with EINVAL, before changing anything; one
 * without refuses any clamp with EOPNOTSUPP. */
static bool kernel_has_uclamp(void)
{
	struct sched_attr attr = {
		.size = sizeof(attr),
		.sched_flags = SCHED_FLAG_KEEP_ALL | SCHED_FLAG_UTIL_CLAMP_MIN,
		.sched_util_min = TASK_UCLAMP_MAX + 1,
	};

	return syscall(SYS_sched_setattr, 0, &attr, 0) && errno == EINVAL;
}

static int dump_thread_sched(pid_t pid, pid_t tid, bool uclamp, SchedState *s)
{
	struct sched_attr attr = { 0 };
	uint8_t mask[TASK_AFFINITY_MAX_BYTES];
	long ioprio, n;

	if (syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0))
		return pr_errno_ret("dump: pid %d thread %d: cannot read its scheduling policy",
				    pid, tid);
	s->policy = attr.sched_policy;
	s->flags = attr.sched_flags & SCHED_FLAG_RESET_ON_FORK;
	/* sched_getattr() shows no nice for a real-time thread, which keeps
	 * one all the same (for when it leaves that policy). */
	errno = 0;
	s->nice = getpriority(PRIO_PROCESS, tid);
	if (errno)
		return pr_errno_ret("dump: pid %d thread %d: cannot read its nice value", pid,
				    tid);
	s->priority = attr.sched_priority;
	s->runtime = attr.sched_runtime;
	s->deadline = attr.sched_deadline;
	s->period = attr.sched_period;
	/* Without uclamp, sched_getattr() shows 0 for both. */
	s->has_util_min = s->has_util_max = uclamp;
	s->util_min = uclamp ? attr.sched_util_min : 0;
	s->util_max = uclamp ? attr.sched_util_max : 0;
	/* The kernel copies out its whole cpumask and returns its size. */
	n = syscall(SYS_sched_getaffinity, tid, sizeof(mask), mask);
	if (n < 0)
		return pr_errno_ret("dump: pid %d thread %d: cannot read its CPU affinity", pid,
				    tid);
	while (n > 0 && !mask[n - 1])
		n--;
	s->affinity.data = malloc(n ? n : 1);
	if (!s->affinity.data)
		return -ENOMEM;
	memcpy(s->affinity.data, mask, n);
	s->affinity.len = n;
	ioprio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
	if (ioprio < 0)
		return pr_errno_ret("dump: pid %d thread %d: cannot read its I/O priority", pid,
				    tid);
	s->ioprio = ioprio;
	return 0;
}

int task_thread_sched(ThreadCore *t)
{
	if (t->sched)
		return 0;
	t->sched = malloc(sizeof(*t->sched));
	if (!t->sched)
		return -ENOMEM;
	sched_state__init(t->sched);
	return 0;
}

int dump_sched(struct inj_task *task, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);
	char buf[64];
	bool uclamp = kernel_has_uclamp();
	long long value;
	int ret;

	for (int i = 0; i < inj_thread_count(task); i++) {
		pid_t tid = inj_thread_tid(task, i);
		ThreadCore *t = task_thread_get(core, tid);

		if (!t || task_thread_sched(t))
			return -ENOMEM;
		ret = dump_thread_sched(pid, tid, uclamp, t->sched);
		if (ret)
			return ret;
	}
	if (read_proc_number(pid, "oom_score_adj", &value))
		return -EIO;
	core->has_oom_score_adj = true;
	core->oom_score_adj = (int32_t)value;
	/* Without CONFIG_AUDITSYSCALL there is no login uid to keep. */
	snprintf(buf, sizeof(buf), "/proc/%d/loginuid", pid);
	if (access(buf, F_OK))
		return 0;
	if (read_proc_number(pid, "loginuid", &value))
		return -EIO;
	core->has_loginuid = true;
	core->loginuid = (uint32_t)value;
	return 0;
}

/* The first CPU of @s's affinity that this machine cannot run on, or -1. */
static int missing_cpu(const SchedState *s, long possible)
{
	for (size_t byte = 0; byte < s->affinity.len; byte++)
		for (int bit = 0; bit < 8; bit++) {
			long cpu = (long)byte * 8 + bit;

			if ((s->affinity.data[byte] >> bit & 1) && cpu >= possible)
				return (int)cpu;
		}
	return -1;
}

int task_check_sched(const TaskCore *core, long possible_cpus)
{
	for (size_t i = 0; i < core->n_threads; i++) {
		const SchedState *s = core->threads[i]->sched;
		int cpu = s ? missing_cpu(s, possible_cpus) : -1;

		if (cpu < 0)
			continue;
		pr_err("restore: pid %d thread %d: its CPU affinity names CPU %d, which this "
		       "machine does not have (%ld CPUs)", core->pid, core->threads[i]->tid, cpu,
		       possible_cpus);
		return -EINVAL;
	}
	return 0;
}

static int set_affinity(pid_t pid, pid_t tid, const SchedState *s)
{
	uint8_t want[TASK_AFFINITY_MAX_BYTES] = { 0 }, got[TASK_AFFINITY_MAX_BYTES] = { 0 };
	long n;

	memcpy(want, s->affinity.data, s->affinity.len);
	if (syscall(SYS_sched_setaffinity, tid, sizeof(want), want))
		return pr_errno_ret("restore: pid %d thread %d: cannot set its CPU affinity", pid,
				    tid);
	/* A cpuset may allow fewer CPUs than asked: the kernel then narrows
	 * the mask without a word. */
	n = syscall(SYS_sched_getaffinity, tid, sizeof(got), got);
	if (n < 0 || memcmp(want, got, sizeof(want))) {
		pr_err("restore: pid %d thread %d: its CPU affinity could not be given back whole "
		       "(a CPU of it is offline here, or outside the cgroup's cpuset)", pid, tid);
		return -EPERM;
	}
	return 0;
}

/* The timer slack is set by a prctl() run in the thread. Not through
 * /proc/TID/timerslack_ns: reading that file of each thread at dump made
 * about half the restores of those tids fail with EEXIST here (6.18; not
 * reproduced outside a dump, cause unknown), so /proc/TID is left alone. */
static int set_timer_slack(struct inj_task *task, pid_t tid, uint64_t slack)
{
	const unsigned long args[6] = { PR_SET_TIMERSLACK, slack };
	long result;
	int ret = inj_thread_syscall(task, tid, &result, NULL, 0, SYS_prctl, args);

	if (!ret && result)
		ret = (int)result;
	if (ret)
		pr_err("restore: pid %d thread %d: cannot set its timer slack to %llu ns: %s",
		       inj_task_pid(task), tid, (unsigned long long)slack, strerror(-ret));
	return ret;
}

/* Whether a restored thread already has @slack, so that no remote call
 * (a hijack and two ptrace stops of the thread, the most of a small
 * process's finish) is needed: every restored thread descends from cryo
 * without exec and inherits its slack at clone, and keeps it unless it was
 * ever real-time (the kernel zeroes the slack of a real-time thread),
 * which it was not when cryo is not. */
static bool has_slack_already(uint64_t slack)
{
	long policy = syscall(SYS_sched_getscheduler, 0);

	if (policy < 0 || task_policy_is_rt((uint32_t)policy) || policy == TASK_POLICY_DEADLINE)
		return false;
	return slack <= INT_MAX && prctl(PR_GET_TIMERSLACK) == (int)slack;
}

/* Clamps the thread already has (the defaults, unless set) are left alone,
 * so that defaults keep following the sched_util_clamp_* sysctls. */
static int set_uclamp(pid_t pid, pid_t tid, const SchedState *s)
{
	struct sched_attr now = { 0 }, attr = {
		.size = sizeof(attr),
		.sched_flags = SCHED_FLAG_KEEP_ALL | SCHED_FLAG_UTIL_CLAMP,
		.sched_util_min = s->util_min,
		.sched_util_max = s->util_max,
	};
	/* What every thread has where nothing was set: a real-time one's
	 * minimum is sched_util_clamp_min_rt_default, 1024 unless changed. */
	bool defaults = s->util_max == TASK_UCLAMP_MAX &&
			s->util_min == (task_policy_is_rt(s->policy) ? TASK_UCLAMP_MAX : 0);

	if (syscall(SYS_sched_getattr, tid, &now, sizeof(now), 0))
		return pr_errno_ret("restore: pid %d thread %d: cannot read its utilization clamps",
				    pid, tid);
	if (now.sched_util_min == s->util_min && now.sched_util_max == s->util_max)
		return 0;
	if (!syscall(SYS_sched_setattr, tid, &attr, 0))
		return 0;
	if (errno == EOPNOTSUPP && defaults)
		return 0;
	if (errno == EOPNOTSUPP) {
		pr_err("restore: pid %d thread %d: cannot set its utilization clamps (min %u, max "
		       "%u): this kernel has no uclamp (CONFIG_UCLAMP_TASK)", pid, tid,
		       s->util_min, s->util_max);
		return -EOPNOTSUPP;
	}
	return pr_errno_ret("restore: pid %d thread %d: cannot set its utilization clamps (min "
			    "%u, max %u)", pid, tid, s->util_min, s->util_max);
}

static int restore_thread_sched(struct inj_task *task, pid_t tid, const SchedState *s)
{
	pid_t pid = inj_task_pid(task);
	struct sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = s->policy,
		.sched_flags = s->flags,
		.sched_nice = s->nice,
		.sched_priority = s->priority,
		.sched_runtime = s->runtime,
		.sched_deadline = s->deadline,
		.sched_period = s->period,
	};
	int ret;

	/* The affinity first: SCHED_DEADLINE refuses a narrowed one later. */
	ret = set_affinity(pid, tid, s);
	if (ret)
		return ret;
	if (syscall(SYS_sched_setattr, tid, &attr, 0))
		return pr_errno_ret("restore: pid %d thread %d: cannot set %s (priority %u, nice "
				    "%d)", pid, tid, task_policy_name(s->policy), s->priority,
				    s->nice);
	if (s->has_util_min) {
		ret = set_uclamp(pid, tid, s);
		if (ret)
			return ret;
	}
	/* sched_setattr() sets the nice of SCHED_OTHER and BATCH only, but the
	 * kernel keeps one for every policy (and shows it). */
	if (setpriority(PRIO_PROCESS, tid, s->nice))
		return pr_errno_ret("restore: pid %d thread %d: cannot set nice %d", pid, tid,
				    s->nice);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid, s->ioprio))
		return pr_errno_ret("restore: pid %d thread %d: cannot set I/O priority class %u "
				    "data %u", pid, tid, s->ioprio >> IOPRIO_CLASS_SHIFT,
				    s->ioprio & ((1u << IOPRIO_CLASS_SHIFT) - 1));
	/* A real-time thread has no slack: the kernel ignores what is set. */
	if (!task_policy_is_rt(s->policy) && s->policy != TASK_POLICY_DEADLINE &&
	    !has_slack_already(s->timer_slack_ns))
		return set_timer_slack(task, tid, s->timer_slack_ns);
	return 0;
}

static int set_oom_score_adj(pid_t pid, int value)
{
	_cleanup_close_ int fd = -1;
	char path[64], text[16];
	int len;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
	len = snprintf(text, sizeof(text), "%d", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != len)
		return pr_errno_ret("restore: pid %d: cannot set oom_score_adj %d", pid, value);
	return 0;
}

int task_restore_sched(struct inj_task *task, const TaskCore *core, const pid_t *tids)
{
	int ret = 0;

	for (size_t i = 0; i < core->n_threads && !ret; i++)
		if (core->threads[i]->sched)
			ret = restore_thread_sched(task, tids[i], core->threads[i]->sched);
	if (!ret && core->has_oom_score_adj)
		ret = set_oom_score_adj(inj_task_pid(task), core->oom_score_adj);
	return ret;
}

int task_restore_loginuid(const TaskCore *core)
{
	_cleanup_close_ int fd = -1;
	char text[16] = "";
	int len;

	if (!core->has_loginuid)
		return 0;
	fd = open("/proc/self/loginuid", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (core->loginuid == LOGINUID_UNSET && errno == ENOENT)
			return 0;
		return pr_errno_ret("restore: pid %d: cannot open /proc/self/loginuid to set login "
				    "uid %u", core->pid, core->loginuid);
	}
	if (read(fd, text, sizeof(text) - 1) > 0 && strtoul(text, NULL, 10) == core->loginuid)
		return 0;
	len = snprintf(text, sizeof(text), "%u", core->loginuid);
	if (pwrite(fd, text, len, 0) != len) {
		if (errno == EPERM)
			pr_err("restore: pid %d: cannot set login uid %u: needs CAP_AUDIT_CONTROL, "
			       "and an audit rule may make login uids immutable", core->pid,
			       core->loginuid);
		else
			pr_err("restore: pid %d: cannot set login uid %u: %s", core->pid,
			       core->loginuid, strerror(errno));
		return -EPERM;
	}
	return 0;
}
