/* Processes that share fs info: a child made with raw clone(CLONE_FS) and,
 * for contrast, one made with fork(). After restore, kcmp(KCMP_FS) says
 * the parent and the first share fs info and the parent and the second do
 * not (KCMP_FILES: no one shares an fd table); the clone child's chdir()
 * and umask() are seen by the parent, and not by the fork child. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define FIRST_UMASK 022
#define CHANGED_UMASK 027

static char first_cwd[4096], changed_cwd[4096 + 16];

static long kcmp_with(pid_t other, int type)
{
	return syscall(SYS_kcmp, getpid(), other, type, 0, 0);
}

static bool cwd_is(const char *want)
{
	char now[4096];

	return getcwd(now, sizeof(now)) && !strcmp(now, want);
}

/* Moves the fs info it shares with its parent, then exits. */
static void __attribute__((noreturn)) fs_child(int ready)
{
	if (write(ready, "r", 1) != 1)
		_exit(60);
	prog_wait_sigterm();
	if (!cwd_is(first_cwd) || chdir(changed_cwd))
		_exit(61);
	umask(CHANGED_UMASK);
	_exit(0);
}

/* Keeps fs info of its own: the other child's change is not seen here. */
static void __attribute__((noreturn)) fork_child(int ready)
{
	mode_t mask;

	if (write(ready, "r", 1) != 1)
		_exit(70);
	prog_wait_sigterm();
	mask = umask(0);
	_exit(cwd_is(first_cwd) && mask == FIRST_UMASK ? 0 : 71);
}

static int reap(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	return waitpid(pid, &status, 0) == pid ? status : -1;
}

int main(int argc, char **argv)
{
	int ready[2], status;
	pid_t fs_kid, fork_kid;
	char byte;
	mode_t mask;

	prog_init(argc, argv);
	snprintf(first_cwd, sizeof(first_cwd), "%s", prog_dir());
	snprintf(changed_cwd, sizeof(changed_cwd), "%s/moved", prog_dir());
	if (mkdir(changed_cwd, 0755) || chdir(first_cwd) || pipe(ready))
		return 1;
	/* Resolved as getcwd() will show it. */
	if (!getcwd(first_cwd, sizeof(first_cwd)))
		return 1;
	snprintf(changed_cwd, sizeof(changed_cwd), "%s/moved", first_cwd);
	umask(FIRST_UMASK);
	fs_kid = (pid_t)syscall(SYS_clone, CLONE_FS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (fs_kid == 0)
		fs_child(ready[1]);
	fork_kid = fork();
	if (fork_kid == 0)
		fork_child(ready[1]);
	if (fs_kid < 0 || fork_kid < 0 || read(ready[0], &byte, 1) != 1 ||
	    read(ready[0], &byte, 1) != 1)
		return 1;
	close(ready[0]);
	close(ready[1]);
	PROG_CHECK(kcmp_with(fs_kid, KCMP_FS) == 0, "the clone child does not share fs info");
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(kcmp_with(fs_kid, KCMP_FS) == 0, "the clone child %d does not share fs info "
		   "after restore", fs_kid);
	PROG_CHECK(kcmp_with(fork_kid, KCMP_FS) > 0, "the fork child %d shares fs info", fork_kid);
	PROG_CHECK(kcmp_with(fs_kid, KCMP_FILES) > 0 && kcmp_with(fork_kid, KCMP_FILES) > 0,
		   "a child shares the fd table");
	PROG_CHECK(cwd_is(first_cwd), "the cwd is not %s", first_cwd);
	status = reap(fs_kid);
	PROG_CHECK(status == 0, "the clone child ended with status %#x", status);
	mask = umask(FIRST_UMASK);
	PROG_CHECK(cwd_is(changed_cwd) && mask == CHANGED_UMASK, "the clone child's chdir or "
		   "umask (%#o) is not seen by its parent", mask);
	if (chdir(first_cwd))
		prog_fail("cannot go back to %s: %s", first_cwd, strerror(errno));
	status = reap(fork_kid);
	PROG_CHECK(status == 0, "the fork child ended with status %#x: it saw the change",
		   status);
	prog_finish();
}
