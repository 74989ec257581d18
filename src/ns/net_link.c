/* The devices of a tree's own network namespace other than the loopback:
 * veth ends and bridges, saved (name, MTU, MAC address, up; a bridge's
 * settings, a veth's bridge) at dump and made again at restore, a pair
 * inside whole, an end whose peer is outside with that peer made in cryo's
 * namespace under the name --external veth[IN]:OUT gives (a clone's, a
 * free one without); the order in which every kind is made. Dummies,
 * macvlans and ipvlans are net_devices.c's, addresses and routes
 * net_rtnl.c's; other kinds of devices are refused by net_refuse.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "ns/externals.h"
#include "ns/net.h"

/* ---- dump ---------------------------------------------------------------- */

int net_link_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFLA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

int net_link_info_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFLA_INFO_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

bool net_link_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) != 4)
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

static int br_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFLA_BR_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

void net_link_refuse(struct net_walk *w, const char *name, const char *why)
{
	if (!w->ret)
		pr_err("dump: %s: device %s: %s", w->who, name, why);
	w->ret = w->ret ? w->ret : -EOPNOTSUPP;
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL }, *info[IFLA_INFO_MAX + 1] = { NULL };
	struct net_walk *w = data;
	const struct nlattr *br[IFLA_BR_MAX + 1] = { NULL };
	struct net_dev *d;
	const char *name;
	uint32_t peer = 0;
	bool bridge;

	if (w->ret)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifm), net_link_attr, tb);
	if (!tb[IFLA_IFNAME] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING))
		return MNL_CB_OK;
	name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	if ((unsigned int)ifm->ifi_index == w->lo_index)
		return MNL_CB_OK;
	/* net_refuse.c refused every other kind. */
	if (tb[IFLA_LINKINFO])
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], net_link_info_attr, info);
	if (!info[IFLA_INFO_KIND])
		return MNL_CB_OK;
	bridge = !strcmp(mnl_attr_get_str(info[IFLA_INFO_KIND]), "bridge");
	if (!bridge && strcmp(mnl_attr_get_str(info[IFLA_INFO_KIND]), "veth"))
		return MNL_CB_OK;
	if (bridge && tb[IFLA_MASTER]) {
		net_link_refuse(w, name, "a bridge that is a port of another device: not supported "
				"yet");
		return MNL_CB_OK;
	}
	if (bridge && info[IFLA_INFO_DATA])
		mnl_attr_parse_nested(info[IFLA_INFO_DATA], br_attr, br);
	if (bridge && br[IFLA_BR_VLAN_FILTERING] &&
	    mnl_attr_get_payload_len(br[IFLA_BR_VLAN_FILTERING]) == 1 &&
	    mnl_attr_get_u8(br[IFLA_BR_VLAN_FILTERING])) {
		net_link_refuse(w, name, "a bridge with VLAN filtering (its VLAN tables are not "
				"saved): not supported yet");
		return MNL_CB_OK;
	}
	if (!bridge && !net_link_u32(tb[IFLA_LINK], &peer)) {
		net_link_refuse(w, name, "rtnetlink did not say its peer");
		return MNL_CB_OK;
	}
	d = net_dev_add(w, ifm, tb, bridge ? "bridge" : "veth");
	if (!d)
		return MNL_CB_OK;
	if (bridge) {
		d->rec.has_br_forward_delay = net_link_u32(br[IFLA_BR_FORWARD_DELAY],
						       &d->rec.br_forward_delay);
		d->rec.has_br_hello_time = net_link_u32(br[IFLA_BR_HELLO_TIME],
							&d->rec.br_hello_time);
		d->rec.has_br_max_age = net_link_u32(br[IFLA_BR_MAX_AGE], &d->rec.br_max_age);
		d->rec.has_br_ageing_time = net_link_u32(br[IFLA_BR_AGEING_TIME],
						     &d->rec.br_ageing_time);
		d->rec.has_br_stp_state = net_link_u32(br[IFLA_BR_STP_STATE], &d->rec.br_stp_state);
		if (br[IFLA_BR_PRIORITY] && mnl_attr_get_payload_len(br[IFLA_BR_PRIORITY]) == 2) {
			d->rec.has_br_priority = true;
			d->rec.br_priority = mnl_attr_get_u16(br[IFLA_BR_PRIORITY]);
		}
		return MNL_CB_OK;
	}
	d->rec.has_master_index = net_link_u32(tb[IFLA_MASTER], &d->rec.master_index);
	/* The peer is in another namespace when the kernel names one. */
	if (!tb[IFLA_LINK_NETNSID]) {
		d->rec.has_peer_index = true;
		d->rec.peer_index = peer;
	}
	return MNL_CB_OK;
}

