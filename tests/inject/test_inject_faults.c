/* The injection library when the target or the dumper is hit meanwhile: a
 * target killed during a parasite call, a SIGSTOP during infection, a
 * dumper killed while the parasite runs, a stopped target that runs
 * borrowed code and stays stopped, and inj_stop's report. */
#include "test_inject_target.h"

TEST(target_killed_during_parasite_call_is_reported)
{
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	struct parasite_checksum_arg range;
	unsigned long start, end;
	size_t len;
	uint64_t sum;
	int ret;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");
	CHECK_GOTO(first_writable_region(t.pid, &start, &end), out, "no writable mapping");
	kill(t.pid, SIGKILL);
	range = (struct parasite_checksum_arg){ start, end - start };
	ret = inj_parasite_call(p, PARASITE_CMD_CHECKSUM, &range, sizeof(range), &sum,
				sizeof(sum), &len, NULL);
	CHECK_GOTO(ret < 0, out, "a call into a killed task returned %d", ret);
	/* Cure and release must come back promptly with an error, not hang. */
	ret = inj_parasite_cure(p);
	p = NULL;
	CHECK_GOTO(ret < 0, out, "cure of a killed task returned %d", ret);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}

static char thread_state(pid_t pid)
{
	char path[64], buf[512], *state;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	state = strrchr(buf, ')');
	return state ? state[2] : '?';
}

