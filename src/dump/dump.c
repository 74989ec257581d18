/* `cryo dump`: seize → collect → write → release. What only the task can
 * see comes first, through the parasite; files and memory follow once it is
 * gone (it would show in both), with no remote code at all. Whatever fails,
 * the task is cured and released untouched; only a complete dump ends with
 * inventory.img, and only then is the task killed (unless -R). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/log.h"
#include "dump/blobs.h"
#include "dump/dump.h"
#include "files/files.h"
#include "mem/mm.h"
#include "parasite/commands.h"
#include "task/task.h"

static void inject_log(enum inj_log_level level, const char *message)
{
	log_msg((enum log_level)level, "dump: %s", message);
}

/* Process trees come with a later change: refuse them clearly. */
static int check_supported(struct inj_task *task)
{
	pid_t pid = inj_task_pid(task);
	char path[64], buf[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n) {
		pr_err("dump: pid %d has child processes: process trees are not supported yet", pid);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int write_core(struct image_dir *dir, pid_t pid, TaskCore *core)
{
	struct image_writer *w;
	int ret = image_open_write(dir, IMG_CORE, pid, &w);

	if (ret)
		return ret;
	ret = image_write_record(w, &core->base);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* What only the task itself can tell, through the parasite. */
static int read_brk(struct inj_task *task, struct inj_parasite *parasite, uint64_t *brk)
{
	size_t len = 0;
	int ret = inj_parasite_call(parasite, PARASITE_CMD_BRK, NULL, 0, brk, sizeof(*brk), &len,
				    NULL);

	if (!ret && len != sizeof(*brk))
		ret = -EPROTO;
	if (ret)
		pr_err("dump: pid %d: cannot read the program break: %s", inj_task_pid(task),
		       strerror(-ret));
	return ret;
}

/* What only the task itself can tell, through the parasite; this goes
 * first, so that the rest needs no remote code in the task at all. */
static int collect_inside(struct inj_task *task, TaskCore *core, uint64_t *brk)
{
	struct inj_parasite *parasite;
	int ret, err;

	ret = inj_parasite_start(task, parasite_blob(), &parasite);
	if (ret)
		return ret;
	ret = task_dump_attrs(task, parasite, core);
	if (!ret)
		ret = read_brk(task, parasite, brk);
	err = inj_parasite_cure(parasite);
	return ret ? ret : err;
}

static int collect_and_write(struct inj_task *task, struct image_dir *dir,
			     const struct cryo_opts *opts)
{
	pid_t pid = inj_task_pid(task);
	TaskCore core = TASK_CORE__INIT;
	struct mm_dump_opts mm_opts = { .scan = PAGESCAN_AUTO, .have_brk = true };
	int ret;

	ret = check_supported(task);
	if (!ret)
		ret = collect_inside(task, &core, &mm_opts.brk);
	/* Files before memory: a mapped memfd or deleted file the task also
	 * has an fd of is saved once, with the fd's file object. Neither may
	 * run while the parasite is there: it would show in both. */
	if (!ret)
		ret = files_dump(pid, dir, opts->shell_job);
	if (!ret)
		ret = mm_dump_with(task, dir, &mm_opts);
	/* ptrace reads need every thread stopped: after the cure. */
	if (!ret)
		ret = task_dump_ptrace_attrs(task, &core);
	if (!ret)
		ret = dump_regs(task, &core);
	if (!ret)
		ret = write_core(dir, pid, &core);
	if (!ret)
		ret = dump_write_inventory(dir, pid);
	dump_regs_free(&core);
	task_core_free_attrs(&core);
	return ret;
}

int cmd_dump(const struct cryo_opts *opts)
{
	struct image_dir *dir = NULL;
	struct inj_task *task = NULL;
	int ret;

	if (!opts->pid || !opts->images_dir) {
		pr_err("dump: %s is required (cryo dump -t PID -D DIR)",
		       opts->pid ? "-D DIR" : "-t PID");
		return 1;
	}
	inj_set_log(inject_log);
	ret = image_dir_create(opts->images_dir, &dir);
	if (ret)
		return 1;
	/* The injection library has said why (no such process, a thread, ...). */
	ret = inj_seize(opts->pid, &task);
	if (ret)
		goto out;
	ret = collect_and_write(task, dir, opts);
	if (ret) {
		pr_err("dump: pid %d: dump failed (%s); the process was left running",
		       opts->pid, strerror(-ret));
	} else if (!opts->leave_running) {
		/* Killed while still frozen, so it runs no further than the images. */
		kill(opts->pid, SIGKILL);
	}
	if (inj_release(task) && !ret)
		pr_warn("dump: pid %d: could not restore every register while releasing it",
			opts->pid);
	if (!ret)
		pr_info("dump: pid %d dumped into %s", opts->pid, opts->images_dir);
out:
	image_dir_close(dir);
	return ret ? 1 : 0;
}
