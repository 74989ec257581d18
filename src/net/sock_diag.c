/* The sock_diag client (libmnl): one SOCK_DIAG_BY_FAMILY dump request per
 * call, read to its end. A family whose diag module is absent answers with
 * an error. Inet sockets cannot be looked up by inode (the kernel's exact
 * lookup wants the addresses), so a lookup dumps the protocol's sockets on
 * the socket's local port, filtered in the kernel. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink_diag.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "net/sock_diag.h"

union diag_req {
	struct unix_diag_req unix_req;
	struct inet_diag_req_v2 inet_req;
	struct packet_diag_req packet_req;
	struct netlink_diag_req netlink_req;
};

/* Builds the dump-everything request of @family; returns its length. */
static size_t build_request(int family, int protocol, union diag_req *r)
{
	memset(r, 0, sizeof(*r));
	switch (family) {
	case AF_UNIX:
		r->unix_req.sdiag_family = AF_UNIX;
		r->unix_req.udiag_states = ~0u;
		r->unix_req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
					 UDIAG_SHOW_RQLEN | UDIAG_SHOW_VFS | UDIAG_SHOW_MEMINFO;
		return sizeof(r->unix_req);
	case AF_INET:
	case AF_INET6:
		r->inet_req.sdiag_family = (uint8_t)family;
		r->inet_req.sdiag_protocol = (uint8_t)protocol;
		r->inet_req.idiag_states = ~0u;
		return sizeof(r->inet_req);
	case AF_PACKET:
		r->packet_req.sdiag_family = AF_PACKET;
		r->packet_req.pdiag_show = PACKET_SHOW_INFO | PACKET_SHOW_MCLIST |
					   PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT;
		return sizeof(r->packet_req);
	default:
		r->netlink_req.sdiag_family = AF_NETLINK;
		r->netlink_req.sdiag_protocol = NDIAG_PROTO_ALL;
		r->netlink_req.ndiag_show = NDIAG_SHOW_GROUPS;
		return sizeof(r->netlink_req);
	}
}

struct dump_walk {
	sock_diag_cb cb;
	void *arg;
	int stopped;	/* 1 once @cb asked to stop, or its -errno */
};

static int walk_reply(const struct nlmsghdr *h, void *data)
{
	struct dump_walk *w = data;

	if (w->stopped || h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return MNL_CB_OK;
	w->stopped = w->cb(h, w->arg);
	return MNL_CB_OK;
}

/* Some dumps put a late error in the DONE message; libmnl's own handler
 * would take it for success. */
static int read_done(const struct nlmsghdr *h, void *data)
{
	(void)data;
	if (h->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof(int) &&
	    *(const int *)mnl_nlmsg_get_payload(h) < 0) {
		errno = -*(const int *)mnl_nlmsg_get_payload(h);
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static mnl_cb_t done_ctl[NLMSG_MIN_TYPE] = { [NLMSG_DONE] = read_done };

/* A dump request; for inet, @bytecode (@bc_len bytes) filters the sockets
 * in the kernel, which then sends only those. With @one, a request for the
 * one inet socket it names instead (no dump). */
static int request(int family, int protocol, const void *bytecode, size_t bc_len,
		   const struct inet_diag_sockid *one, sock_diag_cb cb, void *arg)
{
	/* Aligned for struct nlmsghdr; 32 KiB takes many sockets per read. */
	uint32_t buf[8192];
	struct timeval timeout = { .tv_sec = 5 };
	struct dump_walk walk = { .cb = cb, .arg = arg };
	struct mnl_socket *nl;
	struct nlmsghdr *h;
	union diag_req req;
	uint32_t seq = 1;
	size_t len;
	int ret;

	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	/* A kernel that never answers must not hang dump or `cryo check`. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &timeout,
		       sizeof(timeout))) {
		ret = -errno;
		goto out;
	}
	h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	h->nlmsg_flags = NLM_F_REQUEST | (one ? 0 : NLM_F_DUMP);
	h->nlmsg_seq = seq;
	len = build_request(family, protocol, &req);
	if (one && family == AF_UNIX) {
		/* A unix socket is asked for by inode alone: @one's first
		 * word, with the cookie left "any". */
		h->nlmsg_flags &= ~NLM_F_DUMP;
		req.unix_req.udiag_ino = one->idiag_if;
		req.unix_req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
					  UDIAG_SHOW_RQLEN | UDIAG_SHOW_VFS | UDIAG_SHOW_MEMINFO;
		req.unix_req.udiag_cookie[0] = req.unix_req.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
	} else if (one) {
		req.inet_req.id = *one;
	}
	memcpy(mnl_nlmsg_put_extra_header(h, len), &req, len);
	if (bc_len)
		mnl_attr_put(h, INET_DIAG_REQ_BYTECODE, bc_len, bytecode);
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EPROTO;
			goto out;
		}
		/* Port id 0: the replies come from the kernel. */
		errno = 0;
		ret = mnl_cb_run2(buf, n, seq, 0, walk_reply, &walk, done_ctl,
				  MNL_ARRAY_SIZE(done_ctl));
		/* The answer to a request for one socket is one message. */
		if (one && ret == MNL_CB_OK)
			ret = MNL_CB_STOP;
	} while (ret == MNL_CB_OK);
	ret = ret == MNL_CB_ERROR ? (errno ? -errno : -EPROTO) : 0;
	if (!ret && walk.stopped < 0)
		ret = walk.stopped;
out:
	mnl_socket_close(nl);
	return ret;
}

