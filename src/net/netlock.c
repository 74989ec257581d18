/* The network lock: while a dump or a restore handles TCP connections,
 * packets coming in for them are dropped by an nftables table of cryo's own
 * (libnftables), so that no end answers with a reset. The connections it
 * locks come from tcp_conn.c (dump) and from the inventory (restore). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <unistd.h>

#include "common/log.h"
#include "net/internal.h"
#include "net/net.h"

/* Tables are "cryo_lock_PID" while the cryo of that pid runs, and
 * "cryo_held_PID" when a dump by that pid ended with its tree killed: the
 * lock then waits for the restore, which names it from the inventory. */
#define TABLE_RUNNING "cryo_lock_"
#define TABLE_HELD "cryo_held_"
/* "conns6 { ADDR . ADDR . PORT . PORT }" at most. */
#define RULE_MAX 192

static struct {
	enum net_lock_mode mode;
	bool table;		/* our running table exists */
	bool held;		/* our held table exists (dump) */
	bool in_netns;		/* the context is in a tree's own network namespace */
	char **rules;		/* the match of each locked connection */
	LockedConnection **conns;
	size_t nr;
	char held_name[64];
	char restore_held[64];	/* the dump's held table a restore replaces */
	/* One context for the run, made before the dump opens its copies of
	 * the sockets: its netlink socket keeps a low fd (libnftables waits on
	 * it with select(), which aborts beyond fd 1023), and each rule costs
	 * a transaction, not a new context. The running table is owned by that
	 * socket (flags owner): no other process may change or delete it, and
	 * the kernel deletes it when the socket closes, also when cryo is
	 * killed. */
	struct nft_ctx *ctx;
} lock;

static struct nft_ctx *ctx_new(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	if (ctx) {
		nft_ctx_buffer_output(ctx);
		nft_ctx_buffer_error(ctx);
	}
	return ctx;
}

/* Runs @cmd; on failure puts nft's message in @err. */
static int nft_run(const char *cmd, char *out, size_t out_size, char *err, size_t err_size)
{
	struct nft_ctx *ctx = lock.ctx ? lock.ctx : ctx_new();
	int ret;

	if (!ctx)
		return -ENOMEM;
	ret = nft_run_cmd_from_buffer(ctx, cmd) ? -EIO : 0;
	if (out)
		snprintf(out, out_size, "%s", nft_ctx_get_output_buffer(ctx));
	if (err) {
		const char *e = nft_ctx_get_error_buffer(ctx);

		snprintf(err, err_size, "%.*s", (int)strcspn(e, "\n"), e);
	}
	if (ctx != lock.ctx)
		nft_ctx_free(ctx);
	return ret;
}

static void table_name(const char *prefix, pid_t pid, char *buf, size_t size)
{
	snprintf(buf, size, "%s%d", prefix, (int)pid);
}

/* A connection's incoming packets (from its peer to it) as an element of
 * the set of its family: "conns4 { PEER . LOCAL . PEER_PORT . LOCAL_PORT }". */
static int rule_of(const LockedConnection *c, char *buf, size_t size)
{
	char local[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];
	int af = c->local_addr.len == 4 ? AF_INET : AF_INET6;

	if (c->local_addr.len != c->peer_addr.len ||
	    (c->local_addr.len != 4 && c->local_addr.len != 16) || c->local_port > 65535 ||
	    c->peer_port > 65535 || !inet_ntop(af, c->local_addr.data, local, sizeof(local)) ||
	    !inet_ntop(af, c->peer_addr.data, peer, sizeof(peer)))
		return -EINVAL;
	snprintf(buf, size, "conns%c { %s . %s . %u . %u }", af == AF_INET ? '4' : '6', peer, local,
		 c->peer_port, c->local_port);
	return 0;
}

