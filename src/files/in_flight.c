/* Files in flight: the fds a message queued on a socket carries
 * (SCM_RIGHTS), which no fd table may hold. At dump each is an object of
 * the dump made from cryo's own copy (a peek's), kept until the dump ends
 * so that kcmp finds it again; at load the objects a task's sockets carry
 * are marked needed; at restore they are opened once, by whoever fills
 * the queue, and kept until the context goes. Reading and filling the
 * queues is the socket kind's (src/net/unix_queue.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/dump_set.h"
#include "files/probe.h"

/* ---- dump -------------------------------------------------------------------- */

int in_flight_keep(struct files_dump_set *set, int fd, const struct stat *st)
{
	int *fds = reallocarray(set->flying_fds, set->nr_flying_fds + 1, sizeof(*fds));
	uint64_t *socks;

	if (!fds)
		return -ENOMEM;
	set->flying_fds = fds;
	fds[set->nr_flying_fds++] = fd;
	if (!S_ISSOCK(st->st_mode))
		return 0;
	socks = reallocarray(set->flying_socks, set->nr_flying_socks + 1, sizeof(*socks));
	if (!socks)
		return -ENOMEM;
	set->flying_socks = socks;
	socks[set->nr_flying_socks++] = st->st_ino;
	return 0;
}

void in_flight_forget(struct files_dump_set *set)
{
	for (size_t i = 0; i < set->nr_flying_fds; i++)
		close(set->flying_fds[i]);
	free(set->flying_fds);
	free(set->flying_socks);
	free(set->flying_later);
	set->flying_fds = NULL;
	set->flying_socks = NULL;
	set->flying_later = NULL;
	set->nr_flying_fds = set->nr_flying_socks = set->nr_flying_later = 0;
	if (set->self_pidfd >= 0)
		close(set->self_pidfd);
	set->self_pidfd = -1;
}

bool file_dump_socket_in_flight(const struct file_dump *d, uint64_t ino)
{
	for (size_t i = 0; i < d->set->nr_flying_socks; i++)
		if (d->set->flying_socks[i] == ino)
			return true;
	return false;
}

/* An object in flight that refers to fds waits for the task's whole fd
 * table (in_flight_dump_later()). */
static int dump_later(struct files_dump_set *set, size_t obj, int fd, const struct fd_probe *shown)
{
	struct flying_later *l = reallocarray(set->flying_later, set->nr_flying_later + 1,
					      sizeof(*l));

	if (!l)
		return -ENOMEM;
	set->flying_later = l;
	l += set->nr_flying_later++;
	*l = (struct flying_later){ .obj = obj, .fd = fd, .pid = shown->pid };
	memcpy(l->name, shown->name, sizeof(l->name));
	return 0;
}

/* Finds or makes the object of @p (cryo's copy at p->fd); the kind dumps
 * a new one through @shown, which names it after the message. */
static int find_or_dump(struct files_dump_set *set, struct fd_probe *p,
			const struct fd_probe *shown, const struct file_kind *kind, uint32_t *id)
{
	struct inode_bucket *b = bucket_get(set, p->st.st_dev, p->st.st_ino);
	struct dump_obj *o;
	size_t pos = 0;
	int copy, ret;

	ret = b ? bucket_search(set, b, p, &pos, &o) : -ENOMEM;
	if (ret)
		return ret;
	if (o) {
		*id = o->fe->id;
		if (o->fe->kind == kind->type)
			return 0;
		pr_fd_err(shown, "the same open file as pid %d fd %d, but taken as %s", o->pid,
			  o->fd, kind->name);
		return -EINVAL;
	}
	ret = obj_add(set, p, kind, b, pos, &o);
	if (ret)
		return ret;
	*id = o->fe->id;
	/* From here cryo's copy is the object's, for kcmp: kept to the end. */
	copy = p->fd;
	ret = in_flight_keep(set, copy, &p->st);
	if (ret)
		return ret;
	p->fd = -1;
	ret = owner_dump(shown, o->fe);
	if (!ret && kind->refers_to_fds)
		return dump_later(set, (size_t)(o - set->objs), copy, shown);
	/* The kind may dump more in flight, which moves set->objs. */
	return ret ? ret : obj_dump(set, shown, kind, o, NULL, 0);
}

