/* Entering a user namespace as its root, its maps written from outside:
 * the round-trip runner's children (cryo_driver.c) and the bench's
 * container (bench/wl_container.c) do it alike. Header-only: the bench
 * workloads link nothing of the runner. */
#ifndef CRYO_TESTS_USERNS_MAPS_H
#define CRYO_TESTS_USERNS_MAPS_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes "0 @root @count" as both maps of @pid's user namespace; 0 or -errno. */
static inline int userns_write_maps(pid_t pid, unsigned int root, unsigned int count)
{
	static const char *const files[] = { "uid_map", "gid_map" };
	char path[64], map[64];
	int len = snprintf(map, sizeof(map), "0 %u %u\n", root, count);

	for (int i = 0; i < 2; i++) {
		int fd, ret = 0;

		snprintf(path, sizeof(path), "/proc/%d/%s", pid, files[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, (size_t)len) != len)
			ret = -errno;
		if (fd >= 0)
			close(fd);
		if (ret)
			return ret;
	}
	return 0;
}

/* unshare(@flags), a user namespace among them, whose maps a child forked
 * before writes from outside (root is @root outside, @count ids); then
 * root inside. 0 or -errno. */
static inline int userns_enter(unsigned long flags, unsigned int root, unsigned int count)
{
	pid_t self = getpid(), writer;
	int sync[2], status = 0, ret = 0;
	char byte = 'u';

	if (pipe(sync))
		return -errno;
	writer = fork();
	if (writer == 0) {
		close(sync[1]);
		if (read(sync[0], &byte, 1) != 1)
			_exit(1);
		_exit(userns_write_maps(self, root, count) ? 2 : 0);
	}
	close(sync[0]);
	if (writer < 0 || unshare((int)flags) || write(sync[1], &byte, 1) != 1)
		ret = -errno;
	close(sync[1]);
	if (writer > 0 && (waitpid(writer, &status, 0) != writer || status) && !ret)
		ret = -EPERM;
	if (!ret && (setgroups(0, NULL) || setresgid(0, 0, 0) || setresuid(0, 0, 0)))
		ret = -errno;
	return ret;
}

#endif
