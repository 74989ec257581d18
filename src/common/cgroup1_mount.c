/* A mount of a cgroup v1 hierarchy that cryo makes for itself when no
 * mount reaches the hierarchy (it lives on while it has cgroups): attached
 * nowhere (fsopen/fsmount), reached through its fd, gone when the fd is
 * closed; and the one lookup of a hierarchy's mounts that falls back to
 * it. Finding the mounts others made is cgroup1.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cgroup1.h"
#include "common/cleanup.h"

/* Whether cryo is in hierarchy @controllers: it exists. Mounting one that
 * does not would make it, or take its controllers from cgroup v2. */
static bool hierarchy_exists(const char *controllers)
{
	struct cgroup_line lines[CGROUP_HIERARCHIES_MAX];
	size_t nr;

	if (cgroup_lines_read(getpid(), 0, lines, &nr))
		return false;
	for (size_t i = 0; i < nr; i++)
		if (lines[i].hierarchy && !strcmp(lines[i].controllers, controllers))
			return true;
	return false;
}

/* The options of @controllers ("cpu,cpuacct", "name=x", "cpu,name=x"):
 * each controller a flag, a name its string, and "none" when there is no
 * controller, so that the kernel finds the hierarchy they name. */
static int configure(int fs, const char *controllers)
{
	_cleanup_free_ char *words = strdup(controllers);
	bool any_controller = false;
	char *save = NULL;

	if (!words)
		return -ENOMEM;
	for (char *w = strtok_r(words, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int ret = !strncmp(w, "name=", 5) ?
				  fsconfig(fs, FSCONFIG_SET_STRING, "name", w + 5, 0) :
				  fsconfig(fs, FSCONFIG_SET_FLAG, w, NULL, 0);

		if (ret)
			return -errno;
		any_controller |= strncmp(w, "name=", 5) != 0;
	}
	if (!any_controller && fsconfig(fs, FSCONFIG_SET_FLAG, "none", NULL, 0))
		return -errno;
	return fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) ? -errno : 0;
}

int cgroup_mounts_private(const char *controllers, struct cgroup_mounts *out)
{
	_cleanup_close_ int fs = -1;
	struct cgroup_mount *m;
	int mnt, ret;

	if (!controllers[0] || !hierarchy_exists(controllers))
		return -ENOENT;
	fs = fsopen("cgroup", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	ret = configure(fs, controllers);
	if (ret)
		return ret;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					   MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return -errno;
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(mnt);
		return -ENOMEM;
	}
	/* Its root is the hierarchy's as cryo's cgroup namespace shows it,
	 * as /proc/PID/cgroup's paths are. */
	snprintf(m->root, sizeof(m->root), "/");
	m->root_fd = mnt;
	m->owns_root_fd = true;
	out->m = m;
	out->nr = 1;
	return 0;
}

int cgroup_mounts_lookup(const char *controllers, const char *yard, bool own_mount,
			 struct cgroup_mounts *out)
{
	char name[256], path[PATH_MAX + 300];
	int ret;

	if (yard) {
		cgroup_yard_name(controllers, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", yard, name);
		ret = cgroup_mounts_at(controllers, path, out);
		return ret ? -ENOENT : 0;
	}
	ret = cgroup_mounts_find(controllers, out);
	/* One mounted nowhere lives on while it has cgroups. */
	if (ret == -ENOENT && controllers[0] && own_mount)
		ret = cgroup_mounts_private(controllers, out);
	return ret;
}
