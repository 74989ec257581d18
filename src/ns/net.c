/* A tree's own network namespace (ns/net.h): dump from inside it, its
 * loopback and sysctls, and restore in a namespace cryo makes for itself,
 * as for IPC namespaces (ns/ipc.c): sockets made by cryo before the tree
 * and by each process are then all made inside it. One the caller keeps
 * (external) is only named at dump, and joined at restore. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/net_ns.pb-c.h"
#include "ns/enter.h"
#include "ns/externals.h"
#include "ns/net.h"
#include "ns/ns.h"
#include "ns/user.h"
#include "ns/sysctl.h"
#include "tree/tree.h"

struct net_ns_set {
	struct image *img;	/* NULL: the tree was in cryo's */
	int back;		/* cryo's own namespace while it is in the new one */
	bool empty;		/* a new one left empty, img or not (criu's empty_ns) */
};

/* The loopback's flags and MTU, through an ioctl socket of this namespace. */
static int loopback(bool set, bool *up, unsigned int *mtu, const char *who)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		return pr_errno_ret("%s: cannot read the loopback's flags", who);
	if (!set) {
		*up = ifr.ifr_flags & IFF_UP;
		if (ioctl(s, SIOCGIFMTU, &ifr))
			return pr_errno_ret("%s: cannot read the loopback's MTU", who);
		*mtu = (unsigned int)ifr.ifr_mtu;
		return 0;
	}
	ifr.ifr_mtu = (int)*mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr))
		return pr_errno_ret("%s: cannot set the loopback's MTU to %u", who, *mtu);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		return pr_errno_ret("%s: cannot read the loopback's flags", who);
	ifr.ifr_flags = (short)(*up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		return pr_errno_ret("%s: cannot bring the loopback %s", who, *up ? "up" : "down");
	return 0;
}

/* ---- dump ---------------------------------------------------------------- */

static int write_image(struct image_dir *dir, const char *who, const struct net_walk *rtnl,
		       char *ruleset, NetIptables **ipt, size_t n_ipt)
{
	ProtobufCBinaryData *msgs = calloc(rtnl->n + 1, sizeof(*msgs));
	NetSysctl recs[64], *ptrs[64];
	char *texts[64] = { NULL };
	NetNs ns = NET_NS__INIT;
	NetDevice **devs = NULL;
	NetSysctl *devconf = NULL, **devconf_ptrs = NULL;
	size_t n = 0, n_devconf = 0;
	unsigned int mtu;
	bool up;
	int ret = loopback(false, &up, &mtu, who);

	for (size_t i = 0; !ret && net_ns_sysctls[i] && n < ARRAY_SIZE(recs); i++) {
		ret = ns_sysctl_read(who, net_ns_sysctls[i], &texts[n]);
		if (ret == -ENOENT) {
			ret = 0;	/* a kernel without it */
			continue;
		}
		if (ret)
			break;
		net_sysctl__init(&recs[n]);
		recs[n].name = (char *)net_ns_sysctls[i];
		recs[n].value = texts[n];
		ptrs[n] = &recs[n];
		n++;
	}
	ns.lo_up = up;
	ns.lo_mtu = mtu;
	ns.n_sysctls = n;
	ns.sysctls = ptrs;
	ns.has_lo_index = true;
	ns.lo_index = rtnl->lo_index;
	if (!msgs && !ret)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < rtnl->n; i++) {
		msgs[i].data = (uint8_t *)rtnl->msgs[i];
		msgs[i].len = ((const struct nlmsghdr *)rtnl->msgs[i])->nlmsg_len;
	}
	ns.n_rtnl = rtnl->n;
	ns.rtnl = msgs;
	devs = calloc(rtnl->n_devs + 1, sizeof(*devs));
	if (!devs && !ret)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < rtnl->n_devs; i++)
		devs[i] = &rtnl->devs[i].rec;
	ns.n_devices = rtnl->n_devs;
	ns.devices = devs;
	ns.nft_ruleset = ruleset;
	ns.iptables = ipt;
	ns.n_iptables = n_ipt;
	if (!ret)
		ret = net_devconf_dump(who, rtnl->devs, rtnl->n_devs, &devconf, &n_devconf);
	devconf_ptrs = calloc(n_devconf + 1, sizeof(*devconf_ptrs));
	if (!devconf_ptrs && !ret)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < n_devconf; i++)
		devconf_ptrs[i] = &devconf[i];
	ns.n_dev_sysctls = n_devconf;
	ns.dev_sysctls = devconf_ptrs;
	if (!ret)
		ret = image_write_single(dir, IMG_NET_NS, 0, &ns.base);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	for (size_t i = 0; i < n_devconf; i++) {
		free(devconf[i].name);
		free(devconf[i].value);
	}
	free(devconf);
	free(devconf_ptrs);
	free(msgs);
	free(devs);
	return ret;
}

