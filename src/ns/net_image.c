/* The sysctls a network namespace saves, and the check of net-ns.img,
 * apart from any process, so that the image fuzzer can link them alone. */
#include <errno.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/if_tun.h>

#include "common/cleanup.h"
#include "images/proto/net_ns.pb-c.h"
#include "ns/net.h"

/* Each is the reader's or writer's namespace's. */
const char *const net_ns_sysctls[] = {
	"net/ipv4/ip_forward", "net/ipv4/ping_group_range", "net/ipv4/ip_local_port_range",
	"net/ipv4/ip_local_reserved_ports", "net/ipv4/ip_unprivileged_port_start",
	"net/ipv4/ip_default_ttl", "net/ipv4/ip_no_pmtu_disc",
	"net/ipv4/tcp_keepalive_time", "net/ipv4/tcp_keepalive_intvl",
	"net/ipv4/tcp_keepalive_probes", "net/ipv4/tcp_fin_timeout", "net/ipv4/tcp_syncookies",
	"net/ipv4/tcp_tw_reuse", "net/ipv4/tcp_timestamps", "net/ipv4/tcp_sack",
	"net/ipv4/tcp_window_scaling", "net/ipv4/tcp_ecn", "net/ipv4/tcp_rmem",
	"net/ipv4/tcp_wmem", "net/ipv4/tcp_syn_retries", "net/ipv4/tcp_synack_retries",
	"net/ipv4/tcp_retries2", "net/ipv4/tcp_max_syn_backlog", "net/ipv4/udp_rmem_min",
	"net/ipv4/udp_wmem_min", "net/ipv4/icmp_echo_ignore_all",
	"net/ipv4/conf/all/forwarding", "net/ipv4/conf/default/forwarding",
	"net/ipv4/conf/all/rp_filter", "net/ipv4/conf/default/rp_filter",
	"net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6",
	"net/ipv6/conf/lo/disable_ipv6", "net/ipv6/conf/all/forwarding",
	"net/core/somaxconn", "net/unix/max_dgram_qlen",
	NULL,
};

#define VALUE_MAX 256

static bool known(const char *name)
{
	for (size_t i = 0; net_ns_sysctls[i]; i++)
		if (!strcmp(name, net_ns_sysctls[i]))
			return true;
	return false;
}

static const char *sysctl_problem(const NetNs *ns, size_t i)
{
	const NetSysctl *s = ns->sysctls[i];
	size_t len = strlen(s->value);

	if (!known(s->name))
		return "not a network namespace's sysctl that cryo saves";
	for (size_t j = 0; j < i; j++)
		if (!strcmp(ns->sysctls[j]->name, s->name))
			return "saved twice";
	/* ip_local_reserved_ports is a list, and may be empty. */
	if (len > VALUE_MAX || strspn(s->value, "0123456789 \t-,") != len)
		return "its value is not numbers";
	return NULL;
}

/* A per-device sysctl: net/ipv{4,6}/conf/DEV/KEY, DEV all, default, lo or
 * a saved device, KEY a word; none of the namespace-wide ones. */
