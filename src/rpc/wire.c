/* One RPC message per SOCK_SEQPACKET packet, as criu sends them, with an
 * optional fd. Only framing and packing are here; what the messages mean
 * is the service's (swrk.c) and the library's (src/lib). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/scm_rights.h"
#include "rpc/wire.h"

int rpc_send(int sk, const ProtobufCMessage *msg, int fd)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	union scm_one_fd control;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint8_t *buf;
	ssize_t sent;

	if (len > RPC_MAX_MSG)
		return -EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	protobuf_c_message_pack(msg, buf);
	iov.iov_base = buf;
	iov.iov_len = len;
	if (fd >= 0)
		scm_attach_fd(&mh, &control, fd);
	do
		sent = sendmsg(sk, &mh, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	free(buf);
	if (sent < 0)
		return -errno;
	return (size_t)sent == len ? 0 : -EMSGSIZE;
}

/* The fd a packet carried, if any; any more than one are closed. */
static int take_fd(struct msghdr *mh)
{
	int fd = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	return fd;
}

int rpc_recv(int sk, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg, int *fd)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint8_t *buf;
	ssize_t len;
	int got;

	/* The packet's length first, so that none is ever truncated. */
	do
		len = recv(sk, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (len < 0 && errno == EINTR);
	if (len < 0)
		return -errno;
	if (len == 0)
		return -ENOTCONN;
	if (len > RPC_MAX_MSG)
		return -EMSGSIZE;
	buf = malloc((size_t)len);
	if (!buf)
		return -ENOMEM;
	iov.iov_base = buf;
	iov.iov_len = (size_t)len;
	mh.msg_control = control.buf;
	mh.msg_controllen = sizeof(control.buf);
	do
		len = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);
	while (len < 0 && errno == EINTR);
	if (len <= 0) {
		int err = len ? -errno : -ENOTCONN;

		free(buf);
		return err;
	}
	got = take_fd(&mh);
	*msg = protobuf_c_message_unpack(desc, NULL, (size_t)len, buf);
	free(buf);
	if (!*msg || (mh.msg_flags & MSG_TRUNC)) {
		if (*msg)
			protobuf_c_message_free_unpacked(*msg, NULL);
		*msg = NULL;
		if (got >= 0)
			close(got);
		return -EBADMSG;
	}
	if (fd)
		*fd = got;
	else if (got >= 0)
		close(got);
	return 0;
}
