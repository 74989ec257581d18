/* A tree whose root was pid 1 of its own pid namespace: the root is created
 * as the init of a new one (pid 1 inside, the kernel's choice outside), in
 * a new mount namespace with a /proc of its own when the tree had one or
 * when it is a clone; from inside the tree's user namespace when that owns
 * the pid namespace. Not the rest of the tree (family.c), nor the init cryo
 * adds to a clone of another tree (clone.c). */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "kabi/kabi.h"
#include "ns/mnt.h"
#include "ns/ns.h"
#include "ns/user.h"
#include "restore/restore.h"
#include "restorer/args.h"
#include "task/task.h"

bool restore_root_is_pid_ns_init(const struct restore_set *rs)
{
	return rs->tree.tasks[0].pid == 1;
}

static void __attribute__((noreturn)) root_fail(const struct restore_set *rs, int err,
						const char *what)
{
	struct restorer_report report = { .pid = 1, .step = -1, .err = -err };

	snprintf(report.message, sizeof(report.message),
		 "restore: pid 1 (the init of a new pid namespace) cannot %s: %s", what,
		 strerror(err));
	if (write(rs->report_fd, &report, sizeof(report)) != sizeof(report))
		_exit(2);
	_exit(1);
}

/* In a short-lived child of cryo: what the root keeps of cryo's rights
 * (its login uid and groups, which only a process outside may set), then
 * into the user namespace, whose pid namespace the kernel makes owned by
 * its creator's: the root is made there, cryo's child by CLONE_PARENT.
 * Returns the root's pid in cryo, 0 in the root, -errno. */
static pid_t create_inside(const struct restore_set *rs, struct ns_clone_args *args)
{
	const Creds *cr = rs->tasks[0].core->creds;
	int sync[2], status;
	pid_t helper, got = -EIO;

	if (pipe2(sync, O_CLOEXEC))
		return -errno;
	helper = fork();
	if (helper == 0) {
		pid_t ret = task_restore_loginuid(rs->tasks[0].core);

		close(sync[0]);
		if (!ret && cr && setgroups(cr->n_groups, (const gid_t *)cr->groups))
			ret = -errno;
		if (!ret && setns(ns_user_fd(rs->userns), CLONE_NEWUSER))
			ret = -errno;
		args->flags |= CLONE_PARENT;
		args->exit_signal = 0;
		if (!ret)
			ret = ns_clone(args);
		if (ret == 0) {
			close(sync[1]);
			return 0;
		}
		_exit(write(sync[1], &ret, sizeof(ret)) == sizeof(ret) ? 0 : 1);
	}
	close(sync[1]);
	if (helper > 0 && read(sync[0], &got, sizeof(got)) != sizeof(got))
		got = -EIO;
	close(sync[0]);
	if (helper < 0)
		return -errno;
	waitpid(helper, &status, 0);
	return got;
}

pid_t pid_ns_root_create(const struct restore_set *rs, bool clone, bool sibling)
{
	const pid_t init = 1;
	bool own_proc = rs->tree.own_proc || clone;
	/* The tree's own mount namespace, which cryo has left, is entered;
	 * otherwise a copy of cryo's. */
	bool enter = rs->tree_mnt_fd >= 0;
	struct ns_clone_args args = {
		/* A sibling of cryo (rst_sibling: runc's child) takes cryo's
		 * exit signal, so clone3 is given none. */
		.flags = CLONE_NEWPID | (own_proc && !enter ? CLONE_NEWNS : 0) |
			 (sibling ? CLONE_PARENT : 0),
		.exit_signal = sibling ? 0 : SIGCHLD,
		.set_tid = &init,
		.nr_set_tid = 1,
	};
	bool inside = ns_user_born_inside(rs->userns);
	pid_t ret;

	if (inside && sibling) {
		pr_err("restore: a pid namespace of the tree's user namespace with its init made "
		       "cryo's sibling (restore_sibling): not supported");
		errno = EOPNOTSUPP;
		return -1;
	}
	ret = inside ? create_inside(rs, &args) : ns_clone(&args);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	if (ret > 0)
		return ret;
	if (enter && (setns(rs->tree_mnt_fd, CLONE_NEWNS) || close(rs->tree_mnt_fd)))
		root_fail(rs, errno, "enter the mount namespace made for the tree");
	if (!own_proc)
		return 0;
	/* A slave copy (no mount of its goes back to cryo's), whose /proc
	 * shows the pids inside. A namespace cryo made for the tree's own
	 * mounts is a slave already, and its peer groups must stay. */
	if (!rs->mnts && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		root_fail(rs, errno, "make its mounts slaves of cryo's");
	/* With the options of the tree's own, if it had one, and the mounts
	 * below it; in the tree's root when it had one (criu's root). */
	ret = mnt_proc_mount(rs->mnts);
	if (ret)
		root_fail(rs, -ret, "mount /proc and the mounts below it");
	ret = mnt_enter_root(rs->mnts);
	if (ret)
		root_fail(rs, -ret, "move into the tree's root folder (pivot_root)");
	return 0;
}
