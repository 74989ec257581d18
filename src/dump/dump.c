/* `cryo dump`: seize the tree → collect each process → write → release.
 * What only a process can see comes first, through the parasite; files
 * and memory follow once it is gone (it would show in both), with no
 * remote code at all. Whatever fails, every process is cured and released
 * untouched; only a complete dump ends with inventory.img, and only then
 * are the processes killed (unless -R). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/log.h"
#include "dump/blobs.h"
#include "dump/dump.h"
#include "files/files.h"
#include "mem/mm.h"
#include "net/net.h"
#include "parasite/commands.h"
#include "task/task.h"
#include "tree/freezer.h"
#include "tree/tree.h"

static void inject_log(enum inj_log_level level, const char *message)
{
	log_msg((enum log_level)level, "dump: %s", message);
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

static int collect_and_write(struct dump_ctx *ctx, struct inj_task *task)
{
	pid_t pid = inj_task_pid(task);
	TaskCore core = TASK_CORE__INIT;
	struct mm_dump_opts mm_opts = { .scan = PAGESCAN_AUTO, .have_brk = true,
					.files = ctx->files };
	struct image_dir *dir = ctx->dir;
	int ret;

	ret = collect_inside(task, &core, &mm_opts.brk);
	/* Files before memory: a mapped memfd or deleted file the task also
	 * has an fd of is saved once, with the fd's file object. Neither may
	 * run while the parasite is there: it would show in both, and its
	 * channel (a unix socket) among the task's fds. */
	if (!ret)
		ret = files_dump(ctx->files, pid, ctx->opts->shell_job);
	if (!ret)
		ret = mm_dump_with(task, dir, &mm_opts);
	/* ptrace reads need every thread stopped: after the cure. */
	if (!ret)
		ret = task_dump_ptrace_attrs(task, &core);
	if (!ret)
		ret = dump_regs(task, &core);
	if (!ret)
		ret = write_core(dir, pid, &core);
	dump_regs_free(&core);
	task_core_free_attrs(&core);
	return ret;
}

/* The files of the dump: a pidfd may refer to any process of the tree,
 * zombies included. */
static int start_files(struct dump_ctx *ctx)
{
	pid_t *pids;
	size_t n;
	int ret = tree_pids(ctx->tree, false, &pids, &n);

	if (!ret)
		ret = files_dump_start(ctx->dir, pids, n, &ctx->files);
	free(pids);
	return ret;
}

/* files.img and the locks of the live processes, once every process is
 * collected. */
static int finish_files(struct dump_ctx *ctx)
{
	pid_t *pids;
	size_t n;
	int ret = tree_pids(ctx->tree, true, &pids, &n);

	if (!ret)
		ret = files_dump_finish(ctx->files, pids, n);
	free(pids);
	return ret;
}

static int dump_tree(struct dump_ctx *ctx)
{
	struct tree *tree = ctx->tree;
	int ret = tree_read_namespaces(tree);

	if (!ret)
		ret = tree_check(tree, ctx->opts->shell_job);
	if (!ret)
		ret = dump_shared_memory(tree, ctx->dir);
	if (!ret)
		ret = tree_find_sharing(tree);
	if (!ret)
		ret = start_files(ctx);

	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			ret = collect_and_write(ctx, tree->tasks[i].inj);
	if (!ret)
		ret = finish_files(ctx);
	if (!ret)
		ret = tree_write(tree, ctx->dir);
	if (!ret)
		ret = dump_write_inventory(ctx->dir, ctx->opts->pid, !ctx->opts->leave_running);
	files_dump_free(ctx->files);
	ctx->files = NULL;
	return ret;
}

int cmd_dump(const struct cryo_opts *opts)
{
	struct image_dir *dir = NULL;
	struct dump_ctx ctx;
	struct freezer fz;
	struct tree tree;
	int ret, thawed;
	size_t nr;

	if (!opts->pid || !opts->images_dir) {
		pr_err("dump: %s is required (cryo dump -t PID -D DIR)",
		       opts->pid ? "-D DIR" : "-t PID");
		return 1;
	}
	inj_set_log(inject_log);
	if (cryo_notify(opts, "pre-dump", opts->pid))
		return 1;
	ret = image_dir_create(opts->images_dir, &dir);
	if (ret)
		return 1;
	freezer_freeze(opts->pid, &fz);
	/* The injection library has said why (no such process, a thread, ...). */
	ret = tree_seize(opts->pid, &tree);
	/* Seized tasks stay stopped; the parasite needs them thawed. */
	thawed = freezer_thaw(&fz);
	if (!ret && thawed) {
		tree_release(&tree, false);
		ret = thawed;
	}
	if (ret) {
		freezer_restore(&fz);
		goto out;
	}
	nr = tree.nr;
	/* Each connection is locked as it is dumped (net/tcp_conn.c). */
	ret = net_lock_begin(opts->network_lock_skip ? NET_LOCK_SKIP : NET_LOCK_NFTABLES);
	if (!ret)
		ret = cryo_notify(opts, "network-lock", opts->pid);
	ctx = (struct dump_ctx){ .opts = opts, .dir = dir, .tree = &tree };
	net_tcp_dump_begin(opts->tcp_established);
	if (!ret)
		ret = dump_tree(&ctx);
	if (!ret && cryo_notify(opts, "post-dump", opts->pid)) {
		/* A dump its caller refused must not look complete. */
		char name[64];

		if (!image_file_name(IMG_INVENTORY, 0, name, sizeof(name)))
			unlinkat(dir->fd, name, 0);
		ret = -ECANCELED;
	}
	if (ret)
		pr_err("dump: pid %d: dump failed (%s); %s left running", opts->pid,
		       strerror(-ret), nr > 1 ? "every process of the tree was" : "the process was");
	/* Connections the tree keeps leave repair mode before it runs; those
	 * of a killed tree stay in it until it is dead, and close silently. */
	if (ret || opts->leave_running)
		net_tcp_dump_end(true);
	freezer_restore(&fz);
	/* Killed (unless -R) while still stopped, so that none runs past the images. */
	tree_release(&tree, !ret && !opts->leave_running);
	net_tcp_dump_end(false);
	/* A killed tree's connections stay locked until their restore. */
	net_lock_end(!ret && !opts->leave_running);
	if (ret || opts->leave_running)
		cryo_notify(opts, "network-unlock", opts->pid);
	if (!ret)
		pr_info("dump: pid %d and %zu more processes dumped into %s", opts->pid, nr - 1,
			opts->images_dir);
out:
	/* A failed dump leaves none of its files (its log aside). */
	if (ret)
		image_dir_remove_written(dir);
	image_dir_close(dir);
	return ret ? 1 : 0;
}
