/* Which files the processes of a dump hold: the inode of every fd of
 * theirs (fstat through /proc/PID/fd), read once per dump on first use
 * (the tree is frozen meanwhile) and kept sorted by inode in the dump set,
 * so that a socket kind can ask whether a peer is inside the dump, and a
 * kind can find which process holds a file its own task does not (an
 * epoll's target), without reading every fd table again each time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/dump_set.h"

static int add_holder(struct files_dump_set *set, const struct stat *st, pid_t pid, int fd)
{
	if (set->nr_holders == set->cap_holders) {
		size_t cap = set->cap_holders ? set->cap_holders * 2 : 256;
		struct fd_holder *t = reallocarray(set->holders, cap, sizeof(*t));

		if (!t)
			return -ENOMEM;
		set->holders = t;
		set->cap_holders = cap;
	}
	set->holders[set->nr_holders++] = (struct fd_holder){
		.ino = st->st_ino, .pid = pid, .fd = fd, .socket = S_ISSOCK(st->st_mode),
	};
	return 0;
}

/* Adds the fds of @pid to @set's table (a process gone meanwhile adds
 * none, as does an fd closed meanwhile). */
static int read_process(struct files_dump_set *set, pid_t pid)
{
	char dir[64];
	_cleanup_close_ int dfd = -1;
	struct dirent *de;
	DIR *dp;
	int ret = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	dp = fdopendir(dfd);
	if (!dp)
		return -errno;
	dfd = -1;
	while (!ret && (de = readdir(dp))) {
		struct stat st;

		if (de->d_name[0] == '.' || fstatat(dirfd(dp), de->d_name, &st, 0))
			continue;
		ret = add_holder(set, &st, pid, atoi(de->d_name));
	}
	closedir(dp);
	return ret;
}

static bool in_dump(const struct files_dump_set *set, pid_t pid)
{
	for (size_t i = 0; i < set->nr_pids; i++)
		if (set->pids[i] == pid)
			return true;
	return false;
}

static int cmp_ino(const void *a, const void *b)
{
	uint64_t x = ((const struct fd_holder *)a)->ino, y = ((const struct fd_holder *)b)->ino;

	return x < y ? -1 : x > y;
}

/* Reads the table once; @task (the task being dumped) always counts. */
static int holders_read(struct files_dump_set *set, pid_t task)
{
	int ret = 0;

	if (set->holders_read)
		return 0;
	for (size_t i = 0; !ret && i < set->nr_pids; i++)
		ret = read_process(set, set->pids[i]);
	if (!ret && !in_dump(set, task))
		ret = read_process(set, task);
	if (ret) {
		pr_err("dump: cannot read the fds of the dump's processes: %s", strerror(-ret));
		set->nr_holders = 0;
		return ret;
	}
	if (set->nr_holders)
		qsort(set->holders, set->nr_holders, sizeof(*set->holders), cmp_ino);
	set->holders_read = true;
	return 0;
}

/* The run of fds on inode @ino: [*@lo, return value). */
static size_t inode_run(const struct files_dump_set *set, uint64_t ino, size_t *lo)
{
	size_t a = 0, b = set->nr_holders, hi;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (set->holders[mid].ino < ino)
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a;
	for (hi = a; hi < set->nr_holders && set->holders[hi].ino == ino; hi++)
		;
	return hi;
}

int file_dump_holds_socket(const struct file_dump *d, uint64_t ino)
{
	struct files_dump_set *set = d->set;
	size_t lo, hi;
	int ret = holders_read(set, d->p->pid);

	if (ret)
		return ret;
	hi = inode_run(set, ino, &lo);
	for (size_t i = lo; i < hi; i++)
		if (set->holders[i].socket)
			return 1;
	return 0;
}

/* Open file descriptions in kcmp's order, for a run of one inode. */
static int cmp_open_file(const void *a, const void *b)
{
	const struct fd_holder *x = a, *y = b;
	long r = syscall(SYS_kcmp, x->pid, y->pid, KCMP_FILE, x->fd, y->fd);

	/* The tree is frozen: an error would mean a process vanished, and
	 * the search below then only fails to find it. */
	return r == 1 ? -1 : r == 2;
}

/* Runs this short are searched one by one rather than sorted. */
#define HOLDERS_SCAN_MAX 8

/* Asks @order about the fds of [@lo, @hi) one by one (with @task, only
 * those of that process; with @hint >= 0, only those at that number): 0
 * and *@at when one is the file wanted. */
static int scan(const struct files_dump_set *set, size_t lo, size_t hi, pid_t task, int hint,
		int (*order)(void *arg, pid_t pid, int fd), void *arg, size_t *at)
{
	for (size_t i = lo; i < hi; i++) {
		int r;

		if ((task && set->holders[i].pid != task) ||
		    (hint >= 0 && set->holders[i].fd != hint))
			continue;
		r = order(arg, set->holders[i].pid, set->holders[i].fd);
		if (r <= 0) {
			*at = i;
			return r;
		}
	}
	return -ENOENT;
}

int fd_holders_find(struct files_dump_set *set, pid_t task, uint64_t ino, int hint,
		    int (*order)(void *arg, pid_t pid, int fd), void *arg, pid_t *pid, int *fd)
{
	size_t lo, hi, at;
	int ret = holders_read(set, task), r;

	if (ret)
		return ret;
	hi = inode_run(set, ino, &lo);
	/* Each question may cost the kernel a walk of the whole epoll: the
	 * task's own fds first, then the number it held the file at (a child
	 * inherited it there). */
	r = scan(set, lo, hi, task, -1, order, arg, &at);
	if (r == -ENOENT && hint >= 0)
		r = scan(set, lo, hi, 0, hint, order, arg, &at);
	if (r == -ENOENT && hi - lo <= HOLDERS_SCAN_MAX)
		r = scan(set, lo, hi, 0, -1, order, arg, &at);
	if (r == 0) {
		*pid = set->holders[at].pid;
		*fd = set->holders[at].fd;
	}
	if (r != -ENOENT || hi - lo <= HOLDERS_SCAN_MAX)
		return r;
	/* Many fds of one inode (every eventfd shares one): sorted in
	 * kcmp's order once, then each file is a binary search. */
	if (!set->holders[lo].ordered) {
		qsort(set->holders + lo, hi - lo, sizeof(*set->holders), cmp_open_file);
		set->holders[lo].ordered = true;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		r = order(arg, set->holders[mid].pid, set->holders[mid].fd);
		if (r < 0)
			return r;
		if (r == 0) {
			*pid = set->holders[mid].pid;
			*fd = set->holders[mid].fd;
			return 0;
		}
		/* 1: that fd's file orders before the one wanted. */
		if (r == 1)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}
