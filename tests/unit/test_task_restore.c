/* A fresh child applies the dump of test_task_target.h's target to itself
 * and checks every attribute from inside; a hard limit that cannot be
 * raised fails with a message naming it. */
#include "test_task_target.h"


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
