/* Which rtnetlink attributes of an address, route or rule cryo saves in
 * net-ns.img and sends again, and the check of one saved message, apart
 * from any process, so that the image fuzzer links it alone. Collecting
 * and sending them is net_rtnl.c's. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "common/cleanup.h"
#include "ns/net.h"

static bool in(uint16_t type, const uint16_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == type)
			return true;
	return false;
}

enum rtnl_attr_use net_rtnl_attr_use(uint16_t msg_type, uint16_t type)
{
	static const uint16_t addr_keep[] = { IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST,
					      IFA_CACHEINFO, IFA_FLAGS, IFA_RT_PRIORITY };
	static const uint16_t route_keep[] = { RTA_DST, RTA_SRC, RTA_OIF, RTA_GATEWAY,
					       RTA_PRIORITY, RTA_PREFSRC, RTA_METRICS, RTA_FLOW,
					       RTA_TABLE, RTA_PREF, RTA_VIA };
	static const uint16_t rule_keep[] = { FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_OIFNAME,
					      FRA_GOTO, FRA_PRIORITY, FRA_FWMARK, FRA_FLOW,
					      FRA_TUN_ID, FRA_SUPPRESS_IFGROUP,
					      FRA_SUPPRESS_PREFIXLEN, FRA_TABLE, FRA_FWMASK,
					      FRA_L3MDEV, FRA_UID_RANGE, FRA_PROTOCOL,
					      FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE };

	switch (msg_type) {
	case RTM_NEWADDR:
		/* IFA_PROTO (11) says who added it: information only. */
		if (type == 11)
			return RTNL_ATTR_DROP;
		return in(type, addr_keep, ARRAY_SIZE(addr_keep)) ? RTNL_ATTR_KEEP :
			RTNL_ATTR_REFUSE;
	case RTM_NEWROUTE:
		/* Counters and ages; an expiry is refused before (net_rtnl.c). */
		if (type == RTA_CACHEINFO)
			return RTNL_ATTR_DROP;
		return in(type, route_keep, ARRAY_SIZE(route_keep)) ? RTNL_ATTR_KEEP :
			RTNL_ATTR_REFUSE;
	case RTM_NEWNEIGH:
		/* Ages, probes and extended flags: the kernel's. */
		if (type == NDA_CACHEINFO || type == NDA_PROBES || type == NDA_FLAGS_EXT)
			return RTNL_ATTR_DROP;
		return type == NDA_DST || type == NDA_LLADDR || type == NDA_PROTOCOL ?
			RTNL_ATTR_KEEP : RTNL_ATTR_REFUSE;
	case RTM_NEWRULE:
		if (type == FRA_PAD)
			return RTNL_ATTR_DROP;
		return in(type, rule_keep, ARRAY_SIZE(rule_keep)) ? RTNL_ATTR_KEEP :
			RTNL_ATTR_REFUSE;
	}
	return RTNL_ATTR_REFUSE;
}

static size_t family_header(uint16_t msg_type)
{
	switch (msg_type) {
	case RTM_NEWADDR:
		return sizeof(struct ifaddrmsg);
	case RTM_NEWROUTE:
		return sizeof(struct rtmsg);
	case RTM_NEWNEIGH:
		return sizeof(struct ndmsg);
	case RTM_NEWRULE:
		return sizeof(struct fib_rule_hdr);
	}
	return 0;
}

static bool is_address(uint16_t msg_type, uint16_t type)
{
	if (msg_type == RTM_NEWADDR)
		return type == IFA_ADDRESS || type == IFA_LOCAL || type == IFA_BROADCAST;
	if (msg_type == RTM_NEWROUTE)
		return type == RTA_DST || type == RTA_SRC || type == RTA_GATEWAY ||
		       type == RTA_PREFSRC;
	if (msg_type == RTM_NEWNEIGH)
		return type == NDA_DST;
	return type == FRA_DST || type == FRA_SRC;
}

static bool is_u32(uint16_t msg_type, uint16_t type)
{
	if (msg_type == RTM_NEWADDR)
		return type == IFA_FLAGS || type == IFA_RT_PRIORITY;
	if (msg_type == RTM_NEWROUTE)
		return type == RTA_OIF || type == RTA_PRIORITY || type == RTA_TABLE ||
		       type == RTA_FLOW;
	return type == FRA_PRIORITY || type == FRA_TABLE || type == FRA_FWMARK ||
	       type == FRA_FWMASK || type == FRA_GOTO || type == FRA_SUPPRESS_PREFIXLEN ||
	       type == FRA_SUPPRESS_IFGROUP || type == FRA_FLOW;
}

bool net_ns_has_index(const NetNs *ns, uint32_t index)
{
	if (ns->has_lo_index && index == ns->lo_index)
		return true;
	for (size_t i = 0; i < ns->n_devices; i++)
		if (ns->devices[i]->index == index)
			return true;
	return false;
}

const char *net_rtnl_problem(const void *buf, size_t len, const NetNs *ns, uint16_t *order)
{
	const struct nlmsghdr *nlh = buf;
	const struct nlattr *a;
	size_t hdr, at;
	uint8_t family;
	int left;

	if (len < sizeof(*nlh) || nlh->nlmsg_len != len || len > 4096)
		return "its length is not its header's, or is over 4096";
	hdr = family_header(nlh->nlmsg_type);
	if (!hdr)
		return "not an address, a route, a neighbour or a rule";
	if (nlh->nlmsg_type < *order)
		return "out of order (addresses, then routes, then neighbours, then rules)";
	*order = nlh->nlmsg_type;
	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(hdr))
		return "shorter than its family header";
	family = *(const uint8_t *)mnl_nlmsg_get_payload(nlh);
	if (family != AF_INET && family != AF_INET6)
		return "neither IPv4 nor IPv6";
	if (nlh->nlmsg_type == RTM_NEWADDR &&
	    !net_ns_has_index(ns, ((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_index))
		return "on a device not saved";
	if (nlh->nlmsg_type == RTM_NEWNEIGH &&
	    !net_ns_has_index(ns, (uint32_t)((const struct ndmsg *)mnl_nlmsg_get_payload(nlh))->ndm_ifindex))
		return "a neighbour on a device not saved";
	at = MNL_NLMSG_HDRLEN + MNL_ALIGN(hdr);
	a = (const struct nlattr *)((const char *)buf + at);
	left = (int)(len - at);
	for (; left > 0; a = mnl_attr_next(a), left = (int)(len - (size_t)((const char *)a -
								       (const char *)buf))) {
		uint16_t type = mnl_attr_get_type(a), plen;

		if (!mnl_attr_ok(a, left) || (int)MNL_ALIGN(a->nla_len) > left)
			return "an attribute runs past its end";
		plen = mnl_attr_get_payload_len(a);
		if (net_rtnl_attr_use(nlh->nlmsg_type, type) != RTNL_ATTR_KEEP)
			return "an attribute cryo does not restore";
		if (is_address(nlh->nlmsg_type, type) && plen != (family == AF_INET ? 4 : 16))
			return "an address of the wrong length";
		if (nlh->nlmsg_type == RTM_NEWNEIGH && type == NDA_LLADDR && plen > 32)
			return "a hardware address over 32 bytes";
		if (is_u32(nlh->nlmsg_type, type) && plen != 4)
			return "a number attribute not of 4 bytes";
		if (nlh->nlmsg_type == RTM_NEWROUTE && type == RTA_OIF &&
		    !net_ns_has_index(ns, mnl_attr_get_u32(a)))
			return "a route through a device not saved";
	}
	return NULL;
}
