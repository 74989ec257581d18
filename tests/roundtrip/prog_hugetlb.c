/* Hugetlb memory of 2 MiB pages (the runner reserves a pool for it): shared
 * anonymous MAP_HUGETLB memory of two pages, the first written, and a
 * hugetlb memfd of two pages, sealed against growing and shrinking,
 * mapped twice, both shared with a child, which also inherits a copy of a
 * private MAP_HUGETLB page; then, in the parent alone, private MAP_HUGETLB
 * memory of four pages of which two were written and one written with
 * zeros only. And files of a hugetlbfs mount of its own (PROG_DIR/huge,
 * which the runner unmounts): one mapped shared, one mapped private with
 * a page copied, an fd at an offset, and two deleted files, one held by
 * an fd and a mapping, one by a mapping alone. And a SysV segment of two
 * huge pages (SHM_HUGETLB), the first written, the second never touched,
 * attached twice (once read-only) and marked for removal.
 * After restore: every byte, each mapping's KernelPageSize, the private
 * mapping's Private_Hugetlb (pages never touched stay untouched, the page
 * of zeros is there), the memfd's seals, size and name, that parent and
 * child still share both objects, and that the files' mappings are the
 * files' (see hugetlbfs_check()); the segment's id, size, mode, attach
 * count and resident size (one huge page: the kernel's rss column of
 * /proc/sysvipc/shm, compared with its value before), and that both
 * attachments are of it (see sysv_check()). With "alone", no child, and 16 MiB of
 * ordinary memory more: dump reads the private memory through the
 * parasite (vmsplice, from 16 MiB), not /proc/PID/mem. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define HUGE (2ul << 20)
#define PRIVATE_PAGES 4
#define SPLICED (16ul << 20)
#define CHILD_WROTE 'c'
#define PARENT_WROTE 'p'

static unsigned char pattern(size_t i, unsigned salt)
{
	return (unsigned char)(i * 31 + (i >> 12) + salt);
}

static void fill(unsigned char *mem, size_t len, unsigned salt)
{
	for (size_t i = 0; i < len; i++)
		mem[i] = pattern(i, salt);
}

static bool holds(const unsigned char *mem, size_t len, unsigned salt, const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (mem[i] != pattern(i, salt))
			return prog_fail("%s: byte %zu is %#x, not %#x", what, i, mem[i],
					 pattern(i, salt));
	return true;
}

static bool zeros(const unsigned char *mem, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (mem[i])
			return prog_fail("%s: byte %zu is %#x, not 0", what, i, mem[i]);
	return true;
}

/* A field ("KernelPageSize:", "Private_Hugetlb:") of the smaps entry that starts at
 * @mem, in kB; -1 when not found. */
static long smaps_kb(const void *mem, const char *field)
{
	char line[512];
	unsigned long start, end;
	bool in_it = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (line[strspn(line, "0123456789abcdef")] == '-' &&
		    sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in_it = start == (unsigned long)mem;
		else if (in_it && !strncmp(line, field, strlen(field)))
			kb = strtol(line + strlen(field), NULL, 10);
	}
	if (f)
		fclose(f);
	return kb;
}

static void check_page_size(const void *mem, const char *what)
{
	long kb = smaps_kb(mem, "KernelPageSize:");

	PROG_CHECK(kb == 2048, "%s: KernelPageSize %ld kB, not 2048", what, kb);
}

/* The files of the hugetlbfs mount. */
struct hugetlbfs_files {
	char dir[4096];
	unsigned char *shared;		/* "shared", 2 pages, page 0 written */
	unsigned char *cow;		/* "private", 2 pages mapped private: page 0 copied */
	unsigned char *ghost;		/* "ghost", deleted, 2 pages: page 1 written */
	unsigned char *ghost_mapped;	/* "ghost-mapped", deleted, 1 page, no fd */
	int private_fd, offset_fd, ghost_fd;
};

#define OFFSET_FD_AT (3 * 4096 + 5)

