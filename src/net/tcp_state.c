/* TCP connections in the states after established (FIN_WAIT1, FIN_WAIT2,
 * CLOSE_WAIT, LAST_ACK, CLOSING): repair mode restores only established
 * connections, so restore takes them there first (tcp_conn.c), then here
 * replays the FINs: its own through shutdown(), the peer's FIN and ACK as
 * packets made as if by the peer (a raw socket, marked so that the network
 * lock lets them in). The dump's reading is tcp_conn.c's. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "files/kind.h"
#include "net/internal.h"
#include "net/sock_diag.h"

#define WAIT_STATE_MS 2000

bool tcp_state_fin_sent(unsigned int state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSING ||
	       state == TCP_LAST_ACK;
}

bool tcp_state_fin_received(unsigned int state)
{
	return state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

bool tcp_state_supported(unsigned int state)
{
	return state == TCP_ESTABLISHED || state == TCP_SYN_SENT || tcp_state_fin_sent(state) ||
	       tcp_state_fin_received(state);
}

int tcp_state_syn_sent_peer(const struct fd_probe *p, const InetSocket *s,
			    const struct sockaddr_storage *local, struct sockaddr_storage *peer)
{
	struct inet_diag_state st;
	int ret = sock_diag_inet_find((int)s->family, IPPROTO_TCP, local, NULL, s->ino, &st);

	if (!ret && (st.state != TCP_SYN_SENT || !st.peer_port))
		ret = -EAGAIN;
	if (ret) {
		pr_fd_err(p, "cannot find the peer of its connect() in progress (SYN_SENT) in "
			  "sock_diag: %s", strerror(-ret));
		return ret;
	}
	memset(peer, 0, sizeof(*peer));
	peer->ss_family = (sa_family_t)s->family;
	if (s->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)peer;

		memcpy(&in->sin_addr, st.peer_addr, 4);
		in->sin_port = htons(st.peer_port);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)peer;

		memcpy(&in6->sin6_addr, st.peer_addr, 16);
		in6->sin6_port = htons(st.peer_port);
		in6->sin6_scope_id = s->local_scope_id;
	}
	return 0;
}

/* The connection's two ends as IPv4 (a v4-mapped socket's are on the wire)
 * or IPv6 addresses. */
struct ends {
	int family;
	uint8_t local[16], peer[16];
	uint32_t scope_id;
};

static void ends_of(const InetSocket *s, struct ends *e)
{
	const uint8_t *l = s->local_addr.data, *p = s->peer_addr.data;

	e->family = (int)s->family;
	e->scope_id = s->local_scope_id;
	if (s->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)l)) {
		e->family = AF_INET;
		l += 12;
		p += 12;
	}
	memcpy(e->local, l, e->family == AF_INET ? 4 : 16);
	memcpy(e->peer, p, e->family == AF_INET ? 4 : 16);
}

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *b = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

/* The TCP checksum: over the pseudo-header (addresses, protocol, length)
 * and the header, there being no payload. */
