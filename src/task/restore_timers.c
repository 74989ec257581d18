/* Recreates a task's POSIX timers with their saved ids, clocks, signals and
 * remaining times. Since 6.17, prctl(PR_TIMER_CREATE_RESTORE_IDS) makes
 * timer_create() take the id it is handed in its timer_t argument; without
 * it ids come in increasing order from 0 and any gap fails the restore.
 * The overrun count cannot be set: it restarts at 0. */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "kabi/kabi.h"
#include "task/internal.h"

static int by_id(const void *a, const void *b)
{
	const PosixTimer *x = *(PosixTimer *const *)a, *y = *(PosixTimer *const *)b;

	return (x->id > y->id) - (x->id < y->id);
}

static struct timespec ns_timespec(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
}

/* @chosen_ids: the kernel takes the id from us; otherwise it picks one. */
static int create_timer(const TaskCore *core, const PosixTimer *t, bool chosen_ids)
{
	struct sigevent event;
	struct itimerspec spec = { ns_timespec(t->interval_ns), ns_timespec(t->value_ns) };
	int id = chosen_ids ? t->id : -1;

	/* Only the main thread exists this early in a restore. */
	if (t->has_notify_tid && t->notify_tid != core->pid) {
		pr_err("restore: pid %d posix timer %d: it notifies thread %d, which does not exist yet",
		       core->pid, t->id, t->notify_tid);
		return -EOPNOTSUPP;
	}
	memset(&event, 0, sizeof(event));
	event.sigev_value.sival_ptr = (void *)(uintptr_t)t->sigval;
	event.sigev_signo = (int)t->signo;
	event.sigev_notify = (int)t->notify;
	if (t->has_notify_tid)
		event._sigev_un._tid = t->notify_tid;
	/* The raw call: libc's timer_t is not the kernel's id. */
	if (syscall(SYS_timer_create, t->clock_id, &event, &id))
		return pr_errno_ret("restore: pid %d posix timer %d: cannot create it on clock %u",
				    core->pid, t->id, t->clock_id);
	if (id != t->id) {
		pr_err("restore: pid %d posix timer %d: the kernel gave id %d, and it cannot choose ids (no PR_TIMER_CREATE_RESTORE_IDS)",
		       core->pid, t->id, id);
		return -EOPNOTSUPP;
	}
	if (syscall(SYS_timer_settime, id, 0, &spec, NULL))
		return pr_errno_ret("restore: pid %d posix timer %d: cannot arm it", core->pid,
				    t->id);
	return 0;
}

int restore_posix_timers(const TaskCore *core)
{
	_cleanup_free_ PosixTimer **sorted = NULL;
	size_t n = core->n_posix_timers;
	bool chosen_ids;
	int ret = 0;

	if (!n)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, core->posix_timers, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), by_id);
	chosen_ids = !prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0);
	if (!chosen_ids)
		pr_debug("restore: pid %d: PR_TIMER_CREATE_RESTORE_IDS unavailable (%s); timer ids must be 0, 1, 2...",
			 core->pid, strerror(errno));
	for (size_t i = 0; !ret && i < n; i++)
		ret = create_timer(core, sorted[i], chosen_ids);
	if (chosen_ids &&
	    prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0) && !ret)
		ret = pr_errno_ret("restore: pid %d: cannot turn PR_TIMER_CREATE_RESTORE_IDS off",
				   core->pid);
	return ret;
}
