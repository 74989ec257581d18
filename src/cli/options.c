/* Parsing of cryo's command line into struct cryo_opts. Options may come
 * before or after the command word, as with criu. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "net/net.h"
#include "task/cpuinfo.h"

enum {
	OPT_PIDFILE = 1000,
	OPT_TCP_ESTABLISHED,
	OPT_TCP_CLOSE,
	OPT_NETWORK_LOCK,
	OPT_EXT_UNIX_SK,
	OPT_SKIP_IN_FLIGHT,
	OPT_LAZY_PAGES,
	OPT_GHOST_LIMIT,
	OPT_SIGN_KEY,
	OPT_DISPLAY_STATS,
	OPT_STATS_FILE,
	OPT_PID_WAIT,
	OPT_CLONE,
	OPT_EXTERNAL,
	OPT_JOIN_NS,
	OPT_LSM_PROFILE,
	OPT_INHERIT_FD,
	OPT_VETH_PAIR,
	OPT_NOOP,		/* accepted: changes nothing in what cryo does */
	OPT_REFUSED,		/* refused by name, with its reason */
	OPT_MANAGE_CGROUPS,
	OPT_CGROUP_ROOT,
	OPT_CGROUP_PROPS,
	OPT_CGROUP_PROPS_FILE,
	OPT_CGROUP_DUMP_CONTROLLER,
	OPT_CGROUP_YARD,
	OPT_ACTION_SCRIPT,
	OPT_CONFIG,
	OPT_ROOT,
	OPT_LINK_REMAP,
	OPT_PRE_COPY,
	OPT_NO_PRE_COPY,
	OPT_TIMEOUT,
	OPT_STATUS_FD,
	OPT_EXEC_CMD,
	OPT_EVASIVE_DEVICES,
	OPT_EMPTY_NS,
	OPT_SKIP_MNT,
	OPT_ENABLE_FS,
	OPT_FREEZE_CGROUP,
	OPT_CPU_CAP,
	OPT_TRACK_MEM,
	OPT_PREV_IMAGES_DIR,
	OPT_PRE_DUMP_MODE,
};

/* criu's options cryo cannot honour yet, each refused with why. */
static const struct {
	const char *name;
	const char *why;
} refused[] = {
	{ "auto-dedup", "punching pages out of the parent set's pages file would change "
			"the file its inventory's digest covers, and restore checks every parent "
			"set as any other: unchanged pages are never written twice already" },
	{ "page-server", "dumping to a page server is not supported" },
	{ "lsm-mount-context", "a mount context is an SELinux label (the context= mount "
			       "option), and cryo neither saves nor sets SELinux labels" },
	{ "stream", "criu-image-streamer is not supported" },
	{ "ghost-fiemap", "deleted files are always saved sparse (SEEK_DATA/SEEK_HOLE)" },
};

