/* userns.img and cgroupns.img: what restore checks before it trusts them
 * (map lines the kernel would take, known namespace kinds, cgroup paths).
 * Nothing here touches a process, so the image fuzzer links it alone. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "common/cleanup.h"
#include "images/proto/user_ns.pb-c.h"
#include "ns/user.h"

static int check_map(const struct image *img, const char *name, UserNsExtent **map, size_t nr)
{
	if (!nr || nr > NS_USER_MAP_MAX) {
		image_error(img->path, img->records[0].offset, "%zu %s lines (1 to %d)", nr, name,
			    NS_USER_MAP_MAX);
		return -EBADMSG;
	}
	for (size_t i = 0; i < nr; i++) {
		uint64_t in = map[i]->inside, out = map[i]->outside, count = map[i]->count;

		if (!count || in + count > UINT32_MAX || out + count > UINT32_MAX) {
			image_error(img->path, img->records[0].offset, "%s line %zu (%u %u %u) out "
				    "of range", name, i, map[i]->inside, map[i]->outside,
				    map[i]->count);
			return -EBADMSG;
		}
		for (size_t j = 0; j < i; j++) {
			uint64_t in2 = map[j]->inside, out2 = map[j]->outside;

			if ((in < in2 + map[j]->count && in2 < in + count) ||
			    (out < out2 + map[j]->count && out2 < out + count)) {
				image_error(img->path, img->records[0].offset, "%s lines %zu and "
					    "%zu overlap", name, j, i);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

static int userns_check(const struct image *img, const struct image_dir *dir, int id)
{
	const UserNs *u;

	(void)dir;
	(void)id;
	if (img->nr_records != 1) {
		image_error(img->path, 0, "%zu records, not one", img->nr_records);
		return -EBADMSG;
	}
	u = (const UserNs *)img->records[0].msg;
	if (check_map(img, "uid_map", u->uid_map, u->n_uid_map) ||
	    check_map(img, "gid_map", u->gid_map, u->n_gid_map))
		return -EBADMSG;
	if (u->owned_kinds & ~(uint32_t)NS_USER_OWNABLE) {
		image_error(img->path, img->records[0].offset, "owned kinds %#x: not namespace "
			    "kinds", u->owned_kinds);
		return -EBADMSG;
	}
	return 0;
}

static int cgroupns_check(const struct image *img, const struct image_dir *dir, int id)
{
	const CgroupNs *c;

	(void)dir;
	(void)id;
	if (img->nr_records != 1) {
		image_error(img->path, 0, "%zu records, not one", img->nr_records);
		return -EBADMSG;
	}
	c = (const CgroupNs *)img->records[0].msg;
	if (c->n_roots > 32) {
		image_error(img->path, img->records[0].offset, "%zu hierarchies, more than 32",
			    c->n_roots);
		return -EBADMSG;
	}
	for (size_t i = 0; i < c->n_roots; i++) {
		const CgroupNsRoot *r = c->roots[i];

		/* A path from a hierarchy's root, never out of it. */
		if (r->path[0] != '/' || strstr(r->path, "/..") || strlen(r->path) > 4096 ||
		    strchr(r->controllers, '/') || strstr(r->controllers, "..")) {
			image_error(img->path, img->records[0].offset, "root %zu ('%s' on '%s'): "
				    "not an absolute path below the hierarchy", i, r->path,
				    r->controllers);
			return -EBADMSG;
		}
	}
	return 0;
}

static const struct image_kind_desc ns_user_kinds[] = {
	{ IMG_USERNS, "userns", "userns.img", &user_ns__descriptor, userns_check },
	{ IMG_CGROUPNS, "cgroupns", "cgroupns.img", &cgroup_ns__descriptor, cgroupns_check },
};

const struct image_kind_set ns_user_image_kinds = { "ns-user", ns_user_kinds,
						  ARRAY_SIZE(ns_user_kinds) };
