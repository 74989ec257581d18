/* The tree's cgroups as /proc shows them, read once per process and per
 * thread after the seize (a seized task cannot move itself), with cryo's
 * own just before, and handed to each part of the dump that needs them:
 * the cores' cgroup v2 paths, cgroups.img and cgroups_v1.img. Not what is
 * saved of them, nor the mounts they are reached through (cgroup_plan.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cgroup2.h"
#include "common/log.h"
#include "task/cgroup_plan.h"
#include "task/cgroup_seen.h"

void cgroup_seen_free(struct cgroup_seen *seen)
{
	for (size_t i = 0; seen->tasks && i < seen->nr; i++) {
		struct cgroup_seen_task *t = &seen->tasks[i];

		for (size_t k = 0; k < t->nr_threads; k++)
			free(t->threads[k].text);
		free(t->threads);
		free(t->text);
	}
	free(seen->tasks);
	free(seen->cryo_text);
	seen->tasks = NULL;
	seen->cryo_text = NULL;
	seen->nr = 0;
}

/* The threads of @t whose cgroups differ from its process's, kept. */
static int read_threads(const struct tree_task *t, struct cgroup_seen_task *seen)
{
	for (size_t k = 1; k < t->nr_threads; k++) {
		struct cgroup_seen_thread *th;
		char *text;
		int ret = cgroup_text_read(t->pid, t->threads[k], &text);

		if (ret == -ENOENT)
			continue;	/* gone meanwhile: a zombie's */
		if (ret)
			return pr_errno_ret("dump: pid %d thread %d: cannot read its cgroups",
					    t->pid, t->threads[k]);
		if (!strcmp(text, seen->text)) {
			free(text);
			continue;
		}
		if (!seen->threads) {
			seen->threads = calloc(t->nr_threads, sizeof(*seen->threads));
			if (!seen->threads) {
				free(text);
				return -ENOMEM;
			}
		}
		th = &seen->threads[seen->nr_threads++];
		th->tid = t->threads[k];
		th->text = text;
	}
	return 0;
}

int cgroup_seen_read(const struct tree *tree, struct cgroup_seen *out)
{
	struct cgroup_seen seen = { .tasks = calloc(tree->nr ? tree->nr : 1, sizeof(*seen.tasks)),
				    .nr = tree->nr };
	int ret = seen.tasks ? 0 : -ENOMEM;

	if (!ret && cgroup_text_read(getpid(), 0, &seen.cryo_text))
		ret = pr_errno_ret("dump: cannot read cryo's own cgroups");

	for (size_t i = 0; !ret && i < tree->nr; i++) {
		const struct tree_task *t = &tree->tasks[i];

		if (t->state != TREE_ALIVE)
			continue;
		ret = cgroup_text_read(t->pid, 0, &seen.tasks[i].text);
		if (ret)
			ret = pr_errno_ret("dump: pid %d: cannot read its cgroups", t->pid);
		else
			ret = read_threads(t, &seen.tasks[i]);
	}
	if (ret)
		cgroup_seen_free(&seen);
	else
		*out = seen;
	return ret;
}

/* The text of task @index's @tid (0: the process): its own when it
 * differs from its process's, else its process's; NULL for one not live. */
static const char *text_of(const struct cgroup_seen *seen, size_t index, pid_t tid)
{
	const struct cgroup_seen_task *t = index < seen->nr ? &seen->tasks[index] : NULL;

	if (!t || !t->text)
		return NULL;
	for (size_t k = 0; tid && k < t->nr_threads; k++)
		if (t->threads[k].tid == tid)
			return t->threads[k].text;
	return t->text;
}

int cgroup_seen_lines(const struct cgroup_seen *seen, size_t index, pid_t tid,
		      struct cgroup_line *lines, size_t *nr)
{
	const char *text = text_of(seen, index, tid);

	if (!text)
		return -ENOENT;
	cgroup_lines_parse(text, lines, nr);
	return 0;
}

int cgroup_seen_v2_path(const struct cgroup_seen *seen, size_t index, pid_t tid, char *path,
			size_t size)
{
	const char *text = text_of(seen, index, tid);

	return text ? cgroup2_path_in(text, path, size) : -ENOENT;
}

int cgroup_seen_fill_core(const struct cgroup_seen *seen, size_t index,
			  const struct cgroup_dump_plan *plan, TaskCore *core)
{
	const struct cgroup_seen_task *t = &seen->tasks[index];
	char process[PATH_MAX], own[PATH_MAX];

	if (!cgroup_plan_saves(plan, "") ||
	    cgroup_seen_v2_path(seen, index, 0, process, sizeof(process)))
		return 0;
	core->cgroup = strdup(process);
	if (!core->cgroup)
		return -ENOMEM;
	/* A thread in a cgroup v2 other than its process's: a threaded cgroup. */
	for (size_t k = 0; k < t->nr_threads; k++) {
		ThreadCore *thread = NULL;

		if (cgroup_seen_v2_path(seen, index, t->threads[k].tid, own, sizeof(own)) ||
		    !strcmp(own, process))
			continue;
		for (size_t n = 0; n < core->n_threads && !thread; n++)
			if (core->threads[n]->tid == t->threads[k].tid)
				thread = core->threads[n];
		if (thread && !(thread->cgroup = strdup(own)))
			return -ENOMEM;
	}
	return 0;
}
