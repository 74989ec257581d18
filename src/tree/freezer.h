/* Freezing a tree with the cgroup v2 freezer before it is seized, when the
 * tree has a cgroup of its own (see freezer.c), or through the cgroup
 * --freeze-cgroup names (v2, or a v1 freezer); ptrace alone otherwise. */
#ifndef CRYO_TREE_FREEZER_H
#define CRYO_TREE_FREEZER_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct freezer {
	pid_t root;		/* of the tree, for the messages */
	int dir_fd;		/* the cgroup's directory; -1 when not used */
	bool v1;		/* a cgroup v1 freezer (freezer.state) */
	bool was_frozen;	/* its owner had frozen it: frozen again at the end */
	bool thawed;		/* cryo has thawed it since */
	pid_t guard;		/* thaws it if cryo dies while it is frozen */
	int guard_fd;		/* the guard's pipe; -1: no guard */
	char path[PATH_MAX];
};

/* Freezes the cgroup of @root's tree if it may; a tree without a cgroup
 * of its own is frozen by ptrace alone. Waits for the freeze until
 * @deadline at most (CLOCK_MONOTONIC; NULL: its own bound). */
void freezer_freeze(pid_t root, const struct timespec *deadline, struct freezer *fz);
/* criu's freeze_cgroup: the folder of the freezer for @root's tree: the
 * cgroup @given names when it is a v2 cgroup, else (a v1 freezer) the
 * tree's own v2 cgroup, else the v1 freezer itself; never one that holds
 * cryo. Its fd, with its path in @path, or -1. Found by cryo before it
 * enters the tree's namespaces. */
int freezer_find_given(pid_t root, const char *given, char *path, size_t size);
/* Freezes the cgroup of @dir_fd (freezer_find_given()), as freezer_freeze;
 * a v1 freezer's threads are seized and interrupted while it is frozen,
 * and it is thawed at once (their stops wait for that). */
void freezer_freeze_given(pid_t root, int dir_fd, const char *path,
			  const struct timespec *deadline, struct freezer *fz);
struct tree;
/* criu's check of a freezer cgroup given (--freeze-cgroup, RPC
 * freeze_cgroup): every process of the cgroup of @dir_fd, and of those
 * below it, is one of @tree's, else -EBUSY naming the first that is not
 * (@given names the cgroup in messages). */
int freezer_check_members(int dir_fd, const char *given, const struct tree *tree);
/* Thaws it once the tree is seized, so that the parasite can run. */
int freezer_thaw(struct freezer *fz);
/* Puts the cgroup back as its owner left it, and forgets it. */
void freezer_restore(struct freezer *fz);

#endif
