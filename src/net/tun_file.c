/* The "tun" kind: an open /dev/net/tun, the device it is attached to (by
 * name and TUNSETIFF's flags) and its queue's state, attached again at
 * restore. The device itself (MTU, MAC, addresses, up) is the tree's
 * network namespace's (ns/net_tun.c), made before any fd is opened. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"

#define TUN_MISC_MINOR 200
/* What TUNSETIFF takes again; IFF_ONE_QUEUE the kernel ignores. */
#define TUN_SAVED_FLAGS (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)
/* What TUNGETIFF also says, of the device and of this queue. Its bit
 * IFF_NOFILTER is IFF_NO_PI's: it says there is no filter, and packet
 * information is read from the device instead (tun_device_pi()). */
#define TUN_READ_FLAGS \
	(IFF_TUN | IFF_TAP | IFF_VNET_HDR | IFF_MULTI_QUEUE | IFF_ONE_QUEUE | IFF_PERSIST | \
	 IFF_DETACH_QUEUE | IFF_NOFILTER)
/* The kernel's least virtio header (struct virtio_net_hdr). */
#define TUN_VNET_HDR_MIN 10

static bool tun_recognise(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && !(p->flags & O_PATH) &&
	       major(p->st.st_rdev) == 10 && minor(p->st.st_rdev) == TUN_MISC_MINOR;
}

/* Whether the device of @d's fd is in the task's network namespace, and
 * that is the tree's own, which the dump saved before the files
 * (net-ns.img, with its devices): only then can the fd be attached again. */
static int tun_check_netns(const struct file_dump *d, const char *dev)
{
	const struct fd_probe *p = d->p;
	_cleanup_close_ int ns = ioctl(p->dup, TUNGETDEVNETNS);
	struct stat dev_ns, task_ns;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", p->pid);
	if (ns < 0 || fstat(ns, &dev_ns) || stat(path, &task_ns)) {
		pr_fd_err(p, "device %s: cannot read its network namespace: %s", dev,
			  strerror(errno));
		return -errno;
	}
	if (dev_ns.st_ino != task_ns.st_ino || dev_ns.st_dev != task_ns.st_dev) {
		pr_fd_err(p, "device %s is in another network namespace than the process: not "
			  "supported", dev);
		return -EOPNOTSUPP;
	}
	if (faccessat(d->dir->fd, "net-ns.img", F_OK, 0)) {
		pr_fd_err(p, "device %s: the tree has no network namespace of its own, whose "
			  "devices cryo saves: a tun/tap fd of another namespace is not supported",
			  dev);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* IFLA_LINKINFO's IFLA_TUN_PI, into the int @data points to. */
static int tun_link_pi(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *link, *info, *tun;

	mnl_attr_for_each(link, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(link) != IFLA_LINKINFO)
			continue;
		mnl_attr_for_each_nested(info, link) {
			if (mnl_attr_get_type(info) != IFLA_INFO_DATA)
				continue;
			mnl_attr_for_each_nested(tun, info) {
				if (mnl_attr_get_type(tun) == IFLA_TUN_PI &&
				    mnl_attr_get_payload_len(tun) == 1)
					*(int *)data = mnl_attr_get_u8(tun);
			}
		}
	}
	return MNL_CB_OK;
}

/* Whether device @name of the namespace cryo is in (the tree's: dump is
 * inside it) gives packet information (IFLA_TUN_PI), 1 or 0; -errno. */
static int tun_device_pi(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	int pi = -ENOENT, n = -EIO;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (nl && mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0)
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n >= 0)
		n = mnl_cb_run(buf, n, 1, 0, tun_link_pi, &pi);
	if (nl)
		mnl_socket_close(nl);
	return n < 0 ? -errno : pi;
}

