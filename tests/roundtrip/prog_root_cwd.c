/* Root and cwd (issue 11 items 3 and 10): seven children. One is chrooted
 * into a folder of the program's directory with its cwd inside it, one is
 * chrooted there with its cwd left outside its root, and one's cwd is a
 * directory it removed. Two are chrooted into folders the parent then
 * removes, one with its cwd that very root (chdir("/")), one with its cwd
 * outside it; one's cwd is on a bind mount the parent then detaches
 * (umount -l), whose folder is still reached through the mount it was
 * bound from (the program makes a mount namespace of its own); one is
 * chrooted, cwd "/", into a folder the parent then removes together with
 * the folder it was in (mode 0751). On
 * SIGTERM each checks itself and answers over a pipe: the first two see
 * the jail's marker file at "/" and are in the very directory they were in
 * (same inode); the third's cwd is still a removed directory (no links)
 * with its mode 0751, in which nothing can be made; the removed roots are
 * still removed directories with their mode, an empty "/" in which nothing
 * can be made, and the cwd is where it was (the two removed roots are also
 * held by an fd of each child, which must be that same "/"); the detached cwd is the folder
 * it was. The parent checks their /proc links too, and that ".." of the
 * root removed with its folder is that removed folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
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

/* A removed directory of mode @mode at @path, in which nothing can be made. */
static bool is_removed(const char *path, mode_t mode)
{
	char inside[16];
	struct stat st;

	snprintf(inside, sizeof(inside), "%s/new", strcmp(path, "/") ? path : "");
	return !stat(path, &st) && S_ISDIR(st.st_mode) && st.st_nlink == 0 &&
	       (st.st_mode & 07777) == mode && mkdir(inside, 0700) && errno == ENOENT;
}

/* An fd a child in a removed root opened of that root (issue 11): after
 * restore it must still be the very directory the child is chrooted in,
 * not a second copy of it. */
static int root_fd = -1;

/* In the removed root: "/" is it, and so is the cwd (which getcwd()
 * refuses to name, being removed); or the cwd is where it was, outside.
 * The fd it holds of its root is "/". */
