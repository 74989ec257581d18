/* Round-trip program: mappings of files that have no path any more. A file
 * deleted after mmap, mapped private and shared with no fd left; a deleted
 * file mapped shared whose fd stays open; a memfd mapped shared and private
 * with its fd kept; a sealed memfd only mapped. Checks contents, private
 * copies, and that each mapping still shares one file with the fd and the
 * other mappings of its inode. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define PS 4096
#define PAGES 4
#define LEN (PAGES * PS)
/* The sealed memfd: written pages apart, more than fits in a record. */
#define SEALED_PAGES 64
#define SEALED_SEALS (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

static struct {
	char *del_priv, *del_shared;	/* deleted file, no fd */
	char *kept_shared;		/* deleted file, fd kept */
	int kept_fd;
	char *memfd_shared, *memfd_priv;	/* memfd, fd kept */
	int memfd_fd;
	char *sealed;			/* memfd only mapped, sealed */
	char del_path[4096], kept_path[4096];
} s;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_deleted_maps: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The byte a page holds: which file and page it is, and who wrote it. */
static char byte_of(char file, int page, char writer)
{
	return (char)(file * 16 + page * 4 + writer);
}

static void fill_page(char *p, char file, int page, char writer)
{
	memset(p, byte_of(file, page, writer), PS);
}

static bool page_is(const char *p, char file, int page, char writer)
{
	char want = byte_of(file, page, writer);

	for (int i = 0; i < PS; i++)
		if (p[i] != want)
			return false;
	return true;
}

static char *map(int fd, int flags, const char *what)
{
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED)
		die(what);
	return p;
}

/* A file of PAGES pages, page i filled with byte_of(@file, i, 0). */
static int make_file(const char *path, char file)
{
	char page[PS];
	int fd = path ? open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640) :
			memfd_create("prog_deleted_maps", MFD_CLOEXEC);

	if (fd < 0)
		die("create");
	for (int i = 0; i < PAGES; i++) {
		fill_page(page, file, i, 0);
		if (pwrite(fd, page, PS, (off_t)i * PS) != PS)
			die("fill");
	}
	return fd;
}

static void setup(void)
{
	char page[PS];
	int fd;

	snprintf(s.del_path, sizeof(s.del_path), "%s/mapped-deleted", prog_dir());
	fd = make_file(s.del_path, 1);
	s.del_priv = map(fd, MAP_PRIVATE, "map deleted private");
	s.del_shared = map(fd, MAP_SHARED, "map deleted shared");
	close(fd);
	if (unlink(s.del_path))
		die("unlink");
	/* Page 1 copied privately, page 2 written to the file. */
	fill_page(s.del_priv + PS, 1, 1, 1);
	fill_page(s.del_shared + 2 * PS, 1, 2, 2);

	snprintf(s.kept_path, sizeof(s.kept_path), "%s/mapped-kept", prog_dir());
	s.kept_fd = make_file(s.kept_path, 2);
	s.kept_shared = map(s.kept_fd, MAP_SHARED, "map kept shared");
	if (unlink(s.kept_path))
		die("unlink kept");
	fill_page(s.kept_shared + PS, 2, 1, 2);

	s.memfd_fd = make_file(NULL, 3);
	s.memfd_shared = map(s.memfd_fd, MAP_SHARED, "map memfd shared");
	s.memfd_priv = map(s.memfd_fd, MAP_PRIVATE, "map memfd private");
	fill_page(s.memfd_priv + PS, 3, 1, 1);
	fill_page(s.memfd_shared + 2 * PS, 3, 2, 2);

	fd = memfd_create("prog_deleted_maps sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)SEALED_PAGES * PS))
		die("sealed memfd");
	for (int i = 0; i < SEALED_PAGES; i += 3) {
		fill_page(page, 4, i % 4, 0);
		if (pwrite(fd, page, PS, (off_t)i * PS) != PS)
			die("fill sealed");
	}
	s.sealed = mmap(NULL, (size_t)SEALED_PAGES * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s.sealed == MAP_FAILED || fcntl(fd, F_ADD_SEALS, SEALED_SEALS))
		die("map sealed");
	close(fd);
}

/* The target of /proc/self/map_files/ for the mapping at @p. */
static const char *map_link(const void *p, size_t len)
{
	static char link[4200];
	char path[96];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + len);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	return link;
}

