/* task_restore_attrs(): applies a TaskCore's attributes to the calling
 * process, the one that becomes the restored task, while it still runs
 * cryo's code. Signal actions go through the raw rt_sigaction so that the
 * saved restorer stays (libc would put its own). POSIX timers are in
 * restore_timers.c; creds, dumpable, pending signals, what each thread
 * sets for itself (sigaltstack, rseq, clear_child_tid, robust list, name)
 * and the final signal mask are set later, once memory is back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "files/ghost_dir.h"
#include "kabi/kabi.h"
#include "parasite/commands.h"
#include "task/internal.h"
#include "task/task.h"

static int restore_identity(const TaskCore *core)
{
	pid_t pid = core->pid;

	if (prctl(PR_SET_NAME, core->comm, 0, 0, 0))
		return pr_errno_ret("restore: pid %d: cannot set its name to \"%s\"", pid,
				    core->comm);
	if (personality(core->personality) < 0)
		return pr_errno_ret("restore: pid %d: cannot set personality %#x", pid,
				    core->personality);
	umask(core->umask);
	return 0;
}

/* A removed cwd: made again, entered and removed; or the directory of one
 * of the task's fds, restored already, entered. One that others share
 * (cwd_file) was entered already, from the object of the tree. */
static int restore_ghost_cwd(const TaskCore *core)
{
	char who[24];
	int fd, ret;

	if (core->has_cwd_file)
		return 0;
	if (core->has_cwd_fd) {
		if (fchdir((int)core->cwd_fd))
			return pr_errno_ret("restore: pid %d cwd: cannot enter the removed "
					    "directory \"%s\" of its fd %u", core->pid, core->cwd,
					    core->cwd_fd);
		return 0;
	}
	snprintf(who, sizeof(who), "pid %d", core->pid);
	ret = ghost_dir_make(who, "cwd", core->cwd, core->cwd_ghost, &fd);
	if (ret)
		return ret;
	if (fchdir(fd))
		ret = pr_errno_ret("restore: pid %d cwd: cannot enter \"%s\", made again",
				   core->pid, core->cwd);
	close(fd);
	return ret;
}

int task_open_dir(const char *who, const char *what, const char *path, const GhostDir *g,
		  int *fd)
{
	if (g)
		return ghost_dir_make(who, what, path, g, fd);
	*fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return pr_errno_ret("restore: %s %s: cannot open \"%s\"", who, what, path);
	return 0;
}

int task_make_ghost_root(const TaskCore *core, int *fd)
{
	char who[24];

	snprintf(who, sizeof(who), "pid %d", core->pid);
	return ghost_dir_make(who, "root", core->root, core->root_ghost, fd);
}

/* The cwd, as seen from cryo's root. The root is the restorer's to enter
 * (chroot() leaves the cwd where it is): the restore's own code still
 * reads /proc after this. A cwd that is the removed root is entered with
 * it, there. */
static int restore_dirs(const TaskCore *core)
{
	int ret = core->cwd_ghost ? restore_ghost_cwd(core) : 0;

	if (ret || core->cwd_is_root)
		return ret;
	if (core->cwd && !core->cwd_ghost && chdir(core->cwd))
		return pr_errno_ret("restore: pid %d cwd: cannot enter \"%s\"", core->pid, core->cwd);
	if (core->root && strcmp(core->root, "/") && !core->root_ghost) {
		struct stat st;

		if (stat(core->root, &st))
			return pr_errno_ret("restore: pid %d root: \"%s\"", core->pid, core->root);
		if (!S_ISDIR(st.st_mode)) {
			pr_err("restore: pid %d root: \"%s\" is not a directory", core->pid,
			       core->root);
			return -ENOTDIR;
		}
	}
	return 0;
}

static void format_limit(char *buf, size_t size, rlim_t value)
{
	if (value == RLIM_INFINITY)
		snprintf(buf, size, "unlimited");
	else
		snprintf(buf, size, "%llu", (unsigned long long)value);
}

static int restore_rlimits(const TaskCore *core)
{
	for (size_t i = 0; i < core->n_rlimits; i++) {
		const Rlimit *r = core->rlimits[i];
		struct rlimit want = { r->cur, r->max }, now;
		const char *name = task_rlimit_name(r->resource);
		char want_max[32], now_max[32];
		int err;

		if (!setrlimit(r->resource, &want))
			continue;
		err = errno;
		if (err != EPERM || getrlimit(r->resource, &now) || want.rlim_max <= now.rlim_max) {
			errno = err;
			return pr_errno_ret("restore: pid %d rlimit %s: cannot set soft %llu, hard %llu",
					    core->pid, name, (unsigned long long)r->cur,
					    (unsigned long long)r->max);
		}
		format_limit(want_max, sizeof(want_max), want.rlim_max);
		format_limit(now_max, sizeof(now_max), now.rlim_max);
		pr_err("restore: pid %d rlimit %s: saved hard limit %s is above the current hard limit %s, and raising it needs CAP_SYS_RESOURCE",
		       core->pid, name, want_max, now_max);
		return -EPERM;
	}
	return 0;
}