/* A namespace the caller keeps: only its key, so that restore joins the
 * one given under it. */
static int write_external(struct image_dir *dir, const char *who, const char *key)
{
	NetNs ns = NET_NS__INIT;

	ns.lo_mtu = 65536;
	ns.external_key = (char *)key;
	pr_info("dump: %s: not saved (external: its owner gives it back as %s)", who, key);
	return image_write_single(dir, IMG_NET_NS, 0, &ns.base);
}

int net_ns_dump(const struct tree *tree, struct image_dir *dir, bool empty,
		const struct ns_externals *externals, int *back)
{
	struct net_walk rtnl = { .tree = tree };
	pid_t root = tree->tasks[0].pid;
	char *ruleset = NULL, managed[512];
	NetIptables **ipt = NULL;
	size_t n_ipt = 0;
	struct ns_ids ids;
	char who[96];
	int ret = ns_dump_enter(root, NS_NET, CLONE_NEWNET, &ids, who, sizeof(who), back);

	if (ret <= 0)
		return ret;
	/* First: runc sends empty_ns with every external one. */
	if (ns_external_net(externals, ids.ino[NS_NET])) {
		ret = write_external(dir, who, ns_external_net(externals, ids.ino[NS_NET]));
		if (ret) {
			net_ns_dump_leave(*back);
			*back = -1;
		}
		return ret;
	}
	/* criu's empty_ns: the runtime makes and fills it again (runc). */
	if (empty) {
		pr_info("dump: %s: not saved (empty_ns: its owner fills it again)", who);
		return 0;
	}
	ret = net_ns_refuse_unsaved(who);
	rtnl.who = who;
	rtnl.lo_index = if_nametoindex("lo");
	if (!ret && !rtnl.lo_index)
		ret = pr_errno_ret("dump: %s: no loopback", who);
	if (!ret)
		ret = net_link_collect(&rtnl);
	if (!ret)
		ret = net_rtnl_collect(&rtnl);
	if (!ret)
		ret = net_ipt_dump(who, &ipt, &n_ipt, managed, sizeof(managed));
	if (!ret)
		ret = net_nft_dump(who, managed, &ruleset);
	if (!ret)
		ret = write_image(dir, who, &rtnl, ruleset, ipt, n_ipt);
	free(ruleset);
	net_ipt_free(ipt, n_ipt);
	net_walk_free(&rtnl);
	if (ret) {
		net_ns_dump_leave(*back);
		*back = -1;
	}
	return ret;
}

int net_ns_dump_leave(int back)
{
	return ns_dump_leave(back, NS_NET, CLONE_NEWNET);
}

/* ---- restore ------------------------------------------------------------- */

void net_ns_free(struct net_ns_set *set)
{
	if (!set)
		return;
	net_ns_leave(set);
	image_free(set->img);
	free(set);
}

void net_ns_make_empty(struct net_ns_set *set)
{
	if (set)
		set->empty = true;
}

int net_ns_load(const struct image_dir *dir, struct net_ns_set **out)
{
	struct net_ns_set *set = calloc(1, sizeof(*set));
	int ret = 0;

	if (!set)
		return -ENOMEM;
	set->back = -1;
	if (!faccessat(dir->fd, "net-ns.img", F_OK, 0) || errno != ENOENT)
		ret = image_read(dir, IMG_NET_NS, 0, &set->img);
	if (ret) {
		net_ns_free(set);
		return ret;
	}
	*out = set;
	return 0;
}

/* Into the existing namespace @fd (@what: where it came from), the way back
 * kept as for a new one. */
