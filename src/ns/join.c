/* Joining an existing namespace at restore (criu's --join-ns and RPC
 * join_ns, and a network namespace external at dump, net[INODE]:KEY, given
 * back with inherit_fd): the tree is born in it, and cryo neither makes nor
 * fills it. Which kinds may be joined is externals.c's; the network one is
 * entered by net.c, which also keeps the way back. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ns/externals.h"
#include "ns/ns.h"

int ns_join_check(int fd, int type, const char *what)
{
	int got = ioctl(fd, NS_GET_NSTYPE);

	if (got < 0)
		return pr_errno_ret("restore: %s: not a namespace", what);
	if (got != type) {
		pr_err("restore: %s: a namespace of another kind", what);
		return -EINVAL;
	}
	return 0;
}

int ns_join_open(const struct ns_externals *x, const char *kind, int type)
{
	const char *path = ns_join_path(x, kind);
	int fd, ret;

	if (!path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("restore: --join-ns %s:%s: cannot open it: %s", kind, path, strerror(errno));
		return ret == -ENOENT ? -EINVAL : ret;
	}
	ret = ns_join_check(fd, type, path);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int ns_join_enter(const struct ns_externals *x, const char *kind, int type)
{
	_cleanup_close_ int fd = ns_join_open(x, kind, type);

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	if (setns(fd, type))
		return pr_errno_ret("restore: --join-ns %s:%s: cannot enter it", kind,
				    ns_join_path(x, kind));
	pr_info("restore: the tree joins the %s namespace %s (not made, not filled)", kind,
		ns_join_path(x, kind));
	return 1;
}
