/* Taking the file locks again, from cryo, inside each restored process
 * once its restorer has paused: every fd is in place by then and the
 * process closes nothing more, so no close() can drop a POSIX lock, and
 * the lock's owner is the process itself (POSIX: its fd table; FLOCK and
 * OFD: the open file description, taken once by the process locks.img
 * names). Reading and checking locks.img is src/files/locks.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>

#include "common/log.h"
#include "files/files.h"
#include "inject/inject.h"
#include "restore/restore.h"

static const char *kind_name(enum files_lock_kind kind)
{
	return kind == FILES_LOCK_FLOCK ? "flock" : kind == FILES_LOCK_POSIX ? "POSIX" :
	       kind == FILES_LOCK_LEASE ? "lease" : "OFD";
}

static long take_one(struct inj_task *task, pid_t host_pid, const struct files_lock *l,
		     long *result)
{
	struct flock fl = {
		.l_type = l->write ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)l->start,
		/* 0: to the end of the file, however it grows. */
		.l_len = l->end == UINT64_MAX ? 0 : (off_t)(l->end - l->start + 1),
	};
	unsigned long args[6] = {
		(unsigned long)l->fd, l->kind == FILES_LOCK_POSIX ? F_SETLK : F_OFD_SETLK,
		INJ_ARG_BUF,
	};

	/* Run in the task: a lease needs its fsuid to own the file (or
	 * CAP_LEASE), and makes the task its owner. */
	if (l->kind == FILES_LOCK_LEASE)
		return inj_syscall(task, result, SYS_fcntl, (unsigned long)l->fd, F_SETLEASE,
				   l->write ? F_WRLCK : F_RDLCK, 0, 0, 0);
	if (l->kind == FILES_LOCK_FLOCK)
		return inj_syscall(task, result, SYS_flock, (unsigned long)l->fd,
				   (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB, 0, 0, 0, 0);
	return inj_thread_syscall(task, host_pid, result, &fl, sizeof(fl), SYS_fcntl, args);
}

int restore_take_locks(struct inj_task *task, pid_t pid, pid_t host_pid,
		       const struct files_locks *locks)
{
	for (size_t i = 0; locks && i < locks->nr; i++) {
		const struct files_lock *l = &locks->locks[i];
		char range[48] = "";
		long result = 0;
		int ret;

		if (l->pid != pid)
			continue;
		ret = (int)take_one(task, host_pid, l, &result);
		if (!ret && result >= 0)
			continue;
		if (l->kind != FILES_LOCK_FLOCK && l->kind != FILES_LOCK_LEASE &&
		    l->end == UINT64_MAX)
			snprintf(range, sizeof(range), " on bytes %" PRIu64 " to the end", l->start);
		else if (l->kind != FILES_LOCK_FLOCK && l->kind != FILES_LOCK_LEASE)
			snprintf(range, sizeof(range), " on bytes %" PRIu64 "-%" PRIu64, l->start,
				 l->end);
		if (!ret)
			ret = (int)result;
		if (l->kind == FILES_LOCK_LEASE)
			pr_err("restore: pid %d fd %d (%s): cannot take its %s lease again: %s", pid,
			       l->fd, l->path, l->write ? "write" : "read",
			       ret == -EAGAIN ? "the file is open elsewhere in a way the lease "
						"forbids" : strerror(-ret));
		else
			pr_err("restore: pid %d fd %d (%s): cannot take its %s %s lock%s again: %s",
			       pid, l->fd, l->path, kind_name(l->kind), l->write ? "write" : "read",
			       range, ret == -EAGAIN || ret == -EACCES ?
			       "another process holds a conflicting lock now" : strerror(-ret));
		return ret;
	}
	return 0;
}
