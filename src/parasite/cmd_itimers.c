/* PARASITE_CMD_ITIMERS: reads the task's three interval timers (real,
 * virtual, profiling). getitimer() only ever answers for the caller, so the
 * remaining times can only be read from inside. */
#include <asm/errno.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

long cmd_itimers(int sock, const struct inj_msg *req)
{
	struct parasite_itimers timers;

	if (req->len)
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	for (int which = 0; which < PARASITE_NR_ITIMERS; which++) {
		long ret = blob_syscall(__NR_getitimer, which, &timers.timer[which], 0, 0, 0, 0);

		if (ret)
			return channel_reply(sock, req->cmd, (int32_t)ret, 0, 0, -1);
	}
	return channel_reply(sock, req->cmd, 0, &timers, sizeof(timers), -1);
}
