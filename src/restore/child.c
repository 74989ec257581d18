/* The life of each new process of a restore (already with its saved PID),
 * still running cryo's code, in stages that every process of the tree goes
 * through together:
 *   1. its session and own group, then its children (family.c);
 *   2. the group it joins, its files, the files its mappings need (by path,
 *      or memfds and deleted files made again from the file objects), its
 *      attributes;
 *   3. zombies and helpers leave; a live process waits for them, then
 *      enters the restorer.
 * After each stage it reports to cryo and waits to be let on. Any failure
 * is reported and ends the process, and cryo then ends all of them. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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
#include "mem/hugetlb.h"
#include "ns/user.h"
#include "restore/family.h"
#include "restore/restore.h"
#include "restorer/args.h"
#include "task/task.h"

static char error_message[sizeof(((struct restorer_report *)0)->message)];

static void send_report(const struct restore_set *rs, pid_t pid, int stage, int err)
{
	struct restorer_report report = { .pid = pid, .stage = stage, .step = -1, .err = err };

	memcpy(report.message, error_message, sizeof(report.message));
	if (write(rs->report_fd, &report, sizeof(report)) != sizeof(report))
		_exit(2);
}

static void __attribute__((noreturn)) child_fail(const struct restore_set *rs, pid_t pid,
						 int err)
{
	send_report(rs, pid, 0, err ? err : -EIO);
	_exit(1);
}

/* Reports @stage and waits for cryo's byte that lets this process on. */
static void stage_done(const struct restore_set *rs, pid_t pid, int stage)
{
	char go;
	ssize_t n;

	send_report(rs, pid, stage, 0);
	do
		n = read(rs->gate_fd[stage - 1], &go, 1);
	while (n < 0 && errno == EINTR);
	/* cryo is gone: nothing will ever let this process run. */
	if (n != 1)
		_exit(1);
}

/* A parent that died before the parent-death signal was set sends none:
 * after setting it, the process checks that its parent is still the one
 * that made it (for the root, cryo or cryo's parent), or it would wait for
 * ever at a gate. */
static void die_if_orphaned(const struct restore_set *rs, size_t index)
{
	int parent = rs->tree.tasks[index].parent;

	if (getppid() != (parent < 0 ? rs->root_parent : rs->tree.tasks[parent].pid))
		_exit(1);
}

