/* What criu's --skip-mnt and --enable-fs still refuse (prog_ns_opts, in a
 * mount namespace of its own): a ramfs without --enable-fs, an fd on a
 * mount left out, a thread's own cwd there, a unix socket bound there, a
 * mount below one left out. Each refusal names what it
 * refuses, leaves no inventory.img, and the program runs on. The round
 * trips with the options are test_criu_ns_opts's. */
#include <limits.h>
#include <stdio.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

/* Dumps @p, with --enable-fs ramfs and --skip-mnt @skip unless NULL:
 * refused with @key and @key2, nothing left, the program unharmed and
 * passing. */
static bool refused_and_runs_on(struct prog *p, const char *skip, const char *key,
				const char *key2)
{
	char img[PATH_MAX], pid[16];
	struct cryo_run r;

	pathf(img, "%s/img", p->dir);
	snprintf(pid, sizeof(pid), "%d", p->pid);
	if (skip)
		run_cryo(&r, "dump", "-t", pid, "-D", img, "--enable-fs", "ramfs", "--skip-mnt",
			 skip);
	else
		run_cryo(&r, "dump", "-t", pid, "-D", img);
	return refused(&r, key, key2, NULL) && names_pid(r.out, p->pid) && no_inventory(img) &&
	       prog_unharmed(p) && prog_passes(p);
}

TEST(dump_refuses_a_ramfs_without_enable_fs_naming_the_option)
{
	struct prog p = { 0 };
	char key[PATH_MAX + 64];

	CHECK_GOTO(start_prog(&p, "prog_ns_opts", NULL, NULL), out, "%s", why);
	snprintf(key, sizeof(key), " (%s/ram, ramfs on cryo-ram): cryo makes again only", p.dir);
	CHECK_GOTO(refused_and_runs_on(&p, NULL, key, "--enable-fs TYPE mounts one anew"),
		   out, "%s", why);
out:
	end_prog(&p);
}

/* @name dumped with --skip-mnt DIR/skip: refused with " (DIR/skip@what"
 * and @key2. */
static void refused_with_skip(const char *name, const char *what, const char *key2)
{
	struct prog p = { 0 };
	char skip[PATH_MAX], key[PATH_MAX + 128];

	CHECK_GOTO(start_prog(&p, name, NULL, NULL), out, "%s", why);
	pathf(skip, "%s/skip", p.dir);
	snprintf(key, sizeof(key), " (%s%s", skip, what);
	CHECK_GOTO(refused_and_runs_on(&p, skip, key, key2), out, "%s", why);
out:
	end_prog(&p);
}

TEST(dump_refuses_an_fd_on_a_mount_skip_mnt_leaves_out)
{
	refused_with_skip("prog_ns_opts_hold_skipped", "/f): on mount ",
			  "which --skip-mnt leaves out: restore would not find it");
}

/* A thread's own cwd round-trips on its own: not under a mount left out. */
TEST(dump_refuses_a_threads_own_cwd_on_a_mount_skip_mnt_leaves_out)
{
	refused_with_skip("prog_ns_opts_thread_in_skipped", "): on mount ",
			  " thread ");
}

/* Restore would bind it under the mount point's folder. */
TEST(dump_refuses_a_unix_socket_bound_on_a_mount_skip_mnt_leaves_out)
{
	refused_with_skip("prog_ns_opts_bound_in_skipped", "/sock): bound on mount ",
			  "restore would bind it under that mount point's folder");
}

TEST(dump_refuses_a_mount_below_one_skip_mnt_leaves_out)
{
	refused_with_skip("prog_ns_opts_below_skipped", "/inner, tmpfs on cryo-inner): it is "
			  "below a mount that --skip-mnt leaves out", NULL);
}
