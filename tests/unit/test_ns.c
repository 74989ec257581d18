/* Unit tests of src/ns: the namespace ids of a task, the dump's refusal of
 * a process in another namespace (by name, for its own namespaces and for
 * its children's), clone3 with CLONE_NEWPID and a set_tid array of two
 * levels (a real child in a new pid namespace with the pids chosen inside
 * and out), a thread's own namespace, entering a task's namespace and
 * coming back, the ids in pstree.img, and a group and session outside the
 * dump's pid namespace (0) for the root's only. Needs root. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/textfile.h"
#include "harness.h"
#include "kabi/probe.h"
#include "ns/enter.h"
#include "ns/ns.h"
#include "test_images_util.h"
#include "tree/tree.h"

TEST(ns_ids_of_this_process_are_cryos_own)
{
	struct ns_ids self, by_pid;

	CHECK(!ns_ids_read(0, &self) && !ns_ids_read(getpid(), &by_pid), "read");
	for (int k = 0; k < NS_NR_KINDS; k++)
		CHECK(self.ino[k] && self.ino[k] == by_pid.ino[k], "%s: %llu and %llu",
		      ns_kind_name(k), (unsigned long long)self.ino[k],
		      (unsigned long long)by_pid.ino[k]);
	CHECK(!ns_check_dumpable(getpid(), 0, &by_pid, &self), "refused");
	CHECK(ns_ids_read(-5, &by_pid) == -ENOENT, "pid -5");
}

/* ns_check_dumpable() of @pid against this process; its message in @said. */
static int check_dumpable(pid_t pid, char *said, size_t size)
{
	struct ns_ids self, ids;
	int ret = ns_ids_read(0, &self);

	if (!ret)
		ret = ns_ids_read(pid, &ids);
	if (ret)
		return ret;
	said[0] = '\0';
	log_capture_errors(said, size);
	ret = ns_check_dumpable(pid, 0, &ids, &self);
	log_capture_errors(NULL, 0);
	return ret;
}

/* Two free pids as seen from here, for the init of a new pid namespace
 * and for its child. */
static int pick_two_pids(pid_t pids[2])
{
	int ret = pick_free_pid(0, &pids[0]);

	for (unsigned int attempt = 1; !ret && attempt < 100; attempt++) {
		ret = pick_free_pid(attempt, &pids[1]);
		if (!ret && pids[1] != pids[0])
			return 0;
	}
	return ret ? ret : -EAGAIN;
}

#define INNER_PID 42

/* The init of the new namespace: makes its child with pid INNER_PID inside
 * and @outer outside, and exits with the child's status (or 10 + why). */
static void __attribute__((noreturn)) ns_init(pid_t outer, int release_fd)
{
	pid_t set_tid[2] = { INNER_PID, outer };
	struct ns_clone_args args = { 0, SIGCHLD, set_tid, 2 };
	int status;
	pid_t child;
	char byte;

	if (getpid() != 1)
		_exit(11);
	child = ns_clone(&args);
	if (child == 0) {
		/* Waits until the test has looked at it from outside. */
		if (read(release_fd, &byte, 1) < 0)
			_exit(12);
		_exit(getpid() == INNER_PID && getppid() == 1 ? 0 : 13);
	}
	if (child != INNER_PID)
		_exit(child == -EEXIST ? 14 : 15);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		_exit(16);
	_exit(WEXITSTATUS(status));
}

/* "NSpid:" of /proc/@pid/status: the pid at each level, outermost first. */
static bool nspid_is(pid_t pid, pid_t outer, pid_t inner)
{
	_cleanup_free_ char *status = NULL;
	char path[64], want[64];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	snprintf(want, sizeof(want), "\nNSpid:\t%d\t%d\n", outer, inner);
	return !read_text_file(path, &status) && strstr(status, want);
}

/* Whether @text says "pid @pid:". */
static bool names_pid_in(const char *text, pid_t pid)
{
	char key[32];

	snprintf(key, sizeof(key), "pid %d:", pid);
	return strstr(text, key) != NULL;
}

