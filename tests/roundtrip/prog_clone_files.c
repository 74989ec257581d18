/* Processes that share an fd table: a child made with raw clone(CLONE_FILES)
 * (which made a grandchild the same way), one with clone(CLONE_FILES |
 * CLONE_FS) and, for contrast, one made with fork(). The shared table holds
 * a memfd all of them map shared, an epoll, and a file with a POSIX lock of
 * the table. After restore the table holds the saved fds and no other;
 * kcmp says the first two and the grandchild share the parent's fd table
 * (the second also its fs info) and the fork child shares neither; an fd
 * the parent opens is seen by each sharing child, which closes it and
 * opens another that the parent then sees; the fork child still finds the
 * file locked by its parent. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define NR_SHARING 2
#define CHILD_FD_FLOOR 200	/* where a sharing child opens its fd */
#define MAX_FDS 64

struct kid {
	const char *name;
	unsigned long flags;
	pid_t pid;
	int to[2], from[2];	/* parent -> child, child -> parent */
};

static struct kid kids[NR_SHARING] = {
	{ .name = "CLONE_FILES child", .flags = CLONE_FILES },
	{ .name = "CLONE_FILES|CLONE_FS child", .flags = CLONE_FILES | CLONE_FS },
};
static char *shared_page;
static int lock_fd, epfd;
static pid_t parent;

static long kcmp_with(pid_t other, int type)
{
	return syscall(SYS_kcmp, getpid(), other, type, 0, 0);
}

static bool read_all(int fd, void *buf, size_t len)
{
	return read(fd, buf, len) == (ssize_t)len;
}

/* Made by the first sharing child with CLONE_FILES: the table is still
 * its grandparent's. */
static void __attribute__((noreturn)) grandchild(void)
{
	prog_wait_sigterm();
	_exit(syscall(SYS_kcmp, getpid(), parent, KCMP_FILES, 0, 0) == 0 ? 0 : 80);
}

/* Sees the parent's fd, closes it, opens one of its own for the parent
 * to see, then checks the parent's close of that one. */
static void __attribute__((noreturn)) sharing_child(const struct kid *k, int index, int ready)
{
	pid_t grandkid = -1;
	int theirs, mine, status = -1;
	char byte;

	if (index == 0) {
		grandkid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, NULL);
		if (grandkid == 0)
			grandchild();
		if (grandkid < 0)
			_exit(59);
	}
	if (write(ready, "r", 1) != 1)
		_exit(60);
	prog_wait_sigterm();
	if (!read_all(k->to[0], &theirs, sizeof(theirs)))
		_exit(61);
	if (fcntl(theirs, F_GETFD) < 0)
		_exit(62);
	if (close(theirs))
		_exit(63);
	mine = fcntl(0, F_DUPFD, CHILD_FD_FLOOR + index);
	if (mine < 0 || write(k->from[1], &mine, sizeof(mine)) != sizeof(mine))
		_exit(64);
	if (!read_all(k->to[0], &byte, 1))
		_exit(65);
	if (fcntl(mine, F_GETFD) >= 0 || errno != EBADF)
		_exit(66);
	if (grandkid > 0 && (kill(grandkid, SIGTERM) || waitpid(grandkid, &status, 0) != grandkid ||
			     status != 0))
		_exit(68);
	_exit(strcmp(shared_page, "after") ? 67 : 0);
}

/* Its own table: the parent's POSIX lock is a lock of another owner. */
static void __attribute__((noreturn)) fork_child(int ready)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };

	/* An epoll in two tables is refused at dump: it is the parent's. */
	if (close(epfd) || write(ready, "r", 1) != 1)
		_exit(70);
	prog_wait_sigterm();
	if (fcntl(lock_fd, F_GETLK, &fl))
		_exit(71);
	if (fl.l_type != F_WRLCK || fl.l_pid != getppid())
		_exit(72);
	_exit(strcmp(shared_page, "after") ? 73 : 0);
}

struct fd_list {
	int fd[MAX_FDS];
	size_t nr;		/* MAX_FDS + 1: too many */
};

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The fds of the table, sorted. */
static void list_fds(struct fd_list *l)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	l->nr = 0;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (l->nr == MAX_FDS) {
			l->nr = MAX_FDS + 1;
			break;
		}
		l->fd[l->nr++] = fd;
	}
	if (d)
		closedir(d);
	if (l->nr <= MAX_FDS)
		qsort(l->fd, l->nr, sizeof(int), cmp_int);
}

/* The first fd in one list and not the other, or -1. */
static int first_difference(const struct fd_list *a, const struct fd_list *b)
{
	for (size_t i = 0; i < a->nr || i < b->nr; i++) {
		if (i >= a->nr)
			return b->fd[i];
		if (i >= b->nr || a->fd[i] != b->fd[i])
			return a->fd[i];
	}
	return -1;
}

static int reap(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid ? status : -1;
}

