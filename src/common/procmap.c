/* PROCMAP_QUERY lookups of a process's mappings, with the maps text as
 * the fallback (procmap.h). Not smaps: the query tells no VmFlags, so a
 * dump still reads every mapping there (mem/vma.c). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/procmap.h"
#include "common/textfile.h"
#include "kabi/kabi.h"

/* The maps text's view of @need: a file-backed mapping shows a device or
 * an inode (shared anonymous memory's is on the kernel's tmpfs). */
static bool line_is(const struct proc_maps_line *m, unsigned need)
{
	return (!(need & PROC_MAPPING_READ) || m->perms[0] == 'r') &&
	       (!(need & PROC_MAPPING_WRITE) || m->perms[1] == 'w') &&
	       (!(need & PROC_MAPPING_EXEC) || m->perms[2] == 'x') &&
	       (!(need & PROC_MAPPING_SHARED) || m->perms[3] == 's') &&
	       (!(need & PROC_MAPPING_FILE) || m->ino || m->major || m->minor);
}

/* One query; the name into @name (@size bytes, "" for a mapping without
 * one). A name longer than @size is left out rather than failing. */
static int query(int fd, uint64_t addr, uint64_t flags, struct procmap_query *q, char *name,
		 size_t size)
{
	*q = (struct procmap_query){
		.size = sizeof(*q),
		.query_flags = flags,
		.query_addr = addr,
		.vma_name_size = (uint32_t)size,
		.vma_name_addr = (uintptr_t)name,
	};
	int ret = ioctl(fd, PROCMAP_QUERY, q) < 0 ? -errno : 0;

	/* A failed query leaves @q as it was. */
	if (ret == -ENAMETOOLONG) {
		q->vma_name_size = 0;
		q->vma_name_addr = 0;
		ret = ioctl(fd, PROCMAP_QUERY, q) < 0 ? -errno : 0;
	}
	if (ret)
		return ret;
	if (!q->vma_name_size && name)
		name[0] = '\0';
	return 0;
}

static void line_of(const struct procmap_query *q, char *name, struct proc_maps_line *m)
{
	*m = (struct proc_maps_line){
		.start = q->vma_start,
		.end = q->vma_end,
		.pgoff = q->vma_offset,
		.ino = q->inode,
		.major = q->dev_major,
		.minor = q->dev_minor,
		.name = name,
	};
	m->perms[0] = q->vma_flags & PROCMAP_QUERY_VMA_READABLE ? 'r' : '-';
	m->perms[1] = q->vma_flags & PROCMAP_QUERY_VMA_WRITABLE ? 'w' : '-';
	m->perms[2] = q->vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE ? 'x' : '-';
	m->perms[3] = q->vma_flags & PROCMAP_QUERY_VMA_SHARED ? 's' : 'p';
	m->perms[4] = '\0';
}

/* The kernel has no such ioctl (before 6.11): the text is read. So it is
 * under CRYO_TEST_NO_PROCMAP_QUERY, for the tests of that path. */
static bool query_missing(int err)
{
	return err == -ENOTTY || err == -EINVAL || getenv("CRYO_TEST_NO_PROCMAP_QUERY");
}

/* Each line of the maps text that @want accepts, to @fn. */
static int each_line(pid_t pid, bool (*want)(const struct proc_maps_line *m, const void *key),
		     const void *key, int (*fn)(const struct proc_maps_line *m, void *arg),
		     void *arg)
{
	_cleanup_free_ char *text = NULL;
	char path[64], *line, *next;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	ret = read_text_file(path, &text);
	if (ret)
		return ret;
	for (line = text; line && *line; line = next) {
		struct proc_maps_line m;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (proc_maps_line_parse(line, &m) && want(&m, key) && (ret = fn(&m, arg)))
			return ret;
	}
	return 0;
}

static bool has_all(const struct proc_maps_line *m, const void *key)
{
	return line_is(m, *(const unsigned *)key);
}

