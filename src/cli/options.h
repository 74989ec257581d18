/* The command line of cryo: criu's spelling where criu has the option.
 * Parsed once into struct cryo_opts, which is then passed to the command;
 * nothing reads options from a global. */
#ifndef CRYO_OPTIONS_H
#define CRYO_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "ns/externals.h"

/* At most this many --skip-mnt, and as many --enable-fs. */
#define NS_CHOICES_MAX 16

/* The default of --pid-wait: a parent (init, here) may take a moment to
 * reap what dump killed. */
#define RESTORE_PID_WAIT_MS 5000
/* criu's default of --timeout: how long dump may take to freeze and seize
 * the tree. */
#define DUMP_TIMEOUT_S 10

/* criu's --pre-dump-mode; cryo reads either way (options.c). */
enum { PRE_DUMP_MODE_DEFAULT, PRE_DUMP_SPLICE, PRE_DUMP_READ };
/* --cgroup-root options taken (one per hierarchy, and one for all). */
#define CGROUP_ROOTS_MAX 16
/* Why @arg is no --skip-mnt mount point (@skip_mnt) or no --enable-fs
 * list of filesystem types: NULL when it is one. The command line and the
 * RPC check alike. */
static inline const char *ns_choice_invalid(bool skip_mnt, const char *arg)
{
	size_t len = strlen(arg);

	if (skip_mnt)
		return arg[0] == '/' ? NULL : "not an absolute mount point";
	return !len || strstr(arg, ",,") || arg[0] == ',' || arg[len - 1] == ',' ?
		       "not a list of filesystem types (ext4,nfs or all)" :
		       NULL;
}

/* --cgroup-dump-controller options taken. */
#define CGROUP_DUMP_CONTROLLERS_MAX 32

struct cgroup_dump_plan;