static unsigned char *map_file(const struct hugetlbfs_files *h, const char *name, int *fd_out,
			       int prot, int flags)
{
	char path[4200];
	unsigned char *mem;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(2 * HUGE)))
		return MAP_FAILED;
	mem = mmap(NULL, 2 * HUGE, prot, flags, fd, 0);
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return mem;
}

static bool hugetlbfs_setup(struct hugetlbfs_files *h)
{
	char path[4200];
	unsigned char *file;
	int fd;

	snprintf(h->dir, sizeof(h->dir), "%s/huge", prog_dir());
	if ((mkdir(h->dir, 0700) && errno != EEXIST) ||
	    mount("cryo-test", h->dir, "hugetlbfs", 0, "pagesize=2M"))
		return false;
	h->shared = map_file(h, "shared", NULL, PROT_READ | PROT_WRITE, MAP_SHARED);
	/* The private file's bytes, written through a shared mapping first. */
	file = map_file(h, "private", &h->private_fd, PROT_READ | PROT_WRITE, MAP_SHARED);
	h->ghost = map_file(h, "ghost", &h->ghost_fd, PROT_READ | PROT_WRITE, MAP_SHARED);
	h->ghost_mapped = map_file(h, "ghost-mapped", NULL, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (h->shared == MAP_FAILED || file == MAP_FAILED || h->ghost == MAP_FAILED ||
	    h->ghost_mapped == MAP_FAILED)
		return false;
	fill(h->shared, HUGE, 10);
	fill(file, HUGE, 11);
	fill(file + HUGE, HUGE, 11);
	munmap(file, 2 * HUGE);
	h->cow = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, h->private_fd, 0);
	if (h->cow == MAP_FAILED)
		return false;
	fill(h->cow, HUGE, 12);
	if (h->cow[HUGE] != pattern(0, 11))
		return false;
	fill(h->ghost + HUGE, HUGE, 13);
	fill(h->ghost_mapped, HUGE, 14);
	munmap(h->ghost_mapped + HUGE, HUGE);
	snprintf(path, sizeof(path), "%s/shared", h->dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || lseek(fd, OFFSET_FD_AT, SEEK_SET) != OFFSET_FD_AT)
		return false;
	h->offset_fd = fd;
	snprintf(path, sizeof(path), "%s/ghost", h->dir);
	if (unlink(path))
		return false;
	snprintf(path, sizeof(path), "%s/ghost-mapped", h->dir);
	return !unlink(path);
}

/* @mem sees a byte written through @other, and @other one through @mem;
 * both put back (the file outlives a leave-running original). */
static void sees_both_ways(volatile unsigned char *mem, volatile unsigned char *other,
			   size_t at, const char *what)
{
	unsigned char was = mem[at];

	other[at] = (unsigned char)~was;
	PROG_CHECK(mem[at] == (unsigned char)~was, "%s: a write to the file is not seen", what);
	mem[at] = was;
	PROG_CHECK(other[at] == was, "%s: a write to the mapping is not in the file", what);
}

