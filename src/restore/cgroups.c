/* --manage-cgroups at restore, for cgroup v2 membership: each restored
 * process goes back into the cgroup it was in (TaskCore.cgroup), moved by
 * cryo through cgroup.procs before it runs. "none": every cgroup must
 * exist; "soft": missing ones are made (and removed again if the restore
 * fails). Controller settings are not saved, so a cgroup made here has
 * the defaults (said as a warning). Without the option, or with
 * "ignore", processes stay in cryo's cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cgroup2.h"
#include "common/log.h"
#include "restore/restore.h"

#define CGROUPS_CREATED_MAX 256

struct restore_cgroups {
	char mnt[PATH_MAX];
	char *created[CGROUPS_CREATED_MAX];	/* in the order made */
	size_t nr_created;
};

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* Makes @path (under the mount) and its missing parents, noting each. */
static int make_cgroup(struct restore_cgroups *cg, pid_t pid, const char *cgroup)
{
	char path[2 * PATH_MAX];
	size_t base = strlen(cg->mnt);

	snprintf(path, sizeof(path), "%s%s", cg->mnt, cgroup);
	/* Each prefix ending at a '/' after the mount point's, then the whole. */
	for (char *slash = strchr(path + base + 1, '/');; slash = strchr(slash + 1, '/')) {
		char saved = slash ? *slash : '\0';

		if (slash)
			*slash = '\0';
		if (!is_dir(path) && strlen(path) > base) {
			if (mkdir(path, 0755) || cg->nr_created == CGROUPS_CREATED_MAX) {
				int ret = errno ? -errno : -E2BIG;

				pr_err("restore: pid %d: cannot make its cgroup %s: %s", pid, path,
				       strerror(-ret));
				return ret;
			}
			cg->created[cg->nr_created] = strdup(path);
			if (!cg->created[cg->nr_created])
				return -ENOMEM;
			cg->nr_created++;
			pr_warn("restore: pid %d: made cgroup %s, with default controller settings "
				"(they are not saved yet)", pid, path);
		}
		if (!slash)
			break;
		*slash = saved;
	}
	return 0;
}

int restore_cgroups_prepare(struct restore_set *rs, const char *mode)
{
	struct restore_cgroups *cg;
	int ret = 0;

	if (!mode || !strcmp(mode, "ignore"))
		return 0;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	rs->cgroups = cg;
	if (cgroup2_mount(cg->mnt, sizeof(cg->mnt))) {
		pr_err("restore: --manage-cgroups=%s: no cgroup v2 hierarchy is mounted", mode);
		return -ENOENT;
	}
	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		const TaskCore *core = rs->tasks[i].core;
		char path[2 * PATH_MAX];

		if (rs->tree.tasks[i].state != TREE_ALIVE || !core || !core->cgroup)
			continue;
		snprintf(path, sizeof(path), "%s%s", cg->mnt, core->cgroup);
		if (is_dir(path))
			continue;
		if (!strcmp(mode, "none")) {
			pr_err("restore: pid %d: its cgroup %s does not exist "
			       "(--manage-cgroups=none needs it)", core->pid, core->cgroup);
			ret = -ENOENT;
		} else {
			ret = make_cgroup(cg, core->pid, core->cgroup);
		}
	}
	return ret;
}

int restore_cgroup_join(const struct restore_set *rs, const struct restore_task *rt)
{
	const struct restore_cgroups *cg = rs->cgroups;
	char path[2 * PATH_MAX + 16], pid[16];
	int fd, len, ret = 0;

	if (!cg || !rt->core->cgroup)
		return 0;
	snprintf(path, sizeof(path), "%s%s/cgroup.procs", cg->mnt, rt->core->cgroup);
	len = snprintf(pid, sizeof(pid), "%d", rt->host_pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pid, (size_t)len) != len)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("restore: pid %d: cannot go back into its cgroup %s: %s", rt->pid,
		       rt->core->cgroup, strerror(-ret));
	return ret;
}

void restore_cgroups_end(struct restore_set *rs, bool failed)
{
	struct restore_cgroups *cg = rs->cgroups;

	if (!cg)
		return;
	for (size_t i = cg->nr_created; i-- > 0;) {
		if (failed && rmdir(cg->created[i]))
			pr_warn("restore: cannot remove the cgroup %s it made: %s",
				cg->created[i], strerror(errno));
		free(cg->created[i]);
	}
	free(cg);
	rs->cgroups = NULL;
}
