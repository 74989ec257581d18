/* The holder of write trackers (track.h): a small process, forked by cryo
 * before its dump and detached from it, that keeps the userfaultfds a
 * dump armed (the registration lives while some process holds one) and
 * hands them to the next dump of the chain. It answers on a unix socket
 * in the set's own folder, TRACK_SOCKET_NAME: reachable through the
 * parent set's fd from whatever mount and network namespace that dump
 * runs in (a container's dumper enters the container's mounts), guarded
 * by the folder's permissions and its mode 0600 as the images are, and
 * gone with the set; the peer's uid is checked both ways, and the set's
 * dump id must match. An abstract name would be anyone's to squat or ask
 * within one network namespace, and no one's from another.
 *
 * What it costs the tree: nothing is pinned (a userfaultfd holds the mm
 * structure, not its memory), a write is never blocked (async: the
 * kernel clears the bit and goes on), the first write to each protected
 * page takes a minor fault, khugepaged leaves protected ranges alone, and
 * the process cannot register those ranges with a userfaultfd of its
 * own. So it does not stay: it exits once its set is taken, when every
 * tracked process has exited, when its socket or folder is removed, or
 * after TRACK_HOLD_MAX_S. Its exit closes the userfaultfds, which ends the
 * registration and clears the bits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "mem/track.h"

/* How long a holder waits for the next dump at most. */
#define TRACK_HOLD_MAX_S 3600
/* How often it looks whether its socket is still there. */
#define TRACK_CHECK_MS 2000
/* How long either side waits for the other's next message. */
#define TRACK_REPLY_MS 10000

#define TRACK_WIRE_MAGIC 0x4b525443u	/* "CTRK" */

/* The set: the holder's greeting, the commit's header, the request and
 * the reply's header. */
struct track_wire_set {
	uint32_t magic;
	int32_t status;		/* 0, or -errno (a reply refusing) */
	uint32_t nr;		/* struct track_wire_task messages that follow */
	int32_t pid;		/* the holder's, in its acks */
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
};

/* One process; its userfaultfd and pidfd ride along as SCM_RIGHTS. */
struct track_wire_task {
	uint32_t magic;
	int32_t pid;
	struct track_exec_token token;
};

/* ---- messages ------------------------------------------------------------ */

static int send_msg(int sock, const void *buf, size_t len, const int *fds, size_t nr_fds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} control;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nr_fds) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(nr_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nr_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nr_fds * sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Receives one message of exactly @len bytes and exactly @nr_fds fds
 * (closed again on any mismatch), waiting @timeout_ms at most (-1: for
 * ever). -ENOENT at the end of the stream. */
static int recv_msg(int sock, void *buf, size_t len, int *fds, size_t nr_fds, int timeout_ms)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	size_t got = 0;
	ssize_t n;
	int ret;

	do
		ret = poll(&p, 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret <= 0)
		return ret ? -errno : -ETIMEDOUT;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k = c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS ?
				   (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;

		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < nr_fds)
				fds[got] = fd;
			else
				close(fd);
			got++;
		}
	}
	ret = 0;
	if (!n)
		ret = -ENOENT;
	else if ((size_t)n != len || got != nr_fds || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		ret = -EPROTO;
	for (size_t i = 0; ret && i < got && i < nr_fds; i++)
		close(fds[i]);
	return ret;
}

/* The uid at the other end is root's or our own. */
static bool peer_trusted(int sock)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return !getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) &&
	       (cred.uid == 0 || cred.uid == geteuid());
}

/* ---- the holder ----------------------------------------------------------- */

struct holder {
	int dir_fd;
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	struct track_held *held;
	size_t nr, alive;
	struct stat sock_st;	/* the socket file it bound, to know it again */
};

/* The commit: the set's header with its folder's fd, then each process. */
static int holder_receive(int sp, struct holder *h)
{
	struct track_wire_set set;
	int ret = recv_msg(sp, &set, sizeof(set), &h->dir_fd, 1, -1);

	if (ret)
		return ret;
	if (set.magic != TRACK_WIRE_MAGIC || set.nr > 1u << 20)
		return -EPROTO;
	memcpy(h->dump_id, set.dump_id, sizeof(h->dump_id));
	h->held = calloc(set.nr ? set.nr : 1, sizeof(*h->held));
	if (!h->held)
		return -ENOMEM;
	for (uint32_t i = 0; i < set.nr; i++) {
		struct track_wire_task w;
		int fds[2];

		ret = recv_msg(sp, &w, sizeof(w), fds, 2, TRACK_REPLY_MS);
		if (ret)
			return ret;
		if (w.magic != TRACK_WIRE_MAGIC) {
			close(fds[0]);
			close(fds[1]);
			return -EPROTO;
		}
		h->held[h->nr++] = (struct track_held){ .pid = w.pid, .uffd = fds[0],
							.pidfd = fds[1], .token = w.token };
	}
	h->alive = h->nr;
	return 0;
}

/* The socket, bound in the set's folder (relative to it: the path the
 * dump was given may lead elsewhere from here), mode 0600. */
