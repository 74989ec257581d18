/* Unit tests of criu's options on cryo's command line (issue 11 item 12):
 * those accepted, those parsed for the parts that implement them, each
 * refusal naming its option, configuration files, --work-dir, action
 * scripts; criu's --cgroup-props format and its strategies; and that the
 * man page (docs/cryo.8) names every option the parser knows. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/options.h"
#include "harness.h"
#include "task/cgroup_plan.h"
#include "task/cpuinfo.h"

#define CAPTURE(buf, stmt)                                             \
	do {                                                           \
		int __saved = dup(STDERR_FILENO);                      \
		int __fd = memfd_create("stderr", MFD_CLOEXEC);        \
		ssize_t __n;                                           \
		fflush(stderr);                                        \
		dup2(__fd, STDERR_FILENO);                             \
		stmt;                                                  \
		fflush(stderr);                                        \
		dup2(__saved, STDERR_FILENO);                          \
		close(__saved);                                        \
		__n = pread(__fd, (buf), sizeof(buf) - 1, 0);          \
		(buf)[__n > 0 ? __n : 0] = '\0';                       \
		close(__fd);                                           \
	} while (0)

static int parse(struct cryo_opts *opts, int argc, const char *const *words)
{
	static char *argv[32];

	for (int i = 0; i < argc; i++)
		argv[i] = (char *)words[i];
	argv[argc] = NULL;
	return parse_options(argc, argv, opts);
}

TEST(criu_options_that_change_nothing_or_are_parsed_are_taken)
{
	const char *const words[] = { "cryo", "restore", "-D", "imgs", "-l", "--link-remap",
				      "--unprivileged", "--weak-sysctls", "--log-pid", "--tcp-close",
				      "--skip-in-flight", "--manage-cgroups=ignore", "--root", "/",
				      "-S", "-d", "--no-default-config" };
	struct cryo_opts o;

	CHECK(parse(&o, 17, words) == 0, "parse failed");
	CHECK(o.tcp_close && o.skip_in_flight && o.link_remap,
	      "--tcp-close, --skip-in-flight or --link-remap not set");
	CHECK(o.manage_cgroups && !strcmp(o.manage_cgroups, "ignore"), "manage_cgroups %s",
	      o.manage_cgroups ? o.manage_cgroups : "(null)");
	CHECK(o.restore_sibling && o.restore_detached, "-S or -d not set");
}

/* --join-ns NS:PATH or NS:PID, --external net[INODE]:KEY and --inherit-fd
 * fd[N]:KEY land in the run's options. */
TEST(namespaces_to_join_and_their_keys_are_taken)
{
	const char *const words[] = { "cryo", "restore", "-D", "imgs", "--join-ns", "uts:1",
				      "--join-ns", "net:/run/netns/x", "--external",
				      "net[4026531840]:extRootNetNS", "--inherit-fd",
				      "fd[2]:extRootNetNS" };
	struct cryo_opts o;

	CHECK(parse(&o, 12, words) == 0, "parse failed");
	CHECK(ns_join_path(&o.externals, "uts") &&
	      !strcmp(ns_join_path(&o.externals, "uts"), "/proc/1/ns/uts"), "uts: %s",
	      ns_join_path(&o.externals, "uts") ? ns_join_path(&o.externals, "uts") : "none");
	CHECK(ns_join_path(&o.externals, "net") &&
	      !strcmp(ns_join_path(&o.externals, "net"), "/run/netns/x"), "net not taken");
	CHECK(!ns_join_path(&o.externals, "ipc"), "ipc joined unasked");
	CHECK(ns_external_net(&o.externals, 4026531840ULL) &&
	      !strcmp(ns_external_net(&o.externals, 4026531840ULL), "extRootNetNS"),
	      "net[...] not taken");
	CHECK(!ns_external_net(&o.externals, 4026531841ULL), "another inode matched");
	CHECK(o.nr_inherit_fd == 1 && o.inherit_fd[0].fd == 2 &&
	      !strcmp(o.inherit_fd[0].key, "extRootNetNS"), "--inherit-fd not taken");
	ns_externals_free(&o.externals);
}

