/* Dumping a tree that lives in a pid namespace below cryo's (a clone that
 * `cryo restore --clone` made, whose init is not dumped): cryo forks a
 * child into the tree's pid and mount namespaces, which dumps the tree by
 * the pids it has there, as if cryo ran inside. Which namespaces a dump
 * may hold is namespaces.c's. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/options.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "dump/dump.h"
#include "ns/ns.h"

/* Opens /proc/@pid/ns/@name. */
static int open_ns(pid_t pid, const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("dump: pid %d: cannot open its %s namespace (%s)", pid, name,
				    path);
	return fd;
}

/* The tree's pid namespace ends when its root does (its init exits with
 * it), and the dumping child with it: a complete dump (killed unless -R)
 * may leave the child no time to exit. It says "complete" on a pipe at
 * post-dump, before the tree is killed; the caller's own notify still
 * runs first. */
struct inside_notify {
	int (*notify)(const char *action, pid_t pid, void *arg);
	void *arg;
	int done_fd;
};

static int notify_inside(const char *action, pid_t pid, void *arg)
{
	struct inside_notify *in = arg;
	int ret = in->notify ? in->notify(action, pid, in->arg) : 0;

	if (!ret && !strcmp(action, "post-dump") && write(in->done_fd, "d", 1) != 1)
		return -errno;
	return ret;
}

/* In the child: enters the tree's pid namespace's mount namespace view
 * (its /proc shows the pids inside) and dumps @inner. */
static int __attribute__((noreturn)) dump_inside(const struct cryo_opts *opts, pid_t pid,
						 pid_t inner, int mnt_fd, int done_fd,
						 int (*dump)(const struct cryo_opts *opts))
{
	struct inside_notify in = { opts->notify, opts->notify_arg, done_fd };
	struct cryo_opts inside = *opts;
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat cryos = { 0 }, trees = { 0 };
	bool cryos_known = !stat("/dev/pts", &cryos);

	/* setns() of a mount namespace moves the root and cwd to its root:
	 * the image directory is found again from the cwd kept. */
	if (cwd < 0 || setns(mnt_fd, CLONE_NEWNS) || fchdir(cwd)) {
		pr_errno_ret("dump: pid %d: cannot enter its mount namespace", pid);
		_exit(1);
	}
	/* A clone's own devpts instance (restore --clone makes one). */
	if (cryos_known && !stat("/dev/pts", &trees) && trees.st_dev != cryos.st_dev)
		inside.tree_devpts = trees.st_dev;
	inside.pid = inner;
	inside.notify = notify_inside;
	inside.notify_arg = &in;
	pr_info("dump: pid %d is pid %d in its pid namespace: dumped from inside it", pid,
		inner);
	_exit(dump(&inside));
}

int dump_below_pid_ns(const struct cryo_opts *opts, int (*dump)(const struct cryo_opts *opts),
		      bool *done)
{
	pid_t levels[NS_PID_LEVELS_MAX + 1], child;
	_cleanup_close_ int pid_fd = -1, mnt_fd = -1, back = -1, done_read = -1, done_write = -1;
	int ret, status, done_pipe[2];
	size_t nr;
	char byte;

	ret = ns_pid_levels(opts->pid, 0, levels, NS_PID_LEVELS_MAX + 1, &nr);
	/* No such process: the dump says so, as for any other. */
	if (ret == -ENOENT || ret == -ESRCH)
		return 0;
	if (ret) {
		pr_err("dump: pid %d: cannot read its pids (/proc/%d/status): %s", opts->pid,
		       opts->pid, strerror(-ret));
		return ret;
	}
	*done = nr > 1;
	if (nr == 1)
		return 0;
	if (levels[nr - 1] == 1) {
		pr_err("dump: pid %d: the init of its own pid namespace (pid 1 in it): PID "
		       "namespaces whose init is dumped are not supported yet", opts->pid);
		return -EOPNOTSUPP;
	}
	pid_fd = open_ns(opts->pid, "pid");
	if (pid_fd < 0)
		return pid_fd;
	mnt_fd = open_ns(opts->pid, "mnt");
	if (mnt_fd < 0)
		return mnt_fd;
	if (pipe2(done_pipe, O_CLOEXEC))
		return pr_errno_ret("dump: cannot make a pipe");
	done_read = done_pipe[0];
	done_write = done_pipe[1];
	back = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
	if (back < 0)
		return pr_errno_ret("dump: cannot open cryo's own pid namespace");
	/* cryo's next child is born in the tree's pid namespace. */
	if (setns(pid_fd, CLONE_NEWPID))
		return pr_errno_ret("dump: pid %d: cannot enter its pid namespace", opts->pid);
	child = fork();
	if (child == 0)
		dump_inside(opts, opts->pid, levels[nr - 1], mnt_fd, done_write, dump);
	if (setns(back, CLONE_NEWPID))
		pr_warn("dump: cannot go back to cryo's own pid namespace: %s", strerror(errno));
	if (child < 0)
		return pr_errno_ret("dump: pid %d: cannot fork into its pid namespace", opts->pid);
	close(done_write);
	done_write = -1;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return pr_errno_ret("dump: pid %d: lost the dump inside its pid namespace",
					    opts->pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WTERMSIG(status) == SIGKILL && read(done_read, &byte, 1) == 1 && !opts->leave_running)
		return 0;
	pr_err("dump: pid %d: the dump inside its pid namespace was killed by signal %d",
	       opts->pid, WTERMSIG(status));
	return 1;
}
