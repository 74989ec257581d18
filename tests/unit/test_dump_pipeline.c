/* The dump's second thread (dump/pipeline.c): jobs run in order on a
 * thread of their own, the first failure drops the rest and is what push,
 * drain and stop return, and drain waits for the job running; which
 * processes may overlap (tree_task_shares_inside(): an fd table or an mm
 * shared); and the parents' mappings read once a dump (mem/cow_maps.c). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump/pipeline.h"
#include "harness.h"
#include "mem/cow.h"
#include "mem/cow_maps.h"
#include "tree/tree.h"

#define JOBS 50

struct record {
	int order[JOBS];
	atomic_int nr_run, nr_dropped;
	pid_t tid[JOBS];
	int fail_at;		/* this job fails with -EIO; -1: none */
	int slow_ms;		/* each job sleeps this long */
};

struct job {
	struct record *r;
	int index;
};

static int run_job(void *arg, void *data)
{
	struct record *r = arg;
	struct job *j = data;
	int at = atomic_fetch_add(&r->nr_run, 1);

	if (r->slow_ms)
		usleep((useconds_t)r->slow_ms * 1000);
	r->order[at] = j->index;
	r->tid[at] = gettid();
	return j->index == r->fail_at ? -EIO : 0;
}

static void drop_job(void *data)
{
	struct job *j = data;

	atomic_fetch_add(&j->r->nr_dropped, 1);
	free(j);
}

static int push(struct pipeline *p, struct record *r, int index)
{
	struct job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	*j = (struct job){ .r = r, .index = index };
	return pipeline_push(p, j);
}

TEST(jobs_run_in_order_on_a_thread_of_their_own)
{
	struct record r = { .fail_at = -1 };
	struct pipeline *p;
	int ret;

	CHECK(!pipeline_start(run_job, drop_job, &r, &p), "start");
	for (int i = 0; i < JOBS; i++)
		CHECK(!push(p, &r, i), "push %d", i);
	ret = pipeline_stop(p);
	CHECK(!ret, "stop: %s", strerror(-ret));
	CHECK(r.nr_run == JOBS && r.nr_dropped == JOBS, "%d run, %d freed", (int)r.nr_run,
	      (int)r.nr_dropped);
	for (int i = 0; i < JOBS; i++) {
		CHECK(r.order[i] == i, "job %d ran %d-th", r.order[i], i);
		CHECK(r.tid[i] != gettid(), "job %d ran on the caller's thread", i);
	}
}

TEST(the_first_failure_drops_the_jobs_after_it_and_is_returned)
{
	struct record r = { .fail_at = 3 };
	struct pipeline *p;
	int ret = 0, i;

	CHECK(!pipeline_start(run_job, drop_job, &r, &p), "start");
	for (i = 0; i < JOBS && !ret; i++)
		ret = push(p, &r, i);
	CHECK(ret == -EIO || pipeline_drain(p) == -EIO, "neither push nor drain said -EIO");
	ret = pipeline_stop(p);
	CHECK(ret == -EIO, "stop returned %d", ret);
	CHECK(r.nr_run == 4, "%d jobs ran, 4 wanted (0 to 3)", (int)r.nr_run);
	CHECK(r.nr_dropped == i, "%d of the %d jobs given freed", (int)r.nr_dropped, i);
}

TEST(drain_waits_for_the_job_running)
{
	struct record r = { .fail_at = -1, .slow_ms = 30 };
	struct pipeline *p;

	CHECK(!pipeline_start(run_job, drop_job, &r, &p), "start");
	CHECK(!push(p, &r, 0) && !push(p, &r, 1), "push");
	CHECK(!pipeline_drain(p), "drain");
	CHECK(r.nr_run == 2 && r.nr_dropped == 2, "drain returned with %d run, %d done",
	      (int)r.nr_run, (int)r.nr_dropped);
	CHECK(!push(p, &r, 2), "push after a drain");
	CHECK(!pipeline_stop(p), "stop");
	CHECK(r.nr_run == 3, "%d run", (int)r.nr_run);
}

static char clone_stack[64 * 1024] __attribute__((aligned(16)));

static int sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

/* A root whose children are a plain fork, a CLONE_FILES clone and a
 * CLONE_VM one; writes the four pids to @out and waits. */
