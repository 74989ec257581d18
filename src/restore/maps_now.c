/* cryo's own mappings, read from /proc/self/maps once before the tree is
 * forked: every process starts as a copy of them, so each need not read
 * its own maps (twice: the restorer's gap and the vDSO's place cost a
 * tree of 500 7% of its restore's CPU). Not the gap's choice (area.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "restore/restore.h"

static int add_range(struct maps_now *m, size_t *cap, uint64_t start, uint64_t end)
{
	if (m->nr == *cap) {
		size_t more = *cap ? *cap * 2 : 256;
		struct maps_range *r = realloc(m->ranges, more * sizeof(*r));

		if (!r)
			return -ENOMEM;
		m->ranges = r;
		*cap = more;
	}
	m->ranges[m->nr++] = (struct maps_range){ start, end };
	return 0;
}

int maps_now_read(struct maps_now *m)
{
	FILE *f = fopen("/proc/self/maps", "re");
	size_t cap = 0;
	char line[512];
	int ret = 0;

	memset(m, 0, sizeof(*m));
	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		ret = add_range(m, &cap, start, end);
		/* This kernel's block: [vvar], [vvar_vclock], then [vdso]. */
		if (!strstr(line, "[vvar") && !strstr(line, "[vdso]"))
			continue;
		if (!m->vdso_block_start)
			m->vdso_block_start = start;
		if (strstr(line, "[vdso]"))
			m->vdso_text = start;
		m->vdso_block_end = end;
	}
	fclose(f);
	if (ret)
		maps_now_free(m);
	return ret;
}

void maps_now_free(struct maps_now *m)
{
	free(m->ranges);
	memset(m, 0, sizeof(*m));
}
