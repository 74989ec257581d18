/* Round-trip program: pty pairs held by one process keep their state. Pair
 * A: its /dev/pts index, termios (non-canonical, no echo, own control
 * characters and speed), window size, packet mode, the slave's exclusive
 * mode, a nonblocking master at fd 10 (cloexec) and slave at fd 11, and
 * unread bytes both ways (what the slave wrote, after output processing,
 * for the master; bytes written to the master for the slave). Pair B: a
 * locked pty whose slave was opened before the lock. Pair C: a master
 * whose slave was opened and closed (hung up). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <asm/termbits.h>

#include "prog.h"

#define A_MASTER 10
#define A_SLAVE 11
#define B_MASTER 12
#define B_SLAVE 13
#define C_MASTER 14

/* Written by the slave with ONLCR: the master reads "\r\n". */
#define TO_MASTER "from the slave\n"
#define TO_MASTER_READ "from the slave\r\n"
/* Bytes the line discipline would act on in canonical or signal mode. */
#define TO_SLAVE "to the slave \x7f\x03\x15\r!"

static unsigned int index_of[3];
static struct termios2 saved_tio;
static struct winsize saved_ws = { .ws_row = 37, .ws_col = 101, .ws_xpixel = 7, .ws_ypixel = 9 };

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_pty: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void place(int fd, int at, int cloexec)
{
	if (fd < 0 || (fd != at && dup3(fd, at, cloexec) != at))
		die("place");
	if (fd != at)
		close(fd);
	else if (cloexec)
		fcntl(at, F_SETFD, FD_CLOEXEC);
}

/* A new pair: the master at @m, the slave (opened through it) at @s, or
 * none with @s < 0. */
static unsigned int open_pair(int m, int s, int master_flags)
{
	int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | master_flags), unlock = 0;
	unsigned int index;

	if (fd < 0 || ioctl(fd, TIOCSPTLCK, &unlock) || ioctl(fd, TIOCGPTN, &index))
		die("/dev/ptmx");
	place(fd, m, master_flags & O_CLOEXEC ? O_CLOEXEC : 0);
	if (s >= 0)
		place(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY), s, 0);
	return index;
}

