/* The data queued to be read on a unix socket: read at dump through the
 * task's socket without taking anything out (MSG_PEEK with SO_PEEK_OFF,
 * put back as it was), saved as the object's contents (a stream's bytes,
 * or each record with its sender and the ids of its fds in flight, which
 * the files engine dumps from the peek's copies), and queued again at
 * restore by a sender socket, then read back to check. The socket itself
 * is unix_socket.c's. */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

/* What a queue's peek knows beforehand: SO_PEEK_OFF as the task left it,
 * and a stream's queued bytes (sock_diag's UNIX_DIAG_RQLEN), so that the
 * peeks stop there rather than ask once more to see the end. */
struct peek_known {
	bool has_peek_off;
	int peek_off;
	bool has_stream_bytes;
	size_t stream_bytes;
};

/* Calls @each for what is queued on @fd, in order, without taking it out:
 * each record of a datagram or seqpacket socket, runs of a stream's
 * bytes. SO_PEEK_OFF is put back as it was. A socket shut for reading
 * (@read_shut) reads 0 at the end of its queue. */
static int queue_peek(int fd, bool stream, bool read_shut, const struct peek_known *known,
		      int (*each)(const struct peeked *pk, void *arg), void *arg, const char **why)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t cap = 65536, total = 0;
	int old_off, ret = 0, zero = 0;
	/* A stream with no peek offset is peeked from its head without one
	 * while it is read in one go, as its queue mostly is: SO_PEEK_OFF is
	 * set only to go on past a first run. */
	bool offset_set = !(stream && known && known->has_peek_off && known->peek_off == -1 &&
			    known->has_stream_bytes);

	/* A stream whose queue holds nothing has nothing to peek. */
	if (stream && known && known->has_stream_bytes && !known->stream_bytes)
		return 0;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (!offset_set)
		old_off = -1;
	else if (known && known->has_peek_off) {
		old_off = known->peek_off;
		ret = setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) ? -errno : 0;
	} else {
		ret = peek_offset_from_head(fd, &old_off);
	}
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

		if (stream && known && known->has_stream_bytes && total >= known->stream_bytes)
			break;
		if (!offset_set && total) {
			int at = (int)total;

			if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &at, sizeof(at))) {
				ret = -errno;
				break;
			}
			offset_set = true;
		}
		/* A record's whole size (MSG_TRUNC) with its bytes: a peek
		 * moves the offset by what it copies, so a record larger than
		 * the buffer is peeked again from its start, into one that
		 * fits. */
		n = recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC |
					      (stream ? 0 : MSG_TRUNC));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto failed;
		if (!stream && (size_t)n > cap) {
			int back = (int)total;
			uint8_t *b;

			close_peeked_fds(&msg);
			if ((size_t)n > UNIX_RECORD_MAX) {
				*why = "a queued record over 8 MiB";
				ret = -EMSGSIZE;
				break;
			}
			b = realloc(buf, n);
			if (!b) {
				ret = -ENOMEM;
				break;
			}
			buf = b;
			cap = n;
			if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &back, sizeof(back))) {
				ret = -errno;
				break;
			}
			continue;
		}
		if (!stream && n == 0 && read_shut) {
			close_peeked_fds(&msg);
			break;
		}
		/* An empty record moves no peek offset: it would be seen
		 * forever. */
		if (!stream && n == 0) {
			close_peeked_fds(&msg);
			*why = "an empty record in its queue: not supported yet";
			ret = -EOPNOTSUPP;
			break;
		}
		pk = (struct peeked){ .data = buf, .size = n, .sender = &sender,
				      .sender_len = msg.msg_namelen };
		ret = read_control(&msg, &pk, why);
		/* A stream's end (its peer closed or reading was shut down). */
		if (!ret && n == 0 && stream) {
			close_peeked_fds(&msg);
			break;
		}
		total += (size_t)n;
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
	return offset_set ? peek_offset_put_back(fd, old_off, ret) : ret;
}

