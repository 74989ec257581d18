/* State shared by the files of the injection library; not part of its
 * public interface (inject.h). */
#ifndef CRYO_INJECT_INTERNAL_H
#define CRYO_INJECT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "inject/inject.h"

struct inj_thread {
	pid_t tid;
	/* The signal of the job-control stop it was seized in; 0: none. */
	int stop_signal;
};

/* One seized process. The "worker" is the thread that runs remote system
 * calls and the parasite; while it is hijacked its original registers and
 * signal mask are kept here and put back by restore_worker(). */
struct inj_task {
	pid_t pid;
	int nr_threads;
	int cap_threads;
	struct inj_thread *threads;

	pid_t worker;
	bool hijacked;
	bool signals_blocked;		/* the worker's, while hijacked */
	struct inj_regs *orig_regs;
	uint64_t orig_sigmask;
	unsigned long syscall_ip;	/* a "syscall" instruction in the task */

	struct inj_parasite *parasite;	/* started and not yet cured */
	/* While the parasite's area exists, remote syscalls run here: a
	 * "syscall; rt_sigreturn" gadget whose stack is the call frame that
	 * unmaps the area (or the saved state's frame in the area), so a task
	 * let go mid-call returns to itself (0: none). */
	unsigned long safe_ip, safe_sp;
	/* bootstrap.c: libc's rt_sigreturn trampoline, and a frame of the
	 * saved state below the stack pointer with the bytes it covers. */
	unsigned long restore_rt;
	unsigned long syscall_ret;	/* libc's "syscall; ret" bytes (0: none) */
	bool restore_rt_searched;
	/* Offered by inj_task_offer_sites(), checked before use (0: none). */
	unsigned long offered_restore_rt, offered_syscall_ret;
	unsigned long stack_frame;
	/* While the parasite's area may exist: a frame below stack_frame whose
	 * sigreturn unmaps the area at syscall_ret, whose ret then returns
	 * through stack_frame (0: not armed). */
	unsigned long unmap_frame;
	unsigned long stack_saved_start;	/* scratch, a call frame, the frame */
	size_t stack_saved_size;
	void *stack_saved;
	bool stop_signal_held;		/* a SIGSTOP arrived while we held the worker */
	bool stopped;			/* inj_stop() put it in a job-control stop */
	/* inj_seize_threads(): every thread dies if the tracer exits first
	 * (PTRACE_O_EXITKILL), whatever options are set later. */
	bool exit_kill;
};

