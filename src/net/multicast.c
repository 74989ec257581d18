/* The multicast groups a UDP or raw socket joined, with their source
 * filters. No call lists a socket's groups, so dump asks the socket, with
 * getsockopt(MCAST_MSFILTER), about each group some socket of its network
 * namespace joined (/proc/PID/net/igmp and igmp6): the kernel answers
 * EADDRNOTAVAIL for a group this socket did not join. Restore joins them
 * again (MCAST_JOIN_GROUP) and sets each filter. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "net/internal.h"

/* Sources a filter may hold: the kernel's default limit is 10
 * (igmp_max_msf, mld_max_msf); room for far more. */
#define SOURCES_MAX 1024

struct group_ref {
	int ifindex;
	int family;
	uint8_t addr[16];
};

static bool parse_hex_words(const char *hex, size_t words, uint8_t *out, bool swap)
{
	for (size_t w = 0; w < words; w++) {
		char part[9];
		uint32_t v;
		char *end;

		memcpy(part, hex + w * 8, 8);
		part[8] = '\0';
		v = (uint32_t)strtoul(part, &end, 16);
		if (*end)
			return false;
		/* igmp prints the group's __be32 as a host number; igmp6 prints
		 * bytes in order. */
		if (!swap)
			v = htonl(v);
		memcpy(out + w * 4, &v, 4);
	}
	return true;
}

/* Every group some socket of @pid's network namespace joined. */
static int list_groups(pid_t pid, bool v6, struct group_ref **out, size_t *n)
{
	char path[64], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	struct group_ref *list = NULL;
	size_t nr = 0;
	int ifindex = -1;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, v6 ? "igmp6" : "igmp");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		struct group_ref g = { .family = v6 ? AF_INET6 : AF_INET };
		char hex[33];
		struct group_ref *grown;

		if (v6) {
			if (sscanf(line, "%d %*s %32[0-9a-f]", &g.ifindex, hex) != 2 ||
			    strlen(hex) != 32 || !parse_hex_words(hex, 4, g.addr, false))
				continue;
		} else if (line[0] != '\t') {
			/* "Idx Device : Count Querier": the interface of the groups below. */
			if (sscanf(line, "%d", &ifindex) != 1)
				ifindex = -1;
			continue;
		} else {
			if (ifindex < 0 || sscanf(line, " %8[0-9A-F]", hex) != 1 ||
			    strlen(hex) != 8 || !parse_hex_words(hex, 1, g.addr, true))
				continue;
			g.ifindex = ifindex;
		}
		grown = reallocarray(list, nr + 1, sizeof(*list));
		if (!grown) {
			free(list);
			return -ENOMEM;
		}
		list = grown;
		list[nr++] = g;
	}
	*out = list;
	*n = nr;
	return 0;
}

static socklen_t group_sockaddr(int family, const uint8_t *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET) {
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, addr, 4);
		return sizeof(struct sockaddr_in);
	}
	memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, addr, 16);
	return sizeof(struct sockaddr_in6);
}