int sock_diag_dump(int family, int protocol, sock_diag_cb cb, void *arg)
{
	return request(family, protocol, NULL, 0, NULL, cb, arg);
}

struct inet_lookup {
	uint64_t ino;
	struct inet_diag_state *out;
	bool found;
};

static int inet_match(const struct nlmsghdr *h, void *arg)
{
	struct inet_lookup *l = arg;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;

	if (h->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*m) || m->idiag_inode != l->ino)
		return 0;
	memset(l->out, 0, sizeof(*l->out));
	l->out->state = m->idiag_state;
	l->out->rqueue = m->idiag_rqueue;
	l->out->wqueue = m->idiag_wqueue;
	l->out->ifindex = m->id.idiag_if;
	memcpy(l->out->peer_addr, m->id.idiag_dst, sizeof(l->out->peer_addr));
	l->out->peer_port = ntohs(m->id.idiag_dport);
	mnl_attr_for_each(a, h, sizeof(*m)) {
		if (mnl_attr_get_type(a) == INET_DIAG_SHUTDOWN &&
		    mnl_attr_get_payload_len(a) >= 1) {
			l->out->shutdown = mnl_attr_get_u8(a);
			l->out->has_shutdown = true;
		}
	}
	l->found = true;
	return 1;
}

/* Asks for the UDP socket that a datagram from @peer (or from anywhere) to
 * @local would reach: the kernel's exact lookup, which names local and
 * remote the other way round ("swapped for historical reasons"). */
static int udp_lookup(const struct sockaddr_storage *local, const struct sockaddr_storage *peer,
		      struct inet_lookup *l)
{
	struct inet_diag_sockid id = { .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } };

	if (local->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)local, *b = (const void *)peer;

		id.idiag_dst[0] = a->sin_addr.s_addr;
		id.idiag_dport = a->sin_port;
		if (peer) {
			id.idiag_src[0] = b->sin_addr.s_addr;
			id.idiag_sport = b->sin_port;
		}
	} else {
		const struct sockaddr_in6 *a = (const void *)local, *b = (const void *)peer;

		memcpy(id.idiag_dst, &a->sin6_addr, 16);
		id.idiag_dport = a->sin6_port;
		id.idiag_if = a->sin6_scope_id;
		if (peer) {
			memcpy(id.idiag_src, &b->sin6_addr, 16);
			id.idiag_sport = b->sin6_port;
		}
	}
	return request(local->ss_family, IPPROTO_UDP, NULL, 0, &id, inet_match, l);
}

/* Asks for the TCP connection from @local to @peer: the kernel's exact
 * lookup in its established table (local is "src" here). A v4-mapped one
 * is in the IPv4 table, which an AF_INET6 request does not search. */
static int tcp_lookup(const struct sockaddr_storage *local, const struct sockaddr_storage *peer,
		      struct inet_lookup *l)
{
	struct inet_diag_sockid id = { .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } };

	if (local->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)local, *b = (const void *)peer;

		id.idiag_src[0] = a->sin_addr.s_addr;
		id.idiag_sport = a->sin_port;
		id.idiag_dst[0] = b->sin_addr.s_addr;
		id.idiag_dport = b->sin_port;
	} else {
		const struct sockaddr_in6 *a = (const void *)local, *b = (const void *)peer;

		memcpy(id.idiag_src, &a->sin6_addr, 16);
		id.idiag_sport = a->sin6_port;
		memcpy(id.idiag_dst, &b->sin6_addr, 16);
		id.idiag_dport = b->sin6_port;
		id.idiag_if = a->sin6_scope_id;
	}
	return request(local->ss_family, IPPROTO_TCP, NULL, 0, &id, inet_match, l);
}

