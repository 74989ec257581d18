/* cryo's injection library: seize a live task with ptrace, read and write its
 * registers, run system calls inside it, load a freestanding parasite into it
 * and talk to that parasite, then cure the task so that it cannot tell.
 *
 * The library knows nothing of images or of what the parasite's commands
 * mean: it moves bytes and file descriptors. x86_64 only for now.
 *
 * Every function returns 0 or a negative errno and logs the cause through
 * the function set with inj_set_log(). */
#ifndef CRYO_INJECT_H
#define CRYO_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <sys/user.h>

/* The library is built with hidden visibility: what this header declares is
 * all it exports, and its own helpers stay inside the archive. */
#pragma GCC visibility push(default)

/* Large enough for every xstate component of today's CPUs (AMX tiles included). */
#define INJ_XSTATE_MAX 16384

/* A thread's full CPU state: general registers and the XSAVE area in the
 * standard (uncompacted) layout that NT_X86_XSTATE uses. */
struct inj_regs {
	struct user_regs_struct gp;
	uint32_t xstate_size;
	uint8_t xstate[INJ_XSTATE_MAX] __attribute__((aligned(64)));
};

/* A parasite blob as the build embeds it: @size bytes of code and data to
 * copy, @mem_size bytes to map (bss included), entry point at @entry. */
struct inj_blob {
	const void *bytes;
	size_t size;
	size_t mem_size;
	size_t entry;
};

struct inj_task;
struct inj_parasite;

enum inj_log_level {
	INJ_LOG_ERROR = 1,
	INJ_LOG_WARN,
	INJ_LOG_INFO,
	INJ_LOG_DEBUG,
};
typedef void (*inj_log_fn)(enum inj_log_level level, const char *message);

/* Where the library's messages go; the default writes errors to stderr. */
void inj_set_log(inj_log_fn fn);

/* Seizes every thread of process @pid and waits until all are stopped. A
 * thread that forks or clones while being seized is caught by re-reading the
 * thread list until it is stable. */
int inj_seize(pid_t pid, struct inj_task **task);
/* The same, giving up at @deadline (CLOCK_MONOTONIC) with -ETIMEDOUT,
 * naming the thread that did not stop and what it waits in. The wait for a
 * process's only thread blocks in waitpid(): the caller must have a signal
 * interrupt it at the deadline (a handler without SA_RESTART, repeated:
 * dump's timer). A thread that did not stop cannot be detached while it
 * runs: it stays attached, its stop request pending, until the caller
 * exits (the kernel then drops both). */
int inj_seize_until(pid_t pid, const struct timespec *deadline, struct inj_task **task);

/* Seizes process @pid whose @nr threads @tids the caller knows (one it
 * made and holds still, such as a restored process in its restorer): each
 * is seized and interrupted, then all are waited for, and the thread list
 * is read once for any other, which is seized too (inj_thread_count() shows
 * it). Without inj_seize()'s reads of every thread's status: for a process
 * under no seccomp filter (inj_suspend_seccomp() is for one that gets one
 * while seized). Unlike inj_seize(), the process is killed if the caller
 * exits before inj_release() (PTRACE_O_EXITKILL). */
int inj_seize_threads(pid_t pid, const pid_t *tids, int nr, struct inj_task **task);

/* Offers the address of a "syscall" instruction the caller knows the task
 * has (the vDSO it mapped there): remote syscalls run there, without a
 * search of the task's mappings, once two bytes read there confirm it.
 * Nothing changes when they do not. */
void inj_task_offer_syscall_site(struct inj_task *task, unsigned long ip);

/* Restores whatever the library changed (registers, signal mask, memory
 * mappings of a parasite not yet cured), detaches every thread and lets the
 * task run on as if nothing happened. Frees @task. */
int inj_release(struct inj_task *task);

/* The signal (SIGSTOP, SIGTSTP, ...) of the job-control stop every thread
 * was in when seized, 0 when none was, -EAGAIN when only some were (a stop
 * or a SIGCONT came while seizing). Such a task runs borrowed code all the
 * same, and the kernel puts the stop back when it is released. */
int inj_stop_signal(const struct inj_task *task);

/* Puts the seized task in a job-control stop by @sig (SIGSTOP, SIGTSTP,
 * SIGTTIN or SIGTTOU), complete before this returns: every thread has
 * taken part, and the parent has been told as for any stop. Each thread
 * keeps its signal mask, and other pending signals stay pending. The task
 * stays stopped once released, until a SIGCONT. Not while code is borrowed. */
int inj_stop(struct inj_task *task, int sig);

/* Suspends the seccomp filters of every thread until release, so that
 * the remote syscalls run later (seccomp() installing filters among them)
 * are not judged by filters installed meanwhile. inj_seize() already does
 * this for a task that had seccomp when seized. */
int inj_suspend_seccomp(struct inj_task *task);

/* Offers @task the places where @like (seized before: its parent, forked
 * without exec, has libc at the same address) found libc's rt_sigreturn
 * trampoline and "syscall; ret": each is taken only if @task has the same
 * bytes there, in an executable mapping of libc, and libc is scanned as
 * before otherwise. Saves a scan of libc's text per process of a tree. */
void inj_task_offer_sites(struct inj_task *task, const struct inj_task *like);

pid_t inj_task_pid(const struct inj_task *task);
int inj_thread_count(const struct inj_task *task);
pid_t inj_thread_tid(const struct inj_task *task, int index);

/* The state the thread had when it was seized; for the thread that runs
 * remote code these are the saved registers, not the borrowed ones. */
