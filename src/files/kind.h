/* The contract between the files engine and a kind of fd: what a kind is
 * (struct file_kind, at the end), what it is handed at dump, load and
 * restore, and the engine's helpers it may call. A kind includes this
 * header only, wherever it lives (src/files, src/net); the engine's own
 * workings are in internal.h, and the one list of kinds is table.c. */
#ifndef CRYO_FILES_KIND_H
#define CRYO_FILES_KIND_H

#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/log.h"
#include "images/image.h"
#include "images/proto/fds.pb-c.h"
#include "images/proto/filedata.pb-c.h"
#include "images/proto/files.pb-c.h"
#include "kabi/kabi.h"
#include "mem/mapped_ranges.h"

/* The kernel's O_LARGEFILE, which it sets on every file a 64-bit task
 * opens; glibc's O_LARGEFILE is 0 on x86_64 (to move to kabi.h). */
#define KERNEL_O_LARGEFILE 0100000

/* Status flags a file object may carry in an image: what open() leaves in
 * f_flags. O_TMPFILE without O_DIRECTORY is the kernel's bit for a file
 * made with O_TMPFILE. O_ASYNC goes with the owner (owner.c). A kind may allow more
 * (file_kind.own_flags). */
#define FILE_FLAGS_KNOWN                                                                \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | KERNEL_O_LARGEFILE | \
	 O_SYNC | O_DSYNC | O_PATH | O_NOFOLLOW | O_DIRECTORY | (O_TMPFILE & ~O_DIRECTORY) |    \
	 O_ASYNC)
/* Bits that mean something to some kinds only, which allow them in
 * file_kind.own_flags (O_EXCL: a pidfd's PIDFD_THREAD). The image check,
 * which knows no kind, lets them through; load checks them per kind. */
#define FILE_FLAGS_KIND_SPECIFIC O_EXCL
/* The ones F_SETFL changes, and restore checks on every restored file. */
#define FILE_FLAGS_SETFL (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)
#define FILE_FLAGS_CHECKED (O_ACCMODE | O_PATH | FILE_FLAGS_SETFL)

/* Contents are saved in runs of at most this many bytes, in the record
 * when they add up to no more than FILE_INLINE_MAX. */
#define FILE_CHUNK_MAX (1u << 20)
#define FILE_INLINE_MAX (64u << 10)
/* The most contents bytes one dump keeps in files.img's records: they are
 * held in memory until it is written, and read whole at restore. */
#define FILE_INLINE_BUDGET (4u << 20)
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
	int sock_family;	/* a socket's SO_DOMAIN, read once; 0 otherwise */
	char *link;		/* the /proc/PID/fd/N link text */
	char *fdinfo;		/* the /proc/PID/fdinfo/N text */
	unsigned int flags;	/* fdinfo flags, without O_CLOEXEC */
	bool cloexec;
	uint64_t pos;
	bool shell_job;
	dev_t ctty;		/* the task's controlling terminal; 0 for none */
	dev_t tree_devpts;	/* files_dump_set_tree_devpts() */
	struct net_run *net;	/* files_dump_set_net(); NULL: none */
};

/* With -j, whether the fd is the shell's terminal: the task's controlling
 * terminal by device number, and not on the tree's own devpts instance,
 * whose ptys have the same numbers as the shell's instance's. */
static inline bool probe_is_shell_terminal(const struct fd_probe *p)
{
	return p->shell_job && p->ctty && p->st.st_rdev == p->ctty &&
	       !(p->tree_devpts && p->st.st_dev == p->tree_devpts);
}