/* The commands that make table @name with every locked connection: one
 * rule a family whose set holds the connections (adding one to a set costs
 * the same however many there are; a rule each made every commit rebuild
 * the chain). The packets restore makes for a connection (tcp_state.c)
 * carry a mark of cryo's and pass. */
static char *table_cmds(const char *name, bool create, bool owned)
{
	size_t size = 1024 + lock.nr * (RULE_MAX + 64);
	char *cmd = malloc(size);
	size_t off = 0;

	if (!cmd)
		return NULL;
	cmd[0] = '\0';
	if (create)
		off = (size_t)snprintf(
			cmd, size,
			"add table inet %s%s\n"
			"add chain inet %s input { type filter hook input priority raw; "
			"policy accept; }\n"
			"add set inet %s conns4 { type ipv4_addr . ipv4_addr . inet_service . "
			"inet_service; }\n"
			"add set inet %s conns6 { type ipv6_addr . ipv6_addr . inet_service . "
			"inet_service; }\n"
			"add rule inet %s input meta mark != 0x%x ip saddr . ip daddr . tcp sport . "
			"tcp dport @conns4 drop\n"
			"add rule inet %s input meta mark != 0x%x ip6 saddr . ip6 daddr . tcp sport . "
			"tcp dport @conns6 drop\n",
			name, owned ? " { flags owner; }" : "", name, name, name, name, TCP_PACKET_MARK,
			name, TCP_PACKET_MARK);
	for (size_t i = 0; i < lock.nr; i++)
		off += (size_t)snprintf(cmd + off, size - off, "add element inet %s %s\n", name,
					lock.rules[i]);
	return cmd;
}

/* Makes this run's table with every rule counted, or adds the last one;
 * @what names the rules in a message. */
static int apply_rules(const char *what)
{
	char name[64], err[256] = "", *cmd;
	int ret;

	table_name(TABLE_RUNNING, getpid(), name, sizeof(name));
	if (!lock.table) {
		cmd = table_cmds(name, true, true);
	} else {
		cmd = malloc(RULE_MAX + 128);
		if (cmd)
			snprintf(cmd, RULE_MAX + 128, "add element inet %s %s\n", name,
				 lock.rules[lock.nr - 1]);
	}
	if (!cmd)
		return -ENOMEM;
	ret = nft_run(cmd, NULL, 0, err, sizeof(err));
	if (!ret)
		lock.table = true;
	free(cmd);
	if (ret)
		pr_err("network lock: cannot add %s to nftables table inet %s: %s", what, name,
		       err);
	return ret;
}

/* Counts the rule of @c, and with @apply adds it to the table. */
static int add_rule(const LockedConnection *c, bool from_image, bool apply)
{
	char rule[RULE_MAX], what[RULE_MAX + 8];
	char **rules;
	LockedConnection **conns, *copy;

	if (rule_of(c, rule, sizeof(rule)))
		return from_image ? -EBADMSG : -EINVAL;
	rules = realloc(lock.rules, (lock.nr + 1) * sizeof(*rules));
	if (rules)
		lock.rules = rules;
	conns = realloc(lock.conns, (lock.nr + 1) * sizeof(*conns));
	if (conns)
		lock.conns = conns;
	copy = malloc(sizeof(*copy) + 32);
	if (!rules || !conns || !copy || !(rules[lock.nr] = strdup(rule))) {
		free(copy);
		return -ENOMEM;
	}
	*copy = *c;
	copy->local_addr.data = (uint8_t *)(copy + 1);
	copy->peer_addr.data = (uint8_t *)(copy + 1) + 16;
	memcpy(copy->local_addr.data, c->local_addr.data, c->local_addr.len);
	memcpy(copy->peer_addr.data, c->peer_addr.data, c->peer_addr.len);
	conns[lock.nr] = copy;
	/* Counted before the table is made, whose commands hold every rule
	 * counted: the first connection's rule is in it. */
	lock.nr++;
	snprintf(what, sizeof(what), "`%s`", rule);
	return apply ? apply_rules(what) : 0;
}

