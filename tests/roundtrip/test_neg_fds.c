/* Negative tests (test_negative.c says what they check): what dump refuses
 * in a program's fds (sockets it cannot save, a pidfd reaching outside the
 * dump, a shared fd table), each naming the cause while the program runs
 * on; and the network lock and an outside unix peer met again. Namespaces
 * and IPC objects are test_neg_ns_ipc.c's. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/sched.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"

/* The unsupported descriptors sit here in the dumped program. */
#define ODD_FD 5

static void put_at_odd_fd(int fd)
{
	if (fd < 0 || dup2(fd, ODD_FD) < 0)
		_exit(126);
	if (fd != ODD_FD)
		close(fd);
}

/* A socketpair whose other end a process outside the program holds: a
 * grandchild that its child left, so it is the runner's (the subreaper),
 * ended with the program's children. */
static void open_unix_peer_outside(void *arg)
{
	int sv[2];
	pid_t child;

	(void)arg;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		_exit(126);
	child = fork();
	if (child < 0)
		_exit(126);
	if (child == 0) {
		if (fork() == 0) {
			close(sv[0]);
			for (;;)
				pause();
		}
		_exit(0);
	}
	waitpid(child, NULL, 0);
	close(sv[1]);
	put_at_odd_fd(sv[0]);
}

/* A unix listener at ODD_FD with a client waiting in its accept queue
 * that has sent bytes (@arg non-NULL: then closed), the client above it. */
static void open_unix_listener_with_a_waiting_connection(void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int listener = socket(AF_UNIX, SOCK_STREAM, 0), client = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "cryo-neg-listener-%d", getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	if (listener < 0 || client < 0 || bind(listener, (struct sockaddr *)&sa, len) ||
	    listen(listener, 4) || connect(client, (struct sockaddr *)&sa, len) ||
	    send(client, "sent", 4, 0) != 4 || (!arg && fcntl(client, F_DUPFD, ODD_FD + 10) < 0))
		_exit(126);
	close(client);
	put_at_odd_fd(listener);
}

/* Sends one byte from @from carrying @fds (SCM_RIGHTS). */
static void send_rights(int from, const int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	if (sendmsg(from, &msg, 0) != 1)
		_exit(126);
}

/* A datagram socketpair whose end at ODD_FD has a message queued carrying
 * /dev/null (which cryo sends again) and a fanotify (which it cannot); the
 * other end above it. */
static void open_unix_with_a_fanotify_in_flight(void *arg)
{
	int sv[2], null = open("/dev/null", O_RDONLY);
	int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);

	(void)arg;
	if (null < 0 || fan < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		_exit(126);
	send_rights(sv[1], (int[]){ null, fan }, 2);
	if (fcntl(sv[1], F_DUPFD, ODD_FD + 10) < 0)
		_exit(126);
	close(null);
	close(fan);
	close(sv[1]);
	put_at_odd_fd(sv[0]);
}

/* A datagram socketpair with SO_PASSPIDFD (76 since Linux 6.5) on the end
 * at ODD_FD and a message queued on it; the other end above it. */
static void open_unix_passpidfd_with_data(void *arg)
{
	int sv[2], one = 1;

	(void)arg;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) ||
	    setsockopt(sv[0], SOL_SOCKET, 76, &one, sizeof(one)) || send(sv[1], "x", 1, 0) != 1 ||
	    fcntl(sv[1], F_DUPFD, ODD_FD + 10) < 0)
		_exit(126);
	close(sv[1]);
	put_at_odd_fd(sv[0]);
}

/* A seqpacket connection accepted from an abstract listener: the accepted
 * end has sent a record, which its client (at ODD_FD) sees sent from the
 * listener's name; listener and accepted end above it. */
static void open_unix_seqpacket_from_accepted(void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int l, client, c;

	(void)arg;
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "cryo-neg-seqpacket-%d", getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	client = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (l < 0 || client < 0 || bind(l, (struct sockaddr *)&sa, len) || listen(l, 1) ||
	    connect(client, (struct sockaddr *)&sa, len))
		_exit(126);
	c = accept(l, NULL, NULL);
	if (c < 0 || send(c, "x", 1, 0) != 1 || fcntl(l, F_DUPFD, ODD_FD + 10) < 0 ||
	    fcntl(c, F_DUPFD, ODD_FD + 11) < 0)
		_exit(126);
	close(l);
	close(c);
	put_at_odd_fd(client);
}

