/* Parsing of cryo's command line into struct cryo_opts. Options may come
 * before or after the command word, as with criu. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns/mnt.h"
#include "cli/options.h"
#include "common/log.h"

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
};

static const struct option long_options[] = {
	{ "tree", required_argument, NULL, 't' },
	{ "images-dir", required_argument, NULL, 'D' },
	{ "log-file", required_argument, NULL, 'o' },
	{ "verbosity", optional_argument, NULL, 'v' },
	{ "shell-job", no_argument, NULL, 'j' },
	{ "leave-running", no_argument, NULL, 'R' },
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
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_pid(const char *text, pid_t *pid)
{
	char *end;
	long value;

	/* strtol() would also take leading blanks and a sign: digits only. */
	errno = 0;
	value = strtol(text, &end, 10);
	if (!isdigit((unsigned char)text[0]) || errno || *end || value <= 0 || value > (1 << 22)) {
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

int parse_options(int argc, char **argv, struct cryo_opts *opts)
{
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->verbosity = LOG_WARN;
	opts->pid_wait_ms = RESTORE_PID_WAIT_MS;
	optind = 1;
	opterr = 1;
	/* Leading '-' keeps positional words in order, so the command can sit anywhere. */
	while ((c = getopt_long(argc, argv, "-t:D:o:v::jRdqh", long_options, NULL)) != -1) {
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
		case 'R':
			opts->leave_running = true;
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
			if (strcmp(optarg, "nftables") && strcmp(optarg, "skip")) {
				fprintf(stderr, "cryo: --network-lock %s: %s\n", optarg,
					strcmp(optarg, "iptables") ? "not a method (nftables or skip)" :
					"iptables is not supported (nftables or skip)");
				return -EINVAL;
			}
			opts->network_lock_skip = !strcmp(optarg, "skip");
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
			if (mnt_external_add(optarg))
				return -EINVAL;
			break;
		case 'h':
			opts->command = "help";
			break;
		default:
			return -EINVAL;
		}
	}
	if (opts->verbosity > LOG_DEBUG)
		opts->verbosity = LOG_DEBUG;
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
	if (opts->log_file[0] == '/' || !opts->images_dir)
		return strdup(opts->log_file);
	if (asprintf(&path, "%s/%s", opts->images_dir, opts->log_file) < 0)
		return NULL;
	return path;
}
