/* The cgroup v2 freezer, for a tree that has a cgroup of its own. Freezing
 * the cgroup first stops every process in it at once, so a tree that forks
 * and exits quickly holds still while it is walked and seized, instead of
 * being chased one process at a time. Tasks then need to run again for the
 * parasite, and seized tasks stay in their ptrace stops, so the cgroup is
 * thawed as soon as the tree is seized; a cgroup that its owner had frozen
 * is frozen again before the tree is let go. A v1 freezer named by
 * --freeze-cgroup is driven too, its threads seized while frozen. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cgroup2.h"
#include "common/log.h"
#include "common/procfs.h"
#include "common/textfile.h"
#include "tree/freezer.h"
#include "tree/tree.h"

/* How long the kernel gets to freeze every task of the cgroup. A task in
 * an uninterruptible sleep may hold it up; ptrace then does the work. */
#define FREEZE_WAIT_MS 2000
/* What cryo tells the guard when the cgroup no longer needs it. */
#define GUARD_ALL_CLEAR 'c'

/* Whether cgroup @inner is @outer or lies below it. */
static bool cgroup_within(const char *inner, const char *outer)
{
	size_t len = strlen(outer);

	if (!strcmp(outer, "/"))
		return true;
	return !strncmp(inner, outer, len) && (inner[len] == '\0' || inner[len] == '/');
}

static bool descends_from(pid_t pid, const void *root)
{
	struct proc_stat st;

	while (pid > 1 && pid != *(const pid_t *)root) {
		if (proc_stat_read(pid, &st))
			return false;
		pid = st.ppid;
	}
	return pid == *(const pid_t *)root;
}

/* The first process (thread, with @list "tasks") of the cgroup of directory
 * @dir_fd, and of those below it, for which @member is false, or 0; -1 when
 * it cannot tell. A process of another pid namespace than the reader's is
 * listed as 0: never a member (-2). */
