/* The root folder paths of the tree's files are opened under at restore:
 * the container's root (criu's root) when the tree had one, else cryo's
 * own. Only the opening of a saved path; not which files are opened. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "files/files.h"
#include "files/kind.h"

/* Inherited by the tree's processes, whose root is that folder by then. */
static int root_fd = -1;

int files_restore_set_root(const char *root)
{
	if (!root)
		return 0;
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return pr_errno_ret("restore: root %s: cannot open it", root);
	return 0;
}

/* open(2)'s flags that openat2 takes (it refuses any other bit, where
 * open ignores them; saved f_flags may hold the kernel's own). */
#define OPEN_FLAGS                                                                         \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | \
	 O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | \
	 O_SYNC | O_PATH)

int restore_open_path(const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned int)(flags & OPEN_FLAGS),
				.resolve = RESOLVE_IN_ROOT };

	if (root_fd < 0 || path[0] != '/')
		return open(path, flags);
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}
