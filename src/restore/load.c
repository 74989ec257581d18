/* Reads and validates every image of every process before anything is
 * created: restore refuses an incomplete, foreign or inconsistent image set
 * up front, so that a bad image never leaves a half-restored tree behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ns/mnt.h"
#include "common/log.h"
#include "images/digest.h"
#include "images/pages_chain.h"
#include "files/files.h"
#include "images/proto/inventory.pb-c.h"
#include "inject/inject.h"
#include "ipc/sysv_shm.h"
#include "mem/mm.h"
#include "net/net.h"
#include "ns/cgroup_ns.h"
#include "ns/ipc.h"
#include "ns/net.h"
#include "ns/user.h"
#include "restore/restore.h"
#include "task/task.h"

/* The selectors of 64-bit user code and stack on x86_64 Linux. */
#define USER_CS 0x33
#define USER_SS 0x2b
#define XSAVE_MIN_SIZE (512 + 64)

/* The inventory, read once: its MAC checked against @key (or its lack of
 * one), and its dump id made the one every other file must carry. */
static int read_inventory(struct image_dir *dir, const struct sign_key *key,
			  struct net_run *net, struct image **out)
{
	struct image *img;
	Inventory *inv;
	struct utsname uts;
	int ret;

	if (faccessat(dir->fd, "inventory.img", F_OK, 0)) {
		pr_err("restore: %s has no inventory.img: not a complete dump (a dump that "
		       "failed leaves none)", dir->path);
		return -ENOENT;
	}
	ret = image_read(dir, IMG_INVENTORY, 0, &img);
	if (ret)
		return ret;
	inv = (Inventory *)img->records[0].msg;
	ret = image_set_check_signature(img->path, inv, key);
	if (!ret && (!img->has_dump_id || !inv->has_dump_id ||
		     inv->dump_id.len != IMG_DUMP_ID_SIZE ||
		     memcmp(inv->dump_id.data, img->dump_id, IMG_DUMP_ID_SIZE))) {
		pr_err("restore: %s: its header and its record name different dumps (or none: an "
		       "older cryo's set): refused", img->path);
		ret = -EBADMSG;
	}
	if (!ret && uname(&uts) == 0 && strcmp(inv->arch, uts.machine)) {
		pr_err("restore: %s/inventory.img: dumped on %s, this machine is %s", dir->path,
		       inv->arch, uts.machine);
		ret = -EXDEV;
	}
	if (!ret)
		ret = net_lock_restore(net, inv, !faccessat(dir->fd, "net-ns.img", F_OK, 0));
	if (ret) {
		image_free(img);
		return ret;
	}
	memcpy(dir->dump_id, img->dump_id, IMG_DUMP_ID_SIZE);
	dir->has_dump_id = true;
	*out = img;
	return 0;
}

static int check_thread(const char *path, const ThreadCore *t)
{
	if (!t->regs || t->regs->cs != USER_CS || t->regs->ss != USER_SS) {
		image_error(path, 0, "thread %d: registers are not those of a 64-bit user task",
			    t->tid);
		return -EBADMSG;
	}
	if (t->xstate.len < XSAVE_MIN_SIZE || t->xstate.len > INJ_XSTATE_MAX) {
		image_error(path, 0, "thread %d: xstate of %zu bytes (expected %d to %d)", t->tid,
			    t->xstate.len, XSAVE_MIN_SIZE, INJ_XSTATE_MAX);
		return -EBADMSG;
	}
	return 0;
}

