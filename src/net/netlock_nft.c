/* The network lock by nftables (libnftables): a table of cryo's own whose
 * sets hold the locked connections. Which connections, and when they are
 * locked and unlocked, is netlock.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/nft_lib.h"
#include "net/internal.h"
#include "net/netlock.h"

/* "add element inet NAME conns6 { ADDR . ADDR . PORT . PORT }" at most. */
#define ELEMENT_MAX 256

/* A context that buffers output and errors; NULL when libnftables cannot
 * be loaded (said) or is out of memory. */
static struct nft_ctx *ctx_new(const struct nft_lib *nl)
{
	struct nft_ctx *ctx = nl ? nl->nft_ctx_new(NFT_CTX_DEFAULT) : NULL;

	if (ctx) {
		nl->nft_ctx_buffer_output(ctx);
		nl->nft_ctx_buffer_error(ctx);
	}
	return ctx;
}

/* Runs @cmd in the run's context (a new one outside a run); on failure
 * puts nft's message in @err. */
static int nft_run(struct netlock *l, const char *cmd, char *out, size_t out_size, char *err,
		   size_t err_size)
{
	const struct nft_lib *nl = nft_lib();
	struct nft_ctx *ctx = l->nft ? l->nft : ctx_new(nl);
	int ret;

	if (!ctx) {
		if (err)
			snprintf(err, err_size, "%s", nl ? "out of memory" : "no libnftables");
		return nl ? -ENOMEM : -ENOENT;
	}
	ret = nl->nft_run_cmd_from_buffer(ctx, cmd) ? -EIO : 0;
	if (out)
		snprintf(out, out_size, "%s", nl->nft_ctx_get_output_buffer(ctx));
	if (err) {
		const char *e = nl->nft_ctx_get_error_buffer(ctx);

		snprintf(err, err_size, "%.*s", (int)strcspn(e, "\n"), e);
	}
	if (ctx != l->nft)
		nl->nft_ctx_free(ctx);
	return ret;
}

/* One context for the run, made before the dump opens its copies of the
 * sockets: its netlink socket keeps a low fd (libnftables waits on it with
 * select(), which aborts beyond fd 1023), and each connection costs a
 * transaction, not a new context. The running table is owned by that
 * socket (flags owner): no other process may change or delete it, and the
 * kernel deletes it when the socket closes, also when cryo is killed. */
static int nft_open(struct netlock *l)
{
	const struct nft_lib *nl = nft_lib();

	if (!l->nft)
		l->nft = ctx_new(nl);
	return l->nft ? 0 : nl ? -ENOMEM : -ENOENT;
}

static void nft_close(struct netlock *l)
{
	if (l->nft)
		nft_lib()->nft_ctx_free(l->nft);
	l->nft = NULL;
}

/* A new context: its netlink socket belongs to the namespace cryo is in. */
static int nft_enter_netns(struct netlock *l)
{
	nft_close(l);
	return nft_open(l);
}

/* Appends "add element inet NAME conns4 { PEER . LOCAL . PEER_PORT .
 * LOCAL_PORT }" for connection @i of @l. */
static int append_element(struct netlock *l, size_t i, const char *name, char *cmd, size_t *off,
			  size_t size)
{
	struct netlock_match m;
	int ret = netlock_match_of(l->conns[i], &m);

	if (ret)
		return ret;
	*off += (size_t)snprintf(cmd + *off, size - *off, "add element inet %s conns%c { %s . %s . "
				 "%u . %u }\n", name, m.af == AF_INET ? '4' : '6', m.peer,
				 m.local, m.peer_port, m.local_port);
	return 0;
}

/* The commands that make table @name with connections @from.. of @l: one
 * rule a family whose set holds the connections (adding one to a set costs
 * the same however many there are; a rule each made every commit rebuild
 * the chain). The packets restore makes for a connection (tcp_state.c)
 * carry a mark of cryo's and pass. @extra room is left at the end. */
static char *table_cmds(struct netlock *l, const char *name, size_t from, bool owned,
			size_t extra)
{
	size_t size = 1024 + (l->nr - from) * ELEMENT_MAX + extra;
	char *cmd = malloc(size);
	size_t off = 0;

	if (!cmd)
		return NULL;
	cmd[0] = '\0';
	if (!from)
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
	for (size_t i = from; i < l->nr; i++)
		if (append_element(l, i, name, cmd, &off, size)) {
			free(cmd);
			return NULL;
		}
	return cmd;
}

static int nft_add(struct netlock *l, const char *name, size_t from, bool owned, char *err,
		   size_t err_size)
{
	char *cmd = table_cmds(l, name, from, owned, 0);
	int ret;

	if (!cmd)
		return -ENOMEM;
	ret = nft_run(l, cmd, NULL, 0, err, err_size);
	free(cmd);
	return ret;
}

/* One transaction: the held table takes over with no gap. */
static int nft_hand_over(struct netlock *l, const char *running, const char *held, char *err,
			 size_t err_size)
{
	char *cmd = table_cmds(l, held, 0, false, 128);
	size_t off;
	int ret;

	if (!cmd)
		return -ENOMEM;
	off = strlen(cmd);
	snprintf(cmd + off, 128, "delete table inet %s\n", running);
	ret = nft_run(l, cmd, NULL, 0, err, err_size);
	free(cmd);
	return ret;
}

static int nft_remove(struct netlock *l, const char *name, char *err, size_t err_size)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "delete table inet %s\n", name);
	return nft_run(l, cmd, NULL, 0, err, err_size);
}

static int nft_list(struct netlock *l, char *out, size_t size)
{
	char listing[8192], *line, *save = NULL;
	int ret = nft_run(l, "list tables inet", listing, sizeof(listing), NULL, 0);

	out[0] = '\0';
	if (ret)
		return ret;
	for (line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "table inet ", 11))
			snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? " " : "",
				 line + 11);
	return 0;
}

/* A table owned by a live cryo's netlink socket, whose pid this one may
 * not see (another pid namespace), goes with its owner. */
static bool nft_owned(struct netlock *l, const char *name)
{
	char cmd[128], out[512];

	snprintf(cmd, sizeof(cmd), "list table inet %s\n", name);
	if (nft_run(l, cmd, out, sizeof(out), NULL, 0))
		return false;
	return strstr(out, "flags owner") != NULL;
}

const struct netlock_backend netlock_nft = {
	.kind = "nftables table inet",
	.running = "cryo_lock_",
	.held = "cryo_held_",
	.open = nft_open,
	.enter_netns = nft_enter_netns,
	.close = nft_close,
	.add = nft_add,
	.hand_over = nft_hand_over,
	.remove = nft_remove,
	.list = nft_list,
	.owned = nft_owned,
};
