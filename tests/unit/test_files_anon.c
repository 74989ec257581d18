/* Round trips (as test_files.c's) of the anonymous fd kinds: memfd with
 * its contents and seals, eventfd, signalfd, timerfd, epoll with its
 * targets and inotify with its watches. */
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
