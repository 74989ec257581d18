/* Fds in flight (SCM_RIGHTS) in unix socket queues. Queued before the
 * dump, read after restore, each fd then used:
 * - datagram: message 1 carries a pipe's read end (bytes in the pipe, the
 *   write end closed) and a regular file at position 4; message 2 a
 *   socketpair end (bytes queued both ways, the other end held); message
 *   3 a memfd and an eventfd the program also holds; message 4 both ends
 *   of a socketpair no process holds, each with bytes queued;
 * - stream: "abc", then "def" with the same eventfd and a second pipe's
 *   read end whose write end the program holds, then "ghi";
 * - seqpacket: a record with the other end of a socketpair made before
 *   the carriers, so that its held end is dumped before the queue that
 *   carries its peer;
 * - cycles: a datagram socket with a message carrying itself, and a stream
 *   socket whose queue carries its own peer, which no process holds; two
 *   datagram pairs each carrying the other's far end, and three seqpacket
 *   pairs carrying one another's far ends in a ring (the far ends no
 *   process holds).
 * After restore every fd reads what it should, and the sockets talk. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define MAX_FDS 4

static bool send_with(int sk, const char *data, const int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (n) {
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(sk, &msg, 0) == (ssize_t)strlen(data);
}

/* Receives one message: its bytes must be @want, with @n fds into @fds. */
static bool recv_with(int sk, const char *what, const char *want, int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} control;
	char buf[64];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	ssize_t got = recvmsg(sk, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	size_t nr;

	if (got != (ssize_t)strlen(want) || memcmp(buf, want, got))
		return prog_fail("%s: read %zd bytes, not '%s'", what, got, want);
	c = CMSG_FIRSTHDR(&msg);
	nr = c && c->cmsg_type == SCM_RIGHTS ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
	if (nr != n)
		return prog_fail("%s: came with %zu fds, not %zu", what, nr, n);
	if (n)
		memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
	return true;
}

static bool reads(int fd, const char *what, const char *want)
{
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf));

	return PROG_CHECK(n == (ssize_t)strlen(want) && !memcmp(buf, want, n),
			  "%s reads %zd bytes, not '%s'", what, n, want);
}

