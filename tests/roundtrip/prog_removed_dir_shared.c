/* Removed directories that several processes (or threads) hold, each
 * one directory after restore (issue 11, item 3): the parent holds fds of
 * folders that its children then stand in and it removes: the cwd of one
 * child (an O_DIRECTORY fd), the root of another (chrooted, cwd "/"; an
 * O_PATH fd), the cwd of a thread with fs info of its own in a third (an
 * O_PATH fd); and two more children stand in one removed folder that no fd
 * holds. On SIGTERM the parent compares, through /proc, each child's cwd
 * or root with its fd (or the pair's cwds with each other): the same
 * device and inode, a directory still removed, as before the dump; and
 * each child checks that nothing can be made where it stands. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

enum kind { CWD_HELD, ROOT_HELD, THREAD_CWD_HELD, SAME_CWD_1, SAME_CWD_2, NR_KINDS };

static const char *const what[] = { "whose cwd the parent holds",
				    "whose root the parent holds",
				    "whose thread's cwd the parent holds",
				    "sharing a removed cwd (first)",
				    "sharing a removed cwd (second)" };

struct child {
	pid_t pid;
	pid_t tid;		/* THREAD_CWD_HELD: the thread in the folder */
	int cmd[2], reply[2];
};

static struct child children[NR_KINDS];
/* The folder each kind stands in (the two last share one). */
static const char *const folder[] = { "cwd", "root", "thread", "same", "same" };

static int report_fd = -1;
/* The parent's fds of the folders, by kind (-1: none). */
static int held[NR_KINDS] = { -1, -1, -1, -1, -1 };

/* The thread of THREAD_CWD_HELD: fs info of its own, in the folder. */
static void *thread_main(void *arg)
{
	const char *path = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (unshare(CLONE_FS) || chdir(path))
		tid = -1;
	if (write(report_fd, &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	for (;;)
		pause();
	return NULL;
}

/* Nothing can be made in a removed directory. */
static bool cannot_make(const char *where)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/new", where);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	return fd < 0 && errno == ENOENT;
}

static void __attribute__((noreturn)) child_main(struct child *c, enum kind k, const char *path)
{
	pthread_t thread;
	pid_t tid = 0;
	char byte;

	report_fd = c->reply[1];
	/* The parent's fds are its own: no child holds what it stands in. */
	for (int i = 0; i < NR_KINDS; i++)
		if (held[i] >= 0 && close(held[i]))
			_exit(2);
	if ((k == CWD_HELD || k == SAME_CWD_1 || k == SAME_CWD_2) && chdir(path))
		_exit(2);
	if (k == ROOT_HELD && (chroot(path) || chdir("/")))
		_exit(2);
	if (k == THREAD_CWD_HELD) {
		if (pthread_create(&thread, NULL, thread_main, (void *)path))
			_exit(2);
	} else if (write(c->reply[1], &tid, sizeof(tid)) != sizeof(tid)) {
		_exit(2);
	}
	/* 'q' ends it: the other children hold copies of the pipes' ends. */
	while (read(c->cmd[0], &byte, 1) == 1 && byte != 'q') {
		bool ok = k == THREAD_CWD_HELD || cannot_make(k == ROOT_HELD ? "/" : ".");

		if (write(c->reply[1], ok ? "y" : "n", 1) != 1)
			break;
	}
	_exit(0);
}

/* The directory @link of /proc (a cwd or root) in *@st: a removed one. */
static bool removed_dir(const char *link, struct stat *st)
{
	return !stat(link, st) && S_ISDIR(st->st_mode) && st->st_nlink == 0;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* What the parent sees of child @k against its fd @fd (-1: against the
 * first of the pair). */
static void check(enum kind k, int fd)
{
	const struct child *c = &children[k];
	char link[96], other[96];
	struct stat st, want;

	if (k == ROOT_HELD)
		snprintf(link, sizeof(link), "/proc/%d/root", c->pid);
	else if (k == THREAD_CWD_HELD)
		snprintf(link, sizeof(link), "/proc/%d/task/%d/cwd", c->pid, c->tid);
	else
		snprintf(link, sizeof(link), "/proc/%d/cwd", c->pid);
	if (!PROG_CHECK(removed_dir(link, &st), "the child %s: %s is not a removed directory",
			what[k], link))
		return;
	if (fd >= 0) {
		PROG_CHECK(!fstat(fd, &want) && same_inode(&st, &want),
			   "the child %s: %s is inode %lu, the parent's fd %d inode %lu", what[k],
			   link, (unsigned long)st.st_ino, fd, (unsigned long)want.st_ino);
		return;
	}
	snprintf(other, sizeof(other), "/proc/%d/cwd", children[SAME_CWD_1].pid);
	PROG_CHECK(removed_dir(other, &want) && same_inode(&st, &want),
		   "the children sharing a removed cwd are in two directories: inodes %lu and %lu",
		   (unsigned long)want.st_ino, (unsigned long)st.st_ino);
}

/* @path opened with @flags at fd @at, or -1. */
static int open_at(const char *path, int flags, int at)
{
	int fd = open(path, flags);

	if (fd < 0 || dup2(fd, at) != at || close(fd))
		return -1;
	return at;
}

int main(int argc, char **argv)
{
	char paths[NR_KINDS][PATH_MAX / 2];
	int *fds = held;
	char byte;

	prog_init(argc, argv);
	for (int k = 0; k < NR_KINDS; k++) {
		snprintf(paths[k], sizeof(paths[k]), "%s/%s", prog_dir(), folder[k]);
		if (k != SAME_CWD_2 && mkdir(paths[k], 0750))
			return 1;
	}
	fds[CWD_HELD] = open_at(paths[CWD_HELD], O_RDONLY | O_DIRECTORY, 50);
	fds[ROOT_HELD] = open_at(paths[ROOT_HELD], O_PATH | O_DIRECTORY, 51);
	fds[THREAD_CWD_HELD] = open_at(paths[THREAD_CWD_HELD], O_PATH | O_DIRECTORY, 52);
	if (fds[CWD_HELD] < 0 || fds[ROOT_HELD] < 0 || fds[THREAD_CWD_HELD] < 0)
		return 1;
	for (int k = 0; k < NR_KINDS; k++) {
		struct child *c = &children[k];

		if (pipe(c->cmd) || pipe(c->reply))
			return 1;
		c->pid = fork();
		if (c->pid == 0)
			child_main(c, k, paths[k]);
		if (c->pid < 0 || read(c->reply[0], &c->tid, sizeof(c->tid)) != sizeof(c->tid) ||
		    c->tid < 0)
			return 1;
	}
	for (int k = 0; k < NR_KINDS; k++)
		if (k != SAME_CWD_2 && rmdir(paths[k]))
			return 1;
	prog_ready();
	prog_wait_sigterm();

	/* Every child is compared while all still stand where they were. */
	for (int k = 0; k < NR_KINDS; k++)
		check(k, fds[k]);
	for (int k = 0; k < NR_KINDS; k++) {
		struct child *c = &children[k];
		int status = -1;

		byte = 'c';
		PROG_CHECK(write(c->cmd[1], &byte, 1) == 1 && read(c->reply[0], &byte, 1) == 1 &&
				   byte == 'y',
			   "the child %s could make a file where it stands", what[k]);
		PROG_CHECK(write(c->cmd[1], "q", 1) == 1, "cannot tell the child %s to end",
			   what[k]);
		PROG_CHECK(waitpid(c->pid, &status, 0) == c->pid && WIFEXITED(status) &&
				   WEXITSTATUS(status) == 0,
			   "the child %s ended with %#x", what[k], status);
	}
	prog_finish();
}