static int read_core(const struct image_dir *dir, struct restore_task *rt)
{
	const char *path;
	TaskCore *core;
	int ret = image_read(dir, IMG_CORE, rt->pid, &rt->core_img);

	if (ret)
		return ret;
	path = rt->core_img->path;
	if (rt->core_img->nr_records != 1) {
		image_error(path, 0, "%zu records, expected exactly one", rt->core_img->nr_records);
		return -EBADMSG;
	}
	core = (TaskCore *)rt->core_img->records[0].msg;
	if (core->pid != rt->pid) {
		image_error(path, 0, "task %d in the image of task %d", core->pid, rt->pid);
		return -EBADMSG;
	}
	for (size_t i = 0; i < core->n_threads; i++) {
		ret = check_thread(path, core->threads[i]);
		if (ret)
			return ret;
	}
	rt->core = core;
	return 0;
}

/* The files (file objects) that the task's memfd, deleted-file and shared
 * anonymous mappings map. */
static int load_files(const struct image_dir *dir, const struct image *objects,
		      struct restore_task *rt)
{
	struct files_mapping *mapped = calloc(rt->mm->n_vmas + 1, sizeof(*mapped));
	size_t n = 0;
	int ret;

	if (!mapped) {
		pr_err("restore: pid %d: out of memory", rt->pid);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rt->mm->n_vmas; i++) {
		const Vma *v = rt->mm->vmas[i];

		if (!v->has_file_id)
			continue;
		mapped[n].start = v->start;
		mapped[n].end = v->end;
		mapped[n].pgoff = v->pgoff;
		mapped[n].huge_page_size = v->has_huge_page_size ? v->huge_page_size : 0;
		mapped[n++].file_id = v->file_id;
	}
	ret = files_load_from(dir, objects, rt->pid, mapped, n, &rt->files);
	free(mapped);
	return ret;
}

/* The removed cwds and roots that are file objects (shared with other
 * processes or threads), needed by the task, so that cryo makes each
 * once. */
static int need_dirs(struct restore_task *rt)
{
	const TaskCore *core = rt->core;
	char who[48];
	int ret = 0;

	snprintf(who, sizeof(who), "pid %d", core->pid);
	if (core->has_cwd_file)
		ret = files_need_dir(rt->files, core->cwd_file, who, "cwd");
	if (!ret && core->has_root_file)
		ret = files_need_dir(rt->files, core->root_file, who, "root");
	for (size_t i = 0; !ret && i < core->n_threads; i++) {
		const ThreadFs *fs = core->threads[i]->fs;

		if (!fs)
			continue;
		snprintf(who, sizeof(who), "pid %d thread %d", core->pid, core->threads[i]->tid);
		if (fs->has_cwd_file)
			ret = files_need_dir(rt->files, fs->cwd_file, who, "cwd");
		if (!ret && fs->has_root_file)
			ret = files_need_dir(rt->files, fs->root_file, who, "root");
	}
	return ret;
}

/* The core must tell the same story as pstree.img. */
static int check_against_tree(const struct restore_task *rt, const struct tree_task *t)
{
	const TaskCore *core = rt->core;
	bool same = core->pgid == t->pgid && core->sid == t->sid &&
		    core->exit_signal == t->exit_signal && core->n_threads == t->nr_threads &&
		    (t->parent < 0 || core->ppid == t->ppid);

	for (size_t i = 0; same && i < core->n_threads; i++)
		same = core->threads[i]->tid == t->threads[i];
	if (!same) {
		image_error(rt->core_img->path, 0, "pid %d: parent, group, session, exit signal "
			    "or threads differ from pstree.img", rt->pid);
		return -EBADMSG;
	}
	return 0;
}

/* fd 0 is a valid fd: a process's fds that are not there are -1. */
static void restore_task_init_fds(struct restore_task *rt)
{
	rt->ghost_root_fd = -1;
	rt->fs_wait_fd = rt->fs_members_fd = rt->fs_signal_fd = -1;
}

