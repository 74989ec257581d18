/* Making unix sockets again: one on its own (socket(), bind, listen,
 * connect by name) or both ends of a connection at once (socketpair()),
 * with names and their files, queues, shutdown and options. What is saved
 * and checked is unix_socket.c's; the queues are unix_queue.c's. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "net/internal.h"
#include "net/sock_filter.h"
#include "net/unix_internal.h"

static socklen_t make_addr(const ProtobufCBinaryData *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name->data, name->len);
	return offsetof(struct sockaddr_un, sun_path) + name->len;
}

/* Everything set before a name and data: options but the buffers,
 * timeouts, linger. @fd is new: nothing was set on it yet. */
static int restore_options(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const UnixSocket *s = f->e->unix_socket;
	const char *what = "?";
	int ret = socket_options_restore(fd, s->options, s->n_options, false, &what);

	/* An older image's unpacked options may have set some: then each is
	 * read as it was. */
	if (!ret && s->n_options)
		ret = socket_options_restore_packed(fd, s->packed_options, s->n_packed_options,
						    false, &what);
	else if (!ret)
		ret = socket_options_restore_new(&r->new_socket_options, fd,
						 &(struct new_socket_kind){ AF_UNIX, (int)s->type, 0 },
						 s->packed_options, s->n_packed_options, &what);
	if (!ret) {
		ret = socket_timeouts_restore(fd, s->rcvtimeo_us, s->sndtimeo_us, &what);
	}
	if (!ret && s->has_linger_s) {
		struct linger linger = { .l_onoff = 1, .l_linger = (int)s->linger_s };

		what = "SO_LINGER";
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)))
			ret = -errno;
	}
	if (ret)
		restore_err(r, f, "cannot set %s as saved: %s", what,
			    ret == -ERANGE ? "the kernel keeps another value" : strerror(-ret));
	return ret;
}

/* Binds where a ghost's path is taken: a free name in the same folder,
 * unlinked at once. */
static int bind_ghost_elsewhere(int fd, const char *path, struct sockaddr_un *sa)
{
	char copy[sizeof(sa->sun_path) + 1];
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/.cryo-ghost-%d-%d", dir,
				 (int)getpid(), i);

		if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
			return -ENAMETOOLONG;
		if (!bind(fd, (struct sockaddr *)sa, sizeof(*sa)))
			return unlink(sa->sun_path) ? -errno : 0;
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

/* Removes the socket's old file at @path: only when it is the very file
 * the dump saw (the original process's socket, now closed). */
static int remove_old_file(struct restore_ctx *r, const struct file_obj *f, const char *path)
{
	const UnixSocket *s = f->e->unix_socket;
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode) || !s->has_file_ino || st.st_ino != s->file_ino ||
	    st.st_dev != s->file_dev) {
		restore_err(r, f, "cannot bind to %s again: it is another file now", path);
		return -EEXIST;
	}
	if (unlink(path)) {
		restore_err(r, f, "cannot remove its old socket file %s: %s", path,
			    strerror(errno));
		return -errno;
	}
	return 0;
}

