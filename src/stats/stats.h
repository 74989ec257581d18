/* What one dump or restore did: the time of each stage, how long the tree
 * was stopped, pages and bytes; shown at the end (--display-stats), kept
 * as JSON (--stats-file) and drawn as a progress line on a terminal while
 * it runs (progress.c). Counted by dump and restore through the struct
 * they are handed; not how those stages work. */
#ifndef CRYO_STATS_H
#define CRYO_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum stats_journey {
	STATS_DUMP,
	STATS_RESTORE,
};

/* Stages of a dump. */
enum {
	STATS_DUMP_FREEZING,	/* freezing and seizing the tree */
	STATS_DUMP_PARASITE,	/* the parasite's work inside each process */
	STATS_DUMP_FILES,	/* fd tables, file objects, locks */
	STATS_DUMP_MEMORY,	/* mappings and pages, SysV segments */
	STATS_DUMP_WRITING,	/* the remaining images and syncing them */
	NR_STATS_DUMP_STAGES,
};

/* Stages of a restore. */
enum {
	STATS_RESTORE_READING,	/* reading and checking every image */
	STATS_RESTORE_PID_WAIT,	/* waiting for zombies that hold its pids to be reaped */
	STATS_RESTORE_CREATING,	/* creating the processes with their pids */
	STATS_RESTORE_FILES,	/* file objects, fd tables, attributes */
	STATS_RESTORE_MEMORY,	/* the restorer maps and fills memory */
	STATS_RESTORE_RESTORER,	/* registers, locks, letting every process go */
	NR_STATS_RESTORE_STAGES,
};

#define STATS_MAX_STAGES 6

struct progress;

struct stats {
	enum stats_journey journey;
	int stage;				/* the current one, for the progress line */
	uint64_t start_ns;
	uint64_t stage_ns[STATS_MAX_STAGES];
	uint64_t total_ns;			/* set by stats_finish() */
	uint64_t frozen_ns;			/* dump: from freezing to release */
	size_t tasks_done, tasks_all;
	/* Dump: pages found present and read, those left out as zeros,
	 * those written to the pages files, and their bytes. */
	uint64_t pages_scanned, pages_zero, pages_written, bytes_written;
	/* Dump with a parent set: pages left in it (unchanged), and of those
	 * the ones write tracking left unread (unwritten since). */
	uint64_t pages_in_parent_image, pages_unread;
	/* Restore: the pages filled from the pages files, and their bytes
	 * (a lazy restore leaves them to the page server: none). */
	uint64_t pages_restored, bytes_restored;
	uint64_t bytes_total;			/* for the progress line; 0: unknown */
	bool bytes_total_estimated;		/* dump: from the tasks' RSS */
	struct progress *progress;		/* NULL: no progress line */
};

/* The name of stage @stage of @st's journey ("" past the last), and in
 * *@nr how many stages it has. */
const char *stats_stage_name(const struct stats *st, int stage, size_t *nr);

/* CLOCK_MONOTONIC in nanoseconds (the vDSO: no system call). */
uint64_t stats_now(void);

void stats_init(struct stats *st, enum stats_journey journey);
/* Starts stage @stage (for the progress line) and returns the time, for
 * stats_end() to add the span to it. Both take a NULL @st. */
uint64_t stats_begin(struct stats *st, int stage);
void stats_end(struct stats *st, int stage, uint64_t began);
/* Pages read at dump (per batch, never per page); redraws the progress
 * line when it is due. */
void stats_pages_read(struct stats *st, uint64_t pages);
/* A task done; redraws the progress line when it is due. */
void stats_task_done(struct stats *st, uint64_t bytes);
void stats_finish(struct stats *st);

/* The stats as text for people (--display-stats) and as one JSON object
 * (--stats-file); 0 or -errno. */
int stats_print(const struct stats *st, FILE *out);
int stats_write_json(const struct stats *st, const char *path);
/* Once the journey is over: stats_finish(), then the stats shown when
 * @display (--display-stats), written as JSON to @json_path when given
 * (--stats-file); -EIO when either failed. */
int stats_report(struct stats *st, bool display, const char *json_path);
/* criu_stats.c: criu's statistics file of the journey (stats-dump or
 * stats-restore) in the folder @dir_fd, for criu's RPC clients; 0 or
 * -errno (logged). A failure fails nothing: the journey is whole by then. */
int stats_write_criu(const struct stats *st, int dir_fd);

/* progress.c: a line on stderr, rewritten in place at most every 100 ms,
 * when stderr is a terminal and !@quiet; otherwise st->progress stays
 * NULL and nothing is ever drawn. The log clears it before a message. */
void progress_start(struct stats *st, bool quiet);
void progress_draw(struct stats *st, bool force);
void progress_stop(struct stats *st);

#endif
