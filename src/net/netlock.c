/* The network lock's bookkeeping: while a dump or a restore handles TCP
 * connections, packets coming in for them are dropped, so that no end
 * answers with a reset. Which connections (from tcp_conn.c at dump, from the
 * inventory at restore), when they are locked and unlocked, and which locks
 * are stale are decided here; how rules are installed is netlock_nft.c's
 * (nftables) or netlock_ipt.c's (iptables). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "common/log.h"
#include "stats/stats.h"
#include "net/internal.h"
#include "net/net.h"
#include "net/netlock.h"

/* Locks are named RUNNING_PID (a backend's prefix) while the cryo of that
 * pid runs, and HELD_PID when a dump by that pid ended with its tree
 * killed: the lock then waits for the restore, which names it from the
 * inventory. */
#define NETLOCK_INIT { .ipt_owner = -1, .ipt_netns = -1, .low_fd = -1 }

static const struct netlock_backend *const backends[] = { &netlock_nft, &netlock_ipt };

static void lock_name(const char *prefix, pid_t pid, char *buf, size_t size)
{
	snprintf(buf, size, "%s%d", prefix, (int)pid);
}

int netlock_match_of(const LockedConnection *c, struct netlock_match *m)
{
	m->af = c->local_addr.len == 4 ? AF_INET : AF_INET6;
	if (c->local_addr.len != c->peer_addr.len ||
	    (c->local_addr.len != 4 && c->local_addr.len != 16) || c->local_port > 65535 ||
	    c->peer_port > 65535 || !inet_ntop(m->af, c->local_addr.data, m->local, sizeof(m->local)) ||
	    !inet_ntop(m->af, c->peer_addr.data, m->peer, sizeof(m->peer)))
		return -EINVAL;
	m->local_port = c->local_port;
	m->peer_port = c->peer_port;
	return 0;
}

static int lock_ready(struct netlock *l);

/* Makes this run's lock with every connection counted, or adds those from
 * @from on; @what names them in a message. */
static int apply_rules(struct netlock *l, const char *what, size_t from)
{
	const struct netlock_backend *b = l->backend;
	char name[64], err[256] = "";
	uint64_t began = stats_now();
	int ret;

	ret = lock_ready(l);
	if (ret)
		return ret;
	lock_name(b->running, getpid(), name, sizeof(name));
	ret = b->add(l, name, l->table ? from : 0, true, err, sizeof(err));
	l->lock_ns += stats_now() - began;
	l->runs++;
	if (!ret)
		l->table = true;
	else
		pr_err("network lock: cannot add %s to %s %s: %s", what, b->kind, name, err);
	return ret;
}

static bool same_connection(const LockedConnection *a, const LockedConnection *b)
{
	return a->local_port == b->local_port && a->peer_port == b->peer_port &&
	       a->local_addr.len == b->local_addr.len && a->peer_addr.len == b->peer_addr.len &&
	       !memcmp(a->local_addr.data, b->local_addr.data, a->local_addr.len) &&
	       !memcmp(a->peer_addr.data, b->peer_addr.data, a->peer_addr.len);
}

/* Whether @c is locked already (by net_lock_connections() at dump). */
static bool counted(const struct netlock *l, const LockedConnection *c)
{
	for (size_t i = 0; i < l->nr; i++)
		if (same_connection(l->conns[i], c))
			return true;
	return false;
}

