/* Dump of a tree's mount namespace: each mount of the root's mountinfo is
 * one of cryo's own (kept), a new instance of a filesystem cryo can make
 * (tmpfs, proc, sysfs, devpts, mqueue, or any --enable-fs names), or a
 * bind of a folder cryo can reach (of such a mount, or of cryo's
 * namespace: an external mount), or left out (--skip-mnt); anything else
 * is refused by name. The files of each tmpfs go into an archive
 * (mnt_tmpfs.c). Not the restore (mnt_restore.c). */
#include <errno.h>
#include <libmount/libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "cli/options.h"
#include "common/log.h"
#include "common/word_list.h"
#include "images/proto/mnt.pb-c.h"
#include "ns/mnt.h"
#include "ns/mnt_internal.h"
#include "ns/ns.h"

int mnt_caller_snapshot(struct mnt_caller *c)
{
	struct ns_ids ids;
	int ret = ns_ids_read(0, &ids);

	if (ret) {
		pr_err("dump: cannot read cryo's own mount namespace: %s", strerror(-ret));
		return ret;
	}
	c->ns = ids.ino[NS_MNT];
	c->table = mnt_new_table_from_file("/proc/self/mountinfo");
	if (!c->table)
		return pr_errno_ret("dump: cannot read cryo's own mounts (/proc/self/mountinfo)");
	return 0;
}

int mnt_caller_set_runtime(struct mnt_caller *c, const char *root, const struct opt_pair *ext,
			   int nr_ext)
{
	struct stat st;

	c->ext = ext;
	c->nr_ext = nr_ext;
	if (!root)
		return 0;
	if (stat(root, &st))
		return pr_errno_ret("dump: root %s: cannot stat it", root);
	c->root = root;
	c->root_dev = st.st_dev;
	c->root_ino = st.st_ino;
	return 0;
}

void mnt_caller_free(struct mnt_caller *c)
{
	if (c->table)
		mnt_unref_table(c->table);
	c->table = NULL;
}

/* The per-mount flags a mount can be given again. */
#define MNT_KEPT_FLAGS                                                                   \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |     \
	 MS_RELATIME | MS_STRICTATIME)

/* Whether --enable-fs names @fstype (in one of its lists) or "all". */
static bool fs_enabled(const struct mnt_caller *c, const char *fstype)
{
	for (int i = 0; i < c->nr_enable_fs; i++)
		if (word_list_has(c->enable_fs[i], fstype, strlen(fstype)) ||
		    word_list_has(c->enable_fs[i], "all", 3))
			return true;
	return false;
}

/* Whether --skip-mnt point @point is mount point @target (a trailing '/'
 * aside). */
static bool same_point(const char *point, const char *target)
{
	size_t n = strlen(point);

	while (n > 1 && point[n - 1] == '/')
		n--;
	return n == strlen(target) && !strncmp(point, target, n);
}

static bool skip_named(const struct mnt_caller *c, const char *target)
{
	for (int i = 0; i < c->nr_skip; i++)
		if (same_point(c->skip[i], target))
			return true;
	return false;
}

/* "shared:N", "master:N" of mountinfo's optional fields. */
static int read_propagation(struct libmnt_fs *fs, MountEntry *e, const char **why)
{
	const char *opt = mnt_fs_get_optional_fields(fs);
	unsigned int n;

	while (opt && *opt) {
		while (*opt == ' ')
			opt++;
		if (sscanf(opt, "shared:%u", &n) == 1) {
			e->has_shared = true;
			e->shared = n;
		} else if (sscanf(opt, "master:%u", &n) == 1) {
			e->has_master = true;
			e->master = n;
		} else if (!strncmp(opt, "unbindable", 10)) {
			*why = "an unbindable mount: not supported yet";
			return -EOPNOTSUPP;
		}
		opt = strchr(opt, ' ');
	}
	return 0;
}

