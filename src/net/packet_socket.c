/* The "packet socket" kind: AF_PACKET raw and datagram sockets (and the
 * old SOCK_PACKET ones) with their bound interface (saved by name) and
 * protocol, memberships, fanout group, classic filter and options; its
 * rings are packet_ring.c's. Queued packets are refused by name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "net/internal.h"
#include "net/packet_ring.h"
#include "net/sock_diag.h"
#include "net/sock_filter.h"

#ifndef SOL_PACKET
#define SOL_PACKET 263
#endif
#define MEMBERSHIP_COUNT_MAX 4096
#define FANOUT_FLAG_UNIQUEID_BIT ((uint32_t)PACKET_FANOUT_FLAG_UNIQUEID << 16)

/* The SOL_PACKET int options saved and set again, in this order: the
 * header size after PACKET_VNET_HDR, which sets a default one. */
static const int packet_options[] = {
	PACKET_VERSION,	PACKET_RESERVE,	     PACKET_AUXDATA,	    PACKET_ORIGDEV,
	PACKET_VNET_HDR, PACKET_VNET_HDR_SZ, PACKET_TIMESTAMP,	    PACKET_LOSS,
	PACKET_TX_HAS_OFF, PACKET_QDISC_BYPASS, PACKET_IGNORE_OUTGOING,
};

/* The multicast list a packet socket keeps (PACKET_ADD_MEMBERSHIP's
 * packet_mreq with room for MAX_ADDR_LEN, as the kernel reads it). */
struct membership_request {
	int ifindex;
	unsigned short type, alen;
	unsigned char addr[32];
};

static int sockopt_int(int fd, int level, int name, int *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, level, name, out, &len) ? -errno : 0;
}

static bool packet_recognise(const struct fd_probe *p)
{
	int type;

	return S_ISSOCK(p->st.st_mode) && p->fd >= 0 && p->sock_family == AF_PACKET &&
	       !sockopt_int(p->dup, SOL_SOCKET, SO_TYPE, &type) &&
	       (type == SOCK_RAW || type == SOCK_DGRAM || type == SOCK_PACKET);
}

static bool packet_option_known(uint32_t name)
{
	for (size_t i = 0; i < ARRAY_SIZE(packet_options); i++)
		if ((uint32_t)packet_options[i] == name)
			return true;
	return false;
}

/* ---- dump ---------------------------------------------------------------- */

static int dump_packet_options(const struct fd_probe *p, PacketSocket *s)
{
	s->packet_options = calloc(ARRAY_SIZE(packet_options), sizeof(*s->packet_options));
	if (!s->packet_options)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(packet_options); i++) {
		SocketOption *o;
		int value, ret = sockopt_int(p->dup, SOL_PACKET, packet_options[i], &value);

		if (ret == -ENOPROTOOPT || ret == -EOPNOTSUPP)
			continue;
		if (ret)
			return pr_errno_ret("dump: pid %d %s (%s): cannot read packet option %d",
					    p->pid, p->name, p->link, packet_options[i]);
		o = malloc(sizeof(*o));
		if (!o)
			return -ENOMEM;
		socket_option__init(o);
		o->level = SOL_PACKET;
		o->name = packet_options[i];
		o->value = value;
		s->packet_options[s->n_packet_options++] = o;
	}
	return 0;
}

/* The interface @ifindex's name, allocated into *@out. */
static int dump_ifname(const struct fd_probe *p, uint32_t ifindex, char **out)
{
	char name[IF_NAMESIZE];

	if (!if_indextoname(ifindex, name))
		return pr_errno_ret("dump: pid %d %s (%s): cannot name its interface %u", p->pid,
				    p->name, p->link, ifindex);
	*out = strdup(name);
	return *out ? 0 : -ENOMEM;
}

