/* File locks: at dump, the held flock, POSIX and OFD locks read from the
 * "lock:" lines of each fd's fdinfo (which lists the locks reached through
 * that open file description and owned by it or by the process), checked
 * against /proc/locks and written to locks.img; at restore, locks.img read
 * back and checked against the fd tables. Taking them again, inside each
 * owner, is src/restore/locks.c. Requests still waiting are not locks:
 * neither fdinfo nor this file knows them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "files/dump_set.h"
#include "images/proto/locks.pb-c.h"

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* A lock seen at dump, with where /proc/locks shows it. */
struct noted_lock {
	FileLock rec;
	unsigned int dev_major, dev_minor;
	uint64_t ino;
	int line_pid;		/* the pid /proc/locks shows; -1 for OFD */
};

void locks_forget(struct files_dump_set *set)
{
	free(set->locks);
	set->locks = NULL;
	set->nr_locks = set->cap_locks = 0;
}

/* One lock line, as fs/locks.c prints it in fdinfo and /proc/locks:
 * "KIND ADVISORY TYPE PID MAJ:MIN:INO START END|EOF". */
struct lock_line {
	char kind[16], mode[16], type[16], end[24];
	int pid;
	unsigned int dev_major, dev_minor;
	uint64_t ino, start;
};

static bool parse_line(const char *text, struct lock_line *l)
{
	return sscanf(text, "%15s %15s %15s %d %x:%x:%" SCNu64 " %" SCNu64 " %23s", l->kind,
		      l->mode, l->type, &l->pid, &l->dev_major, &l->dev_minor, &l->ino, &l->start,
		      l->end) == 9;
}

static const char *kind_name(FileLock__Kind kind)
{
	return kind == FILE_LOCK__KIND__FLOCK ? "FLOCK" :
	       kind == FILE_LOCK__KIND__POSIX ? "POSIX" :
	       kind == FILE_LOCK__KIND__LEASE ? "LEASE" : "OFD";
}

/* The lock of @l as a record; fails, naming the fd, on what cryo cannot
 * take again. */
static int line_to_lock(const struct fd_probe *p, const struct lock_line *l, FileLock *rec)
{
	file_lock__init(rec);
	if (!strcmp(l->kind, "FLOCK")) {
		rec->kind = FILE_LOCK__KIND__FLOCK;
	} else if (!strcmp(l->kind, "POSIX")) {
		rec->kind = FILE_LOCK__KIND__POSIX;
	} else if (!strcmp(l->kind, "OFDLCK")) {
		rec->kind = FILE_LOCK__KIND__OFD;
	} else if (!strcmp(l->kind, "LEASE")) {
		/* A lease being broken waits on another process's open(). */
		if (strcmp(l->mode, "ACTIVE")) {
			pr_fd_err(p, "holds a lease that is %s (being broken): not supported",
				  l->mode);
			return -EOPNOTSUPP;
		}
		rec->kind = FILE_LOCK__KIND__LEASE;
	} else if (!strcmp(l->kind, "DELEG")) {
		pr_fd_err(p, "holds an NFS delegation: not supported");
		return -EOPNOTSUPP;
	} else {
		pr_fd_err(p, "holds a lock of kind %s: not supported", l->kind);
		return -EOPNOTSUPP;
	}
	if (rec->kind != FILE_LOCK__KIND__LEASE && strcmp(l->mode, "ADVISORY")) {
		pr_fd_err(p, "holds a %s lock that is %s: only advisory locks are supported",
			  l->kind, l->mode);
		return -EOPNOTSUPP;
	}
	if (!strcmp(l->type, "READ")) {
		rec->type = FILE_LOCK__TYPE__READ;
	} else if (!strcmp(l->type, "WRITE")) {
		rec->type = FILE_LOCK__TYPE__WRITE;
	} else {
		pr_fd_err(p, "holds a %s lock of type %s: not supported", l->kind, l->type);
		return -EOPNOTSUPP;
	}
	rec->start = l->start;
	if (strcmp(l->end, "EOF")) {
		char *end;

		errno = 0;
		rec->end = strtoull(l->end, &end, 10);
		if (errno || *end) {
			pr_fd_err(p, "cannot parse the end of a lock: %s", l->end);
			return -EINVAL;
		}
		rec->has_end = true;
	}
	rec->pid = p->pid;
	rec->fd = p->fd;
	return 0;
}

