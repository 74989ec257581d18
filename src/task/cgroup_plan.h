/* What a dump saves of cgroups, from criu's options (cgroup_plan.c):
 * --cgroup-props and --cgroup-props-file (which files of each controller,
 * against the defaults of cgroup_image.c), --cgroup-dump-controller (which
 * hierarchies) and --cgroup-yard (where they are mounted). Made by cmd_dump
 * before the tree is touched; the dumps are cgroup_settings.c's and
 * cgroup_v1.c's. */
#ifndef CRYO_TASK_CGROUP_PLAN_H
#define CRYO_TASK_CGROUP_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cgroup1.h"
#include "task/cgroup_settings.h"

struct cryo_opts;

/* The setting files one kind of hierarchy saves, in the order restore
 * writes them; names are the defaults' or point into the plan's texts. */
#define CGROUP_PLAN_FILES_MAX CGROUP_SETTINGS_MAX
struct cgroup_files {
	const char *names[CGROUP_PLAN_FILES_MAX];
	size_t nr;
};

/* The mounts of one of cryo's hierarchies, found in cryo's mount namespace
 * (or its folder in --cgroup-yard) before the dump enters any namespace of
 * the tree: the dump reaches them through an fd of cryo's root folder
 * (/proc/self/fd/N/POINT) from the tree's mount namespace too, where a
 * container's binds may not reach the tree's cgroups. No mount is held
 * open: others may unmount theirs meanwhile. */
struct cgroup_hierarchy_mounts {
	char controllers[256];
	struct cgroup_mounts mounts;	/* none: not mounted (not in the yard) */
};

struct cgroup_dump_plan {
	struct cgroup_files v2, v1;
	char *texts[2];			/* --cgroup-props's and the file's, parsed in place */
	const char *const *controllers;	/* --cgroup-dump-controller; none: every one */
	size_t nr_controllers;
	const char *yard;
	struct cgroup_hierarchy_mounts *hierarchies;
	size_t nr_hierarchies;
	int root_fd;			/* cryo's "/", O_PATH */
};

/* The plan of @opts' options; fails (said) on a bad --cgroup-props. A
 * plan not made yet is { .root_fd = -1 }; cgroup_plan_free() takes both. */
int cgroup_plan_make(const struct cryo_opts *opts, struct cgroup_dump_plan *plan);
void cgroup_plan_free(struct cgroup_dump_plan *plan);

/* Whether hierarchy @controllers ("" the unified one) is saved: every one
 * without --cgroup-dump-controller, else those it names exactly as
 * /proc/PID/cgroup does ("cpu,cpuacct", "name=systemd"; "" or "unified"
 * for cgroup v2), as criu. */
bool cgroup_plan_saves(const struct cgroup_dump_plan *plan, const char *controllers);

/* The mounts the dump reads hierarchy @controllers through (a copy, freed
 * by the caller; the root fd stays the plan's): those the plan found
 * (cgroup_mounts_lookup()), else, for a v1 hierarchy mounted nowhere, a
 * mount of cryo's own attached nowhere (the caller's, closed when freed).
 * Without a yard, -errno unsaid when there are none (-ENOENT: not mounted
 * or gone, else why cryo could not mount it); -EINVAL (said) when the
 * yard has no mount of it. */
int cgroup_plan_mounts(const struct cgroup_dump_plan *plan, const char *controllers,
		       struct cgroup_mounts *out);

/* Applies criu's props @spec (parsed in place) to @v2 and @v1: per
 * controller, its files replace that controller's ("strategy":
 * "replace") where the first of them was, or are added after them
 * ("merge"). 0, or -EINVAL with why into @why. */
int cgroup_props_apply(char *spec, struct cgroup_files *v2, struct cgroup_files *v1, char *why,
		       size_t len);

#endif
