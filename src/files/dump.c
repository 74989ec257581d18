/* files_dump(): the fd table of one stopped task, into the file objects
 * of the dump (struct files_dump_set, dump_set.c). Each fd is matched to
 * the open file descriptions already dumped (kcmp), new ones are dumped by
 * their kind, and fds-PID.img is written; files.img is written once, by
 * files_dump_finish(). What each kind saves is in its own file.
 * files_dump_mappings() adds the files of mappings that have no path to
 * map them from (a kind with mapped_limit). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/procfs.h"
#include "files/dump_set.h"
#include "files/probe.h"

/* The kind dumps @o, a new object, seeing the other objects of its inode. */
int obj_dump(struct files_dump_set *set, const struct fd_probe *p, const struct file_kind *kind,
	     struct dump_obj *o, FdEntry *const *fds, size_t nr_fds)
{
	struct inode_bucket *b = bucket_get(set, p->st.st_dev, p->st.st_ino);
	_cleanup_free_ FileEntry **same = NULL;
	struct file_dump d = {
		.p = p, .dir = set->dir, .set = set, .fe = o->fe, .fds = fds, .nr_fds = nr_fds,
	};

	if (!b)
		return -ENOMEM;
	/* Most inodes have one object, but every eventfd and epoll shares
	 * one anon inode: only the kinds that need the list get it. */
	if (!kind->inode_shared)
		return kind->dump(&d);
	/* The common case, @o the newest of an inode of one kind, costs
	 * nothing; a list rebuilt and sorted for every object made a process
	 * of thousands of fds on one inode quadratic. */
	if (!b->mixed_kinds && b->nr_by_id && b->by_id[b->nr_by_id - 1] == o->fe) {
		d.same_inode = b->by_id;
		d.nr_same_inode = b->nr_by_id - 1;
		return kind->dump(&d);
	}
	same = malloc((b->nr_by_id + 1) * sizeof(*same));
	if (!same)
		return -ENOMEM;
	for (size_t i = 0; i < b->nr_by_id; i++) {
		FileEntry *other = b->by_id[i];

		if (other != o->fe && other->kind == o->fe->kind)
			same[d.nr_same_inode++] = other;
	}
	d.same_inode = same;
	return kind->dump(&d);
}

/* The task's session and controlling terminal, from fields 6 and 7 of
 * /proc/PID/stat. */
static int read_ctty(pid_t pid, pid_t *sid, dev_t *out)
{
	struct proc_stat st;
	unsigned int tty_nr;
	int ret = proc_stat_read(pid, &st);

	if (ret) {
		pr_err("dump: pid %d: cannot read /proc/%d/stat: %s", pid, pid, strerror(-ret));
		return ret;
	}
	*sid = st.sid;
	tty_nr = (unsigned int)st.tty_nr;
	*out = tty_nr ? makedev((tty_nr >> 8) & 0xfff, (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00))
		      : 0;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* Whether @a and @b use one fd table (CLONE_FILES): an fd of it is then
 * one fd, not an object two processes share. */
static bool same_fd_table(pid_t a, pid_t b)
{
	return syscall(SYS_kcmp, a, b, KCMP_FILES, 0, 0) == 0;
}

/* The task's fd numbers, ascending. */
static int list_fds(pid_t pid, int **out, size_t *nr)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ int *fds = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return pr_errno_ret("dump: pid %d: cannot list %s", pid, path);
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			int *bigger = reallocarray(fds, cap ? cap * 2 : 64, sizeof(*bigger));

			if (!bigger)
				return -ENOMEM;
			fds = bigger;
			cap = cap ? cap * 2 : 64;
		}
		fds[n++] = atoi(de->d_name);
	}
	if (errno)
		return pr_errno_ret("dump: pid %d: cannot list %s", pid, path);
	/* A task may have no fd at all: qsort() must not be given NULL. */
	if (n)
		qsort(fds, n, sizeof(*fds), cmp_int);
	*out = steal_ptr(fds);
	*nr = n;
	return 0;
}

/* What dump_fds() collects: the task's fd table, and the new objects
 * whose kind dumps them once the table is complete. */
struct task_fds {
	/* The close-on-exec bits read by the parasite; NULL: none. */
	const struct fd_flags *fd_flags;
	FdEntry *entries;
	FdEntry **ptrs;
	size_t nr;
	struct deferred {
		size_t fd_index;
		size_t obj;
		const struct file_kind *kind;
	} *deferred;
	size_t nr_deferred;
};

/* Fills what a probe of @pid's fd learns from the task as a whole. */
static void probe_complete(struct files_dump_set *set, const struct fd_probe *base,
			   struct fd_probe *p)
{
	p->shell_job = base->shell_job;
	p->ctty = base->ctty;
	p->tree_devpts = set->tree_devpts;
	p->net = set->net;
}

