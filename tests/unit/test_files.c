/* Round trips of each fd kind through files_dump(), files_load() and
 * files_restore(): the original keeps its state untouched, the restored
 * child has the same fds with the same flags, positions, contents and
 * kernel state; and fds cryo cannot restore fail the dump by name. */
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

static bool same_file(int a, int b)
{
	return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b) == 0;
}

static bool same_inode(int a, int b)
{
	struct stat x, y;

	return !fstat(a, &x) && !fstat(b, &y) && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* Deterministic bytes: byte @i of stream @seed. */
static void pattern(uint8_t *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + seed * 17 + (i >> 8));
}

static int write_pattern(int fd, size_t len, unsigned int seed)
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

static int expect_pattern(int fd, size_t len, unsigned int seed)
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
static bool scratch_begin(void)
{
	scratch = make_temp_dir();
	return scratch != NULL;
}

static void scratch_end(void)
{
	remove_tree(scratch);
	scratch = NULL;
}

/* ---- pipes ------------------------------------------------------------------ */

#define BLOCK1 5000
#define BLOCK2 20000
#define BIG_PIPE (1 << 20)
#define BIG_DATA 1000000

static int pipe_setup(void)
{
	int p[2], q[2];

	if (pipe(p) || place(p[0], 10) || place(p[1], 11))
		return fail("pipe: %s", strerror(errno));
	/* Three writes, three blocks unread. */
	if (write_pattern(11, BLOCK1, 1) || write_pattern(11, BLOCK2, 2) ||
	    write(11, "last", 4) != 4)
		return -1;
	if (pipe2(q, O_NONBLOCK) || place(q[0], 12) || place(q[1], 13))
		return fail("pipe2: %s", strerror(errno));
	if (fcntl(13, F_SETPIPE_SZ, BIG_PIPE) != BIG_PIPE)
		return fail("F_SETPIPE_SZ: %s", strerror(errno));
	return write_pattern(13, BIG_DATA, 3);
}

static int pipe_verify(void)
{
	uint8_t *all = malloc(BLOCK1 + BLOCK2 + 4);
	char link[64];
	int ret;

	if (!all)
		return fail("out of memory");
	pattern(all, BLOCK1, 1);
	pattern(all + BLOCK1, BLOCK2, 2);
	memcpy(all + BLOCK1 + BLOCK2, "last", 4);
	ret = expect_flags(10, O_RDONLY) || expect_flags(11, O_WRONLY) ||
	      expect_flags(12, O_RDONLY | O_NONBLOCK) || expect_flags(13, O_WRONLY | O_NONBLOCK);
	if (!ret && (!same_inode(10, 11) || same_inode(10, 12) || !same_inode(12, 13)))
		ret = fail("the pipe ends are not paired as they were");
	if (!ret && strncmp(fd_link(10, link, sizeof(link)), "pipe:[", 6))
		ret = fail("fd 10 is %s, not a pipe", link);
	if (!ret && (fcntl(10, F_GETPIPE_SZ) != 65536 || fcntl(12, F_GETPIPE_SZ) != BIG_PIPE))
		ret = fail("capacities %d and %d", fcntl(10, F_GETPIPE_SZ), fcntl(12, F_GETPIPE_SZ));
	if (!ret)
		ret = fcntl(10, F_SETFL, O_NONBLOCK) || expect_bytes(10, all, BLOCK1 + BLOCK2 + 4) ||
		      expect_pattern(12, BIG_DATA, 3);
	/* The ends are still joined: what goes in one comes out of the other. */
	if (!ret)
		ret = write(11, "more", 4) != 4 || expect_bytes(10, "more", 4);
	free(all);
	return ret;
}

TEST(pipe_keeps_unread_data)
{
	round_trip(pipe_setup, pipe_verify);
}

#define MANY_PIPES 3000

static int many_pipes_setup(void)
{
	for (int i = 0; i < MANY_PIPES; i++) {
		int p[2];

		if (pipe(p) || place(p[0], 10 + 2 * i) || place(p[1], 11 + 2 * i) ||
		    write(11 + 2 * i, &i, sizeof(i)) != sizeof(i))
			return fail("pipe %d: %s", i, strerror(errno));
	}
	return 0;
}