/* A packet socket bound to lo for an experimental ethertype, with a frame
 * it sent itself queued to be read. */
static void open_packet_socket_with_a_frame_queued(void *arg)
{
	int lo = (int)if_nametoindex("lo");
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = lo,
				  .sll_protocol = htons(0x88b5), .sll_halen = 6 };
	unsigned char frame[60] = { [12] = 0x88, [13] = 0xb5 };
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	(void)arg;
	if (!lo || fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    poll(&pfd, 1, 2000) != 1)
		_exit(126);
	put_at_odd_fd(fd);
}


/* A netlink route socket with an answer queued to be read. */
static void open_netlink_socket_with_a_message_queued(void *arg)
{
	struct {
		struct nlmsghdr h;
		uint8_t family;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = 18 /* RTM_GETLINK */,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP } };
	struct pollfd pfd;
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);

	(void)arg;
	if (fd < 0 || send(fd, &req, sizeof(req), 0) != sizeof(req))
		_exit(126);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 2000) != 1)
		_exit(126);
	put_at_odd_fd(fd);
}

/* A TCP connection on loopback, both ends in the program: the accepted end
 * at ODD_FD. */
static void open_tcp_connection(void *arg)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(lo);
	int listener = socket(AF_INET, SOCK_STREAM, 0), client = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	if (listener < 0 || client < 0 || bind(listener, (struct sockaddr *)&lo, sizeof(lo)) ||
	    listen(listener, 1) || getsockname(listener, (struct sockaddr *)&lo, &len) ||
	    connect(client, (struct sockaddr *)&lo, sizeof(lo)))
		_exit(126);
	/* The client end stays open (so the other is established), above
	 * ODD_FD: the dump meets ODD_FD first. */
	if (fcntl(client, F_DUPFD, ODD_FD + 10) < 0)
		_exit(126);
	close(client);
	client = accept(listener, NULL, NULL);
	close(listener);
	put_at_odd_fd(client);
}

/* The program gets an fd no kind of cryo's knows: the dump must fail naming
 * it, and the program must not notice. */
static void check_unsupported_fd_arg(child_setup_fn open_fd, void *arg, const char *what)
{
	CHECK(socket_dump_refused(open_fd, arg, ODD_FD, what), "%s", why);
}

static void check_unsupported_fd(child_setup_fn open_fd, const char *what)
{
	check_unsupported_fd_arg(open_fd, NULL, what);
}

/* A listening TCP socket at ODD_FD with one connection waiting in its
 * accept queue; the client end stays open above it. */
static void open_listener_with_a_waiting_connection(void *arg)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(lo);
	int listener = socket(AF_INET, SOCK_STREAM, 0), client = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	if (listener < 0 || client < 0 || bind(listener, (struct sockaddr *)&lo, sizeof(lo)) ||
	    listen(listener, 4) || getsockname(listener, (struct sockaddr *)&lo, &len) ||
	    connect(client, (struct sockaddr *)&lo, sizeof(lo)) ||
	    fcntl(client, F_DUPFD, ODD_FD + 10) < 0)
		_exit(126);
	close(client);
	put_at_odd_fd(listener);
}

/* Refused once every process is dumped, when its pair's group lacks the
 * peer: named by the socket's object, its name and its peer's inode. */
TEST(dump_refuses_a_unix_socket_whose_peer_is_outside_it_naming_both_and_the_program_runs_on)
{
	struct prog p = { 0 };
	char expect[64];

	CHECK_GOTO(start_prog(&p, "prog_counter", open_unix_peer_outside, NULL), out, "%s", why);
	snprintf(expect, sizeof(expect), "pid %d fd %d (unix socket file ", p.pid, ODD_FD);
	CHECK_GOTO(dump_refused_unharmed(&p, expect,
					 "): unix socket unnamed is connected to socket:[") &&
			   prog_passes(&p),
		   out, "%s", why);
out:
	end_prog(&p);
}

/* Each refused by name: family, type and state. */

/* What a waiting connection's client sent is in no socket cryo can read
 * without accepting it: refused, the queue left as it was. */
TEST(dump_refuses_a_unix_listener_whose_waiting_client_sent_data_and_the_program_runs_on)
{
	check_unsupported_fd(open_unix_listener_with_a_waiting_connection,
			     "waiting in its accept queue: its client has sent data, which cannot "
			     "be read without accepting the connection (taking it from the task): "
			     "not supported (--skip-in-flight drops it)");
}