/* Messages, formatted and handed to the function set with inj_set_log(). */
void inj_log(enum inj_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define inj_err(fmt, ...) inj_log(INJ_LOG_ERROR, fmt, ##__VA_ARGS__)
#define inj_warn(fmt, ...) inj_log(INJ_LOG_WARN, fmt, ##__VA_ARGS__)
#define inj_debug(fmt, ...) inj_log(INJ_LOG_DEBUG, fmt, ##__VA_ARGS__)

/* sigframe.c: an rt_sigframe of @regs and @sigmask for @frame_addr. */
size_t sigframe_size(const struct inj_regs *regs);
int sigframe_build(const struct inj_regs *regs, uint64_t sigmask, unsigned long frame_addr,
		   void *buf, size_t size);
/* A frame whose sigreturn calls @nr(@a0, @a1) at @ip with the stack at @sp
 * and every signal blocked; SIGFRAME_CALL_SIZE bytes, no xstate. */
#define SIGFRAME_CALL_SIZE 448
int sigframe_build_call(const struct inj_regs *regs, unsigned long ip, unsigned long sp, long nr,
			unsigned long a0, unsigned long a1, void *buf);

/* wait.c: waits for @tid's next wait status, reaping dead siblings meanwhile. */
int wait_thread(struct inj_task *task, pid_t tid, int *status);
/* The same, giving up with -ETIMEDOUT at @deadline (CLOCK_MONOTONIC; NULL:
 * never). */
int wait_thread_until(struct inj_task *task, pid_t tid, int *status,
		      const struct timespec *deadline);

/* regs.c: a thread's full CPU state through ptrace. */
int regs_read(pid_t tid, struct inj_regs *regs);
int regs_write(pid_t tid, const struct inj_regs *regs);

/* worker.c */
/* Saves the worker's registers and signal mask. */
int hijack_worker(struct inj_task *task);
/* Blocks all of the hijacked worker's signals, once its borrowed registers
 * are set (they must lead back through a frame of the saved state). */
int block_worker_signals(struct inj_task *task);
/* Parks the worker in a ptrace event stop and puts the saved state back,
 * exactly as it was when seized. */
int restore_worker(struct inj_task *task);
/* Waits for the worker's next stop and stores the wait status; fails with
 * -ESRCH if the thread died. */
int wait_worker_stop(struct inj_task *task, int *status);
/* When @status is the delivery of a SIGSTOP, notes it (it is sent again at
 * release), resumes the worker with @request and returns true. */
bool hold_worker_sigstop(struct inj_task *task, int status, int request);
/* Brings the worker into a PTRACE_EVENT_STOP: from another ptrace stop
 * when @running is false, or while it runs free (the parasite) when true. */
int park_worker(struct inj_task *task, bool running);
/* park_worker() in two halves, so that many threads park at once: the
 * request, then the wait for the event stop. */
int park_worker_start(struct inj_task *task, bool running);
int park_worker_finish(struct inj_task *task);
/* restore_worker()'s second half, for a worker already parked. */
int restore_parked_worker(struct inj_task *task);

/* syscall.c */
/* Finds where remote syscalls run (once) and hijacks the worker. */
int prepare_worker(struct inj_task *task);
int remote_syscall(struct inj_task *task, long *result, long nr, const unsigned long args[6]);
/* Runs the worker to its next syscall stop (entry or exit). */
int step_to_syscall_stop(struct inj_task *task);
/* The same in two halves: let the worker go on, then wait for its stop. */
int step_start(struct inj_task *task);
int step_finish(struct inj_task *task);

/* bootstrap.c: a remote syscall that needs no parasite area, safe if cryo
 * dies (see there); and putting back the stack bytes its frame covered,
 * once the thread no longer depends on that frame. */
int bootstrap_syscall(struct inj_task *task, long *result, long nr, const unsigned long args[6]);
/* libc's rt_sigreturn trampoline (found once; 0: none), and
 * bootstrap_syscall() in its three steps, each but the last ending with
 * the worker let go (wait with step_finish() before the next): to the
 * trampoline's rt_sigreturn entry, turned into call @nr, its result. */
unsigned long bootstrap_trampoline(struct inj_task *task);
int bootstrap_call_start(struct inj_task *task);
int bootstrap_call_redirect(struct inj_task *task, long nr, const unsigned long args[6]);
int bootstrap_call_result(struct inj_task *task, long *result);
void bootstrap_put_back_stack(struct inj_task *task);
/* The INJ_SCRATCH_MAX bytes below that frame (placing it if needed). */
int bootstrap_scratch(struct inj_task *task, unsigned long *addr);
/* From now until the stack is put back, every way the task can go back to
 * itself first unmaps [@start, @start + @size): the parasite's area, mapped
 * there next. -ENOTSUP when the task lacks libc's two gadgets. */
int bootstrap_arm_unmap(struct inj_task *task, unsigned long start, size_t size);
/* thread.c: @len bytes between @buf and the task's scratch at @addr; the
 * arguments of a call with INJ_ARG_BUF_AT() made addresses in it. */
int scratch_io(pid_t pid, unsigned long addr, void *buf, size_t len, bool write);
void scratch_args(const unsigned long args[6], size_t len, unsigned long scratch,
		  unsigned long real[6]);
/* seize.c: whether @tid is one of the seized threads. */
bool task_is_thread(const struct inj_task *task, pid_t tid);

/* The parasite as the library tracks it (parasite.c, channel.c). */
struct inj_parasite {
	struct inj_task *task;
	unsigned long base;	/* the area mapped in the task: blob, args, stack */
	size_t size;
	int sock;		/* our end of the channel */
	int remote_fd;		/* the parasite's end, a descriptor in the task */
	bool broken;		/* the channel can no longer be trusted */
	bool worker_stopped;	/* the worker already reported a stop (a crash) */
};

/* channel.c: sends FINI and waits for the parasite's answer. */
int channel_finish(struct inj_parasite *parasite);

#endif
