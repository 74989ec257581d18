/* A tree of 50 processes in 3 levels: a session of its own under the root,
 * one made after forking a child that stays in the root's session,
 * process groups made and joined (one whose leader has exited and been
 * reaped), zombies with an exit code and with a signal, a pipe whose ends
 * live in two processes with bytes in flight, a file shared by three
 * processes through one open file description, and a pidfd of a child.
 *
 * The root notes pid, parent, group, session and state of every process
 * before it says ready; on SIGTERM it checks them all again, then every
 * process ends its children, reaps them (checking zombies' statuses), runs
 * its own checks and exits 0 or notes why not in prog_dir()/failures. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define LEVEL1 7
#define LEVEL2 6
#define MAX_PROCS 64
#define PIPE_TEXT "bytes in flight"
#define FILE_OFFSET 100

struct proc_info {
	pid_t pid, ppid, pgid, sid;
	char state;
};

static struct proc_info before[MAX_PROCS];
static int nr_before;
static int ready_pipe[2];
/* Set up before each fork, checked by the process itself at the end. */
static int role_pipe_fd = -1, role_file_fd = -1;
static bool role_reader, role_writer, role_sharer;

static void note_failure(const char *fmt, ...)
{
	char path[4096], msg[512];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/failures", prog_dir());
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "pid %d: %s\n", getpid(), msg);
		close(fd);
	}
}

static int read_info(pid_t pid, struct proc_info *info)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	info->pid = pid;
	if (!p || sscanf(p + 2, "%c %d %d %d", &info->state, &info->ppid, &info->pgid,
			 &info->sid) != 4)
		return -1;
	return 0;
}

/* Every process below @pid, parents first. */
static void collect(pid_t pid, struct proc_info *out, int *nr)
{
	char path[96];
	FILE *f;
	int child;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	while (f && fscanf(f, "%d", &child) == 1) {
		if (*nr < MAX_PROCS && !read_info(child, &out[*nr])) {
			(*nr)++;
			collect(child, out, nr);
		}
	}
	if (f)
		fclose(f);
}

/* Ends the live children, reaps all, and checks the zombies' statuses. */
static bool end_children(const int *expect_status, const pid_t *kids, int nr)
{
	bool ok = true;

	for (int i = 0; i < nr; i++)
		if (expect_status[i] < 0)
			kill(kids[i], SIGTERM);
	for (int i = 0; i < nr; i++) {
		const char *name = i == 0 ? "zombie-code" : "zombie-signal";
		char path[64], comm[32] = "";
		int status;
		FILE *f;

		if (expect_status[i] >= 0) {
			snprintf(path, sizeof(path), "/proc/%d/comm", kids[i]);
			f = fopen(path, "re");
			if (!f || !fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			if (f)
				fclose(f);
			comm[strcspn(comm, "\n")] = '\0';
			if (strcmp(comm, name)) {
				note_failure("zombie %d is named '%s', not '%s'", kids[i], comm,
					     name);
				ok = false;
			}
		}
		if (waitpid(kids[i], &status, 0) != kids[i]) {
			note_failure("cannot reap child %d: %s", kids[i], strerror(errno));
			ok = false;
		} else if (expect_status[i] >= 0 && status != expect_status[i]) {
			note_failure("zombie %d had status %#x, reaped as %#x", kids[i],
				     expect_status[i], status);
			ok = false;
		} else if (expect_status[i] < 0 && status != 0) {
			note_failure("child %d ended with status %#x", kids[i], status);
			ok = false;
		}
	}
	return ok;
}

static bool own_checks(void)
{
	bool ok = true;

	if (role_reader) {
		char buf[64] = "";
		ssize_t n = read(role_pipe_fd, buf, sizeof(buf) - 1);

		if (n != (ssize_t)strlen(PIPE_TEXT) || strcmp(buf, PIPE_TEXT)) {
			note_failure("read '%s' (%zd bytes) from the pipe, not '%s'", buf, n,
				     PIPE_TEXT);
			ok = false;
		}
	}
	if (role_sharer) {
		long same = syscall(SYS_kcmp, getpid(), getppid(), KCMP_FILE, role_file_fd,
				    role_file_fd);
		off_t pos = lseek(role_file_fd, 0, SEEK_CUR);

		if (same != 0 || pos != FILE_OFFSET) {
			note_failure("the shared file is %s its parent %d's (kcmp %ld, %m), at offset %lld",
				     same ? "not" : "", getppid(), same, (long long)pos);
			ok = false;
		}
	}
	return ok;
}

/* A pidfd of a live child: it names the child and signals it. */
static bool pidfd_works(int pidfd, pid_t child)
{
	char path[64], line[128];
	bool named = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		int pid;

		if (sscanf(line, "Pid: %d", &pid) == 1)
			named = pid == child;
	}
	if (f)
		fclose(f);
	if (!named || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0)) {
		note_failure("the pidfd of child %d %s", child,
			     named ? "cannot signal it" : "names another process");
		return false;
	}
	return true;
}

