/* Tests of task attributes against live processes: a forked target sets
 * known attributes (signal actions, timers, limits, names, pending
 * signals...), the test dumps it through ptrace and the parasite and checks
 * each value, then a fresh child applies the dump to itself and checks
 * them from inside. Negative tests: validation refuses bad values, and a
 * hard limit that cannot be raised fails with a message naming it. */
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

static struct inj_blob blob(void)
{
	struct inj_blob b = parasite_blob;

	b.size = (size_t)(parasite_blob_end - parasite_blob_bytes);
	return b;
}

static char altstack[ALTSTACK_SIZE] __attribute__((aligned(16)));

static void on_usr1(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
}

static void on_hup(int sig)
{
	(void)sig;
}

static void on_rt(int sig)
{
	(void)sig;
}

static int sig_rt(int n)
{
	return SIGRTMIN + n;
}

static int timer_create_raw(clockid_t clock, int notify, int signo, uint64_t sigval, int *id)
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

static int timer_arm_raw(int id, uint64_t interval_ns, uint64_t value_ns)
{
	struct itimerspec spec = { { interval_ns / SEC, interval_ns % SEC },
				   { value_ns / SEC, value_ns % SEC } };

	return (int)syscall(SYS_timer_settime, id, 0, &spec, NULL);
}

