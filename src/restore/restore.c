/* `cryo restore`: validate every image, create the tree from its root down
 * with the saved PIDs (clone3 with set_tid), lead every process through
 * the stages of child.c together, then give each its registers and let
 * them all run. cryo watches every process through a pidfd: one that dies
 * or reports a failure ends them all. Without -d cryo stays the root's
 * parent, waits for it and exits with its status, as criu does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ns/mnt.h"
#include "cli/commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "files/files.h"
#include "inject/inject.h"
#include "ipc/sysv_shm.h"
#include "kabi/kabi.h"
#include "lazy/lazy.h"
#include "net/net.h"
#include "ns/ipc.h"
#include "ns/net.h"
#include "ns/ns.h"
#include "restore/family.h"
#include "restore/restore.h"
#include "restorer/args.h"
#include "stats/stats.h"

static const char *const step_names[] = {
	[RESTORER_STEP_DONE] = "done",
	[RESTORER_STEP_UNMAP] = "unmapping cryo",
	[RESTORER_STEP_MAP] = "mapping",
	[RESTORER_STEP_FILL] = "filling pages of",
	[RESTORER_STEP_PROTECT] = "protecting",
	[RESTORER_STEP_MADVISE] = "advising",
	[RESTORER_STEP_MM_MAP] = "setting the mm fields (PR_SET_MM_MAP)",
	[RESTORER_STEP_VDSO] = "mapping the vDSO at",
	[RESTORER_STEP_SIGNALS] = "queueing signal",
	[RESTORER_STEP_RSEQ] = "registering rseq at",
	[RESTORER_STEP_CREDS] = "setting credentials",
	[RESTORER_STEP_CLONE] = "creating the thread (a tid already taken fails with EEXIST)",
	[RESTORER_STEP_ALTSTACK] = "setting the sigaltstack at",
	[RESTORER_STEP_ROBUST_LIST] = "setting the robust futex list at",
	[RESTORER_STEP_NAME] = "setting the thread's name",
	[RESTORER_STEP_WAIT] = "waiting for the thread to set itself up",
	[RESTORER_STEP_UFFD] = "registering lazy memory with a userfaultfd at",
	[RESTORER_STEP_SHMAT] = "attaching the SysV segment at",
	[RESTORER_STEP_GUARD] = "installing a guard region (MADV_GUARD_INSTALL, 6.13) at",
	[RESTORER_STEP_MLOCK] = "locking (mlock2) the mapping at",
	[RESTORER_STEP_PAGES_DIGEST] = "checking the pages file's digest",
};

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

/* Everything the run of one restore holds in cryo. */
struct restore_run {
	struct restore_set *rs;
	int report_fd;		/* read end */
	int gate_fd[2];		/* write ends */
	int *pidfds;		/* per process; -1 until it is known to exist */
	bool *may_exit;		/* zombies and helpers, once let go */
	uint64_t *vdso;		/* where each restorer put the vDSO */
	int *uffd;		/* each restorer's userfaultfd (lazy), -1: none */
	pid_t lazy_server;	/* the page server of a lazy restore, 0: none */
	/* --clone: the init of the new pid namespace (clone.c), cryo's child,
	 * its pidfd, and the write end of the pipe that releases it. */
	pid_t init;
	int init_pidfd;
	int release_fd;
	/* The processes' saved pids are those of a new pid namespace (a
	 * clone, or a root that was the init of its own). */
	bool inside;
	const struct cryo_opts *opts;
	struct pollfd *polls;
	struct stats *stats;
};

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
			return restore_take_fs_creds(rs->tasks[i].core);
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
			    clone_ns.devpts ? &clone_ns : NULL, as_task, rs, &rs->files);
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
	if (!ret)
		ret = prepare_files(rs);
	for (int i = 0; i < 3 && !ret; i++)
		if (pipe2(pipes[i], O_CLOEXEC))
			ret = pr_errno_ret("restore: cannot make the pipes of the restore");
	for (int i = 0; i < 6 && !ret; i++)
		ret = lift_fd(&pipes[i / 2][i % 2], base);
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (rs->tasks[i].pages)
			ret = lift_fd(&rs->tasks[i].pages->pages_fd, base);
	rs->report_fd = pipes[0][1];
	rs->gate_fd[0] = pipes[1][0];
	rs->gate_fd[1] = pipes[2][0];
	return ret;
}

/* The pid cryo sees of process @index, once it exists: its saved one, but
 * in a clone, where it is found among its parent's children by the pid it
 * has inside (its parent first, when not found yet: a process may report
 * its children before its own parent reported it). */
