/* A socket's classic BPF filter and its lock, for every socket kind that
 * keeps one (packet_socket.c, inet_socket.c, unix_socket.c). What the
 * filter takes is the kernel's; when it is attached is each kind's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/socket.h>

#include "files/kind.h"
#include "net/sock_filter.h"

/* The kernel's BPF_MAXINSNS. */
#define FILTER_MAX_INSNS 4096

int sock_filter_dump(const struct fd_probe *p, protobuf_c_boolean *has, ProtobufCBinaryData *insns,
		     bool *locked)
{
	socklen_t len = 0;
	int lock = 0;
	socklen_t lock_len = sizeof(lock);

	*has = false;
	*locked = false;
	/* SO_GET_FILTER with no room tells the number of instructions. */
	if (getsockopt(p->dup, SOL_SOCKET, SO_GET_FILTER, NULL, &len)) {
		/* An eBPF program has no classic form to give (EACCES). */
		if (errno == EACCES) {
			pr_fd_err(p, "socket with an eBPF filter (SO_ATTACH_BPF): not supported");
			return -EOPNOTSUPP;
		}
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its filter (SO_GET_FILTER)",
				    p->pid, p->name, p->link);
	}
	if (len) {
		insns->data = malloc((size_t)len * sizeof(struct sock_filter));
		if (!insns->data)
			return -ENOMEM;
		if (getsockopt(p->dup, SOL_SOCKET, SO_GET_FILTER, insns->data, &len))
			return pr_errno_ret("dump: pid %d %s (%s): cannot read its filter",
					    p->pid, p->name, p->link);
		insns->len = (size_t)len * sizeof(struct sock_filter);
		*has = true;
	}
	if (getsockopt(p->dup, SOL_SOCKET, SO_LOCK_FILTER, &lock, &lock_len))
		return pr_errno_ret("dump: pid %d %s (%s): cannot read SO_LOCK_FILTER", p->pid,
				    p->name, p->link);
	*locked = lock != 0;
	return 0;
}

const char *sock_filter_problem(bool has, const ProtobufCBinaryData *insns, bool locked)
{
	if (has && (!insns->len || insns->len % sizeof(struct sock_filter) ||
		    insns->len / sizeof(struct sock_filter) > FILTER_MAX_INSNS))
		return "a filter that is no whole number of instructions, or too long";
	if (!has && insns->len)
		return "filter instructions without a filter";
	/* A socket can be locked with no filter: nothing can be attached. */
	(void)locked;
	return NULL;
}

int sock_filter_restore(int fd, bool has, const ProtobufCBinaryData *insns, bool locked,
			const char **what)
{
	int one = 1;

	if (has) {
		struct sock_fprog prog = {
			.len = (unsigned short)(insns->len / sizeof(struct sock_filter)),
			.filter = (struct sock_filter *)insns->data,
		};

		*what = "its filter (SO_ATTACH_FILTER)";
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
			return -errno;
	}
	*what = "its filter's lock (SO_LOCK_FILTER)";
	if (locked && setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)))
		return -errno;
	return 0;
}
