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
/* The text of that file (freed by the caller); -errno unsaid. */
int cgroup_text_read(pid_t pid, pid_t tid, char **text);
/* The lines of such a text. */
void cgroup_lines_parse(const char *text, struct cgroup_line *lines, size_t *nr);

/* The mount point, whose root is the hierarchy's, of the hierarchy of
 * @controllers ("" the unified one); -ENOENT when none is mounted. */
int cgroup_hierarchy_mount(const char *controllers, char *mnt, size_t size);

/* The mounts of one hierarchy: its root ("/"), or a cgroup below it, at
 * a mount point. */
struct cgroup_mount {
	char point[PATH_MAX];
	char root[PATH_MAX];
	/* An fd of the root folder of the mount namespace @point is in,
	 * which the caller opened: @point is reached through
	 * /proc/self/fd/N/@point from any mount namespace; -1: this one. */
	int root_fd;
	/* @root_fd is a mount of cryo's own (cgroup_mounts_private()), with
	 * an empty @point, closed by cgroup_mounts_free(); a copy of it must
	 * not own it. */
	bool owns_root_fd;
};
struct cgroup_mounts {
	struct cgroup_mount *m;
	size_t nr;
};

/* Every mount of hierarchy @controllers in /proc/self/mountinfo, those of
 * its root first; -ENOENT when none. Freed by cgroup_mounts_free(). */
int cgroup_mounts_find(const char *controllers, struct cgroup_mounts *out);
/* The mount of hierarchy @controllers at @point (--cgroup-yard's
 * folders); -ENOENT when there is none of it there. */
int cgroup_mounts_at(const char *controllers, const char *point, struct cgroup_mounts *out);
void cgroup_mounts_free(struct cgroup_mounts *ms);
/* For hierarchy @controllers (v1) that no mount reaches: a mount of it
 * that cryo makes, attached nowhere (cgroup1_mount.c), as @out's only
 * mount, of its root. -ENOENT when there is no such hierarchy here (cryo
 * is not in it), else -errno of the mount. */
int cgroup_mounts_private(const char *controllers, struct cgroup_mounts *out);
/* The mounts hierarchy @controllers ("" the unified one) is reached
 * through, one lookup for dump and restore: its folder in @yard (criu's
 * --cgroup-yard) when not NULL, else every mount of it in mountinfo, else,
 * with @own_mount, for a v1 hierarchy mounted nowhere, a mount of cryo's
 * own attached nowhere (which keeps the hierarchy alive while it is open:
 * only when it is needed). -ENOENT when there is none (not in the yard, or
 * no such hierarchy here), else -errno of cryo's own mount. */
int cgroup_mounts_lookup(const char *controllers, const char *yard, bool own_mount,
			 struct cgroup_mounts *out);
/* The folder of @cgroup ("/a/b", as /proc/PID/cgroup shows it) through
 * the first of @ms whose root is it or an ancestor (through its root_fd
 * when it has one): the length of its mount point's part of @dir; -ENOENT
 * when no mount reaches it. */
int cgroup_mounts_reach(const struct cgroup_mounts *ms, const char *cgroup, char *dir,
			size_t size);
/* Whether @cgroup is above the root of one of @ms (an ancestor of it). */
bool cgroup_mounts_above(const struct cgroup_mounts *ms, const char *cgroup);
/* "ROOT at POINT, ..." of @ms, for messages. */
void cgroup_mounts_say_roots(const struct cgroup_mounts *ms, char *text, size_t size);
/* criu's folder of hierarchy @controllers in a --cgroup-yard: the
 * controllers ("cpu,cpuacct"), a name without "name=", "unified" for v2. */
void cgroup_yard_name(const char *controllers, char *name, size_t size);

/* Whether the comma-separated lists @a and @b share a word. */
bool cgroup_controllers_meet(const char *a, const char *b);

#endif
