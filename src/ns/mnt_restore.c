/* Restore of a tree's mount namespace (mnt.img): cryo moves into a new
 * mount namespace, a slave copy of its own (so nothing it mounts reaches
 * the caller's), and makes every mount the dump did not find in its own
 * namespace, parents first: new tmpfs (with their files), sysfs, devpts
 * and mqueue instances with their options, one of any type mounted anew
 * (--enable-fs at dump, without files), binds of those or of folders
 * of cryo's namespace (named again by --external mnt[MOUNTPOINT]:PATH),
 * per-mount flags, and peer groups: shared, and slave of a group made
 * here or of one of the caller's namespace. The /proc of a new pid
 * namespace is its first process's (mounted with mnt_proc_mount()). */
#include <errno.h>
#include <fcntl.h>
#include <libmount/libmount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/archive_lib.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "ns/externals.h"
#include "ns/mnt.h"
#include "ns/user.h"
#include "ns/mnt_internal.h"

struct mnt_set {
	struct image *img;
	int *contents;		/* the archive of each record, -1: none */
	/* Where each record is mounted: its mount point, below the root the
	 * caller gave (criu's root) when the tree's root was one (ROOT). */
	char **where;
	const char *root;
	const struct ns_externals *externals;	/* --external mnt[KEY]:PATH */
	/* Masters of ptys made for a bind of their slave (hold_pty()). */
	struct ns_held_pty *held;
	size_t nr_held;
};

static const MountEntry *entry(const struct mnt_set *set, size_t i)
{
	return (const MountEntry *)set->img->records[i].msg;
}

void mnt_free(struct mnt_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; set->contents && i < set->img->nr_records; i++)
		if (set->contents[i] >= 0)
			close(set->contents[i]);
	free(set->contents);
	for (size_t i = 0; set->where && i < set->img->nr_records; i++)
		free(set->where[i]);
	free(set->where);
	for (size_t i = 0; i < set->nr_held; i++)
		if (set->held[i].fd >= 0)
			close(set->held[i].fd);
	free(set->held);
	image_free(set->img);
	free(set);
}