int sock_diag_inet_find(int family, int protocol, const struct sockaddr_storage *local,
			const struct sockaddr_storage *peer, uint64_t ino,
			struct inet_diag_state *out)
{
	uint16_t port = ntohs(family == AF_INET ? ((const struct sockaddr_in *)local)->sin_port :
					     ((const struct sockaddr_in6 *)local)->sin6_port);
	/* "Local port equals @port": the comparison, whose second op holds
	 * the port; "yes" jumps to the end (accept), "no" past it (reject).
	 * Without it each lookup would list every socket of the protocol. */
	const struct inet_diag_bc_op filter[2] = {
		{ .code = INET_DIAG_BC_S_EQ, .yes = sizeof(filter), .no = sizeof(filter) + 4 },
		{ .no = port },
	};
	struct inet_diag_state st;
	struct inet_lookup l = { .ino = ino, .out = &st };
	int ret = -ENOENT;

	/* One socket at once when the kernel finds this one; a socket of a
	 * SO_REUSEPORT group may answer instead, then the filtered dump. */
	if (protocol == IPPROTO_UDP && local->ss_family == family)
		ret = udp_lookup(local, peer, &l);
	/* A connection of a listener's port: the filtered dump would list
	 * every other one (quadratic in a server's connections). */
	if (protocol == IPPROTO_TCP && peer && local->ss_family == family)
		ret = tcp_lookup(local, peer, &l);
	if (!l.found)
		ret = request(family, protocol, filter, sizeof(filter), NULL, inet_match, &l);
	if (ret)
		return ret;
	if (!l.found)
		return -ENOENT;
	*out = st;
	return 0;
}

struct unix_lookup {
	uint32_t ino;
	struct unix_diag_state *out;
	bool found;
};

/* The state of the unix socket one reply describes, its inode in *@ino;
 * -EBADMSG when the reply is too short. */
static int unix_parse(const struct nlmsghdr *h, uint32_t *ino, struct unix_diag_state *o)
{
	const struct unix_diag_msg *m = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;

	if (h->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*m))
		return -EBADMSG;
	*ino = m->udiag_ino;
	memset(o, 0, sizeof(*o));
	o->type = m->udiag_type;
	o->state = m->udiag_state;
	mnl_attr_for_each(a, h, sizeof(*m)) {
		size_t len = mnl_attr_get_payload_len(a);
		const void *v = mnl_attr_get_payload(a);

		switch (mnl_attr_get_type(a)) {
		case UNIX_DIAG_NAME:
			o->name_len = len < sizeof(o->name) ? len : sizeof(o->name);
			memcpy(o->name, v, o->name_len);
			/* A path comes with its terminating 0. */
			if (o->name_len && o->name[0])
				o->name_len = strnlen(o->name, o->name_len);
			break;
		case UNIX_DIAG_VFS:
			if (len >= sizeof(struct unix_diag_vfs)) {
				const struct unix_diag_vfs *vfs = v;

				o->vfs_ino = vfs->udiag_vfs_ino;
				o->vfs_dev = vfs->udiag_vfs_dev;
				o->has_vfs = true;
			}
			break;
		case UNIX_DIAG_PEER:
			if (len >= 4)
				o->peer_ino = mnl_attr_get_u32(a);
			o->has_peer = true;
			break;
		case UNIX_DIAG_ICONS:
			o->nr_icons = len / 4;
			o->icons = v;
			break;
		case UNIX_DIAG_RQLEN:
			if (len >= sizeof(struct unix_diag_rqlen)) {
				const struct unix_diag_rqlen *q = v;

				o->rqueue = q->udiag_rqueue;
				o->wqueue = q->udiag_wqueue;
			}
			break;
		case UNIX_DIAG_MEMINFO:
			/* sk_rcvbuf and sk_sndbuf: what SO_RCVBUF and SO_SNDBUF read. */
			if (len >= (SK_MEMINFO_SNDBUF + 1) * sizeof(uint32_t)) {
				const uint32_t *mem = v;

				o->rcvbuf = mem[SK_MEMINFO_RCVBUF];
				o->sndbuf = mem[SK_MEMINFO_SNDBUF];
				o->has_buffers = true;
			}
			break;
		case UNIX_DIAG_SHUTDOWN:
			if (len >= 1)
				o->shutdown = mnl_attr_get_u8(a);
			break;
		}
	}
	return 0;
}

