/* A network namespace's addresses, routes and rules over rtnetlink
 * (libmnl): the dumps cryo walks (net_rtnl_walk, for the refusals too),
 * collecting those set by hand into net-ns.img's messages, and sending
 * them again in a new namespace. Which attributes go is
 * net_rtnl_check.c's; the devices are net.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "common/log.h"
#include "kabi/kabi.h"
#include "ns/net.h"

int net_rtnl_walk(uint16_t type, uint8_t family, size_t hdr_len, mnl_cb_t cb,
		  struct net_walk *w)
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

/* ---- dump ---------------------------------------------------------------- */

/* Copies @nlh as a request with only the attributes cryo restores into
 * w->msgs, or refuses it naming the first attribute it cannot. */
static void keep(const struct nlmsghdr *nlh, size_t hdr, uint16_t type, const char *what,
		 const char *name, struct net_walk *w)
{
	char *buf = calloc(1, nlh->nlmsg_len), **grown;
	struct nlmsghdr *out;
	const struct nlattr *a;

	if (!buf) {
		w->ret = w->ret ? w->ret : -ENOMEM;
		return;
	}
	out = mnl_nlmsg_put_header(buf);
	out->nlmsg_type = type;
	memcpy(mnl_nlmsg_put_extra_header(out, hdr), mnl_nlmsg_get_payload(nlh), hdr);
	mnl_attr_for_each(a, nlh, hdr) {
		enum rtnl_attr_use use = net_rtnl_attr_use(type, mnl_attr_get_type(a));

		if (use == RTNL_ATTR_REFUSE) {
			if (!w->ret)
				pr_err("dump: %s: has %s %s with attribute %u, which cryo does not "
				       "restore: not supported yet", w->who, what, name,
				       mnl_attr_get_type(a));
			w->ret = w->ret ? w->ret : -EOPNOTSUPP;
			free(buf);
			return;
		}
		if (use == RTNL_ATTR_KEEP)
			mnl_attr_put(out, mnl_attr_get_type(a), mnl_attr_get_payload_len(a),
				     mnl_attr_get_payload(a));
	}
	grown = realloc(w->msgs, (w->n + 1) * sizeof(*w->msgs));
	if (!grown) {
		free(buf);
		w->ret = w->ret ? w->ret : -ENOMEM;
		return;
	}
	w->msgs = grown;
	w->msgs[w->n++] = buf;
}

static int attr_table(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	/* Every table here has RTA_MAX + 1 slots, the largest of the three. */
	if (mnl_attr_get_type(a) <= RTA_MAX)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void addr_text(uint8_t family, const struct nlattr *a, char *text, size_t size)
{
	snprintf(text, size, "?");
	if (a && mnl_attr_get_payload_len(a) == (family == AF_INET ? 4u : 16u))
		inet_ntop(family, mnl_attr_get_payload(a), text, (socklen_t)size);
}

static bool saved_device(const struct net_walk *w, uint32_t index)
{
	if (index == w->lo_index)
		return true;
	for (size_t i = 0; i < w->n_devs; i++)
		if (w->devs[i].rec.index == index)
			return true;
	return false;
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { NULL }, *a;
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	struct net_walk *w = data;
	char text[INET6_ADDRSTRLEN + 8];
	bool kernels;

	mnl_attr_parse(nlh, sizeof(*ifa), attr_table, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || w->ret)
		return MNL_CB_OK;
	/* The loopback's own, which a new namespace's has when it is up. */
	if (ifa->ifa_family == AF_INET)
		kernels = ifa->ifa_prefixlen == 8 && mnl_attr_get_payload_len(a) == 4 &&
			  ntohl(mnl_attr_get_u32(a)) == INADDR_LOOPBACK;
	else
		kernels = ifa->ifa_family == AF_INET6 && ifa->ifa_prefixlen == 128 &&
			  mnl_attr_get_payload_len(a) == 16 &&
			  !memcmp(mnl_attr_get_payload(a), v6_loopback, 16);
	if (kernels || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return MNL_CB_OK;
	addr_text(ifa->ifa_family, a, text, sizeof(text));
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "/%u", ifa->ifa_prefixlen);
	/* A veth's link-local address, which the kernel makes again from
	 * its saved hardware address. */
	if (tb[IFA_PROTO] && mnl_attr_get_payload_len(tb[IFA_PROTO]) == 1 &&
	    mnl_attr_get_u8(tb[IFA_PROTO]) == IFA_PROTO_KERNEL_LL)
		return MNL_CB_OK;
	if (!saved_device(w, ifa->ifa_index)) {
		pr_err("dump: %s: has address %s on device %u, not one cryo saves: not supported "
		       "yet", w->who, text, ifa->ifa_index);
		w->ret = -EOPNOTSUPP;
		return MNL_CB_OK;
	}
	keep(nlh, sizeof(*ifa), RTM_NEWADDR, "address", text, w);
	return MNL_CB_OK;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { NULL };
	struct net_walk *w = data;
	char text[INET6_ADDRSTRLEN + 8], name[INET6_ADDRSTRLEN + 32];
	unsigned int table = rtm->rtm_table;
	size_t kept;

	/* The kernel's own: those of its addresses, and IPv6 multicast. */
	if (rtm->rtm_protocol == RTPROT_KERNEL || w->ret || rtm->rtm_flags & RTM_F_CLONED ||
	    (rtm->rtm_family == AF_INET6 && rtm->rtm_type == RTN_MULTICAST) ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), attr_table, tb);
	if (tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) == 4)
		table = mnl_attr_get_u32(tb[RTA_TABLE]);
	if (tb[RTA_DST])
		addr_text(rtm->rtm_family, tb[RTA_DST], text, sizeof(text));
	else
		snprintf(text, sizeof(text), rtm->rtm_family == AF_INET ? "0.0.0.0" : "::");
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "/%u", rtm->rtm_dst_len);
	snprintf(name, sizeof(name), "%s (table %u)", text, table);
	/* An IPv6 route's remaining lifetime: not sent again yet. */
	if (tb[RTA_CACHEINFO] && mnl_attr_get_payload_len(tb[RTA_CACHEINFO]) >=
				 sizeof(struct rta_cacheinfo) &&
	    ((const struct rta_cacheinfo *)mnl_attr_get_payload(tb[RTA_CACHEINFO]))->rta_expires) {
		pr_err("dump: %s: has route %s, which expires: routes with a lifetime are not "
		       "supported yet", w->who, name);
		w->ret = -EOPNOTSUPP;
		return MNL_CB_OK;
	}
	kept = w->n;
	keep(nlh, sizeof(*rtm), RTM_NEWROUTE, "route", name, w);
	/* The next hop's state (dead, link down: a veth whose peer is down),
	 * offload and trap are the kernel's to say, and a request with them
	 * is refused ("Invalid rtm_flags"); onlink and pervasive are asked. */
	if (w->n > kept)
		((struct rtmsg *)mnl_nlmsg_get_payload((struct nlmsghdr *)w->msgs[kept]))
			->rtm_flags &= RTNH_F_ONLINK | RTNH_F_PERVASIVE;
	return MNL_CB_OK;
}

