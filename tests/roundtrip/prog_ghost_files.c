/* Deleted files held open ("ghosts") come back with their metadata, not
 * just their bytes: mode, owner, modification time to the nanosecond, and
 * holes (a 64 MiB file with data in two places must stay sparse). And a
 * FIFO unlinked while open, with a reader, a writer and unread bytes, and
 * a node of /dev/zero unlinked while open, and a removed directory. And
 * (dumped with --link-remap) files unlinked from their path while another
 * link keeps them, one held by an fd, one by a shared mapping alone: the
 * same inode as that link after restore. And in removed folders: a
 * deleted file whose two folders were removed after it (its bytes, mode,
 * owner, mtime and /proc name come back, the folders are gone again), and
 * a directory removed with its two folders, held by two fds and as the
 * cwd: one directory after restore (one inode), in which nothing can be
 * made, whose ".." is its removed folder with its mode and mtime. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prog.h"

#define SIZE (64ll << 20)
#define TAIL (SIZE - 4096)
#define OWNER_UID 4321
#define OWNER_GID 8765

static const struct timespec mtime = { .tv_sec = 1234567890, .tv_nsec = 123456789 };

static int fifo_rd = -1, fifo_wr = -1;

static int unlinked_fd = -1;
static char *unlinked_map;

/* NAME made with bytes @text, linked as NAME.other, NAME unlinked; its fd. */
static int make_unlinked_file(const char *name, const char *text)
{
	char path[4096], other[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", prog_dir(), name);
	snprintf(other, sizeof(other), "%s/%s.other", prog_dir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0640);
	if (fd < 0 || pwrite(fd, text, strlen(text), 0) != (ssize_t)strlen(text) ||
	    ftruncate(fd, 4096) || link(path, other) || unlink(path))
		return -1;
	return fd;
}

static bool make_unlinked(void)
{
	int fd;

	unlinked_fd = make_unlinked_file("linked", "by fd");
	fd = make_unlinked_file("mapped", "by mapping");
	if (unlinked_fd < 0 || fd < 0)
		return false;
	unlinked_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return unlinked_map != MAP_FAILED;
}

/* The links of @st's inode: its other link and the link remaps of a dump
 * that left the program running (restore removes them). */
static nlink_t links_expected(const struct stat *st)
{
	nlink_t n = 1;
	struct dirent *e;
	DIR *dir = opendir(prog_dir());
	struct stat other;

	while (dir && (e = readdir(dir)))
		if (!strncmp(e->d_name, ".cryo-link-remap.", 17) &&
		    !fstatat(dirfd(dir), e->d_name, &other, 0) && other.st_ino == st->st_ino &&
		    other.st_dev == st->st_dev)
			n++;
	if (dir)
		closedir(dir);
	return n;
}

/* @was and @now are of one length. A dump that left the program running
 * let it write @now, which its restored copy then reads. */
static void check_unlinked_file(const char *name, int fd, const char *was, const char *now)
{
	char other[4096], buf[16] = "";
	size_t len = strlen(was);
	struct stat st, ost;
	int ofd;

	snprintf(other, sizeof(other), "%s/%s.other", prog_dir(), name);
	if (!PROG_CHECK(fstat(fd, &st) == 0 && stat(other, &ost) == 0, "stat %s", name))
		return;
	PROG_CHECK(st.st_ino == ost.st_ino && st.st_dev == ost.st_dev,
		   "%s is not the inode of its other link", name);
	PROG_CHECK(st.st_nlink == links_expected(&st) && (st.st_mode & 07777) == 0640,
		   "%s: %lu links, mode %o", name, (unsigned long)st.st_nlink, st.st_mode);
	ofd = open(other, O_RDONLY);
	PROG_CHECK(ofd >= 0 && pread(ofd, buf, len, 0) == (ssize_t)len &&
		   (!memcmp(buf, was, len) || !memcmp(buf, now, len)), "%s held '%s'", name, buf);
	if (fd == unlinked_fd) {
		char link[4096 + 32], proc[64], expect[4096];
		ssize_t n;

		/* Restore gives the link its old name again before removing it. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		snprintf(expect, sizeof(expect), "/%s (deleted)", name);
		n = readlink(proc, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		PROG_CHECK(n > (ssize_t)strlen(expect) &&
			   !strcmp(link + n - strlen(expect), expect), "fd of %s shows %s", name,
			   link);
		PROG_CHECK(pwrite(fd, now, len, 0) == (ssize_t)len, "write %s", name);
	}
	else
		memcpy(unlinked_map, now, len);
	PROG_CHECK(pread(ofd, buf, len, 0) == (ssize_t)len && !memcmp(buf, now, len),
		   "a write to %s is not seen through its other link: '%s'", name, buf);
	close(ofd);
}

static void check_unlinked(void)
{
	char path[128];
	int fd;

	check_unlinked_file("linked", unlinked_fd, "by fd", "fd ok");
	/* The mapping's file, through /proc/self/map_files: no fd holds it. */
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)unlinked_map,
		 (unsigned long)unlinked_map + 4096);
	fd = open(path, O_RDONLY);
	if (PROG_CHECK(fd >= 0, "open the mapping's file"))
		check_unlinked_file("mapped", fd, "by mapping", "map again!");
	if (fd >= 0)
		close(fd);
}

