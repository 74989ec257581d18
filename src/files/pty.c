/* The "pty" kind: a Unix98 pty pair whose master is in the dump. The master
 * and every open of its slave are one group (kind.h), made again at restore
 * with the same /dev/pts index, termios, window size, packet mode, lock,
 * exclusive mode, unread bytes both ways and hang-up, and the session it
 * was the controlling terminal of. The queued bytes are pty_state.c's; the
 * shell's own terminal (-j) and terminals reopened by path are tty.c's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/procfs.h"
#include "files/kind.h"
#include "files/pty.h"
#include "ns/ns.h"

/* The kernel's pty.max cannot exceed this many indices. */
#define PTY_INDEX_MAX (1u << 20)

static bool is_master(dev_t rdev)
{
	return major(rdev) == PTY_MASTER_MAJOR && minor(rdev) == PTY_MASTER_MINOR;
}

static bool is_slave(dev_t rdev)
{
	return major(rdev) >= PTY_SLAVE_MAJOR_FIRST && major(rdev) <= PTY_SLAVE_MAJOR_LAST;
}

static bool pty_recognise(const struct fd_probe *p)
{
	if (!S_ISCHR(p->st.st_mode) || (p->flags & O_PATH))
		return false;
	/* With -j the task's controlling terminal is the shell's (tty.c). */
	if (probe_is_shell_terminal(p))
		return false;
	return is_master(p->st.st_rdev) || is_slave(p->st.st_rdev);
}

/* ---- dump ---------------------------------------------------------------------- */

/* Takes the bytes queued for @fd to read and queues them again at once (so
 * the task loses none whatever becomes of the dump), saving them as the
 * contents of d->fe. @termios_fd as for pty_queue_push(). */
static int save_queue(const struct file_dump *d, PtyFile *pf, int fd, int termios_fd)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int ret;

	ret = pty_queue_count(fd, &len);
	if (ret || !len)
		return ret;
	if (len > PTY_QUEUE_MAX) {
		pr_fd_err(d->p, "%zu bytes wait to be read: a queue this full may hold more in the "
			  "tty layer, which cannot be read out and put back in order", len);
		return -EOPNOTSUPP;
	}
	ret = pty_queue_drain(fd, termios_fd >= 0, len, &buf, &len);
	if (ret == -EOPNOTSUPP) {
		pr_fd_err(d->p, "%zu bytes wait to be read in canonical mode with EXTPROC, whose "
			  "lines cryo cannot read out whole", len);
		return ret;
	}
	if (ret) {
		pr_fd_err(d->p, "cannot read the %zu bytes queued on it", len);
		return ret;
	}
	ret = pty_queue_push(fd, termios_fd, buf, len);
	if (ret) {
		/* The task has lost them: say which. */
		pr_fd_err(d->p, "cannot queue its %zu unread bytes again (%s): they were \"%.*s\"",
			  len, strerror(-ret), (int)(len > 64 ? 64 : len), buf);
		return ret;
	}
	pf->has_data_size = true;
	pf->data_size = (uint32_t)len;
	return contents_dump_bytes(d, buf, len);
}

/* The session whose controlling terminal the slave is, and its foreground
 * group; read through the master, which any process may ask. */
static int dump_session(const struct file_dump *d, PtyFile *pf, int fd)
{
	pid_t sid = 0, pgrp = 0;

	if (ioctl(fd, TIOCGSID, &sid)) {
		if (errno != ENOTTY)
			return pr_errno_ret("dump: pid %d %s: cannot read the session of its pty",
					    d->p->pid, d->p->name);
		return 0;
	}
	if (!file_dump_has_pid(d, sid)) {
		pr_fd_err(d->p, "its pty is the controlling terminal of session %d, which is not "
			  "being dumped", sid);
		return -EOPNOTSUPP;
	}
	if (ioctl(fd, TIOCGPGRP, &pgrp))
		return pr_errno_ret("dump: pid %d %s: cannot read the foreground group of its pty",
				    d->p->pid, d->p->name);
	pf->has_session = pf->has_foreground = true;
	pf->session = sid;
	pf->foreground = pgrp;
	return 0;
}

/* The devpts instance @devpts (the slave's st_dev) the pair belongs to, by
 * the mount that shows it. */