int net_lock_connection(const struct sockaddr_storage *local, const struct sockaddr_storage *peer)
{
	LockedConnection c = LOCKED_CONNECTION__INIT;
	uint8_t l[16], p[16];
	size_t llen, plen;
	uint32_t scope;

	if (lock.mode == NET_LOCK_SKIP)
		return 0;
	/* A v4-mapped connection is IPv4 on the wire. */
	inet_sockaddr_split(local, true, l, &llen, &c.local_port, &scope);
	inet_sockaddr_split(peer, true, p, &plen, &c.peer_port, &scope);
	c.local_addr = (ProtobufCBinaryData){ .len = llen, .data = l };
	c.peer_addr = (ProtobufCBinaryData){ .len = plen, .data = p };
	return add_rule(&c, false, true);
}

static bool owned(const char *name)
{
	char cmd[128], out[512];

	snprintf(cmd, sizeof(cmd), "list table inet %s\n", name);
	if (nft_run(cmd, out, sizeof(out), NULL, 0))
		return false;
	return strstr(out, "flags owner") != NULL;
}

/* Whether a table of ours named @name was left by a cryo that is gone. */
static bool stale(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, TABLE_RUNNING, strlen(TABLE_RUNNING)))
		return false;
	pid = strtol(name + strlen(TABLE_RUNNING), &end, 10);
	if (*end || pid <= 0 || pid == getpid())
		return false;
	if (!kill((pid_t)pid, 0) || errno != ESRCH)
		return false;
	/* A table owned by a live cryo's netlink socket, whose pid this one
	 * may not see (another pid namespace): not ours to delete, and it
	 * goes with its owner. */
	return !owned(name);
}

int net_lock_list(char *stale_out, size_t stale_size, char *held_out, size_t held_size)
{
	char out[8192], *line, *save = NULL;
	int ret = nft_run("list tables inet", out, sizeof(out), NULL, 0);

	if (stale_out)
		stale_out[0] = 0;
	if (held_out)
		held_out[0] = 0;
	if (ret)
		return ret;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *name;

		if (strncmp(line, "table inet ", 11))
			continue;
		name = line + 11;
		if (stale(name) && stale_out)
			snprintf(stale_out + strlen(stale_out), stale_size - strlen(stale_out), "%s%s",
				 stale_out[0] ? " " : "", name);
		else if (!strncmp(name, TABLE_HELD, strlen(TABLE_HELD)) && held_out)
			snprintf(held_out + strlen(held_out), held_size - strlen(held_out), "%s%s",
				 held_out[0] ? " " : "", name);
	}
	return 0;
}

static void delete_table(const char *name, bool quiet)
{
	char cmd[128], err[256] = "";

	snprintf(cmd, sizeof(cmd), "delete table inet %s\n", name);
	if (nft_run(cmd, NULL, 0, err, sizeof(err)) && !quiet)
		pr_err("network lock: cannot delete nftables table inet %s: %s", name, err);
}

