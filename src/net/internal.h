/* What the parts of the inet socket kind share (and, with unix_queue.c,
 * how a queue is peeked): its options (options.c),
 * its queue of datagrams (udp_queue.c), raw and ping sockets' peers
 * (raw_peer.c), established TCP connections (tcp_conn.c) and the
 * addresses of its image record (address.c). The
 * kind itself is in inet_socket.c, the sock_diag client in sock_diag.c;
 * nothing here is for callers outside src/net. */
#ifndef CRYO_NET_INTERNAL_H
#define CRYO_NET_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "images/proto/inet_socket.pb-c.h"

/* ---- peeking a queue (udp_queue.c, unix_queue.c) ------------------------ */

/* Peeks start at the queue's head: SO_PEEK_OFF goes to 0, its old value
 * kept in *@old, since the task must find it as it left it. */
static inline int peek_offset_from_head(int fd, int *old)
{
	socklen_t len = sizeof(*old);
	int zero = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, old, &len) ||
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		return -errno;
	return 0;
}

/* Puts SO_PEEK_OFF back to @old: @ret, or the error of doing so. */
static inline int peek_offset_put_back(int fd, int old, int ret)
{
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)) && !ret)
		return -errno;
	return ret;
}

/* Appends @len bytes of @data to the queue's bytes *@bytes (*@size of
 * them, room for *@cap), doubling the room from 64 KiB as needed. */
static inline int queue_bytes_append(uint8_t **bytes, size_t *size, size_t *cap,
				     const void *data, size_t len)
{
	if (*size + len > *cap) {
		size_t room = *cap ? *cap * 2 : 65536;
		uint8_t *b;

		while (room < *size + len)
			room *= 2;
		b = realloc(*bytes, room);
		if (!b)
			return -ENOMEM;
		*bytes = b;
		*cap = room;
	}
	memcpy(*bytes + *size, data, len);
	*size += len;
	return 0;
}

/* ---- options (options.c) ----------------------------------------------- */

/* The options of one kind of socket (family, type, protocol) that the
 * kernel does not answer, learned at a dump's first socket of the kind;
 * kept by a socket kind for the dump (file_dump_kind_state()). */
struct sockopt_unanswered;
struct sockopt_unanswered *sockopt_unanswered_new(void);
void sockopt_unanswered_free(void *unanswered);
/* What the dump already knows of a socket, so its options are not asked
 * again: @domain (AF_UNSPEC: ask), @type and @protocol (a @type below 0:
 * unknown, nothing learned), the buffer sizes from sock_diag. */
struct sockopt_known {
	int domain, type, protocol;
	struct sockopt_unanswered *unanswered;	/* NULL: ask every option */
	bool has_buffers;
	int rcvbuf, sndbuf;			/* SO_RCVBUF, SO_SNDBUF */
};
/* Reads every int option of cryo's list that the socket @fd answers into
 * *@list (allocated, *@n of them): any family's; @k (or NULL) says what
 * need not be asked. Logs against @who. */
int socket_options_dump(int fd, const struct sockopt_known *k, SocketOption ***list, size_t *n,
			const char *who);
/* The same as packed fields (UnixSocket.packed_options), not logged: an
 * option that cannot be read is named in *@failed. */
int socket_options_dump_packed(int fd, const struct sockopt_known *k, uint64_t **list,
			       size_t *n, const char **failed);
static inline uint64_t socket_option_pack(uint32_t level, uint32_t name, int32_t value)
{
	return (uint64_t)(level & 0xffff) << 48 | (uint64_t)(name & 0xffff) << 32 | (uint32_t)value;
}
static inline uint32_t socket_option_level(uint64_t packed)
{
	return (uint32_t)(packed >> 48);
}
static inline uint32_t socket_option_name(uint64_t packed)
{
	return (uint32_t)(packed >> 32) & 0xffff;
}
static inline int32_t socket_option_value(uint64_t packed)
{
	return (int32_t)(uint32_t)packed;
}
/* Sets the saved options @list on the new socket @fd, the buffer sizes
 * only (@buffers) or all but them, each read back; *@what names a failed one. */
int socket_options_restore(int fd, SocketOption *const *list, size_t n, bool buffers,
			   const char **what);
int socket_options_restore_packed(int fd, const uint64_t *packed, size_t n, bool buffers,
				  const char **what);
/* socket_options_restore_packed() of all but the buffers, for @fd a
 * socket of @kind that is new and untouched: an option saved at the value
 * every new one has is not read; what new ones have is kept in *@cache
 * (made on first use, freed with free()) (options.c). */
