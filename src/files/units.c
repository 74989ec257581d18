/* What restore makes once and opens objects from: the inode of a file
 * that has no path (a pipe, a memfd, a deleted file: made by its kind's
 * make_inode, each object then opened again from it), and a group of
 * objects made together (a socketpair: made by its kind's create_group,
 * each member then given its own fd). Each is made on first use, through
 * make_in_namespaces(), and let go of once every object is open. Which
 * objects are opened, and when, is restore.c's and prepare.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/internal.h"

int restore_move_high(const struct restore_ctx *r, int fd)
{
	int moved;

	if (fd >= r->high)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, r->high);
	if (moved < 0)
		moved = -errno;
	close(fd);
	return moved;
}

/* ---- inodes -------------------------------------------------------------------- */

/* The handle kept for the inode of @f, or NULL. */
static struct inode_handle *find_inode(const struct restore_ctx *r, const struct file_obj *f)
{
	/* By id: when cryo prepares a tree, the objects come from the images
	 * of several processes. */
	for (size_t i = 0; i < r->nr_inodes; i++)
		if (r->inodes[i].inode->e->id == f->inode->e->id)
			return &r->inodes[i];
	return NULL;
}

int restore_add_inode(struct restore_ctx *r, const struct file_obj *f, int fd, int fd2)
{
	bool has_fd2 = fd2 >= 0;
	struct inode_handle *h;
	int err;

	fd = restore_move_high(r, fd);
	if (has_fd2)
		fd2 = restore_move_high(r, fd2);
	h = reallocarray(r->inodes, r->nr_inodes + 1, sizeof(*h));
	if (h)
		r->inodes = h;
	err = fd < 0 ? fd : has_fd2 && fd2 < 0 ? fd2 : !h ? -ENOMEM : 0;
	if (err) {
		restore_err(r, f, "cannot keep its inode open: %s", strerror(-err));
		if (fd >= 0)
			close(fd);
		if (has_fd2 && fd2 >= 0)
			close(fd2);
		return err;
	}
	h = &r->inodes[r->nr_inodes++];
	h->inode = f->inode;
	h->fd = fd;
	h->fd2 = has_fd2 ? fd2 : -1;
	h->left = f->inode->nr_inode_users;
	return 0;
}

static int make_inode(struct restore_ctx *r, const struct file_obj *first, void *arg)
{
	(void)arg;
	return first->kind->make_inode(r, first);
}

const struct inode_handle *restore_inode_get(struct restore_ctx *r, const struct file_obj *f)
{
	const struct inode_handle *h = find_inode(r, f);

	if (h)
		return h;
	if (!f->inode->kind->make_inode) {
		restore_err(r, f, "its kind cannot make the inode other objects are opened from");
		return NULL;
	}
	if (make_in_namespaces(r, f->inode, make_inode, NULL))
		return NULL;
	h = find_inode(r, f);
	if (!h)
		restore_err(r, f, "its kind made no inode to open it from");
	return h;
}

static void close_handle(const struct restore_ctx *r, struct inode_handle *h)
{
	if (h->inode->kind->release_inode)
		h->inode->kind->release_inode(r, h);
	close(h->fd);
	if (h->fd2 >= 0)
		close(h->fd2);
}

void restore_release_inode(struct restore_ctx *r, const struct file_obj *f)
{
	struct inode_handle *h = find_inode(r, f);

	if (!h || --h->left)
		return;
	close_handle(r, h);
	*h = r->inodes[--r->nr_inodes];
}

int restore_reopen(const struct restore_ctx *r, const struct file_obj *f, int fd)
{
	/* The /proc link is a symlink to follow, whatever O_NOFOLLOW said.
	 * O_DIRECTORY is left in f_flags only by O_TMPFILE, and what is
	 * opened again from an inode is never a directory. */
	unsigned int flags = f->e->flags & ~O_TMPFILE & ~O_NOFOLLOW;
	char path[64];
	int new_fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	new_fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	if (new_fd < 0) {
		restore_err(r, f, "cannot open it from its inode (%s): %s", path, strerror(errno));
		return -errno;
	}
	return new_fd;
}

int restore_open_from_inode(struct restore_ctx *r, const struct file_obj *f)
{
	const struct inode_handle *h = restore_inode_get(r, f);

	return h ? restore_reopen(r, f, h->fd) : -EIO;
}

/* ---- groups -------------------------------------------------------------------- */

