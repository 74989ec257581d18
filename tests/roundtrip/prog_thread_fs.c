/* Threads with fs info of their own (unshare(CLONE_FS)), while the main
 * thread stays in the program's folder with umask 022: one in a folder of
 * its own with umask 027; one chrooted into a jail with its cwd in a
 * folder of it; one whose cwd it removed together with its folder
 * (mkdir -p g/h; chdir g/h; rmdir g/h g), given mode and times first,
 * and held by an fd too (one directory with the cwd after restore); one
 * chrooted into a folder it then removed, cwd "/", holding an fd of its
 * root (one directory with the root after restore); and
 * one that made another thread after its unshare, so that the two share
 * fs info that is not the process's. On SIGTERM each thread checks itself
 * and answers over a pipe: the same directory (inode) as cwd, a file
 * opened relative to it, its umask, getcwd() inside the jail, the removed
 * cwd and folder still removed with their modes and mtimes and ".." of the
 * folder the program's; a chdir by one of the pair is seen by the other,
 * and by no other thread. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

enum kind { OWN_CWD, JAILED, REMOVED_CWD, REMOVED_ROOT, PAIR_FIRST, PAIR_SECOND, NR_KINDS };

struct worker {
	enum kind kind;
	pthread_t thread;
	int cmd[2], reply[2];
	struct stat cwd;	/* where it stands once set up */
};

static struct worker workers[NR_KINDS];
static char jail[PATH_MAX / 2];
static const struct timespec folder_times[2] = { { 1000000, 111 }, { 2000000, 222 } };
static const struct timespec ghost_times[2] = { { 3000000, 333 }, { 4000000, 444 } };

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool cwd_is(const struct stat *want)
{
	struct stat st;

	return !stat(".", &st) && same_inode(&st, want);
}

static bool umask_is(mode_t want)
{
	mode_t old = umask(0);

	umask(old);
	return old == want;
}

/* A file named @name with @text in it, in @dir. */
static bool put_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && !close(fd);
}

/* The file @name relative to the cwd holds @text. */
static bool file_says(const char *name, const char *text)
{
	char buf[64] = { 0 };
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && read(fd, buf, sizeof(buf) - 1) == (ssize_t)strlen(text) &&
		  !strcmp(buf, text);

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool removed_with(const char *path, mode_t mode, const struct timespec *mtime)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode) && st.st_nlink == 0 &&
	       (st.st_mode & 07777) == mode && st.st_mtim.tv_sec == mtime->tv_sec &&
	       st.st_mtim.tv_nsec == mtime->tv_nsec;
}

/* The thread's own /proc cwd link ends with @end. */
static bool own_cwd_link_ends(const char *end)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/task/%d/cwd", gettid());
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0 || (size_t)n < strlen(end))
		return false;
	target[n] = '\0';
	return !strcmp(target + n - strlen(end), end);
}

static void *worker_main(void *arg);

/* An fd of the removed cwd's directory: one directory with the cwd after
 * restore too. */
static int removed_cwd_fd = -1;
/* And of the removed root's, opened from inside it. */
static int removed_root_fd = -1;

/* Chroots into folder rr, then removes it through an fd of its folder
 * (no path leads there from inside). */
