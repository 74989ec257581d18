/* PARASITE_CMD_SIGALTSTACK: reads the alternate signal stack of the thread
 * the parasite runs in. The parasite runs on its own stack, so SS_ONSTACK
 * is never reported; the caller gets the registered stack and its flags. */
#include <asm/errno.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

long cmd_sigaltstack(int sock, const struct inj_msg *req)
{
	struct parasite_sigaltstack stack = {};
	long ret;

	if (req->len)
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	ret = blob_syscall(__NR_sigaltstack, 0, &stack, 0, 0, 0, 0);
	if (ret)
		return channel_reply(sock, req->cmd, (int32_t)ret, 0, 0, -1);
	return channel_reply(sock, req->cmd, 0, &stack, sizeof(stack), -1);
}