static bool check_removed_root(ino_t cwd_ino, bool cwd_inside)
{
	struct stat root, cwd, held;
	char path[PATH_MAX];

	if (!is_removed("/", 0705) || stat("/", &root) || stat(".", &cwd))
		return false;
	if (root_fd >= 0 && (fstat(root_fd, &held) || held.st_ino != root.st_ino ||
			     held.st_dev != root.st_dev))
		return false;
	return cwd_inside ? cwd.st_ino == root.st_ino && !getcwd(path, sizeof(path)) &&
				    errno == ENOENT :
			    cwd.st_ino == cwd_ino;
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
	else if (kind == 3 || kind == 4)
		snprintf(path, sizeof(path), "%s/root%d", prog_dir(), kind);
	else if (kind == 6)
		snprintf(path, sizeof(path), "%s/rr/r", prog_dir());
	else if (kind == 5)
		snprintf(path, sizeof(path), "%s/bound/sub", prog_dir());
	if ((kind == 0 && (chdir(path) || chroot(jail))) ||
	    (kind == 1 && (chdir(prog_dir()) || chroot(jail))) ||
	    (kind == 2 && (mkdir(path, 0700) || chmod(path, 0751) || chdir(path) || rmdir(path))) ||
	    ((kind == 3 || kind == 6) && (chroot(path) || chdir("/"))) ||
	    (kind == 4 && (chdir(prog_dir()) || chroot(path))) || (kind == 5 && chdir(path)))
		_exit(2);
	if ((kind == 3 || kind == 4) &&
	    (root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		_exit(2);
	if (write(c->reply[1], "r", 1) != 1)
		_exit(2);
	/* 'q' ends it: the other children hold copies of the pipe's ends. */
	while (read(c->cmd[0], &byte, 1) == 1 && byte != 'q') {
		bool ok = kind == 2		  ? is_removed(".", 0751) :
			  kind == 3 || kind == 4 || kind == 6 ?
						    check_removed_root(cwd_ino, kind != 4) :
			  kind == 5		  ? same_dir(".", cwd_ino) :
						    check_jailed(cwd_ino, kind == 0);

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

/* Folders root3, root4 and rr/r, mode 0705, for the removed roots (rr of
 * mode 0751), and a bind
 * of bsrc (with its folder sub) at bound, which the parent detaches once
 * child 5 is in it. */
static bool make_dirs(struct stat *bound_sub)
{
	char path[PATH_MAX], bound[PATH_MAX];

	for (int k = 3; k <= 4; k++) {
		snprintf(path, sizeof(path), "%s/root%d", prog_dir(), k);
		if (mkdir(path, 0700) || chmod(path, 0705))
			return false;
	}
	snprintf(path, sizeof(path), "%s/rr", prog_dir());
	if (mkdir(path, 0700) || chmod(path, 0751))
		return false;
	snprintf(path, sizeof(path), "%s/rr/r", prog_dir());
	if (mkdir(path, 0700) || chmod(path, 0705))
		return false;
	snprintf(path, sizeof(path), "%s/bsrc", prog_dir());
	snprintf(bound, sizeof(bound), "%s/bound", prog_dir());
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mkdir(path, 0755) ||
	    mkdir(bound, 0755) || mount(path, bound, NULL, MS_BIND, NULL))
		return false;
	snprintf(path, sizeof(path), "%s/bsrc/sub", prog_dir());
	return !mkdir(path, 0755) && !stat(path, bound_sub);
}

/* What each child does once all are in place: the parent removes the
 * roots and detaches the bind from outside. */
static bool pull_away(void)
{
	char path[PATH_MAX];

	for (int k = 3; k <= 4; k++) {
		snprintf(path, sizeof(path), "%s/root%d", prog_dir(), k);
		if (rmdir(path))
			return false;
	}
	snprintf(path, sizeof(path), "%s/rr/r", prog_dir());
	if (rmdir(path))
		return false;
	snprintf(path, sizeof(path), "%s/rr", prog_dir());
	if (rmdir(path))
		return false;
	snprintf(path, sizeof(path), "%s/bound", prog_dir());
	return !umount2(path, MNT_DETACH);
}

/* How each child's /proc links end: its root (NULL: not chrooted), and
 * its cwd, or how it must not end. The detached cwd shows from the
 * detached mount's root before a dump, through bsrc after a restore: the
 * child itself checks the inode. */
static const struct {
	const char *root, *cwd;
	bool cwd_ends;
} links[] = {
	{ "/jail", "/jail/sub", true },
	{ "/jail", "/jail", false },
	{ NULL, "/gone (deleted)", true },
	{ "/root3 (deleted)", "/root3 (deleted)", true },
	{ "/root4 (deleted)", " (deleted)", false },
	{ NULL, "/sub", true },
	{ "/rr/r (deleted)", "/rr/r (deleted)", true },
};

int main(int argc, char **argv)
{
	static const char *const what[] = { "chrooted, cwd inside", "chrooted, cwd outside",
					    "in a removed cwd", "in a removed root, cwd inside",
					    "in a removed root, cwd outside",
					    "in a cwd on a detached bind",
					    "in a root removed with its folder" };
	char jail[PATH_MAX / 2], path[PATH_MAX], byte;
	struct child children[7];
	struct stat sub, dir, bound_sub;
	int fd;

	prog_init(argc, argv);
	snprintf(jail, sizeof(jail), "%s/jail", prog_dir());
	snprintf(path, sizeof(path), "%s/sub", jail);
	if (mkdir(jail, 0755) || mkdir(path, 0755) || stat(path, &sub) || stat(prog_dir(), &dir))
		return 1;
	snprintf(path, sizeof(path), "%s/marker", jail);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || close(fd) || !make_dirs(&bound_sub))
		return 1;
	for (int k = 0; k < 7; k++) {
		struct child *c = &children[k];

		if (pipe(c->cmd) || pipe(c->reply))
			return 1;
		c->pid = fork();
		if (c->pid == 0)
			child_main(c, k, jail, k == 0 ? sub.st_ino :
					       k == 5 ? bound_sub.st_ino : dir.st_ino);
		if (c->pid < 0 || read(c->reply[0], &byte, 1) != 1)
			return 1;
	}
	if (!pull_away())
		return 1;
	prog_ready();
	prog_wait_sigterm();

	for (int k = 0; k < 7; k++) {
		struct child *c = &children[k];
		const char *root = links[k].root;
		int status = -1;

		PROG_CHECK((!root || link_is(c->pid, "root", root)) &&
				   link_is(c->pid, "cwd", links[k].cwd) == links[k].cwd_ends,
			   "the child %s: its root is not at %s or its cwd %s at %s", what[k],
			   root ? root : "/", links[k].cwd_ends ? "not" : "moved", links[k].cwd);
		if (k == 6) {
			struct stat up;

			snprintf(path, sizeof(path), "/proc/%d/root/..", c->pid);
			PROG_CHECK(!stat(path, &up) && up.st_nlink == 0 &&
					   (up.st_mode & 07777) == 0751,
				   "the folder of the child's removed root is not removed with "
				   "mode 0751");
		}
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
