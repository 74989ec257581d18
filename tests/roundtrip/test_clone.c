/* cryo restore --clone, and dumps of clones. Three clones of one image of
 * prog_tree (50 processes, sessions, groups, zombies) run at once beside
 * the original, each process with its saved pid inside its clone's pid
 * namespace (the root's NSpid ends with the saved pid, the pid we see is
 * another), each passing its own checks (cryo restore exits as the root
 * did). The chain: prog_counter dumped, restored as a clone, the clone
 * dumped from outside by the pid we see, restored as a clone, three
 * times over, and still counting; the same for prog_pty, whose ptys each
 * clone gets at their saved indices in a devpts instance of its own, and
 * for prog_uts and prog_timens (and prog_timens_userns, whose time
 * namespace is made inside its user namespace), whose namespaces each
 * clone makes again. A container (prog_mntns) restored as
 * clones whose init is its own root, and a clone of it dumped again; a
 * whole container (prog_container) with a veth to ours, cloned beside it,
 * each clone's end outside named or free, never the original's. A
 * clone restored with -d leaves no end of cryo's stdout open in it. And,
 * restored in place, a slave of a peer group of the caller's namespace
 * (prog_mntns_slave) stays one. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <net/if.h>

#include "cryo_driver.h"
#include "runner_util.h"

#define CLONES 3

/* The pid file @path written by cryo restore, read into @pid. */
static bool read_pid_file(const char *path, pid_t *pid)
{
	char text[32] = "";
	long deadline = now_ms() + WAIT_MS;

	while (!read_text(path, text, sizeof(text)) || !atoi(text)) {
		if (now_ms() > deadline)
			return fail_why("cryo wrote no pid file %s", path);
		sleep_ms(10);
	}
	*pid = (pid_t)atoi(text);
	return true;
}

/* The root of a clone: the pid we see differs, its pid inside is @saved. */
static bool is_clone_of(pid_t seen, pid_t saved)
{
	char path[64], status[4096], *line;
	long last = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", seen);
	if (!read_text(path, status, sizeof(status)) || !(line = strstr(status, "\nNSpid:")))
		return fail_why("pid %d: no NSpid in its status", seen);
	line += strlen("\nNSpid:");
	for (char *end;; line = end) {
		long v = strtol(line, &end, 10);

		if (end == line)
			break;
		last = v;
	}
	if (seen == saved || last != saved)
		return fail_why("pid %d: its pid inside is %ld, not the saved %d", seen, last, saved);
	return true;
}

/* The pid cryo sees of @pid's parent. */
static pid_t parent_of(pid_t pid)
{
	char path[64], text[512], *p;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, text, sizeof(text)) && (p = strrchr(text, ')')))
		sscanf(p, ") %*c %d", &ppid);
	return ppid;
}

/* One at a time (every clone writes its verdict through the same file):
 * SIGTERM to each root, then the cryo restore that holds it must exit 0,
 * as its root did. @ok, false when one failed. */
static bool end_clones(const pid_t *cryo, const pid_t *root, int nr, bool ok)
{
	for (int i = 0; i < nr; i++) {
		int status;

		if (root[i] > 0)
			kill(root[i], SIGTERM);
		if (cryo[i] <= 0)
			continue;
		if (!wait_child(cryo[i], WAIT_MS, &status)) {
			kill_and_reap(cryo[i]);
			ok = ok && fail_why("clone %d did not end after SIGTERM", i);
		} else if (ok && (!WIFEXITED(status) || WEXITSTATUS(status))) {
			ok = fail_why("clone %d failed its checks (status %#x)", i, status);
		}
	}
	return ok;
}

/* The mode= of the devpts instance on /dev/pts that @pid sees. */
static bool devpts_mode(pid_t pid, char *mode, size_t size)
{
	char path[64], line[4096], target[4096];
	const char *at = NULL;
	FILE *mi;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	mi = fopen(path, "re");
	*mode = '\0';
	while (mi && fgets(line, sizeof(line), mi))
		if (sscanf(line, "%*d %*d %*s %*s %4095s", target) == 1 &&
		    !strcmp(target, "/dev/pts") && (at = strstr(line, ",mode=")))
			snprintf(mode, size, "%.*s", (int)strcspn(at + 6, ",\n"), at + 6);
	if (mi)
		fclose(mi);
	return *mode || fail_why("pid %d: no devpts with a mode on /dev/pts", pid);
}

