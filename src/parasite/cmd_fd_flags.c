/* PARASITE_CMD_FD_FLAGS: which fds of the task are open and which of those
 * are close-on-exec, for every fd below the size the caller gives (its fd
 * table's, FDSize). The close-on-exec bit is the fd table's, which no
 * interface shows from outside but fdinfo, one file a fd; here it is one
 * fcntl() a fd, with no /proc file made. */
#include <asm/errno.h>
#include <linux/fcntl.h>
#include <stdint.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

long cmd_fd_flags(int sock, const struct inj_msg *req, void *arg)
{
	uint64_t *open = arg, *cloexec;
	uint64_t words;

	if (!req->len || req->len % (2 * sizeof(uint64_t)))
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	words = req->len / (2 * sizeof(uint64_t));
	cloexec = open + words;
	for (uint64_t fd = 0; fd < words * 64; fd++) {
		long flags = sys_fcntl((int)fd, F_GETFD, 0);

		if (flags < 0)
			continue;
		open[fd / 64] |= 1ULL << (fd % 64);
		if (flags & FD_CLOEXEC)
			cloexec[fd / 64] |= 1ULL << (fd % 64);
	}
	return channel_reply(sock, req->cmd, 0, arg, req->len, -1);
}