int net_lock_begin(enum net_lock_mode mode)
{
	char stale_tables[1024], *name, *save = NULL;

	lock.mode = mode;
	if (mode != NET_LOCK_SKIP && !lock.ctx)
		lock.ctx = ctx_new();
	if (mode == NET_LOCK_SKIP || net_lock_list(stale_tables, sizeof(stale_tables), NULL, 0))
		return 0;
	for (name = strtok_r(stale_tables, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
		pr_info("network lock: removing nftables table inet %s, left by a cryo that is gone",
			name);
		delete_table(name, false);
	}
	return 0;
}

void net_lock_end(bool keep_held)
{
	char name[64];

	if (lock.held && !keep_held) {
		table_name(TABLE_HELD, getpid(), name, sizeof(name));
		delete_table(name, false);
	}
	lock.held = false;
	/* Gone when the images were moved to another host: no matter. */
	if (lock.restore_held[0] && !keep_held)
		delete_table(lock.restore_held, true);
	lock.restore_held[0] = 0;
	if (lock.table) {
		table_name(TABLE_RUNNING, getpid(), name, sizeof(name));
		delete_table(name, false);
		lock.table = false;
	}
	for (size_t i = 0; i < lock.nr; i++) {
		free(lock.rules[i]);
		free(lock.conns[i]);
	}
	free(lock.rules);
	free(lock.conns);
	lock.rules = NULL;
	lock.conns = NULL;
	lock.nr = 0;
	lock.in_netns = false;
	if (lock.ctx)
		nft_ctx_free(lock.ctx);
	lock.ctx = NULL;
}

int net_lock_save(Inventory *inv, bool hold)
{
	char running[64], held[64], err[256] = "", *cmd;
	size_t off;
	int ret;

	inv->n_locked_connections = lock.nr;
	inv->locked_connections = lock.conns;
	/* A table in the tree's own namespace would die with it. */
	if (!lock.table || !hold || lock.in_netns)
		return 0;
	table_name(TABLE_RUNNING, getpid(), running, sizeof(running));
	table_name(TABLE_HELD, getpid(), held, sizeof(held));
	/* One transaction: the held table takes over with no gap. */
	cmd = table_cmds(held, true, false);
	if (!cmd)
		return -ENOMEM;
	off = strlen(cmd);
	cmd = realloc(cmd, off + 128);
	if (!cmd)
		return -ENOMEM;
	snprintf(cmd + off, 128, "delete table inet %s\n", running);
	ret = nft_run(cmd, NULL, 0, err, sizeof(err));
	free(cmd);
	if (ret) {
		pr_err("network lock: cannot hand table inet %s over to inet %s: %s", running,
		       held, err);
		return ret;
	}
	lock.table = false;
	lock.held = true;
	snprintf(lock.held_name, sizeof(lock.held_name), "%s", held);
	inv->network_lock_table = lock.held_name;
	return 0;
}

int net_lock_enter_netns(void)
{
	if (lock.mode == NET_LOCK_SKIP)
		return 0;
	if (lock.table || lock.held) {
		pr_err("network lock: a table already exists in cryo's own network namespace");
		return -EBUSY;
	}
	if (lock.ctx)
		nft_ctx_free(lock.ctx);
	lock.ctx = ctx_new();
	if (!lock.ctx)
		return -ENOMEM;
	lock.in_netns = true;
	return lock.nr ? apply_rules("the rules of the dump's connections") : 0;
}

int net_lock_restore(const Inventory *inv, bool in_own_netns)
{
	int ret = 0;

	/* Skipped: the held table still goes, or it would drop them forever.
	 * One transaction makes the table with them all. */
	for (size_t i = 0; !ret && lock.mode != NET_LOCK_SKIP && i < inv->n_locked_connections; i++)
		ret = add_rule(inv->locked_connections[i], true, false);
	if (ret == -EBADMSG)
		pr_err("restore: inventory.img: a locked connection's addresses are malformed");
	if (!ret && lock.nr && !lock.table && !in_own_netns)
		ret = apply_rules("the rules of the dump's connections");
	if (!ret && inv->network_lock_table) {
		if (strncmp(inv->network_lock_table, TABLE_HELD, strlen(TABLE_HELD)) ||
		    strspn(inv->network_lock_table + strlen(TABLE_HELD), "0123456789") !=
			    strlen(inv->network_lock_table) - strlen(TABLE_HELD)) {
			pr_err("restore: inventory.img: network lock table '%s' is not one of cryo's",
			       inv->network_lock_table);
			return -EBADMSG;
		}
		/* Deleted once the restore succeeded (net_lock_end()). */
		snprintf(lock.restore_held, sizeof(lock.restore_held), "%s",
			 inv->network_lock_table);
	}
	return ret;
}
