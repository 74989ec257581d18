/* The body of the mount namespace programs: prog_mntns, a tree in mount
 * and pid namespaces of its own, as a container runtime makes one (pid 1
 * with a /proc of its own), and prog_mntns_only, in a mount namespace of
 * its own alone. Each has a tmpfs holding files (modes,
 * an owner, a time, a symlink, a hard link, a folder, a file under a mount
 * on top of it) and an fd open on one, a bind of a folder of that tmpfs, a
 * read-only bind, a shared tmpfs and a slave bind of it, and a folder of
 * the caller's filesystem bound at another place (an external mount). On SIGTERM it
 * reads everything back, checks the read-only mount refuses a write, that
 * a mount made in the shared tmpfs shows in its slave, and that the file
 * hidden under the mount on top is there once that is unmounted. A child
 * is chrooted into the tmpfs with its cwd in a folder of it (root and cwd
 * on a mount cryo's namespace lacks): it checks it still sees the file at
 * the same path, from the same root and cwd. */
#ifndef CRYO_TESTS_MNTNS_PROG_H
#define CRYO_TESTS_MNTNS_PROG_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define TEXT "files of a tmpfs of its own"
#define MTIME 1000000000

static char m[4096], bound[4096], ro[4096], sh[4096], sl[4096], host[4096], ext[4096];

static void path(char *buf, const char *name)
{
	snprintf(buf, 4096, "%s/%s", prog_dir(), name);
}

static bool write_text(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool read_is(const char *p, const char *text)
{
	char buf[256] = "";
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return PROG_CHECK(n >= 0 && !strcmp(buf, text), "%s holds '%s', not '%s'", p, buf, text);
}

static const char *f(const char *dir, const char *name)
{
	static char buf[8][4096];
	static int next;
	char *out = buf[next++ % 8];

	snprintf(out, 4096, "%s/%s", dir, name);
	return out;
}

/* Its peer group in /proc/self/mountinfo ("shared:N" or "master:N"), 0: none. */
static int group_of(const char *mountpoint, const char *tag)
{
	char line[4096], target[4096];
	int group = 0;
	FILE *mi = fopen("/proc/self/mountinfo", "re");

	while (mi && fgets(line, sizeof(line), mi)) {
		char *p;

		if (sscanf(line, "%*d %*d %*s %*s %4095s", target) != 1 || strcmp(target, mountpoint))
			continue;
		p = strstr(line, tag);
		group = p ? atoi(p + strlen(tag)) : 0;
	}
	if (mi)
		fclose(mi);
	return group;
}

static void setup(bool init)
{
	struct timeval times[2] = { { MTIME, 0 }, { MTIME, 0 } };

	path(m, "m");
	path(bound, "bound");
	path(ro, "ro");
	path(sh, "sh");
	path(sl, "sl");
	path(host, "host");
	path(ext, "ext");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    (init && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) ||
	    mkdir(m, 0755) || mkdir(bound, 0755) || mkdir(ro, 0755) || mkdir(sh, 0755) ||
	    mkdir(sl, 0755) || mkdir(host, 0755) || mkdir(ext, 0755) ||
	    !write_text(f(host, "file"), "host", 0644) ||
	    mount(host, ext, NULL, MS_BIND, NULL) ||
	    mount("cryo-test", m, "tmpfs", MS_NOSUID, "size=4m,mode=0711") ||
	    mkdir(f(m, "sub"), 0750) || !write_text(f(m, "sub/file"), TEXT, 0640) ||
	    chown(f(m, "sub/file"), 1234, 5678) || utimes(f(m, "sub/file"), times) ||
	    symlink("sub/file", f(m, "link")) || link(f(m, "sub/file"), f(m, "hard")) ||
	    mkdir(f(m, "over"), 0755) || !write_text(f(m, "over/hidden"), "hidden", 0600) ||
	    mount("cryo-test", f(m, "over"), "tmpfs", 0, "size=1m") ||
	    !write_text(f(m, "over/top"), "top", 0600) ||
	    mount(f(m, "sub"), bound, NULL, MS_BIND, NULL) ||
	    mount(m, ro, NULL, MS_BIND, NULL) ||
	    mount(NULL, ro, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) ||
	    mount("cryo-test", sh, "tmpfs", 0, "size=1m") || mount(NULL, sh, NULL, MS_SHARED, NULL) ||
	    mount(sh, sl, NULL, MS_BIND, NULL) || mount(NULL, sl, NULL, MS_SLAVE, NULL)) {
		prog_fail("setup: %s", strerror(errno));
		prog_finish();
	}
}

/* Chrooted into the tmpfs, in its folder sub: on each byte of @cmd, 'y'
 * on @reply while it still is (its root that tmpfs's, of mode 0711, its
 * cwd /sub there: inode numbers are the new tmpfs's after a restore), until
 * 'q'. */
