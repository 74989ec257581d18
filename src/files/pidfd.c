/* The "pidfd" kind: a descriptor of a process, or of one thread with
 * PIDFD_THREAD. Dump saves the task it refers to, which must be a task of
 * the dump, or that it has exited and been reaped, and links pidfds of one
 * struct pid (one inode on pidfs) to each other; restore opens pidfds of
 * the restored task with that pid, or makes one reaped process per inode
 * and opens them all of it. Which processes make up the dump is the dump's
 * (file_dump_has_pid()); a thread's pidfd is finished by cryo once the
 * thread exists (restore/pidfds.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/textfile.h"
#include "files/files.h"
#include "files/kind.h"

/* Status flags a pidfd can have: pidfd_open()'s, and what F_SETFL adds. */
#define PIDFD_FLAGS_KNOWN (O_RDWR | O_NONBLOCK | PIDFD_THREAD | O_APPEND | O_NOATIME)
/* PidfdFile.pid of a process that had exited and been reaped. */
#define PIDFD_REAPED (-1)

static bool pidfd_recognise(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[pidfd]");
}

/* The pid in fdinfo @text ("Pid:", checked against "NSpid:"): -1 when the
 * process has been reaped. Refuses, logged against @p, a process outside
 * cryo's pid namespace (Pid: 0) or in one below it. */
static int parse_target(const struct fd_probe *p, const char *text, int *out)
{
	const char *value = fdinfo_field(text, "Pid"), *at;
	int levels = 0;
	char *end;
	long pid;

	if (!value) {
		pr_fd_err(p, "fdinfo has no 'Pid' field");
		return -ENOENT;
	}
	errno = 0;
	pid = strtol(value, &end, 10);
	if (errno || end == value || (*end != '\n' && *end) || pid < PIDFD_REAPED ||
	    pid > KABI_PID_MAX_LIMIT) {
		pr_fd_err(p, "fdinfo field 'Pid' is not a pid: %.32s", value);
		return -EINVAL;
	}
	if (pid == 0) {
		pr_fd_err(p, "refers to a process outside cryo's pid namespace");
		return -EOPNOTSUPP;
	}
	/* The pid in each namespace from cryo's down; absent without
	 * CONFIG_PID_NS, where there is only one. */
	at = fdinfo_field(text, "NSpid");
	while (at && *at && *at != '\n') {
		long nr;

		errno = 0;
		nr = strtol(at, &end, 10);
		if (errno || end == at || (levels == 0 && nr != pid)) {
			pr_fd_err(p, "fdinfo field 'NSpid' does not match 'Pid: %ld'", pid);
			return -EINVAL;
		}
		levels++;
		for (at = end; *at == '\t' || *at == ' '; at++)
			;
	}
	if (levels > 1) {
		pr_fd_err(p, "refers to pid %ld, which is in a pid namespace below cryo's: "
			  "not supported", pid);
		return -EOPNOTSUPP;
	}
	*out = pid;
	return 0;
}

/* A pidfd whose task is outside the dump cannot be restored: that task
 * would not be there, or be another with its pid. Refuses it, unless it
 * has been reaped since fdinfo was read (*@pid becomes -1). A thread of a
 * process of the dump, other than its main thread, sets *@thread_of to
 * that process. */
