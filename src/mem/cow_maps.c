/* The private mappings of a dump's processes that a child may share pages
 * with since fork(), read from /proc/PID/smaps (maps shows no VmFlags),
 * and a dump-wide cache of them: a parent of 499 children had its smaps
 * read 499 times, a fifth of a tree's memory stage. Not the comparison of
 * pages (cow_dump.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "mem/cow.h"
#include "mem/cow_maps.h"

struct cached_maps {
	pid_t pid;
	struct parent_vma *vmas;
	size_t nr;
};

/* Taken by the thread that dumps memory; a lock all the same, so that
 * who calls from where never matters. */
struct cow_maps_cache {
	pthread_mutex_t lock;
	struct cached_maps *entries;
	size_t nr, cap;
};

/* Whether smaps VmFlags @flags (" rd wr mr ...") hold @code. */
static bool has_vm_flag(const char *flags, const char *code)
{
	for (const char *at = strstr(flags, code); at; at = strstr(at + 1, code))
		if (at[-1] == ' ' && (at[2] == ' ' || at[2] == '\n' || !at[2]))
			return true;
	return false;
}

static int push_parent_vma(struct parent_vma **vmas, size_t *nr, size_t *cap,
			   const struct parent_vma *pv)
{
	if (*nr == *cap) {
		size_t more_cap = *cap * 2 + 16;
		struct parent_vma *more = reallocarray(*vmas, more_cap, sizeof(*more));

		if (!more)
			return -ENOMEM;
		*vmas = more;
		*cap = more_cap;
	}
	(*vmas)[(*nr)++] = *pv;
	return 0;
}

/* Whether a mapping of /proc/PID/smaps, private (@perms), of inode @ino
 * and named @name, is one cow_vma_inheritable() would take (its VmFlags
 * are checked apart): anonymous, [heap], [stack] or an anon name, or a
 * file by path that is not deleted. */
static bool inheritable_line(const char *perms, unsigned long ino, const char *name)
{
	static const char deleted[] = " (deleted)";
	size_t len = strlen(name);

	if (perms[3] != 'p')
		return false;
	if (ino)
		return name[0] == '/' &&
		       (len < sizeof(deleted) - 1 || strcmp(name + len - (sizeof(deleted) - 1), deleted));
	return !name[0] || !strcmp(name, "[heap]") || !strcmp(name, "[stack]") ||
	       !strncmp(name, "[anon:", 6);
}

/* The mappings of @of that cow_vma_inheritable() would take: neither
 * droppable nor hugetlb. */
static int read_smaps(pid_t pid, pid_t of, struct parent_vma **vmas, size_t *nr)
{
	_cleanup_free_ char *buf = malloc(1 << 20);
	_cleanup_fclose_ FILE *f = NULL;
	struct parent_vma pv = { 0 };
	char path[64], line[4096 + 128];
	bool candidate = false;
	size_t cap = 0;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps", of);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
	if (buf)
		setvbuf(f, buf, _IOFBF, 1 << 20);
	while (!ret && fgets(line, sizeof(line), f)) {
		unsigned long start, end, pgoff, ino;
		char perms[8], *name;
		int n = 0;

		if (!strncmp(line, "VmFlags:", 8)) {
			pv.growsdown = has_vm_flag(line, "gd");
			if (candidate && !has_vm_flag(line, "dp") && !has_vm_flag(line, "ht")) {
				ret = push_parent_vma(vmas, nr, &cap, &pv);
				if (!ret)
					pv.path = NULL;	/* the list's now */
			}
			free(pv.path);
			pv.path = NULL;
			candidate = false;
			continue;
		}
		if (sscanf(line, "%lx-%lx %7s %lx %*x:%*x %lu %n", &start, &end, perms, &pgoff, &ino,
			   &n) < 5)
			continue;
		name = line + n;
		name[strcspn(name, "\n")] = '\0';
		candidate = inheritable_line(perms, ino, name);
		free(pv.path);
		pv = (struct parent_vma){ .start = start, .end = end, .pgoff = pgoff };
		if (candidate && ino && !(pv.path = strdup(name)))
			ret = -ENOMEM;
	}
	free(pv.path);
	if (!ret && ferror(f))
		ret = pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	if (ret) {
		cow_maps_free(*vmas, *nr);
		*vmas = NULL;
		*nr = 0;
	}
	return ret;
}

void cow_maps_free(struct parent_vma *vmas, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(vmas[i].claimed);
		free(vmas[i].path);
	}
	free(vmas);
}

/* A copy of @nr mappings of @from, paths of its own, nothing claimed. */
static int copy_maps(const struct parent_vma *from, size_t nr, struct parent_vma **out)
{
	struct parent_vma *vmas = calloc(nr + 1, sizeof(*vmas));

	if (!vmas)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		vmas[i] = (struct parent_vma){ .start = from[i].start, .end = from[i].end,
					       .growsdown = from[i].growsdown,
					       .pgoff = from[i].pgoff };
		if (from[i].path && !(vmas[i].path = strdup(from[i].path))) {
			cow_maps_free(vmas, i);
			return -ENOMEM;
		}
	}
	*out = vmas;
	return 0;
}

static struct cached_maps *cache_find(struct cow_maps_cache *cache, pid_t of)
{
	for (size_t i = 0; i < cache->nr; i++)
		if (cache->entries[i].pid == of)
			return &cache->entries[i];
	return NULL;
}

/* Keeps @vmas (read for @of) in @cache; they stay the caller's if not. */
static int cache_add(struct cow_maps_cache *cache, pid_t of, const struct parent_vma *vmas,
		     size_t nr)
{
	struct cached_maps e = { .pid = of, .nr = nr };
	int ret;

	if (cache->nr == cache->cap) {
		size_t cap = cache->cap * 2 + 8;
		struct cached_maps *more = reallocarray(cache->entries, cap, sizeof(*more));

		if (!more)
			return -ENOMEM;
		cache->entries = more;
		cache->cap = cap;
	}
	ret = copy_maps(vmas, nr, &e.vmas);
	if (!ret)
		cache->entries[cache->nr++] = e;
	return ret;
}

int cow_maps_read(struct cow_maps_cache *cache, pid_t pid, pid_t of, struct parent_vma **vmas,
		  size_t *nr)
{
	struct cached_maps *hit;
	int ret;

	*vmas = NULL;
	*nr = 0;
	if (!cache)
		return read_smaps(pid, of, vmas, nr);
	pthread_mutex_lock(&cache->lock);
	hit = cache_find(cache, of);
	if (hit) {
		ret = copy_maps(hit->vmas, hit->nr, vmas);
		if (!ret)
			*nr = hit->nr;
	} else {
		ret = read_smaps(pid, of, vmas, nr);
		/* A full cache only costs the next child a read. */
		if (!ret)
			cache_add(cache, of, *vmas, *nr);
	}
	pthread_mutex_unlock(&cache->lock);
	return ret;
}

int cow_maps_cache_new(struct cow_maps_cache **out)
{
	struct cow_maps_cache *cache = calloc(1, sizeof(*cache));

	if (!cache)
		return -ENOMEM;
	pthread_mutex_init(&cache->lock, NULL);
	*out = cache;
	return 0;
}

void cow_maps_cache_free(struct cow_maps_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->nr; i++)
		cow_maps_free(cache->entries[i].vmas, cache->entries[i].nr);
	free(cache->entries);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}
