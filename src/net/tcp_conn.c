/* Established TCP connections (--tcp-established), through TCP_REPAIR: the
 * dump's reading of a connection in repair mode and the sockets it left in
 * that mode, and the restore of a connection on a new socket. The socket
 * itself (addresses, options, owner) is the inet kind's (inet_socket.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/contents.h"
#include "files/kind.h"
#include "net/internal.h"
#include "net/net.h"
#include "ns/net.h"

/* The Linux TCP option codes TCP_REPAIR_OPTIONS takes. */
#define OPT_MSS 2
#define OPT_WINDOW 3
#define OPT_SACK_PERM 4
#define OPT_TIMESTAMP 8
#define WSCALE_MAX 14u
/* A queue larger than this is refused at load: the kernel's largest
 * buffers (net.core.*mem_max) are far below. */
#define QUEUE_MAX (1u << 30)

/* A copy of a socket the dump put in repair mode (struct net_run).
 * Closing it while the task is dead and the socket still in repair mode
 * sends nothing. */
struct tcp_repaired {
	int fd;
	int reuse;	/* SO_REUSEADDR, which leaving repair mode clears */
};

bool tcp_established_allowed(const struct fd_probe *p)
{
	return p->net && p->net->tcp_established;
}

void net_tcp_dump_end(struct net_run *n, bool repair_off)
{
	int off = TCP_REPAIR_OFF;

	for (size_t i = 0; i < n->nr_repaired; i++) {
		struct tcp_repaired *r = &n->repaired[i];

		if (repair_off && (setsockopt(r->fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)) ||
				   setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &r->reuse,
					      sizeof(r->reuse))))
			pr_err("dump: cannot take a TCP socket out of repair mode: %s",
			       strerror(errno));
		close(r->fd);
	}
	free(n->repaired);
	n->repaired = NULL;
	n->nr_repaired = 0;
}

/* Puts the socket in repair mode and keeps a copy, so that the end of the
 * dump takes it out again (the tree resumes) or closes it silently (the
 * tree was killed). */
static int repair_on(const struct fd_probe *p)
{
	int on = TCP_REPAIR_ON, reuse = 0, copy;
	socklen_t len = sizeof(reuse);
	struct net_run *n = p->net;
	struct tcp_repaired *socks;

	socks = realloc(n->repaired, (n->nr_repaired + 1) * sizeof(*socks));
	if (!socks)
		return -ENOMEM;
	n->repaired = socks;
	if (getsockopt(p->dup, SOL_SOCKET, SO_REUSEADDR, &reuse, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read SO_REUSEADDR", p->pid,
				    p->name, p->link);
	copy = fcntl(p->dup, F_DUPFD_CLOEXEC, 0);
	if (copy < 0)
		return pr_errno_ret("dump: pid %d %s (%s): cannot copy its fd", p->pid, p->name,
				    p->link);
	if (setsockopt(copy, SOL_TCP, TCP_REPAIR, &on, sizeof(on))) {
		int err = -errno;

		close(copy);
		pr_fd_err(p, "cannot put the TCP connection in repair mode (TCP_REPAIR, needs "
			  "CAP_NET_ADMIN): %s", strerror(-err));
		return err;
	}
	n->repaired[n->nr_repaired++] = (struct tcp_repaired){ .fd = copy, .reuse = reuse };
	return 0;
}

static int set_queue(int fd, int queue)
{
	return setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) ? -errno : 0;
}

static int queue_seq(int fd, int queue, uint32_t *seq)
{
	socklen_t len = sizeof(*seq);
	int ret = set_queue(fd, queue);

	if (!ret && getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, seq, &len))
		ret = -errno;
	return ret;
}

