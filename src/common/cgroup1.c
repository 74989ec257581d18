/* Which cgroups a process or thread is in on every hierarchy, and where a
 * hierarchy is mounted: shared by the cgroup namespace (ns/cgroup_ns.c),
 * the dump of cgroup v1 membership (task/cgroup_v1.c) and its restore.
 * Nothing here changes a cgroup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cgroup1.h"

int cgroup_lines_read(pid_t pid, pid_t tid, struct cgroup_line *lines, size_t *nr)
{
	char file[96], text[PATH_MAX + 300];
	FILE *f;

	if (tid > 0)
		snprintf(file, sizeof(file), "/proc/%d/task/%d/cgroup", pid, tid);
	else
		snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	*nr = 0;
	while (*nr < CGROUP_HIERARCHIES_MAX && fgets(text, sizeof(text), f)) {
		struct cgroup_line *l = &lines[*nr];
		char *colon1 = strchr(text, ':'), *colon2 = colon1 ? strchr(colon1 + 1, ':') : NULL;

		if (!colon2)
			continue;
		text[strcspn(text, "\n")] = '\0';
		*colon1 = *colon2 = '\0';
		l->hierarchy = (unsigned int)strtoul(text, NULL, 10);
		snprintf(l->controllers, sizeof(l->controllers), "%s", colon1 + 1);
		snprintf(l->path, sizeof(l->path), "%s", colon2 + 1);
		(*nr)++;
	}
	fclose(f);
	return 0;
}

/* The word after @w in a comma-separated list. */
static const char *next_word(const char *w)
{
	w += strcspn(w, ",");
	return *w ? w + 1 : w;
}

/* Whether the comma-separated list @list holds @word (@len bytes). */
static bool list_has(const char *list, const char *word, size_t len)
{
	for (const char *at = list; *at; at = next_word(at))
		if (strcspn(at, ",") == len && !strncmp(at, word, len))
			return true;
	return false;
}

bool cgroup_controllers_meet(const char *a, const char *b)
{
	for (const char *w = a; *w; w = next_word(w))
		if (list_has(b, w, strcspn(w, ",")))
			return true;
	return false;
}

/* Whether every controller of @want is among @opts, a v1 mount's super
 * options ("rw,cpu,cpuacct", "rw,name=systemd"). */
static bool has_controllers(const char *opts, const char *want)
{
	for (const char *w = want; *w; w = next_word(w))
		if (!list_has(opts, w, strcspn(w, ",")))
			return false;
	return true;
}

int cgroup_hierarchy_mount(const char *controllers, char *mnt, size_t size)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool v2 = !controllers[0];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], point[PATH_MAX], type[64], opts[1024] = "";
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep, " - %63s %*s %1023s", type, opts) < 1 ||
		    sscanf(line, "%*d %*d %*s %4095s %4095s", root, point) != 2 ||
		    strcmp(root, "/"))
			continue;
		if (v2 ? strcmp(type, "cgroup2") :
			 strcmp(type, "cgroup") || !has_controllers(opts, controllers))
			continue;
		if ((size_t)snprintf(mnt, size, "%s", point) < size)
			ret = 0;
	}
	fclose(f);
	return ret;
}
