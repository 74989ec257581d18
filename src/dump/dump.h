/* The dump journey: seize the task, collect its state, write the images,
 * release it. Each collector lives with its part (mem, files, task); this
 * folder only orders them and owns the CPU registers and the inventory. */
#ifndef CRYO_DUMP_H
#define CRYO_DUMP_H

#include <stdbool.h>

#include "images/image.h"
#include "images/sign.h"
#include "images/proto/core.pb-c.h"
#include "inject/inject.h"
#include "mem/track.h"
#include "tree/tree.h"

struct mnt_caller;

struct cryo_opts;
struct files_dump_set;
struct stats;

/* One dump, made by cmd_dump() and passed down to every part that
 * collects: what would otherwise be kept between calls in statics. */
struct precopy;
struct precopy_task;

struct dump_ctx {
	const struct cryo_opts *opts;
	struct image_dir *dir;
	struct tree *tree;
	/* The file objects of every process (files.h), written once at the
	 * end. */
	struct files_dump_set *files;
	/* --sign-key: the inventory is signed with it; NULL: unsigned. */
	const struct sign_key *sign_key;
	/* What the dump did, for --display-stats and the progress line. */
	struct stats *stats;
	/* cryo's own mounts, what the tree's are compared with. */
	const struct mnt_caller *mnt_caller;
	/* TCP connections and the network lock (net/net.h). */
	struct net_run *net;
	/* The pre-copy pass's state (mem/precopy.h); NULL: none. */
	struct precopy *precopy;
	/* The tree's cgroups, read once after the seize (task/cgroup_seen.h). */
	struct cgroup_seen *cgroups;
	/* Incremental dumps (predump.c): a pre-dump, the parent set, and
	 * write tracking from the parent and for the next. */
	struct dump_lineage *lineage;
	/* Parents' and siblings' mappings, read once (mem/cow.h). */
	struct cow_maps_cache *cow_maps;
	/* The page buffers each task's memory dump borrows (mem/page_batch.h). */
	struct page_batch_pool *page_buffers;
};

/* process.c: every live process of @ctx's tree, seized, each in two
 * halves: the parasite and ptrace on this thread, then files and memory,
 * on a second thread where the process shares nothing a later parasite
 * would show in. Returns once every process is done or the dump failed. */
int dump_processes(struct dump_ctx *ctx);
/* Whether @t's parent is a live, seized process of the dump; whether @t
 * has live children in it. */
bool dump_live_parent(const struct tree *tree, const struct tree_task *t);
bool dump_live_children(const struct tree *tree, const struct tree_task *t);

/* predump.c: criu's pre-dump and --prev-images-dir. A pre-dump saves the
 * pages stores of the tree (pagemaps, pages, per-page digests) and leaves
 * it running; a dump or pre-dump with a parent set leaves every page that
 * equals the parent's digest at its address in the parent. */
struct dump_lineage {
	bool pre_dump;
	/* The parent set, open (NULL: none), its dump id. */
	struct image_dir *parent;
	uint8_t parent_id[IMG_DUMP_ID_SIZE];
	/* Write tracking (mem/track.h): taken from the parent's holder, and
	 * armed for the next set by a pre-dump or a -R dump with --track-mem
	 * (a dump that ends its tree has no next). */
	struct track track;
};

/* Opens --prev-images-dir (relative to @dir, as criu's) when given, checks
 * it is a set of the tree at @root_pid, points DIR/parent at it, and takes
 * its write trackers from their holder. A parent that cannot serve is
 * said and not used: every page is saved, as criu does. */
int dump_lineage_open(const struct cryo_opts *opts, struct image_dir *dir,
		      struct dump_lineage *out);
void dump_lineage_close(struct dump_lineage *l);
/* The pre-dump's collection: each live process's pages store. */
int pre_dump_tree(struct dump_ctx *ctx);

/* regs.c: fills regs, xstate and sigmask of every ThreadCore of @core
 * (with @pt, its pre-copy state: precopy_fix_restart()). */
int dump_regs(struct inj_task *task, TaskCore *core, const struct precopy_task *pt);
void dump_regs_free(TaskCore *core);

struct net_run;
/* inventory.c: writes inventory.img, last, once everything else is written;
 * it lists @net's locked connections, and with @hold_lock hands the lock
 * over to one that outlives the dump. */
int dump_write_inventory(struct image_dir *dir, pid_t root_pid, struct net_run *net,
			 bool hold_lock, const struct sign_key *key,
			 const struct dump_lineage *lineage);

/* shared_memory.c: saves the SysV segments the live processes of @tree
 * have attached (with @whole_ipc_namespace, those nobody attaches in the
 * tree's own IPC namespace too, which cryo is in), or refuses those
 * restore could not make again. */
int dump_shared_memory(const struct tree *tree, bool whole_ipc_namespace, struct image_dir *dir);

/* pid_ns.c: a tree in a pid namespace below cryo's (its root that
 * namespace's init or not) is dumped by a child of cryo's inside it, running
 * @dump with the root's pid there: *@done is then set and @dump's exit
 * code returned; *@done stays false for a tree in cryo's pid namespace.
 * -errno when it cannot be dumped (said). */
int dump_below_pid_ns(const struct cryo_opts *opts, const struct mnt_caller *caller,
		      int (*dump)(const struct cryo_opts *opts, const struct mnt_caller *caller),
		      bool *done);

#endif
