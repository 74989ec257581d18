/* Negative tests (test_negative.c says what they check): a restore whose pid
 * or thread id is taken, before it starts or while it runs, or that fails
 * after creating its task or on a lock held elsewhere, leaves nothing behind,
 * never hangs and leaves the pid's owner untouched. */
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

TEST(restore_when_the_pid_is_taken_leaves_the_owner_untouched)
{
	char img[PATH_MAX], pid[16], expect[64];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-R");
	CHECK_GOTO(r.status == 0, out, "dump -R failed (%d): %s", r.status, r.out);
	CHECK_GOTO(prog_unharmed(&p), out, "after dump -R: %s", why);
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	snprintf(expect, sizeof(expect), "pid %d is taken", p.pid);
	CHECK_GOTO(refused(&r, expect, NULL), out, "%s", why);
	CHECK_GOTO(nothing_restored(&p, p.pid, p.pid), out, "%s", why);
	CHECK_GOTO(prog_unharmed(&p), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

static void __attribute__((noreturn)) hold_pid(void)
{
	for (;;)
		pause();
}

/* A process made with pid @pid (clone3 with set_tid), which only waits. */
static pid_t take_pid(pid_t pid)
{
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&pid,
		.set_tid_size = 1,
	};
	pid_t child = (pid_t)syscall(SYS_clone3, &args, sizeof(args));

	if (child == 0)
		hold_pid();
	return child;
}

/* The thread whose tid is taken is named before anything is created, the
 * restore leaves nothing, and the process that holds the tid is untouched. */
TEST(restore_when_a_thread_id_is_taken_names_the_thread)
{
	char img[PATH_MAX], pid[16], expect[64];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t tid, holder = -1, image_pid;
	int status;

	CHECK_GOTO(start_prog(&p, "prog_threads", NULL, NULL), out, "%s", why);
	tid = other_thread(p.pid);
	CHECK_GOTO(tid > 0, out, "pid %d has no second thread", p.pid);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs after its dump");
	image_pid = p.pid;
	p.pid = 0;
	holder = take_pid(tid);
	CHECK_GOTO(holder == tid, out, "cannot take tid %d: %s", tid, strerror(errno));
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	/* Found before anything is created. */
	snprintf(expect, sizeof(expect), "pid %d: its thread %d is taken", image_pid, tid);
	CHECK_GOTO(refused(&r, expect, NULL), out, "%s", why);
	CHECK_GOTO(nothing_restored(&p, image_pid, holder), out, "%s", why);
	CHECK_GOTO(waitpid(holder, &status, WNOHANG) == 0 && kill(holder, 0) == 0, out,
		   "the process holding tid %d did not survive the restore", tid);
out:
	kill_and_reap(holder);
	end_prog(&p);
}

/* A restore that fails after the task exists (a mapped file changed since
 * the dump) must kill it: nothing may be left. */
TEST(restore_that_fails_after_creating_the_task_leaves_nothing)
{
	char img[PATH_MAX], file[PATH_MAX];
	struct prog p = { 0 };
	pid_t image_pid;
	FILE *f;

	CHECK_GOTO(make_image(&p, "prog_memory", img, &image_pid), out, "%s", why);
	pathf(file, "%s/private-file", p.dir);
	f = fopen(file, "a");
	CHECK_GOTO(f && fputs("grown", f) >= 0 && !fclose(f), out, "cannot grow %s", file);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "a mapped file grown", file,
				   "is not the file that was dumped"),
		   out, "%s", why);
out:
	end_prog(&p);
}

/* Dumps prog_tree into @img and restores it with @env set to @value: the
 * restore's result in @r. False, with why, when the dump failed. */
static bool restore_tree_with(struct prog *p, char *img, pid_t *image_pid, const char *env,
			      const char *value, struct cryo_run *r)
{
	if (!make_image(p, "prog_tree", img, image_pid))
		return false;
	if (!reap_all_children(WAIT_MS))
		return fail_why("the dumped tree's processes stay");
	setenv(env, value, 1);
	prog_cryo(r, p, "restore", "-D", img, "-d");
	unsetenv(env);
	return true;
}

/* Each process of a tree is finished (seized, its registers set) as soon as
 * its restorer reports, and held until all are: a finish that fails when
 * some are held (CRYO_TEST_FINISH_FAIL_AT, the 30th of prog_tree's live
 * processes) kills them where they stand, and nothing is left. */
