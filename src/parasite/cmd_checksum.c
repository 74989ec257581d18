/* PARASITE_CMD_CHECKSUM: checksums a range of the task's own memory, so the
 * caller can see that memory is unchanged without copying it out. */
#include <asm/errno.h>

#include "parasite/channel.h"
#include "parasite/checksum.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

long cmd_checksum(int sock, const struct inj_msg *req, const void *arg)
{
	const struct parasite_checksum_arg *range = arg;
	uint64_t sum;

	if (req->len != sizeof(*range))
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	sum = memory_checksum((const void *)range->addr, range->len);
	return channel_reply(sock, req->cmd, 0, &sum, sizeof(sum), -1);
}
