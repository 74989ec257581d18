/* The command line of cryo: criu's spelling where criu has the option.
 * Parsed once into struct cryo_opts, which is then passed to the command;
 * nothing reads options from a global. */
#ifndef CRYO_OPTIONS_H
#define CRYO_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The default of --pid-wait: a parent (init, here) may take a moment to
 * reap what dump killed. */
#define RESTORE_PID_WAIT_MS 5000

struct cryo_opts {
	const char *command;
	pid_t pid;		/* -t, --tree */
	const char *images_dir;	/* -D, --images-dir */
	const char *log_file;	/* -o, --log-file (relative to -D, as in criu) */
	int verbosity;		/* -v[N], --verbosity */
	bool shell_job;		/* -j, --shell-job */
	bool leave_running;	/* -R, --leave-running */
	bool restore_detached;	/* -d, --restore-detached */
	bool lazy_pages;	/* --lazy-pages */
	bool tcp_established;	/* --tcp-established */
	bool tcp_close;		/* --tcp-close: connections dumped and restored closed */
	bool network_lock_skip;	/* --network-lock skip (else nftables) */
	bool ext_unix_sk;	/* --ext-unix-sk */
	/* --skip-in-flight: connections waiting in a unix listener's accept
	 * queue that cannot be restored are dropped instead of refused. */
	bool skip_in_flight;
	/* --ghost-limit SIZE: the largest deleted file dump saves (criu's
	 * option); 0 when not given: no limit. */
	uint64_t ghost_limit;
	bool clone;		/* --clone: restore into new pid and mount namespaces */
	const char *pidfile;	/* --pidfile */
	const char *sign_key;	/* --sign-key FILE (cryo's own; criu has none) */
	bool quiet;		/* -q, --quiet: no progress line */
	bool display_stats;	/* --display-stats */
	const char *stats_file;	/* --stats-file: the stats as JSON */
	/* --pid-wait SECONDS: how long restore waits for a zombie that holds
	 * one of its pids to be reaped (default RESTORE_PID_WAIT_MS). */
	int pid_wait_ms;
	char **args;		/* words after the command */
	int nargs;
	/* Set by `cryo swrk` (src/rpc), never from the command line: */
	bool restore_sibling;	/* the restored root is made a child of cryo's parent */
	/* Set by the dump of a clone (dump/pid_ns.c): the devpts instance on
	 * /dev/pts in the clone's mount namespace when it is not the one cryo
	 * sees there (the clone's own), else 0. The shell's terminal (-j) was
	 * made outside and is never on it. */
	dev_t tree_devpts;
	/* Called at the points where criu runs its action scripts ("pre-dump",
	 * "network-lock", "post-dump", "setup-namespaces", "post-restore", ...),
	 * with the root's pid (0: not known yet). Non-zero fails the dump or
	 * restore at that point. NULL: nobody is told. */
	int (*notify)(const char *action, pid_t pid, void *arg);
	void *notify_arg;
};

static inline int cryo_notify(const struct cryo_opts *opts, const char *action, pid_t pid)
{
	return opts->notify ? opts->notify(action, pid, opts->notify_arg) : 0;
}

/* Fills @opts from argv; returns 0, or -EINVAL after printing why. */
int parse_options(int argc, char **argv, struct cryo_opts *opts);

/* The log path to open: -o as given if absolute, else inside -D. The
 * caller frees the result; NULL means log to stderr. */
char *log_path(const struct cryo_opts *opts);

void print_usage(void);

#endif
