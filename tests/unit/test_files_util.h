/* The round trip the files tests share: a forked task sets up fds at known
 * numbers and stops; files_dump() saves them; the task goes on and checks
 * that nothing changed; a fresh child runs files_load() + files_restore()
 * and checks the same state in itself. Children report through a shared
 * page and their exit status. Header-only: each test_*.c is its own
 * binary. */
#ifndef CRYO_TEST_FILES_UTIL_H
#define CRYO_TEST_FILES_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "common/log.h"
#include "files/files.h"
#include "harness.h"
#include "test_images_util.h"

/* The shared page: a message, then room for a few words of state. */
#define SHARED_SIZE 4096
#define MSG_SIZE (SHARED_SIZE - 64)

/* Written by the children, read by the test: why a check failed. */
static char *shared_msg;
/* A scratch directory for files the tests open (not the image directory). */
static char *scratch;

__attribute__((constructor)) static void files_test_init(void)
{
	/* Orphaned grandchildren come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	shared_msg = mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_msg == MAP_FAILED)
		abort();
}

/* Records why a check failed, for the test to print; returns -1. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(shared_msg, MSG_SIZE, fmt, ap);
	va_end(ap);
	return -1;
}

static inline char *scratch_path(const char *name)
{
	return path_join(scratch, name);
}

/* ---- checks a child makes on one of its fds -------------------------------- */

static inline int expect_flags(int fd, int want)
{
	int mask = O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH;
	int got = fcntl(fd, F_GETFL);

	if (got < 0)
		return fail("fd %d: not open: %s", fd, strerror(errno));
	if ((got & mask) != (want & mask))
		return fail("fd %d: flags %#o, want %#o", fd, got & mask, want & mask);
	return 0;
}

static inline int expect_cloexec(int fd, bool want)
{
	int got = fcntl(fd, F_GETFD);

	if (got < 0 || !!(got & FD_CLOEXEC) != want)
		return fail("fd %d: cloexec %d, want %d", fd, got < 0 ? -1 : !!(got & FD_CLOEXEC),
			    want);
	return 0;
}

static inline int expect_pos(int fd, off_t want)
{
	off_t got = lseek(fd, 0, SEEK_CUR);

	if (got != want)
		return fail("fd %d: position %lld, want %lld", fd, (long long)got, (long long)want);
	return 0;
}

/* The /proc/self/fd link of @fd into @buf. */
static inline const char *fd_link(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static inline int expect_link(int fd, const char *want)
{
	char buf[4096];

	if (strcmp(fd_link(fd, buf, sizeof(buf)), want))
		return fail("fd %d: link '%s', want '%s'", fd, buf, want);
	return 0;
}

/* Checks that /proc/self/fdinfo/@fd has the line @line. */
static inline int expect_fdinfo(int fd, const char *line)
{
	char path[64], buf[8192];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return fail("fd %d: no fdinfo: %s", fd, strerror(errno));
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n < 0 ? 0 : n] = '\0';
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		if (!strcmp(l, line))
			return 0;
	return fail("fd %d: fdinfo lacks '%s'", fd, line);
}

/* Reads exactly @len bytes and checks they equal @want and that nothing
 * follows (the fd is non-blocking, or at its end). */
static inline int expect_bytes(int fd, const void *want, size_t len)
{
	char *buf = malloc(len + 1);
	size_t got = 0;
	ssize_t n;
	int ret = 0;

	if (!buf)
		return fail("out of memory");
	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += n;
	if (got != len)
		ret = fail("fd %d: read %zu bytes, want %zu", fd, got, len);
	else if (memcmp(buf, want, len))
		ret = fail("fd %d: the bytes read differ from those written", fd);
	else if (read(fd, buf, 1) > 0)
		ret = fail("fd %d: more bytes than the %zu written", fd, len);
	free(buf);
	return ret;
}

/* Moves @fd to number @to, keeping its cloexec flag. */
static inline int place(int fd, int to)
{
	if (fd < 0)
		return fail("cannot open fd %d: %s", to, strerror(errno));
	if (fd == to)
		return 0;
	if (dup3(fd, to, fcntl(fd, F_GETFD) & FD_CLOEXEC ? O_CLOEXEC : 0) != to)
		return fail("cannot dup to %d: %s", to, strerror(errno));
	close(fd);
	return 0;
}

/* ---- shared by the round trips' setups and checks ---------------------------- */

static inline bool same_file(int a, int b)
{
	return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b) == 0;
}

