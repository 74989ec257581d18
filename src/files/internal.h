/* What the fd kinds of src/files share: the operations each kind provides
 * (recognise, dump, check, open), what they get to work with at dump, load
 * and restore, and the helpers they use. Callers outside src/files use
 * files.h; the table of kinds is in table.c. */
#ifndef CRYO_FILES_INTERNAL_H
#define CRYO_FILES_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/log.h"
#include "files/files.h"
#include "kabi/kabi.h"
#include "images/proto/fds.pb-c.h"
#include "images/proto/filedata.pb-c.h"
#include "images/proto/files.pb-c.h"
#include "mem/mapped_ranges.h"

/* The kernel's O_LARGEFILE, which it sets on every file a 64-bit task
 * opens; glibc's O_LARGEFILE is 0 on x86_64 (to move to kabi.h). */
#define KERNEL_O_LARGEFILE 0100000

/* Status flags a file object may carry in an image: what open() leaves in
 * f_flags. O_TMPFILE without O_DIRECTORY is the kernel's bit for a file
 * made with O_TMPFILE. O_ASYNC is refused at dump. */
#define FILE_FLAGS_KNOWN                                                                \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | KERNEL_O_LARGEFILE | \
	 O_SYNC | O_DSYNC | O_PATH | O_NOFOLLOW | O_DIRECTORY | (O_TMPFILE & ~O_DIRECTORY))
/* The ones F_SETFL changes, and restore checks on every restored file. */
#define FILE_FLAGS_SETFL (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)
#define FILE_FLAGS_CHECKED (O_ACCMODE | O_PATH | FILE_FLAGS_SETFL)

/* Flags beyond FILE_FLAGS_KNOWN that the files of one kind may carry: a
 * pidfd's PIDFD_THREAD, which is O_EXCL and means nothing to other files. */
static inline unsigned int file_kind_own_flags(FileEntry__Kind kind)
{
	return kind == FILE_ENTRY__KIND__PIDFD ? PIDFD_THREAD : 0;
}

/* Contents are saved in runs of at most this many bytes, in the record
 * when they add up to no more than FILE_INLINE_MAX. */
#define FILE_CHUNK_MAX (1u << 20)
#define FILE_INLINE_MAX (64u << 10)
/* Fd numbers an image may use: the kernel's default fs.nr_open. */
#define FILES_FD_LIMIT (1 << 20)

/* ---- dump -------------------------------------------------------------------- */

/* What dump learnt about one fd of a stopped task, from outside it; or
 * about the file of one of its mappings (a memfd or a deleted file), which
 * is probed the same way but has no fd. */
struct fd_probe {
	pid_t pid;
	int fd;			/* -1 for a mapping */
	char name[48];		/* "fd 3" or "mapping 7f00..7f01", in messages */
	/* A pidfd_getfd() copy: the very same open file description. Read
	 * state through it, but never change its position or flags. For a
	 * mapping, the file opened through /proc/PID/map_files. */
	int dup;
	struct stat st;		/* fstat() of dup */
	char *link;		/* the /proc/PID/fd/N link text */
	char *fdinfo;		/* the /proc/PID/fdinfo/N text */
	unsigned int flags;	/* fdinfo flags, without O_CLOEXEC */
	bool cloexec;
	uint64_t pos;
	bool shell_job;
	dev_t ctty;		/* the task's controlling terminal; 0 for none */
};

