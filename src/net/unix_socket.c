/* The "unix socket" kind: stream, datagram and seqpacket unix sockets,
 * unbound, bound (path, abstract, autobound, or a path whose file is gone),
 * listening, connected, shut down, or left by a closed peer, with their
 * options and queues (unix_queue.c). Both ends of a connection in the
 * dump are one group, made again by socketpair(); a datagram socket
 * connected to another that is not connected back connects again by name.
 * Peers are found by inode through sock_diag, never by fd order. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "net/internal.h"
#include "net/sock_diag.h"
#include "net/sock_filter.h"
#include "net/unix_internal.h"

#define SUN_PATH_MAX 108
/* The kernel's SCM_MAX_FD: fds one message carries. */
#define UNIX_RIGHTS_MAX 253
/* The kernel's BPF_MAXINSNS. */

static int sockopt_int(int fd, int level, int name, int *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, level, name, out, &len) ? -errno : 0;
}

static bool unix_recognise(const struct fd_probe *p)
{
	return S_ISSOCK(p->st.st_mode) && p->fd >= 0 && p->sock_family == AF_UNIX;
}

/* "/run/x.sock", "@abstract" or "unnamed", for messages. */
static const char *name_str(const void *name, size_t len, char *buf, size_t size)
{
	const char *n = name;

	if (!len)
		snprintf(buf, size, "unnamed");
	else if (n[0])
		snprintf(buf, size, "%.*s", (int)len, n);
	else
		snprintf(buf, size, "@%.*s", (int)len - 1, n + 1);
	return buf;
}

/* ---- dump -------------------------------------------------------------------- */

static int save_bytes(ProtobufCBinaryData *out, const void *data, size_t len)
{
	out->data = malloc(len ? len : 1);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, data, len);
	out->len = len;
	return 0;
}

/* Whether @name is one the kernel's autobind picks: abstract, 5 hex digits. */
static bool autobind_name(const char *name, size_t len)
{
	if (len != 6 || name[0])
		return false;
	for (size_t i = 1; i < len; i++)
		if (!strchr("0123456789abcdef", name[i]) || !name[i])
			return false;
	return true;
}

/* A connected stream or seqpacket end shows its listener's name when it
 * was accepted, which the listener holds; an autobound name no listener
 * has is its own (a socketpair end that sent with SO_PASSCRED): its
 * records' receivers see it as their sender, so restore binds it again.
 * An accepted end whose autobound listener closed is taken for one too:
 * its name, free at dump, is held again after restore. */
static void dump_own_name(const struct file_dump *d, const struct unix_diag_state *st,
			  UnixSocket *s)
{
	if (s->type == SOCK_DGRAM || !(s->connected || s->peer_closed) ||
	    !autobind_name(st->name, st->name_len) ||
	    unix_diag_listening_on(d, st->name, st->name_len))
		return;
	s->has_own_name = s->own_name = true;
}

/* Restore refills a seqpacket end's queue from the other end of a new
 * pair, so its records show that end's name as their sender: its peer's
 * when that is the peer's own (dump_own_name), or, its peer closed, the
 * first record's when abstract (free again). Another sender (the listener's
 * name an accepted peer shows) cannot be given: refused here, by name. */
