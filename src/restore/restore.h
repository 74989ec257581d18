/* The restore journey: read and validate every image → create each process
 * of the tree with its PID, its parent, session and group → each restores
 * its files and attributes → the restorer blob replaces its memory → cryo
 * sets the registers of all and lets them run together. */
#ifndef CRYO_RESTORE_H
#define CRYO_RESTORE_H

#include <linux/capability.h>
#include <stdbool.h>
#include <sys/types.h>

#include "files/files.h"
#include "images/image.h"
#include "images/pages.h"
#include "images/sign.h"
#include "ns/externals.h"
#include "images/proto/core.pb-c.h"
#include "images/proto/mm.pb-c.h"
#include "mem/cow.h"
#include "tree/tree.h"

struct files_image;
struct files_locks;
struct mnt_set;
struct files_prepared;
struct inj_task;
struct shared_table_sync;
struct sysv_shm_set;
struct ipc_ns_set;
struct net_ns_set;

/* Everything read from the images for one live process, validated. */
struct restore_task {
	pid_t pid;
	/* The pid cryo sees: pid, but for --clone, whose processes have their
	 * saved pids only inside the new pid namespace. */
	pid_t host_pid;
	struct image *core_img;
	TaskCore *core;			/* points into core_img */
	Mm *mm;
	struct files_image *files;
	struct pages_reader *pages;
	/* The restorer checks each pages file's digest as it reads it (an
	 * unsigned set, not lazy): its size and XXH3-128 as listed. */
	bool pages_verify;
	uint64_t pages_size[PAGES_FILES_MAX];
	uint8_t pages_digest[PAGES_FILES_MAX][16];
	/* The user namespace it enters before its threads and credentials,
	 * NULL for cryo's. */
	const struct ns_user_set *userns;
	/* Its pages files were mostly outside the page cache when loaded. */
	bool pages_cold;
	/* Its pages came along a chain of parent sets (images/pages_chain.h)
	 * into an unnamed file: cryo checked the set's own file. */
	bool pages_chained;
	/* The mappings it fills before creating its children (cow_plan.c),
	 * in address order; the restorer moves their pieces into place. */
	struct cow_premap *premaps;
	size_t nr_premaps;
	/* Its children's pages it holds while it creates them (cow_plan.c). */
	struct cow_held *held;
	size_t nr_held;
	/* cryo copies part of its memory while its restorer copies the rest
	 * (filler.c). */
	bool filler;
	/* A removed root made again in stage 2 (task_make_ghost_root()), O_PATH,
	 * above base, -1: none. The restorer chroots into it. */
	int ghost_root_fd;
	/* For each thread with fs info of its own (ThreadCore.fs, not shared
	 * with another thread), its root and cwd opened in stage 2 (ghosts
	 * made again), above base: [2 i] and [2 i + 1] for core->threads[i];
	 * -1: none (the cwd: the root is its cwd). NULL when no thread has. */
	int *thread_fs_fds;
	/* Fs info shared by processes under a chroot (shared_fs.c), fds above
	 * base, -1: none. The owner of the group reads a byte from each of its
	 * fs_members on fs_wait_fd before it chroots (fs_members_fd, the
	 * pipe's write end, is theirs); a member writes one on fs_signal_fd
	 * once in its restorer, and chroots not. */
	int fs_wait_fd;
	int fs_members_fd;
	uint32_t fs_members;
	int fs_signal_fd;
};

/* cryo's mappings as /proc/self/maps listed them (maps_now.c), this
 * kernel's [vvar]...[vdso] block among them and cryo's heap (0: none). */
struct maps_range {
	uint64_t start, end;
};
struct maps_now {
	struct maps_range *ranges;
	size_t nr;
	uint64_t vdso_block_start, vdso_text, vdso_block_end;
	uint64_t heap_start, heap_end;
};
int maps_now_read(struct maps_now *m);
/* Puts cryo's heap in huge pages, cheap to copy into every process of a
 * tree; nothing when it cannot. */
void maps_now_collapse_heap(const struct maps_now *m);
/* Grows cryo's heap to the next 2 MiB boundary (under 2 MiB of pages
 * never touched), so that its last huge page is whole, then by @more
 * bytes of written pages (CRYO_TEST_HUGE_HEAP: a test's tree is too small
 * for its heap to hold a huge page). */