/* Counts connection @c, and with @apply locks it. */
static int add_rule(struct netlock *l, const LockedConnection *c, bool from_image, bool apply)
{
	struct netlock_match m;
	char what[INET6_ADDRSTRLEN * 2 + 64];
	LockedConnection **conns, *copy;

	if (netlock_match_of(c, &m))
		return from_image ? -EBADMSG : -EINVAL;
	if (!from_image && counted(l, c))
		return 0;
	conns = realloc(l->conns, (l->nr + 1) * sizeof(*conns));
	if (conns)
		l->conns = conns;
	copy = malloc(sizeof(*copy) + 32);
	if (!conns || !copy) {
		free(copy);
		return -ENOMEM;
	}
	*copy = *c;
	copy->local_addr.data = (uint8_t *)(copy + 1);
	copy->peer_addr.data = (uint8_t *)(copy + 1) + 16;
	memcpy(copy->local_addr.data, c->local_addr.data, c->local_addr.len);
	memcpy(copy->peer_addr.data, c->peer_addr.data, c->peer_addr.len);
	conns[l->nr] = copy;
	/* Counted before the lock is made, which holds every connection
	 * counted: the first connection is in it. */
	l->nr++;
	snprintf(what, sizeof(what), "the connection from %s port %u to %s port %u", m.peer,
		 m.peer_port, m.local, m.local_port);
	return apply ? apply_rules(l, what, l->nr - 1) : 0;
}

/* Counts the connection from @local to @peer, and with @apply locks it. */
static int add_pair(struct netlock *l, const struct sockaddr_storage *local,
		    const struct sockaddr_storage *peer, bool apply)
{
	LockedConnection c = LOCKED_CONNECTION__INIT;
	uint8_t la[16], pa[16];
	size_t llen, plen;
	uint32_t scope;

	/* A v4-mapped connection is IPv4 on the wire. */
	inet_sockaddr_split(local, true, la, &llen, &c.local_port, &scope);
	inet_sockaddr_split(peer, true, pa, &plen, &c.peer_port, &scope);
	c.local_addr = (ProtobufCBinaryData){ .len = llen, .data = la };
	c.peer_addr = (ProtobufCBinaryData){ .len = plen, .data = pa };
	return add_rule(l, &c, false, apply);
}

int net_lock_connection(struct net_run *n, const struct sockaddr_storage *local,
			const struct sockaddr_storage *peer)
{
	return net_lock_active(n) ? add_pair(n->lock, local, peer, true) : 0;
}

bool net_lock_active(const struct net_run *n)
{
	return n->lock && n->lock->backend;
}

int net_lock_connections(struct net_run *n, const struct sockaddr_storage *locals,
			 const struct sockaddr_storage *peers, size_t nr)
{
	struct netlock *l = n->lock;
	size_t from = l ? l->nr : 0;
	int ret = 0;

	for (size_t i = 0; !ret && net_lock_active(n) && i < nr; i++)
		ret = add_pair(l, &locals[i], &peers[i], false);
	if (!ret && l && l->nr > from)
		ret = apply_rules(l, "the tree's connections", from);
	return ret;
}

static const struct netlock_backend *backend_of(enum net_lock_mode mode)
{
	return mode == NET_LOCK_IPTABLES ? &netlock_ipt : mode == NET_LOCK_NFTABLES ? &netlock_nft :
									     NULL;
}

const char *net_lock_kind(enum net_lock_mode mode)
{
	const struct netlock_backend *b = backend_of(mode);

	return b ? b->kind : "no lock";
}

/* Whether lock @name of @b was left by a cryo that is gone. */
static bool stale(struct netlock *l, const struct netlock_backend *b, const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, b->running, strlen(b->running)))
		return false;
	pid = strtol(name + strlen(b->running), &end, 10);
	if (*end || pid <= 0 || pid == getpid())
		return false;
	if (!kill((pid_t)pid, 0) || errno != ESRCH)
		return false;
	/* Owned by a live cryo whose pid this one may not see (another pid
	 * namespace): not ours to delete, and it goes with its owner. */
	return !b->owned(l, name);
}

static void append_name(char *out, size_t size, const char *name)
{
	snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? " " : "", name);
}