static pid_t first_outsider(int dir_fd, const char *list, bool (*member)(pid_t, const void *),
			    const void *arg)
{
	int fd = openat(dir_fd, list, O_RDONLY | O_CLOEXEC);
	FILE *procs = fd >= 0 ? fdopen(fd, "re") : NULL;
	pid_t outsider = 0;
	struct dirent *de;
	DIR *d;
	int pid;

	if (!procs) {
		pr_debug("dump: cannot read %s of a cgroup: %s", list, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (!outsider && fscanf(procs, "%d", &pid) == 1)
		if (pid <= 0 || !member(pid, arg))
			outsider = pid > 0 ? pid : -2;
	fclose(procs);
	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	while (!outsider && d && (de = readdir(d))) {
		int sub;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;
		outsider = first_outsider(sub, list, member, arg);
		close(sub);
	}
	if (d)
		closedir(d);
	return outsider;
}

static void freezer_forget(struct freezer *fz)
{
	if (fz->dir_fd >= 0)
		close(fz->dir_fd);
	fz->dir_fd = -1;
}

static int write_freeze(const struct freezer *fz, bool frozen)
{
	const char *value = fz->v1 ? (frozen ? "FROZEN" : "THAWED") : (frozen ? "1" : "0");
	int fd = openat(fz->dir_fd, fz->v1 ? "freezer.state" : "cgroup.freeze",
			O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("dump: pid %d: cgroup %s: cannot %s it: %s", fz->root, fz->path,
		       frozen ? "freeze" : "thaw", strerror(-ret));
	return ret;
}

/* The value of @key in the cgroup's file @name; -1 if unreadable. */
static int read_key(const struct freezer *fz, const char *name, const char *key)
{
	_cleanup_free_ char *text = NULL;
	size_t len = strlen(key);

	if (read_text_at(fz->dir_fd, name, &text))
		return -1;
	for (char *at = text; at; at = strchr(at, '\n'), at = at ? at + 1 : NULL)
		if (!strncmp(at, key, len) && at[len] == ' ')
			return atoi(at + len + 1);
	return -1;
}

/* A v1 freezer's freezer.state, FROZEN once every task is. */
static bool v1_state_is(const struct freezer *fz, const char *state)
{
	_cleanup_free_ char *text = NULL;

	return !read_text_at(fz->dir_fd, "freezer.state", &text) &&
	       !strncmp(text, state, strlen(state));
}

static bool is_frozen(const struct freezer *fz)
{
	if (fz->v1)
		return v1_state_is(fz, "FROZEN");
	return read_key(fz, "cgroup.events", "frozen") == 1;
}

/* Whether the cgroup's owner asked for it to be frozen. */
static bool freeze_requested(const struct freezer *fz)
{
	char c = '0';
	int fd;

	if (fz->v1)
		return v1_state_is(fz, "FROZEN") || v1_state_is(fz, "FREEZING");
	fd = openat(fz->dir_fd, "cgroup.freeze", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c == '1';
}

/* Whether the tree of @root may be frozen through its cgroup: it has one
 * of its own, below the hierarchy's root, that holds neither cryo nor any
 * process outside the tree. Says why not at debug level. */
static bool pick_cgroup(pid_t root, struct freezer *fz)
{
	char mnt[PATH_MAX], mine[PATH_MAX], theirs[PATH_MAX];
	pid_t stranger;

	if (cgroup2_mount(mnt, sizeof(mnt))) {
		pr_debug("dump: no cgroup v2 hierarchy is mounted: freezing with ptrace alone");
		return false;
	}
	if (cgroup2_path_of(root, theirs, sizeof(theirs)) ||
	    cgroup2_path_of(getpid(), mine, sizeof(mine)))
		return false;
	if (cgroup_within(mine, theirs)) {
		pr_debug("dump: pid %d shares cgroup %s with cryo: freezing with ptrace alone",
			 root, theirs);
		return false;
	}
	if ((size_t)snprintf(fz->path, sizeof(fz->path), "%s%s", mnt, theirs) >= sizeof(fz->path))
		return false;
	fz->dir_fd = open(fz->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fz->dir_fd < 0)
		return false;
	/* A process that joins after this is frozen for a moment, no more. */
	stranger = first_outsider(fz->dir_fd, "cgroup.procs", descends_from, &root);
	if (stranger == -1)
		return false;
	if (stranger) {
		pr_debug("dump: cgroup %s also holds pid %d, which is not in the tree: freezing "
			 "with ptrace alone", theirs, stranger);
		return false;
	}
	if (faccessat(fz->dir_fd, "cgroup.freeze", W_OK, 0)) {
		pr_debug("dump: cgroup %s has no cgroup.freeze: freezing with ptrace alone",
			 fz->path);
		return false;
	}
	return true;
}

/* The kernel lets go of ptrace stops when their tracer dies, never of a
 * cgroup freeze: a dumper killed between the freeze and the thaw would
 * leave the tree frozen for good. A guard process, cryo's child outside the
 * cgroup, holds the read end of a pipe whose only write end is cryo's: at
 * EOF without the all-clear, cryo died, and the guard thaws the cgroup. */
static void start_guard(struct freezer *fz)
{
	int pipefd[2];
	char byte = 0;

	fz->guard = -1;
	fz->guard_fd = -1;
	if (pipe2(pipefd, O_CLOEXEC))
		return;
	fz->guard = fork();
	if (fz->guard == 0) {
		/* Out of the terminal's reach: a ^C for cryo must not end it too. */
		setpgid(0, 0);
		close(pipefd[1]);
		while (read(pipefd[0], &byte, 1) < 0 && errno == EINTR)
			;
		if (byte != GUARD_ALL_CLEAR)
			write_freeze(fz, false);
		_exit(0);
	}
	close(pipefd[0]);
	if (fz->guard < 0) {
		close(pipefd[1]);
		return;
	}
	fz->guard_fd = pipefd[1];
}

/* The cgroup is as its owner wants it again: the guard may go. */
static void stop_guard(struct freezer *fz)
{
	char byte = GUARD_ALL_CLEAR;

	if (fz->guard_fd < 0)
		return;
	if (write(fz->guard_fd, &byte, 1) != 1)
		pr_warn("dump: pid %d: cgroup %s: cannot tell its guard to go", fz->root, fz->path);
	close(fz->guard_fd);
	waitpid(fz->guard, NULL, 0);
	fz->guard_fd = -1;
	fz->guard = -1;
}

static void freeze_picked(pid_t root, struct freezer *fz, const struct timespec *deadline);

/* Seizes thread @tid of a frozen v1 cgroup and asks for its stop. */
static bool seize_frozen(pid_t tid, const void *arg)
{
	(void)arg;
	if (!ptrace(PTRACE_SEIZE, tid, NULL, (void *)PTRACE_O_TRACESYSGOOD))
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
	return true;
}

/* A v1-frozen task takes no ptrace stop until thawed, and the seize of the
 * tree waits for each process's stop before it reads its children. So, as
 * criu, every thread of the frozen cgroup is seized and interrupted now,
 * and the cgroup thawed: each stops at once (no code of its runs first),
 * and the seize of the tree finds it seized already (inject/seize.c). A
 * cgroup that did not freeze is thawed: ptrace alone does it. */
static void seize_v1_frozen(struct freezer *fz)
{
	if (is_frozen(fz)) {
		first_outsider(fz->dir_fd, "tasks", seize_frozen, NULL);
		pr_info("dump: pid %d: seized the threads of v1 cgroup %s while frozen",
			fz->root, fz->path);
	}
	freezer_thaw(fz);
}

void freezer_freeze(pid_t root, const struct timespec *deadline, struct freezer *fz)
{
	fz->dir_fd = fz->guard_fd = -1;
	fz->root = root;
	fz->thawed = fz->v1 = false;
	if (!pick_cgroup(root, fz)) {
		freezer_forget(fz);
		return;
	}
	freeze_picked(root, fz, deadline);
}

static bool is_not_cryo(pid_t pid, const void *arg)
{
	(void)arg;
	return pid != getpid();
}

int freezer_find_given(pid_t root, const char *given, char *path, size_t size)
{
	char mnt[PATH_MAX], theirs[PATH_MAX], mine[PATH_MAX], real[PATH_MAX], cryos[2 * PATH_MAX];
	int fd = open(given, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && !faccessat(fd, "cgroup.freeze", W_OK, 0)) {
		/* Never one that holds cryo: it would freeze itself. */
		if (!cgroup2_mount(mnt, sizeof(mnt)) &&
		    !cgroup2_path_of(getpid(), mine, sizeof(mine)) && realpath(given, real) &&
		    (snprintf(cryos, sizeof(cryos), "%s%s", mnt, mine),
		     cgroup_within(cryos, real))) {
			close(fd);
			return -1;
		}
		snprintf(path, size, "%s", given);
		return fd;
	}
	if (fd >= 0)
		close(fd);
	/* A v1 freezer (runc's on a hybrid layout): the tree's own v2 cgroup. */
	if (!cgroup2_mount(mnt, sizeof(mnt)) && !cgroup2_path_of(root, theirs, sizeof(theirs)) &&
	    !cgroup2_path_of(getpid(), mine, sizeof(mine)) && !cgroup_within(mine, theirs) &&
	    (size_t)snprintf(path, size, "%s%s", mnt, theirs) < size) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && !faccessat(fd, "cgroup.freeze", W_OK, 0))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	/* Else the v1 freezer itself, unless it holds cryo. */
	fd = open(given, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || faccessat(fd, "freezer.state", W_OK, 0) ||
	    first_outsider(fd, "cgroup.procs", is_not_cryo, NULL)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(path, size, "%s", given);
	return fd;
}

void freezer_freeze_given(pid_t root, int dir_fd, const char *path,
			  const struct timespec *deadline, struct freezer *fz)
{
	fz->guard_fd = -1;
	fz->root = root;
	fz->thawed = false;
	snprintf(fz->path, sizeof(fz->path), "%s", path);
	fz->dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	if (fz->dir_fd < 0)
		return;
	fz->v1 = faccessat(fz->dir_fd, "cgroup.freeze", F_OK, 0) != 0;
	freeze_picked(root, fz, deadline);
	if (fz->v1 && fz->dir_fd >= 0)
		seize_v1_frozen(fz);
}

/* How long the freeze may be waited for: FREEZE_WAIT_MS, or what is left
 * of the dump's --timeout if less. */
static int freeze_wait_ms(const struct timespec *deadline)
{
	struct timespec now;
	long left;

	if (!deadline)
		return FREEZE_WAIT_MS;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return left < 0 ? 0 : left < FREEZE_WAIT_MS ? (int)left : FREEZE_WAIT_MS;
}

static void freeze_picked(pid_t root, struct freezer *fz, const struct timespec *deadline)
{
	int waited, wait_ms = freeze_wait_ms(deadline);

	fz->was_frozen = freeze_requested(fz);
	if (!fz->was_frozen) {
		start_guard(fz);
		if (fz->guard_fd < 0) {
			pr_debug("dump: pid %d: no guard for cgroup %s (%s): freezing with ptrace "
				 "alone", root, fz->path, strerror(errno));
			freezer_forget(fz);
			return;
		}
		if (write_freeze(fz, true)) {
			stop_guard(fz);
			freezer_forget(fz);
			return;
		}
	}
	for (waited = 0; !is_frozen(fz) && waited < wait_ms; waited++)
		usleep(1000);
	if (waited >= wait_ms)
		pr_warn("dump: pid %d: cgroup %s did not freeze within %d ms; ptrace stops the "
			"rest", root, fz->path, wait_ms);
	else
		pr_info("dump: pid %d: froze cgroup %s%s", root, fz->path,
			fz->was_frozen ? " (it was frozen already)" : "");
	if (getenv("CRYO_TEST_PAUSE_FROZEN")) {
		/* The tests kill cryo here, to see the guard thaw the tree. */
		pr_info("dump: pid %d: pausing while frozen (CRYO_TEST_PAUSE_FROZEN)", root);
		sleep(60);
	}
}

static bool in_tree(pid_t pid, const void *arg)
{
	const struct tree *tree = arg;

	for (size_t i = 0; i < tree->nr; i++)
		if (tree->tasks[i].pid == pid)
			return true;
	return false;
}

int freezer_check_members(int dir_fd, const char *given, const struct tree *tree)
{
	pid_t outsider = first_outsider(dir_fd, "cgroup.procs", in_tree, tree);
	struct proc_stat st = { .comm = "?" };

	if (!outsider)
		return 0;
	if (outsider == -1) {
		pr_err("dump: pid %d: --freeze-cgroup %s: cannot list its processes",
		       tree->tasks[0].pid, given);
		return -EIO;
	}
	if (outsider == -2) {
		pr_err("dump: pid %d: --freeze-cgroup %s holds a process of another pid namespace, "
		       "which is not in the tree: criu dumps a freezer cgroup whole",
		       tree->tasks[0].pid, given);
		return -EBUSY;
	}
	proc_stat_read(outsider, &st);
	pr_err("dump: pid %d: --freeze-cgroup %s holds pid %d (%.16s), which is not in the tree: "
	       "criu dumps a freezer cgroup whole", tree->tasks[0].pid, given, outsider, st.comm);
	return -EBUSY;
}

int freezer_thaw(struct freezer *fz)
{
	int ret;

	if (fz->dir_fd < 0 || fz->thawed)
		return 0;
	ret = write_freeze(fz, false);
	if (!ret) {
		fz->thawed = true;
		stop_guard(fz);
	}
	return ret;
}

void freezer_restore(struct freezer *fz)
{
	if (fz->dir_fd < 0)
		return;
	if (fz->was_frozen && fz->thawed)
		write_freeze(fz, true);
	else if (!fz->was_frozen && !fz->thawed)
		write_freeze(fz, false);
	stop_guard(fz);
	freezer_forget(fz);
}
