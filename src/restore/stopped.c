/* Processes that were in a job-control stop come back stopped. Once every
 * process is whole and still held by cryo, each is stopped by its saved
 * signal under ptrace, so that the stop is complete, and its parent told,
 * before anything runs; a stop its parent had already waited for is
 * waited for again in the parent, and a SIGCHLD the parent did not have
 * pending at dump is taken back. With --leave-stopped every other process
 * is stopped by SIGSTOP too, after those, as criu leaves a restored tree;
 * its parent is told as of any stop. The kernel keeps the stops past release.
 * Reading the stops at dump is tree/stops.c's. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "inject/inject.h"
#include "restore/restore.h"

/* A process whose parent links its group to another in the same session;
 * cryo stands for the root's parent. */
static bool links_group(const struct tree *tree, const struct tree_task *m)
{
	pid_t parent_sid = getsid(0), parent_pgid = getpgrp();

	if (m->parent >= 0) {
		parent_sid = tree->tasks[m->parent].sid;
		parent_pgid = tree->tasks[m->parent].pgid;
	}
	return parent_sid == m->sid && parent_pgid != m->pgid;
}

/* The kernel discards SIGTSTP, SIGTTIN and SIGTTOU in an orphaned process
 * group (no member has a parent in the same session but another group). */
static bool group_orphaned(const struct restore_set *rs, const struct tree_task *t)
{
	for (size_t i = 0; i < rs->tree.nr; i++) {
		const struct tree_task *m = &rs->tree.tasks[i];

		if (m->pgid != t->pgid || m->state != TREE_ALIVE)
			continue;
		if (tree_in_callers_group(&rs->tree, m, rs->shell_job) || links_group(&rs->tree, m))
			return false;
	}
	return true;
}

static int stop_one(const struct restore_set *rs, size_t i, struct inj_task *task)
{
	const struct tree_task *t = &rs->tree.tasks[i];
	int sig = (int)rs->tasks[i].core->stop_signal;

	if (sig != SIGSTOP && group_orphaned(rs, t)) {
		pr_err("restore: pid %d: was stopped by %s, but its process group %d is orphaned "
		       "here, and the kernel discards that signal there", t->pid, strsignal(sig),
		       t->pgid);
		return -EINVAL;
	}
	return inj_stop(task, sig);
}

/* The parent had waited for the stop: it waits for it again, so that its
 * next wait does not see it. */
static int report_to_parent(struct inj_task *parent, pid_t parent_pid, pid_t child)
{
	const unsigned long args[6] = { P_PID, (unsigned long)child, INJ_ARG_BUF,
					WSTOPPED | WNOHANG | __WALL, 0, 0 };
	siginfo_t info;
	long result;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = inj_thread_syscall(parent, parent_pid, &result, &info, sizeof(info), SYS_waitid,
				 args);
	if (!ret && result)
		ret = (int)result;
	if (!ret && (info.si_pid != child || info.si_code != CLD_STOPPED))
		ret = -ECHILD;
	if (ret)
		pr_err("restore: pid %d: its parent %d cannot wait for its stop again: %s", child,
		       parent_pid, strerror(-ret));
	return ret;
}

static bool sigchld_pending(const TaskCore *core)
{
	for (size_t i = 0; i < core->n_shared_pending; i++)
		if (!memcmp(core->shared_pending[i]->siginfo.data, &(int){ SIGCHLD }, sizeof(int)))
			return true;
	for (size_t t = 0; t < core->n_threads; t++)
		for (size_t i = 0; i < core->threads[t]->n_pending; i++)
			if (!memcmp(core->threads[t]->pending[i]->siginfo.data, &(int){ SIGCHLD },
				    sizeof(int)))
				return true;
	return false;
}

/* The stops sent the parent a SIGCHLD that it had received (or never
 * had) long ago: taken back with rt_sigtimedwait, without waiting. */
static int take_back_sigchld(struct inj_task *parent, pid_t parent_pid)
{
	struct {
		uint64_t set;
		struct timespec zero;
	} buf = { 1ULL << (SIGCHLD - 1), { 0, 0 } };
	const unsigned long args[6] = { INJ_ARG_BUF, 0, INJ_ARG_BUF_AT(sizeof(uint64_t)),
					sizeof(uint64_t), 0, 0 };
	long result;
	int ret;

	ret = inj_thread_syscall(parent, parent_pid, &result, &buf, sizeof(buf),
				 SYS_rt_sigtimedwait, args);
	if (!ret && result != SIGCHLD && result != -EAGAIN)
		ret = result < 0 ? (int)result : -EIO;
	if (ret)
		pr_err("restore: pid %d: cannot take back the SIGCHLD of its children's stops: %s",
		       parent_pid, strerror(-ret));
	return ret;
}

int restore_stops(struct restore_set *rs, struct inj_task **seized)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (seized[i] && rs->tasks[i].core->has_stop_signal)
			ret = stop_one(rs, i, seized[i]);
	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		const TaskCore *core = seized[i] ? rs->tasks[i].core : NULL;
		int p = rs->tree.tasks[i].parent;

		if (core && core->has_stop_signal && core->stop_reported && p >= 0 && seized[p])
			ret = report_to_parent(seized[p], rs->tree.tasks[p].pid, rs->tasks[i].pid);
	}
	/* Once per parent of a stopped child, after all the stops. */
	for (size_t p = 0; !ret && p < rs->tree.nr; p++) {
		bool has_stopped_child = false;

		for (size_t i = 0; i < rs->tree.nr; i++)
			has_stopped_child |= seized[i] && rs->tree.tasks[i].parent == (int)p &&
					     rs->tasks[i].core->has_stop_signal;
		if (has_stopped_child && seized[p] && !sigchld_pending(rs->tasks[p].core))
			ret = take_back_sigchld(seized[p], rs->tree.tasks[p].pid);
	}
	for (size_t i = 0; !ret && rs->leave_stopped && i < rs->tree.nr; i++)
		if (seized[i] && !rs->tasks[i].core->has_stop_signal)
			ret = inj_stop(seized[i], SIGSTOP);
	return ret;
}
