/* What a restore trusts and grants: an image directory and its files only
 * when the caller (or root) owns them and no one else may write them; the
 * credentials an image asks for only when the caller could grant them and,
 * for an unsigned set, a process of the image's owner could hold them; and
 * the task's files opened under the task's own filesystem credentials.
 * Not here: how images are read (images/) or credentials applied (task/). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ns/user.h"
#include "restore/restore.h"

/* As ssh's StrictModes: owned by the caller or root, writable by no one else. */
static int check_owner_mode(const char *what, const char *path, const struct stat *st)
{
	uid_t me = geteuid();

	/* A symlink has no mode of its own; the reader refuses it by name. */
	if (S_ISLNK(st->st_mode))
		return 0;
	if (st->st_uid != me && st->st_uid != 0) {
		pr_err("restore: %s %s is owned by uid %u, neither the caller (uid %u) nor root: "
		       "refused", what, path, st->st_uid, me);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		pr_err("restore: %s %s is writable by %s (mode %04o): refused", what, path,
		       st->st_mode & S_IWOTH ? "everyone" : "its group", st->st_mode & 07777);
		return -EPERM;
	}
	return 0;
}

int restore_check_image_dir(const struct image_dir *dir, uid_t *owner)
{
	_cleanup_close_ int list_fd = -1;
	struct dirent *de;
	struct stat st;
	uid_t found;
	int ret;
	DIR *d;

	if (fstat(dir->fd, &st))
		return pr_errno_ret("restore: cannot stat image directory %s", dir->path);
	ret = check_owner_mode("image directory", dir->path, &st);
	if (ret)
		return ret;
	/* Owners are the caller or root: a non-root one is the caller. */
	found = st.st_uid;
	list_fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = list_fd >= 0 ? fdopendir(list_fd) : NULL;
	if (!d)
		return pr_errno_ret("restore: cannot list image directory %s", dir->path);
	steal_fd(list_fd);
	while (!ret && (de = readdir(d))) {
		_cleanup_free_ char *path = NULL;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path = image_dir_file_path(dir, de->d_name);
		if (!path)
			ret = -ENOMEM;
		else if (fstatat(dir->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			ret = pr_errno_ret("restore: cannot stat %s", path);
		else
			ret = check_owner_mode("image file", path, &st);
		if (!ret && st.st_uid)
			found = st.st_uid;
	}
	closedir(d);
	if (!ret)
		*owner = found;
	return ret;
}

/* ---- credentials the caller may grant ------------------------------------------ */

struct caller_creds {
	uid_t uid[3];
	gid_t gid[3];
	gid_t *groups;
	int nr_groups;
	uint64_t permitted, effective;
};

static int read_caller(struct caller_creds *c)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(c, 0, sizeof(*c));
	if (getresuid(&c->uid[0], &c->uid[1], &c->uid[2]) ||
	    getresgid(&c->gid[0], &c->gid[1], &c->gid[2]) ||
	    syscall(SYS_capget, &hdr, data))
		return pr_errno_ret("restore: cannot read cryo's own credentials");
	c->permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
	c->effective = data[0].effective | (uint64_t)data[1].effective << 32;
	c->nr_groups = getgroups(0, NULL);
	c->groups = calloc((size_t)(c->nr_groups > 0 ? c->nr_groups : 0) + 1, sizeof(gid_t));
	if (c->nr_groups < 0 || !c->groups ||
	    getgroups(c->nr_groups, c->groups) != c->nr_groups) {
		free(c->groups);
		return pr_errno_ret("restore: cannot read cryo's own groups");
	}
	return 0;
}

/* Root with the capabilities to set any ids may grant any credentials. */
static bool fully_privileged(const struct caller_creds *c)
{
	const uint64_t needed = 1ULL << CAP_SETUID | 1ULL << CAP_SETGID | 1ULL << CAP_SETPCAP |
				1ULL << CAP_SYS_ADMIN;

	return c->uid[1] == 0 && (c->effective & needed) == needed;
}

static bool has_uid(const struct caller_creds *c, uint32_t id)
{
	return id == c->uid[0] || id == c->uid[1] || id == c->uid[2];
}

static bool has_gid(const struct caller_creds *c, uint32_t id)
{
	for (int i = 0; i < c->nr_groups; i++)
		if (c->groups[i] == id)
			return true;
	return id == c->gid[0] || id == c->gid[1] || id == c->gid[2];
}

/* Without full privileges, cryo grants only what it holds itself, as
 * criu's --unprivileged does. @who: "pid N", or "pid N thread M". */
static int check_task_creds(const struct caller_creds *c, const char *who, const Creds *cr)
{
	const uint32_t uids[] = { cr->uid, cr->euid, cr->suid, cr->fsuid };
	const uint32_t gids[] = { cr->gid, cr->egid, cr->sgid, cr->fsgid };
	uint64_t caps = cr->cap_permitted | cr->cap_effective | cr->cap_inheritable |
			cr->cap_ambient;

	for (size_t i = 0; i < 4; i++) {
		if (!has_uid(c, uids[i])) {
			pr_err("restore: %s: the image asks for uid %u, which cryo (uid %u, "
			       "without full privileges) may not grant: refused", who, uids[i],
			       c->uid[1]);
			return -EPERM;
		}
		if (!has_gid(c, gids[i])) {
			pr_err("restore: %s: the image asks for gid %u, which cryo (gid %u, "
			       "without full privileges) may not grant: refused", who, gids[i],
			       c->gid[1]);
			return -EPERM;
		}
	}
	for (size_t i = 0; i < cr->n_groups; i++) {
		if (!has_gid(c, cr->groups[i])) {
			pr_err("restore: %s: the image asks for group %u, which cryo is not in: "
			       "refused", who, cr->groups[i]);
			return -EPERM;
		}
	}
	if (caps & ~c->permitted) {
		pr_err("restore: %s: the image asks for capabilities %#llx beyond cryo's own "
		       "(%#llx): refused", who, (unsigned long long)(caps & ~c->permitted),
		       (unsigned long long)c->permitted);
		return -EPERM;
	}
	return 0;
}

/* ---- credentials the image's owner could hold ------------------------------------- */

/* The groups of user @uid in the user database (its primary one first). */
static int read_owner_groups(uid_t uid, gid_t **groups, int *nr)
{
	struct passwd *pw = getpwuid(uid);
	int n = 0;

	if (!pw) {
		pr_err("restore: the images are owned by uid %u, which the user database does not "
		       "know: its groups cannot be bounded, refused", uid);
		return -EPERM;
	}
	getgrouplist(pw->pw_name, pw->pw_gid, NULL, &n);
	*groups = calloc((size_t)n + 1, sizeof(gid_t));
	if (!*groups)
		return -ENOMEM;
	if (getgrouplist(pw->pw_name, pw->pw_gid, *groups, &n) < 0) {
		free(*groups);
		pr_err("restore: cannot read the groups of uid %u", uid);
		return -EIO;
	}
	*nr = n;
	return 0;
}

static bool in_groups(const gid_t *groups, int nr, uint32_t gid)
{
	for (int i = 0; i < nr; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* An unsigned set written by uid @owner (not root) describes processes
 * that uid could have run: its ids, and groups it is in. Capabilities are
 * left to the caller bound (check_task_creds), or refused outright when
 * cryo would grant any. */
static int check_owner_bound(uid_t owner, bool caller_bound, const char *who, const Creds *cr,
			     const gid_t *groups, int nr_groups)
{
	const uint32_t uids[] = { cr->uid, cr->euid, cr->suid, cr->fsuid };
	const uint32_t gids[] = { cr->gid, cr->egid, cr->sgid, cr->fsgid };
	uint64_t caps = cr->cap_permitted | cr->cap_effective | cr->cap_inheritable |
			cr->cap_ambient;

	for (size_t i = 0; i < 4; i++) {
		if (uids[i] != owner) {
			pr_err("restore: %s: the image asks for uid %u, but its files are owned "
			       "by uid %u, whose processes cannot hold it: refused", who, uids[i],
			       owner);
			return -EPERM;
		}
		if (!in_groups(groups, nr_groups, gids[i])) {
			pr_err("restore: %s: the image asks for gid %u, but its files are owned "
			       "by uid %u, who is not in that group: refused", who, gids[i], owner);
			return -EPERM;
		}
	}
	for (size_t i = 0; i < cr->n_groups; i++) {
		if (!in_groups(groups, nr_groups, cr->groups[i])) {
			pr_err("restore: %s: the image asks for group %u, but its files are owned "
			       "by uid %u, who is not in it: refused", who, cr->groups[i], owner);
			return -EPERM;
		}
	}
	if (caps && !caller_bound) {
		pr_err("restore: %s: the image asks for capabilities %#llx, but its files are "
		       "owned by uid %u, and cryo runs as root: refused", who,
		       (unsigned long long)caps, owner);
		return -EPERM;
	}
	return 0;
}

/* Each live task's credentials through @check, and each of its threads'
 * own; a task without any is refused, @why saying what would have bounded
 * them. */
static int check_each_task(const struct restore_set *rs, const char *why,
			   int (*check)(const void *bound, const char *who, const Creds *cr),
			   const void *bound)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		const TaskCore *core = rs->tasks[i].core;
		char who[48];

		if (rs->tree.tasks[i].state != TREE_ALIVE)
			continue;
		if (!core->creds) {
			pr_err("restore: pid %d: the image has no credentials, and %s: refused",
			       rs->tasks[i].pid, why);
			return -EPERM;
		}
		snprintf(who, sizeof(who), "pid %d", rs->tasks[i].pid);
		ret = check(bound, who, core->creds);
		for (size_t t = 0; !ret && t < core->n_threads; t++) {
			if (!core->threads[t]->creds)
				continue;
			snprintf(who, sizeof(who), "pid %d thread %d", rs->tasks[i].pid,
				 core->threads[t]->tid);
			ret = check(bound, who, core->threads[t]->creds);
		}
	}
	return ret;
}

static int check_caller_bound(const void *bound, const char *who, const Creds *cr)
{
	return check_task_creds(bound, who, cr);
}

struct owner_bound {
	uid_t owner;
	/* Capabilities are the caller's to bound, or held inside the tree's
	 * user namespace only. */
	bool caller_bound;
	gid_t *groups;
	int nr_groups;
};

static int check_owner(const void *bound, const char *who, const Creds *cr)
{
	const struct owner_bound *b = bound;

	return check_owner_bound(b->owner, b->caller_bound, who, cr, b->groups, b->nr_groups);
}

int restore_check_creds(const struct restore_set *rs, uid_t image_owner)
{
	struct owner_bound owner = { .owner = image_owner };
	struct caller_creds c;
	int ret = read_caller(&c);

	if (ret)
		return ret;
	/* A user namespace of an unsigned set of a user maps only onto ids
	 * that user holds: said first, by its maps. */
	if (!rs->signed_set && image_owner && rs->userns) {
		ret = read_owner_groups(image_owner, &owner.groups, &owner.nr_groups);
		if (!ret)
			ret = ns_user_check_owner(rs->userns, image_owner, owner.groups,
						  owner.nr_groups);
		free(owner.groups);
		owner.groups = NULL;
		if (ret) {
			free(c.groups);
			return ret;
		}
	}
	owner.caller_bound = !fully_privileged(&c);
	if (owner.caller_bound) {
		pr_info("restore: cryo runs without full privileges: each task gets only "
			"credentials cryo holds itself");
		ret = check_each_task(rs, "cryo without full privileges grants none of its own",
				      check_caller_bound, &c);
	}
	/* A set signed by a key holder is theirs to vouch for; an unsigned one
	 * of a non-root owner grants only what its owner could have. */
	if (!ret && !rs->signed_set && image_owner) {
		ret = read_owner_groups(image_owner, &owner.groups, &owner.nr_groups);
		/* The capabilities a user namespace of the owner's ids gives
		 * hold inside it; files are opened without them (outside it,
		 * they would be cryo's). */
		if (!ret && rs->userns) {
			owner.caller_bound = true;
			rs->userns->fs_caps_off = true;
		}
		if (!ret)
			ret = check_each_task(rs, "its files are owned by a user, not root",
					      check_owner, &owner);
		free(owner.groups);
	}
	free(c.groups);
	return ret;
}

/* ---- the task's filesystem credentials ------------------------------------------- */

/* The capabilities that bypass file permission and ownership checks. */
#define FS_CAPS                                                                          \
	(1ULL << CAP_CHOWN | 1ULL << CAP_DAC_OVERRIDE | 1ULL << CAP_DAC_READ_SEARCH |       \
	 1ULL << CAP_FOWNER | 1ULL << CAP_FSETID | 1ULL << CAP_LINUX_IMMUTABLE |           \
	 1ULL << CAP_MKNOD | 1ULL << CAP_MAC_OVERRIDE)

static int get_caps(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &hdr, data) ? -errno : 0;
}

