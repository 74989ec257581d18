/* The process tree: which processes a dump holds and how they hang
 * together (parents, sessions, process groups, zombies). At dump it is
 * found by seizing from the root down; it is saved in pstree.img; at
 * restore it says who creates whom, who calls setsid() and setpgid(), and
 * which short-lived helpers stand in for group leaders that have exited. */
#ifndef CRYO_TREE_TREE_H
#define CRYO_TREE_TREE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "images/image.h"
#include "ns/ns.h"

struct inj_task;

enum tree_state {
	TREE_ALIVE = 1,
	TREE_ZOMBIE = 2,
	/* Restore only: a process made to hold a process group whose
	 * leader had exited; it leaves once the members have joined. */
	TREE_HELPER = 3,
};

struct tree_task {
	pid_t pid, ppid, pgid, sid;
	enum tree_state state;
	uint32_t exit_signal;
	int exit_status;	/* a zombie's wait status */
	int parent;		/* index of the parent; -1 for the root */
	pid_t *threads;		/* a live process's tids, the leader first */
	size_t nr_threads;
	struct inj_task *inj;	/* dump: the seized process; NULL for zombies */
	bool shares_fs;		/* its fs info is its parent's (CLONE_FS) */
	bool shares_files;	/* its fd table is its parent's (CLONE_FILES) */
	bool shares_mm;		/* dump: another process uses its mm (CLONE_VM) */
	int stop_signal;	/* dump: its job-control stop's signal; 0: it ran */
	bool stop_known;	/* dump: its parent is in the tree and was asked: */
	bool stop_reported;	/* whether the parent has waited for that stop */
	struct ns_ids ns;	/* its namespaces; all 0 from an image without them */
	char comm[16];		/* a zombie's name (a live one's is in its core) */
};

/* Parents always come before their children, children in the order the
 * kernel lists them (helpers, at restore, just before the first process
 * that joins their group). */
struct tree {
	struct tree_task *tasks;
	size_t nr;
	/* The root is pid 1 of its own pid namespace and its mount namespace
	 * has a /proc of that namespace (pstree.img's own_proc). */
	bool own_proc;
};

/* ---- dump -------------------------------------------------------------------- */

/* Seizes @root and everything below it, each process before its children
 * are read, so that nothing forks unseen. Zombies are noted, not seized.
 * Gives up with -ETIMEDOUT at @deadline (CLOCK_MONOTONIC; NULL: never),
 * naming the thread that did not stop. On failure nothing stays seized
 * (but a thread that never stopped: inj_seize_until()). */
int tree_seize(pid_t root, const struct timespec *deadline, struct tree *tree);

/* Kills the live processes when @kill (a complete dump), then lets every
 * one go, waits (30 s at most) until those killed are dead, zombies or
 * gone, and frees the tree. */
void tree_release(struct tree *tree, bool kill);

/* Refuses, with the reason, a tree whose sessions and groups restore
 * cannot build again. With @shell_job the root may belong to the caller's
 * session and group. */
int tree_check(const struct tree *tree, bool shell_job);

/* Sets shares_fs and shares_files of each process whose fs info or fd
 * table is its parent's (kcmp), and refuses, with the reason, what restore
 * cannot share again: fs info or an fd table shared with a process outside
 * the tree, or by two processes but not through their parent, or fs info
 * under a chroot (share.c). */
int tree_find_sharing(struct tree *tree);

/* Whether live process @i shares an fd table or an mm with another
 * process of the tree, where a parasite in one shows in the other
 * (share.c; after tree_find_sharing()). */
bool tree_task_shares_inside(const struct tree *tree, size_t i);

/* Notes which live processes are in a job-control stop and, for those
 * whose parent is in the tree, whether the parent has seen the stop yet
 * (a waitid with WNOWAIT run in the parent, which changes nothing). A stop
 * that some threads were seized in and others not is refused (stops.c). */
int tree_read_stops(struct tree *tree);
/* --leave-stopped: puts every live process not in a stop already into one
 * by SIGSTOP, while it is still held, so that it stays stopped once let go
 * (a SIGCONT continues it, its parent's waitpid(WUNTRACED) sees the stop).
 * On failure those stopped run on again (stops.c). */
int tree_stop(struct tree *tree);
/* Reads the namespaces of every process into its ns, and refuses, naming
 * the process and the namespace, a tree any of whose processes is in a
 * namespace other than cryo's (namespaces.c). */
int tree_read_namespaces(struct tree *tree);

int tree_write(const struct tree *tree, struct image_dir *dir);

/* ---- restore ----------------------------------------------------------------- */

/* Reads pstree.img, checks it against the inventory's @root and adds the
 * helpers that the process groups need. */
int tree_load(const struct image_dir *dir, pid_t root, bool shell_job, struct tree *tree);
void tree_free(struct tree *tree);

/* Whether @t stays in the process group of the caller's shell, as the
 * root of a shell job (-j) and the members of its group do. */
bool tree_in_callers_group(const struct tree *tree, const struct tree_task *t, bool shell_job);

/* The index of @pid, or -1. */
int tree_find(const struct tree *tree, pid_t pid);

/* The pids of the tree in its order (only the live ones with @live_only),
 * in a new array the caller frees; -ENOMEM, said, when there is no room. */
int tree_pids(const struct tree *tree, bool live_only, pid_t **pids, size_t *nr);

/* The check of pstree.img for the image registry. */
int pstree_check(const struct image *img, const struct image_dir *dir, int id);
/* pstree.img, with that check, for the image registry. */
extern const struct image_kind_set tree_image_kinds;

#endif
