/* The controller settings of the tree's own cgroup v2 groups, saved in
 * cgroups.img at dump. Which cgroup a process is in is TaskCore.cgroup's
 * (dump_proc.c); the image's checks are cgroup_image.c's; restoring the
 * settings is restore/cgroup_props.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cgroup2.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/cgroup.pb-c.h"
#include "task/cgroup_plan.h"
#include "task/cgroup_seen.h"
#include "task/cgroup_settings.h"

bool cgroup_is_own(const char *path, const char *cryo_path)
{
	size_t len = strlen(path);

	if (!strcmp(path, "/") || !strcmp(path, cryo_path))
		return false;
	return !(!strncmp(cryo_path, path, len) && cryo_path[len] == '/');
}

static int add_path(struct cgroup_list *l, const char *path)
{
	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->paths[i], path))
			return 0;
	if (l->nr == CGROUPS_MAX) {
		pr_err("dump: cgroup %s: the tree is in more than %d cgroups of its own", path,
		       CGROUPS_MAX);
		return -E2BIG;
	}
	l->paths[l->nr] = strdup(path);
	return l->paths[l->nr++] ? 0 : -ENOMEM;
}

int cgroup_list_add_own(struct cgroup_list *l, const char *path, const char *cryo_path)
{
	char p[PATH_MAX];
	int ret = 0;

	snprintf(p, sizeof(p), "%s", path);
	while (!ret && cgroup_is_own(p, cryo_path)) {
		char *slash = strrchr(p, '/');

		ret = add_path(l, p);
		if (slash == p)
			break;
		*slash = '\0';
	}
	return ret;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void cgroup_list_sort(struct cgroup_list *l)
{
	qsort(l->paths, l->nr, sizeof(l->paths[0]), by_path);
}

void cgroup_list_free(struct cgroup_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->paths[i]);
	l->nr = 0;
}

/* The value of @file of cgroup @dirfd, without its final newline; 1 when
 * the cgroup has no such file (its controller is not enabled there);
 * -EROFS for a file nobody may write (not a setting); -ENOTSUP for a
 * value of several lines restore could not write back. */
static int read_setting(int dirfd, const char *file, char *value, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	bool rules = !strcmp(file, "devices.list");
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 1 : -errno;
	if (fstat(fd, &st))
		return -errno;
	if (!(st.st_mode & 0222) && !rules)
		return -EROFS;
	n = read(fd, value, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n == size - 1)
		return -E2BIG;
	while (n > 0 && value[n - 1] == '\n')
		n--;
	value[n] = '\0';
	return !rules && strchr(value, '\n') ? -ENOTSUP : 0;
}

void cgroup_entry_free(CgroupEntry *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_settings; i++) {
		free(e->settings[i]->value);
		free(e->settings[i]);
	}
	free(e->settings);
	free(e->path);
	free(e);
}

/* Adds @file = @value to @e. */
static int add_setting(CgroupEntry *e, const char *file, const char *value)
{
	CgroupSetting *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	cgroup_setting__init(s);
	s->file = (char *)file;
	s->value = strdup(value);
	if (!s->value) {
		free(s);
		return -ENOMEM;
	}
	e->settings[e->n_settings++] = s;
	return 0;
}

