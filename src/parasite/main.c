/* Entry point and command loop of cryo's parasite. The injector starts it on
 * its own stack with every signal blocked; it serves commands until the
 * injector takes the thread back (see INJ_CMD_FINI). Dispatch is a switch,
 * not a table of pointers: a table would need relocations in this blob. */
#include <asm/errno.h>
#include <linux/mman.h>

#include "blob/syscall.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

static long dispatch(int sock, const struct inj_msg *req, void *arg, int *fd)
{
	switch (req->cmd) {
	case PARASITE_CMD_ECHO:
		return channel_reply(sock, req->cmd, 0, arg, req->len, -1);
	case PARASITE_CMD_CHECKSUM:
		return cmd_checksum(sock, req, arg);
	case PARASITE_CMD_SIGACTIONS:
		return cmd_sigactions(sock, req);
	case PARASITE_CMD_SEND_FD:
		return cmd_send_fd(sock, req, arg);
	case PARASITE_CMD_ITIMERS:
		return cmd_itimers(sock, req);
	case PARASITE_CMD_THREAD_STATE:
		return cmd_thread_state(sock, req);
	case PARASITE_CMD_PRCTL:
		return cmd_prctl(sock, req);
	case PARASITE_CMD_POSIX_TIMERS:
		return cmd_posix_timers(sock, req, arg);
	case PARASITE_CMD_BRK:
		return cmd_brk(sock, req);
	case PARASITE_CMD_VMSPLICE_PAGES:
		return cmd_vmsplice_pages(sock, req, arg, fd);
	case PARASITE_CMD_FD_FLAGS:
		return cmd_fd_flags(sock, req, arg);
	default:
		return channel_reply(sock, req->cmd, -ENOSYS, 0, 0, -1);
	}
}

/* Receives one command's argument into a buffer mapped for it, runs it and
 * unmaps the buffer; @fd, the one that came with the command (or -1), is
 * the command's to use and closed here, whatever happened, so that the
 * task never keeps it (a command that closes it before its reply, as the
 * caller may count the task's fds at once, sets it to -1). Returns < 0 when the channel itself broke. */
static long serve_one(int sock, const struct inj_msg *req, int fd)
{
	void *arg = 0;
	size_t map_len = 0;
	long ret;

	if (req->len > INJ_MSG_MAX) {
		ret = -EMSGSIZE;
		goto out;
	}
	if (req->len) {
		map_len = (req->len + 4095) & ~4095UL;
		arg = sys_mmap(0, map_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (blob_is_err((unsigned long)arg)) {
			ret = (long)arg;
			map_len = 0;
			goto out;
		}
		ret = channel_recv(sock, arg, req->len);
		if (ret)
			goto out;
	}
	ret = dispatch(sock, req, arg, &fd);
out:
	if (map_len)
		sys_munmap(arg, map_len);
	if (fd >= 0)
		sys_close(fd);
	return ret;
}

__attribute__((section(".text.entry"), used, noreturn)) void
blob_entry(struct inj_parasite_args *args)
{
	int sock = args->channel_fd;

	/* After FINI the injector stops this thread inside the next read; a
	 * read or reply that fails means the injector is gone. */
	for (;;) {
		struct inj_msg req;
		int fd;
		long ret;

		if (channel_recv_fd(sock, &req, sizeof(req), &fd)) {
			if (fd >= 0)
				sys_close(fd);
			break;
		}
		if (req.cmd == INJ_CMD_FINI) {
			if (fd >= 0)
				sys_close(fd);
			ret = channel_reply(sock, INJ_CMD_FINI, 0, 0, 0, -1);
		} else {
			ret = serve_one(sock, &req, fd);
		}
		if (ret < 0)
			break;
	}
	/* The task goes back to itself, its own registers and signal mask. */
	sys_close(sock);
	sys_rt_sigreturn_at(args->sigreturn_sp);
}
