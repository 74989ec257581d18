/* cgroups.img's and cgroups_v1.img's lists of saved files and their
 * checks, apart from the dumps (cgroup_settings.c, cgroup_v1.c) so that
 * the image fuzzer links them alone. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cgroup1.h"
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

/* Each controller's files come after those it needs: cpuset's before any
 * process may join, memory's limit before memsw's (which must not be
 * below it). A file counts only in a hierarchy of its controller. */
const char *const cgroup_v1_setting_files[] = {
	"cpuset.cpus", "cpuset.mems", "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us",
	"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
	"memory.swappiness", "pids.max", "blkio.weight", "devices.list",
};
_Static_assert(ARRAY_SIZE(cgroup_v1_setting_files) == CGROUP_V1_NR_SETTING_FILES,
	       "the count of saved v1 files");

bool cgroup_v1_file_applies(const char *file, const char *controllers)
{
	char controller[32];

	snprintf(controller, sizeof(controller), "%.*s", (int)strcspn(file, "."), file);
	return cgroup_controllers_meet(controller, controllers);
}

/* Absolute, every component a name: no empty one, "." or "..". */
static bool path_is_sane(const char *p)
{
	if (!p)
		return false;
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

/* Files that hold no setting to give back: membership, the freezers, a
 * kill switch, the device rules' writers (devices.list is the setting). */
static const char *const not_settings[] = {
	"cgroup.procs", "cgroup.threads", "cgroup.kill", "cgroup.freeze", "cgroup.events",
	"cgroup.stat", "cgroup.controllers", "freezer.state", "devices.allow", "devices.deny",
};

bool cgroup_file_is_setting(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= 64 || !strchr(name, '.') || name[0] == '.' || name[len - 1] == '.' ||
	    strstr(name, "..") ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.") != len)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(not_settings); i++)
		if (!strcmp(name, not_settings[i]))
			return false;
	return true;
}

/* One line of devices.list: "TYPE MAJOR:MINOR ACCESS", TYPE a, b or c,
 * each number or "*", ACCESS of r, w and m. */
static bool device_rule_is_sane(const char *line, size_t len)
{
	char type, major[16], minor[16], access[8], rest;
	char copy[64];

	if (len >= sizeof(copy))
		return false;
	snprintf(copy, sizeof(copy), "%.*s", (int)len, line);
	if (sscanf(copy, "%c %15[0-9*]:%15[0-9*] %7[rwm]%c", &type, major, minor, access,
		   &rest) != 4)
		return false;
	return (type == 'a' || type == 'b' || type == 'c') && copy[1] == ' ';
}

/* A value of one line; devices.list's, lines of device rules. */
static bool value_is_sane(const char *file, const char *value)
{
	if (strlen(value) >= CGROUP_VALUE_MAX)
		return false;
	if (strcmp(file, "devices.list"))
		return !strchr(value, '\n');
	for (const char *l = value;; l += strcspn(l, "\n") + 1) {
		if (!device_rule_is_sane(l, strcspn(l, "\n")))
			return false;
		if (!l[strcspn(l, "\n")])
			return true;
	}
}

/* Record @i's cgroup @e: a clean path, each setting a settable file (of
 * @controllers' when given: v1), once, with a sane value. */
static int check_entry(const struct image *img, size_t i, const CgroupEntry *e,
		       const char *controllers)
{
	if (!path_is_sane(e->path)) {
		image_error(img->path, img->records[i].offset, "cgroup %.64s: not a clean "
			    "absolute path", e->path);
		return -EBADMSG;
	}
	if (e->n_settings > CGROUP_SETTINGS_MAX) {
		image_error(img->path, img->records[i].offset, "cgroup %s: %zu settings, at most "
			    "%d", e->path, e->n_settings, CGROUP_SETTINGS_MAX);
		return -EBADMSG;
	}
	for (size_t s = 0; s < e->n_settings; s++) {
		const CgroupSetting *set = e->settings[s];
		bool repeated = false;

		for (size_t k = 0; k < s && !repeated; k++)
			repeated = !strcmp(e->settings[k]->file, set->file);
		if (repeated || !cgroup_file_is_setting(set->file) ||
		    !value_is_sane(set->file, set->value) ||
		    (controllers && !cgroup_v1_file_applies(set->file, controllers))) {
			image_error(img->path, img->records[i].offset, "cgroup %s: setting "
				    "'%.64s': not a setting, repeated, of another controller or a "
				    "bad value", e->path, set->file);
			return -EBADMSG;
		}
	}
	return 0;
}

static int cgroups_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		int ret = check_entry(img, i, (const CgroupEntry *)img->records[i].msg, NULL);

		if (ret)
			return ret;
	}
	return 0;
}