static int dump_instance(const struct fd_probe *p, PtyFile *pf, dev_t devpts)
{
	int ret = ns_devpts_mountpoint(devpts, &pf->devpts);

	if (ret == -ENOENT)
		pr_fd_err(p, "pty %u belongs to a devpts instance (%u:%u) that no mount of its "
			  "mount namespace shows: cryo could not make it again there", pf->index,
			  major(devpts), minor(devpts));
	else if (ret)
		pr_fd_err(p, "cannot read the mounts for the devpts instance of pty %u: %s",
			  pf->index, strerror(-ret));
	if (!ret && !strcmp(pf->devpts, "/dev/pts")) {
		free(pf->devpts);
		pf->devpts = NULL;
	}
	return ret == -ENOENT ? -EOPNOTSUPP : ret;
}

/* The slave's inode is in the pair's instance (the master's may be
 * /dev/ptmx's). An O_PATH open of the slave opens no tty, so the master
 * sees no hang-up. */
static int dump_master_instance(const struct fd_probe *p, PtyFile *pf)
{
	_cleanup_close_ int peer = ioctl(p->dup, TIOCGPTPEER, O_PATH | O_CLOEXEC);
	struct stat st;

	if (peer < 0 || fstat(peer, &st))
		return pr_errno_ret("dump: pid %d %s (%s): cannot reach the slave of pty %u",
				    p->pid, p->name, p->link, pf->index);
	return dump_instance(p, pf, st.st_dev);
}

static int dump_termios(const struct fd_probe *p, PtyFile *pf)
{
	int ret;

	pf->termios = malloc(sizeof(*pf->termios));
	if (!pf->termios)
		return -ENOMEM;
	pty_termios__init(pf->termios);
	ret = pty_termios_get(p->dup, pf->termios);
	if (ret)
		pr_fd_err(p, "cannot read the termios of pty %u: %s", pf->index, strerror(-ret));
	return ret;
}

static int dump_master(const struct file_dump *d, PtyFile *pf)
{
	const struct fd_probe *p = d->p;
	struct pollfd pfd = { .fd = p->dup, .events = POLLIN | POLLPRI };
	int packet = 0, locked = 0, ret, off = 0, on = 1;
	unsigned int index;

	if (ioctl(p->dup, TIOCGPTN, &index) || ioctl(p->dup, TIOCGPKT, &packet) ||
	    ioctl(p->dup, TIOCGPTLCK, &locked))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its pty's state", p->pid,
				    p->name, p->link);
	pf->index = index;
	pf->has_packet_mode = pf->has_locked = pf->has_slave_closed = true;
	pf->packet_mode = packet;
	pf->locked = locked;
	ret = dump_master_instance(p, pf);
	if (!ret)
		ret = dump_termios(p, pf);
	if (ret)
		return ret;
	ret = dump_session(d, pf, p->dup);
	if (ret)
		return ret;
	if (poll(&pfd, 1, 0) < 0)
		return pr_errno_ret("dump: pid %d %s: cannot poll its pty", p->pid, p->name);
	/* Every open of the slave closed: the master reads EIO (hung up). */
	pf->slave_closed = !!(pfd.revents & POLLHUP);
	if (packet && (pfd.revents & POLLPRI)) {
		pr_fd_err(p, "a packet-mode status of pty %u waits to be read, which cryo cannot "
			  "make again", index);
		return -EOPNOTSUPP;
	}
	/* In packet mode every read starts with a status byte: off while
	 * the queue is read. Turning it on again clears the status, which
	 * is known to be empty. */
	if (packet && ioctl(p->dup, TIOCPKT, &off))
		return pr_errno_ret("dump: pid %d %s: cannot leave packet mode", p->pid, p->name);
	ret = save_queue(d, pf, p->dup, -1);
	if (packet && ioctl(p->dup, TIOCPKT, &on) && !ret)
		ret = pr_errno_ret("dump: pid %d %s: cannot set packet mode again", p->pid,
				   p->name);
	return ret;
}

/* With orphan_pts_master, a slave carries the pair's state in case its
 * master is outside the dump (pty_group_incomplete() drops it otherwise):
 * the session is that of the holder whose controlling terminal it is,
 * read from /proc (only the session's own processes may ask the slave). */
