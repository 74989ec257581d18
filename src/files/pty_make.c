/* Restore of the pty kind (pty.c): makes a pair again at its saved /dev/pts
 * index in its devpts instance (the tree's own, where the dump saw it, or
 * the one restore names: restore_devpts()), with its
 * state and queued bytes, and gives a session leader the slave as its
 * controlling terminal and the terminal its foreground group. What is
 * saved, and checked at load, is pty.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/kind.h"
#include "files/pty.h"

/* How many masters one restore may open to reach an index: the kernel's
 * default kernel.pty.max. */
#define PTY_OPEN_TRIES 4096

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

/*
 * The kernel gives a new master the lowest free index and has no call to
 * ask for one: masters are opened, and held, until the saved index comes
 * up; the others are closed again. An index taken now fails the restore,
 * naming it, before anything is made.
 */
static int open_at_index(struct restore_ctx *r, const struct file_obj *f, unsigned int index)
{
	const char *devpts = instance(r, f);
	char slave[PATH_MAX], ptmx[PATH_MAX];
	int *held = calloc(PTY_OPEN_TRIES, sizeof(*held));
	size_t nr = 0;
	int fd = -1, ret = 0, waits = 0;
	struct stat st;

	snprintf(slave, sizeof(slave), "%s/%u", devpts, index);
	/* /dev/ptmx for the usual instance, so that the master's link reads
	 * as it did. */
	snprintf(ptmx, sizeof(ptmx), "%s", strcmp(devpts, "/dev/pts") ? devpts : "/dev");
	strncat(ptmx, "/ptmx", sizeof(ptmx) - strlen(ptmx) - 1);
	if (!held) {
		restore_err(r, f, "out of memory");
		return -ENOMEM;
	}
	if (!lstat(slave, &st)) {
		restore_err(r, f, "pty index %u is taken: %s exists", index, slave);
		ret = -EEXIST;
	}
	while (!ret) {
		unsigned int got;
		int m = open(ptmx, (f->e->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);

		if (m < 0) {
			ret = -errno;
			restore_err(r, f, "cannot open %s for pty %u: %s", ptmx, index,
				    strerror(errno));
			break;
		}
		if (ioctl(m, TIOCGPTN, &got)) {
			ret = -errno;
			close(m);
			restore_err(r, f, "cannot read the index of a new pty: %s", strerror(-ret));
			break;
		}
		if (got == index) {
			fd = m;
			break;
		}
		/* A pty just closed gives its index back a moment later. */
		if (got > index && waits++ < 100) {
			close(m);
			while (nr)
				close(held[--nr]);
			usleep(10 * 1000);
			continue;
		}
		if (got > index || nr == PTY_OPEN_TRIES) {
			close(m);
			restore_err(r, f, "pty index %u cannot be had: the kernel gave %u (taken "
				    "meanwhile, or beyond kernel.pty.max)", index, got);
			ret = -EEXIST;
			break;
		}
		held[nr++] = m;
	}
	while (nr)
		close(held[--nr]);
	free(held);
	return ret ? ret : fd;
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
	int ret = 0;

	if (f->e->pty->data_size && !holder) {
		restore_err(r, f, "its %u queued bytes were not loaded", f->e->pty->data_size);
		return -EIO;
	}
	for (size_t i = 0; holder && i < holder->nr_chunks && !ret; i++)
		ret = pty_queue_push(fd, termios_fd, (const char *)holder->chunks[i]->data.data,
				     holder->chunks[i]->data.len);
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

int pty_create_group(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		     int *fds)
{
	size_t at = 0;
	const struct file_obj *mf = master_of(members, n, &at);
	int zero = 0, ret;

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

	if (!m->master || !m->has_session || m->session != sid)
		return 0;
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

	if (!m->master || !m->has_session || m->session != sid || !pgrp)
		return 0;
	/* Through the master: the caller's controlling terminal is the slave. */
	if (ioctl(fd, TIOCSPGRP, &pgrp))
		return pr_errno_ret("restore: pid %d: cannot make group %d the foreground of pty %u",
				    img->pid, pgrp, m->index);
	return 0;
}
