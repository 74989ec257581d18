/* Root and cwd (issue 11 items 3 and 10): three children. One is chrooted
 * into a folder of the program's directory with its cwd inside it, one is
 * chrooted there with its cwd left outside its root, and one's cwd is a
 * directory it removed. On SIGTERM each checks itself and answers over a
 * pipe: the first two see the jail's marker file at "/" and are in the
 * very directory they were in (same inode); the third's cwd is still a
 * removed directory (no links) with its mode 0751, in which nothing can be
 * made. The parent checks their /proc links too. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

struct child {
	pid_t pid;
	int cmd[2], reply[2];
};

static bool same_dir(const char *path, ino_t ino)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode) && st.st_ino == ino;
}

static bool check_jailed(ino_t cwd_ino, bool cwd_inside)
{
	char cwd[PATH_MAX];
	struct stat marker;

	if (stat("/marker", &marker) || !S_ISREG(marker.st_mode) || !same_dir(".", cwd_ino))
		return false;
	/* getcwd() says "(unreachable)" for a cwd outside the root. */
	return cwd_inside ? getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/sub") :
			    !getcwd(cwd, sizeof(cwd)) || strncmp(cwd, "/", 1);
}

static bool check_removed(void)
{
	struct stat st;

	return !stat(".", &st) && S_ISDIR(st.st_mode) && st.st_nlink == 0 &&
	       (st.st_mode & 07777) == 0751 && mkdir("new", 0700) && errno == ENOENT;
}

/* Runs @kind's setup, then answers each byte with 'y' or 'n'. */
static void __attribute__((noreturn)) child_main(struct child *c, int kind, const char *jail,
						 ino_t cwd_ino)
{
	char byte, path[PATH_MAX + 16];

	if (kind == 0)
		snprintf(path, sizeof(path), "%s/sub", jail);
	else if (kind == 2)
		snprintf(path, sizeof(path), "%s/gone", prog_dir());
	if ((kind == 0 && (chdir(path) || chroot(jail))) ||
	    (kind == 1 && (chdir(prog_dir()) || chroot(jail))) ||
	    (kind == 2 && (mkdir(path, 0700) || chmod(path, 0751) || chdir(path) || rmdir(path))))
		_exit(2);
	if (write(c->reply[1], "r", 1) != 1)
		_exit(2);
	/* 'q' ends it: the other children hold copies of the pipe's ends. */
	while (read(c->cmd[0], &byte, 1) == 1 && byte != 'q') {
		bool ok = kind == 2 ? check_removed() : check_jailed(cwd_ino, kind == 0);

		if (write(c->reply[1], ok ? "y" : "n", 1) != 1)
			break;
	}
	_exit(0);
}

static bool link_is(pid_t pid, const char *name, const char *want_end)
{
	char link[64], target[PATH_MAX];
	ssize_t n;
	size_t len = strlen(want_end);

	snprintf(link, sizeof(link), "/proc/%d/%s", pid, name);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return (size_t)n >= len && !strcmp(target + n - len, want_end);
}

int main(int argc, char **argv)
{
	static const char *const what[] = { "chrooted, cwd inside", "chrooted, cwd outside",
					    "in a removed cwd" };
	char jail[PATH_MAX / 2], path[PATH_MAX], byte;
	struct child children[3];
	struct stat sub, dir;
	int fd;

	prog_init(argc, argv);
	snprintf(jail, sizeof(jail), "%s/jail", prog_dir());
	snprintf(path, sizeof(path), "%s/sub", jail);
	if (mkdir(jail, 0755) || mkdir(path, 0755) || stat(path, &sub) || stat(prog_dir(), &dir))
		return 1;
	snprintf(path, sizeof(path), "%s/marker", jail);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || close(fd))
		return 1;
	for (int k = 0; k < 3; k++) {
		struct child *c = &children[k];

		if (pipe(c->cmd) || pipe(c->reply))
			return 1;
		c->pid = fork();
		if (c->pid == 0)
			child_main(c, k, jail, k == 0 ? sub.st_ino : dir.st_ino);
		if (c->pid < 0 || read(c->reply[0], &byte, 1) != 1)
			return 1;
	}
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(link_is(children[0].pid, "root", "/jail") &&
			   link_is(children[0].pid, "cwd", "/jail/sub"),
		   "child 0's root or cwd link is not the jail's");
	PROG_CHECK(link_is(children[1].pid, "root", "/jail") &&
			   !link_is(children[1].pid, "cwd", "/jail"),
		   "child 1's root is not the jail or its cwd moved into it");
	PROG_CHECK(link_is(children[2].pid, "cwd", "/gone (deleted)"),
		   "child 2's cwd is not the removed directory");
	for (int k = 0; k < 3; k++) {
		struct child *c = &children[k];
		int status = -1;

		byte = 'c';
		PROG_CHECK(write(c->cmd[1], &byte, 1) == 1 && read(c->reply[0], &byte, 1) == 1 &&
				   byte == 'y',
			   "the child %s found itself elsewhere", what[k]);
		PROG_CHECK(write(c->cmd[1], "q", 1) == 1, "cannot tell the child %s to end",
			   what[k]);
		PROG_CHECK(waitpid(c->pid, &status, 0) == c->pid && WIFEXITED(status) &&
				   WEXITSTATUS(status) == 0,
			   "the child %s ended with %#x", what[k], status);
	}
	prog_finish();
}
