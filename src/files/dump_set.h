/* The state of one dump of files (struct files_dump_set), for dump.c and
 * locks.c: the objects made so far, found again by inode and kcmp order,
 * the groups of objects created together, the processes of the dump and
 * the locks noted. Kinds see none of it (kind.h). */
#ifndef CRYO_FILES_DUMP_SET_H
#define CRYO_FILES_DUMP_SET_H

#include "files/internal.h"
#include "files/proc_locks.h"

/* A file object of the dump and where it was first seen, to compare other
 * fds with it. */
struct dump_obj {
	FileEntry *fe;
	pid_t pid;
	int fd;
	/* Made for another task's need (an epoll's target) before any table
	 * holding it was read, by a kind that refers to fds: dumped with the
	 * first table read that holds it. */
	bool pending;
};

/* The objects of one inode, sorted in kcmp's order of open file
 * descriptions, so that finding an fd's object is a binary search even
 * where one inode has thousands (every eventfd shares one anon inode). */
struct inode_bucket {
	dev_t dev;
	ino_t ino;
	size_t *objs;		/* indexes into set->objs */
	size_t nr, cap;
	/* The id of the object saved for mappings of the inode, when no fd
	 * had it first; it has no fd to compare, so it is not in @objs. */
	uint32_t mapped;
	/* The id of the object saved for removed cwds and roots of the inode
	 * (files_dump_dir_object(), from cryo's own copy): one for all of them. */
	uint32_t dir_object;
	/* Every object of the inode, @mapped too, in the order of their ids
	 * (the order they were made in): what the kinds see of each other
	 * (file_dump.same_inode), ready without a sort. */
	FileEntry **by_id;
	size_t nr_by_id, cap_by_id;
	bool mixed_kinds;	/* @by_id holds objects of more than one kind */
};

/* A group of objects created together (kind.h, Groups), by its key. */
struct dump_group {
	FileEntry__Kind type;	/* 0: a free slot */
	uint64_t key;
	uint32_t leader;	/* the id of its first object */
	uint32_t nr;		/* members so far */
};

struct noted_lock;
struct noted_ctty;

struct files_dump_set {
	struct image_dir *dir;
	pid_t *pids;		/* the processes of the dump, sorted */
	size_t nr_pids;
	struct dump_obj *objs;	/* objs[i] has id i + 1 */
	size_t nr_objs, cap_objs;
	struct inode_bucket *buckets;	/* open addressing; cap a power of 2 */
	size_t nr_buckets, cap_buckets;
	struct dump_group *groups;	/* open addressing; cap a power of 2 */
	size_t nr_groups, cap_groups;
	/* The locks the fds reach (locks.c). */
	struct noted_lock *locks;
	size_t nr_locks, cap_locks;
	uint64_t ghost_limit;	/* 0: no limit */
	/* Contents bytes kept in records so far (contents.c): past
	 * FILE_INLINE_BUDGET they go to data files, so that the records held
	 * until files.img is written stay small whatever the dump holds. */
	uint64_t inline_bytes;
	/* file-queues.img once a queue went past that budget. */
	struct image_writer *queues;
	bool link_remap;	/* --link-remap */
	bool evasive_devices;	/* --evasive-devices */
	dev_t tree_devpts;	/* files_dump_set_tree_devpts() */
	struct net_run *net;	/* files_dump_set_net() */
	/* The processes that have a controlling terminal (ctty.c). */
	struct noted_ctty *cttys;
	size_t nr_cttys;
	/* --ext-unix-sk: a unix socket's peer may be outside the dump. */
	bool ext_unix_sk;
	/* -j: the shell's terminal may be among the fds (files_dump()). */
	bool shell_job;
	/* --skip-in-flight. */
	bool skip_in_flight;
	/* orphan_pts_master: a pty's master may be outside the dump. */
	bool orphan_pts;
	/* Every fd of the processes, by inode, read on first use
	 * (fd_holders.c). */
	struct fd_holder {
		uint64_t ino;
		pid_t pid;
		int fd;
		bool socket;
		/* The first of its inode's run: the run is in kcmp's order. */
		bool ordered;
	} *holders;
	size_t nr_holders, cap_holders;
	bool holders_read;
	/* Fds in flight (in_flight.c): cryo's copies of the files that are
	 * objects of the dump from a queue only (kcmp compares later fds
	 * with them), a pidfd of cryo to probe them, and the inodes of the
	 * sockets among them, unsorted. */
	int *flying_fds;
	size_t nr_flying_fds;
	int self_pidfd;
	uint64_t *flying_socks;
	size_t nr_flying_socks;
	/* Objects in flight of a kind that refers to fds (an epoll): dumped
	 * once the fd table of the task whose queue carries them is. */
	struct flying_later {
		size_t obj;		/* in objs */
		int fd;			/* cryo's copy, one of flying_fds */
		pid_t pid;
		char name[48];		/* the probe's name, naming the message */
	} *flying_later;
	size_t nr_flying_later;
	/* /proc/locks, read once for the dump from files_dump_start() on. */
	struct proc_locks proc_locks;
	/* Whether /proc/locks has a lock on a socket (-1: not read yet). */
	int socket_locks;
	/* What kinds keep for the whole dump (file_dump_kind_state()). */
	struct kind_state {
		FileEntry__Kind kind;
		void *state;
		void (*drop)(void *state);
	} kind_states[4];
	size_t nr_kind_states;
};

