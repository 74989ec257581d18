/* PARASITE_CMD_THREAD_STATE: what the thread the parasite runs in can tell
 * only about itself: its alternate signal stack, its clear_child_tid and
 * its timer slack. Asked here, they cost the dump no remote calls of their
 * own in that thread. The parasite runs on its own stack, so SS_ONSTACK is
 * never reported; the caller gets the registered stack and its flags. */
#include <asm/errno.h>
#include <linux/prctl.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif

long cmd_thread_state(int sock, const struct inj_msg *req)
{
	struct parasite_thread_state state = {};
	long ret;

	if (req->len)
		return channel_reply(sock, req->cmd, -EINVAL, 0, 0, -1);
	ret = blob_syscall(__NR_sigaltstack, 0, &state.altstack, 0, 0, 0, 0);
	if (!ret)
		ret = blob_syscall(__NR_prctl, PR_GET_TID_ADDRESS, &state.clear_child_tid, 0, 0, 0,
				   0);
	if (!ret) {
		ret = blob_syscall(__NR_prctl, PR_GET_TIMERSLACK, 0, 0, 0, 0, 0);
		state.timer_slack_ns = (uint64_t)ret;
	}
	if (ret < 0)
		return channel_reply(sock, req->cmd, (int32_t)ret, 0, 0, -1);
	return channel_reply(sock, req->cmd, 0, &state, sizeof(state), -1);
}