/* A leaf: sets up its role, says ready, waits and checks. */
static void __attribute__((noreturn)) leaf(pid_t join_group)
{
	if (join_group && setpgid(0, join_group))
		_exit(91);
	if (role_writer &&
	    write(role_pipe_fd, PIPE_TEXT, strlen(PIPE_TEXT)) != (ssize_t)strlen(PIPE_TEXT))
		_exit(92);
	prog_child_ready(ready_pipe);
	prog_wait_sigterm();
	_exit(own_checks() ? 0 : 1);
}

/* A process of level 1, kind @kind, and its children. */
static void __attribute__((noreturn)) level1(int kind)
{
	pid_t kids[LEVEL2 + 1], group = 0, dead_leader = 0;
	int expect[LEVEL2 + 1], pipefd[2] = { -1, -1 }, nr = 0, pidfd = -1;
	bool ok;

	if (kind == 1 && setsid() < 0)
		_exit(80);
	if (kind == 2 && setpgid(0, 0))
		_exit(81);
	if (kind == 5) {
		char path[4096], zeros[FILE_OFFSET] = { 0 };

		if (pipe(pipefd))
			_exit(82);
		snprintf(path, sizeof(path), "%s/shared-file", prog_dir());
		role_file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (role_file_fd < 0 || write(role_file_fd, zeros, sizeof(zeros)) != FILE_OFFSET)
			_exit(83);
	}
	if (kind == 4) {
		/* A group leader that leaves its group behind. */
		dead_leader = fork();
		if (dead_leader == 0) {
			setpgid(0, 0);
			_exit(0);
		}
		setpgid(dead_leader, dead_leader);
	}
	for (int i = 0; i < LEVEL2; i++) {
		pid_t pid;

		expect[nr] = -1;
		if (kind == 3 && i < 2)
			expect[nr] = i == 0 ? 7 << 8 : SIGUSR1;
		pid = fork();
		if (pid < 0)
			_exit(84);
		if (pid == 0) {
			role_reader = kind == 5 && i == 0;
			role_writer = kind == 5 && i == 1;
			role_sharer = kind == 5 && i >= 2;
			if (kind == 5) {
				role_pipe_fd = role_reader ? pipefd[0] : role_writer ? pipefd[1] : -1;
				if (!role_reader)
					close(pipefd[0]);
				if (!role_writer)
					close(pipefd[1]);
			}
			if (expect[nr] >= 0) {
				/* A zombie: exits, with a code or by a signal,
				 * and a name of its own. */
				prctl(PR_SET_NAME, i == 0 ? "zombie-code" : "zombie-signal");
				prog_child_ready(ready_pipe);
				if (i == 0)
					_exit(7);
				signal(SIGUSR1, SIG_DFL);
				raise(SIGUSR1);
				_exit(99);
			}
			if (kind == 1 && i == 0)
				setpgid(0, 0);
			leaf(kind == 1 && i > 0 && i < 3 ? group : kind == 4 ? dead_leader : 0);
		}
		/* Set by both, so it holds whichever runs first. */
		if (kind == 1 && i == 0)
			group = pid;
		if (kind == 1 && i < 3)
			setpgid(pid, group);
		if (kind == 4)
			setpgid(pid, dead_leader);
		/* Leaves its first child behind in the root's session. */
		if (kind == 7 && i == 0 && setsid() < 0)
			_exit(86);
		kids[nr++] = pid;
	}
	if (kind == 4)
		waitpid(dead_leader, NULL, 0);
	if (kind == 6 && (pidfd = (int)syscall(SYS_pidfd_open, kids[0], 0)) < 0)
		_exit(85);
	if (kind == 5) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	prog_child_ready(ready_pipe);
	prog_wait_sigterm();
	ok = pidfd < 0 || pidfd_works(pidfd, kids[0]);
	ok &= end_children(expect, kids, nr);
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		if (poll(&pfd, 1, 1000) != 1 || !(pfd.revents & POLLIN)) {
			note_failure("the pidfd of %d does not poll readable after its exit",
				     kids[0]);
			ok = false;
		}
	}
	_exit(ok ? 0 : 1);
}

