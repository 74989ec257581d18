/* PARASITE_CMD_SEND_FD: passes one of the task's descriptors to the caller
 * over SCM_RIGHTS, so the caller holds the very same open file. */
#include <asm/errno.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

#define F_GETFD_NR 1

long cmd_send_fd(int sock, const struct inj_msg *req, const void *arg)
{
	int32_t fd;

	if (req->len != sizeof(fd))
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	__builtin_memcpy(&fd, arg, sizeof(fd));
	/* A bad fd would fail the whole sendmsg and break the channel. */
	if (fd < 0 || fd == sock || sys_fcntl(fd, F_GETFD_NR, 0) < 0)
		return channel_reply(sock, req->cmd, -EBADF, 0, 0, -1);
	return channel_reply(sock, req->cmd, 0, 0, 0, fd);
}
