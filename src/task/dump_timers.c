/* Dump of POSIX timers: ids, clocks, signal and notification from
 * /proc/PID/timers, then remaining time, interval and overrun count from
 * inside the task (PARASITE_CMD_POSIX_TIMERS). Timers on the CPU clock of
 * another process or thread are refused: they could not be recreated. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "parasite/commands.h"
#include "task/internal.h"

/* How the kernel encodes CPU clocks in a clockid (negative values): the
 * pid (0 for the caller) inverted above bit 3, a per-thread flag in bit 2
 * and the kind of CPU time in bits 0-1. */
#define CPUCLOCK_PERTHREAD_BIT 4
#define CPUCLOCK_KIND_MASK 3
#define CPUCLOCK_SCHED 2

/* The clock a timer was created with, from the id /proc shows (which is
 * the kernel's encoding for CPU clocks). */
static int timer_clock(pid_t pid, int id, int shown, uint32_t *clock)
{
	int owner = ~(shown >> 3);

	if (shown >= 0) {
		*clock = (uint32_t)shown;
		return 0;
	}
	if (owner == 0 && (shown & CPUCLOCK_KIND_MASK) == CPUCLOCK_SCHED) {
		*clock = shown & CPUCLOCK_PERTHREAD_BIT ? CLOCK_THREAD_CPUTIME_ID :
							  CLOCK_PROCESS_CPUTIME_ID;
		return 0;
	}
	pr_err("dump: pid %d posix timer %d: clock %d (a CPU clock of %s %d) cannot be restored",
	       pid, id, shown, shown & CPUCLOCK_PERTHREAD_BIT ? "thread" : "process", owner);
	return -EOPNOTSUPP;
}

/* "signal/pid.N", "none/tid.N"...: the sigev_notify value and its target. */
static int timer_notify(const char *text, uint32_t *notify, int32_t *target)
{
	char how[16], whom[8];

	if (sscanf(text, "%15[a-z]/%7[a-z].%" SCNd32, how, whom, target) != 3)
		return -EIO;
	if (!strcmp(how, "signal"))
		*notify = SIGEV_SIGNAL;
	else if (!strcmp(how, "none"))
		*notify = SIGEV_NONE;
	else if (!strcmp(how, "thread"))
		*notify = SIGEV_THREAD;
	else
		return -EIO;
	if (!strcmp(whom, "tid"))
		*notify |= SIGEV_THREAD_ID;
	else if (strcmp(whom, "pid"))
		return -EIO;
	return 0;
}

static PosixTimer *new_timer(int id)
{
	PosixTimer *t = malloc(sizeof(*t));

	if (t) {
		posix_timer__init(t);
		t->id = id;
	}
	return t;
}

/* Each timer is four lines: "ID: N", "signal: SIG/SIGVAL", "notify: ...",
 * "ClockID: N"; the timer is complete at its ClockID line. */
static int read_timer_list(pid_t pid, TaskCore *core)
{
	char path[64];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	PosixTimer *t = NULL;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
	while (!ret && getline(&line, &cap, f) > 0) {
		int id, signo, clock;
		uint64_t sigval;
		int32_t target;

		if (!t && sscanf(line, "ID: %d", &id) == 1) {
			t = new_timer(id);
			if (!t)
				ret = -ENOMEM;
		} else if (t && sscanf(line, "signal: %d/%" SCNx64, &signo, &sigval) == 2) {
			t->signo = (uint32_t)signo;
			t->sigval = sigval;
		} else if (t && !strncmp(line, "notify: ", 8)) {
			ret = timer_notify(line + 8, &t->notify, &target);
			if (!ret && (t->notify & SIGEV_THREAD_ID)) {
				t->has_notify_tid = true;
				t->notify_tid = target;
			}
		} else if (t && sscanf(line, "ClockID: %d", &clock) == 1) {
			ret = timer_clock(pid, t->id, clock, &t->clock_id);
			if (!ret && task_push(core->posix_timers, core->n_posix_timers, t))
				ret = -ENOMEM;
			if (!ret)
				t = NULL;
		} else {
			ret = -EIO;
		}
	}
	if (!ret && t)
		ret = -EIO;
	free(t);
	if (ret == -EIO)
		pr_err("dump: pid %d: cannot parse %s near \"%.40s\"", pid, path, line);
	else if (!ret && ferror(f))
		ret = pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	return ret;
}

static uint64_t timespec_ns(int64_t sec, int64_t nsec)
{
	return (uint64_t)sec * 1000000000ULL + (uint64_t)nsec;
}

int dump_posix_timers(pid_t pid, struct inj_parasite *parasite, TaskCore *core)
{
	_cleanup_free_ struct parasite_posix_timer *state = NULL;
	size_t n, len, got = 0;
	int ret;

	ret = read_timer_list(pid, core);
	n = core->n_posix_timers;
	if (ret || !n)
		return ret;
	len = n * sizeof(*state);
	state = calloc(n, sizeof(*state));
	if (!state)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		state[i].id = core->posix_timers[i]->id;
	ret = inj_parasite_call(parasite, PARASITE_CMD_POSIX_TIMERS, state, len, state, len, &got,
				NULL);
	if (!ret && got != len)
		ret = -EPROTO;
	if (ret) {
		pr_err("dump: pid %d: cannot read the state of its %zu posix timers through the parasite: %s",
		       pid, n, strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		PosixTimer *t = core->posix_timers[i];

		t->interval_ns = timespec_ns(state[i].spec.interval_sec, state[i].spec.interval_nsec);
		t->value_ns = timespec_ns(state[i].spec.value_sec, state[i].spec.value_nsec);
		t->overrun = state[i].overrun;
	}
	return 0;
}
