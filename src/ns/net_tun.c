/* Tun and tap devices of a tree's own network namespace: saved (tun or
 * tap, packet information, virtio header, multiqueue, owner, group) and
 * made again, persistent, through /dev/net/tun at restore; the fds that
 * held one are the "tun" fd kind's (net/tun_file.c), which attach to it
 * and let it go with them. One held by a process outside the tree is
 * refused by name. What every device saves, and when it is made, are
 * net_devices.c's and net_link.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/textfile.h"
#include "ns/net.h"
#include "tree/tree.h"

static int tun_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFLA_TUN_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static bool u8_attr(const struct nlattr *a, uint8_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) != 1)
		return false;
	*v = mnl_attr_get_u8(a);
	return true;
}

static bool in_tree(const struct tree *tree, pid_t pid)
{
	for (size_t i = 0; tree && i < tree->nr; i++)
		if (tree->tasks[i].pid == pid)
			return true;
	return false;
}

/* Whether @pid's fd @fd, an open /dev/net/tun attached to a device of
 * some name, is attached to the device of that name in the network
 * namespace cryo has entered (the dumped one's, @here): a device of the
 * same name in another namespace is another device. A process or fd gone
 * meanwhile holds nothing; where the kernel will not say (or @here is not
 * known), it counts, which refuses more, never less. */
static bool attached_here(pid_t pid, int fd, const struct stat *here)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	_cleanup_close_ int file = -1, ns = -1;
	struct stat st;

	if (pidfd < 0)
		return errno != ESRCH;
	file = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (file < 0)
		return errno != ESRCH && errno != EBADF;
	ns = ioctl(file, TUNGETDEVNETNS);
	if (!here || ns < 0 || fstat(ns, &st))
		return true;
	return st.st_dev == here->st_dev && st.st_ino == here->st_ino;
}

/* The first process outside @tree (NULL: any process) with an open
 * /dev/net/tun attached to device @name of this namespace (its fdinfo says
 * "iff:\tNAME", and the device's namespace is the one entered), 0 for
 * none: fds outside the tree are not saved. */
static pid_t held_outside(const struct tree *tree, const char *name)
{
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	char want[IFNAMSIZ + 8];
	struct dirent *p;
	struct stat here_st, *here = stat("/proc/thread-self/ns/net", &here_st) ? NULL : &here_st;
	pid_t held = 0;

	snprintf(want, sizeof(want), "iff:\t%s\n", name);
	while (proc && !held && (p = readdir(proc))) {
		char path[600], target[32], *info;
		_cleanup_closedir_ DIR *fds = NULL;
		struct dirent *f;
		ssize_t n;

		if (p->d_name[0] < '1' || p->d_name[0] > '9' || in_tree(tree, atoi(p->d_name)))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		while (fds && !held && (f = readdir(fds))) {
			bool named;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, f->d_name);
			n = readlink(path, target, sizeof(target) - 1);
			if (n != 12 || memcmp(target, "/dev/net/tun", 12))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", p->d_name, f->d_name);
			if (read_text_file(path, &info))
				continue;
			named = strstr(info, want);
			free(info);
			if (named && attached_here(atoi(p->d_name), atoi(f->d_name), here))
				held = atoi(p->d_name);
		}
	}
	return held;
}

void net_tun_settings(struct net_walk *w, struct net_dev *d, const struct nlattr *info_data,
		      unsigned short link_type, const struct nlattr *carrier)
{
	const struct nlattr *tb[IFLA_TUN_MAX + 1] = { NULL };
	uint8_t type, pi, vnet_hdr, persist, multi_queue, carrier_on;
	uint32_t queues = 0, disabled = 0;
	NetDevice *r = &d->rec;
	char why[160];
	pid_t holder;

	if (info_data)
		mnl_attr_parse_nested(info_data, tun_attr, tb);
	if (!u8_attr(tb[IFLA_TUN_TYPE], &type) || !u8_attr(tb[IFLA_TUN_PI], &pi) ||
	    !u8_attr(tb[IFLA_TUN_VNET_HDR], &vnet_hdr) || !u8_attr(tb[IFLA_TUN_PERSIST], &persist) ||
	    !u8_attr(tb[IFLA_TUN_MULTI_QUEUE], &multi_queue) ||
	    (multi_queue && (!net_link_u32(tb[IFLA_TUN_NUM_QUEUES], &queues) ||
			     !net_link_u32(tb[IFLA_TUN_NUM_DISABLED_QUEUES], &disabled))) ||
	    (type != IFF_TUN && type != IFF_TAP)) {
		net_link_refuse(w, d->name, "rtnetlink did not say its tun settings");
		return;
	}
	/* TUNSETLINK's type is not saved: a device made again would have the
	 * kind's own (none for tun, Ethernet for tap). */
	if (link_type != (type == IFF_TUN ? ARPHRD_NONE : ARPHRD_ETHER)) {
		snprintf(why, sizeof(why), "a link type set by TUNSETLINK (%u): not supported yet",
			 link_type);
		net_link_refuse(w, d->name, why);
		return;
	}
	/* The kernel turns the carrier on while a queue is attached and off
	 * otherwise; one TUNSETCARRIER turned off is not saved. */
	if (u8_attr(carrier, &carrier_on) && !carrier_on &&
	    (multi_queue ? queues > 0 : held_outside(NULL, d->name) != 0)) {
		net_link_refuse(w, d->name, "a carrier turned off by TUNSETCARRIER while a "
					    "queue is attached: not supported yet");
		return;
	}
	holder = held_outside(w->tree, d->name);
	if (holder) {
		snprintf(why, sizeof(why), "a tun/tap device held by an open /dev/net/tun of pid "
			 "%d, outside the dumped tree: not supported", holder);
		net_link_refuse(w, d->name, why);
		return;
	}
	r->has_tun_flags = true;
	r->tun_flags = type | (pi ? 0 : IFF_NO_PI) | (vnet_hdr ? IFF_VNET_HDR : 0) |
		       (multi_queue ? IFF_MULTI_QUEUE : 0);
	r->has_tun_owner = net_link_u32(tb[IFLA_TUN_OWNER], &r->tun_owner);
	r->has_tun_group = net_link_u32(tb[IFLA_TUN_GROUP], &r->tun_group);
}

/* Made by the namespace cryo is in (/dev/net/tun takes the opener's); its
 * MTU and MAC address are net_link.c's to set after. */
int net_tun_make(const NetDevice *d)
{
	struct ifreq ifr = { .ifr_flags = (short)d->tun_flags };
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	const char *step = "open /dev/net/tun";

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->name);
	if (fd >= 0) {
		step = "TUNSETIFF";
		if (!ioctl(fd, TUNSETIFF, &ifr))
			step = d->has_tun_owner &&
			       ioctl(fd, TUNSETOWNER, (unsigned long)d->tun_owner) ?
			       "TUNSETOWNER" : NULL;
		if (!step)
			step = d->has_tun_group &&
			       ioctl(fd, TUNSETGROUP, (unsigned long)d->tun_group) ?
			       "TUNSETGROUP" : NULL;
		if (!step)
			step = ioctl(fd, TUNSETPERSIST, 1UL) ? "TUNSETPERSIST" : NULL;
	}
	if (step)
		return pr_errno_ret("restore: network namespace: cannot make tun %s (flags %#x): "
				    "%s", d->name, d->tun_flags, step);
	return 0;
}
