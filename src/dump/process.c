/* Each live process of a tree, dumped in two halves: first what needs
 * ptrace (the parasite, then the registers and ptrace-only state once it
 * is cured, and the core image), on the thread that seized the tree; then
 * its files and memory, which need none. A process whose parent is in the
 * dump has its second half done by a second thread (pipeline.h) while the
 * first goes on with the next process's parasite, unless that parasite
 * could show in what the second thread reads: a process sharing an fd
 * table or an mm with another waits until the second thread is idle, and
 * so does the root (its pages may be vmspliced, through a parasite). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "dump/blobs.h"
#include "dump/dump.h"
#include "dump/pipeline.h"
#include "files/files.h"
#include "mem/mm.h"
#include "mem/precopy.h"
#include "mem/track.h"
#include "mem/vma.h"
#include "parasite/commands.h"
#include "stats/stats.h"
#include "task/cgroup_seen.h"
#include "task/task.h"
#include "tree/tree.h"

/* The second half of one process's dump, with what the first found. */
struct process_job {
	struct dump_ctx *ctx;
	struct inj_task *task;
	struct mm_dump_opts mm_opts;
	pid_t *siblings;	/* mm_opts.siblings */
	struct vma_list vmas;	/* mm_opts.vmas */
	struct fd_flags *fd_flags; /* its fds' close-on-exec bits, from the parasite */
	/* The thread of the second halves, NULL when none runs. */
	struct pipeline *second;
};

/* What only the task itself can tell, through the parasite. */
static int read_brk(struct inj_task *task, struct inj_parasite *parasite, uint64_t *brk)
{
	size_t len = 0;
	int ret = inj_parasite_call(parasite, PARASITE_CMD_BRK, NULL, 0, brk, sizeof(*brk), &len,
				    NULL);

	if (!ret && len != sizeof(*brk))
		ret = -EPROTO;
	if (ret)
		pr_err("dump: pid %d: cannot read the program break: %s", inj_task_pid(task),
		       strerror(-ret));
	return ret;
}

/* What only the task itself can tell, through the parasite; this goes
 * first, so that the rest needs no remote code in the task at all. */
static int collect_inside(struct inj_task *task, TaskCore *core, struct mm_dump_opts *mm_opts,
			  struct fd_flags **fd_flags)
{
	struct inj_parasite *parasite;
	int ret, err;

	ret = inj_parasite_start(task, parasite_blob(), &parasite);
	if (ret)
		return ret;
	ret = task_dump_attrs(task, parasite, core);
	if (!ret)
		ret = read_brk(task, parasite, &mm_opts->brk);
	/* The area is a mapping made after the freeze. */
	if (!ret)
		ret = mm_read_mlockall(inj_task_pid(task), inj_parasite_base(parasite),
				       &mm_opts->mlockall);
	if (!ret)
		ret = fd_flags_read(parasite, inj_task_pid(task), fd_flags);
	err = inj_parasite_cure(parasite);
	return ret ? ret : err;
}

/* A removed cwd or root of the task as a file object: the files
 * of the dump are the second thread's until it is idle. */
static int make_dir_object(void *arg, const char *who, const char *what, const char *proc_link,
			   uint32_t *id)
{
	struct process_job *job = arg;
	int ret = job->second ? pipeline_drain(job->second) : 0;

	return ret ? ret : files_dump_dir_object(job->ctx->files, who, what, proc_link, id);
}

static bool has_removed_dirs(const TaskCore *core)
{
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->fs &&
		    (core->threads[i]->fs->cwd_ghost || core->threads[i]->fs->root_ghost))
			return true;
	return core->cwd_ghost || core->root_ghost;
}

/* The removed cwds and roots of the task that no fd of its own holds. */
static int dump_removed_dirs(struct process_job *job, TaskCore *core)
{
	struct task_dir_objects objs = { .make = make_dir_object, .arg = job };

	return has_removed_dirs(core) ? task_dump_removed_dirs(core, &objs) : 0;
}

/* A job-control stop in effect, and whether the parent had seen it. */
static void note_stop(const struct tree_task *t, TaskCore *core)
{
	if (!t->stop_signal)
		return;
	core->has_stop_signal = true;
	core->stop_signal = (uint32_t)t->stop_signal;
	core->has_stop_reported = t->stop_known;
	core->stop_reported = t->stop_reported;
}

bool dump_live_parent(const struct tree *tree, const struct tree_task *t)
{
	const struct tree_task *parent = t->parent >= 0 ? &tree->tasks[t->parent] : NULL;

	return parent && parent->state == TREE_ALIVE && parent->inj;
}

