/* The "inet socket" kind: UDP and UDP-lite sockets over IPv4 and IPv6 (and
 * v4-mapped on a dual-stack socket), with addresses, shutdown, options and
 * the queued datagrams with their senders; and listening TCP sockets with
 * their backlog. Other inet sockets (TCP in another state, ping, raw) are
 * not taken, and the table refuses them by name (describe.c).
 * Sockets are dumped after the parasite is cured (dump/dump.c), so its
 * channel is gone by then and never in the fd table that is read. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "common/cleanup.h"
#include "files/contents.h"
#include "files/internal.h"
#include "kabi/kabi.h"
#include "net/internal.h"
#include "net/sock_diag.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define PORT_MAX 65535u
/* A UDP payload over IPv4 is at most 65,507 bytes; over IPv6, 65,527. */
#define DATAGRAM_PAYLOAD_MAX 65527u

static int sockopt_int(int fd, int level, int name, int *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, level, name, out, &len) ? -errno : 0;
}

/* A TCP socket's state, from TCP_INFO; -1 when it has none. */
static int tcp_state(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &info, &len) || len < 1)
		return -1;
	return info.tcpi_state;
}

static bool inet_recognise(const struct fd_probe *p)
{
	int family, type, protocol;

	if (!S_ISSOCK(p->st.st_mode) || p->fd < 0 ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_DOMAIN, &family) ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_TYPE, &type) ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_PROTOCOL, &protocol))
		return false;
	if (family != AF_INET && family != AF_INET6)
		return false;
	if (type == SOCK_STREAM && protocol == IPPROTO_TCP)
		return tcp_state(p->dup) == TCP_LISTEN;
	return type == SOCK_DGRAM && (protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE);
}

/* ---- addresses ------------------------------------------------------------ */

socklen_t inet_sockaddr_make(int family, const ProtobufCBinaryData *addr, uint32_t port,
			     uint32_t scope_id, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET && addr->len == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, addr->data, 4);
		return sizeof(*sin);
	}
	if (family == AF_INET6 && (addr->len == 16 || addr->len == 4)) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_scope_id = scope_id;
		if (addr->len == 16) {
			memcpy(&sin6->sin6_addr, addr->data, 16);
		} else {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], addr->data, 4);
		}
		return sizeof(*sin6);
	}
	return 0;
}

const char *inet_sockaddr_str(const struct sockaddr_storage *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
	return buf;
}

/* The image's form of @sa: its address bytes (into @bytes, 16 at most),
 * port and scope. With @unmap, a v4-mapped address is saved as IPv4. */
static void sockaddr_split(const struct sockaddr_storage *sa, bool unmap, uint8_t *bytes,
			   size_t *len, uint32_t *port, uint32_t *scope)
{
	*scope = 0;
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		memcpy(bytes, &sin->sin_addr, 4);
		*len = 4;
		*port = ntohs(sin->sin_port);
		return;
	}
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	*port = ntohs(sin6->sin6_port);
	if (unmap && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(bytes, &sin6->sin6_addr.s6_addr[12], 4);
		*len = 4;
		return;
	}
	memcpy(bytes, &sin6->sin6_addr, 16);
	*len = 16;
	*scope = sin6->sin6_scope_id;
}

static int save_addr(const struct sockaddr_storage *sa, bool unmap, ProtobufCBinaryData *out,
		     uint32_t *port, uint32_t *scope)
{
	uint8_t bytes[16];
	size_t len;

	sockaddr_split(sa, unmap, bytes, &len, port, scope);
	out->data = malloc(len);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, bytes, len);
	out->len = len;
	return 0;
}

/* ---- dump ------------------------------------------------------------------- */

struct queue_dump {
	InetSocket *s;
	uint8_t *bytes;
	size_t size, cap;
};

