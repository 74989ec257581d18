/* The tree in pstree.img, and the rules that make it restorable: what a
 * dump refuses up front and what a restore checks again before it creates
 * anything. Sessions can only be inherited or made with setsid(), so each
 * process is a session leader, in its parent's session, or in the session
 * its parent left by setsid() after forking it. A process
 * group exists in one session; one whose leader has exited gets a helper
 * at restore, made by the parent of its first member. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/pstree.pb-c.h"
#include "tree/tree.h"

int tree_find(const struct tree *tree, pid_t pid)
{
	for (size_t i = 0; i < tree->nr; i++)
		if (tree->tasks[i].pid == pid)
			return (int)i;
	return -1;
}

void tree_free(struct tree *tree)
{
	for (size_t i = 0; i < tree->nr; i++)
		free(tree->tasks[i].threads);
	free(tree->tasks);
	memset(tree, 0, sizeof(*tree));
}

bool tree_in_callers_group(const struct tree *tree, const struct tree_task *t, bool shell_job)
{
	const struct tree_task *root = &tree->tasks[0];

	return shell_job && root->sid != root->pid && t->pgid == root->pgid;
}

static int check_session(const struct tree *tree, const struct tree_task *t, bool shell_job,
			 const char *who)
{
	const struct tree_task *parent;

	if (t->sid == t->pid)
		return 0;
	if (t->parent < 0) {
		if (shell_job)
			return 0;
		pr_err("%s: pid %d is in session %d of another process: use -j/--shell-job to "
		       "leave it in the caller's session", who, t->pid, t->sid);
		return -EINVAL;
	}
	parent = &tree->tasks[t->parent];
	if (t->sid == parent->sid)
		return 0;
	/* Forked before its parent called setsid(): restore creates it first,
	 * in the session the parent was made in, its grandparent's. */
	if (parent->sid == parent->pid && parent->parent >= 0 &&
	    t->sid == tree->tasks[parent->parent].sid)
		return 0;
	pr_err("%s: pid %d is in session %d, but its parent %d is in session %d and was not "
	       "made in it: that session cannot be made again", who, t->pid, t->sid,
	       parent->pid, parent->sid);
	return -EOPNOTSUPP;
}

static int check_group(const struct tree *tree, const struct tree_task *t, bool shell_job,
		       const char *who)
{
	int leader;

	if (t->pgid == t->pid || tree_in_callers_group(tree, t, shell_job))
		return 0;
	leader = tree_find(tree, t->pgid);
	if (leader < 0)
		return 0;	/* a helper will hold the group */
	if (tree->tasks[leader].sid != t->sid || tree->tasks[leader].pgid != t->pgid) {
		pr_err("%s: pid %d is in process group %d, whose leader is in another session "
		       "or group", who, t->pid, t->pgid);
		return -EINVAL;
	}
	return 0;
}

static int check_rules(const struct tree *tree, bool shell_job, const char *who)
{
	for (size_t i = 0; i < tree->nr; i++) {
		const struct tree_task *t = &tree->tasks[i];
		int ret = check_session(tree, t, shell_job, who);

		if (!ret)
			ret = check_group(tree, t, shell_job, who);
		if (ret)
			return ret;
	}
	return 0;
}

int tree_check(const struct tree *tree, bool shell_job)
{
	return check_rules(tree, shell_job, "dump");
}

