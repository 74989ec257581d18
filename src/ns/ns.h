/* Namespaces: which ones a task is in (the identity of each, read from
 * /proc/PID/ns/ at dump and saved in pstree.img), the rule that a dump
 * refuses a task outside cryo's own, entering a task's namespace for a
 * moment, creating a process in new namespaces with chosen pids, and
 * pids across pid namespaces. */
#ifndef CRYO_NS_NS_H
#define CRYO_NS_NS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <time.h>

#include "images/image.h"
#include "images/proto/ns.pb-c.h"

/* The links of /proc/PID/ns, in the order of NsIds's fields. */
enum ns_kind {
	NS_PID,
	NS_PID_FOR_CHILDREN,
	NS_MNT,
	NS_NET,
	NS_IPC,
	NS_UTS,
	NS_USER,
	NS_CGROUP,
	NS_TIME,
	NS_TIME_FOR_CHILDREN,
	NS_NR_KINDS
};

/* The inode number of each namespace of a task; 0 where it has none to
 * show (a kernel without that kind, or a zombie, which keeps only its pid
 * and user namespaces). */
struct ns_ids {
	uint64_t ino[NS_NR_KINDS];
	/* Dump only: a live task whose pid_for_children has no link yet,
	 * which is a pid namespace made by unshare(CLONE_NEWPID) whose first
	 * process (its init) was not forked yet. */
	bool pid_for_children_unborn;
};

/* "pid_for_children", as in /proc/PID/ns and in messages. */
const char *ns_kind_name(enum ns_kind kind);

/* Reads the namespaces of @pid (0: cryo itself); -errno without logging
 * when the process is gone. */
int ns_ids_read(pid_t pid, struct ns_ids *ids);
/* The same for thread @tid of @pid: a thread may unshare() namespaces of
 * its own (uts, net, ipc, ...), which the process's links do not show. */
int ns_ids_read_thread(pid_t pid, pid_t tid, struct ns_ids *ids);

/* The dump's rule until namespaces are restored: every namespace of @pid
 * (or of its thread @tid, when not 0) must be @want's, cryo's own (read with pid 0) but
 * for the exceptions the caller makes. Otherwise -EOPNOTSUPP, said as
 * "dump: pid 1234: in its own net namespace (net:[4026532]): network
 * namespaces are not supported yet". */
int ns_check_dumpable(pid_t pid, pid_t tid, const struct ns_ids *ids,
		      const struct ns_ids *want);

/* Whether @pid is in cryo's namespace of @kind; -errno (logged, naming
 * @who) when either cannot be read. */
int ns_same_as_cryo(pid_t pid, enum ns_kind kind, const char *who, bool *same);
/* For the dump of the tree's namespace of @kind (@nstype its CLONE_NEW*
 * flag): 0 when root @root is in cryo's (nothing to dump), else 1 once
 * cryo's thread is in it, *@back an fd of cryo's for ns_dump_leave() (-1
 * when it was in it already), @ids the root's, and @who naming it for
 * messages ("pid 12's IPC namespace (ipc:[N])"); -errno (logged). */
int ns_dump_enter(pid_t root, enum ns_kind kind, int nstype, struct ns_ids *ids, char *who,
		  size_t size, int *back);
/* Back into cryo's from there; -errno (logged). */
int ns_dump_leave(int back, enum ns_kind kind, int nstype);

/* ---- pstree.img --------------------------------------------------------- */

/* Fills @msg (NS_IDS__INIT'ed by the caller) from @ids; no allocation. */
void ns_ids_to_image(const struct ns_ids *ids, NsIds *msg);
/* Reads @msg (NULL: an image without namespaces, all 0) into @ids. */
void ns_ids_from_image(const NsIds *msg, struct ns_ids *ids);
/* The first kind @msg has with the value 0, which no namespace has; -1 if
 * none. */
int ns_ids_zero_in_image(const NsIds *msg);
/* The first kind both know and see different namespaces of; -1 if none. */
int ns_ids_differ(const struct ns_ids *a, const struct ns_ids *b);

/* ---- creating processes -------------------------------------------------- */

/* What ns_clone() makes: a process in new namespaces (@flags: CLONE_NEW*,
 * and CLONE_FS, CLONE_FILES, CLONE_PARENT to share with its parent) with
 * the pid @set_tid[0] in its own (innermost) pid namespace, @set_tid[1] in
 * the one above, and so on up to cryo's; @nr_set_tid 0 lets the kernel
 * choose. With CLONE_NEWPID the child is the first process of its new
 * namespace, so @set_tid[0] must be 1. */
struct ns_clone_args {
	uint64_t flags;
	int exit_signal;
	const pid_t *set_tid;
	size_t nr_set_tid;
};

/* The most pid namespace levels the kernel nests (MAX_PID_NS_LEVEL). */
#define NS_PID_LEVELS_MAX 32

/* clone3() with @args, as fork() returns: the child's pid as cryo sees it
 * in the parent, 0 in the child, -errno (not logged) on failure: EINVAL
 * for other flags or too many levels, EEXIST for a pid in
 * use, EPERM without the capability. */
pid_t ns_clone(const struct ns_clone_args *args);

/* ---- namespaces the tree has of its own (own.c, uts.c, time.c) ------------- */

/* utsns.img and timens.img (image.c). */
extern const struct image_kind_set ns_own_image_kinds;

