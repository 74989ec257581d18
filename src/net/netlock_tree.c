/* The dump's lock of a whole tree's TCP connections in one run: their
 * sockets found by inode in the processes' fd tables and in sock_diag, then
 * handed to netlock.c at once. Rules and bookkeeping are netlock*.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "net/internal.h"
#include "net/net.h"
#include "net/sock_diag.h"

/* The socket inodes of the tree (sorted), then the connections found. */
struct tree_conns {
	uint64_t *inodes;
	size_t nr_inodes, cap_inodes;
	struct sockaddr_storage *locals, *peers;
	size_t nr, cap_locals, cap_peers;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int grow(void **arr, size_t *cap, size_t want, size_t elem)
{
	void *more;
	size_t n = *cap ? *cap * 2 : 64;

	if (want <= *cap)
		return 0;
	more = realloc(*arr, n * elem);
	if (!more)
		return -ENOMEM;
	*arr = more;
	*cap = n;
	return 0;
}

/* Adds the inodes of the sockets process @pid has open; stopped by the
 * dump, it opens and closes nothing meanwhile. */
static int read_socket_inodes(pid_t pid, struct tree_conns *tc)
{
	char path[64], link[64];
	struct dirent *e;
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return pr_errno_ret("dump: pid %d: cannot list %s", (int)pid, path);
	while (!ret && (e = readdir(dir))) {
		ssize_t n = readlinkat(dirfd(dir), e->d_name, link, sizeof(link) - 1);
		uint64_t ino;

		if (n <= 0 || e->d_name[0] == '.')
			continue;
		link[n] = 0;
		if (sscanf(link, "socket:[%" SCNu64 "]", &ino) != 1)
			continue;
		ret = grow((void **)&tc->inodes, &tc->cap_inodes, tc->nr_inodes + 1,
			   sizeof(*tc->inodes));
		if (!ret)
			tc->inodes[tc->nr_inodes++] = ino;
	}
	closedir(dir);
	return ret;
}

static void make_addr(int family, const __be32 *addr, __be16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = port;
		memcpy(&sin->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		memcpy(&sin6->sin6_addr, addr, 16);
	}
}

/* Keeps a connection of the tree in a state the dump takes through repair
 * mode (the states tcp_conn_dump() locks). */
static int take_connection(const struct nlmsghdr *h, void *arg)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(h);
	struct tree_conns *tc = arg;
	uint64_t ino;
	int ret;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	ino = m->idiag_inode;
	if (!ino || !tcp_state_supported(m->idiag_state) || !m->id.idiag_dport ||
	    !bsearch(&ino, tc->inodes, tc->nr_inodes, sizeof(ino), cmp_u64))
		return 0;
	ret = grow((void **)&tc->locals, &tc->cap_locals, tc->nr + 1, sizeof(*tc->locals));
	if (!ret)
		ret = grow((void **)&tc->peers, &tc->cap_peers, tc->nr + 1, sizeof(*tc->peers));
	if (ret)
		return ret;
	make_addr(m->idiag_family, m->id.idiag_src, m->id.idiag_sport, &tc->locals[tc->nr]);
	make_addr(m->idiag_family, m->id.idiag_dst, m->id.idiag_dport, &tc->peers[tc->nr]);
	tc->nr++;
	return 0;
}

int net_lock_tree(struct net_run *n, const pid_t *pids, size_t nr)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct tree_conns tc = { 0 };
	int ret = 0;

	/* Without --tcp-established no connection is dumped; with
	 * --tcp-close none is read, so none is locked. */
	if (!net_lock_active(n) || !n->tcp_established || n->tcp_close)
		return 0;
	for (size_t i = 0; !ret && i < nr; i++)
		ret = read_socket_inodes(pids[i], &tc);
	if (!ret && tc.nr_inodes) {
		qsort(tc.inodes, tc.nr_inodes, sizeof(*tc.inodes), cmp_u64);
		for (size_t f = 0; !ret && f < 2; f++) {
			ret = sock_diag_dump(families[f], IPPROTO_TCP, take_connection, &tc);
			if (ret)
				pr_err("dump: cannot list the TCP connections of %s to lock them: "
				       "%s", families[f] == AF_INET ? "IPv4" : "IPv6",
				       strerror(-ret));
		}
	}
	if (!ret && tc.nr) {
		ret = net_lock_connections(n, tc.locals, tc.peers, tc.nr);
		if (ret)
			pr_err("dump: cannot lock the tree's %zu TCP connections (--network-lock "
			       "skip goes without): %s", tc.nr, strerror(-ret));
	}
	free(tc.inodes);
	free(tc.locals);
	free(tc.peers);
	return ret;
}
