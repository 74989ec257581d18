/* Fds in flight (SCM_RIGHTS) of the kinds made from their own dump: one
 * datagram carries a UDP socket with a datagram queued, an armed timerfd,
 * a pidfd of a child and an inotify watching a folder; a second a TCP
 * listener, a signalfd, a bound netlink route socket and a packet socket;
 * the program holds none of them. After restore it receives them and uses
 * each: the UDP socket reads its datagram and another sent to its address,
 * the timer keeps its interval and runs, the pidfd kills and reaps the
 * child, the inotify reports a file made in the folder, the listener
 * accepts a connection, the signalfd reads a signal, the netlink socket
 * keeps its port id and answers a link dump, the packet socket is one. */
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define NR_FDS 4
#define TIMER_VALUE_S 600
#define TIMER_INTERVAL_S 300

static bool send_fds(int sk, const char *data, const int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * NR_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sk, &msg, 0) == (ssize_t)strlen(data);
}

static bool recv_fds(int sk, const char *want, int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * NR_FDS)];
		struct cmsghdr align;
	} control;
	char buf[64];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t got = recvmsg(sk, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	size_t nr;

	if (got != (ssize_t)strlen(want) || memcmp(buf, want, got))
		return prog_fail("the message reads %zd bytes, not '%s'", got, want);
	nr = c && c->cmsg_type == SCM_RIGHTS ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
	if (nr != n)
		return prog_fail("the message came with %zu fds, not %zu", nr, n);
	memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
	return true;
}

static bool link_is(int fd, const char *what, const char *want)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	return PROG_CHECK(!strncmp(link, want, strlen(want)), "%s in flight is '%s'", what, link);
}

static void check_udp(int sk, const struct sockaddr_in *addr)
{
	struct sockaddr_in now;
	socklen_t len = sizeof(now);
	char buf[32];
	ssize_t n;
	int out;

	if (!link_is(sk, "the UDP socket", "socket:["))
		return;
	PROG_CHECK(!getsockname(sk, (struct sockaddr *)&now, &len) &&
			   now.sin_port == addr->sin_port,
		   "the UDP socket in flight lost its port %d", ntohs(addr->sin_port));
	n = recv(sk, buf, sizeof(buf), MSG_DONTWAIT);
	PROG_CHECK(n == 6 && !memcmp(buf, "queued", 6),
		   "the UDP socket in flight reads %zd bytes '%.*s', not 'queued'", n,
		   (int)(n > 0 ? n : 0), buf);
	out = socket(AF_INET, SOCK_DGRAM, 0);
	PROG_CHECK(out >= 0 && sendto(out, "after", 5, 0, (const struct sockaddr *)addr,
				      sizeof(*addr)) == 5,
		   "cannot send to the UDP socket in flight");
	n = recv(sk, buf, sizeof(buf), 0);
	PROG_CHECK(n == 5 && !memcmp(buf, "after", 5), "the UDP socket in flight reads %zd",
		   n);
	close(out);
}

static void check_timer(int tfd)
{
	struct itimerspec its;
	uint64_t ticks;

	if (!link_is(tfd, "the timerfd", "anon_inode:[timerfd]"))
		return;
	PROG_CHECK(!timerfd_gettime(tfd, &its) && its.it_interval.tv_sec == TIMER_INTERVAL_S &&
			   its.it_value.tv_sec > 0 && its.it_value.tv_sec <= TIMER_VALUE_S,
		   "the timerfd in flight: %ld s left, interval %ld s", (long)its.it_value.tv_sec,
		   (long)its.it_interval.tv_sec);
	/* Armed again to fire at once: it still counts and reads. */
	its = (struct itimerspec){ .it_value.tv_nsec = 1000 };
	PROG_CHECK(!timerfd_settime(tfd, 0, &its, NULL) && read(tfd, &ticks, 8) == 8 &&
			   ticks == 1,
		   "the timerfd in flight does not fire");
}

