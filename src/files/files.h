/* File descriptors: dumping a task's fd table and the open files behind it,
 * checking them when read back, and installing them again inside the
 * restored task. How each kind of file is handled is in its own file of
 * src/files/ (see internal.h). Of memory mappings, only the files of those
 * that cannot be opened by path again (memfds, deleted files) are here. */
#ifndef CRYO_FILES_H
#define CRYO_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"

/* Writes fds-@pid.img and adds the task's file objects to files.img (and
 * their contents to file-data-ID.img). @pid must be stopped by the caller;
 * it is left untouched: no position, flag or queued byte changes.
 *
 * The tasks of one dump are dumped one after another into the same @dir:
 * an open file description already seen in an earlier task of the dump is
 * referred to, not dumped again. A directory that holds a finished dump
 * (inventory.img) or files.img written by another cryo run starts afresh.
 * Not thread-safe. An fd of a kind cryo cannot restore fails the dump with
 * a message naming pid, fd and file. */
int files_dump(pid_t pid, struct image_dir *dir, bool shell_job);

/* Sets the processes of the dump (their pids, i.e. thread-group ids), for
 * the fds that refer to processes: files_dump() fails on a pidfd whose
 * process is neither one of them nor exited and reaped. The task being
 * dumped always counts, set or not. @pids is copied and may be in any
 * order; each call replaces the set (n = 0 empties it). 0 or -ENOMEM. */
int files_set_dumped_pids(const pid_t *pids, size_t n);

/* A mapping of a memfd or of a deleted file, which cannot be mapped again
 * from a path: its file is one of the file objects, with its contents. */
struct files_mapping {
	uint64_t start, end;	/* the mapping, as /proc/PID/map_files names it */
	uint64_t pgoff;		/* at load: where in its inode it starts, in bytes */
	uint32_t file_id;	/* the file object of its inode */
	bool writable;		/* at restore: opened read-write, else read-only */
	int fd;			/* at restore: the file opened for it */
};

/* After files_dump() of @pid: sets the file_id of each of @maps to the
 * object of the mapped inode, the one an fd of the dump has if any, else
 * one saved for the mappings alone (once per inode), and writes files.img
 * again. An inode of another kind than memfd or deleted regular file fails
 * the dump with a message naming the mapping. */
int files_dump_mappings(pid_t pid, struct image_dir *dir, struct files_mapping *maps, size_t n);

/* Everything about files that restoring one task needs, read from the
 * images and checked; it holds no descriptor. */
struct files_image;

/* Reads and checks the fd table of @pid, the file objects it and the
 * task's mappings (@mapped, from its mm image: start, end, pgoff and
 * file_id) refer to, and their saved contents. A mapping must lie within
 * its object (rounded up to pages): past it, the process would get
 * SIGBUS. */
int files_load(const struct image_dir *dir, int pid, const struct files_mapping *mapped,
	       size_t nr_mapped, struct files_image **out);
void files_image_free(struct files_image *img);

/* Marks @img's fds as the table of @owner (a process sharing it with
 * CLONE_FILES), which restores it: fails unless both saved the same fds
 * of the same files. Objects only its mappings need stay its own. */
int files_share_table(struct files_image *img, const struct files_image *owner);

/* The highest fd number files_restore() installs; -1 when none. */
int files_max_fd(const struct files_image *img);

/* Fails, with the reason, when @img cannot be restored with these options
 * (the shell's terminal without --shell-job). */
int files_check_restorable(const struct files_image *img, bool shell_job);

/* File objects that cryo opens for a whole restore (files_prepare()). */
struct files_prepared;

/* In cryo, before it creates any process: opens each file object that the
 * processes of @imgs (one image per process, loaded from one dump) have an
 * fd of or map, once, at fds of @base or above, with its saved flags and
 * position. Processes created afterwards inherit them, so that what several
 * processes shared is shared again. An object only a process can open
 * (an epoll, made of its own fds) is left to it, and may not be shared;
 * a pidfd of a reaped process is not one (cryo makes it too). */
int files_prepare(struct files_image *const *imgs, size_t n, bool shell_job, int base,
		  struct files_prepared **out);
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

/* ---- file locks (locks.c) ----------------------------------------------------
 * The flock, POSIX and OFD locks the processes hold, in locks.img. Dump
 * finds them in the fdinfo of each fd files_dump() reads; restore takes
 * each again in its owner (src/restore/locks.c). */

/* After files_dump() of every process of the dump (@pids, the live ones):
 * checks /proc/locks for a lock of theirs that no fd reached (a FLOCK held
 * only through a mapping) and writes locks.img. */
int files_dump_locks(struct image_dir *dir, const pid_t *pids, size_t n);

enum files_lock_kind { FILES_LOCK_FLOCK = 1, FILES_LOCK_POSIX, FILES_LOCK_OFD };

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