/* The filesystem's own options, as mount(2) takes them back: all but
 * rw/ro (which is said apart) and the security label, which is the LSM's. */
static char *fs_data(const char *options, bool *read_only)
{
	char *out = calloc(1, options ? strlen(options) + 1 : 1);
	const char *p = options;

	*read_only = false;
	while (out && p && *p) {
		size_t len = strcspn(p, ",");

		if (len == 2 && !strncmp(p, "ro", 2))
			*read_only = true;
		else if (!(len == 2 && !strncmp(p, "rw", 2)) &&
			 !(len == 8 && !strncmp(p, "seclabel", 8))) {
			if (*out)
				strcat(out, ",");
			strncat(out, p, len);
		}
		p += len + (p[len] == ',');
	}
	return out;
}

/* Whether @root is @base or a folder below it; *@rest is what follows. */
static bool below(const char *root, const char *base, const char **rest)
{
	size_t len = strlen(base);

	if (!strcmp(base, "/")) {
		*rest = root;
		return true;
	}
	if (strncmp(root, base, len) || (root[len] && root[len] != '/'))
		return false;
	*rest = root + len;
	return true;
}

static char *join(const char *dir, const char *rest)
{
	char *out = NULL;

	if (!*rest || !strcmp(rest, "/"))
		return strdup(dir);
	if (asprintf(&out, "%s%s", strcmp(dir, "/") ? dir : "", rest) < 0)
		return NULL;
	return out;
}

/* A mount of cryo's namespace showing @root of filesystem @dev: at the same
 * mount point (*@same), or any other whose folder holds it. */
static struct libmnt_fs *caller_mount(const struct mnt_caller *c, dev_t dev, const char *root,
				      const char *target, bool *same)
{
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs, *found = NULL;
	const char *rest;

	*same = false;
	while (it && !mnt_table_next_fs(c->table, it, &fs)) {
		if (mnt_fs_get_devno(fs) != dev || !below(root, mnt_fs_get_root(fs), &rest))
			continue;
		if (!strcmp(mnt_fs_get_root(fs), root) && !strcmp(mnt_fs_get_target(fs), target)) {
			found = fs;
			*same = true;
			break;
		}
		if (!found)
			found = fs;
	}
	mnt_free_iter(it);
	return found;
}

int mnt_all_callers(const struct mnt_caller *c, pid_t pid, bool *all)
{
	struct libmnt_table *table;
	struct libmnt_iter *it;
	struct libmnt_fs *fs;
	char path[64];
	bool same = true;

	*all = false;
	if (!c->table)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	table = mnt_new_table_from_file(path);
	if (!table)
		return -errno ? -errno : -ENOMEM;
	it = mnt_new_iter(MNT_ITER_FORWARD);
	while (it && same && !mnt_table_next_fs(table, it, &fs))
		caller_mount(c, mnt_fs_get_devno(fs), mnt_fs_get_root(fs) ? mnt_fs_get_root(fs) : "/",
			     mnt_fs_get_target(fs), &same);
	*all = it && same;
	mnt_free_iter(it);
	mnt_unref_table(table);
	return it ? 0 : -ENOMEM;
}

static int classify_root(struct mnt_dump *d, MountEntry *e, const char **why)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/root", d->pid);
	if (strcmp(e->mountpoint, "/") || stat(path, &st) || st.st_dev != d->caller->root_dev ||
	    st.st_ino != d->caller->root_ino) {
		*why = "the root of its mount namespace is not the root folder the caller gave";
		return -EOPNOTSUPP;
	}
	e->kind = MOUNT_ENTRY__KIND__ROOT;
	return 0;
}

