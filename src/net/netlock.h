/* The network lock's two ways of dropping packets, nftables (netlock_nft.c)
 * and iptables (netlock_ipt.c): what the bookkeeping of netlock.c (which
 * connections, when to lock and unlock, stale locks) asks of them. Nothing
 * here is for callers outside src/net. */
#ifndef CRYO_NET_NETLOCK_H
#define CRYO_NET_NETLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "images/proto/inventory.pb-c.h"
#include "net/net.h"

struct nft_ctx;

/* The state of one run's lock, which netlock.c owns. */
struct netlock {
	enum net_lock_mode mode;
	const struct netlock_backend *backend;	/* of @mode; NULL when skipped */
	bool table;		/* our running lock exists */
	bool held;		/* our held lock exists (dump) */
	bool in_netns;		/* the lock is in a tree's own network namespace */
	bool ready;		/* the backend is open, stale locks swept */
	int low_fd;		/* kept for the backend's socket until it opens */
	LockedConnection **conns;
	size_t nr;
	char held_name[64];
	char restore_held[64];	/* the dump's held lock a restore replaces */
	uint64_t lock_ns, unlock_ns;	/* spent installing and removing rules (log) */
	unsigned int runs;		/* transactions or programs run to lock (log) */
	/* nftables: one context for the run (see netlock_nft.c). */
	struct nft_ctx *nft;
	/* iptables: the abstract unix socket whose name says that this run
	 * is alive (its chains are not stale), the tree's network namespace
	 * once entered (-1: cryo's own), and the families whose filter table
	 * has the running chain. */
	int ipt_owner;
	int ipt_netns;
	bool ipt_chain[2];
};

struct netlock_backend {
	const char *kind;		/* in messages: "nftables table inet" */
	const char *running, *held;	/* the prefixes of its lock names, then a pid */
	/* Prepares a run in the network namespace cryo is in (the first time
	 * a lock is made or removed). */
	int (*open)(struct netlock *l);
	/* Moves the run's rules into the network namespace cryo is in now. */
	int (*enter_netns)(struct netlock *l);
	void (*close)(struct netlock *l);
	/* Makes lock @name (@owned: by this run) holding every connection of
	 * @l; with @from > 0, it exists and connections @from.. are added. */
	int (*add)(struct netlock *l, const char *name, size_t from, bool owned, char *err,
		   size_t err_size);
	/* Makes @held (not owned) with every connection and deletes @running,
	 * with no gap between them. */
	int (*hand_over)(struct netlock *l, const char *running, const char *held, char *err,
			 size_t err_size);
	int (*remove)(struct netlock *l, const char *name, char *err, size_t err_size);
	/* The names of its locks (every name, space-separated); -ENOENT when
	 * its program is missing (then none can exist). */
	int (*list)(struct netlock *l, char *out, size_t size);
	/* Whether a live run owns lock @name (no other may delete it). */
	bool (*owned)(struct netlock *l, const char *name);
};

extern const struct netlock_backend netlock_nft;
extern const struct netlock_backend netlock_ipt;

/* A locked connection's incoming packets, as text: from PEER:PEER_PORT
 * to LOCAL:LOCAL_PORT, family AF_INET or AF_INET6. */
struct netlock_match {
	int af;
	char peer[INET6_ADDRSTRLEN], local[INET6_ADDRSTRLEN];
	unsigned int peer_port, local_port;
};

/* -EINVAL when @c's addresses are malformed. */
int netlock_match_of(const LockedConnection *c, struct netlock_match *m);

#endif
