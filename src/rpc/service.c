/* `cryo service`: criu's socket-activated mode. Listens on a unix
 * SOCK_SEQPACKET socket (the path given, or fd 3 when systemd passes one
 * through LISTEN_FDS) and serves each connection in a child of its own,
 * one session per connection, as swrk serves its socketpair. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/log.h"
#include "common/status_fd.h"
#include "rpc/rpc.h"

#define SD_LISTEN_FDS_START 3

/* The socket systemd passed, when it passed exactly one to this process. */
static int activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	socklen_t len = sizeof(int);
	int listening = 0;

	if (!pid || !fds || atoi(pid) != getpid())
		return -1;
	if (atoi(fds) != 1) {
		pr_err("service: systemd passed %s sockets; cryo serves exactly one", fds);
		return -EINVAL;
	}
	if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) ||
	    !listening) {
		pr_err("service: fd %d, passed by socket activation, is not a listening socket",
		       SD_LISTEN_FDS_START);
		return -EINVAL;
	}
	return SD_LISTEN_FDS_START;
}

/* Binds and listens under a temporary name, then renames it into place:
 * a client never finds the path before it accepts connections. An
 * earlier service's socket file at @path is replaced. */
static int listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int sk, n;

	n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s.%d", path, getpid());
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path)) {
		pr_err("service: socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return pr_errno_ret("service: socket");
	unlink(addr.sun_path);
	if (bind(sk, (struct sockaddr *)&addr, sizeof(addr)) || chmod(addr.sun_path, 0600) ||
	    listen(sk, 16) || rename(addr.sun_path, path)) {
		int err = pr_errno_ret("service: cannot listen on %s", path);

		unlink(addr.sun_path);
		close(sk);
		return err;
	}
	return sk;
}

static void reap_sessions(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Each connection in a child: dump and restore keep state per run. */
static void serve_connection(int listener, int sk)
{
	pid_t child = fork();

	if (child == 0) {
		struct rpc_conn conn = { .sk = sk, .fd_owner = rpc_peer_pid(sk) };

		close(listener);
		_exit(rpc_serve(&conn) ? 1 : 0);
	}
	if (child < 0)
		pr_err("service: cannot fork for a connection: %s", strerror(errno));
	close(sk);
}

int cmd_service(const struct cryo_opts *opts)
{
	int listener = activated_socket();

	if (listener == -EINVAL)
		return 1;
	if (listener < 0) {
		if (opts->nargs != 1) {
			pr_err("service: usage: cryo service SOCKET-PATH (or socket activation)");
			return 1;
		}
		listener = listen_on(opts->args[0]);
		if (listener < 0)
			return 1;
	}
	pr_info("service: serving criu's RPC");
	/* criu's --status-fd: the socket listens, clients may connect. */
	status_ready(opts->status_fd);
	for (;;) {
		struct pollfd pfd = { .fd = listener, .events = POLLIN };
		int sk;

		reap_sessions();
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		sk = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (sk < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			/* The listening socket itself is broken: no point in spinning. */
			pr_err("service: accept: %s", strerror(errno));
			return 1;
		}
		serve_connection(listener, sk);
	}
}
