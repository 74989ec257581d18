/* The cgroups of a dumped tree's live processes and threads, read once
 * from /proc/PID/cgroup (and each thread's) once the tree is seized, for
 * every part of the dump that needs them (cgroup_seen.c): TaskCore.cgroup
 * and ThreadCore.cgroup, cgroups.img and cgroups_v1.img. Not what is
 * saved of them (cgroup_settings.c's, cgroup_v1.c's), nor the cgroup
 * namespace's two views of its root, read together (ns/cgroup_ns.c). */
#ifndef CRYO_TASK_CGROUP_SEEN_H
#define CRYO_TASK_CGROUP_SEEN_H

#include <stddef.h>
#include <sys/types.h>

#include "common/cgroup1.h"
#include "images/proto/core.pb-c.h"
#include "tree/tree.h"

struct cgroup_dump_plan;

/* A thread whose cgroups are not its process's (one in a threaded v2
 * cgroup, or placed apart in a v1 hierarchy). */
struct cgroup_seen_thread {
	pid_t tid;
	char *text;
};

struct cgroup_seen_task {
	char *text;		/* its /proc/PID/cgroup; NULL: not a live process */
	struct cgroup_seen_thread *threads;
	size_t nr_threads;
};

struct cgroup_seen {
	/* cryo's own, read first: a hierarchy made meanwhile (a named one
	 * mounted for the first time) is in the tree's lines and not in
	 * cryo's, whose hierarchies are those the dump goes through. */
	char *cryo_text;
	struct cgroup_seen_task *tasks;	/* as the tree's */
	size_t nr;
};

/* Reads cryo's, then those of every live process of @tree and each of its
 * threads; a thread gone meanwhile (a zombie's) counts as in its
 * process's. */
int cgroup_seen_read(const struct tree *tree, struct cgroup_seen *out);
void cgroup_seen_free(struct cgroup_seen *seen);

/* The lines of the tree's task @index (@tid 0: the process, else that
 * thread of it); -ENOENT for one not live. */
int cgroup_seen_lines(const struct cgroup_seen *seen, size_t index, pid_t tid,
		      struct cgroup_line *lines, size_t *nr);
/* Its cgroup v2 path ("/a/b") into @path; -ENOENT without cgroup v2. */
int cgroup_seen_v2_path(const struct cgroup_seen *seen, size_t index, pid_t tid, char *path,
			size_t size);

/* @core's TaskCore.cgroup, and ThreadCore.cgroup of each of its threads
 * in a cgroup v2 of its own, when @plan saves cgroup v2 (it decides what
 * a dump saves); nothing without cgroup v2. */
int cgroup_seen_fill_core(const struct cgroup_seen *seen, size_t index,
			  const struct cgroup_dump_plan *plan, TaskCore *core);

#endif
