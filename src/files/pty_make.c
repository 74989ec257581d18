/* Restore of the pty kind (pty.c): makes a pair again at its saved /dev/pts
 * index in its devpts instance (the tree's own, where the dump saw it, or
 * the one restore names: restore_devpts()), with its
 * state and queued bytes, and gives a session leader the slave as its
 * controlling terminal and the terminal its foreground group. What is
 * saved, and checked at load, is pty.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/kind.h"
#include "files/files.h"
#include "files/pty.h"
#include "ns/ns.h"

/* The master of @f's group, and its index in @members, or NULL. */
static const struct file_obj *master_of(const struct file_obj *const *members, size_t n,
					size_t *at)
{
	for (size_t i = 0; i < n; i++)
		if (members[i]->e->pty->master) {
			*at = i;
			return members[i];
		}
	return NULL;
}

/* The mount point of the devpts instance @f's pair is made in: a clone's
 * own (restore names it: the tree brought no mounts), else the one of the
 * tree's own mounts the dump saw it in, else /dev/pts. */
static const char *instance(const struct restore_ctx *r, const struct file_obj *f)
{
	const char *named = restore_devpts(r);

	if (strcmp(named, "/dev/pts") || !f->e->pty->devpts)
		return named;
	return f->e->pty->devpts;
}

/* The master held since a bind of the pair's slave was made (the mounts
 * come first: runc's /dev/console), for @index in the instance at @devpts;
 * -1: none. */
static int held_master(const struct restore_ctx *r, const char *devpts, unsigned int index)
{
	struct stat st;

	if (!r->env || !r->env->nr_held_ptys || stat(devpts, &st))
		return -1;
	for (size_t i = 0; i < r->env->nr_held_ptys; i++) {
		const struct ns_held_pty *h = &r->env->held_ptys[i];

		if (h->index == index && h->devpts == st.st_dev && h->fd >= 0)
			return h->fd;
	}
	return -1;
}

/* The master of a new pty at the saved index (ns_devpts_open_index()). An
 * index taken now fails the restore, naming it, before anything is made. */
static int open_at_index(struct restore_ctx *r, const struct file_obj *f, unsigned int index)
{
	const char *devpts = instance(r, f);
	char slave[PATH_MAX + 16], ptmx[PATH_MAX + 16], in_root[PATH_MAX];
	unsigned int got = 0;
	struct stat st;
	int fd;

	/* Below the tree's own root (a container's), where its instance is. */
	if (r->env && r->env->root_fd >= 0 && devpts[0] == '/') {
		snprintf(in_root, sizeof(in_root), "/proc/self/fd/%d%s", r->env->root_fd, devpts);
		devpts = in_root;
	}
	fd = held_master(r, devpts, index);
	if (fd >= 0) {
		fd = fcntl(fd, F_DUPFD_CLOEXEC, r->high);
		if (fd < 0)
			restore_err(r, f, "cannot copy the master of pty %u: %s", index,
				    strerror(errno));
		return fd < 0 ? -errno : fd;
	}
	snprintf(slave, sizeof(slave), "%s/%u", devpts, index);
	/* /dev/ptmx for the usual instance, so that the master's link reads
	 * as it did. */
	snprintf(ptmx, sizeof(ptmx), "%s/ptmx", strcmp(devpts, "/dev/pts") ? devpts : "/dev");
	if (!lstat(slave, &st)) {
		restore_err(r, f, "pty index %u is taken: %s exists", index, slave);
		return -EEXIST;
	}
	fd = ns_devpts_open_index(ptmx, index, f->e->flags & O_ACCMODE, &got);
	if (fd == -EEXIST)
		restore_err(r, f, "pty index %u cannot be had: the kernel gave %u (taken "
			    "meanwhile, or beyond kernel.pty.max)", index, got);
	else if (fd < 0)
		restore_err(r, f, "cannot open %s for pty %u: %s", ptmx, index, strerror(-fd));
	return fd;
}

/* The object of @f's id whose saved bytes are loaded: the process's own,
 * or, when cryo makes the group for the tree, that of a process with an
 * fd of it. */
static const struct file_obj *loaded(const struct restore_ctx *r, const struct file_obj *f)
{
	if (!r->all)
		return f->nr_chunks ? f : NULL;
	for (size_t i = 0; i < r->nr_all; i++) {
		const struct file_obj *o = files_find(r->all[i], f->e->id);

		if (o && o->nr_chunks)
			return o;
	}
	return NULL;
}

