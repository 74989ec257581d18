/* Round-trip program: fds of every kind cryo restores keep their state.
 * Regular files (path, flags, offset, O_APPEND, per-fd O_CLOEXEC), a
 * directory, a file deleted while open, a pipe and a FIFO with unread data,
 * /dev/null, /dev/zero, /dev/urandom, a sealed memfd, eventfds (counter,
 * semaphore mode), epoll (targets, events, data), signalfd (mask), timerfds
 * (settings, time left, unread ticks) and inotify (watches). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "prog.h"

#define FILE_BYTES "0123456789abcdefghijklmnopqrstuvwxyz"
#define PIPE_BYTES "unread pipe bytes"
#define FIFO_BYTES "unread fifo bytes"
#define MEMFD_BYTES "memfd bytes, sealed"
#define DELETED_BYTES "bytes of a deleted file"
#define MEMFD_SEALS (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)
/* Fixed numbers, far apart, so that holes in the table are restored too. */
#define HIGH_FD 200

/* An fd and what it must still be after restore. */
struct fd_state {
	int fd;
	int fl;			/* F_GETFL */
	int fd_flags;		/* F_GETFD */
	off_t pos;
	struct stat st;
};

static struct {
	struct fd_state rd, wr, app, app_cloexec, dir, deleted;
	struct fd_state pipe_r, pipe_w, fifo_r, fifo_w;
	struct fd_state null, zero, urandom;
	struct fd_state memfd, efd_count, efd_sem, epoll, sigfd, timer, timer_ticks, inotify;
	int inotify_wd;
	char path[4096], deleted_path[4096], dir_path[4096], watched[4096], fifo_path[4096];
} s;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_fds: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Moves @fd to @to (when not -1) and records its state. */
static void keep(struct fd_state *st, int fd, int to, const char *what)
{
	if (fd < 0)
		die(what);
	if (to >= 0) {
		if (dup2(fd, to) != to)
			die(what);
		close(fd);
		fd = to;
	}
	st->fd = fd;
	st->fl = fcntl(fd, F_GETFL);
	st->fd_flags = fcntl(fd, F_GETFD);
	st->pos = lseek(fd, 0, SEEK_CUR);
	if (fstat(fd, &st->st))
		die(what);
}

static void write_all(int fd, const char *text, const char *what)
{
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(what);
}

/* The same fd, flags, close-on-exec, position and file as before. */
static void check_same(const struct fd_state *st, const char *what)
{
	struct stat now;

	if (!PROG_CHECK(fstat(st->fd, &now) == 0, "%s: fd %d is gone", what, st->fd))
		return;
	PROG_CHECK(fcntl(st->fd, F_GETFL) == st->fl, "%s: flags %#x, were %#x", what,
		   fcntl(st->fd, F_GETFL), st->fl);
	PROG_CHECK(fcntl(st->fd, F_GETFD) == st->fd_flags, "%s: fd flags %d, were %d", what,
		   fcntl(st->fd, F_GETFD), st->fd_flags);
	PROG_CHECK((now.st_mode & S_IFMT) == (st->st.st_mode & S_IFMT), "%s: type %o, was %o",
		   what, now.st_mode & S_IFMT, st->st.st_mode & S_IFMT);
	if (S_ISREG(now.st_mode) || S_ISDIR(now.st_mode))
		PROG_CHECK(lseek(st->fd, 0, SEEK_CUR) == st->pos, "%s: offset %jd, was %jd", what,
			   (intmax_t)lseek(st->fd, 0, SEEK_CUR), (intmax_t)st->pos);
}

