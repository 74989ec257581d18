/* Helpers shared by the files of src/task: reading small procfs files,
 * appending to the repeated fields of a TaskCore, finding a thread's entry.
 * Private to src/task; the interface is task.h. */
#ifndef CRYO_TASK_INTERNAL_H
#define CRYO_TASK_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/types.h>

#include "common/procfs.h"
#include "images/proto/core.pb-c.h"
#include "inject/inject.h"

/* The kernel's TASK_COMM_LEN, terminating NUL included. */
#define TASK_COMM_LEN 16

/* The kernel's siginfo_t, as PTRACE_PEEKSIGINFO copies it out. */
#define SIGINFO_SIZE 128

/* Highest signal number on x86_64. */
#define TASK_NSIG 64
/* PrctlState.membarrier's bits: MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
 * _PRIVATE_EXPEDITED, _PRIVATE_EXPEDITED_SYNC_CORE, _PRIVATE_EXPEDITED_RSEQ. */
#define TASK_MEMBARRIER_REGISTERED (4u | 16u | 64u | 256u)

/* Appends @item to the repeated field @array of @n entries; @n grows only
 * when the append succeeded, so the message stays consistent for freeing. */
#define task_push(array, n, item)                                                \
	({                                                                       \
		__typeof__(array) __a = realloc((array), ((n) + 1) * sizeof(*__a)); \
		int __ret = -ENOMEM;                                             \
		if (__a) {                                                       \
			__a[(n)] = (item);                                       \
			(array) = __a;                                           \
			(n)++;                                                   \
			__ret = 0;                                               \
		}                                                                \
		__ret;                                                           \
	})

/* Reads /proc/@pid/@name into a new string (read_text_file()), saying
 * why when it cannot. */
int proc_read(pid_t pid, const char *name, char **text);

/* The ThreadCore of @tid in @core, added (with only its tid set) when
 * missing. NULL without memory. */
ThreadCore *task_thread_get(TaskCore *core, pid_t tid);

/* "RLIMIT_NOFILE" for resource 7, for messages. */
const char *task_rlimit_name(uint32_t resource);

/* dump_proc.c: everything procfs tells about the process and its threads
 * (each thread's credentials without their securebits). */
int dump_proc_attrs(struct inj_task *task, TaskCore *core);

/* dump_dirs.c: the cwd and root as paths from the dumping process's root,
 * or as ghosts when removed (with the folders removed above them), the
 * process's and those of each thread with fs info of its own; refused,
 * saying why, when no path reaches them. */
int dump_dirs(struct inj_task *task, TaskCore *core);
/* The lowest fd of @proc ("/proc/PID" or "/proc/PID/task/TID") that holds
 * the directory @st, or -1. */
struct stat;
int task_fd_of_dir(const char *proc, const struct stat *st);

/* Whether two credentials are the same, LSM label included. */
bool task_creds_equal(const Creds *a, const Creds *b);
/* Frees @creds and what it holds; NULL is fine. */
void task_creds_free(Creds *creds);

/* dump_threads.c: each thread's sigaltstack, clear_child_tid, robust list,
 * and its securebits, its own credentials dropped when they then equal the
 * main thread's. */
int dump_thread_own_state(struct inj_task *task, TaskCore *core);
/* The same state of the parasite's own thread (sigaltstack, clear_child_tid,
 * timer slack), asked of the parasite: dump_thread_own_state() skips it. */
int dump_thread_state_inside(struct inj_parasite *parasite, TaskCore *core);

/* dump_seccomp.c: each thread's seccomp mode and filters, the filters
 * saved once in core->seccomp_filters. */
int dump_seccomp(struct inj_task *task, TaskCore *core);

/* dump_timers.c: POSIX timers, from /proc/PID/timers and the parasite. */
int dump_posix_timers(pid_t pid, struct inj_parasite *parasite, TaskCore *core);

/* sched.c: each thread's scheduling state, I/O priority and timer slack,
 * the process's oom_score_adj and login uid. */
int dump_sched(struct inj_task *task, TaskCore *core);
/* Gives @t an empty SchedState unless it has one; 0 or -ENOMEM. */
int task_thread_sched(ThreadCore *t);

/* A saved CPU affinity holds at most this many bytes: the kernel's NR_CPUS
 * is at most 8192 on x86_64. */
#define TASK_AFFINITY_MAX_BYTES (8192 / 8)
#define TASK_TIMER_SLACK_MAX (1ULL << 62)
#define TASK_UCLAMP_MAX 1024		/* SCHED_CAPACITY_SCALE */
/* Policies the installed headers may lack: SCHED_DEADLINE (3.14) and
 * SCHED_EXT (6.12: a BPF scheduler's, SCHED_NORMAL without one). */
#define TASK_POLICY_DEADLINE 6
#define TASK_POLICY_EXT 7

static inline const char *task_policy_name(uint32_t policy)
{
	static const char *const names[] = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",
					     "SCHED_BATCH", "policy 4", "SCHED_IDLE",
					     "SCHED_DEADLINE", "SCHED_EXT" };

	return policy < sizeof(names) / sizeof(names[0]) ? names[policy] : "an unknown policy";
}

/* SCHED_FIFO or SCHED_RR: a real-time priority, no timer slack. */
static inline bool task_policy_is_rt(uint32_t policy)
{
	return policy == 1 || policy == 2;
}

/* restore_timers.c: recreates the POSIX timers of @core with their ids. */
int restore_posix_timers(const TaskCore *core);

#endif