static int find_host_pid(struct restore_run *run, size_t index)
{
	struct restore_set *rs = run->rs;
	const struct tree_task *t = &rs->tree.tasks[index];
	pid_t parent;
	int ret;

	if (!run->inside) {
		rs->tasks[index].host_pid = t->pid;
		return 0;
	}
	if (rs->tasks[index].host_pid)
		return 0;
	if (t->parent >= 0 && !rs->tasks[t->parent].host_pid) {
		ret = find_host_pid(run, (size_t)t->parent);
		if (ret)
			return ret;
	}
	parent = t->parent < 0 ? run->init : rs->tasks[t->parent].host_pid;
	ret = ns_find_child(parent, t->pid, &rs->tasks[index].host_pid);
	if (ret)
		pr_err("restore: pid %d: not found in the new pid namespace among the children "
		       "of pid %d (as cryo sees it): %s", t->pid, parent, strerror(-ret));
	return ret;
}

static int watch(struct restore_run *run, size_t index)
{
	pid_t pid = run->rs->tree.tasks[index].pid;
	int ret = find_host_pid(run, index);

	if (ret)
		return ret;
	run->pidfds[index] = (int)syscall(SYS_pidfd_open, run->rs->tasks[index].host_pid, 0);
	if (run->pidfds[index] < 0) {
		run->pidfds[index] = -1;
		return pr_errno_ret("restore: pid %d vanished as it was created", pid);
	}
	return 0;
}

/* Once a process reports its children created, they are watched too. */
static int watch_children(struct restore_run *run, size_t index)
{
	const struct tree *tree = &run->rs->tree;
	int ret = 0;

	for (size_t i = index + 1; !ret && i < tree->nr; i++)
		if (tree->tasks[i].parent == (int)index)
			ret = watch(run, i);
	return ret;
}

static int report_failure(const struct restore_run *run, const struct restorer_report *r)
{
	int index = tree_find(&run->rs->tree, r->pid);

	if (r->step == RESTORER_STEP_PAGES_DIGEST && index >= 0 && run->rs->tasks[index].pages) {
		pr_err("restore: pid %d: %s: its digest differs from the inventory's: changed "
		       "since the dump, or from another dump (found as its pages were read; "
		       "nothing of the tree ran)", r->pid, run->rs->tasks[index].pages->pages_path);
		return -EBADMSG;
	}
	if (r->step < 0) {
		/* A message from the process's own code names it already. */
		if (!strncmp(r->message, "restore: ", 9))
			pr_err("%s", r->message);
		else
			pr_err("restore: pid %d: %s", r->pid,
			       r->message[0] ? r->message : strerror(-r->err));
	} else {
		size_t step = (size_t)r->step;
		char who[48], addr[24] = "";

		if (r->tid)
			snprintf(who, sizeof(who), "pid %d thread %d", r->pid, r->tid);
		else
			snprintf(who, sizeof(who), "pid %d", r->pid);
		if (r->addr)
			snprintf(addr, sizeof(addr), " %#llx", (unsigned long long)r->addr);
		pr_err("restore: %s: restorer failed %s%s: %s", who,
		       step < sizeof(step_names) / sizeof(step_names[0]) && step_names[step] ?
			       step_names[step] : "at an unknown step",
		       addr, strerror(-r->err));
	}
	return r->err ? r->err : -EIO;
}

/* Takes one report in; fails on an error report or a report that makes
 * no sense at this stage. */
static int take_report(struct restore_run *run, int stage, size_t *count)
{
	struct restorer_report r;
	ssize_t n = read(run->report_fd, &r, sizeof(r));
	int index;

	if (n < 0 && errno == EINTR)
		return 0;
	if (n != sizeof(r)) {
		pr_err("restore: a process broke the report pipe");
		return -EPIPE;
	}
	if (r.err)
		return report_failure(run, &r);
	index = tree_find(&run->rs->tree, r.pid);
	if (index < 0 || r.stage != stage) {
		pr_err("restore: a report of stage %d from pid %d, at stage %d", r.stage, r.pid,
		       stage);
		return -EPROTO;
	}
	(*count)++;
	/* A clone's root is watched once it exists: its init creates it. */
	if (stage == RESTORE_STAGE_CREATED && index == 0 && run->pidfds[0] < 0 && watch(run, 0))
		return -ESRCH;
	if (stage == RESTORE_STAGE_CREATED)
		return watch_children(run, (size_t)index);
	if (stage == RESTORE_STAGE_DONE) {
		const struct pages_reader *pages = run->rs->tasks[index].pages;
		struct stat st;

		run->vdso[index] = r.addr;
		run->uffd[index] = r.uffd;
		/* Its restorer has filled its memory from its pages file. */
		stats_task_done(run->stats, pages && !run->rs->lazy_pages &&
					    !fstat(pages->pages_fd, &st) ? (uint64_t)st.st_size : 0);
	}
	return 0;
}

