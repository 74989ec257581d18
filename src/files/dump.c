/* files_dump(): the fd table of one stopped task. Each fd is matched to
 * the open file descriptions already dumped (kcmp), new ones are dumped by
 * their kind, and fds-PID.img and files.img are written. The file objects
 * of the tasks of one dump are kept here between calls; what each kind
 * saves is in its own file. files_dump_mappings() adds the files that
 * memfd, deleted-file and shared anonymous mappings need. The set of processes of the dump,
 * which pidfds may refer to, is kept here too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/internal.h"
#include "files/probe.h"

/* A file object of the dump and where it was first seen, to compare other
 * fds with it. */
struct dump_obj {
	FileEntry *fe;
	pid_t pid;
	int fd;
};

/* The objects of one inode, sorted in kcmp's order of open file
 * descriptions, so that finding an fd's object is a binary search even
 * where one inode has thousands (every eventfd shares one anon inode). */
struct inode_bucket {
	dev_t dev;
	ino_t ino;
	size_t *objs;		/* indexes into session.objs */
	size_t nr, cap;
	/* The id of the object saved for mappings of the inode, when no fd
	 * had it first; it has no fd to compare, so it is not in @objs. */
	uint32_t mapped;
	/* Every object of the inode, @mapped too, in the order of their ids
	 * (the order they were made in): what the kinds see of each other
	 * (file_dump.same_inode), ready without a sort. */
	FileEntry **by_id;
	size_t nr_by_id, cap_by_id;
	bool mixed_kinds;	/* @by_id holds objects of more than one kind */
};

/* The dump in progress. It continues while the directory holds the
 * files.img this process wrote last and no inventory. */
static struct dump_session {
	bool active;
	dev_t dir_dev;
	ino_t dir_ino;
	struct stat files_img;
	struct dump_obj *objs;	/* objs[i] has id i + 1 */
	size_t nr_objs, cap_objs;
	struct inode_bucket *buckets;	/* open addressing; cap a power of 2 */
	size_t nr_buckets, cap_buckets;
} session;

static void session_reset(void)
{
	for (size_t i = 0; i < session.nr_objs; i++)
		protobuf_c_message_free_unpacked(&session.objs[i].fe->base, NULL);
	for (size_t i = 0; i < session.cap_buckets; i++) {
		free(session.buckets[i].objs);
		free(session.buckets[i].by_id);
	}
	free(session.objs);
	free(session.buckets);
	memset(&session, 0, sizeof(session));
	locks_forget();
}

static bool same_file_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Continues the dump in progress into @dir, or starts a new one. */
static int session_begin(struct image_dir *dir)
{
	struct stat st, files;

	if (fstat(dir->fd, &st))
		return pr_errno_ret("dump: cannot stat the image directory %s", dir->path);
	if (session.active && session.dir_dev == st.st_dev && session.dir_ino == st.st_ino &&
	    !fstatat(dir->fd, "files.img", &files, AT_SYMLINK_NOFOLLOW) &&
	    same_file_stat(&files, &session.files_img) &&
	    faccessat(dir->fd, "inventory.img", F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT)
		return 0;
	session_reset();
	session.active = true;
	session.dir_dev = st.st_dev;
	session.dir_ino = st.st_ino;
	return 0;
}

static size_t bucket_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;

	return (size_t)(h ^ (h >> 29));
}

static int buckets_grow(void)
{
	size_t cap = session.cap_buckets ? session.cap_buckets * 2 : 64;
	struct inode_bucket *b = calloc(cap, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < session.cap_buckets; i++) {
		struct inode_bucket *old = &session.buckets[i];
		size_t j;

		if (!old->objs)
			continue;
		for (j = bucket_hash(old->dev, old->ino) & (cap - 1); b[j].objs; j = (j + 1) & (cap - 1))
			;
		b[j] = *old;
	}
	free(session.buckets);
	session.buckets = b;
	session.cap_buckets = cap;
	return 0;
}

/* The bucket of (@dev, @ino), created empty when new. */
static struct inode_bucket *bucket_get(dev_t dev, ino_t ino)
{
	size_t j;

	if ((session.nr_buckets + 1) * 2 > session.cap_buckets && buckets_grow())
		return NULL;
	for (j = bucket_hash(dev, ino) & (session.cap_buckets - 1); session.buckets[j].objs;
	     j = (j + 1) & (session.cap_buckets - 1))
		if (session.buckets[j].dev == dev && session.buckets[j].ino == ino)
			return &session.buckets[j];
	session.buckets[j].objs = malloc(4 * sizeof(size_t));
	if (!session.buckets[j].objs)
		return NULL;
	session.buckets[j].dev = dev;
	session.buckets[j].ino = ino;
	session.buckets[j].cap = 4;
	session.nr_buckets++;
	return &session.buckets[j];
}

