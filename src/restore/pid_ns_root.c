/* A tree whose root was pid 1 of its own pid namespace: the root is created
 * as the init of a new one (pid 1 inside, the kernel's choice outside), in
 * a new mount namespace with a /proc of its own when the tree had one or
 * when it is a clone. Not the rest of the tree (family.c), nor the init cryo
 * adds to a clone of another tree (clone.c). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "kabi/kabi.h"
#include "ns/mnt.h"
#include "ns/ns.h"
#include "restore/restore.h"
#include "restorer/args.h"

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

pid_t pid_ns_root_create(const struct restore_set *rs, bool clone)
{
	const pid_t init = 1;
	bool own_proc = rs->tree.own_proc || clone;
	/* The tree's own mount namespace, which cryo has left, is entered;
	 * otherwise a copy of cryo's. */
	bool enter = rs->tree_mnt_fd >= 0;
	struct ns_clone_args args = {
		.flags = CLONE_NEWPID | (own_proc && !enter ? CLONE_NEWNS : 0),
		.exit_signal = SIGCHLD,
		.set_tid = &init,
		.nr_set_tid = 1,
	};
	pid_t ret = ns_clone(&args);

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
	/* With the options of the tree's own, if it had one. */
	ret = mnt_proc_mount(rs->mnts);
	if (ret)
		root_fail(rs, -ret, "mount /proc");
	return 0;
}