/* Waits until @expected processes reported @stage; any death that is not
 * expected fails the restore. */
static int wait_stage(struct restore_run *run, int stage, size_t expected)
{
	const struct tree *tree = &run->rs->tree;
	size_t count = 0;

	while (count < expected) {
		nfds_t n = 1;
		int ret;

		run->polls[0] = (struct pollfd){ .fd = run->report_fd, .events = POLLIN };
		if (run->init_pidfd >= 0)
			run->polls[n++] = (struct pollfd){ .fd = run->init_pidfd, .events = POLLIN };
		for (size_t i = 0; i < tree->nr; i++)
			if (run->pidfds[i] >= 0 && !run->may_exit[i])
				run->polls[n++] = (struct pollfd){ .fd = run->pidfds[i],
								   .events = POLLIN };
		/* With a progress line, it is redrawn as time passes. */
		ret = poll(run->polls, n, run->stats->progress ? 100 : -1);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return pr_errno_ret("restore: poll");
		}
		if (!ret) {
			progress_draw(run->stats, false);
			continue;
		}
		/* A failing process reports before it exits: read reports first. */
		if (run->polls[0].revents) {
			ret = take_report(run, stage, &count);
			if (ret)
				return ret;
			continue;
		}
		for (nfds_t j = 1; j < n; j++) {
			if (!run->polls[j].revents)
				continue;
			if (run->polls[j].fd == run->init_pidfd)
				pr_err("restore: --clone: the init of the new pid namespace (pid %d) "
				       "died during the restore", run->init);
			for (size_t i = 0; i < tree->nr; i++)
				if (run->pidfds[i] == run->polls[j].fd)
					pr_err("restore: pid %d died during the restore",
					       tree->tasks[i].pid);
			return -ECHILD;
		}
	}
	return 0;
}

/* Lets every process that waits past @gate on to its next stage. */
static int let_on(struct restore_run *run, int gate, size_t nr)
{
	char bytes[512];

	memset(bytes, 'g', sizeof(bytes));
	while (nr) {
		size_t chunk = nr < sizeof(bytes) ? nr : sizeof(bytes);
		ssize_t n = write(run->gate_fd[gate], bytes, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pr_errno_ret("restore: cannot let the processes on");
		nr -= (size_t)n;
	}
	return 0;
}

static size_t count_alive(const struct tree *tree)
{
	size_t n = 0;

	for (size_t i = 0; i < tree->nr; i++)
		n += tree->tasks[i].state == TREE_ALIVE;
	return n;
}

/* cryo seizes every process and sets its registers; all are released
 * together at the end, so none runs before every other is whole. */
static int finish_all(struct restore_run *run)
{
	struct restore_set *rs = run->rs;
	struct inj_task **seized = calloc(rs->tree.nr + 1, sizeof(*seized));
	int ret = seized ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		int pipe_fds[2] = { shared_table_report_fd(rs, i), rs->gate_fd[1] };

		if (rs->tree.tasks[i].state == TREE_ALIVE)
			ret = restore_finish(&rs->tasks[i], run->vdso[i], run->uffd[i], rs->locks, pipe_fds,
					     &seized[i]);
	}
	if (!ret)
		ret = restore_stops(rs, seized);
	/* Children first: a parent that runs finds a stopped child stopped. */
	for (size_t i = rs->tree.nr; seized && i-- > 0;)
		if (seized[i] && inj_release(seized[i]) && !ret)
			ret = -EIO;
	free(seized);
	return ret;
}

/* Sends SIGKILL to every child of cryo, reparented ones included (cryo is
 * a subreaper for the restore). A child stays
 * ours until cryo reaps it, so its pid cannot be reused meanwhile. */
static void kill_children(void)
{
	char path[300], list[4096];
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *de;

	while (tasks && (de = readdir(tasks))) {
		_cleanup_close_ int fd = -1;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, list, sizeof(list) - 1) : -1;
		if (n <= 0)
			continue;
		list[n] = '\0';
		for (char *at = list, *end;; at = end) {
			long pid = strtol(at, &end, 10);

			if (end == at)
				break;
			kill((pid_t)pid, SIGKILL);
		}
	}
	if (tasks)
		closedir(tasks);
}

/* Nothing half-restored may stay behind: every process is killed, known
 * or not (one whose parent died before it could set its parent-death
 * signal comes back to cryo), and reaped. No wait blocks: the kills are
 * repeated for orphans that come back meanwhile, up to KILL_ALL_MS. */