bool dump_live_children(const struct tree *tree, const struct tree_task *t)
{
	for (size_t i = (size_t)(t - tree->tasks) + 1; i < tree->nr; i++)
		if (tree->tasks[i].parent == t - tree->tasks && tree->tasks[i].state == TREE_ALIVE)
			return true;
	return false;
}

/* The live children of @t's parent dumped before @t (tree order), whose
 * pages it may share where the parent no longer has them (mem/cow.h). */
static int earlier_siblings(const struct tree *tree, const struct tree_task *t, pid_t **out,
			    size_t *nr)
{
	size_t self = (size_t)(t - tree->tasks);

	*nr = 0;
	*out = calloc(self + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < self; i++)
		if (tree->tasks[i].parent == t->parent && tree->tasks[i].state == TREE_ALIVE &&
		    tree->tasks[i].inj)
			(*out)[(*nr)++] = inj_task_pid(tree->tasks[i].inj);
	return 0;
}

/* The first half: parasite, ptrace-only state, registers (every thread
 * stopped again: after the cure), cgroups, the mappings (this thread
 * waits less than the second: balanced so) and the core image. */
static int dump_traced_half(struct dump_ctx *ctx, const struct tree_task *t,
			    struct process_job *job)
{
	struct inj_task *task = t->inj;
	struct mm_dump_opts *mm_opts = &job->mm_opts;
	struct stats *st = ctx->stats;
	TaskCore core = TASK_CORE__INIT;
	uint64_t began = stats_begin(st, STATS_DUMP_PARASITE);
	int ret = 0;

	/* No vmsplice for a tree that runs on (-R): pre-copy takes its large
	 * dumps, and the round trips' -R cycle goes through pre-copy, so a
	 * spliced -R dump would be untested. */
	*mm_opts = (struct mm_dump_opts){ .scan = PAGESCAN_AUTO, .have_brk = true,
					  .files = ctx->files, .stats = st,
					  .page_buffers = ctx->page_buffers,
					  .parasite_blob = ctx->opts->leave_running ? NULL :
										      parasite_blob(),
					  .has_children = dump_live_children(ctx->tree, t),
					  .precopy = precopy_task(ctx->precopy, inj_task_pid(task)),
					  .parent_set = ctx->lineage->parent,
					  /* A parent's digests tell the next
					   * dump which pages it holds. */
					  .digests = ctx->lineage->parent ||
						     ctx->lineage->track.rearm,
					  .cow_maps = ctx->cow_maps };
	job->ctx = ctx;
	job->task = task;
	if (dump_live_parent(ctx->tree, t)) {
		mm_opts->parent = inj_task_pid(ctx->tree->tasks[t->parent].inj);
		inj_task_offer_sites(task, ctx->tree->tasks[t->parent].inj);
		ret = earlier_siblings(ctx->tree, t, &job->siblings, &mm_opts->nr_siblings);
		mm_opts->siblings = job->siblings;
	}
	if (!ret)
		ret = collect_inside(task, &core, mm_opts, &job->fd_flags);
	if (!ret)
		ret = dump_removed_dirs(job, &core);
	if (!ret)
		ret = task_dump_ptrace_attrs(task, &core);
	if (!ret)
		ret = dump_regs(task, &core, mm_opts->precopy);
	note_stop(t, &core);
	if (!ret)
		ret = cgroup_seen_fill_core(ctx->cgroups, (size_t)(t - ctx->tree->tasks),
					    ctx->opts->cgroup_plan, &core);
	stats_end(st, STATS_DUMP_PARASITE, began);
	began = stats_begin(st, STATS_DUMP_MEMORY);
	/* After the parasite: its thread's returns to user mode write the
	 * rseq area, which would only make that page read as written. Its
	 * remote calls are ptrace's: on this thread. */
	if (!ret)
		ret = track_prepare(&ctx->lineage->track, task, &mm_opts->track);
	/* Its mappings, for the second half: the parasite's area is gone. */
	if (!ret)
		ret = vma_list_read(inj_task_pid(task), &job->vmas);
	mm_opts->vmas = &job->vmas;
	stats_end(st, STATS_DUMP_MEMORY, began);
	began = stats_begin(st, STATS_DUMP_WRITING);
	if (!ret)
		ret = image_write_single(ctx->dir, IMG_CORE, inj_task_pid(task), &core.base);
	stats_end(st, STATS_DUMP_WRITING, began);
	dump_regs_free(&core);
	task_core_free_attrs(&core);
	return ret;
}