static int cmp_fd(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Nothing of cryo's may leak into the process: every fd from @base to
 * @last goes, except @keep (sorted here; -1 entries ignored). Whole ranges
 * at a time, so that a process of a large tree does not pay for cryo's
 * fds of every other process one by one. */
static int close_fds_from(int base, unsigned int last, int *keep, size_t nr_keep)
{
	unsigned int from = (unsigned int)base;

	qsort(keep, nr_keep, sizeof(*keep), cmp_fd);
	for (size_t i = 0; i < nr_keep; i++) {
		if (keep[i] < base || (unsigned int)keep[i] > last)
			continue;
		if ((unsigned int)keep[i] > from && close_range(from, (unsigned int)keep[i] - 1, 0))
			return -errno;
		from = (unsigned int)keep[i] + 1;
	}
	return from <= last && close_range(from, last, 0) ? -errno : 0;
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

int restore_vma_file_check(const Vma *vma, int fd)
{
	struct stat st;

	if (fstat(fd, &st) || (vma->has_file_ino && st.st_ino != vma->file_ino) ||
	    (vma->has_file_size && (uint64_t)st.st_size != vma->file_size)) {
		pr_err("restore: mapping %#llx-%#llx: %s is not the file that was dumped "
		       "(inode or size changed)", (unsigned long long)vma->start,
		       (unsigned long long)vma->end, vma->file_path);
		return -ESTALE;
	}
	/* A file of a hugetlbfs mount: one of other pages would map otherwise. */
	if (vma->has_huge_page_size && hugetlbfs_page_size(fd) != vma->huge_page_size) {
		pr_err("restore: mapping %#llx-%#llx: %s is not on a hugetlbfs mount of %llu kB "
		       "pages as when dumped", (unsigned long long)vma->start,
		       (unsigned long long)vma->end, vma->file_path,
		       (unsigned long long)vma->huge_page_size >> 10);
		return -ESTALE;
	}
	return 0;
}

/* The files the task's mappings map, opened by path and checked to be the
 * same files that were dumped. */
static int open_vma_file(const Vma *vma, int base, int *out)
{
	int flags = vma->has_file_writable && vma->file_writable ? O_RDWR : O_RDONLY;
	int fd = open(vma->file_path, flags | O_CLOEXEC), ret;

	if (fd < 0) {
		pr_err("restore: mapping %#llx-%#llx: cannot open %s: %s",
		       (unsigned long long)vma->start, (unsigned long long)vma->end,
		       vma->file_path, strerror(errno));
		return -errno;
	}
	ret = restore_vma_file_check(vma, fd);
	if (ret) {
		close(fd);
		return ret;
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
static int open_saved_files(const Mm *mm, const struct files_image *files,
			    const struct files_prepared *prepared, int base, int *vma_fds)
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
	ret = files_open_mappings(files, prepared, maps, n, base);
	for (size_t i = 0, j = 0; i < mm->n_vmas && !ret; i++)
		if (mm->vmas[i]->has_file_id)
			vma_fds[i] = maps[j++].fd;
	free(maps);
	return ret;
}

static int open_mapped_files(const Mm *mm, const struct files_image *files,
			     const struct files_prepared *prepared, int base, int *vma_fds,
			     int *exe_fd)
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
		}
	}
	ret = open_saved_files(mm, files, prepared, base, vma_fds);
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

/* A removed root is made again beside the files the restorer needs, and
 * like them kept above @base until it chroots into it; one that an fd of
 * the task holds is that fd's directory, restored already. */
static int make_ghost_root(struct restore_task *rt, int base)
{
	const TaskCore *core = rt->core;
	int fd, ret;

	/* A member of an fs group under a chroot: its owner's root is its own.
	 * One others share is open_shared_dirs()'s. */
	if (!core->root_ghost || rt->fs_signal_fd >= 0 || core->has_root_file)
		return 0;
	if (core->has_root_fd) {
		rt->ghost_root_fd = fcntl((int)core->root_fd, F_DUPFD_CLOEXEC, base);
		if (rt->ghost_root_fd < 0)
			return pr_errno_ret("restore: pid %d root: no fd %u to enter its removed "
					    "directory \"%s\" by", core->pid, core->root_fd,
					    core->root);
		return 0;
	}
	ret = task_make_ghost_root(core, &fd);
	if (ret)
		return ret;
	fd = move_above(fd, base);
	if (fd < 0)
		return fd;
	rt->ghost_root_fd = fd;
	return 0;
}

static int thread_fs_fds_alloc(struct restore_task *rt)
{
	size_t n = 2 * rt->core->n_threads;

	if (rt->thread_fs_fds)
		return 0;
	rt->thread_fs_fds = malloc(n * sizeof(int));
	if (!rt->thread_fs_fds)
		return -ENOMEM;
	for (size_t j = 0; j < n; j++)
		rt->thread_fs_fds[j] = -1;
	return 0;
}

/* The removed cwds and roots that other processes or threads share (file
 * objects of the tree: TaskCore.cwd_file, root_file, the same in ThreadFs),
 * opened once, above @base: the process enters its cwd at once, its root
 * and the threads' are kept for the restorer, as a ghost root is. */
static int open_shared_dirs(const struct restore_set *rs, struct restore_task *rt, int base)
{
	const TaskCore *core = rt->core;
	size_t n = 2 * (core->n_threads + 1), wanted = 0;
	uint32_t *ids = calloc(n, sizeof(*ids));
	int *fds = calloc(n, sizeof(*fds)), ret = 0;

	if (!ids || !fds) {
		ret = -ENOMEM;
		goto out;
	}
	/* [0] root, [1] cwd; then each thread's. */
	if (core->has_root_file && rt->fs_signal_fd < 0)
		ids[0] = core->root_file;
	if (core->has_cwd_file)
		ids[1] = core->cwd_file;
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadFs *fs = core->threads[i]->fs;

		if (!fs || fs->has_shared_with)
			continue;
		if (fs->has_root_file)
			ids[2 + 2 * i] = fs->root_file;
		if (fs->has_cwd_file)
			ids[3 + 2 * i] = fs->cwd_file;
	}
	for (size_t i = 0; i < n; i++)
		wanted += ids[i] != 0;
	if (!wanted)
		goto out;
	if (n > 2)
		ret = thread_fs_fds_alloc(rt);
	if (!ret)
		ret = files_open_dirs(rt->files, rs->files, ids, fds, n, base);
	if (ret)
		goto out;
	if (fds[1] >= 0 && fchdir(fds[1]))
		ret = pr_errno_ret("restore: pid %d cwd: cannot enter the removed directory \"%s\" "
				   "it shares", core->pid, core->cwd);
	if (fds[1] >= 0)
		close(fds[1]);
	if (fds[0] >= 0)
		rt->ghost_root_fd = fds[0];
	for (size_t i = 2; i < n; i++)
		if (fds[i] >= 0)
			rt->thread_fs_fds[i - 2] = fds[i];
out:
	free(ids);
	free(fds);
	return ret;
}

