/* criu's --external specs for namespaces: mounts (mnt[KEY]:PATH), veth
 * ends (veth[IN]:OUT, --veth-pair IN=OUT) and network namespaces
 * (net[INODE]:KEY), the fds given for such keys (inherit_fd), and the
 * namespaces to join (--join-ns, RPC join_ns), parsed into the lists the
 * run's options hold and restore passes down. Not what is done with them
 * (ns/join.c, net.c, mnt_restore.c, net_link.c). */
#ifndef CRYO_NS_EXTERNALS_H
#define CRYO_NS_EXTERNALS_H

#include <stddef.h>

#define NS_EXTERNALS_MAX 64

struct ns_externals {
	/* mnt: a mount point or ext_mnt key -> the caller's folder bound there;
	 * veth: the end inside -> the end made in cryo's namespace. */
	struct ns_external {
		char *key, *val;
	} mnt[NS_EXTERNALS_MAX], veth[NS_EXTERNALS_MAX];
	size_t nr_mnt, nr_veth;
	/* net: the inode of a network namespace (decimal) -> its key; join:
	 * a kind ("net", "ipc", "uts") -> the file of the namespace to join. */
	struct ns_external net[4], join[4];
	size_t nr_net, nr_join;
	/* inherit_fd of a namespace's key: the caller's fd of it (not owned). */
	struct ns_external_fd {
		char *key;
		int fd;
	} fds[4];
	size_t nr_fds;
};

/* Adds --external @spec (mnt[...]:PATH, veth[...]:OUT or net[INODE]:KEY);
 * -EINVAL (logged) for any other form. */
int ns_external_add(struct ns_externals *x, const char *spec);
/* Adds --veth-pair IN=OUT. */
int ns_veth_pair_add(struct ns_externals *x, const char *spec);
/* Frees every name @x holds; @x is empty after. */
void ns_externals_free(struct ns_externals *x);
/* The value for @key, or NULL. */
const char *ns_external_mnt(const struct ns_externals *x, const char *key);
const char *ns_external_veth(const struct ns_externals *x, const char *inside);
/* The key of network namespace @ino given as external (net[INODE]:KEY),
 * or NULL. */
const char *ns_external_net(const struct ns_externals *x, unsigned long long ino);
/* inherit_fd KEY: @fd stands for the namespace external under @key. */
int ns_external_fd_add(struct ns_externals *x, const char *key, int fd);
/* The fd given for @key, or -1. */
int ns_external_fd(const struct ns_externals *x, const char *key);
/* criu's --join-ns NS:PATH[,EXTRA] (@spec), or RPC join_ns (@spec built
 * from it): net, ipc or uts, a path or a pid (/proc/PID/ns/NS), no extra
 * options (those are a user namespace's); -EINVAL (logged) else. */
int ns_join_add(struct ns_externals *x, const char *spec);
/* The file of the namespace of @kind to join, or NULL. */
const char *ns_join_path(const struct ns_externals *x, const char *kind);

#endif