TEST(dump_refuses_a_unix_listener_whose_waiting_client_closed_and_the_program_runs_on)
{
	check_unsupported_fd_arg(open_unix_listener_with_a_waiting_connection, "closed",
				 "): unix listening socket with a connection from socket:[0] waiting "
				 "in its accept queue: its client has closed, and whether it sent "
				 "data first cannot be seen");
}

/* Fds in flight are saved, but for a kind cryo cannot send again:
 * refused, naming socket, message and the fd in flight. */
TEST(dump_refuses_an_fd_in_flight_it_cannot_send_again_naming_message_and_kind)
{
	check_unsupported_fd(open_unix_with_a_fanotify_in_flight,
			     "): message 1 (fd 2 of 2) carries fanotify (anon_inode:[fanotify]) in "
			     "flight: not supported yet");
}

/* A refused dump leaves the queues as they were: the programs check,
 * after it, that the waiting connection still has its bytes, and that the
 * message still carries its fd (and that cryo kept no copy of the pipe). */
static void check_queue_kept(const char *program, const char *what)
{
	struct prog p = { 0 };
	struct cryo_run r = { 0 };
	char img[PATH_MAX], pid[16];

	CHECK_GOTO(start_prog(&p, program, NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img);
	CHECK_GOTO(refused(&r, what, NULL), out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(a_refused_dump_leaves_a_waiting_connection_with_its_data)
{
	check_queue_kept("neg_unix_accept_data", "its client has sent data");
}

/* A packet ring kept by its mapping alone: its socket has no fd to be
 * named by (test_neg_sockets.c has the other ring refusals). */
TEST(dump_refuses_a_packet_ring_no_fd_holds_and_the_program_runs_on)
{
	check_queue_kept("neg_packet_ring_unheld",
			 "maps a socket that no fd of the dump holds as a packet socket (a ring "
			 "kept by its mapping alone): not supported");
}

TEST(a_refused_dump_leaves_a_message_with_its_fd_in_flight)
{
	check_queue_kept("neg_unix_rights", "carries fanotify (anon_inode:[fanotify]) in flight");
}

/* A peek would give cryo a pidfd per message, which it does not save. */
TEST(dump_refuses_a_unix_socket_with_so_passpidfd_and_data_queued_and_the_program_runs_on)
{
	check_unsupported_fd(open_unix_passpidfd_with_data,
			     "): SO_PASSPIDFD with data queued (a pidfd per message): not "
			     "supported yet");
}

TEST(dump_refuses_a_seqpacket_record_sent_from_an_accepted_end_and_the_program_runs_on)
{
	check_unsupported_fd(open_unix_seqpacket_from_accepted,
			     "a queued record's sender @cryo-neg-seqpacket-");
}

TEST(dump_refuses_a_packet_socket_with_a_frame_queued_and_the_program_runs_on)
{
	check_unsupported_fd(open_packet_socket_with_a_frame_queued,
			     "): AF_PACKET with packets queued to be read: not supported yet");
}

TEST(dump_refuses_a_netlink_socket_with_a_message_queued_and_the_program_runs_on)
{
	check_unsupported_fd(open_netlink_socket_with_a_message_queued,
			     "): netlink socket (protocol 0) with messages queued to be read: not "
			     "supported yet");
}

TEST(dump_refuses_a_tcp_listener_with_a_waiting_connection_and_the_program_runs_on)
{
	check_unsupported_fd(open_listener_with_a_waiting_connection,
			     "): TCP listening socket with 1 connection waiting in its accept "
			     "queue: not supported (the kernel has no way to put a connection back "
			     "into an accept queue; --skip-in-flight leaves them out)");
}

TEST(dump_refuses_an_established_tcp_connection_and_the_program_runs_on)
{
	check_unsupported_fd(open_tcp_connection,
			     "): TCP established: needs --tcp-established (or --tcp-close)");
}

/* Whether nftables has table inet @name. */
static bool nft_table_exists(const char *name)
{
	char cmd[640];

	snprintf(cmd, sizeof(cmd), "nft list table inet %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* A dump killed while it held the network lock leaves its nftables table
 * (named after its pid) dropping a connection's packets: cryo check must
 * report it, and the next dump that locks remove it, then lock and unlock
 * its own. A dump with no connection to lock leaves nftables alone (it
 * does not even load libnftables), the stale table included. */
TEST(a_network_lock_left_by_a_killed_dump_is_reported_and_cleaned_by_the_next_run)
{
	struct prog p = { 0 }, idle = { 0 };
	struct cryo_run r;
	char table[64], cmd[512], own[64], img[PATH_MAX + 8], pid[16];
	int host_net = enter_private_netns();
	pid_t gone;

	/* Any cryo run cleans stale tables of its namespace: the planted one is
	 * kept from the others on the machine. */
	CHECK(host_net >= 0, "cannot make a network namespace: %s", strerror(-host_net));
	gone = fork();
	if (gone == 0)
		_exit(0);
	CHECK_GOTO(gone > 0 && waitpid(gone, NULL, 0) == gone, net, "fork: %s", strerror(errno));
	snprintf(table, sizeof(table), "cryo_lock_%d", gone);
	snprintf(cmd, sizeof(cmd), "nft 'add table inet %s; add chain inet %s input { type filter "
		 "hook input priority raw; policy accept; }; add rule inet %s input ip saddr "
		 "127.0.0.9 tcp dport 9 drop'", table, table, table);
	CHECK_GOTO(system(cmd) == 0, net, "cannot make table %s with nft", table);
	run_cryo(&r, "check");
	CHECK_GOTO(strstr(r.out, "stale   network lock: nftables table inet") &&
		   strstr(r.out, table), out, "cryo check did not report %s: %s", table, r.out);
	CHECK_GOTO(start_prog(&idle, "prog_counter", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", idle.dir);
	snprintf(pid, sizeof(pid), "%d", idle.pid);
	prog_cryo(&r, &idle, "dump", "-t", pid, "-D", img, "-R", "-o", "dump.log");
	CHECK_GOTO(r.status == 0, out, "dump failed: %s", r.out);
	CHECK_GOTO(nft_table_exists(table), out, "a dump with no connection touched nftables: "
		   "it removed the stale table %s", table);
	CHECK_GOTO(prog_passes(&idle), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_tcp_conn", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-R", "-o", "dump.log");
	CHECK_GOTO(r.status == 0, out, "dump failed: %s", r.out);
	CHECK_GOTO(!nft_table_exists(table), out, "the dump left the stale table %s", table);
	snprintf(own, sizeof(own), "cryo_lock_%d", r.pid);
	CHECK_GOTO(!nft_table_exists(own), out, "the dump with -R left its own table %s", own);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (nft_table_exists(table)) {
		snprintf(cmd, sizeof(cmd), "nft delete table inet %s", table);
		if (system(cmd))
			fprintf(stderr, "cannot delete table inet %s\n", table);
	}
	end_prog(&idle);
	end_prog(&p);
net:
	leave_private_netns(host_net);
}

/* A listener outside the program (a grandchild its child left, the
 * runner's then) on the abstract name @arg, which counts the connections
 * it accepts into the file @arg (a path); the program's client at ODD_FD. */
static void connect_to_outside_listener(void *arg)
{
	const char *path = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int listener = socket(AF_UNIX, SOCK_STREAM, 0), client = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t child;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s", path);
	len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
	if (listener < 0 || client < 0 || bind(listener, (struct sockaddr *)&sa, len) ||
	    listen(listener, 4))
		_exit(126);
	child = fork();
	if (child == 0) {
		if (fork() == 0) {
			int accepted = 0, fd;

			close(client);
			for (;;) {
				/* Each connection kept open, so its client stays connected. */
				if (accept(listener, NULL, NULL) < 0)
					continue;
				fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
				if (fd >= 0) {
					dprintf(fd, "%d", ++accepted);
					close(fd);
				}
			}
		}
		_exit(0);
	}
	if (child < 0 || waitpid(child, NULL, 0) < 0)
		_exit(126);
	close(listener);
	if (connect(client, (struct sockaddr *)&sa, len))
		_exit(126);
	put_at_odd_fd(client);
}

/* How many connections the outside listener counted in @path, waiting up
 * to 2 s for @want. */
static int accepted_count(const char *path, int want)
{
	int n = 0;

	for (int i = 0; i < 200 && n < want; i++) {
		FILE *f = fopen(path, "re");

		if (f) {
			if (fscanf(f, "%d", &n) != 1)
				n = 0;
			fclose(f);
		}
		if (n < want)
			usleep(10000);
	}
	return n;
}

/* Refused without --ext-unix-sk, naming both ends; with it, the restored
 * socket is connected to the outside listener again (a new connection). */
TEST(ext_unix_sk_connects_a_socket_to_its_outside_peer_again)
{
	char dir[] = "/tmp/cryo-ext-unix-XXXXXX", count[PATH_MAX], img[PATH_MAX];
	char pid_text[16], pidfile[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid;
	int status;

	CHECK_GOTO(mkdtemp(dir), out, "mkdtemp: %s", strerror(errno));
	snprintf(count, sizeof(count), "%s/accepted", dir);
	CHECK_GOTO(start_prog(&p, "prog_counter", connect_to_outside_listener, count), out, "%s",
		   why);
	CHECK_GOTO(accepted_count(count, 1) == 1, out, "the outside listener accepted nothing");
	CHECK_GOTO(dump_refused_unharmed(&p, "): unix socket unnamed is connected to socket:[",
					 "which no process of the dump holds"),
		   out, "%s", why);
	pathf(img, "%s/img-ext", p.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--ext-unix-sk");
	CHECK_GOTO(r.status == 0, out, "the dump with --ext-unix-sk failed (%d): %s", r.status,
		   r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs on after its dump");
	image_pid = p.pid;
	p.pid = 0;
	pathf(pidfile, "%s/restored.pid", p.dir);
	run_cryo(&r, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "the restore failed (%d): %s", r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(accepted_count(count, 2) == 2, out,
		   "the restored socket did not connect to the outside listener again");
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	unlink(count);
	rmdir(dir);
}

static void open_pidfd_of(void *arg)
{
	put_at_odd_fd((int)syscall(SYS_pidfd_open, *(pid_t *)arg, 0));
	/* pidfd_open() sets O_CLOEXEC, which dup2() onto the same number keeps. */
	if (fcntl(ODD_FD, F_SETFD, 0))
		_exit(126);
}

/* A pidfd of a live process that is not dumped could not be restored (that
 * process will not be there, or another with its pid): the dump must fail
 * naming the fd and that process, and neither process may notice. */
TEST(dump_refuses_a_pidfd_of_a_process_outside_it_and_the_program_runs_on)
{
	struct prog p = { 0 };
	char expect[160];
	unsigned long long tracer = 1;
	pid_t outside;

	outside = fork();
	if (outside == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	CHECK(outside > 0, "fork: %s", strerror(errno));
	CHECK_GOTO(start_prog(&p, "prog_counter", open_pidfd_of, &outside), out, "%s", why);
	snprintf(expect, sizeof(expect), "dump: pid %d fd %d (anon_inode:[pidfd]): refers to pid "
		 "%d, which is not being dumped", p.pid, ODD_FD, outside);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, NULL), out, "%s", why);
	CHECK_GOTO(waitpid(outside, NULL, WNOHANG) == 0 &&
			   proc_status_number(outside, "TracerPid", 10, &tracer) && !tracer,
		   out, "the process outside the dump was disturbed");
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	kill_and_reap(outside);
	end_prog(&p);
}

/* An fd table shared by two siblings (CLONE_FILES | CLONE_PARENT), not by
 * a process and its parent, cannot be built again by restore: refused
 * before anything is written, and the two run on sharing it. */
TEST(dump_refuses_an_fd_table_shared_by_siblings)
{
	struct prog p = { 0 };

	CHECK_GOTO(start_prog(&p, "neg_clone_files", NULL, NULL), out, "%s", why);
	CHECK_GOTO(dump_refused_no_images(&p, "share its fd table (CLONE_FILES), but not through "
					  "a parent that shares it with its child: restore "
					  "cannot build that"),
		   out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* One open pidfd of a thread (not a main thread), held by two processes of
 * the tree: its holder opens it once threads exist, after the fds, and
 * cannot hand it to the other: the dump is refused by name, and the program
 * runs on. */
TEST(dump_refuses_a_pidfd_of_a_thread_shared_by_two_processes)
{
	struct prog p = { 0 };
	char img[PATH_MAX], pid[16];
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "neg_pidfd_thread_shared", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	run_cryo(&r, "dump", "-t", pid, "-D", img);
	CHECK_GOTO(refused(&r, "fd 40 (anon_inode:[pidfd]): the same pidfd as pid ",
			   "a pidfd shared by two processes is not supported yet"), out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}