/* A clone's own devpts instance has the mode of the caller's. */
static bool clone_devpts_like_callers(pid_t root)
{
	char theirs[32], ours[32];

	return devpts_mode(root, theirs, sizeof(theirs)) &&
	       devpts_mode(getpid(), ours, sizeof(ours)) &&
	       (!strcmp(theirs, ours) ||
		fail_why("the clone's /dev/pts has mode=%s, cryo's mode=%s", theirs, ours));
}

static bool three_clones_of(const char *name)
{
	struct prog p;
	struct cryo_run r;
	char img[PATH_MAX], pid[16], pidfile[CLONES][PATH_MAX];
	pid_t cryo[CLONES] = { 0 }, root[CLONES] = { 0 };
	bool ok;

	if (!start_prog(&p, name, NULL, NULL))
		return false;
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
	ok = r.status == 0 || fail_why("dump -R failed: %s", r.out);
	for (int i = 0; ok && i < CLONES; i++) {
		pathf(pidfile[i], "%s/clone%d", p.dir, i);
		cryo[i] = cryo_spawn(2, &(struct cryo_call){
			.args = CRYO_ARGS("restore", "--clone", "-D", img, "--pidfile", pidfile[i]) });
		ok = cryo[i] > 0 || fail_why("cannot start cryo restore --clone");
	}
	for (int i = 0; ok && i < CLONES; i++)
		ok = read_pid_file(pidfile[i], &root[i]) && is_clone_of(root[i], p.pid) &&
		     clone_devpts_like_callers(root[i]);
	/* cryo restore exits as the root did: 0 when it passed its checks. */
	ok = end_clones(cryo, root, CLONES, ok) && prog_passes(&p);
	end_prog(&p);
	return ok;
}

/* A container whose folder of the caller's namespace (prog_mntns's ext,
 * bound from host) is named again at restore with --external
 * mnt[MOUNTPOINT]:PATH: the clone shows the other folder there. */
static bool external_mount_named_at_restore(void)
{
	struct prog p;
	struct cryo_run r;
	char img[PATH_MAX], other[PATH_MAX], file[PATH_MAX], spec[PATH_MAX * 2 + 16];
	char seen[PATH_MAX], pidfile[PATH_MAX], pid[16], text[16] = "";
	pid_t root = 0;
	FILE *fp;
	bool ok;

	if (!start_prog(&p, "prog_mntns", NULL, NULL))
		return false;
	pathf(img, "%s/img", p.dir);
	pathf(other, "%s/other", p.dir);
	pathf(file, "%s/file", other);
	pathf(pidfile, "%s/clone", p.dir);
	snprintf(spec, sizeof(spec), "mnt[%s/ext]:%s", p.dir, other);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	ok = (!mkdir(other, 0755) && (fp = fopen(file, "we")) && fputs("host", fp) >= 0 &&
	      !fclose(fp)) || fail_why("cannot make %s", file);
	if (ok) {
		run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
		ok = r.status == 0 || fail_why("dump -R failed: %s", r.out);
	}
	if (ok) {
		run_cryo(&r, "restore", "--clone", "-d", "-D", img, "--pidfile", pidfile,
			 "--external", spec);
		ok = (r.status == 0 || fail_why("restore --external %s failed: %s", spec, r.out)) &&
		     read_pid_file(pidfile, &root);
	}
	if (ok) {
		pathf(seen, "/proc/%d/root%s/ext/file", root, p.dir);
		pathf(file, "%s/marker", other);
		fp = fopen(file, "we");
		ok = (fp && !fclose(fp)) || fail_why("cannot make %s", file);
		pathf(seen, "/proc/%d/root%s/ext/marker", root, p.dir);
		ok = ok && (read_text(seen, text, sizeof(text)) ||
			    fail_why("%s is not there: the clone does not show %s", seen, other));
	}
	/* Reaped, so that its mounts on the program's folders are gone
	 * before end_prog() removes them. */
	kill_and_reap(root);
	ok = ok && prog_passes(&p);
	end_prog(&p);
	return ok;
}