static int check_target(const struct file_dump *d, int *pid, int *thread_of)
{
	const struct fd_probe *p = d->p;
	_cleanup_free_ char *status = NULL, *now = NULL;
	const char *tgid_text, *state;
	char path[64];
	long tgid;
	int ret;

	if (*pid == PIDFD_REAPED || file_dump_has_pid(d, *pid))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", *pid);
	ret = read_text_file(path, &status);
	if (ret == -ENOENT || ret == -ESRCH) {
		/* Gone meanwhile: the pidfd itself tells whether it is reaped. */
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", p->dup);
		ret = read_text_file(path, &now);
		if (ret) {
			pr_fd_err(p, "cannot read %s: %s", path, strerror(-ret));
			return ret;
		}
		ret = parse_target(p, now, pid);
		if (ret || *pid == PIDFD_REAPED)
			return ret;
		pr_fd_err(p, "refers to pid %d, which is not being dumped (it is exiting)", *pid);
		return -EOPNOTSUPP;
	}
	if (ret) {
		pr_fd_err(p, "refers to pid %d, which is not being dumped (%s: %s)", *pid, path,
			  strerror(-ret));
		return -EOPNOTSUPP;
	}
	tgid_text = fdinfo_field(status, "Tgid");
	state = fdinfo_field(status, "State");
	tgid = tgid_text ? strtol(tgid_text, NULL, 10) : 0;
	/* Every thread of a dumped process is stopped and restored with its
	 * tid; only PIDFD_THREAD opens a thread that is not a leader. */
	if (tgid > 0 && tgid != *pid && file_dump_has_pid(d, tgid)) {
		if (!(p->flags & PIDFD_THREAD)) {
			pr_fd_err(p, "refers to thread %d of pid %ld without PIDFD_THREAD", *pid,
				  tgid);
			return -EINVAL;
		}
		*thread_of = tgid;
		return 0;
	}
	if (tgid > 0 && tgid != *pid)
		pr_fd_err(p, "refers to pid %d, which is not being dumped (a thread of pid %ld)",
			  *pid, tgid);
	else if (state && *state == 'Z')
		pr_fd_err(p, "refers to pid %d, which is not being dumped (a zombie)", *pid);
	else
		pr_fd_err(p, "refers to pid %d, which is not being dumped", *pid);
	return -EOPNOTSUPP;
}

static int pidfd_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	int pid, thread_of = 0, ret;
	PidfdFile *pf;

	if ((p->flags & O_ACCMODE) != O_RDWR || (p->flags & ~PIDFD_FLAGS_KNOWN)) {
		pr_fd_err(p, "has flags %#o, which pidfd_open() and F_SETFL do not give", p->flags);
		return -EOPNOTSUPP;
	}
	ret = parse_target(p, p->fdinfo, &pid);
	if (!ret)
		ret = check_target(d, &pid, &thread_of);
	if (ret)
		return ret;
	pf = malloc(sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	pidfd_file__init(pf);
	pf->pid = pid;
	pf->has_thread_of = thread_of > 0;
	pf->thread_of = thread_of;
	d->fe->pidfd = pf;
	/* pidfs gives each struct pid one inode, whoever opened it: the
	 * pidfds of one inode are one task, and become one again. */
	if (d->nr_same_inode) {
		const FileEntry *first = d->same_inode[0];

		if (first->pidfd->pid != pid) {
			pr_fd_err(p, "refers to pid %d, but file %u of the same struct pid to pid "
				  "%d: it changed while being dumped", pid, first->id,
				  first->pidfd->pid);
			return -ESTALE;
		}
		d->fe->has_inode_of = true;
		d->fe->inode_of = first->id;
	}
	return 0;
}

/* A pidfd of a reaped process is made by whoever opens it, cryo too, before
 * the tree; one of a process, by cryo too once the tree exists; one of a
 * thread other than a main thread only by its holder, once threads exist. */
static enum file_opened_by_cryo pidfd_opened_by_cryo(const FileEntry *e)
{
	if (e->pidfd->pid == PIDFD_REAPED)
		return FILE_OPENED_BEFORE_TREE;
	return e->pidfd->has_thread_of ? FILE_OPENED_IN_TASK_ONLY : FILE_OPENED_AFTER_TREE;
}

static int pidfd_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const FileEntry *e = f->e;
	int pid = e->pidfd->pid;

	(void)dir;
	if ((e->flags & O_ACCMODE) != O_RDWR || (e->flags & ~PIDFD_FLAGS_KNOWN)) {
		load_err(img, f, "flags %#o are not a pidfd's (O_RDWR, with O_NONBLOCK, "
			 "PIDFD_THREAD, O_APPEND or O_NOATIME only)", e->flags);
		return -EBADMSG;
	}
	if (e->pos || e->n_contents || e->contents_in_file) {
		load_err(img, f, "a pidfd has no position or contents");
		return -EBADMSG;
	}
	if (f->inode != f && (f->inode->e->pidfd->pid != pid ||
			      f->inode->e->pidfd->thread_of != e->pidfd->thread_of)) {
		load_err(img, f, "refers to pid %d, but shares the inode of file %u, which refers "
			 "to pid %d", pid, f->inode->e->id, f->inode->e->pidfd->pid);
		return -EBADMSG;
	}
	if (e->pidfd->has_thread_of) {
		int tgid = e->pidfd->thread_of;

		if (tgid < 1 || tgid > KABI_PID_MAX_LIMIT || pid < 1 || pid > KABI_PID_MAX_LIMIT ||
		    tgid == pid || !(e->flags & PIDFD_THREAD)) {
			load_err(img, f, "refers to pid %d as a thread of pid %d: not a thread "
				 "other than a main thread, opened with PIDFD_THREAD", pid, tgid);
			return -EBADMSG;
		}
	}
	if (pid != PIDFD_REAPED && (pid < 1 || pid > KABI_PID_MAX_LIMIT)) {
		load_err(img, f, "pid %d is out of range (1 to %d, or -1 for a reaped process)",
			 pid, KABI_PID_MAX_LIMIT);
		return -EBADMSG;
	}
	/* Whether the task is one the restore creates is the tree's to say:
	 * files_pidfd_targets(). */
	return 0;
}

