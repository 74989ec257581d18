/* The stages of a restore as cryo leads them: it waits for every
 * process's report of a stage, lets them all past it together, watches
 * each through a pidfd, and on any failure kills every process it made,
 * known or reparented. The creation of the tree is restore.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "files/files.h"
#include "inject/inject.h"
#include "ipc/sysv_shm.h"
#include "kabi/kabi.h"
#include "lazy/lazy.h"
#include "net/net.h"
#include "ns/ns.h"
#include "restore/run.h"
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
	[RESTORER_STEP_CHROOT] = "entering its root (chroot)",
	[RESTORER_STEP_USERNS] = "entering its user namespace",
	[RESTORER_STEP_PAGES_DIGEST] = "checking the pages file's digest",
	[RESTORER_STEP_MLOCKALL] = "locking its future mappings (mlockall MCL_FUTURE)",
	[RESTORER_STEP_NO_NEW_PRIVS] = "setting its no_new_privs",
	[RESTORER_STEP_THREAD_FS] = "entering its own root and cwd (unshare(CLONE_FS), chroot)",
	[RESTORER_STEP_AIO] = "making the AIO context again (io_setup, the ring moved into place) at",
	[RESTORER_STEP_ANON_NAME] = "naming (PR_SET_VMA_ANON_NAME) the anonymous mapping at",
};

/* The pid cryo sees of process @index, once it exists: its saved one, but
 * in a clone, where it is found among its parent's children by the pid it
 * has inside (its parent first, when not found yet: a process may report
 * its children before its own parent reported it). */
int find_host_pid(struct restore_run *run, size_t index)
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

/* Adds @fd to what wait_stage() waits on, or takes it out. */
static int epoll_watch(struct restore_run *run, int op, int fd, uint64_t key)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = key };

	if (epoll_ctl(run->epoll_fd, op, fd, &ev))
		return pr_errno_ret("restore: epoll_ctl of fd %d", fd);
	return 0;
}

int watch(struct restore_run *run, size_t index)
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
	return epoll_watch(run, EPOLL_CTL_ADD, run->pidfds[index], EPOLL_KEY_TASK + index);
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

/* A message of a process's own code, naming the process once: its code may
 * have said "restore: ", "pid N: ", both or neither (a mapping's path), and
 * "pid N" with more of its own ("pid N fd 3 (...): ") stays as it is. */
static void print_child_failure(const struct restorer_report *r)
{
	const char *rest = r->message[0] ? r->message : strerror(-r->err);
	char tag[24];
	int len = snprintf(tag, sizeof(tag), "pid %d", r->pid);

	for (;;) {
		if (!strncmp(rest, "restore: ", 9))
			rest += 9;
		else if (!strncmp(rest, tag, (size_t)len) && !strncmp(rest + len, ": ", 2))
			rest += len + 2;
		else
			break;
	}
	if (!strncmp(rest, tag, (size_t)len) && rest[len] == ' ')
		pr_err("restore: %s", rest);
	else
		pr_err("restore: %s: %s", tag, rest);
}

