/* A tree's own cgroup namespace (cgroupns.img): its root on every cgroup
 * hierarchy, saved at dump as the path cryo sees, and made again at
 * restore by a child that joins those cgroups and unshares it. */
#ifndef CRYO_NS_CGROUP_NS_H
#define CRYO_NS_CGROUP_NS_H

#include <sys/types.h>

#include "images/image.h"
#include "ns/ns.h"

struct ns_user_set;
struct ns_cgroup_set;

/* Writes cgroupns.img when the root @pid's cgroup namespace is not cryo's. */
int ns_cgroup_dump(pid_t pid, const struct ns_ids *ids, struct image_dir *dir);
/* Reads it; *@out NULL without one. */
int ns_cgroup_load(const struct image_dir *dir, struct ns_cgroup_set **out);
void ns_cgroup_free(struct ns_cgroup_set *set);
/* Once the tree's cgroups exist: makes the namespace (inside @userns when
 * it owns it) and enters it, for the processes cryo creates next; cryo's
 * own is kept for ns_cgroup_leave(). Each root is reached as the tree's
 * cgroups are (cgroup_mounts_lookup(), with --cgroup-yard @yard): a
 * hierarchy's root mount, a bind of a cgroup below it, or a mount of cryo's
 * own for one mounted nowhere. A root cgroup that does not exist, or that
 * no mount reaches, fails, naming it. */
int ns_cgroup_make(struct ns_cgroup_set *set, const struct ns_user_set *userns,
		   const char *yard);
void ns_cgroup_leave(struct ns_cgroup_set *set);

#endif