static int dump_memberships(const struct fd_probe *p, const struct packet_diag_state *st,
			    PacketSocket *s)
{
	if (st->too_many_members) {
		pr_fd_err(p, "AF_PACKET with more than %d memberships: not supported",
			  PACKET_DIAG_MEMBERS_MAX);
		return -EOPNOTSUPP;
	}
	s->memberships = calloc(st->nr_members + 1, sizeof(*s->memberships));
	if (!s->memberships)
		return -ENOMEM;
	for (size_t i = 0; i < st->nr_members; i++) {
		const struct packet_diag_member *m = &st->members[i];
		PacketMembership *pm = malloc(sizeof(*pm));
		int ret;

		if (!pm)
			return -ENOMEM;
		packet_membership__init(pm);
		s->memberships[s->n_memberships++] = pm;
		pm->ifindex = m->ifindex;
		pm->type = m->type;
		pm->count = m->count;
		pm->addr.data = malloc(m->alen + 1);
		if (!pm->addr.data)
			return -ENOMEM;
		memcpy(pm->addr.data, m->addr, m->alen);
		pm->addr.len = m->alen;
		ret = dump_ifname(p, m->ifindex, &pm->ifname);
		if (ret)
			return ret;
	}
	return 0;
}

static int dump_fanout(const struct fd_probe *p, PacketSocket *s)
{
	int value, ret = sockopt_int(p->dup, SOL_PACKET, PACKET_FANOUT, &value);
	unsigned int mode = ((uint32_t)value >> 16) & 0xff;

	if (ret)
		return pr_errno_ret("dump: pid %d %s (%s): cannot read PACKET_FANOUT", p->pid,
				    p->name, p->link);
	if (!value)
		return 0;
	if (mode == PACKET_FANOUT_CBPF || mode == PACKET_FANOUT_EBPF) {
		pr_fd_err(p, "AF_PACKET in a fanout group of mode %s: its program cannot be read: "
			  "not supported", mode == PACKET_FANOUT_CBPF ? "cBPF" : "eBPF");
		return -EOPNOTSUPP;
	}
	s->has_fanout = true;
	s->fanout = (uint32_t)value;
	return 0;
}

static int dump_timeouts_filter(const struct fd_probe *p, PacketSocket *s)
{
	const char *what;
	bool locked;
	int ret = socket_timeouts_dump(p->dup, &s->rcvtimeo_us, &s->sndtimeo_us, &what);

	if (ret)
		return ret;
	ret = sock_filter_dump(p, &s->has_filter, &s->filter, &locked);
	if (ret)
		return ret;
	s->has_filter_locked = locked;
	s->filter_locked = locked;
	return 0;
}

static int packet_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	struct sockaddr_ll local = { 0 };
	socklen_t len = sizeof(local);
	struct packet_diag_state *st;
	int type, version = 0, ret;
	PacketSocket *s;
	char who[96], c;

	if (sockopt_int(p->dup, SOL_SOCKET, SO_TYPE, &type) ||
	    getsockname(p->dup, (struct sockaddr *)&local, &len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read what socket it is", p->pid,
				    p->name, p->link);
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	ret = sock_diag_packet_find(p->st.st_ino, st);
	if (ret) {
		free(st);
		pr_fd_err(p, "sock_diag does not show this packet socket (%s): is it in another "
			  "network namespace?", strerror(-ret));
		return ret == -ENOENT ? -ESRCH : ret;
	}
	/* A peek takes nothing out. A packet cannot be queued again without
	 * sending it on the interface, to every other listener too. */
	if (recv(p->dup, &c, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC) >= 0) {
		free(st);
		pr_fd_err(p, "AF_PACKET with packets queued to be read: not supported yet");
		return -EOPNOTSUPP;
	}
	/* The kernel unbinds a socket whose interface goes away (index -1). */
	if ((type == SOCK_PACKET ? (int)st->ifindex : local.sll_ifindex) < 0) {
		free(st);
		pr_fd_err(p, "AF_PACKET bound to an interface that was removed: not supported");
		return -EOPNOTSUPP;
	}
	s = malloc(sizeof(*s));
	if (!s) {
		free(st);
		return -ENOMEM;
	}
	packet_socket__init(s);
	d->fe->packet_socket = s;
	s->type = (uint32_t)type;
	s->ino = p->st.st_ino;
	s->protocol = local.sll_protocol;
	s->ifindex = (uint32_t)local.sll_ifindex;
	if (type == SOCK_PACKET) {
		/* Its getsockname() gives the interface's name alone. */
		s->protocol = st->protocol;
		s->ifindex = st->ifindex;
	}
	s->copy_thresh = st->copy_thresh;
	s->has_uid = s->has_gid = true;
	s->uid = p->st.st_uid;
	s->gid = p->st.st_gid;
	snprintf(who, sizeof(who), "pid %d %s (%s)", p->pid, p->name, p->link);
	ret = s->ifindex ? dump_ifname(p, s->ifindex, &s->ifname) : 0;
	if (!ret)
		ret = dump_memberships(p, st, s);
	if (!ret && (st->rx_ring || st->tx_ring))
		ret = sockopt_int(p->dup, SOL_PACKET, PACKET_VERSION, &version);
	if (!ret && (st->rx_ring || st->tx_ring))
		ret = packet_rings_dump(p, st, version, s);
	free(st);
	if (!ret && type != SOCK_PACKET)
		ret = dump_fanout(p, s);
	if (!ret)
		ret = dump_packet_options(p, s);
	if (!ret)
		ret = socket_options_dump(p->dup, NULL, &s->options, &s->n_options, who);
	if (!ret && (ret = dump_timeouts_filter(p, s)) && ret != -EOPNOTSUPP)
		pr_err("dump: %s: cannot read its timeouts or filter: %s", who, strerror(-ret));
	return ret;
}