/* The mapping at @p maps the very file @fd is open on. */
static bool same_file(const void *p, size_t len, int fd)
{
	char path[96];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + len);
	return !stat(path, &a) && !fstat(fd, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool deleted_name(const char *link, const char *name)
{
	char want[4200];

	snprintf(want, sizeof(want), "%s (deleted)", name);
	return !strcmp(link, want);
}

static void check_deleted_no_fd(void)
{
	PROG_CHECK(deleted_name(map_link(s.del_priv, LEN), s.del_path) &&
		   deleted_name(map_link(s.del_shared, LEN), s.del_path),
		   "deleted file mapped at '%s'", map_link(s.del_priv, LEN));
	PROG_CHECK(access(s.del_path, F_OK) && errno == ENOENT, "%s is back", s.del_path);
	PROG_CHECK(page_is(s.del_priv, 1, 0, 0) && page_is(s.del_priv + PS, 1, 1, 1) &&
		   page_is(s.del_priv + 2 * PS, 1, 2, 2) && page_is(s.del_priv + 3 * PS, 1, 3, 0),
		   "deleted file, private mapping: contents");
	PROG_CHECK(page_is(s.del_shared, 1, 0, 0) && page_is(s.del_shared + PS, 1, 1, 0) &&
		   page_is(s.del_shared + 2 * PS, 1, 2, 2),
		   "deleted file, shared mapping: contents");
	/* One file behind both: a shared write shows in the private mapping
	 * where it has no copy of its own, and only there. */
	fill_page(s.del_shared, 1, 0, 3);
	fill_page(s.del_shared + PS, 1, 1, 3);
	PROG_CHECK(page_is(s.del_priv, 1, 0, 3), "deleted file: the private mapping does not see "
		   "the shared one's write");
	PROG_CHECK(page_is(s.del_priv + PS, 1, 1, 1), "deleted file: the private copy changed");
}

static void check_deleted_with_fd(void)
{
	char page[PS];
	struct stat st;

	PROG_CHECK(same_file(s.kept_shared, LEN, s.kept_fd), "deleted file: the mapping and the "
		   "fd are not one file");
	PROG_CHECK(fstat(s.kept_fd, &st) == 0 && st.st_nlink == 0 && st.st_size == LEN &&
		   (st.st_mode & 07777) == 0640, "deleted file with fd: nlink %ju size %jd",
		   (uintmax_t)st.st_nlink, (intmax_t)st.st_size);
	PROG_CHECK(page_is(s.kept_shared, 2, 0, 0) && page_is(s.kept_shared + PS, 2, 1, 2),
		   "deleted file with fd: contents");
	fill_page(s.kept_shared + 3 * PS, 2, 3, 3);
	PROG_CHECK(pread(s.kept_fd, page, PS, 3 * PS) == PS && page_is(page, 2, 3, 3),
		   "deleted file: a write to the mapping is not seen through the fd");
	fill_page(page, 2, 0, 4);
	PROG_CHECK(pwrite(s.kept_fd, page, PS, 0) == PS && page_is(s.kept_shared, 2, 0, 4),
		   "deleted file: a write through the fd is not seen in the mapping");
}

static void check_memfd(void)
{
	char page[PS];

	PROG_CHECK(same_file(s.memfd_shared, LEN, s.memfd_fd) &&
		   same_file(s.memfd_priv, LEN, s.memfd_fd), "memfd: the mappings and the fd "
		   "are not one file");
	PROG_CHECK(deleted_name(map_link(s.memfd_shared, LEN), "/memfd:prog_deleted_maps"),
		   "memfd mapped as '%s'", map_link(s.memfd_shared, LEN));
	PROG_CHECK(page_is(s.memfd_shared, 3, 0, 0) && page_is(s.memfd_shared + PS, 3, 1, 0) &&
		   page_is(s.memfd_shared + 2 * PS, 3, 2, 2), "memfd, shared mapping: contents");
	PROG_CHECK(page_is(s.memfd_priv, 3, 0, 0) && page_is(s.memfd_priv + PS, 3, 1, 1) &&
		   page_is(s.memfd_priv + 2 * PS, 3, 2, 2), "memfd, private mapping: contents");
	fill_page(s.memfd_shared + 3 * PS, 3, 3, 3);
	PROG_CHECK(pread(s.memfd_fd, page, PS, 3 * PS) == PS && page_is(page, 3, 3, 3),
		   "memfd: a write to the shared mapping is not seen through the fd");
	PROG_CHECK(page_is(s.memfd_priv + 3 * PS, 3, 3, 3),
		   "memfd: the private mapping does not see the shared one's write");
	fill_page(page, 3, 0, 4);
	PROG_CHECK(pwrite(s.memfd_fd, page, PS, 0) == PS && page_is(s.memfd_shared, 3, 0, 4),
		   "memfd: a write through the fd is not seen in the mapping");
	PROG_CHECK(page_is(s.memfd_priv + PS, 3, 1, 1), "memfd: the private copy changed");
}

static void check_sealed(void)
{
	size_t len = (size_t)SEALED_PAGES * PS;
	char path[96];
	struct stat st;
	int fd, seals = -1;

	PROG_CHECK(deleted_name(map_link(s.sealed, len), "/memfd:prog_deleted_maps sealed"),
		   "sealed memfd mapped as '%s'", map_link(s.sealed, len));
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)s.sealed,
		 (unsigned long)s.sealed + len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		seals = fcntl(fd, F_GET_SEALS);
		PROG_CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)len, "sealed memfd size %jd",
			   (intmax_t)st.st_size);
		close(fd);
	}
	PROG_CHECK(seals == SEALED_SEALS, "sealed memfd: seals %#x, not %#x", seals,
		   SEALED_SEALS);
	for (int i = 0; i < SEALED_PAGES; i++) {
		static const char zero[PS];
		const char *p = s.sealed + (size_t)i * PS;

		if (!PROG_CHECK(i % 3 ? !memcmp(p, zero, PS) : page_is(p, 4, i % 4, 0),
				"sealed memfd: page %d", i))
			break;
	}
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	setup();
	prog_ready();
	prog_wait_sigterm();

	check_deleted_no_fd();
	check_deleted_with_fd();
	check_memfd();
	check_sealed();
	prog_finish();
}
