/* What an inet socket filters or adds to its packets: its classic socket
 * filter (sock_filter.c), a raw ICMPv6 socket's ICMP6_FILTER and its
 * IP_OPTIONS: read at dump, checked at load, set again at restore. When
 * they are set in the socket's restore is inet_socket.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "files/kind.h"
#include "net/internal.h"
#include "net/sock_filter.h"

/* RFC 791: at most 40 bytes of options in an IPv4 header. */
#define IP_OPTIONS_MAX 40
#define ICMP6_FILTER_BYTES (8 * sizeof(uint32_t))

static bool is_raw_icmp6(const InetSocket *s)
{
	return s->family == AF_INET6 && s->type == SOCK_RAW && s->protocol == IPPROTO_ICMPV6;
}

static int save(ProtobufCBinaryData *out, protobuf_c_boolean *has, const void *data, size_t len)
{
	out->data = malloc(len);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, data, len);
	out->len = len;
	*has = true;
	return 0;
}

int inet_filters_dump(const struct fd_probe *p, InetSocket *s)
{
	uint8_t ip_opts[IP_OPTIONS_MAX];
	uint32_t icmp6[8] = { 0 }, pass_all[8] = { 0 };
	socklen_t len = sizeof(ip_opts);
	bool locked;
	int ret;

	ret = sock_filter_dump(p, &s->has_filter, &s->filter, &locked);
	if (ret)
		return ret;
	s->has_filter_locked = locked;
	s->filter_locked = locked;
	/* IPv4 options; a socket of another level's protocol says ENOPROTOOPT. */
	if (!getsockopt(p->dup, SOL_IP, IP_OPTIONS, ip_opts, &len) && len &&
	    (ret = save(&s->ip_options, &s->has_ip_options, ip_opts, len)))
		return ret;
	if (!is_raw_icmp6(s))
		return 0;
	len = sizeof(icmp6);
	if (getsockopt(p->dup, SOL_ICMPV6, ICMP6_FILTER, icmp6, &len) || len != sizeof(icmp6))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its ICMPv6 filter", p->pid,
				    p->name, p->link);
	/* All zero passes every type: the default, not saved. */
	if (memcmp(icmp6, pass_all, sizeof(icmp6)))
		return save(&s->icmp6_filter, &s->has_icmp6_filter, icmp6, sizeof(icmp6));
	return 0;
}

const char *inet_filters_problem(const InetSocket *s)
{
	const char *problem = sock_filter_problem(s->has_filter, &s->filter, s->filter_locked);

	if (problem)
		return problem;
	if (s->has_ip_options && (!s->ip_options.len || s->ip_options.len > IP_OPTIONS_MAX))
		return "IP options of no bytes or more than 40";
	if (s->has_icmp6_filter && (!is_raw_icmp6(s) || s->icmp6_filter.len != ICMP6_FILTER_BYTES))
		return "an ICMPv6 filter not of 8 words, or not on a raw ICMPv6 socket";
	return NULL;
}

/* Each set value is read back: the kernel must keep it as saved. */
int inet_ip_filters_restore(int fd, const InetSocket *s, const char **what)
{
	uint8_t back[IP_OPTIONS_MAX];
	socklen_t len = sizeof(back);

	if (s->has_ip_options) {
		*what = "IP_OPTIONS";
		if (setsockopt(fd, SOL_IP, IP_OPTIONS, s->ip_options.data,
			       (socklen_t)s->ip_options.len))
			return -errno;
		if (getsockopt(fd, SOL_IP, IP_OPTIONS, back, &len))
			return -errno;
		if (len != s->ip_options.len || memcmp(back, s->ip_options.data, len))
			return -ERANGE;
	}
	if (s->has_icmp6_filter) {
		*what = "ICMP6_FILTER";
		if (setsockopt(fd, SOL_ICMPV6, ICMP6_FILTER, s->icmp6_filter.data,
			       (socklen_t)s->icmp6_filter.len))
			return -errno;
	}
	return 0;
}

int inet_sock_filter_restore(int fd, const InetSocket *s, const char **what)
{
	return sock_filter_restore(fd, s->has_filter, &s->filter, s->filter_locked, what);
}
