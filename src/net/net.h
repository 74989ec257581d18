/* What src/net offers the rest of cryo besides its kinds (which are in the
 * table of src/files): naming a socket no kind takes. */
#ifndef CRYO_NET_NET_H
#define CRYO_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "images/proto/inventory.pb-c.h"

/* Writes what the socket @fd is and why cryo refuses it into @buf:
 * "TCP established: needs --tcp-established (or --tcp-close)",
 * "unix stream socket, connected: not supported yet". */
void net_describe_socket(int fd, char *buf, size_t size);

struct netlock;
struct tcp_repaired;

/* What one dump or restore does with TCP connections, and its network
 * lock: the dump's and the restore's contexts own one, set the options and
 * hand it down to the socket kinds (struct fd_probe at dump). */
struct net_run {
	/* --tcp-established: a dump takes established connections, putting
	 * them in repair mode. */
	bool tcp_established;
	/* --tcp-close: a dump takes TCP connections in any state without
	 * reading them (no repair mode, no lock); a restore makes every
	 * connection a closed socket (tcp_close.c). */
	bool tcp_close;
	/* netlock.c's, from net_lock_begin() to net_lock_end(); NULL: none. */
	struct netlock *lock;
	/* The copies of the sockets the dump put in repair mode (tcp_conn.c). */
	struct tcp_repaired *repaired;
	size_t nr_repaired;
};

/* Ends a dump's handling of TCP connections: with @repair_off the sockets
 * put in repair mode are taken out (the tree runs on); without, they are
 * let go as they are, so that a killed task's connection closes without a
 * packet. */
void net_tcp_dump_end(struct net_run *n, bool repair_off);

/* ---- the network lock (netlock.c) ------------------------------------------- */

/* --network-lock: nftables (the default), iptables (criu's fallback) or none. */
enum net_lock_mode { NET_LOCK_NFTABLES, NET_LOCK_IPTABLES, NET_LOCK_SKIP };

/* Starts @n's lock in @mode, until net_lock_end(). Nothing is locked yet,
 * and nothing of the method is touched until a lock is first made or
 * removed: then the locks of that method left by cryo runs that are gone
 * (nftables table inet cryo_lock_PID, iptables chain CRYO_LOCK_PID) are
 * removed, and a missing program (iptables-restore) fails that step. */
int net_lock_begin(struct net_run *n, enum net_lock_mode mode);
/* Drops the incoming packets of the connection from @local to @peer. */
int net_lock_connection(struct net_run *n, const struct sockaddr_storage *local,
			const struct sockaddr_storage *peer);
/* Whether a method was chosen (not --network-lock skip). */
bool net_lock_active(const struct net_run *n);
/* Locks the connections from @locals[i] to @peers[i] in one run (one
 * nftables transaction, one iptables-restore a family); those locked
 * already are skipped, as net_lock_connection() then skips these. */
int net_lock_connections(struct net_run *n, const struct sockaddr_storage *locals,
			 const struct sockaddr_storage *peers, size_t nr);
/* Locks, in one run, every TCP connection the processes @pids hold
 * (sock_diag of the network namespace cryo is in, matched to the socket
 * inodes of their fds), before any is dumped; with --tcp-established
 * only, and not with --tcp-close (netlock_tree.c). */
int net_lock_tree(struct net_run *n, const pid_t *pids, size_t nr);
/* Lists the locked connections in @inv (valid until net_lock_end()); with
 * @hold, hands the lock over to a table that outlives this run and names
 * it in @inv, for the restore to delete. */
int net_lock_save(struct net_run *n, Inventory *inv, bool hold);
/* Locks the connections of @inv (restore); the dump's table goes at
 * net_lock_end(false), so a failed restore (net_lock_end(true)) keeps it.
 * With @in_own_netns the tree has a network namespace of its own: the
 * connections are only counted, and locked by net_lock_enter_netns(). */
int net_lock_restore(struct net_run *n, const Inventory *inv, bool in_own_netns);
/* Moves the lock into the network namespace cryo has just entered (dump)
 * or made (restore), before any connection of it is locked there: a new
 * libnftables context, whose netlink socket belongs to that namespace (or
 * the namespace iptables-restore is run in from then on), and at restore
 * the lock of the connections counted. No held table is made
 * there at dump: it would die with the tree's namespace, and nothing
 * reaches a restored one before the tree runs but through its lock. */
int net_lock_enter_netns(struct net_run *n);
/* Unlocks: deletes this run's table, and unless @keep_held its held one
 * (dump) or the dump's that it replaced (restore). */
void net_lock_end(struct net_run *n, bool keep_held);
/* Deletes this run's table only, keeping the list of connections for
 * net_lock_save(): a pre-copy dump lets its tree run before it writes
 * the inventory. net_lock_end() still ends the lock. */
void net_lock_lift(struct net_run *n);
/* The names of the stale locks and of the held ones of @mode,
 * space-separated; -ENOENT when its program is missing. */
int net_lock_list(enum net_lock_mode mode, char *stale_out, size_t stale_size, char *held_out,
		  size_t held_size);
/* "nftables table inet", "iptables chain": what a lock of @mode is. */
const char *net_lock_kind(enum net_lock_mode mode);

#endif
