/* Round-trip program: unix sockets on their own. Unbound ones of each
 * type; a stream listener bound to a path whose file has mode 0640 and
 * owner 1001:1002; an abstract datagram socket; an autobound one; one whose
 * file was unlinked after bind (a ghost); a datagram socket that received
 * from many senders (unnamed, and named by a name since closed) and one
 * connected to it that is not connected back; options (SO_PASSCRED,
 * SO_KEEPALIVE, SO_PRIORITY, SO_MARK, SO_RCVLOWAT, buffers of two sizes,
 * timeouts, SO_LINGER, a BPF filter, SO_ZEROCOPY and SO_REUSEPORT where the
 * kernel lets them be set) and O_NONBLOCK. On SIGTERM: the same names,
 * file and options, each record with its sender, and each socket works. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

struct named {
	const char *what;
	int fd;
	struct sockaddr_un addr;
	socklen_t len;
};

enum { UNB_STREAM, UNB_DGRAM, UNB_SEQ, LISTENER, ABSTRACT, AUTO, GHOST, INBOX, CONNECTED,
       OPTS, NR };

static struct named s[NR] = {
	[UNB_STREAM] = { .what = "unbound stream" },
	[UNB_DGRAM] = { .what = "unbound datagram" },
	[UNB_SEQ] = { .what = "unbound seqpacket" },
	[LISTENER] = { .what = "listener on a path" },
	[ABSTRACT] = { .what = "abstract datagram" },
	[AUTO] = { .what = "autobound datagram" },
	[GHOST] = { .what = "ghost datagram" },
	[INBOX] = { .what = "datagram inbox" },
	[CONNECTED] = { .what = "datagram connected one way" },
	[OPTS] = { .what = "stream with options" },
};

static const int types[NR] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, SOCK_DGRAM,
			       SOCK_DGRAM, SOCK_DGRAM, SOCK_DGRAM, SOCK_DGRAM, SOCK_STREAM };

/* "accept everything": a filter that is there without changing anything. */
static struct sock_filter accept_all[] = { BPF_STMT(BPF_RET | BPF_K, 0xffff) };

struct option {
	int name, value;
} opts[] = {
	{ SO_PASSCRED, 1 }, { SO_KEEPALIVE, 1 }, { SO_PRIORITY, 5 }, { SO_MARK, 77 },
	{ SO_RCVLOWAT, 3 }, { SO_SNDBUF, 0 }, { SO_RCVBUF, 0 },
};

static struct option refused[] = { { SO_ZEROCOPY, 0 }, { SO_REUSEPORT, 0 } };
static struct sockaddr_un sender_name;
static socklen_t sender_len;
static char listener_path[108];
static struct stat listener_file;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_unix_kinds: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static void bind_to(int i, const char *path, bool abstract)
{
	s[i].addr.sun_family = AF_UNIX;
	snprintf(s[i].addr.sun_path + abstract, sizeof(s[i].addr.sun_path) - 1, "%s", path);
	s[i].len = offsetof(struct sockaddr_un, sun_path) + abstract + strlen(path) + !abstract;
	if (bind(s[i].fd, (struct sockaddr *)&s[i].addr, s[i].len))
		die(s[i].what);
}

static void setup_options(int fd)
{
	struct timeval tv = { 7, 500000 };
	struct linger linger = { 1, 9 };
	struct sock_fprog prog = { 1, accept_all };
	int big = 300000, small = 100000, one = 1;
	socklen_t len = sizeof(int);

	/* Two sizes, so that one read for the other shows (dump takes them
	 * from sock_diag's meminfo, not SO_RCVBUF and SO_SNDBUF). */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	/* Dump does not ask a unix socket the options its kind refuses to
	 * set (SO_ZEROCOPY; SO_REUSEPORT since 6.9): where this kernel lets
	 * them be set, their value must come back. */
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		setsockopt(fd, SOL_SOCKET, refused[i].name, &one, sizeof(one));
		len = sizeof(int);
		getsockopt(fd, SOL_SOCKET, refused[i].name, &refused[i].value, &len);
	}
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (opts[i].value && setsockopt(fd, SOL_SOCKET, opts[i].name, &opts[i].value,
						sizeof(int)))
			die("an option");
		len = sizeof(int);
		getsockopt(fd, SOL_SOCKET, opts[i].name, &opts[i].value, &len);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)) ||
	    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    fcntl(fd, F_SETFL, O_NONBLOCK))
		die("options");
}