/* The text of /proc/self/fdinfo/@fd. */
static const char *fdinfo(int fd)
{
	static char text[8192];
	char path[64];
	ssize_t n;
	int in;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	in = open(path, O_RDONLY | O_CLOEXEC);
	n = in < 0 ? -1 : read(in, text, sizeof(text) - 1);
	if (in >= 0)
		close(in);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

/* The hexadecimal value of @field in the fdinfo of @fd; ~0 without it. */
static unsigned long long fdinfo_hex(int fd, const char *field)
{
	const char *at = strstr(fdinfo(fd), field);
	unsigned long long v;

	return at && sscanf(at + strlen(field), " %llx", &v) == 1 ? v : ~0ull;
}

/* ---- files by path ---------------------------------------------------------- */

static void setup_files(void)
{
	int fd;

	snprintf(s.path, sizeof(s.path), "%s/file", prog_dir());
	snprintf(s.dir_path, sizeof(s.dir_path), "%s/dir", prog_dir());
	fd = open(s.path, O_RDWR | O_CREAT | O_EXCL, 0640);
	if (fd < 0)
		die("create file");
	write_all(fd, FILE_BYTES, "fill file");
	close(fd);

	keep(&s.rd, open(s.path, O_RDONLY), 10, "open file read-only");
	lseek(s.rd.fd, 3, SEEK_SET);
	keep(&s.rd, s.rd.fd, -1, "file read-only");
	keep(&s.wr, open(s.path, O_WRONLY | O_NOATIME | O_CLOEXEC), 11, "open file write-only");
	lseek(s.wr.fd, 17, SEEK_SET);
	keep(&s.wr, s.wr.fd, -1, "file write-only");
	/* One open file description at two fds: one offset, cloexec per fd. */
	keep(&s.app, open(s.path, O_RDWR | O_APPEND), 12, "open file append");
	lseek(s.app.fd, 9, SEEK_SET);
	keep(&s.app, s.app.fd, -1, "file append");
	keep(&s.app_cloexec, fcntl(s.app.fd, F_DUPFD_CLOEXEC, HIGH_FD), -1, "dup cloexec");

	if (mkdir(s.dir_path, 0750))
		die("mkdir");
	keep(&s.dir, open(s.dir_path, O_RDONLY | O_DIRECTORY), 13, "open dir");

	snprintf(s.deleted_path, sizeof(s.deleted_path), "%s/deleted", prog_dir());
	fd = open(s.deleted_path, O_RDWR | O_CREAT | O_EXCL, 0604);
	if (fd < 0)
		die("create deleted file");
	write_all(fd, DELETED_BYTES, "fill deleted file");
	lseek(fd, 5, SEEK_SET);
	keep(&s.deleted, fd, 14, "deleted file");
	if (unlink(s.deleted_path))
		die("unlink");
}

static void check_files(void)
{
	char buf[64] = "";
	struct stat st;

	check_same(&s.rd, "read-only file");
	check_same(&s.wr, "write-only file");
	check_same(&s.app, "append file");
	check_same(&s.app_cloexec, "dup of append file");
	PROG_CHECK(stat(s.path, &st) == 0 && st.st_ino == s.rd.st.st_ino &&
		   st.st_ino == s.app.st.st_ino, "the files are not %s", s.path);
	PROG_CHECK(pread(s.rd.fd, buf, sizeof(buf), 0) == (ssize_t)strlen(FILE_BYTES) &&
		   !memcmp(buf, FILE_BYTES, strlen(FILE_BYTES)), "file contents");
	/* The dup shares the offset: moving one moves the other. */
	lseek(s.app_cloexec.fd, 21, SEEK_SET);
	PROG_CHECK(lseek(s.app.fd, 0, SEEK_CUR) == 21, "the dup has its own offset");
	/* O_APPEND writes at the end whatever the offset; then the file is
	 * put back, since the image of a leave-running dump still uses it. */
	PROG_CHECK(write(s.app.fd, "+", 1) == 1 &&
		   pread(s.rd.fd, buf, 1, strlen(FILE_BYTES)) == 1 && buf[0] == '+',
		   "O_APPEND did not write at the end");
	PROG_CHECK(ftruncate(s.app.fd, strlen(FILE_BYTES)) == 0, "truncate back");

	check_same(&s.dir, "directory");
	PROG_CHECK(s.dir.st.st_ino == (stat(s.dir_path, &st) ? 0 : st.st_ino), "directory %s",
		   s.dir_path);

	check_same(&s.deleted, "deleted file");
	PROG_CHECK(fstat(s.deleted.fd, &st) == 0 && st.st_nlink == 0 &&
		   (st.st_mode & 07777) == 0604, "deleted file: nlink %ju mode %o",
		   (uintmax_t)st.st_nlink, st.st_mode & 07777);
	PROG_CHECK(access(s.deleted_path, F_OK) != 0, "the deleted file reappeared");
	memset(buf, 0, sizeof(buf));
	PROG_CHECK(read(s.deleted.fd, buf, sizeof(buf)) == (ssize_t)strlen(DELETED_BYTES) - 5 &&
		   !strcmp(buf, DELETED_BYTES + 5), "deleted file contents from offset 5: '%s'",
		   buf);
}

/* ---- pipes and FIFOs ---------------------------------------------------------- */

static void setup_pipes(void)
{
	int p[2], rd;

	if (pipe2(p, O_NONBLOCK))
		die("pipe");
	write_all(p[1], PIPE_BYTES, "fill pipe");
	keep(&s.pipe_r, p[0], 20, "pipe read end");
	keep(&s.pipe_w, p[1], 21, "pipe write end");

	snprintf(s.fifo_path, sizeof(s.fifo_path), "%s/fifo", prog_dir());
	if (mkfifo(s.fifo_path, 0600))
		die("mkfifo");
	rd = open(s.fifo_path, O_RDONLY | O_NONBLOCK);
	keep(&s.fifo_r, rd, 22, "fifo read end");
	keep(&s.fifo_w, open(s.fifo_path, O_WRONLY), 23, "fifo write end");
	write_all(s.fifo_w.fd, FIFO_BYTES, "fill fifo");
}

/* @r holds exactly @bytes, and what is written at @w comes out at @r. */
static void check_stream(int r, int w, const char *bytes, const char *what)
{
	char buf[128] = "";
	ssize_t n = read(r, buf, sizeof(buf) - 1);

	PROG_CHECK(n == (ssize_t)strlen(bytes) && !strcmp(buf, bytes), "%s: read %zd bytes '%s'",
		   what, n, buf);
	PROG_CHECK(read(r, buf, 1) < 0 && errno == EAGAIN, "%s: more than its bytes", what);
	PROG_CHECK(write(w, "x", 1) == 1 && read(r, buf, 2) == 1 && buf[0] == 'x',
		   "%s: its ends are not connected", what);
}

static void check_pipes(void)
{
	struct stat st;

	check_same(&s.pipe_r, "pipe read end");
	check_same(&s.pipe_w, "pipe write end");
	check_same(&s.fifo_r, "fifo read end");
	check_same(&s.fifo_w, "fifo write end");
	check_stream(s.pipe_r.fd, s.pipe_w.fd, PIPE_BYTES, "pipe");
	check_stream(s.fifo_r.fd, s.fifo_w.fd, FIFO_BYTES, "fifo");
	PROG_CHECK(fstat(s.fifo_r.fd, &st) == 0 && st.st_ino == s.fifo_r.st.st_ino,
		   "the fifo is not %s", s.fifo_path);
}

/* ---- devices ---------------------------------------------------------------- */

static void setup_devices(void)
{
	keep(&s.null, open("/dev/null", O_WRONLY | O_APPEND), 30, "/dev/null");
	keep(&s.zero, open("/dev/zero", O_RDONLY | O_CLOEXEC), 31, "/dev/zero");
	keep(&s.urandom, open("/dev/urandom", O_RDONLY | O_NONBLOCK), 32, "/dev/urandom");
}

static void check_devices(void)
{
	static const struct {
		struct fd_state *st;
		unsigned int minor;
		const char *name;
	} devs[] = {
		{ &s.null, 3, "/dev/null" },
		{ &s.zero, 5, "/dev/zero" },
		{ &s.urandom, 9, "/dev/urandom" },
	};
	char buf[16] = "zzzz";
	struct stat st;

	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		check_same(devs[i].st, devs[i].name);
		PROG_CHECK(fstat(devs[i].st->fd, &st) == 0 &&
			   st.st_rdev == makedev(1, devs[i].minor), "%s: device %u:%u",
			   devs[i].name, major(st.st_rdev), minor(st.st_rdev));
	}
	PROG_CHECK(write(s.null.fd, "x", 1) == 1, "/dev/null write");
	PROG_CHECK(read(s.zero.fd, buf, 4) == 4 && !memcmp(buf, "\0\0\0\0", 4), "/dev/zero read");
	PROG_CHECK(read(s.urandom.fd, buf, sizeof(buf)) == sizeof(buf), "/dev/urandom read");
}