TEST(each_of_criu_cgroup_modes_is_taken)
{
	static const char *const modes[] = { "none", "props", "soft", "full", "strict", "ignore" };
	struct cryo_opts o;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char opt[64];
		const char *words[] = { "cryo", "restore", "-D", "imgs", opt };

		snprintf(opt, sizeof(opt), "--manage-cgroups=%s", modes[i]);
		CHECK(parse(&o, 5, words) == 0, "%s refused", opt);
		CHECK(o.manage_cgroups && !strcmp(o.manage_cgroups, modes[i]), "%s: mode %s", opt,
		      o.manage_cgroups ? o.manage_cgroups : "(null)");
	}
}

/* criu's --cgroup-root [CONTROLLER:]PATH, each one kept: a root for the
 * hierarchies of a controller, or for every other one. */
TEST(cgroup_roots_by_controller_are_taken)
{
	const char *const words[] = { "cryo", "restore", "-D", "imgs", "--manage-cgroups",
				      "--cgroup-root", "name=systemd:/a", "--cgroup-root",
				      "cpu,cpuacct:/b/c", "--cgroup-root", "/d" };
	struct cryo_opts o;

	CHECK(parse(&o, 11, words) == 0, "refused");
	CHECK(o.nr_cgroup_roots == 3, "%zu roots", o.nr_cgroup_roots);
	CHECK(!o.cgroup_roots[0].any && !strcmp(o.cgroup_roots[0].controller, "name=systemd") &&
	      !strcmp(o.cgroup_roots[0].path, "/a"), "first root: %s:%s",
	      o.cgroup_roots[0].controller, o.cgroup_roots[0].path);
	CHECK(!strcmp(o.cgroup_roots[1].controller, "cpu,cpuacct") &&
	      !strcmp(o.cgroup_roots[1].path, "/b/c"), "second root: %s:%s",
	      o.cgroup_roots[1].controller, o.cgroup_roots[1].path);
	CHECK(o.cgroup_roots[2].any && !strcmp(o.cgroup_roots[2].path, "/d"), "third root");
}

/* criu's incremental dumps: pre-dump is a command, --prev-images-dir is
 * kept as given (relative to -D), --track-mem and --pre-dump-mode taken. */
TEST(pre_dump_and_incremental_options_are_taken)
{
	const char *const words[] = { "cryo", "pre-dump", "-t", "7", "-D", "imgs/2",
				      "--prev-images-dir", "../1", "--track-mem",
				      "--pre-dump-mode", "read" };
	const char *const dump[] = { "cryo", "dump", "-t", "7", "-D", "imgs/3",
				     "--prev-images-dir=/abs/2", "--pre-dump-mode=splice" };
	struct cryo_opts o;

	CHECK(parse(&o, 11, words) == 0, "refused");
	CHECK(!strcmp(o.command, "pre-dump"), "command %s", o.command);
	CHECK(o.prev_images_dir && !strcmp(o.prev_images_dir, "../1"), "parent %s",
	      o.prev_images_dir ? o.prev_images_dir : "(none)");
	CHECK(o.track_mem && o.pre_dump_mode == PRE_DUMP_READ, "track %d mode %d", o.track_mem,
	      o.pre_dump_mode);
	CHECK(parse(&o, 8, dump) == 0, "dump refused");
	CHECK(!o.track_mem && o.pre_dump_mode == PRE_DUMP_SPLICE &&
	      !strcmp(o.prev_images_dir, "/abs/2"), "dump: track %d mode %d parent %s",
	      o.track_mem, o.pre_dump_mode, o.prev_images_dir);
}

