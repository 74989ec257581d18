/* criu's --external specs for namespaces: mounts (mnt[KEY]:PATH), veth
 * ends (veth[IN]:OUT, --veth-pair IN=OUT), the lower devices of macvlans
 * and ipvlans (macvlan[IN]:LOWER, ipvlan[IN]:LOWER) and network namespaces
 * (net[INODE]:KEY), and the namespaces a caller gives under a KEY at
 * restore (criu's inherit_fd), kept in the list the run's options hold and
 * restore passes down. Not what is done with them. */
#ifndef CRYO_NS_EXTERNALS_H
#define CRYO_NS_EXTERNALS_H

#include <stdbool.h>
#include <stddef.h>

#define NS_EXTERNALS_MAX 64

struct ns_externals {
	/* mnt: a mount point or ext_mnt key -> the caller's folder bound there;
	 * veth: the end inside -> the end made in cryo's namespace;
	 * lower: "KIND:INSIDE" (macvlan or ipvlan) -> its lower device there. */
	struct ns_external {
		char *key, *val;
	} mnt[NS_EXTERNALS_MAX], veth[NS_EXTERNALS_MAX],
	/* net: a network namespace's inode (decimal) -> the key it is given
	 * back under; ns_fd: a key -> the caller's namespace fd (fd: not
	 * owned). */
	  net[NS_EXTERNALS_MAX], ns_fd[NS_EXTERNALS_MAX], lower[NS_EXTERNALS_MAX],
	/* join: a kind ("net", "ipc", "uts") -> the file of the namespace to
	 * join at restore (--join-ns, RPC join_ns; ns/join.c). */
	  join[4];
	int ns_fd_fd[NS_EXTERNALS_MAX];
	size_t nr_mnt, nr_veth, nr_net, nr_ns_fd, nr_lower, nr_join;
	/* A veth end outside that no spec names gets a free name (--clone:
	 * the original's end keeps its own). */
	bool veth_free_names;
};

/* Adds --external @spec (mnt[...]:PATH, veth[...]:OUT, net[INODE]:KEY,
 * macvlan[...]:LOWER or ipvlan[...]:LOWER); -EINVAL (logged) for any other
 * form. */
int ns_external_add(struct ns_externals *x, const char *spec);
/* Adds --veth-pair IN=OUT. */
int ns_veth_pair_add(struct ns_externals *x, const char *spec);
/* Frees every name @x holds; @x is empty after. */
void ns_externals_free(struct ns_externals *x);
/* The value for @key, or NULL. */
const char *ns_external_mnt(const struct ns_externals *x, const char *key);
const char *ns_external_veth(const struct ns_externals *x, const char *inside);
/* The lower device named for the @kind ("macvlan", "ipvlan") @inside. */
const char *ns_external_lower(const struct ns_externals *x, const char *kind, const char *inside);
/* The key of the network namespace of inode @ino, or NULL. */
const char *ns_external_net(const struct ns_externals *x, unsigned long long ino);
/* Adds the caller's namespace @fd given under @key; the fd stays the caller's. */
int ns_external_fd_add(struct ns_externals *x, const char *key, int fd);
/* The fd given under @key, or -1. */
int ns_external_fd(const struct ns_externals *x, const char *key);
/* criu's --join-ns NS:PATH[,EXTRA] (@spec), or RPC join_ns (@spec built
 * from it): net, ipc or uts, a path or a pid (/proc/PID/ns/NS), no extra
 * options (those are a user namespace's); -EINVAL (logged) else. */
int ns_join_add(struct ns_externals *x, const char *spec);
/* The file of the namespace of @kind to join, or NULL. */
const char *ns_join_path(const struct ns_externals *x, const char *kind);

#endif