/* Reads the @size bytes of @queue into @buf without taking them out. */
static int peek_queue(int fd, int queue, uint8_t *buf, uint32_t size)
{
	ssize_t n;
	int ret;

	if (!size)
		return 0;
	ret = set_queue(fd, queue);
	if (ret)
		return ret;
	n = recv(fd, buf, size, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	return (uint32_t)n == size ? 0 : -EIO;
}

static int ioctl_u32(int fd, unsigned long req, uint32_t *out)
{
	int v;

	if (ioctl(fd, req, &v))
		return -errno;
	*out = (uint32_t)v;
	return 0;
}

/* The queues, in repair mode: sizes, sequence numbers and bytes. A peek
 * offset (SO_PEEK_OFF) is set to 0 for the peek and put back. */
static int dump_queues(const struct file_dump *d, InetSocket *s, TcpConnection *t)
{
	const struct fd_probe *p = d->p;
	int fd = p->dup, zero = 0, ret;
	_cleanup_free_ uint8_t *buf = NULL;
	const char *what = "SIOCINQ/SIOCOUTQ";

	ret = ioctl_u32(fd, SIOCINQ, &t->recv_queued);
	if (!ret)
		ret = ioctl_u32(fd, SIOCOUTQ, &t->send_queued);
	if (!ret)
		ret = ioctl_u32(fd, SIOCOUTQNSD, &t->send_unsent);
	/* A FIN we sent (or queued) counts in SIOCOUTQ (and SIOCOUTQNSD while
	 * unsent) though it is no byte; SIOCINQ leaves a received one out. */
	if (!ret && tcp_state_fin_sent(t->state)) {
		t->send_queued -= t->send_queued > 0;
		t->send_unsent -= t->send_unsent > 0;
	}
	if (!ret && t->send_unsent > t->send_queued)
		ret = -EIO;
	if (!ret) {
		what = "TCP_QUEUE_SEQ";
		ret = queue_seq(fd, TCP_SEND_QUEUE, &t->send_seq);
	}
	if (!ret)
		ret = queue_seq(fd, TCP_RECV_QUEUE, &t->recv_seq);
	if (!ret) {
		what = "the queues";
		buf = malloc((size_t)t->recv_queued + t->send_queued + 1);
		if (!buf)
			ret = -ENOMEM;
	}
	if (!ret && s->peek_off > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		ret = -errno;
	if (!ret)
		ret = peek_queue(fd, TCP_RECV_QUEUE, buf, t->recv_queued);
	if (!ret)
		ret = peek_queue(fd, TCP_SEND_QUEUE, buf + t->recv_queued, t->send_queued);
	if (s->peek_off > 0)
		setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &s->peek_off, sizeof(s->peek_off));
	set_queue(fd, TCP_NO_QUEUE);
	if (ret) {
		pr_fd_err(p, "cannot read the TCP connection's %s in repair mode: %s", what,
			  strerror(-ret));
		return ret;
	}
	if (t->recv_queued + t->send_queued)
		ret = contents_dump_bytes(d, buf, (size_t)t->recv_queued + t->send_queued);
	return ret;
}

/* What was negotiated: MSS, SACK, window scaling, timestamps; the window. */
static int dump_negotiated(const struct fd_probe *p, TcpConnection *t)
{
	struct tcp_info info;
	struct tcp_repair_window win;
	socklen_t len = sizeof(info);
	uint32_t ts;
	int mss;

	if (getsockopt(p->dup, SOL_TCP, TCP_INFO, &info, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read TCP_INFO", p->pid, p->name,
				    p->link);
	t->sack = info.tcpi_options & TCPI_OPT_SACK;
	if (info.tcpi_options & TCPI_OPT_WSCALE) {
		t->has_snd_wscale = t->has_rcv_wscale = true;
		t->snd_wscale = info.tcpi_snd_wscale;
		t->rcv_wscale = info.tcpi_rcv_wscale;
	}
	len = sizeof(ts);
	if ((info.tcpi_options & TCPI_OPT_TIMESTAMPS)) {
		if (getsockopt(p->dup, SOL_TCP, TCP_TIMESTAMP, &ts, &len))
			return pr_errno_ret("dump: pid %d %s (%s): cannot read TCP_TIMESTAMP",
					    p->pid, p->name, p->link);
		t->has_timestamp = true;
		t->timestamp = ts;
	}
	len = sizeof(mss);
	if (getsockopt(p->dup, SOL_TCP, TCP_MAXSEG, &mss, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read TCP_MAXSEG", p->pid,
				    p->name, p->link);
	t->mss = (uint32_t)mss;
	len = sizeof(win);
	if (getsockopt(p->dup, SOL_TCP, TCP_REPAIR_WINDOW, &win, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read TCP_REPAIR_WINDOW",
				    p->pid, p->name, p->link);
	t->snd_wl1 = win.snd_wl1;
	t->snd_wnd = win.snd_wnd;
	t->max_window = win.max_window;
	t->rcv_wnd = win.rcv_wnd;
	t->rcv_wup = win.rcv_wup;
	return 0;
}

/* Options a connection answers that setsockopt() cannot take back:
 * TCP_MAXSEG is the MSS in use (saved as the connection's MSS instead);
 * the multicast hops and interface an accepted socket took from its SYN,
 * which the kernel refuses to set on a stream socket. */
static bool unsettable(const SocketOption *o)
{
	return (o->level == SOL_TCP && o->name == TCP_MAXSEG) ||
	       (o->level == SOL_IP && o->name == IP_MULTICAST_TTL) ||
	       (o->level == SOL_IPV6 &&
		(o->name == IPV6_MULTICAST_HOPS || o->name == IPV6_MULTICAST_IF));
}

void tcp_conn_drop_unsettable(InetSocket *s)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_options; i++) {
		if (unsettable(s->options[i]))
			free(s->options[i]);
		else
			s->options[j++] = s->options[i];
	}
	s->n_options = j;
}

/* Its incoming packets dropped before repair mode: from then on the task
 * may be killed, and its peer must not get a reset. */
static int lock_connection(const struct fd_probe *p, const InetSocket *s)
{
	struct sockaddr_storage local, peer;
	int ret;

	inet_sockaddr_make(s->family, &s->local_addr, s->local_port, s->local_scope_id, &local);
	inet_sockaddr_make(s->family, &s->peer_addr, s->peer_port, s->peer_scope_id, &peer);
	ret = net_lock_connection(p->net, &local, &peer);
	if (ret)
		pr_fd_err(p, "cannot lock the TCP connection (--network-lock skip goes "
			  "without): %s", strerror(-ret));
	return ret;
}

int tcp_conn_dump(const struct file_dump *d, InetSocket *s, unsigned int state)
{
	const struct fd_probe *p = d->p;
	TcpConnection *t;
	int ret;

	if (!tcp_state_supported(state)) {
		char what[128];

		net_describe_socket(p->dup, what, sizeof(what));
		pr_fd_err(p, "%s", what);
		return -EOPNOTSUPP;
	}
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	tcp_connection__init(t);
	s->tcp = t;
	t->state = state;
	tcp_conn_drop_unsettable(s);
	ret = lock_connection(p, s);
	if (!ret)
		ret = repair_on(p);
	if (!ret)
		ret = dump_negotiated(p, t);
	if (!ret)
		ret = dump_queues(d, s, t);
	return ret;
}

const char *tcp_conn_problem(const InetSocket *s, uint64_t *queued)
{
	const TcpConnection *t = s->tcp;

	if (!tcp_state_supported(t->state))
		return "a TCP connection in a state other than SYN_SENT, established, FIN_WAIT1, "
		       "FIN_WAIT2, CLOSE_WAIT, LAST_ACK and CLOSING";
	if (t->state == TCP_SYN_SENT && (t->send_queued || t->recv_queued))
		return "a TCP connect() in progress with bytes queued";
	if (!s->has_peer_addr || !s->local_port || !s->peer_port || s->has_backlog)
		return "a TCP connection needs a local port and a peer, and no backlog";
	if (!!(s->shutdown & 2) != tcp_state_fin_sent(t->state))
		return "a TCP connection shut down for writing in a state that sent no FIN, or "
		       "the reverse";
	if (t->send_queued > QUEUE_MAX || t->recv_queued > QUEUE_MAX ||
	    t->send_unsent > t->send_queued)
		return "TCP queue sizes out of range";
	if (t->has_snd_wscale != t->has_rcv_wscale ||
	    (t->has_snd_wscale && (t->snd_wscale > WSCALE_MAX || t->rcv_wscale > WSCALE_MAX)))
		return "TCP window scales out of range";
	if (!t->mss || t->mss > 65535)
		return "TCP MSS out of range";
	*queued = (uint64_t)t->send_queued + t->recv_queued;
	return NULL;
}

/* ---- restore ---------------------------------------------------------------- */

int tcp_conn_repair(int fd, bool on)
{
	int v = on ? TCP_REPAIR_ON : TCP_REPAIR_OFF;

	return setsockopt(fd, SOL_TCP, TCP_REPAIR, &v, sizeof(v)) ? -errno : 0;
}

static int set_seq(int fd, int queue, uint32_t seq)
{
	int ret = set_queue(fd, queue);

	if (!ret && setsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)))
		ret = -errno;
	return ret;
}