TEST(each_option_cryo_cannot_honour_is_refused_by_name)
{
	static const char *const cases[][3] = {
		{ "--cgroup-root", "/x", "needs --manage-cgroups" },
		{ "--cgroup-root", "cpu:x", "not an absolute cgroup path" },
		{ "--freeze-cgroup", "sys/fs/cgroup/x", "not an absolute path" },
		{ "--cpu-cap=fpu,avx", NULL, "'avx' is not a mode" },
		{ "--cpu-cap=", NULL, "is not a mode" },
		{ "--external", "unix[12]", "cryo takes mnt[MOUNTPOINT]:PATH" },
		{ "--external", "macvlan[mv0]:a/b", "cryo takes macvlan[INSIDE]:LOWER" },
		{ "--inherit-fd", "fd[3]:tty[1:2]", "cryo takes fd[N]:pipe:[INODE]" },
		{ "--auto-dedup", NULL, "parent set's pages file" },
		{ "--pre-dump-mode", "copy", "not a mode (splice or read)" },
		{ "--prev-images-dir", "", "not a directory path" },
		{ "--status-fd", "999", "cryo has no fd 999" },
		{ "--status-fd", "2", "dump has no server to be ready" },
		{ "--status-fd", "x", "not an fd number" },
		{ "--exec-cmd", NULL, "an option of restore only" },
		{ "--timeout", "0", "not a number of seconds from 1" },
		{ "--timeout", "ten", "not a number of seconds from 1" },
		{ "--join-ns", "mnt:/x", "cryo joins net, ipc or uts" },
		{ "--join-ns", "user:/x,0,0", "cryo joins net, ipc or uts" },
		{ "--join-ns", "uts:/x,opt", "extra options" },
		{ "--external", "dev[1:2]:x", "net[INODE]:KEY" },
		{ "--page-server", NULL, "page server" },
		{ "--root", "/srv/ct", "only / is a root" },
		{ "--manage-cgroups=sometimes", NULL, "not a mode" },
		/* As criu, --empty-ns takes net only. */
		{ "--empty-ns", "ipc", "--empty-ns ipc: not supported: only net" },
		{ "--empty-ns", "net,ipc", "only net is taken" },
		{ "--skip-mnt", "mnt/x", "not an absolute mount point" },
		{ "--enable-fs", "nfs,,ext4", "not a list of filesystem types" },
		{ "--enable-fs", NULL, "requires an argument" },
		{ "--lsm-mount-context", "system_u:object_r:x:s0", "an SELinux label" },
	};
	struct cryo_opts o;
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *words[] = { "cryo", "dump", "-t", "1", "-D", "x", cases[i][0],
					cases[i][1] };
		char name[64];
		int ret;

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(cases[i][0], "="), cases[i][0]);
		CAPTURE(err, ret = parse(&o, cases[i][1] ? 8 : 7, words));
		CHECK(ret == -EINVAL, "%s was accepted", cases[i][0]);
		CHECK(strstr(err, name) && strstr(err, cases[i][2]), "%s: said \"%s\"", cases[i][0],
		      err);
	}
}

/* criu's --leave-stopped (-s, the last of -s and -R wins), --timeout,
 * --evasive-devices, --status-fd and --exec-cmd with its command after
 * "--", and what --exec-cmd needs. */
TEST(leave_stopped_timeout_status_fd_and_exec_cmd_are_taken)
{
	const char *const dump[] = { "cryo", "dump", "-t", "1", "-D", "x", "-R", "-s",
				     "--timeout", "3", "--evasive-devices" };
	const char *const restore[] = { "cryo", "restore", "-D", "x", "--leave-stopped",
					"--status-fd", "2", "--exec-cmd", "--", "sh", "-c",
					"exit 3" };
	const char *const bare[] = { "cryo", "restore", "-D", "x", "--exec-cmd" };
	const char *const detached[] = { "cryo", "restore", "-D", "x", "-d", "--exec-cmd", "--",
					 "true" };
	struct cryo_opts o;
	char err[512];
	int ret;

	CHECK(parse(&o, 11, dump) == 0, "dump refused");
	CHECK(o.leave_stopped && !o.leave_running && o.timeout_s == 3 && o.evasive_devices,
	      "stopped %d running %d timeout %d evasive %d", o.leave_stopped, o.leave_running,
	      o.timeout_s, o.evasive_devices);
	CHECK(o.status_fd == -1, "status fd %d without the option", o.status_fd);
	CHECK(parse(&o, 12, restore) == 0, "restore refused");
	CHECK(o.leave_stopped && o.status_fd == 2 && o.exec_cmd && o.timeout_s == 10,
	      "stopped %d status fd %d exec %d timeout %d", o.leave_stopped, o.status_fd,
	      o.exec_cmd, o.timeout_s);
	CHECK(o.nargs == 3 && !strcmp(o.args[0], "sh") && !strcmp(o.args[1], "-c") &&
	      !strcmp(o.args[2], "exit 3") && !o.args[3], "the command: %d words", o.nargs);
	CAPTURE(err, ret = parse(&o, 5, bare));
	CHECK(ret == -EINVAL && strstr(err, "--exec-cmd needs a command"), "%d: %s", ret, err);
	CAPTURE(err, ret = parse(&o, 8, detached));
	CHECK(ret == -EINVAL && strstr(err, "cannot be used together"), "%d: %s", ret, err);
}