static int restore_name(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const UnixSocket *s = f->e->unix_socket;
	struct sockaddr_un sa;
	socklen_t len;
	char path[sizeof(sa.sun_path) + 1] = "";
	int ret;

	/* A connected stream's name is its listener's (an accepted one):
	 * the listener holds it; see ARCHITECTURE's "not restored". An
	 * autobound one of its own (own_name) is bound again. */
	if (!s->has_name ||
	    (s->type != SOCK_DGRAM && (s->connected || s->peer_closed) && !s->own_name))
		return 0;
	len = make_addr(&s->name, &sa);
	if (sa.sun_path[0]) {
		memcpy(path, s->name.data, s->name.len);
		if (s->ghost) {
			if (bind(fd, (struct sockaddr *)&sa, len) == 0)
				ret = unlink(path) ? -errno : 0;
			else if (errno == EADDRINUSE)
				ret = bind_ghost_elsewhere(fd, path, &sa);
			else
				ret = -errno;
			if (ret)
				restore_err(r, f, "cannot bind to %s (deleted) again: %s", path,
					    strerror(-ret));
			return ret;
		}
		ret = remove_old_file(r, f, path);
		if (ret)
			return ret;
	}
	if (bind(fd, (struct sockaddr *)&sa, len)) {
		restore_err(r, f, "cannot bind to %s%.*s again: %s", sa.sun_path[0] ? "" : "@",
			    (int)s->name.len - !sa.sun_path[0], sa.sun_path + !sa.sun_path[0],
			    strerror(errno));
		return -errno;
	}
	if (!path[0])
		return 0;
	if (s->has_file_mode && chmod(path, s->file_mode)) {
		restore_err(r, f, "cannot give %s its mode %o: %s", path, s->file_mode,
			    strerror(errno));
		return -errno;
	}
	if (s->has_file_uid && s->has_file_gid && lchown(path, s->file_uid, s->file_gid)) {
		restore_err(r, f, "cannot give %s its owner %u:%u: %s", path, s->file_uid,
			    s->file_gid, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The object of @f with its saved data loaded: @f's own in the process
 * that holds it, or, when cryo makes it for several processes, the one in
 * the image of a process with an fd of it; NULL when nothing is queued. */
static const struct file_obj *data_of(const struct restore_ctx *r, const struct file_obj *f)
{
	if (f->nr_chunks || !r->all)
		return f->nr_chunks ? f : NULL;
	for (size_t i = 0; i < r->nr_all; i++) {
		const struct file_obj *o = files_find(r->all[i], f->e->id);

		/* Loaded where the socket is needed: an fd, or in flight. */
		if (o && o->nr_chunks)
			return o;
	}
	return NULL;
}

static int fill_queue(struct restore_ctx *r, const struct unix_made *made,
		      const struct file_obj *f, int fd, int peer)
{
	const struct file_obj *holder = data_of(r, f);
	const char *why = NULL;
	int ret = holder ? unix_queue_fill(r, made, holder, fd, peer, &why) : 0;

	if (ret)
		restore_err(r, f, "%s: %s", why ? why : "cannot queue its data again",
			    strerror(-ret));
	return ret;
}

/* What comes once the data is queued: shutdown, buffers, peek offset,
 * filter, owner, and the queue read back. */
static int finish(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		  int fd)
{
	const UnixSocket *s = f->e->unix_socket;
	const char *what = "?";
	struct stat st;
	int ret;

	if (s->shutdown && shutdown(fd, (int)s->shutdown - 1) && errno != ENOTCONN) {
		restore_err(r, f, "cannot shut it down again: %s", strerror(errno));
		return -errno;
	}
	ret = socket_options_restore(fd, s->options, s->n_options, true, &what);
	if (!ret)
		ret = socket_options_restore_packed(fd, s->packed_options, s->n_packed_options,
						    true, &what);
	if (ret) {
		restore_err(r, f, "cannot set %s as saved: %s", what, strerror(-ret));
		return ret;
	}
	ret = sock_filter_restore(fd, s->has_filter, &s->filter, s->filter_locked, &what);
	if (ret) {
		restore_err(r, f, "cannot set %s again: %s", what, strerror(-ret));
		return ret;
	}
	if (data_of(r, f)) {
		ret = unix_queue_check(r, made, data_of(r, f), fd, &what);
		if (ret) {
			restore_err(r, f, "its queue read back: %s", what);
			return ret;
		}
	}
	if (s->peek_off != -1 &&
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &s->peek_off, sizeof(s->peek_off))) {
		restore_err(r, f, "cannot set its peek offset: %s", strerror(errno));
		return -errno;
	}
	if (s->has_uid && s->has_gid && !fstat(fd, &st) &&
	    (st.st_uid != s->uid || st.st_gid != s->gid) && fchown(fd, s->uid, s->gid)) {
		restore_err(r, f, "cannot give it its owner %u:%u: %s", s->uid, s->gid,
			    strerror(errno));
		return -errno;
	}
	return 0;
}

/* A seqpacket end's records show their sender's name: its peer's, gone
 * now, which was abstract (the dump checked) and so is free again. The
 * other end of the new pair takes it, and drops it when closed. */
static int take_gone_peers_name(struct restore_ctx *r, const struct file_obj *f, int other)
{
	const UnixSocket *s = f->e->unix_socket;
	struct sockaddr_un sa;
	socklen_t len;

	if (s->type != SOCK_SEQPACKET || !s->n_queue || !s->queue[0]->has_sender)
		return 0;
	len = make_addr(&s->queue[0]->sender, &sa);
	if (!sa.sun_path[0] && bind(other, (struct sockaddr *)&sa, len) == 0)
		return 0;
	restore_err(r, f, "cannot give the end that queues its records again their sender's "
		    "name @%.*s: %s", (int)s->queue[0]->sender.len - 1, sa.sun_path + 1,
		    sa.sun_path[0] ? "not abstract" : strerror(errno));
	return -EADDRINUSE;
}

/* A socket whose peer closed: one end of a new pair, its queue sent by
 * the other, which is then closed. */
static int open_left_by_peer(struct restore_ctx *r, const struct file_obj *f)
{
	const UnixSocket *s = f->e->unix_socket;
	_cleanup_close_ int other = -1;
	int sv[2], ret;
	struct unix_made alone = { .members = &f, .fds = sv, .n = 1 };

	if (socketpair(AF_UNIX, (int)s->type | SOCK_CLOEXEC, 0, sv)) {
		restore_err(r, f, "cannot make a socketpair: %s", strerror(errno));
		return -errno;
	}
	other = sv[1];
	ret = restore_options(r, f, sv[0]);
	if (!ret)
		ret = restore_name(r, f, sv[0]);
	if (!ret)
		ret = take_gone_peers_name(r, f, other);
	if (!ret)
		ret = fill_queue(r, &alone, f, sv[0], other);
	close(steal_fd(other));
	if (!ret)
		ret = finish(r, &alone, f, sv[0]);
	if (ret) {
		close(sv[0]);
		return ret;
	}
	return sv[0];
}

/* Connects @fd to the listener @l's name, which must have room: the
 * connection then waits in its accept queue. */
static int connect_to_listener(struct restore_ctx *r, const struct file_obj *l,
			       const struct file_obj *f, int fd)
{
	const UnixSocket *ls = l->e->unix_socket;
	struct sockaddr_un sa;
	socklen_t len = make_addr(&ls->name, &sa);
	int flags = fcntl(fd, F_GETFL);

	/* Never blocks the restore: a full queue fails it. */
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) ||
	    connect(fd, (struct sockaddr *)&sa, len) || fcntl(fd, F_SETFL, flags)) {
		restore_err(r, f, "cannot connect again to the listener %s%.*s (file %u), in "
			    "whose accept queue it waited: %s", sa.sun_path[0] ? "" : "@",
			    (int)ls->name.len - !sa.sun_path[0], sa.sun_path + !sa.sun_path[0],
			    l->e->id, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The connections waiting in the accept queue of the listener @l (made
 * and listening), in their order: each client of @members connects again,
 * its new fd into @fds. */
static int make_waiting(struct restore_ctx *r, const struct file_obj *l,
			const struct file_obj *const *members, size_t n, int *fds)
{
	const UnixSocket *ls = l->e->unix_socket;
	int ret = 0;

	for (size_t i = 0; !ret && i < ls->n_waiting; i++) {
		const struct file_obj *c = NULL;
		size_t j;
		int fd;

		for (j = 0; j < n; j++) {
			const UnixSocket *cs = members[j]->e->unix_socket;

			if (cs->has_waiting_on && cs->waiting_on == ls->ino &&
			    cs->ino == ls->waiting[i] && fds[j] < 0) {
				c = members[j];
				break;
			}
		}
		if (!c) {
			restore_err(r, l, "the client socket:[%llu] waiting in its accept queue "
				    "is not in its group", (unsigned long long)ls->waiting[i]);
			return -EBADMSG;
		}
		if (c->e->unix_socket->type != ls->type) {
			restore_err(r, c, "waits in the accept queue of a listener of another "
				    "type");
			return -EBADMSG;
		}
		fd = socket(AF_UNIX, (int)ls->type | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			restore_err(r, c, "cannot make a socket: %s", strerror(errno));
			return -errno;
		}
		ret = restore_options(r, c, fd);
		if (!ret)
			ret = restore_name(r, c, fd);
		if (!ret)
			ret = connect_to_listener(r, l, c, fd);
		if (!ret)
			ret = finish(r, &(struct unix_made){ .members = &c, .fds = &fd, .n = 1 }, c,
				     fd);
		if (ret)
			close(fd);
		else
			fds[j] = fd;
	}
	return ret;
}

/* A listener and the clients waiting in its accept queue: the listener
 * first, then each client connects again in the saved order. */
static int create_listener_group(struct restore_ctx *r, const struct file_obj *const *members,
				 size_t n, int *fds)
{
	const struct file_obj *l = NULL;
	size_t at = 0, clients = 0;
	int ret;

	for (size_t i = 0; i < n; i++) {
		fds[i] = -1;
		if (members[i]->e->unix_socket->n_waiting) {
			if (l) {
				restore_err(r, members[i], "a second listener in one group");
				return -EBADMSG;
			}
			l = members[i];
			at = i;
		} else if (members[i]->e->unix_socket->has_waiting_on) {
			clients++;
		}
	}
	if (!l || clients + 1 != n) {
		restore_err(r, members[0], "a group with no listener, or with members that are "
			    "neither it nor its waiting clients");
		return -EBADMSG;
	}
	ret = unix_open(r, l);
	if (ret < 0)
		return ret;
	fds[at] = ret;
	ret = make_waiting(r, l, members, n, fds);
	for (size_t i = 0; !ret && i < n; i++) {
		if (fds[i] < 0) {
			restore_err(r, members[i], "not named by its listener's accept queue");
			ret = -EBADMSG;
		}
	}
	if (ret) {
		for (size_t i = 0; i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return ret;
	}
	return 0;
}

int unix_open(struct restore_ctx *r, const struct file_obj *f)
{
	const UnixSocket *s = f->e->unix_socket;
	_cleanup_close_ int fd = -1;
	struct unix_made alone = { .members = &f, .fds = &fd, .n = 1 };
	struct sockaddr_un sa;
	int ret;

	if (s->peer_closed)
		return open_left_by_peer(r, f);
	fd = socket(AF_UNIX, (int)s->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		restore_err(r, f, "cannot make a socket: %s", strerror(errno));
		return -errno;
	}
	ret = restore_options(r, f, fd);
	if (!ret)
		ret = restore_name(r, f, fd);
	if (!ret && s->has_backlog && listen(fd, (int)s->backlog)) {
		ret = -errno;
		restore_err(r, f, "cannot listen again: %s", strerror(errno));
	}
	if (!ret && data_of(r, f) && !s->has_name) {
		restore_err(r, f, "data queued on an unnamed socket with no peer: nothing can "
			    "send it again");
		ret = -EINVAL;
	}
	/* Records come from many senders before it is connected: afterwards
	 * it would take its peer's only. */
	if (!ret)
		ret = fill_queue(r, &alone, f, fd, -1);
	if (!ret && s->has_connect_to) {
		socklen_t len = make_addr(&s->connect_to, &sa);

		if (connect(fd, (struct sockaddr *)&sa, len)) {
			ret = -errno;
			restore_err(r, f, "cannot connect to %s%.*s again: %s",
				    sa.sun_path[0] ? "" : "@",
				    (int)s->connect_to.len - !sa.sun_path[0],
				    sa.sun_path + !sa.sun_path[0], strerror(errno));
		}
	}
	if (!ret)
		ret = finish(r, &alone, f, fd);
	return ret ? ret : steal_fd(fd);
}

int unix_create_group(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		      int *fds)
{
	const UnixSocket *s = members[0]->e->unix_socket;
	int sv[2], ret = 0;
	struct unix_made made = { .members = members, .fds = sv, .n = 2 };

	for (size_t i = 0; i < n; i++)
		if (members[i]->e->unix_socket->n_waiting ||
		    members[i]->e->unix_socket->has_waiting_on)
			return create_listener_group(r, members, n, fds);
	if (n != 2 || members[1]->e->unix_socket->type != s->type) {
		restore_err(r, members[0], "a socketpair needs two ends of one type");
		return -EBADMSG;
	}
	if (socketpair(AF_UNIX, (int)s->type | SOCK_CLOEXEC, 0, sv)) {
		restore_err(r, members[0], "cannot make a socketpair: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; !ret && i < 2; i++)
		ret = restore_options(r, members[i], sv[i]);
	for (size_t i = 0; !ret && i < 2; i++)
		ret = restore_name(r, members[i], sv[i]);
	for (size_t i = 0; !ret && i < 2; i++)
		ret = fill_queue(r, &made, members[i], sv[i], sv[1 - i]);
	for (size_t i = 0; !ret && i < 2; i++)
		ret = finish(r, &made, members[i], sv[i]);
	if (ret) {
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	fds[0] = sv[0];
	fds[1] = sv[1];
	return 0;
}
