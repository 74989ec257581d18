/* The family of each restored process: session, process groups, children,
 * zombies and helpers (family.c). Runs inside the new processes. */
#ifndef CRYO_RESTORE_FAMILY_H
#define CRYO_RESTORE_FAMILY_H

#include <stdint.h>
#include <sys/types.h>

#include "restore/restore.h"

/* clone3() of a process with pid @pid that sends @exit_signal at exit,
 * with clone @flags (CLONE_FS, CLONE_FILES for a child that shares fs info,
 * its fd table). */
pid_t family_clone(pid_t pid, uint32_t exit_signal, uint64_t flags);

/* Makes process @index's session or own group and creates its children in
 * order, those that stay in the session it leaves first; each child goes
 * on in restore_child(). */
int family_create(struct restore_set *rs, size_t index);

/* Once every group exists: joins the group of another process. */
int family_join_group(const struct restore_set *rs, size_t index);

/* Ends a zombie with its saved wait status, or a helper. */
void __attribute__((noreturn)) family_leave(const struct tree_task *t);

/* Waits for its zombie children to exit and reaps its helpers, leaving no
 * trace of either among its pending signals. */
int family_settle(const struct restore_set *rs, size_t index);

#endif