/* criu's --freeze-cgroup (a path, for dump) and --cpu-cap: its words
 * combined, "^" taking one away, none, and all without a value. */
TEST(freeze_cgroup_and_cpu_cap_are_taken)
{
	static const struct {
		const char *word;
		unsigned int caps;
	} caps[] = {
		{ "--cpu-cap", CPU_CAP_ALL }, { "--cpu-cap=fpu", CPU_CAP_FPU },
		{ "--cpu-cap=cpu,ins", CPU_CAP_CPU | CPU_CAP_INS }, { "--cpu-cap=none", 0 },
		{ "--cpu-cap=all,^cpu", CPU_CAP_FPU | CPU_CAP_INS },
		{ "--cpu-cap=^none", CPU_CAP_ALL },
	};
	const char *dump[] = { "cryo", "dump", "-t", "1", "-D", "x", "--freeze-cgroup",
			       "/sys/fs/cgroup/unified/ct", NULL };
	struct cryo_opts o;

	CHECK(parse(&o, 8, dump) == 0, "--freeze-cgroup refused");
	CHECK(o.freeze_cgroup && !strcmp(o.freeze_cgroup, "/sys/fs/cgroup/unified/ct") &&
	      !o.cpu_cap_given, "freeze_cgroup %s, cpu_cap given %d", o.freeze_cgroup,
	      o.cpu_cap_given);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		dump[6] = caps[i].word;
		CHECK(parse(&o, 7, dump) == 0, "%s refused", caps[i].word);
		CHECK(o.cpu_cap_given && o.cpu_cap == caps[i].caps, "%s: caps %#x, expected %#x",
		      caps[i].word, o.cpu_cap, caps[i].caps);
	}
}

/* criu's --skip-mnt (absolute, repeatable), --enable-fs (lists, "all")
 * and --empty-ns net land in the run's options. */
TEST(namespace_choices_skip_mnt_enable_fs_and_empty_ns_net_are_taken)
{
	const char *const words[] = { "cryo", "dump", "-t", "1", "-D", "x", "--skip-mnt", "/a/b/",
				      "--skip-mnt", "/c", "--enable-fs", "nfs,ramfs",
				      "--enable-fs", "all", "--empty-ns", "net" };
	struct cryo_opts o;

	CHECK(parse(&o, 16, words) == 0, "parse failed");
	CHECK(o.nr_skip_mnt == 2 && !strcmp(o.skip_mnt[0], "/a/b/") && !strcmp(o.skip_mnt[1], "/c"),
	      "%d --skip-mnt taken", o.nr_skip_mnt);
	CHECK(o.nr_enable_fs == 2 && !strcmp(o.enable_fs[0], "nfs,ramfs") &&
	      !strcmp(o.enable_fs[1], "all"), "%d --enable-fs taken", o.nr_enable_fs);
	CHECK(o.empty_ns == CLONE_NEWNET, "empty_ns %#x", o.empty_ns);
}

TEST(restore_sibling_without_detach_is_refused)
{
	const char *const words[] = { "cryo", "restore", "-D", "imgs", "--restore-sibling" };
	struct cryo_opts o;
	char err[512];
	int ret;

	CAPTURE(err, ret = parse(&o, 5, words));
	CHECK(ret == -EINVAL && strstr(err, "--restore-sibling needs --restore-detached"), "%d: %s",
	      ret, err);
}