static int report_failure(const struct restore_run *run, const struct restorer_report *r)
{
	int index = tree_find(&run->rs->tree, r->pid);

	if (r->step == RESTORER_STEP_PAGES_DIGEST && index >= 0 && run->rs->tasks[index].pages &&
	    r->addr < run->rs->tasks[index].pages->nr_files) {
		/* The address is the number of the pages file. */
		pr_err("restore: pid %d: %s: its digest differs from the inventory's: changed "
		       "since the dump, or from another dump (found as its pages were read; "
		       "nothing of the tree ran)", r->pid,
		       run->rs->tasks[index].pages->pages_path[r->addr]);
		return -EBADMSG;
	}
	if (r->step < 0) {
		print_child_failure(r);
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

/* Takes one report; fails on an error report or a report that makes no
 * sense at this stage. */
static int take_report(struct restore_run *run, const struct restorer_report *r, int stage,
		       size_t *count)
{
	int index;

	if (r->err)
		return report_failure(run, r);
	index = tree_find(&run->rs->tree, r->pid);
	/* Not a stage: a restorer waits for cryo's part of its memory. */
	if (index >= 0 && stage == RESTORE_STAGE_DONE && r->stage == RESTORE_STAGE_FILLER)
		return restore_filler_copy(&run->rs->tasks[index], run->pidfds[index], r);
	if (index < 0 || r->stage != stage) {
		pr_err("restore: a report of stage %d from pid %d, at stage %d", r->stage, r->pid,
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

		run->vdso[index] = r->addr;
		run->uffd[index] = r->uffd;
		if (!r->area_start || r->area_end <= r->area_start ||
		    (r->area_start | r->area_end) % 4096) {
			pr_err("restore: pid %d: its restorer reported no area (%#llx-%#llx)",
			       r->pid, (unsigned long long)r->area_start,
			       (unsigned long long)r->area_end);
			return -EPROTO;
		}
		run->area[index] = (struct restore_area){ r->area_start, r->area_end };
		/* Its restorer has filled its memory from its pages file. */
		stats_task_done(run->stats, pages && !run->rs->lazy_pages ?
						    restore_pages_bytes(pages) : 0);
		/* Its finish waits on it, not on the others still filling. */
		if (run->finish_early && finish_early_ok(run, (size_t)index))
			return finish_one(run, (size_t)index);
	}
	return 0;
}

/* Takes in every report waiting in the pipe, up to a pipe's atomic write
 * each: a poll of every pidfd per report made a tree's stages quadratic.
 * Each report is one write of less than PIPE_BUF, so a read of whole
 * reports' size returns whole reports. */
#define REPORTS_AT_ONCE (PIPE_BUF / sizeof(struct restorer_report))
static int take_reports(struct restore_run *run, int stage, size_t *count)
{
	struct restorer_report batch[REPORTS_AT_ONCE];
	ssize_t n = read(run->report_fd, batch, sizeof(batch));
	int ret = 0;

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0 || n % sizeof(batch[0])) {
		pr_err("restore: a process broke the report pipe");
		return -EPIPE;
	}
	for (size_t i = 0; !ret && i < (size_t)n / sizeof(batch[0]); i++)
		ret = take_report(run, &batch[i], stage, count);
	return ret;
}

/* Waits until @expected processes reported @stage; any death that is not
 * expected fails the restore. */
#define EVENTS_AT_ONCE 64
static int wait_stage(struct restore_run *run, int stage, size_t expected)
{
	const struct tree *tree = &run->rs->tree;
	struct epoll_event events[EVENTS_AT_ONCE];
	size_t count = 0;

	while (count < expected) {
		bool reports = false;
		int n, ret;

		/* With a progress line, it is redrawn as time passes. */
		n = epoll_wait(run->epoll_fd, events, EVENTS_AT_ONCE,
			       run->stats->progress ? 100 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return pr_errno_ret("restore: epoll_wait");
		}
		if (!n) {
			progress_draw(run->stats, false);
			continue;
		}
		for (int j = 0; j < n; j++)
			reports |= events[j].data.u64 == EPOLL_KEY_REPORTS;
		/* A failing process reports before it exits: read reports first. */
		if (reports) {
			ret = take_reports(run, stage, &count);
			if (ret)
				return ret;
			continue;
		}
		for (int j = 0; j < n; j++) {
			uint64_t key = events[j].data.u64;

			if (key == EPOLL_KEY_INIT)
				pr_err("restore: --clone: the init of the new pid namespace (pid %d) "
				       "died during the restore", run->init);
			else if (key - EPOLL_KEY_TASK < tree->nr)
				pr_err("restore: pid %d died during the restore",
				       tree->tasks[key - EPOLL_KEY_TASK].pid);
		}
		return -ECHILD;
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

size_t count_alive(const struct tree *tree)
{
	size_t n = 0;

	for (size_t i = 0; i < tree->nr; i++)
		n += tree->tasks[i].state == TREE_ALIVE;
	return n;
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
void kill_all(struct restore_run *run, pid_t root)
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
			.pid = rs->tasks[i].host_pid,
			.pid_ns_below = run->inside,
			.pidfd = run->pidfds[i],
			.remote_uffd = run->uffd[i],
			.mm = rs->tasks[i].mm,
			.core = rs->tasks[i].core,
			.pagemap = rs->tasks[i].pages->pagemap,
			.pages_fd = rs->tasks[i].pages->pages_fd,
			.premaps = rs->tasks[i].premaps,
			.nr_premaps = rs->tasks[i].nr_premaps,
		};
	}
	ret = n ? lazy_server_start(tasks, n, log, log_get_level(), &run->lazy_server) : 0;
	free(tasks);
	free(log);
	return ret;
}

/* The root's pid as cryo sees it, which the notifications carry (runc
 * takes it for the container's init): the saved one but in a new pid
 * namespace. */
static pid_t root_seen(const struct restore_run *run)
{
	pid_t seen = run->rs->tasks[0].host_pid;

	return seen ? seen : run->rs->tree.tasks[0].pid;
}

int run_stages(struct restore_run *run, uint64_t began)
{
	const struct tree *tree = &run->rs->tree;
	struct stats *st = run->stats;
	int ret;

	ret = epoll_watch(run, EPOLL_CTL_ADD, run->report_fd, EPOLL_KEY_REPORTS);
	if (!ret && run->init_pidfd >= 0)
		ret = epoll_watch(run, EPOLL_CTL_ADD, run->init_pidfd, EPOLL_KEY_INIT);
	if (!ret)
		ret = wait_stage(run, RESTORE_STAGE_CREATED, tree->nr);
	stats_end(st, STATS_RESTORE_CREATING, began);
	began = stats_begin(st, STATS_RESTORE_FILES);
	if (!ret)
		ret = files_prepare_late(run->rs->files, run->rs->files_imgs,
					 run->rs->nr_files_imgs);
	if (!ret)
		ret = cryo_notify(run->opts, "setup-namespaces", root_seen(run)) ? -ECANCELED : 0;
	if (!ret)
		ret = let_on(run, 0, tree->nr);
	if (!ret)
		ret = wait_stage(run, RESTORE_STAGE_PREPARED, tree->nr);
	stats_end(st, STATS_RESTORE_FILES, began);
	began = stats_begin(st, STATS_RESTORE_MEMORY);
	/* Zombies and helpers exit past this gate: no longer watched. */
	for (size_t i = 0; !ret && i < tree->nr; i++) {
		run->may_exit[i] = tree->tasks[i].state != TREE_ALIVE;
		if (run->may_exit[i] && run->pidfds[i] >= 0)
			ret = epoll_watch(run, EPOLL_CTL_DEL, run->pidfds[i], 0);
	}
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
		ret = cryo_notify(run->opts, "post-restore", root_seen(run)) ? -ECANCELED : 0;
	if (!ret) {
		net_lock_end(run->rs->net, false);
		ret = cryo_notify(run->opts, "network-unlock", root_seen(run)) ? -ECANCELED : 0;
	}
	if (!ret)
		ret = finish_tree(run);
	stats_end(st, STATS_RESTORE_RESTORER, began);
	return ret;
}
