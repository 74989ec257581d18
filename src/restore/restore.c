/* `cryo restore`: validate every image, create the tree from its root down
 * with the saved PIDs (clone3 with set_tid), lead every process through
 * the stages of child.c together (stages.c leads them), then give each its
 * registers and let them all run. cryo watches every process through a
 * pidfd: one that dies or reports a failure ends them all. Without -d cryo stays the root's
 * parent, waits for it and exits with its status, as criu does. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/status_fd.h"
#include "files/files.h"
#include "inject/inject.h"
#include "ipc/sysv_shm.h"
#include "kabi/kabi.h"
#include "lazy/lazy.h"
#include "net/net.h"
#include "ns/cgroup_ns.h"
#include "ns/ipc.h"
#include "ns/mnt.h"
#include "ns/net.h"
#include "ns/ns.h"
#include "task/cpuinfo.h"
#include "task/task.h"
#include "ns/user.h"
#include "restore/family.h"
#include "restore/restore.h"
#include "restore/run.h"
#include "restorer/args.h"
#include "stats/stats.h"


static void inject_log(enum inj_log_level level, const char *message)
{
	log_msg((enum log_level)level, "restore: %s", message);
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f)) {
		pr_err("restore: cannot write pid file %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int wait_exit_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}



/* Moves @fd to @base or above, where no restored fd will land. */
static int lift_fd(int *fd, int base)
{
	int moved = fcntl(*fd, F_DUPFD_CLOEXEC, base);

	if (moved < 0)
		return pr_errno_ret("restore: cannot move fd %d above %d", *fd, base);
	close(*fd);
	*fd = moved;
	return 0;
}

/* files_prepare()'s @index-th fd table is that of the @index-th process
 * with one: cryo takes on its filesystem credentials. */
static int as_task(void *arg, size_t index)
{
	const struct restore_set *rs = arg;

	for (size_t i = 0; i < rs->tree.nr; i++)
		if (rs->tasks[i].files && index-- == 0)
			return restore_take_fs_creds(rs->tasks[i].core,
						     rs->userns && rs->userns->fs_caps_off);
	return -EINVAL;
}

/* The file objects several processes share are opened by cryo, each under
 * the credentials of the first process that has it; cryo's own come back
 * after. They are made in cryo's namespaces, as restore makes no
 * namespaces yet; src/ns will pass its struct files_namespaces here. */
static int prepare_files(struct restore_set *rs)
{
	struct restore_fs_creds *saved = malloc(sizeof(*saved));
	struct files_namespaces clone_ns = { .devpts = NULL };
	char devpts[64];
	int ret, put_back;

	if (!saved)
		return -ENOMEM;
	/* A clone's ptys are made in its own devpts instance. */
	if (rs->devpts_fd >= 0) {
		ns_devpts_path(rs->devpts_fd, devpts, sizeof(devpts));
		clone_ns.devpts = devpts;
	}
	ret = restore_save_fs_creds(saved);
	if (ret) {
		free(saved);
		return ret;
	}
	ret = files_prepare(rs->files_imgs, rs->nr_files_imgs, rs->shell_job, rs->base,
			    clone_ns.devpts ? &clone_ns : NULL, &rs->files_env, as_task, rs,
			    &rs->files);
	put_back = restore_put_back_fs_creds(saved);
	free(saved);
	return ret ? ret : put_back;
}

/* Every process inherits cryo's fds: the file objects and those of the
 * restore go above every fd that any process restores. */
