/* Connections waiting in a unix listener's accept queue, at dump: which
 * clients wait (UNIX_DIAG_ICONS), whether each connection can be made
 * again (its client in the dump, nothing sent yet), and for a waiting
 * client, its listener. The records are unix_socket.c's; restore is
 * unix_restore.c's (make_waiting()). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "files/kind.h"
#include "net/sock_diag.h"
#include "net/unix_internal.h"

#define UNIX_LISTEN 10

struct scan {
	/* In: the client whose listener is looked for, or 0; the listener
	 * whose accept queue is wanted, or 0. */
	uint32_t client, of;
	/* Out: the accept queue of @of; the listener of @client (inode,
	 * name). */
	uint32_t *icons;
	size_t nr_icons;
	bool seen;
	uint32_t listener;
	size_t name_len;
	char name[108];
};

static int scan_one(uint32_t ino, const struct unix_diag_state *st, void *arg)
{
	struct scan *sc = arg;

	if (ino && ino == sc->of && !sc->seen) {
		sc->seen = true;
		sc->icons = calloc(st->nr_icons ? st->nr_icons : 1, sizeof(*sc->icons));
		if (!sc->icons)
			return -ENOMEM;
		if (st->nr_icons)
			memcpy(sc->icons, st->icons, st->nr_icons * sizeof(*sc->icons));
		sc->nr_icons = st->nr_icons;
	}
	if (st->state != UNIX_LISTEN || !sc->client || sc->listener)
		return 0;
	for (uint32_t i = 0; i < st->nr_icons; i++) {
		if (st->icons[i] != sc->client)
			continue;
		sc->listener = ino;
		sc->name_len = st->name_len;
		memcpy(sc->name, st->name, st->name_len);
		break;
	}
	return 0;
}

/* Why the connection of @client to a listener cannot be made again, or
 * NULL. A connection not yet accepted has no socket sock_diag lists: what
 * its client sent shows only as the client's send queue (charged to it
 * until read), and a closed client shows nothing at all. */
static const char *unrestorable(const struct file_dump *d, uint32_t client)
{
	struct unix_diag_state st;

	if (!client)
		return "its client has closed, and whether it sent data first cannot be seen "
		       "(the kernel lists no connection before it is accepted)";
	if (sock_diag_unix_find(client, &st))
		return "sock_diag does not show its client";
	if (st.wqueue)
		return "its client has sent data, which cannot be read without accepting the "
		       "connection (taking it from the task)";
	if (!unix_holder_of(d, client))
		return "its client is outside the dump";
	return NULL;
}

static int save_bytes(ProtobufCBinaryData *out, const void *data, size_t len)
{
	out->data = malloc(len ? len : 1);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, data, len);
	out->len = len;
	return 0;
}

int unix_accept_queue_dump_listener(const struct file_dump *d, const struct unix_diag_state *st,
				    UnixSocket *s)
{
	const struct fd_probe *p = d->p;
	bool skip = file_dump_skip_in_flight(d), clients = false;
	struct scan sc = { .of = (uint32_t)p->st.st_ino };
	int ret;

	ret = sock_diag_unix_each(scan_one, &sc);
	if (ret) {
		pr_fd_err(p, "sock_diag does not list the connections waiting in its accept queue: "
			  "%s", strerror(-ret));
		goto out;
	}
	if (!sc.seen) {
		pr_fd_err(p, "sock_diag does not list it among the unix sockets");
		ret = -ESRCH;
		goto out;
	}
	ret = -ENOMEM;
	s->waiting = calloc(sc.nr_icons ? sc.nr_icons : 1, sizeof(*s->waiting));
	if (!s->waiting)
		goto out;
	for (size_t i = 0; i < sc.nr_icons; i++) {
		uint32_t client = sc.icons[i];
		const char *why = unrestorable(d, client);

		if (why && skip) {
			pr_info("dump: pid %d %s (%s): --skip-in-flight: the connection of "
				"socket:[%u] waiting in its accept queue is dropped: %s", p->pid,
				p->name, p->link, client, why);
			continue;
		}
		if (why) {
			pr_fd_err(p, "unix listening socket with a connection from socket:[%u] "
				  "waiting in its accept queue: %s: not supported (--skip-in-flight "
				  "drops it)", client, why);
			ret = -EOPNOTSUPP;
			goto out;
		}
		s->waiting[s->n_waiting++] = client;
		clients |= client != 0;
	}
	ret = 0;
	if (s->n_waiting && (!st->name_len || s->ghost)) {
		pr_fd_err(p, "unix listening socket with connections waiting in its accept queue "
			  "and %s: they cannot be made again", st->name_len ? "its file removed" :
			  "no name");
		ret = -EOPNOTSUPP;
	}
	if (!ret && clients)
		ret = file_dump_join_group(d, p->st.st_ino);
out:
	free(sc.icons);
	return ret;
}

int unix_accept_queue_dump_client(const struct file_dump *d, const struct unix_diag_state *st,
				  UnixSocket *s)
{
	const struct fd_probe *p = d->p;
	struct scan sc = { .client = (uint32_t)p->st.st_ino };
	const char *why = NULL;
	int ret;

	ret = sock_diag_unix_each(scan_one, &sc);
	if (ret) {
		pr_fd_err(p, "sock_diag does not list the unix sockets: %s", strerror(-ret));
		goto out;
	}
	if (!sc.listener) {
		pr_fd_err(p, "connected to a socket with no inode that no listener's accept queue "
			  "lists: not supported");
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (st->wqueue)
		why = "it has sent data, which cannot be read without accepting the connection "
		      "(taking it from its listener)";
	else if (!unix_holder_of(d, sc.listener) && !file_dump_ext_unix_sk(d))
		why = "its listener is outside the dump (--ext-unix-sk connects it again)";
	if (why && file_dump_skip_in_flight(d)) {
		/* Dropped: as if the listener had closed the connection. */
		pr_info("dump: pid %d %s (%s): --skip-in-flight: its connection waiting in the "
			"accept queue of socket:[%u] is dropped: %s", p->pid, p->name, p->link,
			sc.listener, why);
		s->has_peer_closed = s->peer_closed = true;
		goto out;
	}
	if (why) {
		pr_fd_err(p, "unix socket waiting in the accept queue of socket:[%u]: %s: not "
			  "supported (--skip-in-flight drops it)", sc.listener, why);
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (!unix_holder_of(d, sc.listener)) {
		/* --ext-unix-sk: a new connection to the outside listener. */
		s->has_external = s->external = true;
		s->has_connected = s->connected = true;
		s->has_connect_to = true;
		ret = save_bytes(&s->connect_to, sc.name, sc.name_len);
		goto out;
	}
	s->has_waiting_on = true;
	s->waiting_on = sc.listener;
	ret = file_dump_join_group(d, sc.listener);
out:
	return ret;
}
