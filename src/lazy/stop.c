/* Stopping what the page server serves when serving fails: a process
 * whose pages can no longer come must not run on, since closing its
 * userfaultfd would make every page still missing read as zeros. The
 * restored processes are known by pid; a child forked since is known once
 * it has faulted (the fault names its thread). One that has not is found
 * among the descendants of the served processes by its memory still being
 * registered with a userfaultfd (the `um` flag of /proc/PID/smaps). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy.h"

pid_t lazy_tgid_of(pid_t tid)
{
	char path[48], line[128];
	pid_t tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid > 0 ? tgid : 0;
}

/* Whether some mapping of @pid is registered with a userfaultfd. */
static bool has_uffd_memory(pid_t pid)
{
	char path[48], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "VmFlags:", 8) && strstr(line + 8, " um");
	fclose(f);
	return found;
}

/* Kills the descendants of @pid that have userfaultfd memory, deepest
 * first, so that none is reparented out of reach while the walk goes on. */
static void kill_descendants(pid_t pid, int depth)
{
	char path[64];
	struct dirent *e;
	DIR *tasks;

	if (depth > 64)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	tasks = opendir(path);
	if (!tasks)
		return;
	while ((e = readdir(tasks))) {
		char children[96];
		FILE *f;
		int child;

		if (e->d_name[0] == '.')
			continue;
		snprintf(children, sizeof(children), "/proc/%d/task/%.16s/children", pid, e->d_name);
		f = fopen(children, "r");
		if (!f)
			continue;
		while (fscanf(f, "%d", &child) == 1) {
			kill_descendants(child, depth + 1);
			if (has_uffd_memory(child))
				kill(child, SIGKILL);
		}
		fclose(f);
	}
	closedir(tasks);
}

void lazy_kill_registered_descendants(pid_t pid)
{
	kill_descendants(pid, 0);
}
