/* For test_terminals: a pty pair in canonical mode (the default) with a
 * line typed into the master and not read yet, which cryo cannot save.
 * After the refused dump the line must still be there for the slave, and
 * its echo for the master. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "prog.h"

#define LINE "a typed line\n"

int main(int argc, char **argv)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK), slave, unlock = 0;
	char buf[64] = "";
	ssize_t n;

	prog_init(argc, argv);
	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock))
		return 1;
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (slave < 0 || write(master, LINE, strlen(LINE)) != (ssize_t)strlen(LINE))
		return 1;
	usleep(100 * 1000);
	prog_ready();
	prog_wait_sigterm();
	n = read(slave, buf, sizeof(buf) - 1);
	PROG_CHECK(n == (ssize_t)strlen(LINE) && !strcmp(buf, LINE), "the slave read %zd bytes '%s'",
		   n, buf);
	memset(buf, 0, sizeof(buf));
	n = read(master, buf, sizeof(buf) - 1);
	PROG_CHECK(n == (ssize_t)strlen(LINE) + 1 && !strcmp(buf, "a typed line\r\n"),
		   "the master read %zd bytes of echo '%s'", n, buf);
	prog_finish();
}
