/* Fs info shared between processes (CLONE_FS) under a chroot, at restore.
 * The members of a group (children created with CLONE_FS) enter the same
 * cwd as its first process, the owner, in stage 2, but only the owner
 * chroots, in its restorer: a chroot is seen at once by every member, whose
 * restore code still reads /proc by path until it jumps into its restorer.
 * So each member says, through a pipe the owner made before its children,
 * that it is in its restorer, and the owner reads a byte from each before
 * it chroots. Not here: the chroot itself (restorer/main.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "restore/restore.h"

static bool chrooted(const TaskCore *core)
{
	return core->root_ghost || (core->root && strcmp(core->root, "/"));
}

int shared_fs_prepare(struct restore_set *rs, size_t index)
{
	struct restore_task *rt = &rs->tasks[index];
	uint32_t members;
	int fds[2];

	if (rs->tree.tasks[index].shares_fs || !chrooted(rt->core))
		return 0;
	members = (uint32_t)share_group_members(&rs->tree, index, true);
	if (!members)
		return 0;
	if (pipe2(fds, O_CLOEXEC))
		return pr_errno_ret("restore: pid %d: cannot make the pipe its fs info's sharers "
				    "report through", rt->pid);
	/* Above every fd a process restores, as cryo's own. */
	rt->fs_wait_fd = fcntl(fds[0], F_DUPFD_CLOEXEC, rs->base);
	rt->fs_members_fd = fcntl(fds[1], F_DUPFD_CLOEXEC, rs->base);
	close(fds[0]);
	close(fds[1]);
	if (rt->fs_wait_fd < 0 || rt->fs_members_fd < 0)
		return pr_errno_ret("restore: pid %d: cannot move the pipe of its fs info's "
				    "sharers above fd %d", rt->pid, rs->base);
	rt->fs_members = members;
	return 0;
}

void shared_fs_take(struct restore_set *rs, size_t index)
{
	const struct restore_task *owner;

	if (!rs->tree.tasks[index].shares_fs)
		return;
	owner = &rs->tasks[share_group_owner(&rs->tree, index, true)];
	if (owner->fs_members)
		rs->tasks[index].fs_signal_fd = owner->fs_members_fd;
}