static inline bool same_inode(int a, int b)
{
	struct stat x, y;

	return !fstat(a, &x) && !fstat(b, &y) && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* Deterministic bytes: byte @i of stream @seed. */
static inline void pattern(uint8_t *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + seed * 17 + (i >> 8));
}

static inline int write_pattern(int fd, size_t len, unsigned int seed)
{
	uint8_t *buf = malloc(len);
	ssize_t n;

	if (!buf)
		return fail("out of memory");
	pattern(buf, len, seed);
	n = write(fd, buf, len);
	free(buf);
	return n == (ssize_t)len ? 0 : fail("write of %zu bytes to fd %d: %zd", len, fd, n);
}

static inline int expect_pattern(int fd, size_t len, unsigned int seed)
{
	uint8_t *buf = malloc(len);
	int ret;

	if (!buf)
		return fail("out of memory");
	pattern(buf, len, seed);
	ret = expect_bytes(fd, buf, len);
	free(buf);
	return ret;
}

/* The test's scratch directory, made before the original starts. */
static inline bool scratch_begin(void)
{
	scratch = make_temp_dir();
	return scratch != NULL;
}

static inline void scratch_end(void)
{
	remove_tree(scratch);
	scratch = NULL;
}

/* ---- the round trip ---------------------------------------------------------- */

typedef int (*files_setup_fn)(void);
typedef int (*files_verify_fn)(void);

/* The original: stdio on /dev/null, nothing else open; sets up, stops,
 * and once continued checks that the dump changed nothing. It leads a
 * session of its own: stopped in the test's process group, it would get
 * the kernel's SIGHUP and SIGCONT whenever that group became orphaned (the
 * shell that started the tests exiting meanwhile), and die or run on in
 * the middle of its dump. */
static inline void __attribute__((noreturn)) run_original(files_setup_fn setup,
				 files_verify_fn verify)
{
	int null = open("/dev/null", O_RDWR);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (null < 0 || setsid() < 0) {
		fail(null < 0 ? "no /dev/null" : "setsid: %s", strerror(errno));
		_exit(3);
	}
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close_range(3, ~0u, 0);
	if (setup())
		_exit(3);
	raise(SIGSTOP);
	_exit(verify && verify() ? 1 : 0);
}

/* A child that takes longer has hung: it is killed, not waited for. */
#define CHILD_TIMEOUT_MS 60000

/* Waits for @pid to stop (@stopped) or exit; its exit status, or -1 if it
 * stopped, -2 on a signal, -3 if it hung (it is then killed). */
static inline int wait_child(pid_t pid, bool stopped)
{
	int status = 0;
	pid_t got = 0;

	for (int ms = 0; ms < CHILD_TIMEOUT_MS && got == 0; ms++) {
		got = waitpid(pid, &status, WNOHANG | (stopped ? WUNTRACED : 0));
		if (got < 0 && errno == EINTR)
			got = 0;
		if (got == 0)
			usleep(1000);
	}
	if (got == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		snprintf(shared_msg, MSG_SIZE, "pid %d hung for %d s and was killed", pid,
			 CHILD_TIMEOUT_MS / 1000);
		return -3;
	}
	if (got != pid) {
		snprintf(shared_msg, MSG_SIZE, "waitpid(%d): %s", pid, strerror(errno));
		return -2;
	}
	if (WIFSTOPPED(status))
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	snprintf(shared_msg, MSG_SIZE, "pid %d was killed by signal %d", pid, WTERMSIG(status));
	return -2;
}

static inline void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Starts the original and waits until it has stopped; its pid, or -1
 * (the failure recorded). */
static inline pid_t start_original(files_setup_fn setup, files_verify_fn verify)
{
	pid_t pid;
	int st;

	shared_msg[0] = '\0';
	pid = fork();
	if (pid == 0)
		run_original(setup, verify);
	if (pid < 0) {
		harness_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
		return -1;
	}
	st = wait_child(pid, true);
	if (st != -1) {
		harness_fail(__FILE__, __LINE__, "the original did not stop (status %d): %s", st,
			     shared_msg);
		return -1;
	}
	return pid;
}

/* Fd numbers the tests use are below this. */
#define FDS_MAX 16384

/* The fds of @pid, in a bitmap of @size bits. */
static inline void list_fds(pid_t pid, bool *open_fds, int size)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	memset(open_fds, 0, size * sizeof(*open_fds));
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) < size)
			open_fds[atoi(de->d_name)] = true;
	if (d)
		closedir(d);
}

