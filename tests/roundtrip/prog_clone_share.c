/* Processes that share fs info: a child made with raw clone(CLONE_FS) and,
 * for contrast, one made with fork(). After restore, kcmp(KCMP_FS) says
 * the parent and the first share fs info and the parent and the second do
 * not (KCMP_FILES: no one shares an fd table); the clone child's chdir()
 * and umask() are seen by the parent, and not by the fork child. Under a
 * chroot too: a third child chroots into a jail, enters a folder of it,
 * and makes a child of its own with clone(CLONE_FS); after restore both
 * see the jail's marker at "/" and getcwd() says the folder, and the
 * grandchild's chdir() is seen by its parent. With "files", the
 * grandchild shares the fd table too (CLONE_FILES), which dump refuses
 * (test_proc_refusals): the tree runs on. With "thread", a thread that
 * unshared its fs info makes a child sharing it (clone(CLONE_FS)), which
 * dump refuses too; with "thread_parent", that thread is a child's, and
 * its clone(CLONE_FS | CLONE_PARENT) makes the program's child, which
 * shares fs info with a thread of its sibling: refused too. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/* In the jail its parent made, sharing its fs info: moves it once told. */
static void __attribute__((noreturn)) jailed_kid(int ready)
{
	struct stat marker;

	if (write(ready, "r", 1) != 1)
		_exit(80);
	prog_wait_sigterm();
	if (!cwd_is("/sub") || stat("/marker", &marker) || chdir("/sub/moved"))
		_exit(81);
	_exit(0);
}

/* Chroots into @jail, enters /sub there, makes a child that shares its fs
 * info; after restore checks it shares it still and sees its chdir. */
static void __attribute__((noreturn)) jailed_child(int ready, const char *jail, bool files)
{
	struct stat marker;
	pid_t kid;
	int status;

	if (chroot(jail) || chdir("/sub"))
		_exit(90);
	kid = (pid_t)syscall(SYS_clone, CLONE_FS | (files ? CLONE_FILES : 0) | SIGCHLD, NULL,
			     NULL, NULL, NULL);
	if (kid == 0)
		jailed_kid(ready);
	if (kid < 0 || write(ready, "r", 1) != 1)
		_exit(91);
	prog_wait_sigterm();
	if (kcmp_with(kid, KCMP_FS) != 0 || !cwd_is("/sub") || stat("/marker", &marker))
		_exit(92);
	kill(kid, SIGTERM);
	if (waitpid(kid, &status, 0) != kid || status != 0)
		_exit(93);
	_exit(cwd_is("/sub/moved") ? 0 : 94);
}

/* jail/sub/moved and jail/marker in the program's folder. */
static bool make_jail(char *jail, size_t size)
{
	char path[4096 + 32];
	int fd;

	snprintf(jail, size, "%s/jail", first_cwd);
	snprintf(path, sizeof(path), "%s/marker", jail);
	if (mkdir(jail, 0755))
		return false;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || close(fd))
		return false;
	snprintf(path, sizeof(path), "%s/sub", jail);
	if (mkdir(path, 0755))
		return false;
	snprintf(path, sizeof(path), "%s/sub/moved", jail);
	return !mkdir(path, 0755);
}

static unsigned long fs_thread_clone_flags = CLONE_FS | SIGCHLD;

/* The thread: fs info of its own, and a child that shares it; the thread
 * stays until the process ends, so that the child still shares it. */
static void *fs_thread(void *arg)
{
	int *ready = arg;
	pid_t kid = -1;

	if (!unshare(CLONE_FS))
		kid = (pid_t)syscall(SYS_clone, fs_thread_clone_flags, NULL, NULL, NULL, NULL);
	if (kid == 0)
		for (;;)
			pause();
	if (write(ready[1], &kid, sizeof(kid)) != sizeof(kid))
		return NULL;
	for (;;)
		pause();
}

/* A child whose thread makes the program's next child with
 * clone(CLONE_FS | CLONE_PARENT), sharing the thread's fs info; the
 * thread's kid's pid goes to @ready, the child's in *@maker. */
static bool make_sibling_sharer(int ready[2], pid_t *maker)
{
	pthread_t thread;

	*maker = fork();
	if (*maker)
		return *maker > 0;
	fs_thread_clone_flags |= CLONE_PARENT;
	if (pthread_create(&thread, NULL, fs_thread, ready))
		_exit(1);
	for (;;)
		pause();
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
	pid_t fs_kid, fork_kid, jailed, thread_kid = 0, maker = 0;
	pthread_t thread;
	char jail[4096 + 16];
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
	if (!make_jail(jail, sizeof(jail)))
		return 1;
	fs_kid = (pid_t)syscall(SYS_clone, CLONE_FS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (fs_kid == 0)
		fs_child(ready[1]);
	fork_kid = fork();
	if (fork_kid == 0)
		fork_child(ready[1]);
	jailed = fork();
	if (jailed == 0)
		jailed_child(ready[1], jail, optind < argc && !strcmp(argv[optind], "files"));
	if (fs_kid < 0 || fork_kid < 0 || jailed < 0)
		return 1;
	/* One byte from each child, and from the jailed one's. */
	for (int i = 0; i < 4; i++)
		if (read(ready[0], &byte, 1) != 1)
			return 1;
	if (optind < argc && !strcmp(argv[optind], "thread") &&
	    (pthread_create(&thread, NULL, fs_thread, ready) ||
	     read(ready[0], &thread_kid, sizeof(thread_kid)) != sizeof(thread_kid) ||
	     thread_kid <= 0))
		return 1;
	if (optind < argc && !strcmp(argv[optind], "thread_parent") &&
	    (!make_sibling_sharer(ready, &maker) ||
	     read(ready[0], &thread_kid, sizeof(thread_kid)) != sizeof(thread_kid) ||
	     thread_kid <= 0))
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
	if (thread_kid > 0) {
		kill(thread_kid, SIGKILL);
		PROG_CHECK(waitpid(thread_kid, &status, 0) == thread_kid, "cannot reap %d",
			   thread_kid);
	}
	if (maker > 0) {
		kill(maker, SIGKILL);
		PROG_CHECK(waitpid(maker, &status, 0) == maker, "cannot reap %d", maker);
	}
	status = reap(jailed);
	PROG_CHECK(status == 0, "the jailed child ended with status %#x (exit 92: its child no "
		   "longer shares its fs info, or it left the jail; 93: the child found itself "
		   "elsewhere; 94: the child's chdir was not seen)", status);
	prog_finish();
}
