/* --shell-job through real terminals. A program whose stdin, stdout and
 * stderr are a pty slave, its controlling terminal in a session of its own,
 * is dumped with -j and restored with -j by a cryo that runs on another pty:
 * the restored program must answer on cryo's terminal. So must the job of a
 * shell, restored by a cryo that another shell runs in the foreground.
 * Without -j, dump and restore must refuse the terminal and lose nothing.
 * This binary is also that program (--echo). It runs cryo through
 * cryo_driver.c, and is a child subreaper: it reaps and ends every process
 * it started, restored ones included. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "runner_util.h"

#define REPLY_MS 10000

static char self[PATH_MAX];

/* ---- the program that is dumped --------------------------------------------- */

/* "pty": opens a pty pair whose slave has the device number of its own
 * terminal (in a clone's own devpts instance, which numbers from 0) and
 * keeps it; "pair": bytes written to that master are read from its slave.
 * Both answer with what they found. */
static int pair_master = -1, pair_slave = -1;

static void open_pair_like_terminal(char *out, size_t size)
{
	struct stat term;
	int held[64], nr = 0;

	if (fstat(0, &term)) {
		snprintf(out, size, "no terminal");
		return;
	}
	while (nr < 64) {
		unsigned int index, unlock = 0;
		int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);

		if (m < 0 || ioctl(m, TIOCGPTN, &index) || ioctl(m, TIOCSPTLCK, &unlock))
			break;
		if (index == minor(term.st_rdev)) {
			pair_master = m;
			pair_slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
			break;
		}
		held[nr++] = m;
	}
	while (nr)
		close(held[--nr]);
	if (pair_slave < 0) {
		snprintf(out, size, "no pty %u here", minor(term.st_rdev));
		return;
	}
	snprintf(out, size, "pty %u held", minor(term.st_rdev));
}

static void check_pair(char *out, size_t size)
{
	char got[8] = "";
	struct termios t;

	if (pair_slave < 0 || tcgetattr(pair_slave, &t)) {
		snprintf(out, size, "no pair");
		return;
	}
	cfmakeraw(&t);
	if (tcsetattr(pair_slave, TCSANOW, &t) || write(pair_master, "ab", 2) != 2 ||
	    read(pair_slave, got, 2) != 2 || strcmp(got, "ab")) {
		snprintf(out, size, "the pair lost its bytes: '%s'", got);
		return;
	}
	snprintf(out, size, "pair ok");
}

/* Answers each line of its terminal with "reply N: LINE"; the count lives
 * in memory, so a restored copy goes on counting. "quit" ends it; "pty"
 * and "pair" as above. */
static int echo_main(void)
{
	static unsigned int replies;
	char line[256], reply[320], found[64];

	for (;;) {
		ssize_t n = read(0, line, sizeof(line) - 1);
		int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 2;
		line[n] = '\0';
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "quit"))
			return 0;
		if (!strcmp(line, "pty") || !strcmp(line, "pair")) {
			(line[1] == 't' ? open_pair_like_terminal : check_pair)(found,
										 sizeof(found));
			snprintf(line, sizeof(line), "%s", found);
		}
		len = snprintf(reply, sizeof(reply), "reply %u: %s\n", ++replies, line);
		if (write(1, reply, len) != len)
			return 3;
	}
}

/* ---- one test's state ------------------------------------------------------- */

struct pty {
	int master;
	char slave[64];
};

struct run {
	char dir[64];
	struct pty a, b;	/* the program's terminal, and cryo's at restore */
	pid_t program;		/* the program, original or restored; 0 when gone */
	pid_t shells[2];	/* shells on a and b, when a test runs them */
	char why[1024];
};

#define failed(r, ...) note_why((r)->why, sizeof((r)->why), __VA_ARGS__)

/* A pty pair without echo, so that the master reads only what the program
 * writes. */