int maps_now_grow_heap(size_t more);
void maps_now_free(struct maps_now *m);

/* A whole restore: the tree, the images of each live process, and what
 * every process shares with cryo while it is being built. */
struct restore_set {
	struct tree tree;
	struct restore_task *tasks;	/* like tree.tasks; filled for live ones */
	bool shell_job;
	bool signed_set;	/* its inventory's MAC matched the --sign-key */
	bool lazy_pages;	/* --lazy-pages: private anonymous memory comes from a page server */
	bool leave_stopped;	/* -s: every process is left in a stop by SIGSTOP */
	/* Fds of cryo that the processes inherit sit at or above it, clear
	 * of every fd a process restores. */
	int base;
	/* The file objects of all processes, opened by cryo above base. */
	struct files_prepared *files;
	/* The file locks of all processes (locks.img). */
	struct files_locks *locks;
	/* files.img, read once: every process's files_image links into it. */
	struct image *file_objects;
	/* The fd tables of the live processes, in tree order. */
	struct files_image **files_imgs;
	size_t nr_files_imgs;
	/* The SysV segments the processes attach, made by cryo. */
	struct sysv_shm_set *sysv;
	/* The tree's own mounts (mnt.img), NULL when it was in cryo's
	 * namespace. */
	struct mnt_set *mnts;
	/* That namespace, when cryo moved on to a copy of it (so that its own
	 * /proc stays while the first process of a new pid namespace mounts
	 * one in the tree's): that process enters it. -1: none. */
	int tree_mnt_fd;
	/* The tree's own IPC namespace, or nothing to make. */
	struct ipc_ns_set *ipc_ns;
	/* The tree's own network namespace, or nothing to make. */
	struct net_ns_set *net_ns;
	pid_t root_parent;	/* the root's parent: cryo, or cryo's (--restore-sibling) */
	int report_fd;		/* write end of the one report pipe */
	/* Read ends of the pipes that let every process past stage 1 and
	 * past stage 2: one byte each. One pipe per stage, so that a fast
	 * process never takes a byte meant for a slow one. */
	int gate_fd[2];
	/* Only when processes share an fd table (shared_table.c): above
	 * every fd cryo hands down, and the words that order the group. */
	int top;
	struct shared_table_sync *sync;
	/* --manage-cgroups (cgroups.c); NULL: processes stay in cryo's. */
	struct restore_cgroups *cgroups;
	/* cgroups.img: the tree's own cgroups' settings; NULL without. */
	struct image *cgroup_img;
	/* cgroups_v1.img: the tree's v1 hierarchies; NULL without. */
	struct image *cgroup_v1_img;
	/* The root and inherited pipes every opening of files uses; its fds
	 * are lifted above base with the others. */
	struct files_restore_env files_env;
	/* The run's --external names, and runc's ext_mnt from @externals_own_from
	 * on (the set's own strings); passed to the mount and network restore. */
	struct ns_externals externals;
	size_t externals_own_from;
	/* --clone: the clone's own devpts instance (a detached mount, above
	 * base) that the init attaches on /dev/pts; -1 without. */
	int devpts_fd;
	/* The namespaces the tree had of its own (UTS, time), made for the
	 * root by whoever creates it: cryo, or a clone's init. */
	struct ns_own own_ns;
	/* The tree's own user namespace (userns.img), NULL without. */
	struct ns_user_set *userns;
	/* The tree's own cgroup namespace (cgroupns.img), NULL without. */
	struct ns_cgroup_set *cgroup_ns;
	/* Where processes fill the memory their children share (cow.c): kept
	 * free in cryo (PROT_NONE) from load to unload; 0: none. */
	uint64_t cow_region, cow_region_size;
	/* The network lock (net/net.h): the dump's connections are locked
	 * again at load and unlocked once every process is restored. */
	struct net_run *net;
	/* cryo's mappings just before the tree is forked: each process's own
	 * at its start (it reads /proc/self/maps only if a place they say is
	 * free is not). */
	struct maps_now maps_at_fork;
};