static int push_saved(struct restore_ctx *r, const struct file_obj *f, int fd, int termios_fd)
{
	const struct file_obj *holder = f->e->pty->data_size ? loaded(r, f) : NULL;
	struct contents_view v;
	int ret = 0;

	if (f->e->pty->data_size && !holder) {
		restore_err(r, f, "its %u queued bytes were not loaded", f->e->pty->data_size);
		return -EIO;
	}
	if (!holder)
		return 0;
	ret = contents_view_open(r, holder, &v);
	if (ret)
		return ret;
	for (size_t i = 0; i < v.nr_chunks && !ret; i++)
		ret = pty_queue_push(fd, termios_fd, (const char *)v.chunks[i]->data.data,
				     v.chunks[i]->data.len);
	contents_view_close(&v);
	if (ret)
		restore_err(r, f, "cannot queue its %u unread bytes: %s", f->e->pty->data_size,
			    strerror(-ret));
	return ret;
}

/* A slave opened through the master, with @flags' access mode and
 * O_NONBLOCK. */
static int open_slave(int master, unsigned int flags)
{
	int fd = ioctl(master, TIOCGPTPEER, (flags & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Everything but the master's fd (@fds[@at]), which is open and unlocked. */
static int make_state(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		      size_t at, int *fds)
{
	const PtyFile *m = members[at]->e->pty;
	int ret = pty_termios_set(fds[at], m->termios), one = 1, temp = -1;
	bool input_done = false;

	if (ret) {
		restore_err(r, members[at], "cannot set the termios of pty %u: %s", m->index,
			    strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		if (i == at)
			continue;
		fds[i] = open_slave(fds[at], members[i]->e->flags);
		if (fds[i] < 0) {
			ret = fds[i];
			restore_err(r, members[i], "cannot open the slave of pty %u: %s", m->index,
				    strerror(-ret));
		}
	}
	/* Hung up: a slave was opened and closed again, which the kernel
	 * notes on the master. */
	if (!ret && m->slave_closed) {
		temp = open_slave(fds[at], O_RDWR);
		if (temp < 0) {
			ret = temp;
			restore_err(r, members[at], "cannot open the slave of pty %u to hang it up: "
				    "%s", m->index, strerror(-ret));
		}
	}
	/* Every open of the slave carries the same bytes: queued once. */
	for (size_t i = 0; i < n && !ret && !input_done; i++) {
		if (i == at || !members[i]->e->pty->data_size)
			continue;
		ret = push_saved(r, members[i], fds[i], fds[i]);
		input_done = true;
	}
	if (!ret)
		ret = push_saved(r, members[at], fds[at], -1);
	for (size_t i = 0; i < n && !ret; i++)
		if (members[i]->e->pty->exclusive && ioctl(fds[i], TIOCEXCL))
			ret = -errno;
	if (temp >= 0)
		close(temp);
	if (!ret && m->locked && ioctl(fds[at], TIOCSPTLCK, &one))
		ret = -errno;
	/* Last: turning it on clears any status the steps above made. */
	if (!ret && m->packet_mode && ioctl(fds[at], TIOCPKT, &one))
		ret = -errno;
	if (ret)
		restore_err(r, members[at], "cannot give pty %u its state: %s", m->index,
			    strerror(-ret));
	return ret;
}

/* A pair whose master was outside the dump (orphan_pts_master): made at
 * the saved index with the first slave's copy of its state, its slaves
 * opened, and its master handed to the caller (runc passes it on to the
 * console socket) and closed here. */
static int create_orphan(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
			 int *fds)
{
	const struct file_obj *f = members[0];
	const PtyFile *pf = f->e->pty;
	int master, zero = 0, ret = 0;
	bool input_done = false;

	if (!r->env || !r->env->pts_master) {
		restore_err(r, f, "pty %u was a terminal whose master was outside the dump (a "
			    "container runtime's, saved with orphan_pts_master): only a restore "
			    "through cryo swrk with orphan_pts_master and notify_scripts, which "
			    "hands the new master to the caller, can make it again", pf->index);
		return -EOPNOTSUPP;
	}
	master = open_at_index(r, f, pf->index);
	if (master < 0)
		return master;
	if (ioctl(master, TIOCSPTLCK, &zero))
		ret = -errno;
	if (!ret)
		ret = pty_termios_set(master, pf->termios);
	for (size_t i = 0; i < n && !ret; i++) {
		fds[i] = open_slave(master, members[i]->e->flags);
		ret = fds[i] < 0 ? fds[i] : 0;
	}
	/* Every open of the slave carries the same bytes: queued once. */
	for (size_t i = 0; i < n && !ret && !input_done; i++) {
		if (!members[i]->e->pty->data_size)
			continue;
		ret = push_saved(r, members[i], fds[i], fds[i]);
		input_done = true;
	}
	for (size_t i = 0; i < n && !ret; i++)
		if (members[i]->e->pty->exclusive && ioctl(fds[i], TIOCEXCL))
			ret = -errno;
	if (ret)
		restore_err(r, f, "cannot make pty %u again: %s", pf->index, strerror(-ret));
	else
		ret = r->env->pts_master(master, r->env->pts_master_arg);
	close(master);
	return ret;
}

int pty_create_group(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		     int *fds)
{
	size_t at = 0;
	const struct file_obj *mf = master_of(members, n, &at);
	int zero = 0, ret;

	if (!mf && n && members[0]->e->pty->orphan) {
		ret = create_orphan(r, members, n, fds);
		for (size_t i = 0; ret && i < n; i++)
			if (fds[i] >= 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		return ret;
	}
	if (!mf) {
		restore_err(r, members[0], "its pty has no master");
		return -EBADMSG;
	}
	fds[at] = open_at_index(r, mf, mf->e->pty->index);
	if (fds[at] < 0)
		return fds[at];
	/* A new pty is locked: its slave opens only once unlocked. */
	ret = ioctl(fds[at], TIOCSPTLCK, &zero) ? -errno : 0;
	if (ret)
		restore_err(r, mf, "cannot unlock pty %u: %s", mf->e->pty->index, strerror(-ret));
	else
		ret = make_state(r, members, n, at, fds);
	if (ret)
		for (size_t i = 0; i < n; i++)
			if (fds[i] >= 0) {
				close(fds[i]);
				fds[i] = -1;
			}
	return ret;
}

/* ---- the session ----------------------------------------------------------------- */

int pty_take_terminal(const struct files_image *img, const struct file_obj *f, int fd, pid_t sid)
{
	const PtyFile *m = f->e->pty;
	int slave = -1, zero = 0, one = 1, ret = 0;

	if (!m->has_session || m->session != sid)
		return 0;
	/* An orphan slave: the caller holds the master. */
	if (m->orphan) {
		if (ioctl(fd, TIOCSCTTY, 0))
			return pr_errno_ret("restore: pid %d: cannot take pty %u as the controlling "
					    "terminal of its session", img->pid, m->index);
		return 0;
	}
	/* Through a new open of the slave, as a prepared one may be none of
	 * the session leader's; a locked pty is unlocked for the moment. */
	if (m->locked && ioctl(fd, TIOCSPTLCK, &zero))
		ret = -errno;
	if (!ret) {
		slave = open_slave(fd, O_RDWR);
		ret = slave < 0 ? slave : 0;
	}
	if (!ret && ioctl(slave, TIOCSCTTY, 0))
		ret = -errno;
	if (slave >= 0)
		close(slave);
	if (m->locked && ioctl(fd, TIOCSPTLCK, &one) && !ret)
		ret = -errno;
	if (ret)
		pr_err("restore: pid %d: cannot take pty %u as the controlling terminal of its "
		       "session: %s", img->pid, m->index, strerror(-ret));
	return ret;
}

int pty_set_foreground(const struct files_image *img, const struct file_obj *f, int fd, pid_t sid)
{
	const PtyFile *m = f->e->pty;
	pid_t pgrp = m->foreground;
	sigset_t ttou, old;
	int ret = 0;

	if (!m->has_session || m->session != sid || !pgrp)
		return 0;
	/* Through the master: the caller's controlling terminal is the slave.
	 * Through an orphan slave, the leader's own terminal, with SIGTTOU
	 * blocked: the leader may not be in the foreground group. */
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	if (ioctl(fd, TIOCSPGRP, &pgrp))
		ret = pr_errno_ret("restore: pid %d: cannot make group %d the foreground of pty %u",
				   img->pid, pgrp, m->index);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}
