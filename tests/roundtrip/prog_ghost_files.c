/* Deleted files held open ("ghosts") come back with their metadata, not
 * just their bytes: mode, owner, modification time to the nanosecond, and
 * holes (a 64 MiB file with data in two places must stay sparse). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define SIZE (64ll << 20)
#define TAIL (SIZE - 4096)
#define OWNER_UID 4321
#define OWNER_GID 8765

static const struct timespec mtime = { .tv_sec = 1234567890, .tv_nsec = 123456789 };

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
	prog_finish();
}