static void __attribute__((noreturn)) jailed_child(int cmd, int reply)
{
	struct stat root, cwd, sub;
	char byte, here[64];

	if (chroot(m) || chdir("/sub") || write(reply, "r", 1) != 1)
		_exit(2);
	while (read(cmd, &byte, 1) == 1 && byte != 'q') {
		bool ok = !stat("/", &root) && (root.st_mode & 07777) == 0711 &&
			  !stat(".", &cwd) && !stat("/sub", &sub) && cwd.st_ino == sub.st_ino &&
			  cwd.st_dev == root.st_dev && sub.st_dev == root.st_dev &&
			  getcwd(here, sizeof(here)) && !strcmp(here, "/sub") &&
			  read_is("/sub/file", TEXT);

		if (write(reply, ok ? "y" : "n", 1) != 1)
			break;
	}
	_exit(0);
}

/* The jailed child's answer, then its end. */
static void check_jailed_child(pid_t pid, int cmd, int reply)
{
	char byte = 'c';
	int status = -1;

	PROG_CHECK(write(cmd, &byte, 1) == 1 && read(reply, &byte, 1) == 1 && byte == 'y',
		   "the child chrooted into the tmpfs lost its root, cwd or file");
	PROG_CHECK(write(cmd, "q", 1) == 1 && waitpid(pid, &status, 0) == pid &&
			   WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "the child chrooted into the tmpfs ended with %#x", status);
}

static int mntns_prog_main(int argc, char **argv, bool init)
{
	struct stat st, hard, bst, dirst;
	int fd, shared, cmd[2], reply[2];
	char buf[64] = "", target[64] = "";
	pid_t jailed;

	prog_init(argc, argv);
	if (init && getpid() != 1) {
		prog_fail("started as pid %d, not as the init of a pid namespace", getpid());
		prog_finish();
	}
	setup(init);
	fd = open(f(m, "sub/file"), O_RDONLY | O_CLOEXEC);
	if (fd < 0 || lseek(fd, 6, SEEK_SET) != 6) {
		prog_fail("open: %s", strerror(errno));
		prog_finish();
	}
	if (pipe(cmd) || pipe(reply) || (jailed = fork()) < 0) {
		prog_fail("fork: %s", strerror(errno));
		prog_finish();
	}
	if (jailed == 0)
		jailed_child(cmd[0], reply[1]);
	if (read(reply[0], buf, 1) != 1) {
		prog_fail("the child could not chroot into the tmpfs");
		prog_finish();
	}
	prog_ready();
	prog_wait_sigterm();

	check_jailed_child(jailed, cmd[1], reply[0]);
	read_is(f(m, "sub/file"), TEXT);
	PROG_CHECK(!stat(f(m, "sub/file"), &st) && (st.st_mode & 07777) == 0640 &&
		   st.st_uid == 1234 && st.st_gid == 5678 && st.st_mtime == MTIME && st.st_nlink == 2,
		   "sub/file: mode %o owner %d:%d mtime %ld links %lu", st.st_mode & 07777, st.st_uid,
		   st.st_gid, (long)st.st_mtime, (unsigned long)st.st_nlink);
	PROG_CHECK(!stat(f(m, "hard"), &hard) && hard.st_ino == st.st_ino, "hard is not a hard "
		   "link of sub/file");
	PROG_CHECK(readlink(f(m, "link"), target, sizeof(target) - 1) > 0 &&
		   !strcmp(target, "sub/file"), "link points to '%s'", target);
	PROG_CHECK(!stat(m, &dirst) && (dirst.st_mode & 07777) == 0711 &&
		   !stat(f(m, "sub"), &bst) && (bst.st_mode & 07777) == 0750,
		   "folder modes %o and %o", dirst.st_mode & 07777, bst.st_mode & 07777);
	PROG_CHECK(pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "files", 5) &&
		   lseek(fd, 0, SEEK_CUR) == 6, "the fd on the tmpfs lost its file or offset");
	PROG_CHECK(!fstat(fd, &bst) && bst.st_ino == st.st_ino && bst.st_dev == st.st_dev,
		   "the fd is not on the tmpfs's file");
	read_is(f(bound, "file"), TEXT);
	PROG_CHECK(!stat(f(bound, "file"), &bst) && bst.st_ino == st.st_ino, "the bind does "
		   "not show the tmpfs's folder");
	read_is(f(ro, "sub/file"), TEXT);
	PROG_CHECK(open(f(ro, "new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600) < 0 &&
		   errno == EROFS, "the read-only bind took a write");
	read_is(f(m, "over/top"), "top");
	/* A folder of the caller's namespace bound in: bound again from it. */
	read_is(f(ext, "file"), "host");
	shared = group_of(sh, "shared:");
	PROG_CHECK(shared && group_of(sl, "master:") == shared, "%s is not a slave of %s "
		   "(shared:%d, master:%d)", sl, sh, shared, group_of(sl, "master:"));
	/* Propagation still works: a mount in the shared one shows in its slave. */
	if (PROG_CHECK(!mkdir(f(sh, "late"), 0755) &&
		       !mount("cryo-test", f(sh, "late"), "tmpfs", 0, "size=1m") &&
		       write_text(f(sh, "late/x"), "x", 0600), "mount in %s: %s", sh,
		       strerror(errno)))
		read_is(f(sl, "late/x"), "x");
	if (PROG_CHECK(!umount2(f(m, "over"), 0), "umount: %s", strerror(errno)))
		read_is(f(m, "over/hidden"), "hidden");
	prog_finish();
}

#endif