static void *worker_main(void *arg)
{
	struct target_info *info = arg;

	prctl(PR_SET_NAME, "tst-worker", 0, 0, 0);
	__atomic_store_n(&info->worker_tid, gettid(), __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

static int queue_to_thread(pid_t tid, int sig, int value)
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
static void __attribute__((noreturn)) target_main(struct target_info *info, const char *cwd)
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

static void stop_target(struct target *t)
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

static int start_target(struct target *t)
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
static int dump_target(const struct target *t, TaskCore *core)
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

static const SigAction *find_action(const TaskCore *core, uint32_t sig)
{
	for (size_t i = 0; i < core->n_sigactions; i++)
		if (core->sigactions[i]->signo == sig)
			return core->sigactions[i];
	return NULL;
}

static const PosixTimer *find_timer(const TaskCore *core, int id)
{
	for (size_t i = 0; i < core->n_posix_timers; i++)
		if (core->posix_timers[i]->id == id)
			return core->posix_timers[i];
	return NULL;
}

static const ThreadCore *find_thread(const TaskCore *core, pid_t tid)
{
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->tid == tid)
			return core->threads[i];
	return NULL;
}

static const ITimer *find_itimer(const TaskCore *core, uint32_t which)
{
	for (size_t i = 0; i < core->n_itimers; i++)
		if (core->itimers[i]->which == which)
			return core->itimers[i];
	return NULL;
}

static const Rlimit *find_rlimit(const TaskCore *core, uint32_t resource)
{
	for (size_t i = 0; i < core->n_rlimits; i++)
		if (core->rlimits[i]->resource == resource)
			return core->rlimits[i];
	return NULL;
}

static uint64_t sigbit(int sig)
{
	return 1ULL << (sig - 1);
}

static bool within(uint64_t got, uint64_t saved)
{
	return got <= saved && got + TOLERANCE_NS >= saved;
}

/* A queued signal's number, code and value, as PTRACE_PEEKSIGINFO gave it. */
static bool pending_is(const PendingSignal *p, int sig, int value)
{
	siginfo_t si;

	if (p->siginfo.len != sizeof(si))
		return false;
	memcpy(&si, p->siginfo.data, sizeof(si));
	return si.si_signo == sig && si.si_code == SI_QUEUE && si.si_value.sival_int == value;
}

static uint64_t bounding_set(void)
{
	uint64_t set = 0;

	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			set |= 1ULL << cap;
	return set;
}

static void free_core(TaskCore *core)
{
	task_core_free_attrs(core);
}

TEST(dump_collects_what_the_target_set)
{
	struct target t;
	TaskCore core = TASK_CORE__INIT;
	const SigAction *a;
	const PosixTimer *pt;
	const ThreadCore *main_thread, *worker;
	const ITimer *it;
	const Rlimit *rl;
	struct rlimit own_nofile;
	uid_t r, e, s;
	int ret;

	CHECK_GOTO(start_target(&t) == 0, out, "target did not start: %s",
		   t.info ? t.info->error : "no memory");
	ret = dump_target(&t, &core);
	CHECK_GOTO(ret == 0, out, "dump failed: %s", strerror(-ret));
	CHECK_GOTO(task_validate(&core) == 0, out, "the dumped core does not validate");

	CHECK_GOTO(core.pid == t.pid && core.ppid == getpid() && core.pgid == getpgrp() &&
			   core.sid == getsid(0),
		   out, "pid %d ppid %d pgid %d sid %d", core.pid, core.ppid, core.pgid, core.sid);
	CHECK_GOTO(!strcmp(core.comm, "tst-attrs"), out, "comm \"%s\"", core.comm);
	CHECK_GOTO(core.personality == (PER_LINUX | ADDR_NO_RANDOMIZE), out, "personality %#x",
		   core.personality);
	CHECK_GOTO(core.umask == 027, out, "umask %#o", core.umask);
	CHECK_GOTO(core.exit_signal == SIGCHLD, out, "exit signal %u", core.exit_signal);
	CHECK_GOTO(core.cwd && !strcmp(core.cwd, t.cwd), out, "cwd %s", core.cwd);
	CHECK_GOTO(core.root && !strcmp(core.root, "/"), out, "root %s", core.root);

	CHECK_GOTO(core.creds && !getresuid(&r, &e, &s), out, "no creds");
	CHECK_GOTO(core.creds->uid == r && core.creds->euid == e && core.creds->suid == s &&
			   core.creds->gid == getgid() &&
			   core.creds->n_groups == (size_t)getgroups(0, NULL),
		   out, "uid %u euid %u gid %u groups %zu", core.creds->uid, core.creds->euid,
		   core.creds->gid, core.creds->n_groups);
	CHECK_GOTO(core.creds->cap_bounding == bounding_set(), out, "bounding set %#llx",
		   (unsigned long long)core.creds->cap_bounding);
	CHECK_GOTO(core.creds->securebits == (uint32_t)prctl(PR_GET_SECUREBITS, 0, 0, 0, 0), out,
		   "securebits %#x", core.creds->securebits);

	CHECK_GOTO(core.n_rlimits == RLIM_NLIMITS, out, "%zu rlimits", core.n_rlimits);
	rl = find_rlimit(&core, RLIMIT_NOFILE);
	getrlimit(RLIMIT_NOFILE, &own_nofile);
	CHECK_GOTO(rl && rl->cur == NOFILE_SOFT && rl->max == own_nofile.rlim_max, out,
		   "NOFILE %llu/%llu", rl ? (unsigned long long)rl->cur : 0ULL,
		   rl ? (unsigned long long)rl->max : 0ULL);

	a = find_action(&core, SIGUSR1);
	CHECK_GOTO(a && a->handler == (uintptr_t)on_usr1, out, "SIGUSR1 handler");
	CHECK_GOTO((a->flags & (SA_SIGINFO | SA_RESTART | KERNEL_SA_RESTORER)) ==
			   (SA_SIGINFO | SA_RESTART | KERNEL_SA_RESTORER) && a->restorer,
		   out, "SIGUSR1 flags %#llx restorer %#llx", (unsigned long long)a->flags,
		   (unsigned long long)a->restorer);
	CHECK_GOTO(a->mask == (sigbit(SIGUSR2) | sigbit(SIGTERM)), out, "SIGUSR1 mask %#llx",
		   (unsigned long long)a->mask);
	a = find_action(&core, SIGHUP);
	CHECK_GOTO(a && a->handler == (uintptr_t)on_hup &&
			   (a->flags & (SA_NODEFER | SA_ONSTACK)) == (SA_NODEFER | SA_ONSTACK) &&
			   a->mask == sigbit(SIGINT),
		   out, "SIGHUP action");
	a = find_action(&core, SIGINT);
	CHECK_GOTO(a && a->handler == (uintptr_t)SIG_IGN, out, "SIGINT is not ignored");
	a = find_action(&core, sig_rt(3));
	CHECK_GOTO(a && a->handler == (uintptr_t)on_rt, out, "SIGRTMIN+3 handler");
	CHECK_GOTO(!find_action(&core, SIGTERM), out, "SIGTERM has the default action");

	it = find_itimer(&core, ITIMER_REAL);
	CHECK_GOTO(core.n_itimers == 3 && it && it->interval_ns == ITIMER_INTERVAL_NS &&
			   within(it->value_ns, ITIMER_VALUE_NS),
		   out, "ITIMER_REAL interval %llu value %llu",
		   it ? (unsigned long long)it->interval_ns : 0ULL,
		   it ? (unsigned long long)it->value_ns : 0ULL);
	it = find_itimer(&core, ITIMER_VIRTUAL);
	CHECK_GOTO(it && !it->value_ns && !it->interval_ns, out, "ITIMER_VIRTUAL is armed");

	CHECK_GOTO(core.n_posix_timers == 3, out, "%zu posix timers", core.n_posix_timers);
	pt = find_timer(&core, t.info->timer_signal_id);
	CHECK_GOTO(pt && pt->clock_id == CLOCK_MONOTONIC && pt->notify == SIGEV_SIGNAL &&
			   pt->signo == (uint32_t)sig_rt(4) && pt->sigval == TIMER_SIGVAL &&
			   !pt->has_notify_tid && pt->interval_ns == TIMER_SIGNAL_INTERVAL_NS &&
			   within(pt->value_ns, TIMER_SIGNAL_VALUE_NS) && pt->overrun == 0,
		   out, "signal timer %d", t.info->timer_signal_id);
	pt = find_timer(&core, t.info->timer_none_id);
	CHECK_GOTO(pt && pt->clock_id == CLOCK_REALTIME && pt->notify == SIGEV_NONE &&
			   pt->interval_ns == TIMER_NONE_INTERVAL_NS &&
			   within(pt->value_ns, TIMER_NONE_VALUE_NS),
		   out, "SIGEV_NONE timer %d", t.info->timer_none_id);
	pt = find_timer(&core, t.info->timer_thread_id);
	CHECK_GOTO(pt && pt->clock_id == CLOCK_BOOTTIME &&
			   pt->notify == (SIGEV_SIGNAL | SIGEV_THREAD_ID) && pt->has_notify_tid &&
			   pt->notify_tid == t.pid && pt->interval_ns == 0 &&
			   within(pt->value_ns, TIMER_THREAD_VALUE_NS),
		   out, "SIGEV_THREAD_ID timer %d", t.info->timer_thread_id);

	CHECK_GOTO(core.prctl && core.prctl->pdeath_signal == SIGUSR2 &&
			   core.prctl->child_subreaper && core.prctl->dumpable &&
			   !core.prctl->no_new_privs,
		   out, "prctl state");

	CHECK_GOTO(core.n_threads == 2, out, "%zu threads", core.n_threads);
	main_thread = find_thread(&core, t.pid);
	worker = find_thread(&core, t.info->worker_tid);
	CHECK_GOTO(main_thread && worker, out, "thread entries missing");
	CHECK_GOTO(!main_thread->comm && worker->comm && !strcmp(worker->comm, "tst-worker"), out,
		   "thread names");
	CHECK_GOTO(main_thread->altstack && main_thread->altstack->sp == t.info->altstack_sp &&
			   main_thread->altstack->size == ALTSTACK_SIZE &&
			   main_thread->altstack->flags == 0,
		   out, "main thread's sigaltstack");
	CHECK_GOTO(main_thread->n_pending == 1 &&
			   pending_is(main_thread->pending[0], SIGUSR1, MAIN_VALUE),
		   out, "main thread has %zu pending signals", main_thread->n_pending);
	CHECK_GOTO(worker->n_pending == 1 && pending_is(worker->pending[0], sig_rt(1), WORKER_VALUE),
		   out, "worker has %zu pending signals", worker->n_pending);
	CHECK_GOTO(core.n_shared_pending == 2 &&
			   pending_is(core.shared_pending[0], sig_rt(1), SHARED_VALUE_1) &&
			   pending_is(core.shared_pending[1], sig_rt(1), SHARED_VALUE_2),
		   out, "%zu process-wide pending signals", core.n_shared_pending);
	if (t.info->rseq_pointer)
		CHECK_GOTO(main_thread->rseq && main_thread->rseq->abi_pointer == t.info->rseq_pointer &&
				   main_thread->rseq->signature == RSEQ_SIG && worker->rseq,
			   out, "rseq registration");
	else
		CHECK_GOTO(!main_thread->rseq, out, "rseq found where libc registered none");
out:
	free_core(&core);
	stop_target(&t);
}

TEST(ptrace_attrs_refused_while_the_parasite_runs)
{
	struct target t;
	TaskCore core = TASK_CORE__INIT;
	struct inj_task *task = NULL;
	struct inj_parasite *parasite = NULL;
	struct inj_blob b = blob();
	char err[512];
	int ret = 0;

	CHECK_GOTO(start_target(&t) == 0, out, "target did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	CHECK_GOTO(inj_parasite_start(task, &b, &parasite) == 0, out, "parasite did not start");
	CAPTURE_STDERR(err, ret = task_dump_ptrace_attrs(task, &core));
	CHECK_GOTO(ret == -ESRCH, out, "gave %d, not -ESRCH", ret);
	CHECK_GOTO(strstr(err, "no parasite running"), out, "message: %s", err);
out:
	if (parasite)
		inj_parasite_cure(parasite);
	if (task)
		inj_release(task);
	free_core(&core);
	stop_target(&t);
}

TEST(parasite_commands_refuse_bad_arguments)
{
	struct target t;
	struct inj_task *task = NULL;
	struct inj_parasite *parasite = NULL;
	struct inj_blob b = blob();
	struct parasite_posix_timer timer = { .id = 9999 };
	struct parasite_itimers itimers;
	size_t len;
	int ret;

	CHECK_GOTO(start_target(&t) == 0, out, "target did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	CHECK_GOTO(inj_parasite_start(task, &b, &parasite) == 0, out, "parasite did not start");
	ret = inj_parasite_call(parasite, PARASITE_CMD_POSIX_TIMERS, &timer, sizeof(timer), &timer,
				sizeof(timer), &len, NULL);
	CHECK_GOTO(ret == -EINVAL, out, "a missing timer gave %d, not -EINVAL", ret);
	ret = inj_parasite_call(parasite, PARASITE_CMD_POSIX_TIMERS, &timer, 3, &timer,
				sizeof(timer), &len, NULL);
	CHECK_GOTO(ret == -EINVAL, out, "a partial timer entry gave %d, not -EINVAL", ret);
	ret = inj_parasite_call(parasite, PARASITE_CMD_ITIMERS, &timer, sizeof(timer), &itimers,
				sizeof(itimers), &len, NULL);
	CHECK_GOTO(ret == -EINVAL, out, "itimers with an argument gave %d, not -EINVAL", ret);
	timer.id = t.info->timer_signal_id;
	ret = inj_parasite_call(parasite, PARASITE_CMD_POSIX_TIMERS, &timer, sizeof(timer), &timer,
				sizeof(timer), &len, NULL);
	CHECK_GOTO(ret == 0 && len == sizeof(timer) && timer.id == t.info->timer_signal_id &&
			   (uint64_t)timer.spec.interval_sec * SEC + timer.spec.interval_nsec ==
				   TIMER_SIGNAL_INTERVAL_NS,
		   out, "the channel is unusable after refusals: %d", ret);
out:
	if (parasite)
		inj_parasite_cure(parasite);
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* The checks a restored child makes on itself; "" when all hold. */
static void verify_restored(const TaskCore *core, const struct target_info *info, char *why,
			    size_t len)
{
	char name[16] = "", cwd[PATH_MAX], timers[4096], block[256];
	struct itimerval itv;
	struct rlimit lim;
	mode_t mask;
	uint64_t blocked = 0;
	int value, n;
	FILE *f;

	why[0] = '\0';
	prctl(PR_GET_NAME, name, 0, 0, 0);
	if (strcmp(name, core->comm)) {
		snprintf(why, len, "comm \"%s\"", name);
		return;
	}
	if ((uint32_t)personality(0xffffffff) != core->personality) {
		snprintf(why, len, "personality %#x", personality(0xffffffff));
		return;
	}
	mask = umask(0);
	if (mask != core->umask) {
		snprintf(why, len, "umask %#o", mask);
		return;
	}
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, core->cwd)) {
		snprintf(why, len, "cwd %.200s", cwd);
		return;
	}
	for (size_t i = 0; i < core->n_rlimits; i++) {
		const Rlimit *r = core->rlimits[i];

		if (getrlimit(r->resource, &lim) || lim.rlim_cur != r->cur || lim.rlim_max != r->max) {
			snprintf(why, len, "rlimit %u is %llu/%llu", r->resource,
				 (unsigned long long)lim.rlim_cur, (unsigned long long)lim.rlim_max);
			return;
		}
	}
	for (int sig = 1; sig <= 64; sig++) {
		struct { uint64_t handler, flags, restorer, mask; } got, want = { 0, 0, 0, 0 };
		const SigAction *a = find_action(core, sig);

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (a)
			want = (__typeof__(want)){ a->handler, a->flags, a->restorer, a->mask };
		if (syscall(SYS_rt_sigaction, sig, NULL, &got, 8) || memcmp(&got, &want, sizeof(got))) {
			snprintf(why, len, "signal %d: handler %#llx flags %#llx restorer %#llx mask %#llx",
				 sig, (unsigned long long)got.handler, (unsigned long long)got.flags,
				 (unsigned long long)got.restorer, (unsigned long long)got.mask);
			return;
		}
	}
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &blocked, 8);
	if ((blocked | sigbit(SIGKILL) | sigbit(SIGSTOP)) != ~0ULL) {
		snprintf(why, len, "signals not all blocked: %#llx", (unsigned long long)blocked);
		return;
	}
	if (prctl(PR_GET_PDEATHSIG, &value, 0, 0, 0) || value != SIGUSR2 ||
	    prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0) || value != 1 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) {
		snprintf(why, len, "prctl state");
		return;
	}
	getitimer(ITIMER_REAL, &itv);
	if (itv.it_interval.tv_sec * SEC + itv.it_interval.tv_usec * 1000 != ITIMER_INTERVAL_NS ||
	    !within(itv.it_value.tv_sec * SEC + itv.it_value.tv_usec * 1000,
		    find_itimer(core, ITIMER_REAL)->value_ns)) {
		snprintf(why, len, "ITIMER_REAL %lds left, every %lds", (long)itv.it_value.tv_sec,
			 (long)itv.it_interval.tv_sec);
		return;
	}
	for (size_t i = 0; i < core->n_posix_timers; i++) {
		const PosixTimer *t = core->posix_timers[i];
		struct itimerspec spec;

		if (syscall(SYS_timer_gettime, t->id, &spec)) {
			snprintf(why, len, "timer %d: %s", t->id, strerror(errno));
			return;
		}
		if (spec.it_interval.tv_sec * SEC + spec.it_interval.tv_nsec != t->interval_ns ||
		    !within(spec.it_value.tv_sec * SEC + spec.it_value.tv_nsec, t->value_ns)) {
			snprintf(why, len, "timer %d: %lds left, every %ldns", t->id,
				 (long)spec.it_value.tv_sec,
				 (long)(spec.it_interval.tv_sec * SEC + spec.it_interval.tv_nsec));
			return;
		}
	}
	for (int i = 0; i < 2; i++) {
		struct itimerspec spec;

		if (!syscall(SYS_timer_gettime, info->deleted_ids[i], &spec)) {
			snprintf(why, len, "timer %d exists, it was deleted", info->deleted_ids[i]);
			return;
		}
	}
	f = fopen("/proc/self/timers", "re");
	n = f ? (int)fread(timers, 1, sizeof(timers) - 1, f) : 0;
	if (f)
		fclose(f);
	timers[n > 0 ? n : 0] = '\0';
	snprintf(block, sizeof(block), "ID: %d\nsignal: %d/%016llx\nnotify: signal/pid.%d\nClockID: %d\n",
		 info->timer_signal_id, sig_rt(4), TIMER_SIGVAL, getpid(), CLOCK_MONOTONIC);
	if (!strstr(timers, block)) {
		snprintf(why, len, "/proc/self/timers lacks the signal timer: %.200s", timers);
		return;
	}
	snprintf(block, sizeof(block), "ID: %d\nsignal: 0/0000000000000000\nnotify: none/pid.%d\nClockID: %d\n",
		 info->timer_none_id, getpid(), CLOCK_REALTIME);
	if (!strstr(timers, block)) {
		snprintf(why, len, "/proc/self/timers lacks the SIGEV_NONE timer: %.200s", timers);
		return;
	}
	snprintf(block, sizeof(block), "ID: %d\nsignal: %d/%016llx\nnotify: signal/tid.%d\nClockID: %d\n",
		 info->timer_thread_id, sig_rt(4), 0ULL, getpid(), CLOCK_BOOTTIME);
	if (!strstr(timers, block)) {
		snprintf(why, len, "/proc/self/timers lacks the SIGEV_THREAD_ID timer: %.200s", timers);
		return;
	}
	/* The sigaltstack is per thread: each thread sets its own in the
	 * restorer (round trips prog_signals and prog_threads), not here. */
}

