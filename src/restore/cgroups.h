/* The hierarchies --manage-cgroups puts processes into, shared by the
 * unified one's restore (cgroups.c) and the v1 ones' (cgroups_v1.c):
 * placing a saved cgroup (--cgroup-root), making, setting and joining
 * one by the mode, and the undo of a failed restore. */
#ifndef CRYO_RESTORE_CGROUPS_H
#define CRYO_RESTORE_CGROUPS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/cgroup1.h"
#include "images/proto/cgroup.pb-c.h"
#include "restore/restore.h"

struct cgroup_root_opt;

struct cg_hierarchy {
	const char *controllers;	/* a v1 one's ("cpu", "name=x"); "" the unified */
	struct cgroup_mounts mounts;	/* where its cgroups are reached */
	/* --cgroup-root: the root process's cgroup @from, and those below
	 * it, go below @to instead; @to NULL: where they were. */
	char from[PATH_MAX];
	const char *to;
	const CgroupV1Hierarchy *saved;	/* a v1 one's record */
};

#define CGROUPS_CREATED_MAX 256

struct restore_cgroups {
	const char *mode;	/* criu's: none, props, soft, full, strict */
	const char *yard;	/* --cgroup-yard; NULL: mounts found in mountinfo */
	struct cg_hierarchy v2;
	bool has_v2;
	struct cg_hierarchy v1[CGROUP_HIERARCHIES_MAX];
	size_t nr_v1;
	char *created[CGROUPS_CREATED_MAX];	/* in the order made */
	size_t nr_created;
	struct cgroup_undo *undo;	/* settings changed in existing cgroups */
};

/* @h's mounts (cgroup_mounts_lookup(): the yard's, mountinfo's, or cryo's
 * own); -errno (said) when it has none. */
int cg_find_mounts(const struct restore_cgroups *cg, struct cg_hierarchy *h);
/* Where saved cgroup @path of @h goes (into @buf, or @path itself). */
const char *cg_placed(const struct cg_hierarchy *h, const char *path, char *buf, size_t size);
/* @h's --cgroup-root among @roots (one naming a controller of it, else
 * one naming none), and @root_cgroup, the root process's saved cgroup
 * there, as @h->from. Two roots for one hierarchy fail. */
int cg_pick_root(struct cg_hierarchy *h, const struct cgroup_root_opt *roots, size_t nr_roots,
		 const char *root_cgroup);
/* Saved cgroup @e of the tree's own, by the mode: checked, made, set. */
int cg_settle(struct restore_cgroups *cg, const struct cg_hierarchy *h, const CgroupEntry *e);
/* The saved cgroup of process @pid made where it goes, when missing and
 * the mode allows. */
int cg_ensure(struct restore_cgroups *cg, const struct cg_hierarchy *h, pid_t pid,
	      const char *cgroup);
/* Writes @id into @file ("cgroup.procs", "cgroup.threads", "tasks") of
 * saved cgroup @cgroup where it went; fails naming process @pid (and
 * thread @tid). */
int cg_move(const struct cg_hierarchy *h, const char *cgroup, const char *file, pid_t id,
	    pid_t pid, pid_t tid);
/* The tid cryo sees of saved thread @tid of @rt; -ESRCH if none. */
pid_t cg_host_tid(const struct restore_task *rt, pid_t tid);

/* cgroups_v1.c: the saved v1 hierarchies (cgroups_v1.img), each mounted
 * here, set up by the mode; and moving @rt into its v1 cgroups. */
int cgroups_v1_prepare(struct restore_cgroups *cg, const struct restore_set *rs,
		       const struct cgroup_root_opt *roots, size_t nr_roots);
int cgroups_v1_join(const struct restore_cgroups *cg, const struct restore_task *rt);

#endif
