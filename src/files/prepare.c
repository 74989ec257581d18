/* files_prepare(): the file objects that processes of a restore share,
 * opened once by cryo before it creates any process, so that every process inherits the very
 * same open file descriptions: a file shared by several processes keeps
 * one position, the two ends of a pipe held by different processes are
 * one pipe. Each process then installs its fds from these (restore.c).
 * Kinds that only the process can open (an epoll of its own fds, a pidfd
 * of a process not yet created) are still opened by that process, and
 * may not be shared, unless the kind says cryo can open that object
 * (opened_by_cryo): before the tree (a pidfd of a reaped process), or once
 * every process exists (a pidfd of a live one): files_prepare_late() puts
 * it in a place kept for it, from which the processes take it in stage 2
 * with pidfd_getfd(). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "files/internal.h"

/* An object a process needs: one of its fds, the file of a mapping, the
 * directory of its removed cwd or root, or one it borrows from another
 * process. The fds of a table another process restores are that one's. */
static bool needed_by(const struct files_image *img, size_t i)
{
	const struct file_obj *f = &img->files[i];

	return img->table_shared ? f->mapped || f->dir : f->nr_fds || f->needed || f->borrowed;
}

static bool has_own_fds(const struct files_image *img, size_t i)
{
	return img->files[i].nr_fds && !img->table_shared;
}

/* Needed by the process only as borrowed: opened as its holder instead,
 * which has its saved contents and whose credentials open it. */
static bool only_borrowed(const struct files_image *img, size_t i)
{
	const struct file_obj *f = &img->files[i];

	return f->borrowed && !img->table_shared && !f->nr_fds && !f->needed;
}

/* For each unit made once (file_unit(): an inode, or the group of
 * inodes made together; by the index of its first object): how many
 * processes need one of its objects. Only what two or more share is
 * prepared, so that a process of many fds does not make cryo hold them
 * all over its open-files limit. */
static size_t *count_users(struct files_image *const *imgs, size_t n, size_t nr_files)
{
	size_t *users = calloc(nr_files + 1, sizeof(*users));
	size_t *last = calloc(nr_files + 1, sizeof(*last));

	for (size_t t = 0; users && last && t < n; t++) {
		for (size_t j = 0; j < nr_files; j++) {
			size_t unit = (size_t)(file_unit(&imgs[t]->files[j]) - imgs[t]->files);

			/* Counted once per process: @last holds t + 1. */
			if (needed_by(imgs[t], j) && last[unit] != t + 1) {
				last[unit] = t + 1;
				users[unit]++;
			}
		}
	}
	free(last);
	return users;
}

static int check_unshared(struct files_image *const *imgs, size_t n, size_t i)
{
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n && has_own_fds(imgs[a], i); b++)
			if (has_own_fds(imgs[b], i)) {
				pr_err("restore: pids %d and %d share %s file %u: sharing one "
				       "is not supported yet", imgs[a]->pid, imgs[b]->pid,
				       imgs[a]->files[i].kind->name, imgs[a]->files[i].e->id);
				return -EOPNOTSUPP;
			}
	return 0;
}

/*
 * The one place where objects are made: every inode a kind makes and
 * every group, in cryo for what processes share and in a process for its
 * own. Here the namespace part will switch into the namespaces @first
 * belongs to (r->ns, set by the caller of files_prepare()); a process
 * restoring its own objects is in its namespaces already and passes none.
 * Objects a kind opens by path or makes alone (an eventfd) are opened by
 * the kind's open() and do not come here yet.
 */
int make_in_namespaces(struct restore_ctx *r, const struct file_obj *first,
		       int (*make)(struct restore_ctx *r, const struct file_obj *first, void *arg),
		       void *arg)
{
	int ret, left;

	if (!r->ns || !r->ns->enter)
		return make(r, first, arg);
	ret = r->ns->enter(r->ns->arg, first);
	if (ret) {
		restore_err(r, first, "cannot enter its namespaces: %s", strerror(-ret));
		return ret;
	}
	ret = make(r, first, arg);
	left = r->ns->leave(r->ns->arg, first);
	if (left)
		restore_err(r, first, "cannot leave its namespaces: %s", strerror(-left));
	return ret ? ret : left;
}