static void hugetlbfs_check(const struct hugetlbfs_files *h)
{
	unsigned char byte = 0, *other;
	char link[64], target[4300] = "";
	struct statfs fs;
	struct stat st;

	/* The shared file: its bytes, and writes both ways with a new mapping. */
	holds(h->shared, HUGE, 10, "hugetlbfs file, page 0");
	check_page_size(h->shared, "hugetlbfs file");
	other = map_file(h, "shared", NULL, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (PROG_CHECK(other != MAP_FAILED, "map the hugetlbfs file again")) {
		sees_both_ways(h->shared, other, 5, "hugetlbfs file, page 0");
		sees_both_ways(h->shared, other, HUGE + 7, "hugetlbfs file, page 1");
		munmap(other, 2 * HUGE);
	}
	/* The private mapping: its copy, the file's page 1 (which follows
	 * the file), and the file still as it was written. */
	holds(h->cow, HUGE, 12, "private mapping of a hugetlbfs file, its copy");
	holds(h->cow + HUGE, HUGE, 11, "private mapping of a hugetlbfs file, page 1");
	check_page_size(h->cow, "private mapping of a hugetlbfs file");
	PROG_CHECK(pread(h->private_fd, &byte, 1, 1) == 1 && byte == pattern(1, 11),
		   "the private mapping's copy went into the file: byte 1 is %#x", byte);
	other = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, h->private_fd, 0);
	if (PROG_CHECK(other != MAP_FAILED, "map the private file shared")) {
		other[HUGE + 9] ^= 0xff;
		PROG_CHECK(h->cow[HUGE + 9] == other[HUGE + 9],
			   "private mapping of a hugetlbfs file: page 1 is not the file's");
		other[HUGE + 9] ^= 0xff;
		munmap(other, 2 * HUGE);
	}
	/* The fd: its offset, size and file system. */
	PROG_CHECK(lseek(h->offset_fd, 0, SEEK_CUR) == OFFSET_FD_AT, "fd offset %lld",
		   (long long)lseek(h->offset_fd, 0, SEEK_CUR));
	PROG_CHECK(!fstat(h->offset_fd, &st) && st.st_size == (off_t)(2 * HUGE),
		   "hugetlbfs file size %lld", (long long)st.st_size);
	PROG_CHECK(!fstatfs(h->offset_fd, &fs) && fs.f_type == HUGETLBFS_MAGIC &&
		   fs.f_bsize == (long)HUGE, "fd's file system %#lx, block size %ld",
		   (long)fs.f_type, (long)fs.f_bsize);
	/* The deleted files: bytes, holes, size, the fd and mapping one file. */
	zeros(h->ghost, HUGE, "deleted hugetlbfs file, page 0");
	holds(h->ghost + HUGE, HUGE, 13, "deleted hugetlbfs file, page 1");
	holds(h->ghost_mapped, HUGE, 14, "deleted hugetlbfs file mapped only");
	check_page_size(h->ghost, "deleted hugetlbfs file");
	check_page_size(h->ghost_mapped, "deleted hugetlbfs file mapped only");
	PROG_CHECK(!fstat(h->ghost_fd, &st) && st.st_size == (off_t)(2 * HUGE) && !st.st_nlink,
		   "deleted hugetlbfs file: size %lld, %lu links", (long long)st.st_size,
		   (unsigned long)st.st_nlink);
	PROG_CHECK(!fstatfs(h->ghost_fd, &fs) && fs.f_type == HUGETLBFS_MAGIC,
		   "deleted file's file system %#lx", (long)fs.f_type);
	h->ghost[HUGE + 3] ^= 0xff;
	PROG_CHECK(pread(h->ghost_fd, &byte, 1, HUGE + 3) == 1 && byte == h->ghost[HUGE + 3],
		   "deleted hugetlbfs file: its fd and mapping are not one file");
	h->ghost[HUGE + 3] ^= 0xff;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", h->ghost_fd);
	PROG_CHECK(readlink(link, target, sizeof(target) - 1) > 0 &&
		   strstr(target, "/huge/ghost (deleted)"), "deleted file's link '%s'", target);
}

/* The SysV segment of huge pages, attached twice. */
struct sysv_huge {
	int id;
	unsigned char *rw, *ro;
	char rss[32];		/* its rss in /proc/sysvipc/shm before the dump */
};

/* The rss column of segment @id in /proc/sysvipc/shm (the kernel's count:
 * compared, never computed), "" when not found. */
static void sysv_rss(int id, char *out, size_t size)
{
	char line[512], rss[32];
	int shmid;
	FILE *f = fopen("/proc/sysvipc/shm", "r");

	*out = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %d %*o %*u %*d %*d %*u %*u %*u %*u %*u %*u %*u %*u %31s",
			   &shmid, rss) == 2 && shmid == id)
			snprintf(out, size, "%s", rss);
	if (f)
		fclose(f);
}

