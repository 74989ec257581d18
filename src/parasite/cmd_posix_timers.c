/* PARASITE_CMD_POSIX_TIMERS: the remaining time, interval and overrun count
 * of the POSIX timers the caller names (it finds their ids, clocks and
 * notification in /proc/PID/timers). Answered in place, in the argument's
 * own buffer, so that any number of timers fits. */
#include <asm/errno.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

long cmd_posix_timers(int sock, const struct inj_msg *req, void *arg)
{
	struct parasite_posix_timer *timers = arg;
	uint64_t count = req->len / sizeof(*timers);

	if (!req->len || req->len % sizeof(*timers))
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	for (uint64_t i = 0; i < count; i++) {
		long ret = blob_syscall(__NR_timer_gettime, timers[i].id, &timers[i].spec, 0, 0, 0, 0);

		if (!ret)
			ret = blob_syscall(__NR_timer_getoverrun, timers[i].id, 0, 0, 0, 0, 0);
		if (ret < 0)
			return channel_reply(sock, req->cmd, (int32_t)ret, 0, 0, -1);
		timers[i].overrun = (int32_t)ret;
	}
	return channel_reply(sock, req->cmd, 0, timers, req->len, -1);
}