/* Logs "dump: pid P fd N (LINK): ..." as an error. */
#define pr_fd_err(p, fmt, ...)                                                          \
	pr_err("dump: pid %d %s (%s): " fmt, (p)->pid, (p)->name, (p)->link, ##__VA_ARGS__)

/* One new file object being dumped: the kind fills its part of @fe. */
struct file_dump {
	const struct fd_probe *p;
	struct image_dir *dir;
	FileEntry *fe;		/* id, kind, flags and pos are set */
	/* For kinds with inode_shared: objects of the same kind dumped
	 * before with the same inode (the other end of a pipe, another open
	 * of a memfd), the first first. */
	FileEntry *const *same_inode;
	size_t nr_same_inode;
	/* The task's fd table; complete for kinds that refer to other fds. */
	FdEntry *const *fds;
	size_t nr_fds;
};

/* The value of "NAME:" in fdinfo @text, past blanks; NULL without it. */
const char *fdinfo_field(const char *text, const char *name);

/* The value of "NAME:" in @p's fdinfo, parsed as a number in @base;
 * -ENOENT or -EINVAL when absent or malformed, logged against @p. */
int fdinfo_u64(const struct fd_probe *p, const char *name, int base, uint64_t *out);

/* Whether @pid is one of the processes of the dump (files_set_dumped_pids()). */
bool files_pid_dumped(pid_t pid);
/* That set, sorted, in *@pids; returns how many. */
size_t files_dumped_pids(const pid_t **pids);

/* Reads a whole procfs file, NUL-terminated, into *@out (to free). */
int probe_read_text(const char *path, char **out);

/* Opens a new open file description of @p's file, read-only (to read
 * contents without moving the task's position). */
int probe_reopen(const struct fd_probe *p, int *out);

/* Saves the bytes of a regular file (memfd, deleted file) read through
 * @fd, holes left out, as the contents of d->fe. */
int contents_dump_file(const struct file_dump *d, int fd, uint64_t size);
/* The same for the data of @ranges only (sorted, not overlapping): the
 * parts of shared memory that processes map. */
int contents_dump_ranges(const struct file_dump *d, int fd, const struct byte_range *ranges,
			 size_t n);
/* Saves @len bytes from @buf (pipe data) the same way. */
int contents_dump_bytes(const struct file_dump *d, const void *buf, size_t len);

/* Fails, naming the fd, when @p's fdinfo shows a lock cryo cannot take
 * again (a lease): asked before anything else is refused, because a lease
 * also sets O_ASYNC (locks.c). */
int locks_check_fd(const struct fd_probe *p);
/* Notes the locks that @p's fdinfo shows, reached through file object
 * @file_id, for files_dump_locks(); fails, naming the fd, on a lease or
 * another lock cryo cannot take again (locks.c). */
int locks_note_fd(const struct fd_probe *p, uint32_t file_id);
/* Forgets the locks noted so far (a dump that failed). */
void locks_forget(void);

/* ---- load -------------------------------------------------------------------- */

/* One file object of files.img, checked. */
struct file_obj {
	const FileEntry *e;
	const struct file_kind *kind;
	size_t offset;			/* of its record in files.img */
	/* The first object of the same inode (FileEntry.inode_of); itself
	 * when it is that first object or has none. */
	struct file_obj *inode;
	/* Restore needs it: an fd of the task refers to it, or it is the
	 * inode of one that does. */
	bool needed;
	/* A mapping of the task opens it, or it is the inode of one that
	 * does: needed even when the fds are another process's table. */
	bool mapped;
	int *fds;			/* the task's fds that refer to it, ascending */
	size_t nr_fds;
	/* Of an inode's first object: how many objects the task opens from
	 * the inode, so restore can let go of it after the last. */
	size_t nr_inode_users;
	/* Objects whose fds must be installed before it is opened. */
	const struct file_obj **deps;
	size_t nr_deps;
	/* Its saved contents, checked: runs in the record or in @data (its
	 * file-data-ID.img, NULL when in the record). */
	const FileChunk **chunks;
	size_t nr_chunks;
	struct image *data;	/* shared: let go with contents_put() */
};

struct fd_slot {
	int fd;
	bool cloexec;
	struct file_obj *file;
};

struct files_image {
	int pid;
	struct image *fds_img;
	struct image *files_img;
	struct fd_slot *fds;		/* sorted by fd */
	size_t nr_fds;
	struct file_obj *files;		/* sorted by id */
	size_t nr_files;
	/* Its fds are another process's table (CLONE_FILES), restored by
	 * that one: they need no object of their own. */
	bool table_shared;
};

/* Logs "FILES.IMG: offset N: file ID (KIND): ..." as an error; errno is
 * kept, so callers may log before they return -errno. */
void load_err(const struct files_image *img, const struct file_obj *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The object with @id; NULL when none. */
struct file_obj *files_find(const struct files_image *img, uint32_t id);

/* The task's fd @fd; NULL when it is not in its table. */
const struct fd_slot *files_slot(const struct files_image *img, int fd);


/* Takes the contents of @f (from its record or file-data-ID.img) into
 * f->chunks and checks them: runs sorted, not overlapping, within @size
 * bytes; with @stream, following each other from 0 and filling all @size
 * bytes (pipe data). A file-data image is read once for all the objects
 * (of every process) that load it. */
int contents_load(const struct image_dir *dir, const struct files_image *img,
		  struct file_obj *f, uint64_t size, bool stream);
/* Lets go of what contents_load() took for @f. */
void contents_put(struct file_obj *f);

/* ---- restore ----------------------------------------------------------------- */

/* File objects opened by cryo for all processes (prepare.c): the fd of
 * object index i (the same record in every process's image), or -1. */
struct files_prepared {
	int *fds;
	size_t nr;
	/* late[i]: fds[i] is a placeholder until every process exists, when
	 * cryo puts the object there (files_prepare_late()); processes take
	 * it from cryo with pidfd_getfd() through @cryo_pidfd. */
	bool *late;
	int cryo_pidfd;		/* -1 when nothing is late */
};

/* The fd in cryo of @f of @img, prepared late; -1 when it is not. */
int files_prepared_late_fd(const struct files_prepared *p, const struct file_obj *f,
			   const struct files_image *img);

struct restore_ctx {
	const struct files_image *img;
	/* When cryo prepares the objects of a whole tree: every process's
	 * image (an object's saved contents live in the image of a process
	 * that has an fd of it). */
	struct files_image *const *all;
	size_t nr_all;
	/* Inside a process: what cryo opened for it, or NULL. */
	const struct files_prepared *prepared;
	/* Temporaries live at or above it, clear of the fds being restored. */
	int high;
	/* The restoring cryo's terminal (a copy), or -1. */
	int tty;
	/* Inodes made so far (a pipe, a memfd, a recreated deleted file),
	 * kept open until every object of the inode is open. */
	struct inode_handle {
		const struct file_obj *inode;
		int fd;
		int fd2;	/* a pipe's write end; -1 for others */
		size_t left;	/* objects still to open from it */
	} *inodes;
	size_t nr_inodes;
};

/* Logs "restore: pid P fd N (KIND file ID): ..." as an error; errno is
 * kept. */
void restore_err(const struct restore_ctx *r, const struct file_obj *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Moves @fd to the lowest free number at or above r->high; the new fd, or
 * -errno (and @fd closed either way). */
int restore_move_high(const struct restore_ctx *r, int fd);
/* Gives the new open file description @fd the saved status flags and
 * position of @f, and checks them. */
int restore_set_state(const struct restore_ctx *r, const struct file_obj *f, int fd);
/* Keeps a copy of cryo's terminal in r->tty when an object of r->img was
 * the shell's terminal. */
int restore_find_terminal(struct restore_ctx *r);
/* Closes what @r holds (inode handles, the terminal's copy). */
void restore_ctx_release(struct restore_ctx *r);
/* The fd cryo prepared for @f of @img; -1 when none. */
int files_prepared_fd(const struct files_prepared *p, const struct file_obj *f,
		      const struct files_image *img);

/* The handle kept for the inode of @f, or NULL. */
const struct inode_handle *restore_inode(const struct restore_ctx *r, const struct file_obj *f);
/* Keeps @fd (and @fd2, or -1) as the handle of @f's inode; they are moved
 * high, and closed once every object of the inode is installed. */
int restore_add_inode(struct restore_ctx *r, const struct file_obj *f, int fd, int fd2);
/* Opens a new open file description of the file at @fd, with the flags of
 * @f: how the other objects of one inode are opened. */
int restore_reopen(const struct restore_ctx *r, const struct file_obj *f, int fd);

/* Writes the saved contents of @holder into the regular file @fd and sets
 * its size. */
int contents_restore_file(const struct restore_ctx *r, const struct file_obj *holder, int fd,
			  uint64_t size);
/* Writes the saved bytes of @holder into the pipe through @fd. */
int contents_restore_bytes(const struct restore_ctx *r, const struct file_obj *holder, int fd);

/* ---- the table of kinds ------------------------------------------------------ */

enum file_opened_by_cryo {
	FILE_OPENED_IN_TASK_ONLY,
	FILE_OPENED_BEFORE_TREE,
	FILE_OPENED_AFTER_TREE,
};

struct file_kind {
	const char *name;		/* "pipe", in messages */
	FileEntry__Kind type;		/* in the image */
	/* True when the fd @p is of this kind. Kinds are asked in the
	 * table's order; the first that says yes takes the fd. */
	bool (*recognise)(const struct fd_probe *p);
	/* Fills the kind's part of d->fe; may save contents. */
	int (*dump)(const struct file_dump *d);
	/* Its record refers to other fds of the task (an epoll to its
	 * targets): dumped after them. */
	bool refers_to_fds;
	/* Only the restored process can open it (it refers to its fds, or to
	 * processes that do not exist before the tree): cryo does not
	 * prepare it, and processes may not share it. */
	bool opened_in_task;
	/* For an opened_in_task kind: whether cryo can open this object all
	 * the same, before any process exists (a pidfd of a reaped process:
	 * prepared as the objects of other kinds are) or once every process
	 * exists (a pidfd of a live one: prepared late, when two processes
	 * share it). Either way processes may share it. */
	enum file_opened_by_cryo (*opened_by_cryo)(const FileEntry *e);
	/* Several objects may be opens of one inode that has no path to
	 * reopen it by (a pipe, a memfd, a deleted file): dump shows it the
	 * earlier ones (file_dump.same_inode). */
	bool inode_shared;
	/* Checks the kind's part of a record, if it has more to check than
	 * the schema says; for an object restore needs, loads its contents
	 * and sets its dependencies. */
	int (*check)(const struct image_dir *dir, struct files_image *img, struct file_obj *f);
	/* Opens a new open file description like the saved one, with its
	 * flags, at any fd number; returns it or -errno, logged. */
	int (*open)(struct restore_ctx *r, const struct file_obj *f);
	/* Lets go of an inode handle (restore_add_inode()) before its fds
	 * are closed: once every object of the inode is open, or the restore
	 * failed. For what closing does not undo (a child to reap). */
	void (*release_inode)(const struct restore_ctx *r, const struct inode_handle *h);
	/* The position is restored with lseek(). */
	bool seekable;
	/* Restored as a copy of a file that is not the task's (the shell's
	 * terminal): its flags are left as they are. */
	bool shares_foreign_file;
};

/* The kind that recognises @p; NULL (and logged, naming the fd) if none. */
const struct file_kind *file_kind_recognise(const struct fd_probe *p);
const struct file_kind *file_kind_of(FileEntry__Kind type);

/* The kinds, each in its own file. */
extern const struct file_kind chrdev_kind;
extern const struct file_kind epoll_kind;
extern const struct file_kind eventfd_kind;
extern const struct file_kind inotify_kind;
extern const struct file_kind memfd_kind;
extern const struct file_kind pidfd_kind;
extern const struct file_kind pipe_kind;
extern const struct file_kind regfile_kind;
extern const struct file_kind shmem_kind;
extern const struct file_kind signalfd_kind;
extern const struct file_kind timerfd_kind;
extern const struct file_kind tty_kind;

#endif
