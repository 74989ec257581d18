/* Round-trip program: terminals reopened by path keep their device, path
 * and flags: /dev/console, a virtual console (/dev/tty1) and a serial line
 * (/dev/ttyS0), whichever of them this machine has (at least one), opened
 * nonblocking and then made blocking, so that restore must open them
 * without waiting for a carrier and set the flags afterwards. Nothing is
 * written to them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static const char *const paths[] = { "/dev/console", "/dev/tty1", "/dev/ttyS0" };
#define NR (sizeof(paths) / sizeof(paths[0]))
#define FIRST_FD 20

struct held {
	bool open;
	dev_t rdev;
	int fl;
};

static struct held held[NR];

int main(int argc, char **argv)
{
	size_t nr_open = 0;

	prog_init(argc, argv);
	for (size_t i = 0; i < NR; i++) {
		int fd = open(paths[i], O_RDWR | O_NOCTTY | O_NONBLOCK);
		struct stat st;

		if (fd < 0 || !isatty(fd) || fstat(fd, &st))
			continue;
		/* The second stays nonblocking; the others are made blocking. */
		if (i != 1)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		if (dup2(fd, FIRST_FD + (int)i) != FIRST_FD + (int)i)
			return 1;
		close(fd);
		held[i] = (struct held){ true, st.st_rdev, fcntl(FIRST_FD + (int)i, F_GETFL) };
		nr_open++;
	}
	PROG_CHECK(nr_open > 0, "none of /dev/console, /dev/tty1, /dev/ttyS0 opens here");
	prog_ready();
	prog_wait_sigterm();
	for (size_t i = 0; i < NR; i++) {
		char link[64], want[64];
		struct stat st;
		ssize_t n;

		if (!held[i].open)
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", FIRST_FD + (int)i);
		n = readlink(link, want, sizeof(want) - 1);
		want[n > 0 ? n : 0] = '\0';
		PROG_CHECK(!strcmp(want, paths[i]), "fd %d is %s, not %s", FIRST_FD + (int)i, want,
			   paths[i]);
		PROG_CHECK(!fstat(FIRST_FD + (int)i, &st) && st.st_rdev == held[i].rdev &&
				   isatty(FIRST_FD + (int)i),
			   "%s is another device", paths[i]);
		PROG_CHECK(fcntl(FIRST_FD + (int)i, F_GETFL) == held[i].fl, "%s has flags %#o, not %#o",
			   paths[i], fcntl(FIRST_FD + (int)i, F_GETFL), held[i].fl);
	}
	prog_finish();
}