static int save_datagram(const struct datagram *dg, void *arg)
{
	struct queue_dump *q = arg;
	InetSocket *s = q->s;
	QueuedDatagram *qd, **list;
	uint32_t scope;

	if (q->size + dg->size > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 65536;
		uint8_t *b;

		while (cap < q->size + dg->size)
			cap *= 2;
		b = realloc(q->bytes, cap);
		if (!b)
			return -ENOMEM;
		q->bytes = b;
		q->cap = cap;
	}
	memcpy(q->bytes + q->size, dg->data, dg->size);
	q->size += dg->size;
	list = reallocarray(s->queue, s->n_queue + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	s->queue = list;
	qd = malloc(sizeof(*qd));
	if (!qd)
		return -ENOMEM;
	queued_datagram__init(qd);
	list[s->n_queue++] = qd;
	qd->size = dg->size;
	return save_addr(&dg->source, true, &qd->source_addr, &qd->source_port, &scope);
}

static int dump_queue(const struct file_dump *d, InetSocket *s)
{
	const struct fd_probe *p = d->p;
	struct queue_dump q = { .s = s };
	int ret = udp_queue_peek(p->dup, save_datagram, &q);

	if (ret) {
		pr_fd_err(p, "cannot read its queued datagrams: %s", strerror(-ret));
	} else if (q.size) {
		ret = contents_dump_bytes(d, q.bytes, q.size);
	}
	free(q.bytes);
	return ret;
}

/* What cryo cannot give back yet: a filter, IP options, corked data. */
static int refuse_unsupported(const struct fd_probe *p, const struct inet_diag_state *st)
{
	struct sock_fprog prog = { 0 };
	socklen_t len = 0;
	uint8_t ip_opts[40];

	/* With length 0 the kernel answers with the filter's length. */
	if (getsockopt(p->dup, SOL_SOCKET, SO_GET_FILTER, &prog, &len) || len) {
		pr_fd_err(p, "socket filter (SO_ATTACH_FILTER or BPF): not supported yet");
		return -EOPNOTSUPP;
	}
	len = sizeof(ip_opts);
	if (!getsockopt(p->dup, SOL_IP, IP_OPTIONS, ip_opts, &len) && len) {
		pr_fd_err(p, "IP options (IP_OPTIONS): not supported yet");
		return -EOPNOTSUPP;
	}
	if (st && st->wqueue) {
		pr_fd_err(p, "UDP socket with %u bytes corked or not yet sent: not supported yet",
			  st->wqueue);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int dump_device_and_timeouts(const struct fd_probe *p, InetSocket *s)
{
	char dev[IFNAMSIZ + 1] = "";
	struct timeval tv;
	socklen_t len = IFNAMSIZ;

	if (getsockopt(p->dup, SOL_SOCKET, SO_BINDTODEVICE, dev, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its device", p->pid,
				    p->name, p->link);
	if (len && dev[0]) {
		s->bound_device = strndup(dev, len);
		if (!s->bound_device)
			return -ENOMEM;
	}
	len = sizeof(tv);
	if (getsockopt(p->dup, SOL_SOCKET, SO_RCVTIMEO_OLD, &tv, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read SO_RCVTIMEO", p->pid,
				    p->name, p->link);
	s->rcvtimeo_us = (uint64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	len = sizeof(tv);
	if (getsockopt(p->dup, SOL_SOCKET, SO_SNDTIMEO_OLD, &tv, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read SO_SNDTIMEO", p->pid,
				    p->name, p->link);
	s->sndtimeo_us = (uint64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	return 0;
}

/* SO_LINGER, and for TCP its congestion control. */
static int dump_linger_and_congestion(const struct fd_probe *p, InetSocket *s)
{
	struct linger linger;
	char name[TCP_CA_NAME_MAX + 1] = "";
	socklen_t len = sizeof(linger);

	if (getsockopt(p->dup, SOL_SOCKET, SO_LINGER, &linger, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read SO_LINGER", p->pid,
				    p->name, p->link);
	if (linger.l_onoff) {
		s->has_linger_s = true;
		s->linger_s = linger.l_linger;
	}
	if (s->protocol != IPPROTO_TCP)
		return 0;
	len = TCP_CA_NAME_MAX;
	if (getsockopt(p->dup, SOL_TCP, TCP_CONGESTION, name, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read TCP_CONGESTION", p->pid,
				    p->name, p->link);
	s->congestion = strndup(name, len);
	return s->congestion ? 0 : -ENOMEM;
}

/* The state sock_diag has of a bound socket; an unbound one is in no
 * table, and only poll() tells whether reading was shut down. */
static int dump_state(const struct fd_probe *p, InetSocket *s, bool connected,
		      struct inet_diag_state *st)
{
	struct pollfd pfd = { .fd = p->dup, .events = POLLRDHUP };
	int ret;

	if (!s->local_port) {
		if (poll(&pfd, 1, 0) < 0)
			return pr_errno_ret("dump: pid %d %s (%s): cannot poll it", p->pid,
					    p->name, p->link);
		s->shutdown = pfd.revents & POLLRDHUP ? 1 : 0;
		return 0;
	}
	ret = sock_diag_inet_find(s->family, s->protocol, s->ino, st);
	if (ret) {
		pr_fd_err(p, "sock_diag does not show it (%s): is it in another network "
			  "namespace?", strerror(-ret));
		return ret == -ENOENT ? -ESRCH : ret;
	}
	if (s->protocol == IPPROTO_TCP) {
		if (st->state != TCP_LISTEN) {
			pr_fd_err(p, "TCP socket no longer listening (state %u)", st->state);
			return -EAGAIN;
		}
		/* A listener's queues are its accept queue and its backlog. */
		if (st->rqueue) {
			pr_fd_err(p, "TCP listening socket with %u connection%s waiting in its "
				  "accept queue: not supported yet", st->rqueue,
				  st->rqueue == 1 ? "" : "s");
			return -EOPNOTSUPP;
		}
		s->has_backlog = true;
		s->backlog = st->wqueue;
		return 0;
	}
	if (connected != (st->state == TCP_ESTABLISHED)) {
		pr_fd_err(p, "sock_diag shows it in state %u, its peer address says %s",
			  st->state, connected ? "connected" : "not connected");
		return -EIO;
	}
	s->shutdown = st->shutdown;
	return 0;
}

static int inet_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	struct sockaddr_storage local, peer;
	socklen_t len = sizeof(local);
	struct inet_diag_state st = { 0 };
	uint32_t scope;
	bool connected;
	InetSocket *s;
	int family, type, protocol, peek_off, ret;
	char who[96];

	if (sockopt_int(p->dup, SOL_SOCKET, SO_DOMAIN, &family) ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_TYPE, &type) ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_PROTOCOL, &protocol) ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_PEEK_OFF, &peek_off) ||
	    getsockname(p->dup, (struct sockaddr *)&local, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read what socket it is", p->pid,
				    p->name, p->link);
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	inet_socket__init(s);
	d->fe->inet_socket = s;
	s->family = family;
	s->type = type;
	s->protocol = protocol;
	s->ino = p->st.st_ino;
	s->peek_off = peek_off;
	ret = save_addr(&local, false, &s->local_addr, &s->local_port, &scope);
	if (ret)
		return ret;
	if (scope) {
		s->has_local_scope_id = true;
		s->local_scope_id = scope;
	}
	len = sizeof(peer);
	connected = !getpeername(p->dup, (struct sockaddr *)&peer, &len);
	if (!connected && errno != ENOTCONN)
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its peer", p->pid, p->name,
				    p->link);
	if (connected) {
		s->has_peer_port = true;
		s->has_peer_addr = true;
		ret = save_addr(&peer, false, &s->peer_addr, &s->peer_port, &scope);
		if (ret)
			return ret;
		if (scope) {
			s->has_peer_scope_id = true;
			s->peer_scope_id = scope;
		}
	}
	ret = dump_state(p, s, connected, &st);
	if (!ret)
		ret = refuse_unsupported(p, s->local_port && s->type == SOCK_DGRAM ? &st : NULL);
	if (!ret)
		ret = dump_device_and_timeouts(p, s);
	if (!ret)
		ret = dump_linger_and_congestion(p, s);
	snprintf(who, sizeof(who), "pid %d %s (%s)", p->pid, p->name, p->link);
	if (!ret)
		ret = inet_options_dump(p->dup, s, who);
	if (!ret && s->local_port && s->type == SOCK_DGRAM)
		ret = dump_queue(d, s);
	return ret;
}

/* ---- load -------------------------------------------------------------------- */

static bool addr_fits(uint32_t family, const ProtobufCBinaryData *a)
{
	return a->len == (family == AF_INET ? 4u : 16u);
}

static const char *record_problem(const InetSocket *s, uint64_t *queued)
{
	*queued = 0;
	if (s->family != AF_INET && s->family != AF_INET6)
		return "family is neither AF_INET nor AF_INET6";
	if (s->type == SOCK_STREAM && s->protocol == IPPROTO_TCP) {
		if (!s->has_backlog || !s->local_port || s->has_peer_addr || s->shutdown ||
		    s->n_queue || s->backlog > INT32_MAX)
			return "a TCP socket must be listening: bound, with a backlog, no peer, "
			       "no shutdown and no datagrams";
	} else if (s->type != SOCK_DGRAM ||
		   (s->protocol != IPPROTO_UDP && s->protocol != IPPROTO_UDPLITE)) {
		return "only UDP, UDP-lite and listening TCP sockets are restored";
	} else if (s->has_backlog || s->congestion) {
		return "a backlog or congestion control on a datagram socket";
	}
	if (s->congestion && (!s->congestion[0] || strlen(s->congestion) >= TCP_CA_NAME_MAX))
		return "congestion control name empty or too long";
	if (s->has_linger_s && s->linger_s > INT32_MAX)
		return "linger time out of range";
	if (!addr_fits(s->family, &s->local_addr) || s->local_port > PORT_MAX)
		return "its local address does not fit its family";
	if (s->has_peer_addr != s->has_peer_port)
		return "a peer needs both an address and a port";
	if (s->has_peer_addr && (!addr_fits(s->family, &s->peer_addr) || !s->local_port ||
				 s->peer_port > PORT_MAX))
		return "its peer address does not fit its family, or it has no local port";
	if ((s->has_local_scope_id || s->has_peer_scope_id) && s->family != AF_INET6)
		return "a scope id needs IPv6";
	if (s->shutdown > 3)
		return "shutdown bits beyond reading and writing";
	if (s->peek_off < -1)
		return "peek offset below -1";
	if (s->bound_device && (!s->bound_device[0] || strlen(s->bound_device) >= IFNAMSIZ))
		return "device name empty or too long";
	if (s->rcvtimeo_us / 1000000 > INT32_MAX || s->sndtimeo_us / 1000000 > INT32_MAX)
		return "timeout out of range";
	for (size_t i = 0; i < s->n_options; i++)
		if (!inet_option_known(s->options[i]->level, s->options[i]->name))
			return "an option cryo does not know";
	if (s->n_queue && !s->local_port)
		return "datagrams queued on a socket that was never bound";
	for (size_t i = 0; i < s->n_queue; i++) {
		const QueuedDatagram *q = s->queue[i];

		if (q->size > DATAGRAM_PAYLOAD_MAX || q->source_port > PORT_MAX)
			return "a queued datagram too large, or its sender's port out of range";
		if (q->source_addr.len != 4 && (q->source_addr.len != 16 || s->family != AF_INET6))
			return "a queued datagram's sender does not fit the socket's family";
		*queued += q->size;
	}
	return NULL;
}

static int inet_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const InetSocket *s = f->e->inet_socket;
	uint64_t queued;
	const char *problem = record_problem(s, &queued);

	if (problem) {
		load_err(img, f, "%s", problem);
		return -EBADMSG;
	}
	if (queued && f->nr_fds)
		return contents_load(dir, img, f, queued, true);
	if (!queued && (f->e->n_contents || f->e->contents_in_file)) {
		load_err(img, f, "contents without queued datagrams");
		return -EBADMSG;
	}
	return 0;
}

/* ---- restore ---------------------------------------------------------------- */

static int set_timeout(int fd, int name, uint64_t us)
{
	struct timeval tv = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 };

	if (!us)
		return 0;
	return setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)) ? -errno : 0;
}

static int restore_bind(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const InetSocket *s = f->e->inet_socket;
	struct sockaddr_storage sa;
	socklen_t len = inet_sockaddr_make(s->family, &s->local_addr, s->local_port,
					   s->local_scope_id, &sa);
	char text[64];

	if (!s->local_port)
		return 0;
	if (bind(fd, (struct sockaddr *)&sa, len)) {
		restore_err(r, f, "cannot bind to %s again: %s%s",
			    inet_sockaddr_str(&sa, text, sizeof(text)),
			    errno == EADDRINUSE ? "the port is taken: " : "", strerror(errno));
		return -errno;
	}
	return 0;
}

struct queue_check {
	const InetSocket *s;
	const uint8_t *bytes;
	size_t next, offset;
	bool differs;
};

static int compare_datagram(const struct datagram *dg, void *arg)
{
	struct queue_check *c = arg;
	const QueuedDatagram *q;
	uint8_t bytes[16];
	uint32_t port, scope;
	size_t len;

	if (c->next >= c->s->n_queue) {
		c->differs = true;
		return -EIO;
	}
	q = c->s->queue[c->next++];
	sockaddr_split(&dg->source, true, bytes, &len, &port, &scope);
	if (q->size != dg->size || memcmp(c->bytes + c->offset, dg->data, dg->size) ||
	    len != q->source_addr.len || memcmp(bytes, q->source_addr.data, len) ||
	    port != q->source_port) {
		c->differs = true;
		return -EIO;
	}
	c->offset += dg->size;
	return 0;
}

/* Queues the saved datagrams on the bound socket @fd, with a receive
 * buffer large enough for them all, and reads them back to check. */
static int restore_queue(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const InetSocket *s = f->e->inet_socket;
	_cleanup_close_ int raw4 = -1, raw6 = -1;
	_cleanup_free_ uint8_t *bytes = NULL;
	struct queue_check check = { .s = s };
	size_t total = 0, offset = 0;
	int room, ret = 0;

	if (!s->n_queue)
		return 0;
	for (size_t i = 0; i < s->n_queue; i++)
		total += s->queue[i]->size;
	bytes = malloc(total + 1);
	if (!bytes)
		return -ENOMEM;
	contents_copy_runs(bytes, f->chunks, f->nr_chunks);
	/* Each datagram costs its bytes and a buffer's overhead. */
	room = (int)(total * 2 + s->n_queue * 4096 + 65536);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof(room))) {
		restore_err(r, f, "cannot make room for %zu queued datagrams: %s", s->n_queue,
			    strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < s->n_queue && !ret; i++) {
		const QueuedDatagram *q = s->queue[i];
		struct datagram dg = { .data = bytes + offset, .size = q->size };

		inet_sockaddr_make(q->source_addr.len == 4 ? AF_INET : AF_INET6, &q->source_addr,
				   q->source_port, 0, &dg.source);
		ret = udp_queue_inject(fd, s, &dg, &raw4, &raw6);
		if (ret)
			restore_err(r, f, "cannot queue datagram %zu of %zu again: %s", i + 1,
				    s->n_queue, strerror(-ret));
		offset += q->size;
	}
	if (ret)
		return ret;
	check.bytes = bytes;
	ret = udp_queue_peek(fd, compare_datagram, &check);
	if (!ret && check.next != s->n_queue)
		check.differs = true;
	if (check.differs || ret) {
		restore_err(r, f, "its queue does not hold the %zu saved datagrams: %zu came back "
			    "as saved (%s)", s->n_queue, check.next - check.differs,
			    check.differs ? "a datagram was lost or differs" : strerror(-ret));
		return check.differs ? -EIO : ret;
	}
	return 0;
}

static int restore_connection(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const InetSocket *s = f->e->inet_socket;
	struct sockaddr_storage sa;
	socklen_t len;
	char text[64];

	if (s->has_peer_addr) {
		len = inet_sockaddr_make(s->family, &s->peer_addr, s->peer_port,
					 s->peer_scope_id, &sa);
		if (connect(fd, (struct sockaddr *)&sa, len)) {
			restore_err(r, f, "cannot connect to %s again: %s",
				    inet_sockaddr_str(&sa, text, sizeof(text)), strerror(errno));
			return -errno;
		}
	}
	/* shutdown() takes 0, 1, 2 for the bits 1, 2, 3; an unconnected
	 * socket gets them too, with ENOTCONN. */
	if (s->shutdown && shutdown(fd, (int)s->shutdown - 1) && errno != ENOTCONN) {
		restore_err(r, f, "cannot shut it down again: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The new socket must have the saved addresses: a kernel that chose
 * another would break the task's peers silently. */
static int check_addresses(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const InetSocket *s = f->e->inet_socket;
	struct sockaddr_storage want, got;
	socklen_t len = sizeof(got);
	char a[64], b[64];

	inet_sockaddr_make(s->family, &s->local_addr, s->local_port, 0, &want);
	if (getsockname(fd, (struct sockaddr *)&got, &len))
		return -errno;
	if (got.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&got)->sin6_scope_id = 0;
	if (memcmp(&want, &got, len)) {
		restore_err(r, f, "is at %s, not the saved %s", inet_sockaddr_str(&got, a, sizeof(a)),
			    inet_sockaddr_str(&want, b, sizeof(b)));
		return -EIO;
	}
	return 0;
}

static int restore_options(struct restore_ctx *r, const struct file_obj *f, int fd,
			   bool buffers)
{
	const InetSocket *s = f->e->inet_socket;
	const char *what = "?";
	int ret;

	if (buffers) {
		ret = inet_options_restore_buffers(fd, s, &what);
	} else {
		ret = inet_options_restore(fd, s, &what);
		if (!ret && s->bound_device) {
			what = "SO_BINDTODEVICE";
			if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->bound_device,
				       strlen(s->bound_device)))
				ret = -errno;
		}
		if (!ret) {
			what = "SO_RCVTIMEO";
			ret = set_timeout(fd, SO_RCVTIMEO_OLD, s->rcvtimeo_us);
		}
		if (!ret) {
			what = "SO_SNDTIMEO";
			ret = set_timeout(fd, SO_SNDTIMEO_OLD, s->sndtimeo_us);
		}
		if (!ret && s->has_linger_s) {
			struct linger linger = { .l_onoff = 1, .l_linger = (int)s->linger_s };

			what = "SO_LINGER";
			if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)))
				ret = -errno;
		}
		if (!ret && s->congestion) {
			what = "TCP_CONGESTION";
			if (setsockopt(fd, SOL_TCP, TCP_CONGESTION, s->congestion,
				       strlen(s->congestion)))
				ret = -errno;
		}
	}
	if (ret)
		restore_err(r, f, "cannot set %s as saved: %s", what,
			    ret == -ERANGE ? "the kernel keeps another value" : strerror(-ret));
	return ret;
}