static int set_caps(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* The file capabilities in effect become the task's (those cryo holds). */
static int take_fs_caps(pid_t pid, uint64_t task_effective)
{
	struct __user_cap_data_struct data[2];
	uint64_t permitted, effective;
	int ret = get_caps(data);

	if (ret)
		return pr_errno_ret("restore: pid %d: capget", pid);
	permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
	effective = data[0].effective | (uint64_t)data[1].effective << 32;
	effective = (effective & ~FS_CAPS) | (task_effective & FS_CAPS & permitted);
	data[0].effective = (uint32_t)effective;
	data[1].effective = (uint32_t)(effective >> 32);
	ret = set_caps(data);
	if (ret) {
		errno = -ret;
		return pr_errno_ret("restore: pid %d: cannot take on its file capabilities", pid);
	}
	return 0;
}

int restore_save_fs_creds(struct restore_fs_creds *saved)
{
	if (get_caps(saved->caps))
		return pr_errno_ret("restore: cannot read cryo's capabilities");
	saved->fsuid = (uid_t)setfsuid((uid_t)-1);
	saved->fsgid = (gid_t)setfsgid((gid_t)-1);
	saved->nr_groups = getgroups(RESTORE_MAX_GROUPS, saved->groups);
	if (saved->nr_groups < 0)
		return pr_errno_ret("restore: cannot read cryo's groups");
	return 0;
}

int restore_take_fs_creds(const TaskCore *core, bool no_caps)
{
	const Creds *cr = core->creds;

	/* An image without credentials is restored with cryo's. */
	if (!cr)
		return 0;
	if (cr->n_groups > RESTORE_MAX_GROUPS) {
		pr_err("restore: pid %d: %zu supplementary groups, more than %d", core->pid,
		       cr->n_groups, RESTORE_MAX_GROUPS);
		return -E2BIG;
	}
	if (setgroups(cr->n_groups, cr->n_groups ? (const gid_t *)cr->groups : NULL))
		return pr_errno_ret("restore: pid %d: cannot take on its groups", core->pid);
	/* setfsuid() says nothing of a failure: read back. */
	setfsgid(cr->fsgid);
	setfsuid(cr->fsuid);
	if ((uid_t)setfsuid((uid_t)-1) != cr->fsuid || (gid_t)setfsgid((gid_t)-1) != cr->fsgid) {
		pr_err("restore: pid %d: cannot take on its fsuid %u and fsgid %u", core->pid,
		       cr->fsuid, cr->fsgid);
		return -EPERM;
	}
	/* A nonzero fsuid dropped CAP_DAC_OVERRIDE and the other file
	 * capabilities, and a zero one kept cryo's: either way they become the
	 * task's, so opens, creates and chowns are checked as its own. With
	 * @no_caps none: the task's hold only inside its user namespace. */
	return take_fs_caps(core->pid, no_caps ? 0 : cr->cap_effective);
}

/* The groups a process born in its user namespace has (the root's, from
 * the process that made it outside) must be its own: setgroups may be
 * denied inside. */
static int groups_are(const Creds *cr)
{
	gid_t now[RESTORE_MAX_GROUPS];
	int nr = getgroups(RESTORE_MAX_GROUPS, now);

	if (nr < 0 || (size_t)nr != cr->n_groups)
		return -EPERM;
	for (size_t i = 0; i < cr->n_groups; i++) {
		bool found = false;

		for (int j = 0; j < nr && !found; j++)
			found = now[j] == cr->groups[i];
		if (!found)
			return -EPERM;
	}
	return 0;
}

int restore_take_fs_creds_inside(const TaskCore *core, const struct ns_user_set *set)
{
	const Creds *cr = core->creds;
	uint32_t fsuid, fsgid;

	if (!cr)
		return 0;
	if (groups_are(cr)) {
		pr_err("restore: pid %d: its supplementary groups differ from its pid namespace "
		       "init's, which it is born with inside its user namespace: not supported",
		       core->pid);
		return -EOPNOTSUPP;
	}
	if (ns_user_inside(set, false, cr->fsuid, &fsuid) ||
	    ns_user_inside(set, true, cr->fsgid, &fsgid)) {
		pr_err("restore: pid %d: its fsuid %u or fsgid %u has no id in its user namespace",
		       core->pid, cr->fsuid, cr->fsgid);
		return -ERANGE;
	}
	setfsgid(fsgid);
	setfsuid(fsuid);
	if ((uid_t)setfsuid((uid_t)-1) != fsuid || (gid_t)setfsgid((gid_t)-1) != fsgid) {
		pr_err("restore: pid %d: cannot take on its fsuid %u and fsgid %u inside its user "
		       "namespace", core->pid, fsuid, fsgid);
		return -EPERM;
	}
	/* Its capabilities hold there, where it is. */
	return take_fs_caps(core->pid, cr->cap_effective);
}

int restore_put_back_fs_creds(struct restore_fs_creds *saved)
{
	setfsuid(saved->fsuid);
	setfsgid(saved->fsgid);
	if (setgroups((size_t)saved->nr_groups, saved->groups))
		return pr_errno_ret("restore: cannot take cryo's own groups back");
	if (set_caps(saved->caps))
		return pr_errno_ret("restore: cannot take cryo's own capabilities back");
	return 0;
}