/* "cpu,cpuacct" or "name=x": words of lower-case letters, digits and
 * '_', or one name= (the kernel takes one name a hierarchy). */
static bool controllers_are_sane(const char *c)
{
	static const char controller_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789_.-";
	bool named = false;

	if (strlen(c) >= sizeof(((struct cgroup_line *)0)->controllers))
		return false;
	for (const char *w = c;;) {
		size_t len = strcspn(w, ",");
		bool is_name = len > 5 && !strncmp(w, "name=", 5);
		const char *word = is_name ? w + 5 : w;
		size_t word_len = is_name ? len - 5 : len;

		if (!word_len || (is_name && named) ||
		    strspn(word, is_name ? name_chars : controller_chars) < word_len)
			return false;
		named |= is_name;
		if (!w[len])
			return true;
		w += len + 1;
	}
}

static int by_member(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Each process once, each of its threads once, with a clean path. */
static int check_members(const struct image *img, size_t i, const CgroupV1Hierarchy *h)
{
	int64_t *keys = calloc(h->n_members ? h->n_members : 1, sizeof(*keys));
	int ret = 0;

	if (!keys)
		return -ENOMEM;
	for (size_t m = 0; !ret && m < h->n_members; m++) {
		const CgroupV1Member *mb = h->members[m];

		if (mb->pid <= 0 || (mb->has_tid && mb->tid <= 0) ||
		    (strcmp(mb->path, "/") && !path_is_sane(mb->path)))
			ret = -EBADMSG;
		keys[m] = (int64_t)mb->pid << 32 | (uint32_t)(mb->has_tid ? mb->tid : 0);
	}
	qsort(keys, h->n_members, sizeof(*keys), by_member);
	for (size_t m = 1; !ret && m < h->n_members; m++)
		if (keys[m] == keys[m - 1])
			ret = -EBADMSG;
	free(keys);
	if (ret)
		image_error(img->path, img->records[i].offset, "hierarchy %s: a member with a bad "
			    "pid, tid or path, or listed twice", h->controllers);
	return ret;
}

static int cgroups_v1_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const CgroupV1Hierarchy *h = (const CgroupV1Hierarchy *)img->records[i].msg;
		int ret = 0;

		if (!controllers_are_sane(h->controllers)) {
			image_error(img->path, img->records[i].offset, "hierarchy '%.64s': not "
				    "controllers or one name", h->controllers);
			return -EBADMSG;
		}
		for (size_t j = 0; j < i; j++)
			if (cgroup_controllers_meet(h->controllers, ((const CgroupV1Hierarchy *)
					img->records[j].msg)->controllers)) {
				image_error(img->path, img->records[i].offset, "hierarchy "
					    "%s: shares a controller with an earlier one",
					    h->controllers);
				return -EBADMSG;
			}
		ret = check_members(img, i, h);
		for (size_t c = 0; !ret && c < h->n_cgroups; c++)
			ret = check_entry(img, i, h->cgroups[c], h->controllers);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct image_kind_desc cgroup_kinds[] = {
	{ IMG_CGROUPS, "cgroups", "cgroups.img", &cgroup_entry__descriptor, cgroups_check },
	{ IMG_CGROUPS_V1, "cgroups_v1", "cgroups_v1.img", &cgroup_v1_hierarchy__descriptor,
	  cgroups_v1_check },
};

const struct image_kind_set cgroup_image_kinds = { "cgroup", cgroup_kinds,
						   ARRAY_SIZE(cgroup_kinds) };
