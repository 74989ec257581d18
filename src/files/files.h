/* File descriptors: dumping a task's fd table and the open files behind it,
 * checking them when read back, and installing them again inside the
 * restored task. How each kind of file is handled is in its own file of
 * src/files/ (kind.h; the list is table.c). Of memory mappings, only the files of those
 * that cannot be opened by path again (memfds, deleted files) are here. */
#ifndef CRYO_FILES_H
#define CRYO_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"

/* The file objects of one dump, from its start to files_dump_finish():
 * an open file description that several fds or processes of the dump
 * hold is one object. Made by the dump journey (src/dump) and passed to
 * each call below. */
struct files_dump_set;

/* Starts the files of a dump into @dir, whose processes are @pids (their
 * pids, i.e. thread-group ids, zombies included, in any order; copied):
 * the fds that refer to processes (pidfds) may refer to them, and to the
 * task being dumped. 0 or -ENOMEM. */
int files_dump_start(struct image_dir *dir, const pid_t *pids, size_t n,
		     struct files_dump_set **out);
/* --ext-unix-sk: unix sockets of the dump may be connected to peers outside
 * it (the kind connects them again by name at restore). */
void files_dump_allow_external_unix(struct files_dump_set *set);
/* --skip-in-flight: connections waiting in a unix listener's accept queue
 * that cannot be restored are dropped (their clients then see their peer
 * closed) instead of failing the dump. */
void files_dump_skip_in_flight(struct files_dump_set *set);
/* RPC orphan_pts_master: a pty whose master is outside the dump (a
 * container runtime's console) is saved from its slaves, for restore to
 * make a new pair and hand its master to the caller. */
void files_dump_allow_orphan_pts(struct files_dump_set *set);
/* Lets go of @set; NULL is fine. */
void files_dump_free(struct files_dump_set *set);
/* The largest deleted file @set saves (--ghost-limit); 0: no limit. */
void files_dump_set_ghost_limit(struct files_dump_set *set, uint64_t limit);
/* --link-remap: a file whose path was unlinked while other links keep it
 * is saved through a hidden link made beside it (link_remap.c). */
void files_dump_allow_link_remap(struct files_dump_set *set);
/* --evasive-devices: a device node whose path no longer leads to its
 * device is saved by another path of /dev to it (chrdev.c). */
void files_dump_allow_evasive_devices(struct files_dump_set *set);

/* What the caller of a restore gives every opening of the tree's files,
 * in cryo and in each process (files_prepare() keeps it for them). */
struct files_restore_env {
	/* The saved paths name files below it (criu's root, the container's);
	 * -1: cryo's own root. */
	int root_fd;
	/* The caller's fds that stand for the pipes of those inodes at dump
	 * (criu's inherit_fd pipe:[INODE], runc's stdio), not new pipes. */
	struct files_inherited_pipe {
		uint64_t ino;
		int fd;
	} *pipes;
	size_t nr_pipes;
	/* Takes the master of a new pair made for a pty whose master was
	 * outside the dump (RPC orphan_pts_master: sent to the client); NULL:
	 * such a pty cannot be restored. */
	int (*pts_master)(int fd, void *arg);
	void *pts_master_arg;
	/* Masters the mounts' restore holds (mnt_held_ptys()): a pair is made
	 * from one of them when it has its instance and index. */
	struct ns_held_pty *held_ptys;
	size_t nr_held_ptys;
	/* --tcp-close: every TCP connection is made a closed socket. */
	bool tcp_close;
};

/* Opens @root (NULL: none, root_fd stays -1) as @env's root. */
int files_env_set_root(struct files_restore_env *env, const char *root);
/* The devpts instance (st_dev) that is the tree's own, a clone's, where
 * the shell's terminal cannot be though a pty there has its device
 * number (each instance numbers its ptys from 0); 0: none. */
void files_dump_set_tree_devpts(struct files_dump_set *set, dev_t devpts);
/* The dump's handling of TCP connections and its network lock (net/net.h),
 * which the socket kinds reach through struct fd_probe. */
struct net_run;
void files_dump_set_net(struct files_dump_set *set, struct net_run *net);

/* fd_flags.c: the close-on-exec bit of each fd of @pid, read through its
 * parasite; *@out NULL (and 0) where the table is small enough that
 * fdinfo costs less. For files_dump_task(). */
