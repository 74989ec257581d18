/* A tree's own network namespace, as far as cryo restores one yet: its
 * loopback (up or down, MTU), its addresses, the routes and rules set by
 * hand, and its sysctls (net-ns.img); anything else it holds (another
 * device, an nftables table) is refused at dump by name. Dump runs inside it from the
 * start to the end (ns_enter), so that every sock_diag query sees the
 * tree's sockets; restore makes it in cryo itself (unshare) before any
 * socket or process, and every process cryo creates is born in it. */
#ifndef CRYO_NS_NET_H
#define CRYO_NS_NET_H

struct ns_user_set;

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <net/if.h>
#include <libmnl/libmnl.h>

#include "images/image.h"
#include "images/proto/net_ns.pb-c.h"

/* The sysctls saved, by path below /proc/sys, NULL-terminated. */
extern const char *const net_ns_sysctls[];
int net_ns_image_check(const struct image *img, const struct image_dir *dir, int id);
extern const struct image_kind_set net_ns_image_kinds;

/* When the network namespace of @tree's root is not cryo's: enters it, refuses what
 * cannot be restored and writes net-ns.img; cryo stays inside until
 * net_ns_dump_leave(*@back) (-1: it did not move). @empty (criu's empty_ns):
 * entered only, nothing saved or refused: its owner fills it again. One
 * @externals names (net[INODE]:KEY): only its key is saved, and restore
 * joins the namespace given under it. */
struct ns_externals;
struct tree;
int net_ns_dump(const struct tree *tree, struct image_dir *dir, bool empty,
		const struct ns_externals *externals, int *back);
int net_ns_dump_leave(int back);

struct net_ns_set;
int net_ns_load(const struct image_dir *dir, struct net_ns_set **out);
/* Nothing without net-ns.img. Otherwise: unshare(CLONE_NEWNET), the
 * loopback and the sysctls, or setns() into the namespace @externals
 * gives under the saved external key; cryo stays inside until
 * net_ns_leave(). */
/* criu's empty_ns at restore (--empty-ns net): the tree gets a new network
 * namespace left empty (only the kernel's loopback, down), which an action
 * script (setup-namespaces) or its owner fills, whatever the dump saved of
 * its own; also when the dump saved none (its dump had empty_ns). One
 * external at dump or given by --join-ns is joined as without it. */
void net_ns_make_empty(struct net_ns_set *set);
int net_ns_make(struct net_ns_set *set, const struct ns_user_set *userns,
		const struct ns_externals *externals);
void net_ns_leave(struct net_ns_set *set);
/* Whether @set holds a network namespace of the tree's own. */
bool net_ns_own(const struct net_ns_set *set);
void net_ns_free(struct net_ns_set *set);

/* net_rtnl_check.c: which attributes of an RTM_NEWADDR, RTM_NEWROUTE or
 * RTM_NEWRULE are saved, dropped (information only) or refused, and the
 * problem of one saved message (NULL: none); *@order is the type of the
 * one before (0 at first), so that they stay in order. */
enum rtnl_attr_use { RTNL_ATTR_KEEP, RTNL_ATTR_DROP, RTNL_ATTR_REFUSE };
enum rtnl_attr_use net_rtnl_attr_use(uint16_t msg_type, uint16_t type);
const char *net_rtnl_problem(const void *buf, size_t len, const NetNs *ns, uint16_t *order);
/* Whether @index is the loopback's or a saved device's in @ns. */
bool net_ns_has_index(const NetNs *ns, uint32_t index);

/* A device saved, with the storage its record points into. */
struct net_dev {
	NetDevice rec;
	char name[IFNAMSIZ], kind[8];
	uint8_t mac[6];
};

/* net_rtnl.c: a walk over rtnetlink dumps of the namespace cryo is in. */
struct net_walk {
	const char *who;	/* the namespace, for messages */
	int ret;		/* the first refusal, -errno */
	uint32_t lo_index;
	char **msgs;		/* collected requests, each its nlmsg_len long */
	size_t n;
	struct net_dev *devs;	/* devices saved (net_link.c), collected first */
	size_t n_devs;
	const struct tree *tree;	/* the dumped processes: a tun's holders */
};
int net_rtnl_walk(uint16_t type, uint8_t family, size_t hdr_len, mnl_cb_t cb,
		  struct net_walk *w);
/* Addresses, then routes, then rules, but the kernel's own, into w->msgs;
 * refuses by name what cannot be sent again. */
int net_rtnl_collect(struct net_walk *w);
void net_walk_free(struct net_walk *w);
/* Sends @ns's messages in the namespace cryo is in, its devices made. */
int net_rtnl_restore(const NetNs *ns);
/* The kernel's answer to request @seq: 0, or -errno with its extended
 * acknowledgement's text in @why. */
int net_rtnl_answer(const void *buf, size_t len, uint32_t seq, char *why, size_t why_size);

/* net_link.c: veth devices and bridges. */
struct ns_externals;
/* An rtnetlink socket of the namespace being made, for restore. */
struct rtnl {
	struct mnl_socket *nl;
	uint32_t seq;
	const struct ns_externals *externals;	/* the outer ends' names */
};
/* Sends @nlh on @r and waits for its acknowledgement; the kernel's reason
 * in @why. */
