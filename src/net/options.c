/* The int options of a socket (inet or unix): the list cryo saves, reading them at
 * dump, and setting them again at restore where a new socket differs.
 * Addresses, device, timeouts and the queue are the kind's (inet_socket.c). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/icmp.h>
#include <linux/in6.h>	/* IPV6_FLOWINFO and IPV6_HDRINCL, which glibc lacks */
#include <sys/socket.h>
#include <sys/time.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "net/internal.h"

#ifndef SOL_UDPLITE
#define SOL_UDPLITE 136
#endif
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11

struct int_option {
	int level, name;
	const char *text;
	/* SO_RCVBUF, SO_SNDBUF: the kernel doubles what is set, and the queue
	 * must be filled before the receive buffer is made small again. */
	bool buffer;
};

#define OPT(level, name) { level, name, #name, false }
/* Options that take effect at bind() come first; all are set before it. */
static const struct int_option options[] = {
	OPT(SOL_IPV6, IPV6_V6ONLY),
	OPT(SOL_SOCKET, SO_REUSEADDR),
	OPT(SOL_SOCKET, SO_REUSEPORT),
	OPT(SOL_IP, IP_FREEBIND),
	OPT(SOL_IP, IP_TRANSPARENT),
	OPT(SOL_IP, IP_BIND_ADDRESS_NO_PORT),
	OPT(SOL_IPV6, IPV6_FREEBIND),
	OPT(SOL_IPV6, IPV6_TRANSPARENT),
	OPT(SOL_IPV6, IPV6_ADDR_PREFERENCES),
	OPT(SOL_SOCKET, SO_BROADCAST),
	OPT(SOL_SOCKET, SO_DONTROUTE),
	OPT(SOL_SOCKET, SO_KEEPALIVE),
	OPT(SOL_SOCKET, SO_OOBINLINE),
	OPT(SOL_SOCKET, SO_NO_CHECK),
	OPT(SOL_SOCKET, SO_MARK),
	OPT(SOL_SOCKET, SO_RCVLOWAT),
	OPT(SOL_SOCKET, SO_PASSCRED),
	OPT(SOL_SOCKET, SO_PASSSEC),
	OPT(SOL_SOCKET, SO_TIMESTAMP_OLD),
	OPT(SOL_SOCKET, SO_TIMESTAMPNS_OLD),
	OPT(SOL_SOCKET, SO_TIMESTAMP_NEW),
	OPT(SOL_SOCKET, SO_TIMESTAMPNS_NEW),
	OPT(SOL_SOCKET, SO_RXQ_OVFL),
	OPT(SOL_SOCKET, SO_WIFI_STATUS),
	OPT(SOL_SOCKET, SO_SELECT_ERR_QUEUE),
	OPT(SOL_SOCKET, SO_BUSY_POLL),
	OPT(SOL_SOCKET, SO_PREFER_BUSY_POLL),
	OPT(SOL_SOCKET, SO_BUSY_POLL_BUDGET),
	OPT(SOL_SOCKET, SO_ZEROCOPY),
	OPT(SOL_SOCKET, SO_TXREHASH),
	OPT(SOL_SOCKET, SO_RCVMARK),
	/* Its flags; a socket bound to a PTP clock fails to restore. */
	OPT(SOL_SOCKET, SO_TIMESTAMPING_OLD),
	/* IP_TOS sets the priority too: SO_PRIORITY comes after it. */
	OPT(SOL_IP, IP_TOS),
	OPT(SOL_SOCKET, SO_PRIORITY),
	OPT(SOL_IP, IP_TTL),
	OPT(SOL_IP, IP_MINTTL),
	OPT(SOL_IP, IP_RECVOPTS),
	OPT(SOL_IP, IP_RETOPTS),
	OPT(SOL_IP, IP_PKTINFO),
	OPT(SOL_IP, IP_RECVTTL),
	OPT(SOL_IP, IP_RECVTOS),
	OPT(SOL_IP, IP_RECVERR),
	OPT(SOL_IP, IP_RECVERR_RFC4884),
	OPT(SOL_IP, IP_RECVORIGDSTADDR),
	OPT(SOL_IP, IP_RECVFRAGSIZE),
	OPT(SOL_IP, IP_PASSSEC),
	OPT(SOL_IP, IP_CHECKSUM),
	OPT(SOL_IP, IP_MTU_DISCOVER),
	OPT(SOL_IP, IP_MULTICAST_TTL),
	OPT(SOL_IP, IP_MULTICAST_LOOP),
	OPT(SOL_IP, IP_MULTICAST_ALL),
	OPT(SOL_IP, IP_HDRINCL),
	OPT(SOL_IP, IP_NODEFRAG),
	/* A raw ICMP socket's filter: a 32-bit mask of types. */
	OPT(SOL_RAW, ICMP_FILTER),
	OPT(SOL_IPV6, IPV6_HDRINCL),
	OPT(SOL_IPV6, IPV6_CHECKSUM),
	OPT(SOL_IPV6, IPV6_UNICAST_HOPS),
	OPT(SOL_IPV6, IPV6_MULTICAST_HOPS),
	OPT(SOL_IPV6, IPV6_MULTICAST_LOOP),
	OPT(SOL_IPV6, IPV6_MULTICAST_ALL),
	OPT(SOL_IPV6, IPV6_MULTICAST_IF),
	OPT(SOL_IPV6, IPV6_TCLASS),
	OPT(SOL_IPV6, IPV6_MINHOPCOUNT),
	OPT(SOL_IPV6, IPV6_RECVPKTINFO),
	OPT(SOL_IPV6, IPV6_RECVHOPLIMIT),
	OPT(SOL_IPV6, IPV6_RECVRTHDR),
	OPT(SOL_IPV6, IPV6_RECVHOPOPTS),
	OPT(SOL_IPV6, IPV6_RECVDSTOPTS),
	OPT(SOL_IPV6, IPV6_RECVTCLASS),
	OPT(SOL_IPV6, IPV6_RECVPATHMTU),
	OPT(SOL_IPV6, IPV6_RECVERR),
	OPT(SOL_IPV6, IPV6_RECVORIGDSTADDR),
	OPT(SOL_IPV6, IPV6_RECVFRAGSIZE),
	OPT(SOL_IPV6, IPV6_FLOWINFO),
	OPT(SOL_IPV6, IPV6_AUTOFLOWLABEL),
	OPT(SOL_IPV6, IPV6_DONTFRAG),
	OPT(SOL_IPV6, IPV6_MTU_DISCOVER),
	OPT(SOL_UDP, UDP_CORK),
	OPT(SOL_UDP, UDP_NO_CHECK6_TX),
	OPT(SOL_UDP, UDP_NO_CHECK6_RX),
	OPT(SOL_UDP, UDP_SEGMENT),
	OPT(SOL_UDP, UDP_GRO),
	OPT(SOL_UDP, UDP_ENCAP),
	OPT(SOL_UDPLITE, UDPLITE_SEND_CSCOV),
	OPT(SOL_UDPLITE, UDPLITE_RECV_CSCOV),
	OPT(SOL_TCP, TCP_NODELAY),
	OPT(SOL_TCP, TCP_CORK),
	OPT(SOL_TCP, TCP_MAXSEG),
	OPT(SOL_TCP, TCP_KEEPIDLE),
	OPT(SOL_TCP, TCP_KEEPINTVL),
	OPT(SOL_TCP, TCP_KEEPCNT),
	OPT(SOL_TCP, TCP_SYNCNT),
	OPT(SOL_TCP, TCP_LINGER2),
	OPT(SOL_TCP, TCP_DEFER_ACCEPT),
	OPT(SOL_TCP, TCP_WINDOW_CLAMP),
	OPT(SOL_TCP, TCP_USER_TIMEOUT),
	OPT(SOL_TCP, TCP_NOTSENT_LOWAT),
	OPT(SOL_TCP, TCP_FASTOPEN),
	OPT(SOL_TCP, TCP_FASTOPEN_NO_COOKIE),
	OPT(SOL_TCP, TCP_THIN_LINEAR_TIMEOUTS),
	OPT(SOL_TCP, TCP_SAVE_SYN),
	OPT(SOL_TCP, TCP_TX_DELAY),
	{ SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", true },
	{ SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", true },
};

/* Options by level and name, built once: every check and restore of
 * 20,000 socketpair ends looked each of their options up (a walk of the
 * table each was a tenth of their restore's CPU), and a TCP socket's 80
 * options, outside SOL_SOCKET, were still walked (3% of the restore of
 * 1,000 connections). Each level's names are below OPTION_NAMES. */
#define OPTION_NAMES 128
static const int option_levels[] = { SOL_SOCKET, SOL_IP, SOL_IPV6, SOL_TCP,
				     SOL_UDP,	 SOL_UDPLITE, SOL_RAW };
#define OPTION_LEVELS ARRAY_SIZE(option_levels)
/* The table index + 1 of (level, name); 0: not in the table. */
static uint8_t option_index[OPTION_LEVELS][OPTION_NAMES];
static pthread_once_t option_index_once = PTHREAD_ONCE_INIT;

static int level_slot(uint32_t level)
{
	for (size_t l = 0; l < OPTION_LEVELS; l++)
		if ((uint32_t)option_levels[l] == level)
			return (int)l;
	return -1;
}

static void index_options(void)
{
	_Static_assert(ARRAY_SIZE(options) < 255, "option_index holds a table index in a byte");
	/* The first of a name wins. */
	for (size_t i = ARRAY_SIZE(options); i-- > 0;) {
		int l = level_slot((uint32_t)options[i].level);

		if (l >= 0 && options[i].name < OPTION_NAMES)
			option_index[l][options[i].name] = (uint8_t)(i + 1);
	}
}

static const struct int_option *option_find(uint32_t level, uint32_t name)
{
	int l = level_slot(level);

	pthread_once(&option_index_once, index_options);
	if (l < 0 || name >= OPTION_NAMES || !option_index[l][name])
		return NULL;
	return &options[option_index[l][name] - 1];
}

bool inet_option_known(uint32_t level, uint32_t name)
{
	return option_find(level, name) != NULL;
}

/* The option's value; -ENOPROTOOPT (or the like) when this socket has
 * none. */
static int read_option(int fd, const struct int_option *o, int *value)
{
	socklen_t len = sizeof(*value);

	if (getsockopt(fd, o->level, o->name, value, &len))
		return -errno;
	return len == sizeof(*value) ? 0 : -EINVAL;
}

/* Errors that mean "not an option of this socket" rather than a failure. */
static bool not_this_sockets(int err)
{
	return err == -ENOPROTOOPT || err == -EOPNOTSUPP || err == -EINVAL || err == -ENOTCONN;
}

/* Options that no socket of one kind (family, type, protocol) answers:
 * ENOPROTOOPT or EOPNOTSUPP, the kernel's word that the kind has no such
 * option, whatever the socket's state. Learned from the first socket of
 * each kind a dump reads, so that the others are not asked: a unix socket
 * asked SO_BUSY_POLL_BUDGET and SO_TXREHASH in vain, a TCP one 39 options
 * of other protocols (a third of its calls). For unix sockets, also those
 * the kind refuses to set (below): they hold a new socket's value. */
#define UNANSWERED_KINDS_MAX 16
#define OPTION_WORDS ((ARRAY_SIZE(options) + 63) / 64)
struct sockopt_unanswered {
	struct {
		int family, type, protocol;
		uint64_t skip[OPTION_WORDS];
	} kind[UNANSWERED_KINDS_MAX];
	size_t nr;
};

struct sockopt_unanswered *sockopt_unanswered_new(void)
{
	return calloc(1, sizeof(struct sockopt_unanswered));
}

void sockopt_unanswered_free(void *u)
{
	free(u);
}

/* The options the kind of @k does not answer, if learned; else NULL. */
static const uint64_t *unanswered_of(const struct sockopt_known *k)
{
	const struct sockopt_unanswered *u = k ? k->unanswered : NULL;

	for (size_t i = 0; u && i < u->nr; i++)
		if (u->kind[i].family == k->domain && u->kind[i].type == k->type &&
		    u->kind[i].protocol == k->protocol)
			return u->kind[i].skip;
	return NULL;
}

/* Adds to @skip the SOL_SOCKET options that a unix socket of @type
 * refuses to set (EOPNOTSUPP for the family: SO_ZEROCOPY, and SO_REUSEPORT
 * since 6.9), asked of a new one: no socket of the kind can hold another
 * value than a new one's, which restore gives. Only unix sockets: their
 * SOL_SOCKET options do not depend on a state, where an inet socket's may
 * (SO_ZEROCOPY on a connected TCP one). */
static void refused_learn(int type, uint64_t *skip)
{
	_cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	int one = 1;

	for (size_t i = 0; fd >= 0 && i < ARRAY_SIZE(options); i++) {
		const struct int_option *o = &options[i];

		if (o->level != SOL_SOCKET || o->buffer || skip[i / 64] & (1ull << (i % 64)))
			continue;
		if (setsockopt(fd, o->level, o->name, &one, sizeof(one)) && errno == EOPNOTSUPP)
			skip[i / 64] |= 1ull << (i % 64);
	}
}

/* Keeps @skip, learned from one socket of @k's kind, for the others. */
static void unanswered_learn(const struct sockopt_known *k, uint64_t *skip)
{
	struct sockopt_unanswered *u = k ? k->unanswered : NULL;

	if (!u || k->domain == AF_UNSPEC || k->type < 0 || u->nr == UNANSWERED_KINDS_MAX)
		return;
	if (k->domain == AF_UNIX)
		refused_learn(k->type, skip);
	u->kind[u->nr].family = k->domain;
	u->kind[u->nr].type = k->type;
	u->kind[u->nr].protocol = k->protocol;
	memcpy(u->kind[u->nr].skip, skip, sizeof(u->kind[u->nr].skip));
	u->nr++;
}

/* Whether option @i need not be asked of a socket like @k's, its value
 * known otherwise (*@value, *@known) or the socket having none. */
static bool option_known(const struct sockopt_known *k, int domain, const uint64_t *skip,
			 size_t i, int *value, bool *known)
{
	const struct int_option *o = &options[i];

	*known = false;
	if (skip && skip[i / 64] & (1ull << (i % 64)))
		return true;
	/* A unix socket has only SOL_SOCKET options (any other level is
	 * EOPNOTSUPP): asking it the rest cost 20,000 socketpair ends two
	 * million failed calls, a third of their dump's time. */
	if (domain == AF_UNIX && o->level != SOL_SOCKET)
		return true;
	if (k && k->has_buffers && o->level == SOL_SOCKET &&
	    (o->name == SO_RCVBUF || o->name == SO_SNDBUF)) {
		*value = o->name == SO_RCVBUF ? k->rcvbuf : k->sndbuf;
		*known = true;
		return true;
	}
	return false;
}

int socket_options_dump_packed(int fd, const struct sockopt_known *k, uint64_t **out,
			       size_t *nr, const char **failed)
{
	uint64_t *list = calloc(ARRAY_SIZE(options), sizeof(*list));
	uint64_t learned[OPTION_WORDS] = { 0 };
	const uint64_t *skip = unanswered_of(k);
	int domain = k ? k->domain : AF_UNSPEC;
	size_t n = 0;

	if (!list)
		return -ENOMEM;
	if (domain == AF_UNSPEC) {
		socklen_t len = sizeof(domain);

		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
			domain = AF_UNSPEC;
	}
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		int value, ret = 0;
		bool known;

		if (!option_known(k, domain, skip, i, &value, &known))
			ret = read_option(fd, &options[i], &value);
		else if (!known)
			continue;
		if (ret == -ENOPROTOOPT || ret == -EOPNOTSUPP)
			learned[i / 64] |= 1ull << (i % 64);
		if (ret && not_this_sockets(ret))
			continue;
		if (ret) {
			*failed = options[i].text;
			free(list);
			return ret;
		}
		list[n++] = socket_option_pack((uint32_t)options[i].level,
					       (uint32_t)options[i].name, value);
	}
	if (!skip)
		unanswered_learn(k, learned);
	/* Kept by every socket until files.img is written: no room to spare. */
	if (n) {
		uint64_t *fit = reallocarray(list, n, sizeof(*list));

		list = fit ? fit : list;
	}
	*out = list;
	*nr = n;
	return 0;
}

int socket_options_dump(int fd, const struct sockopt_known *k, SocketOption ***out, size_t *nr,
			const char *who)
{
	_cleanup_free_ uint64_t *packed = NULL;
	const char *failed = NULL;
	SocketOption **list;
	size_t n = 0;
	int ret = socket_options_dump_packed(fd, k, &packed, &n, &failed);

	if (ret) {
		if (failed)
			pr_err("dump: %s: cannot read %s: %s", who, failed, strerror(-ret));
		return ret;
	}
	list = calloc(n + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	*out = list;
	for (size_t i = 0; i < n; i++) {
		SocketOption *o = malloc(sizeof(*o));

		if (!o)
			return -ENOMEM;
		socket_option__init(o);
		o->level = socket_option_level(packed[i]);
		o->name = socket_option_name(packed[i]);
		o->value = socket_option_value(packed[i]);
		list[i] = o;
		*nr = i + 1;
	}
	return 0;
}

static const struct int_option *option_of(const SocketOption *saved)
{
	return option_find(saved->level, saved->name);
}

/* Sets @o to @value unless @fd has it already, then reads it back; *@set_it
 * (when not NULL) says whether it was set. */
static int apply(int fd, const struct int_option *o, int value, bool *set_it)
{
	int now, ret = read_option(fd, o, &now);
	int set = value, set_name = o->name;

	if (ret)
		return ret;
	if (now == value)
		return 0;
	if (set_it)
		*set_it = true;
	if (o->buffer) {
		/* The kernel doubles it; FORCE passes net.core.[rw]mem_max, as
		 * the original may have (root or CAP_NET_ADMIN). */
		set = value / 2;
		set_name = o->name == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
	}
	if (setsockopt(fd, o->level, set_name, &set, sizeof(set)))
		return -errno;
	ret = read_option(fd, o, &now);
	/* A TCP socket's autotuning may have left an odd size, which a set
	 * (always doubled) cannot give again: one byte less is the nearest. */
	if (!ret && now != value && !(o->buffer && now == set * 2))
		ret = -ERANGE;
	return ret;
}

int inet_options_dump(int fd, const struct sockopt_known *k, InetSocket *s, const char *who)
{
	return socket_options_dump(fd, k, &s->options, &s->n_options, who);
}

static int restore_some(int fd, SocketOption *const *list, size_t n, bool buffers,
			const char **what)
{
	for (size_t i = 0; i < n; i++) {
		const struct int_option *o = option_of(list[i]);
		int ret;

		if (!o || o->buffer != buffers)
			continue;
		ret = apply(fd, o, list[i]->value, NULL);
		if (ret) {
			*what = o->text;
			return ret;
		}
	}
	return 0;
}

int socket_options_restore(int fd, SocketOption *const *list, size_t n, bool buffers,
			   const char **what)
{
	return restore_some(fd, list, n, buffers, what);
}

int socket_options_restore_packed(int fd, const uint64_t *packed, size_t n, bool buffers,
				  const char **what)
{
	for (size_t i = 0; i < n; i++) {
		SocketOption saved = { .level = socket_option_level(packed[i]),
				       .name = socket_option_name(packed[i]),
				       .value = socket_option_value(packed[i]) };
		SocketOption *one = &saved;
		int ret = restore_some(fd, &one, 1, buffers, what);

		if (ret)
			return ret;
	}
	return 0;
}

/* What a new socket of one kind (family, type, protocol) holds in one
 * network namespace (by its SO_NETNS_COOKIE), for every option of the
 * table but the buffers: read from the first new socket of each, since
 * every other new one of the same kind and namespace holds the same (the
 * kernel's constants, the namespace's sysctls and global ones, which a
 * restore does not change). Reading each option of each new socket to
 * find it at its default was a quarter of the restore of 10,000
 * socketpairs, and 60 reads of each of 2,000 TCP sockets. Kept in the
 * restore's context (restore_ctx.new_socket_options), one process's. */
struct new_socket {
	uint64_t netns;
	int family, type, protocol;
	bool has[ARRAY_SIZE(options)];
	int value[ARRAY_SIZE(options)];
};

#define NEW_SOCKETS_MAX 8
struct new_socket_options {
	struct new_socket v[NEW_SOCKETS_MAX];
	size_t nr;
};

/* The values of @fd's kind, read from @fd itself (new, untouched) the
 * first time; NULL when they cannot be kept. */
static const struct new_socket *new_socket_values(struct new_socket_options **cache, int fd,
						  int family, int type, int protocol)
{
	struct new_socket *n = NULL;
	uint64_t netns;
	socklen_t len = sizeof(netns);

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &netns, &len) || len != sizeof(netns))
		return NULL;
	if (!*cache && !(*cache = calloc(1, sizeof(**cache))))
		return NULL;
	for (size_t i = 0; i < (*cache)->nr && !n; i++)
		if ((*cache)->v[i].netns == netns && (*cache)->v[i].family == family &&
		    (*cache)->v[i].type == type && (*cache)->v[i].protocol == protocol)
			n = &(*cache)->v[i];
	if (!n && (*cache)->nr < NEW_SOCKETS_MAX) {
		n = &(*cache)->v[(*cache)->nr++];
		*n = (struct new_socket){ .netns = netns, .family = family, .type = type,
					  .protocol = protocol };
		for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
			const struct int_option *o = &options[i];

			/* A unix socket answers no other level. */
			if (!o->buffer && (family != AF_UNIX || o->level == SOL_SOCKET))
				n->has[i] = !read_option(fd, o, &n->value[i]);
		}
	}
	return n;
}

