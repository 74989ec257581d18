/* Task attributes: what the kernel keeps per process and per thread apart
 * from memory, files and CPU registers. Collected at dump into a TaskCore,
 * checked when the image is read, applied at restore in the new task. Not
 * here: registers, xstate and signal masks (dump/regs.c), and at restore
 * creds, rseq, dumpable, pending signals and the final signal mask, which
 * the final stage sets once memory is back. */
#ifndef CRYO_TASK_TASK_H
#define CRYO_TASK_TASK_H

#include "images/image.h"
#include "images/proto/core.pb-c.h"
#include "inject/inject.h"

/* The most threads a restore creates in one task: each takes a stack of
 * its own in the restorer's area. */
#define TASK_MAX_THREADS 16384

/* Fills @core from procfs and through @parasite (running in @task): ids,
 * comm, personality, umask, exit signal, cwd and root, creds, rlimits,
 * signal actions, itimers, POSIX timers, prctl state, and one ThreadCore
 * per thread with its tid, comm and, where they differ from the main
 * thread's, its credentials and no_new_privs. Leaves regs, xstate and
 * sigmask of each thread to their owner. */
int task_dump_attrs(struct inj_task *task, struct inj_parasite *parasite, TaskCore *core);

/* Fills what only ptrace shows: pending signals of each thread and of the
 * process, and each thread's rseq registration; and by remote syscalls in
 * each thread its sigaltstack, clear_child_tid, robust list and
 * securebits (which complete its own credentials). ptrace needs every thread
 * in a ptrace stop, and the thread that runs a parasite is not: call this
 * while no parasite runs in @task (before inj_parasite_start() or after
 * inj_parasite_cure()). Finds or adds the ThreadCore of each thread, so it
 * may come before or after task_dump_attrs(). */
int task_dump_ptrace_attrs(struct inj_task *task, TaskCore *core);

/* After task_dump_attrs(), the whole tree frozen: @core's removed cwds and
 * roots (the process's and its threads' own) that no fd of its own holds
 * are saved as file objects, which @objs->make makes
 * (files_dump_dir_object()), in cwd_file and root_file: one object per
 * directory, which any fd of it, in the tree or in flight, shares. */
struct task_dir_objects {
	int (*make)(void *arg, const char *who, const char *what, const char *proc_link,
		    uint32_t *id);
	void *arg;
};
int task_dump_removed_dirs(TaskCore *core, const struct task_dir_objects *objs);

/* Frees what task_dump_attrs() and task_dump_ptrace_attrs() allocated
 * (ThreadCore entries included: free their regs and xstate first) and
 * resets those fields. */
void task_core_free_attrs(TaskCore *core);

/* Bounds and consistency of every attribute of @core, before anything is
 * created from it. Logs what is wrong and returns -EINVAL. */
int task_validate(const TaskCore *core);

/* The check of core-PID.img for the image registry: one record, for the
 * pid in the file name, that passes task_validate(). */
int task_core_check(const struct image *img, const struct image_dir *dir, int id);
/* core-PID.img, with that check, for the image registry. */
extern const struct image_kind_set task_image_kinds;

/* Applies the attributes of @core to the calling process, which is to
 * become the restored task (its PID, files already restored, memory not
 * yet): comm, personality, umask, cwd and root, rlimits, signal actions,
 * parent-death signal, child subreaper, no_new_privs, itimers, POSIX timers
 * with their ids. Blocks every signal first
 * and leaves them blocked: the handlers it installs point into memory that
 * is not there yet. */
int task_restore_attrs(const TaskCore *core);

/* A removed root (@core's root_ghost) made again, with the folders removed
 * above it, opened in *@fd and removed: the restorer chroots into it
 * through the fd. */
int task_make_ghost_root(const TaskCore *core, int *fd);

/* The directory @path (from cryo's root) that @who ("pid 12 thread 14")
 * enters or chroots into as its @what ("cwd", "root"), opened in *@fd: a
 * removed one (@g) made again first, with its removed folders, and
 * removed again. */
int task_open_dir(const char *who, const char *what, const char *path, const GhostDir *g,
		  int *fd);

/* The credentials thread @t is restored with: its own, else the process's
 * (the main thread's); NULL when the image has none. */
static inline const Creds *task_thread_creds(const TaskCore *core, const ThreadCore *t)
{
	return t->creds ? t->creds : core->creds;
}

/* Whether thread @t has no_new_privs: its own value, else the process's. */
static inline bool task_thread_nnp(const TaskCore *core, const ThreadCore *t)
{
	if (t->has_no_new_privs)
		return t->no_new_privs;
	return core->prctl && core->prctl->no_new_privs;
}

/* Whether every thread has no_new_privs: then the process sets it before
 * its threads are made, and they inherit it; else each thread that has it
 * sets it itself, in the restorer. */
static inline bool task_nnp_every_thread(const TaskCore *core)
{
	for (size_t i = 0; i < core->n_threads; i++)
		if (!task_thread_nnp(core, core->threads[i]))
			return false;
	return core->prctl && core->prctl->no_new_privs;
}

/* Refuses, naming it, a scheduling state this machine cannot give back
 * (an affinity naming a CPU it does not have, of @possible_cpus:
 * sysconf(_SC_NPROCESSORS_CONF), which lists sysfs, taken once for all
 * the processes); before anything is made. */
int task_check_sched(const TaskCore *core, long possible_cpus);

/* From cryo, in the seized @task (every thread made, none running yet, no
 * register of theirs set yet): each thread's policy, priority, nice, CPU
 * affinity and I/O priority, set by tid, its timer slack by a prctl() run
 * in it, and the process's oom_score_adj. cryo's privileges count, not
 * the task's, so its credentials may already be the saved ones. @tids:
 * the tid cryo sees of each of @core's threads (in a clone, not the saved
 * ones). */
int task_restore_sched(struct inj_task *task, const TaskCore *core, const pid_t *tids);

/* Whether a thread of @core holds seccomp filters with neither no_new_privs
 * nor CAP_SYS_ADMIN in its saved effective set (a container's: its runtime
 * installed them before dropping the capability). The kernel lets such a
 * thread install filters only with CAP_SYS_ADMIN, so the restorer leaves
 * it in the effective and permitted sets and task_restore_seccomp() takes
 * it away once the filters are in. */
bool task_seccomp_needs_admin(const TaskCore *core);

/* From cryo, in the seized @task, after every other remote syscall and
 * before the registers: each thread's seccomp filters (shared ones once,
 * with TSYNC) or strict mode, then, when task_seccomp_needs_admin(), each
 * thread's saved capability sets. Suspends seccomp in the task until it is
 * released. @tids as for task_restore_sched(). */
int task_restore_seccomp(struct inj_task *task, const TaskCore *core, const pid_t *tids);

/* In the restored task while it still has cryo's credentials: its audit
 * login uid, which only a task may set for itself (CAP_AUDIT_CONTROL). */
int task_restore_loginuid(const TaskCore *core);

/* lsm.c: the LSM label of thread @tid of @pid (/proc/PID/task/TID/
 * attr/current; the process's for @tid = @pid) into @creds->lsm_profile;
 * nothing where no LSM labels processes, or for AppArmor's "unconfined". */
int lsm_label_dump(pid_t pid, pid_t tid, Creds *creds);
/* At restore, for the label @pid gets (@given: the caller's lsm_profile,
 * else the saved one): -EOPNOTSUPP, naming the reason, as cryo sets none
 * yet; where no LSM labels processes the reason says so. */
int lsm_label_check_settable(pid_t pid, const char *label, bool given);

#endif