/* Entries set by hand (ip neigh add: NUD_PERMANENT); the kernel learns
 * the others again. */
static int on_neigh(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { NULL };
	struct net_walk *w = data;
	char text[INET6_ADDRSTRLEN + 32];

	if (w->ret || !(ndm->ndm_state & NUD_PERMANENT) || ndm->ndm_flags & NTF_PROXY ||
	    (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ndm), attr_table, tb);
	addr_text(ndm->ndm_family, tb[NDA_DST], text, sizeof(text));
	snprintf(text + strlen(text), sizeof(text) - strlen(text), " on device %d",
		 ndm->ndm_ifindex);
	if (!saved_device(w, (uint32_t)ndm->ndm_ifindex)) {
		pr_err("dump: %s: has neighbour %s, not one cryo saves: not supported yet",
		       w->who, text);
		w->ret = -EOPNOTSUPP;
		return MNL_CB_OK;
	}
	keep(nlh, sizeof(*ndm), RTM_NEWNEIGH, "neighbour", text, w);
	return MNL_CB_OK;
}

static int on_rule(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { NULL };
	struct net_walk *w = data;
	uint32_t prio = 0, table = frh->table;
	char name[64];

	if (w->ret)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*frh), attr_table, tb);
	if (tb[FRA_PRIORITY] && mnl_attr_get_payload_len(tb[FRA_PRIORITY]) == 4)
		prio = mnl_attr_get_u32(tb[FRA_PRIORITY]);
	if (tb[FRA_TABLE] && mnl_attr_get_payload_len(tb[FRA_TABLE]) == 4)
		table = mnl_attr_get_u32(tb[FRA_TABLE]);
	/* A new namespace's: local at 0, main at 32766, default at 32767
	 * (IPv4 only), made by the kernel with no selector. */
	if (frh->action == FR_ACT_TO_TBL && !frh->src_len && !frh->dst_len && !tb[FRA_FWMARK] &&
	    !tb[FRA_IIFNAME] && !tb[FRA_OIFNAME] && !tb[FRA_UID_RANGE] &&
	    ((prio == 0 && table == RT_TABLE_LOCAL) || (prio == 32766 && table == RT_TABLE_MAIN) ||
	     (prio == 32767 && table == RT_TABLE_DEFAULT && frh->family == AF_INET)))
		return MNL_CB_OK;
	snprintf(name, sizeof(name), "(family %u, priority %u, table %u)", frh->family, prio,
		 table);
	keep(nlh, sizeof(*frh), RTM_NEWRULE, "routing rule", name, w);
	return MNL_CB_OK;
}

int net_rtnl_collect(struct net_walk *w)
{
	int ret = net_rtnl_walk(RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg), on_addr, w);

	if (!ret)
		ret = net_rtnl_walk(RTM_GETROUTE, AF_UNSPEC, sizeof(struct rtmsg), on_route, w);
	if (!ret)
		ret = net_rtnl_walk(RTM_GETNEIGH, AF_UNSPEC, sizeof(struct ndmsg), on_neigh, w);
	if (!ret)
		ret = net_rtnl_walk(RTM_GETRULE, AF_INET, sizeof(struct fib_rule_hdr), on_rule, w);
	if (!ret)
		ret = net_rtnl_walk(RTM_GETRULE, AF_INET6, sizeof(struct fib_rule_hdr), on_rule, w);
	return ret;
}

