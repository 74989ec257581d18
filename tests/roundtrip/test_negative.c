/* The negative tests of TESTING.md run the real cryo binary (next to
 * ../../cryo, or $CRYO) on a bad input or at a bad moment and check its exit
 * status, a key part of its message, that it leaves no inventory.img and no
 * process behind, and that a dumped program is unharmed: untraced, same
 * mappings, no signal left blocked, still running, and PASS on SIGTERM. Each
 * runner is a child subreaper and ends and reaps every process it started.
 * This one: usage errors and the targets dump refuses (a missing, foreign or
 * garbage pid, a thread, a traced child, a flock no fd reaches). The other
 * runners: test_neg_fds.c
 * (fds dump refuses), test_neg_ns_ipc.c (namespaces and IPC objects it
 * refuses), test_neg_killed.c (dumps that fail or
 * die midway), test_neg_restore.c (damaged and planted images),
 * test_neg_pids.c (pids taken before or during a restore), test_neg_cow.c
 * (a page shared with a parent that saved none), test_neg_sockets.c
 * (socket filters dump refuses), test_neg_netlock.c (the iptables network
 * lock a killed dump leaves), test_neg_userns.c
 * (user namespaces dump refuses, maps beyond the owner's ids),
 * test_neg_hugetlb.c (too few huge pages at restore). What a restore
 * trusts and grants is test_trust.c's. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/sched.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"

/* ---- dump: refused targets and usage errors -------------------------------- */