/* Decides how entry @i (of @n read so far, in @all) is made again. */
static int classify(struct mnt_dump *d, size_t i, struct libmnt_fs *fs, const char **why)
{
	MountEntry *e = &d->entries[i];
	dev_t dev = mnt_fs_get_devno(fs);
	struct libmnt_fs *theirs;
	const char *rest;
	bool same;

	/* The given root: the tree's "/" (this process is in the tree's
	 * namespace, or the root is cryo's) must be that folder. */
	if (i == 0 && d->caller->root)
		return classify_root(d, e, why);
	for (int k = 0; k < d->caller->nr_ext; k++)
		if (!strcmp(d->caller->ext[k].key, e->mountpoint)) {
			e->kind = MOUNT_ENTRY__KIND__BIND;
			e->ext_key = strdup(d->caller->ext[k].val);
			return e->ext_key ? 0 : -ENOMEM;
		}
	theirs = caller_mount(d->caller, dev, e->root, e->mountpoint, &same);
	/* Below a given root, no mount point is one of cryo's. */
	if (same && !d->caller->root) {
		e->kind = MOUNT_ENTRY__KIND__INHERITED;
		return 0;
	}
	if (e->root[0] != '/') {
		*why = "a namespace file or another object with no folder is bound on it (an "
		       "`ip netns` mount is one): not supported yet unless cryo's namespace has "
		       "it at the same place";
		return -EOPNOTSUPP;
	}
	/* A folder of a mount made again before it. */
	for (size_t j = 0; j < i; j++) {
		MountEntry *o = &d->entries[j];

		if (d->devs[j] != dev || o->kind == MOUNT_ENTRY__KIND__INHERITED ||
		    !below(e->root, o->root, &rest))
			continue;
		e->kind = MOUNT_ENTRY__KIND__BIND;
		e->has_bind_of = true;
		e->bind_of = o->id;
		return 0;
	}
	if (theirs) {
		/* A folder of cryo's namespace bound in: bound again from there. */
		below(e->root, mnt_fs_get_root(theirs), &rest);
		e->kind = MOUNT_ENTRY__KIND__BIND;
		e->bind_path = join(mnt_fs_get_target(theirs), rest);
		return e->bind_path ? 0 : -ENOMEM;
	}
	if (i == 0) {
		*why = "the root of its mount namespace is not a folder of cryo's namespace "
		       "(--root is not supported yet)";
		return -EOPNOTSUPP;
	}
	bool anew = !mnt_fstype_makeable(e->fstype) && fs_enabled(d->caller, e->fstype);

	if (!mnt_fstype_makeable(e->fstype) && !anew) {
		*why = "cryo makes again only tmpfs, proc, sysfs, devpts and mqueue mounts, and "
		       "binds of folders it can reach (an overlay or a block device's filesystem "
		       "must be a mount of cryo's namespace; --enable-fs TYPE mounts one anew, "
		       "without its files)";
		return -EOPNOTSUPP;
	}
	if (strcmp(e->root, "/")) {
		*why = "a folder of a filesystem whose root is not mounted in the namespace: not "
		       "supported yet";
		return -EOPNOTSUPP;
	}
	if (!strcmp(e->fstype, "proc") && strcmp(e->mountpoint, "/proc")) {
		*why = "a proc mount elsewhere than /proc: not supported yet";
		return -EOPNOTSUPP;
	}
	e->kind = MOUNT_ENTRY__KIND__NEW;
	e->has_mounted_anew = e->mounted_anew = anew;
	if (anew)
		pr_info("dump: pid %d: mount %u (%s, %s on %s): saved to be mounted anew, without "
			"its files (--enable-fs)", d->pid, e->id, e->mountpoint, e->fstype,
			e->source ? e->source : "none");
	bool read_only;

	e->data = fs_data(mnt_fs_get_fs_options(fs), &read_only);
	e->fs_read_only = read_only;
	e->has_fs_read_only = read_only;
	e->has_contents = !strcmp(e->fstype, "tmpfs");
	e->has_has_contents = e->has_contents;
	return e->data ? 0 : -ENOMEM;
}