static int enter_existing(struct net_ns_set *set, int fd, const char *what)
{
	set->back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (set->back < 0)
		return pr_errno_ret("restore: cannot open cryo's own network namespace");
	if (setns(fd, CLONE_NEWNET)) {
		int ret = pr_errno_ret("restore: cannot enter the network namespace given as %s",
				       what);

		close(set->back);
		set->back = -1;
		return ret;
	}
	pr_info("restore: the tree's network namespace is the one given as %s (not made, not "
		"filled)", what);
	return 0;
}

/* The namespace the caller gives under the key the dump saved. */
static int join_external(struct net_ns_set *set, const char *key,
			 const struct ns_externals *externals)
{
	int fd = ns_external_fd(externals, key);

	if (fd < 0) {
		pr_err("restore: the tree's network namespace was external at dump (%s): none is "
		       "given under that key (criu's inherit_fd %s)", key, key);
		return -ENOENT;
	}
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		pr_err("restore: inherit_fd %s (fd %d): not a network namespace", key, fd);
		return -EINVAL;
	}
	return enter_existing(set, fd, key);
}

/* The namespace --join-ns (RPC join_ns) names (ns/join.c): joined whatever
 * the dump saved, which is not made. */
static int join_named(struct net_ns_set *set, const struct ns_externals *externals)
{
	int fd = ns_join_open(externals, "net", CLONE_NEWNET), ret;

	if (fd < 0)
		return fd;
	ret = enter_existing(set, fd, ns_join_path(externals, "net"));
	close(fd);
	return ret;
}

int net_ns_make(struct net_ns_set *set, const struct ns_user_set *userns,
		const struct ns_externals *externals)
{
	const NetNs *ns;
	unsigned int mtu;
	bool up;
	int ret;

	if (set && ns_join_path(externals, "net"))
		return join_named(set, externals);
	if (!set || (!set->img && !set->empty))
		return 0;
	ns = set->img ? (const NetNs *)set->img->records[0].msg : NULL;
	if (ns && ns->external_key)
		return join_external(set, ns->external_key, externals);
	if (set->img && !set->empty) {
		ret = net_link_check_externals((const NetNs *)set->img->records[0].msg,
					       externals);
		if (!ret)
			ret = net_dev_check_externals((const NetNs *)set->img->records[0].msg,
						      externals);
		if (ret)
			return ret;
	}
	set->back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (set->back < 0)
		return pr_errno_ret("restore: cannot open cryo's own network namespace");
	if (ns_user_unshare(userns, CLONE_NEWNET)) {
		ret = pr_errno_ret("restore: cannot make the tree's network namespace");
		close(set->back);
		set->back = -1;
		return ret;
	}
	/* criu's empty_ns: the kernel's loopback, down; what the dump saved
	 * (devices, addresses, routes, rules, sysctls, firewall) is not made. */
	if (set->empty) {
		pr_info("restore: the tree's network namespace is made empty (empty_ns: an "
			"action script or its owner fills it)%s", set->img ? "; what the dump "
			"saved of it is not restored" : "");
		return 0;
	}
	ns = (const NetNs *)set->img->records[0].msg;
	up = ns->lo_up;
	mtu = ns->lo_mtu;
	ret = loopback(true, &up, &mtu, "restore: network namespace");
	/* Sysctls first: forwarding and disable_ipv6 decide what addresses and
	 * routes may be. Then addresses, routes, rules, as saved. */
	for (size_t i = 0; !ret && i < ns->n_sysctls; i++)
		ret = ns_sysctl_write("network namespace", ns->sysctls[i]->name,
				     ns->sysctls[i]->value);
	if (!ret)
		ret = net_link_restore(ns, set->back, externals);
	/* Per-device ones once the devices are: disable_ipv6 again decides
	 * what addresses may be. */
	if (!ret)
		ret = net_devconf_restore(ns);
	if (!ret)
		ret = net_rtnl_restore(ns);
	if (!ret)
		ret = net_nft_restore(ns->nft_ruleset);
	if (!ret)
		ret = net_ipt_restore(ns);
	if (!ret)
		pr_info("restore: the tree's network namespace is made");
	return ret;
}

bool net_ns_own(const struct net_ns_set *set)
{
	return set && set->img;
}

void net_ns_leave(struct net_ns_set *set)
{
	if (!set || set->back < 0)
		return;
	if (setns(set->back, CLONE_NEWNET))
		pr_warn("restore: cannot go back to cryo's own network namespace: %s",
			strerror(errno));
	close(set->back);
	set->back = -1;
}
