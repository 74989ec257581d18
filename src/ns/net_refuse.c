/* What a tree's own network namespace may hold for cryo to restore it:
 * the loopback alone, with the addresses and routes the kernel gives it,
 * the default rules, and no nftables table. Everything else is refused by
 * name, read over rtnetlink (libmnl) and libnftables in the namespace cryo
 * is in. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <nftables/libnftables.h>

#include "common/log.h"
#include "ns/net.h"

struct walk {
	const char *who;
	int ret;		/* the first refusal, -errno */
};

/* ---- links ---- */

static int link_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFLA_MAX && mnl_attr_type_valid(a, IFLA_MAX) >= 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int info_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFLA_INFO_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL }, *info[IFLA_INFO_MAX + 1] = { NULL };
	struct walk *w = data;
	const char *name, *kind = "no kind";

	mnl_attr_parse(nlh, sizeof(*ifm), link_attr, tb);
	name = tb[IFLA_IFNAME] ? mnl_attr_get_str(tb[IFLA_IFNAME]) : "?";
	if (ifm->ifi_flags & IFF_LOOPBACK && !strcmp(name, "lo"))
		return MNL_CB_OK;
	if (tb[IFLA_LINKINFO]) {
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_attr, info);
		if (info[IFLA_INFO_KIND])
			kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
	}
	if (!w->ret) {
		pr_err("dump: %s: has device %s (%s): network devices other than the loopback "
		       "are not supported yet", w->who, name, kind);
		w->ret = -EOPNOTSUPP;
	}
	return MNL_CB_OK;
}

/* ---- addresses ---- */

static int addr_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { NULL };
	const struct nlattr *a;
	struct walk *w = data;
	char text[INET6_ADDRSTRLEN] = "?";
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	bool usual;

	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a)
		return MNL_CB_OK;
	if (ifa->ifa_family == AF_INET)
		usual = ifa->ifa_prefixlen == 8 && mnl_attr_get_payload_len(a) == 4 &&
			ntohl(mnl_attr_get_u32(a)) == INADDR_LOOPBACK;
	else
		usual = ifa->ifa_family == AF_INET6 && ifa->ifa_prefixlen == 128 &&
			mnl_attr_get_payload_len(a) == 16 &&
			!memcmp(mnl_attr_get_payload(a), v6_loopback, 16);
	if (usual || w->ret)
		return MNL_CB_OK;
	inet_ntop(ifa->ifa_family, mnl_attr_get_payload(a), text, sizeof(text));
	pr_err("dump: %s: has address %s/%u: addresses other than the loopback's own are not "
	       "supported yet", w->who, text, ifa->ifa_prefixlen);
	w->ret = -EOPNOTSUPP;
	return MNL_CB_OK;
}

/* ---- routes and rules ---- */

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct walk *w = data;

	/* The kernel's own: those of its addresses, and IPv6 multicast. */
	if (rtm->rtm_protocol == RTPROT_KERNEL || w->ret ||
	    (rtm->rtm_family == AF_INET6 && rtm->rtm_type == RTN_MULTICAST))
		return MNL_CB_OK;
	pr_err("dump: %s: has a route set by hand (family %u, table %u, %u-bit destination): "
	       "routes are not supported yet", w->who, rtm->rtm_family, rtm->rtm_table,
	       rtm->rtm_dst_len);
	w->ret = -EOPNOTSUPP;
	return MNL_CB_OK;
}

static int rule_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= FRA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static int on_rule(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[FRA_MAX + 1] = { NULL };
	struct walk *w = data;
	uint32_t prio = 0, table = frh->table;

	mnl_attr_parse(nlh, sizeof(*frh), rule_attr, tb);
	if (tb[FRA_PRIORITY])
		prio = mnl_attr_get_u32(tb[FRA_PRIORITY]);
	if (tb[FRA_TABLE])
		table = mnl_attr_get_u32(tb[FRA_TABLE]);
	/* A new namespace's: local at 0, main at 32766, default at 32767
	 * (IPv4 only). */
	if ((prio == 0 && table == RT_TABLE_LOCAL) || (prio == 32766 && table == RT_TABLE_MAIN) ||
	    (prio == 32767 && table == RT_TABLE_DEFAULT) || w->ret)
		return MNL_CB_OK;
	pr_err("dump: %s: has a routing rule set by hand (family %u, priority %u, table %u): "
	       "rules are not supported yet", w->who, frh->family, prio, table);
	w->ret = -EOPNOTSUPP;
	return MNL_CB_OK;
}

/* Dumps @type of @family and runs @cb on each answer. */
static int rtnl_walk(uint16_t type, uint8_t family, size_t hdr_len, mnl_cb_t cb, struct walk *w)
{
	uint32_t buf[8192];	/* 32 KiB: a dump's message may be larger than a page */
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL), portid;
	int ret;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = pr_errno_ret("dump: %s: cannot open rtnetlink", w->who);
		if (nl)
			mnl_socket_close(nl);
		return ret;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	/* Every header these dumps take starts with the family byte. */
	*(uint8_t *)mnl_nlmsg_put_extra_header(nlh, hdr_len) = family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = pr_errno_ret("dump: %s: cannot ask rtnetlink", w->who);
		mnl_socket_close(nl);
		return ret;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			ret = -1;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, w);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		ret = pr_errno_ret("dump: %s: rtnetlink dump %u failed", w->who, type);
	mnl_socket_close(nl);
	return ret < 0 ? ret : w->ret;
}

/* nftables tables (iptables-nft's too); iptables-legacy is not seen. */
static int refuse_nft_tables(const char *who)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *out;
	int ret = 0;

	if (!nft)
		return -ENOMEM;
	if (nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft) ||
	    nft_run_cmd_from_buffer(nft, "list tables")) {
		pr_err("dump: %s: cannot list its nftables tables", who);
		ret = -EIO;
	} else {
		out = nft_ctx_get_output_buffer(nft);
		if (out && strstr(out, "table ")) {
			char first[128] = "";

			sscanf(strstr(out, "table "), "table %127[^\n]", first);
			pr_err("dump: %s: has nftables table %s: firewall rules are not supported "
			       "yet", who, first);
			ret = -EOPNOTSUPP;
		}
	}
	nft_ctx_free(nft);
	return ret;
}

int net_ns_refuse_unsaved(const char *who)
{
	struct walk w = { who, 0 };
	int ret = rtnl_walk(RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), on_link, &w);

	if (!ret)
		ret = rtnl_walk(RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg), on_addr, &w);
	if (!ret)
		ret = rtnl_walk(RTM_GETROUTE, AF_UNSPEC, sizeof(struct rtmsg), on_route, &w);
	if (!ret)
		ret = rtnl_walk(RTM_GETRULE, AF_INET, sizeof(struct fib_rule_hdr), on_rule, &w);
	if (!ret)
		ret = rtnl_walk(RTM_GETRULE, AF_INET6, sizeof(struct fib_rule_hdr), on_rule, &w);
	if (!ret)
		ret = refuse_nft_tables(who);
	return ret;
}
