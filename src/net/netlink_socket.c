/* The "netlink socket" kind: a netlink socket of any family with its bound
 * port id, multicast groups (NETLINK_LIST_MEMBERSHIPS), connect()'s
 * destination and options. Messages queued to be read cannot be put back
 * (only the kernel sends as the kernel): a socket with some is refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "net/internal.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
/* Groups cryo reads: the kernel's families have far fewer. */
#define GROUPS_MAX 1024

/* The SOL_NETLINK int options saved and set again. */
static const int netlink_options[] = {
	NETLINK_PKTINFO, NETLINK_BROADCAST_ERROR, NETLINK_NO_ENOBUFS, NETLINK_LISTEN_ALL_NSID,
	NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK,
};

static int sockopt_int(int fd, int level, int name, int *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, level, name, out, &len) ? -errno : 0;
}

static bool netlink_recognise(const struct fd_probe *p)
{
	return S_ISSOCK(p->st.st_mode) && p->fd >= 0 && p->sock_family == AF_NETLINK;
}

static bool netlink_option_known(uint32_t name)
{
	for (size_t i = 0; i < ARRAY_SIZE(netlink_options); i++)
		if ((uint32_t)netlink_options[i] == name)
			return true;
	return false;
}

static int dump_groups(const struct fd_probe *p, NetlinkSocket *s)
{
	uint32_t words[GROUPS_MAX / 32] = { 0 };
	socklen_t len = sizeof(words);

	if (getsockopt(p->dup, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot list its groups", p->pid,
				    p->name, p->link);
	if (len > sizeof(words)) {
		pr_fd_err(p, "netlink socket in groups beyond %d: not supported", GROUPS_MAX);
		return -EOPNOTSUPP;
	}
	s->groups = calloc(GROUPS_MAX, sizeof(*s->groups));
	if (!s->groups)
		return -ENOMEM;
	for (size_t g = 0; g < len * 8; g++)
		if (words[g / 32] & (1u << (g % 32)))
			s->groups[s->n_groups++] = (uint32_t)g + 1;
	return 0;
}

static int dump_netlink_options(const struct fd_probe *p, NetlinkSocket *s)
{
	s->netlink_options = calloc(ARRAY_SIZE(netlink_options), sizeof(*s->netlink_options));
	if (!s->netlink_options)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(netlink_options); i++) {
		SocketOption *o;
		int value, ret = sockopt_int(p->dup, SOL_NETLINK, netlink_options[i], &value);

		if (ret == -ENOPROTOOPT)
			continue;
		if (ret)
			return pr_errno_ret("dump: pid %d %s (%s): cannot read netlink option %d",
					    p->pid, p->name, p->link, netlink_options[i]);
		o = malloc(sizeof(*o));
		if (!o)
			return -ENOMEM;
		socket_option__init(o);
		o->level = SOL_NETLINK;
		o->name = netlink_options[i];
		o->value = value;
		s->netlink_options[s->n_netlink_options++] = o;
	}
	return 0;
}

static int netlink_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	struct sockaddr_nl local = { 0 }, peer = { 0 };
	socklen_t len = sizeof(local), plen = sizeof(peer);
	int type, protocol, ret;
	NetlinkSocket *s;
	char who[96], c;
	ssize_t queued;

	if (sockopt_int(p->dup, SOL_SOCKET, SO_TYPE, &type) ||
	    sockopt_int(p->dup, SOL_SOCKET, SO_PROTOCOL, &protocol) ||
	    getsockname(p->dup, (struct sockaddr *)&local, &len) ||
	    getpeername(p->dup, (struct sockaddr *)&peer, &plen))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read what socket it is", p->pid,
				    p->name, p->link);
	/* A peek takes nothing out. */
	queued = recv(p->dup, &c, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
	if (queued >= 0) {
		pr_fd_err(p, "netlink socket (protocol %d) with messages queued to be read: not "
			  "supported yet", protocol);
		return -EOPNOTSUPP;
	}
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	netlink_socket__init(s);
	d->fe->netlink_socket = s;
	s->type = type;
	s->protocol = protocol;
	s->ino = p->st.st_ino;
	s->portid = local.nl_pid;
	if (peer.nl_pid || peer.nl_groups) {
		s->has_dst_portid = s->has_dst_group = true;
		s->dst_portid = peer.nl_pid;
		s->dst_group = peer.nl_groups;
	}
	s->has_uid = s->has_gid = true;
	s->uid = p->st.st_uid;
	s->gid = p->st.st_gid;
	snprintf(who, sizeof(who), "pid %d %s (%s)", p->pid, p->name, p->link);
	ret = dump_groups(p, s);
	if (!ret)
		ret = dump_netlink_options(p, s);
	if (!ret)
		ret = socket_options_dump(p->dup, NULL, &s->options, &s->n_options, who);
	return ret;
}

