/* --manage-cgroups on cgroup v1 hierarchies (issue 11 item 11), through
 * the cryo binary: a named hierarchy the test mounts itself
 * (name=cryotestPID, unmounted at the end) and the pids and cpu controller
 * hierarchies, which must be mounted (this machine's hybrid layout; a
 * missing one fails the test, naming it); a bind of a subtree of the named
 * one (a container's view), the named one mounted nowhere (cryo mounts it
 * for itself), a cgroup namespace rooted in either, criu's --cgroup-dump-controller, --cgroup-props-file and
 * --cgroup-yard. Every cgroup and mount made is
 * removed, leaf first. The v2 cases are test_criu_cli's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cgroup1.h"
#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

/* The hierarchies one test uses: a named one of its own, pids and cpu. */
struct hierarchies {
	char name[64];		/* "name=cryotestPID" */
	char named[PATH_MAX];	/* its mount point, a temporary folder */
	char pids[PATH_MAX];
	char cpu[PATH_MAX];
};

/* Every cgroup a test may make, leaf first (removed in this order). */
static const char *const test_cgroups[] = { "/t/thr", "/t", "/a/b", "/a", "/other/b", "/c",
					    "/other", "/u/v", "/u" };

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool mount_named(const char *name, char *mnt)
{
	char opts[96];

	snprintf(opts, sizeof(opts), "none,%s", name);
	if (!make_temp_dir(mnt))
		return fail_why("cannot make a folder to mount %s on", name);
	if (mount("cgroup", mnt, "cgroup", 0, opts)) {
		rmdir(mnt);
		return fail_why("cannot mount cgroup v1 hierarchy %s: %s", name, strerror(errno));
	}
	return true;
}

/* Whether this process is in hierarchy @name: it lives as long as it has
 * a cgroup below its root, dying ones included. */
static bool hierarchy_lives(const char *name)
{
	char text[4096] = "", line[96];

	snprintf(line, sizeof(line), ":%s:", name);
	read_text("/proc/self/cgroup", text, sizeof(text));
	return strstr(text, line) != NULL;
}

/* Whether hierarchy @name is gone, polled for up to @ms. */
static bool hierarchy_gone(const char *name, int ms)
{
	for (int waited = 0; hierarchy_lives(name); waited += 20) {
		if (waited >= ms)
			return false;
		usleep(20000);
	}
	return true;
}

/* Unmounts named hierarchy @name from @mnt and removes the folder. The
 * kernel destroys a hierarchy at its unmount only if its root has no
 * child left, and a cgroup just removed stays a child until it is freed:
 * a hierarchy that outlives its unmount is mounted and unmounted once
 * more (left alive, it would be in every process's /proc/PID/cgroup). */
static void unmount_named(const char *mnt, const char *name)
{
	char opts[96];

	snprintf(opts, sizeof(opts), "none,%s", name);
	umount2(mnt, 0);
	if (!hierarchy_gone(name, 500) && !mount("cgroup", mnt, "cgroup", 0, opts))
		umount2(mnt, 0);
	if (!hierarchy_gone(name, 5000))
		harness_fail(__FILE__, __LINE__, "cgroup v1 hierarchy %s outlived its unmount: "
			     "it is left in every process's /proc/PID/cgroup", name);
	rmdir(mnt);
}

/* Removes @base's test cgroups (below @mnt), leaf first; a cgroup whose
 * process is just being killed is busy for a moment. */
static void remove_cgroups(const char *mnt, const char *base)
{
	char path[PATH_MAX];

	for (size_t i = 0; mnt[0] && i < sizeof(test_cgroups) / sizeof(test_cgroups[0]); i++) {
		pathf(path, "%s%s%s", mnt, base, test_cgroups[i]);
		for (int n = 0; n < 500 && rmdir(path) && errno == EBUSY; n++)
			usleep(10000);
	}
	pathf(path, "%s%s", mnt, base);
	if (base[0])
		rmdir(path);
}

static bool setup(struct hierarchies *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "name=cryotest%d", getpid());
	if (cgroup_hierarchy_mount("pids", h->pids, sizeof(h->pids)) ||
	    cgroup_hierarchy_mount("cpu", h->cpu, sizeof(h->cpu)))
		return fail_why("the pids or cpu cgroup v1 hierarchy is not mounted here: this "
				"test needs both (mount -t cgroup -o pids / -o cpu)");
	return mount_named(h->name, h->named);
}