static int set_negotiated(int fd, const TcpConnection *t)
{
	struct tcp_repair_opt opts[4];
	int n = 0;

	opts[n++] = (struct tcp_repair_opt){ OPT_MSS, t->mss };
	if (t->has_snd_wscale)
		opts[n++] = (struct tcp_repair_opt){ OPT_WINDOW,
						     t->snd_wscale | (t->rcv_wscale << 16) };
	if (t->sack)
		opts[n++] = (struct tcp_repair_opt){ OPT_SACK_PERM, 0 };
	if (t->has_timestamp)
		opts[n++] = (struct tcp_repair_opt){ OPT_TIMESTAMP, 0 };
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, opts, n * sizeof(opts[0])))
		return -errno;
	if (t->has_timestamp &&
	    setsockopt(fd, SOL_TCP, TCP_TIMESTAMP, &t->timestamp, sizeof(t->timestamp)))
		return -errno;
	return 0;
}

/* Writes @size bytes into the selected queue (in repair mode: neither
 * sent nor acknowledged), or sends them (repair off). */
static int write_all(int fd, const uint8_t *buf, size_t size)
{
	while (size) {
		ssize_t n = send(fd, buf, size, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		size -= (size_t)n;
	}
	return 0;
}

static int set_window(int fd, const TcpConnection *t)
{
	struct tcp_repair_window win = {
		.snd_wl1 = t->snd_wl1, .snd_wnd = t->snd_wnd, .max_window = t->max_window,
		.rcv_wnd = t->rcv_wnd, .rcv_wup = t->rcv_wup,
	};

	/* The peer's FIN comes after (tcp_state.c): a window acknowledging it
	 * is past what the socket has received yet, and refused. */
	if (tcp_state_fin_received(t->state) && win.rcv_wup == t->recv_seq) {
		win.rcv_wup--;
		win.rcv_wnd++;
	}

	return setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &win, sizeof(win)) ? -errno : 0;
}