/* How many processes have fds of object @i (not through another's table),
 * and with @borrowers, borrow it. */
static size_t holders(struct files_image *const *imgs, size_t n, size_t i, bool borrowers)
{
	size_t count = 0;

	for (size_t t = 0; t < n; t++)
		count += has_own_fds(imgs[t], i) || (borrowers && only_borrowed(imgs[t], i));
	return count;
}

/* A process borrows object @i of @img: some process must hold it. */
static int check_held(struct files_image *const *imgs, size_t n, const struct files_image *img,
		      size_t i)
{
	if (holders(imgs, n, i, false))
		return 0;
	pr_err("restore: pid %d borrows %s file %u from another process, but no process holds "
	       "it", img->pid, img->files[i].kind->name, img->files[i].e->id);
	return -EBADMSG;
}

/* Keeps fd number p->fds[@i] for an object cryo opens once every process
 * exists, with a placeholder all processes inherit, and a pidfd of cryo
 * itself, through which they take the object then. */
static int reserve_late(struct restore_ctx *r, struct files_prepared *p, size_t i)
{
	int fd;

	if (p->cryo_pidfd < 0) {
		fd = pidfd_open(getpid(), 0);
		p->cryo_pidfd = fd < 0 ? -errno : restore_move_high(r, fd);
		if (p->cryo_pidfd < 0) {
			fd = p->cryo_pidfd;
			p->cryo_pidfd = -1;
			pr_err("restore: cannot open a pidfd of cryo: %s", strerror(-fd));
			return fd;
		}
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = fd < 0 ? -errno : restore_move_high(r, fd);
	if (fd < 0) {
		pr_err("restore: cannot keep an fd for a file opened once the processes exist: "
		       "%s", strerror(-fd));
		return fd;
	}
	p->fds[i] = fd;
	p->late[i] = true;
	return 0;
}

static int prepare_one(struct restore_ctx *r, const struct file_obj *f, int *out)
{
	int fd = restore_open_object(r, f);

	if (fd < 0)
		return fd;
	fd = restore_move_high(r, fd);
	if (fd < 0) {
		restore_err(r, f, "cannot move it above fd %d: %s", r->high - 1, strerror(-fd));
		return fd;
	}
	*out = fd;
	return f->kind->shares_foreign_file ? 0 : restore_set_state(r, f, fd);
}

int files_prepare(struct files_image *const *imgs, size_t n, bool shell_job, int base,
		  const struct files_namespaces *ns, const struct files_restore_env *env,
		  int (*as_task)(void *arg, size_t index), void *arg, struct files_prepared **out)
{
	struct restore_ctx r = { .high = base, .tty = -1, .all = imgs, .nr_all = n, .ns = ns,
				 .env = env };
	size_t nr_files = n ? imgs[0]->nr_files : 0, *users = NULL;
	struct files_prepared *p = calloc(1, sizeof(*p));
	enum file_opened_by_cryo opens;
	int ret = 0;

	if (!p || !(p->fds = malloc((nr_files + 1) * sizeof(*p->fds))) ||
	    !(p->late = calloc(nr_files + 1, sizeof(*p->late)))) {
		if (p)
			free(p->fds);
		free(p);
		pr_err("restore: out of memory for the file objects");
		return -ENOMEM;
	}
	p->cryo_pidfd = -1;
	p->env = env;
	p->nr = nr_files;
	r.preparing = p;
	users = count_users(imgs, n, nr_files);
	if (!users)
		ret = pr_errno_ret("restore: out of memory for the file objects");
	for (size_t i = 0; i < nr_files; i++)
		p->fds[i] = -1;
	for (size_t t = 0; !ret && t < n; t++) {
		r.img = imgs[t];
		ret = as_task ? as_task(arg, t) : 0;
		if (!ret)
			ret = files_check_restorable(imgs[t], shell_job);
		if (!ret && r.tty < 0)
			ret = restore_find_terminal(&r);
		for (size_t i = 0; !ret && i < nr_files; i++) {
			const struct file_obj *f = &imgs[t]->files[i];

			if (only_borrowed(imgs[t], i)) {
				ret = check_held(imgs, n, imgs[t], i);
				continue;
			}
			if (!needed_by(imgs[t], i) || p->fds[i] >= 0 ||
			    (users[file_unit(f) - imgs[t]->files] < 2 &&
			     !(f->kind->made_before_tree && f->kind->made_before_tree(imgs[t], f))))
				continue;
			opens = f->kind->opened_in_task ? FILE_OPENED_IN_TASK_ONLY :
							  FILE_OPENED_BEFORE_TREE;
			if (f->kind->opened_in_task && f->kind->opened_by_cryo)
				opens = f->kind->opened_by_cryo(f->e);
			if (opens == FILE_OPENED_BEFORE_TREE)
				ret = prepare_one(&r, f, &p->fds[i]);
			else if (opens == FILE_OPENED_AFTER_TREE && holders(imgs, n, i, true) > 1)
				ret = reserve_late(&r, p, i);
			else
				ret = check_unshared(imgs, n, i);
		}
	}
	restore_ctx_release(&r);
	free(users);
	if (ret) {
		files_prepared_close(p);
		return ret;
	}
	*out = p;
	return 0;
}

int files_prepared_fd(const struct files_prepared *p, const struct file_obj *f,
		      const struct files_image *img)
{
	size_t i = (size_t)(f - img->files);

	return p && i < p->nr && !p->late[i] ? p->fds[i] : -1;
}

int files_prepared_late_fd(const struct files_prepared *p, const struct file_obj *f,
			   const struct files_image *img)
{
	size_t i = (size_t)(f - img->files);

	return p && i < p->nr && p->late[i] ? p->fds[i] : -1;
}

int files_prepare_late(struct files_prepared *p, struct files_image *const *imgs, size_t n)
{
	struct restore_ctx r = { .high = 0, .tty = -1, .all = imgs, .nr_all = n, .env = p->env };
	int ret = 0;

	for (size_t i = 0; p && i < p->nr && !ret; i++) {
		const struct file_obj *f = NULL;
		int fd;

		if (!p->late[i])
			continue;
		for (size_t t = 0; t < n && !f; t++)
			if (has_own_fds(imgs[t], i)) {
				r.img = imgs[t];
				f = &imgs[t]->files[i];
			}
		if (!f)
			return -EINVAL;
		fd = restore_open_object(&r, f);
		if (fd < 0)
			return fd;
		ret = restore_set_state(&r, f, fd);
		if (!ret && dup3(fd, p->fds[i], O_CLOEXEC) != p->fds[i])
			ret = pr_errno_ret("restore: cannot put %s file %u in the place kept for it",
					   f->kind->name, f->e->id);
		close(fd);
	}
	restore_ctx_release(&r);
	return ret;
}

bool files_prepared_any_late(const struct files_prepared *p)
{
	return p && p->cryo_pidfd >= 0;
}

void files_prepared_close_early(struct files_prepared *p)
{
	for (size_t i = 0; p && i < p->nr; i++)
		if (p->fds[i] >= 0 && !p->late[i]) {
			close(p->fds[i]);
			p->fds[i] = -1;
		}
}

void files_prepared_close(struct files_prepared *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->fds && i < p->nr; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	if (p->cryo_pidfd >= 0)
		close(p->cryo_pidfd);
	free(p->fds);
	free(p->late);
	free(p);
}