int main(int argc, char **argv)
{
	int dg[2], st[2], sq[2], early[2], pair[2], both[2], p1[2], p2[2], file, mfd, efd;
	int self[2], peer[2], got[MAX_FDS], ca[2], cb[2], ring[3][2];
	struct stat a, b;
	char path[256];
	uint64_t v;

	prog_init(argc, argv);
	/* Made first: its held end has a lower fd than the carriers. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, early))
		return 1;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) || socketpair(AF_UNIX, SOCK_STREAM, 0, st) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, pair) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, both) || pipe(p1) || pipe(p2) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, self) || socketpair(AF_UNIX, SOCK_STREAM, 0, peer))
		return 1;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, ca) || socketpair(AF_UNIX, SOCK_DGRAM, 0, cb))
		return 1;
	for (int i = 0; i < 3; i++)
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ring[i]))
			return 1;
	snprintf(path, sizeof(path), "%s/file", prog_dir());
	file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	mfd = memfd_create("in-flight", 0);
	efd = eventfd(5, 0);
	if (file < 0 || mfd < 0 || efd < 0 || write(file, "0123456789", 10) != 10 ||
	    lseek(file, 4, SEEK_SET) != 4 || write(mfd, "memfd bytes", 11) != 11 ||
	    write(p1[1], "piped", 5) != 5 || write(p2[1], "second", 6) != 6 ||
	    write(pair[0], "to the end in flight", 20) != 20 ||
	    write(pair[1], "from it", 7) != 7 || write(early[0], "early", 5) != 5 ||
	    write(both[0], "to one", 6) != 6 || write(both[1], "to zero", 7) != 7)
		return 1;
	if (!send_with(dg[1], "pipe and file", (int[]){ p1[0], file }, 2) ||
	    !send_with(dg[1], "a socket", (int[]){ pair[1] }, 1) ||
	    !send_with(dg[1], "memfd and eventfd", (int[]){ mfd, efd }, 2) ||
	    !send_with(dg[1], "a pair", (int[]){ both[0], both[1] }, 2) ||
	    !send_with(st[1], "abc", NULL, 0) ||
	    !send_with(st[1], "def", (int[]){ efd, p2[0] }, 2) ||
	    !send_with(st[1], "ghi", NULL, 0) || !send_with(sq[1], "early", (int[]){ early[1] }, 1) ||
	    !send_with(self[1], "itself", (int[]){ self[0] }, 1) ||
	    !send_with(peer[1], "its peer", (int[]){ peer[1] }, 1) ||
	    !send_with(ca[1], "b's far end", (int[]){ cb[1] }, 1) ||
	    !send_with(cb[1], "a's far end", (int[]){ ca[1] }, 1))
		return 1;
	for (int i = 0; i < 3; i++)
		if (!send_with(ring[i][1], "next", (int[]){ ring[(i + 1) % 3][1] }, 1))
			return 1;
	close(ca[1]);
	close(cb[1]);
	for (int i = 0; i < 3; i++) {
		close(ring[i][1]);
		ring[i][1] = -1;
	}
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(file);
	close(mfd);
	close(pair[1]);
	close(early[1]);
	close(both[0]);
	close(both[1]);
	close(peer[1]);
	prog_ready();
	prog_wait_sigterm();

	if (recv_with(dg[0], "datagram 1", "pipe and file", got, 2)) {
		reads(got[0], "the pipe in flight", "piped");
		PROG_CHECK(read(got[0], path, 1) == 0, "the pipe in flight has a writer left");
		reads(got[1], "the file in flight (at 4)", "456789");
		close(got[0]);
		close(got[1]);
	}
	if (recv_with(dg[0], "datagram 2", "a socket", got, 1)) {
		reads(got[0], "the socket in flight", "to the end in flight");
		reads(pair[0], "its held peer", "from it");
		PROG_CHECK(write(got[0], "ping", 4) == 4, "the socket in flight cannot send");
		reads(pair[0], "its held peer", "ping");
		PROG_CHECK(write(pair[0], "pong", 4) == 4, "the held peer cannot send");
		reads(got[0], "the socket in flight", "pong");
		close(got[0]);
	}
	if (recv_with(dg[0], "datagram 3", "memfd and eventfd", got, 2)) {
		char buf[16] = { 0 };

		PROG_CHECK(pread(got[0], buf, 11, 0) == 11 && !memcmp(buf, "memfd bytes", 11),
			   "the memfd in flight reads '%s'", buf);
		PROG_CHECK(write(efd, &(uint64_t){ 2 }, 8) == 8, "cannot add to the eventfd");
		PROG_CHECK(read(got[1], &v, 8) == 8 && v == 7,
			   "the eventfd in flight is not the one held (%llu)",
			   (unsigned long long)v);
		close(got[0]);
		close(got[1]);
	}
	if (recv_with(dg[0], "datagram 4", "a pair", got, 2)) {
		reads(got[0], "end 0 of the pair in flight", "to zero");
		reads(got[1], "end 1 of the pair in flight", "to one");
		PROG_CHECK(write(got[0], "across", 6) == 6, "the pair in flight cannot send");
		reads(got[1], "end 1 of the pair in flight", "across");
		close(got[0]);
		close(got[1]);
	}
	PROG_CHECK(recv(dg[0], path, 1, MSG_DONTWAIT) < 0, "a datagram too many");
	if (recv_with(st[0], "stream run 1", "abcdef", got, 2)) {
		PROG_CHECK(write(efd, &(uint64_t){ 3 }, 8) == 8, "cannot add to the eventfd");
		PROG_CHECK(read(got[0], &v, 8) == 8 && v == 3,
			   "the eventfd in the stream is not the one held (%llu)",
			   (unsigned long long)v);
		reads(got[1], "the second pipe in flight", "second");
		PROG_CHECK(write(p2[1], "more", 4) == 4, "the held write end cannot write");
		reads(got[1], "the second pipe in flight", "more");
		close(got[0]);
		close(got[1]);
	}
	recv_with(st[0], "stream run 2", "ghi", got, 0);
	if (recv_with(sq[0], "seqpacket record", "early", got, 1)) {
		reads(got[0], "the early socket in flight", "early");
		PROG_CHECK(write(early[0], "again", 5) == 5, "the early held end cannot send");
		reads(got[0], "the early socket in flight", "again");
		close(got[0]);
	}
	if (recv_with(self[0], "the message carrying its socket", "itself", got, 1)) {
		PROG_CHECK(!fstat(got[0], &a) && !fstat(self[0], &b) && a.st_ino == b.st_ino,
			   "the socket in its own queue is another socket");
		PROG_CHECK(write(self[1], "to itself", 9) == 9, "cannot send to itself");
		reads(got[0], "the socket from its own queue", "to itself");
		close(got[0]);
	}
	if (recv_with(peer[0], "the message carrying its peer", "its peer", got, 1)) {
		PROG_CHECK(write(got[0], "from the peer", 13) == 13, "its peer cannot send");
		reads(peer[0], "the socket whose queue carried its peer", "from the peer");
		close(got[0]);
	}
	/* Each far end in flight talks to its near end, held. */
	if (recv_with(ca[0], "pair a's message", "b's far end", got, 1)) {
		PROG_CHECK(write(got[0], "to b", 4) == 4, "b's far end cannot send");
		reads(cb[0], "pair b's near end", "a's far end");
		reads(cb[0], "pair b's near end", "to b");
		close(got[0]);
	}
	for (int i = 0; i < 3; i++) {
		int next = (i + 1) % 3;

		if (!recv_with(ring[i][0], "a ring pair's message", "next", got, 1))
			continue;
		PROG_CHECK(write(got[0], "hop", 3) == 3, "ring end %d cannot send", next);
		ring[next][1] = got[0];
	}
	for (int i = 0; i < 3; i++) {
		reads(ring[i][0], "a ring pair's near end", "hop");
		if (ring[i][1] >= 0)
			close(ring[i][1]);
	}
	prog_finish();
}
