/* The tree's cgroup v1 hierarchies at dump (cgroups_v1.img): in each one
 * mounted here (at its root, or binds of a cgroup below it; mounted nowhere,
 * through a mount of cryo's own) or in the --cgroup-yard, every live process's cgroup and each thread's that is not
 * its process's, and the settings of the tree's own cgroups there (not
 * cryo's or an ancestor of it, as for v2). Restoring them is
 * restore/cgroups_v1.c's; the image's checks are cgroup_image.c's. */
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cgroup1.h"
#include "common/log.h"
#include "task/cgroup_plan.h"
#include "task/cgroup_seen.h"
#include "task/cgroup_settings.h"

/* One v1 hierarchy while the dump gathers it. */
struct v1_hierarchy {
	struct cgroup_line cryo;	/* its controllers, and cryo's cgroup there */
	struct cgroup_mounts mounts;
	CgroupV1Member *members;
	size_t nr_members, cap;
	bool differs;			/* some member is not in cryo's cgroup */
	struct cgroup_list own;
};

struct v1_dump {
	struct v1_hierarchy h[CGROUP_HIERARCHIES_MAX];
	size_t nr;
	const struct cgroup_seen *seen;
	struct cgroup_line lines[CGROUP_HIERARCHIES_MAX];	/* a thread's */
	struct cgroup_line process[CGROUP_HIERARCHIES_MAX];	/* its process's */
	size_t nr_process;
};

static int add_member(struct v1_hierarchy *h, pid_t pid, pid_t tid, const char *path)
{
	CgroupV1Member *m;

	if (h->nr_members == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		CgroupV1Member *more = realloc(h->members, cap * sizeof(*more));

		if (!more)
			return -ENOMEM;
		h->members = more;
		h->cap = cap;
	}
	m = &h->members[h->nr_members];
	cgroup_v1_member__init(m);
	m->pid = pid;
	m->has_tid = tid > 0;
	m->tid = tid;
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	h->nr_members++;
	h->differs |= strcmp(path, h->cryo.path) != 0;
	return 0;
}

/* The line of @lines (@nr) of hierarchy @controllers; NULL if none. */
static const struct cgroup_line *line_of(const struct cgroup_line *lines, size_t nr,
					 const char *controllers)
{
	for (size_t i = 0; i < nr; i++)
		if (lines[i].hierarchy && !strcmp(lines[i].controllers, controllers))
			return &lines[i];
	return NULL;
}

/* Adds the tree's process @index (@tid 0) or its thread @tid to each
 * hierarchy; a thread only where it is not in its process's cgroup. */
static int add_task(struct v1_dump *d, size_t index, pid_t pid, pid_t tid)
{
	size_t nr;
	int ret = cgroup_seen_lines(d->seen, index, tid, tid ? d->lines : d->process, &nr);

	if (ret)
		return ret;
	if (!tid)
		d->nr_process = nr;
	for (size_t i = 0; !ret && i < d->nr; i++) {
		struct v1_hierarchy *h = &d->h[i];
		const struct cgroup_line *l = line_of(tid ? d->lines : d->process, nr,
						      h->cryo.controllers);
		const struct cgroup_line *p = line_of(d->process, d->nr_process,
						      h->cryo.controllers);

		if (!l || !p) {
			pr_err("dump: pid %d: %s %d has no cgroup in hierarchy %s", pid,
			       tid ? "thread" : "process", tid ? tid : pid, h->cryo.controllers);
			return -EIO;
		}
		if (!tid || strcmp(l->path, p->path))
			ret = add_member(h, pid, tid, l->path);
	}
	return ret;
}

/* The threads of process @index whose cgroups are not its process's. */
static int add_threads(struct v1_dump *d, size_t index, pid_t pid)
{
	const struct cgroup_seen_task *t = &d->seen->tasks[index];
	int ret = 0;

	for (size_t k = 0; !ret && k < t->nr_threads; k++)
		ret = add_task(d, index, pid, t->threads[k].tid);
	return ret;
}

/* The v1 hierarchies cryo is in that @plan saves. */
static void find_hierarchies(struct v1_dump *d, const struct cgroup_dump_plan *plan)
{
	size_t nr;

	cgroup_lines_parse(d->seen->cryo_text, d->lines, &nr);
	for (size_t i = 0; i < nr; i++) {
		if (!d->lines[i].hierarchy)
			continue;
		if (!cgroup_plan_saves(plan, d->lines[i].controllers)) {
			pr_info("dump: cgroup v1 hierarchy %s: not saved "
				"(--cgroup-dump-controller)", d->lines[i].controllers);
			continue;
		}
		d->h[d->nr++].cryo = d->lines[i];
	}
}

/* The record of @h: its members, and its own cgroups with the settings of
 * its controllers among @plan's files. */