static int many_pipes_verify(void)
{
	for (int i = 0; i < MANY_PIPES; i++)
		if (fcntl(10 + 2 * i, F_SETFL, O_NONBLOCK))
			return fail("fd %d: %s", 10 + 2 * i, strerror(errno));
		else if (expect_bytes(10 + 2 * i, &i, sizeof(i)))
			return -1;
	return 0;
}

/* Each pipe's handle goes once both its ends are in: a restore never
 * needs many more fds than the task had. */
static int tight_fd_limit(void)
{
	struct rlimit lim = { 2 * MANY_PIPES + 64, 2 * MANY_PIPES + 64 };

	return setrlimit(RLIMIT_NOFILE, &lim) ? fail("setrlimit: %s", strerror(errno)) : 0;
}

TEST(many_pipes_restore_within_a_tight_fd_limit)
{
	round_trip_with(many_pipes_setup, many_pipes_verify, false, tight_fd_limit);
}

/* ---- regular files, directories, O_PATH ---------------------------------------- */

#define FILE_SIZE 20000

static int file_setup(void)
{
	_cleanup_free_ char *path = scratch_path("data");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (place(fd, 10) || write_pattern(10, FILE_SIZE, 4))
		return -1;
	close(10);
	if (place(open(path, O_RDWR | O_APPEND), 10) || lseek(10, 12345, SEEK_SET) != 12345 ||
	    fcntl(10, F_DUPFD_CLOEXEC, 11) != 11)
		return fail("cannot set up fds 10 and 11: %s", strerror(errno));
	if (place(open(path, O_RDONLY | O_CLOEXEC), 12) || lseek(12, 100, SEEK_SET) != 100)
		return -1;
	if (place(open(scratch, O_RDONLY | O_DIRECTORY), 13) || place(open(path, O_PATH), 14))
		return -1;
	return 0;
}

static int file_verify(void)
{
	_cleanup_free_ char *path = scratch_path("data");
	static uint8_t all[FILE_SIZE];
	uint8_t got[16];
	struct stat st;

	if (expect_flags(10, O_RDWR | O_APPEND) || expect_pos(10, 12345) ||
	    expect_cloexec(10, false) || expect_cloexec(11, true) || expect_link(10, path) ||
	    expect_flags(12, O_RDONLY) || expect_pos(12, 100) || expect_cloexec(12, true) ||
	    expect_link(13, scratch) || expect_flags(14, O_PATH) || expect_link(14, path))
		return -1;
	if (!same_file(10, 11) || same_file(10, 12))
		return fail("fd 11 must share fd 10's open file, fd 12 must not");
	if (fstat(13, &st) || !S_ISDIR(st.st_mode))
		return fail("fd 13 is not a directory");
	pattern(all, FILE_SIZE, 4);
	if (read(12, got, sizeof(got)) != sizeof(got) || memcmp(got, all + 100, sizeof(got)))
		return fail("fd 12 does not read the file's bytes at 100");
	/* A shared position moves for both. */
	if (lseek(11, 7, SEEK_SET) != 7 || expect_pos(10, 7))
		return -1;
	return 0;
}

TEST(file_keeps_position_flags_and_dups)
{
	CHECK(scratch_begin(), "no scratch directory");
	round_trip(file_setup, file_verify);
	scratch_end();
}

#define DELETED_SIZE 50000

static int deleted_setup(void)
{
	_cleanup_free_ char *path = scratch_path("gone");

	if (place(open(path, O_RDWR | O_CREAT | O_TRUNC, 0640), 10) ||
	    write_pattern(10, DELETED_SIZE, 5) || lseek(10, 5, SEEK_SET) != 5 ||
	    place(open(path, O_RDONLY), 11) || fchmod(10, 0640) || unlink(path))
		return fail("cannot set up the deleted file: %s", strerror(errno));
	return 0;
}

