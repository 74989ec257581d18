/* Probes of sock_diag, through which dump lists sockets and their state:
 * one real SOCK_DIAG_BY_FAMILY dump request per family, read to its end.
 * A family whose diag module is absent answers with an error. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "kabi/probe.h"

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
		r->unix_req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
		return sizeof(r->unix_req);
	case AF_INET:
	case AF_INET6:
		r->inet_req.sdiag_family = (uint8_t)family;
		r->inet_req.sdiag_protocol = (uint8_t)protocol;
		r->inet_req.idiag_states = ~0u;
		return sizeof(r->inet_req);
	case AF_PACKET:
		r->packet_req.sdiag_family = AF_PACKET;
		r->packet_req.pdiag_show = PACKET_SHOW_INFO;
		return sizeof(r->packet_req);
	default:
		r->netlink_req.sdiag_family = AF_NETLINK;
		r->netlink_req.sdiag_protocol = NDIAG_PROTO_ALL;
		r->netlink_req.ndiag_show = NDIAG_SHOW_GROUPS;
		return sizeof(r->netlink_req);
	}
}

/* Reads replies to request @seq until NLMSG_DONE; counts the sockets. */
static int read_dump(int nl, uint32_t seq, unsigned int *sockets)
{
	/* Aligned for struct nlmsghdr; 32 KiB takes many sockets per read. */
	uint32_t buf[8192];

	for (;;) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		size_t len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		for (len = (size_t)n; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				/* Some dumps put a late error in the DONE message. */
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) &&
				    *(int *)NLMSG_DATA(h) < 0)
					return *(int *)NLMSG_DATA(h);
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error ? e->error : -EPROTO;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
				(*sockets)++;
		}
	}
}

static int sock_diag_dump(int family, int protocol, unsigned int *sockets)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval timeout = { .tv_sec = 5 };
	struct {
		struct nlmsghdr h;
		union diag_req r;
	} msg;
	_cleanup_close_ int nl = -1;
	size_t len;

	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	/* A kernel that never answers must not hang `cryo check`. */
	if (setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)))
		return -errno;
	len = build_request(family, protocol, &msg.r);
	memset(&msg.h, 0, sizeof(msg.h));
	msg.h.nlmsg_len = NLMSG_LENGTH(len);
	msg.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	/* One request per socket: any sequence number tells replies apart
	 * from stray notifications. */
	msg.h.nlmsg_seq = 1;
	if (sendto(nl, &msg, msg.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	*sockets = 0;
	return read_dump(nl, msg.h.nlmsg_seq, sockets);
}

static int probe_family(struct feature_result *res, int family, const char *what)
{
	unsigned int sockets = 0, udp = 0;
	int ret;

	if (family == AF_INET || family == AF_INET6) {
		ret = sock_diag_dump(family, IPPROTO_TCP, &sockets);
		if (!ret)
			ret = sock_diag_dump(family, IPPROTO_UDP, &udp);
		sockets += udp;
	} else {
		ret = sock_diag_dump(family, 0, &sockets);
	}
	if (ret)
		return feature_missing(res, ret, "the dump request failed (%s); dump cannot "
				       "checkpoint %s", strerror(-ret), what);
	pr_debug("sock_diag family %d: %u sockets", family, sockets);
	return feature_ok(res, "answered a dump request (%u socket%s); dump can checkpoint %s",
			  sockets, sockets == 1 ? "" : "s", what);
}

int probe_sock_diag_unix(struct feature_result *res)
{
	return probe_family(res, AF_UNIX, "unix sockets");
}

int probe_sock_diag_inet(struct feature_result *res)
{
	return probe_family(res, AF_INET, "TCP and UDP sockets over IPv4");
}

int probe_sock_diag_inet6(struct feature_result *res)
{
	return probe_family(res, AF_INET6, "TCP and UDP sockets over IPv6");
}

int probe_sock_diag_packet(struct feature_result *res)
{
	return probe_family(res, AF_PACKET, "packet sockets");
}

int probe_sock_diag_netlink(struct feature_result *res)
{
	return probe_family(res, AF_NETLINK, "netlink sockets");
}