TEST(ns_clone_makes_a_child_in_a_new_pid_namespace_with_chosen_pids)
{
	int release[2] = { -1, -1 }, status = -1;
	char said[512];
	pid_t pids[2], init = -1;
	struct ns_clone_args args = { CLONE_NEWPID, SIGCHLD, NULL, 2 };
	pid_t set_tid[2];

	CHECK(!pick_two_pids(pids), "no free pids");
	CHECK(!pipe2(release, O_CLOEXEC), "pipe");
	set_tid[0] = 1;
	set_tid[1] = pids[0];
	args.set_tid = set_tid;
	init = ns_clone(&args);
	if (init == 0) {
		close(release[1]);
		ns_init(pids[1], release[0]);
	}
	close(release[0]);
	CHECK_GOTO(init == pids[0], out, "clone3 gave %d, wanted %d", init, pids[0]);
	/* Both are seen from outside with the pids chosen at each level. */
	for (int i = 0; i < 200 && !nspid_is(pids[1], pids[1], INNER_PID); i++)
		usleep(10000);
	CHECK_GOTO(nspid_is(pids[0], pids[0], 1), out, "the init is not %d outside, 1 inside",
		   pids[0]);
	CHECK_GOTO(nspid_is(pids[1], pids[1], INNER_PID), out, "its child is not %d outside, %d "
		   "inside", pids[1], INNER_PID);
	/* A dump would refuse them, naming the process and the namespace. */
	CHECK_GOTO(check_dumpable(pids[1], said, sizeof(said)) == -EOPNOTSUPP, out, "accepted");
	CHECK_GOTO(strstr(said, "in its own pid namespace (pid:[") &&
		   strstr(said, "]): PID namespaces are not supported yet"), out, "said: %s", said);
	CHECK_GOTO(names_pid_in(said, pids[1]), out, "said: %s", said);
	close(release[1]);
	release[1] = -1;
	CHECK_GOTO(waitpid(init, &status, 0) == init, out, "wait");
	init = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the namespace's init said %#x",
	      status);
out:
	if (release[1] >= 0)
		close(release[1]);
	if (init > 0) {
		kill(init, SIGKILL);
		waitpid(init, NULL, 0);
	}
}

/* A child that calls unshare(CLONE_NEWPID) and, with @fork_init, forks
 * the first process of that namespace; ready once it has. */