static int load_task(const struct image_dir *dir, const struct image *objects,
		     const struct tree_task *t, long possible_cpus, struct restore_task *rt)
{
	int ret;

	rt->pid = t->pid;
	rt->host_pid = t->pid;
	ret = read_core(dir, rt);
	if (!ret)
		ret = check_against_tree(rt, t);
	if (!ret)
		ret = task_check_sched(rt->core, possible_cpus);
	if (!ret)
		ret = mm_load(dir, rt->pid, &rt->mm);
	if (!ret)
		ret = restore_check_registers(rt->core_img->path, rt->core, rt->mm);
	if (!ret)
		ret = load_files(dir, objects, rt);
	if (!ret)
		ret = need_dirs(rt);
	if (!ret)
		ret = pages_reader_open(dir, rt->pid, &rt->pages);
	if (!ret)
		rt->pages_cold = restore_pages_cold(rt->pages->pages_fd[0]);
	return ret;
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* A process that shares fs info with its parent was saved with the same
 * cwd, root and umask: both enter the cwd again, and only the first of the
 * group its root (restore/shared_fs.c). */
static int check_shared_fs(const struct restore_set *rs)
{
	for (size_t i = 0; i < rs->tree.nr; i++) {
		const struct tree_task *t = &rs->tree.tasks[i];
		const TaskCore *c, *p;

		if (!t->shares_fs)
			continue;
		c = rs->tasks[i].core;
		p = rs->tasks[t->parent].core;
		if (!same_text(c->cwd, p->cwd) || !same_text(c->root, p->root) ||
		    c->umask != p->umask || !c->root_ghost != !p->root_ghost ||
		    c->cwd_is_root != p->cwd_is_root) {
			image_error(rs->tasks[i].core_img->path, 0, "pid %d shares fs info with its "
				    "parent %d, but its cwd, root or umask differ", t->pid, p->pid);
			return -EBADMSG;
		}
	}
	return 0;
}

/* A process that shares its parent's fd table saved the same fds: the
 * table is restored once, by the first of the group. */
static int check_shared_files(const struct restore_set *rs)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (rs->tree.tasks[i].shares_files)
			ret = files_share_table(rs->tasks[i].files,
						rs->tasks[rs->tree.tasks[i].parent].files);
	return ret;
}

/* The fd tables of the live processes, for what spans them all. */
static int list_files_imgs(struct restore_set *rs)
{
	rs->files_imgs = calloc(rs->tree.nr + 1, sizeof(*rs->files_imgs));
	if (!rs->files_imgs)
		return -ENOMEM;
	for (size_t i = 0; i < rs->tree.nr; i++)
		if (rs->tasks[i].files)
			rs->files_imgs[rs->nr_files_imgs++] = rs->tasks[i].files;
	return 0;
}

/* Every SysV mapping of every process names a saved segment. */
static int load_sysv_shm(const struct image_dir *dir, struct restore_set *rs)
{
	int ret = sysv_shm_load(dir, &rs->sysv);

	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		const Mm *mm = rs->tasks[i].mm;

		for (size_t j = 0; mm && !ret && j < mm->n_vmas; j++)
			if (mm->vmas[j]->kind == VMA__KIND__SYSV_SHM)
				ret = sysv_shm_check_vma(rs->sysv, rs->tasks[i].pid, mm->vmas[j]);
	}
	return ret;
}

/* The pages files the restorers will hash as they read them. */
static int verify_set(const struct image_dir *dir, const Inventory *inv, bool pages_in_restorer,
		      struct restore_set *rs)
{
	struct image_deferred_digest *deferred = NULL;
	char (*names)[64] = NULL;
	size_t n = 0;
	int ret;

