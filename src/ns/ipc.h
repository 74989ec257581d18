/* A tree's own IPC namespace: at dump, its sysctls (ipc-ns.img) and every
 * SysV semaphore set and message queue in it (ipc/sysv_objects.h), with
 * cryo inside it while the SysV segments are saved; at restore, a new IPC
 * namespace that cryo makes for itself (unshare) before any process exists,
 * fills, and in which every process of the tree is then born. A tree in
 * cryo's own IPC namespace saves none of this (ipc-ns.img is absent). */
#ifndef CRYO_NS_IPC_H
#define CRYO_NS_IPC_H

struct ns_user_set;

#include <stdbool.h>
#include <sys/types.h>

#include "images/image.h"

/* The sysctls of an IPC namespace that are saved, by path below /proc/sys,
 * NULL-terminated; the *_next_id ones are written last at restore. */
extern const char *const ipc_ns_sysctls[];
bool ipc_ns_sysctl_known(const char *name);
/* ipc-ns.img: one record; known names, each once; values of digits,
 * blanks and '-'. */
int ipc_ns_image_check(const struct image *img, const struct image_dir *dir, int id);

/* When @root's IPC namespace is not cryo's: enters it, writes ipc-ns.img
 * and the namespace's semaphore sets, message queues and POSIX message
 * queues, and stays inside (so that all its segments are saved
 * from there) until ipc_ns_dump_leave(*@back). *@back
 * is -1 when cryo did not move. */
int ipc_ns_dump(pid_t root, struct image_dir *dir, int *back);
int ipc_ns_dump_leave(int back);

/* The namespace of a dump being restored, read and checked. */
struct ipc_ns_set;
int ipc_ns_load(const struct image_dir *dir, struct ipc_ns_set **out);
/* Nothing when the dump has no namespace of its own. Otherwise, in cryo,
 * before any process exists: unshare(CLONE_NEWIPC), the namespace's
 * limits, its semaphore sets, message queues and POSIX message queues. cryo stays inside until
 * ipc_ns_leave(): its children are born there. */
int ipc_ns_make(struct ipc_ns_set *set, const struct ns_user_set *userns);
/* Once the SysV segments are made: the saved *_next_id values. */
int ipc_ns_fill_next_ids(struct ipc_ns_set *set);
/* Takes cryo back to its own IPC namespace (nothing if it never left).
 * A failed restore's namespace dies with its last process. */
void ipc_ns_leave(struct ipc_ns_set *set);
void ipc_ns_free(struct ipc_ns_set *set);
/* The tree joins an existing IPC namespace (--join-ns): its own, and the
 * objects in it, are not made. */
void ipc_ns_forget(struct ipc_ns_set *set);

#endif