static int deleted_verify(void)
{
	_cleanup_free_ char *path = scratch_path("gone");
	char link[4096];
	struct stat st;

	snprintf(link, sizeof(link), "%s (deleted)", path);
	if (expect_link(10, link) || expect_link(11, link) || expect_flags(10, O_RDWR) ||
	    expect_pos(10, 5) || expect_flags(11, O_RDONLY) || expect_pos(11, 0))
		return -1;
	if (fstat(10, &st) || st.st_nlink != 0 || st.st_size != DELETED_SIZE ||
	    (st.st_mode & 07777) != 0640)
		return fail("fd 10: nlink %lu size %lld mode %o", (unsigned long)st.st_nlink,
			    (long long)st.st_size, st.st_mode);
	if (!same_inode(10, 11) || same_file(10, 11))
		return fail("fds 10 and 11 must be two opens of one inode");
	if (!access(path, F_OK))
		return fail("%s exists again", path);
	return expect_pattern(11, DELETED_SIZE, 5);
}

TEST(deleted_file_is_recreated_with_contents)
{
	CHECK(scratch_begin(), "no scratch directory");
	round_trip(deleted_setup, deleted_verify);
	scratch_end();
}

static int fifo_setup(void)
{
	_cleanup_free_ char *path = scratch_path("fifo");

	if (mkfifo(path, 0600) || place(open(path, O_RDWR), 10) ||
	    write(10, "fifo data", 9) != 9 || place(open(path, O_RDONLY | O_NONBLOCK), 11) ||
	    place(open(path, O_WRONLY | O_NONBLOCK), 12))
		return fail("cannot set up the FIFO: %s", strerror(errno));
	return 0;
}

static int fifo_verify(void)
{
	_cleanup_free_ char *path = scratch_path("fifo");

	if (expect_link(10, path) || expect_link(11, path) || expect_flags(10, O_RDWR) ||
	    expect_flags(11, O_RDONLY | O_NONBLOCK) || expect_flags(12, O_WRONLY | O_NONBLOCK))
		return -1;
	if (!same_inode(10, 11) || !same_inode(11, 12))
		return fail("the FIFO's ends are not one FIFO");
	return expect_bytes(11, "fifo data", 9);
}

TEST(fifo_keeps_data_and_ends)
{
	CHECK(scratch_begin(), "no scratch directory");
	round_trip(fifo_setup, fifo_verify);
	scratch_end();
}

/* ---- devices ------------------------------------------------------------------- */

static int devices_setup(void)
{
	return place(open("/dev/null", O_WRONLY | O_APPEND), 10) ||
	       place(open("/dev/zero", O_RDONLY | O_CLOEXEC), 11) ||
	       place(open("/dev/urandom", O_RDONLY | O_NONBLOCK), 12);
}

static int devices_verify(void)
{
	char buf[16], zero[16] = { 0 };

	if (expect_link(0, "/dev/null") || expect_flags(0, O_RDWR) || expect_link(10, "/dev/null") ||
	    expect_flags(10, O_WRONLY | O_APPEND) || expect_link(11, "/dev/zero") ||
	    expect_cloexec(11, true) || expect_link(12, "/dev/urandom") ||
	    expect_flags(12, O_RDONLY | O_NONBLOCK))
		return -1;
	if (!same_file(0, 1) || !same_file(1, 2))
		return fail("stdin, stdout and stderr must stay one open file");
	if (read(11, buf, sizeof(buf)) != sizeof(buf) || memcmp(buf, zero, sizeof(buf)))
		return fail("fd 11 does not read zeros");
	return 0;
}

TEST(devices_reopen_by_path)
{
	round_trip(devices_setup, devices_verify);
}

/* ---- memfd ------------------------------------------------------------------- */

#define MEMFD_SIZE (4u << 20)
#define MEMFD_HEAD 100000
#define MEMFD_TAIL_AT (3u << 20)

static int memfd_setup(void)
{
	int fd = memfd_create("cryo test", MFD_ALLOW_SEALING);

	if (place(fd, 10) || ftruncate(10, MEMFD_SIZE) || write_pattern(10, MEMFD_HEAD, 6) ||
	    pwrite(10, "tail", 4, MEMFD_TAIL_AT) != 4 || lseek(10, 777, SEEK_SET) != 777 ||
	    fcntl(10, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK))
		return fail("cannot set up the memfd: %s", strerror(errno));
	if (place(open("/proc/self/fd/10", O_RDONLY), 11))
		return -1;
	fd = memfd_create("plain", 0);
	if (place(fd, 12) || write(12, "abc", 3) != 3)
		return fail("cannot set up the second memfd");
	return 0;
}

