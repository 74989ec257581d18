/* --manage-cgroups for the cgroup v1 hierarchies the dump saved
 * (cgroups_v1.img): each must exist here (reached through its mounts, or,
 * mounted nowhere, through one of cryo's own); its tree's own cgroups are
 * checked, made and set by the mode and --cgroup-root as the unified
 * one's (cgroups.c), then each process is moved into its cgroup through
 * cgroup.procs, and a thread in a cgroup of its own through that one's
 * tasks. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "restore/cgroups.h"

/* The member of @h that is process @pid (@tid 0) or its thread @tid. */
static const CgroupV1Member *member_of(const CgroupV1Hierarchy *h, pid_t pid, pid_t tid)
{
	for (size_t i = 0; i < h->n_members; i++) {
		const CgroupV1Member *m = h->members[i];

		if (m->pid == pid && (m->has_tid ? m->tid : 0) == tid)
			return m;
	}
	return NULL;
}

/* Whether member @m is a live process of the tree, or one of its threads. */
static bool member_is_known(const struct restore_set *rs, const CgroupV1Member *m)
{
	for (size_t i = 0; i < rs->tree.nr; i++) {
		const TaskCore *core = rs->tasks[i].core;

		if (rs->tree.tasks[i].state != TREE_ALIVE || !core || rs->tasks[i].pid != m->pid)
			continue;
		if (!m->has_tid)
			return true;
		for (size_t t = 0; t < core->n_threads; t++)
			if (core->threads[t]->tid == m->tid)
				return true;
	}
	return false;
}

static int prepare_hierarchy(struct restore_cgroups *cg, const struct restore_set *rs,
			     struct cg_hierarchy *h, const struct cgroup_root_opt *roots,
			     size_t nr_roots)
{
	const CgroupV1Hierarchy *saved = h->saved;
	const CgroupV1Member *root = rs->tree.nr ? member_of(saved, rs->tasks[0].pid, 0) : NULL;
	int ret;

	if (cg_find_mounts(cg, h))
		return -ENOENT;
	ret = cg_pick_root(h, roots, nr_roots, root ? root->path : NULL);
	for (size_t i = 0; !ret && i < saved->n_cgroups; i++)
		ret = cg_settle(cg, h, saved->cgroups[i]);
	for (size_t i = 0; !ret && i < saved->n_members; i++) {
		const CgroupV1Member *m = saved->members[i];

		ret = member_is_known(rs, m) ? cg_ensure(cg, h, m->pid, m->path) : -EBADMSG;
		if (ret == -EBADMSG && m->has_tid)
			pr_err("restore: cgroups_v1.img: hierarchy %s names pid %d thread %d, "
			       "not a thread of the tree", saved->controllers, m->pid, m->tid);
		else if (ret == -EBADMSG)
			pr_err("restore: cgroups_v1.img: hierarchy %s names pid %d, not a live "
			       "process of the tree", saved->controllers, m->pid);
	}
	return ret;
}

int cgroups_v1_prepare(struct restore_cgroups *cg, const struct restore_set *rs,
		       const struct cgroup_root_opt *roots, size_t nr_roots)
{
	const struct image *img = rs->cgroup_v1_img;
	int ret = 0;

	if (img && img->nr_records > CGROUP_HIERARCHIES_MAX) {
		pr_err("restore: cgroups_v1.img: %zu hierarchies, at most %d", img->nr_records,
		       CGROUP_HIERARCHIES_MAX);
		return -EBADMSG;
	}
	for (size_t i = 0; !ret && img && i < img->nr_records; i++) {
		struct cg_hierarchy *h = &cg->v1[cg->nr_v1++];

		h->saved = (const CgroupV1Hierarchy *)img->records[i].msg;
		h->controllers = h->saved->controllers;
		ret = prepare_hierarchy(cg, rs, h, roots, nr_roots);
	}
	return ret;
}

int cgroups_v1_join(const struct restore_cgroups *cg, const struct restore_task *rt)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < cg->nr_v1; i++) {
		const struct cg_hierarchy *h = &cg->v1[i];
		const CgroupV1Member *m = member_of(h->saved, rt->pid, 0);

		if (m)
			ret = cg_move(h, m->path, "cgroup.procs", rt->host_pid, rt->pid, 0);
		/* Then each thread not in its process's cgroup (the move above
		 * took them all along). */
		for (size_t j = 0; !ret && j < h->saved->n_members; j++) {
			m = h->saved->members[j];
			if (m->pid == rt->pid && m->has_tid)
				ret = cg_move(h, m->path, "tasks", cg_host_tid(rt, m->tid), rt->pid,
					      m->tid);
		}
	}
	return ret;
}
