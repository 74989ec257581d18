/* The cgroup v2 freezer at dump: a tree in a cgroup of its own is frozen
 * through it (the log says so), the cgroup is left as its owner had it
 * (thawed, or frozen), the tree runs on unharmed after --leave-running and
 * comes back whole from the images. A cgroup shared with a process outside
 * the tree is never frozen: ptrace alone does the work. criu's
 * --freeze-cgroup: a cgroup named that holds a process outside the tree
 * is refused; a v1 freezer is frozen through the tree's own v2 cgroup, and
 * refused without one. Each test makes its own cgroups below the
 * hierarchies' mounts and removes them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

struct cgroup {
	char path[PATH_MAX];
};

/* The mount point of cgroup v2, or (@v1) of the v1 freezer hierarchy,
 * from mountinfo. */
static bool find_hierarchy(bool v1, char *mnt)
{
	char line[4096], point[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, v1 ? " - cgroup " : " - cgroup2 ");

		if (sep && (!v1 || strstr(sep, "freezer")) &&
		    sscanf(line, "%*d %*d %*s %*s %4095s", point) == 1) {
			pathf(mnt, "%s", point);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found ? true : fail_why("no %s hierarchy is mounted on this machine",
				       v1 ? "cgroup v1 freezer" : "cgroup v2");
}

/* A new cgroup of cgroup v2, or (@v1) of the v1 freezer hierarchy. */
static bool cgroup_make_in(struct cgroup *cg, bool v1)
{
	static int made;
	char mnt[PATH_MAX];

	if (!find_hierarchy(v1, mnt))
		return false;
	pathf(cg->path, "%s/cryo-test-%d-%d", mnt, getpid(), made++);
	if (mkdir(cg->path, 0755))
		return fail_why("mkdir %s: %s", cg->path, strerror(errno));
	return true;
}

static bool cgroup_make(struct cgroup *cg)
{
	return cgroup_make_in(cg, false);
}

static bool cgroup_write(const struct cgroup *cg, const char *file, const char *text)
{
	char path[PATH_MAX];
	int fd;
	bool ok;

	pathf(path, "%s/%s", cg->path, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (!ok)
		fail_why("cannot write '%s' to %s: %s", text, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The value of "@key N" in the cgroup's cgroup.events; -1 if absent. */
static int cgroup_event(const struct cgroup *cg, const char *key)
{
	char path[PATH_MAX], text[1024];
	const char *at;

	pathf(path, "%s/cgroup.events", cg->path);
	if (!read_text(path, text, sizeof(text)))
		return -1;
	for (at = text; at; at = strchr(at, '\n'), at = at ? at + 1 : NULL)
		if (!strncmp(at, key, strlen(key)) && at[strlen(key)] == ' ')
			return atoi(at + strlen(key) + 1);
	return -1;
}

static bool cgroup_frozen_is(const struct cgroup *cg, int want)
{
	long deadline = now_ms() + 2000;
	int seen;

	while ((seen = cgroup_event(cg, "frozen")) != want && now_ms() < deadline)
		sleep_ms(2);
	return seen == want ? true :
	       fail_why("cgroup %s: frozen is %d, expected %d", cg->path, seen, want);
}

/* Removes the cgroup once it is empty (its processes are ended first). */
static void cgroup_remove(struct cgroup *cg)
{
	long deadline = now_ms() + 5000;

	if (!cg->path[0])
		return;
	cgroup_write(cg, "cgroup.freeze", "0");
	while (rmdir(cg->path) && errno == EBUSY && now_ms() < deadline)
		sleep_ms(5);
	cg->path[0] = '\0';
}

/* Runs in the program's child before exec: it moves into the cgroup. */
static void enter_cgroup(void *arg)
{
	const struct cgroup *cg = arg;
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(126);
	close(fd);
}

/* Runs in the program's child: it moves into the cgroup and holds an fd
 * that cryo refuses to dump. */
/* How cryo refuses the socket below: a packet socket with a TX ring whose
 * every frame was written and none waits to be sent. */
#define PACKET_REFUSED "TX ring gone round with every frame sent"

static void enter_cgroup_with_a_packet_socket(void *arg)
{
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 1,
				   .tp_frame_size = 2048, .tp_frame_nr = 2 };
	struct tpacket_hdr *mem;
	int fd;

	enter_cgroup(arg);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)))
		_exit(125);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		_exit(125);
	mem->tp_len = ((struct tpacket_hdr *)((char *)mem + 2048))->tp_len = 60;
	munmap(mem, 4096);
}