/* Every signal gets its saved action, or the default when none was saved. */
static int restore_sigactions(const TaskCore *core)
{
	struct parasite_sigaction actions[TASK_NSIG] = {};

	for (size_t i = 0; i < core->n_sigactions; i++) {
		const SigAction *a = core->sigactions[i];

		actions[a->signo - 1] = (struct parasite_sigaction){
			.handler = a->handler,
			.flags = a->flags,
			.restorer = a->restorer,
			.mask = a->mask,
		};
	}
	for (int sig = 1; sig <= TASK_NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, &actions[sig - 1], NULL, sizeof(uint64_t)))
			return pr_errno_ret("restore: pid %d signal %d: cannot set its action (handler %#llx, flags %#llx)",
					    core->pid, sig,
					    (unsigned long long)actions[sig - 1].handler,
					    (unsigned long long)actions[sig - 1].flags);
	}
	return 0;
}

/* The membarrier registrations of the mm, one command each (a process
 * that registered PRIVATE_EXPEDITED gets EPERM from it without); its
 * children, made before this, do not inherit them. */
static int restore_membarrier(const TaskCore *core)
{
	uint32_t want = core->prctl->membarrier;

	for (uint32_t cmd = 1; want; cmd <<= 1) {
		if (!(want & cmd))
			continue;
		want &= ~cmd;
		if (syscall(SYS_membarrier, cmd, 0, 0))
			return pr_errno_ret("restore: pid %d: cannot register for membarrier "
					    "command %#x", core->pid, cmd);
	}
	return 0;
}

static int restore_prctl(const TaskCore *core)
{
	const PrctlState *p = core->prctl;
	int ret;

	if (!p)
		return 0;
	if (prctl(PR_SET_PDEATHSIG, p->pdeath_signal, 0, 0, 0))
		return pr_errno_ret("restore: pid %d: cannot set parent-death signal %u", core->pid,
				    p->pdeath_signal);
	/* An mm flag: the restorer replaces the mappings, not the mm. */
	if (prctl(PR_SET_THP_DISABLE, p->thp_disable & 1, p->thp_disable >> 1, 0, 0))
		return pr_errno_ret("restore: pid %d: cannot set PR_SET_THP_DISABLE %u (flags %#x)",
				    core->pid, p->thp_disable & 1, p->thp_disable >> 1);
	/* Also an mm flag, inherited over fork (from cryo, which may have
	 * it; restored children are made before this): set or cleared here,
	 * before the restorer maps anything, so that its mappings are
	 * mergeable as they were, and later ones will be. */
	if (p->has_memory_merge && prctl(PR_SET_MEMORY_MERGE, p->memory_merge, 0, 0, 0) &&
	    (p->memory_merge || errno != EINVAL))
		return pr_errno_ret("restore: pid %d: cannot %s KSM for all its memory "
				    "(PR_SET_MEMORY_MERGE)", core->pid,
				    p->memory_merge ? "turn on" : "turn off");
	ret = restore_membarrier(core);
	if (ret)
		return ret;
	if (prctl(PR_SET_CHILD_SUBREAPER, p->child_subreaper, 0, 0, 0))
		return pr_errno_ret("restore: pid %d: cannot %s child subreaper", core->pid,
				    p->child_subreaper ? "become" : "stop being");
	/* Threads inherit it: set here only when every thread has it, else
	 * by each thread that has it, in the restorer. */
	if (task_nnp_every_thread(core)) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			return pr_errno_ret("restore: pid %d: cannot set no_new_privs", core->pid);
	} else if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) {
		pr_err("restore: pid %d: no_new_privs is set in cryo and can never be cleared, but the task (or one of its threads) did not have it",
		       core->pid);
		return -EPERM;
	}
	return 0;
}

static struct timeval ns_timeval(uint64_t ns)
{
	return (struct timeval){ (time_t)(ns / 1000000000ULL),
				 (suseconds_t)(ns % 1000000000ULL / 1000) };
}

static int restore_itimers(const TaskCore *core)
{
	for (size_t i = 0; i < core->n_itimers; i++) {
		const ITimer *t = core->itimers[i];
		struct itimerval value = { ns_timeval(t->interval_ns), ns_timeval(t->value_ns) };

		/* A zero remaining time with some interval left would disarm the
		 * timer, and that is what it was: disarmed. */
		if (setitimer(t->which, &value, NULL))
			return pr_errno_ret("restore: pid %d itimer %u: cannot arm it", core->pid,
					    t->which);
	}
	return 0;
}

int task_restore_attrs(const TaskCore *core)
{
	uint64_t all = ~0ULL;
	int ret;

	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof(all)))
		return pr_errno_ret("restore: pid %d: cannot block signals", core->pid);
	ret = restore_identity(core);
	if (!ret)
		ret = restore_dirs(core);
	if (!ret)
		ret = restore_rlimits(core);
	if (!ret)
		ret = restore_sigactions(core);
	if (!ret)
		ret = restore_prctl(core);
	if (!ret)
		ret = restore_itimers(core);
	if (!ret)
		ret = restore_posix_timers(core);
	return ret;
}