struct rights_walk {
	int (*fn)(int fd, void *arg);
	void *arg;
};

static int walk_rights(const struct peeked *pk, void *arg)
{
	const struct rights_walk *w = arg;

	for (size_t i = 0; i < pk->nr_rights; i++) {
		int ret = w->fn(pk->rights[i], w->arg);

		if (ret)
			return ret;
	}
	return 0;
}

int unix_queue_each_right(int fd, bool stream, int (*fn)(int fd, void *arg), void *arg)
{
	struct rights_walk w = { .fn = fn, .arg = arg };
	const char *why = NULL;

	return queue_peek(fd, stream, false, NULL, walk_rights, &w, &why);
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
	const struct file_dump *d;
	UnixSocket *s;
	uint8_t *bytes;
	size_t size, cap;
	size_t messages;	/* peeked so far */
	bool any_control;	/* a record has credentials or fds in flight */
};

/* The fds in flight of a message, in order: objects of the dump (the
 * engine's; a kind that cannot be in flight is refused by name there). */
static int save_rights(struct queue_dump *q, const struct peeked *pk, UnixRecord *rec)
{
	rec->rights = calloc(pk->nr_rights, sizeof(*rec->rights));
	if (!rec->rights)
		return -ENOMEM;
	for (size_t i = 0; i < pk->nr_rights; i++) {
		char where[64];
		uint32_t id;
		int ret;

		snprintf(where, sizeof(where), "message %zu (fd %zu of %zu)", q->messages, i + 1,
			 pk->nr_rights);
		ret = file_dump_in_flight(q->d, pk->rights[i], where, &id);
		if (ret)
			return ret;
		rec->rights[rec->n_rights++] = id;
	}
	return 0;
}

static int save_peeked(const struct peeked *pk, void *arg)
{
	struct queue_dump *q = arg;
	UnixSocket *s = q->s;
	UnixRecord *rec, **list;
	const char *name = NULL;
	size_t name_len;

	q->messages++;
	if (queue_bytes_append(&q->bytes, &q->size, &q->cap, pk->data, pk->size))
		return -ENOMEM;
	/* A stream's runs are records too, kept only when one has its
	 * sender's credentials or fds in flight (unix_queue_dump()). */
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
	q->any_control |= pk->has_creds || pk->nr_rights;
	name_len = s->type == SOCK_STREAM ? 0 : sender_name(pk, &name);
	if (name_len) {
		rec->has_sender = true;
		rec->sender.data = malloc(name_len);
		if (!rec->sender.data)
			return -ENOMEM;
		memcpy(rec->sender.data, name, name_len);
		rec->sender.len = name_len;
	}
	return pk->nr_rights ? save_rights(q, pk, rec) : 0;
}

int unix_queue_dump(const struct file_dump *d, UnixSocket *s, uint32_t rqueue)
{
	const struct fd_probe *p = d->p;
	struct queue_dump q = { .d = d, .s = s };
	struct peek_known known = { .has_peek_off = true, .peek_off = s->peek_off,
				    .has_stream_bytes = true, .stream_bytes = rqueue };
	const char *why = NULL;
	int ret = queue_peek(p->dup, s->type == SOCK_STREAM, s->shutdown & 1, &known, save_peeked,
			     &q, &why);

	/* A refused fd in flight is named where it is refused. */
	if (ret && why)
		pr_fd_err(p, "%s", why);
	else if (ret && ret != -EOPNOTSUPP && ret != -EINVAL && ret != -ENOMEM)
		pr_fd_err(p, "cannot read its queue: %s", strerror(-ret));
	else if (!ret && q.size)
		ret = contents_dump_bytes(d, q.bytes, q.size);
	if (!ret && s->type == SOCK_STREAM) {
		s->has_stream_bytes = true;
		s->stream_bytes = q.size;
		/* Plain bytes: one run, no records. */
		if (!q.any_control) {
			for (size_t i = 0; i < s->n_queue; i++)
				unix_record__free_unpacked(s->queue[i], NULL);
			free(s->queue);
			s->queue = NULL;
			s->n_queue = 0;
		}
	}
	free(q.bytes);
	return ret;
}