int net_link_collect(struct net_walk *w)
{
	int ret = net_rtnl_walk(RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), on_link, w);

	if (!ret)
		ret = net_dev_collect(w);
	/* The pointers into the array are set once it no longer moves. */
	for (size_t i = 0; i < w->n_devs; i++) {
		w->devs[i].rec.name = w->devs[i].name;
		w->devs[i].rec.kind = w->devs[i].kind;
		w->devs[i].rec.mac.data = w->devs[i].mac;
	}
	/* A port's master must be a bridge saved here. */
	for (size_t i = 0; !ret && i < w->n_devs; i++) {
		const NetDevice *d = &w->devs[i].rec;
		bool found = false;

		for (size_t j = 0; d->has_master_index && j < w->n_devs; j++)
			found |= w->devs[j].rec.index == d->master_index &&
				 !strcmp(w->devs[j].kind, "bridge");
		if (d->has_master_index && !found) {
			net_link_refuse(w, d->name, "a port of a device other than a bridge: not "
					"supported yet");
			ret = w->ret;
		}
	}
	return ret;
}

/* ---- restore ------------------------------------------------------------- */

int net_link_request(struct rtnl *r, struct nlmsghdr *nlh, char *why, size_t why_size)
{
	uint32_t buf[2048];
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++r->seq;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return net_rtnl_answer(buf, (size_t)n, r->seq, why, why_size);
}

static void put_attrs(struct nlmsghdr *nlh, const NetDevice *d, const char *name)
{
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, d->mtu);
	if (d->has_mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, d->mac.len, d->mac.data);
}

/* Makes the veth @d with its peer: @peer's attributes and name inside, or
 * @outside in the namespace of @outer_ns (cryo's). */
static int make_veth(struct rtnl *r, const NetDevice *d, const NetDevice *peer,
		     const char *outside, int outer_ns, bool report)
{
	uint32_t buf[1024];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *linkinfo, *data, *peer_attr;
	struct ifinfomsg *ifm;
	char why[256];
	int ret;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	put_attrs(nlh, d, d->name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow a struct ifinfomsg of its own. */
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	memset(ifm, 0, sizeof(*ifm));
	if (peer) {
		put_attrs(nlh, peer, peer->name);
	} else {
		mnl_attr_put_strz(nlh, IFLA_IFNAME, outside);
		mnl_attr_put_u32(nlh, IFLA_MTU, d->mtu);
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)outer_ns);
	}
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	ret = net_link_request(r, nlh, why, sizeof(why));
	if (!report)
		return ret;
	if (ret && peer)
		pr_err("restore: network namespace: cannot make the veth pair %s and %s: %s%s",
		       d->name, peer->name, strerror(-ret), why);
	else if (ret)
		pr_err("restore: network namespace: cannot make veth %s with its peer %s in cryo's "
		       "namespace: %s%s", d->name, outside, strerror(-ret), why);
	return ret;
}

/* The outer end's name may still be the dumped tree's own end for a
 * moment: a namespace whose last process died deletes its devices later,
 * from the kernel's cleanup work. Tried again for up to two seconds. A
 * clone's end that no --external names takes the first free name of
 * INSIDE-cN instead: the original's end is never taken from it. */