static void check_pidfd(int pfd, pid_t child)
{
	siginfo_t info = { 0 };

	if (!link_is(pfd, "the pidfd", "anon_inode:[pidfd]"))
		return;
	if (!PROG_CHECK(!syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0),
			"cannot kill the child through the pidfd in flight"))
		return;
	PROG_CHECK(!waitid(P_PIDFD, pfd, &info, WEXITED) && info.si_pid == child &&
			   info.si_status == SIGKILL,
		   "the pidfd in flight reaped pid %d (status %d), not the child %d", info.si_pid,
		   info.si_status, child);
}

static void check_inotify(int ifd, const char *dir)
{
	union {
		char buf[sizeof(struct inotify_event) + 64];
		struct inotify_event ev;
	} u;
	char path[300];
	ssize_t n;
	int f;

	if (!link_is(ifd, "the inotify", "anon_inode:inotify"))
		return;
	/* A new name: the original, left running, makes one too. */
	snprintf(path, sizeof(path), "%s/made-XXXXXX", dir);
	f = mkstemp(path);
	if (!PROG_CHECK(f >= 0, "cannot make %s", path))
		return;
	close(f);
	n = read(ifd, u.buf, sizeof(u.buf));
	PROG_CHECK(n >= (ssize_t)sizeof(u.ev) && (u.ev.mask & IN_CREATE) &&
			   !strcmp(u.ev.name, strrchr(path, '/') + 1),
		   "the inotify in flight read %zd bytes, mask %#x", n, n > 0 ? u.ev.mask : 0);
	unlink(path);
}

static void check_listener(int sk, const struct sockaddr_in *addr)
{
	int client = socket(AF_INET, SOCK_STREAM, 0), conn = -1;
	char buf[8];

	if (!link_is(sk, "the TCP listener", "socket:["))
		return;
	if (PROG_CHECK(client >= 0 && !connect(client, (const struct sockaddr *)addr,
					       sizeof(*addr)),
		       "cannot connect to the TCP listener in flight")) {
		conn = accept(sk, NULL, NULL);
		PROG_CHECK(conn >= 0 && write(client, "tcp", 3) == 3 &&
				   read(conn, buf, sizeof(buf)) == 3 && !memcmp(buf, "tcp", 3),
			   "the TCP listener in flight accepts no working connection");
	}
	/* The client closes first, so its end, not the listener's port,
	 * waits in TIME_WAIT: the image of the original, left running, binds
	 * that port again. */
	if (client >= 0)
		close(client);
	if (conn >= 0)
		close(conn);
}

static void check_signalfd(int sfd)
{
	struct signalfd_siginfo si;

	if (!link_is(sfd, "the signalfd", "anon_inode:[signalfd]"))
		return;
	PROG_CHECK(!raise(SIGUSR1) && read(sfd, &si, sizeof(si)) == sizeof(si) &&
			   si.ssi_signo == SIGUSR1,
		   "the signalfd in flight does not read SIGUSR1");
}

static void check_netlink(int nl, uint32_t port)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 } };
	struct sockaddr_nl now;
	socklen_t len = sizeof(now);
	union {
		char buf[16384];
		struct nlmsghdr h;
	} u;
	ssize_t n;

	if (!link_is(nl, "the netlink socket", "socket:["))
		return;
	PROG_CHECK(!getsockname(nl, (struct sockaddr *)&now, &len) && now.nl_pid == port,
		   "the netlink socket in flight has port id %u, not %u", now.nl_pid, port);
	n = send(nl, &req, sizeof(req), 0) == sizeof(req) ? recv(nl, u.buf, sizeof(u.buf), 0)
							    : -1;
	PROG_CHECK(n >= (ssize_t)sizeof(u.h) && u.h.nlmsg_type == RTM_NEWLINK,
		   "the netlink socket in flight answers no link dump (%zd bytes)", n);
}

