/* criu's namespace options through the cryo binary (issue 11 item 12), with
 * prog_ns_opts: --skip-mnt leaves a tmpfs of the tree's mount namespace
 * out (restore does not make it) and --enable-fs mounts a ramfs anew,
 * empty; --empty-ns net restores the tree's network namespace empty for
 * the setup-namespaces action script, which sees only a loopback, down,
 * and adds the address the program then binds. Refusals are
 * test_neg_mnt_opts's; parsing, tests/unit/test_criu_options's. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

/* The line of /proc/@pid/mountinfo whose mount point is @target, into
 * @line; false if none. */
static bool mount_line(pid_t pid, const char *target, char *line, size_t size)
{
	char path[64], point[PATH_MAX];
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, (int)size, f))
		found = sscanf(line, "%*d %*d %*s %*s %4095s", point) == 1 && !strcmp(point, target);
	if (f)
		fclose(f);
	return found;
}

/* How many entries folder @dir has but . and .., seen from @pid's root. */
static int entries_seen_by(pid_t pid, const char *dir)
{
	char path[PATH_MAX + 32];
	struct dirent **list;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, dir);
	n = scandir(path, &list, NULL, NULL);
	for (int i = 0; i < n; i++)
		free(list[i]);
	if (n >= 0)
		free(list);
	return n - 2;
}

/* Starts program @name into @p and dumps it into @img (@p's "img"),
 * with @skip_and_enable: --skip-mnt DIR/skip --enable-fs xfs,ramfs. The
 * dumped program is reaped. False, saying why, when either fails. */
static bool start_and_dump(struct prog *p, const char *name, char *img, bool skip_and_enable)
{
	char skip[PATH_MAX];

	if (!start_prog(p, name, NULL, NULL))
		return false;
	pathf(img, "%s/img", p->dir);
	pathf(skip, "%s/skip", p->dir);
	if (!prog_dump(p, img, skip_and_enable ? CRYO_ARGS("--skip-mnt", skip, "--enable-fs",
							   "xfs,ramfs") : NULL))
		return false;
	waitpid(p->pid, NULL, 0);
	return true;
}

TEST(skip_mnt_leaves_a_tmpfs_out_and_enable_fs_mounts_a_ramfs_anew_empty)
{
	char img[PATH_MAX], skip[PATH_MAX], ram[PATH_MAX], kept[PATH_MAX], line[8192];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_and_dump(&p, "prog_ns_opts", img, true), out, "%s", why);
	pathf(skip, "%s/skip", p.dir);
	pathf(ram, "%s/ram", p.dir);
	pathf(kept, "%s/kept", p.dir);
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	CHECK_GOTO(!mount_line(p.pid, skip, line, sizeof(line)), out,
		   "the mount --skip-mnt left out is back: %s", line);
	CHECK_GOTO(mount_line(p.pid, ram, line, sizeof(line)) && strstr(line, " - ramfs cryo-ram ") &&
		   strstr(line, "mode=750"), out, "no ramfs at %s with its source and mode (%s)",
		   ram, line);
	CHECK_GOTO(entries_seen_by(p.pid, ram) == 0, out, "the ramfs mounted anew holds %d files",
		   entries_seen_by(p.pid, ram));
	CHECK_GOTO(mount_line(p.pid, kept, line, sizeof(line)) && strstr(line, " - tmpfs "), out,
		   "the kept tmpfs is not at %s", kept);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(empty_ns_net_gives_setup_namespaces_an_empty_namespace_to_fill)
{
	char img[PATH_MAX], script[4 * PATH_MAX], path[PATH_MAX], text[4096] = "";
	char cmd[PATH_MAX + 128];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_and_dump(&p, "prog_ns_opts_net", img, false), out, "%s", why);
	/* The script sees the new namespace, notes it, fills it, and tells
	 * the program which address to bind. */
	snprintf(script, sizeof(script), "test \"$CRTOOLS_SCRIPT_ACTION\" != setup-namespaces || "
		 "nsenter --net=/proc/$CRTOOLS_INIT_PID/ns/net sh -c 'ip -o link show > %s/links "
		 "&& ip -o addr show > %s/addrs && ip link set lo up && "
		 "ip addr add 10.66.0.1/32 dev lo && echo 10.66.0.1 > %s/addr'", p.dir, p.dir, p.dir);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--empty-ns", "net", "--action-script",
		  script);
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	pathf(path, "%s/links", p.dir);
	/* A kernel's fallback tunnels (sit0, ...) may be in any new one, down. */
	CHECK_GOTO(read_text(path, text, sizeof(text)) && strstr(text, ": lo: <LOOPBACK>") &&
		   !strstr(text, ",UP") && !strstr(text, "<UP"), out,
		   "setup-namespaces saw a link up, or no loopback down: %s", text);
	pathf(path, "%s/addrs", p.dir);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && !strstr(text, "inet"), out,
		   "setup-namespaces saw addresses: %s", text);
	/* The namespace the program is in holds the script's address only. */
	pathf(path, "%s/now", p.dir);
	snprintf(cmd, sizeof(cmd), "nsenter --net=/proc/%d/ns/net ip -o addr show > %s", p.pid,
		 path);
	CHECK_GOTO(system(cmd) == 0 && read_text(path, text, sizeof(text)) &&
		   strstr(text, "10.66.0.1/32") && !strstr(text, "10.55.0.1"), out,
		   "the restored namespace has: %s", text);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}