static int make_veth_outside(struct rtnl *r, const NetDevice *d, int outer_ns)
{
	const char *outside = ns_external_veth(r->externals, d->name);
	char free_name[IFNAMSIZ];
	int ret;

	for (unsigned int n = 0; !outside && n < 1000; n++) {
		snprintf(free_name, sizeof(free_name), "%.*s-c%u", IFNAMSIZ - 6, d->name, n);
		ret = make_veth(r, d, NULL, free_name, outer_ns, false);
		if (!ret)
			pr_warn("restore: network namespace: veth %s: its end in cryo's namespace "
				"is %s (a clone, and no --external veth[%s]:NAME)", d->name,
				free_name, d->name);
		else if (ret != -EEXIST)
			pr_err("restore: network namespace: cannot make veth %s with its peer %s "
			       "in cryo's namespace: %s", d->name, free_name, strerror(-ret));
		if (ret != -EEXIST)
			return ret;
	}
	for (int tries = 0; outside; tries++) {
		bool last = tries == 200;

		ret = make_veth(r, d, NULL, outside, outer_ns, last);
		if (ret != -EEXIST || last)
			return ret;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	pr_err("restore: network namespace: veth %s: no free name %.*s-cN in cryo's namespace",
	       d->name, IFNAMSIZ - 6, d->name);
	return -EEXIST;
}

struct nlmsghdr *net_link_new(void *buf, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

static int make_bridge(struct rtnl *r, const NetDevice *d)
{
	uint32_t buf[512];
	struct nlmsghdr *nlh = net_link_new(buf, d->name);
	struct nlattr *linkinfo, *data;
	char why[256];
	int ret;

	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	if (d->has_br_forward_delay)
		mnl_attr_put_u32(nlh, IFLA_BR_FORWARD_DELAY, d->br_forward_delay);
	if (d->has_br_hello_time)
		mnl_attr_put_u32(nlh, IFLA_BR_HELLO_TIME, d->br_hello_time);
	if (d->has_br_max_age)
		mnl_attr_put_u32(nlh, IFLA_BR_MAX_AGE, d->br_max_age);
	if (d->has_br_ageing_time)
		mnl_attr_put_u32(nlh, IFLA_BR_AGEING_TIME, d->br_ageing_time);
	if (d->has_br_stp_state)
		mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, d->br_stp_state);
	if (d->has_br_priority)
		mnl_attr_put_u16(nlh, IFLA_BR_PRIORITY, (uint16_t)d->br_priority);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	ret = net_link_request(r, nlh, why, sizeof(why));
	if (ret)
		pr_err("restore: network namespace: cannot make bridge %s: %s%s", d->name,
		       strerror(-ret), why);
	return ret;
}

/* Sets on device @d its bridge @master (when @master), and its MTU and MAC
 * address when they are not what it has: a bridge takes both from its
 * ports unless they were set, so they are set only after the ports. */
static int set_link(struct rtnl *r, const NetDevice *d, const NetDevice *master)
{
	uint32_t buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct ifreq ifr = { 0 };
	char why[256];
	int ret, s;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifm->ifi_index = (int)if_nametoindex(d->name);
	if (!ifm->ifi_index)
		return pr_errno_ret("restore: network namespace: device %s is gone", d->name);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, if_nametoindex(master->name));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!master && s >= 0 && !ioctl(s, SIOCGIFMTU, &ifr) && (uint32_t)ifr.ifr_mtu != d->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, d->mtu);
	if (!master && d->has_mac && s >= 0 && !ioctl(s, SIOCGIFHWADDR, &ifr) &&
	    memcmp(ifr.ifr_hwaddr.sa_data, d->mac.data, 6))
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, d->mac.data);
	if (s >= 0)
		close(s);
	ret = net_link_request(r, nlh, why, sizeof(why));
	if (ret)
		pr_err("restore: network namespace: cannot set %s%s%s: %s%s", d->name,
		       master ? " as a port of " : "'s MTU and address", master ? master->name : "",
		       strerror(-ret), why);
	return ret;
}

