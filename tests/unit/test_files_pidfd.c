/* Round trips (as test_files.c's) of pidfds, of a process in the dump, of
 * a reaped child, of a thread, and refused for a process outside the dump;
 * and an open file shared by two tasks saved as one object. */
#include <linux/kcmp.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <time.h>

#include "images/proto/files.pb-c.h"
#include "kabi/kabi.h"
#include "test_files_util.h"

/* ---- pidfds ------------------------------------------------------------------------ */

/* A pidfd with @flags of a child that exits at once, opened before the
 * child is reaped and kept after. */
static int reaped_pidfd(unsigned int flags)
{
	pid_t child = fork();
	int fd;

	if (child == 0)
		_exit(0);
	if (child < 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, child, flags);
	if (waitpid(child, NULL, 0) != child && fd >= 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int reaped_setup(void)
{
	if (place(reaped_pidfd(0), 10) || place(reaped_pidfd(PIDFD_NONBLOCK | PIDFD_THREAD), 11) ||
	    fcntl(10, F_SETFD, 0))
		return fail("cannot set up pidfds of reaped children: %s", strerror(errno));
	return 0;
}

/* The restore must leave no SIGCHLD: blocked, one would stay pending. */
static int block_sigchld(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	return sigprocmask(SIG_BLOCK, &set, NULL);
}

static int expect_reaped_pidfd(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (expect_link(fd, "anon_inode:[pidfd]") || expect_fdinfo(fd, "Pid:\t-1") ||
	    expect_fdinfo(fd, "NSpid:\t-1"))
		return -1;
	if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0 || errno != ESRCH)
		return fail("fd %d: signal 0 through it did not fail with ESRCH", fd);
	if (poll(&pfd, 1, 0) != 1 || pfd.revents != (POLLIN | POLLHUP))
		return fail("fd %d: polls %#x, want POLLIN|POLLHUP", fd, pfd.revents);
	return 0;
}

static int reaped_verify(void)
{
	siginfo_t si = { 0 };
	sigset_t pending;

	if (expect_reaped_pidfd(10) || expect_reaped_pidfd(11) || expect_flags(10, O_RDWR) ||
	    expect_flags(11, O_RDWR | O_NONBLOCK) || expect_cloexec(10, false) ||
	    expect_cloexec(11, true))
		return -1;
	if ((fcntl(10, F_GETFL) & PIDFD_THREAD) || !(fcntl(11, F_GETFL) & PIDFD_THREAD))
		return fail("PIDFD_THREAD: fd 10 flags %#o, fd 11 flags %#o", fcntl(10, F_GETFL),
			    fcntl(11, F_GETFL));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) == 0 || errno != ECHILD)
		return fail("a child is left (pid %d)", si.si_pid);
	if (sigpending(&pending) || sigismember(&pending, SIGCHLD))
		return fail("a SIGCHLD is pending");
	return 0;
}

TEST(pidfd_of_reaped_child_stays_one_of_a_reaped_process)
{
	round_trip_with(reaped_setup, reaped_verify, false, block_sigchld);
}

/* What the pidfd at fd 10 of the original refers to, by the test. */
static pid_t pidfd_target;
static unsigned int pidfd_target_flags;

static int target_setup(void)
{
	return place((int)syscall(SYS_pidfd_open, pidfd_target, pidfd_target_flags), 10);
}

static void *park(void *arg)
{
	*(pid_t *)arg = gettid();
	for (;;)
		pause();
	return NULL;
}

/* A thread of the original itself. */
static int own_thread_setup(void)
{
	static volatile pid_t tid;
	pthread_t t;

	if (pthread_create(&t, NULL, park, (void *)&tid))
		return fail("pthread_create failed");
	while (!tid)
		usleep(1000);
	return place((int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD), 10);
}

/* A child that pauses until killed; -1 on failure. */
static pid_t start_pauser(bool exit_at_once)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!exit_at_once)
			pause();
		_exit(0);
	}
	return pid;
}

