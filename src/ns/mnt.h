/* Mount namespaces: a tree's own mounts, read from /proc/PID/mountinfo at
 * dump and saved in mnt.img (with the files of each tmpfs), and built again
 * at restore in a new mount namespace of cryo's, which the tree's processes
 * are then created in. What is a mount of cryo's own namespace (kept as it
 * is) and what is made again is decided here. Not the /proc of a new pid
 * namespace, which its first process mounts (restore/pid_ns_root.c,
 * restore/clone.c). */
#ifndef CRYO_NS_MNT_H
#define CRYO_NS_MNT_H

struct ns_user_set;

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"

/* ---- dump ----------------------------------------------------------------- */

struct libmnt_table;

/* cryo's own mount table and namespace, noted before cryo enters any of
 * the tree's: what the tree's mounts are compared with. Owned by the
 * dump (cmd_dump) and inherited by a dumper it forks into the tree's
 * namespaces. */
struct mnt_caller {
	struct libmnt_table *table;
	uint64_t ns;
	/* criu's root (RPC): the folder the tree's namespace has as its root,
	 * as cryo sees it; 0s when not given. */
	dev_t root_dev;
	ino_t root_ino;
	const char *root;
	/* criu's ext_mnt at dump: the tree's mount point -> the key restore
	 * is given its folder by (runc: the mount point again). */
	const struct opt_pair *ext;
	int nr_ext;
	/* criu's --skip-mnt (mount points left out) and --enable-fs
	 * (filesystem types mounted anew, or "all"), as cryo_opts has them. */
	const char *const *skip;
	int nr_skip;
	const char *const *enable_fs;
	int nr_enable_fs;
};

struct opt_pair;
/* Notes criu's root (@root may be NULL) and ext_mnt pairs in @c. */
int mnt_caller_set_runtime(struct mnt_caller *c, const char *root, const struct opt_pair *ext,
			   int nr_ext);

int mnt_caller_snapshot(struct mnt_caller *c);
void mnt_caller_free(struct mnt_caller *c);

/* Whether every mount @pid sees is one of cryo's (noted by
 * mnt_caller_snapshot()): the same filesystem, folder and mount point. A
 * namespace cryo made for itself (a private copy with a mount for its
 * images) holds the tree's mounts, and cryo dumps it from where it is. */
int mnt_all_callers(const struct mnt_caller *c, pid_t pid, bool *all);

/* The mounts --skip-mnt left out of a dump, by id (mnt_dump()). */
struct mnt_skipped {
	struct mnt_skipped_one {
		uint32_t id;
		char *mountpoint;
	} *mounts;
	size_t nr;
};

/* When the root @pid (as this process sees it) is in another mount
 * namespace than @c (mnt_caller_snapshot()), writes mnt.img and
 * the files of each tmpfs made again, or refuses, naming the mount, one
 * cryo cannot make: "dump: pid 12: mount 345 (/data, ext4 on /dev/vdb):
 * ...". Nothing is written when every mount is the caller's. The mounts
 * at a --skip-mnt point are left out, into @skipped (freed with
 * mnt_skipped_free()); one below them that is not is refused. */
int mnt_dump(const struct mnt_caller *c, pid_t pid, uint64_t mnt_ns, struct image_dir *dir,
	     struct mnt_skipped *skipped);
/* mnt_skip.c: refuses, naming it, an fd, mapping, cwd, root or executable
 * of process @pid on a mount @skipped holds: restore would find another
 * file (or none) at its path. */
int mnt_skipped_check(const struct mnt_skipped *skipped, pid_t pid);
/* The mount left out with mount id @id; NULL: none. */
const struct mnt_skipped_one *mnt_skipped_find(const struct mnt_skipped *skipped, uint64_t id);
void mnt_skipped_free(struct mnt_skipped *skipped);

/* ---- restore --------------------------------------------------------------- */

struct mnt_set;

/* Reads and checks mnt.img and opens the files of its tmpfs mounts; *@out
 * is NULL for an image without one (the tree was in cryo's namespace). */
int mnt_load(struct image_dir *dir, struct mnt_set **out);
void mnt_free(struct mnt_set *set);

/* Moves cryo into a new mount namespace, a slave copy of its own, and
 * makes every mount of @set in it, parents first. The tree's processes,
 * created next, are born in it. On failure cryo is left in that namespace,
 * which goes with it. */
struct ns_externals;
/* A bind whose mount point or ext_mnt key @externals names (--external
 * mnt[KEY]:PATH) is bound from that folder of cryo's namespace. */
int mnt_restore(struct mnt_set *set, const char *root, const struct ns_user_set *userns,
		const struct ns_externals *externals);

/* @root (criu's root, runc's rootfs) is where the tree's mounts go when its
 * namespace had the root its dump was given; mnt_root() says it, NULL
 * otherwise. The first process of the tree's new pid namespace, in that
 * namespace, then mounts its /proc and the mounts below it
 * (mnt_proc_mount(), -errno) and moves into the root
 * (mnt_enter_root(): pivot_root, the old root detached). */
const char *mnt_root(const struct mnt_set *set);
bool mnt_has_below_proc(const struct mnt_set *set);
int mnt_enter_root(const struct mnt_set *set);
/* In the first process of a new pid namespace, in the tree's mount
 * namespace: a /proc of that pid namespace, with the flags and options
 * (hidepid=, subset=pid, gid=) of the tree's own (@set may be NULL);
 * -errno, not logged. */
int mnt_proc_mount(struct mnt_set *set);
/* The pty masters mnt_restore() opened to bind a slave before the files'
 * restore makes its pair (struct ns_held_pty); the set keeps them. */
struct ns_held_pty *mnt_held_ptys(struct mnt_set *set, size_t *nr);
/* For a tree left in cryo's pid namespace: says (a warning) that its
 * /proc's options are not made again, if it had any. */
void mnt_proc_warn_kept(const struct mnt_set *set);

/* Once the tree's files are open in the namespace mnt_restore() made: *@fd
 * (at or above @base) keeps it for the tree's first process, which enters
 * it (setns), and cryo moves on to a copy of it, so that the /proc that
 * process mounts there is not cryo's. */
int mnt_keep_for_tree(int base, int *fd);

extern const struct image_kind_set ns_image_kinds;

#endif
