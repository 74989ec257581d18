/* The checks of mnt.img that need no other file, apart from any process,
 * so that the image fuzzer can link them alone; and the kinds of the
 * namespaces part. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "common/cleanup.h"
#include "images/proto/mnt.pb-c.h"
#include "ns/mnt.h"
#include "ns/mnt_internal.h"

bool mnt_fstype_makeable(const char *fstype)
{
	static const char *const kinds[] = { "tmpfs", "proc", "sysfs", "devpts", "mqueue" };

	for (size_t i = 0; fstype && i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(fstype, kinds[i]))
			return true;
	return false;
}

/* An absolute path none of whose parts is "..". */
static bool absolute(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const char *p = path; *p; p += strcspn(p, "/")) {
		p += strspn(p, "/");
		if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2]))
			return false;
	}
	return true;
}

static const char *check_entry(const struct image *img, size_t i)
{
	const MountEntry *e = (const MountEntry *)img->records[i].msg;
	bool found = false;

	/* An inherited mount's folder is not used: it may be a namespace
	 * file's ("net:[N]", an `ip netns` mount in a copied namespace). */
	if (!absolute(e->mountpoint) ||
	    (e->kind != MOUNT_ENTRY__KIND__INHERITED && !absolute(e->root)))
		return "its mount point and folder must be absolute paths without ..";
	for (size_t j = 0; j < i; j++) {
		const MountEntry *o = (const MountEntry *)img->records[j].msg;

		if (o->id == e->id)
			return "its id is used twice";
		if (o->id == e->parent_id)
			found = true;
		if (e->has_bind_of && o->id == e->bind_of && o->kind == MOUNT_ENTRY__KIND__INHERITED)
			return "it binds a mount that is not made again";
	}
	if (i && !found)
		return "its parent is not listed before it";
	if (!i && e->kind != MOUNT_ENTRY__KIND__INHERITED && e->kind != MOUNT_ENTRY__KIND__ROOT)
		return "the first mount (the namespace's root) must be cryo's or the given root";
	if (i && e->kind == MOUNT_ENTRY__KIND__ROOT)
		return "only the first mount is the namespace's root";
	if (e->flags & ~(uint64_t)(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
				   MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME))
		return "flags beyond those of a mount";
	switch (e->kind) {
	case MOUNT_ENTRY__KIND__INHERITED:
		break;
	case MOUNT_ENTRY__KIND__NEW:
		if (e->has_bind_of || e->bind_path || strcmp(e->root, "/"))
			return "a new filesystem binds nothing and shows its root";
		if (e->has_contents && strcmp(e->fstype, "tmpfs"))
			return "only a tmpfs has files saved";
		/* Any other type only when the dump was asked to (--enable-fs). */
		if (!e->mounted_anew && !mnt_fstype_makeable(e->fstype))
			return "a new filesystem of a type cryo does not make, not marked "
			       "mounted anew (--enable-fs)";
		if (e->mounted_anew && (e->has_contents || !*e->fstype ||
					strpbrk(e->fstype, "/ ,")))
			return "a filesystem mounted anew has no files saved and a type name";
		break;
	case MOUNT_ENTRY__KIND__ROOT:
		if (strcmp(e->mountpoint, "/") || e->has_bind_of || e->bind_path || e->ext_key)
			return "the root is at / and binds nothing";
		break;
	case MOUNT_ENTRY__KIND__BIND:
		if (e->ext_key) {
			if (!*e->ext_key || e->has_bind_of || e->bind_path)
				return "an external mount has a key and nothing else to bind";
			break;
		}
		if (!e->has_bind_of == !e->bind_path || (e->bind_path && !absolute(e->bind_path)))
			return "a bind names one mount made again or one absolute path";
		if (e->has_bind_of) {
			for (size_t j = 0; j < i; j++)
				if (((const MountEntry *)img->records[j].msg)->id == e->bind_of)
					return e->has_contents ? "a bind has no files of its own" :
								 NULL;
			return "it binds a mount not listed before it";
		}
		break;
	default:
		return "unknown kind";
	}
	if (e->mounted_anew && e->kind != MOUNT_ENTRY__KIND__NEW)
		return "only a new filesystem is mounted anew";
	return e->has_contents && e->kind != MOUNT_ENTRY__KIND__NEW ?
		       "a bind has no files of its own" : NULL;
}

static int mnt_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const MountEntry *e = (const MountEntry *)img->records[i].msg;
		const char *problem = check_entry(img, i);

		if (problem) {
			image_error(img->path, img->records[i].offset, "mount %u (%s): %s", e->id,
				    e->mountpoint, problem);
			return -EBADMSG;
		}
	}
	return 0;
}

static const struct image_kind_desc ns_kinds[] = {
	{ IMG_MNT, "mnt", "mnt.img", &mount_entry__descriptor, mnt_check },
	/* A pax archive, read by libarchive, which refuses what is not one. */
	{ IMG_MNT_TMPFS, "mnt-tmpfs", "mnt-tmpfs-%d.img", NULL, NULL },
};

const struct image_kind_set ns_image_kinds = { "ns", ns_kinds, ARRAY_SIZE(ns_kinds) };
