/* Round trips through files_dump(), files_load() and files_restore() of fds
 * that name a path or a device (pipes, FIFOs, regular, deleted and device
 * files, directories, O_PATH, a shell job's terminal): the original keeps
 * its state, the restored child has the same fds with the same flags,
 * positions, contents and kernel state; fds cryo cannot restore fail the
 * dump by name. Anonymous kinds are test_files_anon.c's, pidfds and fds
 * shared by tasks test_files_pidfd.c's. */
#include <linux/if_packet.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
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

/* ---- no fd at all ----------------------------------------------------------------- */

static int no_fds_setup(void)
{
	close_range(0, ~0u, 0);
	return 0;
}

/* The original still has none; the restored child (forked from the test,
 * its stdio open) is checked by round_trip_with() to have no fd below
 * files_max_fd() the original lacked. */
static int no_fds_verify(void)
{
	if (getsid(0) == getpid() && fcntl(0, F_GETFD) >= 0)
		return fail("the original has fd 0 again");
	return 0;
}

/* A task that closed every fd, stdio included, has an empty table: its
 * dump sorted a NULL list (the sanitizer build stopped there). */
TEST(task_without_any_fd_round_trips)
{
	round_trip(no_fds_setup, no_fds_verify);
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

/* The original, a session leader with no terminal (run_original), takes
 * the pty as its terminal. */
static int shell_setup(void)
{
	if (getsid(0) != getpid() || place(open(pty_name, O_RDWR), 10) || dup2(10, 11) != 11)
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

/* A socket its kind refuses: a packet socket with a TX ring whose every
 * frame has been written and none waits to be sent (where the kernel
 * sends next cannot be told). */
static int socket_setup(void)
{
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 1,
				   .tp_frame_size = 2048, .tp_frame_nr = 2 };
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	struct tpacket_hdr *mem;

	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)))
		return fail("packet socket with a ring: %s", strerror(errno));
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return fail("mapping its ring: %s", strerror(errno));
	mem->tp_len = ((struct tpacket_hdr *)((char *)mem + 2048))->tp_len = 60;
	munmap(mem, 4096);
	return place(fd, 10);
}

TEST(socket_fails_dump_naming_fd)
{
	expect_dump_refused(socket_setup, false, "dump: pid %d fd 10 (socket:[");
	expect_dump_refused(socket_setup, false, "): TX ring gone round with every frame sent");
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