static struct group_handle *find_group(const struct restore_ctx *r, const struct file_obj *f)
{
	for (size_t i = 0; i < r->nr_groups; i++)
		if (r->groups[i].leader->e->id == f->group->e->id)
			return &r->groups[i];
	return NULL;
}

static void group_handle_free(struct group_handle *g)
{
	for (size_t i = 0; i < g->nr; i++)
		if (g->fds[i] >= 0)
			close(g->fds[i]);
	free(g->fds);
	free(g->members);
}

/* Calls the kind to make the group led by @leader, and keeps the fds. */
static int make_group(struct restore_ctx *r, const struct file_obj *leader, void *arg)
{
	const struct files_image *img = r->img;
	struct group_handle g = { .leader = leader, .nr = leader->nr_group };
	struct group_handle *bigger;
	size_t n = 0;
	int ret;

	(void)arg;
	g.members = calloc(g.nr + 1, sizeof(*g.members));
	g.fds = malloc((g.nr + 1) * sizeof(*g.fds));
	if (!g.members || !g.fds) {
		group_handle_free(&g);
		restore_err(r, leader, "out of memory for its group");
		return -ENOMEM;
	}
	/* The members as this image links them, the leader first (by id:
	 * the leader may come from another process's image). */
	for (const struct file_obj *m = files_find(img, leader->e->id); m && n < g.nr;
	     m = m->next_in_group)
		g.members[n++] = m;
	for (size_t i = 0; i < g.nr; i++)
		g.fds[i] = -1;
	if (n != g.nr) {
		restore_err(r, leader, "its group has %zu members here, not %zu", n, g.nr);
		group_handle_free(&g);
		return -EBADMSG;
	}
	ret = leader->kind->create_group(r, g.members, n, g.fds);
	for (size_t i = 0; !ret && i < n; i++) {
		g.fds[i] = g.fds[i] < 0 ? -EBADF : restore_move_high(r, g.fds[i]);
		if (g.fds[i] < 0) {
			ret = g.fds[i];
			restore_err(r, g.members[i], "its group gave it no fd: %s", strerror(-ret));
		}
	}
	/* Only now: making it may make others (a socket in flight in its
	 * queue), which add to r->groups. */
	bigger = ret ? NULL : reallocarray(r->groups, r->nr_groups + 1, sizeof(*bigger));
	if (bigger)
		r->groups = bigger;
	else if (!ret)
		ret = -ENOMEM;
	if (ret) {
		if (ret == -ENOMEM)
			restore_err(r, leader, "out of memory for its group");
		group_handle_free(&g);
		return ret;
	}
	g.left = n;
	r->groups[r->nr_groups++] = g;
	return 0;
}

int restore_group_take(struct restore_ctx *r, const struct file_obj *f)
{
	struct group_handle *g = find_group(r, f);
	int ret, fd = -1;

	if (!g) {
		ret = make_in_namespaces(r, f->group, make_group, NULL);
		if (ret)
			return ret;
		g = find_group(r, f);
	}
	for (size_t i = 0; g && i < g->nr; i++) {
		if (g->members[i]->e->id != f->e->id)
			continue;
		fd = g->fds[i];
		g->fds[i] = -1;
		break;
	}
	if (fd < 0) {
		restore_err(r, f, "its group has no fd left for it");
		return -EIO;
	}
	/* Every member taken: the handle goes. */
	if (!--g->left) {
		group_handle_free(g);
		*g = r->groups[--r->nr_groups];
	}
	return fd;
}

int restore_open_object(struct restore_ctx *r, const struct file_obj *f)
{
	const struct file_kind *kind = f->kind;

	/* A kind with both makes its groups together, and opens an object in
	 * no group on its own. */
	if (kind->create_group && (!kind->open || f->group->nr_group > 1 || f->group != f))
		return restore_group_take(r, f);
	if (kind->open)
		return kind->open(r, f);
	return restore_open_from_inode(r, f);
}

void restore_ctx_release(struct restore_ctx *r)
{
	for (size_t i = 0; i < r->nr_inodes; i++)
		close_handle(r, &r->inodes[i]);
	free(r->inodes);
	r->inodes = NULL;
	r->nr_inodes = 0;
	for (size_t i = 0; i < r->nr_groups; i++)
		group_handle_free(&r->groups[i]);
	free(r->groups);
	r->groups = NULL;
	r->nr_groups = 0;
	if (r->tty >= 0)
		close(r->tty);
	r->tty = -1;
	free(r->new_socket_options);
	r->new_socket_options = NULL;
	restore_kept_release(r);
}