int net_link_request(struct rtnl *r, struct nlmsghdr *nlh, char *why, size_t why_size);
/* An RTM_NEWLINK request in @buf making device @name (NLM_F_EXCL), for
 * the caller's attributes to follow. */
struct nlmsghdr *net_link_new(void *buf, const char *name);
/* Refuses device @name at dump (the walk's first refusal is said). */
void net_link_refuse(struct net_walk *w, const char *name, const char *why);
/* Whether @a is a u32 attribute, its value in *@v. */
bool net_link_u32(const struct nlattr *a, uint32_t *v);
/* Saves the namespace's veth ends into w->devs. */
int net_link_collect(struct net_walk *w);
/* mnl_attr_parse() callbacks filling a table of a link's attributes and of
 * its IFLA_LINKINFO (net_refuse.c reads the same). */
int net_link_attr(const struct nlattr *a, void *data);
int net_link_info_attr(const struct nlattr *a, void *data);
/* Fails, naming it, on a veth whose peer is outside and not named in
 * @externals (--external veth[IN]:OUT). */
int net_link_check_externals(const NetNs *ns, const struct ns_externals *externals);
/* Makes @ns's devices in the namespace cryo is in; an outside peer goes
 * into the namespace of @outer_ns, with its name from @externals. */
int net_link_restore(const NetNs *ns, int outer_ns, const struct ns_externals *externals);
/* The index now of what was device @index at dump (0: none). */
uint32_t net_link_index(const NetNs *ns, uint32_t index);

/* net_devices.c: dummies, macvlans and ipvlans. */
struct ifinfomsg;
/* Adds to w->devs device @ifm of @kind with what every kind saves (name,
 * index, MTU, MAC address, up); NULL when refused or out of memory (in
 * w->ret). */
struct net_dev *net_dev_add(struct net_walk *w, const struct ifinfomsg *ifm,
			    const struct nlattr **tb, const char *kind);
/* Saves the namespace's dummies, macvlans and ipvlans into w->devs. */
int net_dev_collect(struct net_walk *w);
/* Fails, naming it, on a macvlan or ipvlan whose lower device is outside
 * and not named in @externals (--external macvlan[IN]:LOWER). */
int net_dev_check_externals(const NetNs *ns, const struct ns_externals *externals);
/* Makes @ns's dummies and tuns (before any other kind: they may be ports or
 * lower devices), then its macvlans and ipvlans (after every other kind), one
 * whose lower device is outside made from @outer_ns (cryo's). */
int net_dev_make_dummies(struct rtnl *r, const NetNs *ns);
int net_dev_make_vlans(struct rtnl *r, const NetNs *ns, int outer_ns);

/* net_tun.c: persistent tun/tap devices no process holds. */
/* Saves @d's tun settings from its IFLA_INFO_DATA, or refuses it. */
void net_tun_settings(struct net_walk *w, struct net_dev *d, const struct nlattr *info_data,
		      unsigned short link_type, const struct nlattr *carrier);
/* Makes tun @d in the namespace cryo is in (MTU and address not set). */
int net_tun_make(const NetDevice *d);

/* net_devconf.c: the per-device sysctls (net/ipv{4,6}/conf/DEV/KEY) of the
 * namespace cryo is in: read for all, default, the loopback and @devs
 * into @out (*@n of them, the caller frees each value and name), and
 * written back, each only when it differs. */
int net_devconf_dump(const char *who, const struct net_dev *devs, size_t n_devs,
		     NetSysctl **out, size_t *n);
int net_devconf_restore(const NetNs *ns);

/* net_nft.c: the nftables ruleset of the namespace cryo is in, as nft's
 * text (*@out NULL when empty) but for the tables @managed names ("ip
 * filter\n...": net_ipt_dump()'s), refused by name when a table is owned by a
 * process or the text does not read back; and loaded again. */
int net_nft_dump(const char *who, const char *managed, char **out);
int net_nft_restore(const char *ruleset);
/* Whether the namespace cryo is in has an nftables table of family ip or
 * ip6 (one iptables-nft may manage). */
bool net_nft_has_ip_tables(void);

/* net_iptables.c: the iptables rulesets of the namespace cryo is in, of
 * iptables-nft (whose tables it names in @managed, "ip filter\n...") and of
 * iptables-legacy (refused by name when its tables exist and
 * iptables-legacy-save is missing); and loaded again, after the nftables
 * ruleset. Each under NET_IPT_SAVE_MAX: more is not a hand-made firewall. */
#define NET_IPT_SAVE_MAX (16u << 20)
int net_ipt_dump(const char *who, NetIptables ***out, size_t *n, char *managed,
		 size_t managed_size);
void net_ipt_free(NetIptables **recs, size_t n);
int net_ipt_restore(const NetNs *ns);

/* net_refuse.c: fails, naming it, on anything of the namespace cryo is in
 * that net-ns.img does not hold; @who names the namespace. */
int net_ns_refuse_unsaved(const char *who);

#endif