	if (pages_in_restorer && !inv->has_mac) {
		deferred = calloc(PAGES_FILES_MAX * rs->tree.nr + 1, sizeof(*deferred));
		names = calloc(PAGES_FILES_MAX * rs->tree.nr + 1, sizeof(*names));
		if (!deferred || !names) {
			free(deferred);
			free(names);
			return -ENOMEM;
		}
		for (size_t i = 0; i < rs->tree.nr; i++) {
			if (!rs->tasks[i].pages || rs->tasks[i].pages_chained)
				continue;
			for (uint32_t f = 0; f < rs->tasks[i].pages->nr_files; f++) {
				image_file_name(pages_file_kind(f), rs->tasks[i].pid, names[n],
						sizeof(names[n]));
				deferred[n].name = names[n];
				n++;
			}
		}
	}
	ret = image_set_verify(dir, inv, deferred, n);
	for (size_t i = 0, d = 0; !ret && i < rs->tree.nr; i++) {
		struct restore_task *rt = &rs->tasks[i];

		if (!rt->pages || rt->pages_chained || d >= n)
			continue;
		/* Unlisted, it was refused above; listed, it has its digest. */
		rt->pages_verify = true;
		for (uint32_t f = 0; f < rt->pages->nr_files; f++, d++) {
			rt->pages_verify &= deferred[d].listed;
			rt->pages_size[f] = deferred[d].size;
			memcpy(rt->pages_digest[f], deferred[d].xxh3, sizeof(rt->pages_digest[f]));
		}
	}
	free(deferred);
	free(names);
	return ret;
}

/* Pages left in parent image sets (criu's parent links): each parent
 * checked whole, then each such task's store made whole, before the
 * copy-on-write plan reads the stores. */
static int load_chain(const struct image_dir *dir, const Inventory *inv,
		      const struct sign_key *key, struct restore_set *rs)
{
	struct pages_chain chain;
	int ret = pages_chain_open(dir, inv, key, &chain);

	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		struct restore_task *rt = &rs->tasks[i];

		if (!rt->pages)
			continue;
		ret = pages_chain_resolve(&chain, dir, rt->pages, rt->pid, &rt->pages_chained);
		if (rt->pages_chained)
			rt->pages_cold = false;
	}
	if (!ret && chain.nr)
		pr_info("restore: %zu parent image sets checked, the nearest %s", chain.nr,
			chain.dirs[0]->path);
	pages_chain_close(&chain);
	return ret;
}

