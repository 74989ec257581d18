/* The data queued to be read on a unix socket: read at dump through the
 * task's socket without taking anything out (MSG_PEEK with SO_PEEK_OFF,
 * put back as it was), saved as the object's contents (a stream's bytes,
 * or each record with its sender), and queued again at restore by a
 * sender socket, then read back to check. The socket itself is
 * unix_socket.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "net/internal.h"
#include "net/unix_internal.h"

/* A unix datagram is at most the sender's buffer: net.core.wmem_max,
 * doubled, or more with SO_SNDBUFFORCE; cryo takes up to 8 MiB. */
#define UNIX_RECORD_MAX (8u << 20)

/* The kernel's SCM_PIDFD (6.5), whose fd a peek installs too. */
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

struct peeked {
	const uint8_t *data;
	size_t size;
	const struct sockaddr_un *sender;
	socklen_t sender_len;
	bool has_creds;		/* SO_PASSCRED: its sender's credentials */
	struct ucred creds;
	/* SCM_RIGHTS: cryo's copies of the message's fds in flight, which
	 * queue_peek() closes once @each has seen them. */
	const int *rights;
	size_t nr_rights;
};

/* Closes the copies of fds in flight a peek gave cryo (SCM_RIGHTS, and
 * SCM_PIDFD's pidfd): cryo must keep none of the task's files. */
static void close_peeked_fds(struct msghdr *msg)
{
	if (msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET ||
		    (c->cmsg_type != SCM_RIGHTS && c->cmsg_type != SCM_PIDFD))
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
			close(((int *)CMSG_DATA(c))[i]);
	}
}

/* Takes the sender's credentials and the fds in flight from @msg into
 * @pk, and refuses what a queue cannot be saved with: a pidfd, any other
 * control message. @each decides on the fds in flight. */
static int read_control(struct msghdr *msg, struct peeked *pk, const char **why)
{
	int ret = 0;

	pk->has_creds = false;
	pk->rights = NULL;
	pk->nr_rights = 0;
	if (msg->msg_flags & MSG_CTRUNC) {
		*why = "a message carries more control data than cryo reads";
		ret = -EOPNOTSUPP;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(pk->creds))) {
			memcpy(&pk->creds, CMSG_DATA(c), sizeof(pk->creds));
			pk->has_creds = true;
			continue;
		}
		/* One message carries one SCM_RIGHTS (the kernel's unix_attach_fds()). */
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && !pk->rights) {
			pk->rights = (const int *)CMSG_DATA(c);
			pk->nr_rights = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			continue;
		}
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_PIDFD)
			*why = "SO_PASSPIDFD with data queued (a pidfd per message): not supported "
			       "yet";
		else
			*why = "a queued message with a control message cryo does not save "
			       "(SO_PASSSEC?): not supported yet";
		ret = -EOPNOTSUPP;
	}
	return ret;
}

/* Calls @each for what is queued on @fd, in order, without taking it out:
 * each record of a datagram or seqpacket socket, runs of a stream's
 * bytes. SO_PEEK_OFF is put back as it was. A socket shut for reading
 * (@read_shut) reads 0 at the end of its queue. */