/* The test's folder in pids and cpu: one per test run. */
static void base_of(char *base)
{
	pathf(base, "/cryo-test-v1-%d", getpid());
}

static void teardown(struct hierarchies *h)
{
	char base[PATH_MAX];

	base_of(base);
	remove_cgroups(h->named, "");
	remove_cgroups(h->pids, base);
	remove_cgroups(h->cpu, base);
	if (h->named[0])
		unmount_named(h->named, h->name);
}

/* Makes @rel (and its parents) below @mnt. */
static bool make_cgroup(const char *mnt, const char *rel)
{
	char path[PATH_MAX];
	size_t len = strlen(mnt);

	pathf(path, "%s%s", mnt, rel);
	for (char *slash = strchr(path + len + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return fail_why("cannot make the cgroup %s: %s", path, strerror(errno));
		if (!slash)
			return true;
		*slash = '/';
	}
}

static bool set_value(const char *mnt, const char *rel, const char *file, const char *value)
{
	char path[PATH_MAX];

	pathf(path, "%s%s/%s", mnt, rel, file);
	return write_file(path, value) || fail_why("cannot write %s into %s", value, path);
}

static bool has_value(const char *mnt, const char *rel, const char *file, const char *want)
{
	char path[PATH_MAX], text[128] = "";

	pathf(path, "%s%s/%s", mnt, rel, file);
	read_text(path, text, sizeof(text));
	text[strcspn(text, "\n")] = '\0';
	return !strcmp(text, want) || fail_why("%s is '%s', not the saved %s", path, text, want);
}

/* Whether thread @tid of @pid (@tid 0: the process) is in cgroup @rel of
 * hierarchy @controllers. */
static bool is_in(pid_t pid, pid_t tid, const char *controllers, const char *rel)
{
	struct cgroup_line lines[CGROUP_HIERARCHIES_MAX];
	size_t nr = 0;

	if (cgroup_lines_read(pid, tid, lines, &nr))
		return fail_why("cannot read the cgroups of %d/%d", pid, tid);
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(lines[i].controllers, controllers))
			return !strcmp(lines[i].path, rel) ||
			       fail_why("pid %d thread %d is in %s of %s, not %s", pid, tid,
					lines[i].path, controllers, rel);
	return fail_why("pid %d has no cgroup in hierarchy %s", pid, controllers);
}

/* The cgroup.procs files a program joins before its exec. */
struct places {
	char procs[4][PATH_MAX];
};

static void enter_places(void *arg)
{
	const struct places *pl = arg;

	for (size_t i = 0; i < 4; i++)
		if (pl->procs[i][0] && !write_file(pl->procs[i], "0"))
			_exit(126);
}

/* Starts @name in @named_rel of the named hierarchy (and of @named2 when
 * not NULL) and in @base/c of pids and cpu, which get pids.max 77 and
 * cpu.shares 512. */
static bool start_placed(struct prog *p, const char *name, const struct hierarchies *h,
			 const char *named2, const char *named_rel)
{
	char base[PATH_MAX], rel[PATH_MAX];
	struct places pl = { 0 };

	base_of(base);
	pathf(rel, "%s/c", base);
	if (!make_cgroup(h->named, named_rel) || !make_cgroup(h->pids, rel) ||
	    !make_cgroup(h->cpu, rel) || !set_value(h->pids, rel, "pids.max", "77") ||
	    !set_value(h->cpu, rel, "cpu.shares", "512") ||
	    (named2 && !make_cgroup(named2, named_rel)))
		return false;
	pathf(pl.procs[0], "%s%s/cgroup.procs", h->named, named_rel);
	pathf(pl.procs[1], "%s%s/cgroup.procs", h->pids, rel);
	pathf(pl.procs[2], "%s%s/cgroup.procs", h->cpu, rel);
	if (named2)
		pathf(pl.procs[3], "%s%s/cgroup.procs", named2, named_rel);
	return start_prog(p, name, enter_places, &pl);
}

/* Dumps @p (it ends), with @opt1 @arg1 @opt2 @arg2 when not NULL: true
 * when it succeeded, else @r says why. */
