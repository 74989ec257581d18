/* The network lock by iptables, criu's way: a chain of cryo's own in the
 * filter table of each family, jumped to first from INPUT, a DROP rule a
 * connection, installed by iptables-restore and ip6tables-restore (as PATH
 * names them: Debian's alternatives make them iptables-nft or -legacy) with
 * the rules on stdin. Which connections, and when, is netlock.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/spawn.h"
#include "net/internal.h"
#include "net/netlock.h"

/* "-A NAME -s ADDR -d ADDR -p tcp -m tcp --sport P --dport P -m mark ! --mark M -j DROP" */
#define RULE_MAX 256

static const char *const restore_program[2] = { "iptables-restore", "ip6tables-restore" };
static const char *const save_program[2] = { "iptables-save", "ip6tables-save" };

static int family_index(int af)
{
	return af == AF_INET ? 0 : 1;
}

/* Runs @program in the lock's network namespace with @input on its stdin,
 * its stdout in *@out when asked. */
static int run_program(struct netlock *l, const char *program, const char *const *args,
		       const char *input, char **out, char *err, size_t err_size)
{
	struct spawn_call c = { .program = program, .args = args, .netns_fd = l->ipt_netns,
				.input = input, .out = out, .err = err, .err_size = err_size };
	int ret = spawn_run(&c);

	if (ret == -ENOENT)
		snprintf(err + strlen(err), err_size - strlen(err), " (Debian's iptables package)");
	return ret;
}

/* Commits @script (one table's lines, without COMMIT) in family @f. */
static int commit(struct netlock *l, int f, char *script, char *err, size_t err_size)
{
	static const char *const args[] = { "-w", "--noflush", NULL };

	strcat(script, "COMMIT\n");
	return run_program(l, restore_program[f], args, script, NULL, err, err_size);
}

/* The filter table of family @f, as iptables-save prints it, in *@out. */
static int save_filter(struct netlock *l, int f, char **out, char *err, size_t err_size)
{
	char *all = NULL, *start, *end;
	int ret = run_program(l, save_program[f], NULL, NULL, &all, err, err_size);

	if (ret)
		return ret;
	start = strstr(all, "*filter\n");
	end = start ? strstr(start, "\nCOMMIT\n") : NULL;
	if (end)
		end[1] = '\0';
	*out = strdup(start ? start : "");
	free(all);
	return *out ? 0 : -ENOMEM;
}

/* Whether @filter (a save of a filter table) has chain @name. */
static bool has_chain(const char *filter, const char *name)
{
	size_t n = strlen(name);

	for (const char *line = filter; line; line = strchr(line, '\n')) {
		line += line != filter;
		if (line[0] == ':' && !strncmp(line + 1, name, n) && line[1 + n] == ' ')
			return true;
	}
	return false;
}

static bool jumps_to(const char *line, const char *name)
{
	const char *j = strstr(line, " -j ");

	return !strncmp(line, "-A ", 3) && j && !strcmp(j + 4, name);
}

/* Appends the lines that make chain @name, jumped to first from INPUT,
 * with the rules of connections @from.. of family @f. */
static void append_chain(struct netlock *l, int f, const char *name, size_t from, bool make,
			 char *script, size_t size)
{
	size_t off = strlen(script);

	if (make)
		off += (size_t)snprintf(script + off, size - off, ":%s - [0:0]\n-I INPUT 1 -j %s\n",
					name, name);
	for (size_t i = from; i < l->nr; i++) {
		struct netlock_match m;

		if (netlock_match_of(l->conns[i], &m) || family_index(m.af) != f)
			continue;
		off += (size_t)snprintf(script + off, size - off,
					"-A %s -s %s -d %s -p tcp -m tcp --sport %u --dport %u "
					"-m mark ! --mark 0x%x -j DROP\n", name, m.peer, m.local,
					m.peer_port, m.local_port, TCP_PACKET_MARK);
	}
}

static bool has_family(struct netlock *l, int f, size_t from)
{
	for (size_t i = from; i < l->nr; i++) {
		struct netlock_match m;

		if (!netlock_match_of(l->conns[i], &m) && family_index(m.af) == f)
			return true;
	}
	return false;
}

