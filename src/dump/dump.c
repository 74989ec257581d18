/* `cryo dump`: seize the tree → collect each process → write → release.
 * What only a process can see comes first, through the parasite; files
 * and memory follow once it is gone (it would show in both), with no
 * remote code at all: each process's two halves are process.c's. Whatever
 * fails, every process is cured and released untouched; only a complete
 * dump ends with inventory.img, and only then are the processes killed
 * (unless -R). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "dump/dump.h"
#include "files/files.h"
#include "mem/cow.h"
#include "mem/mm.h"
#include "mem/page_batch.h"
#include "mem/precopy.h"
#include "mem/track.h"
#include "net/net.h"
#include "ns/cgroup_ns.h"
#include "ns/ipc.h"
#include "ns/mnt.h"
#include "ns/net.h"
#include "ns/ns.h"
#include "ns/user.h"
#include "stats/stats.h"
#include "task/cgroup_plan.h"
#include "task/cgroup_seen.h"
#include "task/cgroup_settings.h"
#include "task/cpuinfo.h"
#include "task/task.h"
#include "tree/freezer.h"
#include "tree/tree.h"

static void inject_log(enum inj_log_level level, const char *message)
{
	log_msg((enum log_level)level, "dump: %s", message);
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
	if (!ret && ctx->opts->ext_unix_sk)
		files_dump_allow_external_unix(ctx->files);
	if (!ret && ctx->opts->skip_in_flight)
		files_dump_skip_in_flight(ctx->files);
	if (!ret && ctx->opts->orphan_pts_master)
		files_dump_allow_orphan_pts(ctx->files);
	if (!ret) {
		files_dump_set_ghost_limit(ctx->files, ctx->opts->ghost_limit);
		if (ctx->opts->link_remap)
			files_dump_allow_link_remap(ctx->files);
		if (ctx->opts->evasive_devices)
			files_dump_allow_evasive_devices(ctx->files);
		files_dump_set_tree_devpts(ctx->files, ctx->opts->tree_devpts);
		files_dump_set_net(ctx->files, ctx->net);
	}
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

static size_t count_alive_tasks(const struct tree *tree)
{
	size_t n = 0;

	for (size_t i = 0; i < tree->nr; i++)
		n += tree->tasks[i].state == TREE_ALIVE;
	return n;
}

/* Anonymous (and with @shmem, shared) memory the live processes have
 * resident; shared pages count twice. */
static uint64_t resident_bytes(const struct tree *tree, bool shmem)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < tree->nr; i++) {
		char path[64], line[128];
		unsigned long long kib;
		FILE *f;

		if (tree->tasks[i].state != TREE_ALIVE)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/status", tree->tasks[i].pid);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "RssAnon: %llu", &kib) == 1 ||
			    (shmem && sscanf(line, "RssShmem: %llu", &kib) == 1))
				bytes += kib * 1024;
		if (f)
			fclose(f);
	}
	return bytes;
}

/* For the progress line: what the dump will write, about. */
static void estimate_bytes(const struct tree *tree, struct stats *st)
{
	st->bytes_total += resident_bytes(tree, true);
	st->bytes_total_estimated = true;
}

