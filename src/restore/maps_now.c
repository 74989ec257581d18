/* cryo's own mappings, read from /proc/self/maps once before the tree is
 * forked: every process starts as a copy of them, so each need not read
 * its own maps (twice: the restorer's gap and the vDSO's place cost a
 * tree of 500 7% of its restore's CPU). Not the gap's choice (area.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/textfile.h"
#include "kabi/features.h"
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
	_cleanup_free_ char *maps = NULL;
	struct vdso_layout vdso;
	size_t cap = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = read_text_file("/proc/self/maps", &maps);
	if (ret)
		return ret;
	for (const char *line = maps, *next; !ret && *line; line = next) {
		unsigned long start, end;

		next = strchrnul(line, '\n');
		if (*next)
			next++;
		if (sscanf(line, "%lx-%lx", &start, &end) == 2)
			ret = add_range(m, &cap, start, end);
	}
	/* This kernel's block: [vvar], [vvar_vclock], then [vdso]; none: 0. */
	if (!ret)
		ret = vdso_layout_parse(maps, &vdso);
	if (!ret) {
		m->vdso_block_start = vdso_layout_start(&vdso);
		m->vdso_text = vdso.vdso.start;
		m->vdso_block_end = vdso.vdso.end;
	} else if (ret == -ENOENT) {
		ret = 0;
	}
	if (ret)
		maps_now_free(m);
	return ret;
}

void maps_now_free(struct maps_now *m)
{
	free(m->ranges);
	memset(m, 0, sizeof(*m));
}