struct fd_flags;
struct inj_parasite;
int fd_flags_read(struct inj_parasite *parasite, pid_t pid, struct fd_flags **out);
void fd_flags_free(struct fd_flags *f);
/* 1 when @pid's @fd was open and close-on-exec, 0 open and not, -1
 * unknown (another task, not read, or not open then). */
int fd_flags_cloexec(const struct fd_flags *f, pid_t pid, int fd);

/* Writes fds-@pid.img and adds the task's file objects to @set (their
 * contents go to file-data-ID.img at once). @pid must be stopped by the
 * caller; it is left untouched: no position, flag or queued byte changes.
 * An open file description already seen in a task of the dump is referred
 * to, not dumped again. Not thread-safe. An fd of a kind cryo cannot
 * restore fails with a message naming pid, fd and file; a failed call
 * fails the dump (the set is then only to be freed). */
int files_dump(struct files_dump_set *set, pid_t pid, bool shell_job);
/* files_dump() knowing @pid's close-on-exec bits (@fd_flags, NULL: not
 * read), which spares its sockets their fdinfo (unless /proc/locks shows a
 * lock on a socket: fdinfo is where locks are found). The caller keeps
 * @fd_flags; nothing of them stays in @set. */
int files_dump_task(struct files_dump_set *set, pid_t pid, bool shell_job,
		    const struct fd_flags *fd_flags);

/* Once every process is dumped: checks that each group of objects made
 * together is whole and that /proc/locks shows no lock of @live (the live
 * processes) that no fd reached, then writes files.img and locks.img,
 * each once. */
int files_dump_finish(struct files_dump_set *set, const pid_t *live, size_t n);

/* A mapping of a memfd or of a deleted file, which cannot be mapped again
 * from a path: its file is one of the file objects, with its contents. */
struct files_mapping {
	uint64_t start, end;	/* the mapping, as /proc/PID/map_files names it */
	uint64_t pgoff;		/* at load: where in its inode it starts, in bytes */
	uint64_t huge_page_size; /* at load: hugetlb's page size, 0 for ordinary pages */
	uint32_t file_id;	/* the file object of its inode */
	bool writable;		/* at restore: opened read-write, else read-only */
	int fd;			/* at restore: the file opened for it */
};

/* After files_dump() of @pid: sets the file_id of each of @maps to the
 * object of the mapped inode, the one an fd of the dump has if any, else
 * one saved for the mappings alone (once per inode). A file whose kind
 * cannot be mapped so (one with a path to map it from) fails the dump with
 * a message naming the mapping. */
int files_dump_mappings(struct files_dump_set *set, pid_t pid, struct files_mapping *maps,
			size_t n);

/* dir_object.c: a removed directory that is a cwd or root of the dump,
 * which another process (or thread) shares, by an fd or as its own cwd or
 * root, reached through @proc_link ("/proc/PID/cwd"), as a file object of
 * @set, its id in *@id: one object an inode, for every cwd and root of it,
 * of the same inode as the fds of it, so that restore makes it once.
 * @who and @what ("pid 12", "cwd") name it in messages. */
int files_dump_dir_object(struct files_dump_set *set, const char *who, const char *what,
			  const char *proc_link, uint32_t *id);

/* Everything about files that restoring one task needs, read from the
 * images and checked; it holds no descriptor. */
struct files_image;

/* Reads and checks files.img, the file objects of every process: once per
 * restore, not once per process (a tree of 10 with 20,000 objects parsed
 * them ten times). The caller frees it with image_free() after every
 * files_image made from it. */
int files_objects_read(const struct image_dir *dir, struct image **out);
/* Reads and checks the fd table of @pid, the file objects (of @objects,
 * from files_objects_read()) it and the task's mappings (@mapped, from its
 * mm image: start, end, pgoff and file_id) refer to, and their saved
 * contents. A mapping must lie within its object (rounded up to pages):
 * past it, the process would get SIGBUS. */
int files_load_from(const struct image_dir *dir, const struct image *objects, int pid,
		    const struct files_mapping *mapped, size_t nr_mapped, struct files_image **out);
/* The same for a single process: reads files.img itself, and frees it with
 * the files_image. */
int files_load(const struct image_dir *dir, int pid, const struct files_mapping *mapped,
	       size_t nr_mapped, struct files_image **out);