static bool same_lock(const FileLock *a, const FileLock *b)
{
	return a->kind == b->kind && a->type == b->type && a->start == b->start &&
	       a->has_end == b->has_end && (!a->has_end || a->end == b->end) &&
	       a->file_id == b->file_id &&
	       (a->kind != FILE_LOCK__KIND__POSIX || a->pid == b->pid);
}

static int note(struct files_dump_set *set, const struct noted_lock *n)
{
	for (size_t i = 0; i < set->nr_locks; i++)
		if (same_lock(&set->locks[i].rec, &n->rec))
			return 0;	/* another fd of the same description */
	if (set->nr_locks == set->cap_locks) {
		size_t cap = set->cap_locks ? set->cap_locks * 2 : 16;
		struct noted_lock *bigger = reallocarray(set->locks, cap, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		set->locks = bigger;
		set->cap_locks = cap;
	}
	set->locks[set->nr_locks++] = *n;
	return 0;
}

/* Each "lock:" line of @p's fdinfo, parsed into @l; NULL after the last. */
static const char *next_lock_line(const char *text, struct lock_line *l, const struct fd_probe *p,
				  int *err)
{
	for (const char *line = text, *next; line && *line; line = next) {
		const char *fields;

		next = strchr(line, '\n');
		next = next ? next + 1 : NULL;
		if (strncmp(line, "lock:", 5))
			continue;
		/* "lock:\t1: POSIX ..." */
		fields = strchr(line + 5, ':');
		if (!fields || !parse_line(fields + 1, l)) {
			pr_fd_err(p, "cannot parse a lock in its fdinfo: %.80s", line);
			*err = -EINVAL;
			return NULL;
		}
		return next ? next : "";
	}
	return NULL;
}

int locks_check_fd(const struct fd_probe *p)
{
	struct lock_line l;
	FileLock rec;
	int ret = 0;

	for (const char *at = next_lock_line(p->fdinfo, &l, p, &ret); !ret && at;
	     at = next_lock_line(at, &l, p, &ret))
		ret = line_to_lock(p, &l, &rec);
	return ret;
}

int locks_note_fd(struct files_dump_set *set, const struct fd_probe *p, uint32_t file_id)
{
	struct lock_line l;
	int ret = 0;

	for (const char *at = next_lock_line(p->fdinfo, &l, p, &ret); !ret && at;
	     at = next_lock_line(at, &l, p, &ret)) {
		struct noted_lock n = { 0 };

		ret = line_to_lock(p, &l, &n.rec);
		if (ret)
			return ret;
		n.rec.file_id = file_id;
		n.dev_major = l.dev_major;
		n.dev_minor = l.dev_minor;
		n.ino = l.ino;
		n.line_pid = l.pid;
		if (n.rec.kind == FILE_LOCK__KIND__POSIX && l.pid != p->pid) {
			/* Shown here because the fd table is shared with its
			 * owner: noted when that owner is dumped. */
			if (bsearch(&l.pid, set->pids, set->nr_pids, sizeof(l.pid), cmp_pid))
				continue;
			pr_fd_err(p, "reaches a POSIX lock of pid %d, which is not being dumped",
				  l.pid);
			return -EOPNOTSUPP;
		}
		if (note(set, &n)) {
			pr_fd_err(p, "out of memory for its locks");
			return -ENOMEM;
		}
	}
	return ret;
}

static bool pid_in(pid_t pid, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* A FLOCK or POSIX lock of a process of the dump that no fd reached: a
 * FLOCK held through a mapping alone (closing an fd drops POSIX locks, so
 * those are always reached). OFD locks show no pid and cannot be told
 * apart from those of other processes here. */
static int check_line(const struct files_dump_set *set, const char *line, const pid_t *pids,
		      size_t n)
{
	struct lock_line l;
	FileLock__Kind kind;

	/* "N: KIND ..."; a waiting request is "N: -> KIND ...". */
	line = strchr(line, ':');
	if (!line || strstr(line, "->") || !parse_line(line + 1, &l))
		return 0;
	if (!strcmp(l.kind, "FLOCK"))
		kind = FILE_LOCK__KIND__FLOCK;
	else if (!strcmp(l.kind, "POSIX"))
		kind = FILE_LOCK__KIND__POSIX;
	else
		return 0;
	if (!pid_in(l.pid, pids, n))
		return 0;
	for (size_t i = 0; i < set->nr_locks; i++) {
		const struct noted_lock *o = &set->locks[i];

		if (o->rec.kind == kind && o->line_pid == l.pid && o->dev_major == l.dev_major &&
		    o->dev_minor == l.dev_minor && o->ino == l.ino && o->rec.start == l.start)
			return 0;
	}
	pr_err("dump: pid %d holds a %s lock on inode %02x:%02x:%" PRIu64 " that none of the "
	       "dumped fds reaches (held through a mapping, or by a file passed out of the "
	       "tree): not supported", l.pid, l.kind, l.dev_major, l.dev_minor, l.ino);
	return -EOPNOTSUPP;
}

/* Copies the line at *@pos of @text into @line (cut at @size, as fgets
 * would) and moves past it; false at the end. */
static bool next_line(const char **pos, char *line, size_t size)
{
	const char *start = *pos, *end = strchr(start, '\n');
	size_t len = end ? (size_t)(end - start) : strlen(start);

	if (!*start)
		return false;
	*pos = end ? end + 1 : start + len;
	if (len >= size)
		len = size - 1;
	memcpy(line, start, len);
	line[len] = '\0';
	return true;
}

static int check_proc_locks(struct files_dump_set *set, const pid_t *pids, size_t n)
{
	const char *text, *pos;
	char line[256];
	int ret = proc_locks_text(&set->proc_locks, &text);

	if (ret) {
		pr_err("dump: cannot read /proc/locks: %s", strerror(-ret));
		return ret;
	}
	for (pos = text; !ret && next_line(&pos, line, sizeof(line));)
		ret = check_line(set, line, pids, n);
	return ret;
}

int locks_on_device(struct proc_locks *proc_locks, dev_t dev)
{
	const char *text, *pos;
	char line[256];
	int ret = proc_locks_text(proc_locks, &text);

	if (ret) {
		pr_err("dump: cannot read /proc/locks: %s", strerror(-ret));
		return ret;
	}
	for (pos = text; !ret && next_line(&pos, line, sizeof(line));) {
		struct lock_line l;
		char *fields = strchr(line, ':');

		/* "N: KIND ..." or, waiting, "N: -> KIND ...": either counts. */
		if (fields && !strncmp(fields + 1, " ->", 3))
			fields += 3;
		if (fields && parse_line(fields + 1, &l) && l.dev_major == major(dev) &&
		    l.dev_minor == minor(dev))
			ret = 1;
	}
	return ret;
}

int locks_write(struct files_dump_set *set, const pid_t *pids, size_t n)
{
	struct image_writer *w = NULL;
	int ret = check_proc_locks(set, pids, n);

	if (!ret)
		ret = image_open_write(set->dir, IMG_LOCKS, 0, &w);
	for (size_t i = 0; !ret && i < set->nr_locks; i++) {
		const FileLock *l = &set->locks[i].rec;

		char end[24] = "EOF";

		if (l->has_end)
			snprintf(end, sizeof(end), "%" PRIu64, l->end);
		pr_debug("dump: pid %d fd %d: %s %s lock, bytes %" PRIu64 "-%s", l->pid, l->fd,
			 kind_name(l->kind), l->type == FILE_LOCK__TYPE__WRITE ? "write" : "read",
			 l->start, end);
		ret = image_write_record(w, &l->base);
	}
	if (!ret)
		ret = image_finish(w);
	else if (w)
		image_abort(w);
	if (!ret)
		pr_info("dump: %zu file locks", set->nr_locks);
	return ret;
}

/* ---- restore ----------------------------------------------------------------- */

static struct files_image *image_of(struct files_image *const *imgs, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (imgs[i]->pid == pid)
			return imgs[i];
	return NULL;
}

/* Whether the file of @f may carry the lock @l: a read lock needs it
 * open for reading, a write lock for writing (flock needs neither); a
 * read lease needs it open read-only, a write lease any way. */
static bool mode_allows(const FileEntry *e, const FileLock *l)
{
	unsigned int acc = e->flags & O_ACCMODE;

	if (e->flags & O_PATH)
		return false;
	if (l->kind == FILE_LOCK__KIND__FLOCK)
		return true;
	if (l->kind == FILE_LOCK__KIND__LEASE)
		return l->type == FILE_LOCK__TYPE__WRITE || acc == O_RDONLY;
	return l->type == FILE_LOCK__TYPE__WRITE ? acc == O_WRONLY || acc == O_RDWR
						 : acc == O_RDONLY || acc == O_RDWR;
}

static int load_one(const struct image *img, size_t i, struct files_image *const *imgs,
		    size_t n, struct files_lock *out)
{
	const FileLock *l = (const FileLock *)img->records[i].msg;
	size_t off = img->records[i].offset;
	struct files_image *fi = image_of(imgs, n, l->pid);
	const struct fd_slot *slot = fi ? files_slot(fi, l->fd) : NULL;

	if (!slot) {
		image_error(img->path, off, "a %s lock of pid %d fd %d: %s", kind_name(l->kind),
			    l->pid, l->fd, fi ? "no such fd" : "not a live process of the dump");
		return -EBADMSG;
	}
	if (slot->file->e->id != l->file_id || !mode_allows(slot->file->e, l)) {
		image_error(img->path, off, "a %s lock of pid %d fd %d: %s", kind_name(l->kind),
			    l->pid, l->fd, slot->file->e->id != l->file_id ?
			    "the fd refers to another file" : "the file is not open for it");
		return -EBADMSG;
	}
	*out = (struct files_lock){
		.kind = l->kind == FILE_LOCK__KIND__FLOCK ? FILES_LOCK_FLOCK :
			l->kind == FILE_LOCK__KIND__POSIX ? FILES_LOCK_POSIX :
			l->kind == FILE_LOCK__KIND__LEASE ? FILES_LOCK_LEASE : FILES_LOCK_OFD,
		.write = l->type == FILE_LOCK__TYPE__WRITE,
		.start = l->start,
		.end = l->has_end ? l->end : UINT64_MAX,
		.pid = l->pid,
		.fd = l->fd,
		.path = slot->file->kind->describe ? slot->file->kind->describe(slot->file->e) :
						     slot->file->kind->name,
	};
	return 0;
}

int files_locks_load(const struct image_dir *dir, struct files_image *const *imgs, size_t n,
		     struct files_locks **out)
{
	struct files_locks *locks = calloc(1, sizeof(*locks));
	int ret;

	if (!locks) {
		pr_err("restore: out of memory for the file locks");
		return -ENOMEM;
	}
	ret = image_read(dir, IMG_LOCKS, 0, &locks->img);
	if (!ret) {
		locks->locks = calloc(locks->img->nr_records + 1, sizeof(*locks->locks));
		if (!locks->locks) {
			pr_err("restore: out of memory for the file locks");
			ret = -ENOMEM;
		}
	}
	for (size_t i = 0; !ret && i < locks->img->nr_records; i++)
		ret = load_one(locks->img, i, imgs, n, &locks->locks[locks->nr++]);
	if (ret) {
		files_locks_free(locks);
		return ret;
	}
	*out = locks;
	return 0;
}

void files_locks_free(struct files_locks *locks)
{
	if (!locks)
		return;
	free(locks->locks);
	if (locks->img)
		image_free(locks->img);
	free(locks);
}
