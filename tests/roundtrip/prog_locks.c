/* File locks held by a tree, each by its own owner:
 *   - the root holds flock(LOCK_EX) on file A, through a description its
 *     first child inherits too;
 *   - the first child holds POSIX locks on file B (read on bytes 10-19,
 *     write from 100 to the end), and one its second thread took on bytes
 *     0-9 of file D (a POSIX lock belongs to the process, not the thread);
 *   - the second child holds an OFD write lock on bytes 5-7 of file C,
 *     through the description it inherited from the root.
 * After restore each checks its locks from fresh descriptions, which are
 * other owners: F_OFD_GETLK names the type, range and owner (the holder's
 * pid for POSIX, -1 for OFD), flock(LOCK_NB) fails with EWOULDBLOCK, and
 * the root's description of C is still the OFD lock's owner. The root
 * also checks that /proc/locks shows the same locks on A-D as before. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define NR_FILES 4
#define MAX_LINES 32

static const char *const names[NR_FILES] = { "A", "B", "C", "D" };
static int fd_a = -1, fd_c = -1;
static int ready_pipe[2];

static void file_path(int i, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", prog_dir(), names[i]);
}

static int open_file(int i, int flags)
{
	char path[4096];

	file_path(i, path, sizeof(path));
	return open(path, flags | O_CLOEXEC, 0644);
}

static void note_failure(const char *fmt, ...)
{
	char path[4096], msg[512];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/failures", prog_dir());
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "pid %d: %s\n", getpid(), msg);
		close(fd);
	}
}

static int posix_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* From a fresh description of file @i (another owner than any lock of the
 * tree): the lock F_OFD_GETLK finds over [@start, @start + @len) must be
 * @type over [@want_start, +@want_len) held by @pid. */
static bool expect_lock(int i, off_t start, off_t len, short type, off_t want_start,
			off_t want_len, pid_t pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start,
			    .l_len = len };
	int fd = open_file(i, O_RDWR);
	bool ok;

	if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl)) {
		note_failure("F_OFD_GETLK on %s: %s", names[i], strerror(errno));
		return false;
	}
	close(fd);
	ok = fl.l_type == type && (type == F_UNLCK ||
				   (fl.l_start == want_start && fl.l_len == want_len && fl.l_pid == pid));
	if (!ok)
		note_failure("%s bytes %lld+%lld: lock type %d on %lld+%lld of pid %d, expected type "
			     "%d on %lld+%lld of pid %d", names[i], (long long)start, (long long)len,
			     fl.l_type, (long long)fl.l_start, (long long)fl.l_len, fl.l_pid, type,
			     (long long)want_start, (long long)want_len, pid);
	return ok;
}

static int thread_lock_result, thread_done;

