/* Dummies, macvlans and ipvlans of a tree's own network namespace (and
 * what every kind saves; tuns' own settings are net_tun.c's): saved (a
 * macvlan's or ipvlan's mode, flags and lower device) and made again at
 * restore, a lower device outside made
 * over the one of cryo's namespace that --external macvlan[IN]:LOWER (or
 * ipvlan[...]) names. The order of making and other kinds are net_link.c's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ns/externals.h"
#include "ns/net.h"

/* ---- dump ---------------------------------------------------------------- */

struct net_dev *net_dev_add(struct net_walk *w, const struct ifinfomsg *ifm,
			    const struct nlattr **tb, const char *kind)
{
	const char *name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	struct net_dev *devs, *d;
	uint32_t mtu;

	if (!net_link_u32(tb[IFLA_MTU], &mtu) ||
	    (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) != 6)) {
		net_link_refuse(w, name, "rtnetlink did not say its MTU and address");
		return NULL;
	}
	devs = realloc(w->devs, (w->n_devs + 1) * sizeof(*devs));
	if (!devs) {
		w->ret = -ENOMEM;
		return NULL;
	}
	w->devs = devs;
	d = &devs[w->n_devs++];
	memset(d, 0, sizeof(*d));
	net_device__init(&d->rec);
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->kind, sizeof(d->kind), "%s", kind);
	d->rec.index = (uint32_t)ifm->ifi_index;
	d->rec.name = d->name;
	d->rec.kind = d->kind;
	d->rec.mtu = mtu;
	d->rec.up = ifm->ifi_flags & IFF_UP;
	if (tb[IFLA_ADDRESS]) {
		memcpy(d->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
		d->rec.has_mac = true;
		d->rec.mac = (ProtobufCBinaryData){ .len = 6, .data = d->mac };
	}
	return d;
}

static int data_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	/* IFLA_MACVLAN_* and IFLA_IPVLAN_* are both below 16. */
	if (type < 16)
		tb[type] = a;
	return MNL_CB_OK;
}

static bool u16_attr(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) != 2)
		return false;
	*v = mnl_attr_get_u16(a);
	return true;
}

/* A macvlan's or ipvlan's mode and flags, and its lower device. */
static void vlan_settings(struct net_walk *w, struct net_dev *d, const struct nlattr **tb,
			  const struct nlattr **data)
{
	NetDevice *r = &d->rec;
	uint32_t lower;
	bool ok;

	if (!strcmp(d->kind, "macvlan")) {
		ok = net_link_u32(data[IFLA_MACVLAN_MODE], &r->macvlan_mode);
		r->has_macvlan_mode = ok;
		r->has_macvlan_flags = true;
		if (data[IFLA_MACVLAN_FLAGS] &&
		    !u16_attr(data[IFLA_MACVLAN_FLAGS], &r->macvlan_flags))
			ok = false;
		/* Source mode filters by a list of MAC addresses, not saved. */
		if (ok && r->macvlan_mode == MACVLAN_MODE_SOURCE) {
			net_link_refuse(w, d->name, "a macvlan in source mode (its list of source "
					"addresses is not saved): not supported yet");
			return;
		}
	} else {
		ok = u16_attr(data[IFLA_IPVLAN_MODE], &r->ipvlan_mode);
		r->has_ipvlan_mode = ok;
		r->has_ipvlan_flags = true;
		if (data[IFLA_IPVLAN_FLAGS] && !u16_attr(data[IFLA_IPVLAN_FLAGS], &r->ipvlan_flags))
			ok = false;
		/* Its MAC address is its lower device's, not its own. */
		r->has_mac = false;
	}
	if (!ok || !net_link_u32(tb[IFLA_LINK], &lower)) {
		net_link_refuse(w, d->name, "rtnetlink did not say its mode and lower device");
		return;
	}
	/* The lower device is in another namespace when the kernel names one. */
	if (!tb[IFLA_LINK_NETNSID]) {
		r->has_lower_index = true;
		r->lower_index = lower;
	}
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL }, *info[IFLA_INFO_MAX + 1] = { NULL };
	const struct nlattr *settings[16] = { NULL };
	struct net_walk *w = data;
	struct net_dev *d;
	const char *kind;

	if (w->ret)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifm), net_link_attr, tb);
	if (!tb[IFLA_IFNAME] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) ||
	    !tb[IFLA_LINKINFO])
		return MNL_CB_OK;
	mnl_attr_parse_nested(tb[IFLA_LINKINFO], net_link_info_attr, info);
	if (!info[IFLA_INFO_KIND])
		return MNL_CB_OK;
	kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
	if (strcmp(kind, "dummy") && strcmp(kind, "macvlan") && strcmp(kind, "ipvlan") &&
	    strcmp(kind, "tun"))
		return MNL_CB_OK;
	d = net_dev_add(w, ifm, tb, kind);
	if (!d)
		return MNL_CB_OK;
	d->rec.has_master_index = net_link_u32(tb[IFLA_MASTER], &d->rec.master_index);
	if (!strcmp(kind, "tun"))
		net_tun_settings(w, d, info[IFLA_INFO_DATA], ifm->ifi_type, tb[IFLA_CARRIER]);
	if (!strcmp(kind, "dummy") || !strcmp(kind, "tun"))
		return MNL_CB_OK;
	if (info[IFLA_INFO_DATA])
		mnl_attr_parse_nested(info[IFLA_INFO_DATA], data_attr, settings);
	vlan_settings(w, d, tb, settings);
	return MNL_CB_OK;
}

