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

long channel_recv(int sock, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		struct k_iovec iov = { p, len };
		struct k_msghdr msg = { .iov = &iov, .iovlen = 1 };
		long n = sys_recvmsg(sock, &msg, 0);

		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
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