/* Sets @value of option @o on the new socket @fd unless *@fresh (while
 * not NULL: nothing was set yet, so @fd holds what every new one does)
 * says it is there already; an option set clears *@fresh, since one may
 * change another (IP_TOS sets SO_PRIORITY). */
static int apply_new(const struct new_socket **fresh, int fd, const struct int_option *o,
		     int value)
{
	size_t i = (size_t)(o - options);
	bool set = false;
	int ret;

	if (*fresh && (*fresh)->has[i] && (*fresh)->value[i] == value)
		return 0;
	ret = apply(fd, o, value, &set);
	if (set)
		*fresh = NULL;
	return ret;
}

int socket_options_restore_new(struct new_socket_options **cache, int fd,
			       const struct new_socket_kind *kind, const uint64_t *packed,
			       size_t n, const char **what)
{
	const struct new_socket *fresh = new_socket_values(cache, fd, kind->family, kind->type,
							   kind->protocol);

	for (size_t i = 0; i < n; i++) {
		const struct int_option *o = option_find(socket_option_level(packed[i]),
							 socket_option_name(packed[i]));
		int ret;

		if (!o || o->buffer)
			continue;
		ret = apply_new(&fresh, fd, o, socket_option_value(packed[i]));
		if (ret) {
			*what = o->text;
			return ret;
		}
	}
	return 0;
}

