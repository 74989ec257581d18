/* A tree's own user namespace: the dump's checks and userns.img (maps,
 * setgroups, owner, the kinds it owns), and at restore making it and the
 * namespaces it owns. How processes enter it is the restorer's (before
 * their threads and credentials); the image checks are user_image.c's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/user_ns.pb-c.h"
#include "ns/user.h"

/* The kinds whose owner is checked, with their clone flags. */
static const struct {
	enum ns_kind kind;
	int flag;
} ownable[] = {
	{ NS_MNT, CLONE_NEWNS },   { NS_NET, CLONE_NEWNET },       { NS_IPC, CLONE_NEWIPC },
	{ NS_UTS, CLONE_NEWUTS },  { NS_PID, CLONE_NEWPID },       { NS_CGROUP, CLONE_NEWCGROUP },
	{ NS_TIME, CLONE_NEWTIME },
};

/* The inode of the namespace an nsfs ioctl @req on @path gives. */
static int ns_ioctl_ino(const char *path, unsigned long req, uint64_t *ino)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int got = -1;
	struct stat st;

	if (fd < 0)
		return -errno;
	got = ioctl(fd, req);
	if (got < 0)
		return -errno;
	if (fstat(got, &st))
		return -errno;
	*ino = st.st_ino;
	return 0;
}

/* The kinds of @ids the root's user namespace owns; -EOPNOTSUPP for one
 * owned by neither it nor cryo's. */