static int lock_connections(struct net_run *net, const struct tree *tree)
{
	pid_t *pids = calloc(tree->nr ? tree->nr : 1, sizeof(*pids));
	size_t nr = 0;
	int ret;

	if (!pids)
		return -ENOMEM;
	for (size_t i = 0; i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			pids[nr++] = tree->tasks[i].pid;
	ret = net_lock_tree(net, pids, nr);
	free(pids);
	return ret;
}

/* The tree's own mounts (mnt.img); a process with a file on one that
 * --skip-mnt leaves out is refused. */
static int dump_mounts(struct dump_ctx *ctx)
{
	struct tree *tree = ctx->tree;
	struct mnt_skipped skipped = { 0 };
	int ret = mnt_dump(ctx->mnt_caller, tree->tasks[0].pid, tree->tasks[0].ns.ino[NS_MNT],
			   ctx->dir, &skipped);

	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			ret = mnt_skipped_check(&skipped, tree->tasks[i].pid);
	mnt_skipped_free(&skipped);
	return ret;
}

static int dump_tree(struct dump_ctx *ctx)
{
	struct tree *tree = ctx->tree;
	struct stats *st = ctx->stats;
	struct cgroup_seen cgroups = { 0 };
	int ret = tree_read_namespaces(tree), ipc_back = -1, net_back = -1;
	uint64_t t;

	st->tasks_all = count_alive_tasks(tree);
	if (st->progress)
		estimate_bytes(tree, st);
	if (!ret)
		ret = tree_check(tree, ctx->opts->shell_job);
	if (!ret)
		ret = cgroup_seen_read(tree, &cgroups);
	ctx->cgroups = &cgroups;
	if (!ret)
		ret = dump_mounts(ctx);
	/* A tree's own network namespace: cryo stays inside to the end, so
	 * that sock_diag sees its sockets. */
	if (!ret)
		ret = net_ns_dump(tree, ctx->dir, ctx->opts->empty_ns & CLONE_NEWNET,
				  &ctx->opts->externals, &net_back);
	/* Its connections are then locked by a table of that namespace. */
	if (!ret && net_back >= 0)
		ret = net_lock_enter_netns(ctx->net);
	t = stats_begin(st, STATS_DUMP_MEMORY);
	/* A tree's own IPC namespace: cryo is inside while it saves the
	 * segments. */
	if (!ret)
		ret = ipc_ns_dump(tree->tasks[0].pid, ctx->dir, &ipc_back);
	if (!ret)
		ret = dump_shared_memory(tree, ipc_back >= 0, ctx->dir);
	if (ipc_back >= 0 && ipc_ns_dump_leave(ipc_back) && !ret)
		ret = -EIO;
	stats_end(st, STATS_DUMP_MEMORY, t);
	if (!ret)
		ret = tree_find_sharing(tree);
	if (!ret)
		ret = start_files(ctx);
	if (!ret)
		ret = cow_maps_cache_new(&ctx->cow_maps);
	/* Before any parasite: it runs in the parents it asks. */
	if (!ret)
		ret = tree_read_stops(tree);

	/* Every connection of the tree locked in one run, before any is
	 * put in repair mode or read. */
	if (!ret)
		ret = lock_connections(ctx->net, tree);
	if (!ret)
		ret = dump_processes(ctx);
	/* files.img and locks.img, written once for the whole dump. */
	t = stats_begin(st, STATS_DUMP_FILES);
	if (!ret)
		ret = finish_files(ctx);
	stats_end(st, STATS_DUMP_FILES, t);
	t = stats_begin(st, STATS_DUMP_WRITING);
	if (!ret)
		ret = tree_write(tree, ctx->dir);
	if (!ret)
		ret = ns_own_dump(tree->tasks[0].pid, &tree->tasks[0].ns, ctx->dir);
	if (!ret)
		ret = ns_user_dump(tree->tasks[0].pid, &tree->tasks[0].ns, ctx->dir);
	if (!ret)
		ret = ns_cgroup_dump(tree->tasks[0].pid, &tree->tasks[0].ns, ctx->dir);
	if (!ret)
		ret = cgroup_settings_dump(tree, &cgroups, ctx->dir, ctx->opts->cgroup_plan);
	if (!ret)
		ret = cgroup_v1_dump(tree, &cgroups, ctx->dir, ctx->opts->cgroup_plan);
	/* A pre-copy dump's pages stores are only written after the release. */
	if (!ret && !ctx->precopy)
		ret = dump_write_inventory(ctx->dir, ctx->opts->pid, ctx->net,
					   !ctx->opts->leave_running, ctx->sign_key, ctx->lineage);
	stats_end(st, STATS_DUMP_WRITING, t);
	files_dump_free(ctx->files);
	ctx->files = NULL;
	cow_maps_cache_free(ctx->cow_maps);
	ctx->cow_maps = NULL;
	cgroup_seen_free(&cgroups);
	ctx->cgroups = NULL;
	if (net_back >= 0 && net_ns_dump_leave(net_back) && !ret)
		ret = -EIO;
	return ret;
}

/* Freezes (with the tree's cgroup v2 freezer where it has one) and seizes
 * the tree; on failure nothing stays frozen or seized. */
static void timer_fired(int sig)
{
	(void)sig;
}

/* SIGALRM at @seconds from now, then every 100 ms (one cannot fall between
 * a check of the deadline and a blocking wait unseen), without SA_RESTART,
 * so that a wait blocked past the deadline returns; 0 seconds: disarmed,
 * the handler in @old put back. */
static void arm_seize_timer(int seconds, struct sigaction *old)
{
	struct itimerval t = { .it_value = { seconds, 0 }, .it_interval = { 0, 100000 } };
	struct sigaction sa = { .sa_handler = timer_fired };

	if (!seconds) {
		setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
		sigaction(SIGALRM, old, NULL);
		return;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, old);
	setitimer(ITIMER_REAL, &t, NULL);
}

static int seize_tree(const struct cryo_opts *opts, struct freezer *fz, struct tree *tree)
{
	int ret, thawed, seconds = opts->timeout_s > 0 ? opts->timeout_s : DUMP_TIMEOUT_S;
	struct timespec deadline;
	struct sigaction old;

	/* criu's --timeout bounds the freeze and the seizing together. */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += seconds;
	arm_seize_timer(seconds, &old);
	if (opts->freeze_cgroup && opts->freeze_fd >= 0)
		freezer_freeze_given(opts->pid, opts->freeze_fd, opts->freeze_path, &deadline, fz);
	else
		freezer_freeze(opts->pid, &deadline, fz);
	/* The injection library has said why (no such process, a thread, ...). */
	ret = tree_seize(opts->pid, &deadline, tree);
	arm_seize_timer(0, &old);
	/* Checked while the cgroup is still frozen: nothing joins it now. */
	if (!ret && opts->freeze_given_fd >= 0) {
		ret = freezer_check_members(opts->freeze_given_fd, opts->freeze_cgroup, tree);
		if (ret)
			tree_release(tree, false);
	}
	if (ret == -ETIMEDOUT)
		pr_err("dump: pid %d: the tree did not stop within --timeout %d s; every process "
		       "was let go and runs on", opts->pid, seconds);
	/* Seized tasks stay stopped; the parasite needs them thawed. */
	thawed = freezer_thaw(fz);
	if (!ret && thawed) {
		tree_release(tree, false);
		ret = thawed;
	}
	if (ret)
		freezer_restore(fz);
	return ret;
}

static bool wants_pre_copy(const struct cryo_opts *opts, const struct tree *tree)
{
	if (!opts->leave_running || opts->pre_copy < 0)
		return false;
	return opts->pre_copy > 0 || resident_bytes(tree, false) >= PRECOPY_MIN_BYTES;
}

/* The frozen span of a dump: the tree is stopped from @since, and was for
 * @before already in the pre-copy's first freeze. */
struct frozen_span {
	uint64_t since, before;
};

/* The pre-copy pass (mem/precopy.h): arms write tracking in the seized
 * tree, lets it run while every page is copied, then seizes it again.
 * Returns with the tree seized, and *@out NULL when no process could be
 * armed (nothing else changed). On failure *@held says whether the tree is
 * still seized. */
static int pre_copy(const struct cryo_opts *opts, struct image_dir *dir, struct freezer *fz,
		    struct tree *tree, struct stats *st, struct frozen_span *frozen,
		    struct page_batch_pool *page_buffers, struct precopy **out, bool *held)
{
	struct precopy *pc;
	int ret = precopy_new(dir, page_buffers, &pc);
	uint64_t t;

	*held = true;
	for (size_t i = 0; !ret && i < tree->nr; i++) {
		const struct tree_task *task = &tree->tasks[i];

		if (task->state == TREE_ALIVE)
			ret = precopy_arm(pc, task->inj, dump_live_parent(tree, task),
					  dump_live_parent(tree, task) ||
						  dump_live_children(tree, task));
	}
	if (ret || !precopy_armed(pc)) {
		precopy_free(pc);
		return ret;
	}
	freezer_restore(fz);
	tree_release(tree, false);
	frozen->before = stats_now() - frozen->since;
	t = stats_begin(st, STATS_DUMP_MEMORY);
	precopy_first_pass(pc);
	stats_end(st, STATS_DUMP_MEMORY, t);
	pr_info("dump: pid %d: pre-copy: %zu processes armed, stopped %llu ms; their pages copied "
		"while they ran in %llu ms", opts->pid, precopy_armed(pc),
		(unsigned long long)frozen->before / 1000000,
		(unsigned long long)(stats_now() - t) / 1000000);
	frozen->since = t = stats_begin(st, STATS_DUMP_FREEZING);
	ret = seize_tree(opts, fz, tree);
	stats_end(st, STATS_DUMP_FREEZING, t);
	if (ret) {
		*held = false;
		precopy_free(pc);
		return ret;
	}
	*out = pc;
	return 0;
}

/* Lets the tree go: killed (unless -R, or the dump failed) while still
 * stopped, so that none runs past the images. With @inventory_due (the
 * inventory comes after: pre-copy) its connections flow again, but the
 * network lock keeps their list for the inventory. */
static void release_tree(const struct cryo_opts *opts, struct net_run *net, struct freezer *fz,
			 struct tree *tree, struct stats *st, const struct frozen_span *frozen,
			 int ret, bool inventory_due)
{
	/* Connections the tree keeps leave repair mode before it runs; those
	 * of a killed tree stay in it until it is dead, and close silently. */
	if (ret || opts->leave_running)
		net_tcp_dump_end(net, true);
	/* -s: stopped while still held; the images are whole either way. */
	if (!ret && opts->leave_stopped && tree_stop(tree))
		pr_err("dump: pid %d: the images are complete, but the tree could not be left "
		       "stopped (--leave-stopped): it runs on", opts->pid);
	freezer_restore(fz);
	tree_release(tree, !ret && !opts->leave_running);
	st->frozen_ns = frozen->before + stats_now() - frozen->since;
	net_tcp_dump_end(net, false);
	/* A killed tree's connections stay locked until their restore. */
	if (inventory_due)
		net_lock_lift(net);
	else
		net_lock_end(net, !ret && !opts->leave_running);
	if (ret || opts->leave_running)
		cryo_notify(opts, "network-unlock", opts->pid);
}

/* A pre-copy dump, once its tree runs again: the pages stores, then the
 * inventory that makes the set complete. */
static int finish_pre_copy(struct dump_ctx *ctx)
{
	uint64_t t = stats_begin(ctx->stats, STATS_DUMP_WRITING);
	int ret = precopy_finish(ctx->precopy, ctx->stats);

	if (!ret)
		ret = dump_write_inventory(ctx->dir, ctx->opts->pid, ctx->net, false, ctx->sign_key,
					   ctx->lineage);
	stats_end(ctx->stats, STATS_DUMP_WRITING, t);
	return ret;
}

static int dump_here(const struct cryo_opts *opts, const struct mnt_caller *caller)
{
	struct image_dir *dir = NULL;
	struct precopy *pc = NULL;
	struct frozen_span frozen = { 0 };
	struct sign_key key;
	struct net_run net = { .tcp_established = opts->tcp_established,
			       .tcp_close = opts->tcp_close };
	struct dump_lineage lineage = { 0 };
	struct page_batch_pool page_buffers = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct dump_ctx ctx;
	struct freezer fz;
	struct tree tree;
	struct stats st;
	bool held = true, released = false;
	uint64_t t;
	int ret;
	size_t nr;

	inj_set_log(inject_log);
	if (cryo_notify(opts, "pre-dump", opts->pid))
		return 1;
	/* A bad key is refused before the tree is touched. */
	if (opts->sign_key && sign_key_load(opts->sign_key, &key))
		return 1;
	ret = opts->root && opts->images_dir_fd >= 0 ?
		      image_dir_create_fd(opts->images_dir_fd, opts->images_dir, &dir) :
		      image_dir_create(opts->images_dir, &dir);
	if (ret) {
		sign_key_forget(&key);
		return 1;
	}
	/* The writers take each file's digest as they write it. */
	dir->digest_kind = opts->sign_key ? IMG_DIGEST_BLAKE2B_256 : IMG_DIGEST_XXH3_128;
	lineage.pre_dump = opts->pre_dump;
	if (dump_lineage_open(opts, dir, &lineage)) {
		dump_lineage_close(&lineage);
		image_dir_close(dir);
		sign_key_forget(&key);
		return 1;
	}
	stats_init(&st, STATS_DUMP);
	progress_start(&st, opts->quiet);
	/* criu's --cpu-cap: this CPU, for restore to compare (not with none). */
	if (!opts->cpu_cap_given || opts->cpu_cap != CPU_CAP_NONE) {
		ret = cpuinfo_dump(dir);
		if (ret)
			goto out;
	}
	frozen.since = t = stats_begin(&st, STATS_DUMP_FREEZING);
	ret = seize_tree(opts, &fz, &tree);
	stats_end(&st, STATS_DUMP_FREEZING, t);
	if (ret)
		goto out;
	/* Tracking for the next set is armed in the final freeze instead. */
	if (!opts->pre_dump && !lineage.parent && !lineage.track.rearm &&
	    wants_pre_copy(opts, &tree))
		ret = pre_copy(opts, dir, &fz, &tree, &st, &frozen, &page_buffers, &pc, &held);
	if (!held)
		goto out;
	nr = tree.nr;
	/* The tree's connections are locked before the files are dumped
	 * (lock_connections()), any other as it is dumped (net/tcp_conn.c). */
	if (!ret)
		ret = net_lock_begin(&net, opts->network_lock);
	if (!ret)
		ret = cryo_notify(opts, "network-lock", opts->pid);
	ctx = (struct dump_ctx){ .opts = opts, .dir = dir, .tree = &tree, .stats = &st,
				 .sign_key = opts->sign_key ? &key : NULL, .mnt_caller = caller,
				 .net = &net, .precopy = pc, .lineage = &lineage,
				 .page_buffers = &page_buffers };
	if (!ret)
		ret = opts->pre_dump ? pre_dump_tree(&ctx) : dump_tree(&ctx);
	/* Pre-copy: the tree runs on while its pages are merged. */
	if (!ret && pc) {
		release_tree(opts, &net, &fz, &tree, &st, &frozen, ret, true);
		released = true;
		ret = finish_pre_copy(&ctx);
		net_lock_end(&net, false);
	}
	/* criu's statistics, for its RPC clients: before post-dump, after which
	 * a tree with a pid namespace of its own takes this dumper with it. */
	if (!ret && opts->criu_stats) {
		if (!released)
			st.frozen_ns = frozen.before + stats_now() - frozen.since;
		stats_write_criu(&st, opts->criu_stats_fd);
	}
	if (!ret && cryo_notify(opts, "post-dump", opts->pid)) {
		/* A dump its caller refused must not look complete. */
		char name[64];

		if (!image_file_name(IMG_INVENTORY, 0, name, sizeof(name)))
			unlinkat(dir->fd, name, 0);
		ret = -ECANCELED;
	}
	/* Only a complete set is a parent: its trackers go to the holder. */
	if (!ret)
		track_commit(&lineage.track, dir);
	if (ret)
		pr_err("dump: pid %d: dump failed (%s); %s left running", opts->pid,
		       strerror(-ret), nr > 1 ? "every process of the tree was" : "the process was");
	if (!released)
		release_tree(opts, &net, &fz, &tree, &st, &frozen, ret, false);
	if (!ret)
		pr_info("dump: pid %d and %zu more processes dumped into %s", opts->pid, nr - 1,
			opts->images_dir);
out:
	precopy_free(pc);
	page_batch_pool_free(&page_buffers);
	dump_lineage_close(&lineage);
	/* A failed dump leaves none of its files (its log aside). */
	if (ret)
		image_dir_remove_written(dir);
	/* Closing syncs the images to the disk. */
	t = stats_begin(&st, STATS_DUMP_WRITING);
	image_dir_close(dir);
	stats_end(&st, STATS_DUMP_WRITING, t);
	progress_stop(&st);
	if (!ret && stats_report(&st, opts->display_stats, opts->stats_file))
		ret = -EIO;
	sign_key_forget(&key);
	return ret ? 1 : 0;
}

/* criu's root and freeze_cgroup (RPC): the tree's root folder, and a
 * freezer cgroup, or the dump is refused naming them. */
static int check_runtime_opts(struct cryo_opts *opts, const struct mnt_caller *caller)
{
	char path[64];
	struct stat st;
	bool v2;
	int dir;

	snprintf(path, sizeof(path), "/proc/%d/root", opts->pid);
	if (opts->root && (stat(path, &st) || st.st_dev != caller->root_dev ||
			   st.st_ino != caller->root_ino)) {
		pr_err("dump: pid %d: root %s (criu's root) is not its root folder", opts->pid,
		       opts->root);
		return -EINVAL;
	}
	if (!opts->freeze_cgroup)
		return 0;
	dir = open(opts->freeze_cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	v2 = dir >= 0 && !faccessat(dir, "cgroup.freeze", F_OK, 0);
	if (dir < 0 || (!v2 && faccessat(dir, "freezer.state", F_OK, 0))) {
		pr_err("dump: freeze_cgroup %s: not a cgroup with a freezer (freezer.state or "
		       "cgroup.freeze)", opts->freeze_cgroup);
		if (dir >= 0)
			close(dir);
		return -EINVAL;
	}
	/* Found here: the dumper runs in the tree's namespaces, whose cgroup
	 * mounts are the container's. */
	opts->freeze_given_fd = dir;
	opts->freeze_fd = freezer_find_given(opts->pid, opts->freeze_cgroup, opts->freeze_path,
					     sizeof(opts->freeze_path));
	if (opts->freeze_fd >= 0)
		return 0;
	pr_err("dump: pid %d: freeze_cgroup %s: cannot be frozen by cryo: it holds cryo, or "
	       "cryo may not write its %s", opts->pid, opts->freeze_cgroup,
	       v2 ? "cgroup.freeze" : "freezer.state");
	return -EOPNOTSUPP;
}

int cmd_dump(const struct cryo_opts *given)
{
	struct cgroup_dump_plan plan __attribute__((cleanup(cgroup_plan_free))) = { .root_fd = -1 };
	struct mnt_caller caller = { 0 };
	struct cryo_opts copy = *given, *opts = &copy;
	_cleanup_close_ int images_fd = -1;
	bool done = false;
	int ret;

	if (!opts->pid || !opts->images_dir) {
		pr_err("dump: %s is required (cryo dump -t PID -D DIR)",
		       opts->pid ? "-D DIR" : "-t PID");
		return 1;
	}
	/* -s keeps the tree as -R does, and stops it at the end. */
	if (copy.leave_stopped)
		copy.leave_running = true;
	/* criu's cgroup options, and its yard, before cryo enters any
	 * namespace of the tree. */
	if (cgroup_plan_make(opts, &plan))
		return 1;
	copy.cgroup_plan = &plan;
	/* What the tree's mounts are compared with, before cryo enters any
	 * namespace of the tree. */
	if (mnt_caller_snapshot(&caller) ||
	    mnt_caller_set_runtime(&caller, opts->root, opts->ext_mnt, opts->nr_ext_mnt)) {
		mnt_caller_free(&caller);
		return 1;
	}
	caller.skip = opts->skip_mnt;
	caller.nr_skip = opts->nr_skip_mnt;
	caller.enable_fs = opts->enable_fs;
	caller.nr_enable_fs = opts->nr_enable_fs;
	copy.freeze_fd = copy.freeze_given_fd = -1;
	if (check_runtime_opts(&copy, &caller)) {
		mnt_caller_free(&caller);
		if (copy.freeze_given_fd >= 0)
			close(copy.freeze_given_fd);
		return 1;
	}
	/* A container's dumper enters its root, where -D leads elsewhere. */
	copy.images_dir_fd = -1;
	if (opts->root) {
		if ((mkdir(opts->images_dir, 0700) && errno != EEXIST) ||
		    (images_fd = open(opts->images_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				      O_CLOEXEC)) < 0) {
			pr_err("dump: cannot open image directory %s: %s", opts->images_dir,
			       strerror(errno));
			mnt_caller_free(&caller);
			return 1;
		}
		copy.images_dir_fd = images_fd;
	}
	/* The write tracker's holder, born here in cryo's namespaces: a
	 * dumper inside the tree's pid namespace would give it that init as
	 * its parent, and the next dump would find it in the tree. */
	copy.track_holder_fd = -1;
	if (copy.track_mem && copy.leave_running && track_holder_spawn(&copy.track_holder_fd))
		pr_warn("dump: --track-mem: no holder for the write tracking; the next dump reads "
			"every page");
	ret = dump_below_pid_ns(opts, &caller, dump_here, &done);
	if (ret >= 0 && !done)
		ret = dump_here(opts, &caller);
	/* Without a commit, the holder sees the stream end and exits. */
	if (copy.track_holder_fd >= 0)
		close(copy.track_holder_fd);
	mnt_caller_free(&caller);
	if (copy.freeze_fd >= 0)
		close(copy.freeze_fd);
	if (copy.freeze_given_fd >= 0)
		close(copy.freeze_given_fd);
	return ret < 0 ? 1 : ret;
}