TEST(pre_copy_without_leave_running_is_refused)
{
	const char *const words[] = { "cryo", "dump", "-t", "1", "-D", "imgs", "--pre-copy" };
	struct cryo_opts o;
	char err[512];
	int ret;

	CAPTURE(err, ret = parse(&o, 7, words));
	CHECK(ret == -EINVAL && strstr(err, "--pre-copy needs --leave-running"), "%d: %s", ret,
	      err);
}

TEST(work_dir_holds_relative_logs_pid_and_stats_files)
{
	const char *const words[] = { "cryo", "restore", "-D", "imgs", "-W", "/run/w", "-o",
				      "r.log", "--pidfile", "root.pid", "--stats-file", "s.json",
				      "-d" };
	struct cryo_opts o;
	char *path;

	CHECK(parse(&o, 13, words) == 0, "parse failed");
	path = log_path(&o);
	CHECK(path && !strcmp(path, "/run/w/r.log"), "log %s", path ? path : "(null)");
	free(path);
	CHECK(!strcmp(o.pidfile, "/run/w/root.pid"), "pid file %s", o.pidfile);
	CHECK(!strcmp(o.stats_file, "/run/w/s.json"), "stats file %s", o.stats_file);
}

TEST(configuration_file_words_come_first_and_the_command_line_wins)
{
	char path[] = "/tmp/cryo-config-XXXXXX";
	const char *const words[] = { "cryo", "dump", "-t", "7", "--config", path, "-o",
				      "cli.log" };
	const char text[] = "# criu's format\ntcp-established\nlog-file conf.log  # comment\n"
			    "ghost-limit \"2M\"\n";
	int fd = mkstemp(path);
	struct cryo_opts o;
	char err[512];
	int ret;

	CHECK(fd >= 0 && write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1,
	      "cannot write %s", path);
	close(fd);
	CHECK(parse(&o, 8, words) == 0, "parse failed");
	CHECK(o.tcp_established, "tcp-established from the file not set");
	CHECK(o.ghost_limit == 2 << 20, "ghost limit %llu", (unsigned long long)o.ghost_limit);
	CHECK(o.log_file && !strcmp(o.log_file, "cli.log"), "log file %s", o.log_file);
	unlink(path);
	CAPTURE(err, ret = parse(&o, 8, words));
	CHECK(ret == -EINVAL && strstr(err, path), "a missing --config file was taken: %s", err);
}

TEST(action_scripts_run_with_criu_s_environment)
{
	char out[] = "/tmp/cryo-action-XXXXXX", script[256], text[128] = "";
	const char *words[] = { "cryo", "dump", "-t", "7", "--action-script", script,
				"--action-script", "exit 3" };
	int fd = mkstemp(out);
	struct cryo_opts o;
	char err[512];
	int ret;

	CHECK(fd >= 0, "mkstemp");
	snprintf(script, sizeof(script),
		 "echo \"$CRTOOLS_SCRIPT_ACTION $CRTOOLS_INIT_PID\" >> %s", out);
	CHECK(parse(&o, 8, words) == 0 && o.nr_action_scripts == 2 && o.notify, "parse");
	CAPTURE(err, ret = o.notify("post-dump", 42, o.notify_arg));
	CHECK(ret == -ECANCELED && strstr(err, "exit 3") && strstr(err, "post-dump"),
	      "a failing script did not fail the point (%d): %s", ret, err);
	CHECK(pread(fd, text, sizeof(text) - 1, 0) > 0 && !strcmp(text, "post-dump 42\n"),
	      "the script wrote \"%s\"", text);
	close(fd);
	unlink(out);
}