static bool make_deleted_fifo(void)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/fifo", prog_dir());
	if (mkfifo(path, 0600))
		return false;
	fifo_rd = open(path, O_RDONLY | O_NONBLOCK);
	fifo_wr = open(path, O_WRONLY);
	return fifo_rd >= 0 && fifo_wr >= 0 && write(fifo_wr, "unread", 6) == 6 &&
	       fchmod(fifo_rd, 0604) == 0 && unlink(path) == 0;
}

static int zero_fd = -1;

static bool make_deleted_zero(void)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/zero", prog_dir());
	if (mknod(path, S_IFCHR | 0640, makedev(1, 5)))
		return false;
	zero_fd = open(path, O_RDONLY);
	return zero_fd >= 0 && fchown(zero_fd, OWNER_UID, OWNER_GID) == 0 && unlink(path) == 0;
}

static void check_deleted_zero(void)
{
	char buf[8] = "xxxxxxx";
	struct stat st;

	if (!PROG_CHECK(fstat(zero_fd, &st) == 0, "fstat the node"))
		return;
	PROG_CHECK(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5) && st.st_nlink == 0 &&
		   (st.st_mode & 07777) == 0640 && st.st_uid == OWNER_UID,
		   "node %u:%u mode %o owner %u, %lu links", major(st.st_rdev), minor(st.st_rdev),
		   st.st_mode, st.st_uid, (unsigned long)st.st_nlink);
	PROG_CHECK(read(zero_fd, buf, sizeof(buf)) == sizeof(buf) && !memcmp(buf, "\0\0\0\0", 4),
		   "the node does not read zeros");
}

static int dir_fd = -1;

static bool make_removed_dir(void)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/gone", prog_dir());
	if (mkdir(path, 0700))
		return false;
	dir_fd = open(path, O_RDONLY | O_DIRECTORY);
	return dir_fd >= 0 && fchmod(dir_fd, 0750) == 0 && rmdir(path) == 0;
}

static void check_removed_dir(void)
{
	struct stat st;

	if (!PROG_CHECK(fstat(dir_fd, &st) == 0, "fstat the directory"))
		return;
	PROG_CHECK(S_ISDIR(st.st_mode) && st.st_nlink == 0 && (st.st_mode & 07777) == 0750,
		   "directory mode %o, %lu links", st.st_mode, (unsigned long)st.st_nlink);
	PROG_CHECK(openat(dir_fd, "new", O_CREAT | O_WRONLY, 0600) < 0 && errno == ENOENT,
		   "a file could be made in the removed directory");
}

/* ---- removed folders ---- */

/* Makes folder @name of the program's folder. */
static bool make_folder(const char *name, mode_t mode)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", prog_dir(), name);
	return !mkdir(path, mode);
}

static const struct timespec folder_mtime = { .tv_sec = 1111111111, .tv_nsec = 222222222 };
static int chained_fd = -1, chain_dir_fd = -1, chain_dir_fd2 = -1;

/* @fd's /proc link ends in @tail. */
static bool fd_shows(int fd, const char *tail)
{
	char proc[64], link[4096 + 32];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	return n > (ssize_t)strlen(tail) && !strcmp(link + n - strlen(tail), tail);
}

/* gf1/gf2/chained deleted, then gf1/gf2 and gf1 removed. */
static bool make_chained_file(void)
{
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, mtime };
	char path[4096];

	if (!make_folder("gf1", 0755) || !make_folder("gf1/gf2", 0755))
		return false;
	snprintf(path, sizeof(path), "%s/gf1/gf2/chained", prog_dir());
	chained_fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (chained_fd < 0 || pwrite(chained_fd, "in removed folders", 18, 0) != 18 ||
	    fchown(chained_fd, OWNER_UID, OWNER_GID) || fchmod(chained_fd, 0604) ||
	    futimens(chained_fd, times) || unlink(path))
		return false;
	snprintf(path, sizeof(path), "%s/gf1/gf2", prog_dir());
	if (rmdir(path))
		return false;
	snprintf(path, sizeof(path), "%s/gf1", prog_dir());
	return !rmdir(path);
}