/* net_lock_list() through @l, a run's lock or one made for the call. */
static int list_locks(struct netlock *l, enum net_lock_mode mode, char *stale_out,
		      size_t stale_size, char *held_out, size_t held_size)
{
	const struct netlock_backend *b = backend_of(mode);
	char names[8192], *name, *save = NULL;
	int ret;

	if (stale_out)
		stale_out[0] = 0;
	if (held_out)
		held_out[0] = 0;
	if (!b)
		return 0;
	ret = b->list(l, names, sizeof(names));
	if (ret)
		return ret;
	for (name = strtok_r(names, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
		if (stale(l, b, name) && stale_out)
			append_name(stale_out, stale_size, name);
		else if (!strncmp(name, b->held, strlen(b->held)) && held_out)
			append_name(held_out, held_size, name);
	}
	return 0;
}

int net_lock_list(enum net_lock_mode mode, char *stale_out, size_t stale_size, char *held_out,
		  size_t held_size)
{
	struct netlock l = NETLOCK_INIT;

	return list_locks(&l, mode, stale_out, stale_size, held_out, held_size);
}

static void delete_lock(struct netlock *l, const char *name, bool quiet)
{
	const struct netlock_backend *b = l->backend;
	char err[256] = "";

	if (b->remove(l, name, err, sizeof(err)) && !quiet)
		pr_err("network lock: cannot delete %s %s: %s", b->kind, name, err);
}

int net_lock_begin(struct net_run *n, enum net_lock_mode mode)
{
	struct netlock *l = malloc(sizeof(*l));

	/* Made in every mode: a restore without a lock still deletes the
	 * dump's held one. */
	if (!l)
		return -ENOMEM;
	*l = (struct netlock)NETLOCK_INIT;
	n->lock = l;
	l->mode = mode;
	l->backend = backend_of(mode);
	/* The backend opens when a lock is first needed (lock_ready()): most
	 * dumps and restores have no connection to lock, and then never load
	 * libnftables nor run iptables. A low fd is kept for its socket, which
	 * libnftables waits on with select() (fds past 1023 abort it), since
	 * by then a dump may hold thousands of copies of sockets. */
	if (l->backend)
		l->low_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

/* Opens the backend in the network namespace cryo is in (the tree's own
 * once net_lock_enter_netns() was called) and deletes the stale locks
 * there, the first time a lock is made or removed. */
static int lock_ready(struct netlock *l)
{
	const struct netlock_backend *b = l->backend;
	char stale_locks[1024], *name, *save = NULL;
	int ret;

	if (l->ready)
		return 0;
	if (l->low_fd >= 0)
		close(l->low_fd);
	l->low_fd = -1;
	ret = b->open(l);
	if (!ret && l->in_netns)
		ret = b->enter_netns(l);
	if (ret)
		return ret;
	l->ready = true;
	/* Not listed: the stale locks wait for a later run. */
	if (list_locks(l, l->mode, stale_locks, sizeof(stale_locks), NULL, 0))
		return 0;
	for (name = strtok_r(stale_locks, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
		pr_info("network lock: removing %s %s, left by a cryo that is gone", b->kind,
			name);
		delete_lock(l, name, false);
	}
	return 0;
}

/* The backend whose held locks are named like @name, or NULL. */
static const struct netlock_backend *held_backend(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		const char *prefix = backends[i]->held;

		if (!strncmp(name, prefix, strlen(prefix)) && name[strlen(prefix)] &&
		    strspn(name + strlen(prefix), "0123456789") == strlen(name + strlen(prefix)))
			return backends[i];
	}
	return NULL;
}

void net_lock_lift(struct net_run *n)
{
	struct netlock *l = n->lock;
	const struct netlock_backend *b = l ? l->backend : NULL;
	char name[64];

	if (b && l->table) {
		uint64_t began = stats_now();

		lock_name(b->running, getpid(), name, sizeof(name));
		delete_lock(l, name, false);
		l->table = false;
		l->unlock_ns += stats_now() - began;
	}
}

void net_lock_end(struct net_run *n, bool keep_held)
{
	struct netlock *l = n->lock;
	const struct netlock_backend *b = l ? l->backend : NULL;
	char name[64];

	if (!l)
		return;
	if (b && l->held && !keep_held) {
		lock_name(b->held, getpid(), name, sizeof(name));
		delete_lock(l, name, false);
	}
	/* Gone when the images were moved to another host: no matter. It may
	 * be of the other method than this restore's. */
	if (l->restore_held[0] && !keep_held) {
		const struct netlock_backend *of = held_backend(l->restore_held);
		struct netlock other = NETLOCK_INIT;
		uint64_t began = stats_now();

		if (of == b && !lock_ready(l))
			delete_lock(l, l->restore_held, true);
		else if (of)
			of->remove(&other, l->restore_held, name, sizeof(name));
		l->unlock_ns += stats_now() - began;
	}
	net_lock_lift(n);
	if (b && l->nr)
		pr_info("network lock: %zu connections by %s: %.1f ms to lock (%u %s), %.1f ms "
			"to unlock", l->nr, b->kind, l->lock_ns / 1e6, l->runs,
			l->runs == 1 ? "run" : "runs", l->unlock_ns / 1e6);
	for (size_t i = 0; i < l->nr; i++)
		free(l->conns[i]);
	free(l->conns);
	if (b)
		b->close(l);
	if (l->low_fd >= 0)
		close(l->low_fd);
	free(l);
	n->lock = NULL;
}

int net_lock_save(struct net_run *n, Inventory *inv, bool hold)
{
	struct netlock *l = n->lock;
	const struct netlock_backend *b = l ? l->backend : NULL;
	char running[64], held[64], err[256] = "";
	uint64_t began;
	int ret;

	if (!l)
		return 0;
	inv->n_locked_connections = l->nr;
	inv->locked_connections = l->conns;
	/* A lock in the tree's own namespace would die with it. */
	if (!b || !l->table || !hold || l->in_netns)
		return 0;
	lock_name(b->running, getpid(), running, sizeof(running));
	lock_name(b->held, getpid(), held, sizeof(held));
	began = stats_now();
	ret = b->hand_over(l, running, held, err, sizeof(err));
	l->lock_ns += stats_now() - began;
	if (ret) {
		pr_err("network lock: cannot hand %s %s over to %s: %s", b->kind, running, held,
		       err);
		return ret;
	}
	l->table = false;
	l->held = true;
	snprintf(l->held_name, sizeof(l->held_name), "%s", held);
	inv->network_lock_table = l->held_name;
	return 0;
}

int net_lock_enter_netns(struct net_run *n)
{
	struct netlock *l = n->lock;
	int ret;

	if (!net_lock_active(n))
		return 0;
	if (l->table || l->held) {
		pr_err("network lock: a %s already exists in cryo's own network namespace",
		       l->backend->kind);
		return -EBUSY;
	}
	/* Not open yet: it opens in the tree's namespace when first needed. */
	ret = l->ready ? l->backend->enter_netns(l) : 0;
	if (ret)
		return ret;
	l->in_netns = true;
	return l->nr ? apply_rules(l, "the dump's connections", 0) : 0;
}

int net_lock_restore(struct net_run *n, const Inventory *inv, bool in_own_netns)
{
	struct netlock *l = n->lock;
	int ret = 0;

	/* Skipped: the held lock still goes, or it would drop them forever.
	 * One transaction makes the lock with them all. */
	for (size_t i = 0; !ret && net_lock_active(n) && i < inv->n_locked_connections; i++)
		ret = add_rule(l, inv->locked_connections[i], true, false);
	if (ret == -EBADMSG)
		pr_err("restore: inventory.img: a locked connection's addresses are malformed");
	if (!ret && l && l->nr && !l->table && !in_own_netns)
		ret = apply_rules(l, "the dump's connections", 0);
	if (!ret && inv->network_lock_table) {
		if (!held_backend(inv->network_lock_table)) {
			pr_err("restore: inventory.img: network lock '%s' is not one of cryo's",
			       inv->network_lock_table);
			return -EBADMSG;
		}
		/* Deleted once the restore succeeded (net_lock_end()). */
		if (l)
			snprintf(l->restore_held, sizeof(l->restore_held), "%s",
				 inv->network_lock_table);
	}
	return ret;
}