TEST(man_page_names_every_option_the_parser_knows)
{
	FILE *f = fopen("docs/cryo.8", "re");
	static char page[256 * 1024];
	size_t n;

	CHECK(f, "cannot open docs/cryo.8 (run from the top of the tree)");
	if (!f)
		return;
	n = fread(page, 1, sizeof(page) - 1, f);
	page[n] = '\0';
	fclose(f);
	for (const struct option *o = cryo_long_options(); o->name; o++) {
		char want[96];

		/* groff source spells a dash \-. */
		snprintf(want, sizeof(want), "\\-\\-%s", o->name);
		for (char *p = strchr(want + 4, '-'); p; p = strchr(p + 2, '-')) {
			memmove(p + 1, p, strlen(p) + 1);
			*p = '\\';
		}
		CHECK(strstr(page, want), "the man page lacks %s", want);
	}
}

/* @f as "a b c", for messages and comparisons. */
static const char *joined(const struct cgroup_files *f, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < f->nr && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? " " : "",
					 f->names[i]);
	return buf;
}

/* criu's --cgroup-props: "replace" puts a controller's files where its
 * first one was, "merge" adds them after its last, an unknown controller's
 * go last; cgroup v1 and v2 lists each take the same text. */
TEST(cgroup_props_replace_and_merge_a_controllers_files)
{
	char spec[] = "\"cpu\":\n - \"strategy\": \"replace\"\n - \"properties\": "
		      "[\"cpu.idle\", \"cpu.shares\"]\n\"pids\":\n - \"strategy\": \"merge\"\n"
		      " - \"properties\": [\"pids.max\", \"pids.extra\"]\n\"rdma\":\n"
		      " - \"strategy\": \"merge\"\n - \"properties\": [\"rdma.max\"]\n";
	struct cgroup_files v2 = { { "cgroup.type", "cpu.max", "cpu.weight", "pids.max",
				     "cgroup.subtree_control" }, 5 };
	struct cgroup_files v1 = { { "cpuset.cpus", "cpu.shares", "cpu.cfs_quota_us",
				     "memory.limit_in_bytes" }, 4 };
	char why[256] = "", text[512];

	CHECK(!cgroup_props_apply(spec, &v2, &v1, why, sizeof(why)), "refused: %s", why);
	CHECK(!strcmp(joined(&v2, text, sizeof(text)), "cgroup.type cpu.idle cpu.shares pids.max "
		      "pids.extra cgroup.subtree_control rdma.max"), "v2: %s", text);
	CHECK(!strcmp(joined(&v1, text, sizeof(text)), "cpuset.cpus cpu.idle cpu.shares "
		      "memory.limit_in_bytes pids.max pids.extra rdma.max"), "v1: %s", text);
}

/* A text criu would not take, or a property that is not a setting of its
 * controller, is refused saying where and what. */
TEST(cgroup_props_that_are_not_criu_s_format_are_refused)
{
	static const char *const cases[][2] = {
		{ "\"cpu\":\n - \"strategy\": \"both\"\n - \"properties\": []", "strategy" },
		{ "\"cpu\":\n - \"properties\": []", "strategy" },
		{ "\"cpu\":\n - \"strategy\": \"merge\"\n - \"properties\": [\"memory.max\"]",
		  "not one of its settings" },
		{ "\"cgroup\":\n - \"strategy\": \"merge\"\n - \"properties\": "
		  "[\"cgroup.procs\"]", "not one of its settings" },
		{ "\"pids\":\n - \"strategy\": \"merge\"\n - \"properties\": "
		  "[\"pids.max/../x\"]", "not one of its settings" },
		{ "\"cpu\":\n - \"strategy\": \"merge\"\n - \"properties\": [\"cpu.max\"",
		  "no ']'" },
		{ "cpu:\n - \"strategy\": \"merge\"", "controller" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgroup_files v2 = { { "cpu.max" }, 1 }, v1 = { { "cpu.shares" }, 1 };
		char spec[256], why[256] = "";
		int ret;

		snprintf(spec, sizeof(spec), "%s", cases[i][0]);
		ret = cgroup_props_apply(spec, &v2, &v1, why, sizeof(why));
		CHECK(ret == -EINVAL && strstr(why, cases[i][1]) && strstr(why, "at byte"),
		      "case %zu: %d: %s", i, ret, why);
	}
}