/* ---- restore ----------------------------------------------------------------- */

/* The saved bytes of @f as one buffer (the runs are checked to follow
 * each other from 0); NULL when out of memory or unreadable (logged). */
static uint8_t *saved_bytes(const struct restore_ctx *r, const struct file_obj *f, size_t *size)
{
	struct contents_view v;
	size_t total = 0, at = 0;
	uint8_t *buf;

	if (contents_view_open(r, f, &v))
		return NULL;
	for (size_t i = 0; i < v.nr_chunks; i++)
		total += v.chunks[i]->data.len;
	buf = malloc(total ? total : 1);
	for (size_t i = 0; buf && i < v.nr_chunks; i++) {
		memcpy(buf + at, v.chunks[i]->data.data, v.chunks[i]->data.len);
		at += v.chunks[i]->data.len;
	}
	contents_view_close(&v);
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

/* Pid 0: the record was sent with no credentials, and is again. */
static const struct ucred *record_creds(const UnixRecord *rec, struct ucred *out)
{
	if (!rec->has_pid || !rec->pid)
		return NULL;
	*out = (struct ucred){ .pid = (pid_t)rec->pid, .uid = rec->uid, .gid = rec->gid };
	return out;
}

/* The groups whose queues are being filled or checked, innermost first.
 * Filling one may make another, for a socket in flight in its queue, whose
 * own queue may carry a socket of the first (a cycle): that one is sent
 * from here, since the engine gets the first group's fds only once it is
 * made. Queues are filled one at a time, so one chain serves a process. */
static const struct unix_made *filling;

/* The fd of object @id in flight on @f: a socket of a group being made, or
 * the engine's, which opens it once and owns it. */
static int right_fd(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		    uint32_t id)
{
	for (const struct unix_made *m = made; m; m = m->outer)
		for (size_t i = 0; i < m->n; i++)
			if (m->members[i]->e->id == id)
				return m->fds[i];
	return restore_in_flight_fd(r, f, id);
}

/* The fds to send with @rec; in @fds, room for rec->n_rights. */
static int record_rights(struct restore_ctx *r, const struct unix_made *made,
			 const struct file_obj *f, const UnixRecord *rec, int *fds,
			 struct unix_rights *out)
{
	for (size_t i = 0; i < rec->n_rights; i++) {
		fds[i] = right_fd(r, made, f, rec->rights[i]);
		if (fds[i] < 0)
			return fds[i];
	}
	*out = (struct unix_rights){ .fds = fds, .nr = rec->n_rights };
	return 0;
}

/* Sends @rec (its @data) on @sk, to @dest unless NULL. A stream's fds go
 * with its last byte: the kernel gives a reader the bytes queued before a
 * message with fds together with it, so the saved run ends there. */
static int send_record(struct restore_ctx *r, const struct unix_made *made,
		       const struct file_obj *f, int sk,
		       const UnixRecord *rec, const uint8_t *data,
		       const struct sockaddr_un *dest, socklen_t dest_len, const char **why)
{
	const UnixSocket *s = f->e->unix_socket;
	bool stream = s->type == SOCK_STREAM;
	struct unix_rights rights = { 0 };
	_cleanup_free_ int *fds = NULL;
	struct ucred creds;
	size_t head = 0;
	int ret;

	if (rec->n_rights) {
		fds = calloc(rec->n_rights, sizeof(*fds));
		if (!fds)
			return -ENOMEM;
		ret = record_rights(r, made, f, rec, fds, &rights);
		if (ret) {
			*why = "cannot open an fd in flight to send it again";
			return ret;
		}
		head = stream ? rec->size - 1 : 0;
	}
	ret = head ? unix_send_as(sk, data, head, record_creds(rec, &creds), NULL,
				  (const struct sockaddr *)dest, dest_len, true) : 0;
	if (!ret)
		ret = unix_send_as(sk, data + head, rec->size - head, record_creds(rec, &creds),
				   rec->n_rights ? &rights : NULL, (const struct sockaddr *)dest,
				   dest_len, stream);
	if (ret)
		*why = rec->has_pid && ret == -EPERM ?
		       "cannot queue a record again with its sender's credentials" :
		       rec->n_rights ? "cannot queue a record again with its fds in flight" :
		       "cannot queue a record again";
	return ret;
}

/* Sends one record to @dest from a socket of its own, bound to its
 * sender's name when it had one (the name must be free then). */
static int send_from_sender(struct restore_ctx *r, const struct unix_made *made,
			    const struct file_obj *f,
			    const UnixRecord *rec, const uint8_t *data,
			    const struct sockaddr_un *dest, socklen_t dest_len, const char **why)
{
	const UnixSocket *s = f->e->unix_socket;
	_cleanup_close_ int sk = socket(AF_UNIX, (int)s->type | SOCK_CLOEXEC, 0);
	struct sockaddr_un from;
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
	ret = send_record(r, made, f, sk, rec, data, dest, dest_len, why);
	if (path)
		unlink(from.sun_path);
	return ret;
}

/* SO_PASSCRED on @fd (-1: none) turned off, its value in @was (-1: left
 * alone); put back by passcred_put_back(). */
static int passcred_off(int fd, int *was)
{
	socklen_t len = sizeof(*was);
	int off = 0;

	*was = -1;
	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PASSCRED, was, &len))
		return -errno;
	if (*was && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &off, sizeof(off)))
		return -errno;
	return 0;
}

