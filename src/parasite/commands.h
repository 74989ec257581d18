/* The commands of cryo's parasite and their argument and reply layouts,
 * shared by the parasite and the code that calls it. Fixed-width types only:
 * this header is compiled into freestanding code too. */
#ifndef CRYO_PARASITE_COMMANDS_H
#define CRYO_PARASITE_COMMANDS_H

#include <stdint.h>

#include "blob/xxh3.h"
#include "inject/parasite-abi.h"

enum parasite_cmd {
	/* Replies with the argument bytes unchanged: exercises the channel. */
	PARASITE_CMD_ECHO = 1,
	/* struct parasite_checksum_arg -> uint64_t memory_checksum() of the range. */
	PARASITE_CMD_CHECKSUM,
	/* no argument -> struct parasite_sigaction[PARASITE_NSIG], index signo - 1. */
	PARASITE_CMD_SIGACTIONS,
	/* int32_t fd -> no payload, the fd attached to the reply. */
	PARASITE_CMD_SEND_FD,
	/* no argument -> struct parasite_itimers (getitimer of each timer). */
	PARASITE_CMD_ITIMERS,
	/* no argument -> struct parasite_thread_state of the thread it runs in. */
	PARASITE_CMD_THREAD_STATE,
	/* no argument -> struct parasite_prctl. */
	PARASITE_CMD_PRCTL,
	/* struct parasite_posix_timer[n] with .id set -> the same array filled. */
	PARASITE_CMD_POSIX_TIMERS,
	/* no argument -> uint64_t: the current program break, brk(0). */
	PARASITE_CMD_BRK,
	/* struct parasite_vmsplice_arg and a pipe's write end attached ->
	 * struct parasite_vmsplice_reply, the non-zero pages in the pipe. */
	PARASITE_CMD_VMSPLICE_PAGES,
};

/* PARASITE_CMD_VMSPLICE_PAGES: ranges of the task's private anonymous,
 * readable memory, in address order. Each page is checked for zeros; the
 * others are fed to the digest and vmspliced (never gifted: the task keeps
 * them) into the pipe, in order, which the caller splices into the pages
 * file meanwhile. */
#define PARASITE_VMSPLICE_MAX_RANGES 4096u
#define PARASITE_VMSPLICE_MAX_PAGES 16384u	/* 64 MiB a command */

struct parasite_page_range {
	uint64_t addr;
	uint64_t len;	/* whole pages */
};

struct parasite_vmsplice_arg {
	/* The pages file's running XXH3 (libxxhash's XXH3_state_t, made
	 * self-contained: blob/xxh3.h); first, so 64-byte aligned. */
	uint8_t digest[BLOB_XXH3_STATE_SIZE];
	uint64_t nr_ranges;
	struct parasite_page_range ranges[];
};

struct parasite_vmsplice_reply {
	uint8_t digest[BLOB_XXH3_STATE_SIZE];	/* fed with every page spliced */
	uint64_t pages_spliced;
	/* One bit a page of the ranges, in order: set for a zero page, which
	 * is not spliced. Only the words the ranges need are sent. */
	uint64_t zero[PARASITE_VMSPLICE_MAX_PAGES / 64];
};

struct parasite_checksum_arg {
	uint64_t addr;
	uint64_t len;
};

#define PARASITE_NSIG 64

/* The kernel's x86_64 struct sigaction, as rt_sigaction reads and writes it. */
struct parasite_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* The kernel's x86_64 struct itimerval, one per ITIMER_REAL, _VIRTUAL, _PROF. */
#define PARASITE_NR_ITIMERS 3

struct parasite_itimers {
	struct {
		int64_t interval_sec;
		int64_t interval_usec;
		int64_t value_sec;
		int64_t value_usec;
	} timer[PARASITE_NR_ITIMERS];
};

/* The kernel's x86_64 stack_t. */
struct parasite_sigaltstack {
	uint64_t sp;
	int32_t flags;
	uint32_t pad;
	uint64_t size;
};

/* The per-thread state of the thread the parasite runs in. */
struct parasite_thread_state {
	struct parasite_sigaltstack altstack;
	uint64_t clear_child_tid;	/* PR_GET_TID_ADDRESS */
	uint64_t timer_slack_ns;	/* PR_GET_TIMERSLACK */
};

/* What the task's prctl(PR_GET_*) calls return. */
struct parasite_prctl {
	int32_t dumpable;
	int32_t pdeath_signal;
	int32_t child_subreaper;
	int32_t securebits;
	int32_t thp_disable;
	int32_t memory_merge;	/* PR_GET_MEMORY_MERGE; 0 without KSM */
	int32_t membarrier;	/* MEMBARRIER_CMD_GET_REGISTRATIONS; 0 without */
	int32_t pad;
};

/* One POSIX timer: the caller sets @id, the parasite the rest (timer_gettime
 * in the kernel's struct __kernel_itimerspec layout, timer_getoverrun). */
struct parasite_posix_timer {
	int32_t id;
	int32_t overrun;
	struct {
		int64_t interval_sec;
		int64_t interval_nsec;
		int64_t value_sec;
		int64_t value_nsec;
	} spec;
};

#endif
