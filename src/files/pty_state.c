/* The state of a pty pair that lives in the kernel's tty layer and not in
 * an fd: termios and window size, and the bytes queued for each end to
 * read, which no call can peek at. They are read out (the queue drained)
 * and written straight back with TIOCSTI, so the dumped task finds them as
 * they were whatever becomes of the dump. The pty kind (pty.c) is the only
 * user; this file knows nothing of images but PtyTermios. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <asm/termbits.h>

#include "files/pty.h"

int pty_termios_get(int fd, PtyTermios *t)
{
	struct termios2 tio;
	struct winsize ws;

	if (ioctl(fd, TCGETS2, &tio) || ioctl(fd, TIOCGWINSZ, &ws))
		return -errno;
	t->iflag = tio.c_iflag;
	t->oflag = tio.c_oflag;
	t->cflag = tio.c_cflag;
	t->lflag = tio.c_lflag;
	t->line = tio.c_line;
	t->cc.data = malloc(sizeof(tio.c_cc));
	if (!t->cc.data)
		return -ENOMEM;
	memcpy(t->cc.data, tio.c_cc, sizeof(tio.c_cc));
	t->cc.len = sizeof(tio.c_cc);
	t->ispeed = tio.c_ispeed;
	t->ospeed = tio.c_ospeed;
	t->rows = ws.ws_row;
	t->cols = ws.ws_col;
	t->xpixel = ws.ws_xpixel;
	t->ypixel = ws.ws_ypixel;
	return 0;
}

bool pty_termios_valid(const PtyTermios *t)
{
	return t->cc.len == NCCS && t->line < 256 && t->rows <= 0xffff && t->cols <= 0xffff &&
	       t->xpixel <= 0xffff && t->ypixel <= 0xffff;
}

static void termios_from(const PtyTermios *t, struct termios2 *tio)
{
	memset(tio, 0, sizeof(*tio));
	tio->c_iflag = t->iflag;
	tio->c_oflag = t->oflag;
	tio->c_cflag = t->cflag;
	tio->c_lflag = t->lflag;
	tio->c_line = (cc_t)t->line;
	memcpy(tio->c_cc, t->cc.data, sizeof(tio->c_cc));
	tio->c_ispeed = t->ispeed;
	tio->c_ospeed = t->ospeed;
}

int pty_termios_set(int fd, const PtyTermios *t)
{
	struct winsize ws = { .ws_row = (unsigned short)t->rows, .ws_col = (unsigned short)t->cols,
			      .ws_xpixel = (unsigned short)t->xpixel,
			      .ws_ypixel = (unsigned short)t->ypixel };
	struct termios2 tio;

	termios_from(t, &tio);
	if (ioctl(fd, TCSETS2, &tio) || ioctl(fd, TIOCSWINSZ, &ws))
		return -errno;
	return 0;
}

bool pty_termios_canonical(const PtyTermios *t)
{
	return t->lflag & ICANON;
}

/* The slave's termios with input taken as it comes: no echo, no signals,
 * no translation. IXON, IXOFF and EXTPROC stay, so that a master in packet
 * mode is sent no status for the change. Canonical mode is never on here
 * (pty_queue_push() refuses it). */
static void termios_verbatim(struct termios2 *tio)
{
	tio->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | IGNPAR | PARMRK | INPCK | ISTRIP | INLCR |
				    IGNCR | ICRNL | IUCLC | IMAXBEL);
	tio->c_lflag &= ~(tcflag_t)(ISIG | ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT |
				    ECHOKE | IEXTEN);
}

int pty_queue_count(int fd, size_t *out)
{
	int n;

	if (ioctl(fd, TIOCINQ, &n))
		return -errno;
	*out = n > 0 ? (size_t)n : 0;
	return 0;
}

int pty_queue_drain(int fd, size_t len, char **out)
{
	char *buf = malloc(len + 1);
	size_t got = 0;

	if (!buf)
		return -ENOMEM;
	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		/* Only bytes already queued: never wait for more. */
		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
			break;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

/* TIOCSTI hands each byte to the line discipline at once, as if it had
 * been received: it is queued before the ioctl returns. */
static int push_bytes(int fd, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ioctl(fd, TIOCSTI, &buf[i]))
			return -errno;
	return 0;
}

int pty_queue_push(int tty_fd, int termios_fd, const char *buf, size_t len)
{
	struct termios2 saved, verbatim;
	int ret = 0;

	if (!len)
		return 0;
	if (termios_fd < 0)
		return push_bytes(tty_fd, buf, len);
	if (ioctl(termios_fd, TCGETS2, &saved))
		return -errno;
	if (saved.c_lflag & ICANON)
		return -EINVAL;
	verbatim = saved;
	termios_verbatim(&verbatim);
	if (ioctl(termios_fd, TCSETS2, &verbatim))
		return -errno;
	ret = push_bytes(tty_fd, buf, len);
	if (ioctl(termios_fd, TCSETS2, &saved) && !ret)
		ret = -errno;
	return ret;
}
