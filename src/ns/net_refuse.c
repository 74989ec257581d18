/* What a tree's own network namespace may hold for cryo to restore it:
 * the loopback, veth ends, bridges, dummies, macvlans, ipvlans and tuns
 * as devices, no nexthop object; read over
 * rtnetlink (libmnl) in the namespace cryo is in. What an
 * address, route or rule cannot hold is net_rtnl.c's to refuse. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "common/log.h"
#include "ns/net.h"

/* ---- links ---- */

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL }, *info[IFLA_INFO_MAX + 1] = { NULL };
	struct net_walk *w = data;
	const char *name, *kind = "no kind";

	mnl_attr_parse(nlh, sizeof(*ifm), net_link_attr, tb);
	name = tb[IFLA_IFNAME] ? mnl_attr_get_str(tb[IFLA_IFNAME]) : "?";
	if (ifm->ifi_flags & IFF_LOOPBACK && !strcmp(name, "lo"))
		return MNL_CB_OK;
	if (tb[IFLA_LINKINFO]) {
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], net_link_info_attr, info);
		if (info[IFLA_INFO_KIND])
			kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
	}
	/* Saved by net_link.c and net_devices.c. */
	if (!strcmp(kind, "veth") || !strcmp(kind, "bridge") || !strcmp(kind, "dummy") ||
	    !strcmp(kind, "macvlan") || !strcmp(kind, "ipvlan") || !strcmp(kind, "tun"))
		return MNL_CB_OK;
	if (!w->ret) {
		pr_err("dump: %s: has device %s (%s): network devices other than the loopback, "
		       "veth, bridge, dummy, macvlan, ipvlan and tun are not supported yet",
		       w->who, name, kind);
		w->ret = -EOPNOTSUPP;
	}
	return MNL_CB_OK;
}

/* Nexthop objects (ip nexthop), which routes may name by id. */
static int on_nexthop(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;
	struct net_walk *w = data;
	unsigned int id = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nhmsg))
		if (mnl_attr_get_type(a) == NHA_ID && mnl_attr_get_payload_len(a) == 4)
			id = mnl_attr_get_u32(a);
	if (!w->ret) {
		pr_err("dump: %s: has nexthop object %u: nexthop objects are not supported yet",
		       w->who, id);
		w->ret = -EOPNOTSUPP;
	}
	return MNL_CB_OK;
}

int net_ns_refuse_unsaved(const char *who)
{
	struct net_walk w = { .who = who };
	int ret = net_rtnl_walk(RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), on_link, &w);

	if (!ret)
		ret = net_rtnl_walk(RTM_GETNEXTHOP, AF_UNSPEC, sizeof(struct nhmsg), on_nexthop, &w);
	return ret;
}