static const struct option long_options[] = {
	{ "tree", required_argument, NULL, 't' },
	{ "images-dir", required_argument, NULL, 'D' },
	{ "log-file", required_argument, NULL, 'o' },
	{ "verbosity", optional_argument, NULL, 'v' },
	{ "shell-job", no_argument, NULL, 'j' },
	{ "leave-running", no_argument, NULL, 'R' },
	{ "pre-copy", no_argument, NULL, OPT_PRE_COPY },
	{ "no-pre-copy", no_argument, NULL, OPT_NO_PRE_COPY },
	{ "restore-detached", no_argument, NULL, 'd' },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },
	{ "tcp-close", no_argument, NULL, OPT_TCP_CLOSE },
	{ "network-lock", required_argument, NULL, OPT_NETWORK_LOCK },
	{ "ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX_SK },
	{ "skip-in-flight", no_argument, NULL, OPT_SKIP_IN_FLIGHT },
	{ "lazy-pages", no_argument, NULL, OPT_LAZY_PAGES },
	{ "ghost-limit", required_argument, NULL, OPT_GHOST_LIMIT },
	{ "sign-key", required_argument, NULL, OPT_SIGN_KEY },
	{ "quiet", no_argument, NULL, 'q' },
	{ "display-stats", no_argument, NULL, OPT_DISPLAY_STATS },
	{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
	{ "pid-wait", required_argument, NULL, OPT_PID_WAIT },
	{ "clone", no_argument, NULL, OPT_CLONE },
	{ "external", required_argument, NULL, OPT_EXTERNAL },
	{ "veth-pair", required_argument, NULL, OPT_VETH_PAIR },
	{ "help", no_argument, NULL, 'h' },
	{ "restore-sibling", no_argument, NULL, 'S' },
	{ "work-dir", required_argument, NULL, 'W' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "manage-cgroups", optional_argument, NULL, OPT_MANAGE_CGROUPS },
	{ "action-script", required_argument, NULL, OPT_ACTION_SCRIPT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	/* Accepted, changing nothing: cryo always takes file locks again;
	 * bounds its own privileges (trust model); restores no sysctl; logs
	 * every process's messages, each naming its pid, to one file; the
	 * configuration files are read before parsing (config.c). */
	{ "file-locks", no_argument, NULL, 'l' },
	{ "link-remap", no_argument, NULL, OPT_LINK_REMAP },
	{ "unprivileged", no_argument, NULL, OPT_NOOP },
	{ "weak-sysctls", no_argument, NULL, OPT_NOOP },
	{ "log-pid", no_argument, NULL, OPT_NOOP },
	{ "no-default-config", no_argument, NULL, OPT_NOOP },
	{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
	{ "cgroup-props", required_argument, NULL, OPT_CGROUP_PROPS },
	{ "cgroup-props-file", required_argument, NULL, OPT_CGROUP_PROPS_FILE },
	{ "cgroup-dump-controller", required_argument, NULL, OPT_CGROUP_DUMP_CONTROLLER },
	{ "cgroup-yard", required_argument, NULL, OPT_CGROUP_YARD },
	{ "freeze-cgroup", required_argument, NULL, OPT_FREEZE_CGROUP },
	{ "inherit-fd", required_argument, NULL, OPT_INHERIT_FD },
	{ "evasive-devices", no_argument, NULL, OPT_EVASIVE_DEVICES },
	{ "track-mem", no_argument, NULL, OPT_TRACK_MEM },
	{ "prev-images-dir", required_argument, NULL, OPT_PREV_IMAGES_DIR },
	{ "auto-dedup", no_argument, NULL, OPT_REFUSED },
	{ "page-server", no_argument, NULL, OPT_REFUSED },
	{ "status-fd", required_argument, NULL, OPT_STATUS_FD },
	{ "exec-cmd", no_argument, NULL, OPT_EXEC_CMD },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "leave-stopped", no_argument, NULL, 's' },
	{ "join-ns", required_argument, NULL, OPT_JOIN_NS },
	{ "empty-ns", required_argument, NULL, OPT_EMPTY_NS },
	{ "lsm-profile", required_argument, NULL, OPT_LSM_PROFILE },
	{ "lsm-mount-context", required_argument, NULL, OPT_REFUSED },
	{ "skip-mnt", required_argument, NULL, OPT_SKIP_MNT },
	{ "enable-fs", required_argument, NULL, OPT_ENABLE_FS },
	{ "stream", no_argument, NULL, OPT_REFUSED },
	{ "cpu-cap", optional_argument, NULL, OPT_CPU_CAP },
	{ "ghost-fiemap", no_argument, NULL, OPT_REFUSED },
	{ "pre-dump-mode", required_argument, NULL, OPT_PRE_DUMP_MODE },
	{ NULL, 0, NULL, 0 },
};

const struct option *cryo_long_options(void)
{
	return long_options;
}

static int refuse(const char *name)
{
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (!strcmp(refused[i].name, name)) {
			fprintf(stderr, "cryo: --%s: not supported: %s\n", name, refused[i].why);
			return -EINVAL;
		}
	fprintf(stderr, "cryo: --%s: not supported\n", name);
	return -EINVAL;
}

/* criu's --prev-images-dir: the parent set, a path relative to -D (criu
 * makes it the target of DIR/parent) or absolute. */
static int parse_prev_images_dir(const char *arg, struct cryo_opts *opts)
{
	if (!arg[0] || strlen(arg) >= 4096) {
		fprintf(stderr, "cryo: --prev-images-dir '%s': not a directory path\n", arg);
		return -EINVAL;
	}
	opts->prev_images_dir = arg;
	return 0;
}

/* criu's --pre-dump-mode splice|read: how criu's pre-dump copies pages.
 * cryo's pre-dump always reads them (process_vm_readv) while the tree is
 * frozen: the mode is taken and only recorded. */
static int parse_pre_dump_mode(const char *arg, struct cryo_opts *opts)
{
	if (!strcmp(arg, "splice"))
		opts->pre_dump_mode = PRE_DUMP_SPLICE;
	else if (!strcmp(arg, "read"))
		opts->pre_dump_mode = PRE_DUMP_READ;
	else {
		fprintf(stderr, "cryo: --pre-dump-mode %s: not a mode (splice or read)\n", arg);
		return -EINVAL;
	}
	return 0;
}

static const char *const cgroup_modes[] = { "none", "props", "soft", "full", "strict", "ignore" };

static int parse_manage_cgroups(const char *mode, struct cryo_opts *opts)
{
	bool known = false;

	/* Without a mode, criu's default: soft. */
	if (!mode)
		mode = "soft";
	for (size_t i = 0; i < sizeof(cgroup_modes) / sizeof(cgroup_modes[0]); i++)
		known |= !strcmp(mode, cgroup_modes[i]);
	if (!known) {
		fprintf(stderr, "cryo: --manage-cgroups=%s: not a mode (none, props, soft, full, "
			"strict or ignore)\n", mode);
		return -EINVAL;
	}
	opts->manage_cgroups = mode;
	return 0;
}

/* --cgroup-root [CONTROLLER:]PATH, criu's: a root for the hierarchies of
 * CONTROLLER ("cpu", "cpu,cpuacct", "name=systemd"; "" the unified one),
 * or without one for every hierarchy that has none of its own. */
static int parse_cgroup_root(const char *arg, struct cryo_opts *opts)
{
	const char *colon = strchr(arg, ':'), *path = arg;
	struct cgroup_root_opt *r;

	if (colon && (!strchr(arg, '/') || colon < strchr(arg, '/')))
		path = colon + 1;
	else
		colon = NULL;
	if (path[0] != '/') {
		fprintf(stderr, "cryo: --cgroup-root %s: not an absolute cgroup path\n", arg);
		return -EINVAL;
	}
	if (opts->nr_cgroup_roots == CGROUP_ROOTS_MAX) {
		fprintf(stderr, "cryo: --cgroup-root %s: more than %d roots\n", arg,
			CGROUP_ROOTS_MAX);
		return -EINVAL;
	}
	if (colon && (size_t)(colon - arg) >= sizeof(opts->cgroup_roots[0].controller)) {
		fprintf(stderr, "cryo: --cgroup-root %s: controller too long\n", arg);
		return -EINVAL;
	}
	r = &opts->cgroup_roots[opts->nr_cgroup_roots++];
	r->path = path;
	r->any = !colon;
	snprintf(r->controller, sizeof(r->controller), "%.*s", colon ? (int)(colon - arg) : 0,
		 arg);
	return 0;
}

/* criu's --empty-ns net, --skip-mnt PATH and --enable-fs FS[,FS...]
 * (option @c, argument @arg): what of the tree's namespaces is left out
 * or made anew. */
/* criu's --empty-ns: only net is taken. */
static int parse_empty_ns(const char *arg, struct cryo_opts *opts)
{
	if (strcmp(arg, "net")) {
		fprintf(stderr, "cryo: --empty-ns %s: not supported: only net is taken (as criu: a "
			"network namespace left empty for an action script to fill)\n", arg);
		return -EINVAL;
	}
	opts->empty_ns |= CLONE_NEWNET;
	return 0;
}

/* --skip-mnt PATH or --enable-fs LIST, added to @list of *@nr. */
static int parse_ns_choice(const char *name, bool skip_mnt, const char *arg, const char **list,
			   int *nr)
{
	const char *bad = ns_choice_invalid(skip_mnt, arg);

	if (bad) {
		fprintf(stderr, "cryo: %s '%s': %s\n", name, arg, bad);
		return -EINVAL;
	}
	if (*nr == NS_CHOICES_MAX) {
		fprintf(stderr, "cryo: %s: at most %d times\n", name, NS_CHOICES_MAX);
		return -EINVAL;
	}
	list[(*nr)++] = arg;
	return 0;
}

/* A relative @name inside --work-dir, in memory kept for the process's
 * life: slot 0 for the pid file, 1 for the stats file. */
static const char *in_work_dir(const char *work_dir, const char *name, int slot)
{
	static char paths[2][4096];

	if (!name || !work_dir || name[0] == '/' || !strcmp(name, "-"))
		return name;
	snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", work_dir, name);
	return paths[slot];
}

/* A whole number of digits only (strtol() would also take leading blanks
 * and a sign) from @min to @max; -EINVAL, unsaid, otherwise. */
static int parse_whole(const char *text, long min, long max, long *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (!isdigit((unsigned char)text[0]) || errno || *end || value < min || value > max)
		return -EINVAL;
	*out = value;
	return 0;
}

static int parse_pid(const char *text, pid_t *pid)
{
	long value;

	if (parse_whole(text, 1, 1 << 22, &value)) {
		fprintf(stderr, "cryo: -t: '%s' is not a process id\n", text);
		return -EINVAL;
	}
	*pid = (pid_t)value;
	return 0;
}

/* "1048576", "1024K", "1M", "2G", as criu's --ghost-limit takes them. */
static int parse_size(const char *option, const char *text, uint64_t *size)
{
	unsigned long long value;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (end[0] && !end[1])
		shift = end[0] == 'K' || end[0] == 'k' ? 10 : end[0] == 'M' || end[0] == 'm' ? 20 :
			end[0] == 'G' || end[0] == 'g' ? 30 : 64;
	else if (end[0])
		shift = 64;
	if (!isdigit((unsigned char)text[0]) || errno || shift == 64 ||
	    value > (UINT64_MAX >> shift)) {
		fprintf(stderr, "cryo: %s: '%s' is not a size (a number of bytes, or with K, M or G)\n",
			option, text);
		return -EINVAL;
	}
	*size = (uint64_t)value << shift;
	return 0;
}

static int parse_verbosity(const char *text, int *level)
{
	char *end;
	long value;

	/* "-v" alone raises the level by one; "-vvv" counts the v's. */
	if (!text) {
		(*level)++;
		return 0;
	}
	if (strspn(text, "v") == strlen(text)) {
		*level += (int)strlen(text) + 1;
		return 0;
	}
	value = strtol(text, &end, 10);
	if (*end || end == text || value < 0 || value > 4) {
		fprintf(stderr, "cryo: -v: '%s' is not a level from 0 to 4\n", text);
		return -EINVAL;
	}
	*level = (int)value;
	return 0;
}

/* Seconds, with a fraction if wanted, from 0 to an hour. */
static int parse_pid_wait(const char *text, int *ms)
{
	char *end;
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (!isdigit((unsigned char)text[0]) || errno || *end || value < 0 || value > 3600) {
		fprintf(stderr, "cryo: --pid-wait: '%s' is not a number of seconds from 0 to 3600\n",
			text);
		return -EINVAL;
	}
	*ms = (int)(value * 1000 + 0.5);
	return 0;
}

/* criu's --timeout N: whole seconds, at least one (0 would leave no time
 * at all to seize the tree in). */
static int parse_timeout(const char *text, int *seconds)
{
	long value;

	if (parse_whole(text, 1, 86400, &value)) {
		fprintf(stderr, "cryo: --timeout: '%s' is not a number of seconds from 1 to 86400\n",
			text);
		return -EINVAL;
	}
	*seconds = (int)value;
	return 0;
}

/* criu's --status-fd FD: an fd cryo has, open for writing, checked before
 * anything starts. */
static int parse_status_fd(const char *text, int *fd)
{
	long value;
	int flags;

	if (parse_whole(text, 0, INT_MAX, &value)) {
		fprintf(stderr, "cryo: --status-fd: '%s' is not an fd number\n", text);
		return -EINVAL;
	}
	flags = fcntl((int)value, F_GETFL);
	if (flags < 0) {
		fprintf(stderr, "cryo: --status-fd %ld: cryo has no fd %ld\n", value, value);
		return -EBADF;
	}
	if ((flags & O_ACCMODE) == O_RDONLY) {
		fprintf(stderr, "cryo: --status-fd %ld: fd %ld is not open for writing\n", value,
			value);
		return -EBADF;
	}
	*fd = (int)value;
	return 0;
}

/* criu's --inherit-fd fd[N]:KEY: cryo's fd N stands for what dump saved
 * as KEY (pipe:[INODE], or a namespace external at dump, net[INODE]:KEY). */
static int parse_inherit_fd(struct cryo_opts *opts, const char *spec)
{
	int fd, used = 0;

	if (sscanf(spec, "fd[%d]:%n", &fd, &used) != 1 || !used || fd < 0 || !spec[used] ||
	    (strncmp(spec + used, "pipe:[", 6) && strpbrk(spec + used, "[/"))) {
		pr_err("--inherit-fd %s: cryo takes fd[N]:pipe:[INODE] or fd[N]:KEY (the key of a "
		       "namespace external at dump)", spec);
		return -EINVAL;
	}
	if (fcntl(fd, F_GETFD) < 0) {
		pr_err("--inherit-fd %s: cryo has no fd %d", spec, fd);
		return -EBADF;
	}
	if (opts->nr_inherit_fd == ARRAY_SIZE(opts->inherit_fd)) {
		pr_err("--inherit-fd %s: too many", spec);
		return -E2BIG;
	}
	opts->inherit_fd[opts->nr_inherit_fd].key = spec + used;
	opts->inherit_fd[opts->nr_inherit_fd++].fd = fd;
	return 0;
}

/* criu's --exec-cmd: restore only, not detached (criu refuses both
 * together), with a command after the options ("--" before one that has
 * options of its own). */
static int check_exec_cmd(const struct cryo_opts *opts)
{
	if (!opts->exec_cmd)
		return 0;
	if (!opts->command || strcmp(opts->command, "restore")) {
		fprintf(stderr, "cryo: --exec-cmd is an option of restore only\n");
		return -EINVAL;
	}
	if (!opts->nargs) {
		fprintf(stderr, "cryo: --exec-cmd needs a command: cryo restore -D DIR --exec-cmd "
			"-- COMMAND [ARGS]\n");
		return -EINVAL;
	}
	if (opts->restore_detached) {
		fprintf(stderr, "cryo: --exec-cmd and --restore-detached cannot be used together "
			"(the command stands in for cryo as the tree's parent)\n");
		return -EINVAL;
	}
	return 0;
}

int parse_options(int argc, char **argv, struct cryo_opts *opts)
{
	int c, index;

	memset(opts, 0, sizeof(*opts));
	if (config_expand(argc, argv, &argc, &argv))
		return -EINVAL;
	opts->verbosity = LOG_WARN;
	opts->pid_wait_ms = RESTORE_PID_WAIT_MS;
	opts->timeout_s = DUMP_TIMEOUT_S;
	opts->status_fd = -1;
	optind = 1;
	opterr = 1;
	/* Leading '-' keeps positional words in order, so the command can sit anywhere. */
	while ((c = getopt_long(argc, argv, "-t:D:o:v::jRsdqhSW:l", long_options, &index)) != -1) {
		switch (c) {
		case 1:
			if (!opts->command) {
				opts->command = optarg;
				opts->args = argv + optind;
				opts->nargs = 0;
			} else {
				/* Positional words are collected in place after the command. */
				opts->args[opts->nargs++] = optarg;
			}
			break;
		case 't':
			if (parse_pid(optarg, &opts->pid))
				return -EINVAL;
			break;
		case 'D':
			opts->images_dir = optarg;
			break;
		case 'o':
			opts->log_file = optarg;
			break;
		case 'v':
			if (parse_verbosity(optarg, &opts->verbosity))
				return -EINVAL;
			break;
		case 'j':
			opts->shell_job = true;
			break;
		/* As criu's final state: the last of -R and -s wins. */
		case 'R':
			opts->leave_running = true;
			opts->leave_stopped = false;
			break;
		case 's':
			opts->leave_stopped = true;
			opts->leave_running = false;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &opts->timeout_s))
				return -EINVAL;
			break;
		case OPT_STATUS_FD:
			if (parse_status_fd(optarg, &opts->status_fd))
				return -EINVAL;
			break;
		case OPT_EXEC_CMD:
			opts->exec_cmd = true;
			break;
		case OPT_EVASIVE_DEVICES:
			opts->evasive_devices = true;
			break;
		case OPT_CPU_CAP:
			if (cpu_cap_parse(optarg, &opts->cpu_cap))
				return -EINVAL;
			opts->cpu_cap_given = true;
			break;
		case OPT_FREEZE_CGROUP:
			/* As the RPC's freeze_cgroup; dump checks it is a freezer. */
			if (optarg[0] != '/') {
				fprintf(stderr, "cryo: --freeze-cgroup %s: not an absolute path (a "
					"cgroup v2 folder, or a v1 freezer's)\n", optarg);
				return -EINVAL;
			}
			opts->freeze_cgroup = optarg;
			break;
		case OPT_PRE_COPY:
			opts->pre_copy = 1;
			break;
		case OPT_NO_PRE_COPY:
			opts->pre_copy = -1;
			break;
		case 'd':
			opts->restore_detached = true;
			break;
		case OPT_PIDFILE:
			opts->pidfile = optarg;
			break;
		case OPT_TCP_ESTABLISHED:
			opts->tcp_established = true;
			break;
		case OPT_TCP_CLOSE:
			opts->tcp_close = true;
			break;
		case OPT_NETWORK_LOCK:
			if (strcmp(optarg, "nftables") && strcmp(optarg, "iptables") &&
			    strcmp(optarg, "skip")) {
				fprintf(stderr, "cryo: --network-lock %s: not a method (nftables, "
					"iptables or skip)\n", optarg);
				return -EINVAL;
			}
			opts->network_lock = !strcmp(optarg, "skip")	   ? NET_LOCK_SKIP :
					     !strcmp(optarg, "iptables") ? NET_LOCK_IPTABLES :
									   NET_LOCK_NFTABLES;
			break;
		case OPT_EXT_UNIX_SK:
			opts->ext_unix_sk = true;
			break;
		case OPT_SKIP_IN_FLIGHT:
			opts->skip_in_flight = true;
			break;
		case OPT_LAZY_PAGES:
			opts->lazy_pages = true;
			break;
		case OPT_LINK_REMAP:
			opts->link_remap = true;
			break;
		case OPT_TRACK_MEM:
			opts->track_mem = true;
			break;
		case OPT_PREV_IMAGES_DIR:
			if (parse_prev_images_dir(optarg, opts))
				return -EINVAL;
			break;
		case OPT_PRE_DUMP_MODE:
			if (parse_pre_dump_mode(optarg, opts))
				return -EINVAL;
			break;
		case OPT_GHOST_LIMIT:
			if (parse_size("--ghost-limit", optarg, &opts->ghost_limit))
				return -EINVAL;
			break;
		case OPT_SIGN_KEY:
			opts->sign_key = optarg;
			break;
		case 'q':
			opts->quiet = true;
			break;
		case OPT_DISPLAY_STATS:
			opts->display_stats = true;
			break;
		case OPT_STATS_FILE:
			opts->stats_file = optarg;
			break;
		case OPT_PID_WAIT:
			if (parse_pid_wait(optarg, &opts->pid_wait_ms))
				return -EINVAL;
			break;
		case OPT_CLONE:
			opts->clone = true;
			break;
		case OPT_EXTERNAL:
			if (ns_external_add(&opts->externals, optarg))
				return -EINVAL;
			break;
		case OPT_LSM_PROFILE:
			opts->lsm_profile = optarg;
			break;
		case OPT_JOIN_NS:
			if (ns_join_add(&opts->externals, optarg))
				return -EINVAL;
			break;
		case OPT_INHERIT_FD:
			if (parse_inherit_fd(opts, optarg))
				return -EINVAL;
			break;
		case OPT_VETH_PAIR:
			if (ns_veth_pair_add(&opts->externals, optarg))
				return -EINVAL;
			break;
		case 'h':
			opts->command = "help";
			break;
		case 'S':
			opts->restore_sibling = true;
			break;
		case 'W':
			opts->work_dir = optarg;
			break;
		case OPT_ROOT:
			if (strcmp(optarg, "/")) {
				fprintf(stderr, "cryo: --root %s: not supported: restoring under "
					"another root is not done yet, so only / is a root\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_MANAGE_CGROUPS:
			if (parse_manage_cgroups(optarg, opts))
				return -EINVAL;
			break;
		case OPT_CGROUP_ROOT:
			if (parse_cgroup_root(optarg, opts))
				return -EINVAL;
			break;
		case OPT_CGROUP_PROPS:
			opts->cgroup_props = optarg;
			break;
		case OPT_CGROUP_PROPS_FILE:
			opts->cgroup_props_file = optarg;
			break;
		case OPT_CGROUP_DUMP_CONTROLLER:
			if (opts->nr_cgroup_dump_controllers == CGROUP_DUMP_CONTROLLERS_MAX) {
				fprintf(stderr, "cryo: --cgroup-dump-controller: at most %d\n",
					CGROUP_DUMP_CONTROLLERS_MAX);
				return -EINVAL;
			}
			opts->cgroup_dump_controllers[opts->nr_cgroup_dump_controllers++] = optarg;
			break;
		case OPT_CGROUP_YARD:
			opts->cgroup_yard = optarg;
			break;
		case OPT_ACTION_SCRIPT:
			if (opts->nr_action_scripts == (int)(sizeof(opts->action_scripts) /
							     sizeof(opts->action_scripts[0]))) {
				fprintf(stderr, "cryo: --action-script: at most %zu scripts\n",
					sizeof(opts->action_scripts) /
						sizeof(opts->action_scripts[0]));
				return -EINVAL;
			}
			opts->action_scripts[opts->nr_action_scripts++] = optarg;
			opts->notify = action_scripts_notify;
			opts->notify_arg = opts;
			break;
		case 'l':
		case OPT_NOOP:
		case OPT_CONFIG:
			break;
		case OPT_EMPTY_NS:
			if (parse_empty_ns(optarg, opts))
				return -EINVAL;
			break;
		case OPT_SKIP_MNT:
			if (parse_ns_choice("--skip-mnt", true, optarg, opts->skip_mnt,
					    &opts->nr_skip_mnt))
				return -EINVAL;
			break;
		case OPT_ENABLE_FS:
			if (parse_ns_choice("--enable-fs", false, optarg, opts->enable_fs,
					    &opts->nr_enable_fs))
				return -EINVAL;
			break;
		case OPT_REFUSED:
			return refuse(long_options[index].name);
		default:
			return -EINVAL;
		}
	}
	/* The words after "--" are positional too (--exec-cmd's command). */
	if (optind < argc && !opts->command) {
		opts->command = argv[optind++];
		opts->args = argv + optind;
		opts->nargs = 0;
	}
	while (opts->args && optind < argc)
		opts->args[opts->nargs++] = argv[optind++];
	if (opts->args)
		opts->args[opts->nargs] = NULL;
	if (opts->verbosity > LOG_DEBUG)
		opts->verbosity = LOG_DEBUG;
	if (check_exec_cmd(opts))
		return -EINVAL;
	if (opts->status_fd >= 0 && opts->command && !strcmp(opts->command, "dump")) {
		fprintf(stderr, "cryo: --status-fd: dump has no server to be ready (criu writes it "
			"from its page server, lazy-pages daemon and service: cryo restore and "
			"cryo service take it)\n");
		return -EINVAL;
	}
	opts->pidfile = in_work_dir(opts->work_dir, opts->pidfile, 0);
	opts->stats_file = in_work_dir(opts->work_dir, opts->stats_file, 1);
	/* A root made cryo's sibling is not cryo's child to wait for. */
	if (opts->restore_sibling && !opts->restore_detached && opts->command &&
	    !strcmp(opts->command, "restore")) {
		fprintf(stderr, "cryo: --restore-sibling needs --restore-detached: cryo cannot "
			"wait for a root that is not its child\n");
		return -EINVAL;
	}
	if (opts->nr_cgroup_roots && (!opts->manage_cgroups || !strcmp(opts->manage_cgroups,
								   "ignore"))) {
		fprintf(stderr, "cryo: --cgroup-root needs --manage-cgroups (a mode other than "
			"ignore)\n");
		return -EINVAL;
	}
	/* criu takes them at restore too, where they change nothing. */
	if (opts->command && !strcmp(opts->command, "restore")) {
		if (opts->cgroup_props || opts->cgroup_props_file ||
		    opts->nr_cgroup_dump_controllers)
			fprintf(stderr, "cryo: --cgroup-props, --cgroup-props-file and "
				"--cgroup-dump-controller choose what a dump saves: restore "
				"writes what it saved\n");
		if (opts->nr_skip_mnt || opts->nr_enable_fs)
			fprintf(stderr, "cryo: --skip-mnt and --enable-fs choose what a dump saves: "
				"restore makes the mounts it saved\n");
		if (opts->freeze_cgroup)
			fprintf(stderr, "cryo: --freeze-cgroup is the cgroup a dump freezes: "
				"restore leaves it alone\n");
	}
	/* Pre-copy lets the tree run while its pages are copied: only a
	 * dump that leaves it running can. */
	if (opts->pre_copy > 0 && !opts->leave_running) {
		fprintf(stderr, "cryo: --pre-copy needs --leave-running (-R): a dump that "
			"kills its tree keeps it stopped to the end\n");
		return -EINVAL;
	}
	if (!opts->command) {
		fprintf(stderr, "cryo: no command given (try 'cryo --help')\n");
		return -EINVAL;
	}
	return 0;
}

char *log_path(const struct cryo_opts *opts)
{
	char *path;

	if (!opts->log_file || !strcmp(opts->log_file, "-"))
		return NULL;
	if (opts->log_file[0] == '/' || (!opts->images_dir && !opts->work_dir))
		return strdup(opts->log_file);
	if (asprintf(&path, "%s/%s", opts->work_dir ? opts->work_dir : opts->images_dir,
		     opts->log_file) < 0)
		return NULL;
	return path;
}