static int inet_open(struct restore_ctx *r, const struct file_obj *f)
{
	const InetSocket *s = f->e->inet_socket;
	_cleanup_close_ int fd = -1;
	int ret;

	fd = socket((int)s->family, (int)s->type | SOCK_CLOEXEC, (int)s->protocol);
	if (fd < 0) {
		restore_err(r, f, "cannot make a socket: %s", strerror(errno));
		return -errno;
	}
	ret = restore_options(r, f, fd, false);
	if (!ret)
		ret = restore_bind(r, f, fd);
	if (!ret && s->has_backlog && listen(fd, (int)s->backlog)) {
		ret = -errno;
		restore_err(r, f, "cannot listen again: %s", strerror(errno));
	}
	if (!ret)
		ret = restore_queue(r, f, fd);
	if (!ret)
		ret = restore_connection(r, f, fd);
	if (!ret)
		ret = restore_options(r, f, fd, true);
	if (!ret && s->peek_off != -1 &&
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &s->peek_off, sizeof(s->peek_off))) {
		ret = -errno;
		restore_err(r, f, "cannot set its peek offset: %s", strerror(errno));
	}
	if (!ret)
		ret = check_addresses(r, f, fd);
	return ret ? ret : steal_fd(fd);
}

const struct file_kind inet_socket_kind = {
	.name = "inet socket",
	.type = FILE_ENTRY__KIND__INET_SOCKET,
	.recognise = inet_recognise,
	.dump = inet_dump,
	.check = inet_check,
	.open = inet_open,
};