/* ---- memfd, eventfd, epoll, signalfd, timerfd, inotify -------------------------- */

static void setup_memfd(void)
{
	int fd = memfd_create("prog_fds memfd", MFD_ALLOW_SEALING);

	if (fd < 0)
		die("memfd_create");
	write_all(fd, MEMFD_BYTES, "fill memfd");
	/* A hole, then one more byte: the size and the hole come back too. */
	if (pwrite(fd, "!", 1, 1 << 20) != 1 || fchmod(fd, 0640) ||
	    fcntl(fd, F_ADD_SEALS, MEMFD_SEALS))
		die("memfd");
	lseek(fd, 4, SEEK_SET);
	keep(&s.memfd, fd, 40, "memfd");
}

static void check_memfd(void)
{
	char buf[64] = "", link[128] = "";
	struct stat st;

	check_same(&s.memfd, "memfd");
	PROG_CHECK(fcntl(s.memfd.fd, F_GET_SEALS) == MEMFD_SEALS, "memfd seals %#x",
		   fcntl(s.memfd.fd, F_GET_SEALS));
	PROG_CHECK(fstat(s.memfd.fd, &st) == 0 && st.st_size == (1 << 20) + 1 &&
		   (st.st_mode & 07777) == 0640, "memfd size %jd mode %o", (intmax_t)st.st_size,
		   st.st_mode & 07777);
	PROG_CHECK(pread(s.memfd.fd, buf, sizeof(buf), 0) == sizeof(buf) &&
		   !strcmp(buf, MEMFD_BYTES), "memfd contents '%s'", buf);
	PROG_CHECK(pread(s.memfd.fd, buf, 2, (1 << 20) - 1) == 2 && !memcmp(buf, "\0!", 2),
		   "memfd bytes after the hole");
	PROG_CHECK(readlink("/proc/self/fd/40", link, sizeof(link) - 1) > 0 &&
		   !strcmp(link, "/memfd:prog_fds memfd (deleted)"), "memfd name '%s'", link);
	PROG_CHECK(pwrite(s.memfd.fd, "x", 1, 2 << 20) < 0 && errno == EPERM,
		   "memfd grows despite F_SEAL_GROW");
}

