/* Round-trip program: a session on a pty, as a terminal emulator and its
 * shell make one. The root holds the master (fd 10); its child S makes a
 * session and takes the slave as its controlling terminal on fds 0-2, then
 * forks J, a job in a process group of its own that S puts in the
 * foreground, and K, which stays in S's group. After restore the root
 * checks from outside: every one of S, J, K has the slave as controlling
 * terminal (/proc/PID/stat), the pty's session is S and its foreground
 * group J (asked through the master), S's fd 5 is /dev/tty again, the index
 * is the same, and the pair
 * still works (a line written to the master is echoed back by the slave's
 * line discipline). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define MASTER 10
#define DEVTTY_FD 5

struct proc_tty {
	pid_t pgid, sid, tpgid;
	unsigned int tty_nr;
};

static pid_t session, job, stayer;
static unsigned int index_before;
static dev_t slave_rdev;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_pty_session: %s: %s\n", what, strerror(errno));
	exit(1);
}

static bool read_proc(pid_t pid, struct proc_tty *t)
{
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && sscanf(p + 2, "%*c %*d %d %d %u %d", &t->pgid, &t->sid, &t->tty_nr,
			   &t->tpgid) == 4;
}

/* Waits for SIGKILL; it never checks anything itself. */
static void __attribute__((noreturn)) idle(void)
{
	for (;;)
		pause();
}

/* S: the session leader of the pty, like a shell. */
static void __attribute__((noreturn)) run_session(const char *slave_path, int ready)
{
	int fd;

	close(MASTER);
	if (setsid() < 0)
		die("setsid");
	/* Without O_NOCTTY: a session leader's first terminal becomes its
	 * controlling terminal. */
	fd = open(slave_path, O_RDWR);
	if (fd < 0 || dup2(fd, 0) || dup2(fd, 1) != 1 || dup2(fd, 2) != 2)
		die(slave_path);
	if (fd > 2)
		close(fd);
	job = fork();
	if (job == 0) {
		setpgid(0, 0);
		idle();
	}
	if (job < 0 || setpgid(job, job) || tcsetpgrp(0, job))
		die("the job");
	stayer = fork();
	if (stayer == 0)
		idle();
	if (stayer < 0)
		die("fork");
	/* Its own /dev/tty, which names its controlling terminal. */
	fd = open("/dev/tty", O_RDWR);
	if (fd < 0 || dup2(fd, DEVTTY_FD) != DEVTTY_FD)
		die("/dev/tty");
	close(fd);
	if (write(ready, &job, sizeof(job)) != sizeof(job) ||
	    write(ready, &stayer, sizeof(stayer)) != sizeof(stayer))
		die("ready");
	close(ready);
	idle();
}

static void set_up(void)
{
	int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY), unlock = 0, ready[2];
	char slave_path[64];
	struct stat st;

	if (fd < 0 || dup2(fd, MASTER) != MASTER || ioctl(MASTER, TIOCSPTLCK, &unlock) ||
	    ioctl(MASTER, TIOCGPTN, &index_before))
		die("/dev/ptmx");
	close(fd);
	snprintf(slave_path, sizeof(slave_path), "/dev/pts/%u", index_before);
	if (stat(slave_path, &st))
		die(slave_path);
	slave_rdev = st.st_rdev;
	if (pipe(ready))
		die("pipe");
	session = fork();
	if (session == 0) {
		close(ready[0]);
		run_session(slave_path, ready[1]);
	}
	close(ready[1]);
	if (session < 0 || read(ready[0], &job, sizeof(job)) != sizeof(job) ||
	    read(ready[0], &stayer, sizeof(stayer)) != sizeof(stayer))
		die("the session");
	close(ready[0]);
}

static void check_process(const char *what, pid_t pid, pid_t want_pgid)
{
	unsigned int want_nr = (minor(slave_rdev) & 0xff) | (major(slave_rdev) << 8) |
			       ((minor(slave_rdev) & ~0xffu) << 12);
	struct proc_tty t;

	if (!PROG_CHECK(read_proc(pid, &t), "%s %d is gone", what, pid))
		return;
	PROG_CHECK(t.tty_nr == want_nr, "%s %d has terminal %#x, not the pty's %#x", what, pid,
		   t.tty_nr, want_nr);
	PROG_CHECK(t.sid == session && t.pgid == want_pgid, "%s %d is in session %d group %d", what,
		   pid, t.sid, t.pgid);
	PROG_CHECK(t.tpgid == job, "%s %d sees foreground group %d, not %d", what, pid, t.tpgid,
		   job);
}

static void check_devtty(void)
{
	char path[64], link[64] = "";
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", session, DEVTTY_FD);
	if (readlink(path, link, sizeof(link) - 1) < 0 || stat(path, &st)) {
		prog_fail("%s: %s", path, strerror(errno));
		return;
	}
	PROG_CHECK(!strcmp(link, "/dev/tty") && st.st_rdev == makedev(5, 0),
		   "the session leader's fd %d is %s (%u:%u)", DEVTTY_FD, link, major(st.st_rdev),
		   minor(st.st_rdev));
}

static void check_echo(void)
{
	struct pollfd pfd = { .fd = MASTER, .events = POLLIN };
	char buf[64] = "";
	ssize_t n = 0;

	if (write(MASTER, "hi\n", 3) != 3) {
		prog_fail("cannot write to the master: %s", strerror(errno));
		return;
	}
	/* Echoed with ECHO and ONLCR: "hi\r\n". */
	while (n < 4 && poll(&pfd, 1, 2000) == 1) {
		ssize_t got = read(MASTER, buf + n, sizeof(buf) - 1 - (size_t)n);

		if (got <= 0)
			break;
		n += got;
	}
	PROG_CHECK(n == 4 && !memcmp(buf, "hi\r\n", 4), "the slave echoed %zd bytes '%s'", n, buf);
}

int main(int argc, char **argv)
{
	pid_t sid = -1, pgrp = -1;
	unsigned int index = ~0u;

	prog_init(argc, argv);
	set_up();
	prog_ready();
	prog_wait_sigterm();
	PROG_CHECK(!ioctl(MASTER, TIOCGPTN, &index) && index == index_before, "pty index %u, not %u",
		   index, index_before);
	PROG_CHECK(!ioctl(MASTER, TIOCGSID, &sid) && sid == session, "the pty's session is %d, "
		   "not %d", sid, session);
	PROG_CHECK(!ioctl(MASTER, TIOCGPGRP, &pgrp) && pgrp == job, "the pty's foreground is %d, "
		   "not %d", pgrp, job);
	check_process("session leader", session, session);
	check_process("job", job, job);
	check_process("process", stayer, session);
	check_devtty();
	check_echo();
	kill(job, SIGKILL);
	kill(stayer, SIGKILL);
	kill(session, SIGKILL);
	while (waitpid(session, NULL, 0) < 0 && errno == EINTR)
		;
	prog_finish();
}
