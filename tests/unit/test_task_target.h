/* The live target the task attribute tests share: a forked process sets
 * known attributes (signal actions, timers, limits, names, pending
 * signals...) and waits; dump_target() seizes it and dumps it through
 * ptrace and the parasite. Header-only: each test_task*.c is its own
 * binary. */
#ifndef CRYO_TEST_TASK_TARGET_H
#define CRYO_TEST_TASK_TARGET_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blobs/parasite-blob.h"
#include "common/cleanup.h"
#include "harness.h"
#include "inject/inject.h"
#include "parasite/commands.h"
#include "task/task.h"
#include "test_task_util.h"

#define SEC 1000000000ULL
#define TOLERANCE_NS (5 * SEC)

#define ITIMER_INTERVAL_NS (5 * SEC)
#define ITIMER_VALUE_NS (100 * SEC)
#define TIMER_SIGNAL_INTERVAL_NS (3 * SEC)
#define TIMER_SIGNAL_VALUE_NS (50 * SEC)
#define TIMER_SIGVAL 0xabcULL
#define TIMER_NONE_INTERVAL_NS (2 * SEC + SEC / 2)
#define TIMER_NONE_VALUE_NS (40 * SEC)
#define TIMER_THREAD_VALUE_NS (60 * SEC)
#define ALTSTACK_SIZE (64 * 1024)
#define NOFILE_SOFT 512
#define SHARED_VALUE_1 111
#define SHARED_VALUE_2 222
#define MAIN_VALUE 333
#define WORKER_VALUE 444

/* What the target tells the test about itself, in shared memory. */
struct target_info {
	int ready;
	pid_t worker_tid;
	int timer_signal_id;
	int timer_none_id;
	int timer_thread_id;
	int deleted_ids[2];
	uint64_t altstack_sp;
	uint64_t rseq_pointer;
	char error[160];
};

struct target {
	pid_t pid;
	struct target_info *info;
	char *cwd;
};

static const struct inj_blob parasite_blob = {
	.bytes = parasite_blob_bytes,
	.mem_size = PARASITE_BLOB_MEM_SIZE,
	.entry = PARASITE_BLOB_ENTRY,
};

static inline struct inj_blob blob(void)
{
	struct inj_blob b = parasite_blob;

	b.size = (size_t)(parasite_blob_end - parasite_blob_bytes);
	return b;
}

static char altstack[ALTSTACK_SIZE] __attribute__((aligned(16)));

static inline void on_usr1(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
}

static inline void on_hup(int sig)
{
	(void)sig;
}

static inline void on_rt(int sig)
{
	(void)sig;
}

static inline int sig_rt(int n)
{
	return SIGRTMIN + n;
}

static inline int timer_create_raw(clockid_t clock, int notify, int signo, uint64_t sigval, int *id)
{
	struct sigevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = notify;
	if (notify & SIGEV_THREAD_ID)
		ev._sigev_un._tid = gettid();
	ev.sigev_signo = signo;
	ev.sigev_value.sival_ptr = (void *)(uintptr_t)sigval;
	return (int)syscall(SYS_timer_create, clock, &ev, id);
}

static inline int timer_arm_raw(int id, uint64_t interval_ns, uint64_t value_ns)
{
	struct itimerspec spec = { { interval_ns / SEC, interval_ns % SEC },
				   { value_ns / SEC, value_ns % SEC } };

	return (int)syscall(SYS_timer_settime, id, 0, &spec, NULL);
}

static inline void *worker_main(void *arg)
{
	struct target_info *info = arg;

	prctl(PR_SET_NAME, "tst-worker", 0, 0, 0);
	__atomic_store_n(&info->worker_tid, gettid(), __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

static inline int queue_to_thread(pid_t tid, int sig, int value)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = value;
	return (int)syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, sig, &si);
}

#define TARGET_FAIL(what)                                                              \
	do {                                                                           \
		snprintf(info->error, sizeof(info->error), "%s: %s", what, strerror(errno)); \
		goto fail;                                                             \
	} while (0)

