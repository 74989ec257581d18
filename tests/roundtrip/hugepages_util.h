/* What the runners that need huge pages share: reading and setting the
 * pool of 2 MiB pages (vm.nr_hugepages), so that each raises it to what it
 * needs and puts the old value back, also when a test fails. Used by
 * test_roundtrip (prog_hugetlb's pool, from the table of programs) and
 * test_neg_hugetlb. */
#ifndef CRYO_TESTS_HUGEPAGES_UTIL_H
#define CRYO_TESTS_HUGEPAGES_UTIL_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

/* The pool's size now, -1 when it cannot be read. */
static inline long hugepages_read(void)
{
	char buf[32] = "";
	int fd = open(NR_HUGEPAGES, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Asks for a pool of @n pages; true when it has them (the kernel may find
 * fewer free pages than asked). */
static inline bool hugepages_set(long n)
{
	char buf[32];
	int fd = open(NR_HUGEPAGES, O_WRONLY | O_CLOEXEC);
	int len = snprintf(buf, sizeof(buf), "%ld\n", n);
	bool ok = fd >= 0 && write(fd, buf, (size_t)len) == len;

	if (fd >= 0)
		close(fd);
	return ok && hugepages_read() == n;
}

/* Pages of the pool free and not reserved, -1 when it cannot be read. */
static inline long hugepages_available(void)
{
	static const char *const names[] = { "free_hugepages", "resv_hugepages" };
	long v[2] = { -1, -1 };

	for (int i = 0; i < 2; i++) {
		char path[96], buf[32] = "";
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-2048kB/%s",
			 names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return -1;
		v[i] = strtol(buf, NULL, 10);
	}
	return v[0] - v[1];
}

/* Raises the pool to at least @n pages; *@old gets the value to put back
 * with hugepages_set(), -1 when nothing was changed. */
static inline bool hugepages_raise(long n, long *old)
{
	long now = hugepages_read();

	*old = -1;
	if (now < 0)
		return false;
	if (now >= n)
		return true;
	*old = now;
	return hugepages_set(n);
}

#endif