/* Chains are made in a family when its first connection comes. */
static int ipt_add(struct netlock *l, const char *name, size_t from, bool owned, char *err,
		   size_t err_size)
{
	int ret = 0;

	(void)owned;	/* the running chain is owned by the run's socket (ipt_open()) */
	for (int f = 0; !ret && f < 2; f++) {
		size_t first = l->ipt_chain[f] ? from : 0, size = 1024 + (l->nr - first) * RULE_MAX;
		char *script;

		if (!has_family(l, f, from))
			continue;
		script = malloc(size);
		if (!script)
			return -ENOMEM;
		snprintf(script, size, "*filter\n");
		append_chain(l, f, name, first, !l->ipt_chain[f], script, size);
		ret = commit(l, f, script, err, err_size);
		free(script);
		if (!ret)
			l->ipt_chain[f] = true;
	}
	return ret;
}

/* The lines that delete chain @name of @filter (a save of a filter
 * table) and every jump to it. */
static void append_delete(const char *filter, const char *name, char *script, size_t size)
{
	char *copy = strdup(filter), *line, *save = NULL;
	size_t off = strlen(script);

	for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		if (jumps_to(line, name))
			off += (size_t)snprintf(script + off, size - off, "-D%s\n", line + 2);
	off += (size_t)snprintf(script + off, size - off, "-F %s\n-X %s\n", name, name);
	free(copy);
}

/* The lines that delete this run's own chain @name, whose one jump it
 * made: no save needed. */
static void append_delete_own(const char *name, char *script, size_t size)
{
	size_t off = strlen(script);

	snprintf(script + off, size - off, "-D INPUT -j %s\n-F %s\n-X %s\n", name, name, name);
}

/* Whether @name is this run's running chain. */
static bool own_chain(const char *name)
{
	char own[64];

	snprintf(own, sizeof(own), "%s%d", netlock_ipt.running, (int)getpid());
	return !strcmp(name, own);
}

/* Per family, in one commit: the held chain made and jumped to, then the
 * running one deleted. */
static int ipt_hand_over(struct netlock *l, const char *running, const char *held, char *err,
			 size_t err_size)
{
	size_t size = 2048 + l->nr * RULE_MAX;
	int ret = 0;

	for (int f = 0; !ret && f < 2; f++) {
		char *script;

		if (!l->ipt_chain[f])
			continue;
		script = malloc(size);
		if (!script)
			return -ENOMEM;
		snprintf(script, size, "*filter\n");
		append_chain(l, f, held, 0, true, script, size);
		append_delete_own(running, script, size);
		ret = commit(l, f, script, err, err_size);
		free(script);
		if (!ret)
			l->ipt_chain[f] = false;
	}
	return ret;
}

/* Chain @name of another run (stale, or a dump's held one) in family @f,
 * with every jump to it that a save of the filter table shows. */
static int remove_found(struct netlock *l, int f, const char *name, char *err, size_t err_size)
{
	char *filter = NULL, *script;
	size_t size;
	int ret = save_filter(l, f, &filter, err, err_size);

	if (ret || !has_chain(filter, name)) {
		free(filter);
		return ret;
	}
	size = strlen(filter) + 1024;
	script = malloc(size);
	if (script) {
		snprintf(script, size, "*filter\n");
		append_delete(filter, name, script, size);
		ret = commit(l, f, script, err, err_size);
	} else {
		ret = -ENOMEM;
	}
	free(script);
	free(filter);
	return ret;
}

/* In each family that has it: this run's own chain where it made it, with
 * the one jump it made; another's as a save shows it. */
static int ipt_remove(struct netlock *l, const char *name, char *err, size_t err_size)
{
	int ret = 0;

	for (int f = 0; f < 2; f++) {
		char own[1024] = "*filter\n";
		int r;

		if (!own_chain(name)) {
			r = remove_found(l, f, name, err, err_size);
		} else if (l->ipt_chain[f]) {
			append_delete_own(name, own, sizeof(own));
			r = commit(l, f, own, err, err_size);
			l->ipt_chain[f] = r != 0;
		} else {
			r = 0;
		}
		ret = ret ? ret : r;
	}
	return ret;
}