/* The object of @p's open file description, found by kcmp or made now
 * (*@made; its owner dumped, its kind's part not yet), and its kind. */
static int find_or_add(struct files_dump_set *set, const struct fd_probe *p,
		       const struct file_kind **kind_out, struct dump_obj **out, bool *made)
{
	const struct file_kind *kind = file_kind_recognise(p);
	struct inode_bucket *b;
	struct dump_obj *o;
	unsigned int known;
	size_t pos = 0;
	int ret;

	if (!kind)
		return -EOPNOTSUPP;
	ret = locks_check_fd(p);
	if (ret)
		return ret;
	known = FILE_FLAGS_KNOWN | kind->own_flags;
	if (p->flags & ~known) {
		pr_fd_err(p, "open flags %#o are not supported", p->flags & ~known);
		return -EOPNOTSUPP;
	}
	b = bucket_get(set, p->st.st_dev, p->st.st_ino);
	ret = b ? bucket_search(set, b, p, &pos, &o) : -ENOMEM;
	if (ret)
		return ret;
	*made = !o;
	if (!o) {
		ret = obj_add(set, p, kind, b, pos, &o);
		if (!ret)
			ret = owner_dump(p, o->fe);
	} else if (o->fe->kind != kind->type) {
		pr_fd_err(p, "the same open file as pid %d fd %d, but taken as %s", o->pid, o->fd,
			  kind->name);
		ret = -EINVAL;
	}
	*kind_out = kind;
	*out = o;
	return ret;
}

static int dump_one(struct files_dump_set *set, int pidfd, const struct fd_probe *base,
		    struct task_fds *t, size_t i)
{
	int cloexec = fd_flags_cloexec(t->fd_flags, base->pid, t->entries[i].fd);
	const struct file_kind *kind;
	struct dump_obj *o;
	struct fd_probe p;
	FileEntry *fe;
	bool made;
	int ret;

	ret = probe_fd(pidfd, base->pid, t->entries[i].fd, cloexec, &p);
	/* A socket probed without its fdinfo (its close-on-exec bit known),
	 * where a socket may hold a lock, which only fdinfo shows: probed
	 * again in full. /proc/locks is asked only here, so that a dump with
	 * no socket waits for it at its end alone (proc_locks.h). */
	if (!ret && cloexec >= 0 && S_ISSOCK(p.st.st_mode) && dump_set_socket_locks(set)) {
		probe_release(&p);
		ret = probe_fd(pidfd, base->pid, t->entries[i].fd, -1, &p);
	}
	if (ret)
		return ret;
	probe_complete(set, base, &p);
	ret = find_or_add(set, &p, &kind, &o, &made);
	if (ret)
		goto out;
	/* The kind may dump more (in flight), which moves set->objs. */
	fe = o->fe;
	if ((made || o->pending) && kind->refers_to_fds) {
		o->pending = false;
		t->deferred[t->nr_deferred].fd_index = i;
		t->deferred[t->nr_deferred].obj = fe->id - 1;
		t->deferred[t->nr_deferred++].kind = kind;
	} else if (made) {
		ret = obj_dump(set, &p, kind, o, NULL, 0);
	} else if (kind->opened_in_task && o->pid != p.pid &&
		   !(kind->opened_by_cryo && kind->opened_by_cryo(fe)) &&
		   !same_fd_table(o->pid, p.pid)) {
		pr_fd_err(&p, "the same %s as pid %d fd %d: a %s shared by two processes is not "
			  "supported yet", kind->name, o->pid, o->fd, kind->name);
		ret = -EOPNOTSUPP;
	}
	if (!ret) {
		t->entries[i].file_id = fe->id;
		t->entries[i].cloexec = p.cloexec;
		ret = locks_note_fd(set, &p, fe->id);
	}
out:
	if (ret == -ENOMEM)
		pr_fd_err(&p, "out of memory");
	probe_release(&p);
	return ret;
}

int file_dump_find_holder(const struct file_dump *d, uint64_t ino, int hint,
			  int (*order)(void *arg, pid_t pid, int fd), void *arg, const char *what,
			  struct file_holder *out)
{
	struct files_dump_set *set = d->set;
	struct fd_probe base = { .shell_job = set->shell_job }, p;
	const struct file_kind *kind;
	_cleanup_close_ int pidfd = -1;
	struct dump_obj *o;
	pid_t sid;
	FileEntry *fe;
	bool made;
	int fd, ret;