struct cryo_opts {
	const char *command;
	pid_t pid;		/* -t, --tree */
	const char *images_dir;	/* -D, --images-dir */
	const char *log_file;	/* -o, --log-file (relative to -D, as in criu) */
	int verbosity;		/* -v[N], --verbosity */
	bool shell_job;		/* -j, --shell-job */
	bool leave_running;	/* -R, --leave-running */
	/* With -R: --pre-copy (1: always), --no-pre-copy (-1: never), or 0:
	 * when the tree has PRECOPY_MIN_BYTES of anonymous memory. */
	int pre_copy;
	/* -s, --leave-stopped: after a dump (instead of killing it) or a
	 * restore, the tree is left in a job-control stop (SIGSTOP), as criu. */
	bool leave_stopped;
	bool restore_detached;	/* -d, --restore-detached */
	/* --exec-cmd: once the restore is done, cryo execs the words after the
	 * command (args), which so becomes the root's parent. */
	bool exec_cmd;
	/* --timeout N: dump gives up freezing and seizing the tree after N
	 * seconds (default DUMP_TIMEOUT_S), naming what did not stop. */
	int timeout_s;
	/* --status-fd FD: restore and service write one '\0' there and close
	 * it once ready (the tree runs; the service listens); -1: none. */
	int status_fd;
	/* --evasive-devices: a device file whose path no longer leads to its
	 * device is saved by another path of /dev to the same device. */
	bool evasive_devices;
	/* Incremental dumps (criu's): --prev-images-dir DIR, the parent set
	 * (relative to -D, or absolute); --track-mem; --pre-dump-mode. */
	const char *prev_images_dir;
	bool pre_dump;		/* the command is pre-dump */
	bool track_mem;
	int pre_dump_mode;	/* PRE_DUMP_* */
	bool lazy_pages;	/* --lazy-pages */
	bool tcp_established;	/* --tcp-established */
	bool tcp_close;		/* --tcp-close: connections dumped and restored closed */
	int network_lock;	/* --network-lock: enum net_lock_mode (net/net.h) */
	bool ext_unix_sk;	/* --ext-unix-sk */
	/* --skip-in-flight: connections waiting in a unix listener's accept
	 * queue that cannot be restored are dropped instead of refused. */
	bool skip_in_flight;
	/* --ghost-limit SIZE: the largest deleted file dump saves (criu's
	 * option); 0 when not given: no limit. */
	uint64_t ghost_limit;
	/* --link-remap: a file open by a path that was unlinked while other
	 * links keep it is saved through a hidden link dump makes beside it
	 * (criu's option); without it, such a file is refused. */
	bool link_remap;
	bool clone;		/* --clone: restore into new pid and mount namespaces */
	const char *pidfile;	/* --pidfile */
	const char *sign_key;	/* --sign-key FILE (cryo's own; criu has none) */
	bool quiet;		/* -q, --quiet: no progress line */
	bool display_stats;	/* --display-stats */
	const char *stats_file;	/* --stats-file: the stats as JSON */
	/* Set by `cryo swrk`: criu's stats-dump (written before post-dump) or
	 * stats-restore go into the folder of this fd (its work directory,
	 * opened before a dump enters the tree's mount namespace), for
	 * podman's --print-stats and exports. */
	bool criu_stats;
	int criu_stats_fd;
	/* --pid-wait SECONDS: how long restore waits for a zombie that holds
	 * one of its pids to be reaped (default RESTORE_PID_WAIT_MS). */
	int pid_wait_ms;
	const char *work_dir;	/* -W, --work-dir: where relative logs, pid and stats
				 * files go (default: -D) */
	/* --manage-cgroups[=MODE]: criu's modes, "ignore" (cgroups left
	 * alone, cryo's behaviour without the option), "none", "props",
	 * "soft", "full", "strict" (restore/cgroups.c); NULL: ignore. */
	const char *manage_cgroups;
	/* --cgroup-root [CONTROLLER:]PATH, each one: where the root
	 * process's cgroup (and those below it) go at restore, in the
	 * hierarchies of CONTROLLER (criu's meaning: "cpu", "name=systemd";
	 * "" the unified one), or, without one, in every hierarchy that has
	 * no root of its own (restore/cgroups.c). */
	struct cgroup_root_opt {
		bool any;		/* no CONTROLLER: every hierarchy */
		char controller[128];
		const char *path;
	} cgroup_roots[CGROUP_ROOTS_MAX];
	size_t nr_cgroup_roots;
	/* criu's, at dump: --cgroup-props STRING and --cgroup-props-file
	 * FILE (which files of each controller are saved, criu's simplified
	 * YAML), --cgroup-dump-controller NAME, each (only the hierarchies
	 * named are saved); at dump and restore: --cgroup-yard PATH (each
	 * hierarchy is at PATH/NAME, not found in mountinfo). See
	 * task/cgroup_plan.c and restore/cgroups.c. */
	const char *cgroup_props, *cgroup_props_file;
	const char *cgroup_dump_controllers[CGROUP_DUMP_CONTROLLERS_MAX];
	size_t nr_cgroup_dump_controllers;
	const char *cgroup_yard;
	/* Set by cmd_dump from those. */
	const struct cgroup_dump_plan *cgroup_plan;
	/* --action-script FILE, each one, run at every notification point
	 * (action_script.c). */
	const char *action_scripts[16];
	int nr_action_scripts;
	char **args;		/* words after the command */
	int nargs;
	/* -S, --restore-sibling (with -d), and rst_sibling of `cryo swrk`: */
	bool restore_sibling;	/* the restored root is made a child of cryo's parent */
	/* Set by the dump of a clone (dump/pid_ns.c): the devpts instance on
	 * /dev/pts in the clone's mount namespace when it is not the one cryo
	 * sees there (the clone's own), else 0. The shell's terminal (-j) was
	 * made outside and is never on it. */
	dev_t tree_devpts;
	/* Set by `cryo swrk` from criu's RPC options (rpc/opts.c), for a
	 * container runtime (runc): */
	const char *root;		/* root: the tree's root folder, as cryo sees it */
	/* With root: -D opened by cmd_dump before it enters the tree's mount
	 * namespace, where the path leads elsewhere; -1: not opened. */
	int images_dir_fd;
	const char *freeze_cgroup;	/* freeze_cgroup: a v1 freezer or v2 cgroup folder */
	/* With freeze_cgroup: the v2 cgroup cmd_dump found to freeze the tree
	 * with (freezer_find_given()), and its path; -1: ptrace alone. */
	int freeze_fd;
	char freeze_path[PATH_MAX];
	/* The cgroup freeze_cgroup names, opened by cmd_dump: every process
	 * in it must be in the tree (freezer_check_members()); -1: none. */
	int freeze_given_fd;
	/* --track-mem on a pre-dump or a -R dump: the holder cmd_dump started
	 * before entering any namespace of the tree (mem/track.h), which the
	 * dump hands its write trackers to; -1: none. */
	int track_holder_fd;
	/* --cpu-cap[=CAP,...] (RPC cpu_cap): CPU_CAP_* bits; without it
	 * (!cpu_cap_given) criu's default, fpu, compares an image that exists
	 * (task/cpuinfo.h). Dump saves cpuinfo.img unless given "none". */
	unsigned int cpu_cap;
	bool cpu_cap_given;
	/* --empty-ns net, RPC empty_ns: CLONE_NEWNET. At dump the tree's
	 * network namespace is not saved; at restore it is made empty (the
	 * kernel's loopback, down), for an action script or the runtime to
	 * fill (ns/net.c). */
	unsigned int empty_ns;
	/* --skip-mnt PATH, each (criu's, RPC skip_mnt): the tree's mounts at
	 * PATH are not dumped, so restore does not make them; a file of the
	 * tree on one is refused (ns/mnt_dump.c, ns/mnt_skip.c). */
	const char *skip_mnt[NS_CHOICES_MAX];
	int nr_skip_mnt;
	/* --enable-fs FS[,FS...], each (criu's, RPC enable_fs): a mount of a
	 * filesystem type cryo does not make again, when named here (or with
	 * "all"), is saved by type, source and options and mounted anew at
	 * restore, without its files. */
	const char *enable_fs[NS_CHOICES_MAX];
	int nr_enable_fs;
	/* ext_mnt: at dump, mount point -> key; at restore, key -> folder. */
	struct opt_pair {
		const char *key, *val;
		int fd;			/* inherit_fd: the fd of cryo's */
	} ext_mnt[64], inherit_fd[16];
	int nr_ext_mnt, nr_inherit_fd;
	/* orphan_pts_master: at dump, a pty whose master is outside the dump
	 * (a runtime's console) is saved from its slaves; at restore, the new
	 * pair's master is handed to pts_master(fd, notify_arg), the RPC's
	 * "orphan-pts-master" notification. */
	bool orphan_pts_master;
	/* --lsm-profile TYPE:NAME, RPC lsm_profile: the LSM label every restored
	 * task gets instead of its saved one (restore). */
	const char *lsm_profile;
	int (*pts_master)(int fd, void *arg);
	/* --external mnt[...]:PATH and veth[...]:OUT, --veth-pair, RPC veths. */
	struct ns_externals externals;
	/* Set by `cryo swrk` (src/rpc), or by --action-script (action_script.c): */
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

/* Fills @opts from argv, after the words of criu's configuration files
 * (config.c); returns 0, or -EINVAL after printing why. */
int parse_options(int argc, char **argv, struct cryo_opts *opts);

/* config.c: @argv with the words of the configuration files put before
 * its own (argv[0] first), in memory kept for the process's life. */
int config_expand(int argc, char **argv, int *out_argc, char ***out_argv);

/* action_script.c: the notify() that runs opts->action_scripts; @arg is
 * the struct cryo_opts. */
int action_scripts_notify(const char *action, pid_t pid, void *arg);

/* The long options the parser knows, ending with a NULL name (for the test
 * that the man page names every one). */
const struct option *cryo_long_options(void);

/* The log path to open: -o as given if absolute, else inside -D. The
 * caller frees the result; NULL means log to stderr. */
char *log_path(const struct cryo_opts *opts);

void print_usage(void);

#endif