/* ---- load ---------------------------------------------------------------- */

static bool ifname_valid(const char *name)
{
	return name && name[0] && strlen(name) < IF_NAMESIZE && !strchr(name, '/');
}

static const char *membership_problem(const PacketMembership *m)
{
	if (m->type > PACKET_MR_UNICAST)
		return "a membership of an unknown type";
	if (m->addr.len > sizeof(((struct membership_request *)0)->addr))
		return "a membership address longer than 32 bytes";
	if (!m->count || m->count > MEMBERSHIP_COUNT_MAX)
		return "a membership count out of range";
	if (!m->ifindex || !ifname_valid(m->ifname))
		return "a membership without a valid interface";
	return NULL;
}

/* The TPACKET version saved with the options (V1 when none was). */
static int saved_version(const PacketSocket *s)
{
	for (size_t i = 0; i < s->n_packet_options; i++)
		if (s->packet_options[i]->name == PACKET_VERSION)
			return s->packet_options[i]->value;
	return TPACKET_V1;
}

static const char *packet_problem(const PacketSocket *s)
{
	unsigned int mode = (s->fanout >> 16) & 0xff;
	const char *filter_problem = sock_filter_problem(s->has_filter, &s->filter,
							 s->filter_locked);

	if (s->type != SOCK_RAW && s->type != SOCK_DGRAM && s->type != SOCK_PACKET)
		return "type is neither raw, datagram nor SOCK_PACKET";
	if (s->type == SOCK_PACKET && (s->n_memberships || s->has_fanout ||
				       s->n_packet_options || s->copy_thresh))
		return "a SOCK_PACKET socket with packet options, memberships or fanout";
	if (s->protocol > 0xffff)
		return "a protocol beyond 16 bits";
	if (s->ifindex > INT32_MAX || !s->ifindex != !s->ifname ||
	    (s->ifname && !ifname_valid(s->ifname)))
		return "an interface index without a valid name";
	if (s->has_fanout && (!s->fanout || mode > PACKET_FANOUT_QM ||
			      mode == PACKET_FANOUT_CBPF || mode == PACKET_FANOUT_EBPF))
		return "a fanout mode cryo cannot restore";
	if (filter_problem)
		return filter_problem;
	if (packet_rings_problem(s, saved_version(s)))
		return packet_rings_problem(s, saved_version(s));
	if (s->rcvtimeo_us > INT32_MAX * 1000000ull || s->sndtimeo_us > INT32_MAX * 1000000ull)
		return "a timeout out of range";
	for (size_t i = 0; i < s->n_memberships; i++) {
		const char *problem = membership_problem(s->memberships[i]);

		if (problem)
			return problem;
	}
	for (size_t i = 0; i < s->n_options; i++)
		if (!inet_option_known(s->options[i]->level, s->options[i]->name))
			return "an option cryo does not know";
	for (size_t i = 0; i < s->n_packet_options; i++)
		if (s->packet_options[i]->level != SOL_PACKET ||
		    !packet_option_known(s->packet_options[i]->name))
			return "a packet option cryo does not know";
	return NULL;
}

static int packet_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const char *problem = packet_problem(f->e->packet_socket);

	(void)dir;
	if (!problem && (f->e->n_contents || f->e->contents_in_file))
		problem = "contents on a packet socket";
	if (problem) {
		load_err(img, f, "%s", problem);
		return -EBADMSG;
	}
	return 0;
}

