/* criu's pre-dump and incremental dumps: the parent set a dump names with
 * --prev-images-dir (opened, checked to be the same tree's, linked as
 * DIR/parent), and the pre-dump's collection (pages stores only). Which
 * pages are left in the parent is mem/pagedump.c's; restoring a chain is
 * images/pages_chain.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "dump/dump.h"
#include "images/proto/inventory.pb-c.h"
#include "mem/mm.h"
#include "stats/stats.h"

/* The parent set's inventory: complete, the same tree, not signed with a
 * key this dump lacks. */
static int check_parent(const struct cryo_opts *opts, struct image_dir *parent, uint8_t *id)
{
	struct image *img;
	const Inventory *inv;
	int ret;

	if (faccessat(parent->fd, "inventory.img", F_OK, 0)) {
		pr_warn("dump: --prev-images-dir %s has no inventory.img (not a complete dump); "
			"every page is saved", parent->path);
		return -ENOENT;
	}
	ret = image_read(parent, IMG_INVENTORY, 0, &img);
	if (ret)
		return ret;
	inv = (const Inventory *)img->records[0].msg;
	if (!inv->has_dump_id || inv->dump_id.len != IMG_DUMP_ID_SIZE) {
		pr_warn("dump: --prev-images-dir %s: its inventory has no dump id (an older "
			"cryo's); every page is saved", parent->path);
		ret = -EBADMSG;
	} else if (inv->root_pid != opts->pid) {
		pr_warn("dump: --prev-images-dir %s is a dump of pid %d's tree, not of pid %d's; "
			"every page is saved", parent->path, inv->root_pid, opts->pid);
		ret = -EXDEV;
	} else {
		memcpy(id, inv->dump_id.data, IMG_DUMP_ID_SIZE);
		memcpy(parent->dump_id, id, IMG_DUMP_ID_SIZE);
		parent->has_dump_id = true;
	}
	image_free(img);
	return ret;
}

int dump_lineage_open(const struct cryo_opts *opts, struct image_dir *dir,
		      struct dump_lineage *out)
{
	const char *prev = opts->prev_images_dir;
	_cleanup_free_ char *path = NULL;
	struct image_dir *parent;

	out->track = (struct track){ .rearm = opts->track_mem && opts->leave_running &&
					      opts->track_holder_fd >= 0,
				     .holder_fd = opts->track_holder_fd };
	if (!prev)
		return 0;
	if (asprintf(&path, "%s/%s", dir->path, prev) < 0)
		return -ENOMEM;
	/* Relative to the set's own fd: a container's dumper has entered its
	 * mount namespace, where -D's path leads nowhere. */
	if (image_dir_open_at(dir->fd, prev, prev[0] == '/' ? prev : path, &parent)) {
		pr_warn("dump: --prev-images-dir %s: cannot open it; every page is saved", prev);
		return 0;
	}
	if (check_parent(opts, parent, out->parent_id)) {
		image_dir_close(parent);
		return 0;
	}
	/* criu's link from the set to its parent, which restore follows. */
	if ((unlinkat(dir->fd, "parent", 0) && errno != ENOENT) ||
	    symlinkat(prev, dir->fd, "parent")) {
		int err = -errno;

		pr_err("dump: cannot link %s/parent to %s: %s", dir->path, prev, strerror(-err));
		image_dir_close(parent);
		return err;
	}
	/* A failed dump leaves no link behind either. */
	if (image_dir_note_outside(dir, fcntl(dir->fd, F_DUPFD_CLOEXEC, 0), "parent")) {
		image_dir_close(parent);
		return -ENOMEM;
	}
	out->parent = parent;
	pr_info("dump: pid %d: parent image set %s; pages unchanged since it stay there",
		opts->pid, parent->path);
	/* Before the freeze: the holder answers while the tree runs. */
	return track_fetch(&out->track, parent, out->parent_id);
}

void dump_lineage_close(struct dump_lineage *l)
{
	/* The trackers not handed over end here (their registration too). */
	track_free(&l->track);
	if (l->parent)
		image_dir_close(l->parent);
	l->parent = NULL;
}

int pre_dump_tree(struct dump_ctx *ctx)
{
	struct tree *tree = ctx->tree;
	struct stats *st = ctx->stats;
	int ret = 0;
	uint64_t t = stats_begin(st, STATS_DUMP_MEMORY);

	for (size_t i = 0; !ret && i < tree->nr; i++) {
		struct mm_dump_opts mm_opts = { .scan = PAGESCAN_AUTO, .stats = st,
						.page_buffers = ctx->page_buffers,
						.parent_set = ctx->lineage->parent,
						.digests = true, .pages_only = true,
						/* Pinned reads would unshare what
						 * parent and children share. */
						.has_children = tree->nr > 1 };

		if (tree->tasks[i].state != TREE_ALIVE)
			continue;
		/* Armed before its pages are read: a write after the read
		 * clears the bit, so what is read is what an unwritten page
		 * still holds at the next dump. */
		ret = track_prepare(&ctx->lineage->track, tree->tasks[i].inj, &mm_opts.track);
		if (!ret)
			ret = mm_dump_with(tree->tasks[i].inj, ctx->dir, &mm_opts);
		if (!ret)
			stats_task_done(st, 0);
	}
	stats_end(st, STATS_DUMP_MEMORY, t);
	t = stats_begin(st, STATS_DUMP_WRITING);
	if (!ret)
		ret = dump_write_inventory(ctx->dir, ctx->opts->pid, ctx->net, false,
					   ctx->sign_key, ctx->lineage);
	stats_end(st, STATS_DUMP_WRITING, t);
	return ret;
}

int cmd_pre_dump(const struct cryo_opts *given)
{
	struct cryo_opts copy = *given;

	/* A pre-dump leaves the tree running, and copies while it is frozen. */
	copy.pre_dump = true;
	copy.leave_running = true;
	copy.leave_stopped = false;
	copy.pre_copy = -1;
	/* criu enforces memory tracking for a pre-dump, and so does cryo:
	 * the dump after it reads only the pages written since. */
	copy.track_mem = true;
	return cmd_dump(&copy);
}
