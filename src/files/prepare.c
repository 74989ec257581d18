/* files_prepare(): the file objects that processes of a restore share,
 * opened once by cryo before it creates any process, so that every process inherits the very
 * same open file descriptions: a file shared by several processes keeps
 * one position, the two ends of a pipe held by different processes are
 * one pipe. Each process then installs its fds from these (restore.c).
 * Kinds that only the process can open (an epoll of its own fds, a pidfd
 * of a process not yet created) are still opened by that process, and
 * may not be shared. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/internal.h"

/* An object a process needs: one of its fds, or the file of a mapping.
 * The fds of a table another process restores are that one's. */
static bool needed_by(const struct files_image *img, size_t i)
{
	return img->table_shared ? img->files[i].mapped : img->files[i].nr_fds ||
							  img->files[i].needed;
}

static bool has_own_fds(const struct files_image *img, size_t i)
{
	return img->files[i].nr_fds && !img->table_shared;
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

	if (!r->ns)
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
		  const struct files_namespaces *ns, struct files_prepared **out)
{
	struct restore_ctx r = { .high = base, .tty = -1, .all = imgs, .nr_all = n, .ns = ns };
	size_t nr_files = n ? imgs[0]->nr_files : 0, *users = NULL;
	struct files_prepared *p = calloc(1, sizeof(*p));
	int ret = 0;

	if (!p || !(p->fds = malloc((nr_files + 1) * sizeof(*p->fds)))) {
		free(p);
		pr_err("restore: out of memory for the file objects");
		return -ENOMEM;
	}
	p->nr = nr_files;
	users = count_users(imgs, n, nr_files);
	if (!users)
		ret = pr_errno_ret("restore: out of memory for the file objects");
	for (size_t i = 0; i < nr_files; i++)
		p->fds[i] = -1;
	for (size_t t = 0; !ret && t < n; t++) {
		r.img = imgs[t];
		ret = files_check_restorable(imgs[t], shell_job);
		if (!ret && r.tty < 0)
			ret = restore_find_terminal(&r);
		for (size_t i = 0; !ret && i < nr_files; i++) {
			const struct file_obj *f = &imgs[t]->files[i];

			if (!needed_by(imgs[t], i) || p->fds[i] >= 0 ||
			    (users[file_unit(f) - imgs[t]->files] < 2 &&
			     !(f->kind->made_before_tree && f->kind->made_before_tree(imgs[t], f))))
				continue;
			if (f->kind->opened_in_task)
				ret = check_unshared(imgs, n, i);
			else
				ret = prepare_one(&r, f, &p->fds[i]);
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

	return p && i < p->nr ? p->fds[i] : -1;
}

void files_prepared_close(struct files_prepared *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->fds && i < p->nr; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	free(p->fds);
	free(p);
}