static int ipt_list(struct netlock *l, char *out, size_t size)
{
	char err[256];

	out[0] = '\0';
	for (int f = 0; f < 2; f++) {
		char *filter = NULL, *line, *save = NULL;
		int ret = save_filter(l, f, &filter, err, sizeof(err));

		if (ret == -ENOENT)
			return ret;
		if (ret)
			continue;
		for (line = strtok_r(filter, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			size_t n = strcspn(line, " ");
			char name[64];

			if (line[0] != ':' || n < 2 || n > sizeof(name))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)n - 1, line + 1);
			if ((strncmp(name, netlock_ipt.running, strlen(netlock_ipt.running)) &&
			     strncmp(name, netlock_ipt.held, strlen(netlock_ipt.held))))
				continue;
			/* Made in both families: named once. */
			if (!strstr(out, name))
				snprintf(out + strlen(out), size - strlen(out), "%s%s",
					 out[0] ? " " : "", name);
		}
		free(filter);
	}
	return 0;
}

/* "@cryo-netlock-NAME", the abstract name a run holds while chain NAME is
 * its own: the kernel lets it go when cryo dies, killed or not. */
static socklen_t owner_address(const char *name, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "cryo-netlock-%s", name);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa->sun_path + 1));
}

static bool ipt_owned(struct netlock *l, const char *name)
{
	struct sockaddr_un sa;
	socklen_t len = owner_address(name, &sa);
	int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool taken;

	(void)l;
	if (probe < 0)
		return true;
	taken = bind(probe, (struct sockaddr *)&sa, len) && errno == EADDRINUSE;
	close(probe);
	return taken;
}

static int ipt_open(struct netlock *l)
{
	char name[64], path[4096 + 64];
	struct sockaddr_un sa;
	socklen_t len;

	for (int f = 0; f < 2; f++)
		if (spawn_find(restore_program[f], path, sizeof(path))) {
			pr_err("network lock: --network-lock iptables needs %s, not found in PATH "
			       "nor in %s (Debian's iptables package)", restore_program[f],
			       SPAWN_SBIN_DIRS);
			return -ENOENT;
		}
	l->ipt_netns = -1;
	if (l->ipt_owner >= 0)
		return 0;
	snprintf(name, sizeof(name), "%s%d", netlock_ipt.running, (int)getpid());
	len = owner_address(name, &sa);
	l->ipt_owner = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (l->ipt_owner < 0)
		return pr_errno_ret("network lock: cannot make the socket that owns iptables "
				    "chain %s", name);
	if (bind(l->ipt_owner, (struct sockaddr *)&sa, len)) {
		int ret = -errno;

		close(l->ipt_owner);
		l->ipt_owner = -1;
		pr_err("network lock: iptables chain %s is owned by another cryo of the same pid "
		       "(in another pid namespace): %s", name, strerror(-ret));
		return ret;
	}
	return 0;
}

/* Programs run from now on in the namespace cryo is in, also once cryo
 * has left it. */
static int ipt_enter_netns(struct netlock *l)
{
	if (l->ipt_netns >= 0)
		close(l->ipt_netns);
	l->ipt_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (l->ipt_netns < 0)
		return pr_errno_ret("network lock: cannot open the network namespace cryo entered");
	l->ipt_chain[0] = l->ipt_chain[1] = false;
	return 0;
}

static void ipt_close(struct netlock *l)
{
	if (l->ipt_netns >= 0)
		close(l->ipt_netns);
	if (l->ipt_owner >= 0)
		close(l->ipt_owner);
	l->ipt_netns = l->ipt_owner = -1;
	l->ipt_chain[0] = l->ipt_chain[1] = false;
}

const struct netlock_backend netlock_ipt = {
	.kind = "iptables chain",
	.running = "CRYO_LOCK_",
	.held = "CRYO_HELD_",
	.open = ipt_open,
	.enter_netns = ipt_enter_netns,
	.close = ipt_close,
	.add = ipt_add,
	.hand_over = ipt_hand_over,
	.remove = ipt_remove,
	.list = ipt_list,
	.owned = ipt_owned,
};
