/* The one reader of /proc/PID/stat, shared by dump and restore, and small
 * helpers for other /proc files (threads, mountinfo escapes). */
#ifndef CRYO_COMMON_PROCFS_H
#define CRYO_COMMON_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The fields of /proc/PID/stat that cryo uses (proc(5), counted from 1). */
struct proc_stat {
	char state;		/* 3: R, S, D, T, t, Z, X, ... */
	pid_t ppid, pgid, sid;	/* 4-6 */
	char comm[16];		/* 2: its name, as PR_SET_NAME set it */
	int tty_nr;		/* 7: the controlling terminal, encoded; 0 for none */
	pid_t tpgid;		/* 8: its foreground process group; -1 for none */
	uint32_t exit_signal;	/* 38 */
	int exit_code;		/* 52: a zombie's wait status */
	/* The mm fields: 26-28, 45-51 (0 when the reader may not ptrace). */
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
};

/* Reads /proc/@pid/stat; -errno (ENOENT: no such process; EIO: not the
 * expected format) without logging. */
int proc_stat_read(pid_t pid, struct proc_stat *st);

/* Opens /proc/@pid/@name read-only (close-on-exec): the fd, or -errno
 * without logging (the caller names what it wanted it for). */
int proc_open(pid_t pid, const char *name);

/* Calls @fn for each thread of @pid (/proc/@pid/task), the main thread
 * included, until it returns nonzero, which is returned; -errno without
 * logging when the list cannot be read. */
int proc_each_thread(pid_t pid, int (*fn)(pid_t tid, void *arg), void *arg);

/* Parses the text of a stat file; -EIO when it is not one. */
int proc_stat_parse(const char *text, struct proc_stat *st);

/* A line of /proc/PID/maps, or an entry's first line in smaps:
 * "start-end perms offset major:minor inode name". */
struct proc_maps_line {
	uint64_t start, end, pgoff, ino;
	unsigned major, minor;
	char perms[5];
	char *name;		/* in the line, its newline cut; "" for none */
};

/* Parses @line in place (the newline is cut); false when it is not such a
 * line (smaps's "Key: value" lines). Hand-written: sscanf of 50,000 lines
 * was a tenth of a dump's CPU. */
bool proc_maps_line_parse(char *line, struct proc_maps_line *out);

/* The value after "@key:" in the text of a status file, or NULL. */
const char *status_field(const char *status, const char *key);

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
void proc_mountinfo_unescape(char *s);

#endif