static int queue_peek(int fd, bool stream, bool read_shut,
		      int (*each)(const struct peeked *pk, void *arg), void *arg, const char **why)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t cap = 65536;
	int old_off, ret;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	ret = peek_offset_from_head(fd, &old_off);
	if (ret)
		return ret;
	for (;;) {
		struct sockaddr_un sender;
		union {
			char buf[CMSG_SPACE(sizeof(int) * 253)];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = buf, .iov_len = cap };
		struct msghdr msg = {
			.msg_name = &sender,
			.msg_namelen = sizeof(sender),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = &control,
			.msg_controllen = sizeof(control),
		};
		struct peeked pk;
		ssize_t n;

		/* A record's size first, with nothing copied: a peek moves the
		 * offset by what it copies, so the next peeks the whole. */
		if (!stream) {
			char none;
			struct iovec one = { .iov_base = &none, .iov_len = 0 };
			struct msghdr probe = { .msg_iov = &one, .msg_iovlen = 1 };

			n = recvmsg(fd, &probe, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				goto failed;
			if (n == 0 && read_shut)
				break;
			/* An empty record moves no peek offset: it would be
			 * seen forever. */
			if (n == 0) {
				*why = "an empty record in its queue: not supported yet";
				ret = -EOPNOTSUPP;
				break;
			}
			if ((size_t)n > UNIX_RECORD_MAX) {
				*why = "a queued record over 8 MiB";
				ret = -EMSGSIZE;
				break;
			}
			if ((size_t)n > cap) {
				uint8_t *b = realloc(buf, n);

				if (!b) {
					ret = -ENOMEM;
					break;
				}
				buf = b;
				cap = n;
				iov = (struct iovec){ .iov_base = buf, .iov_len = cap };
			}
		}
		n = recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto failed;
		pk = (struct peeked){ .data = buf, .size = n, .sender = &sender,
				      .sender_len = msg.msg_namelen };
		ret = read_control(&msg, &pk, why);
		/* A stream's end (its peer closed or reading was shut down). */
		if (!ret && n == 0 && stream) {
			close_peeked_fds(&msg);
			break;
		}
		if (!ret)
			ret = each(&pk, arg);
		close_peeked_fds(&msg);
		if (ret)
			break;
		continue;
failed:
		if (errno != EAGAIN)
			ret = -errno;
		break;
	}
	return peek_offset_put_back(fd, old_off, ret);
}

/* The sun_path bytes of a sender's address; 0 for an unnamed one. */
static size_t sender_name(const struct peeked *pk, const char **name)
{
	size_t base = offsetof(struct sockaddr_un, sun_path);

	*name = pk->sender->sun_path;
	if (pk->sender_len <= base)
		return 0;
	/* A path name may come with its terminating 0. */
	if (pk->sender->sun_path[0]) {
		size_t n = strnlen(pk->sender->sun_path, pk->sender_len - base);

		return n;
	}
	return pk->sender_len - base;
}

struct queue_dump {
	UnixSocket *s;
	uint8_t *bytes;
	size_t size, cap;
	size_t messages;	/* peeked so far */
	char refused[512];	/* why the queue cannot be saved, naming a file in flight */
};

/* Refuses a message with fds in flight, naming the first one's file (its
 * /proc/self/fd link: a path, pipe:[N], socket:[N], ...), so the user
 * sees what the task has in flight. */
static int refuse_rights(struct queue_dump *q, const struct peeked *pk)
{
	char link[64], target[256];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", pk->rights[0]);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		snprintf(target, sizeof(target), "an fd whose file cannot be read: %s",
			 strerror(errno));
	else
		target[n] = 0;
	snprintf(q->refused, sizeof(q->refused),
		 "fds in flight (SCM_RIGHTS) in its queue (message %zu carries %zu, the first "
		 "%s): not supported yet", q->messages, pk->nr_rights, target);
	return -EOPNOTSUPP;
}

