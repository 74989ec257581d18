/* Which cgroups a process or thread is in on every hierarchy, and where a
 * hierarchy is mounted (at its root, or binds of a cgroup below it: a
 * container's), and the folder a cgroup is reached at through them: shared
 * by the cgroup namespace (ns/cgroup_ns.c), the cgroup dumps (task/) and
 * their restore. Nothing here changes a cgroup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cgroup1.h"
#include "common/procfs.h"
#include "common/textfile.h"
#include "common/word_list.h"

void cgroup_lines_parse(const char *text, struct cgroup_line *lines, size_t *nr)
{
	*nr = 0;
	for (const char *line = text, *next; *line && *nr < CGROUP_HIERARCHIES_MAX; line = next) {
		const char *colon1 = strchr(line, ':'), *colon2, *eol = strchrnul(line, '\n');
		struct cgroup_line *l = &lines[*nr];

		next = *eol ? eol + 1 : eol;
		colon2 = colon1 && colon1 < eol ? strchr(colon1 + 1, ':') : NULL;
		if (!colon2 || colon2 > eol)
			continue;
		l->hierarchy = (unsigned int)strtoul(line, NULL, 10);
		snprintf(l->controllers, sizeof(l->controllers), "%.*s", (int)(colon2 - colon1 - 1),
			 colon1 + 1);
		snprintf(l->path, sizeof(l->path), "%.*s", (int)(eol - colon2 - 1), colon2 + 1);
		(*nr)++;
	}
}

int cgroup_text_read(pid_t pid, pid_t tid, char **text)
{
	char file[96];

	if (tid > 0)
		snprintf(file, sizeof(file), "/proc/%d/task/%d/cgroup", pid, tid);
	else
		snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	return read_text_file(file, text);
}

int cgroup_lines_read(pid_t pid, pid_t tid, struct cgroup_line *lines, size_t *nr)
{
	char *text;
	int ret = cgroup_text_read(pid, tid, &text);

	if (ret)
		return ret;
	cgroup_lines_parse(text, lines, nr);
	free(text);
	return 0;
}

bool cgroup_controllers_meet(const char *a, const char *b)
{
	for (const char *w = a; *w; w = word_list_next(w))
		if (word_list_has(b, w, strcspn(w, ",")))
			return true;
	return false;
}

/* Whether every controller of @want is among @opts, a v1 mount's super
 * options ("rw,cpu,cpuacct", "rw,name=systemd"). */
static bool has_controllers(const char *opts, const char *want)
{
	for (const char *w = want; *w; w = word_list_next(w))
		if (!word_list_has(opts, w, strcspn(w, ",")))
			return false;
	return true;
}

/* One cgroup mount of mountinfo, escapes undone. */
struct mount_of {
	char root[PATH_MAX], point[PATH_MAX];
	bool v2;
	char opts[1024];	/* a v1 mount's super options */
};

/* Calls @fn for each cgroup and cgroup2 mount of /proc/self/mountinfo
 * until it returns nonzero, which is returned. */
static int each_cgroup_mount(int (*fn)(const struct mount_of *m, void *arg), void *arg)
{
	char line[4096], type[64];
	struct mount_of *m = malloc(sizeof(*m));
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = 0;

	if (!m || !f) {
		ret = m ? -errno : -ENOMEM;
		goto out;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		m->opts[0] = '\0';
		if (!sep || sscanf(sep, " - %63s %*s %1023s", type, m->opts) < 1 ||
		    sscanf(line, "%*d %*d %*s %4095s %4095s", m->root, m->point) != 2)
			continue;
		m->v2 = !strcmp(type, "cgroup2");
		if (!m->v2 && strcmp(type, "cgroup"))
			continue;
		proc_mountinfo_unescape(m->root);
		proc_mountinfo_unescape(m->point);
		ret = fn(m, arg);
	}
out:
	if (f)
		fclose(f);
	free(m);
	return ret;
}

/* Whether @m is a mount of hierarchy @controllers ("" the unified one). */
static bool mounts_hierarchy(const struct mount_of *m, const char *controllers)
{
	return controllers[0] ? !m->v2 && has_controllers(m->opts, controllers) : m->v2;
}

struct root_mount_arg {
	const char *controllers;
	char *mnt;
	size_t size;
};

static int take_root_mount(const struct mount_of *m, void *arg)
{
	const struct root_mount_arg *a = arg;

	if (strcmp(m->root, "/") || !mounts_hierarchy(m, a->controllers))
		return 0;
	return (size_t)snprintf(a->mnt, a->size, "%s", m->point) < a->size;
}

int cgroup_hierarchy_mount(const char *controllers, char *mnt, size_t size)
{
	struct root_mount_arg a = { controllers, mnt, size };
	int ret = each_cgroup_mount(take_root_mount, &a);

	return ret > 0 ? 0 : ret ? ret : -ENOENT;
}

