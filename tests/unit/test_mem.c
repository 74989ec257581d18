/* Dump of a real process: a forked child lays out known mappings, is seized
 * and dumped, and the image must hold exactly its mappings (kinds, flags,
 * names) and the pages it wrote, byte for byte. Bad images: test_mem_load.c. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <linux/prctl.h>

#include "harness.h"
#include "test_images_util.h"
#include "files/files.h"
#include "images/format.h"
#include "images/pages.h"
#include "images/proto/pagemap.pb-c.h"
#include "inject/inject.h"
#include "mem/mm.h"
#include "mem/pagescan.h"
#include "mem/vma.h"

#define PS 4096ull
#define TIB (1ull << 40)
#define WINDOWS 4
#define WINDOW_SIZE (4ull << 20)
#define NR_MADV 6

static const uint64_t window_offsets[WINDOWS] = { 0, 3ull << 30, 300ull << 30, TIB - WINDOW_SIZE };

static const struct {
	int advice;
	uint32_t bit;
	const char *name;
} madv[NR_MADV] = {
	{ MADV_DONTFORK, VMA_MADV_DONTFORK, "MADV_DONTFORK" },
	{ MADV_WIPEONFORK, VMA_MADV_WIPEONFORK, "MADV_WIPEONFORK" },
	{ MADV_HUGEPAGE, VMA_MADV_HUGEPAGE, "MADV_HUGEPAGE" },
	{ MADV_NOHUGEPAGE, VMA_MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE" },
	{ MADV_DONTDUMP, VMA_MADV_DONTDUMP, "MADV_DONTDUMP" },
	{ MADV_MERGEABLE, VMA_MADV_MERGEABLE, "MADV_MERGEABLE" },
};

/* Where the child put everything, written by it into shared memory. */
struct layout {
	uint64_t anon;		/* 64 pages; pages 10-19 never touched */
	uint64_t prot_none;	/* 16 pages, PROT_NONE */
	uint64_t tib;		/* 1 TiB reservation; WINDOWS windows of data */
	uint64_t shared_anon;	/* 8 pages; pages 0-3 written */
	uint64_t cow;		/* private map of "cow file", 4 pages read, page 2 written */
	uint64_t shared_file;	/* shared map of "shared file", 4 pages written */
	uint64_t deleted;	/* private map of "del me.dat", read, then unlinked */
	uint64_t literal;	/* private map of "x (deleted)", which exists */
	uint64_t memfd;		/* 4 pages of a memfd, shared, written */
	uint64_t growsdown;	/* 16 pages MAP_GROWSDOWN, top page written */
	uint64_t madv[NR_MADV];	/* 4 pages each, written, one madvise each */
	bool madv_ok[NR_MADV];
	uint64_t named;		/* 4 pages named "cryo-test-name" */
	bool named_ok;
	uint64_t hidden;	/* 4 pages written, then page 1 PROT_NONE */
	uint64_t write_only;	/* 2 pages written, then PROT_WRITE only */
	uint64_t zero_read;	/* 8 pages read, never written */
	uint64_t sysv;		/* 4 pages of SysV shm, 2 written */
	uint64_t heap;		/* 4 pages of brk heap, written */
	int shmid;
	char error[256];	/* the child's setup or self-check failure */
};

enum {
	SEED_ANON = 1, SEED_TIB, SEED_SHARED, SEED_FILE, SEED_COW, SEED_SHARED_FILE, SEED_DELETED,
	SEED_MEMFD, SEED_GROWSDOWN, SEED_MADV, SEED_NAMED = SEED_MADV + NR_MADV, SEED_HIDDEN,
	SEED_WRITE_ONLY, SEED_SYSV, SEED_HEAP,
};

static uint64_t pattern_word(uint64_t addr, unsigned seed)
{
	return ((addr + seed) * 0x9e3779b97f4a7c15ull) | 1;
}

static void fill(uint64_t start, uint64_t len, unsigned seed)
{
	for (uint64_t a = start; a < start + len; a += 8)
		*(volatile uint64_t *)a = pattern_word(a, seed);
}

/* Whether @len bytes at @buf are the pattern of @seed for address @addr. */
static bool has_pattern(const void *buf, uint64_t addr, uint64_t len, unsigned seed)
{
	const uint64_t *w = buf;

	for (uint64_t i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(addr + i * 8, seed))
			return false;
	return true;
}

/* A file of @pages pages holding the pattern of @seed by file offset. */
static int make_file(const char *dir, const char *name, unsigned pages, unsigned seed)
{
	_cleanup_free_ char *path = path_join(dir, name);
	_cleanup_free_ uint64_t *buf = malloc(pages * PS);

	if (!path || !buf)
		return -1;
	for (uint64_t i = 0; i < pages * PS / 8; i++)
		buf[i] = pattern_word(i * 8, seed);
	return write_file(path, buf, pages * PS);
}

/* Maps with a free page on each side, so the kernel cannot merge the
 * mapping with a neighbour and each test area is one VMA of its own. */