static int unix_match(const struct nlmsghdr *h, void *arg)
{
	struct unix_lookup *l = arg;
	struct unix_diag_state st;
	uint32_t ino;

	if (unix_parse(h, &ino, &st) || ino != l->ino)
		return 0;
	st.icons = NULL;
	*l->out = st;
	l->found = true;
	return 1;
}

struct unix_walk {
	int (*each)(uint32_t ino, const struct unix_diag_state *st, void *arg);
	void *arg;
};

static int unix_walk_one(const struct nlmsghdr *h, void *arg)
{
	struct unix_walk *w = arg;
	struct unix_diag_state st;
	uint32_t ino;

	if (unix_parse(h, &ino, &st))
		return 0;
	return w->each(ino, &st, w->arg);
}

int sock_diag_unix_each(int (*each)(uint32_t ino, const struct unix_diag_state *st, void *arg),
			void *arg)
{
	struct unix_walk w = { .each = each, .arg = arg };

	return sock_diag_dump(AF_UNIX, 0, unix_walk_one, &w);
}

int sock_diag_unix_find(uint64_t ino, struct unix_diag_state *out)
{
	struct inet_diag_sockid id = { .idiag_if = (uint32_t)ino };
	struct unix_lookup l = { .ino = (uint32_t)ino, .out = out };
	int ret;

	if (ino > UINT32_MAX)
		return -ERANGE;
	ret = request(AF_UNIX, 0, NULL, 0, &id, unix_match, &l);
	if (ret)
		return ret;
	return l.found ? 0 : -ENOENT;
}

struct packet_lookup {
	uint32_t ino;
	struct packet_diag_state *out;
	bool found;
};

static void packet_members(const struct nlattr *a, struct packet_diag_state *o)
{
	const struct packet_diag_mclist *mc = mnl_attr_get_payload(a);
	size_t n = mnl_attr_get_payload_len(a) / sizeof(*mc);

	for (size_t i = 0; i < n; i++) {
		struct packet_diag_member *m = &o->members[o->nr_members];

		if (o->nr_members == PACKET_DIAG_MEMBERS_MAX) {
			o->too_many_members = true;
			return;
		}
		m->ifindex = mc[i].pdmc_index;
		m->count = mc[i].pdmc_count;
		m->type = mc[i].pdmc_type;
		m->alen = mc[i].pdmc_alen < sizeof(m->addr) ? mc[i].pdmc_alen : sizeof(m->addr);
		memcpy(m->addr, mc[i].pdmc_addr, m->alen);
		o->nr_members++;
	}
}

static int packet_match(const struct nlmsghdr *h, void *arg)
{
	const struct packet_diag_msg *m = mnl_nlmsg_get_payload(h);
	struct packet_lookup *l = arg;
	struct packet_diag_state *o = l->out;
	const struct nlattr *a;

	if (h->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*m) || m->pdiag_ino != l->ino)
		return 0;
	memset(o, 0, sizeof(*o));
	o->protocol = htons(m->pdiag_num);
	mnl_attr_for_each(a, h, sizeof(*m)) {
		size_t len = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case PACKET_DIAG_INFO:
			if (len >= sizeof(struct packet_diag_info)) {
				const struct packet_diag_info *info = mnl_attr_get_payload(a);

				o->ifindex = info->pdi_index;
				o->copy_thresh = info->pdi_copy_thresh;
				o->flags = info->pdi_flags;
			}
			break;
		case PACKET_DIAG_MCLIST:
			packet_members(a, o);
			break;
		case PACKET_DIAG_RX_RING:
			o->rx_ring = true;
			if (len >= sizeof(o->rx_req))
				memcpy(&o->rx_req, mnl_attr_get_payload(a), sizeof(o->rx_req));
			break;
		case PACKET_DIAG_TX_RING:
			o->tx_ring = true;
			if (len >= sizeof(o->tx_req))
				memcpy(&o->tx_req, mnl_attr_get_payload(a), sizeof(o->tx_req));
			break;
		case PACKET_DIAG_FANOUT:
			if (len >= 4) {
				o->has_fanout = true;
				o->fanout = mnl_attr_get_u32(a);
			}
			break;
		}
	}
	l->found = true;
	return 1;
}

int sock_diag_packet_find(uint64_t ino, struct packet_diag_state *out)
{
	struct packet_lookup l = { .ino = (uint32_t)ino, .out = out };
	int ret;

	if (ino > UINT32_MAX)
		return -ERANGE;
	/* The kernel answers packet sockets by dump only: they are few. */
	ret = sock_diag_dump(AF_PACKET, 0, packet_match, &l);
	if (ret)
		return ret;
	return l.found ? 0 : -ENOENT;
}