static void check_packet(int pk)
{
	int domain = 0, type = 0;
	socklen_t len = sizeof(int);

	if (!link_is(pk, "the packet socket", "socket:["))
		return;
	getsockopt(pk, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	len = sizeof(int);
	getsockopt(pk, SOL_SOCKET, SO_TYPE, &type, &len);
	PROG_CHECK(domain == AF_PACKET && type == SOCK_DGRAM,
		   "the packet socket in flight is of domain %d, type %d", domain, type);
}

/* The second message: a TCP listener, a signalfd, a netlink socket, a
 * packet socket. */
static bool send_sockets(int sk, struct sockaddr_in *addr, uint32_t *port)
{
	/* A group in use but quiet: link events from other tests' links would
	 * queue messages the dump refuses (queued netlink messages). */
	struct sockaddr_nl nla = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_MROUTE };
	socklen_t len = sizeof(*addr), nlen = sizeof(nla);
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	int pk = socket(AF_PACKET, SOCK_DGRAM, 0);
	sigset_t usr1;
	int sfd;
	bool ok;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sfd = signalfd(-1, &usr1, SFD_NONBLOCK);
	ok = tcp >= 0 && nl >= 0 && pk >= 0 && sfd >= 0 && !sigprocmask(SIG_BLOCK, &usr1, NULL) &&
	     !bind(tcp, (struct sockaddr *)addr, sizeof(*addr)) && !listen(tcp, 4) &&
	     !getsockname(tcp, (struct sockaddr *)addr, &len) &&
	     !bind(nl, (struct sockaddr *)&nla, sizeof(nla)) &&
	     !getsockname(nl, (struct sockaddr *)&nla, &nlen) &&
	     send_fds(sk, "four sockets", (int[]){ tcp, sfd, nl, pk }, NR_FDS);
	*port = nla.nl_pid;
	close(tcp);
	close(nl);
	close(pk);
	close(sfd);
	return ok;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in tcp_addr = addr;
	struct itimerspec its = { .it_value.tv_sec = TIMER_VALUE_S,
				  .it_interval.tv_sec = TIMER_INTERVAL_S };
	socklen_t len = sizeof(addr);
	int dg[2], udp, out, tfd, pfd, ifd, got[NR_FDS];
	char dir[256];
	uint32_t port;
	pid_t child;

	prog_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/watched", prog_dir());
	/* Forked first: the pair is the program's alone, so the program
	 * fills its queue once the child exists. */
	child = fork();
	if (child < 0)
		return 1;
	if (!child) {
		for (;;)
			pause();
	}
	if (mkdir(dir, 0700) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg)) {
		kill(child, SIGKILL);
		return 1;
	}
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	out = socket(AF_INET, SOCK_DGRAM, 0);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	pfd = pidfd_open(child, 0);
	ifd = inotify_init1(IN_NONBLOCK);
	if (udp < 0 || out < 0 || tfd < 0 || pfd < 0 || ifd < 0 ||
	    bind(udp, (struct sockaddr *)&addr, sizeof(addr)) ||
	    getsockname(udp, (struct sockaddr *)&addr, &len) ||
	    sendto(out, "queued", 6, 0, (struct sockaddr *)&addr, sizeof(addr)) != 6 ||
	    timerfd_settime(tfd, 0, &its, NULL) || inotify_add_watch(ifd, dir, IN_CREATE) < 0 ||
	    !send_fds(dg[1], "four kinds", (int[]){ udp, tfd, pfd, ifd }, NR_FDS) ||
	    !send_sockets(dg[1], &tcp_addr, &port)) {
		kill(child, SIGKILL);
		return 1;
	}
	close(udp);
	close(out);
	close(tfd);
	close(pfd);
	close(ifd);
	prog_ready();
	prog_wait_sigterm();

	if (recv_fds(dg[0], "four kinds", got, NR_FDS)) {
		check_udp(got[0], &addr);
		check_timer(got[1]);
		check_pidfd(got[2], child);
		check_inotify(got[3], dir);
		for (int i = 0; i < NR_FDS; i++)
			close(got[i]);
	}
	if (recv_fds(dg[0], "four sockets", got, NR_FDS)) {
		check_listener(got[0], &tcp_addr);
		check_signalfd(got[1]);
		check_netlink(got[2], port);
		check_packet(got[3]);
		for (int i = 0; i < NR_FDS; i++)
			close(got[i]);
	}
	/* Whatever failed, the child does not outlive the program. */
	if (!kill(child, SIGKILL))
		waitpid(child, NULL, 0);
	prog_finish();
}
