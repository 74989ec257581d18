/* The benchmark's reference: how long memcpy takes for the bytes a dump
 * or restore moves, measured beside the workloads so that load on the
 * machine weighs on both alike. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "reference.h"

#define MIB (1ull << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

bool memcpy_seconds(uint64_t bytes, int nr_runs, double *median, double *min)
{
	uint64_t len = bytes < 1024 * MIB ? bytes : 1024 * MIB;
	double t[REFERENCE_MAX_RUNS];
	uint8_t *src, *dst;

	len = (len + 4095) & ~4095ull;
	src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		return false;
	madvise(src, len, MADV_POPULATE_WRITE);
	madvise(dst, len, MADV_POPULATE_WRITE);
	memset(src, 0x5a, len);
	memset(dst, 0xa5, len);
	for (int i = 0; i < nr_runs; i++) {
		double start = now();

		for (uint64_t done = 0; done < bytes; done += len) {
			uint64_t n = bytes - done < len ? bytes - done : len;

			memcpy(dst, src, n);
			__asm__ volatile("" : : "r"(dst) : "memory");
		}
		t[i] = now() - start;
	}
	munmap(src, len);
	munmap(dst, len);
	qsort(t, nr_runs, sizeof(t[0]), cmp_double);
	*median = t[nr_runs / 2];
	*min = t[0];
	return true;
}