static bool open_pty(struct run *r, struct pty *p)
{
	struct termios t;

	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0 || grantpt(p->master) || unlockpt(p->master) ||
	    ptsname_r(p->master, p->slave, sizeof(p->slave)))
		return failed(r, "cannot open a pty pair: %s", strerror(errno));
	if (tcgetattr(p->master, &t))
		return failed(r, "tcgetattr %s: %s", p->slave, strerror(errno));
	t.c_lflag &= ~(ECHO | ECHONL);
	if (tcsetattr(p->master, TCSANOW, &t))
		return failed(r, "tcsetattr %s: %s", p->slave, strerror(errno));
	return true;
}

/* In a forked child: a new session whose controlling terminal is @slave,
 * on stdin, stdout and stderr; nothing else stays open. */
static void become_session_leader_on(const char *slave)
{
	int fd;

	if (setsid() < 0)
		_exit(120);
	fd = open(slave, O_RDWR | O_NOCTTY);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0))
		_exit(121);
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(122);
	close_range(3, ~0U, 0);
}

/* In a forked child of a shell (become_job_of): its own process group,
 * made the terminal's foreground job, as a shell starts a job. */
static void become_foreground_job(void)
{
	signal(SIGTTOU, SIG_IGN);
	if (setpgid(0, 0) || tcsetpgrp(0, getpid()))
		_exit(124);
	signal(SIGTTOU, SIG_DFL);
}

/* The only child of @pid, once it has one; 0 if none comes. */
static pid_t child_of(pid_t pid)
{
	char path[64];
	int child = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	for (long end = now_ms() + REPLY_MS; !child && now_ms() <= end; usleep(5000)) {
		FILE *f = fopen(path, "re");

		if (!f)
			break;
		if (fscanf(f, "%d", &child) != 1)
			child = 0;
		fclose(f);
	}
	return child;
}

/* What a job of a shell execs. */
typedef void (*exec_fn)(const void *arg);

/* The program: this binary with --echo. */
static void exec_echo(const void *arg)
{
	(void)arg;
	execl(self, self, "--echo", (char *)NULL);
}

/* cryo, with the driver's call @arg, on the shell's terminal. */
static void exec_cryo(const void *arg)
{
	cryo_exec(-1, arg);
}

/* A shell on @slave that runs @job_exec(@arg) as its foreground job, waits
 * for it and exits with its status. Returns the shell's pid and sets *@job. */
static pid_t start_shell(struct run *r, const char *slave, exec_fn job_exec, const void *arg,
			 pid_t *job)
{
	pid_t shell = fork();

	if (shell == 0) {
		pid_t child;
		int status;

		become_session_leader_on(slave);
		child = fork();
		if (child == 0) {
			become_foreground_job();
			job_exec(arg);
			_exit(127);
		}
		while (child > 0 && waitpid(child, &status, 0) < 0)
			if (errno != EINTR)
				_exit(126);
		_exit(child < 0 ? 125 : WIFEXITED(status) ? WEXITSTATUS(status) :
							    128 + WTERMSIG(status));
	}
	if (shell < 0) {
		failed(r, "fork: %s", strerror(errno));
		return -1;
	}
	*job = child_of(shell);
	if (!*job) {
		failed(r, "the shell on %s started no job", slave);
		kill(shell, SIGKILL);
		waitpid(shell, NULL, 0);
		return -1;
	}
	return shell;
}

/* The program in a session of its own, @a its controlling terminal. */
static bool start_program(struct run *r)
{
	pid_t pid = fork();

	if (pid == 0) {
		become_session_leader_on(r->a.slave);
		exec_echo(NULL);
		_exit(127);
	}
	if (pid < 0)
		return failed(r, "fork: %s", strerror(errno));
	r->program = pid;
	return true;
}

/* Writes @line to @p and reads it until @want shows up. */
static bool talk(struct run *r, const struct pty *p, const char *line, const char *want)
{
	char seen[1024] = "";
	size_t len = 0;
	long end = now_ms() + REPLY_MS;

	if (write(p->master, line, strlen(line)) != (ssize_t)strlen(line))
		return failed(r, "cannot write '%s' to %s: %s", line, p->slave, strerror(errno));
	while (!strstr(seen, want)) {
		struct pollfd pfd = { .fd = p->master, .events = POLLIN };
		long left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return failed(r, "no '%s' on %s within %d ms (got '%s')", want, p->slave,
				      REPLY_MS, seen);
		n = read(p->master, seen + len, sizeof(seen) - 1 - len);
		if (n <= 0)
			return failed(r, "reading %s: %s (got '%s')", p->slave,
				      n ? strerror(errno) : "end of file", seen);
		len += n;
		seen[len] = '\0';
		if (len == sizeof(seen) - 1)
			return failed(r, "no '%s' on %s in '%s'", want, p->slave, seen);
	}
	return true;
}