static int arrange_fds(struct restore_set *rs, int pipes[3][2])
{
	struct rlimit lim;
	int base = 3, ret = 0;

	/* Room for the restored fds and for cryo's own above them. */
	if (!getrlimit(RLIMIT_NOFILE, &lim) && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	for (size_t i = 0; i < rs->tree.nr; i++)
		if (rs->tasks[i].files && files_max_fd(rs->tasks[i].files) >= base)
			base = files_max_fd(rs->tasks[i].files) + 1;
	rs->base = base;
	if (rs->devpts_fd >= 0)
		ret = lift_fd(&rs->devpts_fd, base);
	if (!ret && ns_user_fd(rs->userns) >= 0)
		ret = lift_fd(&rs->userns->fd, base);
	/* A restored fd of the same number would put another file there. */
	if (!ret && rs->files_env.root_fd >= 0)
		ret = lift_fd(&rs->files_env.root_fd, base);
	for (size_t i = 0; !ret && i < rs->files_env.nr_pipes; i++)
		ret = lift_fd(&rs->files_env.pipes[i].fd, base);
	for (size_t i = 0; !ret && i < rs->files_env.nr_held_ptys; i++)
		ret = lift_fd(&rs->files_env.held_ptys[i].fd, base);
	if (!ret)
		ret = prepare_files(rs);
	for (int i = 0; i < 3 && !ret; i++)
		if (pipe2(pipes[i], O_CLOEXEC))
			ret = pr_errno_ret("restore: cannot make the pipes of the restore");
	for (int i = 0; i < 6 && !ret; i++)
		ret = lift_fd(&pipes[i / 2][i % 2], base);
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		for (uint32_t f = 0; rs->tasks[i].pages && f < rs->tasks[i].pages->nr_files && !ret;
		     f++)
			ret = lift_fd(&rs->tasks[i].pages->pages_fd[f], base);
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (rs->tasks[i].files)
			ret = files_lift_queues(rs->tasks[i].files, base);
	rs->report_fd = pipes[0][1];
	rs->gate_fd[0] = pipes[1][0];
	rs->gate_fd[1] = pipes[2][0];
	return ret;
}

/* --clone: cryo's part. The init it creates is released by a byte on a
 * pipe, above every fd a process restores. */
static int make_release_pipe(const struct restore_set *rs, int release[2])
{
	int ret = 0;

	if (pipe2(release, O_CLOEXEC))
		return pr_errno_ret("restore: --clone: cannot make the pipe of the init");
	for (int i = 0; i < 2 && !ret; i++)
		ret = lift_fd(&release[i], rs->base);
	if (!ret && files_prepared_any_late(rs->files)) {
		/* cryo would open them by the saved pids, which mean other
		 * processes outside the clone. */
		pr_err("restore: --clone: a pidfd of a live process that two processes share: "
		       "not supported with --clone yet");
		ret = -EOPNOTSUPP;
	}
	return ret;
}

/* In the child that becomes the root: the pipes' ends it does not use. */
static void __attribute__((noreturn)) restore_root(struct restore_set *rs, int pipes[3][2])
{
	for (int i = 0; i < 3; i++)
		close(pipes[i][i == 0 ? 0 : 1]);
	restore_child(rs, 0);
}

static pid_t create_clone_init(struct restore_set *rs, int pipes[3][2], const int release[2])
{
	pid_t child = clone_init_create();

	if (child == 0) {
		for (int i = 0; i < 3; i++)
			close(pipes[i][i == 0 ? 0 : 1]);
		clone_init_run(rs, release);
	}
	if (child < 0)
		pr_errno_ret("restore: --clone: cannot create the new pid and mount namespaces");
	return child;
}

/* Creates the root (or, with --clone, the init that creates it); returns
 * as fork() does, in cryo the pid it waits for. */
static pid_t create_root(struct restore_run *run, int pipes[3][2], const int release[2])
{
	struct restore_set *rs = run->rs;
	const struct cryo_opts *opts = run->opts;
	pid_t root = rs->tree.tasks[0].pid, child;
	bool ns_init = restore_root_is_pid_ns_init(rs);
	struct ns_own_back back;
	int saved_errno;

	/* clone3 takes no exit signal with CLONE_PARENT: the child gets cryo's.
	 * In a clone, the root's parent is the init, pid 1 inside; an init's
	 * parent is outside its namespace, which getppid() says as 0. */
	rs->root_parent = ns_init ? 0 : opts->clone ? 1 : opts->restore_sibling ? getppid() :
										  getpid();
	if (opts->clone && !ns_init)
		return create_clone_init(rs, pipes, release);
	/* The root is made in the UTS and time namespaces the tree had of its
	 * own (a clone's init makes them itself). */
	if (ns_own_make(&rs->own_ns, &back)) {
		ns_own_go_back(&back);
		errno = EINVAL;
		return -1;
	}
	if (ns_init)
		child = pid_ns_root_create(rs, opts->clone, opts->restore_sibling);
	else
		child = opts->restore_sibling ? family_clone(root, 0, CLONE_PARENT) :
						family_clone(root, SIGCHLD, 0);
	if (child == 0)
		restore_root(rs, pipes);
	saved_errno = errno;
	/* Back into cryo's own; failing that, only cryo's messages would
	 * carry the tree's host name. */
	if (ns_own_go_back(&back))
		pr_warn("restore: cryo stays in the namespaces it made for pid %d", root);
	errno = saved_errno;
	if (child < 0 && ns_init)
		pr_errno_ret("restore: cannot create pid 1 in a new pid namespace");
	else if (child < 0)
		pr_errno_ret("restore: cannot create pid %d%s", root,
			     errno == EEXIST ? " (taken, perhaps by a zombie not yet reaped)" : "");
	return child;
}


/* The restore succeeded: a clone's init goes on without cryo. It closes
 * its end of the pipe once it no longer dies with cryo, which cryo waits
 * for (POLLERR: no reader left), so that a cryo that exits at once (-d)
 * does not take the clone with it. */
#define RELEASE_MS 10000
static int release_init(struct restore_run *run)
{
	/* No events asked: poll() reports the write end only with POLLERR. */
	struct pollfd p[2] = {
		{ .fd = run->release_fd, .events = 0 },
		{ .fd = run->init_pidfd, .events = POLLIN },
	};
	char go = 'g';
	int n;

	if (!run->init)
		return 0;
	if (write(run->release_fd, &go, 1) != 1)
		return pr_errno_ret("restore: --clone: cannot release the init (pid %d)",
				    run->init);
	do
		n = poll(p, 2, RELEASE_MS);
	while (n < 0 && errno == EINTR);
	if (n > 0 && (p[0].revents & POLLERR) && !p[1].revents)
		return 0;
	pr_err("restore: --clone: the init (pid %d) %s", run->init,
	       n > 0 && p[1].revents ? "died as it was released" :
				      "did not take its release in time");
	return -ETIMEDOUT;
}

/* From this many processes, cryo's heap goes in huge pages before the
 * tree is forked (maps_now_grow_heap(), maps_now_collapse_heap()): the
 * collapse (5-9 ms for a 10 MiB heap) costs what 15-30 processes save
 * (0.33 ms each). */
#define COLLAPSE_MIN_PROCESSES 32

static int restore_tree(struct restore_set *rs, const struct cryo_opts *opts,
			struct stats *st, pid_t *wait_for)
{
	struct restore_run run = { .rs = rs, .opts = opts, .stats = st, .init_pidfd = -1,
				   .release_fd = -1, .epoll_fd = -1 };
	int pipes[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, ret;
	int release[2] = { -1, -1 };
	size_t nr = rs->tree.nr;
	pid_t root = rs->tree.tasks[0].pid, child;
	uint64_t began = stats_begin(st, STATS_RESTORE_PID_WAIT);
	bool ns_init = restore_root_is_pid_ns_init(rs);
	/* cryo adds an init only to a clone of a tree without its own. */
	bool extra_init = opts->clone && !ns_init;
	bool collapse = false;

	/* Its /proc is cryo's own: options it had are said to be lost. */
	if (!opts->clone && !ns_init)
		mnt_proc_warn_kept(rs->mnts);
	/* A new pid namespace: every pid is free in it. */
	ret = opts->clone || ns_init ? 0 : restore_wait_pids_free(&rs->tree, opts->pid_wait_ms);
	stats_end(st, STATS_RESTORE_PID_WAIT, began);
	/* Lets a test take a PID between this check and the creation. */
	if (!ret && getenv("CRYO_TEST_STOP_BEFORE_CREATE"))
		raise(SIGSTOP);
	began = stats_begin(st, STATS_RESTORE_FILES);
	rs->devpts_fd = -1;
	/* A clone gets a devpts instance of its own, unless the tree brings
	 * its own mounts (ns/mnt_restore.c) or is itself an init. */
	if (!ret && extra_init && !rs->mnts) {
		rs->devpts_fd = ns_devpts_make();
		ret = rs->devpts_fd < 0 ? rs->devpts_fd : 0;
	}
	/* The tree's own IPC namespace, if any, holds its segments too; its
	 * own network namespace, its sockets. */
	if (!ret)
		ret = net_ns_make(rs->net_ns, rs->userns, &rs->externals);
	/* Its connections are locked inside it, before any socket is made. */
	if (!ret && net_ns_own(rs->net_ns))
		ret = net_lock_enter_netns(rs->net);
	if (!ret)
		ret = ipc_ns_make(rs->ipc_ns, rs->userns);
	if (!ret)
		ret = sysv_shm_create(rs->sysv);
	if (!ret)
		ret = restore_cgroups_prepare(rs, opts->manage_cgroups, opts->cgroup_roots,
					      opts->nr_cgroup_roots, opts->cgroup_yard);
	/* In the cgroups made: every process is born in it. */
	if (!ret)
		ret = ns_cgroup_make(rs->cgroup_ns, rs->userns, opts->cgroup_yard);
	if (!ret)
		ret = ipc_ns_fill_next_ids(rs->ipc_ns);
	if (!ret)
		ret = arrange_fds(rs, pipes);
	if (!ret && extra_init)
		ret = make_release_pipe(rs, release);
	if (!ret && ns_init && files_prepared_any_late(rs->files)) {
		/* cryo would open them by the saved pids, which are not its own. */
		pr_err("restore: pid 1 (the init of its own pid namespace): a pidfd of a live "
		       "process that two processes share: not supported yet");
		ret = -EOPNOTSUPP;
	}
	if (!ret)
		ret = shared_table_setup(rs);
	stats_end(st, STATS_RESTORE_FILES, began);
	began = stats_begin(st, STATS_RESTORE_CREATING);
	run.report_fd = pipes[0][0];
	run.gate_fd[0] = pipes[1][1];
	run.gate_fd[1] = pipes[2][1];
	run.pidfds = malloc(nr * sizeof(*run.pidfds));
	run.may_exit = calloc(nr, sizeof(*run.may_exit));
	run.vdso = calloc(nr, sizeof(*run.vdso));
	run.uffd = malloc(nr * sizeof(*run.uffd));
	run.area = calloc(nr, sizeof(*run.area));
	run.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!ret && run.epoll_fd < 0)
		ret = pr_errno_ret("restore: epoll_create1");
	if (!ret && (!run.pidfds || !run.may_exit || !run.vdso || !run.uffd || !run.area))
		ret = -ENOMEM;
	for (size_t i = 0; run.pidfds && run.uffd && i < nr; i++)
		run.pidfds[i] = run.uffd[i] = -1;
	if (ret)
		goto out;
	/* The first process of a new pid namespace mounts its /proc in the
	 * tree's mount namespace, where the files were opened: cryo keeps its
	 * own /proc in a copy. */
	if (rs->mnts && (opts->clone || (ns_init && rs->tree.own_proc)) &&
	    mnt_keep_for_tree(rs->base, &rs->tree_mnt_fd)) {
		ret = -EIO;
		goto out;
	}
	/* A test makes the heap big enough for huge pages, whatever the tree. */
	collapse = getenv("CRYO_TEST_HUGE_HEAP") != NULL;
	if (nr >= COLLAPSE_MIN_PROCESSES || collapse)
		collapse = !maps_now_grow_heap(collapse ? 4UL << 20 : 0);
	/* Each process starts with cryo's mappings: read once for all. */
	ret = maps_now_read(&rs->maps_at_fork);
	if (ret) {
		pr_err("restore: cannot read cryo's own /proc/self/maps: %s", strerror(-ret));
		goto out;
	}
	if (collapse)
		maps_now_collapse_heap(&rs->maps_at_fork);
	child = create_root(&run, pipes, release);
	if (child < 0) {
		ret = -errno;
		goto out;
	}
	*wait_for = child;
	if (ns_init) {
		/* The others are found as each is watched (find_host_pid()). */
		for (size_t i = 1; i < nr; i++)
			rs->tasks[i].host_pid = 0;
		rs->tasks[0].host_pid = child;
		run.inside = true;
	} else if (opts->clone) {
		/* Found as each is watched (find_host_pid()). */
		for (size_t i = 0; i < nr; i++)
			rs->tasks[i].host_pid = 0;
		run.init = child;
		run.inside = true;
		run.release_fd = release[1];
		close(release[0]);
		release[0] = release[1] = -1;
		run.init_pidfd = (int)syscall(SYS_pidfd_open, child, 0);
		if (run.init_pidfd < 0)
			ret = pr_errno_ret("restore: --clone: the init (pid %d) vanished", child);
	}
	if (!ret)
		ret = finish_tree_setup(&run);
	/* Only the processes hold the write end now: EOF means all are gone. */
	close(pipes[0][1]);
	pipes[0][1] = -1;
	/* What is opened late stays until the processes have taken it. */
	files_prepared_close_early(rs->files);
	if (!ret && !extra_init)
		ret = watch(&run, 0);
	if (!ret)
		ret = run_stages(&run, began);
	if (!ret)
		ret = release_init(&run);
	if (ret) {
		/* A process blocked at a gate reads EOF and exits by itself. */
		for (int i = 1; i < 3; i++) {
			close(pipes[i][1]);
			pipes[i][1] = -1;
		}
		finish_tree_end(&run);
		/* Killing a clone's init ends every process of its namespace. */
		kill_all(&run, child);
		goto out;
	}
	root = rs->tasks[0].host_pid;
	if (ns_init)
		pr_info("restore: pid 1 restored as the init of a new pid namespace (pid %d), "
			"with %zu more processes", root, nr - 1);
	else if (opts->clone)
		pr_info("restore: pid %d restored as pid %d in a new pid namespace (its init: "
			"pid %d), with %zu more processes", rs->tree.tasks[0].pid, root, child,
			nr - 1);
	else
		pr_info("restore: pid %d restored, with %zu more processes", root, nr - 1);
	if (opts->pidfile && write_pidfile(opts->pidfile, root) && !opts->restore_detached)
		pr_warn("restore: pid %d runs on without its pid file", root);
	if (cryo_notify(opts, "post-resume", root))
		pr_warn("restore: pid %d runs on, though post-resume failed", root);
out:
	/* Segments this failed restore made go too, and its cgroups. */
	if (ret)
		sysv_shm_remove_created(rs->sysv);
	restore_cgroups_end(rs, ret != 0);
	/* Every process is born: cryo's own namespaces again. */
	ipc_ns_leave(rs->ipc_ns);
	net_ns_leave(rs->net_ns);
	ns_cgroup_leave(rs->cgroup_ns);
	files_prepared_close(rs->files);
	rs->files = NULL;
	for (size_t i = 0; run.pidfds && i < nr; i++)
		if (run.pidfds[i] >= 0)
			close(run.pidfds[i]);
	for (int i = 0; i < 6; i++)
		if (pipes[i / 2][i % 2] >= 0)
			close(pipes[i / 2][i % 2]);
	for (int i = 0; i < 2; i++)
		if (release[i] >= 0)
			close(release[i]);
	if (run.release_fd >= 0)
		close(run.release_fd);
	if (run.init_pidfd >= 0)
		close(run.init_pidfd);
	if (run.epoll_fd >= 0)
		close(run.epoll_fd);
	if (rs->devpts_fd >= 0)
		close(rs->devpts_fd);
	rs->devpts_fd = -1;
	shared_table_teardown(rs);
	finish_tree_end(&run);
	free(run.pidfds);
	free(run.may_exit);
	free(run.vdso);
	free(run.uffd);
	free(run.area);
	maps_now_free(&rs->maps_at_fork);
	return ret;
}

/* For the progress line: the bytes of every pages file (none when a
 * page server brings them in later). */
static uint64_t bytes_to_restore(const struct restore_set *rs)
{
	uint64_t bytes = 0;

	for (size_t i = 0; !rs->lazy_pages && i < rs->tree.nr; i++)
		if (rs->tasks[i].pages)
			bytes += restore_pages_bytes(rs->tasks[i].pages);
	return bytes;
}

/* criu's ext_mnt (key -> folder) and inherit_fd of a runtime, and checks: a root of
 * its own, or mounts below /proc, need the tree's pid namespace init,
 * which mounts that /proc and moves into the root (pid_ns_root.c). */
static int restore_runtime_opts(struct restore_set *rs, const struct cryo_opts *opts)
{
	char spec[2 * PATH_MAX];
	int ret = 0;

	rs->externals = opts->externals;
	rs->externals_own_from = rs->externals.nr_mnt;
	rs->externals.veth_free_names = opts->clone;
	for (int i = 0; !ret && i < opts->nr_ext_mnt; i++) {
		snprintf(spec, sizeof(spec), "mnt[%s]:%s", opts->ext_mnt[i].key,
			 opts->ext_mnt[i].val);
		ret = ns_external_add(&rs->externals, spec);
	}
	if (!ret && opts->nr_inherit_fd) {
		rs->files_env.pipes = calloc((size_t)opts->nr_inherit_fd,
					     sizeof(*rs->files_env.pipes));
		ret = rs->files_env.pipes ? 0 : -ENOMEM;
	}
	for (int i = 0; !ret && i < opts->nr_inherit_fd; i++) {
		unsigned long long ino = 0;

		/* Other keys name namespaces (runc's extRootNetNS). */
		if (strncmp(opts->inherit_fd[i].key, "pipe:[", 6)) {
			ret = ns_external_fd_add(&rs->externals, opts->inherit_fd[i].key,
						 opts->inherit_fd[i].fd);
			continue;
		}
		sscanf(opts->inherit_fd[i].key, "pipe:[%llu]", &ino);
		rs->files_env.pipes[rs->files_env.nr_pipes++] =
			(struct files_inherited_pipe){ .ino = ino, .fd = opts->inherit_fd[i].fd };
	}
	/* LSM labels: the caller's for every task, else each task's saved one. */
	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		const TaskCore *core = rs->tasks[i].core;
		const char *label = opts->lsm_profile ? opts->lsm_profile :
				    core && core->creds ? core->creds->lsm_profile : NULL;

		if (rs->tree.tasks[i].state == TREE_ALIVE && label && *label)
			ret = lsm_label_check_settable(rs->tasks[i].pid, label, opts->lsm_profile);
	}
	/* Namespaces joined (--join-ns): cryo enters them, and the tree is
	 * born there; the network one is net_ns_make()'s. */
	if (!ret)
		ret = ns_join_enter(&rs->externals, "uts", CLONE_NEWUTS);
	if (ret > 0)
		rs->own_ns.uts = false;
	if (ret >= 0)
		ret = ns_join_enter(&rs->externals, "ipc", CLONE_NEWIPC);
	if (ret > 0)
		ipc_ns_forget(rs->ipc_ns);
	ret = ret > 0 ? 0 : ret;
	rs->files_env.pts_master = opts->pts_master;
	rs->files_env.pts_master_arg = opts->notify_arg;
	if (opts->empty_ns & CLONE_NEWNET)
		net_ns_make_empty(rs->net_ns);
	if (!ret && mnt_has_below_proc(rs->mnts) && !restore_root_is_pid_ns_init(rs)) {
		pr_err("restore: the tree has mounts below its /proc, which only the init of "
		       "its own pid namespace can make again");
		ret = -EOPNOTSUPP;
	}
	return ret;
}