/* cow_plan.c: pages shared copy-on-write since fork (mem/cow.h). At load,
 * checks every IN_PARENT page against the parent's mappings and pages,
 * cuts each premapped mapping into pieces at slots and keeps the region
 * free. cow.c: undoing that, and stage 1's fills. */
int restore_cow_plan(struct restore_set *rs);
void restore_cow_unplan(struct restore_set *rs);
/* Stage 1, in process @index before it creates its children: maps and
 * fills its premapped mappings (an inherited piece: only its own pages). */
int restore_cow_premap(const struct restore_set *rs, size_t index);
/* The first entry of @pagemap that ends above @addr (cow.c, for both). */
size_t restore_cow_first_entry_above(const struct image *pagemap, uint64_t addr);
/* child.c: whether the file open as @fd is the one mapping @vma mapped
 * when dumped (inode, size, hugetlbfs page size); -ESTALE, said, if not. */
int restore_vma_file_check(const Vma *vma, int fd);

/* cgroups.c: for --manage-cgroups @mode (criu's: "none", "props", "soft",
 * "full", "strict"; NULL or "ignore": nothing), checks, makes and sets
 * (cgroups.img, cgroups_v1.img) every process's cgroups before any process
 * is created. @roots (--cgroup-root): the root process's cgroup, and
 * those below it, are put there instead in the hierarchies they name.
 * @yard (--cgroup-yard): each hierarchy is mounted at @yard/NAME, not
 * found in mountinfo; NULL: found there. */
struct cgroup_root_opt;
int restore_cgroups_prepare(struct restore_set *rs, const char *mode,
			    const struct cgroup_root_opt *roots, size_t nr_roots, const char *yard);
/* Moves @rt (finished, not running yet) into its saved cgroups. */
int restore_cgroup_join(const struct restore_set *rs, const struct restore_task *rt);
/* Forgets, and after a failed restore removes, the cgroups it made. */
void restore_cgroups_end(struct restore_set *rs, bool failed);

/* shared_table.c: fd tables shared between processes (CLONE_FILES). */
/* The process that restores the table process @index uses: the first of
 * its group, that shares with no parent (@index itself when it shares
 * none); and how many others use that table. */
/* shared_fs.c. In stage 1 of the owner of an fs group under a chroot,
 * before its children: the pipe its members report through. */
int shared_fs_prepare(struct restore_set *rs, size_t index);
/* In stage 2 of a member of such a group: its end of that pipe. */
void shared_fs_take(struct restore_set *rs, size_t index);

/* The first process of @index's group sharing its fd table (CLONE_FILES;
 * @fs false) or its fs info (CLONE_FS; @fs true) with its parent: the one
 * that shares with no parent; and how many processes share with @owner. */
size_t share_group_owner(const struct tree *tree, size_t index, bool fs);
size_t share_group_members(const struct tree *tree, size_t owner, bool fs);
/* In cryo, once its fds are arranged and before the tree is created; and
 * after the restore. Nothing when no process shares a table. */
int shared_table_setup(struct restore_set *rs);
void shared_table_teardown(struct restore_set *rs);
/* Inside the processes, stage 2: the owner marks its table restored,
 * members wait for that; members mark that they opened what they need,
 * the owner waits for all of them before it closes cryo's fds. */
void shared_table_mark_ready(const struct restore_set *rs, size_t owner);
void shared_table_wait_ready(const struct restore_set *rs, size_t owner);
void shared_table_mark_opened(const struct restore_set *rs, size_t owner);
void shared_table_wait_opened(const struct restore_set *rs, size_t owner, size_t members);
/* The report pipe fd process @index writes to in its restorer: a member
 * has its own copy at top + @index (the owner's restorer closes the one
 * they shared), made by shared_table_own_report_fd(). Its mappings' files
 * go above all those: at shared_table_open_base() or higher. */
int shared_table_report_fd(const struct restore_set *rs, size_t index);
int shared_table_own_report_fd(struct restore_set *rs, size_t index);
int shared_table_open_base(const struct restore_set *rs);

/* pids_free.c: every pid and tid of @tree is free, or becomes free within
 * @wait_ms (a zombie its parent reaps); -EBUSY, said, otherwise. */
int restore_wait_pids_free(const struct tree *tree, int wait_ms);