static int holder_bind(struct holder *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (sock < 0)
		return -errno;
	memcpy(sa.sun_path, TRACK_SOCKET_NAME, sizeof(TRACK_SOCKET_NAME));
	umask(077);
	unlinkat(h->dir_fd, TRACK_SOCKET_NAME, 0);
	if (fchdir(h->dir_fd) || bind(sock, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(sock, 4) || chdir("/") ||
	    fstatat(h->dir_fd, TRACK_SOCKET_NAME, &h->sock_st, AT_SYMLINK_NOFOLLOW)) {
		int err = -errno;

		close(sock);
		return err;
	}
	return sock;
}

/* Whether the socket file is still the one bound (not removed with its
 * set, nor replaced). */
static bool holder_sock_there(const struct holder *h)
{
	struct stat st;

	return !fstatat(h->dir_fd, TRACK_SOCKET_NAME, &st, AT_SYMLINK_NOFOLLOW) &&
	       st.st_dev == h->sock_st.st_dev && st.st_ino == h->sock_st.st_ino;
}

/* One dump asking: the set's trackers if it names this set. Returns
 * whether they were handed over. */
static bool holder_serve(struct holder *h, int conn)
{
	struct track_wire_set ask, reply = { .magic = TRACK_WIRE_MAGIC, .pid = getpid() };
	int ret;

	if (!peer_trusted(conn))
		return false;
	ret = recv_msg(conn, &ask, sizeof(ask), NULL, 0, TRACK_REPLY_MS);
	if (ret || ask.magic != TRACK_WIRE_MAGIC)
		return false;
	memcpy(reply.dump_id, h->dump_id, sizeof(reply.dump_id));
	if (memcmp(ask.dump_id, h->dump_id, sizeof(h->dump_id))) {
		reply.status = -EXDEV;
		send_msg(conn, &reply, sizeof(reply), NULL, 0);
		return false;
	}
	reply.nr = (uint32_t)h->alive;
	ret = send_msg(conn, &reply, sizeof(reply), NULL, 0);
	for (size_t i = 0; !ret && i < h->nr; i++) {
		struct track_wire_task w = { .magic = TRACK_WIRE_MAGIC, .pid = h->held[i].pid,
					     .token = h->held[i].token };
		int fds[2] = { h->held[i].uffd, h->held[i].pidfd };

		if (h->held[i].pidfd >= 0)
			ret = send_msg(conn, &w, sizeof(w), fds, 2);
	}
	return !ret;
}

static long hold_max_s(void)
{
	const char *env = getenv("CRYO_TEST_TRACK_HOLD_S");

	return env && atol(env) > 0 ? atol(env) : TRACK_HOLD_MAX_S;
}

/* Waits for the dump that takes the set, or for a reason to stop. */
static void holder_wait(struct holder *h, int sock)
{
	struct timespec now, end;
	struct pollfd *p = calloc(h->nr + 1, sizeof(*p));

	if (!p)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += hold_max_s();
	while (h->alive && holder_sock_there(h)) {
		int n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= end.tv_sec)
			break;
		p[0] = (struct pollfd){ .fd = sock, .events = POLLIN };
		/* A pidfd polls readable once its process has exited. */
		for (size_t i = 0; i < h->nr; i++)
			p[i + 1] = (struct pollfd){ .fd = h->held[i].pidfd, .events = POLLIN };
		n = poll(p, h->nr + 1, TRACK_CHECK_MS);
		if (n < 0 && errno != EINTR)
			break;
		for (size_t i = 0; n > 0 && i < h->nr; i++) {
			if (h->held[i].pidfd < 0 || !p[i + 1].revents)
				continue;
			close(h->held[i].uffd);
			close(h->held[i].pidfd);
			h->held[i].uffd = h->held[i].pidfd = -1;
			h->alive--;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			int conn = accept4(sock, NULL, NULL, SOCK_CLOEXEC);

			if (conn >= 0 && holder_serve(h, conn)) {
				close(conn);
				break;
			}
			if (conn >= 0)
				close(conn);
		}
	}
	free(p);
}

/* The holder's life, in the grandchild of cryo. Nothing of cryo's is
 * kept: its descriptors (a client's RPC socket, its log) closed, its
 * session left. */
static void __attribute__((noreturn)) holder_main(int sp)
{
	struct holder h = { .dir_fd = -1 };
	struct track_wire_set ack = { .magic = TRACK_WIRE_MAGIC };
	struct rlimit rl;
	sigset_t mask;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), sock;

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    dup2(sp, 3) < 0)
		_exit(1);
	close_range(4, ~0u, 0);
	sp = 3;
	setsid();
	/* cryo's blocked signals are not the holder's: SIGTERM ends it. */
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "cryo-track-mem");
	/* Two descriptors a process of the tree. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* No commit (the dump failed, or armed nothing): the stream ends. */
	if (holder_receive(sp, &h) || !h.nr)
		_exit(0);
	sock = holder_bind(&h);
	ack.status = sock < 0 ? sock : 0;
	ack.pid = getpid();
	send_msg(sp, &ack, sizeof(ack), NULL, 0);
	close(sp);
	if (sock < 0)
		_exit(1);
	holder_wait(&h, sock);
	if (holder_sock_there(&h))
		unlinkat(h.dir_fd, TRACK_SOCKET_NAME, 0);
	_exit(0);
}