static int tun_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	struct pollfd pfd = { .fd = p->dup, .events = POLLIN };
	struct ifreq ifr = { 0 };
	int sndbuf = 0, hdr = 0, pi, ret;
	struct sock_fprog fprog = { 0 };
	TunFile *t;

	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	tun_file__init(t);
	d->fe->tun = t;
	/* Opened and never attached: the kernel says EBADFD. */
	if (ioctl(p->dup, TUNGETIFF, &ifr)) {
		if (errno == EBADFD)
			return 0;
		pr_fd_err(p, "TUNGETIFF: %s", strerror(errno));
		return -errno;
	}
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	if (ifr.ifr_flags & ~TUN_READ_FLAGS) {
		pr_fd_err(p, "device %s: flags %#x beyond those cryo restores (IFF_NAPI?): not "
			  "supported", ifr.ifr_name, ifr.ifr_flags & ~TUN_READ_FLAGS & 0xffff);
		return -EOPNOTSUPP;
	}
	/* Only a tap takes a filter (TUNATTACHFILTER), for every queue. */
	if ((ifr.ifr_flags & IFF_TAP) && !ioctl(p->dup, TUNGETFILTER, &fprog) && fprog.len) {
		pr_fd_err(p, "device %s: a socket filter is attached to its queues "
			  "(TUNATTACHFILTER): not supported", ifr.ifr_name);
		return -EOPNOTSUPP;
	}
	/* The kernel's queue of packets to read is not saved: poll says
	 * whether it holds one without taking it. */
	if (poll(&pfd, 1, 0) < 0)
		return pr_errno_ret("dump: pid %d %s: poll", p->pid, p->name);
	if (pfd.revents & POLLIN) {
		pr_fd_err(p, "device %s: a packet is queued on it to be read (the queue is not "
			  "saved): not supported", ifr.ifr_name);
		return -EBUSY;
	}
	ret = tun_check_netns(d, ifr.ifr_name);
	if (ret)
		return ret;
	pi = tun_device_pi(ifr.ifr_name);
	if (pi < 0) {
		pr_fd_err(p, "device %s: rtnetlink did not say its tun settings: %s", ifr.ifr_name,
			  strerror(-pi));
		return pi;
	}
	if (ioctl(p->dup, TUNGETSNDBUF, &sndbuf) || ioctl(p->dup, TUNGETVNETHDRSZ, &hdr)) {
		pr_fd_err(p, "device %s: cannot read its queue's settings: %s", ifr.ifr_name,
			  strerror(errno));
		return -errno;
	}
	t->name = strdup(ifr.ifr_name);
	if (!t->name)
		return -ENOMEM;
	t->flags = (ifr.ifr_flags & (TUN_SAVED_FLAGS & ~IFF_NO_PI)) | (pi ? 0 : IFF_NO_PI);
	t->has_persist = t->persist = ifr.ifr_flags & IFF_PERSIST;
	t->has_detached = t->detached = ifr.ifr_flags & IFF_DETACH_QUEUE;
	t->has_sndbuf = t->has_vnet_hdr_sz = true;
	t->sndbuf = sndbuf;
	t->vnet_hdr_sz = hdr;
	return 0;
}

static int tun_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const TunFile *t = f->e->tun;
	uint32_t type = t->flags & (IFF_TUN | IFF_TAP);
	const char *problem = NULL;

	(void)dir;
	if (!t->name)
		problem = t->flags || t->detached || t->has_sndbuf || t->has_vnet_hdr_sz ?
			  "settings of a device but no device" : NULL;
	else if (!t->name[0] || strlen(t->name) >= IFNAMSIZ || strchr(t->name, '/'))
		problem = "a device name that is not one";
	else if ((t->flags & ~TUN_SAVED_FLAGS) || (type != IFF_TUN && type != IFF_TAP))
		problem = "flags that are not TUNSETIFF's";
	else if (t->detached && !(t->flags & IFF_MULTI_QUEUE))
		problem = "a detached queue of a device with one queue";
	else if (!t->has_sndbuf || t->sndbuf <= 0 || !t->has_vnet_hdr_sz ||
		 t->vnet_hdr_sz < TUN_VNET_HDR_MIN)
		problem = "a send buffer or virtio header size out of range";
	if (problem) {
		load_err(img, f, "%s", problem);
		return -EBADMSG;
	}
	return 0;
}

/* Attaches @fd to the saved device, which the restored network namespace
 * made persistent; the fds of one that was not hold it from now on. */
static int tun_attach(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const TunFile *t = f->e->tun;
	struct ifreq ifr = { .ifr_flags = (short)t->flags };
	int sndbuf = t->sndbuf, hdr = t->vnet_hdr_sz;
	struct ifreq detach = { .ifr_flags = IFF_DETACH_QUEUE };
	const char *step = NULL;

	if (!if_nametoindex(t->name)) {
		restore_err(r, f, "device %s is not in the restored network namespace (saved with "
			    "the tree's own one)", t->name);
		return -ENODEV;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	if (ioctl(fd, TUNSETIFF, &ifr))
		step = "TUNSETIFF";
	else if (!t->persist && ioctl(fd, TUNSETPERSIST, 0UL))
		step = "TUNSETPERSIST 0";
	else if (t->detached && ioctl(fd, TUNSETQUEUE, &detach))
		step = "TUNSETQUEUE IFF_DETACH_QUEUE";
	else if (ioctl(fd, TUNSETSNDBUF, &sndbuf))
		step = "TUNSETSNDBUF";
	else if (ioctl(fd, TUNSETVNETHDRSZ, &hdr))
		step = "TUNSETVNETHDRSZ";
	if (step) {
		restore_err(r, f, "device %s (flags %#x): %s: %s", t->name, t->flags, step,
			    strerror(errno));
		return -errno;
	}
	return 0;
}

static int tun_open(struct restore_ctx *r, const struct file_obj *f)
{
	int fd = restore_open_path(r, "/dev/net/tun", f->e->flags | O_CLOEXEC | O_NOCTTY);
	int ret;

	if (fd < 0) {
		restore_err(r, f, "cannot open /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	ret = f->e->tun->name ? tun_attach(r, f, fd) : 0;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static const char *tun_describe(const FileEntry *e)
{
	return e->tun->name ? e->tun->name : "/dev/net/tun";
}

const struct file_kind tun_kind = {
	.name = "tun",
	.type = FILE_ENTRY__KIND__TUN,
	.recognise = tun_recognise,
	.dump = tun_dump,
	.check = tun_check,
	.open = tun_open,
	.describe = tun_describe,
};