/* In cryo's child: its stdio on the terminal whose slave is @arg. */
static void cryo_on_terminal(void *arg)
{
	become_session_leader_on(arg);
}

/* Runs cryo with @args: its stdio on a terminal of its own when @tty is
 * given, else on /dev/null and the driver's pipe. Returns its exit code,
 * or -1. */
static int run_cryo_on(struct run *r, const struct pty *tty, const char *const *args)
{
	struct cryo_run *out = malloc(sizeof(*out));
	int status;

	if (!out) {
		failed(r, "out of memory");
		return -1;
	}
	cryo_call(out, &(struct cryo_call){ .args = args,
					    .setup = tty ? cryo_on_terminal : NULL,
					    .setup_arg = tty ? (void *)tty->slave : NULL });
	status = out->status;
	if (status < 0)
		failed(r, "cryo %s did not end within %d ms: %s", args[0], CRYO_MS, out->out);
	free(out);
	return status;
}

/* The text of the file @path, or "". */
static const char *file_text(const char *path)
{
	static char text[16384];

	if (!read_text(path, text, sizeof(text)))
		text[0] = '\0';
	return text;
}

/* The text of @name in the run's directory (a log), or "". */
static const char *read_file(const struct run *r, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	return file_text(path);
}

/* Dumps the program with -j; it must be gone afterwards. */
static bool dump(struct run *r)
{
	char pid[16], img[128];
	const char *args[] = { "dump", "-j", "-t", pid, "-D", img, "-o", "dump.log", "-v4", NULL };
	int code, status;

	snprintf(pid, sizeof(pid), "%d", r->program);
	snprintf(img, sizeof(img), "%s/img", r->dir);
	code = run_cryo_on(r, NULL, args);
	if (code)
		return code < 0 ? false : failed(r, "cryo dump exited with %d: %s", code,
						 read_file(r, "img/dump.log"));
	if (!wait_child(r->program, REPLY_MS, &status))
		return failed(r, "the program still runs after the dump");
	r->program = 0;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		return failed(r, "the dumped program ended with status %#x, not by SIGKILL",
			      status);
	return true;
}

