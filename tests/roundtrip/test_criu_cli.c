/* criu's command line through the real cryo binary (issue 11 item 12): a
 * dump and a restore of prog_counter with --action-script (each point in
 * criu's order, with the root's pid), --work-dir (the log and the pid file
 * land there), a --config file (its log-file taken), and the restored
 * program passes; --manage-cgroups puts a process back into its cgroup v2,
 * --cgroup-props chooses the settings saved. The parsing itself is
 * tests/unit/test_criu_options; the v1 hierarchies, --cgroup-yard and
 * --cgroup-dump-controller are test_cgroup_v1's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	bool ok = f && fputs(text, f) >= 0;

	if (f)
		ok &= fclose(f) == 0;
	return ok;
}

TEST(action_scripts_work_dir_and_config_file_through_dump_and_restore)
{
	char img[PATH_MAX], work[PATH_MAX], conf[PATH_MAX], script[2 * PATH_MAX];
	char actions[PATH_MAX], path[PATH_MAX], text[1024] = "", pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t pid;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pid = p.pid;
	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	pathf(img, "%s/img", p.dir);
	pathf(work, "%s/work", p.dir);
	pathf(conf, "%s/cryo.conf", p.dir);
	pathf(actions, "%s/actions", p.dir);
	snprintf(script, sizeof(script), "echo \"$CRTOOLS_SCRIPT_ACTION $CRTOOLS_INIT_PID\" >> %s",
		 actions);
	CHECK_GOTO(!mkdir(work, 0700) && write_file(conf, "# criu's format\nlog-file dump.log\n"),
		   out, "cannot set up %s: %s", p.dir, strerror(errno));

	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "-W", work, "--config", conf,
		  "--action-script", script);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	pathf(path, "%s/dump.log", work);
	CHECK_GOTO(access(path, F_OK) == 0, out, "no log in the work dir (%s)", path);
	read_text(actions, text, sizeof(text));
	snprintf(path, sizeof(path), "pre-dump %d\nnetwork-lock %d\npost-dump %d\n", pid, pid,
		 pid);
	CHECK_GOTO(!strncmp(text, path, strlen(path)), out, "dump ran \"%s\", want \"%s...\"", text,
		   path);
	unlink(actions);
	/* The dumped program was our child: reap it, freeing its pid. */
	waitpid(pid, NULL, 0);

	prog_cryo(&r, &p, "restore", "-D", img, "-W", work, "-d", "--pidfile", "root.pid", "-o",
		  "restore.log", "--no-default-config", "--action-script", script);
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	pathf(path, "%s/root.pid", work);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && atoi(text) == pid, out,
		   "the pid file in the work dir says '%s', want %d", text, pid);
	pathf(path, "%s/restore.log", work);
	CHECK_GOTO(access(path, F_OK) == 0, out, "no restore log in the work dir");
	read_text(actions, text, sizeof(text));
	snprintf(path, sizeof(path), "post-restore %d\n", pid);
	CHECK_GOTO(strstr(text, path) && strstr(text, "setup-namespaces"), out,
		   "restore ran \"%s\"", text);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(a_failing_action_script_fails_the_dump_and_the_program_runs_on)
{
	char img[PATH_MAX], pid_text[16], inventory[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--action-script",
		  "test \"$CRTOOLS_SCRIPT_ACTION\" != post-dump");
	CHECK_GOTO(r.status > 0 && r.status < 128 && strstr(r.out, "failed at post-dump"), out,
		   "dump exited %d: %s", r.status, r.out);
	pathf(inventory, "%s/inventory.img", img);
	CHECK_GOTO(access(inventory, F_OK) && errno == ENOENT, out, "the refused dump left %s",
		   inventory);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* The cgroup v2 mount point, from mountinfo. */
static bool cgroup2_at(char *mnt)
{
	char line[4096], point[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		if (strstr(line, " - cgroup2 ") &&
		    sscanf(line, "%*d %*d %*s %*s %4095s", point) == 1) {
			pathf(mnt, "%s", point);
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

static void enter_cgroup(void *arg)
{
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", (const char *)arg);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(126);
	close(fd);
}

static void remove_cgroups(const char *leaf, const char *base)
{
	for (int i = 0; i < 500 && rmdir(leaf) && errno == EBUSY; i++)
		usleep(10000);
	rmdir(base);
}

/* --manage-cgroups: the program's cgroup (two levels below the root) is
 * removed after the dump; "none" refuses to restore without it, making
 * nothing; "soft" (the default mode) makes it again and the program is
 * back in it. */
TEST(manage_cgroups_puts_the_process_back_into_its_cgroup)
{
	char mnt[PATH_MAX / 2], base[PATH_MAX], leaf[PATH_MAX], rel[64], pid_text[16];
	char img[PATH_MAX], path[PATH_MAX], text[PATH_MAX] = "";
	struct prog p = { 0 };
	struct cryo_run r;

	if (!cgroup2_at(mnt)) {
		printf("SKIP manage_cgroups_puts_the_process_back_into_its_cgroup: no cgroup v2 "
		       "hierarchy is mounted\n");
		return;
	}
	snprintf(rel, sizeof(rel), "/cryo-test-cli-%d/a", getpid());
	pathf(base, "%s/cryo-test-cli-%d", mnt, getpid());
	pathf(leaf, "%s%s", mnt, rel);
	CHECK_GOTO(!mkdir(base, 0755) && !mkdir(leaf, 0755), out, "cannot make %s: %s", leaf,
		   strerror(errno));
	CHECK_GOTO(start_prog(&p, "prog_counter", enter_cgroup, leaf), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	waitpid(p.pid, NULL, 0);
	remove_cgroups(leaf, base);
	CHECK_GOTO(access(base, F_OK), out, "cannot remove %s", base);

	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--manage-cgroups=none");
	CHECK_GOTO(r.status > 0 && r.status < 128 && strstr(r.out, rel) &&
			   strstr(r.out, "does not exist"),
		   out, "restore with none exited %d: %s", r.status, r.out);
	CHECK_GOTO(access(base, F_OK), out, "the refused restore made %s", base);

	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--manage-cgroups");
	CHECK_GOTO(r.status == 0, out, "restore with soft failed (%d): %s", r.status, r.out);
	pathf(path, "/proc/%d/cgroup", p.pid);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && strstr(text, rel), out,
		   "restored into \"%s\", not %s", text, rel);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	remove_cgroups(leaf, base);
}

/* The controllers of @mnt's root among memory and pids, as "+memory +pids". */
static void v2_controllers(const char *mnt, char *enable, size_t size)
{
	char path[PATH_MAX], text[512] = "";

	pathf(path, "%s/cgroup.subtree_control", mnt);
	read_text(path, text, sizeof(text));
	snprintf(enable, size, "%s%s%s", strstr(text, "memory") ? "+memory" : "",
		 strstr(text, "memory") && strstr(text, "pids") ? " " : "",
		 strstr(text, "pids") ? "+pids" : "");
}

/* @base, with @enable in its subtree_control, and @leaf below it with
 * cgroup.max.descendants @descendants (and memory.max, pids.max when
 * enabled). */
static bool make_set_cgroups(const char *base, const char *leaf, const char *enable,
			     const char *descendants)
{
	char path[PATH_MAX];
	bool ok = !mkdir(base, 0755);

	pathf(path, "%s/cgroup.subtree_control", base);
	ok = ok && (!enable[0] || write_file(path, enable)) && !mkdir(leaf, 0755);
	pathf(path, "%s/cgroup.max.descendants", leaf);
	ok = ok && write_file(path, descendants);
	pathf(path, "%s/memory.max", leaf);
	ok = ok && (!strstr(enable, "memory") || write_file(path, "67108864"));
	pathf(path, "%s/pids.max", leaf);
	return ok && (!strstr(enable, "pids") || write_file(path, "50"));
}

/* @leaf has the settings the dump saw; "" or the first that differs. */
static const char *differing_setting(const char *leaf, const char *enable)
{
	static const char *const want[][2] = {
		{ "cgroup.max.descendants", "7" }, { "memory.max", "67108864" }, { "pids.max", "50" },
	};
	char path[PATH_MAX], text[64];

	for (size_t i = 0; i < 3; i++) {
		if (i && !strstr(enable, i == 1 ? "memory" : "pids"))
			continue;
		pathf(path, "%s/%s", leaf, want[i][0]);
		text[0] = '\0';
		read_text(path, text, sizeof(text));
		text[strcspn(text, "\n")] = '\0';
		if (strcmp(text, want[i][1]))
			return want[i][0];
	}
	return "";
}

/* A restore with @mode: the program is back in @rel, @leaf has the saved
 * settings, and the program passes (then ends: the next restore needs
 * its pid). */
static bool restored_with_settings(struct prog *p, pid_t pid, const char *img, const char *mode,
				   const char *rel, const char *leaf, const char *enable)
{
	char opt[64], path[PATH_MAX], text[PATH_MAX] = "";
	struct cryo_run r;

	snprintf(opt, sizeof(opt), "--manage-cgroups=%.*s", (int)strcspn(mode, " "), mode);
	if (strstr(mode, "--cgroup-root"))
		prog_cryo(&r, p, "restore", "-D", img, "-d", opt, "--cgroup-root", rel);
	else
		prog_cryo(&r, p, "restore", "-D", img, "-d", opt);
	if (r.status != 0)
		return fail_why("restore with %s failed (%d): %s", mode, r.status, r.out);
	p->pid = pid;
	pathf(path, "/proc/%d/cgroup", pid);
	if (!read_text(path, text, sizeof(text)) || !strstr(text, rel))
		return fail_why("%s restored into \"%s\", not %s", mode, text, rel);
	if (differing_setting(leaf, enable)[0])
		return fail_why("%s: %s/%s is not the saved value", mode, leaf,
				differing_setting(leaf, enable));
	return prog_passes(p);
}

/* --manage-cgroups with controller settings: the program's cgroup has
 * cgroup.max.descendants 7 (and memory.max, pids.max where those
 * controllers are on cgroup v2). "strict" (criu's meaning) and "soft"
 * remake the removed cgroups with their settings; "strict" refuses them
 * present, by name, changing nothing; "full" and "props" set the saved
 * values on existing cgroups. */
TEST(manage_cgroups_restores_controller_settings)
{
	char mnt[PATH_MAX / 2], base[PATH_MAX], leaf[PATH_MAX], rel[64], pid_text[16];
	char img[PATH_MAX], enable[32], path[PATH_MAX], text[64] = "", moved[PATH_MAX] = "";
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t pid = 0;

	if (!cgroup2_at(mnt)) {
		printf("SKIP manage_cgroups_restores_controller_settings: no cgroup v2 "
		       "hierarchy is mounted\n");
		return;
	}
	v2_controllers(mnt, enable, sizeof(enable));
	if (!strstr(enable, "memory") || !strstr(enable, "pids"))
		printf("NOTE manage_cgroups_restores_controller_settings: memory or pids is not "
		       "on cgroup v2 here: their settings are not tested\n");
	snprintf(rel, sizeof(rel), "/cryo-test-cg-%d/a", getpid());
	pathf(base, "%s/cryo-test-cg-%d", mnt, getpid());
	pathf(leaf, "%s%s", mnt, rel);
	CHECK_GOTO(make_set_cgroups(base, leaf, enable, "7"), out, "cannot make %s: %s", leaf,
		   strerror(errno));
	CHECK_GOTO(start_prog(&p, "prog_counter", enter_cgroup, leaf), out, "%s", why);
	pid = p.pid;
	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	waitpid(pid, NULL, 0);
	p.pid = 0;
	remove_cgroups(leaf, base);

	CHECK_GOTO(restored_with_settings(&p, pid, img, "strict", rel, leaf, enable), out, "%s",
		   why);
	remove_cgroups(leaf, base);
	CHECK_GOTO(restored_with_settings(&p, pid, img, "soft", rel, leaf, enable), out, "%s", why);
	remove_cgroups(leaf, base);

	/* Existing cgroups with another cgroup.max.descendants. */
	CHECK_GOTO(make_set_cgroups(base, leaf, enable, "3"), out, "cannot make %s", leaf);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--manage-cgroups=strict");
	CHECK_GOTO(r.status > 0 && r.status < 128 && strstr(r.out, "exists already") &&
			   strstr(r.out, "--manage-cgroups=strict"),
		   out, "strict over existing cgroups exited %d: %s", r.status, r.out);
	pathf(path, "%s/cgroup.max.descendants", leaf);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && !strcmp(text, "3\n") && !access(leaf, F_OK),
		   out, "the refused restore changed %s (%s)", leaf, text);
	CHECK_GOTO(restored_with_settings(&p, pid, img, "full", rel, leaf, enable), out, "%s", why);
	CHECK_GOTO(write_file(path, "3"), out, "cannot reset %s", path);
	CHECK_GOTO(restored_with_settings(&p, pid, img, "props", rel, leaf, enable), out, "%s", why);

	/* --cgroup-root: the root process's cgroup is made at another path,
	 * with its settings. */
	snprintf(rel, sizeof(rel), "/cryo-test-cgroot-%d", getpid());
	pathf(moved, "%s%s", mnt, rel);
	CHECK_GOTO(restored_with_settings(&p, pid, img, "soft --cgroup-root", rel, moved, ""), out,
		   "%s", why);
out:
	end_prog(&p);
	remove_cgroups(leaf, base);
	if (moved[0])
		remove_cgroups(moved, moved);
}

/* Writes @text into @file of cgroup @dir. */
static bool write_cgroup_file(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	int fd;
	bool ok;

	pathf(path, "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* --manage-cgroups with a thread in a threaded cgroup of its own (issue
 * 11): the program is in a "domain threaded" cgroup, one of its threads in
 * a threaded child of it. Both are removed after the dump; restore makes
 * them again (the child threaded) and puts the process and that thread
 * each back where it was. */
TEST(manage_cgroups_puts_a_thread_back_into_its_threaded_cgroup)
{
	char mnt[PATH_MAX / 2], base[PATH_MAX], leaf[PATH_MAX], rel[64], pid_text[16];
	char img[PATH_MAX], path[PATH_MAX], text[PATH_MAX] = "", tid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t tid;

	if (!cgroup2_at(mnt)) {
		printf("SKIP manage_cgroups_puts_a_thread_back_into_its_threaded_cgroup: no cgroup "
		       "v2 hierarchy is mounted\n");
		return;
	}
	snprintf(rel, sizeof(rel), "/cryo-test-thr-%d/t", getpid());
	pathf(base, "%s/cryo-test-thr-%d", mnt, getpid());
	pathf(leaf, "%s%s", mnt, rel);
	CHECK_GOTO(!mkdir(base, 0755) && !mkdir(leaf, 0755) &&
			   write_cgroup_file(leaf, "cgroup.type", "threaded"),
		   out, "cannot make the threaded cgroup %s: %s", leaf, strerror(errno));
	CHECK_GOTO(start_prog(&p, "prog_fd_owner", enter_cgroup, base), out, "%s", why);
	tid = other_thread(p.pid);
	snprintf(tid_text, sizeof(tid_text), "%d", tid);
	CHECK_GOTO(tid > 0 && write_cgroup_file(leaf, "cgroup.threads", tid_text), out,
		   "cannot move thread %d into %s: %s", tid, leaf, strerror(errno));
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	waitpid(p.pid, NULL, 0);
	remove_cgroups(leaf, base);
	CHECK_GOTO(access(base, F_OK), out, "cannot remove %s", base);

	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--manage-cgroups=soft");
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	pathf(path, "/proc/%d/task/%d/cgroup", p.pid, tid);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && strstr(text, rel), out,
		   "thread %d restored into \"%s\", not %s", tid, text, rel);
	pathf(path, "/proc/%d/cgroup", p.pid);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && !strstr(text, "/t\n") &&
			   strstr(text, "/cryo-test-thr-"),
		   out, "the process restored into \"%s\", not its domain cgroup", text);
	pathf(path, "%s/cgroup.type", leaf);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && !strncmp(text, "threaded", 8), out,
		   "the remade %s is of type \"%s\"", leaf, text);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	remove_cgroups(leaf, base);
}

/* @file of cgroup @dir is @want. */
static bool cgroup_file_is(const char *dir, const char *file, const char *want)
{
	char path[PATH_MAX], text[64] = "";

	pathf(path, "%s/%s", dir, file);
	read_text(path, text, sizeof(text));
	text[strcspn(text, "\n")] = '\0';
	return !strcmp(text, want) || fail_why("%s is '%s', not %s", path, text, want);
}

/* criu's --cgroup-props: a text it would not take fails the dump, naming
 * the option, and the program runs on; one that replaces the core files
 * saved ("cgroup") by cgroup.max.depth alone saves that (cryo show) and
 * not cgroup.max.descendants, so restore with "full" over changed values
 * puts back the depth and leaves the other as it is. */
TEST(cgroup_props_choose_the_saved_v2_settings)
{
	char mnt[PATH_MAX / 2], base[PATH_MAX], leaf[PATH_MAX], pid_text[16], img[PATH_MAX];
	char show[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;

	if (!cgroup2_at(mnt)) {
		printf("SKIP cgroup_props_choose_the_saved_v2_settings: no cgroup v2 hierarchy is "
		       "mounted\n");
		return;
	}
	pathf(base, "%s/cryo-test-props-%d", mnt, getpid());
	pathf(leaf, "%s/a", base);
	CHECK_GOTO(!mkdir(base, 0755) && !mkdir(leaf, 0755) &&
			   write_cgroup_file(leaf, "cgroup.max.descendants", "7") &&
			   write_cgroup_file(leaf, "cgroup.max.depth", "3"),
		   out, "cannot make %s: %s", leaf, strerror(errno));
	CHECK_GOTO(start_prog(&p, "prog_counter", enter_cgroup, leaf), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);

	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--cgroup-props",
		  "\"cgroup\":\n - \"strategy\": \"swap\"\n - \"properties\": []");
	CHECK_GOTO(r.status > 0 && r.status < 128 && strstr(r.out, "--cgroup-props") &&
			   strstr(r.out, "strategy"),
		   out, "a dump with bad props exited %d: %s", r.status, r.out);
	CHECK_GOTO(kill(p.pid, 0) == 0, out, "the refused dump ended the program");

	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--cgroup-props",
		  "\"cgroup\":\n - \"strategy\": \"replace\"\n - \"properties\": "
		  "[\"cgroup.max.depth\"]\n");
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	waitpid(p.pid, NULL, 0);
	pathf(show, "%s/cgroups.img", img);
	prog_cryo(&r, &p, "show", show);
	CHECK_GOTO(r.status == 0 && strstr(r.out, "cgroup.max.depth") &&
			   !strstr(r.out, "cgroup.max.descendants"),
		   out, "cgroups.img of a dump that saves cgroup.max.depth alone: %s", r.out);
	CHECK_GOTO(write_cgroup_file(leaf, "cgroup.max.descendants", "5") &&
			   write_cgroup_file(leaf, "cgroup.max.depth", "9"),
		   out, "cannot change %s", leaf);

	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--manage-cgroups=full");
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	CHECK_GOTO(cgroup_file_is(leaf, "cgroup.max.depth", "3") &&
			   cgroup_file_is(leaf, "cgroup.max.descendants", "5"),
		   out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	remove_cgroups(leaf, base);
}