/* ---- restore --------------------------------------------------------------- */

static int restore_packet_options(const PacketSocket *s, int fd, const char **what)
{
	for (size_t i = 0; i < s->n_packet_options; i++) {
		const SocketOption *o = s->packet_options[i];
		int now;

		if (!sockopt_int(fd, SOL_PACKET, (int)o->name, &now) && now == o->value)
			continue;
		*what = "a packet option";
		if (setsockopt(fd, SOL_PACKET, (int)o->name, &o->value, sizeof(o->value)))
			return -errno;
		if (sockopt_int(fd, SOL_PACKET, (int)o->name, &now) || now != o->value)
			return -ERANGE;
	}
	return 0;
}

/* Options, packet options, copy threshold and timeouts: all before bind(). */
static int restore_options(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const PacketSocket *s = f->e->packet_socket;
	const char *what = "?";
	int thresh = (int)s->copy_thresh;
	int ret = socket_options_restore(fd, s->options, s->n_options, false, &what);

	if (!ret)
		ret = restore_packet_options(s, fd, &what);
	if (!ret && thresh) {
		what = "PACKET_COPY_THRESH";
		if (setsockopt(fd, SOL_PACKET, PACKET_COPY_THRESH, &thresh, sizeof(thresh)))
			ret = -errno;
	}
	if (!ret) {
		ret = socket_timeouts_restore(fd, s->rcvtimeo_us, s->sndtimeo_us, &what);
	}
	if (ret)
		restore_err(r, f, "cannot set %s as saved: %s", what,
			    ret == -ERANGE ? "the kernel keeps another value" : strerror(-ret));
	return ret;
}

/* The index of interface @name in the restore's network namespace. */
static int find_interface(struct restore_ctx *r, const struct file_obj *f, const char *name,
			  const char *what)
{
	unsigned int index = if_nametoindex(name);

	if (!index) {
		restore_err(r, f, "%s interface %s is not there: %s", what, name, strerror(errno));
		return -ENODEV;
	}
	return (int)index;
}

/* A SOCK_PACKET socket is bound by the interface's name (struct sockaddr's
 * 14 bytes), its protocol kept from socket(). */
static int bind_by_name(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const PacketSocket *s = f->e->packet_socket;
	struct sockaddr sa = { .sa_family = AF_PACKET };

	if (strlen(s->ifname) >= sizeof(sa.sa_data)) {
		restore_err(r, f, "interface name %s is too long for a SOCK_PACKET socket",
			    s->ifname);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sa_data, s->ifname, strlen(s->ifname));
	if (bind(fd, &sa, sizeof(sa))) {
		restore_err(r, f, "cannot bind to interface %s again: %s", s->ifname,
			    strerror(errno));
		return -errno;
	}
	return 0;
}

static int restore_bind(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const PacketSocket *s = f->e->packet_socket;
	struct sockaddr_ll sa = { .sll_family = AF_PACKET,
				  .sll_protocol = (unsigned short)s->protocol };

	if (s->type == SOCK_PACKET)
		return s->ifindex ? bind_by_name(r, f, fd) : 0;
	if (!s->ifindex && !s->protocol)
		return 0;
	if (s->ifindex) {
		sa.sll_ifindex = find_interface(r, f, s->ifname, "its bound");
		if (sa.sll_ifindex < 0)
			return sa.sll_ifindex;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		restore_err(r, f, "cannot bind to interface %s, protocol %#x again: %s",
			    s->ifname ? s->ifname : "(any)", ntohs(sa.sll_protocol),
			    strerror(errno));
		return -errno;
	}
	return 0;
}

static int restore_memberships(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const PacketSocket *s = f->e->packet_socket;

	for (size_t i = 0; i < s->n_memberships; i++) {
		const PacketMembership *m = s->memberships[i];
		struct membership_request mr = { .type = (unsigned short)m->type,
						 .alen = (unsigned short)m->addr.len };

		mr.ifindex = find_interface(r, f, m->ifname, "a membership's");
		if (mr.ifindex < 0)
			return mr.ifindex;
		if (m->addr.len)
			memcpy(mr.addr, m->addr.data, m->addr.len);
		for (uint32_t n = 0; n < m->count; n++) {
			if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
				restore_err(r, f, "cannot add its membership of type %u on %s "
					    "again: %s", m->type, m->ifname, strerror(errno));
				return -errno;
			}
		}
	}
	return 0;
}