static bool dump_with(struct prog *p, struct cryo_run *r, const char *opt1, const char *arg1,
		      const char *opt2, const char *arg2)
{
	char img[PATH_MAX], pid_text[16];

	snprintf(pid_text, sizeof(pid_text), "%d", p->pid);
	pathf(img, "%s/img", p->dir);
	if (opt2)
		prog_cryo(r, p, "dump", "-t", pid_text, "-D", img, opt1, arg1, opt2, arg2);
	else if (opt1)
		prog_cryo(r, p, "dump", "-t", pid_text, "-D", img, opt1, arg1);
	else
		prog_cryo(r, p, "dump", "-t", pid_text, "-D", img);
	if (r->status != 0)
		return fail_why("dump failed (%d): %s", r->status, r->out);
	waitpid(p->pid, NULL, 0);
	return true;
}

static bool dump(struct prog *p)
{
	struct cryo_run r;

	return dump_with(p, &r, NULL, NULL, NULL, NULL);
}

/* Restores @p with @mode (and @opt @arg when not NULL): true when it
 * succeeded, else @r says why. */
static bool restore(struct prog *p, struct cryo_run *r, const char *mode, const char *opt,
		    const char *arg)
{
	char img[PATH_MAX], mode_opt[64];

	pathf(img, "%s/img", p->dir);
	snprintf(mode_opt, sizeof(mode_opt), "--manage-cgroups=%s", mode);
	if (opt)
		prog_cryo(r, p, "restore", "-D", img, "-d", mode_opt, opt, arg);
	else
		prog_cryo(r, p, "restore", "-D", img, "-d", mode_opt);
	return r->status == 0 || fail_why("restore with %s failed (%d): %s", mode, r->status,
					  r->out);
}

/* Back in its cgroups, with the saved pids.max and cpu.shares. */
static bool restored_in_place(const struct prog *p, const struct hierarchies *h,
			      const char *named_rel)
{
	char base[PATH_MAX], rel[PATH_MAX];

	base_of(base);
	pathf(rel, "%s/c", base);
	return is_in(p->pid, 0, h->name, named_rel) && is_in(p->pid, 0, "pids", rel) &&
	       is_in(p->pid, 0, "cpu", rel) && has_value(h->pids, rel, "pids.max", "77") &&
	       has_value(h->cpu, rel, "cpu.shares", "512");
}

/* The hierarchies set up, @name started in @named_rel (and the pids and
 * cpu cgroups), and dumped. */
static bool placed_and_dumped(struct hierarchies *h, struct prog *p, const char *name,
			      const char *named_rel)
{
	return setup(h) && start_placed(p, name, h, NULL, named_rel) && dump(p);
}

/* Restored with @mode, back in its cgroups with its settings, passing. */
static bool comes_back(struct prog *p, const struct hierarchies *h, const char *mode,
		      const char *named_rel)
{
	struct cryo_run r;

	return restore(p, &r, mode, NULL, NULL) && restored_in_place(p, h, named_rel) &&
	       prog_passes(p);
}

static void remove_all(const struct hierarchies *h)
{
	char base[PATH_MAX];

	base_of(base);
	remove_cgroups(h->named, "");
	remove_cgroups(h->pids, base);
	remove_cgroups(h->cpu, base);
}

/* The program's cgroups, removed after the dump: "none" refuses to
 * restore, naming the hierarchy and cgroup, and makes nothing; "soft"
 * makes them again with their settings and puts the program back. */
TEST(soft_restore_makes_removed_v1_cgroups_again)
{
	char path[PATH_MAX], named_a[PATH_MAX];
	struct hierarchies h;
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(placed_and_dumped(&h, &p, "prog_counter", "/a/b"), out, "%s", why);
	remove_all(&h);
	pathf(named_a, "%s/a", h.named);
	CHECK_GOTO(access(named_a, F_OK), out, "cannot remove %s", named_a);

	snprintf(path, sizeof(path), "/a/b in cgroup v1 hierarchy %s", h.name);
	CHECK_GOTO(!restore(&p, &r, "none", NULL, NULL) &&
			   refused(&r, path, "does not exist", "--manage-cgroups=none", NULL),
		   out, "restore with none exited %d: %s", r.status, r.out);
	CHECK_GOTO(access(named_a, F_OK), out, "the refused restore made %s", named_a);

	CHECK_GOTO(comes_back(&p, &h, "soft", "/a/b"), out, "%s", why);
out:
	end_prog(&p);
	teardown(&h);
}

