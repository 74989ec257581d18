/* PARASITE_CMD_CHECKSUM: checksums a range of the task's own memory, so the
 * caller can see that memory is unchanged without copying it out. The range
 * is read through process_vm_readv on the task itself, so an unmapped or
 * unreadable address becomes -EFAULT instead of a crash. */
#include <asm/errno.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/checksum.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

#define CHUNK 4096

struct k_iovec {
	const void *base;
	size_t len;
};

long cmd_checksum(int sock, const struct inj_msg *req, const void *arg)
{
	const struct parasite_checksum_arg *range = arg;
	unsigned char chunk[CHUNK];
	long self = sys_getpid();
	uint64_t sum;

	if (req->len != sizeof(*range))
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	sum = checksum_start(range->len);
	for (uint64_t done = 0; done < range->len; done += CHUNK) {
		uint64_t len = range->len - done < CHUNK ? range->len - done : CHUNK;
		struct k_iovec local = { chunk, len };
		struct k_iovec remote = { (const void *)(range->addr + done), len };
		long n = sys_process_vm_readv(self, &local, 1, &remote, 1);

		if (n != (long)len)
			return channel_reply(sock, req->cmd, n < 0 ? (int32_t)n : -EFAULT, 0, 0, -1);
		sum = checksum_update(sum, chunk, len);
	}
	return channel_reply(sock, req->cmd, 0, &sum, sizeof(sum), -1);
}