static int restore_fanout(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const PacketSocket *s = f->e->packet_socket;
	/* A group the kernel numbered (UNIQUEID) is joined again by its
	 * number: the flag asks for a new one. */
	int value = (int)(s->fanout & ~FANOUT_FLAG_UNIQUEID_BIT);

	if (!s->has_fanout)
		return 0;
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &value, sizeof(value))) {
		restore_err(r, f, "cannot join fanout group %u (mode %u) again: %s",
			    s->fanout & 0xffff, (s->fanout >> 16) & 0xff, strerror(errno));
		return -errno;
	}
	return 0;
}

/* While the socket is made, a filter that takes nothing: once bound it
 * receives, and its own filter must apply from the first packet it keeps. */
int packet_filter_nothing(int fd)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ? -errno : 0;
}

/* The filter that takes nothing comes off first when the socket had none. */
static int restore_filter(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const PacketSocket *s = f->e->packet_socket;
	const char *what = "its filter (SO_DETACH_FILTER)";
	int one = 1, ret = 0;

	if (!s->has_filter && setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof(one)))
		ret = -errno;
	if (!ret)
		ret = sock_filter_restore(fd, s->has_filter, &s->filter, s->filter_locked, &what);
	if (ret)
		restore_err(r, f, "cannot set %s again: %s", what, strerror(-ret));
	return ret;
}

/* After the options (version, reserve), before bind(): see packet_ring.c. */
static int restore_rings(struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const PacketSocket *s = f->e->packet_socket;
	const char *what = "?";
	int ret = packet_rings_restore(s, fd, saved_version(s), &what);

	if (ret)
		restore_err(r, f, "cannot set up %s again: %s", what, strerror(-ret));
	return ret;
}

/* Its mapping is the rings, whole (the kernel maps nothing less). */
static uint64_t packet_mapped_limit(const FileEntry *e)
{
	return e->packet_socket ? packet_rings_size(e->packet_socket) : 0;
}

static int packet_open(struct restore_ctx *r, const struct file_obj *f)
{
	const PacketSocket *s = f->e->packet_socket;
	/* Protocol 0: it receives nothing until bind() gives it its own. A
	 * SOCK_PACKET socket takes it from socket() only: what it receives
	 * before the filter that takes nothing is on is read out. */
	bool spkt = s->type == SOCK_PACKET;
	_cleanup_close_ int fd = socket(AF_PACKET, (int)s->type | SOCK_CLOEXEC,
					spkt ? (int)s->protocol : 0);
	const char *what = "?";
	char c;
	int ret;

	if (fd < 0) {
		restore_err(r, f, "cannot make a packet socket: %s", strerror(errno));
		return -errno;
	}
	ret = packet_filter_nothing(fd);
	if (ret) {
		restore_err(r, f, "cannot attach a filter for the time it is made: %s",
			    strerror(-ret));
		return ret;
	}
	while (spkt && recv(fd, &c, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
	ret = restore_options(r, f, fd);
	if (!ret)
		ret = restore_rings(r, f, fd);
	if (!ret)
		ret = restore_bind(r, f, fd);
	if (!ret)
		ret = restore_memberships(r, f, fd);
	if (!ret)
		ret = restore_fanout(r, f, fd);
	if (!ret)
		ret = restore_filter(r, f, fd);
	if (ret)
		return ret;
	ret = socket_options_restore(fd, s->options, s->n_options, true, &what);
	if (ret) {
		restore_err(r, f, "cannot set %s as saved: %s", what, strerror(-ret));
		return ret;
	}
	if (s->has_uid && s->has_gid && fchown(fd, s->uid, s->gid)) {
		restore_err(r, f, "cannot give it its owner %u:%u: %s", s->uid, s->gid,
			    strerror(errno));
		return -errno;
	}
	return steal_fd(fd);
}

const struct file_kind packet_socket_kind = {
	.name = "packet socket",
	.type = FILE_ENTRY__KIND__PACKET_SOCKET,
	.recognise = packet_recognise,
	.dump = packet_dump,
	.check = packet_check,
	.open = packet_open,
	.mapped_limit = packet_mapped_limit,
	.in_flight_ok = true,
};