static int memfd_verify(void)
{
	uint8_t *head = malloc(MEMFD_HEAD), *got = malloc(MEMFD_HEAD);
	char tail[4], middle[64], zero[64] = { 0 };
	struct stat st;
	int ret = -1;

	if (!head || !got) {
		ret = fail("out of memory");
		goto out;
	}
	if (expect_link(10, "/memfd:cryo test (deleted)") || expect_flags(10, O_RDWR) ||
	    expect_pos(10, 777) || expect_flags(11, O_RDONLY) ||
	    expect_link(12, "/memfd:plain (deleted)"))
		goto out;
	if (fstat(10, &st) || st.st_size != MEMFD_SIZE) {
		ret = fail("fd 10: size %lld", (long long)st.st_size);
		goto out;
	}
	if (fcntl(10, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SHRINK) ||
	    fcntl(12, F_GET_SEALS) != F_SEAL_SEAL) {
		ret = fail("seals %#x and %#x", fcntl(10, F_GET_SEALS), fcntl(12, F_GET_SEALS));
		goto out;
	}
	pattern(head, MEMFD_HEAD, 6);
	if (pread(11, got, MEMFD_HEAD, 0) != MEMFD_HEAD || memcmp(got, head, MEMFD_HEAD) ||
	    pread(11, tail, 4, MEMFD_TAIL_AT) != 4 || memcmp(tail, "tail", 4) ||
	    pread(11, middle, sizeof(middle), 2u << 20) != sizeof(middle) ||
	    memcmp(middle, zero, sizeof(middle))) {
		ret = fail("the memfd's bytes differ");
		goto out;
	}
	/* Two opens of one inode: a write through one shows through the other. */
	if (!same_inode(10, 11) || same_file(10, 11) || pwrite(10, "X", 1, 0) != 1 ||
	    pread(11, tail, 1, 0) != 1 || tail[0] != 'X') {
		ret = fail("fds 10 and 11 must be two opens of one memfd");
		goto out;
	}
	ret = fcntl(12, F_SETFL, O_NONBLOCK) || lseek(12, 0, SEEK_SET) || expect_bytes(12, "abc", 3);
out:
	free(head);
	free(got);
	return ret;
}

TEST(memfd_keeps_contents_and_seals)
{
	round_trip(memfd_setup, memfd_verify);
}

/* ---- eventfd, signalfd, timerfd ------------------------------------------------- */

/* The number after "NAME:" in fdinfo of @fd, in @base. */
static int fdinfo_number(int fd, const char *name, int base, unsigned long long *out)
{
	char path[64], buf[4096], *at;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	n = f < 0 ? -1 : read(f, buf, sizeof(buf) - 1);
	if (f >= 0)
		close(f);
	buf[n < 0 ? 0 : n] = '\0';
	at = strstr(buf, name);
	if (!at)
		return fail("fd %d: no '%s' in fdinfo", fd, name);
	*out = strtoull(at + strlen(name), NULL, base);
	return 0;
}

static int eventfd_setup(void)
{
	uint64_t big = 1ull << 40;

	if (place(eventfd(42, EFD_SEMAPHORE | EFD_NONBLOCK), 10) || place(eventfd(0, 0), 11) ||
	    write(11, &big, sizeof(big)) != sizeof(big))
		return fail("cannot set up the eventfds");
	return 0;
}