/* A namespace file bound in the caller's namespace (as `ip netns add`
 * does) is in the copy a container's mount namespace starts from: it is
 * inherited at restore (its mountinfo folder, "net:[N]", is no path). */
static bool namespace_file_mount_of_the_caller_is_inherited(void)
{
	char file[PATH_MAX] = "", img[PATH_MAX], pidfile[PATH_MAX], pid[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t root = 0;
	bool ok;

	snprintf(file, sizeof(file), "/tmp/cryo-test-netns-%d", getpid());
	ok = (close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0 &&
	      !mount("/proc/self/ns/net", file, NULL, MS_BIND, NULL)) ||
	     fail_why("cannot bind a network namespace file on %s: %s", file, strerror(errno));
	ok = ok && start_prog(&p, "prog_mntns", NULL, NULL);
	if (ok) {
		pathf(img, "%s/img", p.dir);
		pathf(pidfile, "%s/clone", p.dir);
		snprintf(pid, sizeof(pid), "%d", p.pid);
		run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
		ok = r.status == 0 || fail_why("dump -R failed: %s", r.out);
	}
	if (ok) {
		run_cryo(&r, "restore", "--clone", "-d", "-D", img, "--pidfile", pidfile);
		ok = (r.status == 0 || fail_why("restore --clone failed: %s", r.out)) &&
		     read_pid_file(pidfile, &root);
	}
	kill_and_reap(root);
	ok = ok && prog_passes(&p);
	end_prog(&p);
	umount2(file, MNT_DETACH);
	unlink(file);
	return ok;
}

/* In the program's child, before its unshare: a shared tmpfs at DIR/src
 * of the runner's namespace, which the program's copy is a peer of. */
static void shared_src(void *arg)
{
	const struct prog *p = arg;
	char src[PATH_MAX + 8];

	snprintf(src, sizeof(src), "%s/src", p->dir);
	if (mkdir(src, 0755) || mount("cryo-test", src, "tmpfs", 0, "size=1m") ||
	    mount(NULL, src, NULL, MS_SHARED, NULL))
		_exit(125);
}

/* A slave of a peer group of the caller's namespace (prog_mntns_slave)
 * comes back a slave of it, dumped and restored twice; a mount made in
 * the group afterwards reaches it. */
static bool slave_of_a_callers_peer_group(void)
{
	struct prog p = { .pid = 0 };
	struct cryo_run r;
	char img[PATH_MAX], src[PATH_MAX], late[PATH_MAX], file[PATH_MAX], pid[16];
	bool ok = start_prog(&p, "prog_mntns_slave", shared_src, &p);
	int status;
	FILE *fp;

	pathf(src, "%s/src", p.dir);
	pathf(late, "%s/late", src);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	for (int round = 0; ok && round < 2; round++) {
		pathf(img, "%s/img%d", p.dir, round);
		run_cryo(&r, "dump", "-t", pid, "-D", img);
		ok = r.status == 0 || fail_why("dump %d failed: %s", round, r.out);
		/* Killed by the dump: reaped, so that its pid is free. */
		ok = ok && (wait_child(p.pid, WAIT_MS, &status) ||
			    fail_why("pid %d was not killed by dump %d", p.pid, round));
		if (ok)
			run_cryo(&r, "restore", "-d", "-D", img);
		ok = ok && (r.status == 0 || fail_why("restore %d failed: %s", round, r.out));
		ok = ok && (!strstr(r.out, "made private") ||
			    fail_why("restore %d: %s", round, r.out));
	}
	if (ok) {
		pathf(file, "%s/x", late);
		ok = (!mkdir(late, 0755) && !mount("cryo-test", late, "tmpfs", 0, "size=1m") &&
		      (fp = fopen(file, "we")) && fputs("late", fp) >= 0 && !fclose(fp)) ||
		     fail_why("cannot mount %s: %s", late, strerror(errno));
	}
	ok = ok && prog_passes(&p);
	umount2(late, MNT_DETACH);
	umount2(src, MNT_DETACH);
	end_prog(&p);
	return ok;
}

/* The group is gone at restore (src unmounted): the slave is made
 * private, and restore says so, naming the mount and the group. */
static bool slave_of_a_gone_group_is_made_private_and_said(void)
{
	struct prog p = { .pid = 0 };
	struct cryo_run r;
	char img[PATH_MAX], src[PATH_MAX], pid[16], want[PATH_MAX + 64];
	bool ok = start_prog(&p, "prog_mntns_slave", shared_src, &p);
	int status;

	pathf(src, "%s/src", p.dir);
	pathf(img, "%s/img", p.dir);
	pathf(want, "(%s/dst): it was a slave of peer group", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	if (ok) {
		run_cryo(&r, "dump", "-t", pid, "-D", img);
		ok = r.status == 0 || fail_why("dump failed: %s", r.out);
	}
	ok = ok && (wait_child(p.pid, WAIT_MS, &status) ||
		    fail_why("pid %d was not killed by the dump", p.pid));
	ok = ok && (!umount2(src, 0) || fail_why("umount %s: %s", src, strerror(errno)));
	if (ok)
		run_cryo(&r, "restore", "-d", "-D", img);
	ok = ok && (r.status == 0 || fail_why("restore failed: %s", r.out)) &&
	     ((strstr(r.out, want) && strstr(r.out, "made private")) ||
	      fail_why("restore did not say '%s ... made private': %s", want, r.out));
	if (p.pid > 0)
		kill(p.pid, SIGKILL);
	umount2(src, MNT_DETACH);
	end_prog(&p);
	return ok;
}

/* The second of a container's clones (@cryo[1], @root[1]) dumped and
 * restored as a clone again, @cryo[2] and @root[2]: its init is pid 1. */
static bool clone_of_a_clone(const struct prog *p, pid_t *cryo, pid_t *root)
{
	char img[PATH_MAX], pidfile[PATH_MAX], pid[16];
	struct cryo_run r;

	pathf(img, "%s/img2", p->dir);
	pathf(pidfile, "%s/clone2", p->dir);
	snprintf(pid, sizeof(pid), "%d", root[1]);
	run_cryo(&r, "dump", "-t", pid, "-D", img);
	if (r.status)
		return fail_why("dump of clone 1 (pid %d) failed: %s", root[1], r.out);
	root[1] = 0;
	if (cryo[1] > 0)
		waitpid(cryo[1], NULL, 0);
	cryo[1] = 0;
	cryo[2] = cryo_spawn(2, &(struct cryo_call){
		.args = CRYO_ARGS("restore", "--clone", "-D", img, "--pidfile", pidfile) });
	return (cryo[2] > 0 || fail_why("cannot start cryo restore --clone")) &&
	       read_pid_file(pidfile, &root[2]) && is_clone_of(root[2], 1);
}

/* A container (prog_mntns: pid 1 of its own pid namespace, with its own
 * mounts) restored as two clones at once: each root is the init of its
 * clone, with no init of cryo's above it (its parent is the cryo that
 * restored it), each with its mounts made again; one of them dumped again
 * and restored as a clone again, which passes its checks too. */
static bool clones_of_a_container(void)
{
	struct prog p;
	struct cryo_run r;
	char img[PATH_MAX], pid[16], pidfile[CLONES][PATH_MAX];
	pid_t cryo[CLONES] = { 0 }, root[CLONES] = { 0 };
	bool ok;

	if (!start_prog(&p, "prog_mntns", NULL, NULL))
		return false;
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
	ok = r.status == 0 || fail_why("dump -R failed: %s", r.out);
	for (int i = 0; ok && i < 2; i++) {
		pathf(pidfile[i], "%s/clone%d", p.dir, i);
		cryo[i] = cryo_spawn(2, &(struct cryo_call){
			.args = CRYO_ARGS("restore", "--clone", "-D", img, "--pidfile", pidfile[i]) });
		ok = cryo[i] > 0 || fail_why("cannot start cryo restore --clone");
	}
	for (int i = 0; ok && i < 2; i++)
		ok = read_pid_file(pidfile[i], &root[i]) && is_clone_of(root[i], 1) &&
		     (parent_of(root[i]) == cryo[i] ||
		      fail_why("clone %d: the root's parent is %d, not cryo (%d)", i,
			       parent_of(root[i]), cryo[i]));
	ok = ok && clone_of_a_clone(&p, cryo, root);
	ok = end_clones(cryo, root, CLONES, ok) && prog_passes(&p);
	end_prog(&p);
	return ok;
}

/* The inode of @pid's network namespace; 0 when it cannot be read. */
static ino_t netns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* The names of the veth a container holds: @inside in its network
 * namespace, its peer in ours named @inside-c0, the first name a clone
 * without --external would try: clones must leave it to the original. */
struct ct_veth {
	char inside[IFNAMSIZ], outside[IFNAMSIZ], named[IFNAMSIZ], free1[IFNAMSIZ];
	unsigned int outside_index;
};

static bool add_container_veth(struct ct_veth *v, pid_t pid)
{
	int id = getpid() % 100000;
	char cmd[256];

	snprintf(v->inside, sizeof(v->inside), "ct%d", id);
	snprintf(v->outside, sizeof(v->outside), "ct%d-c0", id);
	snprintf(v->named, sizeof(v->named), "ct%d-x", id);
	snprintf(v->free1, sizeof(v->free1), "ct%d-c1", id);
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s netns %d", v->outside,
		 v->inside, pid);
	if (system(cmd))
		return fail_why("'%s' failed", cmd);
	v->outside_index = if_nametoindex(v->outside);
	return v->outside_index || fail_why("%s is not there", v->outside);
}

/* A whole container (prog_container: user, pid, mount, network, UTS, IPC
 * and cgroup namespaces, a UDP service, a tmpfs file, a child, a thread)
 * with a veth whose peer is ours, restored as two clones while it runs:
 * one names its veth's end with --external, the other gets a free name,
 * not the original's end, which keeps its index. Each clone's init is
 * pid 1 of its own, in a network namespace of its own, and passes its
 * checks (its /proc, its file, its datagram); a clone that names the
 * original's end is refused and leaves nothing behind. One clone is
 * dumped and restored as a clone again. The original passes its checks. */
static bool clones_of_a_whole_container(void)
{
	struct prog p;
	struct cryo_run r;
	struct ct_veth v = { .outside_index = 0 };
	char img[PATH_MAX], pid[16], pidfile[CLONES][PATH_MAX];
	char ext[2][64];
	pid_t cryo[CLONES] = { 0 }, root[CLONES] = { 0 };
	bool ok;

	if (!start_prog(&p, "prog_container", NULL, NULL))
		return false;
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	ok = add_container_veth(&v, p.pid);
	snprintf(ext[0], sizeof(ext[0]), "veth[%s]:%s", v.inside, v.named);
	snprintf(ext[1], sizeof(ext[1]), "veth[%s]:%s", v.inside, v.outside);
	if (ok) {
		run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
		ok = r.status == 0 || fail_why("dump -R failed: %s", r.out);
	}
	/* The original's end named at restore: refused, nothing left. */
	if (ok) {
		pathf(pidfile[0], "%s/stolen", p.dir);
		run_cryo(&r, "restore", "--clone", "-D", img, "--pidfile", pidfile[0], "--external",
			 ext[1]);
		ok = (r.status != 0 && strstr(r.out, v.outside)) ||
		     fail_why("a clone took the original's %s: %s", v.outside, r.out);
		ok = ok && (access(pidfile[0], F_OK) || fail_why("the refused clone left a pid"));
	}
	for (int i = 0; ok && i < 2; i++) {
		pathf(pidfile[i], "%s/clone%d", p.dir, i);
		/* The first names its end; the second gets a free name (its
		 * list ends at the NULL). */
		cryo[i] = cryo_spawn(2, &(struct cryo_call){
			.args = CRYO_ARGS("restore", "--clone", "-D", img, "--pidfile", pidfile[i],
					  i ? NULL : "--external", ext[0]) });
		ok = (cryo[i] > 0 || fail_why("cannot start cryo restore --clone")) &&
		     read_pid_file(pidfile[i], &root[i]) && is_clone_of(root[i], 1) &&
		     (parent_of(root[i]) == cryo[i] ||
		      fail_why("clone %d: the root's parent is %d, not cryo (%d)", i,
			       parent_of(root[i]), cryo[i]));
	}
	ok = ok && ((netns_of(root[0]) && netns_of(root[0]) != netns_of(p.pid) &&
		     netns_of(root[1]) != netns_of(p.pid) &&
		     netns_of(root[1]) != netns_of(root[0])) ||
		    fail_why("the clones and the original share a network namespace"));
	ok = ok && ((if_nametoindex(v.named) && if_nametoindex(v.free1)) ||
		    fail_why("the clones' veth ends %s and %s are not both there", v.named,
			     v.free1));
	ok = ok && (if_nametoindex(v.outside) == v.outside_index ||
		    fail_why("the original's %s was index %u, now %u", v.outside, v.outside_index,
			     if_nametoindex(v.outside)));
	ok = ok && clone_of_a_clone(&p, cryo, root);
	ok = end_clones(cryo, root, CLONES, ok) && prog_passes(&p);
	end_prog(&p);
	return ok;
}

/* The only child of @pid, as cryo sees it; 0 when none (yet). */
static pid_t child_of(pid_t pid)
{
	char path[96], text[64] = "";

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	return read_text(path, text, sizeof(text)) ? (pid_t)atoi(text) : 0;
}

/* In a child of the test: pid 1 of a new pid namespace (level 1), whose
 * own child is pid 1 of another one below it (level 2), running @prog. */
static void __attribute__((noreturn)) two_deep(const char *prog, const char *dir)
{
	char pidfile[PATH_MAX], outfile[PATH_MAX];
	pid_t inner;

	pathf(pidfile, "%s/pid", dir);
	pathf(outfile, "%s/out", dir);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	inner = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (inner == 0) {
		execl(prog, prog, "--pidfile", pidfile, "--outfile", outfile, (char *)NULL);
		_exit(127);
	}
	/* It lives until the tree it holds is gone (dumped, killed). */
	while (inner > 0 && waitpid(inner, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* A pid namespace's init two levels below cryo's (prog_pidns_init under
 * another init): dumped by the pid cryo sees, restored as the init of a new
 * pid namespace below the restoring cryo's, where it passes its checks. */
static bool an_init_two_pid_namespaces_down(void)
{
	char dir[PATH_MAX], prog[PATH_MAX], img[PATH_MAX], pidfile[PATH_MAX], outfile[PATH_MAX];
	char pid[16], line[600] = "";
	pid_t outer, target = 0, restored = 0;
	long deadline = now_ms() + WAIT_MS;
	struct cryo_run r;
	bool ok = true;

	if (!make_temp_dir(dir))
		return false;
	pathf(prog, "%s/prog_pidns_init", bin_dir);
	pathf(img, "%s/img", dir);
	pathf(pidfile, "%s/restored", dir);
	pathf(outfile, "%s/out", dir);
	outer = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (outer == 0)
		two_deep(prog, dir);
	if (outer < 0)
		ok = fail_why("clone(CLONE_NEWPID): %s", strerror(errno));
	/* Ready once its pid file says 1 (as it knows itself). */
	for (bool ready = false; ok && !ready && now_ms() < deadline; sleep_ms(5)) {
		char path[PATH_MAX], text[16] = "";

		target = child_of(outer);
		pathf(path, "%s/pid", dir);
		ready = target && read_text(path, text, sizeof(text)) && atoi(text) == 1;
		if (!ready)
			target = 0;
	}
	ok = ok && (target > 0 || fail_why("prog_pidns_init did not start two levels down"));
	if (ok) {
		snprintf(pid, sizeof(pid), "%d", target);
		run_cryo(&r, "dump", "-t", pid, "-D", img);
		ok = r.status == 0 || fail_why("dump of pid %d failed: %s", target, r.out);
	}
	if (ok) {
		run_cryo(&r, "restore", "-d", "-D", img, "--pidfile", pidfile);
		ok = (r.status == 0 || fail_why("restore failed: %s", r.out)) &&
		     read_pid_file(pidfile, &restored) && is_clone_of(restored, 1);
	}
	if (ok) {
		kill(restored, SIGTERM);
		deadline = now_ms() + WAIT_MS;
		line[0] = '\0';
		while (!read_text(outfile, line, sizeof(line)) && now_ms() < deadline)
			sleep_ms(10);
		line[strcspn(line, "\n")] = '\0';
		ok = !strcmp(line, "PASS") || fail_why("the restored init says: %s", line);
	} else if (restored > 0) {
		kill(restored, SIGKILL);
	}
	kill_and_reap(outer);
	remove_temp_dir(dir);
	return ok;
}

/* `cryo restore --clone -d ... | cat`: once cryo has exited, nothing of
 * the clone (its init, the tree) holds cryo's stdout or stderr, so a
 * reader of the pipe sees EOF; the clone runs on. */
static bool detached_clone_leaves_the_pipe(void)
{
	struct prog p;
	struct cryo_run r;
	char img[PATH_MAX], pidfile[PATH_MAX], pid[16], out[4096];
	int pipefd[2] = { -1, -1 }, status;
	size_t used = 0;
	pid_t cryo = 0, root = 0;
	bool ok, eof = false;

	if (!start_prog(&p, "prog_counter", NULL, NULL))
		return false;
	pathf(img, "%s/img", p.dir);
	pathf(pidfile, "%s/clone", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
	ok = r.status == 0 || fail_why("dump -R failed: %s", r.out);
	ok = ok && (!pipe2(pipefd, O_CLOEXEC) || fail_why("pipe: %s", strerror(errno)));
	if (ok) {
		cryo = cryo_spawn(pipefd[1], &(struct cryo_call){
			.args = CRYO_ARGS("restore", "--clone", "-d", "-D", img, "--pidfile",
					  pidfile) });
		close(pipefd[1]);
		ok = (cryo > 0 && wait_child(cryo, WAIT_MS, &status)) ||
		     fail_why("cryo restore --clone -d did not exit");
		ok = ok && ((WIFEXITED(status) && !WEXITSTATUS(status)) ||
			    fail_why("cryo restore --clone -d failed (status %#x)", status));
		cryo = 0;
	}
	/* Bounded: a reader left waiting is the failure. */
	for (long deadline = now_ms() + WAIT_MS; ok && !eof && now_ms() < deadline;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		n = read(pipefd[0], out + used, sizeof(out) - 1 - used);
		eof = n <= 0;
		used += n > 0 ? (size_t)n : 0;
		if (used == sizeof(out) - 1)
			used = 0;
	}
	out[used] = '\0';
	ok = ok && (eof || fail_why("cryo exited but its stdout stays open (said: %.200s)", out));
	ok = ok && read_pid_file(pidfile, &root) && is_clone_of(root, p.pid) &&
	     (!kill(root, 0) || fail_why("the clone (pid %d) is gone", root));
	kill_and_reap(root);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	ok = ok && prog_passes(&p);
	end_prog(&p);
	return ok;
}

static bool chain_of(const char *name)
{
	struct prog p;
	struct cryo_run r;
	char img[PATH_MAX], pidfile[PATH_MAX], pid[16];
	pid_t saved, seen = 0;
	bool ok;

	if (!start_prog(&p, name, NULL, NULL))
		return false;
	saved = p.pid;
	snprintf(pid, sizeof(pid), "%d", p.pid);
	pathf(img, "%s/img0", p.dir);
	run_cryo(&r, "dump", "-t", pid, "-D", img);
	ok = r.status == 0 || fail_why("dump of the original failed: %s", r.out);
	if (ok)
		waitpid(p.pid, NULL, 0);
	for (int n = 1; ok && n <= 3; n++) {
		pathf(pidfile, "%s/clone%d", p.dir, n);
		run_cryo(&r, "restore", "--clone", "-d", "-D", img, "--pidfile", pidfile);
		ok = r.status == 0 || fail_why("restore --clone %d failed: %s", n, r.out);
		ok = ok && read_pid_file(pidfile, &seen) && is_clone_of(seen, saved);
		if (!ok || n == 3)
			break;
		snprintf(pid, sizeof(pid), "%d", seen);
		pathf(img, "%s/img%d", p.dir, n);
		run_cryo(&r, "dump", "-t", pid, "-D", img);
		ok = r.status == 0 || fail_why("dump of clone %d (pid %d) failed: %s", n, seen,
					       r.out);
		seen = 0;
	}
	if (ok) {
		char outfile[PATH_MAX], line[600] = "";
		long deadline = now_ms() + WAIT_MS;

		pathf(outfile, "%s/out", p.dir);
		kill(seen, SIGTERM);
		while (!read_text(outfile, line, sizeof(line)) && now_ms() < deadline)
			sleep_ms(10);
		line[strcspn(line, "\n")] = '\0';
		ok = !strcmp(line, "PASS") || fail_why("the third clone says: %s", line);
	} else if (seen > 0) {
		kill(seen, SIGKILL);
	}
	p.pid = 0;
	end_prog(&p);
	return ok;
}

static bool three_clones_beside_the_original(void)
{
	return three_clones_of("prog_tree");
}

static bool chain_of_clones(void)
{
	return chain_of("prog_counter");
}

/* prog_pty's ptys come back at their saved indices in each clone's own
 * devpts instance while the original holds those indices in the host's. */
static bool three_pty_clones_beside_the_original(void)
{
	return three_clones_of("prog_pty");
}

/* A clone whose ptys are in its own devpts instance is dumped and cloned
 * again, three times. */
static bool chain_of_pty_clones(void)
{
	return chain_of("prog_pty");
}

/* A tree in UTS and time namespaces of its own: each clone makes them
 * again, its names set and its clocks going on from where they were. */
static bool chain_of_uts_clones(void)
{
	return chain_of("prog_uts");
}

static bool chain_of_timens_clones(void)
{
	return chain_of("prog_timens");
}

/* The same, its time namespace its user namespace's: made inside it. */
static bool chain_of_timens_userns_clones(void)
{
	return chain_of("prog_timens_userns");
}

int main(int argc, char **argv)
{
#define TEST(fn) { #fn, fn }
	static const struct {
		const char *name;
		bool (*fn)(void);
	} tests[] = {
		TEST(three_clones_beside_the_original),
		TEST(chain_of_clones),
		TEST(three_pty_clones_beside_the_original),
		TEST(chain_of_pty_clones),
		TEST(chain_of_uts_clones),
		TEST(chain_of_timens_clones),
		TEST(chain_of_timens_userns_clones),
		TEST(clones_of_a_container),
		TEST(clones_of_a_whole_container),
		TEST(an_init_two_pid_namespaces_down),
		TEST(external_mount_named_at_restore),
		TEST(namespace_file_mount_of_the_caller_is_inherited),
		TEST(detached_clone_leaves_the_pipe),
		TEST(slave_of_a_callers_peer_group),
		TEST(slave_of_a_gone_group_is_made_private_and_said),
	};
#undef TEST
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		bool selected = argc < 2;

		for (int a = 1; a < argc; a++)
			selected |= !strcmp(argv[a], tests[i].name);
		if (!selected)
			continue;
		why[0] = '\0';
		if (tests[i].fn()) {
			printf("PASS %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", tests[i].name, why);
			failed++;
		}
		end_all_children();
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