/* trust.c: what a restore trusts and grants. */
/* The image directory and every file in it: owned by the caller or root,
 * writable by no one else (as ssh's StrictModes); else refused by name.
 * *@owner: the image's owner, the non-root one among them if any. */
int restore_check_image_dir(const struct image_dir *dir, uid_t *owner);
/* Without full privileges (root with CAP_SETUID, CAP_SETGID, CAP_SETPCAP
 * and CAP_SYS_ADMIN), the ids, groups and capabilities each task asks
 * for must be cryo's own. An unsigned set of a non-root @image_owner
 * may ask only for that uid and its groups (and, from a root cryo, no
 * capability). */
int restore_check_creds(const struct restore_set *rs, uid_t image_owner);
/* Whether the pools of huge pages can take the tree's hugetlb mappings;
 * -ENOMEM naming a mapping, the pages needed and the sysctl to raise when
 * not (hugetlb_pool.c). Before anything is made. */
int restore_check_huge_pages(const struct restore_set *rs);
/* -EOPNOTSUPP naming the first named anonymous mapping of the tree when
 * this kernel cannot name one (anon_names.c). Before anything is made. */
int restore_check_anon_names(const struct restore_set *rs);
/* The calling thread takes on the supplementary groups, fsuid and fsgid of
 * @core's task, so that the task's files are opened and made as the task
 * would; cryo keeps its own in a restore_fs_creds and puts them back. */
#define RESTORE_MAX_GROUPS 65536
struct restore_fs_creds {
	struct __user_cap_data_struct caps[2];
	uid_t fsuid;
	gid_t fsgid;
	int nr_groups;
	gid_t groups[RESTORE_MAX_GROUPS];
};
int restore_save_fs_creds(struct restore_fs_creds *saved);
/* @no_caps: without the task's file capabilities (held in its user
 * namespace only). */
int restore_take_fs_creds(const TaskCore *core, bool no_caps);
/* The same for a process born inside the tree's user namespace @set
 * (ns_user_born_inside()): its ids there, its groups already its own. */
struct ns_user_set;
int restore_take_fs_creds_inside(const TaskCore *core, const struct ns_user_set *set);
int restore_put_back_fs_creds(struct restore_fs_creds *saved);

/* clone.c: --clone. In cryo: creates the init of the clone, in a new pid
 * and mount namespace, as fork() returns (-1 and errno on failure). In the
 * init: mounts /proc, creates the root (which goes on in restore_child()),
 * waits for cryo's byte on @release[0] (EOF: the restore failed, and it
 * exits), then reaps orphans and exits with the root's status. */
pid_t clone_init_create(void);
void __attribute__((noreturn)) clone_init_run(struct restore_set *rs, const int release[2]);

/* pid_ns_root.c: whether the root was pid 1 of its pid namespace, and its
 * creation as the init of a new one, as fork() returns; in the child, the
 * new mount namespace (with a /proc of its own: when the tree had one, or
 * with @clone) is ready. @sibling: made cryo's sibling (CLONE_PARENT,
 * rst_sibling). */
bool restore_root_is_pid_ns_init(const struct restore_set *rs);
pid_t pid_ns_root_create(const struct restore_set *rs, bool clone, bool sibling);

/* regs_check.c: every thread's registers are ones the kernel takes, its
 * rip in one of @mm's executable mappings; else refused naming @path. */
int restore_check_registers(const char *path, const TaskCore *core, const Mm *mm);

/* load.c. With @pages_in_restorer (an unsigned set restored whole), the
 * pages files' digests are left to the restorers, which check each as
 * they read it (restore_task.pages_verify); else every file is hashed
 * here. */
int restore_load(struct image_dir *dir, const struct sign_key *key, bool shell_job,
		 bool pages_in_restorer, struct net_run *net, struct restore_set *rs);
void restore_unload(struct restore_set *rs);

/* filler.c: marks the task whose memory cryo helps fill, if any: the
 * largest, when there are two cores and it is large. */
void restore_pick_filler(struct restore_set *rs);
/* Copies cryo's segments of the fills the restorer of @rt (watched through
 * @pidfd) registered, as its RESTORE_STAGE_FILLER report @r says; 0 (also
 * when the task died meanwhile: the stages name that) or -errno, named. */