static int eventfd_verify(void)
{
	unsigned long long count = 0, semaphore = 0;
	uint64_t v = 0;

	if (expect_flags(10, O_RDWR | O_NONBLOCK) || expect_flags(11, O_RDWR) ||
	    fdinfo_number(10, "eventfd-count:", 16, &count) ||
	    fdinfo_number(10, "eventfd-semaphore:", 10, &semaphore))
		return -1;
	if (count != 42 || semaphore != 1)
		return fail("fd 10: count %llu semaphore %llu", count, semaphore);
	if (fdinfo_number(11, "eventfd-count:", 16, &count) || count != 1ull << 40)
		return fail("fd 11: count %#llx", count);
	/* Semaphore mode: a read takes one. */
	if (read(10, &v, sizeof(v)) != sizeof(v) || v != 1 ||
	    fdinfo_number(10, "eventfd-count:", 16, &count) || count != 41)
		return fail("fd 10 does not count as a semaphore (read %llu, left %llu)",
			    (unsigned long long)v, count);
	return 0;
}

TEST(eventfd_keeps_counter_and_semaphore)
{
	round_trip(eventfd_setup, eventfd_verify);
}

static int signalfd_setup(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGRTMIN + 2);
	return place(signalfd(-1, &mask, SFD_NONBLOCK), 10);
}

static int signalfd_verify(void)
{
	struct signalfd_siginfo si;
	unsigned long long mask;
	sigset_t block;

	if (expect_flags(10, O_RDWR | O_NONBLOCK) || fdinfo_number(10, "sigmask:", 16, &mask))
		return -1;
	if (mask != ((1ull << (SIGUSR1 - 1)) | (1ull << (SIGRTMIN + 2 - 1))))
		return fail("fd 10: sigmask %#llx", mask);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	if (read(10, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR1)
		return fail("fd 10 does not deliver SIGUSR1");
	return 0;
}

TEST(signalfd_keeps_mask_and_flags)
{
	round_trip(signalfd_setup, signalfd_verify);
}

static int timerfd_setup(void)
{
	struct itimerspec rel = { .it_interval = { 7, 0 }, .it_value = { 100, 0 } };
	struct itimerspec once = { .it_value = { 0, 1 } };
	struct itimerspec abs = { 0 };
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	abs.it_value.tv_sec = now.tv_sec + 50;
	if (place(timerfd_create(CLOCK_MONOTONIC, 0), 10) || timerfd_settime(10, 0, &rel, NULL) ||
	    place(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK), 11) ||
	    timerfd_settime(11, TFD_TIMER_ABSTIME, &abs, NULL) ||
	    place(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), 12) ||
	    timerfd_settime(12, 0, &once, NULL))
		return fail("cannot set up the timerfds: %s", strerror(errno));
	/* Let the third expire, so that it holds a tick. */
	usleep(10000);
	return 0;
}

static int timerfd_verify(void)
{
	struct itimerspec a, b;
	unsigned long long flags, ticks;
	uint64_t read_ticks = 0;

	if (expect_flags(10, O_RDWR) || expect_flags(11, O_RDWR | O_NONBLOCK) ||
	    timerfd_gettime(10, &a) || timerfd_gettime(11, &b) ||
	    fdinfo_number(11, "settime flags:", 8, &flags) ||
	    fdinfo_number(12, "ticks:", 10, &ticks))
		return -1;
	if (a.it_interval.tv_sec != 7 || a.it_interval.tv_nsec != 0 || a.it_value.tv_sec < 90 ||
	    a.it_value.tv_sec > 99)
		return fail("fd 10: %lld s left, every %lld s", (long long)a.it_value.tv_sec,
			    (long long)a.it_interval.tv_sec);
	if (b.it_value.tv_sec < 40 || b.it_value.tv_sec > 50 || flags != TFD_TIMER_ABSTIME)
		return fail("fd 11: %lld s left, flags %llo", (long long)b.it_value.tv_sec, flags);
	if (ticks != 1 || read(12, &read_ticks, sizeof(read_ticks)) != sizeof(read_ticks) ||
	    read_ticks != 1)
		return fail("fd 12: ticks %llu, read %llu", ticks, (unsigned long long)read_ticks);
	return 0;
}

TEST(timerfd_keeps_time_left_interval_and_ticks)
{
	round_trip(timerfd_setup, timerfd_verify);
}

/* ---- epoll --------------------------------------------------------------------- */

static int epoll_add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? fail("epoll_ctl %d: %s", fd, strerror(errno))
						     : 0;
}

