/* The "pidfd" kind: a descriptor of a process, or of one thread with
 * PIDFD_THREAD. Dump saves the pid it refers to, which must be a process
 * of the dump, or that the process has exited and been reaped; restore
 * opens a pidfd of the restored task with that pid, or makes one of a
 * process it creates and reaps on the spot. Which processes make up the
 * dump is the dump's (file_dump_has_pid()). */
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
 * has been reaped since fdinfo was read (*@pid becomes -1). */
static int check_target(const struct file_dump *d, int *pid)
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
	ret = probe_read_text(path, &status);
	if (ret == -ENOENT || ret == -ESRCH) {
		/* Gone meanwhile: the pidfd itself tells whether it is reaped. */
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", p->dup);
		ret = probe_read_text(path, &now);
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
	if (tgid > 0 && tgid != *pid && file_dump_has_pid(d, tgid)) {
		pr_fd_err(p, "refers to thread %d of pid %ld: pidfds of threads other than a "
			  "process's main thread are not supported yet", *pid, tgid);
		return -EOPNOTSUPP;
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
	PidfdFile *pf;
	int pid, ret;

	if ((p->flags & O_ACCMODE) != O_RDWR || (p->flags & ~PIDFD_FLAGS_KNOWN)) {
		pr_fd_err(p, "has flags %#o, which pidfd_open() and F_SETFL do not give", p->flags);
		return -EOPNOTSUPP;
	}
	ret = parse_target(p, p->fdinfo, &pid);
	if (!ret)
		ret = check_target(d, &pid);
	if (ret)
		return ret;
	pf = malloc(sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	pidfd_file__init(pf);
	pf->pid = pid;
	d->fe->pidfd = pf;
	return 0;
}

static int pidfd_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const FileEntry *e = f->e;
	int pid = e->pidfd->pid;
	char name[64];

	if ((e->flags & O_ACCMODE) != O_RDWR || (e->flags & ~PIDFD_FLAGS_KNOWN)) {
		load_err(img, f, "flags %#o are not a pidfd's (O_RDWR, with O_NONBLOCK, "
			 "PIDFD_THREAD, O_APPEND or O_NOATIME only)", e->flags);
		return -EBADMSG;
	}
	if (e->pos || e->has_inode_of || e->n_contents || e->contents_in_file) {
		load_err(img, f, "a pidfd has no position, shared inode or contents");
		return -EBADMSG;
	}
	if (pid != PIDFD_REAPED && (pid < 1 || pid > KABI_PID_MAX_LIMIT)) {
		load_err(img, f, "pid %d is out of range (1 to %d, or -1 for a reaped process)",
			 pid, KABI_PID_MAX_LIMIT);
		return -EBADMSG;
	}
	/* Restore opens it by pid: the task must be one the restore creates. */
	if (pid > 0 && pid != img->pid) {
		if (image_file_name(IMG_FDS, pid, name, sizeof(name)))
			return -EINVAL;
		if (faccessat(dir->fd, name, F_OK, AT_SYMLINK_NOFOLLOW)) {
			load_err(img, f, "refers to pid %d, which the dump does not hold (no %s)",
				 pid, name);
			return -EBADMSG;
		}
	}
	return 0;
}

/*
 * A pidfd of a process that has exited and been reaped: there is no such
 * process to open, so the task makes one. It creates a child that exits at
 * once, opens a pidfd of it (alive or a zombie, the child still has its
 * pid) and reaps it. The pidfd then shows "Pid: -1", polls readable and
 * hung up, and signalling through it fails with ESRCH, as the saved one.
 *
 * - The child's exit signal is 0: the task gets no SIGCHLD, which would
 *   stay pending in the restored program, and cannot reap it automatically
 *   whatever its SIGCHLD disposition. __WALL is then needed to wait for it.
 * - It is a plain clone(): no atfork handlers, nothing shared but what fork
 *   shares. All signals are blocked across it, so the child, which has the
 *   task's handlers, runs none of them before it exits.
 * - Its pid is the kernel's next free one, and it cannot be a pid the
 *   restore needs: every task of the restore exists before files are
 *   restored (threads must keep to that order too), and the kernel hands
 *   out no pid in use. The child keeps its number only until it is reaped,
 *   before this returns: the pidfd holds the kernel's struct pid, not the
 *   number. Picking the number with clone3(set_tid) would need every pid
 *   the restore will ever use, and gains nothing while that order holds.
 */
static int open_reaped(struct restore_ctx *r, const struct file_obj *f, unsigned int flags)
{
	sigset_t all, old;
	siginfo_t si;
	pid_t child;
	int fd, err = 0;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	child = syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);
	if (child == 0)
		syscall(SYS_exit, 0);
	if (child < 0) {
		err = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		restore_err(r, f, "cannot create a child to make a pidfd of a reaped process: %s",
			    strerror(err));
		return -err;
	}
	fd = pidfd_open(child, flags);
	if (fd < 0)
		err = errno;
	while (waitid(P_PID, child, &si, WEXITED | __WALL) < 0) {
		if (errno == EINTR)
			continue;
		if (!err)
			err = errno;
		break;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (err) {
		restore_err(r, f, "cannot make a pidfd of reaped pid %d: %s", child, strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	if (!pidfd_send_signal(fd, 0, NULL, 0) || errno != ESRCH) {
		restore_err(r, f, "the pidfd of reaped pid %d still reaches a process", child);
		close(fd);
		return -EIO;
	}
	return fd;
}

static int pidfd_restore_open(struct restore_ctx *r, const struct file_obj *f)
{
	unsigned int flags = f->e->flags & (O_NONBLOCK | PIDFD_THREAD);
	int pid = f->e->pidfd->pid, fd, got;

	if (pid == PIDFD_REAPED) {
		fd = open_reaped(r, f, flags);
		if (fd < 0)
			return fd;
	} else {
		fd = pidfd_open(pid, flags);
		if (fd < 0) {
			restore_err(r, f, "cannot open a pidfd of pid %d (flags %#o): %s", pid, flags,
				    strerror(errno));
			return -errno;
		}
	}
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

const struct file_kind pidfd_kind = {
	.name = "pidfd",
	.type = FILE_ENTRY__KIND__PIDFD,
	.own_flags = PIDFD_THREAD,
	.recognise = pidfd_recognise,
	.dump = pidfd_dump,
	.check = pidfd_check,
	.open = pidfd_restore_open,
	.opened_in_task = true,
};