static bool sysv_setup(struct sysv_huge *s)
{
	s->id = shmget(IPC_PRIVATE, 2 * HUGE, IPC_CREAT | SHM_HUGETLB | 0640);
	if (s->id < 0)
		return false;
	s->rw = shmat(s->id, NULL, 0);
	s->ro = shmat(s->id, NULL, SHM_RDONLY);
	/* Removed: it goes with the program, and its key is private. */
	if (s->rw == (void *)-1 || s->ro == (void *)-1 || shmctl(s->id, IPC_RMID, NULL))
		return false;
	fill(s->rw, HUGE, 15);
	sysv_rss(s->id, s->rss, sizeof(s->rss));
	return s->rss[0] && strcmp(s->rss, "0");
}

static void sysv_check(const struct sysv_huge *s)
{
	struct shmid_ds ds;
	char rss[32];

	/* Before any page is read: reading page 1 would make it. */
	sysv_rss(s->id, rss, sizeof(rss));
	PROG_CHECK(!strcmp(rss, s->rss), "SysV segment %d: rss %s, not %s as before (page 1 "
		   "made, or page 0 lost)", s->id, rss, s->rss);
	if (PROG_CHECK(!shmctl(s->id, IPC_STAT, &ds), "SysV segment %d is gone", s->id))
		PROG_CHECK(ds.shm_segsz == 2 * HUGE && ds.shm_nattch == 2 &&
			   (ds.shm_perm.mode & 0777) == 0640 && (ds.shm_perm.mode & SHM_DEST),
			   "SysV segment: size %zu, %lu attachments, mode %#o",
			   (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch,
			   (unsigned)ds.shm_perm.mode);
	check_page_size(s->rw, "SysV segment");
	check_page_size(s->ro, "SysV segment, read-only attachment");
	holds(s->rw, HUGE, 15, "SysV segment, page 0");
	holds(s->ro, HUGE, 15, "SysV segment read-only, page 0");
	s->rw[HUGE + 11] = 0x5a;
	PROG_CHECK(s->ro[HUGE + 11] == 0x5a, "the SysV segment's attachments are not one segment");
	s->rw[HUGE + 11] = 0;
	zeros(s->ro + HUGE, HUGE, "SysV segment, page 1");
}

/* The child: waits for SIGTERM, then finds the parent's new bytes in both
 * objects and answers with its own. */
static void __attribute__((noreturn)) child_main(volatile unsigned char *shm,
						 volatile unsigned char *memfd_map,
						 const unsigned char *early)
{
	prog_wait_sigterm();
	for (size_t i = 0; i < HUGE; i++)
		if (early[i] != pattern(i, 5))
			_exit(3);
	if (shm[HUGE - 1] != PARENT_WROTE || memfd_map[HUGE - 1] != PARENT_WROTE)
		_exit(2);
	shm[HUGE - 2] = CHILD_WROTE;
	memfd_map[HUGE - 2] = CHILD_WROTE;
	_exit(0);
}

int main(int argc, char **argv)
{
	unsigned char *shm, *priv, *map_a, *map_b, *early, *plain = NULL;
	struct hugetlbfs_files files;
	struct sysv_huge sysv;
	char link[64], target[128] = "";
	int fd, status, seals;
	struct stat st;
	pid_t child = 0;
	bool alone;

	prog_init(argc, argv);
	alone = optind < argc && !strcmp(argv[optind], "alone");
	if (alone) {
		plain = mmap(NULL, SPLICED, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
		if (plain == MAP_FAILED)
			return 1;
		fill(plain, SPLICED, 6);
	}
	shm = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB,
		   -1, 0);
	fd = memfd_create("huge", MFD_HUGETLB | MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (shm == MAP_FAILED || fd < 0 || ftruncate(fd, 2 * HUGE)) {
		perror("prog_hugetlb: MAP_HUGETLB or MFD_HUGETLB (is vm.nr_hugepages set?)");
		return 1;
	}
	map_a = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	map_b = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map_a == MAP_FAILED || map_b == MAP_FAILED ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)) {
		perror("prog_hugetlb: the memfd");
		return 1;
	}
	early = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		     -1, 0);
	if (early == MAP_FAILED) {
		perror("prog_hugetlb: private MAP_HUGETLB before the fork");
		return 1;
	}
	fill(shm, HUGE, 1);
	fill(map_a, HUGE, 2);
	fill(early, HUGE, 5);
	if (!alone)
		child = fork();
	if (child < 0)
		return 1;
	if (!alone && child == 0)
		child_main(shm, map_a, early);
	/* After the fork: the child has no copy of it. Page 0 full, page 1
	 * written with zeros, page 2 written in its first 4 KiB only, page 3
	 * never touched. */
	priv = mmap(NULL, PRIVATE_PAGES * HUGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (priv == MAP_FAILED) {
		perror("prog_hugetlb: private MAP_HUGETLB");
		if (child > 0)
			kill(child, SIGKILL);
		return 1;
	}
	fill(priv, HUGE, 3);
	fill(priv + 2 * HUGE, 4096, 4);
	memset(priv + HUGE, 0, HUGE);
	if (!hugetlbfs_setup(&files) || !sysv_setup(&sysv)) {
		perror("prog_hugetlb: the files of a hugetlbfs mount, or the SysV segment");
		if (child > 0)
			kill(child, SIGKILL);
		return 1;
	}
	prog_ready();
	prog_wait_sigterm();

	holds(shm, HUGE, 1, "shared memory, page 0");
	zeros(shm + HUGE, HUGE, "shared memory, page 1");
	holds(map_a, HUGE, 2, "memfd, page 0");
	zeros(map_a + HUGE, HUGE, "memfd, page 1");
	holds(early, HUGE, 5, "private memory made before the fork");
	check_page_size(early, "private memory made before the fork");
	holds(priv, HUGE, 3, "private memory, page 0");
	holds(priv + 2 * HUGE, 4096, 4, "private memory, page 2");
	zeros(priv + 2 * HUGE + 4096, HUGE - 4096, "private memory, rest of page 2");
	check_page_size(shm, "shared memory");
	check_page_size(map_a, "memfd's first mapping");
	check_page_size(map_b, "memfd's second mapping");
	check_page_size(priv, "private memory");
	/* Before page 3 is read: only the three written pages, page 1 with
	 * zeros (hugetlb pages are not in Rss). */
	PROG_CHECK(smaps_kb(priv, "Private_Hugetlb:") == 3 * 2048,
		   "private memory: Private_Hugetlb %ld kB, not %d",
		   smaps_kb(priv, "Private_Hugetlb:"), 3 * 2048);
	zeros(priv + HUGE, HUGE, "private memory, page 1");
	zeros(priv + 3 * HUGE, HUGE, "private memory, page 3");

	seals = fcntl(fd, F_GET_SEALS);
	PROG_CHECK(seals == (F_SEAL_SHRINK | F_SEAL_GROW), "memfd seals %#x", seals);
	PROG_CHECK(!fstat(fd, &st) && st.st_size == (off_t)(2 * HUGE), "memfd size %lld",
		   (long long)st.st_size);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	PROG_CHECK(readlink(link, target, sizeof(target) - 1) > 0 &&
		   !strcmp(target, "/memfd:huge (deleted)"), "memfd link '%s'", target);
	/* The two mappings of the memfd are one file. */
	map_a[100] ^= 0xff;
	PROG_CHECK(map_b[100] == map_a[100], "the memfd's second mapping does not see the first");
	map_a[100] ^= 0xff;
	hugetlbfs_check(&files);
	sysv_check(&sysv);
	if (alone) {
		holds(plain, SPLICED, 6, "ordinary memory");
		prog_finish();
	}

	/* Still shared with the child, both ways. */
	shm[HUGE - 1] = PARENT_WROTE;
	map_a[HUGE - 1] = PARENT_WROTE;
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   !WEXITSTATUS(status), "the child did not see the parent's bytes (2) or "
		   "its copy of the private page (3): status %#x", status);
	PROG_CHECK(shm[HUGE - 2] == CHILD_WROTE, "the child's byte is not in the shared memory");
	PROG_CHECK(map_b[HUGE - 2] == CHILD_WROTE, "the child's byte is not in the memfd");
	prog_finish();
}