TEST(a_tree_whose_finish_fails_midway_leaves_nothing)
{
	struct prog p = { 0 };
	char img[PATH_MAX];
	pid_t image_pid;
	struct cryo_run r;

	CHECK_GOTO(restore_tree_with(&p, img, &image_pid, "CRYO_TEST_FINISH_FAIL_AT", "30", &r),
		   out, "%s", why);
	CHECK_GOTO(refused(&r, "its finish failed on purpose", "29 processes held finished",
			   NULL),
		   out, "%s", why);
	CHECK_GOTO(nothing_restored(&p, image_pid, 0), out, "%s", why);
out:
	end_prog(&p);
}

/* Reaps every child of ours (orphans come to us, the subreaper) until none
 * is left, up to @ms; false, naming it, when one still lives then. */
static bool children_all_die(long ms)
{
	long deadline = now_ms() + ms;
	char stat_text[512] = "";

	for (;;) {
		DIR *proc = opendir("/proc");
		struct dirent *de;
		pid_t left = 0;

		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
		while (proc && !left && (de = readdir(proc))) {
			pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
			char path[64], state;
			const char *after;
			int ppid;

			snprintf(path, sizeof(path), "/proc/%d/stat", pid);
			if (pid <= 0 || !read_text(path, stat_text, sizeof(stat_text)) ||
			    !(after = strrchr(stat_text, ')')) ||
			    sscanf(after, ") %c %d", &state, &ppid) != 2)
				continue;
			/* A zombie is reaped on the next round. */
			if (ppid == getpid())
				left = pid;
		}
		if (proc)
			closedir(proc);
		if (!left)
			return true;
		if (now_ms() > deadline)
			return fail_why("pid %d is still there %ld ms after cryo died: %.100s", left,
					ms, stat_text);
		sleep_ms(10);
	}
}

/* cryo killed after the 30th of prog_tree's finishes: the 30 processes it
 * held finished (their saved parent-death signal set, 0) die with it, being
 * seized so (PTRACE_O_EXITKILL), and the others with their parents. */
TEST(a_tree_whose_cryo_dies_midway_through_the_finishes_leaves_nothing)
{
	struct prog p = { 0 };
	char img[PATH_MAX];
	pid_t image_pid;
	struct cryo_run r;

	CHECK_GOTO(restore_tree_with(&p, img, &image_pid, "CRYO_TEST_FINISH_DIE_AT", "30", &r),
		   out, "%s", why);
	CHECK_GOTO(r.status == 128 + SIGKILL, out, "cryo was not killed at its 30th finish (%d): %s",
		   r.status, r.out);
	CHECK_GOTO(children_all_die(WAIT_MS), out, "%s", why);
	CHECK_GOTO(nothing_restored(&p, image_pid, 0), out, "%s", why);
out:
	end_prog(&p);
}

/* Another process took the lock the dumped root held on its file A: the
 * restore cannot take it again, says which, and leaves nothing behind. */
TEST(restore_fails_naming_a_lock_another_process_holds_now)
{
	char img[PATH_MAX], file[PATH_MAX], expect[PATH_MAX + 64];
	struct prog p = { 0 };
	pid_t image_pid;
	int fd = -1;

	CHECK_GOTO(make_image(&p, "prog_locks", img, &image_pid), out, "%s", why);
	/* Its children, killed by the dump, were left to us to reap. */
	end_children(0, NULL, 0);
	pathf(file, "%s/A", p.dir);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	CHECK_GOTO(fd >= 0 && !flock(fd, LOCK_SH | LOCK_NB), out, "cannot lock %s: %s", file,
		   strerror(errno));
	snprintf(expect, sizeof(expect), "restore: pid %d fd ", image_pid);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "a lock taken by another process", expect,
				   "cannot take its flock write lock again: another process holds a "
				   "conflicting lock now"),
		   out, "%s", why);
out:
	if (fd >= 0)
		close(fd);
	end_prog(&p);
}

/* ---- restore: a PID taken while the restore runs ------------------------------- */

#define TAKEN_RUNS 24
#define HANG_MS 10000

