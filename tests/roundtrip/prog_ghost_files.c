/* Deleted files held open ("ghosts") come back with their metadata, not
 * just their bytes: mode, owner, modification time to the nanosecond, and
 * holes (a 64 MiB file with data in two places must stay sparse). And a
 * FIFO unlinked while open, with a reader, a writer and unread bytes, and
 * a node of /dev/zero unlinked while open, and a removed directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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
	prog_finish();
}