#define KILL_ALL_MS 10000
static void kill_all(struct restore_run *run, pid_t root)
{
	struct timespec nap = { 0, 1000000 };

	for (size_t i = 0; i < run->rs->tree.nr; i++)
		if (run->pidfds[i] >= 0)
			syscall(SYS_pidfd_send_signal, run->pidfds[i], SIGKILL, NULL, 0);
	kill(root, SIGKILL);
	if (run->lazy_server > 0)
		kill(run->lazy_server, SIGKILL);
	for (long waited = 0;;) {
		pid_t got = waitpid(-1, NULL, __WALL | WNOHANG);

		if (got > 0 || (got < 0 && errno == EINTR))
			continue;
		if (got < 0)
			return;
		kill_children();
		if (waited++ >= KILL_ALL_MS) {
			pr_err("restore: processes of the failed restore did not die within %d s",
			       KILL_ALL_MS / 1000);
			return;
		}
		nanosleep(&nap, NULL);
	}
}

/* Hands every restorer's userfaultfd to a page server before any process
 * runs. */
static int start_page_server(struct restore_run *run)
{
	struct restore_set *rs = run->rs;
	struct lazy_task *tasks = calloc(rs->tree.nr + 1, sizeof(*tasks));
	char *log = log_path(run->opts);
	size_t n = 0;
	int ret;

	if (!tasks) {
		free(log);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rs->tree.nr; i++) {
		if (run->uffd[i] < 0 || rs->tree.tasks[i].state != TREE_ALIVE)
			continue;
		tasks[n++] = (struct lazy_task){
			.pid = rs->tasks[i].pid,
			.pidfd = run->pidfds[i],
			.remote_uffd = run->uffd[i],
			.mm = rs->tasks[i].mm,
			.core = rs->tasks[i].core,
			.pagemap = rs->tasks[i].pages->pagemap,
			.pages_fd = rs->tasks[i].pages->pages_fd,
		};
	}
	ret = n ? lazy_server_start(tasks, n, log, log_get_level(), &run->lazy_server) : 0;
	free(tasks);
	free(log);
	return ret;
}

