/* The datagrams queued on a UDP or UDP-lite socket: read at dump without
 * taking them out and saved as the object's contents, and queued again at
 * restore as raw packets that carry each sender's address, so that
 * recvfrom() names the same senders, then read back to check. The
 * addresses, options and the rest of the socket are inet_socket.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "files/contents.h"
#include "files/kind.h"
#include "net/internal.h"

/* The largest UDP payload, and room to see one larger (a GRO batch). */
#define DATAGRAM_MAX 65535u

int udp_queue_peek(int fd, int (*each)(const struct datagram *dg, void *arg), void *arg)
{
	_cleanup_free_ uint8_t *buf = malloc(DATAGRAM_MAX + 1);
	int old_off, ret;

	if (!buf)
		return -ENOMEM;
	/* With a peek offset each MSG_PEEK moves past the datagram it read,
	 * so the next one shows the next datagram. */
	ret = peek_offset_from_head(fd, &old_off);
	if (ret)
		return ret;
	for (;;) {
		struct datagram dg = { .data = buf };
		struct iovec iov = { .iov_base = buf, .iov_len = DATAGRAM_MAX + 1 };
		struct msghdr msg = {
			.msg_name = &dg.source,
			.msg_namelen = sizeof(dg.source),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ret = -errno;
			if (errno != EINTR)
				break;
			continue;
		}
		if ((size_t)n > DATAGRAM_MAX) {
			ret = -EMSGSIZE;
			break;
		}
		dg.size = n;
		ret = each(&dg, arg);
		if (ret)
			break;
	}
	return peek_offset_put_back(fd, old_off, ret);
}