int in_flight_dump_later(struct files_dump_set *set, pid_t pid, FdEntry *const *fds, size_t nr)
{
	int ret = 0;

	for (size_t i = 0; i < set->nr_flying_later && !ret; i++) {
		const struct flying_later *l = &set->flying_later[i];
		struct dump_obj *o = &set->objs[l->obj];
		struct fd_probe p;

		if (l->pid != pid)
			continue;
		ret = probe_fd(set->self_pidfd, getpid(), l->fd, -1, &p);
		if (ret)
			break;
		/* Messages name the task and the message, as when it was met. */
		p.pid = pid;
		p.net = set->net;
		memcpy(p.name, l->name, sizeof(p.name));
		ret = obj_dump(set, &p, file_kind_of(o->fe->kind), o, fds, nr);
		probe_release(&p);
	}
	return ret;
}

int file_dump_in_flight(const struct file_dump *d, int fd, const char *where, uint32_t *id)
{
	struct files_dump_set *set = d->set;
	const struct file_kind *kind;
	struct fd_probe p, shown;
	int copy, ret;

	if (set->self_pidfd < 0) {
		set->self_pidfd = pidfd_open(getpid(), 0);
		if (set->self_pidfd < 0)
			return pr_errno_ret("dump: cannot open a pidfd of cryo to read fds in "
					    "flight");
	}
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return pr_errno_ret("dump: pid %d %s: cannot keep a copy of an fd in flight",
				    d->p->pid, d->p->name);
	ret = probe_fd(set->self_pidfd, getpid(), copy, -1, &p);
	if (ret) {
		close(copy);
		return ret;
	}
	p.net = set->net;
	/* Messages name the task and the message, not cryo's copy. */
	shown = p;
	shown.pid = d->p->pid;
	snprintf(shown.name, sizeof(shown.name), "%.12s %.34s", d->p->name, where);
	/* Its refusal, if no kind takes it, names the task and the message. */
	kind = file_kind_recognise(&shown);
	if (!kind) {
		ret = -EOPNOTSUPP;
	} else if (!kind->in_flight_ok) {
		pr_fd_err(d->p, "%s carries %s (%s) in flight: not supported yet", where,
			  kind->name, p.link);
		ret = -EOPNOTSUPP;
	} else if (p.flags & ~(FILE_FLAGS_KNOWN | kind->own_flags)) {
		pr_fd_err(d->p, "%s carries %s in flight with open flags %#o: not supported",
			  where, p.link, p.flags & ~(FILE_FLAGS_KNOWN | kind->own_flags));
		ret = -EOPNOTSUPP;
	} else {
		ret = find_or_dump(set, &p, &shown, kind, id);
	}
	if (p.fd >= 0)
		close(p.fd);
	if (ret == -ENOMEM)
		pr_fd_err(d->p, "%s: out of memory", where);
	probe_release(&p);
	return ret;
}

/* ---- load -------------------------------------------------------------------- */

struct mark {
	struct files_image *img;
	struct file_obj *carrier;
	bool changed;
};

static int mark_one(void *arg, uint32_t id)
{
	struct mark *m = arg;
	struct file_obj *f = files_find(m->img, id);

	if (!f || !f->kind->in_flight_ok) {
		load_err(m->img, m->carrier, "carries file %u in flight, which is %s", id,
			 f ? "of a kind that cannot be in flight" : "not in files.img");
		return -EBADMSG;
	}
	if (f->in_flight)
		return 0;
	f->in_flight = f->needed = f->inode->needed = true;
	if (!f->nr_fds)
		f->inode->nr_inode_users++;
	m->changed = true;
	return 0;
}

/* Whether the task needs @f's group: an fd holds a member, or one is in
 * flight. Its queues are filled where the group is made, which may be
 * cryo when another process holds the other end: every process that needs
 * the group then needs what its queues carry, so that cryo, seeing it
 * shared, makes those objects too (the other end of a pipe in flight with
 * them). */
static void mark_groups(const struct files_image *img, bool *group_needed)
{
	for (size_t i = 0; i < img->nr_files; i++) {
		const struct file_obj *f = &img->files[i];

		if (f->nr_fds || f->in_flight)
			group_needed[f->group - img->files] = true;
	}
}

int in_flight_link(struct files_image *img)
{
	struct mark m = { .img = img, .changed = true };
	_cleanup_free_ bool *seen = calloc(img->nr_files + 1, sizeof(*seen));
	_cleanup_free_ bool *group_needed = calloc(img->nr_files + 1, sizeof(*group_needed));

	if (!seen || !group_needed)
		return -ENOMEM;
	/* What a socket in flight carries is in flight too: until nothing
	 * new is marked. */
	while (m.changed) {
		m.changed = false;
		mark_groups(img, group_needed);
		for (size_t i = 0; i < img->nr_files; i++) {
			struct file_obj *f = &img->files[i];
			int ret;

			if (seen[i] || !f->kind->each_in_flight ||
			    !group_needed[f->group - img->files])
				continue;
			seen[i] = true;
			m.carrier = f;
			ret = f->kind->each_in_flight(f->e, mark_one, &m);
			if (ret)
				return ret;
			m.changed = true;
		}
	}
	return 0;
}