/* In the restored child: exactly the fds of the original are open up to
 * files_max_fd(). */
static inline int expect_only(const bool *open_fds, int max_fd)
{
	if (max_fd >= FDS_MAX)
		return fail("fd %d is beyond what the test checks", max_fd);
	for (int fd = 0; fd <= max_fd; fd++) {
		bool is_open = fcntl(fd, F_GETFD) >= 0;

		if (is_open != open_fds[fd])
			return fail("fd %d is %s after restore", fd, is_open ? "open" : "closed");
	}
	return 0;
}

static inline int count_own_fds(void)
{
	static bool open_fds[FDS_MAX];
	int n = 0;

	list_fds(getpid(), open_fds, FDS_MAX);
	for (int fd = 0; fd < FDS_MAX; fd++)
		n += open_fds[fd];
	return n;
}

/* A dump of the files of @pid alone, from files_dump_start() to
 * files_dump_finish(), as cmd_dump does for a tree; @pids are the
 * processes of the dump (pidfds may refer to them). */
static inline int dump_files_of(pid_t pid, struct image_dir *dir, bool shell_job, const pid_t *pids,
				size_t n)
{
	struct files_dump_set *set;
	int ret = files_dump_start(dir, pids, n, &set);

	if (!ret)
		ret = files_dump(set, pid, shell_job);
	if (!ret)
		ret = files_dump_finish(set, &pid, 1);
	files_dump_free(set);
	return ret;
}

/* Before files_restore(): a hook that gives the restored child what it
 * needs from outside (the terminal of a shell job). */
typedef int (*files_prepare_fn)(void);

/* The whole round trip; records failures in the harness. */
static inline void round_trip_with(files_setup_fn setup, files_verify_fn verify, bool shell_job,
				   files_prepare_fn prepare)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct files_image *img = NULL;
	static bool open_fds[FDS_MAX];
	pid_t pid, restored;
	int st, fds_before;

	if (!dir_path || image_dir_open(dir_path, &dir)) {
		harness_fail(__FILE__, __LINE__, "no image directory");
		return;
	}
	pid = start_original(setup, verify);
	if (pid < 0)
		return;
	list_fds(pid, open_fds, FDS_MAX);
	fds_before = count_own_fds();
	if (dump_files_of(pid, dir, shell_job, NULL, 0)) {
		harness_fail(__FILE__, __LINE__, "files_dump failed");
		kill_child(pid);
		return;
	}
	if (count_own_fds() != fds_before)
		harness_fail(__FILE__, __LINE__, "files_dump left %d fds open",
			     count_own_fds() - fds_before);
	kill(pid, SIGCONT);
	st = wait_child(pid, false);
	if (st) {
		harness_fail(__FILE__, __LINE__, "the original changed (status %d): %s", st,
			     shared_msg);
		return;
	}
	if (files_load(dir, pid, NULL, 0, &img)) {
		harness_fail(__FILE__, __LINE__, "files_load failed");
		return;
	}
	shared_msg[0] = '\0';
	restored = fork();
	if (restored == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (prepare && prepare())
			_exit(4);
		log_capture_errors(shared_msg, MSG_SIZE);
		if (files_restore(img, NULL, shell_job))
			_exit(2);
		_exit(expect_only(open_fds, files_max_fd(img)) || verify() ? 1 : 0);
	}
	st = restored < 0 ? -2 : wait_child(restored, false);
	if (st)
		harness_fail(__FILE__, __LINE__, "the restored child failed (status %d): %s", st,
			     shared_msg);
	files_image_free(img);
}

/* Dumps an original set up by @setup and expects the dump to fail with an
 * error that contains @want (with "%d" standing for the pid). */
static inline void expect_dump_refused(files_setup_fn setup, bool shell_job, const char *want_fmt)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	char err[1024], want[256];
	pid_t pid;
	int ret;

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	pid = start_original(setup, NULL);
	if (pid < 0)
		return;
	log_capture_errors(err, sizeof(err));
	ret = dump_files_of(pid, dir, shell_job, NULL, 0);
	log_capture_errors(NULL, 0);
	kill_child(pid);
	snprintf(want, sizeof(want), want_fmt, pid);
	CHECK(ret < 0, "the dump succeeded");
	CHECK(strstr(err, want), "error '%s' lacks '%s'", err, want);
	CHECK(!file_exists(dir_path, "files.img"), "files.img was written");
}

static inline void round_trip(files_setup_fn setup, files_verify_fn verify)
{
	round_trip_with(setup, verify, false, NULL);
}

#endif