/* An fd the parent opens shows in @k, which closes it and opens another. */
static void check_sharing(struct kid *k)
{
	int mine = open("/dev/null", O_RDONLY), theirs = -1, status;

	PROG_CHECK(mine >= 0, "cannot open /dev/null: %s", strerror(errno));
	kill(k->pid, SIGTERM);
	if (write(k->to[1], &mine, sizeof(mine)) != sizeof(mine) ||
	    !read_all(k->from[0], &theirs, sizeof(theirs))) {
		prog_fail("the %s %d did not answer", k->name, k->pid);
		return;
	}
	PROG_CHECK(fcntl(mine, F_GETFD) < 0 && errno == EBADF, "the %s closed fd %d, but the "
		   "parent still has it", k->name, mine);
	PROG_CHECK(fcntl(theirs, F_GETFD) >= 0, "the %s opened fd %d, but the parent does not "
		   "have it", k->name, theirs);
	close(theirs);
	if (write(k->to[1], "c", 1) != 1)
		prog_fail("cannot write to the %s", k->name);
	status = reap(k->pid);
	PROG_CHECK(status == 0, "the %s ended with status %#x (68: the grandchild does not "
		   "share the table)", k->name, status);
}

int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	char path[4096 + 16], link[128], byte;
	struct epoll_event ev = { .events = EPOLLIN };
	int ready[2], memfd, status;
	struct fd_list fds_saved, fds_now;
	pid_t fork_kid;

	prog_init(argc, argv);
	parent = getpid();
	snprintf(path, sizeof(path), "%s/locked", prog_dir());
	memfd = memfd_create("clone-files", 0);
	lock_fd = open(path, O_RDWR | O_CREAT, 0600);
	if (memfd < 0 || ftruncate(memfd, 4096) || lock_fd < 0 || fcntl(lock_fd, F_SETLK, &fl) ||
	    pipe(ready))
		return 1;
	shared_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (shared_page == MAP_FAILED)
		return 1;
	strcpy(shared_page, "before");
	/* Opened by the process that restores the table, once. */
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, ready[0], &ev))
		return 1;
	for (int i = 0; i < NR_SHARING; i++) {
		if (pipe(kids[i].to) || pipe(kids[i].from))
			return 1;
		kids[i].pid = (pid_t)syscall(SYS_clone, kids[i].flags | SIGCHLD, NULL, NULL, NULL,
					     NULL);
		if (kids[i].pid == 0)
			sharing_child(&kids[i], i, ready[1]);
		if (kids[i].pid < 0)
			return 1;
	}
	fork_kid = fork();
	if (fork_kid == 0)
		fork_child(ready[1]);
	for (int i = 0; i < NR_SHARING + 1; i++)
		if (fork_kid < 0 || read(ready[0], &byte, 1) != 1)
			return 1;
	PROG_CHECK(kcmp_with(kids[0].pid, KCMP_FILES) == 0, "the clone child does not share "
		   "the fd table");
	list_fds(&fds_saved);
	prog_ready();
	prog_wait_sigterm();

	/* Every fd as saved, none of cryo's left behind. */
	list_fds(&fds_now);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", first_difference(&fds_saved, &fds_now));
	memset(link, 0, sizeof(link));
	if (readlink(path, link, sizeof(link) - 1) < 0)
		strcpy(link, "closed");
	PROG_CHECK(fds_saved.nr <= MAX_FDS && first_difference(&fds_saved, &fds_now) < 0,
		   "the fd table holds %zu fds, %zu saved; fd %d (now %s) is in one only",
		   fds_now.nr, fds_saved.nr, first_difference(&fds_saved, &fds_now), link);

	for (int i = 0; i < NR_SHARING; i++)
		PROG_CHECK(kcmp_with(kids[i].pid, KCMP_FILES) == 0, "the %s %d does not share the "
			   "fd table after restore", kids[i].name, kids[i].pid);
	PROG_CHECK(kcmp_with(kids[1].pid, KCMP_FS) == 0, "the %s %d does not share fs info "
		   "after restore", kids[1].name, kids[1].pid);
	PROG_CHECK(kcmp_with(kids[0].pid, KCMP_FS) > 0, "the %s %d shares fs info",
		   kids[0].name, kids[0].pid);
	PROG_CHECK(kcmp_with(fork_kid, KCMP_FILES) > 0 && kcmp_with(fork_kid, KCMP_FS) > 0,
		   "the fork child %d shares the fd table or fs info", fork_kid);
	PROG_CHECK(!strcmp(shared_page, "before"), "the memfd page holds \"%.8s\"", shared_page);
	PROG_CHECK(epoll_ctl(epfd, EPOLL_CTL_MOD, ready[0], &ev) == 0, "the epoll lost its "
		   "target: %s", strerror(errno));
	strcpy(shared_page, "after");
	for (int i = 0; i < NR_SHARING; i++)
		check_sharing(&kids[i]);
	kill(fork_kid, SIGTERM);
	status = reap(fork_kid);
	PROG_CHECK(status == 0, "the fork child ended with status %#x (71-72: the parent's "
		   "POSIX lock is not there)", status);
	prog_finish();
}