static pid_t start_unsharer(bool fork_init)
{
	int ready[2];
	char byte;
	pid_t pid;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		int alive[2];
		pid_t init;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (pipe(alive) || unshare(CLONE_NEWPID))
			_exit(1);
		init = fork_init ? fork() : 1;
		if (init < 0)
			_exit(1);
		if (init == 0) {
			/* The namespace's init lives as long as the write end its
			 * parent holds: a parent-death signal set after the fork
			 * could come too late, and an init left in pause() would
			 * hold the test's output open forever. */
			char none;

			close(alive[1]);
			if (read(alive[0], &none, 1) < 0)
				_exit(1);
			_exit(0);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &byte, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

/* After unshare(CLONE_NEWPID) a process stays in its pid namespace but its
 * next children would not: a dump refuses it, saying so, whether that
 * namespace has its init yet or not. */
TEST(dump_refuses_a_process_whose_children_go_to_another_pid_namespace)
{
	pid_t unborn = start_unsharer(false), born = start_unsharer(true);
	char said[512], said_born[512];
	int unborn_ret = -1, born_ret = -1;

	if (unborn > 0)
		unborn_ret = check_dumpable(unborn, said, sizeof(said));
	if (born > 0)
		born_ret = check_dumpable(born, said_born, sizeof(said_born));
	for (int i = 0; i < 2; i++) {
		pid_t pid = i ? born : unborn;

		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	CHECK(unborn > 0 && born > 0, "the children did not unshare");
	CHECK(unborn_ret == -EOPNOTSUPP && names_pid_in(said, unborn) &&
	      strstr(said, "makes its children in its own pid namespace, which has no process "
		     "yet (after unshare(CLONE_NEWPID))"), "%d, said: %s", unborn_ret, said);
	CHECK(born_ret == -EOPNOTSUPP && names_pid_in(said_born, born) &&
	      strstr(said_born, "makes its children in its own pid namespace "
		     "(pid_for_children:[") && strstr(said_born, "after unshare(CLONE_NEWPID)"),
	      "%d, said: %s", born_ret, said_born);
}

TEST(ns_clone_refuses_what_it_cannot_make)
{
	pid_t self = getpid(), many[NS_PID_LEVELS_MAX + 1] = { 0 };
	struct ns_clone_args vm = { CLONE_VM, SIGCHLD, NULL, 0 };
	struct ns_clone_args too_deep = { 0, SIGCHLD, many, NS_PID_LEVELS_MAX + 1 };
	struct ns_clone_args taken = { 0, SIGCHLD, &self, 1 };
	pid_t ret;

	CHECK(ns_clone(&vm) == -EINVAL, "CLONE_VM accepted");
	CHECK(ns_clone(&too_deep) == -EINVAL, "33 levels accepted");
	ret = ns_clone(&taken);
	if (ret == 0)
		_exit(0);
	CHECK(ret == -EEXIST, "a pid in use gave %d", ret);
}

/* ---- pstree.img ---------------------------------------------------------- */

/* Groups and sessions { root's, child's } of write_pstree_ids(). */
struct groups {
	pid_t pgid[2], sid[2];
};

static int write_pstree_ids(const char *tmp, const struct ns_ids ids[2], const struct groups *g)
{
	pid_t threads[2][1] = { { 100 }, { 101 } };
	struct tree_task tasks[2] = {
		{ .pid = 100, .ppid = 1, .pgid = g->pgid[0], .sid = g->sid[0], .state = TREE_ALIVE,
		  .exit_signal = SIGCHLD, .parent = -1, .threads = threads[0], .nr_threads = 1 },
		{ .pid = 101, .ppid = 100, .pgid = g->pgid[1], .sid = g->sid[1],
		  .state = TREE_ALIVE, .exit_signal = SIGCHLD, .parent = 0,
		  .threads = threads[1], .nr_threads = 1 },
	};
	struct tree tree = { .tasks = tasks, .nr = 2 };
	struct image_dir *dir;
	int ret = image_dir_create(tmp, &dir);

	if (ret)
		return ret;
	if (ids) {
		tasks[0].ns = ids[0];
		tasks[1].ns = ids[1];
	}
	ret = tree_write(&tree, dir);
	image_dir_close(dir);
	return ret;
}

static int write_pstree(const char *tmp, const struct ns_ids ids[2])
{
	static const struct groups own = { { 100, 100 }, { 100, 100 } };

	return write_pstree_ids(tmp, ids, &own);
}

/* tree_load() of @tmp; its error in @said. */
static int load_pstree_as(const char *tmp, bool shell_job, struct tree *tree, char *said,
			  size_t size)
{
	struct image_dir *dir;
	int ret = image_dir_open(tmp, &dir);

	if (ret)
		return ret;
	said[0] = '\0';
	log_capture_errors(said, size);
	ret = tree_load(dir, 100, shell_job, tree);
	log_capture_errors(NULL, 0);
	image_dir_close(dir);
	return ret;
}

static int load_pstree(const char *tmp, struct tree *tree, char *said, size_t size)
{
	return load_pstree_as(tmp, false, tree, said, size);
}

/* A clone's root in the caller's group and session (-j) reads 0 for both
 * in its pid namespace: kept as 0, for the root's only. */
TEST(pstree_takes_a_group_and_session_outside_for_the_roots_only)
{
	static const struct groups callers = { { 0, 0 }, { 0, 0 } },
				   childs_only = { { 100, 100 }, { 100, 0 } },
				   group_without_session = { { 0, 0 }, { 5, 5 } };
	_cleanup_tree_ char *a = make_temp_dir(), *b = make_temp_dir(), *c = make_temp_dir();
	struct tree tree;
	char said[512];
	int ret;

	CHECK(a && b && c, "scratch directories");
	CHECK(!write_pstree_ids(a, NULL, &callers), "write");
	CHECK(!load_pstree_as(a, true, &tree, said, sizeof(said)), "refused with -j: %s", said);
	CHECK(tree_in_callers_group(&tree, &tree.tasks[1], true), "the child left the caller's "
	      "group");
	tree_free(&tree);
	CHECK(load_pstree_as(a, false, &tree, said, sizeof(said)) < 0, "loaded without -j");
	CHECK(strstr(said, "-j/--shell-job"), "said: %s", said);

	CHECK(!write_pstree_ids(b, NULL, &childs_only), "write");
	CHECK(load_pstree_as(b, true, &tree, said, sizeof(said)) == -EBADMSG,
	      "a child's session outside loaded while the root's is inside");
	CHECK(!write_pstree_ids(c, NULL, &group_without_session), "write");
	ret = load_pstree_as(c, true, &tree, said, sizeof(said));
	CHECK(ret == -EBADMSG, "a group outside in a session inside gave %d: %s", ret, said);
	CHECK(strstr(said, "outside the dump's pid namespace"), "said: %s", said);
}

TEST(pstree_keeps_namespace_ids_and_refuses_mixed_ones)
{
	_cleanup_tree_ char *same = make_temp_dir(), *mixed = make_temp_dir(),
			    *none = make_temp_dir();
	struct ns_ids ids[2];
	struct tree tree;
	char said[512];

	CHECK(same && mixed && none, "scratch directories");
	CHECK(!ns_ids_read(0, &ids[0]), "read");
	ids[1] = ids[0];
	CHECK(!write_pstree(same, ids), "write");
	CHECK(!load_pstree(same, &tree, said, sizeof(said)), "refused: %s", said);
	CHECK(!memcmp(&tree.tasks[1].ns, &ids[0], sizeof(ids[0])), "ids changed");
	tree_free(&tree);

	ids[1].ino[NS_NET]++;
	CHECK(!write_pstree(mixed, ids), "write");
	CHECK(load_pstree(mixed, &tree, said, sizeof(said)) == -EBADMSG, "mixed ids accepted");
	CHECK(strstr(said, "pid 101: its net namespace (net:[") &&
	      strstr(said, "is not the root's"), "said: %s", said);

	/* An image from before namespace ids loads, with none. */
	CHECK(!write_pstree(none, NULL), "write");
	CHECK(!load_pstree(none, &tree, said, sizeof(said)), "refused: %s", said);
	for (int k = 0; k < NS_NR_KINDS; k++)
		CHECK(!tree.tasks[0].ns.ino[k], "%s: %llu", ns_kind_name(k),
		      (unsigned long long)tree.tasks[0].ns.ino[k]);
	tree_free(&tree);
}

/* ---- threads --------------------------------------------------------------- */

struct unsharing_thread {
	int ready[2], release[2];
	pid_t tid;
};

/* Gives itself a UTS namespace of its own and waits to be released. */
static void *unshare_uts(void *arg)
{
	struct unsharing_thread *u = arg;
	char byte;

	u->tid = gettid();
	if (unshare(CLONE_NEWUTS))
		u->tid = -1;
	if (write(u->ready[1], "r", 1) != 1 || read(u->release[0], &byte, 1) < 0)
		return NULL;
	return NULL;
}

/* A thread's own namespace does not show in its process's links: the
 * dump looks at every thread and names the one that differs. */
TEST(dump_refuses_a_thread_in_its_own_uts_namespace)
{
	struct unsharing_thread u = { .ready = { -1, -1 }, .release = { -1, -1 } };
	pid_t threads[2] = { getpid(), 0 };
	struct tree_task task = { .pid = getpid(), .state = TREE_ALIVE, .parent = -1,
				  .threads = threads, .nr_threads = 2 };
	struct tree tree = { .tasks = &task, .nr = 1 };
	char said[512], want[64], byte;
	pthread_t thread;
	int ret;

	CHECK(!pipe(u.ready) && !pipe(u.release), "pipes");
	CHECK(!pthread_create(&thread, NULL, unshare_uts, &u), "thread");
	if (read(u.ready[0], &byte, 1) != 1)
		u.tid = -1;
	threads[1] = u.tid;
	said[0] = '\0';
	log_capture_errors(said, sizeof(said));
	ret = u.tid > 0 ? tree_read_namespaces(&tree) : -1;
	log_capture_errors(NULL, 0);
	close(u.release[1]);
	pthread_join(thread, NULL);
	close(u.ready[0]);
	close(u.ready[1]);
	close(u.release[0]);
	CHECK(u.tid > 0, "the thread could not unshare");
	snprintf(want, sizeof(want), "pid %d thread %d: in its own uts namespace (uts:[", getpid(),
		 u.tid);
	CHECK(ret == -EOPNOTSUPP && strstr(said, want), "%d, said: %s", ret, said);
}

/* ---- entering a task's namespace ------------------------------------------- */

static uint64_t thread_net_ns(void)
{
	struct stat st;

	return stat("/proc/thread-self/ns/net", &st) ? 0 : st.st_ino;
}

/* What the parasite's channel does: into a task's network namespace and
 * back; nothing at all when the task is in ours already. */
TEST(ns_enter_goes_into_a_tasks_namespace_and_back)
{
	struct ns_clone_args args = { CLONE_NEWNET, SIGCHLD, NULL, 0 };
	struct ns_ids child_ids;
	uint64_t ours = thread_net_ns(), inside = 0, after;
	int back = -2, same_back = -2, ret = -1, left = -1;
	pid_t child = ns_clone(&args);

	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	CHECK(child > 0, "clone3(CLONE_NEWNET): %d", child);
	for (int i = 0; i < 100; i++) {
		if (!ns_ids_read(child, &child_ids) && child_ids.ino[NS_NET] != ours)
			break;
		usleep(10000);
	}
	ret = ns_enter(child, "net", CLONE_NEWNET, &back);
	if (!ret) {
		inside = thread_net_ns();
		left = ns_leave(back, CLONE_NEWNET);
	}
	after = thread_net_ns();
	CHECK_GOTO(!ns_enter(getpid(), "net", CLONE_NEWNET, &same_back), out, "into our own");
out:
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK(!ret && back >= 0 && !left, "enter %d (fd %d), leave %d", ret, back, left);
	CHECK(inside == child_ids.ino[NS_NET] && inside != ours, "inside %llu, the child's %llu",
	      (unsigned long long)inside, (unsigned long long)child_ids.ino[NS_NET]);
	CHECK(after == ours, "back in %llu, not ours %llu", (unsigned long long)after,
	      (unsigned long long)ours);
	CHECK(same_back == -1, "entering our own namespace gave fd %d", same_back);
}
