/* The controller settings of the tree's own cgroup v2 groups, saved in
 * cgroups.img at dump. Which cgroup a process is in is TaskCore.cgroup's
 * (dump_proc.c); the image's checks are cgroup_image.c's; restoring the
 * settings is restore/cgroup_props.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cgroup2.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/cgroup.pb-c.h"
#include "task/cgroup_settings.h"

/* More would be a tree spread over an unusual number of cgroups. */
#define CGROUPS_MAX 256

bool cgroup_is_own(const char *path, const char *cryo_path)
{
	size_t len = strlen(path);

	if (!strcmp(path, "/") || !strcmp(path, cryo_path))
		return false;
	return !(!strncmp(cryo_path, path, len) && cryo_path[len] == '/');
}

struct cgroup_list {
	char *paths[CGROUPS_MAX];
	size_t nr;
};

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

/* @path and each of its ancestors that is the tree's own. */
static int add_with_ancestors(struct cgroup_list *l, const char *path, const char *cryo_path)
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

/* The value of @file of cgroup @dirfd, without its final newline; 1 when
 * the cgroup has no such file (its controller is not enabled there). */
static int read_setting(int dirfd, const char *file, char *value, size_t size)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 1 : -errno;
	n = read(fd, value, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n == size - 1)
		return -E2BIG;
	value[n] = '\0';
	value[strcspn(value, "\n")] = '\0';
	return 0;
}

static int write_entry(struct image_writer *w, const char *mnt, const char *path)
{
	CgroupSetting settings[CGROUP_NR_SETTING_FILES], *ptrs[CGROUP_NR_SETTING_FILES];
	static char values[CGROUP_NR_SETTING_FILES][CGROUP_VALUE_MAX];
	CgroupEntry e = CGROUP_ENTRY__INIT;
	char dir[2 * PATH_MAX];
	_cleanup_close_ int dirfd = -1;
	int ret;

	snprintf(dir, sizeof(dir), "%s%s", mnt, path);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return pr_errno_ret("dump: cgroup %s: cannot open %s", path, dir);
	e.path = (char *)path;
	e.settings = ptrs;
	for (size_t i = 0; i < CGROUP_NR_SETTING_FILES; i++) {
		const char *file = cgroup_setting_files[i];

		ret = read_setting(dirfd, file, values[i], sizeof(values[i]));
		if (ret < 0) {
			pr_err("dump: cgroup %s: cannot read %s: %s", path, file, strerror(-ret));
			return ret;
		}
		/* Absent, empty (inherited) or the default type: nothing to set. */
		if (ret || !values[i][0] || (!strcmp(file, "cgroup.type") &&
					     !strcmp(values[i], "domain")))
			continue;
		cgroup_setting__init(&settings[e.n_settings]);
		settings[e.n_settings].file = (char *)file;
		settings[e.n_settings].value = values[i];
		ptrs[e.n_settings] = &settings[e.n_settings];
		e.n_settings++;
	}
	pr_info("dump: cgroup %s: %zu controller settings", path, e.n_settings);
	return image_write_record(w, &e.base);
}

/* The cgroups of @pid's threads that are threaded cgroups of their own. */
static int add_threads(struct cgroup_list *l, pid_t pid, const char *cryo_path)
{
	char dir_path[64], path[PATH_MAX], process[PATH_MAX];
	struct dirent *e;
	DIR *dir;
	int ret = 0;

	snprintf(dir_path, sizeof(dir_path), "/proc/%d/task", pid);
	if (cgroup2_path_of(pid, process, sizeof(process)) || !(dir = opendir(dir_path)))
		return 0;
	while (!ret && (e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid > 0 && !cgroup2_path_of_thread(pid, tid, path, sizeof(path)) &&
		    strcmp(path, process))
			ret = add_with_ancestors(l, path, cryo_path);
	}
	closedir(dir);
	return ret;
}

int cgroup_settings_dump(const struct tree *tree, struct image_dir *dir)
{
	char mnt[PATH_MAX], cryo_path[PATH_MAX], path[PATH_MAX];
	struct cgroup_list l = { .nr = 0 };
	struct image_writer *w = NULL;
	int ret = 0;

	if (cgroup2_mount(mnt, sizeof(mnt)) || cgroup2_path_of(getpid(), cryo_path,
							      sizeof(cryo_path)))
		return 0;
	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE &&
		    !cgroup2_path_of(tree->tasks[i].pid, path, sizeof(path)))
			ret = add_with_ancestors(&l, path, cryo_path);
	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			ret = add_threads(&l, tree->tasks[i].pid, cryo_path);
	/* Parents sort before their children: restore makes them in order. */
	qsort(l.paths, l.nr, sizeof(l.paths[0]), by_path);
	if (!ret && l.nr)
		ret = image_open_write(dir, IMG_CGROUPS, 0, &w);
	for (size_t i = 0; !ret && i < l.nr; i++)
		ret = write_entry(w, mnt, l.paths[i]);
	if (w)
		ret = ret ? (image_abort(w), ret) : image_finish(w);
	for (size_t i = 0; i < l.nr; i++)
		free(l.paths[i]);
	return ret;
}