static int save_peeked(const struct peeked *pk, void *arg)
{
	struct queue_dump *q = arg;
	UnixSocket *s = q->s;
	UnixRecord *rec, **list;
	const char *name = NULL;
	size_t name_len;

	q->messages++;
	if (pk->nr_rights)
		return refuse_rights(q, pk);
	if (queue_bytes_append(&q->bytes, &q->size, &q->cap, pk->data, pk->size))
		return -ENOMEM;
	/* A stream's runs are records only with their senders' credentials. */
	if (s->type == SOCK_STREAM && !pk->has_creds)
		return 0;
	list = reallocarray(s->queue, s->n_queue + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	s->queue = list;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	unix_record__init(rec);
	list[s->n_queue++] = rec;
	rec->size = pk->size;
	if (pk->has_creds) {
		rec->has_pid = rec->has_uid = rec->has_gid = true;
		rec->pid = (uint32_t)pk->creds.pid;
		rec->uid = pk->creds.uid;
		rec->gid = pk->creds.gid;
	}
	name_len = s->type == SOCK_STREAM ? 0 : sender_name(pk, &name);
	if (name_len) {
		rec->has_sender = true;
		rec->sender.data = malloc(name_len);
		if (!rec->sender.data)
			return -ENOMEM;
		memcpy(rec->sender.data, name, name_len);
		rec->sender.len = name_len;
	}
	return 0;
}

int unix_queue_dump(const struct file_dump *d, UnixSocket *s)
{
	const struct fd_probe *p = d->p;
	struct queue_dump q = { .s = s };
	const char *why = NULL;
	int ret = queue_peek(p->dup, s->type == SOCK_STREAM, s->shutdown & 1, save_peeked, &q, &why);

	if (ret && q.refused[0])
		pr_fd_err(p, "%s", q.refused);
	else if (ret && why)
		pr_fd_err(p, "%s", why);
	else if (ret)
		pr_fd_err(p, "cannot read its queue: %s", strerror(-ret));
	else if (q.size)
		ret = contents_dump_bytes(d, q.bytes, q.size);
	if (!ret && s->type == SOCK_STREAM) {
		s->has_stream_bytes = true;
		s->stream_bytes = q.size;
	}
	free(q.bytes);
	return ret;
}

/* ---- restore ----------------------------------------------------------------- */

/* The saved bytes of @f as one buffer (the runs are checked to follow
 * each other from 0). */
static uint8_t *saved_bytes(const struct file_obj *f, size_t *size)
{
	size_t total = 0, at = 0;
	uint8_t *buf;

	for (size_t i = 0; i < f->nr_chunks; i++)
		total += f->chunks[i]->data.len;
	buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < f->nr_chunks; i++) {
		memcpy(buf + at, f->chunks[i]->data.data, f->chunks[i]->data.len);
		at += f->chunks[i]->data.len;
	}
	*size = total;
	return buf;
}

static socklen_t make_addr(const ProtobufCBinaryData *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name->data, name->len);
	return offsetof(struct sockaddr_un, sun_path) + name->len;
}

static const struct ucred *record_creds(const UnixRecord *rec, struct ucred *out)
{
	if (!rec->has_pid)
		return NULL;
	*out = (struct ucred){ .pid = (pid_t)rec->pid, .uid = rec->uid, .gid = rec->gid };
	return out;
}

/* Sends one record to @dest from a socket of its own, bound to its
 * sender's name when it had one (the name must be free then). */
static int send_from_sender(const UnixSocket *s, const UnixRecord *rec, const uint8_t *data,
			    const struct sockaddr_un *dest, socklen_t dest_len, const char **why)
{
	_cleanup_close_ int sk = socket(AF_UNIX, (int)s->type | SOCK_CLOEXEC, 0);
	struct sockaddr_un from;
	struct ucred creds;
	bool path = false;
	int ret;

	if (sk < 0)
		return -errno;
	if (rec->has_sender) {
		socklen_t len = make_addr(&rec->sender, &from);

		path = from.sun_path[0] != 0;
		if (bind(sk, (struct sockaddr *)&from, len)) {
			*why = "cannot take its sender's name again to send it";
			return -errno;
		}
	}
	ret = unix_send_as(sk, data, rec->size, record_creds(rec, &creds),
			   (const struct sockaddr *)dest, dest_len, false);
	if (ret)
		*why = "cannot queue a record again";
	if (path)
		unlink(from.sun_path);
	return ret;
}