/* The bucket of (@dev, @ino), created empty when new; NULL without memory. */
struct inode_bucket *bucket_get(struct files_dump_set *set, dev_t dev, ino_t ino);
/* Finds the object of @p's open file description in @b: 0 with *@found
 * set, or its place in *@pos. */
int bucket_search(struct files_dump_set *set, const struct inode_bucket *b,
		  const struct fd_probe *p, size_t *pos, struct dump_obj **found);
/* Records @fe, the newest object, as one of @b's inode. */
int bucket_note(struct inode_bucket *b, FileEntry *fe);
/* A new object for @p, at the end of set->objs; inserted at @pos of @b
 * with obj_add(). A failure leaves the object in the set, which a failed
 * dump throws away whole. */
int obj_new(struct files_dump_set *set, const struct fd_probe *p, const struct file_kind *kind,
	    struct dump_obj **out);
int obj_add(struct files_dump_set *set, const struct fd_probe *p, const struct file_kind *kind,
	    struct inode_bucket *b, size_t pos, struct dump_obj **out);
/* dump.c: the kind dumps @o, a new object of @p, seeing the other objects
 * of its inode (and @fds, the task's table, for kinds that refer to it). */
int obj_dump(struct files_dump_set *set, const struct fd_probe *p, const struct file_kind *kind,
	     struct dump_obj *o, FdEntry *const *fds, size_t nr_fds);
/* in_flight.c: lets go of cryo's copies of files in flight. */
void in_flight_forget(struct files_dump_set *set);
/* Keeps @fd, cryo's copy of an object's file, to the end of the dump:
 * kcmp compares later fds with it. */
int in_flight_keep(struct files_dump_set *set, int fd, const struct stat *st);
/* Dumps the objects in flight in @pid's queues whose kind refers to fds,
 * now that its fd table @fds (sorted, file ids set) is complete. */
int in_flight_dump_later(struct files_dump_set *set, pid_t pid, FdEntry *const *fds, size_t nr);

/* fd_holders.c: a process of the dump (or @task) and its fd, on inode
 * @ino, whose file @order says is the one wanted: it returns 0 for that
 * file, 1 for a file before it in kcmp's order, 2 after, or -errno. The
 * fds of @task are asked first, then those at number @hint (unless -1).
 * -ENOENT when none holds it. */
int fd_holders_find(struct files_dump_set *set, pid_t task, uint64_t ino, int hint,
		    int (*order)(void *arg, pid_t pid, int fd), void *arg, pid_t *pid, int *fd);

/* The object a mapping of @b's inode is opened from at restore: the one
 * that holds the inode's contents; 0 when the inode has no object yet. */
uint32_t inode_holder(const struct files_dump_set *set, const struct inode_bucket *b,
		      FileEntry__Kind kind);

/* locks.c: the locks @p's fdinfo shows, reached through file object
 * @file_id, noted in @set; fails, naming the fd, on a lease or another
 * lock cryo cannot take again. */
int locks_note_fd(struct files_dump_set *set, const struct fd_probe *p, uint32_t file_id);
/* Checks /proc/locks for a lock of @live (the live processes) that no fd
 * reached, and writes locks.img. */
int locks_write(struct files_dump_set *set, const pid_t *live, size_t n);
void locks_forget(struct files_dump_set *set);
/* Whether @proc_locks shows any lock on device @dev (0 or 1, -errno). */
int locks_on_device(struct proc_locks *proc_locks, dev_t dev);
/* Whether a socket may hold a lock (read once a dump; true when unsure). */
bool dump_set_socket_locks(struct files_dump_set *set);

/* ctty.c: notes that @pid of session @sid has terminal @ctty; checks at
 * the end of the dump that each such terminal is one the dump gives back
 * (file_kind.restores_ctty), or the shell's (-j, a session outside). */
int ctty_note(struct files_dump_set *set, pid_t pid, pid_t sid, dev_t ctty, bool shell_job);
int ctty_check(const struct files_dump_set *set);

#endif
