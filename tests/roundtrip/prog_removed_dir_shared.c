/* Removed directories that several processes (or threads) hold, each
 * one directory after restore (issue 11, item 3). The parent holds fds of
 * folders that its children then stand in and it removes: the cwd of one
 * child (an O_DIRECTORY fd), the root of another (chrooted, cwd "/"; an
 * O_PATH fd), the cwd of a thread with fs info of its own in a third (an
 * O_PATH fd). No fd holds the rest: two children stand in one removed
 * folder, two more are chrooted into another, and in another a thread
 * with fs info of its own stands in its process's removed cwd. A child's
 * own child, which shares its fd table (clone(CLONE_FILES)), stands in a
 * removed folder the parent holds too; and one child stands in a removed
 * folder that a child made after it holds (dumped after it), and one in a
 * removed folder whose only fd is in flight, in a unix socket's queue of
 * the parent's (SCM_RIGHTS). On SIGTERM
 * the parent compares, through /proc, each cwd or root with its fd or its
 * partner's: the same device and inode, a directory still removed; and
 * each child checks that nothing can be made where it stands. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

/* Where a child stands: IN_MEMBER_CWD is the cwd of its own child, made
 * with clone(CLONE_FILES), which restore gives the fd table of its
 * parent's (a member of a shared table opens its own files apart);
 * HOLDS_FD, an fd (HELD_AT + its index) of the folder, no cwd;
 * IN_FLIGHT_CWD, a cwd whose folder's one fd is in the parent's queue. */
enum place { IN_CWD, IN_ROOT, IN_THREAD_CWD, IN_BOTH_CWDS, IN_MEMBER_CWD, HOLDS_FD, IN_FLIGHT_CWD };

/* Each child: where it stands in its folder, and what the parent compares
 * that with: its fd of the folder, or another child's (@partner). */
static const struct kind {
	const char *what, *folder;
	enum place place;
	int open_flags;		/* the parent's fd of the folder; 0: none */
	int partner;		/* -1: none */
} kinds[] = {
	{ "whose cwd the parent holds", "cwd", IN_CWD, O_RDONLY | O_DIRECTORY, -1 },
	{ "whose root the parent holds", "root", IN_ROOT, O_PATH | O_DIRECTORY, -1 },
	{ "whose thread's cwd the parent holds", "thread", IN_THREAD_CWD, O_PATH | O_DIRECTORY,
	  -1 },
	{ "sharing a removed cwd (first)", "same", IN_CWD, 0, -1 },
	{ "sharing a removed cwd (second)", "same", IN_CWD, 0, 3 },
	{ "sharing a removed root (first)", "sameroot", IN_ROOT, 0, -1 },
	{ "sharing a removed root (second)", "sameroot", IN_ROOT, 0, 5 },
	{ "whose thread shares its removed cwd", "both", IN_BOTH_CWDS, 0, -1 },
	{ "whose child, sharing its fd table, stands where the parent holds", "member",
	  IN_MEMBER_CWD, O_PATH | O_DIRECTORY, -1 },
	/* The holder dumped after the cwd: its fd's file is the second of the inode. */
	{ "standing where a later child holds", "later", IN_CWD, 0, 10 },
	{ "holding where an earlier child stands", "later", HOLDS_FD, 0, -1 },
	{ "whose cwd only an fd in flight holds", "flight", IN_FLIGHT_CWD, 0, -1 },
};
#define NR_KINDS ((int)(sizeof(kinds) / sizeof(kinds[0])))
#define HELD_AT 50		/* the parent's fds: HELD_AT + kind */

struct child {
	pid_t pid;
	/* The thread with fs info of its own, or IN_MEMBER_CWD's child; 0 */
	pid_t tid;
	int cmd[2], reply[2];
};

static struct child children[NR_KINDS];
static int report_fd = -1;
/* The parent's socketpair whose queue carries IN_FLIGHT_CWD's folder. */
static int flight[2] = { -1, -1 };

/* A thread with fs info of its own, in the folder @arg. */
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

/* @path opened with @flags at fd @at; false on failure. */
static bool open_at(const char *path, int flags, int at)
{
	int fd = open(path, flags);

	return fd >= 0 && dup2(fd, at) == at && !close(fd);
}

static void __attribute__((noreturn)) child_main(struct child *c, const struct kind *k,
						 const char *path)
{
	pthread_t thread;
	pid_t tid = 0;
	char byte;

	report_fd = c->reply[1];
	/* The parent's fds are its own: no child holds what it stands in. */
	for (int i = 0; i < NR_KINDS; i++)
		if (kinds[i].open_flags && close(HELD_AT + i))
			_exit(2);
	if (close(flight[0]) || close(flight[1]))
		_exit(2);
	if (k->place == IN_MEMBER_CWD) {
		pid_t member = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
		int status = -1;

		if (member > 0) {
			/* It answers the parent; this one only waits for it. */
			waitpid(member, &status, 0);
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 3);
		}
		tid = (pid_t)syscall(SYS_getpid);
		if (member < 0 || chdir(path))
			_exit(2);
	}
	if ((k->place == IN_CWD || k->place == IN_BOTH_CWDS || k->place == IN_FLIGHT_CWD) &&
	    chdir(path))
		_exit(2);
	if (k->place == HOLDS_FD && !open_at(path, O_PATH | O_DIRECTORY, HELD_AT + (int)(k - kinds)))
		_exit(2);
	if (k->place == IN_ROOT && (chroot(path) || chdir("/")))
		_exit(2);
	if (k->place == IN_THREAD_CWD || k->place == IN_BOTH_CWDS) {
		if (pthread_create(&thread, NULL, thread_main, (void *)path))
			_exit(2);
	} else if (write(c->reply[1], &tid, sizeof(tid)) != sizeof(tid)) {
		_exit(2);
	}
	/* 'q' ends it: the other children hold copies of the pipes' ends. */
	while (read(c->cmd[0], &byte, 1) == 1 && byte != 'q') {
		bool ok = k->place == IN_THREAD_CWD || k->place == HOLDS_FD ||
			  cannot_make(k->place == IN_ROOT ? "/" : ".");

		if (write(c->reply[1], ok ? "y" : "n", 1) != 1)
			break;
	}
	_exit(0);
}