static void __attribute__((noreturn)) sharing_root(int out)
{
	pid_t pids[4] = { getpid() };

	pids[1] = fork();
	if (pids[1] == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sleeper(NULL);
	}
	pids[2] = clone(sleeper, clone_stack + sizeof(clone_stack) / 2, CLONE_FILES | SIGCHLD,
			NULL);
	pids[3] = clone(sleeper, clone_stack + sizeof(clone_stack), CLONE_VM | SIGCHLD, NULL);
	if (pids[1] < 0 || pids[2] < 0 || pids[3] < 0 ||
	    write(out, pids, sizeof(pids)) != sizeof(pids))
		_exit(1);
	sleeper(NULL);
	_exit(0);
}

TEST(a_process_sharing_an_fd_table_or_an_mm_never_overlaps)
{
	struct tree_task tasks[4] = { 0 };
	struct tree tree = { .tasks = tasks, .nr = 4 };
	pid_t pids[4] = { 0 };
	int fds[2], ret;
	pid_t root;

	CHECK(!pipe(fds), "pipe");
	root = fork();
	if (root == 0) {
		close(fds[0]);
		sharing_root(fds[1]);
	}
	close(fds[1]);
	CHECK_GOTO(read(fds[0], pids, sizeof(pids)) == sizeof(pids), out, "the root's pids");
	for (int i = 0; i < 4; i++) {
		tasks[i].pid = pids[i];
		tasks[i].parent = i ? 0 : -1;
		tasks[i].ppid = i ? pids[0] : getpid();
		tasks[i].state = TREE_ALIVE;
	}
	ret = tree_find_sharing(&tree);
	CHECK_GOTO(!ret, out, "tree_find_sharing: %s", strerror(-ret));
	CHECK_GOTO(tree_task_shares_inside(&tree, 0), out, "the root shares its table and mm");
	CHECK_GOTO(!tree_task_shares_inside(&tree, 1), out, "a plain child shares nothing");
	CHECK_GOTO(tree_task_shares_inside(&tree, 2), out, "the CLONE_FILES child");
	CHECK_GOTO(tree_task_shares_inside(&tree, 3), out, "the CLONE_VM child");
	CHECK_GOTO(tasks[3].shares_mm && !tasks[1].shares_mm && !tasks[2].shares_mm, out,
		   "shares_mm %d %d %d", tasks[1].shares_mm, tasks[2].shares_mm,
		   tasks[3].shares_mm);
out:
	for (int i = 3; i >= 0; i--)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	if (root > 0)
		kill(root, SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
	close(fds[0]);
}

/* Whether one of @vmas holds @addr. */
static bool covers(const struct parent_vma *vmas, size_t nr, uint64_t addr)
{
	for (size_t i = 0; i < nr; i++)
		if (vmas[i].start <= addr && addr < vmas[i].end)
			return true;
	return false;
}

TEST(a_parents_mappings_are_read_once_a_dump)
{
	struct cow_maps_cache *cache;
	struct parent_vma *first = NULL, *second = NULL, *fresh = NULL;
	size_t nr_first = 0, nr_second = 0, nr_fresh = 0;
	void *later;

	CHECK(!cow_maps_cache_new(&cache), "cache");
	CHECK_GOTO(!cow_maps_read(cache, getpid(), getpid(), &first, &nr_first), out, "first");
	/* A private anonymous mapping made after the first read. */
	later = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_GOTO(later != MAP_FAILED, out, "mmap");
	CHECK_GOTO(!cow_maps_read(cache, getpid(), getpid(), &second, &nr_second), out_unmap,
		   "second");
	CHECK_GOTO(!cow_maps_read(NULL, getpid(), getpid(), &fresh, &nr_fresh), out_unmap,
		   "uncached");
	CHECK_GOTO(covers(fresh, nr_fresh, (uint64_t)later), out_unmap,
		   "smaps read anew shows the new mapping");
	CHECK_GOTO(!covers(second, nr_second, (uint64_t)later) && nr_second == nr_first,
		   out_unmap, "the cache read smaps again (%zu mappings, then %zu)", nr_first,
		   nr_second);
	/* Each read is a copy of its own: one child's claims are not the
	 * next one's. */
	CHECK_GOTO(first != second, out_unmap, "the same list twice");
	for (size_t i = 0; i < nr_second; i++)
		CHECK_GOTO(!second[i].claimed && (!second[i].path || second[i].path != first[i].path),
			   out_unmap, "mapping %zu shares its claims or path", i);
out_unmap:
	munmap(later, 3 * 4096);
out:
	cow_maps_free(first, nr_first);
	cow_maps_free(second, nr_second);
	cow_maps_free(fresh, nr_fresh);
	cow_maps_cache_free(cache);
}