TEST(pidfd_of_a_process_outside_the_dump_fails_it)
{
	static volatile pid_t tid;
	char want[256];
	pthread_t t;
	pid_t other;

	pidfd_target = getpid();
	pidfd_target_flags = 0;
	snprintf(want, sizeof(want), "dump: pid %%d fd 10 (anon_inode:[pidfd]): refers to pid %d, "
		 "which is not being dumped", getpid());
	expect_dump_refused(target_setup, false, want);

	/* A zombie is no process of the dump either. */
	other = start_pauser(true);
	CHECK(other > 0, "fork: %s", strerror(errno));
	CHECK_GOTO(waitid(P_PID, other, &(siginfo_t){ 0 }, WEXITED | WNOWAIT) == 0, out, "waitid");
	pidfd_target = other;
	snprintf(want, sizeof(want), "refers to pid %d, which is not being dumped (a zombie)", other);
	expect_dump_refused(target_setup, false, want);

	/* One thread of a process outside. */
	CHECK_GOTO(!pthread_create(&t, NULL, park, (void *)&tid), out, "pthread_create");
	while (!tid)
		usleep(1000);
	pidfd_target = tid;
	pidfd_target_flags = PIDFD_THREAD;
	snprintf(want, sizeof(want), "refers to pid %d, which is not being dumped (a thread of "
		 "pid %d)", tid, getpid());
	expect_dump_refused(target_setup, false, want);
	pthread_cancel(t);
	pthread_join(t, NULL);
out:
	waitpid(other, NULL, 0);
}

/* The pid, flags and process (thread_of, 0 when unset) of the first
 * pidfd object in @dir's files.img; pid 0 when there is none. */
static void read_pidfd_record_of(const struct image_dir *dir, int *pid, unsigned int *flags,
				 int *thread_of)
{
	struct image *img;

	*pid = 0;
	*thread_of = 0;
	if (image_read(dir, IMG_FILES, 0, &img))
		return;
	for (size_t i = 0; i < img->nr_records; i++) {
		const FileEntry *e = (const FileEntry *)img->records[i].msg;

		if (e->kind == FILE_ENTRY__KIND__PIDFD && e->pidfd) {
			*pid = e->pidfd->pid;
			*flags = e->flags;
			*thread_of = e->pidfd->has_thread_of ? e->pidfd->thread_of : 0;
			break;
		}
	}
	image_free(img);
}

static void read_pidfd_record(const struct image_dir *dir, int *pid, unsigned int *flags)
{
	int thread_of;

	read_pidfd_record_of(dir, pid, flags, &thread_of);
}

/* A thread other than the main one is saved with its process: restore
 * opens it once the thread exists again. */
TEST(pidfd_of_a_thread_other_than_the_main_one_saves_its_process)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	int pid = 0, thread_of = 0;
	unsigned int flags = 0;
	char task[64];
	pid_t original;

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	original = start_original(own_thread_setup, NULL);
	CHECK(original > 0, "no original");
	CHECK_GOTO(!dump_files_of(original, dir, false, NULL, 0), out, "the dump failed");
	read_pidfd_record_of(dir, &pid, &flags, &thread_of);
	snprintf(task, sizeof(task), "/proc/%d/task/%d", original, pid);
	CHECK_GOTO(pid > 0 && pid != original && thread_of == original &&
			   (flags & PIDFD_THREAD) && !access(task, F_OK),
		   out, "saved pid %d of pid %d flags %#o, want a thread of pid %d", pid,
		   thread_of, flags, original);
out:
	kill_child(original);
}

