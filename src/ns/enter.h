/* Entering a task's namespace for a moment, and coming back. Header-only,
 * so that the injection library, which links nothing of cryo's, takes its
 * parasite's channel into the task's network namespace the same way cryo
 * would. */
#ifndef CRYO_NS_ENTER_H
#define CRYO_NS_ENTER_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Enters @pid's namespace @name ("net", as in /proc/PID/ns; @nstype its
 * CLONE_NEW* flag) unless the calling thread is in it already. *@back is
 * then an fd of the caller's namespace for ns_leave(), else -1. */
static inline int ns_enter(pid_t pid, const char *name, int nstype, int *back)
{
	char self_path[64], task_path[64];
	struct stat self_ns, task_ns;
	int self_fd, task_fd, ret = 0;

	*back = -1;
	snprintf(self_path, sizeof(self_path), "/proc/thread-self/ns/%s", name);
	snprintf(task_path, sizeof(task_path), "/proc/%d/ns/%s", pid, name);
	if (stat(self_path, &self_ns) || stat(task_path, &task_ns))
		return -errno;
	if (self_ns.st_ino == task_ns.st_ino && self_ns.st_dev == task_ns.st_dev)
		return 0;
	self_fd = open(self_path, O_RDONLY | O_CLOEXEC);
	if (self_fd < 0)
		return -errno;
	task_fd = open(task_path, O_RDONLY | O_CLOEXEC);
	if (task_fd < 0 || setns(task_fd, nstype))
		ret = -errno;
	if (task_fd >= 0)
		close(task_fd);
	if (ret) {
		close(self_fd);
		return ret;
	}
	*back = self_fd;
	return 0;
}

/* Goes back to the namespace ns_enter() left (nothing when @back is -1)
 * and closes @back. */
static inline int ns_leave(int back, int nstype)
{
	int ret = 0;

	if (back < 0)
		return 0;
	if (setns(back, nstype))
		ret = -errno;
	close(back);
	return ret;
}

#endif