static void check_chained_file(void)
{
	char buf[32] = "", path[4096];
	struct stat st;

	if (!PROG_CHECK(fstat(chained_fd, &st) == 0, "fstat the file in removed folders"))
		return;
	PROG_CHECK(st.st_nlink == 0 && (st.st_mode & 07777) == 0604 && st.st_uid == OWNER_UID &&
		   st.st_gid == OWNER_GID && st.st_size == 18 &&
		   st.st_mtim.tv_sec == mtime.tv_sec && st.st_mtim.tv_nsec == mtime.tv_nsec,
		   "file in removed folders: %lu links, mode %o, owner %u:%u, %lld bytes",
		   (unsigned long)st.st_nlink, st.st_mode, st.st_uid, st.st_gid,
		   (long long)st.st_size);
	PROG_CHECK(pread(chained_fd, buf, 18, 0) == 18 && !memcmp(buf, "in removed folders", 18),
		   "the file in removed folders held '%s'", buf);
	PROG_CHECK(fd_shows(chained_fd, "/gf1/gf2/chained (deleted)"),
		   "the file in removed folders has another name");
	snprintf(path, sizeof(path), "%s/gf1", prog_dir());
	PROG_CHECK(access(path, F_OK) && errno == ENOENT, "%s is there", path);
}

/* gd1/gd2/gd3 held by two fds and entered, then removed with gd2 (mode
 * 0705, its mtime set once gd3 is gone) and gd1. */
static bool make_chained_dir(void)
{
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, folder_mtime };
	char path[4096];
	int folder;

	if (!make_folder("gd1", 0755) || !make_folder("gd1/gd2", 0755) ||
	    !make_folder("gd1/gd2/gd3", 0700))
		return false;
	snprintf(path, sizeof(path), "%s/gd1/gd2/gd3", prog_dir());
	chain_dir_fd = open(path, O_RDONLY | O_DIRECTORY);
	chain_dir_fd2 = open(path, O_PATH | O_DIRECTORY);
	if (chain_dir_fd < 0 || chain_dir_fd2 < 0 || fchmod(chain_dir_fd, 0751) || chdir(path) ||
	    rmdir(path))
		return false;
	snprintf(path, sizeof(path), "%s/gd1/gd2", prog_dir());
	folder = open(path, O_RDONLY | O_DIRECTORY);
	if (folder < 0 || futimens(folder, times) || fchmod(folder, 0705) || close(folder) ||
	    rmdir(path))
		return false;
	snprintf(path, sizeof(path), "%s/gd1", prog_dir());
	return !rmdir(path);
}

static void check_chained_dir(void)
{
	struct stat st, st2, cwd, up, top, live;
	char path[4096];

	if (!PROG_CHECK(fstat(chain_dir_fd, &st) == 0 && fstat(chain_dir_fd2, &st2) == 0 &&
			stat(".", &cwd) == 0, "stat the directory in removed folders"))
		return;
	PROG_CHECK(S_ISDIR(st.st_mode) && st.st_nlink == 0 && (st.st_mode & 07777) == 0751,
		   "directory in removed folders: mode %o, %lu links", st.st_mode,
		   (unsigned long)st.st_nlink);
	PROG_CHECK(st.st_ino == st2.st_ino && st.st_dev == st2.st_dev && st.st_ino == cwd.st_ino &&
		   st.st_dev == cwd.st_dev, "its two fds and the cwd are not one directory: "
		   "inodes %lu, %lu, %lu", (unsigned long)st.st_ino, (unsigned long)st2.st_ino,
		   (unsigned long)cwd.st_ino);
	PROG_CHECK(openat(chain_dir_fd, "new", O_CREAT | O_WRONLY, 0600) < 0 && errno == ENOENT,
		   "a file could be made in the directory in removed folders");
	PROG_CHECK(fd_shows(chain_dir_fd, "/gd1/gd2/gd3 (deleted)"),
		   "the directory in removed folders has another name");
	if (!PROG_CHECK(fstatat(chain_dir_fd, "..", &up, 0) == 0 &&
			fstatat(chain_dir_fd, "../../..", &top, 0) == 0 &&
			stat(prog_dir(), &live) == 0, "stat the removed folders"))
		return;
	PROG_CHECK(up.st_nlink == 0 && (up.st_mode & 07777) == 0705 &&
		   up.st_mtim.tv_sec == folder_mtime.tv_sec &&
		   up.st_mtim.tv_nsec == folder_mtime.tv_nsec,
		   "its removed folder: mode %o, %lu links, mtime %lld", up.st_mode,
		   (unsigned long)up.st_nlink, (long long)up.st_mtim.tv_sec);
	PROG_CHECK(top.st_ino == live.st_ino && top.st_dev == live.st_dev,
		   "../../.. of the directory in removed folders is not the program's folder");
	snprintf(path, sizeof(path), "%s/gd1", prog_dir());
	PROG_CHECK(access(path, F_OK) && errno == ENOENT, "%s is there", path);
}

