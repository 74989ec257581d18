/* --tcp-close (criu's meaning): TCP connections dumped without their state
 * and restored closed. The socket itself (options, owner) is the inet
 * kind's (inet_socket.c); connections taken alive are tcp_conn.c's. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "files/files.h"
#include "files/kind.h"
#include "net/internal.h"
#include "net/net.h"

bool tcp_close_mode(const struct fd_probe *p)
{
	return p->net && p->net->tcp_close;
}

/* Nothing of the connection is read: it is neither locked nor put in
 * repair mode, and runs on untouched when the tree does. */
int tcp_closed_dump(const struct fd_probe *p, InetSocket *s)
{
	(void)p;
	tcp_conn_drop_unsettable(s);
	s->has_tcp_closed = true;
	s->tcp_closed = true;
	return 0;
}

bool tcp_restored_closed(const struct restore_ctx *r, const InetSocket *s)
{
	return (s->has_tcp_closed && s->tcp_closed) || (s->tcp && r->env && r->env->tcp_close);
}

/* A new socket shut down both ways: the kernel answers ENOTCONN but sets
 * the bits, so recv() returns 0 and send() EPIPE, as after a close. */
int tcp_closed_restore(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	if (shutdown(fd, SHUT_RDWR) && errno != ENOTCONN) {
		restore_err(r, f, "cannot shut the closed TCP connection down: %s",
			    strerror(errno));
		return -errno;
	}
	return 0;
}