/* The second half: files before memory (a mapped memfd or deleted file
 * the task also has an fd of is saved once, with the fd's file object).
 * Neither may run while a parasite is in the task: it would show in both,
 * and its channel (a unix socket) among the task's fds. */
static int dump_untraced_half(void *arg, void *data)
{
	struct process_job *job = data;
	struct dump_ctx *ctx = job->ctx;
	pid_t pid = inj_task_pid(job->task);
	uint64_t began = stats_begin(ctx->stats, STATS_DUMP_FILES);
	int ret;

	(void)arg;
	ret = files_dump_task(ctx->files, pid, ctx->opts->shell_job, job->fd_flags);
	stats_end(ctx->stats, STATS_DUMP_FILES, began);
	began = stats_begin(ctx->stats, STATS_DUMP_MEMORY);
	if (!ret)
		ret = mm_dump_with(job->task, ctx->dir, &job->mm_opts);
	stats_end(ctx->stats, STATS_DUMP_MEMORY, began);
	if (!ret)
		stats_task_done(ctx->stats, 0);
	return ret;
}

static void drop_job(void *data)
{
	struct process_job *job = data;

	vma_list_free(&job->vmas);
	fd_flags_free(job->fd_flags);
	free(job->siblings);
	free(job);
}

/* Whether @t's second half may run on the second thread, and its next
 * processes' parasites meanwhile: a child of a live parent in the dump
 * (its pages are never vmspliced: that needs a parasite), in a dump with
 * no pre-copy state, sharing no fd table or mm with another process. */
static bool may_overlap(const struct dump_ctx *ctx, const struct tree_task *t)
{
	return !ctx->precopy && dump_live_parent(ctx->tree, t) &&
	       !tree_task_shares_inside(ctx->tree, (size_t)(t - ctx->tree->tasks));
}

/* Whether a second thread pays: only with a core to spare (a one-minute
 * load below the online CPUs). Without one, it keeps cryo's scheduling
 * group busy, and the tracing thread, woken after each of its ~14
 * hand-offs a process, waits behind the other groups instead of running
 * at once: at load 10-15 a tree of 500 dumped in 7.2 s against 5.4 s
 * serially. CRYO_TEST_DUMP_SECOND_THREAD=always or never decides instead
 * (the test suite runs loaded and wants the two threads). */
static bool second_thread_pays(pid_t root)
{
	const char *forced = getenv("CRYO_TEST_DUMP_SECOND_THREAD");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double load = 0;
	FILE *f;
	bool pays;

	f = fopen("/proc/loadavg", "re");
	pays = f && fscanf(f, "%lf", &load) == 1 && load < (double)cpus;
	if (f)
		fclose(f);
	if (forced)
		pays = strcmp(forced, "never") != 0;
	pr_info("dump: pid %d: load %.2f on %ld CPUs%s: %s", root, load, cpus,
		forced ? " (CRYO_TEST_DUMP_SECOND_THREAD)" : "",
		pays ? "files and memory on a second thread" : "one thread");
	return pays;
}

int dump_processes(struct dump_ctx *ctx)
{
	struct tree *tree = ctx->tree;
	struct pipeline *second = NULL;
	/* Write tracking keeps each process's tracker in an array that the
	 * next process's may move: one thread then. */
	bool tracking = ctx->lineage->track.rearm || ctx->lineage->track.nr_incoming;
	bool two_threads = tree->nr > 1 && !tracking && second_thread_pays(tree->tasks[0].pid);
	int ret = 0, err;

	for (size_t i = 0; !ret && i < tree->nr; i++) {
		struct tree_task *t = &tree->tasks[i];
		struct process_job *job;
		bool overlap;

		if (t->state != TREE_ALIVE)
			continue;
		overlap = two_threads && may_overlap(ctx, t);
		/* Its parasite must not run beside a second half that reads
		 * what it shares, nor its pages be spliced there. */
		if (!overlap && second)
			ret = pipeline_drain(second);
		job = calloc(1, sizeof(*job));
		if (!ret && !job)
			ret = -ENOMEM;
		if (!ret) {
			job->second = second;
			ret = dump_traced_half(ctx, t, job);
		}
		if (ret) {
			if (job)
				drop_job(job);
			break;
		}
		if (overlap && !second)
			ret = pipeline_start(dump_untraced_half, drop_job, NULL, &second);
		if (overlap && !ret) {
			ret = pipeline_push(second, job);
			continue;
		}
		if (!ret)
			ret = dump_untraced_half(NULL, job);
		drop_job(job);
	}
	/* Every second half done, or dropped, before the tree is let go. */
	err = pipeline_stop(second);
	return ret ? ret : err;
}