static uint32_t sum_words(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* The UDP checksum over the pseudo-header @pseudo, the header and the
 * data (UDP-lite with coverage 0 covers all of it too). */
static uint16_t udp_checksum(const void *pseudo, size_t pseudo_len, const struct udphdr *uh,
			     const void *data, size_t len)
{
	uint32_t sum = sum_words(0, pseudo, pseudo_len);
	uint16_t check;

	sum = sum_words(sum, uh, sizeof(*uh));
	sum = sum_words(sum, data, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	check = htons((uint16_t)~sum);
	/* 0 means "no checksum": a computed 0 is sent as all ones. */
	return check ? check : 0xffff;
}

static int raw_socket(int family, int *raw)
{
	if (*raw < 0) {
		/* IPPROTO_RAW: we write the IP header ourselves. */
		*raw = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (*raw < 0)
			return -errno;
	}
	return *raw;
}

static int send_packet(int raw, const struct iovec *iov, int iovcnt, const void *dest,
		       socklen_t dest_len, size_t total)
{
	struct msghdr msg = {
		.msg_name = (void *)dest,
		.msg_namelen = dest_len,
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = iovcnt,
	};
	ssize_t n = sendmsg(raw, &msg, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == total ? 0 : -EIO;
}

static int inject4(int raw, const InetSocket *s, const struct datagram *dg,
		   const struct sockaddr_in *src, const struct in_addr *dst)
{
	struct iphdr ip = {
		.version = 4, .ihl = 5, .ttl = 64, .protocol = (uint8_t)s->protocol,
		.saddr = src->sin_addr.s_addr, .daddr = dst->s_addr,
		.tot_len = htons((uint16_t)(sizeof(ip) + sizeof(struct udphdr) + dg->size)),
	};
	struct udphdr uh = {
		.source = src->sin_port, .dest = htons((uint16_t)s->local_port),
		/* UDP-lite: coverage 0, the whole datagram. */
		.len = s->protocol == IPPROTO_UDP ? htons((uint16_t)(sizeof(uh) + dg->size)) : 0,
	};
	struct {
		uint32_t saddr, daddr;
		uint8_t zero, protocol;
		uint16_t len;
	} __attribute__((packed)) pseudo = {
		ip.saddr, ip.daddr, 0, ip.protocol, htons((uint16_t)(sizeof(uh) + dg->size)),
	};
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = *dst };
	struct iovec iov[] = {
		{ &ip, sizeof(ip) }, { &uh, sizeof(uh) }, { (void *)dg->data, dg->size },
	};

	uh.check = udp_checksum(&pseudo, sizeof(pseudo), &uh, dg->data, dg->size);
	return send_packet(raw, iov, 3, &to, sizeof(to), sizeof(ip) + sizeof(uh) + dg->size);
}

static int inject6(int raw, const InetSocket *s, const struct datagram *dg,
		   const struct sockaddr_in6 *src, const struct in6_addr *dst)
{
	uint16_t plen = (uint16_t)(sizeof(struct udphdr) + dg->size);
	struct ip6_hdr ip = {
		.ip6_flow = htonl(6u << 28), .ip6_plen = htons(plen),
		.ip6_nxt = (uint8_t)s->protocol, .ip6_hlim = 64,
		.ip6_src = src->sin6_addr, .ip6_dst = *dst,
	};
	struct udphdr uh = {
		.source = src->sin6_port, .dest = htons((uint16_t)s->local_port),
		.len = s->protocol == IPPROTO_UDP ? htons(plen) : 0,
	};
	struct {
		struct in6_addr saddr, daddr;
		uint32_t len;
		uint8_t zero[3], next;
	} __attribute__((packed)) pseudo = {
		.saddr = ip.ip6_src, .daddr = ip.ip6_dst, .len = htonl(plen),
		.next = (uint8_t)s->protocol,
	};
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = *dst };
	struct iovec iov[] = {
		{ &ip, sizeof(ip) }, { &uh, sizeof(uh) }, { (void *)dg->data, dg->size },
	};

	uh.check = udp_checksum(&pseudo, sizeof(pseudo), &uh, dg->data, dg->size);
	return send_packet(raw, iov, 3, &to, sizeof(to), sizeof(ip) + sizeof(uh) + dg->size);
}

int udp_queue_inject(int fd, const InetSocket *s, const struct datagram *dg, int *raw4,
		     int *raw6)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int raw;

	if (getsockname(fd, (struct sockaddr *)&local, &len))
		return -errno;
	if (dg->source.ss_family == AF_INET) {
		const struct sockaddr_in *src = (const void *)&dg->source;
		/* To the socket's own address, loopback when it has any. */
		struct in_addr dst = { htonl(INADDR_LOOPBACK) };

		if (local.ss_family == AF_INET &&
		    ((struct sockaddr_in *)&local)->sin_addr.s_addr != htonl(INADDR_ANY))
			dst = ((struct sockaddr_in *)&local)->sin_addr;
		else if (local.ss_family == AF_INET6 &&
			 IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&local)->sin6_addr))
			memcpy(&dst, &((struct sockaddr_in6 *)&local)->sin6_addr.s6_addr[12], 4);
		raw = raw_socket(AF_INET, raw4);
		return raw < 0 ? raw : inject4(raw, s, dg, src, &dst);
	} else {
		const struct sockaddr_in6 *src = (const void *)&dg->source;
		struct in6_addr dst = IN6ADDR_LOOPBACK_INIT;

		if (local.ss_family != AF_INET6)
			return -EAFNOSUPPORT;
		if (!IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&local)->sin6_addr))
			dst = ((struct sockaddr_in6 *)&local)->sin6_addr;
		raw = raw_socket(AF_INET6, raw6);
		return raw < 0 ? raw : inject6(raw, s, dg, src, &dst);
	}
}

/* ---- dump and restore of a socket's queue ---------------------------------- */

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

	if (queue_bytes_append(&q->bytes, &q->size, &q->cap, dg->data, dg->size))
		return -ENOMEM;
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
	return inet_addr_save(&dg->source, true, &qd->source_addr, &qd->source_port, &scope);
}

int udp_queue_dump(const struct file_dump *d, InetSocket *s)
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
	inet_sockaddr_split(&dg->source, true, bytes, &len, &port, &scope);
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
int udp_queue_restore(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const InetSocket *s = f->e->inet_socket;
	_cleanup_close_ int raw4 = -1, raw6 = -1;
	_cleanup_free_ uint8_t *bytes = NULL;
	struct queue_check check = { .s = s };
	struct contents_view v;
	size_t total = 0, offset = 0;
	int room, ret = 0;

	if (!s->n_queue)
		return 0;
	for (size_t i = 0; i < s->n_queue; i++)
		total += s->queue[i]->size;
	bytes = malloc(total + 1);
	if (!bytes)
		return -ENOMEM;
	ret = contents_view_open(r, f, &v);
	if (ret)
		return ret;
	contents_copy_runs(bytes, v.chunks, v.nr_chunks);
	contents_view_close(&v);
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