static int dump_orphan_state(const struct fd_probe *p, PtyFile *pf)
{
	struct proc_stat st;
	int ret = dump_instance(p, pf, p->st.st_dev);

	if (!ret)
		ret = dump_termios(p, pf);
	if (ret || p->ctty != p->st.st_rdev)
		return ret;
	ret = proc_stat_read(p->pid, &st);
	if (ret) {
		pr_err("dump: pid %d: cannot read /proc/%d/stat: %s", p->pid, p->pid,
		       strerror(-ret));
		return ret;
	}
	pf->has_session = pf->has_foreground = true;
	pf->session = st.sid;
	pf->foreground = st.tpgid > 0 ? st.tpgid : 0;
	return 0;
}

/* What dump_orphan_state() saved, once the master is known to be in the
 * dump after all. */
static void drop_orphan_state(PtyFile *pf)
{
	if (!pf->orphan)
		return;
	pf->orphan = pf->has_session = pf->has_foreground = false;
	pf->session = pf->foreground = 0;
	free(pf->devpts);
	pf->devpts = NULL;
	if (pf->termios)
		pty_termios__free_unpacked(pf->termios, NULL);
	pf->termios = NULL;
}

static int dump_slave(const struct file_dump *d, PtyFile *pf)
{
	const struct fd_probe *p = d->p;
	_cleanup_close_ int reader = -1;
	char path[64];
	size_t queued;
	int ret;

	/* devpts gives slave N the device 136:N (minors are 20 bits); the
	 * majors after 136 come from the days of 8-bit minors. */
	pf->index = (major(p->st.st_rdev) - PTY_SLAVE_MAJOR_FIRST) * 256 + minor(p->st.st_rdev);
	if (file_dump_orphan_pts(d)) {
		pf->has_orphan = pf->orphan = true;
		ret = dump_orphan_state(p, pf);
		if (ret)
			return ret;
	}
	ret = pty_queue_count(p->dup, &queued);
	if (ret || !queued)
		return ret;
	/* A new open of the slave, nonblocking, reads them: the task's own
	 * may block and its flags are not cryo's to change. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->dup);
	reader = open(path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (reader < 0) {
		pr_fd_err(p, "%zu bytes wait to be read, and the slave cannot be opened again to "
			  "read them: %s", queued, strerror(errno));
		return -errno;
	}
	return save_queue(d, pf, reader, reader);
}

static int pty_dump(const struct file_dump *d)
{
	bool master = is_master(d->p->st.st_rdev);
	PtyFile *pf = malloc(sizeof(*pf));
	int excl = 0, ret;

	if (!pf)
		return -ENOMEM;
	pty_file__init(pf);
	d->fe->pty = pf;
	pf->master = master;
	if (ioctl(d->p->dup, TIOCGEXCL, &excl))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its exclusive mode",
				    d->p->pid, d->p->name, d->p->link);
	pf->exclusive = excl;
	ret = master ? dump_master(d, pf) : dump_slave(d, pf);
	if (!ret)
		ret = file_dump_join_group(d, (uint64_t)pf->index + 1);
	return ret;
}

/* A group without its master is kept with orphan_pts_master (its slaves
 * carry the pair's state); with the master, the slaves' copy goes. */
static const char *pty_group_incomplete(FileEntry *const *members, size_t n, char *buf,
					size_t size)
{
	size_t masters = 0;

	(void)buf;
	(void)size;
	for (size_t i = 0; i < n; i++)
		masters += members[i]->pty->master;
	if (masters) {
		for (size_t i = 0; i < n; i++)
			drop_orphan_state(members[i]->pty);
		return NULL;
	}
	if (n && members[0]->pty->orphan)
		return NULL;
	return "its pty's master (/dev/ptmx) is not held by any process of the dump: a "
	       "terminal whose master is outside is kept only with criu's orphan_pts_master, "
	       "which a container runtime sets for its terminal (runc's \"terminal\": true) "
	       "and which hands the restored pair's master back to it; the shell's terminal "
	       "is restored with -j/--shell-job";
}

static bool pty_restores_ctty(const FileEntry *e, dev_t ctty, pid_t sid)
{
	const PtyFile *pf = e->pty;

	return (pf->master || pf->orphan) && pf->has_session && pf->session == sid &&
	       ctty == makedev(PTY_SLAVE_MAJOR_FIRST, pf->index);
}

/* ---- load ---------------------------------------------------------------------- */

static int pty_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const PtyFile *pf = f->e->pty;
	/* The pair's state: the master's, or an orphan slave's. */
	bool carrier = pf->master || pf->orphan;
	size_t masters = 0, slaves = 0, orphans = 0;

	if (pf->index >= PTY_INDEX_MAX) {
		load_err(img, f, "pty index %u is out of range", pf->index);
		return -EBADMSG;
	}
	if (pf->master && pf->orphan) {
		load_err(img, f, "a master marked as an orphan slave");
		return -EBADMSG;
	}
	if (carrier != (pf->termios != NULL) || (carrier && !pty_termios_valid(pf->termios))) {
		load_err(img, f, "the pty's termios are %s", carrier ? "invalid" : "not the "
			 "master's to carry");
		return -EBADMSG;
	}
	if (!pf->master && ((pf->has_session && !pf->orphan) || pf->has_packet_mode ||
			    pf->has_locked || pf->has_slave_closed)) {
		load_err(img, f, "a slave carries the pair's state");
		return -EBADMSG;
	}
	if (pf->devpts && (!carrier || pf->devpts[0] != '/' || strstr(pf->devpts, ".."))) {
		load_err(img, f, "devpts instance '%s': an absolute path without .., of a master",
			 pf->devpts);
		return -EBADMSG;
	}
	if (pf->has_session && (pf->session <= 0 || pf->foreground < 0)) {
		load_err(img, f, "session %d, foreground group %d", pf->session, pf->foreground);
		return -EBADMSG;
	}
	/* Canonical lines are saved escaped: up to twice as long. */
	if (pf->data_size > 2 * PTY_QUEUE_MAX + 64) {
		load_err(img, f, "%u queued bytes: more than a tty holds", pf->data_size);
		return -EBADMSG;
	}
	/* The group: one master, its slaves, one index. */
	for (size_t i = 0; i < img->nr_files; i++) {
		const struct file_obj *m = &img->files[i];

		if (m->group != f->group)
			continue;
		if (m->kind != f->kind || m->e->pty->index != pf->index) {
			load_err(img, f, "its group holds file %u, not an end of pty %u", m->e->id,
				 pf->index);
			return -EBADMSG;
		}
		masters += m->e->pty->master;
		slaves += !m->e->pty->master;
		orphans += m->e->pty->orphan;
	}
	/* An orphan group is its slaves alone, each of them marked. */
	if (orphans && (masters || orphans != slaves)) {
		load_err(img, f, "pty %u has %zu orphan slaves among %zu slaves and %zu masters",
			 pf->index, orphans, slaves, masters);
		return -EBADMSG;
	}
	if (masters != 1 && !orphans) {
		load_err(img, f, "its group has %zu masters of pty %u", masters, pf->index);
		return -EBADMSG;
	}
	if (pf->master && pf->slave_closed && slaves) {
		load_err(img, f, "pty %u is hung up, yet %zu opens of its slave are saved",
			 pf->index, slaves);
		return -EBADMSG;
	}
	return f->nr_fds && pf->data_size ? contents_load(dir, img, f, pf->data_size, true) : 0;
}

/* Groups are made before the tree when a session had the slave as its
 * controlling terminal: its leader takes it before creating the children
 * that inherit it. */
static bool pty_made_before_tree(const struct files_image *img, const struct file_obj *f)
{
	for (size_t i = 0; i < img->nr_files; i++) {
		const struct file_obj *m = &img->files[i];

		if (m->group == f->group && m->e->pty->has_session)
			return true;
		/* Its master goes to the caller from cryo's process. */
		if (m->group == f->group && m->e->pty->orphan)
			return true;
	}
	return false;
}

const struct file_kind pty_kind = {
	.name = "pty",
	.type = FILE_ENTRY__KIND__PTY,
	.recognise = pty_recognise,
	.dump = pty_dump,
	.group_incomplete = pty_group_incomplete,
	.restores_ctty = pty_restores_ctty,
	.check = pty_check,
	.made_before_tree = pty_made_before_tree,
	.create_group = pty_create_group,
	.take_terminal = pty_take_terminal,
	.set_foreground = pty_set_foreground,
};
