/* Which sockets the processes of a dump hold: the inodes of every
 * "socket:[N]" fd link of theirs, read once per dump (the tree is frozen
 * meanwhile) and kept sorted in the dump set, so that a socket kind can
 * ask whether a peer is inside the dump without reading every process's
 * fd table again for each socket. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/dump_set.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Adds the socket inodes of @pid's fds to @set's table (a process gone
 * meanwhile adds none). */
static int read_process(struct files_dump_set *set, pid_t pid)
{
	char dir[64], link[64];
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
		ssize_t len = readlinkat(dirfd(dp), de->d_name, link, sizeof(link) - 1);
		uint64_t ino;

		if (len <= 0)
			continue;
		link[len] = 0;
		if (sscanf(link, "socket:[%" SCNu64 "]", &ino) != 1)
			continue;
		if (set->nr_socket_inos == set->cap_socket_inos) {
			size_t cap = set->cap_socket_inos ? set->cap_socket_inos * 2 : 256;
			uint64_t *t = reallocarray(set->socket_inos, cap, sizeof(*t));

			if (!t) {
				ret = -ENOMEM;
				break;
			}
			set->socket_inos = t;
			set->cap_socket_inos = cap;
		}
		set->socket_inos[set->nr_socket_inos++] = ino;
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

int file_dump_holds_socket(const struct file_dump *d, uint64_t ino)
{
	struct files_dump_set *set = d->set;
	int ret = 0;

	if (!set->socket_inos_read) {
		for (size_t i = 0; !ret && i < set->nr_pids; i++)
			ret = read_process(set, set->pids[i]);
		/* The task being dumped always counts. */
		if (!ret && !in_dump(set, d->p->pid))
			ret = read_process(set, d->p->pid);
		if (ret) {
			pr_err("dump: cannot read the fds of the dump's processes: %s",
			       strerror(-ret));
			set->nr_socket_inos = 0;
			return ret;
		}
		qsort(set->socket_inos, set->nr_socket_inos, sizeof(uint64_t), cmp_u64);
		set->socket_inos_read = true;
	}
	return bsearch(&ino, set->socket_inos, set->nr_socket_inos, sizeof(uint64_t),
		       cmp_u64) != NULL;
}