int inj_get_regs(struct inj_task *task, pid_t tid, struct inj_regs *regs);
/* Replaces that state; it takes effect when the thread is released. */
int inj_set_regs(struct inj_task *task, pid_t tid, const struct inj_regs *regs);
/* The blocked-signal mask the thread had when it was seized. */
int inj_get_sigmask(struct inj_task *task, pid_t tid, uint64_t *mask);
/* Replaces it; like registers, it takes effect when the thread is released. */
int inj_set_sigmask(struct inj_task *task, pid_t tid, uint64_t mask);

/* Whether @regs were saved inside a system call that a stop interrupted:
 * rax holds one of the kernel's internal ERESTART* codes. */
bool inj_syscall_interrupted(const struct user_regs_struct *regs);
/* Points such registers back at their syscall instruction with its number
 * in rax, as the kernel's own restart would, and sets orig_rax to -1 so
 * nothing restarts it twice. Other registers are left as they are. */
void inj_reenter_syscall(struct user_regs_struct *regs);

/* Runs syscall @nr with up to six arguments in the task and stores its raw
 * return value (a negative errno on failure) in @result. The thread is back
 * in its seized state when this returns, so a caller killed afterwards
 * leaves the task as it was. */
int inj_syscall(struct inj_task *task, long *result, long nr, unsigned long a1,
		unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5,
		unsigned long a6);

/* Room for the in/out buffer of inj_thread_syscall(). */
#define INJ_SCRATCH_MAX 256
/* An argument of inj_thread_syscall() that stands for the buffer's address,
 * and one that stands for the address @offset bytes into it. */
#define INJ_ARG_BUF (~0UL - 0x1000)
#define INJ_ARG_BUF_AT(offset) (INJ_ARG_BUF + (offset))

/* Runs syscall @nr in thread @tid of the task, any of its threads, and
 * stores its raw return value in @result. @len bytes of @buf (at most
 * INJ_SCRATCH_MAX; none when @len is 0) are copied into scratch memory in
 * the task first, every argument INJ_ARG_BUF_AT(offset) (offset below @len)
 * is replaced by that address in the memory, and its contents are copied
 * back into @buf
 * afterwards: sigaltstack(NULL, INJ_ARG_BUF) reads @tid's alternate stack.
 * The scratch memory and a signal frame of the thread's own state lie below
 * its stack pointer (past the red zone), and the call runs through libc's
 * rt_sigreturn trampoline when the task has one: a caller killed midway
 * leaves the thread to return to itself. The bytes below the stack pointer
 * are put back, and the thread is in its seized state, when this returns.
 * Not while a parasite runs, since it has borrowed the worker thread. */
int inj_thread_syscall(struct inj_task *task, pid_t tid, long *result, void *buf, size_t len,
		       long nr, const unsigned long args[6]);

/* One call of inj_thread_syscalls(): as inj_thread_syscall()'s arguments. */
struct inj_call {
	long nr;
	unsigned long args[6];
	void *buf;
	size_t len;
	long result;
};

/* Runs @n calls in order in thread @tid, as inj_thread_syscall() runs one,
 * with the thread borrowed once for all of them: each borrowing costs a
 * ptrace stop more than the calls themselves. Stops at the first call that
 * cannot be run (not one that returns an error: see each result). */
int inj_thread_syscalls(struct inj_task *task, pid_t tid, struct inj_call *calls, size_t n);

/* The calls of one thread for inj_threads_syscalls(). */
struct inj_thread_calls {
	pid_t tid;
	struct inj_call *calls;
	size_t n;
};

/* inj_thread_syscalls() for @nr threads at once: every thread is borrowed
 * together and each step asked of all before any is waited for, so a
 * process of many threads pays a few rounds of stops, not a few stops a
 * thread in turn. Each thread's calls stop at its first that cannot be run;
 * the others go on. Every thread is given back before this returns. */
int inj_threads_syscalls(struct inj_task *task, struct inj_thread_calls *each, size_t nr);

/* Maps @blob into the task, connects a channel to it and starts it on its
 * own stack with all signals blocked. */
int inj_parasite_start(struct inj_task *task, const struct inj_blob *blob,
		       struct inj_parasite **parasite);

/* Sends command @cmd with @in_len bytes of argument and waits for the reply.
 * Up to @out_cap bytes of the reply land in @out and its length in @out_len;
 * a longer reply fails with -EMSGSIZE (the channel stays usable). When
 * @fd is not NULL, a descriptor the parasite attached is stored there (-1 if
 * none). Returns the parasite's status for the command (0 or -errno). */
int inj_parasite_call(struct inj_parasite *parasite, uint32_t cmd, const void *in,
		      size_t in_len, void *out, size_t out_cap, size_t *out_len, int *fd);

/* The same with @send_fd passed to the parasite along with the command
 * (SCM_RIGHTS): the task holds a copy of that open file until the
 * parasite closes it. No fd comes back. */
int inj_parasite_call_with_fd(struct inj_parasite *parasite, uint32_t cmd, int send_fd,
			      const void *in, size_t in_len, void *out, size_t out_cap,
			      size_t *out_len);
/* The thread the parasite runs in (the task's main thread while it lives). */
pid_t inj_parasite_thread(const struct inj_parasite *parasite);

/* Where the parasite sits in the task (for callers that check the layout). */
unsigned long inj_parasite_base(const struct inj_parasite *parasite);
size_t inj_parasite_size(const struct inj_parasite *parasite);

/* Stops the parasite, unmaps it and restores the thread's registers and
 * signal mask. The task stays seized. Frees @parasite. */
int inj_parasite_cure(struct inj_parasite *parasite);

#pragma GCC visibility pop

#endif