static void setup_events(void)
{
	struct itimerspec its = { .it_interval = { 7, 0 }, .it_value = { 100, 0 } };
	struct itimerspec once = { .it_interval = { 3600, 0 }, .it_value = { 0, 1 } };
	struct epoll_event ev;
	char path[sizeof(s.watched)];
	sigset_t mask;
	int fd;

	keep(&s.efd_count, eventfd(42, EFD_NONBLOCK), 50, "eventfd");
	keep(&s.efd_sem, eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC), 51,
	     "eventfd semaphore");

	fd = epoll_create1(0);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 0x1111 };
	if (fd < 0 || epoll_ctl(fd, EPOLL_CTL_ADD, s.pipe_r.fd, &ev))
		die("epoll pipe");
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 0x2222 };
	if (epoll_ctl(fd, EPOLL_CTL_ADD, s.efd_count.fd, &ev))
		die("epoll eventfd");
	ev = (struct epoll_event){ .events = EPOLLOUT | EPOLLONESHOT, .data.u64 = 0x3333 };
	if (epoll_ctl(fd, EPOLL_CTL_ADD, s.fifo_w.fd, &ev))
		die("epoll fifo");
	keep(&s.epoll, fd, 52, "epoll");

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGRTMIN + 2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		die("sigprocmask");
	keep(&s.sigfd, signalfd(-1, &mask, SFD_NONBLOCK), 53, "signalfd");

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL))
		die("timerfd");
	keep(&s.timer, fd, 54, "timerfd");
	/* Expired once, not read: one tick waits, the next is an hour away. */
	fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
	if (fd < 0 || timerfd_settime(fd, 0, &once, NULL))
		die("timerfd ticks");
	usleep(10000);
	keep(&s.timer_ticks, fd, 55, "timerfd ticks");

	snprintf(s.watched, sizeof(s.watched), "%s/watched", prog_dir());
	if (mkdir(s.watched, 0700))
		die("mkdir watched");
	fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0 || inotify_add_watch(fd, s.dir_path, IN_DELETE) != 1)
		die("inotify dir");
	s.inotify_wd = inotify_add_watch(fd, s.watched, IN_CREATE | IN_EXCL_UNLINK);
	if (s.inotify_wd != 2)
		die("inotify watched");
	/* The path it was watched by leads nowhere now: dump finds the
	 * folder through its file handle (issue 11 item 9). */
	snprintf(path, sizeof(path), "%s/watched-moved", prog_dir());
	if (rename(s.watched, path))
		die("rename watched");
	snprintf(s.watched, sizeof(s.watched), "%s", path);
	keep(&s.inotify, fd, 56, "inotify");
}