static int read_entry(struct mnt_dump *d, size_t i, struct libmnt_fs *fs, const char **why)
{
	MountEntry *e = &d->entries[i];
	unsigned long flags = 0;
	const char *source = mnt_fs_get_source(fs);

	mount_entry__init(e);
	d->devs[i] = mnt_fs_get_devno(fs);
	e->id = (uint32_t)mnt_fs_get_id(fs);
	e->parent_id = (uint32_t)mnt_fs_get_parent_id(fs);
	e->mountpoint = strdup(mnt_fs_get_target(fs));
	e->fstype = strdup(mnt_fs_get_fstype(fs) ? mnt_fs_get_fstype(fs) : "?");
	e->root = strdup(mnt_fs_get_root(fs) ? mnt_fs_get_root(fs) : "/");
	e->source = source ? strdup(source) : NULL;
	if (!e->mountpoint || !e->fstype || !e->root || (source && !e->source))
		return -ENOMEM;
	if (mnt_optstr_get_flags(mnt_fs_get_vfs_options(fs), &flags,
				 mnt_get_builtin_optmap(MNT_LINUX_MAP)))
		flags = 0;
	e->flags = flags & MNT_KEPT_FLAGS;
	if (read_propagation(fs, e, why))
		return -EOPNOTSUPP;
	return classify(d, i, fs, why);
}

static void free_entries(struct mnt_dump *d)
{
	for (size_t i = 0; i < d->nr; i++) {
		MountEntry *e = &d->entries[i];

		free(e->mountpoint);
		free(e->fstype);
		free(e->root);
		free(e->source);
		free(e->data);
		free(e->bind_path);
		free(e->ext_key);
	}
	free(d->entries);
	free(d->devs);
}