/* @fd sent into @sock's peer's queue (SCM_RIGHTS) and closed here. */
static bool send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "d", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 && !close(fd);
}

/* The fd a message in @sock's queue carries; -1: none. */
static int receive_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &mh, MSG_DONTWAIT) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
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

/* The /proc link of where child @i stands. */
static void place_link(int i, char *link, size_t size)
{
	const struct child *c = &children[i];

	if (kinds[i].place == IN_ROOT)
		snprintf(link, size, "/proc/%d/root", c->pid);
	else if (kinds[i].place == IN_MEMBER_CWD)
		snprintf(link, size, "/proc/%d/cwd", c->tid);
	else if (kinds[i].place == HOLDS_FD)
		snprintf(link, size, "/proc/%d/fd/%d", c->pid, HELD_AT + i);
	else if (kinds[i].place == IN_THREAD_CWD)
		snprintf(link, size, "/proc/%d/task/%d/cwd", c->pid, c->tid);
	else
		snprintf(link, size, "/proc/%d/cwd", c->pid);
}

/* What the parent sees of child @i against its fd or its partner. */
static void check(int i)
{
	const struct kind *k = &kinds[i];
	char link[96], other[96];
	struct stat st, want;

	place_link(i, link, sizeof(link));
	if (!PROG_CHECK(removed_dir(link, &st), "the child %s: %s is not a removed directory",
			k->what, link))
		return;
	if (k->place == IN_FLIGHT_CWD) {
		int fd = receive_fd(flight[0]);

		PROG_CHECK(fd >= 0 && !fstat(fd, &want) && same_inode(&st, &want),
			   "the child %s: %s is inode %lu, the fd in flight (%d) inode %lu",
			   k->what, link, (unsigned long)st.st_ino, fd, (unsigned long)want.st_ino);
		return;
	}
	if (k->open_flags) {
		PROG_CHECK(!fstat(HELD_AT + i, &want) && same_inode(&st, &want),
			   "the child %s: %s is inode %lu, the parent's fd %d inode %lu", k->what,
			   link, (unsigned long)st.st_ino, HELD_AT + i, (unsigned long)want.st_ino);
		return;
	}
	if (k->place == IN_BOTH_CWDS)
		snprintf(other, sizeof(other), "/proc/%d/task/%d/cwd", children[i].pid,
			 children[i].tid);
	else if (k->partner >= 0)
		place_link(k->partner, other, sizeof(other));
	else
		return;
	PROG_CHECK(removed_dir(other, &want) && same_inode(&st, &want),
		   "the child %s stands in inode %lu, %s in inode %lu", k->what,
		   (unsigned long)st.st_ino, other, (unsigned long)want.st_ino);
}

int main(int argc, char **argv)
{
	char paths[NR_KINDS][PATH_MAX / 2];
	char byte;

	prog_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, flight))
		return 1;
	for (int i = 0; i < NR_KINDS; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", prog_dir(), kinds[i].folder);
		if (kinds[i].partner < 0 && mkdir(paths[i], 0750))
			return 1;
		if (kinds[i].open_flags && !open_at(paths[i], kinds[i].open_flags, HELD_AT + i))
			return 1;
		if (kinds[i].place == IN_FLIGHT_CWD &&
		    !send_fd(flight[1], open(paths[i], O_PATH | O_DIRECTORY)))
			return 1;
	}
	for (int i = 0; i < NR_KINDS; i++) {
		struct child *c = &children[i];

		if (pipe(c->cmd) || pipe(c->reply))
			return 1;
		c->pid = fork();
		if (c->pid == 0)
			child_main(c, &kinds[i], paths[i]);
		if (c->pid < 0 || read(c->reply[0], &c->tid, sizeof(c->tid)) != sizeof(c->tid) ||
		    c->tid < 0)
			return 1;
	}
	for (int i = 0; i < NR_KINDS; i++)
		if (kinds[i].partner < 0 && rmdir(paths[i]))
			return 1;
	prog_ready();
	prog_wait_sigterm();

	/* Every child is compared while all still stand where they were. */
	for (int i = 0; i < NR_KINDS; i++)
		check(i);
	for (int i = 0; i < NR_KINDS; i++) {
		struct child *c = &children[i];
		int status = -1;

		byte = 'c';
		PROG_CHECK(write(c->cmd[1], &byte, 1) == 1 && read(c->reply[0], &byte, 1) == 1 &&
				   byte == 'y',
			   "the child %s could make a file where it stands", kinds[i].what);
		PROG_CHECK(write(c->cmd[1], "q", 1) == 1, "cannot tell the child %s to end",
			   kinds[i].what);
		PROG_CHECK(waitpid(c->pid, &status, 0) == c->pid && WIFEXITED(status) &&
				   WEXITSTATUS(status) == 0,
			   "the child %s ended with %#x", kinds[i].what, status);
	}
	prog_finish();
}