int cgroup_entry_read(const char *dir, const char *path, const char *const *files, size_t nr,
		      CgroupEntry **out)
{
	_cleanup_free_ char *value = malloc(CGROUP_VALUE_MAX);
	_cleanup_close_ int dirfd = -1;
	CgroupEntry *e = calloc(1, sizeof(*e));
	int ret = 0;

	if (e)
		cgroup_entry__init(e);
	if (!e || !value || !(e->path = strdup(path)) ||
	    !(e->settings = calloc(nr ? nr : 1, sizeof(*e->settings)))) {
		cgroup_entry_free(e);
		return -ENOMEM;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		ret = pr_errno_ret("dump: cgroup %s: cannot open %s", path, dir);
	for (size_t i = 0; !ret && i < nr; i++) {
		ret = read_setting(dirfd, files[i], value, CGROUP_VALUE_MAX);
		if (ret == -EROFS || ret == -ENOTSUP) {
			pr_err("dump: cgroup %s: %s %s: not a setting restore can write back",
			       path, files[i], ret == -EROFS ? "is read-only" :
			       "holds several lines");
			break;
		}
		if (ret < 0) {
			pr_err("dump: cgroup %s: cannot read %s: %s", path, files[i],
			       strerror(-ret));
			break;
		}
		/* Absent, empty (inherited) or the default type: nothing to set. */
		if (!ret && value[0] &&
		    (strcmp(files[i], "cgroup.type") || strcmp(value, "domain")))
			ret = add_setting(e, files[i], value);
		ret = ret > 0 ? 0 : ret;
	}
	if (ret) {
		cgroup_entry_free(e);
		return ret;
	}
	pr_info("dump: cgroup %s (%s): %zu controller settings", path, dir, e->n_settings);
	*out = e;
	return 0;
}

int cgroup_entry_read_through(const struct cgroup_mounts *ms, const char *hierarchy,
			      const char *path, const char *const *files, size_t nr,
			      CgroupEntry **out)
{
	char dir[2 * PATH_MAX], roots[1024];
	int ret = cgroup_mounts_reach(ms, path, dir, sizeof(dir));

	*out = NULL;
	if (ret >= 0)
		return cgroup_entry_read(dir, path, files, nr, out);
	cgroup_mounts_say_roots(ms, roots, sizeof(roots));
	if (ret == -ENOENT && cgroup_mounts_above(ms, path)) {
		pr_info("dump: cgroup %s%s%s is above the roots of its mounts (%s): its settings "
			"are not saved", path, hierarchy[0] ? " in cgroup v1 hierarchy " : "",
			hierarchy, roots);
		return 0;
	}
	pr_err("dump: cgroup %s%s%s: no mount reaches it (mounted: %s)", path,
	       hierarchy[0] ? " in cgroup v1 hierarchy " : " of cgroup v2", hierarchy, roots);
	return ret;
}

static int write_entry(struct image_writer *w, const struct cgroup_mounts *ms,
		       const struct cgroup_files *files, const char *path)
{
	CgroupEntry *e = NULL;
	int ret = cgroup_entry_read_through(ms, "", path, files->names, files->nr, &e);

	if (!ret && e)
		ret = image_write_record(w, &e->base);
	cgroup_entry_free(e);
	return ret;
}

/* The cgroups of process @index's threads that are threaded cgroups of
 * their own. */
static int add_threads(struct cgroup_list *l, const struct cgroup_seen *seen, size_t index,
		       const char *cryo_path)
{
	const struct cgroup_seen_task *t = &seen->tasks[index];
	char process[PATH_MAX], path[PATH_MAX];
	int ret = 0;

	if (cgroup_seen_v2_path(seen, index, 0, process, sizeof(process)))
		return 0;
	for (size_t k = 0; !ret && k < t->nr_threads; k++)
		if (!cgroup_seen_v2_path(seen, index, t->threads[k].tid, path, sizeof(path)) &&
		    strcmp(path, process))
			ret = cgroup_list_add_own(l, path, cryo_path);
	return ret;
}

int cgroup_settings_dump(const struct tree *tree, const struct cgroup_seen *seen,
			 struct image_dir *dir, const struct cgroup_dump_plan *plan)
{
	char cryo_path[PATH_MAX], path[PATH_MAX];
	struct cgroup_list l = { .nr = 0 };
	struct cgroup_mounts ms = { 0 };
	struct image_writer *w = NULL;
	int ret = 0;

	if (!cgroup_plan_saves(plan, "") ||
	    cgroup2_path_in(seen->cryo_text, cryo_path, sizeof(cryo_path)))
		return 0;
	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE &&
		    !cgroup_seen_v2_path(seen, i, 0, path, sizeof(path)))
			ret = cgroup_list_add_own(&l, path, cryo_path);
	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			ret = add_threads(&l, seen, i, cryo_path);
	/* Parents sort before their children: restore makes them in order. */
	cgroup_list_sort(&l);
	if (!ret && l.nr) {
		ret = cgroup_plan_mounts(plan, "", &ms);
		/* Without cgroup v2 mounted, only the paths are saved. */
		if (ret == -ENOENT) {
			cgroup_list_free(&l);
			return 0;
		}
	}
	if (!ret && l.nr)
		ret = image_open_write(dir, IMG_CGROUPS, 0, &w);
	for (size_t i = 0; !ret && i < l.nr; i++)
		ret = write_entry(w, &ms, &plan->v2, l.paths[i]);
	if (w)
		ret = ret ? (image_abort(w), ret) : image_finish(w);
	cgroup_mounts_free(&ms);
	cgroup_list_free(&l);
	return ret;
}
