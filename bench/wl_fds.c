/* Bench workload: COUNT (first argument) open fds, PIPES (second) of them
 * pipe ends, each pipe holding 8 unread bytes; of the rest, a third are
 * eventfds holding a count and two thirds are one regular file opened again
 * and again, each at its own offset. It raises its soft limit on open files
 * as far as it needs. After restore every fd is checked: its kind, its
 * state, and that both ends of each pipe still meet. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pattern.h"

enum fd_kind { FD_PIPE_READ, FD_PIPE_WRITE, FD_EVENT, FD_FILE };

struct fd_entry {
	int fd;
	enum fd_kind kind;
	int peer;		/* pipes: the other end */
	uint64_t value;		/* pipes: the bytes; eventfds: the count; files: the offset */
};

static bool check_fd(const struct fd_entry *e, ino_t file_ino)
{
	struct stat st;
	uint64_t v;

	if (fstat(e->fd, &st))
		return prog_fail("fd %d is closed", e->fd);
	switch (e->kind) {
	case FD_PIPE_READ:
		if (!S_ISFIFO(st.st_mode) || read(e->fd, &v, 8) != 8 || v != e->value)
			return prog_fail("pipe fd %d lost its unread bytes", e->fd);
		/* The ends must still be one pipe. */
		v = ~e->value;
		if (write(e->peer, &v, 8) != 8 || read(e->fd, &v, 8) != 8 || v != ~e->value)
			return prog_fail("pipe fds %d and %d no longer meet", e->fd, e->peer);
		return true;
	case FD_PIPE_WRITE:
		return PROG_CHECK(S_ISFIFO(st.st_mode) && (fcntl(e->fd, F_GETFL) & O_ACCMODE) == O_WRONLY,
				  "fd %d", e->fd);
	case FD_EVENT:
		return PROG_CHECK(read(e->fd, &v, 8) == 8 && v == e->value, "eventfd %d", e->fd);
	case FD_FILE:
		return PROG_CHECK(st.st_ino == file_ino &&
				  lseek(e->fd, 0, SEEK_CUR) == (off_t)e->value, "file fd %d", e->fd);
	}
	return false;
}

int main(int argc, char **argv)
{
	struct fd_entry *fds;
	uint64_t count, pipes, nr = 0;
	char path[4200];
	struct rlimit lim;
	struct stat st;
	int file;

	prog_init(argc, argv);
	if (optind + 1 >= argc)
		return 2;
	count = strtoull(argv[optind], NULL, 0);
	pipes = strtoull(argv[optind + 1], NULL, 0);
	fds = calloc(count, sizeof(*fds));
	if (!fds || getrlimit(RLIMIT_NOFILE, &lim))
		return 2;
	if (lim.rlim_cur < count + 64) {
		lim.rlim_cur = count + 64;
		if (setrlimit(RLIMIT_NOFILE, &lim)) {
			fprintf(stderr, "cannot raise the open-files limit to %llu\n",
				(unsigned long long)lim.rlim_cur);
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/fds.data", prog_dir());
	file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file < 0 || fstat(file, &st))
		return 2;
	fds[nr++] = (struct fd_entry){ .fd = file, .kind = FD_FILE };
	for (uint64_t ends = 0; ends + 2 <= pipes && nr + 2 <= count; ends += 2) {
		int p[2];

		if (pipe(p))
			return 2;
		fds[nr] = (struct fd_entry){ p[0], FD_PIPE_READ, p[1], 0x5049504500000000ull | nr };
		fds[nr + 1] = (struct fd_entry){ p[1], FD_PIPE_WRITE, p[0], 0 };
		if (write(p[1], &fds[nr].value, 8) != 8)
			return 2;
		nr += 2;
	}
	for (uint64_t files = 0; nr < count; files++) {
		if (files % 3 == 0) {
			fds[nr].fd = eventfd(nr, 0);
			fds[nr].kind = FD_EVENT;
		} else {
			fds[nr].fd = open(path, O_RDONLY);
			fds[nr].kind = FD_FILE;
			if (fds[nr].fd >= 0 && lseek(fds[nr].fd, nr, SEEK_SET) < 0)
				return 2;
		}
		if (fds[nr].fd < 0)
			return 2;
		fds[nr].value = nr;
		nr++;
	}
	prog_ready();
	prog_wait_sigterm();
	for (uint64_t i = 0; i < nr; i++)
		if (!check_fd(&fds[i], st.st_ino))
			break;
	prog_finish();
}