	ret = fd_holders_find(set, d->p->pid, ino, hint, order, arg, &base.pid, &fd);
	if (ret == -ENOENT)
		return ret;
	if (ret) {
		pr_fd_err(d->p, "%s: cannot tell which process holds it: %s", what, strerror(-ret));
		return ret;
	}
	/* The task's own: its table is dumped already. */
	for (size_t i = 0; base.pid == d->p->pid && i < d->nr_fds; i++)
		if (d->fds[i]->fd == fd) {
			*out = (struct file_holder){ .pid = base.pid, .fd = fd,
						     .id = d->fds[i]->file_id };
			return 0;
		}
	if (base.pid == d->p->pid) {
		pr_fd_err(d->p, "%s: its fd %d holds it, but is not in its table", what, fd);
		return -ESTALE;
	}
	ret = read_ctty(base.pid, &sid, &base.ctty);
	if (ret)
		return ret;
	pidfd = pidfd_open(base.pid, 0);
	if (pidfd < 0)
		return pr_errno_ret("dump: pid %d: cannot open a pidfd", base.pid);
	ret = probe_fd(pidfd, base.pid, fd, -1, &p);
	if (ret)
		return ret;
	probe_complete(set, &base, &p);
	ret = find_or_add(set, &p, &kind, &o, &made);
	if (ret)
		goto out;
	fe = o->fe;
	/* One that refers to fds waits for a table that holds it. */
	if (made && kind->refers_to_fds)
		o->pending = true;
	else if (made)
		ret = obj_dump(set, &p, kind, o, NULL, 0);
	if (!ret && kind->opened_in_task &&
	    (!kind->opened_by_cryo || kind->opened_by_cryo(fe) == FILE_OPENED_IN_TASK_ONLY)) {
		pr_fd_err(d->p, "%s: only pid %d fd %d holds it, a %s (%s) that only its own "
			  "process can open: not supported", what, p.pid, fd, kind->name, p.link);
		ret = -EOPNOTSUPP;
	}
	if (!ret)
		*out = (struct file_holder){ .pid = p.pid, .fd = fd, .id = fe->id };
out:
	if (ret == -ENOMEM)
		pr_fd_err(&p, "out of memory");
	probe_release(&p);
	return ret;
}

static int dump_deferred(struct files_dump_set *set, int pidfd, const struct fd_probe *base,
			 struct task_fds *t, const struct deferred *df)
{
	struct fd_probe p;
	int ret;

	ret = probe_fd(pidfd, base->pid, t->entries[df->fd_index].fd, -1, &p);
	if (ret)
		return ret;
	probe_complete(set, base, &p);
	ret = obj_dump(set, &p, df->kind, &set->objs[df->obj], t->ptrs, t->nr);
	probe_release(&p);
	return ret;
}

static void task_fds_free(struct task_fds *t)
{
	free(t->entries);
	free(t->ptrs);
	free(t->deferred);
}