int mnt_load(struct image_dir *dir, struct mnt_set **out)
{
	struct mnt_set *set;
	char name[64];
	struct stat st;
	int ret;

	*out = NULL;
	if (faccessat(dir->fd, "mnt.img", F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT)
		return 0;
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	ret = image_read(dir, IMG_MNT, 0, &set->img);
	if (ret) {
		free(set);
		return ret;
	}
	set->contents = malloc((set->img->nr_records + 1) * sizeof(*set->contents));
	if (!set->contents)
		ret = -ENOMEM;
	for (size_t i = 0; set->contents && i < set->img->nr_records; i++)
		set->contents[i] = -1;
	for (size_t i = 0; !ret && i < set->img->nr_records; i++) {
		if (!entry(set, i)->has_contents)
			continue;
		ret = image_file_name(IMG_MNT_TMPFS, (int)entry(set, i)->id, name, sizeof(name));
		if (!ret)
			ret = set->contents[i] = image_dir_open_file(dir, name, &st);
		if (ret > 0)
			ret = 0;
		/* Loaded here, in cryo before any fork, where the files are
		 * made later (mnt_tmpfs_restore()). */
		if (!ret && !archive_lib())
			ret = -ENOENT;
	}
	if (ret) {
		mnt_free(set);
		return ret;
	}
	*out = set;
	return 0;
}

/* The folder a bind shows: of cryo's namespace (or the one --external
 * names), or of a mount made before it. */
static char *bind_source(const struct mnt_set *set, size_t i)
{
	const MountEntry *e = entry(set, i);
	const char *rest;
	char *out = NULL;

	const char *given = ns_external_mnt(set->externals, e->ext_key ? e->ext_key : e->mountpoint);

	if (given)
		return strdup(given);
	if (e->ext_key) {
		pr_err("restore: mount %u (%s): external mount '%s': the caller gives no folder for "
		       "it (criu's ext_mnt, --external mnt[%s]:PATH)", e->id, e->mountpoint,
		       e->ext_key, e->ext_key);
		return NULL;
	}
	if (e->bind_path)
		return strdup(e->bind_path);
	for (size_t j = 0; j < i; j++) {
		const MountEntry *o = entry(set, j);
		size_t len = strlen(o->root);

		if (o->id != e->bind_of)
			continue;
		if (strcmp(o->root, "/") && (strncmp(e->root, o->root, len) ||
					     (e->root[len] && e->root[len] != '/')))
			return NULL;
		rest = strcmp(o->root, "/") ? e->root + len : e->root;
		if (asprintf(&out, "%s%s", strcmp(set->where[j], "/") ? set->where[j] : "",
			     strcmp(rest, "/") ? rest : "") < 0)
			return NULL;
		return out;
	}
	return NULL;
}

static int fail(const MountEntry *e, const char *what)
{
	int err = errno;

	pr_err("restore: mount %u (%s, %s): cannot %s: %s", e->id, e->mountpoint, e->fstype,
	       what, strerror(err));
	return -err;
}

/* A new filesystem, with its files; read-only once they are in. */
static int make_new(const struct mnt_set *set, size_t i)
{
	const MountEntry *e = entry(set, i);
	unsigned long flags = e->fs_read_only && !e->has_contents ? MS_RDONLY : 0;
	_cleanup_close_ int dir = -1;
	int ret;

	if (mount(e->source ? e->source : e->fstype, set->where[i], e->fstype, flags,
		  e->data && *e->data ? e->data : NULL))
		return fail(e, "mount it");
	if (e->mounted_anew)
		pr_info("restore: mount %u (%s, %s on %s): mounted anew (--enable-fs at dump): its "
			"files are the filesystem's own", e->id, e->mountpoint, e->fstype,
			e->source ? e->source : "none");
	if (set->contents[i] < 0)
		return 0;
	dir = open(set->where[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return fail(e, "open it");
	ret = mnt_tmpfs_restore(set->contents[i], e->id, dir, e->mountpoint);
	if (!ret && e->fs_read_only &&
	    mount(NULL, set->where[i], NULL, MS_REMOUNT | MS_RDONLY, e->data))
		return fail(e, "make its filesystem read-only");
	return ret;
}

/* The peer group of the mount @bind_of names, when it was shared. */
static bool source_group(const struct mnt_set *set, size_t i, uint32_t *group)
{
	const MountEntry *e = entry(set, i);

	for (size_t j = 0; e->has_bind_of && j < i; j++)
		if (entry(set, j)->id == e->bind_of && entry(set, j)->has_shared) {
			*group = entry(set, j)->shared;
			return true;
		}
	return false;
}

/* Whether peer group @group is one of the tree's own (a mount of it is
 * made here), not one of the caller's namespace. */
static bool group_made_here(const struct mnt_set *set, uint32_t group)
{
	for (size_t j = 0; j < set->img->nr_records; j++)
		if (entry(set, j)->has_shared && entry(set, j)->shared == group &&
		    entry(set, j)->kind != MOUNT_ENTRY__KIND__INHERITED)
			return true;
	return false;
}

/* The peer group the mount on top at @mountpoint is a slave of, 0: none. */
static uint32_t master_now(const char *mountpoint)
{
	struct libmnt_table *table = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_fs *fs = table ? mnt_table_find_target(table, mountpoint,
							     MNT_ITER_BACKWARD) : NULL;
	const char *opt = fs ? mnt_fs_get_optional_fields(fs) : NULL;
	const char *at = opt ? strstr(opt, "master:") : NULL;
	uint32_t group = at ? (uint32_t)strtoul(at + 7, NULL, 10) : 0;

	if (table)
		mnt_unref_table(table);
	return group;
}

/* A slave of a group of the caller's namespace: bound from a folder of a
 * mount of that group (a slave of it in this namespace, a slave copy of
 * cryo's), it is a slave of it again when the group still propagates
 * there; else it is made private, which is said. True when it is kept. */
static bool callers_slave_kept(const struct mnt_set *set, size_t i)
{
	const MountEntry *e = entry(set, i);
	uint32_t now;

	if (!e->has_master || e->kind == MOUNT_ENTRY__KIND__NEW || group_made_here(set, e->master))
		return false;
	now = master_now(e->mountpoint);
	if (now == e->master)
		return true;
	pr_warn("restore: mount %u (%s): it was a slave of peer group %u of cryo's namespace, "
		"which the folder it is bound from no longer propagates from (%s): made private",
		e->id, e->mountpoint, e->master, now ? "another group does" : "no group does");
	return false;
}

/* A bind of a shared mount joined its group: it leaves it unless it was
 * that group's peer or slave; then a group of its own if it was shared. A
 * slave of a group of the caller's stays one (callers_slave_kept()). */
static int set_propagation(const struct mnt_set *set, size_t i)
{
	const MountEntry *e = entry(set, i);
	uint32_t group = 0;
	bool joined = source_group(set, i, &group);

	if (callers_slave_kept(set, i)) {
		if (e->has_shared && mount(NULL, e->mountpoint, NULL, MS_SHARED, NULL))
			return fail(e, "make it shared");
		return 0;
	}

	if (joined && e->has_master && e->master == group) {
		if (mount(NULL, set->where[i], NULL, MS_SLAVE, NULL))
			return fail(e, "make it a slave");
		if (e->has_shared && mount(NULL, set->where[i], NULL, MS_SHARED, NULL))
			return fail(e, "make it shared");
		return 0;
	}
	if (joined && e->has_shared && e->shared == group)
		return 0;
	if (mount(NULL, set->where[i], NULL, MS_PRIVATE, NULL))
		return fail(e, "make it private");
	if (e->has_shared && mount(NULL, set->where[i], NULL, MS_SHARED, NULL))
		return fail(e, "make it shared");
	return 0;
}

/* A bind of a pty's slave of a devpts instance made here (runc binds the
 * container's terminal on /dev/console), made before the pair is: the pty
 * is opened at that index now, its master held for the files' restore
 * (mnt_held_ptys()). 0 when @i is no such bind, else -errno (logged). */
static int hold_pty(struct mnt_set *set, size_t i)
{
	const MountEntry *e = entry(set, i);
	struct ns_held_pty *more;
	unsigned int index, got = 0;
	char ptmx[PATH_MAX], c;
	struct stat st;
	int fd;

	for (size_t j = 0; j < i; j++) {
		const MountEntry *o = entry(set, j);

		if (o->id != e->bind_of || !o->fstype || strcmp(o->fstype, "devpts") ||
		    strcmp(o->root, "/") || sscanf(e->root, "/%u%c", &index, &c) != 1)
			continue;
		snprintf(ptmx, sizeof(ptmx), "%s/ptmx", set->where[j]);
		if (stat(set->where[j], &st))
			return pr_errno_ret("restore: mount %u (%s): cannot reach its devpts at %s",
					    e->id, e->mountpoint, set->where[j]);
		fd = ns_devpts_open_index(ptmx, index, O_RDWR, &got);
		if (fd < 0) {
			pr_err("restore: mount %u (%s): cannot make pty %u to bind it: %s", e->id,
			       e->mountpoint, index, fd == -EEXIST ? "its index is taken" :
			       strerror(-fd));
			return fd;
		}
		more = reallocarray(set->held, set->nr_held + 1, sizeof(*more));
		if (!more) {
			close(fd);
			return -ENOMEM;
		}
		set->held = more;
		set->held[set->nr_held++] = (struct ns_held_pty){ index, st.st_dev, fd };
		return 1;
	}
	return 0;
}

static int make_one(struct mnt_set *set, size_t i)
{
	const MountEntry *e = entry(set, i);
	_cleanup_free_ char *source = NULL;
	int ret;

	if (e->kind == MOUNT_ENTRY__KIND__NEW) {
		ret = make_new(set, i);
	} else {
		source = bind_source(set, i);
		if (!source) {
			pr_err("restore: mount %u (%s): the folder it binds is not found", e->id,
			       e->mountpoint);
			return -EBADMSG;
		}
		bool bound = !mount(source, set->where[i], NULL, MS_BIND, NULL);

		ret = 0;
		/* A pty's slave exists once its pair does. */
		if (!bound && errno == ENOENT && e->has_bind_of) {
			ret = hold_pty(set, i);
			bound = ret > 0 && !mount(source, set->where[i], NULL, MS_BIND, NULL);
			if (!ret)
				errno = ENOENT;
		}
		if (ret >= 0)
			ret = bound ? 0 : fail(e, "bind the folder it shows");
		if (ret)
			pr_err("restore: mount %u (%s): bound from %s", e->id, e->mountpoint,
			       source);
	}
	if (!ret && e->flags &&
	    mount(NULL, set->where[i], NULL, MS_REMOUNT | MS_BIND | e->flags, NULL))
		ret = fail(e, "give it its flags");
	if (!ret)
		ret = set_propagation(set, i);
	return ret;
}

/* The proc mount itself, which its namespace's first process mounts. */
static bool is_new_proc(const MountEntry *e)
{
	return e->kind == MOUNT_ENTRY__KIND__NEW && !strcmp(e->fstype, "proc");
}

/* Whether record @i is made by the first process of the tree's new pid
 * namespace, once it has mounted its /proc: that proc mount and those below
 * it (runc's read-only and masked folders of /proc). */
static bool under_proc(const struct mnt_set *set, size_t i)
{
	const MountEntry *e = entry(set, i);

	for (size_t j = 0; j <= i; j++) {
		const MountEntry *p = entry(set, j);
		size_t len = strlen(p->mountpoint);

		if (is_new_proc(p) && !strncmp(e->mountpoint, p->mountpoint, len) &&
		    (!e->mountpoint[len] || e->mountpoint[len] == '/'))
			return true;
	}
	return false;
}

/* Where each record goes: below @root when the tree's root was one. */
static int place(struct mnt_set *set, const char *root)
{
	bool has_root = set->img->nr_records &&
			entry(set, 0)->kind == MOUNT_ENTRY__KIND__ROOT;

	if (has_root && !root) {
		pr_err("restore: the tree's mount namespace had the root its dump was given "
		       "(criu's root): give one again");
		return -EINVAL;
	}
	set->root = has_root ? root : NULL;
	set->where = calloc(set->img->nr_records + 1, sizeof(*set->where));
	if (!set->where)
		return -ENOMEM;
	for (size_t i = 0; i < set->img->nr_records; i++) {
		const char *mp = entry(set, i)->mountpoint;

		if (asprintf(&set->where[i], "%s%s", set->root ? set->root : "",
			     set->root && !strcmp(mp, "/") ? "" : mp) < 0) {
			set->where[i] = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

int mnt_restore(struct mnt_set *set, const char *root, const struct ns_user_set *userns,
		const struct ns_externals *externals)
{
	size_t made = 0;
	int ret = 0;

	if (!set)
		return 0;
	set->externals = externals;
	if (ns_user_unshare(userns, CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return pr_errno_ret("restore: cannot make a new mount namespace");
	ret = place(set, root);
	/* The caller's root folder (runc's bind of the rootfs) stays when the
	 * caller unmounts it: the tree's namespace lets nothing in. */
	if (!ret && set->root && (mount(NULL, set->root, NULL, MS_PRIVATE, NULL)))
		ret = pr_errno_ret("restore: root %s: cannot make it a private mount (it must "
				   "be a mount point)", set->root);
	for (size_t i = 0; !ret && i < set->img->nr_records; i++) {
		const MountEntry *e = entry(set, i);

		if (e->kind == MOUNT_ENTRY__KIND__INHERITED || e->kind == MOUNT_ENTRY__KIND__ROOT)
			continue;
		/* The first process of the new pid namespace mounts it, or
		 * cryo's own serves, when the tree stays in cryo's. */
		if (under_proc(set, i))
			continue;
		ret = make_one(set, i);
		made++;
	}
	if (!ret)
		pr_info("restore: %zu mounts made again in a new mount namespace%s%s", made,
			set->root ? " below " : "", set->root ? set->root : "");
	return ret;
}

bool mnt_has_below_proc(const struct mnt_set *set)
{
	for (size_t i = 0; set && i < set->img->nr_records; i++)
		if (under_proc(set, i) && !is_new_proc(entry(set, i)))
			return true;
	return false;
}

const char *mnt_root(const struct mnt_set *set)
{
	return set ? set->root : NULL;
}

/* The tree's /proc (made again, not cryo's), or NULL. */
static const MountEntry *own_proc(const struct mnt_set *set)
{
	for (size_t i = 0; set && i < set->img->nr_records; i++) {
		const MountEntry *e = entry(set, i);

		if (is_new_proc(e))
			return e;
	}
	return NULL;
}

struct ns_held_pty *mnt_held_ptys(struct mnt_set *set, size_t *nr)
{
	*nr = set ? set->nr_held : 0;
	return set ? set->held : NULL;
}

int mnt_proc_mount(struct mnt_set *set)
{
	const MountEntry *e = own_proc(set);
	unsigned long flags = e ? e->flags : MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char proc[PATH_MAX];
	int ret = 0;

	/* Below the tree's root, when it had one of its own (criu's root). */
	snprintf(proc, sizeof(proc), "%s/proc", set && set->root ? set->root : "");
	if (mount("proc", proc, "proc", flags, e && e->data && *e->data ? e->data : NULL))
		return -errno;
	for (size_t i = 0; set && !ret && i < set->img->nr_records; i++)
		if (under_proc(set, i) && !is_new_proc(entry(set, i)))
			ret = make_one(set, i);
	return ret;
}

int mnt_enter_root(const struct mnt_set *set)
{
	if (!set || !set->root)
		return 0;
	/* pivot_root(".", "."): the old root goes on top of the new one,
	 * and is detached at once; nothing of cryo's stays reachable. */
	if (chdir(set->root) || syscall(SYS_pivot_root, ".", ".") ||
	    umount2(".", MNT_DETACH) || chdir("/"))
		return -errno;
	return 0;
}

void mnt_proc_warn_kept(const struct mnt_set *set)
{
	const MountEntry *e = own_proc(set);

	if (e && e->data && *e->data)
		pr_warn("restore: mount %u (/proc, proc): its options %s are not made again: the "
			"tree is in cryo's pid namespace, whose /proc (cryo's own) it gets",
			e->id, e->data);
}

int mnt_keep_for_tree(int base, int *fd)
{
	_cleanup_close_ int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

	if (ns < 0)
		return pr_errno_ret("restore: cannot open the new mount namespace");
	*fd = fcntl(ns, F_DUPFD_CLOEXEC, base);
	if (*fd < 0)
		return pr_errno_ret("restore: cannot move the new mount namespace's fd above %d",
				    base);
	if (unshare(CLONE_NEWNS))
		return pr_errno_ret("restore: cannot make a copy of the new mount namespace");
	return 0;
}