/* Logs "dump: pid P fd N (LINK): ..." as an error. */
#define pr_fd_err(p, fmt, ...)                                                          \
	pr_err("dump: pid %d %s (%s): " fmt, (p)->pid, (p)->name, (p)->link, ##__VA_ARGS__)

/* The file objects of one dump, the engine's (files_dump_start()). */
struct files_dump_set;

/* One new file object being dumped: the kind fills its part of @fe. */
struct file_dump {
	const struct fd_probe *p;
	struct image_dir *dir;
	struct files_dump_set *set;
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

/* The largest deleted file the dump may save (--ghost-limit); 0: no limit. */
uint64_t file_dump_ghost_limit(const struct file_dump *d);
/* Whether a file unlinked from its path that other links keep may be saved
 * through a link dump makes to it (--link-remap). */
bool file_dump_link_remap(const struct file_dump *d);
/* Whether a device node may be saved by another path to its device
 * (--evasive-devices). */
bool file_dump_evasive_devices(const struct file_dump *d);

/* Whether @pid is one of the processes of the dump, or the task being
 * dumped (which always counts). */
bool file_dump_has_pid(const struct file_dump *d, pid_t pid);
/* Whether the dump was asked to let unix sockets have peers outside it
 * (--ext-unix-sk). */
bool file_dump_ext_unix_sk(const struct file_dump *d);
/* Whether connections waiting in a unix listener's accept queue that cannot
 * be restored may be dropped (--skip-in-flight). */
bool file_dump_skip_in_flight(const struct file_dump *d);
/* Whether a pty's slave may be saved without its master (RPC
 * orphan_pts_master: a container runtime's console). */
bool file_dump_orphan_pts(const struct file_dump *d);
/* 1 when a process of the dump (or the task being dumped) has an fd of the
 * socket of inode @ino, 0 when none, -errno (logged) when their fds cannot
 * be read. The fds are read once per dump. */
int file_dump_holds_socket(const struct file_dump *d, uint64_t ino);
/* What kind @kind keeps for the whole dump (a table read once, while the
 * tree is frozen): made by @make at the first call, let go by @drop with
 * the dump; NULL when @make failed (it logs why), and then made again at
 * the next call. */
void *file_dump_kind_state(const struct file_dump *d, FileEntry__Kind kind,
			   void *(*make)(const struct file_dump *d), void (*drop)(void *state));
/* The processes of the dump, sorted, in *@pids; returns how many. */
size_t file_dump_pids(const struct file_dump *d, const pid_t **pids);

/* For a file that is not where the task had it (an epoll's target moved
 * to another fd, or whose fds the task closed): the fd of the task that
 * holds it, else of another process of the dump, found among the fds on
 * inode @ino, and its object (for another process's fd, made now if new,
 * as when that process's fds are dumped). @order compares process @pid's
 * fd @fd with the file wanted: 0 for it, 1 for a file before it in kcmp's
 * order, 2 after, or -errno; in other processes fds at number @hint
 * (where the task had it: a child inherited it there) are asked first.
 * -ENOENT, not logged, when no process holds it; a kind that only its own
 * process can open, held by another, is refused, naming @what. */
struct file_holder {
	pid_t pid;
	int fd;
	uint32_t id;
};
int file_dump_find_holder(const struct file_dump *d, uint64_t ino, int hint,
			  int (*order)(void *arg, pid_t pid, int fd), void *arg, const char *what,
			  struct file_holder *out);

/* Puts d->fe in the group of objects of its kind that share @key (not 0;
 * the kind's own name for the group, such as the lower inode number of a
 * socketpair's two ends): the first object dumped with a key leads the
 * group, the others get FileEntry.group_of. See "Groups" below. */
int file_dump_join_group(const struct file_dump *d, uint64_t key);

/* Fds in flight (in_flight.c): @fd, cryo's own copy of a file that a
 * message queued on d->p carries (SCM_RIGHTS, from a peek), made an object
 * of the dump as a task's fd would be, or found among those dumped (the
 * same open file description is one object, whoever holds it); its id in
 * *@id. cryo keeps a copy until the dump ends. @where names the message in
 * errors ("message 3 (fd 2 of 4)"). A kind without in_flight_ok is
 * refused by name. */
int file_dump_in_flight(const struct file_dump *d, int fd, const char *where, uint32_t *id);
/* Whether the socket of inode @ino is in flight in a queue dumped so far. */
bool file_dump_socket_in_flight(const struct file_dump *d, uint64_t ino);

/* (A whole procfs file: read_text_file(), common/textfile.h.) */

/* Opens a new open file description of @p's file, read-only (to read
 * contents without moving the task's position). */
int probe_reopen(const struct fd_probe *p, int *out);

/* Saves the bytes of a regular file (memfd, deleted file) read through
 * @fd, holes left out, as the contents of d->fe; with @huge, a file on
 * hugetlbfs (contents_dump_huge()). */
int contents_dump_file(const struct file_dump *d, int fd, uint64_t size, bool huge);
/* The same for the data of @ranges only (sorted, not overlapping): the
 * parts of shared memory that processes map. */
int contents_dump_ranges(const struct file_dump *d, int fd, const struct byte_range *ranges,
			 size_t n);
/* The same for a file on hugetlbfs, where every byte reads as data (no
 * SEEK_HOLE) and reading a hole makes no page: runs of zeros are left out,
 * so that restore makes no page the original did not have with data. */
int contents_dump_huge(const struct file_dump *d, int fd, const struct byte_range *ranges,
		       size_t n);
/* Saves @len bytes from @buf (pipe data) the same way. */
int contents_dump_bytes(const struct file_dump *d, const void *buf, size_t len);

/* ---- load -------------------------------------------------------------------- */

/* One file object of files.img, checked. */
struct file_obj {
	const FileEntry *e;
	const struct file_kind *kind;
	/* The first object of the same inode (FileEntry.inode_of); itself
	 * when it is that first object or has none. */
	struct file_obj *inode;
	/* The first object of its group (FileEntry.group_of); itself when it
	 * leads the group or is in none. */
	struct file_obj *group;
	/* The next member of its group, by id (NULL after the last). */
	struct file_obj *next_in_group;
	int *fds;			/* the task's fds that refer to it, ascending */
	/* Objects whose fds must be installed before it is opened. */
	const struct file_obj **deps;
	/* Its saved contents, checked: runs in the record or in @data (its
	 * file-data-ID.img, NULL when in the record). */
	const FileChunk **chunks;
	struct image *data;	/* shared: let go with contents_put() */
	/* Queued bytes in file-queues.img (FileEntry.contents_at): checked at
	 * load, not kept (nr_chunks counts their runs); read again through
	 * this fd, its process image's, by contents_view_open(). NULL
	 * otherwise. */
	const int *queues_fd;
	/* Every process's image has one of these for each object of the dump
	 * (10 processes of 20,000 sockets: 200,000), hence the narrow counts. */
	uint32_t offset;		/* of its record in files.img (at most 1 GiB) */
	/* The leader counts the members, itself included (1 when in no group). */
	uint32_t nr_group;
	uint32_t nr_fds;
	/* Of an inode's first object: how many objects the task opens from
	 * the inode, so restore can let go of it after the last. */
	uint32_t nr_inode_users;
	uint32_t nr_deps;
	uint32_t nr_chunks;
	uint32_t queued_size;		/* with queues_fd */
	/* Restore needs it: an fd of the task refers to it, or it is the
	 * inode of one that does, or it is in flight (below). */
	bool needed;
	/* A message of a socket the task restores carries it (SCM_RIGHTS):
	 * it is opened to be sent again, whether or not an fd holds it. */
	bool in_flight;
	/* A mapping of the task opens it, or it is the inode of one that
	 * does: needed even when the fds are another process's table. */
	bool mapped;
	/* The task needs it for a moment though another process holds it
	 * (files_borrow()): cryo opens it for both. */
	bool borrowed;
	/* A removed cwd or root of the task is its directory (or it is the
	 * inode of one that is: files_need_dir()): needed even when the fds
	 * are another process's table. */
	bool dir;
};

struct fd_slot {
	int fd;
	bool cloexec;
	struct file_obj *file;
};

/* What one process restores: its fd table and every object of files.img
 * (the same records, in the same order, in every process's image). */
struct files_image {
	int pid;
	struct image *fds_img;
	const struct image *files_img;	/* shared by the processes: the caller's */
	struct image *own_files_img;	/* files_load()'s, freed with it */
	struct fd_slot *fds;		/* sorted by fd */
	size_t nr_fds;
	struct file_obj *files;		/* sorted by id */
	int queues_fd;			/* file-queues.img, or -1 */
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

/* In a kind's check: @by, an object the task needs, needs object @id for
 * a moment at restore, which no fd of the task holds but another
 * process's does (an epoll registers it): cryo opens it before the tree
 * for both, and the task takes it with restore_borrowed_fd(). Fails,
 * logged, when @id is no object, is @by, or is of a kind only its own
 * process can open. */
int files_borrow(struct files_image *img, const struct file_obj *by, uint32_t id);

/* Takes the contents of @f (from its record or file-data-ID.img) into
 * f->chunks and checks them: runs sorted, not overlapping, within @size
 * bytes; with @stream, following each other from 0 and filling all @size
 * bytes (pipe data). A file-data image is read once for all the objects
 * (of every process) that load it. Queued bytes in file-queues.img are
 * checked and not kept: see contents_view_open(). */
int contents_load(const struct image_dir *dir, const struct files_image *img,
		  struct file_obj *f, uint64_t size, bool stream);
/* Lets go of what contents_load() took for @f. */
void contents_put(struct file_obj *f);

struct restore_ctx;
/* The runs of @f's saved contents, for as long as a restore writes them
 * back: f->chunks, or those of its data file read and checked again. */
struct contents_view {
	const FileChunk *const *chunks;
	size_t nr_chunks;
	FileChunk **own;		/* read for the view, or NULL */
};
int contents_view_open(const struct restore_ctx *r, const struct file_obj *f,
		       struct contents_view *v);
void contents_view_close(struct contents_view *v);

/* ---- restore ----------------------------------------------------------------- */

struct files_prepared;
struct files_namespaces;

/* One restore of files: in cryo for the objects processes share
 * (files_prepare()), or in one process. Kinds read @img, @all, @high and
 * @tty; the rest is the engine's. */
struct restore_ctx {
	const struct files_image *img;
	/* When cryo prepares the objects of a whole tree: every process's
	 * image (an object's saved contents live in the image of a process
	 * that has an fd of it). */
	struct files_image *const *all;
	size_t nr_all;
	/* Inside a process: what cryo opened for it, or NULL. */
	const struct files_prepared *prepared;
	/* Where objects are made (NULL: where the caller is). */
	const struct files_namespaces *ns;
	/* The caller's root and inherited pipes (NULL: none). */
	const struct files_restore_env *env;
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
	/* Objects opened to be sent in flight (restore_in_flight_fd()), kept
	 * until the context is released; @depth guards against cycles. */
	struct kept_fd {
		uint32_t id;
		int fd;
	} *kept;
	size_t nr_kept;
	unsigned int in_flight_depth;
	/* In cryo's files_prepare(): what it prepares, where an object in
	 * flight is put when it is opened for a queue. */
	struct files_prepared *preparing;
	/* Groups made so far: the fd made for each member not yet taken. */
	struct group_handle {
		const struct file_obj *leader;
		const struct file_obj **members;	/* leader first, by id */
		int *fds;				/* -1 once taken */
		size_t nr, left;
	} *groups;
	size_t nr_groups;
	/* What a new unix socket holds, per type and network namespace
	 * (net/options.c), read once. */
	struct unix_new_options *unix_new_options;
};

/* The devpts instance where ptys are made, its mount point: the one the
 * restore's namespaces name (files_namespaces.devpts), else /dev/pts. */
const char *restore_devpts(const struct restore_ctx *r);

/* Logs "restore: pid P fd N (KIND file ID): ..." as an error; errno is
 * kept. */
void restore_err(const struct restore_ctx *r, const struct file_obj *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* For file_kind.make_inode: keeps @fd (and @fd2, or -1) as the handle of
 * @f's inode; they are moved high, and closed once every object of the
 * inode is installed. Takes both fds, also on failure. */
/* open(2) of a saved path, below the tree's root when it had one of its own
 * (r->env): what a kind opens by path goes through it. */
int restore_open_path(const struct restore_ctx *r, const char *path, int flags);
int restore_add_inode(struct restore_ctx *r, const struct file_obj *f, int fd, int fd2);
/* The handle of @f's inode: the one kept, or made now by the kind's
 * make_inode (once per inode); NULL on failure, logged. */
const struct inode_handle *restore_inode_get(struct restore_ctx *r, const struct file_obj *f);
/* Opens a new open file description of the file at @fd, with the flags of
 * @f: how the other objects of one inode are opened. */
int restore_reopen(const struct restore_ctx *r, const struct file_obj *f, int fd);
/* Both of those: what a kind with make_inode and no open of its own gets. */
int restore_open_from_inode(struct restore_ctx *r, const struct file_obj *f);

/* Makes a deleted file's node again (ghost_node.c): of @type (S_IFREG,
 * S_IFDIR, S_IFIFO or S_IFCHR with @rdev), at @path or, when that name is
 * taken, at a free name beside it, and opens it with @flags. The fd, its
 * name in *@created (to free, still linked), or -errno, logged. */
int restore_create_beside(const struct restore_ctx *r, const struct file_obj *f,
			  const char *path, mode_t type, mode_t mode, dev_t rdev, int flags,
			  char **created);
/* The same, then given @uid, @gid and @mode and unlinked: a ghost with no
 * bytes to put back (a FIFO's are the pipe's, a device node has none). */
int restore_make_ghost(const struct restore_ctx *r, const struct file_obj *f, const char *path,
		       mode_t type, dev_t rdev, int flags, uid_t uid, gid_t gid, mode_t mode);
/* At dump: a FIFO or device node deleted at @path (@what: "FIFO", "device
 * node") is refused, naming it, when the folder it was in was removed too:
 * only regular files and directories are made again in removed folders. */
int dump_ghost_node_folder(const struct fd_probe *p, const char *what, const char *path);

/* An fd of the object @id, which a message queued on @carrier carries in
 * flight, to send it again: the one opened for it in this restore (by
 * cryo or here), or opened now with its saved flags and position. The
 * engine owns it (closed with the context); -errno, logged. */
int restore_in_flight_fd(struct restore_ctx *r, const struct file_obj *carrier, uint32_t id);

/* An fd of object @id that @by borrows (files_borrow()): the one cryo
 * opened for the task and its holder, taken from cryo now if cryo opened
 * it once the processes existed. The engine owns it (closed with the
 * context); -errno, logged. */
int restore_borrowed_fd(struct restore_ctx *r, const struct file_obj *by, uint32_t id);

/* Writes the saved contents of @holder into the regular file @fd and sets
 * its size. */
int contents_restore_file(const struct restore_ctx *r, const struct file_obj *holder, int fd,
			  uint64_t size);
/* The same for a file on hugetlbfs, which has no write(): each run is
 * copied through a shared mapping of the huge pages it covers, which
 * reserves those pages and no others. */
int contents_restore_huge(const struct restore_ctx *r, const struct file_obj *holder, int fd,
			  uint64_t size, uint64_t huge_page_size);
/* Writes the saved bytes of @holder into the pipe through @fd. */
int contents_restore_bytes(const struct restore_ctx *r, const struct file_obj *holder, int fd);

/* ---- a kind ------------------------------------------------------------------ */

enum file_opened_by_cryo {
	FILE_OPENED_IN_TASK_ONLY,
	FILE_OPENED_BEFORE_TREE,
	FILE_OPENED_AFTER_TREE,
};

/*
 * Groups: objects created together. Some objects can only be made by one
 * call that makes several at once: the two ends of a unix socketpair, a
 * pty's master and slave, a listening socket and the connections queued
 * on it. Such a kind:
 * - at dump, calls file_dump_join_group() with a key that the members of
 *   one group share and no other group of the kind has; the record of
 *   each member says which member it is (which end), in its kind's part.
 *   With group_size set, a dump whose group lacks members (the peer is a
 *   process's outside the dump) fails, naming the object.
 * - at load, may check its members in check(): f->group and
 *   f->group->nr_group are set by then.
 * - at restore, provides create_group(), which the engine calls once per
 *   group with every member of the image (leader first, then by id), and
 *   which puts a new open file description of each member in fds[i]. The engine gives each member its fd and closes
 *   those no process took. A member has no inode_of, and no object has
 *   one naming a member.
 * A kind may have open too: then an object in no group (a socket with no
 * peer in the dump) is opened alone by it, and group_size counts only
 * objects that are in a group.
 * Where: a group that two processes need is made by cryo before the tree
 * exists (files_prepare()), others in the process that holds it. Either
 * way the making goes through one place (make_in_namespaces() in
 * prepare.c), which is where objects will be made inside the namespaces
 * they belong to (struct files_namespaces, files.h).
 */
struct file_kind {
	const char *name;		/* "pipe", in messages */
	FileEntry__Kind type;		/* in the image */
	/* Flags beyond FILE_FLAGS_KNOWN that its files may carry, among
	 * FILE_FLAGS_KIND_SPECIFIC (a pidfd's PIDFD_THREAD, which is O_EXCL
	 * and means nothing to other files). */
	unsigned int own_flags;
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
	/* Its files may be in flight in a unix socket's queue: dumped from
	 * cryo's copy, opened at restore by whoever fills the queue. */
	bool in_flight_ok;
	/* The ids of the objects @e carries in flight (a socket's queued
	 * SCM_RIGHTS), each given to @fn in order; stops at the first
	 * nonzero return. */
	int (*each_in_flight)(const FileEntry *e, int (*fn)(void *arg, uint32_t id), void *arg);
	/* For an object opened to be sent in flight (@fd, kept in @r): called
	 * once the task's fds are installed, for what needs them (an epoll
	 * watches its targets). */
	int (*in_flight_ready)(struct restore_ctx *r, const struct file_obj *f, int fd);
	/* For an object cryo made before the tree because several processes
	 * hold it: called in each of them as it installs it, after its deps,
	 * for what only one can finish (an epoll's targets, in the table of
	 * the process they are of). */
	int (*shared_ready)(struct restore_ctx *r, const struct file_obj *f, int fd);
	/* Several objects may be opens of one inode that has no path to
	 * reopen it by (a pipe, a memfd, a deleted file): dump shows it the
	 * earlier ones (file_dump.same_inode). */
	bool inode_shared;
	/* How many objects one group has (0: any number); see Groups. */
	unsigned int group_size;
	/* At the end of the dump, for a group of the kind: why the members
	 * the dump holds (@members, the leader first) cannot be made again
	 * (a pty's slave without its master), or NULL. */
	const char *(*group_incomplete)(FileEntry *const *members, size_t n);
	/* Whether object @e gives the processes of session @sid their
	 * controlling terminal @ctty back at restore (a pty's master). */
	bool (*restores_ctty)(const FileEntry *e, dev_t ctty, pid_t sid);
	/* Checks the kind's part of a record, if it has more to check than
	 * the schema says; for an object restore needs, loads its contents. */
	int (*check)(const struct image_dir *dir, struct files_image *img, struct file_obj *f);
	/* For an object the task has fds of, after every check: the objects
	 * whose fds must be installed before it is opened (f->deps). */
	int (*deps)(struct files_image *img, struct file_obj *f);
	/* Mappings of its files are restored from the object (a memfd, a
	 * deleted file, shared anonymous memory: no path to map them from).
	 * The bytes a mapping of the inode whose first object is @e may reach
	 * (UINT64_MAX: any; a file may be mapped past its end); 0 when that
	 * inode cannot be mapped this way (a file that is not deleted). NULL:
	 * the kind is never mapped so. */
	uint64_t (*mapped_limit)(const FileEntry *e);
	/* The huge page size of the hugetlbfs inode whose first object is @e,
	 * 0 for ordinary pages: its mappings must have the same. NULL: the
	 * kind is never hugetlb. */
	uint64_t (*huge_page_size)(const FileEntry *e);
	/* Makes the inode of @first, the first object of an inode that has no
	 * path (a memfd, a pipe, a deleted file), with its saved contents,
	 * and keeps it with restore_add_inode(); the engine calls it once per
	 * inode and opens every object of it from there. */
	int (*make_inode)(struct restore_ctx *r, const struct file_obj *first);
	/* Lets go of the inode handle @h made by make_inode before its fds
	 * are closed: once every object of the inode is open, or the restore
	 * failed. For what closing does not undo (a child to reap). */
	void (*release_inode)(const struct restore_ctx *r, const struct inode_handle *h);
	/* The group of @f must exist before the tree, made by cryo, even
	 * when one process alone needs it (a controlling terminal, which its
	 * session leader takes before it creates the rest of the session). */
	bool (*made_before_tree)(const struct files_image *img, const struct file_obj *f);
	/* Makes every member of a group at once; see Groups. */
	int (*create_group)(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
			    int *fds);
	/* Opens a new open file description like the saved one, with its
	 * flags, at any fd number; returns it or -errno, logged. NULL: from
	 * its inode (restore_open_from_inode()) with make_inode, or the fd its
	 * group made for it with create_group. */
	int (*open)(struct restore_ctx *r, const struct file_obj *f);
	/* What to call @e's file in messages (its path); NULL: the kind's
	 * name. */
	const char *(*describe)(const FileEntry *e);
	/* In the leader of session @sid, just made (setsid), for each object
	 * cryo made before the tree (at @fd): makes its terminal the
	 * session's controlling terminal if it was; 0 when it was not. */
	int (*take_terminal)(const struct files_image *img, const struct file_obj *f, int fd,
			     pid_t sid);
	/* The same leader, once every process group exists: gives the
	 * terminal its foreground group back. */
	int (*set_foreground)(const struct files_image *img, const struct file_obj *f, int fd,
			      pid_t sid);
	/* The position is restored with lseek(). */
	bool seekable;
	/* Restored as a copy of a file that is not the task's (the shell's
	 * terminal): its flags are left as they are. */
	bool shares_foreign_file;
	/* Restored from cryo's own terminal (r->tty), which the engine then
	 * keeps a copy of. */
	bool uses_cryo_terminal;
	/* Fails, with the reason, when @f (an object with fds) cannot be
	 * restored with these options (the shell's terminal without
	 * --shell-job). */
	int (*check_restorable)(const struct files_image *img, const struct file_obj *f,
				bool shell_job);
};

#endif