static void setup(void)
{
	char path[108];
	int sender;

	for (int i = 0; i < NR; i++) {
		s[i].fd = socket(AF_UNIX, types[i], 0);
		if (s[i].fd < 0)
			die(s[i].what);
	}
	snprintf(listener_path, sizeof(listener_path), "%s/listener", prog_dir());
	bind_to(LISTENER, listener_path, false);
	if (listen(s[LISTENER].fd, 7) || chmod(listener_path, 0640) ||
	    chown(listener_path, 1001, 1002) || stat(listener_path, &listener_file))
		die("listener");
	snprintf(path, sizeof(path), "cryo-unix-kinds-%d", getpid());
	bind_to(ABSTRACT, path, true);
	/* Autobind: bind with the family alone. */
	s[AUTO].addr.sun_family = AF_UNIX;
	if (bind(s[AUTO].fd, (struct sockaddr *)&s[AUTO].addr, sizeof(sa_family_t)))
		die("autobind");
	snprintf(path, sizeof(path), "%s/ghost", prog_dir());
	bind_to(GHOST, path, false);
	if (unlink(path))
		die("unlink ghost");
	snprintf(path, sizeof(path), "cryo-unix-inbox-%d", getpid());
	bind_to(INBOX, path, true);
	/* Senders: an unnamed one, a named one since closed, and the socket
	 * connected to the inbox (unnamed). */
	sender = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (sendto(sender, "from unnamed", 12, 0, (struct sockaddr *)&s[INBOX].addr,
		   s[INBOX].len) != 12)
		die("send 1");
	close(sender);
	sender = socket(AF_UNIX, SOCK_DGRAM, 0);
	sender_name.sun_family = AF_UNIX;
	snprintf(sender_name.sun_path + 1, sizeof(sender_name.sun_path) - 1,
		 "cryo-unix-sender-%d", getpid());
	sender_len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sender_name.sun_path + 1);
	if (bind(sender, (struct sockaddr *)&sender_name, sender_len) ||
	    sendto(sender, "from named", 10, 0, (struct sockaddr *)&s[INBOX].addr, s[INBOX].len) !=
		    10)
		die("send 2");
	close(sender);
	if (connect(s[CONNECTED].fd, (struct sockaddr *)&s[INBOX].addr, s[INBOX].len) ||
	    send(s[CONNECTED].fd, "from connected", 14, 0) != 14)
		die("send 3");
	setup_options(s[OPTS].fd);
	for (int i = 0; i < NR; i++) {
		s[i].len = sizeof(s[i].addr);
		if (getsockname(s[i].fd, (struct sockaddr *)&s[i].addr, &s[i].len))
			die("getsockname");
	}
}

static bool same_name(int i)
{
	struct sockaddr_un now;
	socklen_t len = sizeof(now);

	if (getsockname(s[i].fd, (struct sockaddr *)&now, &len))
		return prog_fail("%s: getsockname: %s", s[i].what, strerror(errno));
	return PROG_CHECK(len == s[i].len && !memcmp(&now, &s[i].addr, len),
			  "%s: its name changed (%u bytes, \"%s\")", s[i].what, len,
			  now.sun_path[0] ? now.sun_path : now.sun_path + 1);
}

static bool receives(int i, const char *text, const struct sockaddr_un *from, socklen_t from_len)
{
	char buf[64];
	struct sockaddr_un src;
	socklen_t len = sizeof(src);
	ssize_t n = recvfrom(s[i].fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&src,
			     &len);

	if (!PROG_CHECK(n == (ssize_t)strlen(text) && !memcmp(buf, text, n),
			"%s: read %zd bytes, not \"%s\"", s[i].what, n, text))
		return false;
	if (!from)
		return PROG_CHECK(len <= sizeof(sa_family_t), "%s: \"%s\" has a sender", s[i].what,
				  text);
	return PROG_CHECK(len == from_len && !memcmp(&src, from, len),
			  "%s: \"%s\" comes from another sender", s[i].what, text);
}

