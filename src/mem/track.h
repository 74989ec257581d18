/* Write tracking that outlives a dump (criu's --track-mem, without
 * soft-dirty bits): a pre-dump, or a -R dump, arms an async
 * write-protecting userfaultfd per process before its pages are read
 * (uffd_wp.h) and hands the userfaultfds to a holder process
 * (track_holder.c) that keeps them alive after cryo exits. The next dump
 * whose parent is that set takes them back from the holder and leaves in
 * the parent, unread, the pages of armed mappings nobody wrote since;
 * everything else is read and compared by digest as before. Which
 * processes, and when, is the dump's (dump/); copying is pagedump.c's. */
#ifndef CRYO_MEM_TRACK_H
#define CRYO_MEM_TRACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"
#include "images/proto/mm.pb-c.h"
#include "mem/pagescan.h"

struct inj_task;
struct page_digests;

/* What tells a process's address space from the one an exec gives it:
 * the 16 random bytes the kernel puts on every new stack (AT_RANDOM), and
 * where. A process that wrote over them only loses its tracker. */
struct track_exec_token {
	uint64_t random_addr;
	uint8_t random[16];
};

/* One process's tracker as the holder keeps it. */
struct track_held {
	pid_t pid;
	int uffd, pidfd;
	struct track_exec_token token;
};

/* One process's tracking in this dump. */
struct track_task {
	pid_t pid;
	int uffd, pidfd, pagemap_fd;
	struct track_exec_token token;
	/* Registered with @uffd now (ascending, adjacent merged), and of
	 * those, registered since the parent set read them: only there does
	 * a page without its written bit equal the parent's. */
	struct page_ranges registered, trusted;
	bool rearm;		/* armed for the next set; false after a failure */
	uint64_t unread;	/* pages left in the parent unread */
};

struct track {
	/* Arm for the next set (--track-mem on a pre-dump or a -R dump). */
	bool rearm;
	/* The holder waiting for this dump's trackers (track_holder_spawn());
	 * -1: none. */
	int holder_fd;
	/* Received from the parent set's holder, not yet claimed by a
	 * process of the tree. */
	struct track_held *incoming;
	size_t nr_incoming;
	struct track_task *tasks;
	size_t nr, cap;
};

/* Asks the holder of @parent (its socket, TRACK_SOCKET_NAME) for the
 * trackers armed when that set was made, checked to be the set with dump
 * id @parent_id. No holder, or one that does not answer right, is said in
 * the log and leaves @t without any: every page is read and compared by
 * digest. Only memory errors fail. */
int track_fetch(struct track *t, const struct image_dir *parent, const uint8_t *parent_id);

/* Frozen, before @task's memory is dumped: takes its tracker from the
 * parent's if it is still the process and address space that was armed,
 * finds the mappings armed since (trusted), and with t->rearm arms its
 * private anonymous mappings for the next set. *@out is NULL when the
 * process has neither. Failures of tracking leave the process untracked
 * (logged); only memory errors fail. */
int track_prepare(struct track *t, struct inj_task *task, struct track_task **out);

/* Whether mapping @v is registered with @tt's userfaultfd: then
 * track_scan_vma() replaces pagescan_vma() for it. */
bool track_covers(const struct track_task *tt, const Vma *v, bool guarded);

/* Puts into @present the pages of @v to save (those of pagescan_vma()),
 * into @unread those of them not written since the parent set read them
 * that @parent (its digests of this process; NULL: none) holds, and with
 * rearm protects @v's pages for the next set, all before any is read. */
int track_scan_vma(struct track_task *tt, const Vma *v, const struct page_digests *parent,
		   struct page_ranges *present, struct page_ranges *unread);

/* After a complete dump: the armed trackers go to the holder, which binds
 * its socket in @dir and answers before this returns. A failure is said
 * and fails nothing: the next dump reads every page. */
void track_commit(struct track *t, struct image_dir *dir);

/* Closes every userfaultfd not handed over (their tracking ends). */
void track_free(struct track *t);

/* track_holder.c. The socket in a set's folder where its holder answers. */
#define TRACK_SOCKET_NAME "track-mem.sock"

/* Starts the holder before the dump (and before it enters any namespace
 * of the tree: the holder must live in cryo's, not be born in the tree's
 * pid namespace and outlive its dumper there). *@fd is the dump's end. */
int track_holder_spawn(int *fd);

/* Hands @nr trackers of the set @dir (its dump id) to the holder at
 * @holder_fd and waits until it has bound its socket; the holder's pid in
 * *@holder_pid. The fds stay the caller's to close. */
int track_holder_hand(int holder_fd, struct image_dir *dir, const struct track_held *held,
		      size_t nr, pid_t *holder_pid);

/* Receives the trackers of the set at @parent_fd with dump id @id from its
 * holder: *@out (malloc'd, fds the caller's), or -ENOENT when no holder
 * answers, -EXDEV when it holds another set's. */
int track_holder_take(int parent_fd, const uint8_t *id, struct track_held **out, size_t *nr,
		      pid_t *holder_pid);

#endif