/* Restores the image from a cryo whose terminal is r->b; its exit code. */
static int restore(struct run *r, bool shell_job)
{
	char img[128], pidfile[128];
	const char *args[] = { "restore", "-D", img, "-d", "--pidfile", pidfile, "-o",
			       "restore.log", "-v4", shell_job ? "-j" : NULL, NULL };

	snprintf(img, sizeof(img), "%s/img", r->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", r->dir);
	return run_cryo_on(r, &r->b, args);
}

/* The program ends when told to, with status 0. */
static bool quit(struct run *r, const struct pty *p)
{
	int status;

	if (write(p->master, "quit\n", 5) != 5)
		return failed(r, "cannot write to %s: %s", p->slave, strerror(errno));
	if (!wait_child(r->program, REPLY_MS, &status))
		return failed(r, "the program did not end after 'quit'");
	r->program = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return failed(r, "the program ended with status %#x after 'quit'", status);
	return true;
}

/* Each fd of 0, 1, 2 of @pid is on @slave. */
static bool fds_on(struct run *r, pid_t pid, const char *slave)
{
	for (int fd = 0; fd < 3; fd++) {
		char path[64], link[PATH_MAX];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		if (strcmp(link, slave))
			return failed(r, "fd %d of the restored program is '%s', not %s", fd, link,
				      slave);
	}
	return true;
}

/* ---- the tests -------------------------------------------------------------- */

static bool restored_job_answers_on_cryos_terminal(struct run *r)
{
	char text[32];
	pid_t pid;
	int code;

	if (!start_program(r))
		return false;
	pid = r->program;
	if (!talk(r, &r->a, "one\n", "reply 1: one") || !dump(r))
		return false;
	code = restore(r, true);
	if (code)
		return code < 0 ? false : failed(r, "cryo restore -j exited with %d: %s", code,
						 read_file(r, "img/restore.log"));
	snprintf(text, sizeof(text), "%d\n", pid);
	if (strcmp(read_file(r, "restored.pid"), text))
		return failed(r, "restored as pid '%s', not %d", read_file(r, "restored.pid"), pid);
	r->program = pid;
	return fds_on(r, pid, r->b.slave) && talk(r, &r->b, "two\n", "reply 2: two") &&
	       talk(r, &r->b, "three\n", "reply 3: three") && quit(r, &r->b);
}

static bool dump_without_j_refuses_the_terminal(struct run *r)
{
	char pid[16], img[128], inventory[160];
	const char *args[] = { "dump", "-t", pid, "-D", img, "-o", "dump.log", NULL };
	int code;

	if (!start_program(r))
		return false;
	snprintf(pid, sizeof(pid), "%d", r->program);
	snprintf(img, sizeof(img), "%s/img", r->dir);
	snprintf(inventory, sizeof(inventory), "%s/inventory.img", img);
	if (!talk(r, &r->a, "one\n", "reply 1: one"))
		return false;
	code = run_cryo_on(r, NULL, args);
	if (code <= 0)
		return code < 0 ? false : failed(r, "cryo dump without -j of a terminal succeeded");
	if (!strstr(read_file(r, "img/dump.log"), "-j/--shell-job"))
		return failed(r, "the error does not point to -j: %s",
			      read_file(r, "img/dump.log"));
	if (!access(inventory, F_OK))
		return failed(r, "a refused dump left %s", inventory);
	/* Left running as it was, still on its own terminal. */
	return talk(r, &r->a, "two\n", "reply 2: two") && quit(r, &r->a);
}

static bool restore_without_j_refuses_the_terminal(struct run *r)
{
	pid_t pid;
	int code;

	if (!start_program(r))
		return false;
	pid = r->program;
	if (!talk(r, &r->a, "one\n", "reply 1: one") || !dump(r))
		return false;
	code = restore(r, false);
	if (code <= 0)
		return code < 0 ? false : failed(r, "cryo restore without -j succeeded");
	if (!strstr(read_file(r, "img/restore.log"), "restore it with -j/--shell-job"))
		return failed(r, "the error does not point to -j: %s",
			      read_file(r, "img/restore.log"));
	if (!kill(pid, 0) || errno != ESRCH) {
		r->program = pid;
		return failed(r, "pid %d lives on after a refused restore", pid);
	}
	return true;
}

/* A job of a shell, not a session leader, restored by a cryo that is the
 * foreground job of a shell on another terminal (without -d): it must read
 * that terminal as part of cryo's job, not be stopped as a background job. */
static bool restored_job_of_a_shell_reads_in_the_foreground(struct run *r)
{
	char img[128], pidfile[128], pid[16];
	const struct cryo_call restore = {
		.args = CRYO_ARGS("restore", "-j", "-D", img, "--pidfile", pidfile, "-o",
				  "restore.log", "-v4"),
	};
	const char *dump_args[] = { "dump", "-j", "-t", pid, "-D", img, "-o", "dump.log", "-v4",
				    NULL };
	pid_t job, cryo_job;
	int code, status;

	snprintf(img, sizeof(img), "%s/img", r->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", r->dir);
	r->shells[0] = start_shell(r, r->a.slave, exec_echo, NULL, &job);
	if (r->shells[0] < 0 || !talk(r, &r->a, "one\n", "reply 1: one"))
		return false;
	r->program = job;
	snprintf(pid, sizeof(pid), "%d", job);
	code = run_cryo_on(r, NULL, dump_args);
	if (code)
		return code < 0 ? false : failed(r, "cryo dump -j exited with %d: %s", code,
						 read_file(r, "img/dump.log"));
	/* The shell saw its job killed. */
	if (!wait_child(r->shells[0], REPLY_MS, &status) || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 128 + SIGKILL)
		return failed(r, "the shell of the dumped job did not end as its job was killed");
	r->shells[0] = 0;
	r->program = 0;

	r->shells[1] = start_shell(r, r->b.slave, exec_cryo, &restore, &cryo_job);
	if (r->shells[1] < 0)
		return false;
	r->program = job;
	for (long end = now_ms() + CRYO_MS; !read_file(r, "restored.pid")[0]; usleep(5000))
		if (now_ms() > end || waitpid(r->shells[1], &status, WNOHANG) == r->shells[1])
			return failed(r, "cryo restore -j gave no pid file: %s",
				      read_file(r, "img/restore.log"));
	if (!fds_on(r, job, r->b.slave))
		return false;
	if (!talk(r, &r->b, "two\n", "reply 2: two")) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/stat", job);
		r->why[0] = '\0';
		return failed(r, "the restored job did not answer on %s (/proc/%d/stat: %.80s)",
			      r->b.slave, job, file_text(path));
	}
	/* cryo waits for the job and exits with its status, and so does its shell. */
	if (write(r->b.master, "quit\n", 5) != 5)
		return failed(r, "cannot write to %s: %s", r->b.slave, strerror(errno));
	if (!wait_child(r->shells[1], REPLY_MS, &status))
		return failed(r, "cryo restore did not end when its job quit");
	r->shells[1] = 0;
	r->program = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return failed(r, "the restoring shell ended with status %#x", status);
	return true;
}

/* The clone of @pid has a devpts instance of its own on /dev/pts: the
 * terminal it inherited is not found by its path there (criu's "Can't
 * lookup mount=26 for fd=0 path=/dev/pts/0"). */
static bool own_devpts(struct run *r, pid_t pid)
{
	char path[64];
	struct stat inside, here;

	snprintf(path, sizeof(path), "/proc/%d/root/dev/pts", pid);
	if (stat(path, &inside) || stat("/dev/pts", &here))
		return failed(r, "cannot stat %s or /dev/pts: %s", path, strerror(errno));
	if (inside.st_dev == here.st_dev)
		return failed(r, "the clone (pid %d) has the host's devpts on /dev/pts", pid);
	return true;
}

/* The seed's chain: a job of a shell on terminal a is dumped with -j; a
 * shell on terminal b runs `cryo restore --clone -j` in the foreground
 * (without -d: cryo waits for its clone), the restored job answers on b;
 * the clone is dumped with -j by the pid we see, restored as a clone again
 * by a new shell on b, three rounds, answering after each. In the first
 * clone the job opens a pty pair of the clone's devpts whose slave has the
 * device number of its terminal; the pair must pass bytes in every later
 * clone. */
static bool seed_chain_of_clones_keeps_the_terminal(struct run *r)
{
	char img[128], pidfile[128], pid[16], line[32], want[48], log[32];
	const char *dump_args[] = { "dump", "-j", "-t", pid, "-D", img, "-o", "dump.log", "-v4",
				    NULL };
	struct cryo_call restore = { 0 };
	pid_t job, seen = 0, cryo_job;
	int code, status;

	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", r->dir);
	r->shells[0] = start_shell(r, r->a.slave, exec_echo, NULL, &job);
	if (r->shells[0] < 0 || !talk(r, &r->a, "one\n", "reply 1: one"))
		return false;
	r->program = job;
	for (int round = 0; round <= 3; round++) {
		snprintf(pid, sizeof(pid), "%d", round ? seen : job);
		snprintf(img, sizeof(img), "%s/img%d", r->dir, round);
		snprintf(log, sizeof(log), "img%d/dump.log", round);
		code = run_cryo_on(r, NULL, dump_args);
		if (code)
			return code < 0 ? false : failed(r, "round %d: cryo dump -j exited with "
							 "%d: %s", round, code, read_file(r, log));
		/* The job's shell (then the restoring cryo and its shell) saw the
		 * job killed. */
		if (!wait_child(r->shells[0], REPLY_MS, &status))
			return failed(r, "round %d: the shell of the dumped job did not end",
				      round);
		r->shells[0] = 0;
		r->program = 0;
		if (round == 3)
			return true;
		unlink(pidfile);
		restore.args = CRYO_ARGS("restore", "--clone", "-j", "-D", img, "--pidfile",
					 pidfile, "-o", "restore.log", "-v4");
		r->shells[0] = start_shell(r, r->b.slave, exec_cryo, &restore, &cryo_job);
		if (r->shells[0] < 0)
			return false;
		for (long end = now_ms() + CRYO_MS; !(seen = atoi(read_file(r, "restored.pid")));
		     usleep(5000))
			if (now_ms() > end ||
			    waitpid(r->shells[0], &status, WNOHANG) == r->shells[0])
				return failed(r, "round %d: cryo restore --clone -j gave no pid "
					      "file: %s", round + 1,
					      file_text(strcat(img, "/restore.log")));
		r->program = seen;
		if (seen == job)
			return failed(r, "round %d: the clone's root is pid %d as we see it, the "
				      "saved pid: not in a pid namespace of its own", round + 1,
				      seen);
		if (!own_devpts(r, seen))
			return false;
		snprintf(line, sizeof(line), "round%d\n", round + 1);
		snprintf(want, sizeof(want), "reply %d: round%d", 2 * round + 2, round + 1);
		if (!fds_on(r, seen, r->b.slave) || !talk(r, &r->b, line, want))
			return false;
		/* A pty of the clone's own with the terminal's device number:
		 * the next dump must not take it for the shell's terminal. */
		if (!talk(r, &r->b, round ? "pair\n" : "pty\n", round ? "pair ok" : " held"))
			return false;
	}
	return true;
}

/* ---- running them ----------------------------------------------------------- */

static bool run_one(const char *name, bool (*test)(struct run *))
{
	struct run r = { .a.master = -1, .b.master = -1 };
	bool ok;

	snprintf(r.dir, sizeof(r.dir), "/tmp/cryo-sj-XXXXXX");
	if (!mkdtemp(r.dir)) {
		printf("FAIL %s: mkdtemp: %s\n", name, strerror(errno));
		return false;
	}
	ok = open_pty(&r, &r.a) && open_pty(&r, &r.b) && test(&r);
	/* Everything still running is ended; as a subreaper, we reap all that
	 * was ours or became ours (a restored task, the job of a shell). */
	if (r.program > 0)
		kill(r.program, SIGKILL);
	for (int i = 0; i < 2; i++)
		if (r.shells[i] > 0)
			kill(r.shells[i], SIGKILL);
	for (long end = now_ms() + REPLY_MS; waitpid(-1, NULL, WNOHANG) >= 0; usleep(5000))
		if (now_ms() > end) {
			printf("    some processes did not end within %d ms\n", REPLY_MS);
			ok = false;
			break;
		}
	if (r.a.master >= 0)
		close(r.a.master);
	if (r.b.master >= 0)
		close(r.b.master);
	if (ok)
		printf("PASS %s\n", name);
	else
		printf("FAIL %s: %s\n", name, r.why);
	remove_tree(r.dir);
	return ok;
}

int main(int argc, char **argv)
{
#define TEST(fn) { #fn, fn }
	static const struct {
		const char *name;
		bool (*fn)(struct run *);
	} tests[] = {
		TEST(restored_job_answers_on_cryos_terminal),
		TEST(dump_without_j_refuses_the_terminal),
		TEST(restore_without_j_refuses_the_terminal),
		TEST(restored_job_of_a_shell_reads_in_the_foreground),
		TEST(seed_chain_of_clones_keeps_the_terminal),
	};
#undef TEST
	int passed = 0, failed_count = 0;

	/* The program is not a subreaper: the driver made this binary one. */
	if (argc == 2 && !strcmp(argv[1], "--echo"))
		return prctl(PR_SET_CHILD_SUBREAPER, 0) ? 4 : echo_main();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) <= 0)
		return 2;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		bool selected = argc < 2;

		for (int a = 1; a < argc; a++)
			selected |= !strcmp(argv[a], tests[i].name);
		if (!selected)
			continue;
		if (run_one(tests[i].name, tests[i].fn))
			passed++;
		else
			failed_count++;
	}
	printf("%d passed, %d failed\n", passed, failed_count);
	return failed_count ? 1 : 0;
}
