/* Tests of task attributes against a live process (test_task_target.h's
 * target): the dump through ptrace and the parasite collects each value it
 * set; ptrace-only attributes are refused while the parasite runs, and the
 * parasite's commands refuse bad arguments. Applying a dump is
 * test_task_restore.c's. */
#include "test_task_target.h"


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
