/* A socket's classic BPF filter (SO_ATTACH_FILTER) and its lock
 * (SO_LOCK_FILTER), shared by the packet, inet and unix socket kinds:
 * read at dump, checked at load, attached again at restore. Where in its
 * restore a kind attaches it (after a queue is refilled) is the kind's. */
#ifndef CRYO_NET_SOCK_FILTER_H
#define CRYO_NET_SOCK_FILTER_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

struct fd_probe;

/* Reads the classic filter of p->dup into *@insns (allocated, struct
 * sock_filter each; *@has false when none) and whether it is locked. An
 * eBPF program (SO_ATTACH_BPF) has no classic form: refused by name. */
int sock_filter_dump(const struct fd_probe *p, protobuf_c_boolean *has, ProtobufCBinaryData *insns,
		     bool *locked);
/* What is wrong with a saved filter, or NULL. */
const char *sock_filter_problem(bool has, const ProtobufCBinaryData *insns, bool locked);
/* Attaches the saved filter to @fd (none: nothing is attached) and locks
 * it when it was; *@what names the step that failed. */
int sock_filter_restore(int fd, bool has, const ProtobufCBinaryData *insns, bool locked,
			const char **what);

#endif
