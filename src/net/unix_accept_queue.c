/* Connections waiting in a unix listener's accept queue, at dump: which
 * clients wait (UNIX_DIAG_ICONS), whether each connection can be made
 * again (its client in the dump, nothing sent yet), and for a waiting
 * client, its listener (the one whose icons hold it). The records are
 * unix_socket.c's; restore is unix_restore.c's (create_listener_group()). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "files/kind.h"
#include "net/sock_diag.h"
#include "net/unix_internal.h"

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
	if (unix_diag_lookup(d, client, &st))
		return "sock_diag does not show its client";
	if (st.wqueue)
		return "its client has sent data, which cannot be read without accepting the "
		       "connection (taking it from the task)";
	if (file_dump_holds_socket(d, client) != 1)
		return "its client is outside the dump (or the dump's fds cannot be read)";
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
	int ret;

	if (st->nr_icons && !st->icons) {
		pr_fd_err(p, "sock_diag does not list the connections waiting in its accept queue");
		return -ESRCH;
	}
	s->waiting = calloc(st->nr_icons ? st->nr_icons : 1, sizeof(*s->waiting));
	if (!s->waiting)
		return -ENOMEM;
	for (size_t i = 0; i < st->nr_icons; i++) {
		uint32_t client = st->icons[i];
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
			return -EOPNOTSUPP;
		}
		s->waiting[s->n_waiting++] = client;
		clients = true;
	}
	if (s->n_waiting && (!st->name_len || s->ghost)) {
		pr_fd_err(p, "unix listening socket with connections waiting in its accept queue "
			  "and %s: they cannot be made again", st->name_len ? "its file removed" :
			  "no name");
		return -EOPNOTSUPP;
	}
	ret = clients ? file_dump_join_group(d, p->st.st_ino) : 0;
	return ret;
}

int unix_accept_queue_dump_client(const struct file_dump *d, const struct unix_diag_state *st,
				  UnixSocket *s)
{
	const struct fd_probe *p = d->p;
	struct unix_diag_state lst;
	uint32_t listener;
	const char *why = NULL;
	int ret, held;

	ret = unix_diag_listener_of(d, (uint32_t)p->st.st_ino, &listener, &lst);
	if (ret == -ENOENT) {
		pr_fd_err(p, "connected to a socket with no inode that no listener's accept queue "
			  "lists: not supported");
		return -EOPNOTSUPP;
	}
	if (ret)
		return ret;
	held = file_dump_holds_socket(d, listener);
	if (held < 0)
		return held;
	if (st->wqueue)
		why = "it has sent data, which cannot be read without accepting the connection "
		      "(taking it from its listener)";
	else if (!held && !file_dump_ext_unix_sk(d))
		why = "its listener is outside the dump (--ext-unix-sk connects it again)";
	if (why && file_dump_skip_in_flight(d)) {
		/* Dropped: as if the listener had closed the connection. */
		pr_info("dump: pid %d %s (%s): --skip-in-flight: its connection waiting in the "
			"accept queue of socket:[%u] is dropped: %s", p->pid, p->name, p->link,
			listener, why);
		s->has_peer_closed = s->peer_closed = true;
		return 0;
	}
	if (why) {
		pr_fd_err(p, "unix socket waiting in the accept queue of socket:[%u]: %s: not "
			  "supported (--skip-in-flight drops it)", listener, why);
		return -EOPNOTSUPP;
	}
	if (!held) {
		/* --ext-unix-sk: a new connection to the outside listener. */
		s->has_external = s->external = true;
		s->has_connected = s->connected = true;
		s->has_connect_to = true;
		return save_bytes(&s->connect_to, lst.name, lst.name_len);
	}
	s->has_waiting_on = true;
	s->waiting_on = listener;
	return file_dump_join_group(d, listener);
}