/*
 * Pidfds of a process that has exited and been reaped: there is no such
 * process to open, so the opener makes one per inode. It creates a child
 * that exits at once and keeps it a zombie, unreaped, while it opens every
 * pidfd of the inode by the child's pid (pidfd_open() works on a zombie,
 * PIDFD_THREAD too); the handle of the inode is a pidfd of the zombie, and
 * letting go of it reaps the child (pidfd_release_inode()). The pidfds then
 * show "Pid: -1", poll readable and hung up, and signalling through them
 * fails with ESRCH, as the saved ones; and they share one inode, as the
 * saved ones did.
 *
 * - The child's exit signal is 0: the opener gets no SIGCHLD, which would
 *   stay pending in the restored program, and cannot reap it automatically
 *   whatever its SIGCHLD disposition. __WALL is then needed to wait for it.
 * - It is a plain clone(): no atfork handlers, nothing shared but what fork
 *   shares. All signals are blocked across it, so the child, which has the
 *   opener's handlers, runs none of them before it exits.
 * - Its pid is the kernel's next free one, and it cannot be a pid the
 *   restore needs while it holds it: cryo makes the children of the pidfds
 *   processes share and reaps them before it creates any process; a process
 *   makes its own after every process of the restore exists, and reaps them
 *   before it has restored its fds, before any thread is created. The
 *   pidfds hold the kernel's struct pid, not the number.
 */
static int pidfd_make_inode(struct restore_ctx *r, const struct file_obj *f)
{
	sigset_t all, old;
	pid_t child;
	int fd, err = 0;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	child = syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);
	if (child == 0)
		syscall(SYS_exit, 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (child < 0) {
		err = errno;
		restore_err(r, f, "cannot create a child to make a pidfd of a reaped process: %s",
			    strerror(err));
		return -err;
	}
	fd = pidfd_open(child, 0);
	if (fd < 0) {
		err = errno;
		restore_err(r, f, "cannot open a pidfd of pid %d, made for a reaped process: %s",
			    child, strerror(err));
		while (waitid(P_PID, child, NULL, WEXITED | __WALL) < 0 && errno == EINTR)
			;
		return -err;
	}
	/* From here the handle reaps it, also when the restore fails. */
	err = -restore_add_inode(r, f, fd, -1);
	if (err)
		while (waitid(P_PID, child, NULL, WEXITED | __WALL) < 0 && errno == EINTR)
			;
	return -err;
}

/* The child made for @h's reaped process: gone once every pidfd of it is
 * open. The opener gets the pidfds and no child. */