int track_holder_spawn(int *fd)
{
	int sp[2], status;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp))
		return pr_errno_ret("dump: cannot make a socket pair for the write tracker");
	/* Forked twice: the holder is no child of cryo's (nor of the RPC
	 * service's), which reap theirs, and it outlives them. */
	child = fork();
	if (child == 0) {
		close(sp[0]);
		if (fork() == 0)
			holder_main(sp[1]);
		_exit(0);
	}
	close(sp[1]);
	if (child < 0) {
		close(sp[0]);
		return pr_errno_ret("dump: cannot fork the write tracker's holder");
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	*fd = sp[0];
	return 0;
}

/* ---- the dumps' side ----------------------------------------------------- */

int track_holder_hand(int holder_fd, struct image_dir *dir, const struct track_held *held,
		      size_t nr, pid_t *holder_pid)
{
	struct track_wire_set set = { .magic = TRACK_WIRE_MAGIC, .nr = (uint32_t)nr }, ack;
	int ret;

	memcpy(set.dump_id, dir->dump_id, sizeof(set.dump_id));
	ret = send_msg(holder_fd, &set, sizeof(set), &dir->fd, 1);
	for (size_t i = 0; !ret && i < nr; i++) {
		struct track_wire_task w = { .magic = TRACK_WIRE_MAGIC, .pid = held[i].pid,
					     .token = held[i].token };
		int fds[2] = { held[i].uffd, held[i].pidfd };

		ret = send_msg(holder_fd, &w, sizeof(w), fds, 2);
	}
	if (!ret)
		ret = recv_msg(holder_fd, &ack, sizeof(ack), NULL, 0, TRACK_REPLY_MS);
	if (!ret && (ack.magic != TRACK_WIRE_MAGIC || ack.status))
		ret = ack.magic != TRACK_WIRE_MAGIC ? -EPROTO : ack.status;
	if (!ret)
		*holder_pid = ack.pid;
	return ret;
}

/* Connects to the socket in the folder @dir_fd: connect() takes a path,
 * so from that folder as the working one, which is put back after. */
static int connect_in(int dir_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int back = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int sock, ret;

	if (fstatat(dir_fd, TRACK_SOCKET_NAME, &st, AT_SYMLINK_NOFOLLOW) || !S_ISSOCK(st.st_mode))
		return -ENOENT;
	if (back < 0)
		return -errno;
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	memcpy(sa.sun_path, TRACK_SOCKET_NAME, sizeof(TRACK_SOCKET_NAME));
	ret = fchdir(dir_fd) || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	if (fchdir(back) && !ret)
		ret = -errno;
	if (ret) {
		close(sock);
		/* A socket whose holder is gone refuses: no holder. */
		return ret == -ECONNREFUSED ? -ENOENT : ret;
	}
	return sock;
}

int track_holder_take(int parent_fd, const uint8_t *id, struct track_held **out, size_t *nr,
		      pid_t *holder_pid)
{
	struct track_wire_set ask = { .magic = TRACK_WIRE_MAGIC }, reply;
	_cleanup_free_ struct track_held *held = NULL;
	_cleanup_close_ int sock = connect_in(parent_fd);
	size_t got = 0;
	int ret;

	if (sock < 0)
		return sock;
	if (!peer_trusted(sock))
		return -EPERM;
	memcpy(ask.dump_id, id, sizeof(ask.dump_id));
	ret = send_msg(sock, &ask, sizeof(ask), NULL, 0);
	if (!ret)
		ret = recv_msg(sock, &reply, sizeof(reply), NULL, 0, TRACK_REPLY_MS);
	if (!ret && (reply.magic != TRACK_WIRE_MAGIC || reply.nr > 1u << 20 ||
		     memcmp(reply.dump_id, id, sizeof(reply.dump_id))))
		ret = -EPROTO;
	if (!ret && reply.status)
		ret = reply.status < 0 ? reply.status : -EPROTO;
	if (ret)
		return ret;
	held = calloc(reply.nr ? reply.nr : 1, sizeof(*held));
	if (!held)
		return -ENOMEM;
	for (; got < reply.nr; got++) {
		struct track_wire_task w;
		int fds[2];

		ret = recv_msg(sock, &w, sizeof(w), fds, 2, TRACK_REPLY_MS);
		if (!ret && w.magic != TRACK_WIRE_MAGIC) {
			close(fds[0]);
			close(fds[1]);
			ret = -EPROTO;
		}
		if (ret)
			break;
		held[got] = (struct track_held){ .pid = w.pid, .uffd = fds[0], .pidfd = fds[1],
						 .token = w.token };
	}
	if (ret) {
		for (size_t i = 0; i < got; i++) {
			close(held[i].uffd);
			close(held[i].pidfd);
		}
		return ret;
	}
	*out = held;
	held = NULL;
	*nr = got;
	*holder_pid = reply.pid;
	return 0;
}