static bool same_info(const struct proc_info *a, const struct proc_info *b)
{
	bool a_zombie = a->state == 'Z', b_zombie = b->state == 'Z';

	return a->pid == b->pid && a->ppid == b->ppid && a->pgid == b->pgid &&
	       a->sid == b->sid && a_zombie == b_zombie;
}

int main(int argc, char **argv)
{
	struct proc_info after[MAX_PROCS];
	pid_t kids[LEVEL1];
	int expect[LEVEL1], nr_after = 0, nr_ready = 0;
	char byte, path[4096], line[512];
	FILE *f;
	bool ok;

	prog_init(argc, argv);
	if (pipe(ready_pipe))
		return 1;
	for (int i = 0; i < LEVEL1; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			level1(i + 1);
		expect[i] = -1;
	}
	close(ready_pipe[1]);
	while (read(ready_pipe[0], &byte, 1) == 1)
		nr_ready++;
	close(ready_pipe[0]);
	PROG_CHECK(nr_ready == LEVEL1 * (LEVEL2 + 1), "%d of %d processes got ready", nr_ready,
		   LEVEL1 * (LEVEL2 + 1));
	/* The zombies exit when they say ready: wait until they are. */
	for (int tries = 0; tries < 1000; tries++) {
		int zombies = 0;

		nr_before = 0;
		collect(getpid(), before, &nr_before);
		for (int i = 0; i < nr_before; i++)
			zombies += before[i].state == 'Z';
		if (zombies == 2)
			break;
		usleep(1000);
	}
	PROG_CHECK(nr_before == LEVEL1 * (LEVEL2 + 1), "%d processes below the root",
		   nr_before);
	prog_ready();
	prog_wait_sigterm();

	collect(getpid(), after, &nr_after);
	PROG_CHECK(nr_after == nr_before, "%d processes below the root after restore, not %d",
		   nr_after, nr_before);
	for (int i = 0; i < nr_before && i < nr_after; i++)
		PROG_CHECK(same_info(&before[i], &after[i]),
			   "process %d: pid %d ppid %d pgid %d sid %d state %c, was pid %d ppid %d "
			   "pgid %d sid %d state %c", i, after[i].pid, after[i].ppid, after[i].pgid,
			   after[i].sid, after[i].state, before[i].pid, before[i].ppid,
			   before[i].pgid, before[i].sid, before[i].state);
	ok = end_children(expect, kids, LEVEL1);
	snprintf(path, sizeof(path), "%s/failures", prog_dir());
	f = fopen(path, "r");
	if (f) {
		if (fgets(line, sizeof(line), f))
			prog_fail("%s", line);
		fclose(f);
		unlink(path);
	}
	PROG_CHECK(ok, "a process of the tree failed its checks");
	prog_finish();
}
