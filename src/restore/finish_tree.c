/* cryo's last part of a restore, over the whole tree: each live process is
 * seized and finished (finish.c) as soon as its restorer reports done,
 * while the others still fill their memory, and all are released together
 * once every one is whole. Not its business: the finish of one process
 * (finish.c) or the stages before (stages.c). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "inject/inject.h"
#include "restore/run.h"

/* The area's unmap ends the remote calls into a process: it may hold the
 * syscall site. It comes at the process's finish unless the stops put
 * back after every finish make calls of their own. */
static bool unmap_at_finish(const struct restore_set *rs)
{
	if (rs->leave_stopped)
		return false;
	for (size_t i = 0; i < rs->tree.nr; i++)
		if (rs->tree.tasks[i].state == TREE_ALIVE && rs->tasks[i].core->has_stop_signal)
			return false;
	return true;
}

int finish_tree_setup(struct restore_run *run)
{
	struct restore_set *rs = run->rs;
	const char *test_at;

	run->seized = calloc(rs->tree.nr + 1, sizeof(*run->seized));
	if (!run->seized)
		return -ENOMEM;
	restore_finish_known_find(&run->finish_known);
	/* A process's finish overlaps the other restorers' work when it is
	 * seized so that it dies with cryo (inj_seize_threads()): its saved
	 * parent-death signal, set then, no longer does. Not in a clone (the
	 * tids differ there), nor in a lazy restore, whose page server must
	 * first take each userfaultfd, which the finish closes. */
	run->finish_early = !rs->lazy_pages && !run->inside && run->finish_known.threads_known;
	run->unmap_at_finish = unmap_at_finish(rs);
	/* Tests fail the Nth finish, or kill cryo after it, with processes
	 * held before it. */
	test_at = getenv("CRYO_TEST_FINISH_FAIL_AT");
	run->finish_fail_at = test_at ? strtoul(test_at, NULL, 10) : 0;
	test_at = getenv("CRYO_TEST_FINISH_DIE_AT");
	run->finish_die_at = test_at ? strtoul(test_at, NULL, 10) : 0;
	return 0;
}

bool finish_early_ok(const struct restore_run *run, size_t index)
{
	const struct tree *tree = &run->rs->tree;

	/* The finish closes the last gate's fd in the process: in an fd
	 * table shared with another, that one may not have read its byte
	 * from it yet. */
	return !tree->tasks[index].shares_files && !share_group_members(tree, index, false);
}

int finish_one(struct restore_run *run, size_t index)
{
	struct restore_set *rs = run->rs;
	struct restore_task *rt = &rs->tasks[index];
	int pipe_fds[2] = { shared_table_report_fd(rs, index), rs->gate_fd[1] };
	int ret;

	if (run->seized[index] || rs->tree.tasks[index].state != TREE_ALIVE)
		return 0;
	if (++run->nr_finished == run->finish_fail_at) {
		pr_err("restore: pid %d: its finish failed on purpose (CRYO_TEST_FINISH_FAIL_AT), "
		       "%zu processes held finished", rt->pid, run->nr_finished - 1);
		return -ECANCELED;
	}
	ret = restore_finish(rt, run->vdso[index], &run->finish_known, run->uffd[index],
			     rs->locks, pipe_fds, &run->seized[index]);
	if (!ret)
		ret = restore_cgroup_join(rs, rt);
	if (!ret && run->unmap_at_finish) {
		ret = restore_unmap_area(run->seized[index], rt->pid, run->area[index].start,
					 run->area[index].end);
		run->area[index] = (struct restore_area){ 0, 0 };
	}
	if (!ret && run->nr_finished == run->finish_die_at)
		kill(getpid(), SIGKILL);
	return ret;
}

/* Nothing of a failed restore may run: each process still held is killed
 * before it is let go, so it dies where it stands. */
void finish_tree_end(struct restore_run *run)
{
	for (size_t i = 0; run->seized && i < run->rs->tree.nr; i++) {
		if (!run->seized[i])
			continue;
		if (run->pidfds[i] >= 0)
			syscall(SYS_pidfd_send_signal, run->pidfds[i], SIGKILL, NULL, 0);
		inj_release(run->seized[i]);
		run->seized[i] = NULL;
	}
	free(run->seized);
	run->seized = NULL;
}

int finish_tree(struct restore_run *run)
{
	struct restore_set *rs = run->rs;
	int ret = 0;

	/* Those not finished yet (every one, in a lazy restore). */
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		ret = finish_one(run, i);
	if (!ret)
		ret = restore_stops(rs, run->seized);
	/* Last of the remote calls: the syscall site may be in the area. */
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (run->seized[i] && run->area[i].end)
			ret = restore_unmap_area(run->seized[i], rs->tasks[i].pid,
						 run->area[i].start, run->area[i].end);
	if (ret)
		return ret;
	/* Children first: a parent that runs finds a stopped child stopped. */
	for (size_t i = rs->tree.nr; i-- > 0;) {
		if (run->seized[i] && inj_release(run->seized[i]) && !ret)
			ret = -EIO;
		run->seized[i] = NULL;
	}
	return ret;
}