/* The descendants of @pid (its children first, then theirs), up to @max. */
static int descendants(pid_t pid, pid_t *out, int max)
{
	int n = 0;

	out[n++] = pid;
	for (int i = 0; i < n && n < max; i++) {
		char path[64], text[4096], *at, *end;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", out[i], out[i]);
		if (!read_text(path, text, sizeof(text)))
			continue;
		for (at = text; n < max; at = end) {
			long child = strtol(at, &end, 10);

			if (end == at)
				break;
			out[n++] = (pid_t)child;
		}
	}
	/* The root itself is not a descendant. */
	memmove(out, out + 1, (size_t)(n - 1) * sizeof(*out));
	return n - 1;
}

/* Restores @img with cryo stopping itself once it has checked that every
 * PID is free; then takes @pid (its holder goes to *@holder) and lets cryo
 * go on, which must end within HANG_MS. */
static void restore_taking_pid(struct cryo_run *r, const char *img, pid_t pid, pid_t *holder)
{
	long deadline = now_ms() + WAIT_MS;
	int pipefd[2], status;
	size_t used = 0;
	pid_t cryo;

	r->status = -1;
	r->out[0] = '\0';
	*holder = -1;
	if (pipe2(pipefd, O_CLOEXEC))
		return;
	cryo = cryo_spawn(pipefd[1], &(struct cryo_call){
		.args = CRYO_ARGS("restore", "-D", img, "-d"),
		.env = CRYO_ARGS("CRYO_TEST_STOP_BEFORE_CREATE=1"),
	});
	close(pipefd[1]);
	for (;;) {
		pid_t got = waitpid(cryo, &status, WUNTRACED | WNOHANG);

		if (got == cryo && WIFSTOPPED(status))
			break;
		if (got == cryo || now_ms() > deadline) {
			snprintf(r->out, sizeof(r->out), "cryo never stopped before the creation");
			kill_and_reap(got == cryo ? -1 : cryo);
			close(pipefd[0]);
			return;
		}
		sleep_ms(1);
	}
	*holder = take_pid(pid);
	kill(cryo, SIGCONT);
	deadline = now_ms() + HANG_MS;
	while (now_ms() < deadline) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(pipefd[0], r->out + used, sizeof(r->out) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used + 1 >= sizeof(r->out))
			break;
	}
	r->out[used] = '\0';
	close(pipefd[0]);
	if (!wait_child(cryo, deadline - now_ms() > 0 ? deadline - now_ms() : 0, &status)) {
		kill_and_reap(cryo);
		return;
	}
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A PID of the tree taken after cryo checked it was free, before the
 * process that needs it is made: the restore fails naming it, within
 * HANG_MS, and leaves nothing behind, however far the tree had got (a
 * sibling made just before may not have set its parent-death signal yet
 * when its parent fails). Each run takes another PID of a tree of 50. */
TEST(restore_when_a_pid_is_taken_mid_restore_neither_hangs_nor_leaves_anything)
{
	char img[PATH_MAX], pid_text[16], expect[64];
	pid_t tree[64], image_pid = 0, holder = -1;
	struct prog p = { 0 };
	struct cryo_run r;
	int nr, status;

	CHECK_GOTO(start_prog(&p, "prog_tree", NULL, NULL), out, "%s", why);
	nr = descendants(p.pid, tree, 64);
	CHECK_GOTO(nr >= 40, out, "prog_tree has %d descendants", nr);
	pathf(img, "%s/img", p.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	run_cryo(&r, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the tree runs after its dump");
	image_pid = p.pid;
	p.pid = 0;
	end_children(0, NULL, 0);
	for (int run = 0; run < TAKEN_RUNS; run++) {
		/* From the last made to the first: the later, the more of the
		 * tree exists when the restore fails. */
		pid_t taken = tree[nr - 1 - (run * 7) % nr];

		restore_taking_pid(&r, img, taken, &holder);
		CHECK_GOTO(holder == taken, out, "run %d: cannot take pid %d: %s", run, taken,
			   strerror(errno));
		snprintf(expect, sizeof(expect), "%d (the pid is taken)", taken);
		CHECK_GOTO(refused(&r, expect, NULL), out, "run %d, pid %d taken: %s", run, taken,
			   why);
		CHECK_GOTO(nothing_restored(&p, image_pid, holder), out, "run %d: %s", run, why);
		CHECK_GOTO(waitpid(holder, &status, WNOHANG) == 0, out,
			   "run %d: the holder of pid %d died", run, taken);
		kill_and_reap(holder);
		holder = -1;
	}
out:
	kill_and_reap(holder);
	end_prog(&p);
}