static void check_options(int fd)
{
	struct timeval tv;
	struct linger linger;
	socklen_t len;
	int value, flen = 0;

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		len = sizeof(value);
		getsockopt(fd, SOL_SOCKET, opts[i].name, &value, &len);
		PROG_CHECK(value == opts[i].value, "option %d is %d, not %d", opts[i].name, value,
			   opts[i].value);
	}
	len = sizeof(tv);
	getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
	PROG_CHECK(tv.tv_sec == 7 && tv.tv_usec == 500000, "SO_RCVTIMEO");
	len = sizeof(tv);
	getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len);
	PROG_CHECK(tv.tv_sec == 7 && tv.tv_usec == 500000, "SO_SNDTIMEO");
	len = sizeof(linger);
	getsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, &len);
	PROG_CHECK(linger.l_onoff && linger.l_linger == 9, "SO_LINGER");
	len = 0;
	getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, (socklen_t *)&flen);
	PROG_CHECK(flen == 1, "its filter has %d instructions, not 1", flen);
	PROG_CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		len = sizeof(value);
		getsockopt(fd, SOL_SOCKET, refused[i].name, &value, &len);
		PROG_CHECK(value == refused[i].value, "option %d is %d, not %d", refused[i].name,
			   value, refused[i].value);
	}
}

int main(int argc, char **argv)
{
	struct stat st;
	char path[108];
	int c, a, type;
	socklen_t len = sizeof(type);

	prog_init(argc, argv);
	setup();
	prog_ready();
	prog_wait_sigterm();

	for (int i = 0; i < NR; i++) {
		len = sizeof(type);
		getsockopt(s[i].fd, SOL_SOCKET, SO_TYPE, &type, &len);
		PROG_CHECK(type == types[i], "%s: type %d", s[i].what, type);
		if (i != CONNECTED)
			same_name(i);
	}
	PROG_CHECK(!stat(listener_path, &st) && S_ISSOCK(st.st_mode) &&
			   (st.st_mode & 07777) == 0640 && st.st_uid == 1001 && st.st_gid == 1002,
		   "the listener's file is not a socket 0640 1001:1002");
	snprintf(path, sizeof(path), "%s/ghost", prog_dir());
	PROG_CHECK(access(path, F_OK) && errno == ENOENT, "the ghost's file came back");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	PROG_CHECK(!connect(c, (struct sockaddr *)&s[LISTENER].addr, s[LISTENER].len),
		   "cannot connect to the listener: %s", strerror(errno));
	a = accept(s[LISTENER].fd, NULL, NULL);
	PROG_CHECK(a >= 0 && write(c, "x", 1) == 1 && read(a, path, 1) == 1,
		   "the listener's connection does not talk");
	receives(INBOX, "from unnamed", NULL, 0);
	receives(INBOX, "from named", &sender_name, sender_len);
	receives(INBOX, "from connected", NULL, 0);
	PROG_CHECK(send(s[CONNECTED].fd, "again", 5, 0) == 5, "the connected one cannot send");
	receives(INBOX, "again", NULL, 0);
	c = socket(AF_UNIX, SOCK_DGRAM, 0);
	PROG_CHECK(sendto(c, "hi", 2, 0, (struct sockaddr *)&s[ABSTRACT].addr, s[ABSTRACT].len) ==
			   2, "cannot send to the abstract name");
	receives(ABSTRACT, "hi", NULL, 0);
	PROG_CHECK(sendto(c, "hey", 3, 0, (struct sockaddr *)&s[AUTO].addr, s[AUTO].len) == 3,
		   "cannot send to the autobound name");
	receives(AUTO, "hey", NULL, 0);
	check_options(s[OPTS].fd);
	prog_finish();
}