/* criu's --exec-cmd: cryo becomes the command, which so is the parent of
 * @child (the root, or a clone's init) and reaps it. Returns only on
 * failure. */
static int exec_parent(const struct cryo_opts *opts, pid_t child)
{
	pr_info("restore: pid %d: running %s as its parent (--exec-cmd)", child, opts->args[0]);
	log_close();
	execvp(opts->args[0], opts->args);
	/* As criu: the tree runs on, adopted by the nearest reaper. */
	fprintf(stderr, "cryo: restore: --exec-cmd %s: %s; pid %d runs on without it\n",
		opts->args[0], strerror(errno), child);
	return 1;
}

int cmd_restore(const struct cryo_opts *opts)
{
	struct image_dir *dir = NULL;
	struct net_run net = { .tcp_close = opts->tcp_close };
	struct restore_set rs;
	struct sign_key key;
	uid_t owner = 0;
	struct stats st;
	uint64_t began;
	pid_t wait_for = 0;
	int ret;

	if (!opts->images_dir) {
		pr_err("restore: -D DIR is required (cryo restore -D DIR)");
		return 1;
	}
	if (opts->clone && (opts->lazy_pages || opts->restore_sibling)) {
		pr_err("restore: --clone with %s: not supported yet",
		       opts->lazy_pages ? "--lazy-pages" : "the root made cryo's sibling (RPC)");
		return 1;
	}
	inj_set_log(inject_log);
	if (cryo_notify(opts, "pre-restore", 0))
		return 1;
	stats_init(&st, STATS_RESTORE);
	progress_start(&st, opts->quiet);
	began = stats_begin(&st, STATS_RESTORE_READING);
	if (opts->sign_key && sign_key_load(opts->sign_key, &key)) {
		progress_stop(&st);
		return 1;
	}
	ret = image_dir_open(opts->images_dir, &dir);
	if (!ret)
		ret = restore_check_image_dir(dir, &owner);
	/* criu's --cpu-cap, fpu unless given. */
	if (!ret)
		ret = cpuinfo_check_dir(dir, opts->cpu_cap_given ? opts->cpu_cap : CPU_CAP_FPU,
					opts->cpu_cap_given, "restore");
	if (!ret && opts->lazy_pages)
		ret = lazy_check_available();
	/* Connections the dump locked are locked again from here on. */
	if (!ret)
		ret = net_lock_begin(&net, opts->network_lock);
	if (!ret)
		ret = restore_load(dir, opts->sign_key ? &key : NULL, opts->shell_job,
				   !opts->lazy_pages, &net, &rs);
	if (dir)
		image_dir_close(dir);
	sign_key_forget(&key);
	stats_end(&st, STATS_RESTORE_READING, began);
	if (ret) {
		progress_stop(&st);
		net_lock_end(&net, true);
		return 1;
	}
	/* The kernel lets only CAP_SYS_PTRACE of the initial user namespace
	 * follow forks with a userfaultfd (UFFD_FEATURE_EVENT_FORK). */
	if (opts->lazy_pages && ns_user_born_inside(rs.userns)) {
		pr_err("restore: --lazy-pages: the tree's pid namespace belongs to its user "
		       "namespace, where its processes are born and cannot follow their forks "
		       "with a userfaultfd: not supported");
		ret = -EOPNOTSUPP;
	}
	if (ret || restore_check_creds(&rs, owner) || restore_check_huge_pages(&rs) ||
	    restore_check_anon_names(&rs)) {
		restore_unload(&rs);
		net_lock_end(&net, true);
		progress_stop(&st);
		return 1;
	}
	rs.lazy_pages = opts->lazy_pages;
	rs.leave_stopped = opts->leave_stopped;
	restore_pick_filler(&rs);
	/* The tree's user namespace first: the others it owns are made inside
	 * it. The tree's processes are born in its mount namespace, and its
	 * files opened there. */
	rs.own_ns.userns = rs.userns;
	if (restore_runtime_opts(&rs, opts) || ns_user_make(rs.userns, 3) ||
	    mnt_restore(rs.mnts, opts->root, rs.userns, &rs.externals) ||
	    (!rs.mnts && ns_user_copy_mounts(rs.userns)) ||
	    files_env_set_root(&rs.files_env, mnt_root(rs.mnts))) {
		restore_unload(&rs);
		net_lock_end(&net, true);
		progress_stop(&st);
		return 1;
	}
	rs.files_env.held_ptys = mnt_held_ptys(rs.mnts, &rs.files_env.nr_held_ptys);
	st.tasks_all = count_alive(&rs.tree);
	st.bytes_total = bytes_to_restore(&rs);
	/* Orphans of a failed restore come back to cryo to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ret = restore_tree(&rs, opts, &st, &wait_for);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	restore_unload(&rs);
	/* A failed restore keeps the dump's lock for the next attempt. */
	net_lock_end(&net, ret != 0);
	progress_stop(&st);
	if (ret)
		return 1;
	/* The tree runs: statistics are no reason to fail it now. */
	stats_report(&st, opts->display_stats, opts->stats_file);
	if (opts->criu_stats)
		stats_write_criu(&st, opts->criu_stats_fd);
	status_ready(opts->status_fd);
	if (opts->restore_detached)
		return 0;
	if (opts->exec_cmd)
		return exec_parent(opts, wait_for);
	/* A clone's init exits as the root did. */
	return wait_exit_status(wait_for);
}
