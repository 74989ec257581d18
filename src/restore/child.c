/* The first stage inside the new task (already with its saved PID), still
 * running cryo's code: session and group, files, attributes, the files its
 * mappings need (by path, or memfds and deleted files made again from the
 * file objects); then into the restorer. Any failure is reported to cryo
 * and ends the task: nothing half-restored is left to run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "files/files.h"
#include "restore/restore.h"
#include "restorer/args.h"
#include "task/task.h"

static char error_message[sizeof(((struct restorer_report *)0)->message)];

static void __attribute__((noreturn)) child_fail(int report_fd, int err)
{
	struct restorer_report report = { .step = -1, .err = err };

	memcpy(report.message, error_message, sizeof(report.message));
	if (write(report_fd, &report, sizeof(report)) < 0)
		_exit(2);
	_exit(1);
}

/* Nothing of cryo's may leak into the task: every fd from @base up goes,
 * except the two the restore needs. */
static int close_fds_from(int base, int keep1, int keep2)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		int fd = atoi(de->d_name);

		if (fd >= base && fd != keep1 && fd != keep2 && fd != dirfd(dir))
			close(fd);
	}
	closedir(dir);
	return 0;
}

/* Moves @fd to the lowest free number >= @base, out of the restored range. */
static int move_above(int fd, int base)
{
	int moved;

	if (fd >= base)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, base);
	if (moved < 0)
		return -errno;
	close(fd);
	return moved;
}

/* A session leader gets a session of its own again. A task of another's
 * session is a shell job (--shell-job): it stays in cryo's session and in
 * cryo's process group, as with criu. The shell made cryo its foreground
 * job; in a group of its own, the task would be a background job, stopped
 * by SIGTTIN as soon as it reads its terminal. */
static int restore_session(const TaskCore *core, bool shell_job)
{
	pid_t pid = core->pid;

	if (core->sid == pid)
		return setsid() < 0 ? -errno : 0;
	if (!shell_job) {
		pr_err("restore: pid %d was in session %d of another process: restore it with "
		       "-j/--shell-job to join cryo's session", pid, core->sid);
		return -EINVAL;
	}
	return 0;
}

/* The files the task's mappings map, opened by path and checked to be the
 * same files that were dumped. */
static int open_vma_file(const Vma *vma, int base, int *out)
{
	int flags = vma->has_file_writable && vma->file_writable ? O_RDWR : O_RDONLY;
	struct stat st;
	int fd = open(vma->file_path, flags | O_CLOEXEC);

	if (fd < 0) {
		pr_err("restore: mapping %#llx-%#llx: cannot open %s: %s",
		       (unsigned long long)vma->start, (unsigned long long)vma->end,
		       vma->file_path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || (vma->has_file_ino && st.st_ino != vma->file_ino) ||
	    (vma->has_file_size && (uint64_t)st.st_size != vma->file_size)) {
		pr_err("restore: mapping %#llx-%#llx: %s is not the file that was dumped "
		       "(inode or size changed)", (unsigned long long)vma->start,
		       (unsigned long long)vma->end, vma->file_path);
		close(fd);
		return -ESTALE;
	}
	fd = move_above(fd, base);
	if (fd < 0)
		return fd;
	*out = fd;
	return 0;
}

/* Memfds and deleted files come from the file objects (files.h): made
 * again from their saved contents, or opened from the task's fd of the
 * same file, which the mapping then shares. */
static int open_saved_files(const Mm *mm, const struct files_image *files, int base,
			    int *vma_fds)
{
	struct files_mapping *maps = calloc(mm->n_vmas + 1, sizeof(*maps));
	size_t n = 0;
	int ret;

	if (!maps)
		return -ENOMEM;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Vma *v = mm->vmas[i];

		if (!v->has_file_id)
			continue;
		maps[n++] = (struct files_mapping){
			.start = v->start,
			.end = v->end,
			.file_id = v->file_id,
			.writable = v->has_file_writable && v->file_writable,
		};
	}
	ret = files_open_mappings(files, maps, n, base);
	for (size_t i = 0, j = 0; i < mm->n_vmas && !ret; i++)
		if (mm->vmas[i]->has_file_id)
			vma_fds[i] = maps[j++].fd;
	free(maps);
	return ret;
}

static int open_mapped_files(const Mm *mm, const struct files_image *files, int base,
			     int *vma_fds, int *exe_fd)
{
	int ret;

	*exe_fd = -1;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Vma *v = mm->vmas[i];

		vma_fds[i] = -1;
		if (v->kind == VMA__KIND__FILE) {
			ret = open_vma_file(v, base, &vma_fds[i]);
			if (ret)
				return ret;
		} else if (v->kind == VMA__KIND__SYSV_SHM) {
			pr_err("restore: mapping %#llx-%#llx of SysV shared memory is not supported "
			       "yet", (unsigned long long)v->start, (unsigned long long)v->end);
			return -EOPNOTSUPP;
		}
	}
	ret = open_saved_files(mm, files, base, vma_fds);
	if (ret)
		return ret;
	if (mm->exe_path) {
		int fd = open(mm->exe_path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			pr_err("restore: cannot open the executable %s: %s", mm->exe_path,
			       strerror(errno));
			return -errno;
		}
		*exe_fd = move_above(fd, base);
		if (*exe_fd < 0)
			return *exe_fd;
	}
	return 0;
}

/* glibc registered rseq for cryo's thread; that area is about to vanish. */
static int unregister_libc_rseq(void)
{
	void *area;

	if (__rseq_size == 0)
		return 0;
	area = (char *)__builtin_thread_pointer() + __rseq_offset;
	if (syscall(SYS_rseq, area, __rseq_size < 32 ? 32 : __rseq_size, RSEQ_FLAG_UNREGISTER,
		    RSEQ_SIG))
		return -errno;
	return 0;
}

void restore_child(struct restore_task *rt, int report_fd, bool shell_job)
{
	int base = files_max_fd(rt->files) + 1;
	int *vma_fds = calloc(rt->mm->n_vmas + 1, sizeof(int));
	sigset_t all;
	int exe_fd, ret;

	if (base < 3)
		base = 3;
	/* Until cryo lets it go, the task must not outlive cryo. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* stderr is soon the task's own: errors travel in the report instead. */
	log_capture_errors(error_message, sizeof(error_message));
	report_fd = move_above(report_fd, base);
	rt->pages->pages_fd = move_above(rt->pages->pages_fd, base);
	if (report_fd < 0 || rt->pages->pages_fd < 0)
		_exit(3);
	if (!vma_fds || close_fds_from(base, report_fd, rt->pages->pages_fd))
		child_fail(report_fd, -ENOMEM);

	ret = restore_session(rt->core, shell_job);
	if (!ret)
		ret = files_restore(rt->files, shell_job);
	if (!ret)
		ret = open_mapped_files(rt->mm, rt->files, base, vma_fds, &exe_fd);
	if (!ret)
		ret = task_restore_attrs(rt->core);
	if (ret)
		child_fail(report_fd, ret);
	/* The saved parent-death signal is set by cryo at the very end. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	ret = unregister_libc_rseq();
	if (!ret)
		ret = restorer_enter(rt, report_fd, exe_fd, vma_fds);
	child_fail(report_fd, ret);
}