/* Room in the buffers for the saved queues, which repair mode writes at
 * once; the saved sizes are set afterwards (inet_options_restore_buffers). */
static int make_room(int fd, const TcpConnection *t)
{
	int rcv = (int)(t->recv_queued * 2u + 65536), snd = (int)(t->send_queued * 2u + 65536);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)))
		return -errno;
	return 0;
}

/* A connect() in progress (SYN_SENT): repair mode cannot make one, so the
 * connect() is done again with repair off, from the same initial sequence
 * number (the send queue's, less the SYN), not waiting: the peer sees its
 * SYN again. The task's own connect(), restarted, waits on as before. */
static int restore_syn_sent(struct restore_ctx *r, const struct file_obj *f, int fd,
			    const TcpConnection *t, const struct sockaddr_storage *peer,
			    socklen_t peer_len)
{
	const char *what = "the initial sequence number";
	int flags, ret = set_seq(fd, TCP_SEND_QUEUE, t->send_seq - 1);

	if (!ret) {
		what = "TCP_REPAIR off";
		ret = tcp_conn_repair(fd, false);
	}
	if (!ret) {
		what = "connect()";
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
			ret = -errno;
		else if (connect(fd, (const struct sockaddr *)peer, peer_len) && errno != EINPROGRESS)
			ret = -errno;
		if (flags >= 0 && fcntl(fd, F_SETFL, flags) && !ret)
			ret = -errno;
	}
	if (ret)
		restore_err(r, f, "cannot restore the TCP connect() in progress (SYN_SENT): %s: %s",
			    what, strerror(-ret));
	return ret;
}

