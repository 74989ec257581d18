/* PARASITE_CMD_PRCTL: the prctl state only the task can query about itself:
 * dumpable, parent-death signal, child subreaper, securebits, THP
 * disabling, KSM for the whole mm and membarrier registrations. */
#include <asm/errno.h>
#include <linux/membarrier.h>
#include <linux/prctl.h>

#include "kabi/kabi.h"

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

long cmd_prctl(int sock, const struct inj_msg *req)
{
	struct parasite_prctl state = {};
	long ret;

	if (req->len)
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	ret = blob_syscall(__NR_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0);
	if (ret < 0)
		goto fail;
	state.dumpable = (int32_t)ret;
	ret = blob_syscall(__NR_prctl, PR_GET_PDEATHSIG, &state.pdeath_signal, 0, 0, 0, 0);
	if (ret < 0)
		goto fail;
	ret = blob_syscall(__NR_prctl, PR_GET_CHILD_SUBREAPER, &state.child_subreaper, 0, 0, 0, 0);
	if (ret < 0)
		goto fail;
	ret = blob_syscall(__NR_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0, 0);
	if (ret < 0)
		goto fail;
	state.securebits = (int32_t)ret;
	ret = blob_syscall(__NR_prctl, PR_GET_THP_DISABLE, 0, 0, 0, 0, 0);
	if (ret < 0)
		goto fail;
	state.thp_disable = (int32_t)ret;
	/* EINVAL: a kernel without KSM, where no mm has it. */
	ret = blob_syscall(__NR_prctl, PR_GET_MEMORY_MERGE, 0, 0, 0, 0, 0);
	if (ret < 0 && ret != -EINVAL)
		goto fail;
	state.memory_merge = ret > 0;
	/* EINVAL before 6.3, ENOSYS without membarrier: none to see. */
	ret = blob_syscall(__NR_membarrier, MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0, 0, 0, 0);
	if (ret < 0 && ret != -EINVAL && ret != -ENOSYS)
		goto fail;
	state.membarrier = ret > 0 ? (int32_t)ret : 0;
	return channel_reply(sock, req->cmd, 0, &state, sizeof(state), -1);
fail:
	return channel_reply(sock, req->cmd, (int32_t)ret, 0, 0, -1);
}
