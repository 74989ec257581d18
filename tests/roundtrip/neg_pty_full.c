/* For test_terminals: the slave of a pty wrote more than cryo can read out
 * and put back in order (the master's queue is nearly full, and the tty
 * layer may hold more behind it). After the refused dump the master must
 * still read every byte, in order. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "prog.h"

#define WRITTEN 4000

int main(int argc, char **argv)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK), slave, unlock = 0;
	char out[WRITTEN], in[WRITTEN + 64];
	size_t got = 0;

	prog_init(argc, argv);
	for (size_t i = 0; i < WRITTEN; i++)
		out[i] = (char)('a' + i % 26);
	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock))
		return 1;
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK);
	/* Raw output: the master reads the bytes as written. */
	if (slave < 0 || ioctl(slave, TCFLSH, TCIOFLUSH))
		return 1;
	{
		struct termios t;

		if (tcgetattr(slave, &t))
			return 1;
		cfmakeraw(&t);
		if (tcsetattr(slave, TCSANOW, &t) || write(slave, out, WRITTEN) != WRITTEN)
			return 1;
	}
	usleep(200 * 1000);
	prog_ready();
	prog_wait_sigterm();
	for (;;) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 500) != 1)
			break;
		n = read(master, in + got, sizeof(in) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	PROG_CHECK(got == WRITTEN && !memcmp(in, out, WRITTEN), "the master read %zu bytes%s", got,
		   got == WRITTEN ? " in another order" : "");
	prog_finish();
}