static int owned_kinds(pid_t pid, const struct ns_ids *ids, const struct ns_ids *cryos,
		       uint32_t *owned)
{
	char path[64];

	*owned = 0;
	for (size_t i = 0; i < sizeof(ownable) / sizeof(ownable[0]); i++) {
		enum ns_kind k = ownable[i].kind;
		uint64_t owner;
		int ret;

		/* Every kind, cryo's too: a dump from inside the tree's pid
		 * namespace (dump/pid_ns.c), or inside its network namespace,
		 * sees the tree's as its own. */
		if (!ids->ino[k])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns_kind_name(k));
		ret = ns_ioctl_ino(path, NS_GET_USERNS, &owner);
		/* EPERM: the pid namespace is cryo's own's ancestor's. */
		if (ret == -EPERM && k == NS_PID)
			continue;
		if (ret) {
			pr_err("dump: pid %d: cannot find which user namespace owns its %s namespace: "
			       "%s", pid, ns_kind_name(k), strerror(-ret));
			return ret;
		}
		if (owner == ids->ino[NS_USER]) {
			*owned |= (uint32_t)ownable[i].flag;
		} else if (owner != cryos->ino[NS_USER]) {
			pr_err("dump: pid %d: its %s namespace (%s:[%llu]) belongs to user namespace "
			       "user:[%llu], neither its own (user:[%llu]) nor cryo's: cannot be made "
			       "again", pid, ns_kind_name(k), ns_kind_name(k),
			       (unsigned long long)ids->ino[k], (unsigned long long)owner,
			       (unsigned long long)ids->ino[NS_USER]);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int ns_user_check_root(pid_t pid, const struct ns_ids *ids, bool *threads_ok)
{
	struct ns_ids cryos;
	uint64_t parent = 0;
	uint32_t owned;
	char path[64];
	int ret = ns_ids_read(0, &cryos);

	*threads_ok = true;
	if (ret) {
		pr_err("dump: cannot read cryo's own namespaces: %s", strerror(-ret));
		return ret;
	}
	if (!ids->ino[NS_USER] || ids->ino[NS_USER] == cryos.ino[NS_USER])
		return owned_kinds(pid, ids, &cryos, &owned);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	ret = ns_ioctl_ino(path, NS_GET_PARENT, &parent);
	if (ret && ret != -EPERM) {
		pr_err("dump: pid %d: cannot read the parent of its user namespace: %s", pid,
		       strerror(-ret));
		return ret;
	}
	if (ret || parent != cryos.ino[NS_USER]) {
		pr_err("dump: pid %d: in user namespace user:[%llu], which is not a child of "
		       "cryo's (user:[%llu]): only a user namespace one level below cryo's is "
		       "supported", pid, (unsigned long long)ids->ino[NS_USER],
		       (unsigned long long)cryos.ino[NS_USER]);
		return -EOPNOTSUPP;
	}
	ret = owned_kinds(pid, ids, &cryos, &owned);
	/* A thread's tid is chosen once its process is inside, which takes
	 * a pid namespace of the user namespace's own. */
	*threads_ok = !ret && (owned & CLONE_NEWPID);
	return ret;
}

/* The lines of /proc/PID/{uid,gid}_map. */
static int read_map(pid_t pid, const char *name, UserNsExtent *ext, UserNsExtent **ptrs,
		    size_t *nr)
{
	char path[64];
	unsigned int in, out, count;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot read its %s", pid, name);
	*nr = 0;
	while (*nr < NS_USER_MAP_MAX && fscanf(f, "%u %u %u", &in, &out, &count) == 3) {
		user_ns_extent__init(&ext[*nr]);
		ext[*nr].inside = in;
		ext[*nr].outside = out;
		ext[*nr].count = count;
		ptrs[*nr] = &ext[*nr];
		(*nr)++;
	}
	fclose(f);
	return 0;
}

static int read_setgroups(pid_t pid, bool *allow)
{
	char path[64], word[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot read its setgroups", pid);
	if (fscanf(f, "%15s", word) != 1)
		word[0] = '\0';
	fclose(f);
	*allow = !strcmp(word, "allow");
	if (!*allow && strcmp(word, "deny")) {
		pr_err("dump: pid %d: its setgroups says '%s', neither allow nor deny", pid, word);
		return -EIO;
	}
	return 0;
}

struct user_ns_dump {
	UserNsExtent uid[NS_USER_MAP_MAX], gid[NS_USER_MAP_MAX];
	UserNsExtent *uid_ptrs[NS_USER_MAP_MAX], *gid_ptrs[NS_USER_MAP_MAX];
};

int ns_user_dump(pid_t pid, const struct ns_ids *ids, struct image_dir *dir)
{
	struct user_ns_dump *d = NULL;
	UserNs msg = USER_NS__INIT;
	struct ns_ids cryos;
	char path[64];
	int ret = ns_ids_read(0, &cryos), fd;
	uid_t owner = 0;
	bool allow = false;

	if (ret || !ids->ino[NS_USER] || ids->ino[NS_USER] == cryos.ino[NS_USER])
		return ret;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	ret = read_map(pid, "uid_map", d->uid, d->uid_ptrs, &msg.n_uid_map);
	if (!ret)
		ret = read_map(pid, "gid_map", d->gid, d->gid_ptrs, &msg.n_gid_map);
	if (!ret)
		ret = read_setgroups(pid, &allow);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	fd = ret ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (!ret && (fd < 0 || ioctl(fd, NS_GET_OWNER_UID, &owner)))
		ret = pr_errno_ret("dump: pid %d: cannot read the owner of its user namespace", pid);
	if (fd >= 0)
		close(fd);
	if (!ret)
		ret = owned_kinds(pid, ids, &cryos, &msg.owned_kinds);
	msg.uid_map = d->uid_ptrs;
	msg.gid_map = d->gid_ptrs;
	msg.setgroups_allow = allow;
	msg.owner_uid = owner;
	if (!ret)
		ret = image_write_single(dir, IMG_USERNS, 0, &msg.base);
	free(d);
	if (!ret)
		pr_info("dump: pid %d: its own user namespace: %zu uid and %zu gid map lines, "
			"setgroups %s, owner uid %u, owns kinds %#x", pid, msg.n_uid_map,
			msg.n_gid_map, allow ? "allow" : "deny", owner, msg.owned_kinds);
	return ret;
}

/* ---- restore ----------------------------------------------------------------- */

static void copy_map(UserNsExtent **from, size_t nr, struct ns_user_extent *to, size_t *nr_to)
{
	for (size_t i = 0; i < nr; i++)
		to[i] = (struct ns_user_extent){ from[i]->inside, from[i]->outside,
						 from[i]->count };
	*nr_to = nr;
}

int ns_user_load(const struct image_dir *dir, struct ns_user_set **out)
{
	struct ns_user_set *set;
	struct image *img;
	const UserNs *u;
	int ret;

	*out = NULL;
	if (faccessat(dir->fd, "userns.img", F_OK, 0) && errno == ENOENT)
		return 0;
	ret = image_read(dir, IMG_USERNS, 0, &img);
	if (ret)
		return ret;
	set = calloc(1, sizeof(*set));
	if (!set) {
		image_free(img);
		return -ENOMEM;
	}
	u = (const UserNs *)img->records[0].msg;
	copy_map(u->uid_map, u->n_uid_map, set->uid, &set->nr_uid);
	copy_map(u->gid_map, u->n_gid_map, set->gid, &set->nr_gid);
	set->setgroups_allow = u->setgroups_allow;
	set->owner = u->owner_uid;
	set->owned_kinds = u->owned_kinds;
	set->fd = -1;
	image_free(img);
	*out = set;
	return 0;
}

void ns_user_close(struct ns_user_set *set)
{
	if (set && set->fd >= 0) {
		close(set->fd);
		set->fd = -1;
	}
}

void ns_user_free(struct ns_user_set *set)
{
	ns_user_close(set);
	free(set);
}

static bool in_groups(const gid_t *groups, int nr, uint32_t gid)
{
	for (int i = 0; i < nr; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

int ns_user_check_owner(const struct ns_user_set *set, uid_t owner, const gid_t *groups,
			int nr_groups)
{
	for (size_t i = 0; i < set->nr_uid; i++) {
		const struct ns_user_extent *e = &set->uid[i];

		if (e->outside != owner || e->count != 1) {
			pr_err("restore: userns.img: its uid_map maps %u-%llu onto %u-%llu, but its "
			       "files are owned by uid %u, who holds only uid %u: refused", e->inside,
			       (unsigned long long)e->inside + e->count - 1, e->outside,
			       (unsigned long long)e->outside + e->count - 1, owner, owner);
			return -EPERM;
		}
	}
	for (size_t i = 0; i < set->nr_gid; i++) {
		const struct ns_user_extent *e = &set->gid[i];

		for (uint64_t id = e->outside; id < (uint64_t)e->outside + e->count; id++) {
			if (in_groups(groups, nr_groups, (uint32_t)id))
				continue;
			pr_err("restore: userns.img: its gid_map maps onto gid %llu, but its files "
			       "are owned by uid %u, who is not in that group: refused",
			       (unsigned long long)id, owner);
			return -EPERM;
		}
	}
	return 0;
}

int ns_user_become_root(const struct ns_user_set *set, bool back)
{
	uint32_t uid = 0, gid = 0;

	if (!set || (geteuid() != 0 && !back))
		return 0;
	if (back)
		return setresuid(-1, 0, -1) || setresgid(-1, 0, -1) ? -errno : 0;
	for (size_t i = 0; i < set->nr_uid; i++)
		if (set->uid[i].inside == 0)
			uid = set->uid[i].outside;
	for (size_t i = 0; i < set->nr_gid; i++)
		if (set->gid[i].inside == 0)
			gid = set->gid[i].outside;
	if (setresgid(-1, gid, -1) || setresuid(-1, uid, -1))
		return pr_errno_ret("restore: cannot take the user namespace's root (uid %u gid %u)",
				    uid, gid);
	return 0;
}

int ns_user_inside(const struct ns_user_set *set, bool gid, uint32_t outside, uint32_t *inside)
{
	const struct ns_user_extent *map = gid ? set->gid : set->uid;
	size_t nr = gid ? set->nr_gid : set->nr_uid;

	for (size_t i = 0; i < nr; i++) {
		if (outside >= map[i].outside && outside - map[i].outside < map[i].count) {
			*inside = map[i].inside + (outside - map[i].outside);
			return 0;
		}
	}
	return -ERANGE;
}

static int write_text(pid_t pid, const char *name, const char *text)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return pr_errno_ret("restore: cannot write the new user namespace's %s", name);
	return 0;
}

static int write_map(pid_t pid, const char *name, const struct ns_user_extent *map, size_t nr)
{
	char *text = malloc(nr * 40 + 1);
	size_t len = 0;
	int ret;

	if (!text)
		return -ENOMEM;
	text[0] = '\0';
	for (size_t i = 0; i < nr; i++)
		len += (size_t)sprintf(text + len, "%u %u %u\n", map[i].inside, map[i].outside,
				       map[i].count);
	ret = write_text(pid, name, text);
	free(text);
	return ret;
}

/* A child that runs @fn (0 or -errno, its exit status the errno), told to
 * go on by a byte on @go and reporting a byte on @done once @fn is done;
 * waits for EOF on @go before it exits so that its namespaces can be opened. */
struct ns_helper {
	pid_t pid;
	int go, done;		/* cryo's ends */
};

static int helper_start(struct ns_helper *h, int (*fn)(const void *arg), const void *arg)
{
	int go[2], done[2];
	char byte = 0;

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(done, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	h->pid = fork();
	if (h->pid == 0) {
		int ret;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		close(done[0]);
		if (read(go[0], &byte, 1) != 1)
			_exit(1);
		ret = fn(arg);
		if (ret)
			_exit(-ret & 0xff);
		if (write(done[1], &byte, 1) != 1)
			_exit(1);
		/* Until cryo has opened what it needs. */
		while (read(go[0], &byte, 1) > 0)
			;
		_exit(0);
	}
	close(go[0]);
	close(done[1]);
	h->go = go[1];
	h->done = done[0];
	if (h->pid < 0) {
		close(h->go);
		close(h->done);
		return -errno;
	}
	return 0;
}

/* Lets the helper run its function and waits for it: 0 or its -errno. */
static int helper_run(struct ns_helper *h)
{
	char byte = 0;
	int status = 0;

	if (write(h->go, &byte, 1) == 1 && read(h->done, &byte, 1) == 1)
		return 0;
	close(h->go);
	h->go = -1;
	if (waitpid(h->pid, &status, 0) == h->pid)
		h->pid = 0;
	return WIFEXITED(status) && WEXITSTATUS(status) ? -WEXITSTATUS(status) : -EIO;
}

static void helper_end(struct ns_helper *h)
{
	if (h->go >= 0)
		close(h->go);
	close(h->done);
	if (h->pid > 0)
		waitpid(h->pid, NULL, 0);
}

static int unshare_user(const void *arg)
{
	const struct ns_user_set *set = arg;

	/* The kernel makes its creator's euid the namespace's owner. */
	if (set->owner && (setresgid(set->owner, set->owner, set->owner) ||
			   setresuid(set->owner, set->owner, set->owner)))
		return -errno;
	return unshare(CLONE_NEWUSER) ? -errno : 0;
}

int ns_user_make(struct ns_user_set *set, int base)
{
	struct ns_helper h;
	char path[64];
	int ret, fd;

	if (!set)
		return 0;
	ret = helper_start(&h, unshare_user, set);
	if (ret)
		return pr_errno_ret("restore: cannot start a child to make the user namespace");
	ret = helper_run(&h);
	if (ret)
		pr_err("restore: cannot make the tree's user namespace (owner uid %u): %s",
		       set->owner, strerror(-ret));
	if (!ret)
		ret = write_text(h.pid, "setgroups", set->setgroups_allow ? "allow" : "deny");
	if (!ret)
		ret = write_map(h.pid, "uid_map", set->uid, set->nr_uid);
	if (!ret)
		ret = write_map(h.pid, "gid_map", set->gid, set->nr_gid);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", h.pid);
	fd = ret ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (!ret && fd < 0)
		ret = pr_errno_ret("restore: cannot open the new user namespace");
	if (fd >= 0) {
		set->fd = fcntl(fd, F_DUPFD_CLOEXEC, base);
		close(fd);
		if (set->fd < 0)
			ret = pr_errno_ret("restore: cannot move the user namespace's fd above %d",
					   base);
	}
	helper_end(&h);
	if (!ret)
		pr_info("restore: the tree's user namespace is made (%zu uid and %zu gid map "
			"lines, setgroups %s)", set->nr_uid, set->nr_gid,
			set->setgroups_allow ? "allow" : "deny");
	return ret;
}

struct unshare_arg {
	int userns, flags;
};

static int unshare_inside(const void *arg)
{
	const struct unshare_arg *a = arg;

	if (setns(a->userns, CLONE_NEWUSER))
		return -errno;
	return unshare(a->flags) ? -errno : 0;
}

/* cryo enters the helper's namespace of @flag, keeping its cwd. */
static int enter_helpers(pid_t pid, int flag)
{
	static const struct {
		int flag;
		const char *name;
	} names[] = {
		{ CLONE_NEWNS, "mnt" },   { CLONE_NEWNET, "net" },
		{ CLONE_NEWIPC, "ipc" },  { CLONE_NEWUTS, "uts" },
		{ CLONE_NEWPID, "pid_for_children" }, { CLONE_NEWCGROUP, "cgroup" },
		{ CLONE_NEWTIME, "time_for_children" },
	};
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	char path[64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].flag != flag)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, names[i].name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, flag))
			return -errno;
		/* setns() into a mount namespace moves to its root. */
		if (flag == CLONE_NEWNS && cwd >= 0 && fchdir(cwd))
			return -errno;
		return 0;
	}
	return -EINVAL;
}

/* A new time namespace's offsets, written through @pid's (0: cryo's)
 * timens_offsets before any process enters it, which freezes them. */
static int write_time_offsets(pid_t pid, const char *offsets)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(offsets);

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/timens_offsets");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, offsets, len) != (ssize_t)len)
		return pr_errno_ret("restore: cannot set the offsets of the new time namespace "
				    "(%.*s)", (int)strcspn(offsets, "\n"), offsets);
	return 0;
}