static void *thread_locker(void *arg)
{
	int fd = *(int *)arg;

	thread_lock_result = posix_lock(fd, F_SETLK, F_WRLCK, 0, 10);
	__atomic_store_n(&thread_done, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

/* POSIX locks on B, and on D from its second thread. */
static void __attribute__((noreturn)) posix_child(void)
{
	int fd_b = open_file(1, O_RDWR), fd_d = open_file(3, O_RDWR);
	pid_t me = getpid(), helper;
	pthread_t thread;
	int status = -1;
	bool ok = true;

	if (fd_b < 0 || fd_d < 0 || posix_lock(fd_b, F_SETLK, F_RDLCK, 10, 10) ||
	    posix_lock(fd_b, F_SETLK, F_WRLCK, 100, 0))
		_exit(70);
	if (pthread_create(&thread, NULL, thread_locker, &fd_d))
		_exit(71);
	while (!__atomic_load_n(&thread_done, __ATOMIC_SEQ_CST))
		usleep(1000);
	if (thread_lock_result)
		_exit(72);
	prog_child_ready(ready_pipe);
	prog_wait_sigterm();
	/* A close() here of any fd of B or D would drop this process's POSIX
	 * locks on it: a helper process looks. */
	helper = fork();
	if (helper == 0) {
		ok &= expect_lock(1, 0, 0, F_RDLCK, 10, 10, me);
		ok &= expect_lock(1, 20, 0, F_WRLCK, 100, 0, me);
		ok &= expect_lock(1, 20, 80, F_UNLCK, 0, 0, 0);
		ok &= expect_lock(3, 0, 0, F_WRLCK, 0, 10, me);
		_exit(ok ? 0 : 1);
	}
	if (helper < 0 || waitpid(helper, &status, 0) != helper || status) {
		note_failure("the helper that looks at B and D failed (status %#x)", status);
		ok = false;
	}
	/* The root's flock on A, through the description inherited here. */
	if (flock(fd_a, LOCK_EX | LOCK_NB)) {
		note_failure("flock through A's inherited description: %s", strerror(errno));
		ok = false;
	}
	_exit(ok ? 0 : 1);
}

/* An OFD lock on C through the description shared with the root. */
static void __attribute__((noreturn)) ofd_child(void)
{
	bool ok;

	close(fd_a);
	if (posix_lock(fd_c, F_OFD_SETLK, F_WRLCK, 5, 3))
		_exit(73);
	prog_child_ready(ready_pipe);
	prog_wait_sigterm();
	ok = expect_lock(2, 0, 0, F_WRLCK, 5, 3, -1);
	_exit(ok ? 0 : 1);
}

/* The lines of /proc/locks on A-D, without their ordinals, sorted. */
static int read_locks(char lines[MAX_LINES][128])
{
	char inos[NR_FILES][32], line[256];
	int n = 0;
	FILE *f = fopen("/proc/locks", "re");

	for (int i = 0; i < NR_FILES; i++) {
		char path[4096];
		struct stat st;

		file_path(i, path, sizeof(path));
		if (stat(path, &st))
			return -1;
		snprintf(inos[i], sizeof(inos[i]), ":%lu ", (unsigned long)st.st_ino);
	}
	while (f && fgets(line, sizeof(line), f)) {
		const char *text = strchr(line, ':');

		for (int i = 0; text && i < NR_FILES && n < MAX_LINES; i++)
			if (strstr(line, inos[i])) {
				snprintf(lines[n++], 128, "%s", text + 2);
				break;
			}
	}
	if (f)
		fclose(f);
	qsort(lines, n, 128, (int (*)(const void *, const void *))strcmp);
	return n;
}

int main(int argc, char **argv)
{
	char before[MAX_LINES][128], after[MAX_LINES][128], byte, path[4096], line[512];
	int nr_before, nr_after, nr_ready = 0, status, statuses[2];
	pid_t kids[2];
	FILE *f;

	prog_init(argc, argv);
	for (int i = 0; i < NR_FILES; i++) {
		int fd = open_file(i, O_RDWR | O_CREAT | O_TRUNC);

		if (fd < 0 || ftruncate(fd, 4096))
			return 1;
		close(fd);
	}
	fd_a = open_file(0, O_RDWR);
	fd_c = open_file(2, O_RDWR);
	if (fd_a < 0 || fd_c < 0 || flock(fd_a, LOCK_EX | LOCK_NB) || pipe(ready_pipe))
		return 1;
	kids[0] = fork();
	if (kids[0] == 0)
		posix_child();
	kids[1] = fork();
	if (kids[1] == 0)
		ofd_child();
	close(ready_pipe[1]);
	while (read(ready_pipe[0], &byte, 1) == 1)
		nr_ready++;
	close(ready_pipe[0]);
	PROG_CHECK(nr_ready == 2, "%d of 2 children got ready", nr_ready);
	nr_before = read_locks(before);
	PROG_CHECK(nr_before == 5, "%d locks on the files in /proc/locks, expected 5", nr_before);
	prog_ready();
	prog_wait_sigterm();

	nr_after = read_locks(after);
	PROG_CHECK(nr_after == nr_before, "%d locks on the files after restore, not %d", nr_after,
		   nr_before);
	for (int i = 0; i < nr_before && i < nr_after; i++)
		PROG_CHECK(!strcmp(before[i], after[i]), "/proc/locks shows '%.60s', was '%.60s'",
			   after[i], before[i]);
	{
		int fd = open_file(0, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		PROG_CHECK(fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK,
			   "flock of A from a fresh description: %s", strerror(errno));
		close(fd);
		/* The root's own description of C owns the OFD lock with the child. */
		PROG_CHECK(!fcntl(fd_c, F_OFD_GETLK, &fl) && fl.l_type == F_UNLCK,
			   "C's shared description meets a lock of type %d (%s)", fl.l_type,
			   strerror(errno));
	}
	for (int i = 0; i < 2; i++) {
		kill(kids[i], SIGTERM);
		statuses[i] = waitpid(kids[i], &status, 0) == kids[i] ? status : -1;
	}
	/* What the children found wrong says more than their statuses. */
	snprintf(path, sizeof(path), "%s/failures", prog_dir());
	f = fopen(path, "r");
	if (f) {
		if (fgets(line, sizeof(line), f))
			prog_fail("%s", line);
		fclose(f);
		unlink(path);
	}
	for (int i = 0; i < 2; i++)
		PROG_CHECK(statuses[i] == 0, "child %d ended with status %#x", kids[i], statuses[i]);
	prog_finish();
}