void cgroup_mounts_free(struct cgroup_mounts *ms)
{
	for (size_t i = 0; i < ms->nr; i++)
		if (ms->m[i].owns_root_fd)
			close(ms->m[i].root_fd);
	free(ms->m);
	ms->m = NULL;
	ms->nr = 0;
}

static int add_mount(struct cgroup_mounts *ms, const char *point, const char *root)
{
	struct cgroup_mount *more = realloc(ms->m, (ms->nr + 1) * sizeof(*more));

	if (!more)
		return -ENOMEM;
	ms->m = more;
	if ((size_t)snprintf(more[ms->nr].point, PATH_MAX, "%s", point) >= PATH_MAX)
		return -ENAMETOOLONG;
	snprintf(more[ms->nr].root, PATH_MAX, "%s", root);
	more[ms->nr].root_fd = -1;
	more[ms->nr].owns_root_fd = false;
	ms->nr++;
	return 0;
}

struct find_arg {
	const char *controllers;
	const char *point;	/* only the mount here; NULL: every one */
	struct cgroup_mounts *ms;
	struct cgroup_mounts *below;	/* every one: those whose root is not "/" */
};

static int take_mount(const struct mount_of *m, void *arg)
{
	const struct find_arg *a = arg;

	if (!mounts_hierarchy(m, a->controllers) || (a->point && strcmp(m->point, a->point)))
		return 0;
	if (a->point)
		a->ms->nr = 0;	/* the last mount at a point is the one seen */
	else if (strcmp(m->root, "/"))
		return add_mount(a->below, m->point, m->root);
	return add_mount(a->ms, m->point, m->root);
}

/* @ms into *@out when found (-ENOENT when empty), else freed. */
static int hand_over(int ret, struct cgroup_mounts *ms, struct cgroup_mounts *out)
{
	if (!ret && !ms->nr)
		ret = -ENOENT;
	if (ret)
		cgroup_mounts_free(ms);
	else
		*out = *ms;
	return ret;
}

int cgroup_mounts_find(const char *controllers, struct cgroup_mounts *out)
{
	struct cgroup_mounts ms = { 0 }, below = { 0 };
	struct find_arg a = { controllers, NULL, &ms, &below };
	int ret = each_cgroup_mount(take_mount, &a);

	/* Mounts of the hierarchy's root first: they reach every cgroup. */
	for (size_t i = 0; !ret && i < below.nr; i++)
		ret = add_mount(&ms, below.m[i].point, below.m[i].root);
	cgroup_mounts_free(&below);
	return hand_over(ret, &ms, out);
}

int cgroup_mounts_at(const char *controllers, const char *point, struct cgroup_mounts *out)
{
	struct cgroup_mounts ms = { 0 };
	char real[PATH_MAX];
	struct find_arg a = { controllers, real, &ms, NULL };
	int ret;

	if (!realpath(point, real))
		return -errno;
	ret = each_cgroup_mount(take_mount, &a);
	return hand_over(ret, &ms, out);
}

/* Whether cgroup @path is @root or below it; the part below into *@rest. */
static bool is_below(const char *path, const char *root, const char **rest)
{
	size_t len = strcmp(root, "/") ? strlen(root) : 0;

	if (strncmp(path, root, len) || (path[len] && path[len] != '/'))
		return false;
	*rest = path + len;
	return true;
}

int cgroup_mounts_reach(const struct cgroup_mounts *ms, const char *cgroup, char *dir,
			size_t size)
{
	for (size_t i = 0; i < ms->nr; i++) {
		char by_fd[32] = "";
		const char *rest;
		int len;

		if (!is_below(cgroup, ms->m[i].root, &rest))
			continue;
		if (ms->m[i].root_fd >= 0)
			snprintf(by_fd, sizeof(by_fd), "/proc/self/fd/%d", ms->m[i].root_fd);
		len = snprintf(dir, size, "%s%s", by_fd, ms->m[i].point);
		if (len < 0 || (size_t)snprintf(dir, size, "%s%s%s", by_fd, ms->m[i].point, rest) >=
				       size)
			return -ENAMETOOLONG;
		return len;
	}
	return -ENOENT;
}

bool cgroup_mounts_above(const struct cgroup_mounts *ms, const char *cgroup)
{
	for (size_t i = 0; i < ms->nr; i++) {
		const char *rest;

		if (strcmp(cgroup, ms->m[i].root) && is_below(ms->m[i].root, cgroup, &rest))
			return true;
	}
	return false;
}

void cgroup_mounts_say_roots(const struct cgroup_mounts *ms, char *text, size_t size)
{
	size_t used = 0;

	text[0] = '\0';
	for (size_t i = 0; i < ms->nr && used < size; i++)
		used += (size_t)snprintf(text + used, size - used, "%s%s at %s", i ? ", " : "",
					 ms->m[i].root, ms->m[i].point);
}

void cgroup_yard_name(const char *controllers, char *name, size_t size)
{
	if (!controllers[0])
		snprintf(name, size, "unified");
	else
		snprintf(name, size, "%s", strncmp(controllers, "name=", 5) ? controllers :
					   controllers + 5);
}
