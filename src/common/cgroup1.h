/* The cgroup hierarchies as /proc/PID/cgroup lists them (v1 ones by their
 * controllers, "cpu,cpuacct" or "name=systemd"; v2's with none) and where
 * each is mounted (cgroup1.c). */
#ifndef CRYO_COMMON_CGROUP1_H
#define CRYO_COMMON_CGROUP1_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* More would be an unusual kernel. */
#define CGROUP_HIERARCHIES_MAX 32

struct cgroup_line {
	unsigned int hierarchy;	/* 0: the unified one */
	char controllers[256];	/* "" for the unified one */
	char path[PATH_MAX];
};

/* The lines of /proc/@pid/cgroup (@tid > 0: of its thread @tid), as the
 * caller's cgroup namespace shows them, into @lines (at most
 * CGROUP_HIERARCHIES_MAX); their count into *@nr. */
int cgroup_lines_read(pid_t pid, pid_t tid, struct cgroup_line *lines, size_t *nr);

/* The mount point, whose root is the hierarchy's, of the hierarchy of
 * @controllers ("" the unified one); -ENOENT when none is mounted. */
int cgroup_hierarchy_mount(const char *controllers, char *mnt, size_t size);

/* Whether the comma-separated lists @a and @b share a word. */
bool cgroup_controllers_meet(const char *a, const char *b);

#endif
