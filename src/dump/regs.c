/* Saves each thread's CPU state into its ThreadCore: general registers,
 * the XSAVE area and the blocked-signal mask, as the task had them when it
 * was seized (not as the parasite borrowed them). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dump/dump.h"
#include "mem/precopy.h"
#include "task/user_regs.h"

static int dump_thread_regs(struct inj_task *task, ThreadCore *thread,
			    const struct precopy_task *pt)
{
	struct inj_regs *regs = aligned_alloc(64, sizeof(*regs));
	int ret;

	if (!regs)
		return -ENOMEM;
	ret = inj_get_regs(task, thread->tid, regs);
	if (!ret)
		ret = inj_get_sigmask(task, thread->tid, &thread->sigmask);
	if (ret) {
		pr_err("dump: pid %d thread %d: cannot read registers: %s", inj_task_pid(task),
		       thread->tid, strerror(-ret));
		goto out;
	}
	thread->regs = malloc(sizeof(*thread->regs));
	thread->xstate.data = malloc(regs->xstate_size);
	if (!thread->regs || !thread->xstate.data) {
		ret = -ENOMEM;
		goto out;
	}
	precopy_fix_restart(pt, thread->tid, &regs->gp);
	user_regs_to_image(&regs->gp, thread->regs);
	memcpy(thread->xstate.data, regs->xstate, regs->xstate_size);
	thread->xstate.len = regs->xstate_size;
out:
	free(regs);
	return ret;
}

int dump_regs(struct inj_task *task, TaskCore *core, const struct precopy_task *pt)
{
	for (size_t i = 0; i < core->n_threads; i++) {
		int ret = dump_thread_regs(task, core->threads[i], pt);

		if (ret)
			return ret;
	}
	return 0;
}

void dump_regs_free(TaskCore *core)
{
	for (size_t i = 0; i < core->n_threads; i++) {
		free(core->threads[i]->regs);
		core->threads[i]->regs = NULL;
		free(core->threads[i]->xstate.data);
		core->threads[i]->xstate.data = NULL;
	}
}
