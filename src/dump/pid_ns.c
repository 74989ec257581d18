/* Dumping a tree that lives in a pid namespace below cryo's (a clone that
 * `cryo restore --clone` made, whose init is not dumped, or a tree whose
 * root is that init): cryo forks a child into the tree's pid and mount
 * namespaces, which dumps the tree by the pids it has there, as if cryo
 * ran inside. Which namespaces a dump may hold is namespaces.c's. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/options.h"
#include "common/archive_lib.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/nft_lib.h"
#include "dump/dump.h"
#include "ns/mnt.h"
#include "ns/ns.h"

/* How long cryo waits for a killed init to be dead (its namespace with it). */
#define KILLED_WAIT_MS 30000

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

/* Whether /proc shows the pid namespace this process is in: "self" names
 * it by its own pid; and all of it: a tree's /proc with subset=pid has no
 * /proc/sys, /proc/locks, ... that the dump reads. */
static bool proc_is_ours(void)
{
	char text[16];
	ssize_t n = readlink("/proc/self", text, sizeof(text) - 1);

	if (n <= 0 || access("/proc/sys", F_OK))
		return false;
	text[n] = '\0';
	return strtol(text, NULL, 10) == getpid();
}

/* A tree that shares the /proc of the namespace above (made by
 * clone(CLONE_NEWPID) alone), or whose /proc is a subset: the dumping child gets a mount namespace of
 * its own, a slave copy, with a /proc of the tree's pid namespace. */
static int mount_own_proc(pid_t pid)
{
	if (proc_is_ours())
		return 0;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return pr_errno_ret("dump: pid %d: cannot mount a /proc of its pid namespace in "
				    "a mount namespace of cryo's own", pid);
	return 0;
}

/* In the child: enters the tree's pid namespace's mount namespace view
 * (its /proc shows the pids inside, or one is mounted) and dumps @inner. */
static int __attribute__((noreturn)) dump_inside(const struct cryo_opts *opts, pid_t pid,
						 pid_t inner, int mnt_fd, int done_fd,
						 const struct mnt_caller *caller,
						 int (*dump)(const struct cryo_opts *opts,
							     const struct mnt_caller *caller))
{
	struct inside_notify in = { opts->notify, opts->notify_arg, done_fd };
	struct cryo_opts inside = *opts;
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat cryos = { 0 }, trees = { 0 };
	bool cryos_known = !stat("/dev/pts", &cryos);

	/* The libraries loaded on first use are cryo's: loaded here, before
	 * the tree's mount namespace (a container's files) hides them. A
	 * failure is said where one is needed. */
	nft_lib();
	archive_lib();
	/* setns() of a mount namespace moves the root and cwd to its root:
	 * the image directory is found again from the cwd kept. */
	if (cwd < 0 || setns(mnt_fd, CLONE_NEWNS) || fchdir(cwd)) {
		pr_errno_ret("dump: pid %d: cannot enter its mount namespace", pid);
		_exit(1);
	}
	/* A clone's own devpts instance (restore --clone makes one). */
	if (cryos_known && !stat("/dev/pts", &trees) && trees.st_dev != cryos.st_dev)
		inside.tree_devpts = trees.st_dev;
	if (mount_own_proc(pid) || fchdir(cwd))
		_exit(1);
	inside.pid = inner;
	inside.notify = notify_inside;
	inside.notify_arg = &in;
	pr_info("dump: pid %d is pid %d in its pid namespace: dumped from inside its pid and "
		"mount namespaces", pid, inner);
	_exit(dump(&inside, caller));
}

/* The init of the tree's pid namespace: once the dump inside says it is
 * complete, cryo kills it, which ends every process of the namespace, the
 * dumping child too. The init is dead only once that child is reaped. */
static void kill_init_when_done(pid_t pid, int root_fd, int done_read, bool *killed)
{
	char byte;
	ssize_t n;

	do
		n = read(done_read, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return;
	*killed = true;
	if (syscall(SYS_pidfd_send_signal, root_fd, SIGKILL, NULL, 0))
		pr_warn("dump: pid %d: cannot kill it: %s", pid, strerror(errno));
}

/* Waits (30 s at most) until the killed init is dead. */
static void wait_init_dead(pid_t pid, int root_fd)
{
	struct pollfd p = { .fd = root_fd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, KILLED_WAIT_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		pr_warn("dump: pid %d was killed but is still not dead after %d s", pid,
			KILLED_WAIT_MS / 1000);
}

int dump_below_pid_ns(const struct cryo_opts *opts, const struct mnt_caller *caller,
		      int (*dump)(const struct cryo_opts *opts, const struct mnt_caller *caller),
		      bool *done)
{
	pid_t levels[NS_PID_LEVELS_MAX + 1], child;
	_cleanup_close_ int pid_fd = -1, mnt_fd = -1, back = -1, done_read = -1, done_write = -1;
	_cleanup_close_ int root_fd = -1;
	int ret, status, done_pipe[2];
	bool killed = false, same_mnt = true;
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
	/* A tree in cryo's pid namespace but a mount namespace of its own is
	 * dumped from inside that one, where its files' paths lead. */
	if (nr == 1 && ns_same_as_cryo(opts->pid, NS_MNT, "dump", &same_mnt))
		return 0;
	if (nr == 1 && !same_mnt && mnt_all_callers(caller, opts->pid, &same_mnt))
		return 0;
	*done = nr > 1 || !same_mnt;
	if (!*done)
		return 0;
	/* Its init ignores SIGKILL from inside: cryo kills it from here. */
	if (levels[nr - 1] == 1) {
		root_fd = (int)syscall(SYS_pidfd_open, opts->pid, 0);
		if (root_fd < 0)
			return pr_errno_ret("dump: pid %d: cannot open a pidfd of it", opts->pid);
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
	if (nr > 1 && setns(pid_fd, CLONE_NEWPID))
		return pr_errno_ret("dump: pid %d: cannot enter its pid namespace", opts->pid);
	child = fork();
	if (child == 0)
		dump_inside(opts, opts->pid, levels[nr - 1], mnt_fd, done_write, caller, dump);
	if (nr > 1 && setns(back, CLONE_NEWPID))
		pr_warn("dump: cannot go back to cryo's own pid namespace: %s", strerror(errno));
	if (child < 0)
		return pr_errno_ret("dump: pid %d: cannot fork into its pid namespace", opts->pid);
	close(done_write);
	done_write = -1;
	if (root_fd >= 0 && !opts->leave_running)
		kill_init_when_done(opts->pid, root_fd, done_read, &killed);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return pr_errno_ret("dump: pid %d: lost the dump inside its pid namespace",
					    opts->pid);
	if (killed)
		wait_init_dead(opts->pid, root_fd);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WTERMSIG(status) == SIGKILL && !opts->leave_running &&
	    (killed || read(done_read, &byte, 1) == 1))
		return 0;
	pr_err("dump: pid %d: the dump inside its pid namespace was killed by signal %d",
	       opts->pid, WTERMSIG(status));
	return 1;
}
