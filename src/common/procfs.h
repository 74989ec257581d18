/* Small readers of /proc shared by dump and restore. */
#ifndef CRYO_COMMON_PROCFS_H
#define CRYO_COMMON_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* The fields of /proc/PID/stat that cryo uses. */
struct proc_stat {
	char state;		/* R, S, D, T, t, Z, X, ... */
	pid_t ppid, pgid, sid;
	uint32_t exit_signal;
	int exit_code;		/* a zombie's wait status */
	char comm[16];		/* its name, as PR_SET_NAME set it */
};

/* Reads /proc/@pid/stat; -errno (ENOENT: no such process) without logging. */
int proc_stat_read(pid_t pid, struct proc_stat *st);

#endif