void net_walk_free(struct net_walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->msgs[i]);
	free(w->msgs);
	free(w->devs);
	w->msgs = NULL;
	w->n = 0;
	w->devs = NULL;
	w->n_devs = 0;
}

/* ---- restore ------------------------------------------------------------- */

static const char *what(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type == RTM_NEWADDR ? "address" :
	       nlh->nlmsg_type == RTM_NEWROUTE ? "route" :
	       nlh->nlmsg_type == RTM_NEWNEIGH ? "neighbour" : "rule";
}

int net_rtnl_answer(const void *buf, size_t len, uint32_t seq, char *why, size_t why_size)
{
	const struct nlmsghdr *nlh = buf;
	const struct nlmsgerr *err;
	const struct nlattr *a;
	size_t skip;

	why[0] = '\0';
	if (!mnl_nlmsg_ok(nlh, (int)len) || nlh->nlmsg_seq != seq ||
	    nlh->nlmsg_type != NLMSG_ERROR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr))
		return -EPROTO;
	err = mnl_nlmsg_get_payload(nlh);
	if (!err->error)
		return 0;
	/* Without NLM_F_CAPPED the request follows, whole. */
	skip = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		skip += err->msg.nlmsg_len - sizeof(err->msg);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS && skip <= mnl_nlmsg_get_payload_len(nlh))
		mnl_attr_for_each(a, nlh, MNL_ALIGN(skip))
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
			    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
				snprintf(why, why_size, " (%s)", mnl_attr_get_str(a));
	return err->error < 0 ? err->error : -EPROTO;
}

/* Sends one saved message with the devices' indices of this namespace,
 * and waits for the kernel's answer. */
static int send_one(struct mnl_socket *nl, const NetNs *ns, const ProtobufCBinaryData *msg,
		    uint32_t seq, char *why, size_t why_size)
{
	uint32_t buf[2048];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *a;
	ssize_t n;

	if (msg->len > sizeof(buf))
		return -EMSGSIZE;
	memcpy(buf, msg->data, msg->len);
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;
	if (nlh->nlmsg_type == RTM_NEWADDR) {
		struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

		ifa->ifa_index = net_link_index(ns, ifa->ifa_index);
	} else if (nlh->nlmsg_type == RTM_NEWNEIGH) {
		struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

		ndm->ndm_ifindex = (int)net_link_index(ns, (uint32_t)ndm->ndm_ifindex);
	} else if (nlh->nlmsg_type == RTM_NEWROUTE) {
		mnl_attr_for_each(a, nlh, sizeof(struct rtmsg))
			if (mnl_attr_get_type(a) == RTA_OIF) {
				uint32_t now = net_link_index(ns, mnl_attr_get_u32(a));

				memcpy(mnl_attr_get_payload(a), &now, 4);
			}
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return net_rtnl_answer(buf, (size_t)n, seq, why, why_size);
}

int net_rtnl_restore(const NetNs *ns)
{
	struct mnl_socket *nl;
	bool *done;
	size_t left = ns->n_rtnl;
	int ret = 0, tries = 0;

	if (!ns->n_rtnl)
		return 0;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	done = calloc(ns->n_rtnl, sizeof(*done));
	if (!nl || !done || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &(int){ 1 }, sizeof(int)) < 0) {
		ret = pr_errno_ret("restore: network namespace: cannot open rtnetlink");
		goto out;
	}
	/* In saved order, and again for those that failed while others went
	 * in (a gateway only a later route reaches). A new IPv6 address is
	 * tentative until the kernel's DAD work runs, even on the loopback,
	 * and a route from it fails meanwhile: passes without progress are
	 * tried again for up to two seconds. */
	while (left && !ret) {
		size_t before = left;
		size_t first_failed = SIZE_MAX;
		int first_err = 0;
		char why[256], first_why[256] = "";

		for (size_t i = 0; i < ns->n_rtnl; i++) {
			int err;

			if (done[i])
				continue;
			err = send_one(nl, ns, &ns->rtnl[i], (uint32_t)i + 1, why, sizeof(why));
			if (!err) {
				done[i] = true;
				left--;
			} else if (first_failed == SIZE_MAX) {
				first_failed = i;
				first_err = err;
				memcpy(first_why, why, sizeof(why));
			}
		}
		if (left == before && tries++ < 200) {
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
		} else if (left == before) {
			const struct nlmsghdr *nlh = (const void *)ns->rtnl[first_failed].data;

			pr_err("restore: network namespace: cannot add %s %zu of net-ns.img: %s%s",
			       what(nlh), first_failed, strerror(-first_err), first_why);
			ret = first_err;
		}
	}
	if (!ret)
		pr_info("restore: network namespace: %zu addresses, routes and rules",
			ns->n_rtnl);
out:
	free(done);
	if (nl)
		mnl_socket_close(nl);
	return ret;
}