TEST(dump_without_a_pid_is_a_usage_error)
{
	char dir[PATH_MAX] = "", img[PATH_MAX];
	struct cryo_run r;

	CHECK(make_temp_dir(dir), "%s", why);
	pathf(img, "%s/img", dir);
	run_cryo(&r, "dump", "-D", img);
	CHECK_GOTO(refused(&r, "-t PID is required", NULL), out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
out:
	remove_temp_dir(dir);
}

TEST(dump_without_a_directory_is_a_usage_error)
{
	struct cryo_run r;
	char pid[16];
	pid_t child = fork();

	/* A harmless target, in case the check came after the seize. */
	if (child == 0) {
		pause();
		_exit(0);
	}
	CHECK(child > 0, "fork: %s", strerror(errno));
	snprintf(pid, sizeof(pid), "%d", child);
	run_cryo(&r, "dump", "-t", pid);
	kill_and_reap(child);
	CHECK(refused(&r, "-D DIR is required", NULL), "%s", why);
}

TEST(restore_without_a_directory_is_a_usage_error)
{
	struct cryo_run r;

	run_cryo(&r, "restore");
	CHECK(refused(&r, "-D DIR is required", NULL), "%s", why);
	run_cryo(&r, "restore", "-d");
	CHECK(refused(&r, "-D DIR is required", NULL), "%s", why);
}

TEST(dump_of_pid_zero_or_garbage_is_refused)
{
	static const char *const bad[] = { "0", "-1", "+1", " 1", "1 ", "abc", "12x", "",
					   "4194305", "99999999999999999999" };
	char dir[PATH_MAX] = "", img[PATH_MAX], expect[64];
	struct cryo_run r;

	CHECK(make_temp_dir(dir), "%s", why);
	pathf(img, "%s/img", dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(expect, sizeof(expect), "'%s' is not a process id", bad[i]);
		run_cryo(&r, "dump", "-t", bad[i], "-D", img);
		CHECK_GOTO(refused(&r, expect, NULL), out, "-t '%s': %s", bad[i], why);
		CHECK_GOTO(no_inventory(img), out, "%s", why);
	}
out:
	remove_temp_dir(dir);
}

TEST(dump_of_a_pid_that_does_not_exist_is_refused)
{
	char dir[PATH_MAX] = "", img[PATH_MAX], pid[16], expect[64];
	struct cryo_run r;
	pid_t gone = fork();

	/* The pid of a child just reaped: it existed a moment ago. */
	if (gone == 0)
		_exit(0);
	CHECK(gone > 0, "fork: %s", strerror(errno));
	waitpid(gone, NULL, 0);
	CHECK(kill(gone, 0) && errno == ESRCH, "pid %d was reused at once", gone);
	CHECK(make_temp_dir(dir), "%s", why);
	pathf(img, "%s/img", dir);
	snprintf(pid, sizeof(pid), "%d", gone);
	snprintf(expect, sizeof(expect), "pid %d: no such process", gone);
	run_cryo(&r, "dump", "-t", pid, "-D", img);
	CHECK_GOTO(refused(&r, expect, NULL), out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
out:
	remove_temp_dir(dir);
}

static char self_pid[16];

/* cryo is exec'd in this very process: -t names the dumper itself. */
static void use_own_pid(void *arg)
{
	(void)arg;
	snprintf(self_pid, sizeof(self_pid), "%d", getpid());
}

TEST(dump_of_the_dumper_itself_is_refused)
{
	char dir[PATH_MAX] = "", img[PATH_MAX], expect[96];
	struct cryo_run r;

	CHECK(make_temp_dir(dir), "%s", why);
	pathf(img, "%s/img", dir);
	run_cryo_with(&r, use_own_pid, NULL, CRYO_ARGS("dump", "-t", self_pid, "-D", img));
	snprintf(expect, sizeof(expect), "pid %d: cannot seize the calling process itself", r.pid);
	CHECK_GOTO(refused(&r, expect, NULL), out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
out:
	remove_temp_dir(dir);
}

/* The calling process: cryo runs as a child of this one and dumps it. Exits
 * with cryo's exit status, so the caller survived if it reports one. */
static void __attribute__((noreturn)) dump_my_caller(const char *img, int out_fd)
{
	char pid[16];
	int status;
	pid_t cryo;

	snprintf(pid, sizeof(pid), "%d", getpid());
	cryo = spawn_cryo(out_fd, NULL, NULL, CRYO_ARGS("dump", "-t", pid, "-D", img));
	if (cryo < 0 || waitpid(cryo, &status, 0) != cryo)
		_exit(126);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 125);
}

TEST(dump_of_the_dumpers_caller_is_refused_and_the_caller_runs_on)
{
	char dir[PATH_MAX] = "", img[PATH_MAX], outfile[PATH_MAX];
	struct cryo_run r = { .status = -1 };
	bool caller_ended = false;
	int status, fd;
	pid_t caller = -1;

	CHECK(make_temp_dir(dir), "%s", why);
	pathf(img, "%s/img", dir);
	pathf(outfile, "%s/cryo.out", dir);
	fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK_GOTO(fd >= 0, out, "open %s: %s", outfile, strerror(errno));
	caller = fork();
	if (caller == 0) {
		/* Its own group, so that a hang ends with one kill. */
		setpgid(0, 0);
		dump_my_caller(img, fd);
	}
	close(fd);
	CHECK_GOTO(caller > 0, out, "fork: %s", strerror(errno));
	if (!wait_child(caller, CRYO_MS, &status)) {
		kill(-caller, SIGKILL);
		waitpid(caller, NULL, 0);
		CHECK_GOTO(false, out, "the caller never came back from its dump");
	}
	caller_ended = true;
	CHECK_GOTO(WIFEXITED(status) && WEXITSTATUS(status) < 125, out,
		   "the caller did not survive its own dump (status %#x)", status);
	r.status = WEXITSTATUS(status);
	read_text(outfile, r.out, sizeof(r.out));
	CHECK_GOTO(refused(&r, NULL) && names_pid(r.out, caller), out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
out:
	if (caller > 0 && !caller_ended) {
		kill(-caller, SIGKILL);
		waitpid(caller, NULL, 0);
	}
	/* cryo, if its caller was killed above, became ours. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	remove_temp_dir(dir);
}

static int thread_pipe[2];

static void *report_tid(void *arg)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	(void)arg;
	if (write(thread_pipe[1], &tid, sizeof(tid)) != sizeof(tid))
		_exit(1);
	for (;;)
		pause();
}

TEST(dump_of_a_thread_id_is_refused)
{
	char dir[PATH_MAX] = "", img[PATH_MAX], tid_text[16], expect[96];
	struct cryo_run r;
	pid_t owner = -1, tid = 0;

	CHECK(pipe2(thread_pipe, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	owner = fork();
	if (owner == 0) {
		pthread_t thread;

		if (pthread_create(&thread, NULL, report_tid, NULL))
			_exit(1);
		for (;;)
			pause();
	}
	close(thread_pipe[1]);
	CHECK_GOTO(owner > 0, out, "fork: %s", strerror(errno));
	CHECK_GOTO(read(thread_pipe[0], &tid, sizeof(tid)) == sizeof(tid) && tid != owner, out,
		   "the second thread did not say its id");
	CHECK_GOTO(make_temp_dir(dir), out, "%s", why);
	pathf(img, "%s/img", dir);
	snprintf(tid_text, sizeof(tid_text), "%d", tid);
	snprintf(expect, sizeof(expect), "pid %d: is a thread of process %d", tid, owner);
	run_cryo(&r, "dump", "-t", tid_text, "-D", img);
	CHECK_GOTO(refused(&r, expect, NULL), out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
out:
	close(thread_pipe[0]);
	kill_and_reap(owner);
	remove_temp_dir(dir);
}

/* A child its parent holds in a ptrace stop (a debugger's) cannot be seized:
 * the dump names the tracer, and the parent still traces it, stopped. */
TEST(dump_of_a_child_its_parent_traces_is_refused_naming_the_tracer)
{
	char expect[128], path[PATH_MAX], text[32];
	unsigned long long tracer = 0;
	struct prog p = { 0 };
	pid_t child;

	CHECK_GOTO(start_prog(&p, "neg_traced_child", NULL, NULL), out, "%s", why);
	pathf(path, "%s/child", p.dir);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && (child = atoi(text)) > 0, out,
		   "the program wrote no child pid");
	snprintf(expect, sizeof(expect), "thread %d is traced by pid %d (ptrace)", child, p.pid);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, NULL), out, "%s", why);
	CHECK_GOTO(proc_status_number(child, "TracerPid", 10, &tracer) && tracer == (unsigned)p.pid,
		   out, "the child is traced by %llu after the dump, not by its parent %d",
		   tracer, p.pid);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* A flock kept by a mapping alone (its fd closed): /proc/locks shows it,
 * no fd reaches it. The dump reads /proc/locks once, right after the
 * seize, on a thread of its own: the refusal must still name the lock's
 * holder, and the program keep its lock. */
TEST(dump_refuses_a_flock_no_fd_reaches_naming_its_holder_and_the_lock_stays)
{
	char expect[128];
	struct prog p = { 0 };

	CHECK_GOTO(start_prog(&p, "neg_flock_mapped", NULL, NULL), out, "%s", why);
	snprintf(expect, sizeof(expect), "pid %d holds a FLOCK lock on inode ", p.pid);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, "that none of the dumped fds reaches"), out,
		   "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}