/* The target: sets every attribute the tests check, then waits. */
static inline void __attribute__((noreturn)) target_main(struct target_info *info, const char *cwd)
{
	struct sigaction sa;
	struct rlimit nofile;
	struct itimerval itv = { { ITIMER_INTERVAL_NS / SEC, 0 }, { ITIMER_VALUE_NS / SEC, 0 } };
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	sigset_t block;
	pthread_t worker;
	int ids[5];

	if (prctl(PR_SET_NAME, "tst-attrs", 0, 0, 0))
		TARGET_FAIL("PR_SET_NAME");
	if (personality(PER_LINUX | ADDR_NO_RANDOMIZE) < 0)
		TARGET_FAIL("personality");
	umask(027);
	if (chdir(cwd))
		TARGET_FAIL("chdir");
	if (getrlimit(RLIMIT_NOFILE, &nofile))
		TARGET_FAIL("getrlimit");
	nofile.rlim_cur = NOFILE_SOFT;
	if (setrlimit(RLIMIT_NOFILE, &nofile))
		TARGET_FAIL("setrlimit");

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGTERM);
	if (sigaction(SIGUSR1, &sa, NULL))
		TARGET_FAIL("sigaction SIGUSR1");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_NODEFER | SA_ONSTACK;
	sigaddset(&sa.sa_mask, SIGINT);
	if (sigaction(SIGHUP, &sa, NULL))
		TARGET_FAIL("sigaction SIGHUP");
	if (signal(SIGINT, SIG_IGN) == SIG_ERR)
		TARGET_FAIL("signal SIGINT");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_rt;
	if (sigaction(sig_rt(3), &sa, NULL))
		TARGET_FAIL("sigaction SIGRTMIN+3");

	/* Pending signals: two queued for the process, one for each thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, sig_rt(1));
	sigaddset(&block, sig_rt(4));
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		TARGET_FAIL("sigprocmask");
	if (sigqueue(getpid(), sig_rt(1), (union sigval){ .sival_int = SHARED_VALUE_1 }) ||
	    sigqueue(getpid(), sig_rt(1), (union sigval){ .sival_int = SHARED_VALUE_2 }))
		TARGET_FAIL("sigqueue");
	if (queue_to_thread(gettid(), SIGUSR1, MAIN_VALUE))
		TARGET_FAIL("rt_tgsigqueueinfo main");
	if (pthread_create(&worker, NULL, worker_main, info))
		TARGET_FAIL("pthread_create");
	while (!__atomic_load_n(&info->worker_tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	if (queue_to_thread(info->worker_tid, sig_rt(1), WORKER_VALUE))
		TARGET_FAIL("rt_tgsigqueueinfo worker");

	if (setitimer(ITIMER_REAL, &itv, NULL))
		TARGET_FAIL("setitimer");
	/* Five timers, the first and third deleted: ids with gaps. The last
	 * signals the main thread. */
	for (int i = 0; i < 5; i++) {
		int ret = i == 3 ? timer_create_raw(CLOCK_REALTIME, SIGEV_NONE, 0, 0, &ids[i]) :
			  i == 4 ? timer_create_raw(CLOCK_BOOTTIME, SIGEV_SIGNAL | SIGEV_THREAD_ID,
						    sig_rt(4), 0, &ids[i]) :
				   timer_create_raw(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig_rt(4),
						    TIMER_SIGVAL, &ids[i]);
		if (ret)
			TARGET_FAIL("timer_create");
	}
	if (syscall(SYS_timer_delete, ids[0]) || syscall(SYS_timer_delete, ids[2]))
		TARGET_FAIL("timer_delete");
	if (timer_arm_raw(ids[1], TIMER_SIGNAL_INTERVAL_NS, TIMER_SIGNAL_VALUE_NS) ||
	    timer_arm_raw(ids[3], TIMER_NONE_INTERVAL_NS, TIMER_NONE_VALUE_NS) ||
	    timer_arm_raw(ids[4], 0, TIMER_THREAD_VALUE_NS))
		TARGET_FAIL("timer_settime");
	info->timer_signal_id = ids[1];
	info->timer_none_id = ids[3];
	info->timer_thread_id = ids[4];
	info->deleted_ids[0] = ids[0];
	info->deleted_ids[1] = ids[2];

	if (prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0) ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		TARGET_FAIL("prctl");
	if (sigaltstack(&ss, NULL))
		TARGET_FAIL("sigaltstack");
	info->altstack_sp = (uintptr_t)altstack;
	if (__rseq_size)
		info->rseq_pointer = (uintptr_t)__builtin_thread_pointer() + __rseq_offset;
	__atomic_store_n(&info->ready, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
fail:
	__atomic_store_n(&info->ready, -1, __ATOMIC_SEQ_CST);
	_exit(1);
}