static int set_up(struct rtnl *r, const NetDevice *d)
{
	uint32_t buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	char why[256];
	int ret;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifm->ifi_index = (int)if_nametoindex(d->name);
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (!ifm->ifi_index)
		return pr_errno_ret("restore: network namespace: device %s is gone", d->name);
	/* A macvlan with the MAC address of the dumped tree's own, over the
	 * same lower device, cannot be up before that one is deleted, by the
	 * kernel's cleanup of the dead namespace: tried again for 2 s. */
	for (int tries = 0; tries < 200; tries++) {
		ret = net_link_request(r, nlh, why, sizeof(why));
		if (ret != -EADDRINUSE)
			break;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	if (ret)
		pr_err("restore: network namespace: cannot bring %s up: %s%s", d->name,
		       strerror(-ret), why);
	return ret;
}

static const NetDevice *device_at(const NetNs *ns, uint32_t index)
{
	for (size_t i = 0; i < ns->n_devices; i++)
		if (ns->devices[i]->index == index)
			return ns->devices[i];
	return NULL;
}

int net_link_check_externals(const NetNs *ns, const struct ns_externals *externals)
{
	for (size_t i = 0; i < ns->n_devices; i++)
		if (!strcmp(ns->devices[i]->kind, "veth") && !ns->devices[i]->has_peer_index &&
		    !ns_external_veth(externals, ns->devices[i]->name) &&
		    !(externals && externals->veth_free_names)) {
			pr_err("restore: network namespace: veth %s has its peer outside the "
			       "namespace: --external veth[%s]:NAME names the end to make in "
			       "cryo's", ns->devices[i]->name, ns->devices[i]->name);
			return -ENOENT;
		}
	return 0;
}

int net_link_restore(const NetNs *ns, int outer_ns, const struct ns_externals *externals)
{
	struct rtnl r = { .seq = (uint32_t)time(NULL), .externals = externals };
	int ret = 0;

	if (!ns->n_devices)
		return 0;
	r.nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r.nl || mnl_socket_bind(r.nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(r.nl, NETLINK_EXT_ACK, &(int){ 1 }, sizeof(int)) < 0)
		ret = pr_errno_ret("restore: network namespace: cannot open rtnetlink");
	/* Dummies and bridges first; then veths, a pair inside made once, by
	 * its end of the lower index; then macvlans and ipvlans over any of
	 * those; then the ports put in their bridges. */
	if (!ret)
		ret = net_dev_make_dummies(&r, ns);
	for (size_t i = 0; !ret && i < ns->n_devices; i++)
		if (!strcmp(ns->devices[i]->kind, "bridge"))
			ret = make_bridge(&r, ns->devices[i]);
	for (size_t i = 0; !ret && i < ns->n_devices; i++) {
		const NetDevice *d = ns->devices[i];

		if (strcmp(d->kind, "veth"))
			continue;
		if (!d->has_peer_index)
			ret = make_veth_outside(&r, d, outer_ns);
		else if (d->index < d->peer_index)
			ret = make_veth(&r, d, device_at(ns, d->peer_index), NULL, outer_ns, true);
	}
	if (!ret)
		ret = net_dev_make_vlans(&r, ns, outer_ns);
	for (size_t i = 0; !ret && i < ns->n_devices; i++)
		if (ns->devices[i]->has_master_index)
			ret = set_link(&r, ns->devices[i],
				       device_at(ns, ns->devices[i]->master_index));
	/* A tun is made by /dev/net/tun, which takes no MTU nor address. */
	for (size_t i = 0; !ret && i < ns->n_devices; i++)
		if (!strcmp(ns->devices[i]->kind, "bridge") || !strcmp(ns->devices[i]->kind, "tun"))
			ret = set_link(&r, ns->devices[i], NULL);
	for (size_t i = 0; !ret && i < ns->n_devices; i++)
		if (ns->devices[i]->up)
			ret = set_up(&r, ns->devices[i]);
	if (r.nl)
		mnl_socket_close(r.nl);
	return ret;
}

/* The index in this namespace of the device saved at @index (0: none). */
uint32_t net_link_index(const NetNs *ns, uint32_t index)
{
	const NetDevice *d = device_at(ns, index);

	if (index == ns->lo_index)
		return if_nametoindex("lo");
	return d ? if_nametoindex(d->name) : 0;
}
