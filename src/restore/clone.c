/* `cryo restore --clone`: the small init cryo leaves in the clone's new pid
 * and mount namespaces. It mounts a /proc of its own, creates the tree's
 * root with its saved pid inside, and once cryo releases it, reaps orphans
 * and exits with the root's status (which ends the namespace). It is not
 * part of the image. Creating the rest of the tree is family.c's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "kabi/kabi.h"
#include "ns/mnt.h"
#include "ns/ns.h"
#include "restore/family.h"
#include "restore/restore.h"
#include "restorer/args.h"

pid_t clone_init_create(void)
{
	struct ns_clone_args args = {
		.flags = CLONE_NEWPID | CLONE_NEWNS,
		.exit_signal = SIGCHLD,
	};
	pid_t ret = ns_clone(&args);

	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

static void __attribute__((noreturn)) init_fail(const struct restore_set *rs, int err,
						const char *what)
{
	struct restorer_report report = {
		.pid = rs->tree.tasks[0].pid, .step = -1, .err = -err,
	};

	snprintf(report.message, sizeof(report.message),
		 "restore: --clone: the init of the new pid namespace cannot %s: %s", what,
		 strerror(err));
	if (write(rs->report_fd, &report, sizeof(report)) != sizeof(report))
		_exit(2);
	_exit(1);
}

/* The clone's own devpts instance, where cryo made its ptys, on /dev/pts:
 * their indices are the clone's. The tree must not inherit its fd. */
static void make_devpts(const struct restore_set *rs)
{
	int ret = ns_devpts_attach(rs->devpts_fd);

	if (ret)
		init_fail(rs, -ret, "mount its devpts instance on /dev/pts and bind /dev/ptmx "
			  "to it");
	close(rs->devpts_fd);
}

/* The new mount namespace gets no mount back to cryo's (slave: cryo's new
 * mounts still show), and a /proc of the new pid namespace, so that the
 * tree and the restore's own code in it see the pids inside. */
static void make_mounts(const struct restore_set *rs)
{
	int ret;

	/* A namespace cryo made for the tree's own mounts is a slave of the
	 * caller's already, and its peer groups must stay (ns/mnt_restore.c). */
	if (rs->tree_mnt_fd >= 0 &&
	    (setns(rs->tree_mnt_fd, CLONE_NEWNS) || close(rs->tree_mnt_fd)))
		init_fail(rs, errno, "enter the mount namespace made for the tree");
	if (!rs->mnts && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		init_fail(rs, errno, "make its mounts slaves of cryo's");
	/* With the options of the tree's own, if it had one. */
	ret = mnt_proc_mount(rs->mnts);
	if (ret)
		init_fail(rs, -ret, "mount /proc");
	if (rs->devpts_fd >= 0)
		make_devpts(rs);
}

/* Its stdin, stdout and stderr on /dev/null (closed when it cannot be
 * opened: the init says nothing once the root exists). */
static void quiet_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (int fd = 0; fd <= 2; fd++)
		if (null < 0 || dup2(null, fd) < 0)
			close(fd);
	if (null > 2)
		close(null);
}

/* Reaps whatever comes to it; exits as the root did, which takes the rest
 * of the namespace with it. */
static void __attribute__((noreturn)) reap(pid_t root)
{
	for (;;) {
		int status;
		pid_t got = waitpid(-1, &status, __WALL);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			_exit(1);
		if (got == root)
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

void clone_init_run(struct restore_set *rs, const int release[2])
{
	int release_fd = release[0];
	pid_t root = rs->tree.tasks[0].pid, child;
	sigset_t all;
	ssize_t n;
	char go;

	/* Until cryo releases it, it dies with cryo, and its namespace too.
	 * Its parent is outside its namespace: getppid() says 0, so a cryo
	 * that died before this is seen as EOF on the release pipe, which
	 * only cryo may hold open for writing. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(release[1]);
	prctl(PR_SET_NAME, "cryo-init");
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	make_mounts(rs);
	/* The UTS and time namespaces the tree had of its own: the init is
	 * in the first, and makes the root in the second. */
	if (ns_own_make(&rs->own_ns, NULL))
		init_fail(rs, EINVAL, "make the tree's UTS and time namespaces");
	child = family_clone(root, SIGCHLD, 0);
	if (child == 0)
		restore_child(rs, 0);
	if (child < 0)
		init_fail(rs, errno, errno == EEXIST ? "create the root: its pid is taken" :
						       "create the root");
	/* Nothing of cryo's stays open in it but what tells it to go on: not
	 * cryo's stdio either (the root has its own by now), or a reader of a
	 * pipe from `cryo restore -d` would wait for the clone to end. */
	quiet_stdio();
	if (release_fd > 3 && close_range(3, (unsigned int)release_fd - 1, 0))
		_exit(1);
	if (close_range((unsigned int)release_fd + 1, ~0U, 0))
		_exit(1);
	do
		n = read(release_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(1);
	/* In this order: cryo exits once it sees the pipe closed. */
	prctl(PR_SET_PDEATHSIG, 0);
	close(release_fd);
	reap(root);
}