/* ns_user_unshare(), and with @offsets the new time namespace's offsets
 * written before cryo enters it. */
static int unshare_and_enter(const struct ns_user_set *set, int flags, const char *offsets)
{
	struct unshare_arg a = { ns_user_fd(set), 0 };
	int mine = flags, ret;
	struct ns_helper h;

	if (set)
		a.flags = flags & (int)set->owned_kinds;
	mine &= ~a.flags;
	if (mine && unshare(mine))
		return -errno;
	if (offsets && (mine & CLONE_NEWTIME) && (ret = write_time_offsets(0, offsets)))
		return ret;
	if (!a.flags)
		return 0;
	ret = helper_start(&h, unshare_inside, &a);
	if (ret)
		return ret;
	ret = helper_run(&h);
	/* The helper only made it for its children: nothing is in it yet. */
	if (!ret && offsets && (a.flags & CLONE_NEWTIME))
		ret = write_time_offsets(h.pid, offsets);
	for (int bit = 0; !ret && bit < 32; bit++)
		if ((uint32_t)a.flags & (1u << bit))
			ret = enter_helpers(h.pid, (int)(1u << bit));
	helper_end(&h);
	return ret;
}

int ns_user_unshare(const struct ns_user_set *set, int flags)
{
	return unshare_and_enter(set, flags, NULL);
}

int ns_user_make_time(const struct ns_user_set *set, const char *offsets)
{
	return unshare_and_enter(set, CLONE_NEWTIME, offsets);
}

int ns_user_copy_mounts(const struct ns_user_set *set)
{
	int ret;

	if (!set || !(set->owned_kinds & CLONE_NEWNS))
		return 0;
	/* The kernel makes the copy's mounts slaves of cryo's: a less
	 * privileged namespace never propagates back. */
	ret = ns_user_unshare(set, CLONE_NEWNS);
	if (ret)
		pr_err("restore: cannot make a mount namespace in the tree's user namespace: %s",
		       strerror(-ret));
	return ret;
}
