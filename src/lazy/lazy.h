/* Lazy restore (`cryo restore --lazy-pages`): private anonymous memory is
 * mapped empty and registered with a userfaultfd in each restored process;
 * a page server forked from cryo fills it from the pages file, on first
 * touch and in the background, until every page is in. The memory stays
 * anonymous throughout: nothing of the image is mapped into the process.
 *
 * plan.c decides which pages are served lazily (both sides use it: the
 * restore code that builds the restorer's fills, and the page server);
 * server.c serves them; start.c hands the userfaultfds over and starts the
 * server. The restorer's half is src/restorer/uffd.c. */
#ifndef CRYO_LAZY_H
#define CRYO_LAZY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"
#include "images/pages.h"
#include "images/proto/core.pb-c.h"
#include "images/proto/mm.pb-c.h"
#include "kabi/kabi.h"
#include "lazy/pending.h"
#include "mem/cow.h"
#include "restorer/args.h"

/* The userfaultfd events the page server follows (UFFDIO_API features). */
#define LAZY_UFFD_FEATURES (UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | \
			    UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | \
			    UFFD_FEATURE_THREAD_ID)

/* ---- plan.c ----------------------------------------------------------------- */

/* Whether the pages of @v are served lazily: private anonymous memory,
 * the only kind a MISSING userfaultfd takes without shmem, and not wiped
 * on fork (a child must see zeros there, never the image). */
bool lazy_vma(const Vma *v);
/* Whether mapping @index of @mm is registered: lazy and with saved pages. */
bool lazy_vma_registered(const Mm *mm, size_t index, const struct image *pagemap);

/* Pages the restorer fills itself even in a lazy restore: those holding a
 * thread's rseq area, which the kernel writes before cryo lets the task
 * run, when no page server is there yet to answer the fault. Sorted. */
struct lazy_pins {
	uint64_t *pages;
	size_t nr;
};
int lazy_pins_make(const TaskCore *core, struct lazy_pins *pins);
void lazy_pins_free(struct lazy_pins *pins);

/* Upper bound of the fills lazy_eager_fills() makes for a whole pagemap. */
size_t lazy_fills_max(const Mm *mm, const struct image *pagemap, const struct lazy_pins *pins);
/* The parts of @in (a fill of present pages or of zeros) that the
 * restorer still fills in a lazy restore, written to @out, which may be
 * @in; returns their number. */
size_t lazy_eager_fills(const Mm *mm, const struct lazy_pins *pins,
			const struct restorer_fill *in, struct restorer_fill *out);
/* The pages the page server serves for one process: none of the
 * mappings in @premaps (mem/cow.h), which it filled before its fork. */
int lazy_pending_make(const Mm *mm, const struct image *pagemap, const struct lazy_pins *pins,
		      const struct cow_premap *premaps, size_t nr_premaps, struct pending *p);

/* ---- start.c ------------------------------------------------------------------- */

/* Fails, saying why, unless this kernel gives cryo a userfaultfd with the
 * events a lazy restore needs; called before anything is created. */
int lazy_check_available(void);

/* One restored process whose restorer registered its memory. */
struct lazy_task {
	pid_t pid;		/* as cryo sees it */
	/* In a pid namespace below cryo's (an init's tree): the thread ids
	 * faults report are its, not cryo's. */
	bool pid_ns_below;
	int pidfd;
	int remote_uffd;	/* the userfaultfd's number in the process */
	const Mm *mm;
	const TaskCore *core;
	const struct image *pagemap;
	const int *pages_fd;	/* PAGES_FILES_MAX of them, -1 past its files */
	const struct cow_premap *premaps;
	size_t nr_premaps;
};

/* Takes each process's userfaultfd (pidfd_getfd) and forks the page
 * server, detached in its own session and logging to @log_path (NULL:
 * stderr) at @log_level. Its pid goes to *@server. The processes still hold
 * their own copies: the caller closes them (restore_finish). */
int lazy_server_start(const struct lazy_task *tasks, size_t n, const char *log_path,
		      int log_level, pid_t *server);

/* ---- server.c ---------------------------------------------------------------- */

/* One address space to serve: its userfaultfd, the pages files its bytes
 * come from, and what is still pending (taken over). */
struct lazy_space {
	int uffd;
	int pages_fd[PAGES_FILES_MAX];	/* -1 past its files */
	pid_t pid;		/* 0: a child forked after the restore, until it faults */
	pid_t parent;		/* for a child: the process it was forked from */
	bool pid_ns_below;	/* lazy_task's: a fault's thread id names no pid of ours */
	struct pending pending;
};

/* Test-only switches of the page server (environment, see start.c). */
struct lazy_test_opts {
	bool trickle;		/* the background pass copies a page at a time, slowly */
	long fail_after;	/* > 0: copies after this many fail with EIO */
};

/* Serves @n spaces until every page is in or every process is gone; the
 * spaces are taken over (closed and freed). When serving fails, every
 * process served is killed first. Returns 0, or -errno when serving had
 * to stop. */
int lazy_serve(struct lazy_space *spaces, size_t n, const struct lazy_test_opts *test);

/* ---- stop.c ------------------------------------------------------------------ */

/* The thread group of thread @tid, 0 if it cannot be read. */
pid_t lazy_tgid_of(pid_t tid);
/* SIGKILLs the descendants of @pid whose memory is still registered with
 * a userfaultfd: forked children of a served process whose pid is not
 * known yet. One whose parent exited before it faulted is out of reach
 * (reparented elsewhere). */
void lazy_kill_registered_descendants(pid_t pid);

#endif