static void pidfd_release_inode(const struct restore_ctx *r, const struct inode_handle *h)
{
	siginfo_t si;

	(void)r;
	while (waitid(P_PIDFD, h->fd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
}

/* The pid of the zombie child behind @h, from its pidfd's fdinfo. */
static int reaped_child_pid(const struct restore_ctx *r, const struct file_obj *f,
			    const struct inode_handle *h, pid_t *out)
{
	_cleanup_free_ char *text = NULL;
	const char *value;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", h->fd);
	ret = read_text_file(path, &text);
	if (ret) {
		restore_err(r, f, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	value = fdinfo_field(text, "Pid");
	*out = value ? (pid_t)strtol(value, NULL, 10) : 0;
	if (*out <= 0) {
		restore_err(r, f, "the child made for a reaped process has no pid (%s)", path);
		return -ESRCH;
	}
	return 0;
}

static int open_reaped(struct restore_ctx *r, const struct file_obj *f, unsigned int flags)
{
	const struct inode_handle *h = restore_inode_get(r, f);
	pid_t child;
	int fd, ret;

	if (!h)
		return -EIO;
	ret = reaped_child_pid(r, f, h, &child);
	if (ret)
		return ret;
	fd = pidfd_open(child, flags);
	if (fd < 0) {
		restore_err(r, f, "cannot open a pidfd of pid %d, made for a reaped process (flags "
			    "%#o): %s", child, flags, strerror(errno));
		return -errno;
	}
	return fd;
}

/* A thread other than a main thread does not exist before the restorer:
 * until cryo replaces it (files_thread_pidfds()), the fd holds a pidfd of
 * the opener with the same flags, so that the number stays taken. */
static int open_thread_placeholder(struct restore_ctx *r, const struct file_obj *f,
				   unsigned int flags)
{
	int fd = pidfd_open(getpid(), flags);

	if (fd < 0) {
		restore_err(r, f, "cannot open a pidfd to hold the place of thread %d's: %s",
			    f->e->pidfd->pid, strerror(errno));
		return -errno;
	}
	return fd;
}

static int pidfd_restore_open(struct restore_ctx *r, const struct file_obj *f)
{
	unsigned int flags = f->e->flags & (O_NONBLOCK | PIDFD_THREAD);
	int pid = f->e->pidfd->pid, fd, got;

	if (pid == PIDFD_REAPED) {
		fd = open_reaped(r, f, flags);
	} else if (f->e->pidfd->has_thread_of) {
		fd = open_thread_placeholder(r, f, flags);
	} else {
		fd = pidfd_open(pid, flags);
		if (fd < 0)
			restore_err(r, f, "cannot open a pidfd of pid %d (flags %#o): %s", pid,
				    flags, strerror(errno));
	}
	if (fd < 0)
		return fd == -1 ? -errno : fd;
	/* Restore checks the flags F_SETFL sets; PIDFD_THREAD is not one. */
	got = fcntl(fd, F_GETFL);
	if (got < 0) {
		int err = errno;

		restore_err(r, f, "cannot read the new pidfd's flags: %s", strerror(err));
		close(fd);
		return -err;
	}
	if (((unsigned int)got & PIDFD_THREAD) != (flags & PIDFD_THREAD)) {
		restore_err(r, f, "the new pidfd has flags %#o: PIDFD_THREAD differs from the "
			    "saved %#o", got, f->e->flags);
		close(fd);
		return -EIO;
	}
	return fd;
}

int files_pidfd_targets(const struct files_image *img,
			int (*fn)(void *arg, int fd, pid_t pid, pid_t thread_of), void *arg)
{
	int ret = 0;

	for (size_t i = 0; i < img->nr_files && !ret; i++) {
		const struct file_obj *f = &img->files[i];

		if (f->kind->type == FILE_ENTRY__KIND__PIDFD && f->nr_fds && f->e->pidfd->pid != PIDFD_REAPED)
			ret = fn(arg, f->fds[0], f->e->pidfd->pid,
				 f->e->pidfd->has_thread_of ? f->e->pidfd->thread_of : 0);
	}
	return ret;
}

size_t files_thread_pidfds(const struct files_image *img, struct files_thread_pidfd *out,
			   size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < img->nr_files && !img->table_shared; i++) {
		const struct file_obj *f = &img->files[i];

		if (f->kind->type != FILE_ENTRY__KIND__PIDFD || !f->e->pidfd->has_thread_of)
			continue;
		for (size_t j = 0; j < f->nr_fds; j++, n++) {
			if (n >= max)
				continue;
			out[n].file_id = f->e->id;
			out[n].fd = f->fds[j];
			out[n].tid = f->e->pidfd->pid;
			out[n].tgid = f->e->pidfd->thread_of;
			out[n].flags = f->e->flags;
			out[n].cloexec = files_slot(img, f->fds[j])->cloexec;
		}
	}
	return n;
}

const struct file_kind pidfd_kind = {
	.name = "pidfd",
	.type = FILE_ENTRY__KIND__PIDFD,
	.recognise = pidfd_recognise,
	.dump = pidfd_dump,
	.check = pidfd_check,
	.own_flags = PIDFD_THREAD,
	.open = pidfd_restore_open,
	.make_inode = pidfd_make_inode,
	.release_inode = pidfd_release_inode,
	.opened_in_task = true,
	.opened_by_cryo = pidfd_opened_by_cryo,
	.inode_shared = true,
	.in_flight_ok = true,
};