/* A real restore gives the task its old pid; this child has another, so
 * its copy of the core is rewritten to name it. */
static void as_if_same_pid(TaskCore *core)
{
	pid_t old = core->pid;

	core->pid = getpid();
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->tid == old)
			core->threads[i]->tid = getpid();
	for (size_t i = 0; i < core->n_posix_timers; i++)
		if (core->posix_timers[i]->has_notify_tid &&
		    core->posix_timers[i]->notify_tid == old)
			core->posix_timers[i]->notify_tid = getpid();
}

TEST(restore_applies_what_was_dumped)
{
	struct target t;
	TaskCore core = TASK_CORE__INIT;
	char result[512] = "";
	int pipefd[2] = { -1, -1 }, status = 0, ret;
	pid_t child = -1;
	ssize_t n;

	CHECK_GOTO(start_target(&t) == 0, out, "target did not start");
	ret = dump_target(&t, &core);
	CHECK_GOTO(ret == 0, out, "dump failed: %s", strerror(-ret));
	CHECK_GOTO(pipe2(pipefd, O_CLOEXEC) == 0, out, "pipe");
	child = fork();
	CHECK_GOTO(child >= 0, out, "fork");
	if (child == 0) {
		char why[512];

		as_if_same_pid(&core);
		ret = task_restore_attrs(&core);
		if (ret)
			snprintf(why, sizeof(why), "task_restore_attrs: %s", strerror(-ret));
		else
			verify_restored(&core, t.info, why, sizeof(why));
		if (write(pipefd[1], why[0] ? why : "PASS", strlen(why[0] ? why : "PASS")) < 0)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	n = read(pipefd[0], result, sizeof(result) - 1);
	result[n > 0 ? n : 0] = '\0';
	waitpid(child, &status, 0);
	child = -1;
	CHECK_GOTO(!strcmp(result, "PASS"), out, "restored child reports: %s",
		   result[0] ? result : "nothing");
	CHECK_GOTO(WIFEXITED(status) && WEXITSTATUS(status) == 0, out, "child status %#x", status);
out:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	free_core(&core);
	stop_target(&t);
}

TEST(raising_a_hard_rlimit_fails_naming_it)
{
	struct sample s;
	Rlimit nofile = RLIMIT__INIT;
	Rlimit *limits[] = { &nofile };
	char err[1024] = "";
	pid_t child;
	int status = 0, fd;
	_cleanup_free_ char *path = strdup("/tmp/cryo-task-err-XXXXXX");

	CHECK(path && (fd = mkstemp(path)) >= 0, "mkstemp");
	sample_init(&s);
	s.core.cwd = NULL;
	s.core.root = NULL;
	nofile.resource = RLIMIT_NOFILE;
	nofile.cur = 256;
	nofile.max = 1024;
	s.core.rlimits = limits;
	s.core.n_rlimits = 1;
	child = fork();
	CHECK_GOTO(child >= 0, out, "fork");
	if (child == 0) {
		struct rlimit low = { 256, 256 };

		dup2(fd, STDERR_FILENO);
		if (setrlimit(RLIMIT_NOFILE, &low))
			_exit(3);
		_exit(task_restore_attrs(&s.core) == -EPERM ? 0 : 1);
	}
	waitpid(child, &status, 0);
	CHECK_GOTO(WIFEXITED(status) && WEXITSTATUS(status) == 0, out,
		   "restore did not fail with -EPERM (status %#x)", status);
	CHECK_GOTO(pread(fd, err, sizeof(err) - 1, 0) > 0, out, "no message");
	CHECK_GOTO(strstr(err, "RLIMIT_NOFILE") && strstr(err, "1024") && strstr(err, "256") &&
			   strstr(err, "CAP_SYS_RESOURCE"),
		   out, "message: %s", err);
out:
	close(fd);
	unlink(path);
}