static int open_dir_above(const char *who, const char *what, const char *path,
			  const GhostDir *ghost, int base, int *out)
{
	int fd, ret = task_open_dir(who, what, path, ghost, &fd);

	if (ret)
		return ret;
	fd = move_above(fd, base);
	if (fd < 0)
		return fd;
	*out = fd;
	return 0;
}

/* The root and cwd of each thread with fs info of its own, opened (ghosts
 * made again) and kept above @base like the ghost root, for the thread to
 * enter in the restorer. */
static int open_thread_dirs(struct restore_task *rt, int base)
{
	const TaskCore *core = rt->core;

	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadFs *fs = core->threads[i]->fs;
		char who[48];
		int *fds, ret = 0;

		if (!fs || fs->has_shared_with)
			continue;
		if (thread_fs_fds_alloc(rt))
			return -ENOMEM;
		fds = &rt->thread_fs_fds[2 * i];
		snprintf(who, sizeof(who), "pid %d thread %d", core->pid, core->threads[i]->tid);
		/* A removed root or cwd one of its fds holds is that fd's directory;
		 * one others share is open already (open_shared_dirs()). */
		if (fs->has_root_fd) {
			fds[0] = fcntl((int)fs->root_fd, F_DUPFD_CLOEXEC, base);
			if (fds[0] < 0)
				ret = pr_errno_ret("restore: %s root: no fd %u to enter its removed "
						   "directory \"%s\" by", who, fs->root_fd, fs->root);
		} else if (!fs->has_root_file) {
			ret = open_dir_above(who, "root", fs->root, fs->root_ghost, base, &fds[0]);
		}
		if (!ret && fs->has_cwd_fd) {
			fds[1] = fcntl((int)fs->cwd_fd, F_DUPFD_CLOEXEC, base);
			if (fds[1] < 0)
				ret = pr_errno_ret("restore: %s cwd: no fd %u to enter its removed "
						   "directory \"%s\" by", who, fs->cwd_fd, fs->cwd);
		} else if (!ret && !fs->cwd_is_root && !fs->has_cwd_file) {
			ret = open_dir_above(who, "cwd", fs->cwd, fs->cwd_ghost, base, &fds[1]);
		}
		if (ret)
			return ret;
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

/* What the process keeps of cryo's fds once its own are in place: the
 * restore's pipes and its pages, and the files its mappings and
 * executable need. The owner of a shared fd table closes only up to top,
 * above which the members opened theirs, and keeps their pages too. */
static int close_cryos_fds(const struct restore_set *rs, size_t index, int exe_fd,
			   const int *vma_fds, size_t members)
{
	const struct restore_task *rt = &rs->tasks[index];
	size_t n = 0;
	int *keep = malloc((rt->mm->n_vmas + PAGES_FILES_MAX * rs->tree.nr + 9 +
			    2 * rt->core->n_threads) *
			   sizeof(*keep)),
	    ret;

	if (!keep)
		return -ENOMEM;
	keep[n++] = rs->report_fd;
	keep[n++] = rs->gate_fd[1];
	keep[n++] = rt->pages->pages_fd[0];
	keep[n++] = rt->pages->pages_fd[1];
	keep[n++] = exe_fd;
	keep[n++] = ns_user_fd(rs->userns);
	keep[n++] = rt->ghost_root_fd;
	keep[n++] = rt->fs_wait_fd;
	keep[n++] = rt->fs_signal_fd;
	for (size_t i = 0; i < rt->mm->n_vmas; i++)
		keep[n++] = vma_fds[i];
	for (size_t i = 0; rt->thread_fs_fds && i < 2 * rt->core->n_threads; i++)
		if (rt->thread_fs_fds[i] >= 0)
			keep[n++] = rt->thread_fs_fds[i];
	for (size_t i = index + 1; members && i < rs->tree.nr; i++)
		if (rs->tree.tasks[i].shares_files && share_group_owner(&rs->tree, i, false) == index) {
			keep[n++] = rs->tasks[i].pages->pages_fd[0];
			keep[n++] = rs->tasks[i].pages->pages_fd[1];
		}
	ret = close_fds_from(rs->base, members ? (unsigned int)rs->top - 1 : ~0U, keep, n);
	free(keep);
	return ret;
}

/* Stage 2 of a process that restores its fd table (alone, or for the
 * members of its group too). */
static int prepare_table(const struct restore_set *rs, size_t index, int *exe_fd, int *vma_fds)
{
	struct restore_task *rt = &rs->tasks[index];
	size_t members = share_group_members(&rs->tree, index, false);
	int high = files_max_fd(rt->files) + 1, ret;

	ret = files_restore(rt->files, rs->files, rs->shell_job);
	/* What cryo had open between the restored fds and its own. */
	if (!ret && high < rs->base && close_range((unsigned int)high, (unsigned int)rs->base - 1, 0))
		ret = -errno;
	if (ret)
		return ret;
	if (members)
		shared_table_mark_ready(rs, index);
	ret = open_mapped_files(rt->mm, rt->files, rs->files,
				members ? shared_table_open_base(rs) : rs->base, vma_fds, exe_fd);
	if (!ret)
		ret = open_shared_dirs(rs, rt, members ? shared_table_open_base(rs) : rs->base);
	if (!ret)
		ret = make_ghost_root(rt, members ? shared_table_open_base(rs) : rs->base);
	if (!ret)
		ret = open_thread_dirs(rt, members ? shared_table_open_base(rs) : rs->base);
	if (!ret && members)
		shared_table_wait_opened(rs, index, members);
	if (!ret)
		ret = close_cryos_fds(rs, index, *exe_fd, vma_fds, members);
	return ret;
}

/* Stage 2 of a member of a shared fd table: its owner restores the fds
 * and closes cryo's; it opens only its own, above top. */
static int prepare_member(struct restore_set *rs, size_t index, int *exe_fd, int *vma_fds)
{
	struct restore_task *rt = &rs->tasks[index];
	size_t owner = share_group_owner(&rs->tree, index, false);
	int ret;

	shared_table_wait_ready(rs, owner);
	ret = open_mapped_files(rt->mm, rt->files, rs->files, shared_table_open_base(rs), vma_fds,
				exe_fd);
	if (!ret)
		ret = open_shared_dirs(rs, rt, shared_table_open_base(rs));
	if (!ret)
		ret = make_ghost_root(rt, shared_table_open_base(rs));
	if (!ret)
		ret = open_thread_dirs(rt, shared_table_open_base(rs));
	if (!ret)
		ret = shared_table_own_report_fd(rs, index);
	if (!ret)
		shared_table_mark_opened(rs, owner);
	return ret;
}

/* Stage 2 of a live process. */
static int prepare_process(struct restore_set *rs, size_t index, int *exe_fd, int *vma_fds)
{
	int ret;

	shared_fs_take(rs, index);
	/* Its files, mapped ones and its executable are opened (or made) as it
	 * would open them, never with cryo's rights. */
	ret = ns_user_born_inside(rs->userns) ?
		      restore_take_fs_creds_inside(rs->tasks[index].core, rs->userns) :
		      restore_take_fs_creds(rs->tasks[index].core,
					    rs->userns && rs->userns->fs_caps_off);

	if (!ret)
		ret = rs->tree.tasks[index].shares_files ?
			      prepare_member(rs, index, exe_fd, vma_fds) :
			      prepare_table(rs, index, exe_fd, vma_fds);

	if (!ret)
		ret = task_restore_attrs(rs->tasks[index].core);
	if (ret)
		return ret;
	/* The saved parent-death signal is set by cryo at the very end. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	die_if_orphaned(rs, index);
	return 0;
}

void restore_child(struct restore_set *rs, size_t index)
{
	const struct tree_task *t = &rs->tree.tasks[index];
	struct restore_task *rt = &rs->tasks[index];
	bool alive = t->state == TREE_ALIVE;
	int *vma_fds = alive ? calloc(rt->mm->n_vmas + 1, sizeof(int)) : NULL;
	sigset_t all;
	int exe_fd = -1, ret;

	/* Until cryo lets it go, the process must not outlive its parent. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	die_if_orphaned(rs, index);
	/* stderr is soon the process's own: errors travel in the report. */
	log_capture_errors(error_message, sizeof(error_message));
	if (alive && !vma_fds)
		child_fail(rs, t->pid, -ENOMEM);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/* The login uid only a process can set for itself, and only with
	 * cryo's rights. In stage 1: its open() takes the lowest free fd,
	 * which in stage 2 may be a number the owner of a shared fd table is
	 * installing at that moment (EBUSY, or a descriptor closed under it). */
	ret = alive ? task_restore_loginuid(rt->core) : 0;
	if (ret)
		child_fail(rs, t->pid, ret);
	/* Before the children: they inherit the memory they share with it. */
	ret = alive ? restore_cow_premap(rs, index) : 0;
	if (!ret && alive)
		ret = shared_fs_prepare(rs, index);
	if (!ret)
		ret = family_create(rs, index);
	if (ret)
		child_fail(rs, t->pid, ret);
	stage_done(rs, t->pid, RESTORE_STAGE_CREATED);

	ret = family_join_group(rs, index);
	if (!ret && alive)
		ret = prepare_process(rs, index, &exe_fd, vma_fds);
	if (ret)
		child_fail(rs, t->pid, ret);
	stage_done(rs, t->pid, RESTORE_STAGE_PREPARED);

	/* A zombie was in the tree's user namespace too; it has no threads or
	 * credentials to set first. */
	if (!alive && ns_user_fd(rs->userns) >= 0 && !ns_user_born_inside(rs->userns) &&
	    setns(ns_user_fd(rs->userns), CLONE_NEWUSER))
		child_fail(rs, t->pid, -errno);
	if (!alive)
		family_leave(t);
	ret = family_settle(rs, index);
	/* Signal actions were restored: every signal stays blocked until cryo
	 * sets the saved mask. */
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (!ret)
		ret = unregister_libc_rseq();
	/* Past the last gate: a process whose fd table is its own alone closes
	 * it here, which leaves cryo's finish no remote close. The members of
	 * a shared table may still be about to read it: cryo closes it there. */
	if (!ret && !t->shares_files && !share_group_members(&rs->tree, index, false))
		close(rs->gate_fd[1]);
	if (!ret)
		ret = restorer_enter(rt, &rs->maps_at_fork, rs->report_fd, exe_fd, vma_fds,
				     rs->lazy_pages);
	child_fail(rs, t->pid, ret);
}
