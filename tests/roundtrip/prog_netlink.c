/* Round-trip program: netlink sockets. A route socket bound to port id
 * 4242 in the IPv4 and IPv6 multicast routing groups (quiet: no message
 * may be queued at dump) plus group 33 (RTNLGRP_BRVLAN,
 * beyond the 32 that bind() names), with NETLINK_NO_ENOBUFS, NETLINK_EXT_ACK
 * and a receive buffer; an unbound generic netlink datagram socket. On
 * SIGTERM: the same port id, groups and options, and a link dump request
 * through the route socket gets its answer. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "prog.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#define PORTID 4242

static int get_int(int fd, int level, int name)
{
	int value = -1;
	socklen_t len = sizeof(value);

	getsockopt(fd, level, name, &value, &len);
	return value;
}

static bool in_group(int fd, unsigned int group)
{
	uint32_t words[8] = { 0 };
	socklen_t len = sizeof(words);

	if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len))
		return false;
	return group <= len * 8 && (words[(group - 1) / 32] & (1u << ((group - 1) % 32)));
}

/* A link dump request and its first answer. */
static bool answers(int fd)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 7 },
		.g = { .rtgen_family = AF_UNSPEC },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { 2, 0 };
	char buf[32768];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return prog_fail("route socket: cannot send: %s", strerror(errno));
	/* Group messages may come first: look for the answer. */
	for (int i = 0; i < 64; i++) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < (ssize_t)sizeof(struct nlmsghdr))
			return prog_fail("route socket: no answer: %s", strerror(errno));
		if (((struct nlmsghdr *)buf)->nlmsg_seq == 7)
			return PROG_CHECK(((struct nlmsghdr *)buf)->nlmsg_pid == PORTID,
					  "the answer is not to port id %d", PORTID);
	}
	return prog_fail("route socket: no answer to its request among 64 messages");
}

int main(int argc, char **argv)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = PORTID,
				  .nl_groups = RTMGRP_IPV4_MROUTE | RTMGRP_IPV6_MROUTE };
	struct sockaddr_nl now;
	socklen_t len = sizeof(now);
	int route, genl, one = 1, group = RTNLGRP_BRVLAN, rcvbuf = 300000, rcv_now;

	prog_init(argc, argv);
	route = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	genl = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_GENERIC);
	if (route < 0 || genl < 0 || bind(route, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(route, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		return 1;
	rcv_now = get_int(route, SOL_SOCKET, SO_RCVBUF);
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(!getsockname(route, (struct sockaddr *)&now, &len) && now.nl_pid == PORTID &&
			   now.nl_groups == (RTMGRP_IPV4_MROUTE | RTMGRP_IPV6_MROUTE),
		   "route socket: port id %u groups %#x", now.nl_pid, now.nl_groups);
	PROG_CHECK(in_group(route, RTNLGRP_BRVLAN), "route socket: left group %d", RTNLGRP_BRVLAN);
	PROG_CHECK(get_int(route, SOL_NETLINK, NETLINK_NO_ENOBUFS) == 1, "NETLINK_NO_ENOBUFS");
	PROG_CHECK(get_int(route, SOL_NETLINK, NETLINK_EXT_ACK) == 1, "NETLINK_EXT_ACK");
	PROG_CHECK(get_int(route, SOL_SOCKET, SO_RCVBUF) == rcv_now, "SO_RCVBUF");
	PROG_CHECK(get_int(genl, SOL_SOCKET, SO_PROTOCOL) == NETLINK_GENERIC &&
			   get_int(genl, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM,
		   "generic socket: protocol or type");
	len = sizeof(now);
	PROG_CHECK(!getsockname(genl, (struct sockaddr *)&now, &len) && now.nl_pid == 0,
		   "generic socket: bound to %u", now.nl_pid);
	answers(route);
	prog_finish();
}