int unix_queue_fill(const struct file_obj *f, int fd, int peer, const char **why)
{
	const UnixSocket *s = f->e->unix_socket;
	_cleanup_free_ uint8_t *bytes = NULL;
	struct sockaddr_un self;
	socklen_t self_len = sizeof(self);
	size_t size = 0, at = 0;
	int big = 64 << 20, ret;

	if (!f->nr_chunks)
		return 0;
	bytes = saved_bytes(f, &size);
	if (!bytes)
		return -ENOMEM;
	/* What is queued is charged to its sender until read: room for it
	 * all, before the saved sizes are set. */
	if (peer >= 0 && setsockopt(peer, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		return -errno;
	/* A stream's bytes with no senders' credentials: one run. */
	if (s->type == SOCK_STREAM && !s->n_queue) {
		ret = unix_send_as(peer, bytes, size, NULL, NULL, 0, true);
		if (ret)
			*why = "cannot queue its bytes again";
		return ret;
	}
	if (peer < 0 && getsockname(fd, (struct sockaddr *)&self, &self_len))
		return -errno;
	for (size_t i = 0; i < s->n_queue; i++) {
		const UnixRecord *rec = s->queue[i];
		struct ucred creds;

		if (peer >= 0) {
			ret = unix_send_as(peer, bytes + at, rec->size, record_creds(rec, &creds),
					   NULL, 0, s->type == SOCK_STREAM);
			if (ret) {
				*why = rec->has_pid && ret == -EPERM ?
				       "cannot queue a record again with its sender's credentials" :
				       "cannot queue a record again";
				return ret;
			}
		} else {
			ret = send_from_sender(s, rec, bytes + at, &self, self_len, why);
			if (ret)
				return ret;
		}
		at += rec->size;
	}
	return 0;
}

struct queue_check {
	const UnixSocket *s;
	const uint8_t *bytes;
	size_t size, at, next;
	const char *differs;
};

static int compare_peeked(const struct peeked *pk, void *arg)
{
	struct queue_check *c = arg;
	const char *name = NULL;
	size_t name_len;
	const UnixRecord *rec;

	/* Restore queues none: one would be the kernel's or another's. */
	if (pk->nr_rights) {
		c->differs = "a queued record carries fds in flight, which none was saved with";
		return -EIO;
	}
	if (c->at + pk->size > c->size || memcmp(c->bytes + c->at, pk->data, pk->size)) {
		c->differs = "its queued bytes differ";
		return -EIO;
	}
	c->at += pk->size;
	if (c->s->type == SOCK_STREAM && !c->s->n_queue)
		return 0;
	rec = c->next < c->s->n_queue ? c->s->queue[c->next] : NULL;
	c->next++;
	name_len = c->s->type == SOCK_STREAM ? 0 : sender_name(pk, &name);
	if (!rec || rec->size != pk->size) {
		c->differs = "a queued record's size differs";
		return -EIO;
	}
	if (rec->has_pid != pk->has_creds ||
	    (rec->has_pid && ((uint32_t)pk->creds.pid != rec->pid || pk->creds.uid != rec->uid ||
			      pk->creds.gid != rec->gid))) {
		c->differs = "a queued record's sender credentials differ";
		return -EIO;
	}
	if (rec->has_sender != (name_len != 0) ||
	    (name_len && (rec->sender.len != name_len || memcmp(rec->sender.data, name, name_len)))) {
		c->differs = "a queued record's sender differs";
		return -EIO;
	}
	return 0;
}

int unix_queue_check(const struct file_obj *f, int fd, const char **why)
{
	const UnixSocket *s = f->e->unix_socket;
	_cleanup_free_ uint8_t *bytes = NULL;
	struct queue_check c = { .s = s };
	int ret;

	bytes = saved_bytes(f, &c.size);
	if (!bytes)
		return -ENOMEM;
	c.bytes = bytes;
	ret = queue_peek(fd, s->type == SOCK_STREAM, s->shutdown & 1, compare_peeked, &c, why);
	if (!ret && (c.at != c.size || c.next != s->n_queue)) {
		c.differs = "fewer bytes or records are queued than were saved";
		ret = -EIO;
	}
	if (c.differs)
		*why = c.differs;
	return ret;
}
