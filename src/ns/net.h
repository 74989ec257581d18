/* A tree's own network namespace, as far as cryo restores one yet: its
 * loopback (up or down, MTU) and its sysctls (net-ns.img); anything else it
 * holds (another device, an address, route or rule set by hand, an
 * nftables table) is refused at dump by name. Dump runs inside it from the
 * start to the end (ns_enter), so that every sock_diag query sees the
 * tree's sockets; restore makes it in cryo itself (unshare) before any
 * socket or process, and every process cryo creates is born in it. */
#ifndef CRYO_NS_NET_H
#define CRYO_NS_NET_H

#include <stdbool.h>
#include <sys/types.h>

#include "images/image.h"

/* The sysctls saved, by path below /proc/sys, NULL-terminated. */
extern const char *const net_ns_sysctls[];
int net_ns_image_check(const struct image *img, const struct image_dir *dir, int id);
extern const struct image_kind_set net_ns_image_kinds;

/* When @root's network namespace is not cryo's: enters it, refuses what
 * cannot be restored and writes net-ns.img; cryo stays inside until
 * net_ns_dump_leave(*@back) (-1: it did not move). */
int net_ns_dump(pid_t root, struct image_dir *dir, int *back);
int net_ns_dump_leave(int back);
/* Whether the dump runs inside a tree's own network namespace. */
bool net_ns_dump_inside(void);

struct net_ns_set;
int net_ns_load(const struct image_dir *dir, struct net_ns_set **out);
/* Nothing without net-ns.img. Otherwise: unshare(CLONE_NEWNET), the
 * loopback and the sysctls; cryo stays inside until net_ns_leave(). */
int net_ns_make(struct net_ns_set *set);
void net_ns_leave(struct net_ns_set *set);
void net_ns_free(struct net_ns_set *set);

/* net_refuse.c: fails, naming it, on anything of the namespace cryo is in
 * that net-ns.img does not hold; @who names the namespace. */
int net_ns_refuse_unsaved(const char *who);

#endif
