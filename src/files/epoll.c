/* The "epoll" kind: the files an epoll watches, each with its events and
 * data. A watched file is recorded as the task's fd that holds it (checked
 * with kcmp), so restore registers the restored fd: an epoll depends on
 * its targets and is opened after them. A file moved to another fd since
 * it was registered is found there with kcmp and registered again under
 * its old number; one that only another process of the dump holds is
 * found in its table (file_dump_find_holder()) and borrowed at restore
 * (borrow.c) to be registered the same way. An epoll in flight is dumped
 * once the task's fd table is, and at restore watches its targets once
 * they are installed. One that several processes hold is made empty by
 * cryo, and the process whose table its targets are of watches them once
 * its fds are installed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"

static bool epoll_recognise(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventpoll]");
}

/* The file id at fd @fd of the task, or 0. */
static uint32_t file_at(const struct file_dump *d, int fd)
{
	size_t lo = 0, hi = d->nr_fds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->fds[mid]->fd == fd)
			return d->fds[mid]->file_id;
		if (d->fds[mid]->fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Whether the task's fd @fd holds the file of epoll slot @slot, whose efd
 * is cryo's copy of the epoll (for one in flight, the only one there is). */
static bool holds_target(const struct file_dump *d, int fd, struct kcmp_epoll_slot *slot)
{
	return !syscall(SYS_kcmp, d->p->pid, getpid(), KCMP_EPOLL_TFD, fd, slot);
}

/* How fd @fd of @pid orders against the file of epoll slot @arg (cryo's
 * copy of the epoll): kcmp orders the two as it orders open files. */
static int order_against_target(void *arg, pid_t pid, int fd)
{
	long r = syscall(SYS_kcmp, pid, getpid(), KCMP_EPOLL_TFD, fd, arg);

	return r < 0 ? -errno : r > 2 ? -EINVAL : (int)r;
}

static int new_target(EpollFile *ep, int tfd, uint32_t id, uint32_t events, uint64_t data,
		      EpollTarget **out)
{
	EpollTarget *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	epoll_target__init(t);
	t->fd = tfd;
	t->file_id = id;
	t->events = events;
	t->data = data;
	ep->targets[ep->n_targets++] = t;
	*out = t;
	return 0;
}

/* Registration @tfd (the @toff-th under that number), of the file of inode
 * @ino, found in the task's table or, when no fd of it holds the file any
 * more, in another process's. */
static int add_target(const struct file_dump *d, EpollFile *ep, int tfd, unsigned int toff,
		      uint64_t ino, uint32_t events, uint64_t data)
{
	const struct fd_probe *p = d->p;
	struct kcmp_epoll_slot slot = { .efd = p->dup, .tfd = tfd, .toff = toff };
	struct file_holder other;
	char what[64];
	EpollTarget *t;
	uint32_t id;
	int ret;

	id = file_at(d, tfd);
	if (id && holds_target(d, tfd, &slot))
		return new_target(ep, tfd, id, events, data, &t);
	/* The number was closed, or reused, since it was registered: another
	 * fd of the task, or another process's, may hold the file. */
	snprintf(what, sizeof(what), "watches a file registered as fd %d", tfd);
	ret = file_dump_find_holder(d, ino, tfd, order_against_target, &slot, what, &other);
	if (ret == -ENOENT) {
		pr_fd_err(p, "%s that no process of the dump holds in its fd table: only the epoll "
			  "(a message in flight, or a mapping) keeps it, and the kernel gives no "
			  "way to reach it from there: not supported", what);
		return -EOPNOTSUPP;
	}
	if (!ret)
		ret = new_target(ep, tfd, other.id, events, data, &t);
	if (ret)
		return ret;
	t->has_held_at = true;
	t->held_at = other.fd;
	if (other.pid != p->pid) {
		t->has_held_by = true;
		t->held_by = other.pid;
	}
	return 0;
}

/* How many earlier targets in @ep were registered as fd @tfd. */
static unsigned int same_fd_before(const EpollFile *ep, int tfd)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ep->n_targets; i++)
		n += ep->targets[i]->fd == tfd;
	return n;
}