int tcp_conn_restore(struct restore_ctx *r, const struct file_obj *f, int fd,
		     const struct sockaddr_storage *peer, socklen_t peer_len)
{
	const InetSocket *s = f->e->inet_socket;
	const TcpConnection *t = s->tcp;
	uint32_t sent = t->send_queued - t->send_unsent;
	_cleanup_free_ uint8_t *bytes = NULL;
	const char *what = "the sequence numbers";
	struct contents_view v;
	int ret;

	if (t->state == TCP_SYN_SENT)
		return restore_syn_sent(r, f, fd, t, peer, peer_len);
	bytes = malloc((size_t)t->recv_queued + t->send_queued + 1);
	if (!bytes)
		return -ENOMEM;
	ret = contents_view_open(r, f, &v);
	if (ret)
		return ret;
	contents_copy_runs(bytes, v.chunks, v.nr_chunks);
	contents_view_close(&v);
	/* Without the FINs, which tcp_state_restore() replays. */
	ret = set_seq(fd, TCP_SEND_QUEUE,
		      t->send_seq - tcp_state_fin_sent(t->state) - t->send_queued);
	if (!ret)
		ret = set_seq(fd, TCP_RECV_QUEUE,
			      t->recv_seq - tcp_state_fin_received(t->state) - t->recv_queued);
	/* In repair mode connect() sends nothing: the connection is there. */
	if (!ret) {
		what = "connect()";
		if (connect(fd, (const struct sockaddr *)peer, peer_len))
			ret = -errno;
	}
	if (!ret) {
		what = "the negotiated options (TCP_REPAIR_OPTIONS, TCP_TIMESTAMP)";
		ret = set_negotiated(fd, t);
	}
	if (!ret) {
		what = "buffer room for the queues";
		ret = make_room(fd, t);
	}
	if (!ret) {
		what = "the receive queue";
		ret = set_queue(fd, TCP_RECV_QUEUE);
		if (!ret)
			ret = write_all(fd, bytes, t->recv_queued);
	}
	if (!ret) {
		what = "the send queue";
		ret = set_queue(fd, TCP_SEND_QUEUE);
		if (!ret)
			ret = write_all(fd, bytes + t->recv_queued, sent);
	}
	if (!ret) {
		what = "TCP_REPAIR_WINDOW";
		ret = set_queue(fd, TCP_NO_QUEUE);
		if (!ret)
			ret = set_window(fd, t);
	}
	/* Never sent: the kernel sends it now, as it would have; before our
	 * FIN, if it is queued. */
	if (!ret && t->state != TCP_ESTABLISHED && t->send_unsent) {
		what = "the unsent data";
		ret = tcp_conn_repair(fd, false);
		if (!ret)
			ret = write_all(fd, bytes + t->recv_queued + sent, t->send_unsent);
		if (!ret)
			ret = tcp_conn_repair(fd, true);
	}
	if (!ret && t->state != TCP_ESTABLISHED) {
		what = "the state after established (the FINs)";
		ret = tcp_state_restore(fd, s, t);
	}
	if (!ret) {
		what = "TCP_REPAIR off";
		ret = tcp_conn_repair(fd, false);
	}
	if (!ret && t->state == TCP_ESTABLISHED) {
		what = "the unsent data";
		ret = write_all(fd, bytes + t->recv_queued + sent, t->send_unsent);
	}
	if (ret)
		restore_err(r, f, "cannot restore the TCP connection: %s: %s", what,
			    strerror(-ret));
	return ret;
}