static void check_deleted_fifo(void)
{
	struct stat rd, wr;
	char buf[16] = "";

	if (!PROG_CHECK(fstat(fifo_rd, &rd) == 0 && fstat(fifo_wr, &wr) == 0, "fstat the FIFO"))
		return;
	PROG_CHECK(S_ISFIFO(rd.st_mode) && rd.st_nlink == 0 && (rd.st_mode & 07777) == 0604,
		   "FIFO mode %o, %lu links", rd.st_mode, (unsigned long)rd.st_nlink);
	PROG_CHECK(rd.st_ino == wr.st_ino && rd.st_dev == wr.st_dev,
		   "the FIFO's two ends are two files");
	PROG_CHECK(read(fifo_rd, buf, sizeof(buf)) == 6 && !memcmp(buf, "unread", 6),
		   "the FIFO held '%s'", buf);
	PROG_CHECK(write(fifo_wr, "more", 4) == 4 && read(fifo_rd, buf, sizeof(buf)) == 4 &&
		   !memcmp(buf, "more", 4), "the FIFO does not pass bytes on");
}

int main(int argc, char **argv)
{
	char path[4096], buf[16] = "";
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, mtime };
	struct stat st;
	int fd;

	prog_init(argc, argv);
	/* First, so that its fd is dumped before the large ghost (a dump
	 * refused by --ghost-limit must remove the link it made). */
	if (!make_unlinked()) {
		perror("setting up the unlinked files");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ghost", prog_dir());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || pwrite(fd, "head", 4, 0) != 4 || pwrite(fd, "tail", 4, TAIL) != 4 ||
	    ftruncate(fd, SIZE) || fchown(fd, OWNER_UID, OWNER_GID) || fchmod(fd, 0640) ||
	    futimens(fd, times) || unlink(path)) {
		perror("setting up the deleted file");
		return 1;
	}
	if (!make_removed_dir()) {
		perror("setting up the removed directory");
		return 1;
	}
	if (!make_deleted_zero()) {
		perror("setting up the deleted device node");
		return 1;
	}
	if (!make_deleted_fifo()) {
		perror("setting up the deleted FIFO");
		return 1;
	}
	if (!make_chained_file() || !make_chained_dir()) {
		perror("setting up the files in removed folders");
		return 1;
	}
	prog_ready();
	prog_wait_sigterm();

	if (!PROG_CHECK(fstat(fd, &st) == 0, "fstat"))
		prog_finish();
	PROG_CHECK(st.st_nlink == 0, "the file has %lu links", (unsigned long)st.st_nlink);
	PROG_CHECK((st.st_mode & 07777) == 0640, "mode %o", st.st_mode & 07777);
	PROG_CHECK(st.st_uid == OWNER_UID && st.st_gid == OWNER_GID, "owner %u:%u", st.st_uid,
		   st.st_gid);
	PROG_CHECK(st.st_mtim.tv_sec == mtime.tv_sec && st.st_mtim.tv_nsec == mtime.tv_nsec,
		   "mtime %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	PROG_CHECK(st.st_size == SIZE, "size %lld", (long long)st.st_size);
	/* Two pages of data, whatever the file system's block size. */
	PROG_CHECK(st.st_blocks * 512 <= 1 << 20, "%lld bytes allocated: no longer sparse",
		   (long long)st.st_blocks * 512);
	PROG_CHECK(pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "head", 4), "head '%.4s'", buf);
	PROG_CHECK(pread(fd, buf, 4, TAIL) == 4 && !memcmp(buf, "tail", 4), "tail '%.4s'", buf);
	PROG_CHECK(pread(fd, buf, 4, SIZE / 2) == 4 && !memcmp(buf, "\0\0\0\0", 4),
		   "the middle is not zeros");
	check_deleted_fifo();
	check_deleted_zero();
	check_removed_dir();
	check_chained_file();
	check_chained_dir();
	check_unlinked();
	prog_finish();
}