static int dump_fds(struct files_dump_set *set, pid_t pid, bool shell_job, struct task_fds *t)
{
	struct fd_probe base = { .pid = pid, .shell_job = shell_job };
	_cleanup_close_ int pidfd = -1;
	pid_t sid = 0;
	_cleanup_free_ int *fds = NULL;
	int ret;

	ret = read_ctty(pid, &sid, &base.ctty);
	if (!ret && base.ctty)
		ret = ctty_note(set, pid, sid, base.ctty, shell_job);
	if (ret)
		return ret;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return pr_errno_ret("dump: pid %d: cannot open a pidfd", pid);
	ret = list_fds(pid, &fds, &t->nr);
	if (ret)
		return ret;
	t->entries = calloc(t->nr + 1, sizeof(*t->entries));
	t->ptrs = calloc(t->nr + 1, sizeof(*t->ptrs));
	t->deferred = calloc(t->nr + 1, sizeof(*t->deferred));
	if (!t->entries || !t->ptrs || !t->deferred) {
		pr_err("dump: pid %d: out of memory for %zu fds", pid, t->nr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nr; i++) {
		fd_entry__init(&t->entries[i]);
		t->entries[i].fd = fds[i];
		t->ptrs[i] = &t->entries[i];
	}
	for (size_t i = 0; i < t->nr && !ret; i++)
		ret = dump_one(set, pidfd, &base, t, i);
	for (size_t i = 0; i < t->nr_deferred && !ret; i++)
		ret = dump_deferred(set, pidfd, &base, t, &t->deferred[i]);
	if (!ret)
		ret = in_flight_dump_later(set, pid, t->ptrs, t->nr);
	return ret;
}

static int write_fds(struct image_dir *dir, pid_t pid, const struct task_fds *t)
{
	struct image_writer *w;
	int ret;

	ret = image_open_write(dir, IMG_FDS, pid, &w);
	if (ret)
		return ret;
	for (size_t i = 0; i < t->nr && !ret; i++)
		ret = image_write_record(w, &t->entries[i].base);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* A socket's mapping (a packet socket's rings): a socket cannot be opened
 * through its map_files link, so the mapping takes the object an fd of
 * the dump made of it, which saved the rings. */
static int dump_socket_mapping(struct files_dump_set *set, pid_t pid, struct files_mapping *m,
			       const char *path)
{
	const struct file_kind *kind = file_kind_of(FILE_ENTRY__KIND__PACKET_SOCKET);
	struct inode_bucket *b;
	struct stat st;
	uint64_t size;

	if (stat(path, &st))
		return pr_errno_ret("dump: pid %d mapping %" PRIx64 "..%" PRIx64 ": cannot stat "
				    "its socket", pid, m->start, m->end);
	b = bucket_get(set, st.st_dev, st.st_ino);
	if (!b)
		return -ENOMEM;
	m->file_id = inode_holder(set, b, FILE_ENTRY__KIND__PACKET_SOCKET);
	if (!m->file_id) {
		pr_err("dump: pid %d mapping %" PRIx64 "..%" PRIx64 " (socket:[%lu]): maps a "
		       "socket that no fd of the dump holds as a packet socket (a ring kept by "
		       "its mapping alone): not supported", pid, m->start, m->end,
		       (unsigned long)st.st_ino);
		return -EOPNOTSUPP;
	}
	size = kind->mapped_limit(set->objs[m->file_id - 1].fe);
	if (m->pgoff || m->end - m->start != size) {
		pr_err("dump: pid %d mapping %" PRIx64 "..%" PRIx64 " (socket:[%lu]): maps part "
		       "of its rings (%llu bytes): the kernel maps them only whole: not supported",
		       pid, m->start, m->end, (unsigned long)st.st_ino, (unsigned long long)size);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int dump_mapping(struct files_dump_set *set, pid_t pid, struct files_mapping *m)
{
	const struct file_kind *kind;
	struct inode_bucket *b;
	struct dump_obj *o;
	struct fd_probe p;
	char path[96], link[32];
	ssize_t len;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m->start,
		 m->end);
	len = readlink(path, link, sizeof(link) - 1);
	if (len > 0 && !strncmp(link, "socket:[", strlen("socket:[")))
		return dump_socket_mapping(set, pid, m, path);
	ret = probe_mapping(pid, m->start, m->end, &p);
	if (ret)
		return ret;
	kind = file_kind_recognise(&p);
	if (!kind || !kind->mapped_limit) {
		if (kind)
			pr_fd_err(&p, "maps a file taken as %s, which has a path to map it from or "
				  "none to save it by: not supported", kind->name);
		ret = -EOPNOTSUPP;
		goto out;
	}
	b = bucket_get(set, p.st.st_dev, p.st.st_ino);
	if (!b) {
		ret = -ENOMEM;
		goto out;
	}
	m->file_id = inode_holder(set, b, kind->type);
	if (!m->file_id) {
		ret = obj_new(set, &p, kind, &o);
		if (ret)
			goto out;
		b->mapped = m->file_id = o->fe->id;
		ret = bucket_note(b, o->fe);
		if (!ret)
			ret = obj_dump(set, &p, kind, o, NULL, 0);
		if (ret)
			goto out;
	}
	o = &set->objs[m->file_id - 1];
	if (!kind->mapped_limit(o->fe)) {
		pr_fd_err(&p, "is mapped as a file without a path, but file %u of its inode has "
			  "one (it is not deleted)", m->file_id);
		ret = -ESTALE;
	}
out:
	if (ret == -ENOMEM)
		pr_fd_err(&p, "out of memory");
	probe_release(&p);
	return ret;
}

int files_dump_mappings(struct files_dump_set *set, pid_t pid, struct files_mapping *maps,
			size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = dump_mapping(set, pid, &maps[i]);
	return ret;
}

int files_dump(struct files_dump_set *set, pid_t pid, bool shell_job)
{
	return files_dump_task(set, pid, shell_job, NULL);
}

int files_dump_task(struct files_dump_set *set, pid_t pid, bool shell_job,
		    const struct fd_flags *fd_flags)
{
	struct task_fds t = { .fd_flags = fd_flags };
	int ret;

	set->shell_job = shell_job;
	ret = dump_fds(set, pid, shell_job, &t);
	if (!ret)
		ret = write_fds(set->dir, pid, &t);
	task_fds_free(&t);
	if (!ret)
		pr_info("dump: pid %d: %zu fds, %zu file objects in the dump so far", pid, t.nr,
			set->nr_objs);
	return ret;
}