static int epoll_dump(const struct file_dump *d)
{
	const char *line;
	size_t lines = 0;
	EpollFile *ep;
	int ret;

	for (line = d->p->fdinfo; (line = strstr(line, "tfd:")); line++)
		lines++;
	ep = malloc(sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	epoll_file__init(ep);
	d->fe->epoll = ep;
	ep->has_targets_of = true;
	ep->targets_of = d->p->pid;
	ep->targets = calloc(lines + 1, sizeof(*ep->targets));
	if (!ep->targets)
		return -ENOMEM;
	for (line = d->p->fdinfo; (line = strstr(line, "tfd:")); line++) {
		unsigned long long data, ino;
		unsigned int events;
		long long pos;
		int tfd;

		if (line != d->p->fdinfo && line[-1] != '\n')
			continue;
		if (sscanf(line, "tfd: %d events: %x data: %llx pos:%lli ino:%llx", &tfd, &events,
			   &data, &pos, &ino) != 5 || ep->n_targets == lines) {
			pr_fd_err(d->p, "cannot parse fdinfo line: %.80s", line);
			return -EINVAL;
		}
		ret = add_target(d, ep, tfd, same_fd_before(ep, tfd), ino, events, data);
		if (ret)
			return ret;
	}
	return 0;
}

/* By fd number, then file: one number may be registered for two files
 * (one moved away since), but not twice for one. */
static int cmp_target(const void *a, const void *b)
{
	const EpollTarget *x = *(EpollTarget *const *)a, *y = *(EpollTarget *const *)b;

	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return x->file_id < y->file_id ? -1 : x->file_id > y->file_id;
}

/* Whether the targets' fds are of @img's table (always, but for another
 * holder of an epoll several processes share). */
static bool targets_in(const struct files_image *img, const EpollFile *ep)
{
	return !ep->has_targets_of || ep->targets_of == img->pid;
}

static int check_target(struct files_image *img, struct file_obj *f, const EpollTarget *t)
{
	const EpollFile *ep = f->e->epoll;

	if (t->has_held_at &&
	    (t->held_at < 0 || t->held_at >= FILES_FD_LIMIT ||
	     (t->held_at == t->fd && !t->has_held_by))) {
		load_err(img, f, "target fd %d is held at fd %d, out of range or itself", t->fd,
			 t->held_at);
		return -EBADMSG;
	}
	if (!t->has_held_by)
		return 0;
	if (!t->has_held_at || t->held_by <= 0 ||
	    (ep->has_targets_of && t->held_by == ep->targets_of)) {
		load_err(img, f, "target fd %d is held by pid %d (fd %s), not another process",
			 t->fd, t->held_by, t->has_held_at ? "given" : "missing");
		return -EBADMSG;
	}
	/* The process that registers it borrows it from its holder. */
	return f->needed && targets_in(img, ep) ? files_borrow(img, f, t->file_id) : 0;
}

static int epoll_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const EpollFile *ep = f->e->epoll;
	_cleanup_free_ EpollTarget **sorted = NULL;
	int ret;

	(void)dir;
	sorted = malloc((ep->n_targets + 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	/* An epoll with no targets has none to copy (NULL, not to memcpy). */
	if (ep->n_targets) {
		memcpy(sorted, ep->targets, ep->n_targets * sizeof(*sorted));
		qsort(sorted, ep->n_targets, sizeof(*sorted), cmp_target);
	}
	for (size_t i = 0; i < ep->n_targets; i++) {
		if (sorted[i]->fd < 0 || sorted[i]->fd >= FILES_FD_LIMIT ||
		    (i > 0 && !cmp_target(&sorted[i], &sorted[i - 1]))) {
			load_err(img, f, "target fd %d (file %u) is out of range or twice",
				 sorted[i]->fd, sorted[i]->file_id);
			return -EBADMSG;
		}
		ret = check_target(img, f, sorted[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Whether target @t is one of the task's own fds, which @img must hold
 * as file t->file_id (another process holds a borrowed one). */
static bool own_target_in(const struct files_image *img, const EpollTarget *t)
{
	const struct fd_slot *s = files_slot(img, t->has_held_at ? t->held_at : t->fd);

	return s && s->file->e->id == t->file_id;
}

/* Its targets, installed before it; only the task that holds it can say
 * what they are. Another holder's table has nothing to do with them, nor
 * has a target borrowed from another process (cryo opens it before any). */
static int epoll_deps(struct files_image *img, struct file_obj *f)
{
	const EpollFile *ep = f->e->epoll;

	if (!targets_in(img, ep))
		return 0;

	f->deps = calloc(ep->n_targets + 1, sizeof(*f->deps));
	if (!f->deps)
		return -ENOMEM;
	for (size_t i = 0; i < ep->n_targets; i++) {
		const EpollTarget *t = ep->targets[i];
		int holder = t->has_held_at ? t->held_at : t->fd;
		const struct fd_slot *s = files_slot(img, holder);

		if (t->has_held_by)
			continue;
		if (!own_target_in(img, t) || s->file == f) {
			load_err(img, f, "target fd %d is not file %u in the task's fd table", holder,
				 t->file_id);
			return -EBADMSG;
		}
		f->deps[f->nr_deps++] = s->file;
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* In the child of add_away(): @fd moved above every number the targets
 * use (@high) when it is one of them (@numbers, sorted), so that putting
 * a file at a number does not close what is still needed. */
static int aside(int fd, const int *numbers, size_t n, int high)
{
	if (!bsearch(&fd, numbers, n, sizeof(*numbers), cmp_int))
		return fd;
	return fcntl(fd, F_DUPFD_CLOEXEC, high);
}

/* The child: registers each target i with @from[i] >= 0 under its number. */
static int __attribute__((noreturn)) register_away(int epfd, const EpollFile *ep, int *from,
						   int *numbers, size_t n, int high)
{
	epfd = aside(epfd, numbers, n, high);
	for (size_t i = 0; epfd >= 0 && i < ep->n_targets; i++)
		if (from[i] >= 0 && (from[i] = aside(from[i], numbers, n, high)) < 0)
			_exit(errno & 0xff);
	if (epfd < 0)
		_exit(errno & 0xff);
	for (size_t i = 0; i < ep->n_targets; i++) {
		const EpollTarget *t = ep->targets[i];
		struct epoll_event ev = { .events = t->events, .data.u64 = t->data };

		if (from[i] < 0)
			continue;
		if (dup2(from[i], t->fd) < 0 ||
		    (epoll_ctl(epfd, EPOLL_CTL_ADD, t->fd, &ev) && errno != EEXIST))
			_exit(errno & 0xff);
	}
	_exit(0);
}

/* Registers each target i of @f with @from[i] >= 0 (the fd that holds its
 * file here) under its number, which in this table may be free or hold
 * another file: one child with a copy of the fd table puts each file at
 * its number in turn and registers it. An epoll item lives as long as its
 * file, not its fd, so it outlives the child. Made without an exit
 * signal, so that no SIGCHLD is left pending. */
static int add_away(struct restore_ctx *r, const struct file_obj *f, int epfd, int *from,
		    size_t away)
{
	const EpollFile *ep = f->e->epoll;
	_cleanup_free_ int *numbers = malloc((away + 1) * sizeof(*numbers));
	int high = epfd, status, first = -1, err;
	size_t n = 0;
	pid_t child;

	if (!numbers)
		return -ENOMEM;
	for (size_t i = 0; i < ep->n_targets; i++) {
		if (from[i] < 0)
			continue;
		numbers[n++] = ep->targets[i]->fd;
		high = high > from[i] ? high : from[i];
		high = high > ep->targets[i]->fd ? high : ep->targets[i]->fd;
		first = first < 0 ? ep->targets[i]->fd : first;
	}
	qsort(numbers, n, sizeof(*numbers), cmp_int);
	child = (pid_t)syscall(SYS_clone, 0, NULL, NULL, NULL, NULL);
	if (child == 0)
		register_away(epfd, ep, from, numbers, n, high + 1);
	err = child < 0 ? errno : 0;
	if (!err && waitpid(child, &status, __WALL) != child)
		err = errno;
	if (!err && !WIFEXITED(status))
		err = ECHILD;
	if (!err)
		err = WEXITSTATUS(status);
	if (err)
		restore_err(r, f, "cannot watch again the %zu files registered under numbers that "
			    "no longer hold them (fd %d first): %s", n, first, strerror(err));
	return -err;
}

/* Watches the targets of @f again on @epfd; one already watched (by the
 * open of an epoll the task also holds) is left as it is. */
static int add_targets(struct restore_ctx *r, const struct file_obj *f, int epfd)
{
	const EpollFile *ep = f->e->epoll;
	_cleanup_free_ int *from = malloc((ep->n_targets + 1) * sizeof(*from));
	size_t away = 0;

	if (!from)
		return -ENOMEM;
	for (size_t i = 0; i < ep->n_targets; i++) {
		const EpollTarget *t = ep->targets[i];
		struct epoll_event ev = { .events = t->events, .data.u64 = t->data };
		int fd = t->has_held_at ? t->held_at : t->fd;

		if (t->has_held_by) {
			fd = restore_borrowed_fd(r, f, t->file_id);
			if (fd < 0)
				return fd;
		}
		from[i] = fd == t->fd ? -1 : fd;
		away += fd != t->fd;
		if (fd == t->fd && epoll_ctl(epfd, EPOLL_CTL_ADD, t->fd, &ev) && errno != EEXIST) {
			restore_err(r, f, "cannot watch fd %d (events %#x) again: %s", t->fd,
				    t->events, strerror(errno));
			return -errno;
		}
	}
	return away ? add_away(r, f, epfd, from, away) : 0;
}

/* An epoll opened to be sent in flight comes before the task's fds: it
 * watches its targets once they are installed (epoll_in_flight_ready()).
 * So does one cryo makes for several processes (epoll_shared_ready()). */
static int epoll_open(struct restore_ctx *r, const struct file_obj *f)
{
	int fd, ret;

	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0) {
		restore_err(r, f, "cannot create an epoll: %s", strerror(errno));
		return -errno;
	}
	if (r->in_flight_depth || r->preparing)
		return fd;
	ret = add_targets(r, f, fd);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Its targets are files of the task's table, checked here for an epoll
 * only in flight (deps checks those the task holds). */
static int epoll_in_flight_ready(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const EpollFile *ep = f->e->epoll;

	for (size_t i = 0; i < ep->n_targets; i++) {
		const EpollTarget *t = ep->targets[i];

		if (!t->has_held_by && !own_target_in(r->img, t)) {
			restore_err(r, f, "in flight, watches file %u at fd %d, which the task's fd "
				    "table does not hold there", t->file_id,
				    t->has_held_at ? t->held_at : t->fd);
			return -EBADMSG;
		}
	}
	return add_targets(r, f, fd);
}

/* In each process that holds an epoll cryo made: the one whose table the
 * targets are of watches them. */
static int epoll_shared_ready(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	return targets_in(r->img, f->e->epoll) ? epoll_in_flight_ready(r, f, fd) : 0;
}

/* Several processes may share one: cryo makes it, empty, before the tree. */
static enum file_opened_by_cryo epoll_opened_by_cryo(const FileEntry *e)
{
	(void)e;
	return FILE_OPENED_BEFORE_TREE;
}

const struct file_kind epoll_kind = {
	.name = "epoll",
	.type = FILE_ENTRY__KIND__EPOLL,
	.recognise = epoll_recognise,
	.dump = epoll_dump,
	.refers_to_fds = true,
	.opened_in_task = true,
	.opened_by_cryo = epoll_opened_by_cryo,
	.shared_ready = epoll_shared_ready,
	.check = epoll_check,
	.deps = epoll_deps,
	.open = epoll_open,
	.in_flight_ok = true,
	.in_flight_ready = epoll_in_flight_ready,
};
