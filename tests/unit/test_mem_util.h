/* The child the memory dump tests share: a forked child lays out known
 * mappings (files, anonymous, shared, a 1 TiB reservation, each madvise
 * flag) and writes known pages; it is seized and dumped, once for the tests
 * that only read the dump (fixture()). Header-only: each test_mem*.c is its
 * own binary. */
#ifndef CRYO_TEST_MEM_UTIL_H
#define CRYO_TEST_MEM_UTIL_H

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

static inline uint64_t pattern_word(uint64_t addr, unsigned seed)
{
	return ((addr + seed) * 0x9e3779b97f4a7c15ull) | 1;
}

static inline void fill(uint64_t start, uint64_t len, unsigned seed)
{
	for (uint64_t a = start; a < start + len; a += 8)
		*(volatile uint64_t *)a = pattern_word(a, seed);
}

/* Whether @len bytes at @buf are the pattern of @seed for address @addr. */
static inline bool has_pattern(const void *buf, uint64_t addr, uint64_t len, unsigned seed)
{
	const uint64_t *w = buf;

	for (uint64_t i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(addr + i * 8, seed))
			return false;
	return true;
}

/* A file of @pages pages holding the pattern of @seed by file offset. */
static inline int make_file(const char *dir, const char *name, unsigned pages, unsigned seed)
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
static inline uint64_t map_area(uint64_t len, int prot, int flags, int fd, off_t off)
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
static inline bool read_proc_text(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static inline void touch_read(uint64_t start, uint64_t len)
{
	for (uint64_t a = start; a < start + len; a += PS)
		(void)*(volatile const char *)a;
}

static inline uint64_t map_file(const char *dir, const char *name, uint64_t len, int prot,
				int flags)
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
static inline int set_up_mappings(struct layout *l, const char *dir)
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
static inline int self_check(struct layout *l, const char *dir)
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
static inline void pin_to_one_cpu(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static inline void child_main(struct layout *l, const char *dir, int cmd, int ack)
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

static inline void child_stop(struct child *c)
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
static inline bool child_waits_in_read(pid_t pid)
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

static inline const char *child_start(struct child *c)
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
static inline const char *child_self_check(struct child *c)
{
	char answer = 0;

	if (write(c->cmd, "v", 1) != 1 || read(c->ack, &answer, 1) != 1)
		return "the child did not answer";
	return answer == 'K' ? NULL : c->layout->error;
}

static inline int dump_child(struct child *c, const char *img_path, enum pagescan_method method)
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

static inline void fixture_free(void)
{
	pages_reader_close(fx.pages);
	mm_free(fx.mm);
	image_dir_close(fx.dir);
	remove_tree(fx.img_path);
	child_stop(&fx.child);
}

static inline struct fixture *fixture(void)
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

static inline const Vma *find_vma(const Mm *mm, uint64_t start)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->start == start)
			return mm->vmas[i];
	return NULL;
}

/* The pages of the pagemap within [start, end), as ranges clipped to it,
 * written to @out (at most @max); returns how many. */
static inline size_t saved_ranges(const struct pages_reader *pr, uint64_t start, uint64_t end,
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
static inline const char *expect_saved(const struct pages_reader *pr, const char *what,
				       uint64_t start, uint64_t pages, const uint64_t *expect,
				       size_t nr_expect)
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

#endif
