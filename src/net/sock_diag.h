/* The sock_diag netlink client: dump requests for a family (and protocol),
 * and the state of one inet socket found by its inode. Knows nothing of
 * fds, images or kinds; the socket kinds and the feature probes use it. */
#ifndef CRYO_NET_SOCK_DIAG_H
#define CRYO_NET_SOCK_DIAG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>

/* Called for each SOCK_DIAG_BY_FAMILY reply of a dump; returns 0 to go on,
 * 1 to stop early (the rest of the dump is read and dropped), or -errno. */
typedef int (*sock_diag_cb)(const struct nlmsghdr *h, void *arg);

/* Sends the dump-everything request of @family (AF_UNIX, AF_INET,
 * AF_INET6, AF_PACKET, AF_NETLINK) for @protocol (inet only) and hands
 * each reply to @cb. */
int sock_diag_dump(int family, int protocol, sock_diag_cb cb, void *arg);

/* What sock_diag tells of one inet socket (TCP, UDP, raw, ping). */
struct inet_diag_state {
	uint8_t state;		/* TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN, ... */
	uint8_t shutdown;	/* sk_shutdown: 1 reading, 2 writing */
	bool has_shutdown;
	uint32_t rqueue;	/* bytes: unread (UDP: memory charged) */
	uint32_t wqueue;	/* bytes: unsent (UDP: memory charged) */
	uint32_t ifindex;	/* the bound device, 0 for none */
	uint8_t peer_addr[16];	/* idiag_dst: the peer (4 bytes for IPv4) */
	uint16_t peer_port;	/* host order; 0 for none */
};

/* Finds the socket of inode @ino among the sockets of @family (AF_INET or
 * AF_INET6) and @protocol at the local address @local (and connected to
 * @peer, or NULL); -ENOENT when the kernel does not list it (an inet
 * socket that was never bound is in no table). */
int sock_diag_inet_find(int family, int protocol, const struct sockaddr_storage *local,
			const struct sockaddr_storage *peer, uint64_t ino,
			struct inet_diag_state *out);

/* What sock_diag tells of one unix socket. */
struct unix_diag_state {
	uint8_t type;		/* SOCK_STREAM, ... */
	uint8_t state;		/* TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE */
	uint8_t shutdown;	/* sk_shutdown: 1 reading, 2 writing */
	char name[108];		/* sun_path bytes; a leading 0: abstract */
	size_t name_len;	/* 0: unbound */
	bool has_vfs;		/* the inode of its socket file, when bound to a path */
	uint32_t vfs_ino, vfs_dev;
	bool has_peer;
	uint32_t peer_ino;	/* 0: none, or it closed */
	uint32_t nr_icons;	/* connections waiting in a listener's accept queue */
	uint32_t rqueue, wqueue;	/* a listener's queue and backlog; else bytes */
	bool has_buffers;
	uint32_t rcvbuf, sndbuf;	/* SK_MEMINFO: SO_RCVBUF, SO_SNDBUF */
	/* The inodes of the clients whose connections wait in a listener's
	 * accept queue, oldest first (0: a client that closed); nr_icons of
	 * them. Only in a sock_diag_unix_each() callback, else NULL. */
	const uint32_t *icons;
};

/* Finds the unix socket of inode @ino (sock_diag of cryo's network
 * namespace); -ENOENT when not listed. */
int sock_diag_unix_find(uint64_t ino, struct unix_diag_state *out);

/* Calls @each for every unix socket of cryo's network namespace with its
 * inode and state, including the connections not yet accepted (inode 0,
 * named as their listener, their peer the client). @each returns 0 to go
 * on, 1 to stop, or -errno. */
int sock_diag_unix_each(int (*each)(uint32_t ino, const struct unix_diag_state *st, void *arg),
			void *arg);

/* What sock_diag tells of one packet socket (PACKET_DIAG_*). */
#define PACKET_DIAG_MEMBERS_MAX 64
struct packet_diag_member {
	uint32_t ifindex, count;
	uint16_t type, alen;
	uint8_t addr[32];
};
struct packet_diag_state {
	uint16_t protocol;	/* the one it receives, network byte order */
	uint32_t ifindex;	/* the bound interface, 0 for none */
	uint32_t copy_thresh;	/* PACKET_COPY_THRESH, which no getsockopt reads */
	uint32_t flags;		/* PDI_RUNNING, ... */
	bool rx_ring, tx_ring;	/* PACKET_RX_RING, PACKET_TX_RING set up */
	struct packet_diag_ring rx_req, tx_req;	/* their geometry */
	bool has_fanout;
	uint32_t fanout;	/* id | type << 16 | flags << 24 */
	size_t nr_members;	/* PACKET_ADD_MEMBERSHIP entries */
	struct packet_diag_member members[PACKET_DIAG_MEMBERS_MAX];
	bool too_many_members;
};

/* Finds the packet socket of inode @ino (sock_diag of cryo's network
 * namespace); -ENOENT when not listed. */
int sock_diag_packet_find(uint64_t ino, struct packet_diag_state *out);

#endif
