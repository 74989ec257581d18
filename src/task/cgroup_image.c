/* cgroups.img's list of saved files and its checks, apart from the dump
 * (cgroup_settings.c) so that the image fuzzer links them alone. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "common/cleanup.h"
#include "images/proto/cgroup.pb-c.h"
#include "task/cgroup_settings.h"

const char *const cgroup_setting_files[] = {
	"cgroup.type", "cpu.max", "cpu.weight", "memory.max", "memory.high", "memory.low",
	"memory.min", "memory.swap.max", "pids.max", "io.weight", "cpuset.cpus", "cpuset.mems",
	"cgroup.max.descendants", "cgroup.max.depth", "cgroup.subtree_control",
};
_Static_assert(ARRAY_SIZE(cgroup_setting_files) == CGROUP_NR_SETTING_FILES,
	       "the count of saved files");

/* Absolute, every component a name: no empty one, "." or "..". */
static bool path_is_sane(const char *p)
{
	if (p[0] != '/' || strlen(p) >= PATH_MAX / 2)
		return false;
	for (const char *c = p + 1;; c = strchr(c, '/') + 1) {
		size_t len = strcspn(c, "/");

		if (!len || (len == 1 && c[0] == '.') || (len == 2 && !strncmp(c, "..", 2)))
			return false;
		if (!c[len])
			return true;
	}
}

static int setting_index(const char *file)
{
	for (unsigned int i = 0; i < CGROUP_NR_SETTING_FILES; i++)
		if (!strcmp(cgroup_setting_files[i], file))
			return (int)i;
	return -1;
}

static int cgroups_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const CgroupEntry *e = (const CgroupEntry *)img->records[i].msg;
		unsigned int seen = 0;

		if (!path_is_sane(e->path)) {
			image_error(img->path, img->records[i].offset, "cgroup %zu: path '%.64s' "
				    "is not a clean absolute path", i, e->path);
			return -EBADMSG;
		}
		for (size_t s = 0; s < e->n_settings; s++) {
			const CgroupSetting *set = e->settings[s];
			int k = setting_index(set->file);

			if (k < 0 || (seen & (1u << k)) || strlen(set->value) >= CGROUP_VALUE_MAX ||
			    strchr(set->value, '\n')) {
				image_error(img->path, img->records[i].offset, "cgroup %s: setting "
					    "'%.64s': unknown, repeated or a bad value", e->path,
					    set->file);
				return -EBADMSG;
			}
			seen |= 1u << k;
		}
	}
	return 0;
}

static const struct image_kind_desc cgroup_kinds[] = {
	{ IMG_CGROUPS, "cgroups", "cgroups.img", &cgroup_entry__descriptor, cgroups_check },
};

const struct image_kind_set cgroup_image_kinds = { "cgroup", cgroup_kinds,
						   ARRAY_SIZE(cgroup_kinds) };
