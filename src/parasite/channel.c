/* The parasite's end of the command channel. Stream sockets may split or
 * merge messages, so every receive and send loops until the whole message
 * has moved: that is what keeps large messages from being trimmed. */
#include <asm/errno.h>
#include <linux/socket.h>

#include "blob/syscall.h"
#include "parasite/channel.h"

/* The kernel's x86_64 msghdr, iovec and cmsghdr, without libc's headers. */
struct k_iovec {
	void *base;
	size_t len;
};

struct k_msghdr {
	void *name;
	int namelen;
	struct k_iovec *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	unsigned int flags;
};

struct k_cmsg_fd {
	size_t len;
	int level;
	int type;
	int fd;
	int pad;
};

#define K_SOL_SOCKET 1
#define K_SCM_RIGHTS 1
#define K_MSG_NOSIGNAL 0x4000

#define K_MSG_CMSG_CLOEXEC 0x40000000

/* Takes the fd of an SCM_RIGHTS message into *@fd, or closes it if one
 * came already: a command carries one fd at most, and the buffer holds
 * one (the kernel closes any more). */
static void take_fd(const struct k_cmsg_fd *c, size_t controllen, int *fd)
{
	if (controllen < sizeof(*c) - sizeof(int) || c->level != K_SOL_SOCKET ||
	    c->type != K_SCM_RIGHTS || c->len != sizeof(*c) - sizeof(int))
		return;
	if (*fd < 0)
		*fd = c->fd;
	else
		sys_close(c->fd);
}

long channel_recv_fd(int sock, void *buf, size_t len, int *fd)
{
	struct k_cmsg_fd control;
	char *p = buf;

	if (fd)
		*fd = -1;
	while (len) {
		struct k_iovec iov = { p, len };
		struct k_msghdr msg = { .iov = &iov, .iovlen = 1 };
		long n;

		if (fd) {
			msg.control = &control;
			msg.controllen = sizeof(control);
		}
		n = sys_recvmsg(sock, &msg, fd ? K_MSG_CMSG_CLOEXEC : 0);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
		if (n == 0)
			return -EPIPE;
		/* A descriptor the task had no room for (RLIMIT_NOFILE) is
		 * dropped by the kernel (MSG_CTRUNC): *fd stays -1. */
		if (fd && msg.controllen)
			take_fd(&control, msg.controllen, fd);
		p += n;
		len -= n;
	}
	return 0;
}

long channel_recv(int sock, void *buf, size_t len)
{
	return channel_recv_fd(sock, buf, len, 0);
}

static long send_all(int sock, struct k_iovec *iov, size_t iovlen, int fd)
{
	struct k_cmsg_fd cmsg = {
		.len = sizeof(struct k_cmsg_fd) - sizeof(int),
		.level = K_SOL_SOCKET,
		.type = K_SCM_RIGHTS,
		.fd = fd,
	};
	struct k_msghdr msg = { .iov = iov, .iovlen = iovlen };

	if (fd >= 0) {
		msg.control = &cmsg;
		msg.controllen = sizeof(cmsg);
	}
	while (msg.iovlen) {
		long n = sys_sendmsg(sock, &msg, K_MSG_NOSIGNAL);

		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
		/* The fd went out with the first bytes; never send it twice. */
		msg.control = 0;
		msg.controllen = 0;
		while (msg.iovlen && (size_t)n >= msg.iov->len) {
			n -= msg.iov->len;
			msg.iov++;
			msg.iovlen--;
		}
		if (msg.iovlen) {
			msg.iov->base = (char *)msg.iov->base + n;
			msg.iov->len -= n;
		}
	}
	return 0;
}

long channel_reply(int sock, uint32_t cmd, int32_t status, const void *data, uint64_t len,
		   int fd)
{
	struct inj_msg hdr = { .cmd = cmd, .status = status, .len = len };
	struct k_iovec iov[2] = {
		{ &hdr, sizeof(hdr) },
		{ (void *)data, len },
	};

	return send_all(sock, iov, len ? 2 : 1, fd);
}