static const uint8_t *sockaddr_bytes(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

static int save_membership(InetSocket *s, const struct group_ref *g, const struct group_filter *gf)
{
	size_t len = g->family == AF_INET ? 4 : 16;
	MulticastMembership *m = calloc(1, sizeof(*m)), **list;

	if (!m)
		return -ENOMEM;
	multicast_membership__init(m);
	list = reallocarray(s->memberships, s->n_memberships + 1, sizeof(*list));
	if (!list) {
		free(m);
		return -ENOMEM;
	}
	s->memberships = list;
	list[s->n_memberships++] = m;
	m->ifindex = g->ifindex;
	m->exclude = gf->gf_fmode == MCAST_EXCLUDE;
	m->group.data = malloc(len);
	m->sources = calloc(gf->gf_numsrc + 1, sizeof(*m->sources));
	if (!m->group.data || !m->sources)
		return -ENOMEM;
	memcpy(m->group.data, g->addr, len);
	m->group.len = len;
	for (uint32_t i = 0; i < gf->gf_numsrc; i++) {
		ProtobufCBinaryData *src = &m->sources[m->n_sources];

		src->data = malloc(len);
		if (!src->data)
			return -ENOMEM;
		memcpy(src->data, sockaddr_bytes(&gf->gf_slist[i]), len);
		src->len = len;
		m->n_sources++;
	}
	return 0;
}

int inet_multicast_dump(int fd, pid_t pid, InetSocket *s, const char *who)
{
	_cleanup_free_ struct group_filter *gf = malloc(GROUP_FILTER_SIZE(SOURCES_MAX));

	if (!gf)
		return -ENOMEM;
	for (int v6 = 0; v6 <= (s->family == AF_INET6); v6++) {
		_cleanup_free_ struct group_ref *groups = NULL;
		size_t n = 0;
		int ret = list_groups(pid, v6, &groups, &n);

		if (ret) {
			pr_err("dump: %s: cannot read the multicast groups of pid %d: %s", who, pid,
			       strerror(-ret));
			return ret;
		}
		for (size_t i = 0; i < n; i++) {
			socklen_t len = GROUP_FILTER_SIZE(SOURCES_MAX);

			memset(gf, 0, len);
			gf->gf_interface = groups[i].ifindex;
			gf->gf_numsrc = SOURCES_MAX;
			group_sockaddr(groups[i].family, groups[i].addr, &gf->gf_group);
			if (getsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, MCAST_MSFILTER, gf, &len)) {
				/* Not this socket's group. */
				if (errno == EADDRNOTAVAIL)
					continue;
				/* No IPv4 groups on this socket (a raw IPv6 one). */
				if (errno == ENOPROTOOPT)
					break;
				int err = errno;
				char text[INET6_ADDRSTRLEN] = "?";

				inet_ntop(groups[i].family, groups[i].addr, text, sizeof(text));
				pr_err("dump: %s: cannot read its filter of multicast group %s on "
				       "interface %d: %s", who, text, groups[i].ifindex,
				       strerror(err));
				return -err;
			}
			if (gf->gf_numsrc > SOURCES_MAX) {
				pr_err("dump: %s: a multicast filter of more than %d sources: not "
				       "supported", who, SOURCES_MAX);
				return -EOPNOTSUPP;
			}
			ret = save_membership(s, &groups[i], gf);
			if (ret)
				return ret;
		}
	}
	return 0;
}

bool inet_multicast_valid(const InetSocket *s)
{
	for (size_t i = 0; i < s->n_memberships; i++) {
		const MulticastMembership *m = s->memberships[i];
		size_t len = m->group.len;

		if ((len != 4 && (len != 16 || s->family != AF_INET6)) || m->ifindex > INT32_MAX ||
		    m->n_sources > SOURCES_MAX)
			return false;
		if (len == 4 ? (m->group.data[0] & 0xf0) != 0xe0 : m->group.data[0] != 0xff)
			return false;
		for (size_t k = 0; k < m->n_sources; k++)
			if (m->sources[k].len != len)
				return false;
	}
	return true;
}

int inet_multicast_restore(int fd, const InetSocket *s, char *what, size_t size)
{
	_cleanup_free_ struct group_filter *gf = malloc(GROUP_FILTER_SIZE(SOURCES_MAX));

	if (!gf)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_memberships; i++) {
		const MulticastMembership *m = s->memberships[i];
		int family = m->group.len == 4 ? AF_INET : AF_INET6;
		int level = family == AF_INET ? SOL_IP : SOL_IPV6;
		struct group_req req = { .gr_interface = m->ifindex };

		snprintf(what, size, "multicast group %zu on interface %u", i, m->ifindex);
		group_sockaddr(family, m->group.data, &req.gr_group);
		if (setsockopt(fd, level, MCAST_JOIN_GROUP, &req, sizeof(req)))
			return -errno;
		if (m->exclude && !m->n_sources)
			continue;
		memset(gf, 0, GROUP_FILTER_SIZE(m->n_sources));
		gf->gf_interface = m->ifindex;
		gf->gf_group = req.gr_group;
		gf->gf_fmode = m->exclude ? MCAST_EXCLUDE : MCAST_INCLUDE;
		gf->gf_numsrc = m->n_sources;
		for (size_t k = 0; k < m->n_sources; k++)
			group_sockaddr(family, m->sources[k].data, &gf->gf_slist[k]);
		if (setsockopt(fd, level, MCAST_MSFILTER, gf, GROUP_FILTER_SIZE(m->n_sources)))
			return -errno;
	}
	return 0;
}
