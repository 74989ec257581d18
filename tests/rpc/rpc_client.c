/* The tests' RPC client: `cryo swrk` on one end of a SOCK_SEQPACKET pair,
 * one protobuf message per packet (src/rpc/wire.c frames them). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "rpc/wire.h"
#include "rpc_client.h"
#include "runner_util.h"

bool swrk_start(struct swrk *s, int keep_fd)
{
	int sv[2];
	char fd_text[16];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return fail_why("socketpair: %s", strerror(errno));
	s->pid = fork();
	if (s->pid == 0) {
		/* The socket and the kept fd are the only ones cryo inherits. */
		int sk = fcntl(sv[1], F_DUPFD, 3);

		if (keep_fd >= 0)
			fcntl(keep_fd, F_SETFD, 0);
		snprintf(fd_text, sizeof(fd_text), "%d", sk);
		execl(cryo_path, cryo_path, "swrk", fd_text, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (s->pid < 0) {
		close(sv[0]);
		return fail_why("fork: %s", strerror(errno));
	}
	s->sk = sv[0];
	return true;
}

int swrk_stop(struct swrk *s)
{
	int status;

	if (s->sk >= 0)
		close(s->sk);
	s->sk = -1;
	if (s->pid <= 0)
		return -1;
	if (!wait_child(s->pid, CRYO_MS, &status)) {
		kill_and_reap(s->pid);
		s->pid = 0;
		return -1;
	}
	s->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool swrk_send(struct swrk *s, const CriuReq *req)
{
	int ret = rpc_send(s->sk, &req->base, -1);

	return ret ? fail_why("sending a request: %s", strerror(-ret)) : true;
}

CriuResp *swrk_recv_fd(struct swrk *s, int *fd)
{
	ProtobufCMessage *msg;
	struct timeval tv = { .tv_sec = CRYO_MS / 1000 };
	int ret;

	setsockopt(s->sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ret = rpc_recv(s->sk, &criu_resp__descriptor, &msg, fd);
	if (ret) {
		fail_why("no answer from cryo swrk: %s", strerror(-ret));
		return NULL;
	}
	return (CriuResp *)msg;
}

CriuResp *swrk_recv(struct swrk *s)
{
	return swrk_recv_fd(s, NULL);
}

CriuResp *swrk_call(struct swrk *s, const CriuReq *req)
{
	return swrk_send(s, req) ? swrk_recv(s) : NULL;
}

bool swrk_ack(struct swrk *s, bool success)
{
	CriuReq ack = CRIU_REQ__INIT;

	ack.type = CRIU_REQ_TYPE__NOTIFY;
	ack.has_notify_success = true;
	ack.notify_success = success;
	return swrk_send(s, &ack);
}
