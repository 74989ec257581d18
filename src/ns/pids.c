/* Pids across pid namespaces: the pid a task has in its own (innermost)
 * namespace, read from the NSpid line of /proc/PID/status, and finding the
 * pid cryo sees of a child or thread known by its inner pid. Creating
 * processes with chosen pids is clone.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/procfs.h"
#include "common/textfile.h"
#include "ns/ns.h"

int ns_pid_levels(pid_t pid, pid_t tid, pid_t *levels, size_t max, size_t *nr)
{
	char path[64], *text, *end;
	const char *line;
	size_t n = 0;
	int ret;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ret = read_text_file(path, &text);
	if (ret)
		return ret;
	line = status_field(text, "NSpid");
	if (!line) {
		free(text);
		return -EIO;
	}
	for (;;) {
		long value;

		errno = 0;
		value = strtol(line, &end, 10);
		if (end == line)
			break;
		if (errno || value <= 0 || n == max) {
			free(text);
			return -EIO;
		}
		levels[n++] = (pid_t)value;
		line = end;
	}
	ret = !n || (*end != '\n' && *end != '\0') ? -EIO : 0;
	free(text);
	if (!ret)
		*nr = n;
	return ret;
}

int ns_pid_inner(pid_t pid, pid_t tid, pid_t *inner)
{
	pid_t levels[NS_PID_LEVELS_MAX + 1];
	size_t n;
	int ret = ns_pid_levels(pid, tid, levels, NS_PID_LEVELS_MAX + 1, &n);

	if (!ret)
		*inner = levels[n - 1];
	return ret;
}

int ns_find_child(pid_t parent, pid_t inner, pid_t *pid)
{
	char path[64], *text, *at, *end;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", parent, parent);
	ret = read_text_file(path, &text);
	if (ret)
		return ret;
	ret = -ESRCH;
	for (at = text;; at = end) {
		long child = strtol(at, &end, 10);
		pid_t got;

		if (end == at)
			break;
		if (!ns_pid_inner((pid_t)child, 0, &got) && got == inner) {
			*pid = (pid_t)child;
			ret = 0;
			break;
		}
	}
	free(text);
	return ret;
}

int ns_find_thread(pid_t pid, pid_t inner, pid_t *tid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int ret = -ESRCH;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		pid_t got, thread = (pid_t)atoi(de->d_name);

		if (thread > 0 && !ns_pid_inner(pid, thread, &got) && got == inner) {
			*tid = thread;
			ret = 0;
			break;
		}
	}
	closedir(dir);
	return ret;
}
