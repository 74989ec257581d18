/* The "inet socket" kind: UDP and UDP-lite sockets over IPv4 and IPv6 (and
 * v4-mapped on a dual-stack socket), with addresses, shutdown, options,
 * multicast memberships and the queued datagrams with their senders; ICMP (ping) and raw sockets
 * with an empty queue; listening TCP sockets with their backlog, and with
 * --tcp-established established connections (their repair in tcp_conn.c).
 * TCP in other states is not taken: the table refuses it by name (describe.c).
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
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
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
	int family = p->sock_family, type, protocol;

	if (!S_ISSOCK(p->st.st_mode) || p->fd < 0 || (family != AF_INET && family != AF_INET6) ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_TYPE, &type) ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_PROTOCOL, &protocol))
		return false;
	if (type == SOCK_STREAM && protocol == IPPROTO_TCP) {
		int state = tcp_state(p->dup);

		/* A closed socket is one never connected (or reset), bound
		 * to a port or not. */
		return state == TCP_LISTEN || state == TCP_CLOSE || tcp_close_mode(p) ||
		       (tcp_state_supported((unsigned int)state) && tcp_established_allowed(p));
	}
	return type == SOCK_RAW ||
	       (type == SOCK_DGRAM && (protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE ||
				       protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6));
}

static bool is_udp(const InetSocket *s)
{
	return s->type == SOCK_DGRAM &&
	       (s->protocol == IPPROTO_UDP || s->protocol == IPPROTO_UDPLITE);
}

/* Whether the socket was bound: a raw socket's port is its protocol, and
 * it is bound when it has an address. */
static bool is_bound(const InetSocket *s)
{
	if (s->type != SOCK_RAW)
		return s->local_port != 0;
	for (size_t i = 0; i < s->local_addr.len; i++)
		if (s->local_addr.data[i])
			return true;
	return false;
}

/* "ICMP (ping) IPv6 socket", "raw IPv4 socket (protocol 1)", for messages. */
static void describe(const InetSocket *s, char *buf, size_t size)
{
	const char *fam = s->family == AF_INET ? "IPv4" : "IPv6";

	if (s->type == SOCK_RAW)
		snprintf(buf, size, "raw %s socket (protocol %u)", fam, s->protocol);
	else
		snprintf(buf, size, "ICMP (ping) %s socket", fam);
}

/* ---- dump ------------------------------------------------------------------- */

/* Packets queued on a ping or raw socket cannot be queued again soundly:
 * sent again to the socket, each would reach every raw socket of its
 * protocol in the namespace too, and the kernel's own handler of it (an
 * echo request is answered, a TCP segment reset). */