static bool enter_removed_root(struct worker *w)
{
	char path[PATH_MAX];
	int home = open(prog_dir(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	bool ok;

	snprintf(path, sizeof(path), "%s/rr", prog_dir());
	ok = home >= 0 && !chroot(path) && !chdir("/") &&
	     (removed_root_fd = open("/", O_RDONLY | O_DIRECTORY)) >= 0 && !stat("/", &w->cwd) &&
	     !unlinkat(home, "rr", AT_REMOVEDIR);
	if (home >= 0)
		close(home);
	return ok;
}

static bool set_up(struct worker *w)
{
	char path[PATH_MAX];

	if (w->kind == PAIR_SECOND)
		return !stat(".", &w->cwd);
	if (unshare(CLONE_FS))
		return false;
	switch (w->kind) {
	case OWN_CWD:
		snprintf(path, sizeof(path), "%s/own", prog_dir());
		umask(027);
		return !chdir(path) && !stat(".", &w->cwd);
	case JAILED:
		snprintf(path, sizeof(path), "%s/sub", jail);
		return !chdir(path) && !chroot(jail) && !stat(".", &w->cwd);
	case REMOVED_CWD:
		/* Each level's times after what moves them: the removal of what
		 * it held. */
		snprintf(path, sizeof(path), "%s/g/h", prog_dir());
		removed_cwd_fd = open(path, O_RDONLY | O_DIRECTORY);
		return removed_cwd_fd >= 0 && !chdir(path) && !stat(".", &w->cwd) &&
		       !chmod(".", 0750) &&
		       !utimensat(AT_FDCWD, ".", ghost_times, 0) && !rmdir(path) &&
		       !chmod("..", 0751) && !utimensat(AT_FDCWD, "..", folder_times, 0) &&
		       !rmdir(dirname(path));
	case REMOVED_ROOT:
		return enter_removed_root(w);
	case PAIR_FIRST:
		snprintf(path, sizeof(path), "%s/pair", prog_dir());
		return !chdir(path) && !stat(".", &w->cwd) &&
		       !pthread_create(&workers[PAIR_SECOND].thread, NULL, worker_main,
				       &workers[PAIR_SECOND]);
	default:
		return false;
	}
}

/* What thread @w checks of itself after restore. */
static bool check(struct worker *w)
{
	char cwd[PATH_MAX], path[PATH_MAX];
	struct stat st, home;

	switch (w->kind) {
	case OWN_CWD:
		return cwd_is(&w->cwd) && umask_is(027) && file_says("here", "own");
	case JAILED:
		return cwd_is(&w->cwd) && umask_is(022) && !stat("/marker", &st) &&
		       getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/sub") &&
		       file_says("here", "jail");
	case REMOVED_CWD:
		/* A new inode after restore: removed, with its mode and mtime.
		 * getcwd() names no removed cwd; ".." leads into the removed
		 * folder, and on to the program's. */
		return PROG_CHECK(removed_with(".", 0750, &ghost_times[1]),
				  "its cwd is not removed with mode 0750 and its mtime") &&
		       PROG_CHECK(removed_with("..", 0751, &folder_times[1]),
				  "its cwd's folder is not removed with mode 0751 and its mtime") &&
		       PROG_CHECK(!stat("../..", &st) && !stat(prog_dir(), &home) &&
					  same_inode(&st, &home),
				  "../.. is not the program's folder") &&
		       PROG_CHECK(!stat(".", &st) && !fstat(removed_cwd_fd, &home) &&
					  same_inode(&st, &home),
				  "its removed cwd and the fd of it are two directories") &&
		       PROG_CHECK(own_cwd_link_ends("/g/h (deleted)"),
				  "its /proc cwd link is not the old path") &&
		       PROG_CHECK(!getcwd(cwd, sizeof(cwd)) && errno == ENOENT,
				  "getcwd() named its removed cwd");
	case REMOVED_ROOT:
		/* A new inode after restore, as the removed cwd's. */
		return PROG_CHECK(!stat("/", &st) && st.st_nlink == 0 && cwd_is(&st),
				  "its root is not a removed folder, or its cwd not that root") &&
		       PROG_CHECK(!fstat(removed_root_fd, &home) && same_inode(&st, &home),
				  "its removed root and the fd of it are two directories");
	case PAIR_FIRST:
		/* Moves the pair: its partner checks it followed. */
		snprintf(path, sizeof(path), "%s/pair/moved", prog_dir());
		return cwd_is(&w->cwd) && file_says("here", "pair") && !chdir(path) &&
		       !stat(".", &w->cwd);
	case PAIR_SECOND:
		return cwd_is(&workers[PAIR_FIRST].cwd) && file_says("here", "moved");
	default:
		return false;
	}
}

/* Sets up, says 'r' (or 'n'), then answers each byte with 'y' or 'n'
 * until 'q'. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char byte = set_up(w) ? 'r' : 'n';

	if (write(w->reply[1], &byte, 1) != 1 || byte == 'n')
		return NULL;
	while (read(w->cmd[0], &byte, 1) == 1 && byte != 'q') {
		byte = check(w) ? 'y' : 'n';
		if (write(w->reply[1], &byte, 1) != 1)
			break;
	}
	return NULL;
}

/* The folders and files the threads stand in. */
static bool make_dirs(void)
{
	static const char *const dirs[] = { "own", "jail", "jail/sub", "g", "g/h", "rr", "pair",
					    "pair/moved" };
	char path[PATH_MAX];

	snprintf(jail, sizeof(jail), "%s/jail", prog_dir());
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", prog_dir(), dirs[i]);
		if (mkdir(path, 0755))
			return false;
	}
	snprintf(path, sizeof(path), "%s/pair", prog_dir());
	if (!put_file(path, "here", "pair"))
		return false;
	snprintf(path, sizeof(path), "%s/pair/moved", prog_dir());
	if (!put_file(path, "here", "moved"))
		return false;
	snprintf(path, sizeof(path), "%s/own", prog_dir());
	return put_file(path, "here", "own") && put_file(jail, "marker", "") &&
	       put_file(jail, "sub/here", "jail");
}

int main(int argc, char **argv)
{
	static const char *const what[] = { "with its own cwd and umask", "chrooted",
					    "in a cwd removed with its folder",
					    "in a removed root held by an fd",
					    "first of a pair sharing fs info",
					    "second of a pair sharing fs info" };
	struct stat home;
	char byte = 0;

	prog_init(argc, argv);
	umask(022);
	if (!make_dirs() || chdir(prog_dir()) || stat(".", &home))
		return 1;
	for (int k = 0; k < NR_KINDS; k++) {
		workers[k].kind = (enum kind)k;
		if (pipe(workers[k].cmd) || pipe(workers[k].reply))
			return 1;
	}
	for (int k = 0; k < NR_KINDS; k++) {
		/* The pair's second is made by its first. */
		if (k != PAIR_SECOND &&
		    pthread_create(&workers[k].thread, NULL, worker_main, &workers[k]))
			return 1;
		if (read(workers[k].reply[0], &byte, 1) != 1 || byte != 'r')
			return 1;
	}
	prog_ready();
	prog_run_until_sigterm();

	for (int k = 0; k < NR_KINDS; k++) {
		byte = 'c';
		PROG_CHECK(write(workers[k].cmd[1], &byte, 1) == 1 &&
				   read(workers[k].reply[0], &byte, 1) == 1 && byte == 'y',
			   "the thread %s found itself elsewhere", what[k]);
	}
	PROG_CHECK(cwd_is(&home) && umask_is(022),
		   "the main thread left the program's folder or its umask 022");
	for (int k = 0; k < NR_KINDS; k++)
		PROG_CHECK(write(workers[k].cmd[1], "q", 1) == 1 &&
				   !pthread_join(workers[k].thread, NULL),
			   "cannot end the thread %s", what[k]);
	prog_finish();
}
