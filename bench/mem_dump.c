/* Benchmark of the memory part of dump (not run by the tests): a child
 * sets up a workload, is seized and dumped with mm_dump_with() into a
 * scratch image directory, and the time is compared with a plain memcpy of
 * the same bytes measured in the same run. Prints one table line per
 * workload and page-finding method: best of several runs.
 *
 * Build: make bench, or by hand against the core and injection libraries:
 *   cc -std=gnu11 -O2 -D_GNU_SOURCE -Isrc -Ibuild/gen -o build/bench/mem_dump \
 *      bench/mem_dump.c build/blob-embed/parasite.o build/libcryo-core.a \
 *      build/libinject.a -lprotobuf-c
 * Run: build/bench/mem_dump [image parent dir, default /tmp] [runs, default 3] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "images/image.h"
#include "inject/inject.h"
#include "mem/mm.h"

#define MIB (1ull << 20)
#define TIB (1ull << 40)
#define PS 4096ull

struct workload {
	const char *name;
	void (*set_up)(void);	/* runs in the child */
	uint64_t data_bytes;	/* what memcpy is compared with */
};

static void fill(uint8_t *p, uint64_t len, uint64_t seed)
{
	for (uint64_t i = 0; i < len; i += 8)
		*(uint64_t *)(p + i) = ((uint64_t)(uintptr_t)(p + i) + seed) * 0x9e3779b97f4a7c15ull | 1;
}

/* Chromium's layout: 1 TiB reserved PROT_NONE, four 4 MiB windows made
 * read-write and filled. */
static void sparse_windows(void)
{
	static const uint64_t offsets[] = { 0, 3ull << 30, 300ull << 30, TIB - 4 * MIB };
	uint8_t *base = mmap(NULL, TIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			     -1, 0);

	if (base == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		if (mprotect(base + offsets[i], 4 * MIB, PROT_READ | PROT_WRITE))
			_exit(2);
		fill(base + offsets[i], 4 * MIB, i);
	}
}

/* One read-write 1 TiB mapping with 16 MiB written in 64 scattered
 * 256 KiB runs: smaps cannot tell where, every page must be looked at. */
static void sparse_one_mapping(void)
{
	uint8_t *base = mmap(NULL, TIB, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		_exit(2);
	for (uint64_t i = 0; i < 64; i++)
		fill(base + i * (TIB / 64), 256 << 10, i);
}

static void anon_256m(void)
{
	uint8_t *p = mmap(NULL, 256 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(2);
	fill(p, 256 * MIB, 7);
}

static const struct workload workloads[] = {
	{ "1 TiB reserved, 4 windows, 16 MiB", sparse_windows, 16 * MIB },
	{ "1 TiB read-write, 16 MiB scattered", sparse_one_mapping, 16 * MIB },
	{ "256 MiB anonymous, non-zero", anon_256m, 256 * MIB },
};

#define NR_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static void stop_children(const pid_t *pids)
{
	for (size_t w = 0; w < NR_WORKLOADS; w++) {
		if (pids[w] > 0) {
			kill(pids[w], SIGKILL);
			waitpid(pids[w], NULL, 0);
		}
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Starts a child that runs @w->set_up and then waits; -1 on failure. */
static pid_t start_child(const struct workload *w)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		w->set_up();
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	return pid;
}

static uint64_t image_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		image_bytes += st->st_size;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Seizes, dumps and releases @pid once; returns the seconds or -1. */
static double dump_once(pid_t pid, const char *parent, enum pagescan_method method,
			uint64_t *bytes)
{
	const struct mm_dump_opts opts = { .scan = method };
	char path[4096];
	struct image_dir *dir;
	struct inj_task *task;
	double start, end = -1;
	int ret;

	snprintf(path, sizeof(path), "%s/cryo-bench-XXXXXX", parent);
	if (!mkdtemp(path) || image_dir_open(path, &dir))
		return -1;
	start = now();
	ret = inj_seize(pid, &task);
	if (!ret) {
		ret = mm_dump_with(task, dir, &opts);
		inj_release(task);
		end = now();
	}
	image_dir_close(dir);
	image_bytes = 0;
	nftw(path, add_size, 8, FTW_PHYS);
	*bytes = image_bytes;
	nftw(path, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return ret ? -1 : end - start;
}

/* The best of @runs memcpy's of @len bytes between touched buffers. */
static double memcpy_seconds(uint64_t len, int runs)
{
	uint8_t *src = malloc(len), *dst = malloc(len);
	double best = 1e9;

	if (!src || !dst)
		return -1;
	memset(src, 1, len);
	memset(dst, 2, len);
	for (int i = 0; i < runs; i++) {
		double t = now();

		memcpy(dst, src, len);
		__asm__ volatile("" : : "r"(dst) : "memory");
		t = now() - t;
		best = t < best ? t : best;
	}
	free(src);
	free(dst);
	return best;
}

int main(int argc, char **argv)
{
	const char *parent = argc > 1 ? argv[1] : "/tmp";
	int runs = argc > 2 ? atoi(argv[2]) : 3;
	static const struct {
		enum pagescan_method method;
		const char *name;
	} methods[] = {
		{ PAGESCAN_IOCTL, "PAGEMAP_SCAN" },
		{ PAGESCAN_PAGEMAP, "pagemap file" },
	};

	pid_t pids[NR_WORKLOADS] = { 0 };

	log_init(NULL, LOG_ERROR);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (runs < 1)
		runs = 1;
	printf("%-36s %-13s %10s %10s %10s %8s\n", "workload", "pages found", "dump s", "image MiB",
	       "memcpy s", "ratio");
	/* All children first: forked later, they would inherit the heap that
	 * earlier dumps left in this process, and be dumped with it. */
	for (size_t w = 0; w < NR_WORKLOADS; w++) {
		pids[w] = start_child(&workloads[w]);
		if (pids[w] < 0) {
			fprintf(stderr, "%s: cannot start the child\n", workloads[w].name);
			stop_children(pids);
			return 1;
		}
	}
	for (size_t w = 0; w < NR_WORKLOADS; w++) {
		double copy = memcpy_seconds(workloads[w].data_bytes, runs);
		pid_t pid = pids[w];

		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			double best = 1e9;
			uint64_t bytes = 0;

			for (int r = 0; r < runs; r++) {
				double t = dump_once(pid, parent, methods[m].method, &bytes);

				if (t < 0) {
					fprintf(stderr, "%s: dump failed\n", workloads[w].name);
					stop_children(pids);
					return 1;
				}
				best = t < best ? t : best;
			}
			printf("%-36s %-13s %10.4f %10.1f %10.4f %8.1f\n", workloads[w].name,
			       methods[m].name, best, bytes / (double)MIB, copy, best / copy);
		}
	}
	stop_children(pids);
	return 0;
}