/* Finds the object of @p's open file description in @b: 0 with *@found
 * set, or its place in *@pos. */
static int bucket_search(const struct inode_bucket *b, const struct fd_probe *p, size_t *pos,
			 struct dump_obj **found)
{
	size_t lo = 0, hi = b->nr;

	*found = NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct dump_obj *o = &session.objs[b->objs[mid]];
		long r = syscall(SYS_kcmp, p->pid, o->pid, KCMP_FILE, p->fd, o->fd);

		if (r == 0) {
			*found = o;
			return 0;
		}
		if (r != 1 && r != 2) {
			int err = r < 0 ? errno : EINVAL;

			pr_fd_err(p, "cannot compare with pid %d fd %d (kcmp): %s", o->pid, o->fd,
				  r < 0 ? strerror(err) : "no order");
			return -err;
		}
		/* 1: ours orders before theirs. */
		if (r == 1)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return 0;
}

static int bucket_insert(struct inode_bucket *b, size_t pos, size_t obj)
{
	if (b->nr == b->cap) {
		size_t *bigger = reallocarray(b->objs, b->cap * 2, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		b->objs = bigger;
		b->cap *= 2;
	}
	memmove(b->objs + pos + 1, b->objs + pos, (b->nr - pos) * sizeof(*b->objs));
	b->objs[pos] = obj;
	b->nr++;
	return 0;
}

/* Records @fe, the newest object, as one of @b's inode. */
static int bucket_note(struct inode_bucket *b, FileEntry *fe)
{
	if (b->nr_by_id == b->cap_by_id) {
		size_t cap = b->cap_by_id ? b->cap_by_id * 2 : 4;
		FileEntry **bigger = reallocarray(b->by_id, cap, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		b->by_id = bigger;
		b->cap_by_id = cap;
	}
	if (b->nr_by_id && b->by_id[0]->kind != fe->kind)
		b->mixed_kinds = true;
	b->by_id[b->nr_by_id++] = fe;
	return 0;
}

/* A new object for @p, at the end of session.objs. */
static int obj_new(const struct fd_probe *p, const struct file_kind *kind, struct dump_obj **out)
{
	struct dump_obj *o;
	FileEntry *fe;

	if (session.nr_objs == session.cap_objs) {
		size_t cap = session.cap_objs ? session.cap_objs * 2 : 64;
		struct dump_obj *bigger = reallocarray(session.objs, cap, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		session.objs = bigger;
		session.cap_objs = cap;
	}
	if (session.nr_objs >= UINT32_MAX)
		return -EOVERFLOW;
	fe = malloc(sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	file_entry__init(fe);
	fe->id = session.nr_objs + 1;
	fe->kind = kind->type;
	fe->flags = p->flags;
	fe->pos = p->pos;
	o = &session.objs[session.nr_objs++];
	o->fe = fe;
	o->pid = p->pid;
	o->fd = p->fd;
	*out = o;
	return 0;
}

/* A new object for @p, inserted at @pos of @b. A failure leaves the
 * object in the session, which the failed dump resets. */
static int obj_add(const struct fd_probe *p, const struct file_kind *kind,
		   struct inode_bucket *b, size_t pos, struct dump_obj **out)
{
	int ret = obj_new(p, kind, out);

	if (!ret && (bucket_insert(b, pos, session.nr_objs - 1) || bucket_note(b, (*out)->fe)))
		ret = -ENOMEM;
	return ret;
}

/* The kind dumps @o, a new object, seeing the other objects of its inode. */
static int obj_dump(const struct fd_probe *p, const struct file_kind *kind, struct dump_obj *o,
		    struct image_dir *dir, FdEntry *const *fds, size_t nr_fds)
{
	struct inode_bucket *b = bucket_get(p->st.st_dev, p->st.st_ino);
	_cleanup_free_ FileEntry **same = NULL;
	struct file_dump d = {
		.p = p, .dir = dir, .fe = o->fe, .fds = fds, .nr_fds = nr_fds,
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

/* The task's controlling terminal, from field 7 of /proc/PID/stat. */
static int read_ctty(pid_t pid, dev_t *out)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	const char *comm_end;
	unsigned int tty_nr;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: fields follow the last ')'. */
	comm_end = strrchr(buf, ')');
	if (!comm_end || sscanf(comm_end + 1, " %*c %*d %*d %*d %u", &tty_nr) != 1) {
		pr_err("dump: pid %d: cannot parse %s", pid, path);
		return -EINVAL;
	}
	*out = tty_nr ? makedev((tty_nr >> 8) & 0xfff, (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00))
		      : 0;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* The processes of the dump, sorted: the targets a pidfd may have. */
static struct {
	pid_t *pids;
	size_t n;
} dumped;

int files_set_dumped_pids(const pid_t *pids, size_t n)
{
	pid_t *copy = NULL;

	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy) {
			pr_err("dump: out of memory for a set of %zu pids", n);
			return -ENOMEM;
		}
		memcpy(copy, pids, n * sizeof(*copy));
		qsort(copy, n, sizeof(*copy), cmp_int);
	}
	free(dumped.pids);
	dumped.pids = copy;
	dumped.n = n;
	return 0;
}

bool files_pid_dumped(pid_t pid)
{
	return dumped.n && bsearch(&pid, dumped.pids, dumped.n, sizeof(pid), cmp_int);
}

size_t files_dumped_pids(const pid_t **pids)
{
	*pids = dumped.pids;
	return dumped.n;
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
	qsort(fds, n, sizeof(*fds), cmp_int);
	*out = steal_ptr(fds);
	*nr = n;
	return 0;
}

/* What dump_fds() collects: the task's fd table, and the new objects
 * whose kind dumps them once the table is complete. */
struct task_fds {
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

static int dump_one(int pidfd, const struct fd_probe *base, struct image_dir *dir,
		    struct task_fds *t, size_t i)
{
	const struct file_kind *kind;
	struct inode_bucket *b;
	struct dump_obj *o;
	struct fd_probe p;
	unsigned int known;
	size_t pos = 0;
	int ret;

	ret = probe_fd(pidfd, base->pid, t->entries[i].fd, &p);
	if (ret)
		return ret;
	p.shell_job = base->shell_job;
	p.ctty = base->ctty;
	kind = file_kind_recognise(&p);
	if (!kind) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	ret = locks_check_fd(&p);
	if (ret)
		goto out;
	known = FILE_FLAGS_KNOWN | file_kind_own_flags(kind->type);
	if (p.flags & ~known) {
		pr_fd_err(&p, "open flags %#o are not supported%s", p.flags & ~known,
			  p.flags & O_ASYNC ? " (O_ASYNC: signal-driven I/O)" : "");
		ret = -EOPNOTSUPP;
		goto out;
	}
	b = bucket_get(p.st.st_dev, p.st.st_ino);
	ret = b ? bucket_search(b, &p, &pos, &o) : -ENOMEM;
	if (ret)
		goto out;
	if (!o) {
		ret = obj_add(&p, kind, b, pos, &o);
		if (ret)
			goto out;
		if (kind->refers_to_fds) {
			t->deferred[t->nr_deferred].fd_index = i;
			t->deferred[t->nr_deferred].obj = o->fe->id - 1;
			t->deferred[t->nr_deferred++].kind = kind;
		} else {
			ret = obj_dump(&p, kind, o, dir, NULL, 0);
		}
	} else if (o->fe->kind != kind->type) {
		pr_fd_err(&p, "the same open file as pid %d fd %d, but taken as %s", o->pid, o->fd,
			  kind->name);
		ret = -EINVAL;
	} else if (kind->opened_in_task && o->pid != p.pid &&
		   !(kind->opened_by_cryo && kind->opened_by_cryo(o->fe)) &&
		   !same_fd_table(o->pid, p.pid)) {
		pr_fd_err(&p, "the same %s as pid %d fd %d: a %s shared by two processes is not "
			  "supported yet", kind->name, o->pid, o->fd, kind->name);
		ret = -EOPNOTSUPP;
	}
	if (!ret) {
		t->entries[i].file_id = o->fe->id;
		t->entries[i].cloexec = p.cloexec;
		ret = locks_note_fd(&p, o->fe->id);
	}
out:
	if (ret == -ENOMEM)
		pr_fd_err(&p, "out of memory");
	probe_release(&p);
	return ret;
}

static int dump_deferred(int pidfd, const struct fd_probe *base, struct image_dir *dir,
			 struct task_fds *t, const struct deferred *df)
{
	struct fd_probe p;
	int ret;

	ret = probe_fd(pidfd, base->pid, t->entries[df->fd_index].fd, &p);
	if (ret)
		return ret;
	p.shell_job = base->shell_job;
	p.ctty = base->ctty;
	ret = obj_dump(&p, df->kind, &session.objs[df->obj], dir, t->ptrs, t->nr);
	probe_release(&p);
	return ret;
}

static void task_fds_free(struct task_fds *t)
{
	free(t->entries);
	free(t->ptrs);
	free(t->deferred);
}

static int dump_fds(pid_t pid, struct image_dir *dir, bool shell_job, struct task_fds *t)
{
	struct fd_probe base = { .pid = pid, .shell_job = shell_job };
	_cleanup_close_ int pidfd = -1;
	_cleanup_free_ int *fds = NULL;
	int ret;

	ret = read_ctty(pid, &base.ctty);
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
		ret = dump_one(pidfd, &base, dir, t, i);
	for (size_t i = 0; i < t->nr_deferred && !ret; i++)
		ret = dump_deferred(pidfd, &base, dir, t, &t->deferred[i]);
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

static int write_files(struct image_dir *dir)
{
	struct image_writer *w;
	int ret;

	ret = image_open_write(dir, IMG_FILES, 0, &w);
	if (ret)
		return ret;
	for (size_t i = 0; i < session.nr_objs && !ret; i++)
		ret = image_write_record(w, &session.objs[i].fe->base);
	if (ret) {
		image_abort(w);
		return ret;
	}
	ret = image_finish(w);
	if (ret)
		return ret;
	if (fstatat(dir->fd, "files.img", &session.files_img, AT_SYMLINK_NOFOLLOW))
		return pr_errno_ret("dump: cannot stat %s/files.img", dir->path);
	return 0;
}

/* The object a mapping of @b's inode is opened from at restore: the one
 * that holds the inode's contents; 0 when the inode has no object yet. */
static uint32_t inode_holder(const struct inode_bucket *b, FileEntry__Kind kind)
{
	if (b->mapped)
		return b->mapped;
	for (size_t i = 0; i < b->nr; i++) {
		const FileEntry *fe = session.objs[b->objs[i]].fe;

		if (fe->kind == kind)
			return fe->has_inode_of ? fe->inode_of : fe->id;
	}
	return 0;
}

static int dump_mapping(pid_t pid, struct image_dir *dir, struct files_mapping *m)
{
	const struct file_kind *kind;
	struct inode_bucket *b;
	struct dump_obj *o;
	struct fd_probe p;
	int ret;

	ret = probe_mapping(pid, m->start, m->end, &p);
	if (ret)
		return ret;
	kind = file_kind_recognise(&p);
	if (kind != &memfd_kind && kind != &regfile_kind && kind != &shmem_kind) {
		if (kind)
			pr_fd_err(&p, "maps a file taken as %s: only memfds, regular files and "
				  "shared anonymous memory are supported", kind->name);
		ret = -EOPNOTSUPP;
		goto out;
	}
	b = bucket_get(p.st.st_dev, p.st.st_ino);
	if (!b) {
		ret = -ENOMEM;
		goto out;
	}
	m->file_id = inode_holder(b, kind->type);
	if (!m->file_id) {
		ret = obj_new(&p, kind, &o);
		if (ret)
			goto out;
		b->mapped = m->file_id = o->fe->id;
		ret = bucket_note(b, o->fe);
		if (!ret)
			ret = obj_dump(&p, kind, o, dir, NULL, 0);
		if (ret)
			goto out;
	}
	o = &session.objs[m->file_id - 1];
	if (kind == &regfile_kind && !o->fe->reg->deleted) {
		pr_fd_err(&p, "is mapped as a deleted file, but file %u of its inode is not deleted",
			  m->file_id);
		ret = -ESTALE;
	}
out:
	if (ret == -ENOMEM)
		pr_fd_err(&p, "out of memory");
	probe_release(&p);
	return ret;
}

int files_dump_mappings(pid_t pid, struct image_dir *dir, struct files_mapping *maps, size_t n)
{
	int ret;

	ret = session_begin(dir);
	for (size_t i = 0; i < n && !ret; i++)
		ret = dump_mapping(pid, dir, &maps[i]);
	if (!ret)
		ret = write_files(dir);
	if (ret)
		session_reset();
	return ret;
}

int files_dump(pid_t pid, struct image_dir *dir, bool shell_job)
{
	struct task_fds t = { 0 };
	int ret;

	ret = session_begin(dir);
	if (!ret)
		ret = dump_fds(pid, dir, shell_job, &t);
	if (!ret)
		ret = write_fds(dir, pid, &t);
	if (!ret)
		ret = write_files(dir);
	task_fds_free(&t);
	/* A failed task fails the dump: what it added must not be trusted. */
	if (ret)
		session_reset();
	else
		pr_info("dump: pid %d: %zu fds, %zu file objects in the dump", pid, t.nr,
			session.nr_objs);
	return ret;
}
