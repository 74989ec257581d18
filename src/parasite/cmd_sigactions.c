/* PARASITE_CMD_SIGACTIONS: reads every signal's action. Only the task itself
 * can see its handlers, flags, restorers and masks. */
#include <asm/errno.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

#define SIGKILL_NR 9
#define SIGSTOP_NR 19

long cmd_sigactions(int sock, const struct inj_msg *req)
{
	struct parasite_sigaction actions[PARASITE_NSIG] = {};

	if (req->len)
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	for (int sig = 1; sig <= PARASITE_NSIG; sig++) {
		long ret;

		if (sig == SIGKILL_NR || sig == SIGSTOP_NR)
			continue;
		ret = sys_rt_sigaction(sig, 0, &actions[sig - 1], sizeof(uint64_t));
		if (ret)
			return channel_reply(sock, req->cmd, (int32_t)ret, 0, 0, -1);
	}
	return channel_reply(sock, req->cmd, 0, actions, sizeof(actions), -1);
}
