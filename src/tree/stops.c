/* Job-control stops of the tree's processes at dump: which were stopped,
 * by which signal, and whether the parent has already seen the stop. The
 * stop itself needs nothing more at dump (the kernel keeps it through the
 * seize); putting it back at restore is restore/stopped.c's. Also the stop
 * --leave-stopped leaves a dumped tree in. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/log.h"
#include "inject/inject.h"
#include "tree/tree.h"

/* waitid(WSTOPPED | WNOHANG | WNOWAIT) in the parent: a stop not yet
 * reported shows there, and stays unreported. */
static int parent_has_seen(const struct tree_task *parent, pid_t child, bool *seen)
{
	const unsigned long args[6] = { P_PID, (unsigned long)child, INJ_ARG_BUF,
					WSTOPPED | WNOHANG | WNOWAIT | __WALL, 0, 0 };
	siginfo_t info;
	long result;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = inj_thread_syscall(parent->inj, parent->pid, &result, &info, sizeof(info),
				 SYS_waitid, args);
	if (!ret && result)
		ret = (int)result;
	if (ret) {
		pr_err("dump: pid %d: cannot ask its parent %d whether it has seen the stop: %s",
		       child, parent->pid, strerror(-ret));
		return ret;
	}
	*seen = !(info.si_pid == child && info.si_code == CLD_STOPPED);
	return 0;
}

int tree_read_stops(struct tree *tree)
{
	for (size_t i = 0; i < tree->nr; i++) {
		struct tree_task *t = &tree->tasks[i];
		int sig, ret;

		if (t->state != TREE_ALIVE)
			continue;
		sig = inj_stop_signal(t->inj);
		if (sig == -EAGAIN) {
			pr_err("dump: pid %d: some of its threads were in a job-control stop and "
			       "others not (a stop or SIGCONT came while seizing it); try again",
			       t->pid);
			return -EAGAIN;
		}
		t->stop_signal = sig;
		if (!sig || t->parent < 0)
			continue;
		ret = parent_has_seen(&tree->tasks[t->parent], t->pid, &t->stop_reported);
		if (ret)
			return ret;
		t->stop_known = true;
		pr_info("dump: pid %d: stopped by %s, %s by its parent %d", t->pid, strsignal(sig),
			t->stop_reported ? "already seen" : "not yet seen", tree->tasks[t->parent].pid);
	}
	return 0;
}

int tree_stop(struct tree *tree)
{
	int ret = 0;
	size_t i;

	for (i = 0; !ret && i < tree->nr; i++) {
		struct tree_task *t = &tree->tasks[i];

		/* A process stopped already stays so once let go. */
		if (t->inj && !t->stop_signal)
			ret = inj_stop(t->inj, SIGSTOP);
	}
	if (!ret)
		return 0;
	/* All or none: those stopped already run on. */
	while (--i > 0)
		if (tree->tasks[i - 1].inj && !tree->tasks[i - 1].stop_signal)
			kill(tree->tasks[i - 1].pid, SIGCONT);
	return ret;
}