/* Existing cgroups whose settings changed after the dump: "strict"
 * refuses them by name, changing nothing; "props" writes the saved
 * pids.max and cpu.shares back. */
TEST(props_writes_saved_v1_settings_and_strict_refuses_existing_cgroups)
{
	char base[PATH_MAX], rel[PATH_MAX];
	struct hierarchies h;
	struct prog p = { 0 };
	struct cryo_run r;

	base_of(base);
	pathf(rel, "%s/c", base);
	CHECK_GOTO(placed_and_dumped(&h, &p, "prog_counter", "/a/b"), out, "%s", why);
	CHECK_GOTO(set_value(h.pids, rel, "pids.max", "60") &&
			   set_value(h.cpu, rel, "cpu.shares", "1024"),
		   out, "%s", why);

	CHECK_GOTO(!restore(&p, &r, "strict", NULL, NULL) &&
			   refused(&r, "exists already", "--manage-cgroups=strict", NULL),
		   out, "strict over existing cgroups exited %d: %s", r.status, r.out);
	CHECK_GOTO(has_value(h.pids, rel, "pids.max", "60") &&
			   has_value(h.cpu, rel, "cpu.shares", "1024"),
		   out, "the refused restore changed a setting: %s", why);

	CHECK_GOTO(comes_back(&p, &h, "props", "/a/b"), out, "%s", why);
out:
	end_prog(&p);
	teardown(&h);
}

/* --cgroup-root name=cryotestPID:/other: in that hierarchy the program's
 * cgroup /a/b is made at /other (its parent /a, above it, is not made);
 * in pids and cpu it goes back where it was. */
TEST(cgroup_root_of_one_hierarchy_places_the_process_there)
{
	char root[PATH_MAX], named_a[PATH_MAX];
	struct hierarchies h;
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(placed_and_dumped(&h, &p, "prog_counter", "/a/b"), out, "%s", why);
	remove_all(&h);

	pathf(root, "%s:/other", h.name);
	CHECK_GOTO(restore(&p, &r, "soft", "--cgroup-root", root), out, "%s", why);
	CHECK_GOTO(is_in(p.pid, 0, h.name, "/other"), out, "%s", why);
	base_of(root);
	pathf(named_a, "%s/c", root);
	CHECK_GOTO(is_in(p.pid, 0, "pids", named_a), out, "%s", why);
	pathf(named_a, "%s/a", h.named);
	CHECK_GOTO(access(named_a, F_OK), out, "%s was made, above the moved cgroup", named_a);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	teardown(&h);
}

/* A thread in another cgroup of the named hierarchy than its process
 * (v1 places threads one by one): both are removed after the dump, and
 * restore puts the process and that thread each back where it was. */
