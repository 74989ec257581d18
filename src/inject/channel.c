/* The injector's end of the parasite channel. Every wait on the socket also
 * watches the worker thread, so a parasite that crashed or was killed turns
 * into an error instead of a hang; every transfer loops until the whole
 * message has moved, so nothing is ever trimmed. */
#include <elf.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/scm_rights.h"
#include "inject/internal.h"
#include "inject/parasite-abi.h"

#define POLL_SLICE_MS 100

/* Called when the socket has been quiet for a while: has the worker stopped? */
static int check_worker(struct inj_parasite *p)
{
	struct inj_task *task = p->task;
	int status;
	pid_t r = waitpid(task->worker, &status, WNOHANG | __WALL);

	if (r == 0)
		return 0;
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		inj_err("pid %d: thread %d died while running the parasite", task->pid,
			task->worker);
		p->worker_stopped = true;
		return -ESRCH;
	}
	if (WIFSTOPPED(status) && status >> 16 == 0 && WSTOPSIG(status) == SIGSTOP) {
		/* Held back until release, like every signal while we own the thread. */
		task->stop_signal_held = true;
		return ptrace(PTRACE_CONT, task->worker, NULL, NULL) < 0 ? -errno : 0;
	}
	p->worker_stopped = true;
	if (WIFSTOPPED(status)) {
		struct user_regs_struct regs;
		struct iovec iov = { &regs, sizeof(regs) };

		regs.rip = 0;
		ptrace(PTRACE_GETREGSET, task->worker, (void *)NT_PRSTATUS, &iov);
		inj_err("pid %d: parasite in thread %d stopped by %s at %#llx (blob offset %#llx)",
			task->pid, task->worker, strsignal(WSTOPSIG(status)), regs.rip,
			regs.rip - p->base);
	}
	return -EFAULT;
}

static int wait_channel(struct inj_parasite *p, short events)
{
	for (;;) {
		struct pollfd pfd = { .fd = p->sock, .events = events };
		int n = poll(&pfd, 1, POLL_SLICE_MS);
		int ret;

		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		ret = check_worker(p);
		if (ret)
			return ret;
	}
}

static void take_fds(struct msghdr *msg, int *fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int fds[count > 0 ? count : 1];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || count <= 0)
			continue;
		memcpy(fds, CMSG_DATA(c), count * sizeof(int));
		for (int i = 0; i < count; i++) {
			if (*fd < 0)
				*fd = fds[i];
			else
				close(fds[i]); /* only one fd is expected per message */
		}
	}
}

/* Receives exactly @len bytes into @buf (or discards them when @buf is
 * NULL); an fd that comes along is stored in *fd when @fd is given. */
static int recv_exact(struct inj_parasite *p, void *buf, size_t len, int *fd)
{
	char discard[4096];
	char *dst = buf;

	while (len) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} control;
		struct iovec iov = { dst ? dst : discard,
				     dst ? len : (len < sizeof(discard) ? len : sizeof(discard)) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (fd) {
			msg.msg_control = control.buf;
			msg.msg_controllen = sizeof(control.buf);
		}
		n = recvmsg(p->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			int ret = errno == EAGAIN ? wait_channel(p, POLLIN) :
				  errno == EINTR ? 0 : -errno;
			if (ret)
				return ret;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		if (fd)
			take_fds(&msg, fd);
		if (dst)
			dst += n;
		len -= n;
	}
	return 0;
}

/* Sends every byte of @iov; @fd (if >= 0) rides on the first bytes. */
static int send_exact(struct inj_parasite *p, struct iovec *iov, int iovcnt, int fd)
{
	union scm_one_fd control;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = iovcnt };

	if (fd >= 0)
		scm_attach_fd(&msg, &control, fd);
	while (msg.msg_iovlen) {
		ssize_t n = sendmsg(p->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			int ret = errno == EAGAIN ? wait_channel(p, POLLOUT) :
				  errno == EINTR ? 0 : -errno;
			if (ret)
				return ret;
			continue;
		}
		/* The fd went with the first bytes; never send it twice. */
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov->iov_len) {
			n -= msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
			msg.msg_iov->iov_len -= n;
		}
	}
	return 0;
}

static int call(struct inj_parasite *p, uint32_t cmd, int send_fd, const void *in, size_t in_len,
		void *out, size_t out_cap, size_t *out_len, int *fd)
{
	struct inj_msg request = { .cmd = cmd, .len = in_len }, reply;
	struct iovec iov[2] = { { &request, sizeof(request) }, { (void *)in, in_len } };
	int got_fd = -1, ret;

	if (fd)
		*fd = -1;
	if (p->broken || p->worker_stopped)
		return -EPIPE;
	if (cmd == INJ_CMD_FINI || in_len > INJ_MSG_MAX)
		return -EINVAL;
	ret = send_exact(p, iov, in_len ? 2 : 1, send_fd);
	if (!ret)
		ret = recv_exact(p, &reply, sizeof(reply), &got_fd);
	if (ret)
		goto broken;
	if (reply.cmd != cmd || reply.len > INJ_MSG_MAX) {
		inj_err("pid %d: parasite answered command %u with command %u and %llu bytes",
			p->task->pid, cmd, reply.cmd, (unsigned long long)reply.len);
		ret = -EPROTO;
		goto broken;
	}
	if (reply.len > out_cap) {
		ret = recv_exact(p, NULL, reply.len, NULL);
		if (ret)
			goto broken;
		ret = -EMSGSIZE;
		goto out;
	}
	ret = recv_exact(p, out, reply.len, NULL);
	if (ret)
		goto broken;
	if (out_len)
		*out_len = reply.len;
	ret = reply.status;
out:
	if (fd && !ret)
		*fd = got_fd;
	else if (got_fd >= 0)
		close(got_fd);
	return ret;
broken:
	p->broken = true;
	inj_err("pid %d: parasite channel broken during command %u: %s", p->task->pid, cmd,
		strerror(-ret));
	goto out;
}

int inj_parasite_call(struct inj_parasite *p, uint32_t cmd, const void *in, size_t in_len,
		      void *out, size_t out_cap, size_t *out_len, int *fd)
{
	return call(p, cmd, -1, in, in_len, out, out_cap, out_len, fd);
}

int inj_parasite_call_with_fd(struct inj_parasite *p, uint32_t cmd, int send_fd, const void *in,
			      size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
	if (send_fd < 0)
		return -EBADF;
	return call(p, cmd, send_fd, in, in_len, out, out_cap, out_len, NULL);
}

int channel_finish(struct inj_parasite *p)
{
	struct inj_msg fini = { .cmd = INJ_CMD_FINI }, reply;
	struct iovec iov = { &fini, sizeof(fini) };
	int ret = send_exact(p, &iov, 1, -1);

	/* The answer says the parasite is idle in its next read, where the
	 * injector takes the thread back; no more bytes may follow it. */
	if (!ret)
		ret = recv_exact(p, &reply, sizeof(reply), NULL);
	if (!ret && (reply.cmd != INJ_CMD_FINI || reply.len))
		ret = -EPROTO;
	return ret;
}