static int write_entries(const struct mnt_dump *d, struct image_dir *dir)
{
	struct image_writer *w = NULL;
	int ret = image_open_write(dir, IMG_MNT, 0, &w);

	for (size_t i = 0; !ret && i < d->nr; i++)
		ret = image_write_record(w, &d->entries[i].base);
	if (ret) {
		if (w)
			image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* Every mount is the caller's, or a proc without options (hidepid=,
 * subset=, gid=) that restore leaves to the first process of a new pid
 * namespace or to cryo's own. */
static bool nothing_to_make(const struct mnt_dump *d)
{
	for (size_t i = 0; i < d->nr; i++) {
		const MountEntry *e = &d->entries[i];

		if (e->kind != MOUNT_ENTRY__KIND__INHERITED &&
		    !(e->kind == MOUNT_ENTRY__KIND__NEW && !strcmp(e->fstype, "proc") &&
		      !*e->data))
			return false;
	}
	return true;
}

void mnt_skipped_free(struct mnt_skipped *skipped)
{
	for (size_t i = 0; i < skipped->nr; i++)
		free(skipped->mounts[i].mountpoint);
	free(skipped->mounts);
	skipped->mounts = NULL;
	skipped->nr = 0;
}

/* --skip-mnt: @fs is left out when it is at a point named (not the
 * namespace's root, which everything hangs from), and one below a mount
 * left out is refused, since restore would have nowhere to make it. 1:
 * left out; 0: dumped; -errno with *@why. */
static int skip_mount(const struct mnt_caller *c, size_t i, struct libmnt_fs *fs,
		      struct mnt_skipped *skipped, const char **why)
{
	struct mnt_skipped_one *more;
	uint32_t parent = (uint32_t)mnt_fs_get_parent_id(fs);
	bool named = skip_named(c, mnt_fs_get_target(fs));

	if (named && i == 0) {
		*why = "--skip-mnt names the root of the tree's mount namespace, which cannot be "
		       "left out";
		return -EINVAL;
	}
	if (!named && mnt_skipped_find(skipped, parent)) {
		*why = "it is below a mount that --skip-mnt leaves out: leave it out too, or keep "
		       "that one";
		return -EOPNOTSUPP;
	}
	if (!named)
		return 0;
	more = reallocarray(skipped->mounts, skipped->nr + 1, sizeof(*more));
	if (!more)
		return -ENOMEM;
	skipped->mounts = more;
	more[skipped->nr].id = (uint32_t)mnt_fs_get_id(fs);
	more[skipped->nr].mountpoint = strdup(mnt_fs_get_target(fs));
	if (!more[skipped->nr].mountpoint)
		return -ENOMEM;
	skipped->nr++;
	pr_info("dump: mount %d (%s, %s): left out (--skip-mnt)", mnt_fs_get_id(fs),
		mnt_fs_get_target(fs), mnt_fs_get_fstype(fs) ? mnt_fs_get_fstype(fs) : "?");
	return 1;
}

/* Says which --skip-mnt points name no mount of the tree. */
static void warn_unused_skips(const struct mnt_caller *c, const struct mnt_skipped *skipped)
{
	for (int i = 0; i < c->nr_skip; i++) {
		bool used = false;

		for (size_t j = 0; j < skipped->nr && !used; j++)
			used = same_point(c->skip[i], skipped->mounts[j].mountpoint);
		if (!used)
			pr_warn("dump: --skip-mnt %s: no mount of the tree's mount namespace is "
				"there", c->skip[i]);
	}
}

int mnt_dump(const struct mnt_caller *c, pid_t pid, uint64_t mnt_ns, struct image_dir *dir,
	     struct mnt_skipped *skipped)
{
	struct mnt_dump d = { .caller = c, .pid = pid };
	struct libmnt_table *table;
	struct libmnt_iter *it;
	struct libmnt_fs *fs;
	char path[64];
	const char *why = NULL;
	size_t all;
	int ret = 0;

	if (c->table && mnt_ns == c->ns && (c->nr_skip || c->nr_enable_fs))
		pr_warn("dump: pid %d: the tree is in cryo's mount namespace, whose mounts are "
			"not dumped: --skip-mnt and --enable-fs change nothing", pid);
	if (!c->table || mnt_ns == c->ns)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	table = mnt_new_table_from_file(path);
	if (!table)
		return pr_errno_ret("dump: pid %d: cannot read its mounts (%s)", pid, path);
	all = (size_t)mnt_table_get_nents(table);
	d.entries = calloc(all + 1, sizeof(*d.entries));
	d.devs = calloc(all + 1, sizeof(*d.devs));
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!d.entries || !d.devs || !it)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < all && !mnt_table_next_fs(table, it, &fs); i++) {
		ret = skip_mount(c, i, fs, skipped, &why);
		if (!ret)
			ret = read_entry(&d, d.nr++, fs, &why);
		ret = ret > 0 ? 0 : ret;
		if (ret && why)
			pr_err("dump: pid %d: mount %d (%s, %s on %s): %s", pid,
			       mnt_fs_get_id(fs), mnt_fs_get_target(fs),
			       mnt_fs_get_fstype(fs) ? mnt_fs_get_fstype(fs) : "?",
			       mnt_fs_get_source(fs) ? mnt_fs_get_source(fs) : "none", why);
	}
	if (!ret)
		warn_unused_skips(c, skipped);
	if (ret == -ENOMEM)
		pr_err("dump: pid %d: out of memory for its mounts", pid);
	for (size_t i = 0; !ret && i < d.nr; i++)
		if (d.entries[i].has_contents)
			ret = mnt_tmpfs_dump(&d, i, dir);
	/* Only mounts restore makes (or a proc its first process makes): no
	 * namespace is needed for them. */
	if (!ret && !nothing_to_make(&d))
		ret = write_entries(&d, dir);
	if (!ret)
		pr_info("dump: pid %d: its mount namespace (mnt:[%llu]) has %zu mounts", pid,
			(unsigned long long)mnt_ns, d.nr);
	mnt_free_iter(it);
	mnt_unref_table(table);
	free_entries(&d);
	return ret;
}
