/* mapped_ranges_of(): the parts of a shared memory object that processes
 * of a dump map, from their /proc/PID/maps (dev and inode name the object,
 * the offset column places each mapping in it). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "mem/mapped_ranges.h"

static int cmp_range(const void *a, const void *b)
{
	const struct byte_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int add_range(struct byte_range **v, size_t *nr, size_t *cap, uint64_t start,
		     uint64_t end)
{
	if (*nr == *cap) {
		size_t more = *cap ? *cap * 2 : 8;
		struct byte_range *bigger = reallocarray(*v, more, sizeof(**v));

		if (!bigger)
			return -ENOMEM;
		*v = bigger;
		*cap = more;
	}
	(*v)[(*nr)++] = (struct byte_range){ start, end };
	return 0;
}

/* Adds the mappings of (@dev, @ino) in @pid's maps to @v. */
static int scan_process(pid_t pid, dev_t dev, ino_t ino, uint64_t size, struct byte_range **v,
			size_t *nr, size_t *cap)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t line_cap = 0;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	while (getline(&line, &line_cap, f) > 0) {
		uint64_t start, end, pgoff, inode;
		unsigned int major_nr, minor_nr;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %x:%x %" SCNu64, &start,
			   &end, &pgoff, &major_nr, &minor_nr, &inode) != 6)
			continue;
		if (inode != ino || major_nr != major(dev) || minor_nr != minor(dev) ||
		    pgoff >= size)
			continue;
		end = pgoff + (end - start) > size ? size : pgoff + (end - start);
		if (add_range(v, nr, cap, pgoff, end))
			return -ENOMEM;
	}
	return ferror(f) ? pr_errno_ret("dump: pid %d: cannot read %s", pid, path) : 0;
}

int mapped_ranges_of(const pid_t *pids, size_t nr_pids, dev_t dev, ino_t ino, uint64_t size,
		     struct byte_range **out, size_t *nr)
{
	struct byte_range *v = NULL;
	size_t n = 0, cap = 0, merged = 0;
	int ret = 0;

	for (size_t i = 0; i < nr_pids && !ret; i++)
		ret = scan_process(pids[i], dev, ino, size, &v, &n, &cap);
	if (ret) {
		free(v);
		return ret;
	}
	qsort(v, n, sizeof(*v), cmp_range);
	for (size_t i = 0; i < n; i++) {
		if (merged && v[i].start <= v[merged - 1].end) {
			if (v[i].end > v[merged - 1].end)
				v[merged - 1].end = v[i].end;
			continue;
		}
		v[merged++] = v[i];
	}
	*out = v;
	*nr = merged;
	return 0;
}
