/* criu's --skip-mnt at dump: a process of the tree whose fd, mapped file,
 * cwd, root or executable, a thread's own cwd or root, or a unix socket
 * bound to a path on a mount left out is refused, naming it, as criu
 * refuses a file on a mount it did not collect: restore would open (or
 * bind) whatever lies under that mount point then, or nothing. Which
 * mounts are left out is mnt_dump()'s. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ns/mnt.h"

const struct mnt_skipped_one *mnt_skipped_find(const struct mnt_skipped *skipped, uint64_t id)
{
	for (size_t i = 0; i < skipped->nr; i++)
		if (skipped->mounts[i].id == id)
			return &skipped->mounts[i];
	return NULL;
}

/* Refuses @what of @pid (a /proc link @link) when its file's mount is one
 * left out. A link that cannot be followed is left to the kind that dumps
 * it. */
static int check_link(const struct mnt_skipped *skipped, pid_t pid, const char *what,
		      const char *link)
{
	const struct mnt_skipped_one *m;
	char target[PATH_MAX] = "?";
	struct statx stx;
	ssize_t n;

	if (statx(AT_FDCWD, link, 0, STATX_MNT_ID, &stx) || !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	m = mnt_skipped_find(skipped, stx.stx_mnt_id);
	if (!m)
		return 0;
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 1] = '\0';
	pr_err("dump: pid %d %s (%s): on mount %u (%s), which --skip-mnt leaves out: restore "
	       "would not find it there", pid, what, target, m->id, m->mountpoint);
	return -EOPNOTSUPP;
}

/* The mount id of @path (or, when it is gone, of its folder) as process
 * @pid sees it from its root; 0 when neither is found. */
static uint64_t path_mount(pid_t pid, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int root = -1, fd = -1;
	char proc[64], folder[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	struct statx stx;

	snprintf(proc, sizeof(proc), "/proc/%d/root", pid);
	root = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return 0;
	fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOENT) {
		snprintf(folder, sizeof(folder), "%s", path);
		fd = (int)syscall(SYS_openat2, root, dirname(folder), &how, sizeof(how));
	}
	if (fd < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/* Refuses fd @fd of @pid (a socket, taken through @pidfd, opened on first
 * use) when it is a unix socket bound to a path on a mount left out:
 * restore would bind it under that mount point's folder. A relative or
 * abstract name, or a socket that cannot be taken, is left to the kind. */
static int check_socket(const struct mnt_skipped *skipped, pid_t pid, int *pidfd, int fd)
{
	struct sockaddr_un addr = { 0 };
	socklen_t len = sizeof(addr);
	_cleanup_close_ int sk = -1;
	char path[sizeof(addr.sun_path) + 1];
	const struct mnt_skipped_one *m;
	size_t n;

	if (*pidfd < 0)
		*pidfd = pidfd_open(pid, 0);
	sk = *pidfd < 0 ? -1 : pidfd_getfd(*pidfd, fd, 0);
	if (sk < 0 || getsockname(sk, (struct sockaddr *)&addr, &len) ||
	    addr.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un, sun_path) ||
	    addr.sun_path[0] != '/')
		return 0;
	n = len - offsetof(struct sockaddr_un, sun_path);
	memcpy(path, addr.sun_path, n);
	path[n] = '\0';
	m = mnt_skipped_find(skipped, path_mount(pid, path));
	if (!m)
		return 0;
	pr_err("dump: pid %d fd %d unix socket (%s): bound on mount %u (%s), which --skip-mnt "
	       "leaves out: restore would bind it under that mount point's folder",
	       pid, fd, path, m->id, m->mountpoint);
	return -EOPNOTSUPP;
}

/* Every entry of /proc/@pid/@folder (fd, map_files); of fd, sockets too. */
static int check_folder(const struct mnt_skipped *skipped, pid_t pid, const char *folder)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_close_ int pidfd = -1;
	char path[PATH_MAX], what[300], target[16];
	bool fds = !strcmp(folder, "fd");
	struct dirent *de;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, folder);
	d = opendir(path);
	if (!d)
		return pr_errno_ret("dump: pid %d: cannot list %s", pid, path);
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/%s/%s", pid, folder, de->d_name);
		snprintf(what, sizeof(what), "%s %s", fds ? "fd" : "mapping", de->d_name);
		ret = check_link(skipped, pid, what, path);
		if (!ret && fds && readlink(path, target, sizeof(target)) > 8 &&
		    !strncmp(target, "socket:[", 8))
			ret = check_socket(skipped, pid, &pidfd, atoi(de->d_name));
	}
	return ret;
}

/* The cwd and root of each thread but the main one (whose are the
 * process's): those of one with fs info of its own are saved too. */
static int check_threads(const struct mnt_skipped *skipped, pid_t pid)
{
	static const char *const links[] = { "cwd", "root" };
	_cleanup_closedir_ DIR *d = NULL;
	char path[PATH_MAX], what[64];
	struct dirent *de;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return pr_errno_ret("dump: pid %d: cannot list %s", pid, path);
	while (!ret && (de = readdir(d))) {
		pid_t tid = atoi(de->d_name);

		if (tid <= 0 || tid == pid)
			continue;
		for (size_t i = 0; !ret && i < ARRAY_SIZE(links); i++) {
			snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, links[i]);
			snprintf(what, sizeof(what), "thread %d %s", tid, links[i]);
			ret = check_link(skipped, pid, what, path);
		}
	}
	return ret;
}

int mnt_skipped_check(const struct mnt_skipped *skipped, pid_t pid)
{
	static const char *const links[] = { "cwd", "root", "exe" };
	char path[64];
	int ret;

	if (!skipped->nr)
		return 0;
	ret = check_folder(skipped, pid, "fd");
	if (!ret)
		ret = check_folder(skipped, pid, "map_files");
	for (size_t i = 0; !ret && i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, links[i]);
		ret = check_link(skipped, pid, links[i], path);
	}
	if (!ret)
		ret = check_threads(skipped, pid);
	return ret;
}
