/* Round-trip program: socketpairs with SO_PASSCRED and bytes queued.
 * Sending with the option on autobinds an unnamed datagram or seqpacket
 * socket (an abstract name the kernel picks), and every record then shows
 * that name as its sender, those sent before included; a message sent
 * while neither end had the option carries no credentials (pid 0). Pairs:
 * for each type, the sending end turning the option on between two sends,
 * and the option on both ends (the program's own credentials, given ones,
 * uid 1001 and gid 1002, and on the datagram pair a record sent back); a
 * receiver turning it on after a message sent with none (datagram,
 * stream); a seqpacket end whose autobound sender closed; a datagram
 * sender turning it on after its only send (it stays unnamed). On
 * SIGTERM: each record reads back with its bytes, its sender's name and,
 * where the reader has the option, its credentials; each end has its name
 * and option as before. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

struct record {
	const char *data;
	bool given;		/* sent with uid 1001, gid 1002 */
	int from;		/* the end it was sent from */
};

/* SO_PASSCRED goes on end 0 (the receiver) before record recv_on, and on
 * end 1 (the sender) before record send_on; NEVER: not at all. */
#define NEVER -1

struct pair {
	const char *what;
	int type;
	int recv_on, send_on;
	bool sender_closes;	/* end 1 closes once set up */
	struct record records[3];
	int sv[2];
	struct sockaddr_un name[2];
	socklen_t name_len[2];
};

static struct pair pairs[] = {
	{ .what = "datagram, sender only", .type = SOCK_DGRAM, .recv_on = NEVER, .send_on = 1,
	  .records = { { "before", false, 1 }, { "after", false, 1 } } },
	{ .what = "seqpacket, sender only", .type = SOCK_SEQPACKET, .recv_on = NEVER, .send_on = 1,
	  .records = { { "before", false, 1 }, { "after", false, 1 } } },
	{ .what = "stream, sender only", .type = SOCK_STREAM, .recv_on = NEVER, .send_on = 1,
	  .records = { { "before", false, 1 }, { "after", false, 1 } } },
	{ .what = "datagram, both ends", .type = SOCK_DGRAM, .recv_on = 0, .send_on = 0,
	  .records = { { "own", false, 1 }, { "given", true, 1 }, { "back", false, 0 } } },
	{ .what = "seqpacket, both ends", .type = SOCK_SEQPACKET, .recv_on = 0, .send_on = 0,
	  .records = { { "own", false, 1 }, { "given", true, 1 } } },
	{ .what = "stream, both ends", .type = SOCK_STREAM, .recv_on = 0, .send_on = 0,
	  .records = { { "own run", false, 1 }, { "given run", true, 1 } } },
	/* Sent with no credentials, then the receiver turns the option on. */
	{ .what = "datagram, receiver later", .type = SOCK_DGRAM, .recv_on = 1, .send_on = NEVER,
	  .records = { { "none", false, 1 }, { "later", false, 1 } } },
	{ .what = "stream, receiver later", .type = SOCK_STREAM, .recv_on = 1, .send_on = NEVER,
	  .records = { { "none", false, 1 }, { "later", false, 1 } } },
	/* Its autobound sender closed: the record still shows its name. */
	{ .what = "seqpacket, sender closed", .type = SOCK_SEQPACKET, .recv_on = NEVER,
	  .send_on = 0, .sender_closes = true, .records = { { "gone", false, 1 } } },
	/* The sender turns it on after its only send: it stays unnamed. */
	{ .what = "datagram, sender after its send", .type = SOCK_DGRAM, .recv_on = NEVER,
	  .send_on = 1, .records = { { "quiet", false, 1 } } },
};

#define NR_PAIRS (sizeof(pairs) / sizeof(pairs[0]))

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_unix_passcred: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static void passcred(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		die("SO_PASSCRED");
}

static unsigned int overflow_id(const char *which)
{
	char path[64];
	unsigned int id = 65534;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", which);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%u", &id) != 1)
			id = 65534;
		fclose(f);
	}
	return id;
}

/* Record @i of @p as a reader with SO_PASSCRED sees it: given, the
 * program's own when either end had the option then, else none (pid 0). */
static struct ucred creds_of(const struct pair *p, size_t i)
{
	const struct record *rec = &p->records[i];
	bool on = (p->recv_on != NEVER && (size_t)p->recv_on <= i) ||
		  (p->send_on != NEVER && (size_t)p->send_on <= i);

	if (rec->given)
		return (struct ucred){ getpid(), 1001, 1002 };
	if (!on)
		return (struct ucred){ 0, overflow_id("overflowuid"), overflow_id("overflowgid") };
	return (struct ucred){ getpid(), getuid(), getgid() };
}