/* The epoll's targets from its fdinfo: "tfd: N events: E data: D". The
 * kernel adds EPOLLERR and EPOLLHUP to what was asked. */
static bool epoll_has(int tfd, unsigned int events, unsigned long long data)
{
	const char *line = fdinfo(s.epoll.fd);

	while ((line = strstr(line, "tfd:"))) {
		unsigned int t, e;
		unsigned long long d;

		if (sscanf(line, "tfd: %u events: %x data: %llx", &t, &e, &d) == 3 &&
		    (int)t == tfd)
			return e == (events | EPOLLERR | EPOLLHUP) && d == data;
		line++;
	}
	return false;
}

static int epoll_targets(void)
{
	const char *line = fdinfo(s.epoll.fd);
	int n = 0;

	while ((line = strstr(line, "tfd:"))) {
		n++;
		line++;
	}
	return n;
}

/* Run before the pipe is drained: its data makes it ready. */
static void check_epoll_eventfd(void)
{
	unsigned long long seen = 0;
	struct epoll_event ev[4];
	uint64_t v;
	int n;

	check_same(&s.epoll, "epoll");
	PROG_CHECK(epoll_targets() == 3, "epoll has %d targets, not 3", epoll_targets());
	PROG_CHECK(epoll_has(s.pipe_r.fd, EPOLLIN, 0x1111), "epoll pipe target");
	PROG_CHECK(epoll_has(s.efd_count.fd, EPOLLIN | EPOLLET, 0x2222), "epoll eventfd target");
	PROG_CHECK(epoll_has(s.fifo_w.fd, EPOLLOUT | EPOLLONESHOT, 0x3333), "epoll fifo target");
	/* All three are ready once; then only the level-triggered pipe. */
	n = epoll_wait(s.epoll.fd, ev, 4, 0);
	for (int i = 0; i < n; i++)
		seen |= ev[i].data.u64;
	PROG_CHECK(n == 3 && seen == 0x3333, "epoll_wait gave %d events (data %#llx)", n, seen);
	n = epoll_wait(s.epoll.fd, ev, 4, 0);
	PROG_CHECK(n == 1 && ev[0].data.u64 == 0x1111, "second epoll_wait gave %d events", n);

	check_same(&s.efd_count, "eventfd");
	check_same(&s.efd_sem, "eventfd semaphore");
	PROG_CHECK(fdinfo_hex(s.efd_count.fd, "eventfd-count:") == 42, "eventfd count %#llx",
		   fdinfo_hex(s.efd_count.fd, "eventfd-count:"));
	PROG_CHECK(read(s.efd_count.fd, &v, 8) == 8 && v == 42, "eventfd count %" PRIu64, v);
	for (int i = 0; i < 3; i++)
		PROG_CHECK(read(s.efd_sem.fd, &v, 8) == 8 && v == 1, "eventfd semaphore read %d",
			   i);
	PROG_CHECK(read(s.efd_sem.fd, &v, 8) < 0 && errno == EAGAIN,
		   "eventfd semaphore counted more than 3");
}

