/* Unit tests of command-line parsing: criu's spelling, options before and
 * after the command, positional words, and clear refusals. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "common/log.h"
#include "net/net.h"
#include "harness.h"

/* getopt permutes and keeps pointers into argv, so each test gets its own copy. */
static int parse(struct cryo_opts *opts, int argc, const char *const *words)
{
	static char *argv[32];

	for (int i = 0; i < argc; i++)
		argv[i] = (char *)words[i];
	argv[argc] = NULL;
	return parse_options(argc, argv, opts);
}

TEST(criu_dump_spelling_is_understood)
{
	const char *const words[] = { "cryo", "dump", "-t", "1234", "-D", "/tmp/img", "-o",
				      "dump.log", "-v4", "-j", "--leave-running",
				      "--tcp-established" };
	struct cryo_opts o;

	CHECK(parse(&o, 12, words) == 0, "parse failed");
	CHECK(!strcmp(o.command, "dump"), "command %s", o.command);
	CHECK(o.pid == 1234, "pid %d", o.pid);
	CHECK(!strcmp(o.images_dir, "/tmp/img"), "dir %s", o.images_dir);
	CHECK(o.verbosity == 4, "verbosity %d", o.verbosity);
	CHECK(o.shell_job && o.leave_running && o.tcp_established, "flags not set");
	CHECK(!o.restore_detached, "-d must stay off");
}

TEST(restore_options_and_log_path_relative_to_images_dir)
{
	const char *const words[] = { "cryo", "-D", "imgs", "restore", "-d", "--pidfile",
				      "/run/x.pid", "-o", "restore.log" };
	struct cryo_opts o;
	char *path;

	CHECK(parse(&o, 9, words) == 0, "parse failed");
	CHECK(!strcmp(o.command, "restore"), "command %s", o.command);
	CHECK(o.restore_detached, "-d not set");
	CHECK(!strcmp(o.pidfile, "/run/x.pid"), "pidfile %s", o.pidfile);
	path = log_path(&o);
	CHECK(path && !strcmp(path, "imgs/restore.log"), "log path %s", path ? path : "(null)");
	free(path);
}

TEST(verbosity_forms)
{
	const char *const bare[] = { "cryo", "check", "-v" };
	const char *const repeated[] = { "cryo", "check", "-vvv" };
	const char *const too_high[] = { "cryo", "check", "-v9" };
	struct cryo_opts o;

	CHECK(parse(&o, 3, bare) == 0 && o.verbosity == LOG_WARN + 1, "-v gave %d", o.verbosity);
	CHECK(parse(&o, 3, repeated) == 0 && o.verbosity == LOG_DEBUG, "-vvv gave %d",
	      o.verbosity);
	CHECK(parse(&o, 3, too_high) == -EINVAL, "-v9 must be refused");
}

TEST(positional_words_follow_the_command)
{
	const char *const words[] = { "cryo", "show", "a.img", "-v4", "b.img" };
	struct cryo_opts o;

	CHECK(parse(&o, 5, words) == 0, "parse failed");
	CHECK(o.nargs == 2, "nargs %d", o.nargs);
	CHECK(!strcmp(o.args[0], "a.img") && !strcmp(o.args[1], "b.img"), "args %s %s",
	      o.args[0], o.args[1]);
}

TEST(bad_input_is_refused)
{
	const char *const no_command[] = { "cryo", "-v4" };
	const char *const bad_pid[] = { "cryo", "dump", "-t", "12x" };
	const char *const zero_pid[] = { "cryo", "dump", "-t", "0" };
	const char *const unknown[] = { "cryo", "dump", "--no-such-option" };
	struct cryo_opts o;

	CHECK(parse(&o, 2, no_command) == -EINVAL, "a missing command must be refused");
	CHECK(parse(&o, 4, bad_pid) == -EINVAL, "'12x' is not a pid");
	CHECK(parse(&o, 4, zero_pid) == -EINVAL, "0 is not a pid");
	CHECK(parse(&o, 3, unknown) == -EINVAL, "an unknown option must be refused");
}

TEST(stats_progress_and_pid_wait_options)
{
	const char *const words[] = { "cryo", "restore", "-D", "imgs", "-q", "--display-stats",
				      "--stats-file", "/tmp/s.json", "--pid-wait", "2.5" };
	const char *const defaults[] = { "cryo", "restore", "-D", "imgs" };
	const char *const bad[][5] = {
		{ "cryo", "restore", "-D", "imgs", "--pid-wait=-1" },
		{ "cryo", "restore", "-D", "imgs", "--pid-wait=5s" },
		{ "cryo", "restore", "-D", "imgs", "--pid-wait=3601" },
		{ "cryo", "restore", "-D", "imgs", "--pid-wait=" },
	};
	struct cryo_opts o;

	CHECK(parse(&o, 10, words) == 0, "parse failed");
	CHECK(o.quiet && o.display_stats, "-q or --display-stats not set");
	CHECK(o.stats_file && !strcmp(o.stats_file, "/tmp/s.json"), "stats file %s",
	      o.stats_file ? o.stats_file : "(null)");
	CHECK(o.pid_wait_ms == 2500, "pid wait %d ms", o.pid_wait_ms);
	CHECK(parse(&o, 4, defaults) == 0, "parse failed");
	CHECK(!o.quiet && !o.display_stats && !o.stats_file, "stats options on by default");
	CHECK(o.pid_wait_ms == RESTORE_PID_WAIT_MS && RESTORE_PID_WAIT_MS >= 1000,
	      "default pid wait %d ms", o.pid_wait_ms);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse(&o, 5, bad[i]) == -EINVAL, "'%s' was taken", bad[i][4]);
}

TEST(network_lock_methods_are_criu_s)
{
	const char *const ipt[] = { "cryo", "dump", "--network-lock", "iptables" };
	const char *const nft[] = { "cryo", "dump", "--network-lock", "nftables" };
	const char *const skip[] = { "cryo", "dump", "--network-lock", "skip" };
	const char *const none[] = { "cryo", "dump" };
	const char *const bad[] = { "cryo", "dump", "--network-lock", "ebpf" };
	struct cryo_opts o;

	CHECK(parse(&o, 4, ipt) == 0 && o.network_lock == NET_LOCK_IPTABLES, "iptables");
	CHECK(parse(&o, 4, nft) == 0 && o.network_lock == NET_LOCK_NFTABLES, "nftables");
	CHECK(parse(&o, 4, skip) == 0 && o.network_lock == NET_LOCK_SKIP, "skip");
	CHECK(parse(&o, 2, none) == 0 && o.network_lock == NET_LOCK_NFTABLES, "the default");
	CHECK(parse(&o, 4, bad) == -EINVAL, "a method criu lacks must be refused");
}
