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

int files_env_set_root(struct files_restore_env *env, const char *root)
{
	if (!root)
		return 0;
	env->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (env->root_fd < 0)
		return pr_errno_ret("restore: root %s: cannot open it", root);
	return 0;
}

/* open(2)'s flags that openat2 takes (it refuses any other bit, where
 * open ignores them; saved f_flags may hold the kernel's own). */
#define OPEN_FLAGS                                                                         \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | \
	 O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | \
	 O_SYNC | O_PATH)

int restore_open_path(const struct restore_ctx *r, const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned int)(flags & OPEN_FLAGS),
				.resolve = RESOLVE_IN_ROOT };

	if (!r->env || r->env->root_fd < 0 || path[0] != '/')
		return open(path, flags);
	return (int)syscall(SYS_openat2, r->env->root_fd, path, &how, sizeof(how));
}