void files_image_free(struct files_image *img);

/* Marks @img's fds as the table of @owner (a process sharing it with
 * CLONE_FILES), which restores it: fails unless both saved the same fds
 * of the same files. Objects only its mappings need stay its own. */
int files_share_table(struct files_image *img, const struct files_image *owner);

/* The highest fd number files_restore() installs; -1 when none. */
int files_max_fd(const struct files_image *img);
/* Moves the fd of file-queues.img that @img holds (if any) to @base or
 * above, where no restored fd goes. */
int files_lift_queues(struct files_image *img, int base);

/* Fails, with the reason, when @img cannot be restored with these options
 * (the shell's terminal without --shell-job). */
int files_check_restorable(const struct files_image *img, bool shell_job);

/* File objects that cryo opens for a whole restore (files_prepare()). */
struct files_prepared;

/* Where restore makes objects: inside the namespaces they belong to. The
 * engine calls @enter before a kind makes an inode or a group (@first:
 * its first object), and @leave after, whatever happened; each returns 0
 * or -errno. Which namespaces an object belongs to is the namespace
 * part's to say (src/ns); without it (NULL) objects are made in the
 * caller's, as restore makes no namespaces yet. */
struct file_obj;
struct files_namespaces {
	/* NULL: nothing to enter (only @devpts is said). */
	int (*enter)(void *arg, const struct file_obj *first);
	int (*leave)(void *arg, const struct file_obj *first);
	void *arg;
	/* The mount point of the devpts instance ptys are made in (its
	 * ptmx); NULL: /dev/pts, through /dev/ptmx. */
	const char *devpts;
};

/* In cryo, before it creates any process: opens each file object that the
 * processes of @imgs (one image per process, loaded from one dump) have an
 * fd of or map, once, at fds of @base or above, with its saved flags and
 * position; each as the first process that has it, after @as_task (unless
 * NULL) made cryo take on that process's credentials. Processes created afterwards inherit them, so that what several
 * processes shared is shared again. An object only a process can open
 * (an epoll, made of its own fds) is left to it, and may not be shared;
 * a pidfd of a reaped process is not one (cryo makes it too). */
int files_prepare(struct files_image *const *imgs, size_t n, bool shell_job, int base,
		  const struct files_namespaces *ns, const struct files_restore_env *env,
		  int (*as_task)(void *arg, size_t index),
		  void *arg, struct files_prepared **out);
/* Closes every prepared fd (cryo, once the processes have them; and each
 * process, once its own fds are installed). */
void files_prepared_close(struct files_prepared *p);
/* In cryo once the processes are created: closes what they inherited, but
 * the places kept for what is opened late. */
void files_prepared_close_early(struct files_prepared *p);
/* In cryo once every process exists (their stage 1), before any installs
 * its fds: opens the objects only then possible to open (a pidfd of a live
 * process two processes share) in the places kept for them; processes
 * take them from cryo with pidfd_getfd(). */
int files_prepare_late(struct files_prepared *p, struct files_image *const *imgs, size_t n);
/* Whether anything waits to be prepared late (a pidfd cryo opens by the
 * saved pid, which only means that process in cryo's pid namespace). */
bool files_prepared_any_late(const struct files_prepared *p);

/* In the restored session leader @sid, right after setsid() and before it
 * creates the processes of its session: takes back its controlling
 * terminal, from the objects cryo prepared. 0 when it had none. */
int files_take_terminal(const struct files_image *img, const struct files_prepared *prepared,
			pid_t sid);
/* The same leader, once every process group of the tree exists: gives its
 * terminal its foreground process group back. */
int files_set_foreground(const struct files_image *img, const struct files_prepared *prepared,
			 pid_t sid);

/* Runs in the restored task, before its memory is replaced: installs each
 * saved fd at its number with its flags, position and contents, from the
 * objects cryo prepared (or, with @prepared NULL, opened here), and closes
 * every other fd up to files_max_fd(). Fds above that are left alone,
 * except for temporaries it opens and closes there. With @shell_job, the
 * shell's terminal becomes a duplicate of the first of fds 0, 1, 2 that is
 * a terminal. */
int files_restore(const struct files_image *img, const struct files_prepared *prepared,
		  bool shell_job);