static int netlink_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const NetlinkSocket *s = f->e->netlink_socket;
	const char *problem = NULL;

	(void)dir;
	if (s->type != SOCK_RAW && s->type != SOCK_DGRAM)
		problem = "type is neither raw nor datagram";
	else if (s->protocol > 31 || s->n_groups > GROUPS_MAX)
		problem = "protocol beyond 31, or too many groups";
	for (size_t i = 0; !problem && i < s->n_groups; i++)
		if (!s->groups[i] || s->groups[i] > GROUPS_MAX)
			problem = "a group number out of range";
	for (size_t i = 0; !problem && i < s->n_options; i++)
		if (!inet_option_known(s->options[i]->level, s->options[i]->name))
			problem = "an option cryo does not know";
	for (size_t i = 0; !problem && i < s->n_netlink_options; i++)
		if (s->netlink_options[i]->level != SOL_NETLINK ||
		    !netlink_option_known(s->netlink_options[i]->name))
			problem = "a netlink option cryo does not know";
	if (!problem && (f->e->n_contents || f->e->contents_in_file))
		problem = "contents on a netlink socket";
	if (problem) {
		load_err(img, f, "%s", problem);
		return -EBADMSG;
	}
	return 0;
}

static int restore_netlink_options(const NetlinkSocket *s, int fd, const char **what)
{
	for (size_t i = 0; i < s->n_netlink_options; i++) {
		const SocketOption *o = s->netlink_options[i];
		int now;

		if (!sockopt_int(fd, SOL_NETLINK, (int)o->name, &now) && now == o->value)
			continue;
		*what = "a netlink option";
		if (setsockopt(fd, SOL_NETLINK, (int)o->name, &o->value, sizeof(o->value)))
			return -errno;
	}
	return 0;
}

static int netlink_open(struct restore_ctx *r, const struct file_obj *f)
{
	const NetlinkSocket *s = f->e->netlink_socket;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = s->portid };
	_cleanup_close_ int fd = socket(AF_NETLINK, (int)s->type | SOCK_CLOEXEC, (int)s->protocol);
	const char *what = "?";
	int ret;

	if (fd < 0) {
		restore_err(r, f, "cannot make a netlink socket of protocol %u: %s", s->protocol,
			    strerror(errno));
		return -errno;
	}
	ret = socket_options_restore(fd, s->options, s->n_options, false, &what);
	if (!ret)
		ret = restore_netlink_options(s, fd, &what);
	if (!ret)
		ret = socket_options_restore(fd, s->options, s->n_options, true, &what);
	if (ret) {
		restore_err(r, f, "cannot set %s as saved: %s", what, strerror(-ret));
		return ret;
	}
	if (s->portid && bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		restore_err(r, f, "cannot bind to port id %u again: %s", s->portid,
			    strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < s->n_groups; i++) {
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &s->groups[i],
			       sizeof(s->groups[i]))) {
			restore_err(r, f, "cannot join group %u again: %s", s->groups[i],
				    strerror(errno));
			return -errno;
		}
	}
	if (s->dst_portid || s->dst_group) {
		struct sockaddr_nl dst = { .nl_family = AF_NETLINK, .nl_pid = s->dst_portid,
					   .nl_groups = s->dst_group };

		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
			restore_err(r, f, "cannot connect to port id %u group %u again: %s",
				    s->dst_portid, s->dst_group, strerror(errno));
			return -errno;
		}
	}
	if (s->has_uid && s->has_gid && fchown(fd, s->uid, s->gid)) {
		restore_err(r, f, "cannot give it its owner %u:%u: %s", s->uid, s->gid,
			    strerror(errno));
		return -errno;
	}
	return steal_fd(fd);
}

const struct file_kind netlink_socket_kind = {
	.name = "netlink socket",
	.type = FILE_ENTRY__KIND__NETLINK_SOCKET,
	.recognise = netlink_recognise,
	.dump = netlink_dump,
	.check = netlink_check,
	.open = netlink_open,
	.in_flight_ok = true,
};