struct new_socket_options;
struct new_socket_kind {
	int family, type, protocol;
};
int socket_options_restore_new(struct new_socket_options **cache, int fd,
			       const struct new_socket_kind *kind, const uint64_t *packed,
			       size_t n, const char **what);
/* SO_RCVTIMEO and SO_SNDTIMEO in microseconds, 0 for none (any family's);
 * *@what names the one that failed. Restore leaves a 0 unset. */
int socket_timeouts_dump(int fd, uint64_t *rcv_us, uint64_t *snd_us, const char **what);
int socket_timeouts_restore(int fd, uint64_t rcv_us, uint64_t snd_us, const char **what);
/* Reads every int option of cryo's list that the socket @fd answers into
 * s->options (allocated); an option the kernel does not know for this
 * socket is left out. Logs against @who. */
int inet_options_dump(int fd, const struct sockopt_known *k, InetSocket *s, const char *who);
/* Whether (@level, @name) is an option of cryo's list. */
bool inet_option_known(uint32_t level, uint32_t name);
/* Gives the new, untouched socket @fd every saved option but the buffer
 * sizes (see inet_options_restore_buffers()), those a new one has already
 * left alone (@cache as in socket_options_restore_new()), and checks each
 * set by reading it back. *@what names the option on failure. */
int inet_options_restore_new(struct new_socket_options **cache, int fd, const InetSocket *s,
			     const char **what);
/* Gives @fd its saved SO_RCVBUF and SO_SNDBUF, after its queue is filled. */
int inet_options_restore_buffers(int fd, const InetSocket *s, const char **what);

/* ---- multicast memberships (multicast.c) ----------------------------------- */

/* Saves the groups the socket @fd (of task @pid) joined, with their
 * source filters, in s->memberships. Logs against @who. */
int inet_multicast_dump(int fd, pid_t pid, InetSocket *s, const char *who);
/* Whether the saved memberships are sound: multicast groups of the
 * socket's families, sources of the group's family, within limits. */
bool inet_multicast_valid(const InetSocket *s);
/* Joins the saved groups again on the new socket @fd; @what names the
 * group that failed. */
int inet_multicast_restore(int fd, const InetSocket *s, char *what, size_t size);

/* ---- addresses ------------------------------------------------------------ */

/* A socket address from the image's form (4 or 16 bytes, a port, a scope)
 * for a socket of @family: a 4-byte address becomes v4-mapped on an IPv6
 * socket. Returns its length, 0 when @addr has neither length. */
socklen_t inet_sockaddr_make(int family, const ProtobufCBinaryData *addr, uint32_t port,
			     uint32_t scope_id, struct sockaddr_storage *out);
/* "127.0.0.1:53", "[::1]:53", into @buf. */
const char *inet_sockaddr_str(const struct sockaddr_storage *sa, char *buf, size_t size);
/* The image's form of @sa: its address bytes (into @bytes, 16 at most),
 * port and scope. With @unmap, a v4-mapped address is saved as IPv4. */
void inet_sockaddr_split(const struct sockaddr_storage *sa, bool unmap, uint8_t *bytes,
			 size_t *len, uint32_t *port, uint32_t *scope);
/* The same into @out (allocated), @port and @scope. */
int inet_addr_save(const struct sockaddr_storage *sa, bool unmap, ProtobufCBinaryData *out,
		   uint32_t *port, uint32_t *scope);

/* ---- filters and IP options (inet_filters.c) ------------------------------ */

struct fd_probe;
/* Saves the socket filter and its lock, IP_OPTIONS and a raw ICMPv6
 * socket's ICMP6_FILTER into @s; an eBPF filter is refused by name. */
int inet_filters_dump(const struct fd_probe *p, InetSocket *s);
/* What is wrong with the saved filters and IP options, or NULL. */
const char *inet_filters_problem(const InetSocket *s);
/* Sets IP_OPTIONS and ICMP6_FILTER again; *@what names a failed one. */
int inet_ip_filters_restore(int fd, const InetSocket *s, const char **what);
/* Attaches the socket filter again and locks it: after the queue is
 * refilled, which it could otherwise filter away. */
int inet_sock_filter_restore(int fd, const InetSocket *s, const char **what);

/* ---- raw and ping sockets (raw_peer.c) ------------------------------------- */

/* Whether the raw (or with @ping, ping) socket of inode @ino, of task
 * @pid, is connected, and to which address (4 or 16 bytes into @addr).
 * -ENOENT when not listed. */
int raw_socket_peer(pid_t pid, int family, bool ping, uint64_t ino, uint8_t *addr,
		    bool *connected);