static int passcred_put_back(int fd, int was)
{
	if (was > 0 && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &was, sizeof(was)))
		return -errno;
	return 0;
}

static int fill_records(struct restore_ctx *r, const struct unix_made *made,
			const struct file_obj *f, int fd, int peer, const char **why);

/* With SO_PASSCRED on either end the kernel gives a message sent without
 * credentials the sender's (the restoring process's), and autobinds an
 * unnamed sender: the option, restored with the others before, is off on
 * both ends while the saved records are sent (those with credentials
 * carry them explicitly), and put back after. */
static int fill(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		int fd, int peer, const char **why)
{
	int was_fd = -1, was_peer = -1, ret, back;

	if (!f->nr_chunks)
		return 0;
	ret = passcred_off(fd, &was_fd);
	if (!ret)
		ret = passcred_off(peer, &was_peer);
	if (ret)
		*why = "cannot turn SO_PASSCRED off while its queue is filled";
	else
		ret = fill_records(r, made, f, fd, peer, why);
	back = passcred_put_back(peer, was_peer);
	if (!back)
		back = passcred_put_back(fd, was_fd);
	if (back && !ret) {
		*why = "cannot turn SO_PASSCRED on again once its queue is filled";
		ret = back;
	}
	return ret;
}

static int fill_records(struct restore_ctx *r, const struct unix_made *made,
			const struct file_obj *f, int fd, int peer, const char **why)
{
	const UnixSocket *s = f->e->unix_socket;
	_cleanup_free_ uint8_t *bytes = NULL;
	struct sockaddr_un self;
	socklen_t self_len = sizeof(self);
	size_t size = 0, at = 0;
	int big = 64 << 20, ret;

	if (!f->nr_chunks)
		return 0;
	bytes = saved_bytes(r, f, &size);
	if (!bytes)
		return -ENOMEM;
	/* What is queued is charged to its sender until read: room for it
	 * all, before the saved sizes are set. */
	if (peer >= 0 && setsockopt(peer, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		return -errno;
	/* A stream's bytes with no senders' credentials: one run. */
	if (s->type == SOCK_STREAM && !s->n_queue) {
		ret = unix_send_as(peer, bytes, size, NULL, NULL, NULL, 0, true);
		if (ret)
			*why = "cannot queue its bytes again";
		return ret;
	}
	if (peer < 0 && getsockname(fd, (struct sockaddr *)&self, &self_len))
		return -errno;
	for (size_t i = 0; i < s->n_queue; i++) {
		const UnixRecord *rec = s->queue[i];

		if (peer >= 0)
			ret = send_record(r, made, f, peer, rec, bytes + at, NULL, 0, why);
		else
			ret = send_from_sender(r, made, f, rec, bytes + at, &self, self_len, why);
		if (ret)
			return ret;
		at += rec->size;
	}
	return 0;
}

struct queue_check {
	struct restore_ctx *r;
	const struct unix_made *made;
	const struct file_obj *f;
	const UnixSocket *s;
	const uint8_t *bytes;
	size_t size, at, next;
	const char *differs;
};

/* The fds a record carries are the very files sent (kcmp), in order. */
static int compare_rights(struct queue_check *c, const UnixRecord *rec, const struct peeked *pk)
{
	pid_t self = getpid();

	if (rec->n_rights != pk->nr_rights) {
		c->differs = "a queued record carries another number of fds in flight";
		return -EIO;
	}
	for (size_t i = 0; i < rec->n_rights; i++) {
		int sent = right_fd(c->r, c->made, c->f, rec->rights[i]);

		if (sent < 0)
			return sent;
		if (syscall(SYS_kcmp, self, self, KCMP_FILE, pk->rights[i], sent) != 0) {
			c->differs = "a queued record carries another file in flight";
			return -EIO;
		}
	}
	return 0;
}

static int compare_peeked(const struct peeked *pk, void *arg)
{
	struct queue_check *c = arg;
	const char *name = NULL;
	size_t name_len;
	const UnixRecord *rec;

	if (c->at + pk->size > c->size || memcmp(c->bytes + c->at, pk->data, pk->size)) {
		c->differs = "its queued bytes differ";
		return -EIO;
	}
	c->at += pk->size;
	if (c->s->type == SOCK_STREAM && !c->s->n_queue) {
		if (pk->nr_rights) {
			c->differs = "a queued run carries fds in flight, which none was saved "
				     "with";
			return -EIO;
		}
		return 0;
	}
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
	return compare_rights(c, rec, pk);
}

static int check(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		 int fd, const char **why)
{
	const UnixSocket *s = f->e->unix_socket;
	_cleanup_free_ uint8_t *bytes = NULL;
	struct queue_check c = { .r = r, .made = made, .f = f, .s = s };
	int ret;

	bytes = saved_bytes(r, f, &c.size);
	if (!bytes)
		return -ENOMEM;
	c.bytes = bytes;
	ret = queue_peek(fd, s->type == SOCK_STREAM, s->shutdown & 1, NULL, compare_peeked, &c, why);
	if (!ret && (c.at != c.size || c.next != s->n_queue)) {
		c.differs = "fewer bytes or records are queued than were saved";
		ret = -EIO;
	}
	if (c.differs)
		*why = c.differs;
	return ret;
}

/* @made joins the chain of groups being filled for the time of @step. */
static int in_chain(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		    int fd, int peer, const char **why,
		    int (*step)(struct restore_ctx *r, const struct unix_made *made,
				const struct file_obj *f, int fd, int peer, const char **why))
{
	struct unix_made link = { .outer = filling };
	int ret;

	if (made) {
		link.members = made->members;
		link.fds = made->fds;
		link.n = made->n;
	}
	filling = &link;
	ret = step(r, &link, f, fd, peer, why);
	filling = link.outer;
	return ret;
}

static int check_step(struct restore_ctx *r, const struct unix_made *made,
		      const struct file_obj *f, int fd, int peer, const char **why)
{
	(void)peer;
	return check(r, made, f, fd, why);
}

int unix_queue_fill(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		    int fd, int peer, const char **why)
{
	return in_chain(r, made, f, fd, peer, why, fill);
}

int unix_queue_check(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		     int fd, const char **why)
{
	return in_chain(r, made, f, fd, -1, why, check_step);
}