/* Runs in the restored task after files_restore(): opens the file of each
 * of @maps (by file_id and writable) at an fd of @base or above, with
 * O_CLOEXEC. A file the task has an fd of is opened again from that fd,
 * so the mapping and the fd share one file; any other from the object cryo
 * prepared, or (without @prepared) made here once per inode from its saved
 * contents. On failure no fd is left open. */
int files_open_mappings(const struct files_image *img, const struct files_prepared *prepared,
			struct files_mapping *maps, size_t n, int base);

/* At load (dir_object.c): the removed cwd or root @what of @who (a task
 * of @img, or one of its threads) is object @id, a removed directory
 * (files_dump_dir_object()): needed by the task, so that cryo makes it
 * once for all that need its inode. Fails, logged, when it is none. */
int files_need_dir(struct files_image *img, uint32_t id, const char *who, const char *what);
/* In the restored task, after files_restore(): for each of @ids (0: none)
 * the directory of that object, loaded by files_need_dir(), at an fd of
 * @base or above (close-on-exec) in @fds (-1 for none): from what cryo
 * prepared, or made here once for all of @ids. On failure none is left
 * open. */
int files_open_dirs(const struct files_image *img, const struct files_prepared *prepared,
		    const uint32_t *ids, int *fds, size_t n, int base);

/* Calls @fn for each object of @img's fds that is a pidfd of a task, not of
 * a reaped process: one of its fds, the pid, and for a thread other than a
 * main thread its process (else 0). Stops at the first non-zero return. */
int files_pidfd_targets(const struct files_image *img,
			int (*fn)(void *arg, int fd, pid_t pid, pid_t thread_of), void *arg);

/* A pidfd of a thread other than its process's main thread, at fd @fd of
 * the task: the thread is made by the restorer, after the fds, so
 * files_restore() puts a pidfd of the task itself (same flags) there, and
 * cryo replaces it from inside the task once every thread exists
 * (restore/pidfds.c). Fds of one open file (@file_id) come one
 * after another. */
struct files_thread_pidfd {
	uint32_t file_id;
	int fd;
	pid_t tid;
	pid_t tgid;		/* the process of thread @tid */
	unsigned int flags;	/* status flags, PIDFD_THREAD among them */
	bool cloexec;
};

/* The thread pidfds @img installs (none when its table is another
 * process's), the first @max of them in @out; returns how many there are. */
size_t files_thread_pidfds(const struct files_image *img, struct files_thread_pidfd *out,
			   size_t max);

/* A file owned by a thread (F_SETOWN_EX F_OWNER_TID), given its owner by
 * cryo once the threads exist (restore/fd_owners.c): one of its fds. */
struct files_thread_owner {
	int fd;
	pid_t tid;
};

/* The thread-owned files @img installs (none when its table is another
 * process's), the first @max of them in @out; returns how many there are. */
size_t files_thread_owners(const struct files_image *img, struct files_thread_owner *out,
			   size_t max);

/* ---- file locks (locks.c) ----------------------------------------------------
 * The flock, POSIX and OFD locks the processes hold, in locks.img. Dump
 * finds them in the fdinfo of each fd files_dump() reads and
 * files_dump_finish() writes them, after a check of /proc/locks for a
 * lock no fd reached (a FLOCK held only through a mapping); restore takes
 * each again in its owner (src/restore/locks.c). */

enum files_lock_kind { FILES_LOCK_FLOCK = 1, FILES_LOCK_POSIX, FILES_LOCK_OFD, FILES_LOCK_LEASE };

/* One lock of locks.img, checked against the fd tables. */
struct files_lock {
	enum files_lock_kind kind;
	bool write;
	uint64_t start;
	uint64_t end;		/* inclusive; UINT64_MAX: to the end of the file */
	pid_t pid;		/* the process that takes it */
	int fd;			/* through this fd of it */
	const char *path;	/* of the file, or its kind, in messages */
};

struct files_locks {
	struct files_lock *locks;
	size_t nr;
	struct image *img;
};

/* Reads locks.img and checks each lock against the fd table of its
 * process in @imgs (one per live process of the dump). */
int files_locks_load(const struct image_dir *dir, struct files_image *const *imgs, size_t n,
		     struct files_locks **out);
void files_locks_free(struct files_locks *locks);

/* The check of locks.img that needs no other file, for the registry. */
int locks_check(const struct image *img, const struct image_dir *dir, int id);

#endif
