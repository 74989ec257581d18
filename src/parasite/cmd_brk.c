/* PARASITE_CMD_BRK: the task's program break, which /proc does not show.
 * brk(0) changes nothing and returns it. */
#include <asm/errno.h>
#include <stdint.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

long cmd_brk(int sock, const struct inj_msg *req)
{
	uint64_t brk;

	if (req->len)
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	brk = (uint64_t)sys_brk(0);
	return channel_reply(sock, req->cmd, 0, &brk, sizeof(brk), -1);
}