/* ---- restore ----------------------------------------------------------------- */

int restore_kept_fd(const struct restore_ctx *r, uint32_t id)
{
	for (size_t i = 0; i < r->nr_kept; i++)
		if (r->kept[i].id == id)
			return r->kept[i].fd;
	return -1;
}

int restore_keep_fd(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	struct kept_fd *k = reallocarray(r->kept, r->nr_kept + 1, sizeof(*k));

	if (!k) {
		close(fd);
		restore_err(r, f, "out of memory to keep it for a queue");
		return -ENOMEM;
	}
	r->kept = k;
	k[r->nr_kept++] = (struct kept_fd){ .id = f->e->id, .fd = fd };
	return 0;
}

/* Groups made each while filling the last's queue: a guard against an
 * image that would make them without end (the kind sends a socket of a
 * group being made from that group, so a real cycle stops there). */
#define IN_FLIGHT_DEPTH_MAX 16

int restore_in_flight_fd(struct restore_ctx *r, const struct file_obj *carrier, uint32_t id)
{
	const struct file_obj *f = files_find(r->img, id);
	size_t i;
	int fd, ret;

	if (!f || !f->in_flight) {
		restore_err(r, carrier, "file %u in flight was not loaded for it", id);
		return -EINVAL;
	}
	i = (size_t)(f - r->img->files);
	fd = restore_kept_fd(r, id);
	if (fd < 0)
		fd = files_prepared_fd(r->prepared, f, r->img);
	if (fd < 0 && r->preparing && i < r->preparing->nr)
		fd = r->preparing->fds[i];
	if (fd >= 0)
		return fd;
	/* A kind a process finishes (shared_ready: an epoll's targets) is
	 * finished only when its fds hold it. */
	if (r->preparing && f->kind->opened_in_task &&
	    (!f->kind->opened_by_cryo || f->kind->shared_ready ||
	     f->kind->opened_by_cryo(f->e) != FILE_OPENED_BEFORE_TREE)) {
		restore_err(r, carrier, "carries %s file %u in flight, which can be opened only "
			    "once the processes exist, but two processes share the sockets, so cryo "
			    "fills the queue before it makes them: not supported yet",
			    f->kind->name, id);
		return -EOPNOTSUPP;
	}
	if (r->in_flight_depth >= IN_FLIGHT_DEPTH_MAX) {
		restore_err(r, carrier, "file %u in flight: sockets in flight carry each other "
			    "more than %d deep: not supported", id, IN_FLIGHT_DEPTH_MAX);
		return -ELOOP;
	}
	r->in_flight_depth++;
	fd = restore_open_object(r, f);
	r->in_flight_depth--;
	if (fd < 0)
		return fd;
	fd = restore_move_high(r, fd);
	if (fd < 0) {
		restore_err(r, f, "cannot move it above fd %d: %s", r->high - 1, strerror(-fd));
		return fd;
	}
	ret = restore_set_state(r, f, fd);
	if (ret) {
		close(fd);
		return ret;
	}
	/* cryo's: inherited by the processes, which install it from there. */
	if (r->preparing && i < r->preparing->nr) {
		r->preparing->fds[i] = fd;
		return fd;
	}
	if (restore_keep_fd(r, f, fd))
		return -ENOMEM;
	/* An object with fds lets go of its inode once installed. */
	if (!f->nr_fds)
		restore_release_inode(r, f);
	return fd;
}

int restore_kept_ready(struct restore_ctx *r)
{
	for (size_t i = 0; i < r->nr_kept; i++) {
		const struct file_obj *f = files_find(r->img, r->kept[i].id);
		int ret;

		if (!f || !f->kind->in_flight_ready)
			continue;
		ret = f->kind->in_flight_ready(r, f, r->kept[i].fd);
		if (ret)
			return ret;
	}
	return 0;
}

void restore_kept_release(struct restore_ctx *r)
{
	for (size_t i = 0; i < r->nr_kept; i++)
		close(r->kept[i].fd);
	free(r->kept);
	r->kept = NULL;
	r->nr_kept = 0;
}