int tree_write(const struct tree *tree, struct image_dir *dir)
{
	struct image_writer *w = NULL;
	int ret = image_open_write(dir, IMG_PSTREE, 0, &w);

	for (size_t i = 0; !ret && i < tree->nr; i++) {
		const struct tree_task *t = &tree->tasks[i];
		PstreeEntry e = PSTREE_ENTRY__INIT;
		NsIds ns = NS_IDS__INIT;

		e.pid = t->pid;
		e.ppid = t->ppid;
		e.pgid = t->pgid;
		e.sid = t->sid;
		e.exit_signal = t->exit_signal;
		e.state = t->state == TREE_ZOMBIE ? PSTREE_ENTRY__STATE__ZOMBIE :
						     PSTREE_ENTRY__STATE__ALIVE;
		e.has_exit_status = t->state == TREE_ZOMBIE;
		e.exit_status = t->exit_status;
		if (t->state == TREE_ZOMBIE)
			e.comm = (char *)t->comm;
		e.n_threads = t->nr_threads;
		e.threads = (int32_t *)t->threads;
		e.has_shares_fs = t->shares_fs;
		e.shares_fs = t->shares_fs;
		e.has_shares_files = t->shares_files;
		e.shares_files = t->shares_files;
		ns_ids_to_image(&t->ns, &ns);
		e.ns = &ns;
		e.has_own_proc = i == 0 && tree->own_proc;
		e.own_proc = e.has_own_proc;
		ret = image_write_record(w, &e.base);
	}
	if (ret) {
		if (w)
			image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* ---- restore ----------------------------------------------------------------- */

/* Namespace ids, when the image has them: never 0, and every process in
 * the root's namespaces, the only ones dump allows until namespaces are
 * restored. */
static int check_namespaces(const struct image *img, size_t i)
{
	const PstreeEntry *e = (const PstreeEntry *)img->records[i].msg;
	const PstreeEntry *root = (const PstreeEntry *)img->records[0].msg;
	struct ns_ids ids, root_ids;
	int k = ns_ids_zero_in_image(e->ns);

	if (k >= 0) {
		image_error(img->path, img->records[i].offset, "pid %d: %s namespace id 0", e->pid,
			    ns_kind_name(k));
		return -EBADMSG;
	}
	ns_ids_from_image(e->ns, &ids);
	ns_ids_from_image(root->ns, &root_ids);
	k = ns_ids_differ(&ids, &root_ids);
	if (k >= 0) {
		image_error(img->path, img->records[i].offset, "pid %d: its %s namespace "
			    "(%s:[%llu]) is not the root's (%s:[%llu]): namespaces are not restored "
			    "yet", e->pid, ns_kind_name(k), ns_kind_name(k),
			    (unsigned long long)ids.ino[k], ns_kind_name(k),
			    (unsigned long long)root_ids.ino[k]);
		return -EBADMSG;
	}
	return 0;
}

/* A group or session outside the pid namespace the dump ran in (a clone's
 * root in the caller's, with -j) reads as 0 there: only the root's group and
 * session may be so, as the caller's, and a group outside is in a session
 * outside. */
static bool outside_not_the_callers(const struct image *img, const PstreeEntry *e)
{
	const PstreeEntry *root = (const PstreeEntry *)img->records[0].msg;

	return (e->sid == 0 && root->sid != 0) || (e->pgid == 0 && root->pgid != 0) ||
	       (e->pgid == 0 && e->sid != 0);
}

int pstree_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	(void)id;
	if (!img->nr_records) {
		image_error(img->path, 0, "no process");
		return -EBADMSG;
	}
	for (size_t i = 0; i < img->nr_records; i++) {
		const PstreeEntry *e = (const PstreeEntry *)img->records[i].msg;
		size_t off = img->records[i].offset;
		bool zombie = e->state == PSTREE_ENTRY__STATE__ZOMBIE;

		if (e->pid <= 0 || e->ppid < 0 || e->pgid < 0 || e->sid < 0) {
			image_error(img->path, off, "pid %d, parent %d, group %d, session %d: not "
				    "process ids", e->pid, e->ppid, e->pgid, e->sid);
			return -EBADMSG;
		}
		if (outside_not_the_callers(img, e)) {
			image_error(img->path, off, "pid %d: group %d, session %d: a group or "
				    "session outside the dump's pid namespace (0) is the root's, "
				    "and a group outside is in a session outside", e->pid,
				    e->pgid, e->sid);
			return -EBADMSG;
		}
		if (e->exit_signal > 64) {
			image_error(img->path, off, "pid %d: exit signal %u", e->pid, e->exit_signal);
			return -EBADMSG;
		}
		if (zombie != e->has_exit_status || zombie != !e->n_threads) {
			image_error(img->path, off, "pid %d: a zombie has an exit status and no "
				    "threads, a live process threads and no exit status", e->pid);
			return -EBADMSG;
		}
		if (e->comm && (!zombie || strlen(e->comm) >= sizeof(((struct tree_task *)0)->comm))) {
			image_error(img->path, off, "pid %d: a name is kept for a zombie only, "
				    "and has at most 15 bytes", e->pid);
			return -EBADMSG;
		}
		if (zombie && (e->shares_fs || e->shares_files)) {
			image_error(img->path, off, "pid %d: a zombie shares no fs info or "
				    "fd table", e->pid);
			return -EBADMSG;
		}
		if (!zombie && e->threads[0] != e->pid) {
			image_error(img->path, off, "pid %d: its first thread is %d, not the leader",
				    e->pid, e->threads[0]);
			return -EBADMSG;
		}
		for (size_t j = 0; j < e->n_threads; j++) {
			if (e->threads[j] <= 0) {
				image_error(img->path, off, "pid %d: thread id %d", e->pid,
					    e->threads[j]);
				return -EBADMSG;
			}
		}
		if (e->own_proc && (i || e->pid != 1)) {
			image_error(img->path, off, "pid %d: only a root that is pid 1 has a /proc "
				    "of its own", e->pid);
			return -EBADMSG;
		}
		if (check_namespaces(img, i))
			return -EBADMSG;
	}
	return 0;
}

/* Every pid and tid once; every parent an earlier live process. */
static int link_tasks(struct tree *tree, const char *path)
{
	for (size_t i = 0; i < tree->nr; i++) {
		struct tree_task *t = &tree->tasks[i];

		for (size_t j = 0; j < i; j++) {
			const struct tree_task *o = &tree->tasks[j];

			for (size_t a = 0; a < t->nr_threads + 1; a++) {
				pid_t id = a ? t->threads[a - 1] : t->pid;

				for (size_t b = 0; b < o->nr_threads + 1; b++)
					if (id == (b ? o->threads[b - 1] : o->pid)) {
						image_error(path, 0, "id %d is used twice", id);
						return -EBADMSG;
					}
			}
		}
		t->parent = i ? tree_find(tree, t->ppid) : -1;
		if (i && (t->parent < 0 || (size_t)t->parent >= i ||
			  tree->tasks[t->parent].state != TREE_ALIVE)) {
			image_error(path, 0, "pid %d: its parent %d is not a live process listed "
				    "before it", t->pid, t->ppid);
			return -EBADMSG;
		}
		if (!i && (t->shares_fs || t->shares_files)) {
			image_error(path, 0, "pid %d: the root shares fs info or its fd table "
				    "with a parent outside the dump", t->pid);
			return -EBADMSG;
		}
	}
	return 0;
}

/* A helper for each group whose leader is not in the tree, just before
 * the first member, with the member's parent. */
static int add_helpers(struct tree *tree, bool shell_job)
{
	for (size_t i = 1; i < tree->nr; i++) {
		struct tree_task *t = &tree->tasks[i], helper;
		struct tree_task *tasks;

		if (t->pgid == t->pid || tree_in_callers_group(tree, t, shell_job) ||
		    tree_find(tree, t->pgid) >= 0)
			continue;
		helper = (struct tree_task){
			.pid = t->pgid,
			.ppid = t->ppid,
			.pgid = t->pgid,
			.sid = t->sid,
			.state = TREE_HELPER,
			.exit_signal = t->exit_signal,
			.parent = t->parent,
		};
		tasks = reallocarray(tree->tasks, tree->nr + 1, sizeof(*tasks));
		if (!tasks)
			return -ENOMEM;
		tree->tasks = tasks;
		memmove(&tasks[i + 1], &tasks[i], (tree->nr - i) * sizeof(*tasks));
		tasks[i] = helper;
		tree->nr++;
		/* Parents after @i moved one place on. */
		for (size_t j = i + 1; j < tree->nr; j++)
			if (tasks[j].parent >= (int)i)
				tasks[j].parent++;
		i++;
	}
	return 0;
}

static int copy_entries(const struct image *img, struct tree *tree)
{
	tree->tasks = calloc(img->nr_records, sizeof(*tree->tasks));
	if (!tree->tasks)
		return -ENOMEM;
	for (size_t i = 0; i < img->nr_records; i++) {
		const PstreeEntry *e = (const PstreeEntry *)img->records[i].msg;
		struct tree_task *t = &tree->tasks[tree->nr++];

		*t = (struct tree_task){
			.pid = e->pid,
			.ppid = e->ppid,
			.pgid = e->pgid,
			.sid = e->sid,
			.state = e->state == PSTREE_ENTRY__STATE__ZOMBIE ? TREE_ZOMBIE : TREE_ALIVE,
			.exit_signal = e->exit_signal,
			.exit_status = e->exit_status,
			.shares_fs = e->has_shares_fs && e->shares_fs,
			.shares_files = e->has_shares_files && e->shares_files,
		};
		ns_ids_from_image(e->ns, &t->ns);
		if (e->comm)
			snprintf(t->comm, sizeof(t->comm), "%s", e->comm);
		t->threads = malloc((e->n_threads + 1) * sizeof(*t->threads));
		if (!t->threads)
			return -ENOMEM;
		/* A zombie has no threads, and protobuf-c no array for them. */
		if (e->n_threads)
			memcpy(t->threads, e->threads, e->n_threads * sizeof(*t->threads));
		t->nr_threads = e->n_threads;
	}
	return 0;
}

int tree_load(const struct image_dir *dir, pid_t root, bool shell_job, struct tree *tree)
{
	struct image *img;
	int ret;

	memset(tree, 0, sizeof(*tree));
	ret = image_read(dir, IMG_PSTREE, 0, &img);
	if (ret)
		return ret;
	ret = copy_entries(img, tree);
	if (!ret)
		tree->own_proc = ((const PstreeEntry *)img->records[0].msg)->own_proc;
	if (!ret && (tree->tasks[0].pid != root || tree->tasks[0].state != TREE_ALIVE)) {
		image_error(img->path, 0, "the first process is %d, not the live root %d",
			    tree->tasks[0].pid, root);
		ret = -EBADMSG;
	}
	if (!ret)
		ret = link_tasks(tree, img->path);
	if (!ret)
		ret = check_rules(tree, shell_job, "restore");
	if (!ret)
		ret = add_helpers(tree, shell_job);
	if (ret == -ENOMEM)
		pr_err("restore: out of memory for the process tree");
	image_free(img);
	if (ret)
		tree_free(tree);
	return ret;
}

int tree_pids(const struct tree *tree, bool live_only, pid_t **pids, size_t *nr)
{
	*nr = 0;
	*pids = calloc(tree->nr + 1, sizeof(**pids));
	if (!*pids) {
		pr_err("dump: out of memory for the pids of %zu processes", tree->nr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < tree->nr; i++)
		if (!live_only || tree->tasks[i].state == TREE_ALIVE)
			(*pids)[(*nr)++] = tree->tasks[i].pid;
	return 0;
}

static const struct image_kind_desc tree_kinds[] = {
	{ IMG_PSTREE, "pstree", "pstree.img", &pstree_entry__descriptor, pstree_check },
};

const struct image_kind_set tree_image_kinds = { "tree", tree_kinds, ARRAY_SIZE(tree_kinds) };
