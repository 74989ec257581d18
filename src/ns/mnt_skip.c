/* criu's --skip-mnt at dump: a process of the tree whose fd, mapped file,
 * cwd, root or executable is on a mount left out is refused, naming it,
 * as criu refuses a file on a mount it did not collect: restore would
 * open whatever lies under that mount point then, or nothing. Which
 * mounts are left out is mnt_dump()'s. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ns/mnt.h"

static const struct mnt_skipped_one *skipped_mount(const struct mnt_skipped *skipped,
						   uint64_t id)
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
	m = skipped_mount(skipped, stx.stx_mnt_id);
	if (!m)
		return 0;
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 1] = '\0';
	pr_err("dump: pid %d %s (%s): on mount %u (%s), which --skip-mnt leaves out: restore "
	       "would not find it there", pid, what, target, m->id, m->mountpoint);
	return -EOPNOTSUPP;
}

/* Every entry of /proc/@pid/@folder (fd, map_files). */
static int check_folder(const struct mnt_skipped *skipped, pid_t pid, const char *folder)
{
	_cleanup_closedir_ DIR *d = NULL;
	char path[PATH_MAX], what[300];
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
		snprintf(what, sizeof(what), "%s %s", strcmp(folder, "fd") ? "mapping" : "fd",
			 de->d_name);
		ret = check_link(skipped, pid, what, path);
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
	return ret;
}