static bool log_has(const char *img, const char *what)
{
	char path[PATH_MAX], *text = malloc(1 << 20);
	bool found;

	pathf(path, "%s/dump.log", img);
	found = text && read_text(path, text, 1 << 20) && strstr(text, what);
	free(text);
	return found;
}

static bool log_says(const char *img, const char *what)
{
	char path[PATH_MAX];

	pathf(path, "%s/dump.log", img);
	return log_has(img, what) ? true : fail_why("%s does not say '%s'", path, what);
}

static bool dump_leaving_it_running(struct prog *p, const char *img)
{
	char pid[16];
	struct cryo_run r;

	snprintf(pid, sizeof(pid), "%d", p->pid);
	prog_cryo(&r, p, "dump", "-t", pid, "-D", img, "-R", "-v4", "-o", "dump.log");
	return r.status == 0 ? true : fail_why("the dump failed (%d): %s", r.status, r.out);
}

/* The tree left running judges itself (prog_tree waits for SIGTERM without
 * ticking, so prog_unharmed's liveness check does not apply); then it is
 * restored from @img and judges itself again. */
static bool passes_then_restored_passes(struct prog *p, const char *img)
{
	pid_t pid = p->pid;
	struct cryo_run r;

	if (!prog_passes(p))
		return fail_why("left running: %s", why);
	end_all_children();
	prog_cryo(&r, p, "restore", "-D", img, "-d");
	if (r.status)
		return fail_why("the restore failed (%d): %s", r.status, r.out);
	p->pid = pid;
	return prog_passes(p);
}