/* The epoll sits below its targets, so restore must wait for them. */
static int epoll_setup(void)
{
	int p[2];

	if (place(epoll_create1(0), 5) || place(epoll_create1(EPOLL_CLOEXEC), 6) || pipe(p) ||
	    place(p[0], 10) || place(p[1], 11) || write(11, "x", 1) != 1 ||
	    place(eventfd(3, 0), 12))
		return fail("cannot set up the epolls");
	return epoll_add(5, 10, EPOLLIN, 0x1111) || epoll_add(5, 12, EPOLLIN | EPOLLET, 0x2222) ||
	       epoll_add(5, 11, EPOLLOUT | EPOLLONESHOT, 0x3333) ||
	       epoll_add(6, 5, EPOLLIN, 0x4444);
}

static int epoll_verify(void)
{
	struct epoll_event ev[8];
	int n;

	if (expect_cloexec(5, false) || expect_cloexec(6, true))
		return -1;
	n = epoll_wait(6, ev, 8, 0);
	if (n != 1 || ev[0].data.u64 != 0x4444 || !(ev[0].events & EPOLLIN))
		return fail("the outer epoll reports %d events", n);
	n = epoll_wait(5, ev, 8, 0);
	if (n != 3)
		return fail("epoll 5 reports %d events, want 3", n);
	for (int i = 0; i < n; i++) {
		uint32_t want = ev[i].data.u64 == 0x3333 ? EPOLLOUT : EPOLLIN;

		if (!(ev[i].events & want) || (ev[i].data.u64 != 0x1111 && ev[i].data.u64 != 0x2222 &&
					       ev[i].data.u64 != 0x3333))
			return fail("epoll 5: event %#x data %#llx", ev[i].events,
				    (unsigned long long)ev[i].data.u64);
	}
	/* Edge-triggered and one-shot fire once; the level-triggered pipe
	 * stays ready. */
	n = epoll_wait(5, ev, 8, 0);
	if (n != 1 || ev[0].data.u64 != 0x1111)
		return fail("second wait on epoll 5: %d events (first data %#llx)", n,
			    n > 0 ? (unsigned long long)ev[0].data.u64 : 0ull);
	return 0;
}

TEST(epoll_restores_its_targets_after_them)
{
	round_trip(epoll_setup, epoll_verify);
}

/* ---- inotify ----------------------------------------------------------------- */

static int inotify_setup(void)
{
	_cleanup_free_ char *a = scratch_path("a"), *b = scratch_path("b"), *c = scratch_path("c");
	char buf[4096];
	int gap;

	if (mkdir(a, 0700) || mkdir(b, 0700) || mkdir(c, 0700) ||
	    place(inotify_init1(IN_NONBLOCK), 10))
		return fail("cannot set up inotify: %s", strerror(errno));
	/* Watch descriptors 1 and 3: 2 was given back. */
	if (inotify_add_watch(10, a, IN_CREATE) != 1 || (gap = inotify_add_watch(10, c, IN_DELETE)) != 2 ||
	    inotify_add_watch(10, b, IN_CREATE | IN_ONESHOT) != 3 || inotify_rm_watch(10, gap))
		return fail("unexpected watch descriptors");
	while (read(10, buf, sizeof(buf)) > 0)
		;
	return 0;
}

/* Creates @dir/NAME-PID and expects @wd to report it (or nothing for 0). */
static int expect_event(const char *dir, int wd)
{
	char name[64], buf[4096];
	_cleanup_free_ char *path = NULL;
	struct inotify_event *ev = (struct inotify_event *)buf;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%s/new-%d", dir, getpid());
	path = scratch_path(name);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return fail("cannot create %s", path);
	close(fd);
	n = read(10, buf, sizeof(buf));
	if (!wd)
		return n > 0 ? fail("an event from %s, which is not watched", dir) : 0;
	if (n < (ssize_t)sizeof(*ev) || ev->wd != wd || !(ev->mask & IN_CREATE) ||
	    strcmp(ev->name, name + strlen(dir) + 1))
		return fail("watch %d: read %zd, event wd %d mask %#x", wd, n,
			    n > 0 ? ev->wd : 0, n > 0 ? ev->mask : 0);
	return 0;
}

