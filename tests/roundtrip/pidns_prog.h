/* The body of the pid-namespace init programs (prog_pidns_init, and
 * prog_pidns_proc with a /proc of its own): the runner starts each as pid 1
 * of a new pid namespace. It holds a child that waits, an orphan it adopted
 * (its parent exited and was reaped), a zombie with exit code 7 and a
 * thread. On SIGTERM it checks that it is still pid 1, that the child and
 * the orphan report the same pids inside and it as their parent, that the
 * zombie's status is there, and that the thread lives; prog_pidns_proc's
 * /proc keeps its options (hidepid=invisible,subset=pid). */
#ifndef CRYO_TESTS_PIDNS_PROG_H
#define CRYO_TESTS_PIDNS_PROG_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define PIDNS_ZOMBIE_CODE 7

struct pidns_report {
	pid_t pid, ppid;
};

static pid_t pidns_thread_tid;

static void *pidns_thread(void *arg)
{
	(void)arg;
	__atomic_store_n(&pidns_thread_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

/* A child: on SIGTERM it reports its pid and its parent on @fd, exits. */
static void __attribute__((noreturn)) pidns_waiter(int fd)
{
	struct pidns_report r;

	prog_wait_sigterm();
	r.pid = getpid();
	r.ppid = getppid();
	_exit(write(fd, &r, sizeof(r)) == sizeof(r) ? 0 : 1);
}

/* Reads the report of @pid (one of two) from @fd. */
static bool pidns_check_report(int fd, pid_t child, pid_t orphan)
{
	struct pidns_report r;
	bool ok = true;

	if (read(fd, &r, sizeof(r)) != sizeof(r))
		return prog_fail("a child sent no report: %s", strerror(errno));
	ok &= PROG_CHECK(r.pid == child || r.pid == orphan, "a child says it is pid %d, not %d "
			 "or %d", r.pid, child, orphan);
	ok &= PROG_CHECK(r.ppid == 1, "pid %d says its parent is %d, not the init", r.pid,
			 r.ppid);
	return ok;
}

/* The parent of @pid in the /proc this process sees, -1 when unreadable. */
static pid_t pidns_proc_parent(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %d", &ppid);
	if (f)
		fclose(f);
	return ppid;
}

#define PIDNS_PROC_OPTIONS "hidepid=invisible,subset=pid"

/* Its /proc shows only pids (subset=pid) and has both options. */
static void pidns_check_proc_options(void)
{
	char line[4096], mp[4096];
	bool hidepid = false, subset = false;
	FILE *mi = fopen("/proc/self/mountinfo", "re");

	while (mi && fgets(line, sizeof(line), mi))
		if (sscanf(line, "%*d %*d %*s %*s %4095s", mp) == 1 && !strcmp(mp, "/proc")) {
			hidepid = strstr(line, ",hidepid=invisible");
			subset = strstr(line, ",subset=pid");
		}
	if (mi)
		fclose(mi);
	PROG_CHECK(hidepid && subset, "its /proc lost %s", PIDNS_PROC_OPTIONS);
	PROG_CHECK(access("/proc/sys", F_OK) && errno == ENOENT, "its /proc shows /proc/sys");
}

static int pidns_prog_main(int argc, char **argv, bool own_proc)
{
	int report[2], orphan_pipe[2], status;
	pid_t child, orphan, zombie, middle, tid;
	pthread_t thread;

	prog_init(argc, argv);
	if (getpid() != 1) {
		prog_fail("started as pid %d, not as the init of a pid namespace", getpid());
		prog_finish();
	}
	/* As `unshare --pid --fork --mount-proc` does; the runner made the
	 * mount namespace, whose mounts must not reach the runner's. */
	if (own_proc && (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
			 mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			       PIDNS_PROC_OPTIONS))) {
		prog_fail("cannot mount a /proc of its own: %s", strerror(errno));
		prog_finish();
	}
	if (pipe(report) || pipe(orphan_pipe) ||
	    pthread_create(&thread, NULL, pidns_thread, NULL)) {
		prog_fail("setup: %s", strerror(errno));
		prog_finish();
	}
	child = fork();
	if (child == 0)
		pidns_waiter(report[1]);
	zombie = fork();
	if (zombie == 0)
		_exit(PIDNS_ZOMBIE_CODE);
	/* The orphan's parent exits at once: the init adopts it. */
	middle = fork();
	if (middle == 0) {
		orphan = fork();
		if (orphan == 0) {
			close(orphan_pipe[0]);
			close(orphan_pipe[1]);
			pidns_waiter(report[1]);
		}
		_exit(write(orphan_pipe[1], &orphan, sizeof(orphan)) == sizeof(orphan) ? 0 : 1);
	}
	if (child < 0 || zombie < 0 || middle < 0 || waitpid(middle, &status, 0) != middle ||
	    status || read(orphan_pipe[0], &orphan, sizeof(orphan)) != sizeof(orphan)) {
		prog_fail("cannot make its children: %s", strerror(errno));
		prog_finish();
	}
	/* The zombie has exited before the dump, and stays unreaped. */
	{
		siginfo_t si;

		if (waitid(P_PID, zombie, &si, WEXITED | WNOWAIT)) {
			prog_fail("waitid of the zombie: %s", strerror(errno));
			prog_finish();
		}
	}
	while (!__atomic_load_n(&pidns_thread_tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	tid = pidns_thread_tid;
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(getpid() == 1, "pid %d after restore, not 1", getpid());
	PROG_CHECK(syscall(SYS_tgkill, getpid(), tid, 0) == 0, "thread %d is gone: %s", tid,
		   strerror(errno));
	PROG_CHECK(kill(child, 0) == 0, "child %d is gone: %s", child, strerror(errno));
	PROG_CHECK(kill(orphan, 0) == 0, "orphan %d is gone: %s", orphan, strerror(errno));
	if (own_proc) {
		char self[16] = "";

		PROG_CHECK(readlink("/proc/self", self, sizeof(self) - 1) == 1 && self[0] == '1',
			   "its /proc is not of its pid namespace (self: %s)", self);
		PROG_CHECK(pidns_proc_parent(orphan) == 1, "/proc says the orphan %d has parent "
			   "%d", orphan, pidns_proc_parent(orphan));
		pidns_check_proc_options();
	}
	kill(child, SIGTERM);
	kill(orphan, SIGTERM);
	pidns_check_report(report[0], child, orphan);
	pidns_check_report(report[0], child, orphan);
	PROG_CHECK(waitpid(zombie, &status, 0) == zombie && WIFEXITED(status) &&
		   WEXITSTATUS(status) == PIDNS_ZOMBIE_CODE, "zombie %d: status %#x", zombie,
		   status);
	PROG_CHECK(waitpid(child, &status, 0) == child && status == 0, "child %d: status %#x",
		   child, status);
	PROG_CHECK(waitpid(orphan, &status, 0) == orphan && status == 0, "orphan %d: status "
		   "%#x", orphan, status);
	prog_finish();
}

#endif