TEST(pidfd_of_a_process_in_the_dumped_set_is_saved)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL, *other = NULL;
	_cleanup_tree_ char *other_path = make_temp_dir();
	pid_t helper, original = -1, set[2];
	unsigned int flags = 0;
	char err[1024] = "";
	int ret, pid;

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	helper = start_pauser(false);
	CHECK(helper > 0, "fork: %s", strerror(errno));
	pidfd_target = helper;
	pidfd_target_flags = PIDFD_NONBLOCK;
	original = start_original(target_setup, NULL);
	CHECK_GOTO(original > 0, out, "no original");
	/* Not in the set: refused. */
	log_capture_errors(err, sizeof(err));
	ret = dump_files_of(original, dir, false, NULL, 0);
	log_capture_errors(NULL, 0);
	CHECK_GOTO(ret < 0 && strstr(err, "which is not being dumped"), out,
		   "dumped a pidfd of pid %d outside the set (%s)", helper, err);
	set[0] = 999999;
	set[1] = helper;
	CHECK_GOTO(!dump_files_of(original, dir, false, set, 2), out,
		   "dump with pid %d in the set failed", helper);
	read_pidfd_record(dir, &pid, &flags);
	CHECK_GOTO(pid == helper && flags == (O_RDWR | O_NONBLOCK), out,
		   "the pidfd was saved as pid %d flags %#o, want %d and %#o", pid, flags, helper,
		   O_RDWR | O_NONBLOCK);
	/* An empty set counts the dumped task only. */
	CHECK_GOTO(other_path && !image_dir_open(other_path, &other), out, "no image directory");
	log_capture_errors(err, sizeof(err));
	ret = dump_files_of(original, other, false, NULL, 0);
	log_capture_errors(NULL, 0);
	CHECK_GOTO(ret < 0, out, "dumped a pidfd of pid %d after the set was emptied", helper);
out:
	if (original > 0)
		kill_child(original);
	kill_child(helper);
}

/* ---- several tasks ---------------------------------------------------------------- */

static pid_t *forked_pid;

/* The original forks a child that holds the same open files and stops. */
static int two_tasks_setup(void)
{
	int p[2];
	pid_t child;

	if (pipe(p) || place(p[0], 10) || place(p[1], 11) || write(11, "shared", 6) != 6)
		return fail("pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		raise(SIGSTOP);
		_exit(0);
	}
	*forked_pid = child;
	return child < 0 ? fail("fork: %s", strerror(errno)) : 0;
}

static int two_tasks_verify(void)
{
	return 0;
}

/* Waits until @pid, not our child, is stopped. */
static bool wait_stopped(pid_t pid)
{
	char path[64], buf[512], *state;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < 1000; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return false;
		buf[n] = '\0';
		state = strrchr(buf, ')');
		if (state && state[2] == 'T')
			return true;
		usleep(1000);
	}
	return false;
}

static size_t count_records(const struct image_dir *dir, enum image_kind kind, int id)
{
	struct image *img;
	size_t n;

	if (image_read(dir, kind, id, &img))
		return 0;
	n = img->nr_records;
	image_free(img);
	return n;
}

TEST(open_file_shared_by_two_tasks_is_one_object)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct files_dump_set *set = NULL;
	pid_t parent, child, pids[2];
	size_t objects;

	forked_pid = (pid_t *)(shared_msg + MSG_SIZE);
	*forked_pid = 0;
	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	parent = start_original(two_tasks_setup, two_tasks_verify);
	if (parent < 0)
		return;
	child = *forked_pid;
	CHECK_GOTO(child > 0 && wait_stopped(child), out, "the forked task did not stop");
	pids[0] = parent;
	pids[1] = child;
	CHECK_GOTO(!files_dump_start(dir, pids, 2, &set), out, "no dump set");
	CHECK_GOTO(!files_dump(set, parent, false) && !files_dump(set, child, false), out,
		   "dump failed");
	CHECK_GOTO(!file_exists(dir_path, "files.img"), out,
		   "files.img was written before the dump's end");
	CHECK_GOTO(!files_dump_finish(set, pids, 2), out, "the dump's end failed");
	/* /dev/null on 0-2 and the two pipe ends, each once. */
	objects = count_records(dir, IMG_FILES, 0);
	CHECK_GOTO(objects == 3, out, "files.img holds %zu objects, want 3", objects);
	CHECK_GOTO(count_records(dir, IMG_FDS, child) == 5, out, "the child's fd table");
	/* Another dump into the directory starts afresh: a set of its own. */
	CHECK_GOTO(!dump_files_of(child, dir, false, NULL, 0), out, "second dump failed");
	objects = count_records(dir, IMG_FILES, 0);
	CHECK_GOTO(objects == 3, out, "files.img of the new dump holds %zu objects", objects);
out:
	files_dump_free(set);
	if (child > 0)
		kill(child, SIGKILL);
	kill_child(parent);
	if (child > 0)
		waitpid(child, NULL, 0);
}
