/* A tree's own user namespace (userns.img): one level below cryo's, shared
 * by every process of the tree. Saved at dump (maps, setgroups, owner, and
 * which of the tree's other namespaces belong to it); at restore made
 * first, by a short-lived child, so that the namespaces it owns are made
 * from inside it and the processes enter it. Not the processes' ids:
 * those stay as cryo's namespace sees them in core images. */
#ifndef CRYO_NS_USER_H
#define CRYO_NS_USER_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"
#include "ns/ns.h"

/* userns.img and cgroupns.img (user_image.c). */
extern const struct image_kind_set ns_user_image_kinds;

/* The most lines a uid_map or gid_map takes (the kernel's limit). */
#define NS_USER_MAP_MAX 340
/* The kinds a tree's user namespace may own (userns.img's owned_kinds). */
#define NS_USER_OWNABLE                                                                   \
	(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID |         \
	 CLONE_NEWCGROUP | CLONE_NEWTIME)

struct ns_user_extent {
	uint32_t inside, outside, count;
};

struct ns_user_set {
	struct ns_user_extent uid[NS_USER_MAP_MAX], gid[NS_USER_MAP_MAX];
	size_t nr_uid, nr_gid;
	bool setgroups_allow;
	uint32_t owner;
	uint32_t owned_kinds;
	/* Restore: the namespace made (ns_user_make()), -1 before. */
	int fd;
	/* Restore: files are opened without the task's capabilities, which
	 * hold inside the namespace only (an unsigned set of a user). */
	bool fs_caps_off;
};

/* ---- dump ----------------------------------------------------------------- */

/* Checks the user namespace of the root @pid (@ids): cryo's, or one a
 * level below it whose tree's other namespaces belong to it or to cryo's.
 * *@threads_ok says whether its processes may have threads (their tids are
 * chosen from inside: the pid namespace must be the user namespace's).
 * -EOPNOTSUPP, said by name, otherwise. */
int ns_user_check_root(pid_t pid, const struct ns_ids *ids, bool *threads_ok);
/* Writes userns.img when the root @pid's user namespace is not cryo's. */
int ns_user_dump(pid_t pid, const struct ns_ids *ids, struct image_dir *dir);

/* ---- restore -------------------------------------------------------------- */

/* Reads userns.img; *@out NULL without one. */
int ns_user_load(const struct image_dir *dir, struct ns_user_set **out);
void ns_user_free(struct ns_user_set *set);
/* For an unsigned set of the non-root @owner whose groups are @groups:
 * every id outside the maps name must be its own. */
int ns_user_check_owner(const struct ns_user_set *set, uid_t owner, const gid_t *groups,
			int nr_groups);
/* Makes the namespace, its maps written; its fd in set->fd, at or above
 * @base. */
int ns_user_make(struct ns_user_set *set, int base);
void ns_user_close(struct ns_user_set *set);
/* unshare(@flags) for cryo, but the kinds @set owns are made inside it
 * (by a child) and entered: cryo stays in its own user namespace. */
int ns_user_unshare(const struct ns_user_set *set, int flags);
/* A new time namespace for cryo's children, made inside @set when @set
 * owns one, its @offsets ("monotonic S N\nboottime S N\n") written
 * before cryo enters it (setns: cryo is in it too, not only its children). */
int ns_user_make_time(const struct ns_user_set *set, const char *offsets);
/* cryo's euid and egid become those of @set's root as cryo sees them, for
 * what the kernel lets only that root do (an IPC namespace's sysctls);
 * with @back, root again. Nothing without @set or when cryo is not root. */
int ns_user_become_root(const struct ns_user_set *set, bool back);
/* For a tree without mounts of its own to make (no mnt.img) whose mount
 * namespace belonged to its user namespace: a copy of cryo's, made inside
 * it, which cryo enters. */
int ns_user_copy_mounts(const struct ns_user_set *set);
/* Whether the tree's processes are born inside @set: its pid namespace is
 * the user namespace's, whose init only a process inside may create
 * (restore/pid_ns_root.c), and every other process descends from it. */
static inline bool ns_user_born_inside(const struct ns_user_set *set)
{
	return set && (set->owned_kinds & CLONE_NEWPID);
}
/* The id inside of @outside (a uid with @gid false); -ERANGE unmapped. */
int ns_user_inside(const struct ns_user_set *set, bool gid, uint32_t outside, uint32_t *inside);
/* The fd a process enters the namespace by; -1 with none. */
static inline int ns_user_fd(const struct ns_user_set *set)
{
	return set ? set->fd : -1;
}

#endif