#define NS_UTS_NAME_MAX 64
/* The largest clock value accepted, in seconds: about 292 years. */
#define NS_TIME_SEC_MAX (9223372036LL)

/* What restore makes again of the namespaces a tree had of its own: every
 * process of a dump shares the root's, which may be other than cryo's. */
struct ns_user_set;
struct ns_own {
	bool uts;
	char nodename[NS_UTS_NAME_MAX + 1], domainname[NS_UTS_NAME_MAX + 1];
	bool time;
	/* The tree's clocks at dump, as it saw them. */
	struct timespec monotonic, boottime;
	/* Restore: the tree's user namespace, which may own the UTS one. */
	const struct ns_user_set *userns;
};

/* At dump: writes utsns.img and timens.img for the namespaces of the root
 * @pid (@ids) that are not cryo's. */
int ns_own_dump(pid_t pid, const struct ns_ids *ids, struct image_dir *dir);
/* At restore: reads them (absent: the tree was in cryo's). */
int ns_own_load(const struct image_dir *dir, struct ns_own *own);
/* Whether @own asks for any namespace. */
bool ns_own_any(const struct ns_own *own);
/* In the process about to create the root: makes the namespaces @own
 * says, filled, for the root to be created in (a new UTS namespace the
 * caller enters too; a new time namespace for its children, its offsets
 * set so that the clocks go on from where they were). With @back, the
 * caller's own namespaces are kept there for ns_own_go_back(); -errno,
 * logged. */
struct ns_own_back {
	int uts, time;	/* fds of the caller's namespaces; -1: not left */
};
int ns_own_make(const struct ns_own *own, struct ns_own_back *back);
/* Back into the namespaces @back kept, whatever happened. */
int ns_own_go_back(struct ns_own_back *back);
/* uts.c and time.c: one kind each. */
int ns_uts_dump(pid_t pid, struct image_dir *dir);
int ns_uts_load(const struct image_dir *dir, struct ns_own *own);
int ns_uts_make(const struct ns_own *own);
int ns_time_dump(pid_t pid, struct image_dir *dir);
int ns_time_load(const struct image_dir *dir, struct ns_own *own);
int ns_time_make(const struct ns_own *own);

/* ---- joining existing namespaces (join.c) ----------------------------------- */

struct ns_externals;
/* Whether @fd is a namespace of @type (CLONE_NEW*); -EINVAL (logged,
 * naming @what) if not. */
int ns_join_check(int fd, int type, const char *what);
/* An fd of the namespace of @kind (of @type) to join, checked; -ENOENT
 * when none is to be joined; another -errno (logged) on failure. */
int ns_join_open(const struct ns_externals *x, const char *kind, int type);
/* Enters it: 1 when joined, 0 when none is to be, -errno (logged). */
int ns_join_enter(const struct ns_externals *x, const char *kind, int type);

/* ---- a clone's devpts instance (devpts.c) ---------------------------------- */

/* A new devpts instance (ptmxmode=0666), detached: its mount fd, or
 * -errno (logged). */
int ns_devpts_make(void);
/* The path through which cryo reaches the instance of mount fd @mnt. */
void ns_devpts_path(int mnt, char *path, size_t size);
/* In a new mount namespace: @mnt on /dev/pts, /dev/ptmx bound to its
 * ptmx; -errno, not logged. */
int ns_devpts_attach(int mnt);
/* The mount point (to free) of the first mount of devpts instance @dev
 * showing its root, in the caller's mount namespace; -ENOENT: none. */
int ns_devpts_mountpoint(dev_t dev, char **mountpoint);
/* The kernel gives a new master the lowest free index and has no call to
 * ask for one: opens @ptmx (with @flags, O_NOCTTY, O_CLOEXEC), holding
 * the masters it gets, until one has @index; the others are closed again.
 * The master, -EEXIST when the index is taken or beyond reach (*@got: the
 * index the kernel gave last), or -errno of open or ioctl; not logged. */
int ns_devpts_open_index(const char *ptmx, unsigned int index, int flags, unsigned int *got);
/* A pty master held since a bind of its slave was made before the pty's
 * pair was (runc's /dev/console, before the container's terminal): the
 * files' restore takes it for the pair at that index (mnt_held_ptys()). */
struct ns_held_pty {
	unsigned int index;
	dev_t devpts;		/* its instance */
	int fd;
};

/* ---- pids across namespaces (pids.c) -------------------------------------- */

/* The pids of @pid (of its thread @tid when not 0) in every pid namespace
 * from cryo's down to its own, as NSpid lists them: @levels[0] is the pid
 * cryo sees, @levels[*nr - 1] its own. -errno without logging. */
int ns_pid_levels(pid_t pid, pid_t tid, pid_t *levels, size_t max, size_t *nr);
/* Its pid in its own pid namespace. */
int ns_pid_inner(pid_t pid, pid_t tid, pid_t *inner);
/* The child of @parent (a pid cryo sees) whose own pid is @inner, as cryo
 * sees it in *@pid; -ESRCH when none. */
int ns_find_child(pid_t parent, pid_t inner, pid_t *pid);
/* The thread of @pid whose own tid is @inner, as cryo sees it. */
int ns_find_thread(pid_t pid, pid_t inner, pid_t *tid);

#endif