struct restorer_report;
int restore_filler_copy(const struct restore_task *rt, int pidfd, const struct restorer_report *r);

/* child.c: runs in the new process @index of the tree; never returns.
 * Failures are reported through rs->report_fd like the restorer's. */
void __attribute__((noreturn)) restore_child(struct restore_set *rs, size_t index);

/* area.c: builds the restorer's area in the new task and jumps into it;
 * with @lazy, what lazy.h serves lazily is left empty and registered. */
/* Whether the pages file @pages_fd is mostly outside the page cache. */
bool restore_pages_cold(int pages_fd);
/* The bytes of @pr's pages files. */
uint64_t restore_pages_bytes(const struct pages_reader *pr);

/* The highest gap of @size bytes, a page clear of its neighbours, below
 * the top of 4-level user space, that neither cryo's mappings (@now, or
 * read now when NULL) nor the saved mappings of any of @mms occupy; 0: none. */
uint64_t restore_find_gap(const Mm *const *mms, size_t nr_mms, const struct maps_now *now,
			  uint64_t size);
/* @now: the process's mappings as cryo's were when it was forked. */
int restorer_enter(struct restore_task *rt, const struct maps_now *now, int report_fd, int exe_fd,
		   const int *vma_fds, bool lazy);

/* prefetch.c: when the root's core image is not in the page cache, asks
 * the disk for every live process's small images at once, before load
 * reads them one after another. */
void restore_prefetch_images(const struct image_dir *dir, const struct tree *tree);

/* finish.c: what cryo knows of every restored process alike, found once
 * (restore_finish_known_find()), so that no finish looks for it. */
struct restore_finish_known {
	/* Of a "syscall" instruction in this kernel's vDSO, which every
	 * restorer maps (0: none found). */
	uint64_t vdso_syscall_offset;
	/* A process's threads are the image's, seized by their tids without
	 * reading /proc: cryo, and so its children, have no seccomp filter. */
	bool threads_known;
};
void restore_finish_known_find(struct restore_finish_known *known);

/* finish.c: from cryo, once the restorer of @rt reported (and said where
 * it put the vDSO): seizes it, closes its fd @uffd (the userfaultfd of a
 * lazy restore, which cryo took; -1: none) and the restore's pipe fds
 * @pipe_fds it may still hold (-1: none), takes its @locks again and sets
 * its registers and signal masks, which take effect when *@task is
 * released. */
int restore_finish(struct restore_task *rt, uint64_t vdso_text,
		   const struct restore_finish_known *known, int uffd,
		   const struct files_locks *locks, const int pipe_fds[2], struct inj_task **task);

/* finish.c: unmaps the restorer's area [@start, @end) from held @task
 * (pid @pid in the image), once nothing more runs there. */
int restore_unmap_area(struct inj_task *task, pid_t pid, uint64_t start, uint64_t end);

/* stopped.c: from cryo, once every live process is finished and still
 * held in @seized (by tree index): puts back each saved job-control stop,
 * as its parent had or had not seen it; with leave_stopped, stops every
 * other process by SIGSTOP (criu's --leave-stopped). */
int restore_stops(struct restore_set *rs, struct inj_task **seized);

/* pidfds.c: at load, every pidfd names a task the images hold (a thread
 * of a process among them); at finish, from cryo in the seized @task, each
 * pidfd of a thread other than a main thread takes its place (see
 * files_thread_pidfds()). */
int restore_check_pidfds(const struct restore_set *rs);
int restore_thread_pidfds(struct inj_task *task, const struct files_image *files);

/* fd_owners.c: gives the files of @files owned by a thread their owner,
 * by fcntl() in the seized @task (of saved pid @pid), once every thread
 * exists. */
int restore_thread_owners(struct inj_task *task, pid_t pid, const struct files_image *files);

/* locks.c: from cryo, in the seized @task (process @pid, @host_pid as
 * cryo sees it, paused in its restorer with every fd in place): takes
 * again each lock of @locks that is @pid's to take. */
int restore_take_locks(struct inj_task *task, pid_t pid, pid_t host_pid,
		       const struct files_locks *locks);

#endif
