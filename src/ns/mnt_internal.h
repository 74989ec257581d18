/* What the mount namespace files share: the dump's table of mounts and
 * the tmpfs archives (mnt_tmpfs.c). */
#ifndef CRYO_NS_MNT_INTERNAL_H
#define CRYO_NS_MNT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "images/image.h"
#include "images/proto/mnt.pb-c.h"

struct mnt_dump {
	const struct mnt_caller *caller;
	pid_t pid;		/* the root, as the dumping process sees it */
	MountEntry *entries;	/* in mountinfo's order */
	dev_t *devs;		/* each one's filesystem */
	size_t nr;
};

/* Whether cryo makes a new instance of filesystem type @fstype (tmpfs,
 * proc, sysfs, devpts, mqueue) without being asked (--enable-fs). */
bool mnt_fstype_makeable(const char *fstype);

/* Writes the files of tmpfs mount @index into mnt-tmpfs-ID.img. */
int mnt_tmpfs_dump(const struct mnt_dump *d, size_t index, struct image_dir *dir);
/* Makes the files of archive @fd (of mount @id) again in folder @dir_fd. */
int mnt_tmpfs_restore(int fd, uint32_t id, int dir_fd, const char *mountpoint);

#endif