static uint16_t tcp_checksum(const struct ends *e, const struct tcphdr *th)
{
	size_t alen = e->family == AF_INET ? 4 : 16;
	uint32_t sum = sum16(e->peer, alen, 0);

	sum = sum16(e->local, alen, sum);
	sum += IPPROTO_TCP + sizeof(*th);
	sum = sum16(th, sizeof(*th), sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Sends a segment from the peer to the connection: @flags (TH_ACK, TH_FIN)
 * with @seq, @ack and @window (scaled as the peer sends it). */
static int send_as_peer(const InetSocket *s, uint8_t flags, uint32_t seq, uint32_t ack,
			uint16_t window)
{
	struct ends e;
	union {
		struct { struct iphdr ip; struct tcphdr tcp; } v4;
		struct { struct ip6_hdr ip; struct tcphdr tcp; } v6;
	} pkt;
	struct tcphdr *th;
	struct sockaddr_storage dst = { 0 };
	uint32_t mark = TCP_PACKET_MARK;
	_cleanup_close_ int fd = -1;
	size_t len;

	ends_of(s, &e);
	memset(&pkt, 0, sizeof(pkt));
	fd = socket(e.family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		return -errno;
	if (e.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&dst;

		pkt.v4.ip.version = 4;
		pkt.v4.ip.ihl = 5;
		pkt.v4.ip.ttl = 64;
		pkt.v4.ip.protocol = IPPROTO_TCP;
		pkt.v4.ip.tot_len = htons(sizeof(pkt.v4));
		memcpy(&pkt.v4.ip.saddr, e.peer, 4);
		memcpy(&pkt.v4.ip.daddr, e.local, 4);
		th = &pkt.v4.tcp;
		len = sizeof(pkt.v4);
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, e.local, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&dst;

		pkt.v6.ip.ip6_flow = htonl(6u << 28);
		pkt.v6.ip.ip6_plen = htons(sizeof(struct tcphdr));
		pkt.v6.ip.ip6_nxt = IPPROTO_TCP;
		pkt.v6.ip.ip6_hlim = 64;
		memcpy(&pkt.v6.ip.ip6_src, e.peer, 16);
		memcpy(&pkt.v6.ip.ip6_dst, e.local, 16);
		th = &pkt.v6.tcp;
		len = sizeof(pkt.v6);
		in6->sin6_family = AF_INET6;
		in6->sin6_scope_id = e.scope_id;
		memcpy(&in6->sin6_addr, e.local, 16);
	}
	th->source = htons((uint16_t)s->peer_port);
	th->dest = htons((uint16_t)s->local_port);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = sizeof(*th) / 4;
	th->ack = !!(flags & TH_ACK);
	th->fin = !!(flags & TH_FIN);
	th->window = htons(window);
	th->check = tcp_checksum(&e, th);
	if (sendto(fd, &pkt, len, 0, (struct sockaddr *)&dst,
		   e.family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) !=
	    (ssize_t)len)
		return -errno;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the kernel to take the connection to @state (a packet sent to
 * loopback is handled in a softirq, maybe after sendto() returned). */
static int wait_state(int fd, unsigned int state)
{
	long deadline = now_ms() + WAIT_STATE_MS;
	struct tcp_info info;

	for (;;) {
		socklen_t len = sizeof(info);

		if (getsockopt(fd, SOL_TCP, TCP_INFO, &info, &len))
			return -errno;
		if (info.tcpi_state == state)
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* Queues our FIN: counted as sent (repair mode's send queue) when the peer
 * had acknowledged it, else sent again (the peer may not have it). */
static int queue_fin(int fd, bool acked)
{
	int queue = TCP_SEND_QUEUE, none = TCP_NO_QUEUE, ret = 0;

	if (acked && setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)))
		return -errno;
	if (shutdown(fd, SHUT_WR))
		ret = -errno;
	if (acked && setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &none, sizeof(none)) && !ret)
		ret = -errno;
	return ret;
}

int tcp_state_restore(int fd, const InetSocket *s, const TcpConnection *t)
{
	unsigned int state = t->state;
	uint32_t rcv_nxt = t->recv_seq - tcp_state_fin_received(state);
	uint32_t write_seq = t->send_seq - tcp_state_fin_sent(state);
	uint32_t snd_una = write_seq - t->send_queued;
	uint32_t wscale = t->has_snd_wscale ? t->snd_wscale : 0;
	uint16_t window = (uint16_t)(t->snd_wnd >> wscale > 65535 ? 65535 : t->snd_wnd >> wscale);
	int ret = 0;

	/* Ours first when it went first: FIN_WAIT1, FIN_WAIT2, CLOSING. */
	if (state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSING)
		ret = queue_fin(fd, state == TCP_FIN_WAIT2);
	if (!ret && tcp_state_fin_received(state)) {
		ret = send_as_peer(s, TH_FIN | TH_ACK, rcv_nxt, snd_una, window);
		if (!ret)
			ret = wait_state(fd, state == TCP_CLOSING ? TCP_CLOSING : TCP_CLOSE_WAIT);
	}
	if (!ret && state == TCP_LAST_ACK)
		ret = queue_fin(fd, false);
	if (!ret && state == TCP_FIN_WAIT2) {
		ret = send_as_peer(s, TH_ACK, rcv_nxt, t->send_seq, window);
		if (!ret)
			ret = wait_state(fd, TCP_FIN_WAIT2);
	}
	if (!ret)
		ret = wait_state(fd, state);
	return ret;
}
