/* How each process of a restored tree gets its family back, run inside it:
 * its session and own group before it creates its children (who inherit
 * the session), membership of another's group once every group exists,
 * and at the end zombies and helpers leaving as their parents expect. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "files/files.h"
#include "kabi/kabi.h"
#include "ns/ns.h"
#include "restore/family.h"

pid_t family_clone(pid_t pid, uint32_t exit_signal, uint64_t flags)
{
	struct ns_clone_args args = {
		.flags = flags,
		.exit_signal = (int)exit_signal,
		.set_tid = &pid,
		.nr_set_tid = 1,
	};
	pid_t ret = ns_clone(&args);

	/* Its callers check errno, as after fork(). */
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

/* A session leader makes its session again, and takes back its controlling
 * terminal before it creates the processes that inherit it; a group leader
 * makes its group. The root of a shell job stays in the caller's session
 * and group. */
static int make_session_and_group(const struct restore_set *rs, size_t index)
{
	const struct tree_task *t = &rs->tree.tasks[index];

	if (tree_in_callers_group(&rs->tree, t, rs->shell_job))
		return 0;
	if (t->sid == t->pid) {
		if (setsid() < 0)
			return pr_errno_ret("restore: pid %d: cannot make its session (setsid)",
					    t->pid);
		return rs->tasks[index].files ?
			       files_take_terminal(rs->tasks[index].files, rs->files, t->sid) : 0;
	}
	if (t->pgid == t->pid && setpgid(0, 0))
		return pr_errno_ret("restore: pid %d: cannot make its process group", t->pid);
	return 0;
}

/* Whether child @c stays in the session its parent @t is about to leave:
 * it was forked before @t called setsid(). */
static bool in_left_session(const struct tree_task *t, const struct tree_task *c)
{
	return t->sid == t->pid && c->sid != t->pid && c->sid != c->pid;
}

/* Creates the children of process @index that are (or are not, as
 * @left_session says) in the session it leaves. */
static int create_children(struct restore_set *rs, size_t index, bool left_session)
{
	const struct tree *tree = &rs->tree;
	const struct tree_task *t = &tree->tasks[index];

	for (size_t i = index + 1; i < tree->nr; i++) {
		const struct tree_task *c = &tree->tasks[i];
		pid_t pid;

		if (c->parent != (int)index || in_left_session(t, c) != left_session)
			continue;
		/* Its cwd, root and umask are set by both: the same values.
		 * Its fds are restored by the first of the group alone. */
		pid = family_clone(c->pid, c->exit_signal, (c->shares_fs ? CLONE_FS : 0) |
							   (c->shares_files ? CLONE_FILES : 0));
		if (pid == 0)
			restore_child(rs, i);
		if (pid < 0)
			return pr_errno_ret("restore: pid %d: cannot create its child %d%s", t->pid,
					    c->pid, errno == EEXIST ? " (the pid is taken)" : "");
	}
	return 0;
}

int family_create(struct restore_set *rs, size_t index)
{
	int ret = create_children(rs, index, true);

	if (!ret)
		ret = make_session_and_group(rs, index);
	if (!ret)
		ret = create_children(rs, index, false);
	return ret;
}

int family_join_group(const struct restore_set *rs, size_t index)
{
	const struct tree_task *t = &rs->tree.tasks[index];

	/* Every group exists now: the session's terminal gets its foreground. */
	if (t->sid == t->pid && rs->tasks[index].files &&
	    !tree_in_callers_group(&rs->tree, t, rs->shell_job)) {
		int ret = files_set_foreground(rs->tasks[index].files, rs->files, t->sid);

		if (ret)
			return ret;
	}
	if (tree_in_callers_group(&rs->tree, t, rs->shell_job) || getpgid(0) == t->pgid)
		return 0;
	if (setpgid(0, t->pgid))
		return pr_errno_ret("restore: pid %d: cannot join process group %d", t->pid,
				    t->pgid);
	return 0;
}

void family_leave(const struct tree_task *t)
{
	int status = t->exit_status;
	struct rlimit no_core = { 0, 0 };
	sigset_t set;

	/* Else it would keep the name of cryo, whose copy it is. */
	if (t->comm[0])
		prctl(PR_SET_NAME, t->comm);
	if (t->state == TREE_HELPER || WIFEXITED(status))
		_exit(t->state == TREE_HELPER ? 0 : WEXITSTATUS(status));
	/* Killed by a signal: by the same one, without writing a core. */
	setrlimit(RLIMIT_CORE, &no_core);
	signal(WTERMSIG(status), SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, WTERMSIG(status));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), WTERMSIG(status));
	_exit(128 + WTERMSIG(status));
}

/* Waits until each zombie child has exited (it stays unreaped, as it was)
 * and reaps each helper, then drops the signals their exits sent: the
 * parent got those long before it was dumped. Signals it really had
 * pending come back from its core later. */
int family_settle(const struct restore_set *rs, size_t index)
{
	const struct tree *tree = &rs->tree;
	struct timespec now = { 0, 0 };
	sigset_t exits;
	bool any = false;

	sigemptyset(&exits);
	for (size_t i = index + 1; i < tree->nr; i++) {
		const struct tree_task *c = &tree->tasks[i];
		siginfo_t info;
		int ret;

		if (c->parent != (int)index || c->state == TREE_ALIVE)
			continue;
		if (c->state == TREE_ZOMBIE)
			ret = waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOWAIT | __WALL);
		else
			ret = waitpid(c->pid, NULL, __WALL) < 0 ? -1 : 0;
		/* A parent that ignores SIGCHLD has its children reaped at once. */
		if (ret && !(errno == ECHILD && c->state == TREE_HELPER))
			return pr_errno_ret("restore: pid %d: its child %d did not become a %s",
					    tree->tasks[index].pid, c->pid,
					    c->state == TREE_ZOMBIE ? "zombie" : "helper that exits");
		if (c->exit_signal) {
			sigaddset(&exits, (int)c->exit_signal);
			any = true;
		}
	}
	while (any && sigtimedwait(&exits, NULL, &now) > 0)
		;
	return 0;
}