/* ---- the queue of a datagram socket (udp_queue.c) ------------------------- */

struct datagram {
	struct sockaddr_storage source;
	const uint8_t *data;
	size_t size;
};

/* Calls @each for every datagram queued to be read on @fd, in order,
 * without taking any out: MSG_PEEK with SO_PEEK_OFF, which is put back as
 * it was. @each returns 0 to go on or -errno. */
int udp_queue_peek(int fd, int (*each)(const struct datagram *dg, void *arg), void *arg);
/* Queues @dg on the bound socket @fd of @s as if its sender had sent it:
 * a raw IPv4 or IPv6 packet with the sender's address, over loopback to
 * the socket's address. @raw4 and @raw6 are raw sockets made on first use
 * (-1 before; the caller closes them). */
int udp_queue_inject(int fd, const InetSocket *s, const struct datagram *dg, int *raw4,
		     int *raw6);

struct file_dump;
struct file_obj;
struct restore_ctx;
/* Saves the queue of the bound UDP socket d->p in d->fe's record and
 * contents. */
int udp_queue_dump(const struct file_dump *d, InetSocket *s);
/* Queues the saved datagrams of @f on its new bound socket @fd and reads
 * them back to check; logged. */
int udp_queue_restore(struct restore_ctx *r, const struct file_obj *f, int fd);

/* ---- TCP states other than established (tcp_state.c) ------------------------ */

/* The mark (SO_MARK) of the packets restore makes as if from a connection's
 * peer, which the network lock lets through. */
#define TCP_PACKET_MARK 0x63727930u

/* Which of its FINs a connection in @state had sent, and received. */
bool tcp_state_fin_sent(unsigned int state);
bool tcp_state_fin_received(unsigned int state);
/* Whether repair mode restores a connection in @state (through established). */
bool tcp_state_supported(unsigned int state);
/* Takes the connection on @fd, restored established in repair mode with
 * its queues and window, to its saved state: its FIN queued (shutdown()),
 * the peer's FIN and ACK as packets made as if by the peer. */
int tcp_state_restore(int fd, const InetSocket *s, const TcpConnection *t);
struct fd_probe;
/* The peer of the connection in SYN_SENT of @p (sock_diag's), at @local. */
int tcp_state_syn_sent_peer(const struct fd_probe *p, const InetSocket *s,
			    const struct sockaddr_storage *local, struct sockaddr_storage *peer);

/* ---- TCP connections taken closed (tcp_close.c) ---------------------------- */

struct fd_probe;
/* Whether --tcp-close was given to the dump of @p. */
bool tcp_close_mode(const struct fd_probe *p);
/* Saves the connection of @p as closed: its addresses and options only. */
int tcp_closed_dump(const struct fd_probe *p, InetSocket *s);
/* Whether the record @s is restored as a closed socket: dumped closed, or a
 * connection restored with --tcp-close. */
bool tcp_restored_closed(const struct restore_ctx *r, const InetSocket *s);
/* Shuts the new socket @fd of a closed connection down both ways: reads
 * see the end of the stream, writes fail with EPIPE. */
int tcp_closed_restore(struct restore_ctx *r, const struct file_obj *f, int fd);

/* ---- established TCP connections (tcp_conn.c) ------------------------------- */

/* Whether the dump of @p takes established connections (--tcp-established). */
bool tcp_established_allowed(const struct fd_probe *p);
/* Saves the connection of the TCP socket d->p, in @state, in s->tcp and
 * its queues in d->fe's contents; puts the socket in repair mode until
 * net_tcp_dump_end(). A state other than established is refused by name. */
int tcp_conn_dump(const struct file_dump *d, InetSocket *s, unsigned int state);
/* What is wrong with s->tcp, NULL when sound; *@queued: its queues' bytes. */
const char *tcp_conn_problem(const InetSocket *s, uint64_t *queued);
/* Drops the options a connection answers that a socket cannot take back
 * (TCP_MAXSEG, the multicast settings an accepted socket took). */
void tcp_conn_drop_unsettable(InetSocket *s);
/* Turns repair mode on or off on @fd. */
int tcp_conn_repair(int fd, bool on);
/* Restores the connection of @f on its new socket @fd, made in repair
 * mode and bound: sequence numbers, connect() to @peer, options, queues,
 * window; then repair off and the unsent data sent. */
int tcp_conn_restore(struct restore_ctx *r, const struct file_obj *f, int fd,
		     const struct sockaddr_storage *peer, socklen_t peer_len);

#endif