static int inotify_verify(void)
{
	return expect_flags(10, O_RDONLY | O_NONBLOCK) || expect_event("a", 1) ||
	       expect_event("b", 3) || expect_event("c", 0);
}

TEST(inotify_keeps_watch_descriptors)
{
	CHECK(scratch_begin(), "no scratch directory");
	round_trip(inotify_setup, inotify_verify);
	scratch_end();
}

/* ---- terminals ------------------------------------------------------------------ */

static int pty_master = -1, restore_master = -1, restore_slave = -1;
static char pty_name[64];
static dev_t pty_rdev, restore_rdev;

/* Opens a pty pair; the slave's name and device in @name and @rdev. */
static bool open_pty(int *master, int *slave, char *name, dev_t *rdev)
{
	struct stat st;

	if (openpty(master, slave, name, NULL, NULL) || fstat(*slave, &st))
		return false;
	*rdev = st.st_rdev;
	return true;
}

/* The original becomes a session leader with the pty as its terminal. */
static int shell_setup(void)
{
	if (setsid() < 0 || place(open(pty_name, O_RDWR), 10) || dup2(10, 11) != 11)
		return fail("cannot take %s as controlling terminal: %s", pty_name, strerror(errno));
	return 0;
}

static int shell_verify(void)
{
	struct stat st;
	bool restored = getsid(0) != getpid();
	dev_t want = restored ? restore_rdev : pty_rdev;

	if (!isatty(10) || fstat(10, &st) || st.st_rdev != want || !same_file(10, 11))
		return fail("fd 10 is not the %s terminal %u:%u", restored ? "restorer's" : "shell's",
			    major(want), minor(want));
	return 0;
}

/* What the restoring cryo would have: a terminal as stdin. */
static int shell_prepare(void)
{
	return dup2(restore_slave, 0) == 0 ? 0 : fail("cannot give the restorer a terminal");
}

TEST(shell_job_terminal_becomes_cryos)
{
	char name[64];
	int slave = -1;

	CHECK(open_pty(&pty_master, &slave, pty_name, &pty_rdev), "no pty: %s", strerror(errno));
	close(slave);
	CHECK_GOTO(open_pty(&restore_master, &restore_slave, name, &restore_rdev), out, "no pty");
	round_trip_with(shell_setup, shell_verify, true, shell_prepare);
out:
	close(pty_master);
	if (restore_master >= 0) {
		close(restore_master);
		close(restore_slave);
	}
}

/* ---- fds cryo refuses ------------------------------------------------------------- */

/* Dumps an original set up by @setup and expects the dump to fail with an
 * error that contains @want (with "%d" standing for the pid). */
static void expect_dump_refused(files_setup_fn setup, bool shell_job, const char *want_fmt)
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

/* A socket of a family no kind takes (packet). */
static int socket_setup(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW, 0);

	if (fd < 0 || place(fd, 10))
		return fail("packet socket: %s", strerror(errno));
	return 0;
}

TEST(socket_fails_dump_naming_fd)
{
	expect_dump_refused(socket_setup, false, "dump: pid %d fd 10 (socket:[");
	expect_dump_refused(socket_setup, false, "): packet raw socket (protocol 0): not supported");
}

/* The test holds the master: the original gets the slave alone. */
static int outside_master = -1;
static char outside_slave[64];

static int pty_slave_setup(void)
{
	close(outside_master);
	return place(open(outside_slave, O_RDWR | O_NOCTTY), 10);
}

TEST(pty_slave_whose_master_is_outside_fails_dump)
{
	int slave;
	dev_t rdev;

	CHECK(open_pty(&outside_master, &slave, outside_slave, &rdev), "no pty: %s",
	      strerror(errno));
	close(slave);
	expect_dump_refused(pty_slave_setup, false, "its pty's master (/dev/ptmx) is not held by "
			    "any process of the dump");
	/* With -j too: it is not the task's controlling terminal. */
	expect_dump_refused(pty_slave_setup, true, "is not held by any process of the dump");
	close(outside_master);
}

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