static int check_senders(const struct file_dump *d, const UnixSocket *s)
{
	struct unix_diag_state peer;
	const ProtobufCBinaryData *rec;
	const void *name = NULL;
	size_t len = 0;
	char a[SUN_PATH_MAX * 4 + 8];

	if (s->type != SOCK_SEQPACKET || !s->n_queue)
		return 0;
	if (s->peer_closed && s->queue[0]->has_sender && !s->queue[0]->sender.data[0]) {
		name = s->queue[0]->sender.data;
		len = s->queue[0]->sender.len;
	} else if (s->connected && !s->external) {
		if (unix_diag_lookup(d, s->peer_ino, &peer))
			return 0;
		if (autobind_name(peer.name, peer.name_len) &&
		    !unix_diag_listening_on(d, peer.name, peer.name_len)) {
			name = peer.name;
			len = peer.name_len;
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < s->n_queue; i++) {
		rec = s->queue[i]->has_sender ? &s->queue[i]->sender : NULL;
		if (rec ? rec->len == len && !memcmp(rec->data, name, len) : !len)
			continue;
		pr_fd_err(d->p, "a queued record's sender %s cannot be given again (only its "
			  "peer's own name can: an accepted peer shows its listener's): not "
			  "supported", rec ? name_str(rec->data, rec->len, a, sizeof(a)) : "(none)");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The name, and for a path its file: the socket's own (mode, owner) or
 * gone (a ghost). */
static int dump_name(const struct fd_probe *p, const struct unix_diag_state *st, UnixSocket *s)
{
	char path[SUN_PATH_MAX + 1];
	struct stat fst;
	int ret;

	if (!st->name_len)
		return 0;
	s->has_name = true;
	ret = save_bytes(&s->name, st->name, st->name_len);
	if (ret || !st->name[0])
		return ret;
	memcpy(path, st->name, st->name_len);
	path[st->name_len] = 0;
	if (path[0] != '/') {
		pr_fd_err(p, "bound to the relative path %s: not supported yet", path);
		return -EOPNOTSUPP;
	}
	if (!lstat(path, &fst) && S_ISSOCK(fst.st_mode) && st->has_vfs &&
	    fst.st_ino == st->vfs_ino && major(fst.st_dev) == (st->vfs_dev >> 20) &&
	    minor(fst.st_dev) == (st->vfs_dev & 0xfffff)) {
		s->has_file_mode = s->has_file_uid = s->has_file_gid = true;
		s->file_mode = fst.st_mode & 07777;
		s->file_uid = fst.st_uid;
		s->file_gid = fst.st_gid;
		s->has_file_ino = s->has_file_dev = true;
		s->file_ino = fst.st_ino;
		s->file_dev = fst.st_dev;
		return 0;
	}
	s->has_ghost = s->ghost = true;
	return 0;
}

/* A peer outside the dump: refused, naming both ends. */
static int refuse_outside(const struct fd_probe *p, const UnixSocket *s,
			  const struct unix_diag_state *peer)
{
	char a[SUN_PATH_MAX + 2], b[SUN_PATH_MAX + 2];

	pr_fd_err(p, "unix socket %s is connected to socket:[%llu] (%s), which no process of "
		  "the dump holds: a peer outside the dump is not supported",
		  name_str(s->name.data, s->name.len, a, sizeof(a)),
		  (unsigned long long)s->peer_ino,
		  name_str(peer->name, peer->name_len, b, sizeof(b)));
	return -EOPNOTSUPP;
}

/* The peer, by inode: both ends in the dump are a group; a datagram socket
 * connected to one that is not connected back connects by its name. */
static int dump_peer(const struct file_dump *d, const struct unix_diag_state *st, UnixSocket *s)
{
	const struct fd_probe *p = d->p;
	struct unix_diag_state peer;
	int ret;

	if (st->state == UNIX_LISTEN || !st->has_peer || st->state != UNIX_ESTABLISHED)
		return 0;
	if (!st->peer_ino) {
		/* A stream client whose connection waits in a listener's accept
		 * queue has an embryo for peer, which has no inode yet; a
		 * closed peer shut the socket down both ways. */
		if (s->type != SOCK_DGRAM && st->shutdown != 3)
			return unix_accept_queue_dump_client(d, st, s);
		s->has_peer_closed = s->peer_closed = true;
		return 0;
	}
	s->has_peer_ino = true;
	s->peer_ino = st->peer_ino;
	s->has_connected = s->connected = true;
	ret = unix_diag_lookup(d, st->peer_ino, &peer);
	if (ret) {
		pr_fd_err(p, "sock_diag does not show its peer socket:[%u]: %s", st->peer_ino,
			  strerror(-ret));
		return ret == -ENOENT ? -ESRCH : ret;
	}
	/* Two ends connected to each other are a group, whose completeness
	 * the engine checks once every process is dumped: a peer that no
	 * process holds and no queue carries leaves it with one member, and
	 * the dump is refused there (unix_group_incomplete()). So the fds of
	 * every process are not read to find the peer's holder (a tenth of
	 * the dump of 10,000 socketpairs), but where --ext-unix-sk makes an
	 * outside peer's end a socket of its own. */
	if (peer.peer_ino == p->st.st_ino && !file_dump_ext_unix_sk(d))
		return file_dump_join_group(d, p->st.st_ino < st->peer_ino ? p->st.st_ino :
									    st->peer_ino);
	ret = file_dump_holds_socket(d, st->peer_ino);
	if (ret < 0)
		return ret;
	/* A peer in flight is the dump's too. */
	if (!ret)
		ret = file_dump_socket_in_flight(d, st->peer_ino) ||
		      unix_in_flight_find(d, st->peer_ino);
	if (ret < 0)
		return ret;
	if (!ret) {
		if (!file_dump_ext_unix_sk(d))
			return refuse_outside(p, s, &peer);
		if (!peer.name_len) {
			pr_fd_err(p, "its peer outside the dump, socket:[%u], has no name to "
				  "connect to again", st->peer_ino);
			return -EOPNOTSUPP;
		}
		s->has_external = s->external = true;
		s->has_connect_to = true;
		return save_bytes(&s->connect_to, peer.name, peer.name_len);
	}
	if (peer.peer_ino == p->st.st_ino)
		return file_dump_join_group(d, p->st.st_ino < st->peer_ino ? p->st.st_ino :
									    st->peer_ino);
	if (!peer.name_len) {
		pr_fd_err(p, "connected to the unnamed socket:[%u], which is not connected back: "
			  "cannot be connected again", st->peer_ino);
		return -EOPNOTSUPP;
	}
	s->has_connect_to = true;
	return save_bytes(&s->connect_to, peer.name, peer.name_len);
}

static int dump_timeouts_linger_filter(const struct fd_probe *p, UnixSocket *s)
{
	struct linger linger;
	socklen_t len = sizeof(linger);
	const char *what;
	bool locked;
	int ret = socket_timeouts_dump(p->dup, &s->rcvtimeo_us, &s->sndtimeo_us, &what);

	if (ret) {
		pr_err("dump: pid %d %s (%s): cannot read %s: %s", p->pid, p->name, p->link, what,
		       strerror(-ret));
		return ret;
	}
	if (getsockopt(p->dup, SOL_SOCKET, SO_LINGER, &linger, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read SO_LINGER", p->pid,
				    p->name, p->link);
	if (linger.l_onoff) {
		s->has_linger_s = true;
		s->linger_s = linger.l_linger;
	}
	ret = sock_filter_dump(p, &s->has_filter, &s->filter, &locked);
	if (!ret && locked) {
		s->has_filter_locked = true;
		s->filter_locked = true;
	}
	return ret;
}

static int unix_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	struct unix_diag_state st;
	int type, peek_off, ret;
	UnixSocket *s;

	/* Its type is sock_diag's (sk_type, as SO_TYPE reads it). */
	ret = unix_diag_lookup(d, p->st.st_ino, &st);
	if (ret) {
		pr_fd_err(p, "sock_diag does not show it (%s): is it in another network "
			  "namespace?", strerror(-ret));
		return ret == -ENOENT ? -ESRCH : ret;
	}
	type = st.type;
	if (sockopt_int(p->dup, SOL_SOCKET, SO_PEEK_OFF, &peek_off))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its SO_PEEK_OFF", p->pid,
				    p->name, p->link);
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	unix_socket__init(s);
	d->fe->unix_socket = s;
	s->type = type;
	s->ino = p->st.st_ino;
	s->shutdown = st.shutdown;
	s->peek_off = peek_off;
	s->has_uid = s->has_gid = true;
	s->uid = p->st.st_uid;
	s->gid = p->st.st_gid;
	if (st.state == UNIX_LISTEN) {
		s->has_backlog = true;
		s->backlog = st.wqueue;
	}
	ret = dump_name(p, &st, s);
	if (!ret && st.state == UNIX_LISTEN && (st.nr_icons || st.rqueue))
		ret = unix_accept_queue_dump_listener(d, &st, s);
	if (!ret)
		ret = dump_peer(d, &st, s);
	if (!ret)
		dump_own_name(d, &st, s);
	if (!ret)
		ret = dump_timeouts_linger_filter(p, s);
	if (!ret) {
		struct sockopt_known k = {
			.domain = AF_UNIX, .type = type, .protocol = 0,
			.unanswered = unix_unanswered_options(d),
			.has_buffers = st.has_buffers,
			.rcvbuf = (int)st.rcvbuf, .sndbuf = (int)st.sndbuf,
		};
		const char *failed = NULL;

		ret = socket_options_dump_packed(p->dup, &k, &s->packed_options,
						 &s->n_packed_options, &failed);
		if (ret && failed)
			pr_fd_err(p, "cannot read %s: %s", failed, strerror(-ret));
	}
	/* An unconnected stream or seqpacket socket has nothing to read. */
	if (!ret && (type == SOCK_DGRAM || s->connected || s->peer_closed))
		ret = unix_queue_dump(d, s, st.rqueue);
	if (!ret)
		ret = check_senders(d, s);
	if (!ret && s->external && d->fe->n_contents + d->fe->contents_in_file) {
		pr_fd_err(p, "data queued from its peer outside the dump: not restored with "
			  "--ext-unix-sk");
		ret = -EOPNOTSUPP;
	}
	return ret;
}

/* ---- load -------------------------------------------------------------------- */

static const char *record_problem(const UnixSocket *s, uint64_t *queued)
{
	*queued = 0;
	if (s->type != SOCK_STREAM && s->type != SOCK_DGRAM && s->type != SOCK_SEQPACKET)
		return "type is not stream, datagram or seqpacket";
	if (s->has_name && (!s->name.len || s->name.len > SUN_PATH_MAX ||
			    (s->name.data[0] && (s->name.data[0] != '/' ||
						 memchr(s->name.data, 0, s->name.len)))))
		return "its name is empty, too long, or a path not absolute or with a 0 byte";
	if ((s->ghost || s->has_file_mode) && (!s->has_name || !s->name.data[0]))
		return "a socket file without a path name";
	if (s->own_name && (!s->has_name || !autobind_name((const char *)s->name.data,
							    s->name.len) ||
			    s->type == SOCK_DGRAM || !(s->connected || s->peer_closed)))
		return "an own name on a socket that is not a connected stream or seqpacket "
		       "one, or not one the kernel picks";
	if (s->has_file_mode && s->file_mode > 07777)
		return "socket file mode beyond permission bits";
	if (s->has_backlog && (s->type == SOCK_DGRAM || s->connected || s->peer_closed ||
			       s->backlog > INT32_MAX))
		return "a listening socket that is datagram, connected, or with a huge backlog";
	if (s->has_connect_to && (!s->connected || (s->type != SOCK_DGRAM && !s->external) ||
				  !s->connect_to.len || s->connect_to.len > SUN_PATH_MAX))
		return "a name to connect to on a socket neither a connected datagram one nor "
		       "one with an outside peer";
	if (s->external && (!s->has_connect_to || s->stream_bytes || s->n_queue))
		return "an outside peer without a name, or with data queued";
	if (s->peer_closed && s->connected)
		return "both connected and left by its peer";
	if (s->n_waiting && (!s->has_backlog || !s->has_name || s->ghost ||
			     s->n_waiting > (uint64_t)s->backlog + 1))
		return "connections waiting on a socket that is not a named listener, or more "
		       "than its backlog takes";
	for (size_t i = 0; i < s->n_waiting; i++)
		if (!s->waiting[i])
			return "a waiting connection with no client";
	if (s->has_waiting_on && (s->type == SOCK_DGRAM || s->connected || s->peer_closed ||
				  s->has_backlog || !s->waiting_on))
		return "waiting in an accept queue, but a datagram socket, connected, left, or "
		       "listening";
	if (s->shutdown > 3 || s->peek_off < -1)
		return "shutdown bits beyond reading and writing, or peek offset below -1";
	if (s->rcvtimeo_us / 1000000 > INT32_MAX || s->sndtimeo_us / 1000000 > INT32_MAX ||
	    (s->has_linger_s && s->linger_s > INT32_MAX))
		return "timeout or linger time out of range";
	if (sock_filter_problem(s->has_filter, &s->filter, s->filter_locked))
		return sock_filter_problem(s->has_filter, &s->filter, s->filter_locked);
	for (size_t i = 0; i < s->n_options; i++)
		if (!inet_option_known(s->options[i]->level, s->options[i]->name))
			return "an option cryo does not know";
	for (size_t i = 0; i < s->n_packed_options; i++)
		if (!inet_option_known(socket_option_level(s->packed_options[i]),
				       socket_option_name(s->packed_options[i])))
			return "an option cryo does not know";
	if (s->type != SOCK_STREAM && s->has_stream_bytes)
		return "stream bytes on a socket that is not a stream";
	for (size_t i = 0; i < s->n_queue; i++) {
		const UnixRecord *r = s->queue[i];

		if (!r->size || (r->has_sender && (!r->sender.len ||
						   r->sender.len > SUN_PATH_MAX)))
			return "an empty queued record, or a sender's name empty or too long";
		if (r->has_pid != r->has_uid || r->has_pid != r->has_gid ||
		    (r->has_pid && r->pid > INT32_MAX))
			return "a queued record's sender credentials incomplete, or a pid out of "
			       "range";
		if (s->type == SOCK_STREAM && r->has_sender)
			return "a run of a stream's bytes with a sender's name";
		if (r->n_rights > UNIX_RIGHTS_MAX)
			return "a queued record with more fds in flight than one message carries";
		*queued += r->size;
	}
	if (s->type == SOCK_STREAM && s->n_queue && *queued != s->stream_bytes)
		return "a stream's runs of bytes that do not add up to its queued bytes";
	if (s->type == SOCK_STREAM)
		*queued = s->stream_bytes;
	return NULL;
}

static int unix_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const UnixSocket *s = f->e->unix_socket;
	uint64_t queued;
	const char *problem = record_problem(s, &queued);

	/* A listener's group holds it and its waiting clients (checked
	 * whole when made); any other is a socketpair. */
	if (!problem && !s->n_waiting && !s->has_waiting_on) {
		if (f->group->nr_group > 2)
			problem = "a group of more than two unix sockets";
		else if (f->group->nr_group == 2 && !s->connected)
			problem = "in a socketpair but not connected";
		else if (s->connected && !s->has_connect_to && f->group->nr_group != 2)
			problem = "connected, but neither to a name nor to a member of its group";
	} else if (s->has_waiting_on && f->group->nr_group < 2) {
		problem = "waiting in an accept queue, but in no group with its listener";
	}
	if (problem) {
		load_err(img, f, "%s", problem);
		return -EBADMSG;
	}
	/* Needed: an fd holds it, or it is in flight. */
	if (queued && f->needed)
		return contents_load(dir, img, f, queued, true);
	if (!queued && (f->e->n_contents || f->e->contents_in_file)) {
		load_err(img, f, "contents without queued data");
		return -EBADMSG;
	}
	return 0;
}

/* A datagram socket that connects by name to another of the same process
 * needs that one made first. */
static int unix_deps(struct files_image *img, struct file_obj *f)
{
	const UnixSocket *s = f->e->unix_socket;

	if (!s->has_connect_to)
		return 0;
	for (size_t i = 0; i < img->nr_files; i++) {
		const struct file_obj *o = &img->files[i];

		if (o == f || o->e->kind != FILE_ENTRY__KIND__UNIX_SOCKET || !o->nr_fds ||
		    o->e->unix_socket->ino != s->peer_ino)
			continue;
		f->deps = malloc(sizeof(*f->deps));
		if (!f->deps)
			return -ENOMEM;
		f->deps[0] = o;
		f->nr_deps = 1;
		break;
	}
	return 0;
}

/* A socketpair needs both ends; a listener's group every waiting client
 * the listener names. */
static const char *unix_group_incomplete(FileEntry *const *members, size_t n, char *buf,
					 size_t size)
{
	const UnixSocket *l = NULL, *s = n ? members[0]->unix_socket : NULL;
	size_t clients = 0;
	char a[SUN_PATH_MAX + 2];

	for (size_t i = 0; i < n; i++)
		if (members[i]->unix_socket && members[i]->unix_socket->n_waiting)
			l = members[i]->unix_socket;
	/* A connected end joins its pair's group without asking which
	 * processes hold its peer (dump_peer()): a peer that no process of
	 * the dump held, nor any queue of theirs carried, never joined. */
	if (!l && n == 1 && s && s->connected) {
		snprintf(buf, size, "unix socket %s is connected to socket:[%llu], which no "
			 "process of the dump holds and no message of theirs carries: a peer "
			 "outside the dump is not supported (with --ext-unix-sk, one with a name "
			 "is connected to again)",
			 name_str(s->name.data, s->name.len, a, sizeof(a)),
			 (unsigned long long)s->peer_ino);
		return buf;
	}
	if (!l)
		return n == 2 ? NULL : "one end of a socketpair without the other";
	for (size_t i = 0; i < l->n_waiting; i++) {
		bool found = false;

		clients++;
		for (size_t j = 0; j < n && !found; j++) {
			const UnixSocket *c = members[j]->unix_socket;

			found = c && c->has_waiting_on && c->ino == l->waiting[i];
		}
		if (!found)
			return "a listener without the client of a connection waiting in its "
			       "accept queue";
	}
	return n == clients + 1 ? NULL : "a listener's group with members it does not name";
}

static int unix_each_in_flight(const FileEntry *e, int (*fn)(void *arg, uint32_t id), void *arg)
{
	const UnixSocket *s = e->unix_socket;

	for (size_t i = 0; s && i < s->n_queue; i++)
		for (size_t j = 0; j < s->queue[i]->n_rights; j++) {
			int ret = fn(arg, s->queue[i]->rights[j]);

			if (ret)
				return ret;
		}
	return 0;
}

const struct file_kind unix_socket_kind = {
	.name = "unix socket",
	.type = FILE_ENTRY__KIND__UNIX_SOCKET,
	.recognise = unix_recognise,
	.dump = unix_dump,
	.check = unix_check,
	.deps = unix_deps,
	.in_flight_ok = true,
	.each_in_flight = unix_each_in_flight,
	.open = unix_open,
	.create_group = unix_create_group,
	/* 2 for a socketpair, 1 + its clients for a listener. */
	.group_incomplete = unix_group_incomplete,
};