static int refuse_queued(const struct fd_probe *p, const InetSocket *s)
{
	char what[64], byte;
	ssize_t n = recv(p->dup, &byte, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	describe(s, what, sizeof(what));
	if (n < 0)
		return pr_errno_ret("dump: pid %d %s (%s): cannot tell whether its queue is empty",
				    p->pid, p->name, p->link);
	pr_fd_err(p, "%s with packets queued to be read: not supported yet", what);
	return -EOPNOTSUPP;
}

/* What cryo cannot give back yet: corked data. */
static int refuse_corked(const struct fd_probe *p, const struct inet_diag_state *st)
{
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
	socklen_t len = IFNAMSIZ;
	const char *what;
	int ret;

	if (getsockopt(p->dup, SOL_SOCKET, SO_BINDTODEVICE, dev, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its device", p->pid,
				    p->name, p->link);
	if (len && dev[0]) {
		s->bound_device = strndup(dev, len);
		if (!s->bound_device)
			return -ENOMEM;
	}
	ret = socket_timeouts_dump(p->dup, &s->rcvtimeo_us, &s->sndtimeo_us, &what);
	if (ret)
		pr_err("dump: pid %d %s (%s): cannot read %s: %s", p->pid, p->name, p->link, what,
		       strerror(-ret));
	return ret;
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

/* The state sock_diag has of a bound UDP or TCP socket. An unbound one is
 * in no table, nor are ping and raw sockets (sock_diag has no ping, and
 * raw_diag is a module of its own): for them only poll() tells whether
 * reading was shut down. */
static int dump_state(const struct file_dump *d, const struct fd_probe *p, InetSocket *s,
		      const struct sockaddr_storage *local, const struct sockaddr_storage *peer,
		      struct inet_diag_state *st)
{
	bool connected = peer != NULL;
	/* A TCP socket bound and closed (bind() alone) is in no table the
	 * lookup walks: like an unbound one, it is polled. */
	bool bound_closed = s->protocol == IPPROTO_TCP && !connected && s->local_port &&
			    tcp_state(p->dup) == TCP_CLOSE;
	struct pollfd pfd = { .fd = p->dup, .events = POLLRDHUP };
	int ret;

	if (!s->local_port || !(is_udp(s) || s->protocol == IPPROTO_TCP) || bound_closed) {
		if (poll(&pfd, 1, 0) < 0)
			return pr_errno_ret("dump: pid %d %s (%s): cannot poll it", p->pid,
					    p->name, p->link);
		s->shutdown = pfd.revents & POLLRDHUP ? 1 : 0;
		return 0;
	}
	ret = sock_diag_inet_find(s->family, s->protocol, local, peer, s->ino, st);
	if (ret) {
		pr_fd_err(p, "sock_diag does not show it (%s): is it in another network "
			  "namespace?", strerror(-ret));
		return ret == -ENOENT ? -ESRCH : ret;
	}
	if (s->protocol == IPPROTO_TCP && connected) {
		/* Read in repair mode by tcp_conn_dump(), which names any state
		 * but established. */
		s->shutdown = st->shutdown;
		return 0;
	}
	if (s->protocol == IPPROTO_TCP) {
		if (st->state != TCP_LISTEN) {
			pr_fd_err(p, "TCP socket no longer listening (state %u)", st->state);
			return -EAGAIN;
		}
		/* A listener's queues are its accept queue and its backlog. Only
		 * accept() reaches a waiting connection, and nothing puts one
		 * back: the kernel makes them only from a handshake, whose
		 * sequence numbers it picks itself. As criu, --skip-in-flight
		 * leaves them out (their clients get a reset once restored). */
		if (st->rqueue && file_dump_skip_in_flight(d)) {
			pr_info("dump: pid %d %s (%s): --skip-in-flight: %u connection%s waiting "
				"in its accept queue left out", p->pid, p->name, p->link,
				st->rqueue, st->rqueue == 1 ? "" : "s");
		} else if (st->rqueue) {
			pr_fd_err(p, "TCP listening socket with %u connection%s waiting in its "
				  "accept queue: not supported (the kernel has no way to put a "
				  "connection back into an accept queue; --skip-in-flight leaves "
				  "them out)", st->rqueue, st->rqueue == 1 ? "" : "s");
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

/* A raw or ping socket's peer, which getpeername() does not show. */
static int raw_peer(const struct fd_probe *p, const InetSocket *s, struct sockaddr_storage *peer,
		    bool *connected)
{
	uint8_t addr[16];
	bool ping = s->type != SOCK_RAW;
	int ret = raw_socket_peer(p->pid, s->family, ping, s->ino, addr, connected);

	/* A ping socket without an id is in no table, and not connected. */
	if (ret == -ENOENT && ping && !s->local_port) {
		*connected = false;
		return 0;
	}
	if (ret) {
		pr_fd_err(p, "cannot find it in /proc/%d/net/%s%s: %s", p->pid,
			  ping ? "icmp" : "raw", s->family == AF_INET ? "" : "6", strerror(-ret));
		return ret;
	}
	memset(peer, 0, sizeof(*peer));
	peer->ss_family = s->family;
	if (s->family == AF_INET)
		memcpy(&((struct sockaddr_in *)peer)->sin_addr, addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)peer)->sin6_addr, addr, 16);
	return 0;
}

static void *make_unanswered(const struct file_dump *d)
{
	(void)d;
	return sockopt_unanswered_new();
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
	    getsockname(p->dup, (struct sockaddr *)&local, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read what socket it is", p->pid,
				    p->name, p->link);
	/* TCP and raw sockets have no peek offset. */
	ret = sockopt_int(p->dup, SOL_SOCKET, SO_PEEK_OFF, &peek_off);
	if (ret == -EOPNOTSUPP)
		peek_off = -1;
	else if (ret)
		return pr_errno_ret("dump: pid %d %s (%s): cannot read SO_PEEK_OFF", p->pid,
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
	s->has_uid = s->has_gid = true;
	s->uid = p->st.st_uid;
	s->gid = p->st.st_gid;
	s->peek_off = peek_off;
	ret = inet_addr_save(&local, false, &s->local_addr, &s->local_port, &scope);
	if (ret)
		return ret;
	if (scope) {
		s->has_local_scope_id = true;
		s->local_scope_id = scope;
	}
	len = sizeof(peer);
	if (s->type == SOCK_RAW || !(is_udp(s) || s->protocol == IPPROTO_TCP)) {
		ret = raw_peer(p, s, &peer, &connected);
		if (ret)
			return ret;
	} else {
		connected = !getpeername(p->dup, (struct sockaddr *)&peer, &len);
		if (!connected && errno != ENOTCONN)
			return pr_errno_ret("dump: pid %d %s (%s): cannot read its peer", p->pid,
					    p->name, p->link);
		/* A connect() in progress has a peer getpeername() does not show. */
		if (!connected && s->protocol == IPPROTO_TCP && s->local_port &&
		    tcp_state(p->dup) == TCP_SYN_SENT) {
			ret = tcp_state_syn_sent_peer(p, s, &local, &peer);
			if (ret)
				return ret;
			connected = true;
		}
	}
	if (connected) {
		s->has_peer_port = true;
		s->has_peer_addr = true;
		ret = inet_addr_save(&peer, false, &s->peer_addr, &s->peer_port, &scope);
		if (ret)
			return ret;
		if (scope) {
			s->has_peer_scope_id = true;
			s->peer_scope_id = scope;
		}
	}
	ret = dump_state(d, p, s, &local, connected ? &peer : NULL, &st);
	if (!ret)
		ret = refuse_corked(p, s->local_port && is_udp(s) ? &st : NULL);
	if (!ret)
		ret = inet_filters_dump(p, s);
	if (!ret)
		ret = dump_device_and_timeouts(p, s);
	if (!ret)
		ret = dump_linger_and_congestion(p, s);
	snprintf(who, sizeof(who), "pid %d %s (%s)", p->pid, p->name, p->link);
	if (!ret) {
		struct sockopt_known k = {
			.domain = family, .type = type, .protocol = protocol,
			.unanswered = file_dump_kind_state(d, FILE_ENTRY__KIND__INET_SOCKET,
							   make_unanswered, sockopt_unanswered_free),
		};

		ret = inet_options_dump(p->dup, &k, s, who);
	}
	if (!ret && s->type != SOCK_STREAM)
		ret = inet_multicast_dump(p->dup, p->pid, s, who);
	if (!ret && s->protocol == IPPROTO_TCP && connected)
		ret = tcp_close_mode(p) ? tcp_closed_dump(p, s) : tcp_conn_dump(d, s, st.state);
	if (!ret && s->local_port && is_udp(s))
		ret = udp_queue_dump(d, s);
	else if (!ret && (s->type == SOCK_RAW || !is_udp(s)) && s->protocol != IPPROTO_TCP)
		ret = refuse_queued(p, s);
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
	if (s->type == SOCK_STREAM && s->protocol == IPPROTO_TCP && s->tcp) {
		const char *problem = tcp_conn_problem(s, queued);

		if (problem || s->n_queue)
			return problem ? problem : "datagrams on a TCP connection";
	} else if (s->tcp || s->has_tcp_closed) {
		if (s->tcp || s->type != SOCK_STREAM || s->protocol != IPPROTO_TCP)
			return "a TCP connection on a socket that is not TCP";
		if (!s->tcp_closed || !s->has_peer_addr || s->has_backlog || s->n_queue)
			return "a closed TCP connection needs a peer, and no backlog or datagrams";
	} else if (s->type == SOCK_STREAM && s->protocol == IPPROTO_TCP && !s->has_backlog) {
		if (s->has_peer_addr || s->n_queue)
			return "a closed TCP socket has no peer and no datagrams";
	} else if (s->type == SOCK_STREAM && s->protocol == IPPROTO_TCP) {
		if (!s->has_backlog || !s->local_port || s->has_peer_addr || s->shutdown ||
		    s->n_queue || s->backlog > INT32_MAX)
			return "a TCP socket must be listening: bound, with a backlog, no peer, "
			       "no shutdown and no datagrams";
	} else if (s->type == SOCK_RAW) {
		if (s->protocol > 255 || s->n_queue)
			return "a raw socket's protocol is beyond 255, or it has datagrams";
	} else if (s->type != SOCK_DGRAM ||
		   (!is_udp(s) && s->protocol != (s->family == AF_INET ? IPPROTO_ICMP :
									  IPPROTO_ICMPV6))) {
		return "only UDP, UDP-lite, ping, raw and listening TCP sockets are restored";
	} else if (!is_udp(s) && s->n_queue) {
		return "datagrams queued on a ping socket";
	}
	if (s->type != SOCK_STREAM && (s->has_backlog || s->congestion)) {
		return "a backlog or congestion control on a datagram socket";
	}
	if (s->congestion && (!s->congestion[0] || strlen(s->congestion) >= TCP_CA_NAME_MAX))
		return "congestion control name empty or too long";
	if (s->has_linger_s && s->linger_s > INT32_MAX)
		return "linger time out of range";
	if (!inet_multicast_valid(s) || (s->n_memberships && s->type == SOCK_STREAM))
		return "a multicast membership that is not a group of its family, or on TCP";
	if (!addr_fits(s->family, &s->local_addr) || s->local_port > PORT_MAX)
		return "its local address does not fit its family";
	if (s->has_peer_addr != s->has_peer_port)
		return "a peer needs both an address and a port";
	if (s->has_peer_addr && (!addr_fits(s->family, &s->peer_addr) ||
				 (is_udp(s) && !s->local_port) || s->peer_port > PORT_MAX))
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
	if (s->n_queue && (!s->local_port || !is_udp(s)))
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

	if (!problem)
		problem = inet_filters_problem(s);
	if (problem) {
		load_err(img, f, "%s", problem);
		return -EBADMSG;
	}
	if (queued && (f->nr_fds || f->in_flight))
		return contents_load(dir, img, f, queued, true);
	if (!queued && (f->e->n_contents || f->e->contents_in_file)) {
		load_err(img, f, "contents without queued datagrams");
		return -EBADMSG;
	}
	return 0;
}

/* ---- restore ---------------------------------------------------------------- */

static int restore_bind(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const InetSocket *s = f->e->inet_socket;
	struct sockaddr_storage sa;
	socklen_t len = inet_sockaddr_make(s->family, &s->local_addr, s->local_port,
					   s->local_scope_id, &sa);
	char text[64];

	if (!is_bound(s))
		return 0;
	if (bind(fd, (struct sockaddr *)&sa, len)) {
		restore_err(r, f, "cannot bind to %s again: %s%s",
			    inet_sockaddr_str(&sa, text, sizeof(text)),
			    errno == EADDRINUSE ? "the port is taken: " : "", strerror(errno));
		return -errno;
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
		restore_err(r, f, "is at %s, not the saved %s",
			    inet_sockaddr_str(&got, a, sizeof(a)),
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
	char group[64];
	int ret;

	if (buffers) {
		ret = inet_options_restore_buffers(fd, s, &what);
	} else {
		ret = inet_options_restore_new(&r->new_socket_options, fd, s, &what);
		if (!ret)
			ret = inet_ip_filters_restore(fd, s, &what);
		if (!ret && s->bound_device) {
			what = "SO_BINDTODEVICE";
			if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->bound_device,
				       strlen(s->bound_device)))
				ret = -errno;
		}
		if (!ret) {
			ret = socket_timeouts_restore(fd, s->rcvtimeo_us, s->sndtimeo_us, &what);
		}
		if (!ret && s->has_linger_s) {
			struct linger linger = { .l_onoff = 1, .l_linger = (int)s->linger_s };

			what = "SO_LINGER";
			if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)))
				ret = -errno;
		}
		if (!ret && s->n_memberships) {
			ret = inet_multicast_restore(fd, s, group, sizeof(group));
			what = group;
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

/* An established connection (tcp_conn.c), then what taking repair mode off
 * undid: SO_REUSEADDR (the kernel clears it); a read shutdown. */
static int restore_tcp(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const InetSocket *s = f->e->inet_socket;
	struct sockaddr_storage peer;
	socklen_t len = inet_sockaddr_make(s->family, &s->peer_addr, s->peer_port,
					   s->peer_scope_id, &peer);
	int ret = tcp_conn_restore(r, f, fd, &peer, len);

	for (size_t i = 0; !ret && i < s->n_options; i++) {
		const SocketOption *o = s->options[i];

		if (o->level == SOL_SOCKET && o->name == SO_REUSEADDR && o->value &&
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &o->value, sizeof(o->value))) {
			ret = -errno;
			restore_err(r, f, "cannot set SO_REUSEADDR again: %s", strerror(errno));
		}
	}
	if (!ret && (s->shutdown & 1) && shutdown(fd, SHUT_RD)) {
		ret = -errno;
		restore_err(r, f, "cannot shut it down for reading again: %s", strerror(errno));
	}
	return ret;
}

/* The socket is made by cryo's credentials: fchown() gives its inode,
 * and with it the socket's uid (sockfs_setattr), the saved owner. */
static int restore_owner(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const InetSocket *s = f->e->inet_socket;
	struct stat st;

	if (!s->has_uid || !s->has_gid || fstat(fd, &st))
		return 0;
	if ((st.st_uid != s->uid || st.st_gid != s->gid) && fchown(fd, s->uid, s->gid)) {
		restore_err(r, f, "cannot give it its owner %u:%u: %s", s->uid, s->gid,
			    strerror(errno));
		return -errno;
	}
	return 0;
}

static int inet_open(struct restore_ctx *r, const struct file_obj *f)
{
	const InetSocket *s = f->e->inet_socket;
	_cleanup_close_ int fd = -1;
	bool closed = tcp_restored_closed(r, s);
	const char *what = "?";
	int ret;

	fd = socket((int)s->family, (int)s->type | SOCK_CLOEXEC, (int)s->protocol);
	if (fd < 0 && errno == EACCES && s->type == SOCK_DGRAM && !is_udp(s)) {
		restore_err(r, f, "cannot make an ICMP (ping) socket: group %d is outside "
			    "net.ipv4.ping_group_range", (int)getgid());
		return -EACCES;
	}
	if (fd < 0) {
		restore_err(r, f, "cannot make a socket: %s", strerror(errno));
		return -errno;
	}
	ret = restore_options(r, f, fd, false);
	/* Repair mode before bind(): it lets the connection share the port of
	 * a listener (the kernel's SK_FORCE_REUSE). */
	if (!ret && s->tcp && !closed) {
		ret = tcp_conn_repair(fd, true);
		if (ret)
			restore_err(r, f, "cannot put the new TCP socket in repair mode (TCP_REPAIR, "
				    "needs CAP_NET_ADMIN): %s", strerror(-ret));
	}
	if (!ret && !closed)
		ret = restore_bind(r, f, fd);
	if (!ret && s->has_backlog && listen(fd, (int)s->backlog)) {
		ret = -errno;
		restore_err(r, f, "cannot listen again: %s", strerror(errno));
	}
	if (!ret && closed)
		ret = tcp_closed_restore(r, f, fd);
	else if (!ret && s->tcp)
		ret = restore_tcp(r, f, fd);
	if (!ret && !s->tcp && !closed)
		ret = udp_queue_restore(r, f, fd);
	/* After the queue: its datagrams passed the filter once (or came
	 * before it), and must not meet it again. */
	if (!ret && (ret = inet_sock_filter_restore(fd, s, &what)))
		restore_err(r, f, "cannot set %s again: %s", what, strerror(-ret));
	if (!ret && !s->tcp && !closed)
		ret = restore_connection(r, f, fd);
	if (!ret)
		ret = restore_options(r, f, fd, true);
	if (!ret && s->peek_off != -1 &&
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &s->peek_off, sizeof(s->peek_off))) {
		ret = -errno;
		restore_err(r, f, "cannot set its peek offset: %s", strerror(errno));
	}
	if (!ret)
		ret = restore_owner(r, f, fd);
	/* A closed connection is not bound: its old address is not its own. */
	if (!ret && !closed)
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
	.in_flight_ok = true,
};