static void set_up(void)
{
	int one = 1, slave;

	index_of[0] = open_pair(A_MASTER, A_SLAVE, O_NONBLOCK | O_CLOEXEC);
	if (ioctl(A_SLAVE, TCGETS2, &saved_tio))
		die("TCGETS2");
	saved_tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	saved_tio.c_iflag &= ~(tcflag_t)ICRNL;
	saved_tio.c_oflag |= OPOST | ONLCR;
	saved_tio.c_cc[VMIN] = 3;
	saved_tio.c_cc[VTIME] = 7;
	saved_tio.c_cc[VERASE] = 0x08;
	saved_tio.c_cflag = (saved_tio.c_cflag & ~(tcflag_t)CBAUD) | BOTHER;
	saved_tio.c_ospeed = saved_tio.c_ispeed = 12345;
	if (ioctl(A_SLAVE, TCSETS2, &saved_tio) || ioctl(A_SLAVE, TCGETS2, &saved_tio) ||
	    ioctl(A_MASTER, TIOCSWINSZ, &saved_ws) || ioctl(A_SLAVE, TIOCEXCL) ||
	    ioctl(A_MASTER, TIOCPKT, &one))
		die("pair A's state");
	if (write(A_SLAVE, TO_MASTER, strlen(TO_MASTER)) != (ssize_t)strlen(TO_MASTER) ||
	    write(A_MASTER, TO_SLAVE, strlen(TO_SLAVE)) != (ssize_t)strlen(TO_SLAVE))
		die("write");
	/* Let the tty layer hand both to the line disciplines. */
	usleep(100 * 1000);

	index_of[1] = open_pair(B_MASTER, B_SLAVE, 0);
	if (ioctl(B_MASTER, TIOCSPTLCK, &one))
		die("lock");

	index_of[2] = open_pair(C_MASTER, -1, 0);
	slave = ioctl(C_MASTER, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		die("pair C's slave");
	close(slave);
}

static bool check_index(int master, int slave, unsigned int want, const char *what)
{
	unsigned int index = ~0u;
	struct stat st;
	bool ok = PROG_CHECK(!ioctl(master, TIOCGPTN, &index) && index == want,
			     "%s: index %u, not %u", what, index, want);

	if (slave >= 0)
		ok &= PROG_CHECK(!fstat(slave, &st) && minor(st.st_rdev) == want &&
					 major(st.st_rdev) == 136,
				 "%s: the slave is %u:%u", what, major(st.st_rdev),
				 minor(st.st_rdev));
	return ok;
}

static int get_int(int fd, unsigned long req)
{
	int v = -1;

	return ioctl(fd, req, &v) ? -1 : v;
}

static void check_pair_a(void)
{
	char buf[256] = "";
	struct termios2 tio;
	struct winsize ws;
	ssize_t n;

	check_index(A_MASTER, A_SLAVE, index_of[0], "pair A");
	PROG_CHECK(!ioctl(A_SLAVE, TCGETS2, &tio) && !memcmp(&tio, &saved_tio, sizeof(tio)),
		   "termios differ: lflag %#x/%#x ospeed %u/%u", tio.c_lflag, saved_tio.c_lflag,
		   tio.c_ospeed, saved_tio.c_ospeed);
	PROG_CHECK(!ioctl(A_SLAVE, TIOCGWINSZ, &ws) && !memcmp(&ws, &saved_ws, sizeof(ws)),
		   "window %ux%u", ws.ws_row, ws.ws_col);
	PROG_CHECK(get_int(A_MASTER, TIOCGPKT) == 1, "packet mode is %d",
		   get_int(A_MASTER, TIOCGPKT));
	PROG_CHECK(get_int(A_SLAVE, TIOCGEXCL) == 1, "the slave is not exclusive");
	PROG_CHECK(get_int(A_MASTER, TIOCGEXCL) == 0, "the master is exclusive");
	PROG_CHECK(fcntl(A_MASTER, F_GETFL) & O_NONBLOCK, "the master is blocking");
	PROG_CHECK(fcntl(A_MASTER, F_GETFD) == FD_CLOEXEC, "the master lost cloexec");
	/* Packet mode: a data packet starts with TIOCPKT_DATA. */
	n = read(A_MASTER, buf, sizeof(buf) - 1);
	PROG_CHECK(n == (ssize_t)strlen(TO_MASTER_READ) + 1 && buf[0] == TIOCPKT_DATA &&
			   !memcmp(buf + 1, TO_MASTER_READ, n - 1),
		   "the master read %zd bytes '%.*s'", n, (int)(n > 1 ? n - 1 : 0), buf + 1);
	memset(buf, 0, sizeof(buf));
	n = read(A_SLAVE, buf, sizeof(buf) - 1);
	PROG_CHECK(n == (ssize_t)strlen(TO_SLAVE) && !memcmp(buf, TO_SLAVE, n),
		   "the slave read %zd bytes '%s'", n, buf);
	/* Nothing more, and nothing echoed. */
	PROG_CHECK(read(A_MASTER, buf, sizeof(buf)) < 0 && errno == EAGAIN,
		   "the master has more to read");
}

static void check_pairs_b_c(void)
{
	struct pollfd pfd = { .fd = C_MASTER, .events = POLLIN };

	check_index(B_MASTER, B_SLAVE, index_of[1], "pair B");
	PROG_CHECK(get_int(B_MASTER, TIOCGPTLCK) == 1, "pair B is not locked");
	PROG_CHECK(get_int(A_MASTER, TIOCGPTLCK) == 0, "pair A is locked");
	check_index(C_MASTER, -1, index_of[2], "pair C");
	PROG_CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP),
		   "pair C's master is not hung up (revents %#x)", pfd.revents);
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	set_up();
	prog_ready();
	prog_wait_sigterm();
	check_pair_a();
	check_pairs_b_c();
	prog_finish();
}
