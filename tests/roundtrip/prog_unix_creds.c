/* Round-trip program: messages queued with their senders' credentials
 * (SO_PASSCRED on the receiving end). A datagram pair holds one message
 * from the program, one it sent with explicit credentials (uid 1001, gid
 * 1002), and one from a child that has exited since; a stream pair whose
 * other end a living child holds has a run of bytes from the program and
 * one from that child; a seqpacket pair one record from the program. On
 * SIGTERM: every message reads back with its bytes and its sender's pid,
 * uid and gid (the exited child's pid included, as before). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

struct sent {
	const char *what;
	const char *data;
	struct ucred creds;
};

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_unix_creds: %s: %s\n", what, strerror(errno));
	_exit(1);
}

/* Sends @data on @fd, with @creds when not NULL. */
static void send_as(int fd, const char *data, const struct ucred *creds)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (creds) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(*creds));
		memcpy(CMSG_DATA(c), creds, sizeof(*creds));
	}
	if (sendmsg(fd, &msg, 0) != (ssize_t)strlen(data))
		die("send");
}

static int passcred_pair(int type, int sv[2])
{
	int one = 1;

	if (socketpair(AF_UNIX, type, 0, sv) ||
	    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		die("socketpair");
	return sv[0];
}

/* Reads the next message of @fd: it must be @s, bytes and credentials. */
static bool reads(int fd, const struct sent *s)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	char buf[64];
	struct iovec iov = { .iov_base = buf, .iov_len = strlen(s->data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	struct ucred got;
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);

	if (n != (ssize_t)strlen(s->data) || memcmp(buf, s->data, n))
		return prog_fail("%s: read %zd bytes, not its own", s->what, n);
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_CREDENTIALS)
		return prog_fail("%s: no credentials", s->what);
	memcpy(&got, CMSG_DATA(c), sizeof(got));
	return PROG_CHECK(got.pid == s->creds.pid && got.uid == s->creds.uid &&
			  got.gid == s->creds.gid, "%s: from %d:%u:%u, not %d:%u:%u", s->what,
			  got.pid, got.uid, got.gid, s->creds.pid, s->creds.uid, s->creds.gid);
}

int main(int argc, char **argv)
{
	int dg[2], st[2], sq[2], ready[2];
	struct ucred self = { getpid(), getuid(), getgid() };
	struct ucred given = { getpid(), 1001, 1002 };
	struct sent dgram[3] = {
		{ "datagram from the program", "plain", self },
		{ "datagram with given credentials", "given", given },
		{ "datagram from an exited child", "gone child", self },
	};
	struct sent stream[2] = {
		{ "stream run from the program", "program run", self },
		{ "stream run from the child", "child run", self },
	};
	struct sent seq = { "seqpacket record", "record", self };
	pid_t gone, kid;
	char c;

	prog_init(argc, argv);
	passcred_pair(SOCK_DGRAM, dg);
	passcred_pair(SOCK_STREAM, st);
	passcred_pair(SOCK_SEQPACKET, sq);
	send_as(dg[1], dgram[0].data, NULL);
	send_as(dg[1], dgram[1].data, &given);
	gone = fork();
	if (gone < 0)
		die("fork");
	if (gone == 0) {
		send_as(dg[1], dgram[2].data, NULL);
		_exit(0);
	}
	if (waitpid(gone, NULL, 0) != gone)
		die("wait");
	dgram[2].creds.pid = gone;
	send_as(st[1], stream[0].data, NULL);
	send_as(sq[1], seq.data, NULL);
	if (pipe(ready))
		die("pipe");
	kid = fork();
	if (kid < 0)
		die("fork");
	if (kid == 0) {
		close(st[0]);
		send_as(st[1], stream[1].data, NULL);
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(0);
	}
	close(st[1]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		die("child");
	close(ready[0]);
	stream[1].creds.pid = kid;
	prog_ready();
	prog_wait_sigterm();

	for (int i = 0; i < 3; i++)
		reads(dg[0], &dgram[i]);
	for (int i = 0; i < 2; i++)
		reads(st[0], &stream[i]);
	reads(sq[0], &seq);
	kill(kid, SIGTERM);
	waitpid(kid, NULL, 0);
	prog_finish();
}
