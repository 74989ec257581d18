/* What one restore holds in cryo while it leads the processes through
 * their stages (restore.c creates the tree, stages.c runs the stages,
 * watches every process and ends them all on a failure). Private to
 * src/restore. */
#ifndef CRYO_RESTORE_RUN_H
#define CRYO_RESTORE_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli/options.h"
#include "restore/restore.h"
#include "stats/stats.h"

/* The restorer's own area in a process: code, arguments, stack. */
struct restore_area {
	uint64_t start, end;
};

/* Everything the run of one restore holds in cryo. */
struct restore_run {
	struct restore_set *rs;
	int report_fd;		/* read end */
	int gate_fd[2];		/* write ends */
	int *pidfds;		/* per process; -1 until it is known to exist */
	bool *may_exit;		/* zombies and helpers, once let go */
	uint64_t *vdso;		/* where each restorer put the vDSO */
	int *uffd;		/* each restorer's userfaultfd (lazy), -1: none */
	struct restore_area *area; /* each restorer's own area until unmapped */
	struct inj_task **seized; /* each process once finished, until released */
	bool finish_early;	/* each finished as it reports done (finish_tree.c) */
	bool unmap_at_finish;	/* each area unmapped then, not after the stops */
	struct restore_finish_known finish_known;
	size_t nr_finished;
	size_t finish_fail_at;	/* CRYO_TEST_FINISH_FAIL_AT: that finish fails */
	size_t finish_die_at;	/* CRYO_TEST_FINISH_DIE_AT: cryo dies after it */
	pid_t lazy_server;	/* the page server of a lazy restore, 0: none */
	/* --clone: the init of the new pid namespace (clone.c), cryo's child,
	 * its pidfd, and the write end of the pipe that releases it. */
	pid_t init;
	int init_pidfd;
	int release_fd;
	/* The processes' saved pids are those of a new pid namespace (a
	 * clone, or a root that was the init of its own). */
	bool inside;
	const struct cryo_opts *opts;
	/* Watches the report pipe and every pidfd (a poll of 500 pidfds per
	 * wakeup was a third of cryo's CPU in a tree's restore); each is
	 * registered once, with its key: EPOLL_KEY_* or EPOLL_KEY_TASK + index. */
	int epoll_fd;
	struct stats *stats;
};

#define EPOLL_KEY_REPORTS 0
#define EPOLL_KEY_INIT 1
#define EPOLL_KEY_TASK 2

/* The pid cryo sees of process @index (a clone's processes are found by
 * the pid they have inside), or -errno. */
int find_host_pid(struct restore_run *run, size_t index);
/* Opens a pidfd of process @index and watches it from now on. */
int watch(struct restore_run *run, size_t index);
/* Leads every process through the stages, from created to released. */
int run_stages(struct restore_run *run, uint64_t began);
/* How many processes of @tree are alive (not zombies or helpers). */
size_t count_alive(const struct tree *tree);
/* finish_tree.c: makes room for the held processes and decides when each
 * is finished; once the tree's root exists (a clone's is found inside). */
int finish_tree_setup(struct restore_run *run);
/* Whether process @index may be finished before the others have all
 * reported (finish_early aside): not one of an fd table shared with
 * another process. */
bool finish_early_ok(const struct restore_run *run, size_t index);
/* Finishes process @index (restore_finish(), its cgroup, with
 * unmap_at_finish its area) and holds it; nothing for one already held or
 * not alive. */
int finish_one(struct restore_run *run, size_t index);
/* Finishes every process not finished yet, puts back the stops and
 * releases them all, children first. */
int finish_tree(struct restore_run *run);
/* Kills and lets go every process still held (a failed restore), and
 * frees what finish_tree_setup() made. */
void finish_tree_end(struct restore_run *run);
/* Kills and reaps every process of the restore, known or reparented. */
void kill_all(struct restore_run *run, pid_t root);

#endif
