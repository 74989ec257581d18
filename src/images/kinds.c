/* The registry of image kinds: for each, its number in headers, its file
 * name and its schema. Adding a kind is one .proto and one line here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "images/kinds.h"
#include "images/proto/core.pb-c.h"
#include "images/proto/fds.pb-c.h"
#include "images/proto/filedata.pb-c.h"
#include "images/proto/files.pb-c.h"
#include "images/proto/inventory.pb-c.h"
#include "images/proto/locks.pb-c.h"
#include "images/proto/mm.pb-c.h"
#include "images/proto/pagemap.pb-c.h"
#include "images/proto/pstree.pb-c.h"
#include "files/files.h"
#include "images/proto/sysv_shm.pb-c.h"
#include "ipc/sysv_shm.h"
#include "mem/mm.h"
#include "task/task.h"
#include "tree/tree.h"

static const struct image_kind_desc kinds[] = {
	{ IMG_INVENTORY, "inventory", "inventory.img", &inventory__descriptor, inventory_check },
	{ IMG_PAGEMAP, "pagemap", "pagemap-%d.img", &pagemap_entry__descriptor, pagemap_check },
	{ IMG_PAGES, "pages", "pages-%d.img", NULL, NULL },
	{ IMG_CORE, "core", "core-%d.img", &task_core__descriptor, task_core_check },
	{ IMG_MM, "mm", "mm-%d.img", &mm__descriptor, mm_check },
	{ IMG_FDS, "fds", "fds-%d.img", &fd_entry__descriptor, NULL },
	{ IMG_FILES, "files", "files.img", &file_entry__descriptor, NULL },
	{ IMG_FILE_DATA, "file-data", "file-data-%d.img", &file_chunk__descriptor, NULL },
	{ IMG_PSTREE, "pstree", "pstree.img", &pstree_entry__descriptor, pstree_check },
	{ IMG_LOCKS, "locks", "locks.img", &file_lock__descriptor, locks_check },
	{ IMG_SYSV_SHM, "sysv-shm", "sysv-shm.img", &sysv_shm__descriptor, sysv_shm_image_check },
	{ IMG_SYSV_SHM_DATA, "sysv-shm-data", "sysv-shm-data-%d.img", &file_chunk__descriptor,
	  NULL },
};

const struct image_kind_desc *image_kind_get(enum image_kind kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

/* Matches @name against @pattern, where "%d" stands for a decimal id
 * without sign or leading zero, so that each id has exactly one name. */
static int match_pattern(const char *pattern, const char *name, int *id)
{
	const char *hole = strstr(pattern, "%d");
	size_t prefix, suffix, len = strlen(name);
	long value = 0;

	if (!hole) {
		if (strcmp(pattern, name))
			return -ENOENT;
		*id = 0;
		return 0;
	}
	prefix = hole - pattern;
	suffix = strlen(hole + 2);
	if (len <= prefix + suffix || strncmp(name, pattern, prefix) ||
	    strcmp(name + len - suffix, hole + 2))
		return -ENOENT;
	if (name[prefix] == '0' && len - suffix > prefix + 1)
		return -ENOENT;
	for (size_t i = prefix; i < len - suffix; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -ENOENT;
		value = value * 10 + (name[i] - '0');
		if (value > INT32_MAX)
			return -ENOENT;
	}
	*id = (int)value;
	return 0;
}

const struct image_kind_desc *image_kind_match(const char *file_name, int *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!match_pattern(kinds[i].pattern, file_name, id))
			return &kinds[i];
	return NULL;
}

int image_file_name(enum image_kind kind, int id, char *buf, size_t size)
{
	const struct image_kind_desc *k = image_kind_get(kind);
	const char *hole;
	int len;

	if (!k || id < 0)
		return -EINVAL;
	hole = strstr(k->pattern, "%d");
	if (hole)
		len = snprintf(buf, size, "%.*s%d%s", (int)(hole - k->pattern), k->pattern, id,
			       hole + 2);
	else
		len = snprintf(buf, size, "%s", k->pattern);
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}
