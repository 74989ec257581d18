/* Reads and validates every image of the task before anything is created:
 * restore refuses an incomplete, foreign or inconsistent image set up front,
 * so that a bad image never leaves a half-restored process behind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/log.h"
#include "files/files.h"
#include "images/proto/inventory.pb-c.h"
#include "inject/inject.h"
#include "mem/mm.h"
#include "restore/restore.h"

/* The selectors of 64-bit user code and stack on x86_64 Linux. */
#define USER_CS 0x33
#define USER_SS 0x2b
#define XSAVE_MIN_SIZE (512 + 64)

static int read_inventory(const struct image_dir *dir, pid_t *root_pid)
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
	if (uname(&uts) == 0 && strcmp(inv->arch, uts.machine)) {
		pr_err("restore: %s/inventory.img: dumped on %s, this machine is %s", dir->path,
		       inv->arch, uts.machine);
		ret = -EXDEV;
	}
	*root_pid = inv->root_pid;
	image_free(img);
	return ret;
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

/* The files (file objects) that the task's memfd and deleted-file
 * mappings map. */
static int load_files(const struct image_dir *dir, struct restore_task *rt)
{
	uint32_t *ids = calloc(rt->mm->n_vmas + 1, sizeof(*ids));
	size_t n = 0;
	int ret;

	if (!ids) {
		pr_err("restore: pid %d: out of memory", rt->pid);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rt->mm->n_vmas; i++)
		if (rt->mm->vmas[i]->has_file_id)
			ids[n++] = rt->mm->vmas[i]->file_id;
	ret = files_load(dir, rt->pid, ids, n, &rt->files);
	free(ids);
	return ret;
}

int restore_load(const struct image_dir *dir, struct restore_task *rt)
{
	int ret;

	memset(rt, 0, sizeof(*rt));
	ret = read_inventory(dir, &rt->pid);
	if (!ret)
		ret = read_core(dir, rt);
	if (!ret)
		ret = mm_load(dir, rt->pid, &rt->mm);
	if (!ret)
		ret = load_files(dir, rt);
	if (!ret)
		ret = pages_reader_open(dir, rt->pid, &rt->pages);
	if (ret)
		restore_unload(rt);
	return ret;
}

void restore_unload(struct restore_task *rt)
{
	if (rt->pages)
		pages_reader_close(rt->pages);
	if (rt->files)
		files_image_free(rt->files);
	if (rt->mm)
		mm_free(rt->mm);
	if (rt->core_img)
		image_free(rt->core_img);
	memset(rt, 0, sizeof(*rt));
}