static uint64_t map_area(uint64_t len, int prot, int flags, int fd, off_t off)
{
	char *hole = mmap(NULL, len + 2 * PS, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *p;

	if (hole == MAP_FAILED)
		return 0;
	munmap(hole, len + 2 * PS);
	p = mmap(hole + PS, len, prot, flags | MAP_FIXED_NOREPLACE, fd, off);
	return p == MAP_FAILED ? 0 : (uint64_t)p;
}

/* Reads a small /proc file into @buf as a string; false on failure. */
static bool read_proc_text(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static void touch_read(uint64_t start, uint64_t len)
{
	for (uint64_t a = start; a < start + len; a += PS)
		(void)*(volatile const char *)a;
}

static uint64_t map_file(const char *dir, const char *name, uint64_t len, int prot, int flags)
{
	_cleanup_free_ char *path = path_join(dir, name);
	_cleanup_close_ int fd = path ? open(path, prot & PROT_WRITE ? O_RDWR : O_RDONLY) : -1;

	return fd < 0 ? 0 : map_area(len, prot, flags, fd, 0);
}

#define SETUP_CHECK(cond, ...)                                                     \
	do {                                                                      \
		if (!(cond)) {                                                    \
			snprintf(l->error, sizeof(l->error), __VA_ARGS__);        \
			return -1;                                                \
		}                                                                 \
	} while (0)

/* Runs in the child. */
static int set_up_mappings(struct layout *l, const char *dir)
{
	_cleanup_free_ char *deleted = path_join(dir, "del me.dat");
	int fd;

	l->anon = map_area(64 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP_CHECK(l->anon, "anon: %s", strerror(errno));
	fill(l->anon, 10 * PS, SEED_ANON);
	fill(l->anon + 20 * PS, 44 * PS, SEED_ANON);

	l->prot_none = map_area(16 * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP_CHECK(l->prot_none, "prot_none: %s", strerror(errno));

	l->tib = map_area(TIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	SETUP_CHECK(l->tib, "1 TiB reservation: %s", strerror(errno));
	for (int w = 0; w < WINDOWS; w++) {
		uint64_t win = l->tib + window_offsets[w];

		SETUP_CHECK(!mprotect((void *)win, WINDOW_SIZE, PROT_READ | PROT_WRITE),
			    "window %d: %s", w, strerror(errno));
		fill(win, WINDOW_SIZE, SEED_TIB);
	}

	l->shared_anon = map_area(8 * PS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SETUP_CHECK(l->shared_anon, "shared anon: %s", strerror(errno));
	fill(l->shared_anon, 4 * PS, SEED_SHARED);

	l->cow = map_file(dir, "cow file", 4 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	SETUP_CHECK(l->cow, "cow file: %s", strerror(errno));
	touch_read(l->cow, 4 * PS);
	fill(l->cow + 2 * PS, PS, SEED_COW);

	l->shared_file = map_file(dir, "shared file", 4 * PS, PROT_READ | PROT_WRITE, MAP_SHARED);
	SETUP_CHECK(l->shared_file, "shared file: %s", strerror(errno));
	fill(l->shared_file, 4 * PS, SEED_SHARED_FILE);

	l->deleted = map_file(dir, "del me.dat", 2 * PS, PROT_READ, MAP_PRIVATE);
	SETUP_CHECK(l->deleted && deleted && !unlink(deleted), "deleted file: %s", strerror(errno));
	touch_read(l->deleted, 2 * PS);

	l->literal = map_file(dir, "x (deleted)", PS, PROT_READ, MAP_PRIVATE);
	SETUP_CHECK(l->literal, "x (deleted): %s", strerror(errno));
	touch_read(l->literal, PS);

	fd = memfd_create("cryo test memfd", MFD_CLOEXEC);
	SETUP_CHECK(fd >= 0 && !ftruncate(fd, 4 * PS), "memfd: %s", strerror(errno));
	l->memfd = map_area(4 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	SETUP_CHECK(l->memfd, "memfd map: %s", strerror(errno));
	fill(l->memfd, 4 * PS, SEED_MEMFD);

	l->growsdown = map_area(16 * PS, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	SETUP_CHECK(l->growsdown, "growsdown: %s", strerror(errno));
	fill(l->growsdown + 15 * PS, PS, SEED_GROWSDOWN);

	for (int i = 0; i < NR_MADV; i++) {
		l->madv[i] = map_area(4 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				      -1, 0);
		SETUP_CHECK(l->madv[i], "%s area: %s", madv[i].name, strerror(errno));
		fill(l->madv[i], 4 * PS, SEED_MADV + i);
		/* KSM or THP may be missing from the kernel: then the bit
		 * cannot be expected. */
		l->madv_ok[i] = !madvise((void *)l->madv[i], 4 * PS, madv[i].advice);
	}

	l->named = map_area(4 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP_CHECK(l->named, "named: %s", strerror(errno));
	fill(l->named, 4 * PS, SEED_NAMED);
	l->named_ok = !prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, l->named, 4 * PS, "cryo-test-name");

	l->hidden = map_area(4 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP_CHECK(l->hidden, "hidden: %s", strerror(errno));
	fill(l->hidden, 4 * PS, SEED_HIDDEN);
	SETUP_CHECK(!mprotect((void *)(l->hidden + PS), PS, PROT_NONE), "hidden: %s",
		    strerror(errno));

	l->write_only = map_area(2 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP_CHECK(l->write_only, "write_only: %s", strerror(errno));
	fill(l->write_only, 2 * PS, SEED_WRITE_ONLY);
	SETUP_CHECK(!mprotect((void *)l->write_only, 2 * PS, PROT_WRITE), "write_only: %s",
		    strerror(errno));

	l->zero_read = map_area(8 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP_CHECK(l->zero_read, "zero_read: %s", strerror(errno));
	touch_read(l->zero_read, 8 * PS);

	/* Removed at once: it goes away with the child. */
	l->shmid = shmget(IPC_PRIVATE, 4 * PS, IPC_CREAT | 0600);
	SETUP_CHECK(l->shmid >= 0, "shmget: %s", strerror(errno));
	l->sysv = (uint64_t)shmat(l->shmid, NULL, 0);
	shmctl(l->shmid, IPC_RMID, NULL);
	SETUP_CHECK(l->sysv != (uint64_t)-1, "shmat: %s", strerror(errno));
	fill(l->sysv, 2 * PS, SEED_SYSV);

	/* The sanitizer's malloc does not use brk: grow the heap by hand. */
	l->heap = (uint64_t)sbrk(4 * PS);
	SETUP_CHECK(l->heap != (uint64_t)-1 && !(l->heap % PS), "sbrk: %s", strerror(errno));
	fill(l->heap, 4 * PS, SEED_HEAP);
	return 0;
}

/* Runs in the child after the dump: everything must be as it was set up. */
static int self_check(struct layout *l, const char *dir)
{
	_cleanup_free_ char *cow = path_join(dir, "cow file");
	uint64_t file_page[PS / 8];
	_cleanup_close_ int fd = cow ? open(cow, O_RDONLY) : -1;

	SETUP_CHECK(has_pattern((void *)l->anon, l->anon, 10 * PS, SEED_ANON) &&
		    has_pattern((void *)(l->anon + 20 * PS), l->anon + 20 * PS, 44 * PS, SEED_ANON),
		    "anon pattern changed");
	for (int w = 0; w < WINDOWS; w++) {
		uint64_t win = l->tib + window_offsets[w];

		SETUP_CHECK(has_pattern((void *)win, win, WINDOW_SIZE, SEED_TIB), "window %d changed", w);
	}
	SETUP_CHECK(has_pattern((void *)l->cow + 2 * PS, l->cow + 2 * PS, PS, SEED_COW),
		    "copied-on-write page changed");
	SETUP_CHECK(fd >= 0 && pread(fd, file_page, PS, 2 * PS) == PS &&
		    has_pattern(file_page, 2 * PS, PS, SEED_FILE) &&
		    has_pattern((void *)l->cow, 0, PS, SEED_FILE),
		    "the file under the copied-on-write page changed");
	SETUP_CHECK(has_pattern((void *)l->memfd, l->memfd, 4 * PS, SEED_MEMFD), "memfd changed");
	SETUP_CHECK(!mprotect((void *)(l->hidden + PS), PS, PROT_READ) &&
		    has_pattern((void *)l->hidden, l->hidden, 4 * PS, SEED_HIDDEN) &&
		    !mprotect((void *)(l->hidden + PS), PS, PROT_NONE),
		    "the hidden page changed");
	SETUP_CHECK(!mprotect((void *)l->write_only, 2 * PS, PROT_READ | PROT_WRITE) &&
		    has_pattern((void *)l->write_only, l->write_only, 2 * PS, SEED_WRITE_ONLY) &&
		    !mprotect((void *)l->write_only, 2 * PS, PROT_WRITE),
		    "the write-only pages changed");
	SETUP_CHECK(has_pattern((void *)l->sysv, l->sysv, 2 * PS, SEED_SYSV), "SysV shm changed");
	SETUP_CHECK(has_pattern((void *)l->heap, l->heap, 4 * PS, SEED_HEAP) &&
		    (uint64_t)sbrk(0) == l->heap + 4 * PS, "heap changed");
	return 0;
}

/* ---- the child -------------------------------------------------------------- */

struct child {
	pid_t pid;
	int cmd;		/* we write a command byte, it answers on @ack */
	int ack;
	struct layout *layout;	/* shared with the child */
	char *dir;		/* its files */
};

/* Pinned to one CPU, the child's memory holds still between the dump and
 * the comparison: the kernel rewrites the cpu number in a thread's rseq
 * area when it moves to another CPU. */
static void pin_to_one_cpu(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static void child_main(struct layout *l, const char *dir, int cmd, int ack)
{
	char c;

	pin_to_one_cpu();
	c = set_up_mappings(l, dir) ? 'E' : 'R';

	if (write(ack, &c, 1) != 1 || c == 'E')
		_exit(1);
	while (read(cmd, &c, 1) == 1) {
		c = self_check(l, dir) ? 'E' : 'K';
		if (write(ack, &c, 1) != 1)
			break;
	}
	_exit(0);
}

static void child_stop(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->cmd >= 0)
		close(c->cmd);
	if (c->ack >= 0)
		close(c->ack);
	if (c->layout)
		munmap(c->layout, sizeof(*c->layout));
	remove_tree(c->dir);
	memset(c, 0, sizeof(*c));
	c->cmd = c->ack = -1;
}

/* Starts a child with the test mappings; returns NULL or why it failed. */
/* Whether @pid is asleep in read(2) within a few seconds. The child's first
 * read() after 'R' may still be resolving its PLT entry, which writes
 * ld.so's counters: a dump taken then sees them change afterwards. */
static bool child_waits_in_read(pid_t pid)
{
	char path[64], text[64];

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	for (int i = 0; i < 5000; i++) {
		_cleanup_close_ int fd = open(path, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

		if (n > 0) {
			text[n] = 0;
			if (!strncmp(text, "0 ", 2))
				return true;
		}
		usleep(1000);
	}
	return false;
}

static const char *child_start(struct child *c)
{
	static char why[320];
	int to_child[2], to_us[2];
	char ready;

	memset(c, 0, sizeof(*c));
	c->cmd = c->ack = -1;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	c->dir = make_temp_dir();
	c->layout = mmap(NULL, sizeof(*c->layout), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!c->dir || c->layout == MAP_FAILED) {
		c->layout = NULL;
		return "cannot make the child's directory or layout page";
	}
	if (make_file(c->dir, "cow file", 4, SEED_FILE) ||
	    make_file(c->dir, "shared file", 4, SEED_FILE) ||
	    make_file(c->dir, "del me.dat", 2, SEED_DELETED) ||
	    make_file(c->dir, "x (deleted)", 1, SEED_FILE))
		return "cannot create the files to map";
	if (pipe2(to_child, O_CLOEXEC) || pipe2(to_us, O_CLOEXEC))
		return "pipe failed";
	fflush(stdout);
	c->pid = fork();
	if (c->pid == 0) {
		close(to_child[1]);
		close(to_us[0]);
		child_main(c->layout, c->dir, to_child[0], to_us[1]);
	}
	close(to_child[0]);
	close(to_us[1]);
	c->cmd = to_child[1];
	c->ack = to_us[0];
	if (c->pid < 0)
		return "fork failed";
	if (read(c->ack, &ready, 1) != 1 || ready != 'R') {
		snprintf(why, sizeof(why), "child setup failed: %s", c->layout->error);
		return why;
	}
	if (!child_waits_in_read(c->pid))
		return "the child never blocked reading its commands";
	return NULL;
}

/* Asks the child to check its own memory; NULL or what differed. */
static const char *child_self_check(struct child *c)
{
	char answer = 0;

	if (write(c->cmd, "v", 1) != 1 || read(c->ack, &answer, 1) != 1)
		return "the child did not answer";
	return answer == 'K' ? NULL : c->layout->error;
}

static int dump_child(struct child *c, const char *img_path, enum pagescan_method method)
{
	struct mm_dump_opts opts = { .scan = method };
	struct image_dir *dir = NULL;
	struct inj_task *task;
	int ret;

	ret = image_dir_create(img_path, &dir);
	if (ret)
		return ret;
	/* The files of its memfd and shared mappings, as a dump of one. */
	ret = files_dump_start(dir, &c->pid, 1, &opts.files);
	if (!ret)
		ret = inj_seize(c->pid, &task);
	if (!ret) {
		ret = mm_dump_with(task, dir, &opts);
		inj_release(task);
	}
	if (!ret)
		ret = files_dump_finish(opts.files, &c->pid, 1);
	files_dump_free(opts.files);
	image_dir_close(dir);
	return ret;
}

/* ---- one child and its dump, shared by the tests that only read them ---- */

static struct fixture {
	bool tried;
	const char *why;	/* set when it could not be made */
	struct child child;
	char *img_path;
	struct image_dir *dir;
	Mm *mm;
	struct pages_reader *pages;
} fx;

static void fixture_free(void)
{
	pages_reader_close(fx.pages);
	mm_free(fx.mm);
	image_dir_close(fx.dir);
	remove_tree(fx.img_path);
	child_stop(&fx.child);
}

static struct fixture *fixture(void)
{
	static char why[128];
	int ret;

	if (fx.tried)
		goto out;
	fx.tried = true;
	atexit(fixture_free);
	fx.why = child_start(&fx.child);
	if (fx.why)
		goto out;
	fx.img_path = make_temp_dir();
	ret = fx.img_path ? dump_child(&fx.child, fx.img_path, PAGESCAN_AUTO) : -ENOMEM;
	if (!ret)
		ret = image_dir_open(fx.img_path, &fx.dir);
	if (!ret)
		ret = mm_load(fx.dir, fx.child.pid, &fx.mm);
	if (!ret)
		ret = pages_reader_open(fx.dir, fx.child.pid, &fx.pages);
	if (ret) {
		snprintf(why, sizeof(why), "dump and load of the child failed: %s", strerror(-ret));
		fx.why = why;
	}
out:
	/* Every test that needs the dump fails without it. */
	if (fx.why)
		harness_fail(__FILE__, __LINE__, "%s", fx.why);
	return fx.why ? NULL : &fx;
}

static const Vma *find_vma(const Mm *mm, uint64_t start)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->start == start)
			return mm->vmas[i];
	return NULL;
}

/* The pages of the pagemap within [start, end), as ranges clipped to it,
 * written to @out (at most @max); returns how many. */
static size_t saved_ranges(const struct pages_reader *pr, uint64_t start, uint64_t end,
			   struct page_range *out, size_t max, bool *zero_seen)
{
	size_t n = 0;

	for (size_t i = 0; i < pr->pagemap->nr_records; i++) {
		const PagemapEntry *e = (const PagemapEntry *)pr->pagemap->records[i].msg;
		uint64_t s = e->vaddr, t = e->vaddr + e->nr_pages * PS;

		s = s > start ? s : start;
		t = t < end ? t : end;
		if (s >= t)
			continue;
		if (e->state == PAGEMAP_ENTRY__STATE__ZERO && zero_seen)
			*zero_seen = true;
		if (n && out[n - 1].end == s)
			out[n - 1].end = t;
		else if (n < max)
			out[n++] = (struct page_range){ s, t };
		else
			return max + 1;
	}
	return n;
}

/* Checks that the saved pages in [start, start + pages) are exactly the
 * page runs in @expect (offsets in pages, pairs of [from, to)). */
static const char *expect_saved(const struct pages_reader *pr, const char *what, uint64_t start,
				uint64_t pages, const uint64_t *expect, size_t nr_expect)
{
	static char why[256];
	struct page_range got[16];
	size_t n = saved_ranges(pr, start, start + pages * PS, got, 16, NULL);
	bool same = n == nr_expect;

	for (size_t i = 0; same && i < n; i++)
		same = got[i].start == start + expect[2 * i] * PS &&
		       got[i].end == start + expect[2 * i + 1] * PS;
	if (same)
		return NULL;
	snprintf(why, sizeof(why), "%s: %zu ranges saved (first %#llx..%#llx), expected %zu", what, n,
		 n ? (unsigned long long)(got[0].start - start) : 0ull,
		 n ? (unsigned long long)(got[0].end - start) : 0ull, nr_expect);
	return why;
}

/* ---- tests ------------------------------------------------------------------ */

TEST(mappings_have_their_kind_flags_and_names)
{
	struct fixture *f = fixture();
	const struct layout *l;
	_cleanup_free_ char *cow = NULL, *shared = NULL, *deleted = NULL, *literal = NULL;
	const Vma *v;
	struct stat st;
	bool seen[VMA__KIND__SYSV_SHM + 1] = { false };

	if (!f)
		return;
	l = f->child.layout;
	cow = path_join(f->child.dir, "cow file");
	shared = path_join(f->child.dir, "shared file");
	deleted = path_join(f->child.dir, "del me.dat");
	literal = path_join(f->child.dir, "x (deleted)");

	v = find_vma(f->mm, l->anon);
	CHECK(v && v->kind == VMA__KIND__ANON && v->end == l->anon + 64 * PS &&
	      v->prot == (PROT_READ | PROT_WRITE) && v->flags == (MAP_PRIVATE | MAP_ANONYMOUS) &&
	      !v->file_path && !v->anon_name, "private anon area");
	v = find_vma(f->mm, l->prot_none);
	CHECK(v && v->kind == VMA__KIND__ANON && v->prot == PROT_NONE, "PROT_NONE area");
	v = find_vma(f->mm, l->tib + WINDOW_SIZE);
	CHECK(v && v->kind == VMA__KIND__ANON && v->prot == PROT_NONE &&
	      v->flags == (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE) &&
	      v->end == l->tib + window_offsets[1], "reservation between windows 0 and 1");
	v = find_vma(f->mm, l->tib + window_offsets[2]);
	CHECK(v && v->prot == (PROT_READ | PROT_WRITE) && v->end == v->start + WINDOW_SIZE,
	      "window 2");

	v = find_vma(f->mm, l->shared_anon);
	CHECK(v && v->kind == VMA__KIND__ANON && v->flags == (MAP_SHARED | MAP_ANONYMOUS) &&
	      v->has_file_ino && !v->file_path, "shared anon area: kind %d flags %#x",
	      v ? (int)v->kind : -1, v ? v->flags : 0);

	v = find_vma(f->mm, l->cow);
	CHECK(cow && !stat(cow, &st), "stat cow file");
	CHECK(v && v->kind == VMA__KIND__FILE && v->file_path && !strcmp(v->file_path, cow) &&
	      v->flags == MAP_PRIVATE && v->prot == (PROT_READ | PROT_WRITE) && v->has_pgoff &&
	      v->pgoff == 0 && v->file_ino == st.st_ino && v->file_dev == st.st_dev &&
	      v->file_size == 4 * PS && !(v->has_file_writable && v->file_writable),
	      "private file mapping: %s", v && v->file_path ? v->file_path : "?");

	v = find_vma(f->mm, l->shared_file);
	CHECK(v && v->kind == VMA__KIND__FILE && v->file_path && !strcmp(v->file_path, shared) &&
	      v->flags == MAP_SHARED && v->has_file_writable && v->file_writable,
	      "shared file mapping");

	v = find_vma(f->mm, l->deleted);
	CHECK(v && v->kind == VMA__KIND__DELETED_FILE && v->file_path &&
	      !strcmp(v->file_path, deleted) && v->file_size == 2 * PS,
	      "deleted file: kind %d path '%s'", v ? (int)v->kind : -1,
	      v && v->file_path ? v->file_path : "");

	v = find_vma(f->mm, l->literal);
	CHECK(v && v->kind == VMA__KIND__FILE && v->file_path && !strcmp(v->file_path, literal),
	      "file named 'x (deleted)': kind %d path '%s'", v ? (int)v->kind : -1,
	      v && v->file_path ? v->file_path : "");

	v = find_vma(f->mm, l->memfd);
	CHECK(v && v->kind == VMA__KIND__MEMFD && v->file_path &&
	      !strcmp(v->file_path, "cryo test memfd") && v->flags == MAP_SHARED &&
	      v->file_writable, "memfd: kind %d name '%s'", v ? (int)v->kind : -1,
	      v && v->file_path ? v->file_path : "");

	v = find_vma(f->mm, l->growsdown);
	CHECK(v && v->kind == VMA__KIND__ANON &&
	      v->flags == (MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN), "grows-down area: flags %#x",
	      v ? v->flags : 0);

	for (int i = 0; i < NR_MADV; i++) {
		v = find_vma(f->mm, l->madv[i]);
		CHECK(v && v->end == l->madv[i] + 4 * PS, "%s area", madv[i].name);
		if (!l->madv_ok[i])
			continue;
		CHECK(v->madvise == madv[i].bit, "%s area: madvise bits %#x, expected %#x",
		      madv[i].name, v->madvise, madv[i].bit);
	}

	v = find_vma(f->mm, l->named);
	if (l->named_ok)
		CHECK(v && v->anon_name && !strcmp(v->anon_name, "cryo-test-name"),
		      "named area: '%s'", v && v->anon_name ? v->anon_name : "");

	v = find_vma(f->mm, l->hidden + PS);
	CHECK(v && v->prot == PROT_NONE && v->end == l->hidden + 2 * PS, "hidden page");
	v = find_vma(f->mm, l->write_only);
	CHECK(v && v->prot == PROT_WRITE, "write-only area: prot %#x", v ? v->prot : 0);

	v = find_vma(f->mm, l->sysv);
	CHECK(v && v->kind == VMA__KIND__SYSV_SHM && v->file_ino == (uint64_t)l->shmid &&
	      v->file_path && !strcmp(v->file_path, "/SYSV00000000") && v->flags == MAP_SHARED,
	      "SysV shm: kind %d ino %llu path '%s'", v ? (int)v->kind : -1,
	      v ? (unsigned long long)v->file_ino : 0ull, v && v->file_path ? v->file_path : "");

	v = find_vma(f->mm, l->heap);
	CHECK(v && v->kind == VMA__KIND__HEAP && v->end == l->heap + 4 * PS &&
	      v->flags == (MAP_PRIVATE | MAP_ANONYMOUS) && f->mm->start_brk == l->heap &&
	      f->mm->brk == l->heap + 4 * PS, "heap: brk %#llx..%#llx, grown from %#llx",
	      (unsigned long long)f->mm->start_brk, (unsigned long long)f->mm->brk,
	      (unsigned long long)l->heap);

	for (size_t i = 0; i < f->mm->n_vmas; i++)
		seen[f->mm->vmas[i]->kind] = true;
	CHECK(seen[VMA__KIND__HEAP] && seen[VMA__KIND__STACK] && seen[VMA__KIND__VDSO] &&
	      seen[VMA__KIND__VVAR] && seen[VMA__KIND__VVAR_VCLOCK],
	      "heap %d, stack %d, vdso %d, vvar %d and vvar_vclock %d must all be there",
	      seen[VMA__KIND__HEAP], seen[VMA__KIND__STACK], seen[VMA__KIND__VDSO],
	      seen[VMA__KIND__VVAR], seen[VMA__KIND__VVAR_VCLOCK]);
}

TEST(saved_pages_are_exactly_the_written_ones)
{
	struct fixture *f = fixture();
	const struct layout *l;
	const char *why;

	if (!f)
		return;
	l = f->child.layout;
#define EXPECT(what_, start_, nr_pages_, ...)                                            \
	do {                                                                             \
		static const uint64_t runs[] = { __VA_ARGS__ };                          \
		why = expect_saved(f->pages, what_, start_, nr_pages_, runs,             \
				   ARRAY_SIZE(runs) / 2);                                \
		CHECK(!why, "%s", why);                                                  \
	} while (0)
#define EXPECT_NONE(what_, start_, nr_pages_)                                            \
	do {                                                                             \
		why = expect_saved(f->pages, what_, start_, nr_pages_, NULL, 0);         \
		CHECK(!why, "%s", why);                                                  \
	} while (0)

	EXPECT("private anon with a hole", l->anon, 64, 0, 10, 20, 64);
	EXPECT_NONE("PROT_NONE reservation", l->prot_none, 16);
	EXPECT_NONE("shared anon: saved once as a file object", l->shared_anon, 8);
	EXPECT("private file: only the copied page", l->cow, 4, 2, 3);
	EXPECT_NONE("shared file", l->shared_file, 4);
	EXPECT_NONE("deleted file, only read", l->deleted, 2);
	EXPECT_NONE("file named 'x (deleted)'", l->literal, 1);
	EXPECT_NONE("shared memfd: saved whole as a file object", l->memfd, 4);
	EXPECT("grows-down area", l->growsdown, 16, 15, 16);
	for (int i = 0; i < NR_MADV; i++)
		EXPECT(madv[i].name, l->madv[i], 4, 0, 4);
	EXPECT("named area", l->named, 4, 0, 4);
	EXPECT("page hidden by PROT_NONE, with its neighbours", l->hidden, 4, 0, 4);
	EXPECT("write-only pages", l->write_only, 2, 0, 2);
	EXPECT_NONE("pages only read (zeros)", l->zero_read, 8);
	EXPECT_NONE("SysV shm: saved once per segment (sysv-shm.img)", l->sysv, 4);
	EXPECT("heap", l->heap, 4, 0, 4);
#undef EXPECT
#undef EXPECT_NONE
}

TEST(saved_bytes_equal_the_child_memory)
{
	struct fixture *f = fixture();
	_cleanup_free_ uint8_t *saved = malloc(1 << 20), *live = malloc(1 << 20);
	_cleanup_close_ int mem = -1;
	char path[64];
	uint64_t total = 0;
	const char *why;

	if (!f)
		return;
	CHECK(saved && live, "out of memory");
	snprintf(path, sizeof(path), "/proc/%d/mem", f->child.pid);
	mem = open(path, O_RDONLY);
	CHECK(mem >= 0, "open %s: %s", path, strerror(errno));
	for (size_t i = 0; i < f->pages->pagemap->nr_records; i++) {
		const PagemapEntry *e = (const PagemapEntry *)f->pages->pagemap->records[i].msg;
		uint64_t len = e->nr_pages * PS;

		for (uint64_t done = 0; done < len; done += 1 << 20) {
			uint64_t n = len - done < (1 << 20) ? len - done : (1 << 20);

			CHECK(pread(mem, live, n, e->vaddr + done) == (ssize_t)n,
			      "cannot read the child at %#llx", (unsigned long long)(e->vaddr + done));
			if (e->state == PAGEMAP_ENTRY__STATE__ZERO)
				memset(saved, 0, n);
			else
				CHECK(pread(f->pages->pages_fd, saved, n, e->file_off + done) ==
				      (ssize_t)n, "short pages file");
			CHECK(!memcmp(saved, live, n), "bytes at %#llx differ from the child's",
			      (unsigned long long)(e->vaddr + done));
			total += n;
		}
	}
	CHECK(total >= 16 * WINDOW_SIZE / 4, "only %llu bytes saved", (unsigned long long)total);
	why = child_self_check(&f->child);
	CHECK(!why, "the child found its memory changed after the dump: %s", why);
}

TEST(terabyte_reservation_saves_only_its_windows)
{
	struct fixture *f = fixture();
	struct page_range got[8];
	bool zero = false;
	size_t n;

	if (!f)
		return;
	n = saved_ranges(f->pages, f->child.layout->tib, f->child.layout->tib + TIB, got, 8, &zero);
	CHECK(n == WINDOWS && !zero, "%zu ranges in the reservation, expected %d", n, WINDOWS);
	for (int w = 0; w < WINDOWS; w++) {
		uint64_t win = f->child.layout->tib + window_offsets[w];

		CHECK(got[w].start == win && got[w].end == win + WINDOW_SIZE,
		      "range %d is %#llx..%#llx, expected window %#llx..%#llx", w,
		      (unsigned long long)got[w].start, (unsigned long long)got[w].end,
		      (unsigned long long)win, (unsigned long long)(win + WINDOW_SIZE));
	}
}

/* The whole child's pages file: the reservation adds its 16 MiB of
 * windows, not gigabytes; the rest is the child's own memory. */
TEST(terabyte_reservation_makes_a_small_pages_file)
{
	struct fixture *f = fixture();
	uint64_t size = 0;

	if (!f)
		return;
	CHECK(!pages_file_size(f->dir, f->child.pid, &size), "no pages file");
	CHECK(size >= WINDOWS * WINDOW_SIZE && size < WINDOWS * WINDOW_SIZE + (96ull << 20),
	      "pages file of %llu MiB for 16 MiB of windows", (unsigned long long)(size >> 20));
}

/* Compares the two ways of finding pages on every mapping of the child.
 * The sanitizer's shadow mappings (14 TiB) are left out: reading their
 * pagemap would take 28 GiB of reads. The 1 TiB reservation is scanned
 * whole, its PROT_NONE parts included. */
/* The ioctl one mapping at a time, the ioctl over all of them at once
 * (pagescan_set_end) and the pagemap file give the same ranges. */
TEST(pagemap_scan_and_pagemap_file_agree)
{
	struct fixture *f = fixture();
	struct page_ranges a = { 0 }, b = { 0 }, c = { 0 };
	struct pagescan *ioctl_scan = NULL, *file_scan = NULL, *wide_scan = NULL;
	struct vma_list vmas = { 0 };
	size_t compared = 0;
	int ret;

	if (!f)
		return;
	ret = pagescan_open(f->child.pid, PAGESCAN_IOCTL, &ioctl_scan);
	CHECK_GOTO(!ret, out, "pagescan_open: %s", strerror(-ret));
	ret = pagescan_open(f->child.pid, PAGESCAN_PAGEMAP, &file_scan);
	CHECK_GOTO(!ret, out, "pagescan_open: %s", strerror(-ret));
	ret = pagescan_open(f->child.pid, PAGESCAN_IOCTL, &wide_scan);
	CHECK_GOTO(!ret, out, "pagescan_open: %s", strerror(-ret));
	ret = vma_list_read(f->child.pid, &vmas);
	CHECK_GOTO(!ret, out, "vma_list_read: %s", strerror(-ret));
	CHECK_GOTO(vmas.nr, out, "no mappings");
	pagescan_set_end(wide_scan, vmas.vmas[vmas.nr - 1]->end);
	for (size_t i = 0; i < vmas.nr; i++) {
		const Vma *v = vmas.vmas[i];

		if (v->end - v->start > 2 * TIB)
			continue;
		ret = pagescan_vma(ioctl_scan, v, &a);
		CHECK_GOTO(!ret, out, "PAGEMAP_SCAN of %#llx: %s", (unsigned long long)v->start,
			   strerror(-ret));
		ret = pagescan_vma(file_scan, v, &b);
		CHECK_GOTO(!ret, out, "pagemap of %#llx: %s", (unsigned long long)v->start,
			   strerror(-ret));
		ret = pagescan_vma(wide_scan, v, &c);
		CHECK_GOTO(!ret, out, "wide PAGEMAP_SCAN of %#llx: %s",
			   (unsigned long long)v->start, strerror(-ret));
		CHECK_GOTO(a.nr == b.nr && (!a.nr || !memcmp(a.v, b.v, a.nr * sizeof(*a.v))), out,
			   "mapping %#llx..%#llx: %zu ranges with the ioctl, %zu from the file",
			   (unsigned long long)v->start, (unsigned long long)v->end, a.nr, b.nr);
		CHECK_GOTO(a.nr == c.nr && (!a.nr || !memcmp(a.v, c.v, a.nr * sizeof(*a.v))), out,
			   "mapping %#llx..%#llx: %zu ranges scanned alone, %zu scanned with the others",
			   (unsigned long long)v->start, (unsigned long long)v->end, a.nr, c.nr);
		compared += a.nr;
	}
	CHECK_GOTO(compared >= WINDOWS + 10, out, "only %zu ranges found", compared);
	CHECK_GOTO(pagescan_method(ioctl_scan) == PAGESCAN_IOCTL &&
		   pagescan_method(file_scan) == PAGESCAN_PAGEMAP, out, "methods changed");
out:
	page_ranges_free(&a);
	page_ranges_free(&b);
	page_ranges_free(&c);
	vma_list_free(&vmas);
	pagescan_close(ioctl_scan);
	pagescan_close(file_scan);
	pagescan_close(wide_scan);
}

TEST(mm_fields_auxv_and_exe_are_recorded)
{
	struct fixture *f = fixture();
	uint64_t auxv[MM_AUXV_MAX_WORDS];
	char exe[PATH_MAX];
	ssize_t n, len;
	int fd;

	if (!f)
		return;
	/* The child is a fork of this process: same executable, same auxv. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0, "readlink");
	exe[n] = '\0';
	CHECK(f->mm->exe_path && !strcmp(f->mm->exe_path, exe), "exe '%s', expected '%s'",
	      f->mm->exe_path ? f->mm->exe_path : "", exe);
	fd = open("/proc/self/auxv", O_RDONLY);
	len = fd >= 0 ? read(fd, auxv, sizeof(auxv)) : -1;
	close(fd);
	CHECK(len > 0 && f->mm->n_auxv * 8 <= (size_t)len &&
	      !memcmp(f->mm->auxv, auxv, f->mm->n_auxv * 8) && f->mm->auxv[f->mm->n_auxv - 2] == 0,
	      "auxv of %zu words differs from ours", f->mm->n_auxv);
	CHECK(f->mm->start_code && f->mm->start_code < f->mm->end_code &&
	      f->mm->start_brk && f->mm->brk >= f->mm->start_brk && f->mm->arg_start < f->mm->arg_end &&
	      f->mm->env_start < f->mm->env_end && f->mm->start_stack,
	      "mm fields: code %#llx..%#llx brk %#llx..%#llx", (unsigned long long)f->mm->start_code,
	      (unsigned long long)f->mm->end_code, (unsigned long long)f->mm->start_brk,
	      (unsigned long long)f->mm->brk);
	/* The stack start lies in [stack], the arguments too. */
	for (size_t i = 0; i < f->mm->n_vmas; i++) {
		const Vma *v = f->mm->vmas[i];

		if (v->kind != VMA__KIND__STACK)
			continue;
		CHECK(f->mm->start_stack >= v->start && f->mm->start_stack < v->end &&
		      f->mm->arg_start >= v->start && f->mm->env_end <= v->end,
		      "stack start or arguments outside [stack]");
		return;
	}
	CHECK(false, "no [stack]");
}

/* Starts cat(1) pinned to one CPU, blocked reading an empty pipe: a
 * process without the sanitizer's 14 TiB shadow, whose pagemap can be
 * read whole, and whose memory stays still between dumps (a sleep would
 * not: the kernel writes its remaining time when it is interrupted).
 * Returns its pid, or -1; *@feed is the pipe's write end. */
static pid_t start_reader(int *feed)
{
	char exe[PATH_MAX];
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pin_to_one_cpu();
		dup2(fds[0], 0);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	*feed = fds[1];
	if (pid < 0)
		return -1;
	/* Ready once it runs cat and waits in the kernel. */
	for (int i = 0; i < 5000; i++) {
		char path[64], stat[512];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (n > 0 && (exe[n] = '\0', strstr(exe, "cat")) &&
		    read_proc_text(path, stat, sizeof(stat)) && strstr(stat, ") S "))
			return pid;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Both ways of finding pages make the very same image files. */
TEST(fallback_dump_makes_the_same_images)
{
	_cleanup_tree_ char *a = make_temp_dir(), *b = make_temp_dir();
	static const char *const names[] = { "mm-%d.img", "pagemap-%d.img", "pages-%d.img" };
	struct child c = { .cmd = -1, .ack = -1 };
	int ret;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	c.pid = start_reader(&c.cmd);
	CHECK_GOTO(c.pid > 0, out, "cannot start cat");
	CHECK_GOTO(a && b, out, "no scratch directory");
	ret = dump_child(&c, a, PAGESCAN_IOCTL);
	CHECK_GOTO(!ret, out, "dump with the ioctl: %s", strerror(-ret));
	ret = dump_child(&c, b, PAGESCAN_PAGEMAP);
	CHECK_GOTO(!ret, out, "dump with the pagemap file: %s", strerror(-ret));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *pa = NULL, *pb = NULL;
		_cleanup_free_ unsigned char *da = NULL, *db = NULL;
		char name[64];
		size_t la = 0, lb = 0;

		snprintf(name, sizeof(name), names[i], c.pid);
		pa = path_join(a, name);
		pb = path_join(b, name);
		da = pa ? read_file(pa, &la) : NULL;
		db = pb ? read_file(pb, &lb) : NULL;
		/* Each dump has its own id, in the header and so its checksum. */
		if (da && db && la >= IMG_HDR_SIZE && lb >= IMG_HDR_SIZE &&
		    !memcmp(da, IMG_MAGIC, IMG_MAGIC_LEN))
			memcpy(db + IMG_HDR_DUMP_ID_OFF, da + IMG_HDR_DUMP_ID_OFF,
			       IMG_HDR_SIZE - IMG_HDR_DUMP_ID_OFF);
		CHECK_GOTO(da && db && la == lb && !memcmp(da, db, la), out,
			   "%s differs: %zu and %zu bytes", name, la, lb);
		if (i == 2)
			CHECK_GOTO(la > 0, out, "no page saved");
	}
out:
	child_stop(&c);
}

/* A dump that cannot write its pages leaves nothing behind, and the task
 * runs on unharmed. */
TEST(failed_dump_leaves_no_image)
{
	_cleanup_tree_ char *img = make_temp_dir();
	struct rlimit old, small = { 1 << 20, 0 };
	void (*old_handler)(int);
	_cleanup_free_ char *log = NULL;
	struct capture cap;
	struct child c;
	const char *why = child_start(&c);
	DIR *d = NULL;
	struct dirent *de;
	int ret;

	CHECK_GOTO(!why, out, "%s", why);
	CHECK_GOTO(img, out, "no scratch directory");
	/* A file size limit fails writes as a full disk does. */
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	capture_begin(&cap, 2);
	ret = dump_child(&c, img, PAGESCAN_AUTO);
	log = capture_end(&cap);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_handler);
	CHECK_GOTO(ret == -EFBIG, out, "dump returned %d, expected -EFBIG", ret);
	CHECK_GOTO(log && strstr(log, "pages-") && strstr(log, "File too large"), out,
		   "the message '%s' does not say what failed", log ? log : "");
	d = opendir(img);
	CHECK_GOTO(d, out, "opendir");
	while ((de = readdir(d)))
		CHECK_GOTO(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."), out,
			   "%s left behind", de->d_name);
	why = child_self_check(&c);
	CHECK_GOTO(!why, out, "the child was harmed: %s", why);
out:
	if (d)
		closedir(d);
	child_stop(&c);
}
