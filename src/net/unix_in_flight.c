/* Whether a unix socket no process holds is in flight (SCM_RIGHTS) in a
 * queue of the dump: asked only when a socket's peer is held by no process
 * and was not met in a queue yet (its carrier may come later in the fd
 * order). Walks the queues of every unix socket the processes hold, and
 * of the sockets in flight in them, without taking anything out. The
 * queues themselves are unix_queue.c's. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "net/unix_internal.h"

/* Sockets in flight inside sockets in flight: how deep the walk goes. */
#define WALK_DEPTH_MAX 8

struct walk {
	uint64_t ino;
	unsigned int depth;
};

static int walk_socket(int fd, struct walk *w);

static int look_at_right(int fd, void *arg)
{
	struct walk *w = arg;
	struct stat st;

	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return 0;
	if (st.st_ino == w->ino)
		return 1;
	if (w->depth >= WALK_DEPTH_MAX)
		return 0;
	return walk_socket(fd, w);
}

/* 1 when @fd, a unix socket, has the socket in flight in its queue. */
static int walk_socket(int fd, struct walk *w)
{
	int family, type, ret;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) || family != AF_UNIX)
		return 0;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return 0;
	w->depth++;
	ret = unix_queue_each_right(fd, type == SOCK_STREAM, look_at_right, w);
	w->depth--;
	/* A queue that cannot be read is the dump's to refuse later. */
	return ret == 1 ? 1 : 0;
}

static int walk_process(pid_t pid, struct walk *w)
{
	_cleanup_closedir_ DIR *dir = NULL;
	_cleanup_close_ int pidfd = -1;
	struct dirent *de;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	pidfd = pidfd_open(pid, 0);
	if (!dir || pidfd < 0)
		return pr_errno_ret("dump: pid %d: cannot read its fds to look for a socket in "
				    "flight", pid);
	while ((de = readdir(dir))) {
		char link[64], target[64];
		ssize_t n;
		int fd, ret;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, atoi(de->d_name));
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strncmp(target, "socket:[", 8))
			continue;
		fd = pidfd_getfd(pidfd, atoi(de->d_name), 0);
		if (fd < 0)
			continue;
		ret = walk_socket(fd, w);
		close(fd);
		if (ret)
			return ret;
	}
	return 0;
}

int unix_in_flight_find(const struct file_dump *d, uint64_t ino)
{
	struct walk w = { .ino = ino };
	const pid_t *pids;
	size_t n = file_dump_pids(d, &pids);
	bool task_seen = false;
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		task_seen |= pids[i] == d->p->pid;
		ret = walk_process(pids[i], &w);
	}
	/* The task being dumped always counts. */
	if (!ret && !task_seen)
		ret = walk_process(d->p->pid, &w);
	return ret;
}