static const char *dev_sysctl_problem(const NetNs *ns, size_t i)
{
	const NetSysctl *s = ns->dev_sysctls[i];
	bool prefix = !strncmp(s->name, "net/ipv4/conf/", 14) ||
		      !strncmp(s->name, "net/ipv6/conf/", 14);
	const char *dev = prefix ? s->name + 14 : s->name, *key = strchr(dev, '/');
	size_t dev_len = key ? (size_t)(key - dev) : 0, len = strlen(s->value);
	bool known_dev = false;

	if (!prefix || !key || !key[1] || strlen(key + 1) > 64 ||
	    strspn(key + 1, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(key + 1))
		return "not a per-device sysctl";
	for (size_t j = 0; j < ns->n_devices; j++)
		known_dev |= strlen(ns->devices[j]->name) == dev_len &&
			     !strncmp(ns->devices[j]->name, dev, dev_len);
	if (!known_dev && (dev_len != 3 || strncmp(dev, "all", 3)) &&
	    (dev_len != 7 || strncmp(dev, "default", 7)) && (dev_len != 2 || strncmp(dev, "lo", 2)))
		return "not of all, default, the loopback or a saved device";
	if (known(s->name))
		return "a namespace-wide sysctl";
	for (size_t j = 0; j < i; j++)
		if (!strcmp(ns->dev_sysctls[j]->name, s->name))
			return "saved twice";
	/* stable_secret is an IPv6 address. */
	if (len > VALUE_MAX || strspn(s->value, "0123456789abcdefABCDEF: \t-") != len)
		return "its value is not numbers";
	return NULL;
}

#define TUN_FLAGS (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

/* What of a tun's settings is wrong, NULL: nothing. */
static const char *tun_problem(const NetDevice *d)
{
	bool tun = !strcmp(d->kind, "tun");
	uint32_t type = d->tun_flags & (IFF_TUN | IFF_TAP);

	if (!tun)
		return d->has_tun_flags || d->has_tun_owner || d->has_tun_group ?
		       "a device other than a tun with a tun's settings" : NULL;
	if (!d->has_tun_flags || (d->tun_flags & ~TUN_FLAGS) || (type != IFF_TUN && type != IFF_TAP))
		return "a tun whose flags are not one cryo restores";
	if (type == IFF_TUN && d->has_mac)
		return "a tun (not tap) with a MAC address";
	return NULL;
}

/* What of a macvlan's or ipvlan's settings is wrong, NULL: nothing. */
static const char *vlan_problem(const NetNs *ns, const NetDevice *d)
{
	bool macvlan = !strcmp(d->kind, "macvlan"), ipvlan = !strcmp(d->kind, "ipvlan");

	if (!macvlan && !ipvlan)
		return d->has_lower_index || d->has_macvlan_mode || d->has_macvlan_flags ||
		       d->has_ipvlan_mode || d->has_ipvlan_flags ?
		       "a device other than a macvlan or ipvlan with their settings" : NULL;
	if (macvlan && (!d->has_macvlan_mode || d->has_ipvlan_mode || d->has_ipvlan_flags ||
			(d->macvlan_mode != MACVLAN_MODE_PRIVATE &&
			 d->macvlan_mode != MACVLAN_MODE_VEPA &&
			 d->macvlan_mode != MACVLAN_MODE_BRIDGE &&
			 d->macvlan_mode != MACVLAN_MODE_PASSTHRU) ||
			d->macvlan_flags > (MACVLAN_FLAG_NOPROMISC | MACVLAN_FLAG_NODST)))
		return "a macvlan whose mode or flags are not one cryo restores";
	if (ipvlan && (!d->has_ipvlan_mode || d->has_macvlan_mode || d->has_macvlan_flags ||
		       d->has_mac || d->ipvlan_mode >= IPVLAN_MODE_MAX ||
		       d->ipvlan_flags > (IPVLAN_F_PRIVATE | IPVLAN_F_VEPA)))
		return "an ipvlan whose mode, flags or address are not one cryo restores";
	if (d->has_lower_index) {
		for (size_t j = 0; j < ns->n_devices; j++)
			if (ns->devices[j] != d && ns->devices[j]->index == d->lower_index &&
			    strcmp(ns->devices[j]->kind, "macvlan") &&
			    strcmp(ns->devices[j]->kind, "ipvlan"))
				return NULL;
		return "its lower device is not a saved device other than a macvlan or ipvlan";
	}
	return NULL;
}

static const char *device_problem(const NetNs *ns, size_t i)
{
	const NetDevice *d = ns->devices[i];
	size_t len = strlen(d->name);
	size_t peers = 0;

	if (!len || len >= 16 || strpbrk(d->name, "/: \t\n"))
		return "not a device name";
	bool bridge = !strcmp(d->kind, "bridge"), veth = !strcmp(d->kind, "veth");
	const char *problem = vlan_problem(ns, d);

	if (!problem)
		problem = tun_problem(d);
	if (problem)
		return problem;
	if (!bridge && !veth && strcmp(d->kind, "dummy") && strcmp(d->kind, "macvlan") &&
	    strcmp(d->kind, "ipvlan") && strcmp(d->kind, "tun"))
		return "not a kind of device cryo restores";
	if (!veth && d->has_peer_index)
		return "a device other than a veth with a peer";
	if (bridge && d->has_master_index)
		return "a bridge with a bridge of its own";
	if (!bridge && (d->has_br_forward_delay || d->has_br_hello_time || d->has_br_max_age ||
			d->has_br_ageing_time || d->has_br_stp_state || d->has_br_priority))
		return "a device other than a bridge with a bridge's settings";
	if (d->has_br_priority && d->br_priority > 65535)
		return "a bridge priority over 65535";
	if (d->mtu < 68 || d->mtu > 65535)
		return "its MTU is not between 68 and 65535";
	if (d->has_mac && d->mac.len != 6)
		return "its hardware address is not of 6 bytes";
	if (!ns->has_lo_index || d->index == ns->lo_index)
		return "its index is the loopback's";
	for (size_t j = 0; j < ns->n_devices; j++) {
		const NetDevice *o = ns->devices[j];

		if (j != i && (o->index == d->index || !strcmp(o->name, d->name)))
			return "its index or name is another's";
		if (d->has_peer_index && o->index == d->peer_index && j != i &&
		    o->has_peer_index && o->peer_index == d->index)
			peers++;
	}
	if (d->has_peer_index && peers != 1)
		return "its peer inside is not a device that names it as its peer";
	for (size_t j = 0; d->has_master_index && j < ns->n_devices; j++)
		if (ns->devices[j]->index == d->master_index && !strcmp(ns->devices[j]->kind, "bridge"))
			return NULL;
	if (d->has_master_index)
		return "its bridge is not a saved bridge";
	return NULL;
}

/* The problem of iptables ruleset @i of @ns (its text is iptables-restore's
 * to parse, in the new namespace only), or NULL. */
static const char *iptables_problem(const NetNs *ns, size_t i)
{
	const NetIptables *r = ns->iptables[i];

	if (r->family != 4 && r->family != 6)
		return "not IPv4 or IPv6";
	if (!r->save[0] || strlen(r->save) > NET_IPT_SAVE_MAX)
		return "its ruleset is empty or over 16 MiB";
	for (size_t j = 0; j < i; j++)
		if (ns->iptables[j]->family == r->family && ns->iptables[j]->legacy == r->legacy)
			return "a second ruleset of the same family and kind";
	return NULL;
}

int net_ns_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	const NetNs *ns;
	uint16_t order = 0;

	(void)dir;
	(void)id;
	if (img->nr_records != 1) {
		image_error(img->path, 0, "%zu records, where one is expected", img->nr_records);
		return -EBADMSG;
	}
	ns = (const NetNs *)img->records[0].msg;
	if (ns->external_key && (!*ns->external_key || ns->n_rtnl || ns->n_devices ||
				 ns->n_sysctls || ns->nft_ruleset || ns->n_iptables)) {
		image_error(img->path, img->records[0].offset, "an external namespace (key '%s') "
			    "with saved contents or an empty key", ns->external_key);
		return -EBADMSG;
	}
	if (ns->lo_mtu < 68) {
		image_error(img->path, img->records[0].offset, "loopback MTU %u is below 68",
			    ns->lo_mtu);
		return -EBADMSG;
	}
	for (size_t i = 0; i < ns->n_rtnl; i++) {
		const char *problem = !ns->has_lo_index ? "no loopback index is saved" :
				      net_rtnl_problem(ns->rtnl[i].data, ns->rtnl[i].len, ns,
						       &order);

		if (problem) {
			image_error(img->path, img->records[0].offset, "rtnetlink message %zu: %s",
				    i, problem);
			return -EBADMSG;
		}
	}
	for (size_t i = 0; i < ns->n_devices; i++) {
		const char *problem = device_problem(ns, i);

		if (problem) {
			image_error(img->path, img->records[0].offset, "device %zu (%.16s): %s", i,
				    ns->devices[i]->name, problem);
			return -EBADMSG;
		}
	}
	for (size_t i = 0; i < ns->n_sysctls; i++) {
		const char *problem = sysctl_problem(ns, i);

		if (problem) {
			image_error(img->path, img->records[0].offset, "sysctl %zu (%.64s): %s", i,
				    ns->sysctls[i]->name, problem);
			return -EBADMSG;
		}
	}
	for (size_t i = 0; i < ns->n_iptables; i++) {
		const char *problem = iptables_problem(ns, i);

		if (problem) {
			image_error(img->path, img->records[0].offset, "iptables ruleset %zu: %s", i,
				    problem);
			return -EBADMSG;
		}
	}
	for (size_t i = 0; i < ns->n_dev_sysctls; i++) {
		const char *problem = dev_sysctl_problem(ns, i);

		if (problem) {
			image_error(img->path, img->records[0].offset, "device sysctl %zu (%.64s): "
				    "%s", i, ns->dev_sysctls[i]->name, problem);
			return -EBADMSG;
		}
	}
	return 0;
}

static const struct image_kind_desc net_ns_kinds[] = {
	{ IMG_NET_NS, "net-ns", "net-ns.img", &net_ns__descriptor, net_ns_image_check },
};

const struct image_kind_set net_ns_image_kinds = { "net-ns", net_ns_kinds, ARRAY_SIZE(net_ns_kinds) };