TEST(a_tree_in_a_cgroup_of_its_own_is_frozen_through_it)
{
	struct cgroup cg = { "" };
	struct prog p = { 0 };
	char img[PATH_MAX], froze[PATH_MAX + 32];

	CHECK_GOTO(cgroup_make(&cg), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_tree", enter_cgroup, &cg), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(dump_leaving_it_running(&p, img), out, "%s", why);
	snprintf(froze, sizeof(froze), "froze cgroup %s", cg.path);
	CHECK_GOTO(log_says(img, froze), out, "%s", why);
	CHECK_GOTO(cgroup_frozen_is(&cg, 0), out, "after the dump: %s", why);
	CHECK_GOTO(passes_then_restored_passes(&p, img), out, "%s", why);
out:
	end_prog(&p);
	cgroup_remove(&cg);
}

TEST(a_cgroup_its_owner_froze_stays_frozen_after_the_dump)
{
	struct cgroup cg = { "" };
	struct prog p = { 0 };
	char img[PATH_MAX];

	CHECK_GOTO(cgroup_make(&cg), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_tree", enter_cgroup, &cg), out, "%s", why);
	CHECK_GOTO(cgroup_write(&cg, "cgroup.freeze", "1") && cgroup_frozen_is(&cg, 1), out, "%s",
		   why);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(dump_leaving_it_running(&p, img), out, "%s", why);
	CHECK_GOTO(log_says(img, "(it was frozen already)"), out, "%s", why);
	CHECK_GOTO(cgroup_frozen_is(&cg, 1), out, "after the dump: %s", why);
	CHECK_GOTO(cgroup_write(&cg, "cgroup.freeze", "0") && cgroup_frozen_is(&cg, 0), out, "%s",
		   why);
	CHECK_GOTO(passes_then_restored_passes(&p, img), out, "%s", why);
out:
	end_prog(&p);
	cgroup_remove(&cg);
}

/* A stranger in the cgroup must not be frozen: ptrace alone is used. */
TEST(a_cgroup_shared_with_a_stranger_is_not_frozen)
{
	struct cgroup cg = { "" };
	struct prog p = { 0 }, stranger = { 0 };
	char img[PATH_MAX];

	CHECK_GOTO(cgroup_make(&cg), out, "%s", why);
	CHECK_GOTO(start_prog(&stranger, "prog_counter", enter_cgroup, &cg), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_tree", enter_cgroup, &cg), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(dump_leaving_it_running(&p, img), out, "%s", why);
	CHECK_GOTO(log_says(img, "which is not in the tree: freezing with ptrace alone"), out,
		   "%s", why);
	CHECK_GOTO(cgroup_frozen_is(&cg, 0), out, "%s", why);
	CHECK_GOTO(prog_unharmed(&stranger) && prog_passes(&stranger), out, "the stranger: %s",
		   why);
	CHECK_GOTO(passes_then_restored_passes(&p, img), out, "%s", why);
out:
	end_prog(&stranger);
	end_prog(&p);
	cgroup_remove(&cg);
}

/* A dump refused (an fd cryo cannot save) leaves the cgroup as its owner
 * had it, thawed or frozen, and the program unharmed. */
TEST(a_refused_dump_leaves_the_cgroup_as_it_was)
{
	struct cgroup cg = { "" };
	struct prog p = { 0 };
	char img[PATH_MAX], pid[16];
	struct cryo_run r;

	CHECK_GOTO(cgroup_make(&cg), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_counter", enter_cgroup_with_a_packet_socket, &cg), out,
		   "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-v4", "-o", "dump.log");
	CHECK_GOTO(refused(&r, PACKET_REFUSED, NULL), out, "%s", why);
	CHECK_GOTO(log_says(img, "froze cgroup"), out, "%s", why);
	CHECK_GOTO(cgroup_frozen_is(&cg, 0), out, "after a refused dump: %s", why);
	CHECK_GOTO(prog_unharmed(&p), out, "%s", why);
	CHECK_GOTO(cgroup_write(&cg, "cgroup.freeze", "1") && cgroup_frozen_is(&cg, 1), out, "%s",
		   why);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-v4", "-o", "dump.log");
	CHECK_GOTO(refused(&r, PACKET_REFUSED, NULL), out, "%s", why);
	CHECK_GOTO(cgroup_frozen_is(&cg, 1), out, "after a refused dump of a frozen cgroup: %s",
		   why);
	CHECK_GOTO(cgroup_write(&cg, "cgroup.freeze", "0") && cgroup_frozen_is(&cg, 0), out, "%s",
		   why);
	CHECK_GOTO(prog_unharmed(&p) && prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	cgroup_remove(&cg);
}

/* Whether the cgroup is frozen (@want 1) or thawed (0): cgroup.events of
 * a v2 cgroup, freezer.state of a v1 freezer (@v1), within 2 s. */
static bool frozen_is(const struct cgroup *cg, bool v1, int want)
{
	char path[PATH_MAX], state[64] = "";
	long deadline = now_ms() + 2000;

	if (!v1)
		return cgroup_frozen_is(cg, want);
	pathf(path, "%s/freezer.state", cg->path);
	while (read_text(path, state, sizeof(state)) &&
	       strcmp(state, want ? "FROZEN\n" : "THAWED\n") && now_ms() < deadline)
		sleep_ms(2);
	return !strcmp(state, want ? "FROZEN\n" : "THAWED\n") ? true :
	       fail_why("%s is %s", path, state);
}

/* The kernel never thaws a cgroup for a dumper that died: cryo's guard
 * does. cryo is killed while the tree is frozen (held there by a test
 * switch) in its own v2 cgroup, or in a v1 freezer named (@v1); the tree
 * must be thawed and whole. */
static void killed_while_frozen(bool v1)
{
	struct cgroup cg = { "" };
	struct prog p = { 0 };
	char img[PATH_MAX], pid[16], log[PATH_MAX];
	long deadline;
	pid_t dumper;
	int out_fd;

	CHECK_GOTO(cgroup_make_in(&cg, v1), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_tree", enter_cgroup, &cg), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	pathf(log, "%s/cryo.out", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	out_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK_GOTO(out_fd >= 0, out, "cannot open %s", log);
	dumper = cryo_spawn(out_fd, &(struct cryo_call){
		.args = v1 ? CRYO_ARGS("dump", "-t", pid, "-D", img, "-v4", "-o", "dump.log",
				       "--freeze-cgroup", cg.path) :
			     CRYO_ARGS("dump", "-t", pid, "-D", img, "-v4", "-o", "dump.log"),
		.program = p.program,
		.env = CRYO_ARGS("CRYO_TEST_PAUSE_FROZEN=1"),
	});
	close(out_fd);
	CHECK_GOTO(dumper > 0, out, "cannot start cryo");
	deadline = now_ms() + WAIT_MS;
	while (!log_has(img, "pausing while frozen") && now_ms() < deadline)
		sleep_ms(5);
	CHECK_GOTO(log_says(img, "pausing while frozen"), out, "%s", why);
	CHECK_GOTO(frozen_is(&cg, v1, 1), out, "while cryo pauses: %s", why);
	kill_and_reap(dumper);
	CHECK_GOTO(frozen_is(&cg, v1, 0), out, "after cryo was killed: %s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	cgroup_remove(&cg);
}

TEST(a_dumper_killed_while_frozen_leaves_the_tree_thawed)
{
	killed_while_frozen(false);
}

TEST(a_dumper_killed_while_a_v1_freezer_is_frozen_leaves_it_thawed)
{
	killed_while_frozen(true);
}

/* --freeze-cgroup: criu dumps a freezer cgroup whole, so a process of it
 * outside the tree fails the dump, named; both run on and the cgroup is
 * thawed. Without the stranger the dump freezes through the cgroup named. */
TEST(freeze_cgroup_refuses_a_process_of_the_cgroup_outside_the_tree)
{
	struct cgroup cg = { "" };
	struct prog p = { 0 }, stranger = { 0 };
	char img[PATH_MAX], pid[16], froze[PATH_MAX + 32];
	struct cryo_run r;

	CHECK_GOTO(cgroup_make(&cg), out, "%s", why);
	CHECK_GOTO(start_prog(&stranger, "prog_counter", enter_cgroup, &cg), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_tree", enter_cgroup, &cg), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "--freeze-cgroup", cg.path);
	CHECK_GOTO(refused(&r, "--freeze-cgroup", "which is not in the tree", NULL), out, "%s",
		   why);
	CHECK_GOTO(names_pid(r.out, stranger.pid), out, "the stranger is not named: %s", r.out);
	CHECK_GOTO(cgroup_frozen_is(&cg, 0), out, "after the refusal: %s", why);
	CHECK_GOTO(prog_unharmed(&stranger) && prog_passes(&stranger), out, "the stranger: %s",
		   why);
	/* Only it: end_prog() ends every child of the runner. */
	kill_and_reap(stranger.pid);
	stranger.pid = 0;
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-R", "-v4", "-o", "dump.log",
		  "--freeze-cgroup", cg.path);
	CHECK_GOTO(r.status == 0, out, "the dump failed (%d): %s", r.status, r.out);
	snprintf(froze, sizeof(froze), "froze cgroup %s", cg.path);
	CHECK_GOTO(log_says(img, froze), out, "%s", why);
	CHECK_GOTO(passes_then_restored_passes(&p, img), out, "%s", why);
out:
	end_prog(&stranger);
	end_prog(&p);
	cgroup_remove(&cg);
}

struct two_cgroups {
	const struct cgroup *v1, *v2;	/* v2 NULL: the runner's */
};

static void enter_two_cgroups(void *arg)
{
	const struct two_cgroups *two = arg;

	enter_cgroup((void *)two->v1);
	if (two->v2)
		enter_cgroup((void *)two->v2);
}

/* A v1 freezer named (runc's on this hybrid layout): the tree's own cgroup
 * v2 is frozen in its place; without one (a v2 cgroup shared with cryo)
 * the v1 freezer itself, its threads seized while frozen, then thawed. */
TEST(freeze_cgroup_v1_is_frozen_itself_or_through_the_trees_own_v2_cgroup)
{
	struct cgroup v1 = { "" }, v2 = { "" };
	struct two_cgroups shared = { &v1, NULL }, own = { &v1, &v2 };
	struct prog p = { 0 }, q = { 0 };
	char img[PATH_MAX], pid[16], froze[PATH_MAX + 32];
	struct cryo_run r;

	CHECK_GOTO(cgroup_make_in(&v1, true) && cgroup_make(&v2), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_tree", enter_two_cgroups, &shared), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-R", "-v4", "-o", "dump.log",
		  "--freeze-cgroup", v1.path);
	CHECK_GOTO(r.status == 0, out, "the dump through the v1 freezer failed (%d): %s", r.status,
		   r.out);
	snprintf(froze, sizeof(froze), "froze cgroup %s", v1.path);
	CHECK_GOTO(log_says(img, froze) && log_says(img, "seized the threads of v1 cgroup"), out,
		   "%s", why);
	CHECK_GOTO(frozen_is(&v1, true, 0), out, "after the dump: %s", why);
	CHECK_GOTO(passes_then_restored_passes(&p, img), out, "%s", why);
	end_prog(&p);

	CHECK_GOTO(start_prog(&q, "prog_counter", enter_two_cgroups, &own), out, "%s", why);
	pathf(img, "%s/img", q.dir);
	snprintf(pid, sizeof(pid), "%d", q.pid);
	prog_cryo(&r, &q, "dump", "-t", pid, "-D", img, "-R", "-v4", "-o", "dump.log",
		  "--freeze-cgroup", v1.path);
	CHECK_GOTO(r.status == 0, out, "the dump failed (%d): %s", r.status, r.out);
	snprintf(froze, sizeof(froze), "froze cgroup %s", v2.path);
	CHECK_GOTO(log_says(img, froze), out, "%s", why);
	CHECK_GOTO(prog_unharmed(&q) && prog_passes(&q), out, "%s", why);
out:
	end_prog(&p);
	end_prog(&q);
	cgroup_remove(&v2);
	cgroup_remove(&v1);
}