static inline void stop_target(struct target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	if (t->info)
		munmap(t->info, sizeof(*t->info));
	if (t->cwd) {
		rmdir(t->cwd);
		free(t->cwd);
	}
	memset(t, 0, sizeof(*t));
}

static inline int start_target(struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->info = mmap(NULL, sizeof(*t->info), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (t->info == MAP_FAILED) {
		t->info = NULL;
		return -1;
	}
	t->cwd = strdup("/tmp/cryo-task-cwd-XXXXXX");
	if (!t->cwd || !mkdtemp(t->cwd))
		return -1;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (t->pid == 0)
		target_main(t->info, t->cwd);
	for (int i = 0; i < 1000 && !__atomic_load_n(&t->info->ready, __ATOMIC_SEQ_CST); i++)
		usleep(5000);
	return t->info->ready == 1 ? 0 : -1;
}

/* Seize, start the parasite, dump, cure, dump what needs ptrace, release. */
static inline int dump_target(const struct target *t, TaskCore *core)
{
	struct inj_task *task = NULL;
	struct inj_parasite *parasite = NULL;
	struct inj_blob b = blob();
	int ret;

	ret = inj_seize(t->pid, &task);
	if (ret)
		return ret;
	ret = inj_parasite_start(task, &b, &parasite);
	if (!ret) {
		ret = task_dump_attrs(task, parasite, core);
		if (inj_parasite_cure(parasite) && !ret)
			ret = -EIO;
	}
	if (!ret)
		ret = task_dump_ptrace_attrs(task, core);
	if (inj_release(task) && !ret)
		ret = -EIO;
	return ret;
}

static __attribute__((constructor)) void become_subreaper(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

static inline const SigAction *find_action(const TaskCore *core, uint32_t sig)
{
	for (size_t i = 0; i < core->n_sigactions; i++)
		if (core->sigactions[i]->signo == sig)
			return core->sigactions[i];
	return NULL;
}

static inline const PosixTimer *find_timer(const TaskCore *core, int id)
{
	for (size_t i = 0; i < core->n_posix_timers; i++)
		if (core->posix_timers[i]->id == id)
			return core->posix_timers[i];
	return NULL;
}

static inline const ThreadCore *find_thread(const TaskCore *core, pid_t tid)
{
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->tid == tid)
			return core->threads[i];
	return NULL;
}

static inline const ITimer *find_itimer(const TaskCore *core, uint32_t which)
{
	for (size_t i = 0; i < core->n_itimers; i++)
		if (core->itimers[i]->which == which)
			return core->itimers[i];
	return NULL;
}

static inline const Rlimit *find_rlimit(const TaskCore *core, uint32_t resource)
{
	for (size_t i = 0; i < core->n_rlimits; i++)
		if (core->rlimits[i]->resource == resource)
			return core->rlimits[i];
	return NULL;
}

static inline uint64_t sigbit(int sig)
{
	return 1ULL << (sig - 1);
}

static inline bool within(uint64_t got, uint64_t saved)
{
	return got <= saved && got + TOLERANCE_NS >= saved;
}

/* A queued signal's number, code and value, as PTRACE_PEEKSIGINFO gave it. */
static inline bool pending_is(const PendingSignal *p, int sig, int value)
{
	siginfo_t si;

	if (p->siginfo.len != sizeof(si))
		return false;
	memcpy(&si, p->siginfo.data, sizeof(si));
	return si.si_signo == sig && si.si_code == SI_QUEUE && si.si_value.sival_int == value;
}

static inline uint64_t bounding_set(void)
{
	uint64_t set = 0;

	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			set |= 1ULL << cap;
	return set;
}

static inline void free_core(TaskCore *core)
{
	task_core_free_attrs(core);
}

#endif
