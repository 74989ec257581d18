/* Round-trip program: lines typed into a pty in canonical mode (the
 * default termios) and not read yet come back as the same lines: one
 * ended by a newline, one ended by EOF (^D, which read() leaves out), an
 * empty EOF line, and one holding characters the line discipline acts on,
 * typed escaped with ^V (erase, a newline, ^V itself, ^D). The echo the
 * slave wrote is still there for the master. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "prog.h"

#define MASTER 10
#define SLAVE 11

/* What is typed, and what each read() of the slave must return. */
#define TYPED "first line\n" "no newline\x04" "\x04" "esc \x16\x7f \x16\n \x16\x16 \x16\x04 end\n"
static const char *const lines[] = { "first line\n", "no newline", "",
				     "esc \x7f \n \x16 \x04 end\n" };
#define NR_LINES (sizeof(lines) / sizeof(lines[0]))

static char echo_before[512];
static ssize_t echo_len;

int main(int argc, char **argv)
{
	int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK), unlock = 0;

	prog_init(argc, argv);
	if (fd < 0 || dup2(fd, MASTER) != MASTER || ioctl(MASTER, TIOCSPTLCK, &unlock))
		return 1;
	fd = ioctl(MASTER, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || dup2(fd, SLAVE) != SLAVE)
		return 1;
	if (write(MASTER, TYPED, strlen(TYPED)) != (ssize_t)strlen(TYPED))
		return 1;
	usleep(100 * 1000);
	/* The echo waits for the master: noted (read, and queued again as it
	 * was) to be compared after restore. */
	echo_len = read(MASTER, echo_before, sizeof(echo_before));
	if (echo_len <= 0)
		return 1;
	for (ssize_t i = 0; i < echo_len; i++)
		if (ioctl(MASTER, TIOCSTI, &echo_before[i]))
			return 1;
	prog_ready();
	prog_wait_sigterm();
	for (size_t i = 0; i < NR_LINES; i++) {
		char buf[256] = "";
		ssize_t n = read(SLAVE, buf, sizeof(buf) - 1);

		PROG_CHECK(n == (ssize_t)strlen(lines[i]) && !memcmp(buf, lines[i], (size_t)n),
			   "line %zu: read %zd bytes '%s', not '%s'", i, n, buf, lines[i]);
	}
	PROG_CHECK(read(SLAVE, (char[8]){ 0 }, 8) < 0 && errno == EAGAIN, "the slave has more");
	{
		char buf[512];
		ssize_t n = read(MASTER, buf, sizeof(buf));

		PROG_CHECK(n == echo_len && !memcmp(buf, echo_before, (size_t)n),
			   "the master read %zd bytes, not the %zd of echo", n, echo_len);
	}
	prog_finish();
}