int inet_options_restore_new(struct new_socket_options **cache, int fd, const InetSocket *s,
			     const char **what)
{
	const struct new_socket *fresh = new_socket_values(cache, fd, (int)s->family,
							   (int)s->type, (int)s->protocol);

	for (size_t i = 0; i < s->n_options; i++) {
		const struct int_option *o = option_of(s->options[i]);
		int ret;

		if (!o || o->buffer)
			continue;
		ret = apply_new(&fresh, fd, o, s->options[i]->value);
		if (ret) {
			*what = o->text;
			return ret;
		}
	}
	return 0;
}

int inet_options_restore_buffers(int fd, const InetSocket *s, const char **what)
{
	return restore_some(fd, s->options, s->n_options, true, what);
}

static int read_timeout(int fd, int name, uint64_t *us)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, name, &tv, &len))
		return -errno;
	*us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	return 0;
}

int socket_timeouts_dump(int fd, uint64_t *rcv_us, uint64_t *snd_us, const char **what)
{
	int ret;

	*what = "SO_RCVTIMEO";
	ret = read_timeout(fd, SO_RCVTIMEO_OLD, rcv_us);
	if (!ret) {
		*what = "SO_SNDTIMEO";
		ret = read_timeout(fd, SO_SNDTIMEO_OLD, snd_us);
	}
	return ret;
}

static int set_timeout(int fd, int name, uint64_t us)
{
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000), .tv_usec = us % 1000000 };

	if (!us)
		return 0;
	return setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)) ? -errno : 0;
}

int socket_timeouts_restore(int fd, uint64_t rcv_us, uint64_t snd_us, const char **what)
{
	int ret;

	*what = "SO_RCVTIMEO";
	ret = set_timeout(fd, SO_RCVTIMEO_OLD, rcv_us);
	if (!ret) {
		*what = "SO_SNDTIMEO";
		ret = set_timeout(fd, SO_SNDTIMEO_OLD, snd_us);
	}
	return ret;
}