TEST(a_thread_goes_back_into_its_own_v1_cgroup)
{
	char path[PATH_MAX], tid_text[16];
	struct hierarchies h;
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t tid;

	CHECK_GOTO(setup(&h), out, "%s", why);
	CHECK_GOTO(make_cgroup(h.named, "/t/thr"), out, "%s", why);
	CHECK_GOTO(start_placed(&p, "prog_fd_owner", &h, NULL, "/t"), out, "%s", why);
	tid = other_thread(p.pid);
	snprintf(tid_text, sizeof(tid_text), "%d", tid);
	pathf(path, "%s/t/thr/tasks", h.named);
	CHECK_GOTO(tid > 0 && write_file(path, tid_text), out, "cannot move thread %d into %s: %s",
		   tid, path, strerror(errno));
	CHECK_GOTO(dump(&p), out, "%s", why);
	remove_all(&h);

	CHECK_GOTO(restore(&p, &r, "soft", NULL, NULL), out, "%s", why);
	CHECK_GOTO(is_in(p.pid, tid, h.name, "/t/thr") && is_in(p.pid, 0, h.name, "/t"), out, "%s",
		   why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	teardown(&h);
}

/* Two named hierarchies; the one restore reaches second is gone after the
 * dump (its cgroups removed and its mount too): the restore fails naming
 * it, and the cgroups it had made in the first are removed again. */
TEST(a_saved_hierarchy_that_is_gone_fails_the_restore_and_undoes_it)
{
	char name2[80], mnt2[PATH_MAX] = "", text[4096] = "", first_a[PATH_MAX];
	char line1[96], line2[96];
	const char *later_name, *first_mnt;
	struct hierarchies h;
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(setup(&h), out, "%s", why);
	snprintf(name2, sizeof(name2), "%sb", h.name);
	CHECK_GOTO(mount_named(name2, mnt2), out, "%s", why);
	CHECK_GOTO(start_placed(&p, "prog_counter", &h, mnt2, "/a/b"), out, "%s", why);
	CHECK_GOTO(dump(&p), out, "%s", why);
	remove_all(&h);
	remove_cgroups(mnt2, "");
	/* Restore takes the hierarchies in /proc/self/cgroup's order. */
	read_text("/proc/self/cgroup", text, sizeof(text));
	snprintf(line1, sizeof(line1), ":%s:", h.name);
	snprintf(line2, sizeof(line2), ":%s:", name2);
	CHECK_GOTO(strstr(text, line1) && strstr(text, line2), out, "no line for %s: %s", h.name,
		   text);
	later_name = strstr(text, line2) > strstr(text, line1) ? name2 : h.name;
	first_mnt = later_name == name2 ? h.named : mnt2;
	/* Unmounted with no cgroup left, it is destroyed. */
	unmount_named(later_name == name2 ? mnt2 : h.named, later_name);
	CHECK_GOTO(!hierarchy_lives(later_name), out, "%s outlived its unmount", later_name);

	CHECK_GOTO(!restore(&p, &r, "soft", NULL, NULL) &&
			   refused(&r, later_name, "which does not exist here", NULL),
		   out, "restore without %s exited %d: %s", later_name, r.status, r.out);
	pathf(first_a, "%s/a", first_mnt);
	CHECK_GOTO(access(first_a, F_OK), out, "the failed restore left %s", first_a);
out:
	end_prog(&p);
	if (mnt2[0]) {
		remove_cgroups(mnt2, "");
		unmount_named(mnt2, name2);
	}
	teardown(&h);
}

/* How many mounts of named hierarchy @name this mount namespace has. */
static int mount_count_of(const char *name)
{
	char text[65536] = "";
	int n = 0;

	read_text("/proc/self/mountinfo", text, sizeof(text));
	for (const char *at = strstr(text, name); at; at = strstr(at + 1, name))
		n += at[strlen(name)] == ',' || at[strlen(name)] == '\n';
	return n;
}

/* The named hierarchy mounted nowhere at dump and restore: it lives on
 * while the program's cgroup /u/v does, and cryo reaches it through a
 * mount of its own, attached nowhere, which it leaves behind neither.
 * @name: prog_counter, or prog_cgroupns, whose cgroup namespace has its
 * root there (in /u/v). */
static void mounted_nowhere(const char *name)
{
	struct hierarchies h;
	struct prog p = { 0 };
	bool unmounted = false;
	char opts[96];

	CHECK_GOTO(setup(&h) && start_placed(&p, name, &h, NULL, "/u/v"), out, "%s", why);
	CHECK_GOTO(!umount2(h.named, 0), out, "cannot unmount %s: %s", h.name, strerror(errno));
	unmounted = true;
	CHECK_GOTO(hierarchy_lives(h.name), out, "%s did not outlive its unmount", h.name);
	/* prog_cgroupns's child too, which comes back to us: its pid is free. */
	CHECK_GOTO(dump(&p) && reap_all_children(WAIT_MS), out, "%s", why);
	CHECK_GOTO(comes_back(&p, &h, "soft", "/u/v"), out, "%s", why);
	CHECK_GOTO(!mount_count_of(h.name), out, "a mount of %s is left", h.name);
out:
	end_prog(&p);
	snprintf(opts, sizeof(opts), "none,%s", h.name);
	/* Mounted again to remove its cgroups. */
	if (unmounted && mount("cgroup", h.named, "cgroup", 0, opts))
		harness_fail(__FILE__, __LINE__, "cannot mount %s again at %s: %s", h.name,
			     h.named, strerror(errno));
	teardown(&h);
}

TEST(a_v1_hierarchy_mounted_nowhere_is_saved_and_restored)
{
	mounted_nowhere("prog_counter");
}

TEST(a_cgroup_namespace_rooted_in_a_v1_hierarchy_mounted_nowhere_is_made_again)
{
	mounted_nowhere("prog_cgroupns");
}

/* A bind of cgroup /a of the named hierarchy at @bind, its root mount
 * gone (a container's view: mountinfo's root is /a). */
static bool bind_subtree(const struct hierarchies *h, const char *bind)
{
	char a[PATH_MAX];

	pathf(a, "%s/a", h->named);
	if (mount(a, bind, NULL, MS_BIND, NULL))
		return fail_why("cannot bind %s at %s: %s", a, bind, strerror(errno));
	if (umount2(h->named, 0))
		return fail_why("cannot unmount %s: %s", h->named, strerror(errno));
	return true;
}

/* The named hierarchy's root mounted again at its place, the bind gone. */
static void unbind_subtree(const struct hierarchies *h, const char *bind, bool bound)
{
	char opts[96];

	snprintf(opts, sizeof(opts), "none,%s", h->name);
	if (bound && mount("cgroup", h->named, "cgroup", 0, opts))
		harness_fail(__FILE__, __LINE__, "cannot mount %s again at %s: %s", h->name,
			     h->named, strerror(errno));
	if (bound)
		umount2(bind, 0);
	rmdir(bind);
}

/* Only a bind of /a is mounted (mountinfo's root /a): a process in /a/b
 * is dumped through it, its cgroup is removed, and restore makes it again
 * through the bind and puts the process back; one in /c, which the bind
 * does not reach, is refused by name and runs on. @name: prog_counter, or
 * prog_cgroupns, whose cgroup namespace has its root in /a/b. */
static void mounted_below_root(const char *name)
{
	char bind[PATH_MAX] = "", leaf[PATH_MAX];
	struct hierarchies h;
	struct prog p = { 0 }, q = { 0 };
	struct cryo_run r;
	bool bound = false;

	CHECK_GOTO(setup(&h) && make_temp_dir(bind), out, "%s", why);
	CHECK_GOTO(start_placed(&p, name, &h, NULL, "/a/b") &&
			   start_placed(&q, "prog_counter", &h, NULL, "/c"),
		   out, "%s", why);
	CHECK_GOTO(bound = bind_subtree(&h, bind), out, "%s", why);

	CHECK_GOTO(!dump_with(&q, &r, NULL, NULL, NULL, NULL) &&
			   refused(&r, "cgroup /c in cgroup v1 hierarchy", h.name,
				   "no mount reaches it", NULL),
		   out, "a dump of a cgroup no mount reaches exited %d: %s", r.status, r.out);
	CHECK_GOTO(prog_passes(&q), out, "%s", why);

	CHECK_GOTO(dump(&p) && reap_all_children(WAIT_MS), out, "%s", why);
	pathf(leaf, "%s/b", bind);
	for (int i = 0; i < 500 && rmdir(leaf) && errno == EBUSY; i++)
		usleep(10000);
	CHECK_GOTO(access(leaf, F_OK), out, "cannot remove %s", leaf);
	CHECK_GOTO(comes_back(&p, &h, "soft", "/a/b"), out, "%s", why);
	CHECK_GOTO(!access(leaf, F_OK), out, "%s was not made through the bind", leaf);
out:
	end_prog(&p);
	end_prog(&q);
	unbind_subtree(&h, bind, bound);
	teardown(&h);
}

TEST(a_v1_hierarchy_mounted_only_below_its_root_is_found_through_that_bind)
{
	mounted_below_root("prog_counter");
}

TEST(a_cgroup_namespace_rooted_below_a_bound_v1_cgroup_is_made_again_through_it)
{
	mounted_below_root("prog_cgroupns");
}

/* criu's --cgroup-dump-controller (only cpu saved: not pids, not the
 * named hierarchy) and --cgroup-props-file (cpu's files replaced by
 * cpu.cfs_quota_us alone; pids' merged with nothing): the image shows it,
 * and restore with "full" over a changed cpu.shares leaves it changed,
 * puts the process back into its cpu cgroup and leaves it in the named
 * hierarchy's root, cryo's cgroup there. */
TEST(dump_controllers_and_props_file_choose_what_is_saved)
{
	char props[PATH_MAX], show[PATH_MAX], base[PATH_MAX], rel[PATH_MAX];
	struct hierarchies h;
	struct prog p = { 0 };
	struct cryo_run r;
	FILE *f;

	base_of(base);
	pathf(rel, "%s/c", base);
	CHECK_GOTO(setup(&h) && start_placed(&p, "prog_counter", &h, NULL, "/a/b"), out, "%s",
		   why);
	pathf(props, "%s/props.yaml", p.dir);
	f = fopen(props, "we");
	CHECK_GOTO(f && fputs("\"cpu\":\n - \"strategy\": \"replace\"\n - \"properties\": "
			      "[\"cpu.cfs_quota_us\"]\n\"pids\":\n - \"strategy\": "
			      "\"merge\"\n - \"properties\": []\n", f) >= 0 && !fclose(f),
		   out, "cannot write %s", props);
	CHECK_GOTO(dump_with(&p, &r, "--cgroup-dump-controller", "cpu", "--cgroup-props-file",
			     props), out, "%s", why);
	pathf(show, "%s/img/cgroups_v1.img", p.dir);
	prog_cryo(&r, &p, "show", show);
	CHECK_GOTO(r.status == 0 && strstr(r.out, "cpu.cfs_quota_us") &&
			   !strstr(r.out, "cpu.shares") && !strstr(r.out, h.name) &&
			   !strstr(r.out, "pids.max"),
		   out, "the image of a dump of cpu alone, without cpu.shares: %s", r.out);
	CHECK_GOTO(set_value(h.cpu, rel, "cpu.shares", "1024"), out, "%s", why);

	CHECK_GOTO(restore(&p, &r, "full", NULL, NULL), out, "%s", why);
	CHECK_GOTO(is_in(p.pid, 0, "cpu", rel) && is_in(p.pid, 0, h.name, "/") &&
			   has_value(h.cpu, rel, "cpu.shares", "1024"),
		   out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	teardown(&h);
}

/* criu's --cgroup-yard: the named hierarchy mounted again in a yard, at
 * the folder of its name; a dump that needs the pids and cpu hierarchies
 * too is refused naming the yard, and the program runs on; a dump of the
 * named one alone reads it there, a restore through an empty yard is
 * refused naming the folder it lacks, and one through the yard puts the
 * process back. */
TEST(cgroup_yard_holds_the_hierarchies_dump_and_restore_use)
{
	char yard[PATH_MAX] = "", empty[PATH_MAX] = "", dir[PATH_MAX] = "", opts[96];
	struct hierarchies h;
	struct prog p = { 0 };
	struct cryo_run r;
	bool mounted = false;

	CHECK_GOTO(setup(&h) && make_temp_dir(yard) && make_temp_dir(empty), out, "%s", why);
	pathf(dir, "%s/%s", yard, h.name + strlen("name="));
	snprintf(opts, sizeof(opts), "none,%s", h.name);
	CHECK_GOTO(!mkdir(dir, 0700) && !mount("cgroup", dir, "cgroup", 0, opts), out,
		   "cannot mount %s at %s: %s", h.name, dir, strerror(errno));
	mounted = true;
	CHECK_GOTO(start_placed(&p, "prog_counter", &h, NULL, "/a/b"), out, "%s", why);
	/* pids and cpu, which the program's cgroups need, are not in it. */
	CHECK_GOTO(!dump_with(&p, &r, "--cgroup-yard", yard, NULL, NULL) &&
			   refused(&r, "--cgroup-yard", "no mount of cgroup v1 hierarchy",
				   "--cgroup-dump-controller", NULL),
		   out, "a dump through a yard without pids and cpu exited %d: %s", r.status,
		   r.out);
	CHECK_GOTO(kill(p.pid, 0) == 0, out, "the refused dump ended the program");
	CHECK_GOTO(dump_with(&p, &r, "--cgroup-yard", yard, "--cgroup-dump-controller", h.name),
		   out, "%s", why);
	remove_all(&h);

	CHECK_GOTO(!restore(&p, &r, "soft", "--cgroup-yard", empty) &&
			   refused(&r, "--cgroup-yard", h.name + strlen("name="),
				   "is not a mount of cgroup v1 hierarchy", NULL),
		   out, "a restore through an empty yard exited %d: %s", r.status, r.out);
	CHECK_GOTO(restore(&p, &r, "soft", "--cgroup-yard", yard), out, "%s", why);
	CHECK_GOTO(is_in(p.pid, 0, h.name, "/a/b") && prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	if (mounted)
		umount2(dir, 0);
	if (dir[0])
		rmdir(dir);
	if (yard[0])
		rmdir(yard);
	if (empty[0])
		rmdir(empty);
	teardown(&h);
}