TEST(sigstop_during_infection_is_kept_for_after)
{
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	char why[256] = "";
	char state = '?';

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");
	kill(t.pid, SIGSTOP);
	sleep_ms(150);
	CHECK_GOTO(echo_roundtrip(p, 100000, 7, why, sizeof(why)), out, "%s", why);
	CHECK_GOTO(inj_parasite_cure(p) == 0, out, "cure failed");
	p = NULL;
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	for (int i = 0; i < 100 && state != 'T'; i++) {
		sleep_ms(10);
		state = thread_state(t.pid);
	}
	CHECK_GOTO(state == 'T', out, "the target should be stopped after release, state %c",
		   state);
	kill(t.pid, SIGCONT);
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "after SIGCONT: %s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* The tests start processes: reap whatever they leave behind. */
__attribute__((constructor)) static void become_subreaper(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/* The first line of /proc/@pid/@file that starts with @prefix, into @out. */
static bool proc_line(pid_t pid, const char *file, const char *prefix, char *out, size_t size)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		if (!strncmp(line, prefix, strlen(prefix))) {
			snprintf(out, size, "%s", line);
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

static bool read_sigblk(pid_t pid, char *out, size_t size)
{
	return proc_line(pid, "status", "SigBlk:", out, size);
}

/* Whether a mapping of @pid starts at @addr. */
static bool mapping_at(pid_t pid, unsigned long addr)
{
	char start[32], line[512];

	snprintf(start, sizeof(start), "%lx-", addr);
	return proc_line(pid, "maps", start, line, sizeof(line));
}

/* A dumper that dies while its parasite runs must not take the task with
 * it, nor leave it the parasite: the parasite returns through a frame that
 * unmaps its area, then through the saved state's signal frame. */
TEST(task_survives_a_dumper_killed_while_the_parasite_runs)
{
	struct target t = {};
	char blocked_before[256], blocked_after[256], why[256];
	int status, base_pipe[2];
	unsigned long base = 0;
	pid_t dumper;

	CHECK(pipe(base_pipe) == 0, "pipe: %s", strerror(errno));
	CHECK_GOTO(start_target(&t) == 0, out, "prog_busy did not start");
	CHECK_GOTO(read_sigblk(t.pid, blocked_before, sizeof(blocked_before)), out, "no SigBlk");
	dumper = fork();
	if (dumper == 0) {
		struct inj_task *task;
		struct inj_parasite *p;
		struct inj_blob b = blob();

		if (inj_seize(t.pid, &task) || inj_parasite_start(task, &b, &p))
			_exit(1);
		base = inj_parasite_base(p);
		if (write(base_pipe[1], &base, sizeof(base)) != sizeof(base))
			_exit(1);
		/* Gone without a word: the kernel detaches the task as it is. */
		kill(getpid(), SIGKILL);
	}
	CHECK_GOTO(dumper > 0 && waitpid(dumper, &status, 0) == dumper, out, "fork failed");
	CHECK_GOTO(WIFSIGNALED(status), out, "the dumper could not start the parasite");
	CHECK_GOTO(read(base_pipe[0], &base, sizeof(base)) == sizeof(base), out,
		   "the dumper did not tell where the parasite was");
	CHECK_GOTO(target_healthy(&t, 400, why, sizeof(why)), out, "%s", why);
	CHECK_GOTO(read_sigblk(t.pid, blocked_after, sizeof(blocked_after)) &&
			   !strcmp(blocked_before, blocked_after),
		   out, "signal mask was %s now %s", blocked_before, blocked_after);
	/* On its way back the task unmapped the parasite's area. */
	CHECK_GOTO(!mapping_at(t.pid, base), out, "the parasite's area at %#lx is still mapped",
		   base);
out:
	close(base_pipe[0]);
	close(base_pipe[1]);
	stop_target(&t);
}

/* Every thread of @pid in state T, read from /proc/PID/task. */
static bool all_threads_stopped(pid_t pid, int *threads)
{
	char path[64], state_path[384], buf[512];
	struct dirent *de;
	bool all = true;
	DIR *d;

	*threads = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *state;
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(state_path, sizeof(state_path), "%s/%s/stat", path, de->d_name);
		f = fopen(state_path, "r");
		n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		state = strrchr(buf, ')');
		all &= state && state[2] == 'T';
		(*threads)++;
	}
	if (d)
		closedir(d);
	return all && *threads > 0;
}

static bool compute_frozen(struct target *t, char *why, size_t why_len)
{
	uint64_t before[BUSY_COMPUTE_THREADS];

	for (int i = 0; i < BUSY_COMPUTE_THREADS; i++)
		before[i] = t->status->compute_rounds[i];
	sleep_ms(100);
	for (int i = 0; i < BUSY_COMPUTE_THREADS; i++)
		if (t->status->compute_rounds[i] != before[i]) {
			snprintf(why, why_len, "compute thread %d ran while stopped", i);
			return false;
		}
	return true;
}

/* A target in a job-control stop is seized with the stop's signal, runs
 * remote syscalls and a parasite, and is stopped again the moment it is
 * released, its parent told nothing new. */
TEST(stopped_target_runs_borrowed_code_and_stays_stopped)
{
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	char why[256] = "";
	siginfo_t info;
	int threads = 0;
	long result = 0;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	kill(t.pid, SIGSTOP);
	for (int i = 0; i < 200 && !all_threads_stopped(t.pid, &threads); i++)
		sleep_ms(5);
	CHECK_GOTO(all_threads_stopped(t.pid, &threads), out, "the target did not stop");
	/* We are its parent: the stop is reported to us, and taken. */
	memset(&info, 0, sizeof(info));
	CHECK_GOTO(!waitid(P_PID, t.pid, &info, WSTOPPED | WNOHANG) && info.si_pid == t.pid, out,
		   "the stop was not reported");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize of a stopped target failed");
	CHECK_GOTO(inj_stop_signal(task) == SIGSTOP, out, "stop signal %d, not SIGSTOP",
		   inj_stop_signal(task));
	CHECK_GOTO(inj_syscall(task, &result, SYS_getpid, 0, 0, 0, 0, 0, 0) == 0 &&
			   result == t.pid, out, "remote getpid gave %ld", result);
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");
	CHECK_GOTO(echo_roundtrip(p, 70000, 3, why, sizeof(why)), out, "%s", why);
	CHECK_GOTO(inj_parasite_cure(p) == 0, out, "cure failed");
	p = NULL;
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(all_threads_stopped(t.pid, &threads), out,
		   "not every one of its %d threads is stopped right after release", threads);
	CHECK_GOTO(compute_frozen(&t, why, sizeof(why)), out, "%s", why);
	memset(&info, 0, sizeof(info));
	CHECK_GOTO(!waitid(P_PID, t.pid, &info, WSTOPPED | WNOHANG) && !info.si_pid, out,
		   "the stop was reported again after release");
	kill(t.pid, SIGCONT);
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "after SIGCONT: %s", why);
out:
	if (p)
		inj_parasite_cure(p);
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* inj_stop() stops a running target with every thread, keeps its signal
 * mask, and the stop is reported once, with its signal. */
TEST(inj_stop_stops_every_thread_and_the_stop_is_reported)
{
	char blocked_before[256], blocked_after[256], why[256] = "";
	struct target t = {};
	struct inj_task *task = NULL;
	siginfo_t info;
	int threads = 0;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(read_sigblk(t.pid, blocked_before, sizeof(blocked_before)), out, "no SigBlk");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	CHECK_GOTO(inj_stop_signal(task) == 0, out, "a running target seen stopped");
	CHECK_GOTO(inj_stop(task, SIGKILL) == -EINVAL, out, "SIGKILL taken as a stop signal");
	CHECK_GOTO(inj_stop(task, SIGSTOP) == 0, out, "inj_stop failed");
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(all_threads_stopped(t.pid, &threads), out,
		   "not every one of its %d threads is stopped after release", threads);
	CHECK_GOTO(compute_frozen(&t, why, sizeof(why)), out, "%s", why);
	CHECK_GOTO(read_sigblk(t.pid, blocked_after, sizeof(blocked_after)) &&
			   !strcmp(blocked_before, blocked_after), out,
		   "its signal mask changed: %s became %s", blocked_before, blocked_after);
	memset(&info, 0, sizeof(info));
	CHECK_GOTO(!waitid(P_PID, t.pid, &info, WSTOPPED | WNOHANG) && info.si_pid == t.pid &&
			   info.si_code == CLD_STOPPED && info.si_status == SIGSTOP, out,
		   "the stop is not reported to the parent (pid %d code %d status %d)",
		   info.si_pid, info.si_code, info.si_status);
	kill(t.pid, SIGCONT);
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "after SIGCONT: %s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}