int restore_load(struct image_dir *dir, const struct sign_key *key, bool shell_job,
		 bool pages_in_restorer, struct net_run *net, struct restore_set *rs)
{
	long possible_cpus = sysconf(_SC_NPROCESSORS_CONF);
	struct image *inv_img;
	const Inventory *inv;
	int ret;

	memset(rs, 0, sizeof(*rs));
	rs->shell_job = shell_job;
	rs->report_fd = rs->gate_fd[0] = rs->gate_fd[1] = rs->tree_mnt_fd = -1;
	rs->devpts_fd = rs->files_env.root_fd = -1;
	rs->net = net;
	rs->files_env.tcp_close = net->tcp_close;
	ret = read_inventory(dir, key, net, &inv_img);
	if (ret)
		return ret;
	inv = (const Inventory *)inv_img->records[0].msg;
	rs->signed_set = inv->has_mac;
	if (inv->pre_dump) {
		pr_err("restore: %s is a pre-dump (memory only): restore the dump made with "
		       "--prev-images-dir naming it", dir->path);
		image_free(inv_img);
		return -EINVAL;
	}
	ret = tree_load(dir, inv->root_pid, shell_job, &rs->tree);
	if (ret) {
		image_free(inv_img);
		return ret;
	}
	restore_prefetch_images(dir, &rs->tree);
	rs->tasks = calloc(rs->tree.nr, sizeof(*rs->tasks));
	if (!rs->tasks) {
		pr_err("restore: out of memory for %zu processes", rs->tree.nr);
		ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		restore_task_init_fds(&rs->tasks[i]);
	if (!ret)
		ret = files_objects_read(dir, &rs->file_objects);
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (rs->tree.tasks[i].state == TREE_ALIVE)
			ret = load_task(dir, rs->file_objects, &rs->tree.tasks[i], possible_cpus,
					&rs->tasks[i]);
	if (!ret)
		ret = load_chain(dir, inv, key, rs);
	if (!ret)
		ret = restore_cow_plan(rs);
	if (!ret)
		ret = check_shared_fs(rs);
	if (!ret)
		ret = check_shared_files(rs);
	if (!ret)
		ret = list_files_imgs(rs);
	if (!ret)
		ret = restore_check_pidfds(rs);
	if (!ret)
		ret = files_locks_load(dir, rs->files_imgs, rs->nr_files_imgs, &rs->locks);
	if (!ret)
		ret = ipc_ns_load(dir, &rs->ipc_ns);
	if (!ret)
		ret = net_ns_load(dir, &rs->net_ns);
	if (!ret)
		ret = load_sysv_shm(dir, rs);
	if (!ret)
		ret = mnt_load(dir, &rs->mnts);
	if (!ret)
		ret = ns_own_load(dir, &rs->own_ns);
	if (!ret)
		ret = ns_user_load(dir, &rs->userns);
	if (!ret)
		ret = ns_cgroup_load(dir, &rs->cgroup_ns);
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		rs->tasks[i].userns = rs->userns;
	/* The tree's own cgroups' settings, used by --manage-cgroups. */
	if (!ret && !faccessat(dir->fd, "cgroups.img", F_OK, 0))
		ret = image_read(dir, IMG_CGROUPS, 0, &rs->cgroup_img);
	if (!ret && !faccessat(dir->fd, "cgroups_v1.img", F_OK, 0))
		ret = image_read(dir, IMG_CGROUPS_V1, 0, &rs->cgroup_v1_img);
	/* Every file is the one the dump wrote, checked once each was read and
	 * found well formed, so that a damaged one is named by its own check. */
	if (!ret)
		ret = verify_set(dir, inv, pages_in_restorer, rs);
	image_free(inv_img);
	if (ret)
		restore_unload(rs);
	return ret;
}

static void unload_task(struct restore_task *rt)
{
	if (rt->pages)
		pages_reader_close(rt->pages);
	if (rt->files)
		files_image_free(rt->files);
	if (rt->mm)
		mm_free(rt->mm);
	if (rt->core_img)
		image_free(rt->core_img);
}

void restore_unload(struct restore_set *rs)
{
	restore_cow_unplan(rs);
	files_locks_free(rs->locks);
	free(rs->files_imgs);
	for (size_t i = 0; rs->tasks && i < rs->tree.nr; i++)
		unload_task(&rs->tasks[i]);
	free(rs->tasks);
	image_free(rs->file_objects);
	rs->file_objects = NULL;
	sysv_shm_free(rs->sysv);
	mnt_free(rs->mnts);
	if (rs->tree_mnt_fd >= 0)
		close(rs->tree_mnt_fd);
	if (rs->files_env.root_fd >= 0)
		close(rs->files_env.root_fd);
	free(rs->files_env.pipes);
	for (size_t i = rs->externals_own_from; i < rs->externals.nr_mnt; i++) {
		free(rs->externals.mnt[i].key);
		free(rs->externals.mnt[i].val);
	}
	/* The namespaces' inherit_fd keys are the set's own too. */
	for (size_t i = 0; i < rs->externals.nr_ns_fd; i++) {
		free(rs->externals.ns_fd[i].key);
		free(rs->externals.ns_fd[i].val);
	}
	rs->externals.nr_ns_fd = 0;
	ipc_ns_free(rs->ipc_ns);
	net_ns_free(rs->net_ns);
	ns_user_free(rs->userns);
	rs->userns = NULL;
	ns_cgroup_free(rs->cgroup_ns);
	rs->cgroup_ns = NULL;
	if (rs->cgroup_img)
		image_free(rs->cgroup_img);
	if (rs->cgroup_v1_img)
		image_free(rs->cgroup_v1_img);
	tree_free(&rs->tree);
	memset(rs, 0, sizeof(*rs));
}
