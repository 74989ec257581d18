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

/* The slave's termios with input taken as it comes: no echo, no signals,
 * no translation. ICANON, IXON, IXOFF and EXTPROC stay: switching
 * canonical mode would turn what is queued into one line, and a master in
 * packet mode would be sent a status for the others. In canonical mode
 * literal-next is on, with a character (escape_char()), so that the lines
 * drain_lines() saved, escaped, are the same lines again. */
static cc_t escape_char(const struct termios2 *saved);

static void termios_verbatim(struct termios2 *tio)
{
	tio->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | IGNPAR | PARMRK | INPCK | ISTRIP | INLCR |
				    IGNCR | ICRNL | IUCLC | IMAXBEL);
	tio->c_lflag &= ~(tcflag_t)(ISIG | ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT |
				    ECHOKE);
	if (tio->c_lflag & ICANON) {
		tio->c_cc[VLNEXT] = escape_char(tio);
		tio->c_lflag |= IEXTEN;
	} else {
		tio->c_lflag &= ~(tcflag_t)IEXTEN;
	}
}

int pty_queue_count(int fd, size_t *out)
{
	int n;

	if (ioctl(fd, TIOCINQ, &n))
		return -errno;
	*out = n > 0 ? (size_t)n : 0;
	return 0;
}

/* Raw: exactly @len bytes, already queued. */
static int drain_raw(int fd, size_t len, char *buf)
{
	size_t got = 0;

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
	return got == len ? 0 : -EIO;
}

/* The literal-next character the verbatim termios of a canonical slave
 * has (its own, or ^V when it has none), which escapes the characters
 * below when the lines are queued again. */
static cc_t escape_char(const struct termios2 *saved)
{
	return saved->c_cc[VLNEXT] ? saved->c_cc[VLNEXT] : 0x16;
}

/* Whether @c ends a line under @tio, as the line discipline has it (a
 * disabled character is 0, and NUL then matches it). */
static bool ends_line(const struct termios2 *tio, unsigned char c)
{
	return c == '\n' || c == tio->c_cc[VEOL] ||
	       ((tio->c_lflag & IEXTEN) && c == tio->c_cc[VEOL2]);
}

/* Whether the line discipline, canonical under @v (verbatim: IEXTEN on,
 * ECHO and ISIG off), acts on @c rather than queue it. */
static bool acts_on(const struct termios2 *v, unsigned char c)
{
	static const int specials[] = { VERASE, VKILL, VWERASE, VLNEXT, VEOF, VEOL, VEOL2 };

	if (c == '\n')
		return true;
	for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
		if (c == v->c_cc[specials[i]])
			return true;
	return (v->c_iflag & IXON) && (c == v->c_cc[VSTART] || c == v->c_cc[VSTOP]);
}

/* Canonical: the complete lines, one per read(), written to @buf (@cap
 * bytes) as they must be queued again: each character the line discipline
 * would act on escaped with the literal-next character, then the line's
 * end (the EOF character when read() left it out). */
static int drain_lines(int fd, const struct termios2 *saved, char *buf, size_t cap, size_t *len)
{
	struct termios2 v = *saved;
	size_t got = 0;

	termios_verbatim(&v);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		unsigned char line[4096];
		size_t body;
		ssize_t n;

		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
			break;
		n = read(fd, line, sizeof(line));
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		body = n && ends_line(saved, line[n - 1]) ? (size_t)n - 1 : (size_t)n;
		if (got + 2 * (size_t)n + 1 > cap)
			return -EIO;
		for (size_t i = 0; i < body; i++) {
			if (acts_on(&v, line[i]))
				buf[got++] = (char)v.c_cc[VLNEXT];
			buf[got++] = (char)line[i];
		}
		buf[got++] = (char)(body < (size_t)n ? line[n - 1] : saved->c_cc[VEOF]);
	}
	*len = got;
	return 0;
}

int pty_queue_drain(int fd, bool slave, size_t queued, char **out, size_t *len)
{
	/* Escapes may double a line, and an EOF line counts nothing. */
	size_t cap = 2 * queued + 64;
	char *buf = malloc(cap);
	struct termios2 tio;
	int ret;

	if (!buf)
		return -ENOMEM;
	/* A master's own termios are always raw; TCGETS2 through it would
	 * read the slave's. */
	ret = slave && ioctl(fd, TCGETS2, &tio) ? -errno : 0;
	if (!slave)
		tio.c_lflag = 0;
	/* Canonical with EXTPROC: lines cryo cannot tell from their count. */
	if (!ret && (tio.c_lflag & (ICANON | EXTPROC)) == (ICANON | EXTPROC))
		ret = -EOPNOTSUPP;
	else if (!ret && (tio.c_lflag & ICANON)) {
		ret = drain_lines(fd, &tio, buf, cap, len);
	} else if (!ret) {
		ret = drain_raw(fd, queued, buf);
		*len = queued;
	}
	if (ret) {
		free(buf);
		return ret;
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
	verbatim = saved;
	termios_verbatim(&verbatim);
	if (ioctl(termios_fd, TCSETS2, &verbatim))
		return -errno;
	ret = push_bytes(tty_fd, buf, len);
	if (ioctl(termios_fd, TCSETS2, &saved) && !ret)
		ret = -errno;
	return ret;
}