int net_dev_collect(struct net_walk *w)
{
	int ret = net_rtnl_walk(RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), on_link, w);

	/* A lower device inside must be saved here. */
	for (size_t i = 0; !ret && i < w->n_devs; i++) {
		const NetDevice *d = &w->devs[i].rec;
		bool found = false;

		for (size_t j = 0; d->has_lower_index && j < w->n_devs; j++)
			found |= j != i && w->devs[j].rec.index == d->lower_index;
		if (d->has_lower_index && !found) {
			net_link_refuse(w, w->devs[i].name, "its lower device is not one cryo "
					"saves: not supported yet");
			ret = w->ret;
		}
	}
	return ret;
}

/* ---- restore ------------------------------------------------------------- */

static bool is_vlan(const NetDevice *d)
{
	return !strcmp(d->kind, "macvlan") || !strcmp(d->kind, "ipvlan");
}

int net_dev_check_externals(const NetNs *ns, const struct ns_externals *externals)
{
	for (size_t i = 0; i < ns->n_devices; i++) {
		const NetDevice *d = ns->devices[i];
		const char *lower;

		if (!is_vlan(d) || d->has_lower_index)
			continue;
		lower = ns_external_lower(externals, d->kind, d->name);
		if (!lower) {
			pr_err("restore: network namespace: %s %s has its lower device outside the "
			       "namespace: --external %s[%s]:NAME names the device of cryo's "
			       "namespace to make it over", d->kind, d->name, d->kind, d->name);
			return -ENOENT;
		}
		if (!if_nametoindex(lower))
			return pr_errno_ret("restore: network namespace: %s %s: its lower "
					    "device %s (--external %s[%s]:%s) is not in cryo's "
					    "namespace", d->kind, d->name, lower, d->kind, d->name,
					    lower);
	}
	return 0;
}

static int make(struct rtnl *r, const NetDevice *d, uint32_t lower, int netns_fd)
{
	uint32_t buf[512];
	struct nlmsghdr *nlh = net_link_new(buf, d->name);
	struct nlattr *linkinfo, *data;
	char why[256];
	int ret;

	mnl_attr_put_u32(nlh, IFLA_MTU, d->mtu);
	if (d->has_mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, d->mac.len, d->mac.data);
	if (lower)
		mnl_attr_put_u32(nlh, IFLA_LINK, lower);
	if (netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, d->kind);
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	if (d->has_macvlan_mode)
		mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, d->macvlan_mode);
	if (d->has_macvlan_flags)
		mnl_attr_put_u16(nlh, IFLA_MACVLAN_FLAGS, (uint16_t)d->macvlan_flags);
	if (d->has_ipvlan_mode)
		mnl_attr_put_u16(nlh, IFLA_IPVLAN_MODE, (uint16_t)d->ipvlan_mode);
	if (d->has_ipvlan_flags)
		mnl_attr_put_u16(nlh, IFLA_IPVLAN_FLAGS, (uint16_t)d->ipvlan_flags);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	ret = net_link_request(r, nlh, why, sizeof(why));
	if (ret)
		pr_err("restore: network namespace: cannot make %s %s: %s%s", d->kind, d->name,
		       strerror(-ret), why);
	return ret;
}

int net_dev_make_dummies(struct rtnl *r, const NetNs *ns)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < ns->n_devices; i++)
		if (!strcmp(ns->devices[i]->kind, "dummy"))
			ret = make(r, ns->devices[i], 0, -1);
		else if (!strcmp(ns->devices[i]->kind, "tun"))
			ret = net_tun_make(ns->devices[i]);
	return ret;
}

/* From cryo's namespace @outer_ns: an rtnetlink socket opened there and
 * the index there of device @lower; the tree's namespace, which cryo is
 * in again after, in *@inner. */
static int from_outside(int outer_ns, const char *lower, struct rtnl *outer, int *inner,
			uint32_t *index)
{
	int ret = 0;

	*inner = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*inner < 0)
		return pr_errno_ret("restore: network namespace: cannot open it");
	if (setns(outer_ns, CLONE_NEWNET))
		return pr_errno_ret("restore: cannot go back to cryo's network namespace");
	*index = if_nametoindex(lower);
	if (!*index)
		ret = pr_errno_ret("restore: network namespace: no device %s in cryo's namespace",
				   lower);
	outer->nl = ret ? NULL : mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!ret && (!outer->nl || mnl_socket_bind(outer->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
		     mnl_socket_setsockopt(outer->nl, NETLINK_EXT_ACK, &(int){ 1 },
					   sizeof(int)) < 0))
		ret = pr_errno_ret("restore: cannot open rtnetlink in cryo's network namespace");
	if (setns(*inner, CLONE_NEWNET))
		return pr_errno_ret("restore: cannot go into the tree's network namespace again");
	return ret;
}

/* Over a device of cryo's: the request goes from there, with the tree's
 * namespace as where to make it. */
static int make_over_outside(struct rtnl *r, const NetDevice *d, int outer_ns)
{
	const char *lower = ns_external_lower(r->externals, d->kind, d->name);
	struct rtnl outer = { .seq = r->seq, .externals = r->externals };
	_cleanup_close_ int inner = -1;
	uint32_t index = 0;
	int ret = from_outside(outer_ns, lower, &outer, &inner, &index);

	if (!ret)
		ret = make(&outer, d, index, inner);
	if (outer.nl)
		mnl_socket_close(outer.nl);
	return ret;
}

int net_dev_make_vlans(struct rtnl *r, const NetNs *ns, int outer_ns)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < ns->n_devices; i++) {
		const NetDevice *d = ns->devices[i];

		if (!is_vlan(d))
			continue;
		if (d->has_lower_index)
			ret = make(r, d, net_link_index(ns, d->lower_index), -1);
		else
			ret = make_over_outside(r, d, outer_ns);
	}
	return ret;
}