static void check_events(void)
{
	struct signalfd_siginfo si;
	struct itimerspec its;
	union {
		struct inotify_event e;
		char buf[sizeof(struct inotify_event) + 256];
	} in;
	unsigned long long ticks;
	char name[64], path[4096 + 64];
	uint32_t rnd = 0;
	int n;

	check_same(&s.sigfd, "signalfd");
	PROG_CHECK(fdinfo_hex(s.sigfd.fd, "sigmask:") ==
		   (1ull << (SIGUSR1 - 1) | 1ull << (SIGRTMIN + 2 - 1)), "signalfd mask %#llx",
		   fdinfo_hex(s.sigfd.fd, "sigmask:"));
	raise(SIGUSR1);
	PROG_CHECK(read(s.sigfd.fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1,
		   "signalfd did not take SIGUSR1");

	check_same(&s.timer, "timerfd");
	PROG_CHECK(timerfd_gettime(s.timer.fd, &its) == 0 && its.it_interval.tv_sec == 7 &&
		   its.it_interval.tv_nsec == 0 && its.it_value.tv_sec < 100 &&
		   its.it_value.tv_sec > 40, "timerfd interval %lds, %lds left",
		   (long)its.it_interval.tv_sec, (long)its.it_value.tv_sec);
	PROG_CHECK(strstr(fdinfo(s.timer.fd), "clockid: 1\n") != NULL, "timerfd clock: %s",
		   fdinfo(s.timer.fd));
	check_same(&s.timer_ticks, "timerfd with a tick");
	PROG_CHECK(strstr(fdinfo(s.timer_ticks.fd), "clockid: 7\n") != NULL,
		   "timerfd boottime clock: %s", fdinfo(s.timer_ticks.fd));
	PROG_CHECK(read(s.timer_ticks.fd, &ticks, 8) == 8 && ticks == 1, "timerfd ticks %llu",
		   ticks);
	PROG_CHECK(timerfd_gettime(s.timer_ticks.fd, &its) == 0 &&
		   its.it_interval.tv_sec == 3600 && its.it_value.tv_sec > 3000,
		   "timerfd with a tick: interval %lds, %lds left", (long)its.it_interval.tv_sec,
		   (long)its.it_value.tv_sec);

	check_same(&s.inotify, "inotify");
	PROG_CHECK(read(s.inotify.fd, &in, sizeof(in)) < 0 && errno == EAGAIN,
		   "inotify has events nobody made");
	/* A fresh name each time: the image of a leave-running dump is
	 * restored after the original ran these checks. */
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)getpid();
	snprintf(name, sizeof(name), "new-%08x", rnd);
	snprintf(path, sizeof(path), "%s/%s", s.watched, name);
	n = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (n >= 0)
		close(n);
	unlink(path);
	PROG_CHECK(read(s.inotify.fd, &in, sizeof(in)) > 0 && in.e.wd == s.inotify_wd &&
		   (in.e.mask & IN_CREATE) && !strcmp(in.e.name, name),
		   "inotify: no IN_CREATE event for %s on wd %d", name, s.inotify_wd);
	PROG_CHECK(strstr(fdinfo(s.inotify.fd), "inotify wd:1 ") &&
		   strstr(fdinfo(s.inotify.fd), "mask:200 ") &&
		   strstr(fdinfo(s.inotify.fd), "inotify wd:2 ") &&
		   strstr(fdinfo(s.inotify.fd), "mask:4000100 "), "inotify watches: %s",
		   fdinfo(s.inotify.fd));
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	setup_files();
	setup_pipes();
	setup_devices();
	setup_memfd();
	setup_events();
	prog_ready();
	prog_wait_sigterm();

	check_files();
	check_epoll_eventfd();
	check_pipes();
	check_devices();
	check_memfd();
	check_events();
	prog_finish();
}
