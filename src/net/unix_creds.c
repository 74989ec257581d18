/* Sending a queued unix message again as its sender sent it: with the
 * sender's credentials (SCM_CREDENTIALS, which root may give explicitly).
 * The kernel takes a pid only if a process has it at that moment; the
 * sender may have exited, or be a process of the tree not made yet (cryo
 * fills the queues of sockets two processes share before the tree
 * exists): then a placeholder process takes the pid for the time of the
 * send (clone3 with set_tid), and is reaped at once. The message keeps the
 * pid's number, as it does when a sender exits. The queues are
 * unix_queue.c's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "net/unix_internal.h"

/* A child with pid @pid that exits when @hold's other end closes; its pid
 * or -errno. No exit signal: the restored task that may run this gets no
 * SIGCHLD. */
static pid_t placeholder_start(pid_t pid, int hold[2])
{
	struct clone_args args = { .exit_signal = 0 };
	pid_t tid = pid;
	long child;

	args.set_tid = (uint64_t)(uintptr_t)&tid;
	args.set_tid_size = 1;
	if (pipe2(hold, O_CLOEXEC))
		return -errno;
	child = syscall(SYS_clone3, &args, sizeof(args));
	if (child == 0) {
		char c;

		/* Only raw system calls here: cryo may have threads. */
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		syscall(SYS_exit, 0);
	}
	close(hold[0]);
	if (child < 0) {
		int err = -errno;

		close(hold[1]);
		return err;
	}
	return (pid_t)child;
}

static void placeholder_end(pid_t child, int hold)
{
	close(hold);
	while (waitpid(child, NULL, __WALL) < 0 && errno == EINTR)
		;
}

/* The most fds one message carries (the kernel's SCM_MAX_FD). */
#define RIGHTS_MAX 253

static ssize_t send_once(int sk, const void *data, size_t len, const struct ucred *creds,
			 const struct unix_rights *rights, const struct sockaddr *dest,
			 socklen_t dest_len)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * RIGHTS_MAX)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_name = (void *)dest, .msg_namelen = dest ? dest_len : 0,
			      .msg_iov = &iov, .msg_iovlen = 1 };
	size_t nr = rights ? rights->nr : 0;
	struct cmsghdr *c;

	if (nr > RIGHTS_MAX) {
		errno = ETOOMANYREFS;
		return -1;
	}
	memset(&control, 0, sizeof(control));
	msg.msg_control = control.buf;
	msg.msg_controllen = (creds ? CMSG_SPACE(sizeof(*creds)) : 0) +
			     (nr ? CMSG_SPACE(sizeof(int) * nr) : 0);
	if (!msg.msg_controllen)
		msg.msg_control = NULL;
	c = msg.msg_controllen ? CMSG_FIRSTHDR(&msg) : NULL;
	if (creds) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(*creds));
		memcpy(CMSG_DATA(c), creds, sizeof(*creds));
		c = CMSG_NXTHDR(&msg, c);
	}
	if (nr) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nr);
		memcpy(CMSG_DATA(c), rights->fds, sizeof(int) * nr);
	}
	return sendmsg(sk, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int send_all(int sk, const uint8_t *data, size_t len, const struct ucred *creds,
		    const struct unix_rights *rights, const struct sockaddr *dest,
		    socklen_t dest_len, bool stream)
{
	size_t at = 0;

	do {
		ssize_t n = send_once(sk, data + at, len - at, creds, rights, dest, dest_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!stream && (size_t)n != len)
			return -EMSGSIZE;
		if (n == 0 && len)
			return -EIO;
		at += n;
		/* The fds went with the first part. */
		rights = NULL;
	} while (at < len);
	return 0;
}

int unix_send_as(int sk, const void *data, size_t len, const struct ucred *creds,
		 const struct unix_rights *rights, const struct sockaddr *dest,
		 unsigned int dest_len, bool stream)
{
	int hold[2], ret;
	pid_t child;

	ret = send_all(sk, data, len, creds, rights, dest, dest_len, stream);
	if (ret != -ESRCH || !creds)
		return ret;
	/* No process has the sender's pid now. */
	child = placeholder_start(creds->pid, hold);
	if (child < 0)
		return child;
	ret = send_all(sk, data, len, creds, rights, dest, dest_len, stream);
	placeholder_end(child, hold[1]);
	return ret;
}