static int run_stages(struct restore_run *run, uint64_t began)
{
	const struct tree *tree = &run->rs->tree;
	struct stats *st = run->stats;
	int ret;

	ret = wait_stage(run, RESTORE_STAGE_CREATED, tree->nr);
	stats_end(st, STATS_RESTORE_CREATING, began);
	began = stats_begin(st, STATS_RESTORE_FILES);
	if (!ret)
		ret = files_prepare_late(run->rs->files, run->rs->files_imgs,
					 run->rs->nr_files_imgs);
	if (!ret)
		ret = cryo_notify(run->opts, "setup-namespaces", tree->tasks[0].pid) ? -ECANCELED : 0;
	if (!ret)
		ret = let_on(run, 0, tree->nr);
	if (!ret)
		ret = wait_stage(run, RESTORE_STAGE_PREPARED, tree->nr);
	stats_end(st, STATS_RESTORE_FILES, began);
	began = stats_begin(st, STATS_RESTORE_MEMORY);
	for (size_t i = 0; !ret && i < tree->nr; i++)
		run->may_exit[i] = tree->tasks[i].state != TREE_ALIVE;
	if (!ret)
		ret = let_on(run, 1, tree->nr);
	if (!ret)
		ret = wait_stage(run, RESTORE_STAGE_DONE, count_alive(tree));
	stats_end(st, STATS_RESTORE_MEMORY, began);
	began = stats_begin(st, STATS_RESTORE_RESTORER);
	/* Every restorer has attached its segments. */
	if (!ret)
		ret = sysv_shm_finish(run->rs->sysv);
	if (!ret && run->rs->lazy_pages)
		ret = start_page_server(run);
	/* Every process is restored and none runs yet, as criu's post-restore. */
	if (!ret)
		ret = cryo_notify(run->opts, "post-restore", tree->tasks[0].pid) ? -ECANCELED : 0;
	if (!ret) {
		net_lock_end(false);
		ret = cryo_notify(run->opts, "network-unlock", tree->tasks[0].pid) ? -ECANCELED : 0;
	}
	if (!ret)
		ret = finish_all(run);
	stats_end(st, STATS_RESTORE_RESTORER, began);
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
		child = pid_ns_root_create(rs, opts->clone);
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

static int restore_tree(struct restore_set *rs, const struct cryo_opts *opts,
			struct stats *st, pid_t *wait_for)
{
	struct restore_run run = { .rs = rs, .opts = opts, .stats = st, .init_pidfd = -1,
				   .release_fd = -1 };
	int pipes[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, ret;
	int release[2] = { -1, -1 };
	size_t nr = rs->tree.nr;
	pid_t root = rs->tree.tasks[0].pid, child;
	uint64_t began = stats_begin(st, STATS_RESTORE_PID_WAIT);
	bool ns_init = restore_root_is_pid_ns_init(rs);
	/* cryo adds an init only to a clone of a tree without its own. */
	bool extra_init = opts->clone && !ns_init;

	if (ns_init && (opts->lazy_pages || opts->restore_sibling)) {
		pr_err("restore: pid 1 (the init of its own pid namespace) with %s: not supported "
		       "yet", opts->lazy_pages ? "--lazy-pages" : "the root made cryo's sibling "
		       "(RPC)");
		return -EOPNOTSUPP;
	}
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
		ret = net_ns_make(rs->net_ns);
	if (!ret)
		ret = ipc_ns_make(rs->ipc_ns);
	if (!ret)
		ret = sysv_shm_create(rs->sysv);
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
	run.polls = calloc(nr + 2, sizeof(*run.polls));
	if (!ret && (!run.pidfds || !run.may_exit || !run.vdso || !run.uffd || !run.polls))
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
	/* Segments this failed restore made go too. */
	if (ret)
		sysv_shm_remove_created(rs->sysv);
	/* Every process is born: cryo's own namespaces again. */
	ipc_ns_leave(rs->ipc_ns);
	net_ns_leave(rs->net_ns);
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
	if (rs->devpts_fd >= 0)
		close(rs->devpts_fd);
	rs->devpts_fd = -1;
	shared_table_teardown(rs);
	free(run.pidfds);
	free(run.may_exit);
	free(run.vdso);
	free(run.uffd);
	free(run.polls);
	return ret;
}

/* For the progress line: the bytes of every pages file (none when a
 * page server brings them in later). */
static uint64_t bytes_to_restore(const struct restore_set *rs)
{
	uint64_t bytes = 0;
	struct stat st;

	for (size_t i = 0; !rs->lazy_pages && i < rs->tree.nr; i++)
		if (rs->tasks[i].pages && !fstat(rs->tasks[i].pages->pages_fd, &st))
			bytes += (uint64_t)st.st_size;
	return bytes;
}

/* --display-stats and --stats-file, once the tree is restored. */
static int report_stats(struct stats *st, const struct cryo_opts *opts)
{
	int ret = 0;

	stats_finish(st);
	if (opts->display_stats)
		ret = stats_print(st, stdout);
	if (opts->stats_file && stats_write_json(st, opts->stats_file) && !ret)
		ret = -EIO;
	return ret;
}

int cmd_restore(const struct cryo_opts *opts)
{
	struct image_dir *dir = NULL;
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
	if (!ret && opts->lazy_pages)
		ret = lazy_check_available();
	/* Connections the dump locked are locked again from here on. */
	net_lock_begin(opts->network_lock_skip ? NET_LOCK_SKIP : NET_LOCK_NFTABLES);
	net_tcp_close_begin(opts->tcp_close);
	if (!ret)
		ret = restore_load(dir, opts->sign_key ? &key : NULL, opts->shell_job,
				   !opts->lazy_pages, &rs);
	if (dir)
		image_dir_close(dir);
	sign_key_forget(&key);
	stats_end(&st, STATS_RESTORE_READING, began);
	if (ret) {
		progress_stop(&st);
		net_lock_end(true);
		return 1;
	}
	if (restore_check_creds(&rs, owner)) {
		restore_unload(&rs);
		net_lock_end(true);
		progress_stop(&st);
		return 1;
	}
	rs.lazy_pages = opts->lazy_pages;
	/* The tree's processes are born in it, and its files opened there. */
	if (mnt_restore(rs.mnts)) {
		restore_unload(&rs);
		net_lock_end(true);
		progress_stop(&st);
		return 1;
	}
	st.tasks_all = count_alive(&rs.tree);
	st.bytes_total = bytes_to_restore(&rs);
	/* Orphans of a failed restore come back to cryo to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ret = restore_tree(&rs, opts, &st, &wait_for);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	restore_unload(&rs);
	/* A failed restore keeps the dump's lock for the next attempt. */
	net_lock_end(ret != 0);
	progress_stop(&st);
	if (ret)
		return 1;
	/* The tree runs: statistics are no reason to fail it now. */
	report_stats(&st, opts);
	if (opts->restore_detached)
		return 0;
	/* A clone's init exits as the root did. */
	return wait_exit_status(wait_for);
}
