/* The namespaces a tree has of its own, other than cryo's: which ones are
 * saved at dump, and making them at restore in the process that creates
 * the root, before it does (every process of a dump is in the root's).
 * Each kind's state is its own file's (uts.c, time.c); pid and mount
 * namespaces of a clone are restore/clone.c's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "ns/ns.h"

int ns_own_dump(pid_t pid, const struct ns_ids *ids, struct image_dir *dir)
{
	struct ns_ids cryos;
	int ret = ns_ids_read(0, &cryos);

	if (ret) {
		pr_err("dump: cannot read cryo's own namespaces: %s", strerror(-ret));
		return ret;
	}
	if (ids->ino[NS_UTS] && ids->ino[NS_UTS] != cryos.ino[NS_UTS])
		ret = ns_uts_dump(pid, dir);
	if (!ret && ids->ino[NS_TIME] && ids->ino[NS_TIME] != cryos.ino[NS_TIME])
		ret = ns_time_dump(pid, dir);
	return ret;
}

int ns_own_load(const struct image_dir *dir, struct ns_own *own)
{
	int ret;

	memset(own, 0, sizeof(*own));
	ret = ns_uts_load(dir, own);
	if (!ret)
		ret = ns_time_load(dir, own);
	return ret;
}

bool ns_own_any(const struct ns_own *own)
{
	return own->uts || own->time;
}

/* Keeps an fd of the caller's namespace @name in *@fd. */
static int keep(const char *name, int *fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return pr_errno_ret("restore: cannot open cryo's own %s namespace", name);
	return 0;
}

int ns_own_make(const struct ns_own *own, struct ns_own_back *back)
{
	int ret = 0;

	if (back)
		back->uts = back->time = -1;
	if (own->uts && back)
		ret = keep("uts", &back->uts);
	if (!ret && own->time && back)
		ret = keep("time", &back->time);
	if (!ret && own->uts)
		ret = ns_uts_make(own);
	if (!ret && own->time)
		ret = ns_time_make(own);
	return ret;
}

int ns_own_go_back(struct ns_own_back *back)
{
	int ret = 0;

	if (back->uts >= 0 && setns(back->uts, CLONE_NEWUTS))
		ret = pr_errno_ret("restore: cannot go back to cryo's UTS namespace");
	/* cryo's next children are made in its own time namespace again
	 * (the kernel asks a single-threaded caller, which cryo is here). */
	if (back->time >= 0 && setns(back->time, CLONE_NEWTIME))
		ret = pr_errno_ret("restore: cannot go back to cryo's time namespace");
	if (back->uts >= 0)
		close(back->uts);
	if (back->time >= 0)
		close(back->time);
	back->uts = back->time = -1;
	return ret;
}
