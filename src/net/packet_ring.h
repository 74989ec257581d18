/* A packet socket's mapped rings (packet_ring.c), as the packet socket kind
 * (packet_socket.c) dumps, checks and restores them; nothing here is for
 * callers outside src/net. */
#ifndef CRYO_NET_PACKET_RING_H
#define CRYO_NET_PACKET_RING_H

#include <stdint.h>

#include "files/kind.h"
#include "images/proto/packet_socket.pb-c.h"
#include "net/sock_diag.h"

/* Saves @p's rings (st->rx_ring, st->tx_ring) of TPACKET @version into @s:
 * geometry, bytes and where the kernel goes on; refuses, by name, a ring
 * whose kernel position cannot be told or set again. */
int packet_rings_dump(const struct fd_probe *p, const struct packet_diag_state *st, int version,
		      PacketSocket *s);
/* What is wrong with the rings of @s, of TPACKET @version; NULL if sound. */
const char *packet_rings_problem(const PacketSocket *s, int version);
/* The bytes a mapping of the rings of @s spans (0: it has none). */
uint64_t packet_rings_size(const PacketSocket *s);
/* Sets the rings of @s again on @fd (unbound, options set, the filter of
 * packet_filter_nothing() on), moves the kernel to the saved positions and
 * writes the saved bytes back; *@what names the step that failed. */
int packet_rings_restore(const PacketSocket *s, int fd, int version, const char **what);
/* Attaches a filter that takes no packet (packet_socket.c). */
int packet_filter_nothing(int fd);

#endif