static int write_hierarchy(struct image_writer *w, struct v1_hierarchy *h,
			   const struct cgroup_dump_plan *plan)
{
	const char *files[CGROUP_PLAN_FILES_MAX];
	CgroupV1Member **members = calloc(h->nr_members, sizeof(*members));
	CgroupEntry **cgroups = NULL;
	CgroupV1Hierarchy rec = CGROUP_V1_HIERARCHY__INIT;
	size_t nr_files = 0;
	int ret = members ? 0 : -ENOMEM;

	for (size_t i = 0; i < plan->v1.nr; i++)
		if (cgroup_v1_file_applies(plan->v1.names[i], h->cryo.controllers))
			files[nr_files++] = plan->v1.names[i];
	for (size_t i = 0; !ret && i < h->nr_members; i++) {
		members[i] = &h->members[i];
		ret = cgroup_list_add_own(&h->own, h->members[i].path, h->cryo.path);
	}
	cgroup_list_sort(&h->own);
	if (!ret && h->own.nr && !(cgroups = calloc(h->own.nr, sizeof(*cgroups))))
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < h->own.nr; i++) {
		ret = cgroup_entry_read_through(&h->mounts, h->cryo.controllers, h->own.paths[i],
						files, nr_files, &cgroups[rec.n_cgroups]);
		/* One above the mounts' roots is left out. */
		rec.n_cgroups += !ret && cgroups[rec.n_cgroups];
	}
	rec.controllers = h->cryo.controllers;
	rec.members = members;
	rec.n_members = h->nr_members;
	rec.cgroups = cgroups;
	if (!ret)
		ret = image_write_record(w, &rec.base);
	if (!ret)
		pr_info("dump: cgroup v1 hierarchy %s: %zu members, %zu cgroups of the tree's own",
			h->cryo.controllers, h->nr_members, rec.n_cgroups);
	for (size_t i = 0; i < rec.n_cgroups; i++)
		cgroup_entry_free(cgroups[i]);
	free(cgroups);
	free(members);
	return ret;
}

/* The mounts of each hierarchy whose members are not all in cryo's
 * cgroup (cryo's own for one mounted nowhere: cgroup_plan.c); one cryo
 * could not reach is not saved (said). */
static int find_mounts(struct v1_dump *d, const struct cgroup_dump_plan *plan)
{
	for (size_t i = 0; i < d->nr; i++) {
		struct v1_hierarchy *h = &d->h[i];
		int ret = h->differs ? cgroup_plan_mounts(plan, h->cryo.controllers,
							  &h->mounts) : 0;

		/* Not in the yard (said), or out of memory. */
		if (ret == -ENOMEM || (ret && plan->yard))
			return ret;
		if (ret == -ENOENT)
			pr_warn("dump: cgroup v1 hierarchy %s is not mounted here: not saved",
				h->cryo.controllers);
		else if (ret)
			pr_warn("dump: cgroup v1 hierarchy %s is mounted nowhere, and cryo cannot "
				"mount it (%s): not saved", h->cryo.controllers, strerror(-ret));
		h->differs &= !ret;
	}
	return 0;
}

static void free_dump(struct v1_dump *d)
{
	for (size_t i = 0; i < d->nr; i++) {
		for (size_t m = 0; m < d->h[i].nr_members; m++)
			free(d->h[i].members[m].path);
		free(d->h[i].members);
		cgroup_list_free(&d->h[i].own);
		cgroup_mounts_free(&d->h[i].mounts);
	}
	free(d);
}

int cgroup_v1_dump(const struct tree *tree, const struct cgroup_seen *seen,
		   struct image_dir *dir, const struct cgroup_dump_plan *plan)
{
	struct v1_dump *d = calloc(1, sizeof(*d));
	struct image_writer *w = NULL;
	bool any = false;
	int ret = d ? 0 : -ENOMEM;

	if (d) {
		d->seen = seen;
		find_hierarchies(d, plan);
	}
	for (size_t i = 0; !ret && d->nr && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE) {
			ret = add_task(d, i, tree->tasks[i].pid, 0);
			if (!ret)
				ret = add_threads(d, i, tree->tasks[i].pid);
		}
	if (!ret)
		ret = find_mounts(d, plan);
	for (size_t i = 0; !ret && d && i < d->nr; i++)
		any |= d->h[i].differs;
	if (!ret && any)
		ret = image_open_write(dir, IMG_CGROUPS_V1, 0, &w);
	for (size_t i = 0; !ret && any && i < d->nr; i++)
		if (d->h[i].differs)
			ret = write_hierarchy(w, &d->h[i], plan);
	if (w)
		ret = ret ? (image_abort(w), ret) : image_finish(w);
	if (d)
		free_dump(d);
	return ret;
}
