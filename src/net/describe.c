/* Names a socket for the messages that refuse it: family, type, protocol
 * and state ("TCP established", "unix stream socket, connected"), read
 * through any fd of it. What cryo does with a socket is in the kinds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "net/internal.h"
#include "net/net.h"

static const char *const tcp_states[] = {
	[TCP_ESTABLISHED] = "established", [TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RECV] = "SYN_RECV", [TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TCP_FIN_WAIT2] = "FIN_WAIT2", [TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "closed", [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_LAST_ACK] = "LAST_ACK", [TCP_LISTEN] = "listening",
	[TCP_CLOSING] = "CLOSING",
};

static int sockopt_int(int fd, int level, int name, int *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, level, name, out, &len) ? -errno : 0;
}

static const char *type_name(int type)
{
	switch (type) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "datagram";
	case SOCK_SEQPACKET: return "seqpacket";
	case SOCK_RAW: return "raw";
	case SOCK_PACKET: return "SOCK_PACKET";
	default: return "unknown-type";
	}
}

static const char *family_name(int family)
{
	switch (family) {
	case AF_UNIX: return "unix";
	case AF_INET: return "IPv4";
	case AF_INET6: return "IPv6";
	case AF_NETLINK: return "netlink";
	case AF_PACKET: return "packet";
	default: return NULL;
	}
}

/* TCP, by state: the one refusal that names an option to come. */
static void describe_tcp(int fd, char *buf, size_t size)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);
	const char *state = "in an unknown state";
	bool repairable = false;

	if (!getsockopt(fd, SOL_TCP, TCP_INFO, &info, &len) && len >= 1 &&
	    info.tcpi_state < sizeof(tcp_states) / sizeof(tcp_states[0]) &&
	    tcp_states[info.tcpi_state])
		state = tcp_states[info.tcpi_state];
	if (len >= 1 && tcp_state_supported(info.tcpi_state))
		repairable = true;
	if (repairable)
		snprintf(buf, size, "TCP %s: needs --tcp-established (or --tcp-close)", state);
	else
		snprintf(buf, size, "TCP %s: not supported yet", state);
}

void net_describe_socket(int fd, char *buf, size_t size)
{
	int family = -1, type = -1, protocol = -1;
	const char *fam;

	sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &family);
	sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type);
	sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &protocol);
	fam = family_name(family);
	if ((family == AF_INET || family == AF_INET6) && protocol == IPPROTO_TCP) {
		describe_tcp(fd, buf, size);
	} else if ((family == AF_INET || family == AF_INET6) &&
		   (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6) && type == SOCK_DGRAM) {
		snprintf(buf, size, "ICMP (ping) %s socket: not supported yet", fam);
	} else if (family == AF_UNIX) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int listening = 0;

		sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening);
		snprintf(buf, size, "unix %s socket, %s: not supported yet", type_name(type),
			 listening ? "listening" :
			 !getpeername(fd, (struct sockaddr *)&peer, &len) ? "connected" :
			 "not connected");
	} else if (fam) {
		snprintf(buf, size, "%s %s socket (protocol %d): not supported yet", fam,
			 type_name(type), protocol);
	} else {
		snprintf(buf, size, "socket of family %d, %s (protocol %d): not supported yet",
			 family, type_name(type), protocol);
	}
}