int proc_each_mapping(pid_t pid, unsigned need,
		      int (*fn)(const struct proc_maps_line *m, void *arg), void *arg)
{
	_cleanup_free_ char *name = malloc(PATH_MAX);
	_cleanup_close_ int fd = -1;
	uint64_t addr = 0;
	int ret;

	if (!name)
		return -ENOMEM;
	fd = proc_open(pid, "maps");
	if (fd < 0)
		return fd;
	for (bool first = true;; first = false) {
		struct procmap_query q;
		struct proc_maps_line m;

		ret = query(fd, addr, PROCMAP_QUERY_COVERING_OR_NEXT_VMA | need, &q, name,
			    PATH_MAX);
		if (ret == -ENOENT)
			return 0;
		if (first && query_missing(ret))
			return each_line(pid, has_all, &need, fn, arg);
		if (ret)
			return ret;
		line_of(&q, name, &m);
		ret = fn(&m, arg);
		if (ret)
			return ret;
		addr = q.vma_end;
	}
}

struct found_at {
	uint64_t addr;
	struct proc_maps_line *m;
	char *name;
	size_t size;
};

static bool holds(const struct proc_maps_line *m, const void *key)
{
	uint64_t addr = *(const uint64_t *)key;

	return m->start <= addr && addr < m->end;
}

static int keep(const struct proc_maps_line *m, void *arg)
{
	struct found_at *f = arg;

	*f->m = *m;
	snprintf(f->name, f->size, "%s", m->name);
	f->m->name = f->name;
	return 1;
}

int proc_mapping_from(int maps_fd, uint64_t addr, struct proc_maps_line *m, char *name,
		      size_t size)
{
	struct procmap_query q;
	int ret = query(maps_fd, addr, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, &q, name, size);

	if (query_missing(ret))
		return -EOPNOTSUPP;
	if (!ret)
		line_of(&q, name, m);
	return ret;
}

int proc_mapping_below(int maps_fd, uint64_t addr, uint64_t step, struct proc_maps_line *m,
		       char *name, size_t size)
{
	uint64_t probe = addr;
	struct procmap_query q;
	int fd = maps_fd, ret;

	if (!step)
		step = 4096;
	for (;; step *= 2) {
		probe = probe > step ? probe - step : 0;
		ret = query(fd, probe, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, &q, NULL, 0);
		if (query_missing(ret))
			return -EOPNOTSUPP;
		if (ret && ret != -ENOENT)
			return ret;
		if (!ret && q.vma_start < addr)
			break;
		if (!probe)
			return -ENOENT;
	}
	/* Some mapping starts in [probe, @addr): the highest one, by halving
	 * [lo, hi), where a query at lo finds one and at hi none, down to a
	 * page (a walk up from the probe went through all 50,000 mappings of
	 * a dense region the doubling step reached into). */
	for (uint64_t lo = probe, hi = addr;; ) {
		uint64_t mid = lo + (((hi - lo) / 2) & ~4095ull);

		if (mid == lo) {
			ret = query(fd, lo, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, &q, name, size);
			break;
		}
		ret = query(fd, mid, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, &q, NULL, 0);
		if (ret && ret != -ENOENT)
			return ret;
		if (!ret && q.vma_start < addr)
			lo = mid;
		else
			hi = mid;
	}
	if (!ret)
		line_of(&q, name, m);
	return ret;
}

int proc_mapping_at(pid_t pid, uint64_t addr, struct proc_maps_line *m, char *name, size_t size)
{
	struct found_at found = { addr, m, name, size };
	_cleanup_close_ int fd = proc_open(pid, "maps");
	struct procmap_query q;
	int ret;

	if (fd < 0)
		return fd;
	ret = query(fd, addr, 0, &q, name, size);
	if (query_missing(ret)) {
		ret = each_line(pid, holds, &addr, keep, &found);
		return ret == 1 ? 0 : ret ? ret : -ENOENT;
	}
	if (!ret)
		line_of(&q, name, m);
	return ret;
}