static void send_record(const struct pair *p, size_t i)
{
	const struct record *rec = &p->records[i];
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)rec->data, .iov_len = strlen(rec->data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ucred creds = creds_of(p, i);
	struct cmsghdr *c;

	if (rec->given) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(creds));
		memcpy(CMSG_DATA(c), &creds, sizeof(creds));
	}
	if (sendmsg(p->sv[rec->from], &msg, 0) != (ssize_t)strlen(rec->data))
		die("send");
}

static void set_up(struct pair *p)
{
	size_t i;

	if (socketpair(AF_UNIX, p->type, 0, p->sv))
		die("socketpair");
	for (i = 0; i < 3 && p->records[i].data; i++) {
		if (p->recv_on == (int)i)
			passcred(p->sv[0]);
		if (p->send_on == (int)i)
			passcred(p->sv[1]);
		send_record(p, i);
	}
	if (p->send_on == (int)i)
		passcred(p->sv[1]);
	for (int e = 0; e < 2; e++) {
		p->name_len[e] = sizeof(p->name[e]);
		if (getsockname(p->sv[e], (struct sockaddr *)&p->name[e], &p->name_len[e]))
			die("getsockname");
	}
	if (p->sender_closes)
		close(p->sv[1]);
}

/* Reads record @i at the end it was sent to: bytes, sender and
 * credentials. */
static void reads(struct pair *p, size_t i)
{
	const struct record *rec = &p->records[i];
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	int from = rec->from, to = 1 - from;
	char buf[64];
	struct sockaddr_un sender;
	struct iovec iov = { .iov_base = buf, .iov_len = strlen(rec->data) };
	struct msghdr msg = { .msg_name = &sender, .msg_namelen = sizeof(sender),
			      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	bool with_creds = (to == 0 ? p->recv_on : p->send_on) != NEVER;
	struct ucred want = creds_of(p, i), got;
	socklen_t want_len;
	struct cmsghdr *c;
	ssize_t n = recvmsg(p->sv[to], &msg, MSG_DONTWAIT);

	if (n != (ssize_t)strlen(rec->data) || memcmp(buf, rec->data, n)) {
		prog_fail("%s: \"%s\": read %zd bytes, not its own", p->what, rec->data, n);
		return;
	}
	/* An unnamed sender (a stream's end is not autobound) shows none. */
	want_len = p->name_len[from] > sizeof(sa_family_t) ? p->name_len[from] : 0;
	PROG_CHECK(msg.msg_namelen == want_len && !memcmp(&sender, &p->name[from], want_len),
		   "%s: \"%s\": from another sender (name length %u, not %u)", p->what,
		   rec->data, msg.msg_namelen, want_len);
	c = CMSG_FIRSTHDR(&msg);
	if (!with_creds) {
		PROG_CHECK(!c, "%s: \"%s\": a control message where none was passed", p->what,
			   rec->data);
		return;
	}
	if (!c || c->cmsg_type != SCM_CREDENTIALS) {
		prog_fail("%s: \"%s\": no credentials", p->what, rec->data);
		return;
	}
	memcpy(&got, CMSG_DATA(c), sizeof(got));
	PROG_CHECK(got.pid == want.pid && got.uid == want.uid && got.gid == want.gid,
		   "%s: \"%s\": from %d:%u:%u, not %d:%u:%u", p->what, rec->data, got.pid,
		   got.uid, got.gid, want.pid, want.uid, want.gid);
}

/* Each end's name and SO_PASSCRED are as set up. */
static void check_ends(const struct pair *p)
{
	for (int i = 0; i < (p->sender_closes ? 1 : 2); i++) {
		struct sockaddr_un name;
		socklen_t len = sizeof(name);
		int on = -1;
		socklen_t olen = sizeof(on);

		if (getsockname(p->sv[i], (struct sockaddr *)&name, &len) ||
		    getsockopt(p->sv[i], SOL_SOCKET, SO_PASSCRED, &on, &olen)) {
			prog_fail("%s: end %d: %s", p->what, i, strerror(errno));
			continue;
		}
		PROG_CHECK(len == p->name_len[i] && !memcmp(&name, &p->name[i], len),
			   "%s: end %d has another name", p->what, i);
		PROG_CHECK(on == ((i == 0 ? p->recv_on : p->send_on) != NEVER),
			   "%s: end %d: SO_PASSCRED is %d", p->what, i, on);
	}
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	for (size_t i = 0; i < NR_PAIRS; i++)
		set_up(&pairs[i]);
	prog_ready();
	prog_wait_sigterm();

	for (size_t i = 0; i < NR_PAIRS; i++) {
		check_ends(&pairs[i]);
		/* A stream's runs are read one at a time: each is a record. */
		for (size_t r = 0; r < 3 && pairs[i].records[r].data; r++)
			reads(&pairs[i], r);
	}
	prog_finish();
}
