/* Negative tests (test_negative.c says what they check): socket filters
 * and packet rings dump cannot save, refused by name while the program
 * runs on. Other socket refusals are test_neg_fds.c's. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>

#include "cryo_driver.h"
#include "harness.h"

/* The eBPF socket sits here in the dumped program. */
#define ODD_FD 5

/* A UDP socket (arg 0) or a unix datagram socket (arg 1) with an eBPF
 * program attached (SO_ATTACH_BPF) that takes every packet. */
static void open_socket_with_ebpf_filter(void *arg)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd = arg ? socket(AF_UNIX, SOCK_DGRAM, 0) : socket(AF_INET, SOCK_DGRAM, 0);
	int bpf_fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	bpf_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0 || bpf_fd < 0 || bpf_fd == ODD_FD ||
	    setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &bpf_fd, sizeof(bpf_fd)) ||
	    dup2(fd, ODD_FD) < 0)
		_exit(126);
	close(bpf_fd);
	if (fd != ODD_FD)
		close(fd);
}

/* The program gets @open_fd's socket at ODD_FD: the dump must fail
 * naming it and @what, and the program must not notice. */
static void check_refused(child_setup_fn open_fd, void *arg, const char *what)
{
	CHECK(socket_dump_refused(open_fd, arg, ODD_FD, what), "%s", why);
}

static void check_ebpf_refused(void *arg)
{
	check_refused(open_socket_with_ebpf_filter, arg,
		      "): socket with an eBPF filter (SO_ATTACH_BPF): not supported");
}

TEST(dump_refuses_an_inet_socket_with_an_ebpf_filter_and_the_program_runs_on)
{
	check_ebpf_refused(NULL);
}

TEST(dump_refuses_a_unix_socket_with_an_ebpf_filter_and_the_program_runs_on)
{
	check_ebpf_refused((void *)1);
}

/* The ethertype the ring tests send on lo (IEEE local experimental). */
#define RING_ETHERTYPE 0x88b5

/* A packet socket of TPACKET @version bound to lo for RING_ETHERTYPE,
 * whose filter takes only frames carrying @token after the Ethernet
 * header (0: takes none), with ring @which (@req, @len) mapped at *@mem. */
static int packet_ring_socket(int version, int which, const void *req, socklen_t len,
			      uint32_t token, size_t size, uint8_t **mem)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 14),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, token, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, token ? 0x40000 : 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = 4, .filter = code };
	struct sockaddr_ll sa = { .sll_family = AF_PACKET,
				  .sll_ifindex = (int)if_nametoindex("lo"),
				  .sll_protocol = htons(RING_ETHERTYPE) };
	int fd = socket(AF_PACKET, SOCK_RAW, 0);

	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) ||
	    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    setsockopt(fd, SOL_PACKET, which, req, len) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(126);
	*mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*mem == MAP_FAILED)
		_exit(126);
	return fd;
}

/* A frame to lo carrying @token, sent from @fd. */
static void send_token(int fd, uint32_t token)
{
	unsigned char frame[60] = { [12] = RING_ETHERTYPE >> 8, [13] = RING_ETHERTYPE & 0xff };
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_ifindex = (int)if_nametoindex("lo"),
				  .sll_protocol = htons(RING_ETHERTYPE) };

	token = htonl(token);
	memcpy(frame + 14, &token, sizeof(token));
	if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		_exit(126);
}

/* A TPACKET_V3 RX ring whose first block holds a frame and is still being
 * filled: its retire timeout (10 s) outlasts the dump. */
static void open_v3_ring_partly_filled(void *arg)
{
	struct tpacket_req3 req = { .tp_block_size = 4096, .tp_block_nr = 2,
				    .tp_frame_size = 2048, .tp_frame_nr = 4,
				    .tp_retire_blk_tov = 10000 };
	uint32_t token = (uint32_t)getpid();
	uint8_t *mem;
	int fd = packet_ring_socket(TPACKET_V3, PACKET_RX_RING, &req, sizeof(req), token,
				    2 * 4096, &mem);
	struct tpacket_block_desc *b = (struct tpacket_block_desc *)mem;

	(void)arg;
	send_token(fd, token);
	for (int i = 0; i < 2000 && !__atomic_load_n(&b->hdr.bh1.num_pkts, __ATOMIC_ACQUIRE);
	     i++)
		poll(NULL, 0, 1);
	if (!b->hdr.bh1.num_pkts || dup2(fd, ODD_FD) < 0)
		_exit(126);
}

/* A TPACKET_V2 TX ring of two frames, both sent: where the kernel sends
 * next shows nowhere. */
static void open_tx_ring_all_sent(void *arg)
{
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 1,
				   .tp_frame_size = 2048, .tp_frame_nr = 2 };
	size_t off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
	uint8_t *mem;
	int fd = packet_ring_socket(TPACKET_V2, PACKET_TX_RING, &req, sizeof(req), 0, 4096, &mem);

	(void)arg;
	for (int i = 0; i < 2; i++) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(mem + i * 2048);

		memset((uint8_t *)h + off, 0, 60);
		((uint8_t *)h)[off + 12] = RING_ETHERTYPE >> 8;
		((uint8_t *)h)[off + 13] = RING_ETHERTYPE & 0xff;
		h->tp_len = 60;
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	}
	if (send(fd, NULL, 0, 0) < 0 || dup2(fd, ODD_FD) < 0)
		_exit(126);
}

TEST(dump_refuses_a_packet_v3_ring_with_a_block_partly_filled_and_the_program_runs_on)
{
	check_refused(open_v3_ring_partly_filled, NULL,
			   "): TPACKET_V3 RX ring with block 0 partly filled (1 packets the kernel "
			   "has not handed over): its fill position cannot be set again: not "
			   "supported");
}

TEST(dump_refuses_a_packet_tx_ring_with_every_frame_sent_and_the_program_runs_on)
{
	check_refused(open_tx_ring_all_sent, NULL,
			   "): TX ring gone round with every frame sent: the frame the kernel "
			   "sends next cannot be told: not supported");
}

/* A datagram socketpair whose end at ODD_FD has a message queued carrying
 * a pipe's read end and an epoll watching it, the pipe end held by no fd
 * (it lives in flight only): the epoll's target has no fd to be named by. */
static void open_epoll_in_flight_watching_a_file_in_flight(void *arg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} control = { 0 };
	struct msghdr msg = { .msg_iov = &(struct iovec){ .iov_base = "y", .iov_len = 1 },
			      .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int sv[2], p[2], ep = epoll_create1(0);

	(void)arg;
	if (ep < 0 || pipe(p) || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &(struct epoll_event){ .events = EPOLLIN }))
		_exit(126);
	*c = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int) * 2), .cmsg_level = SOL_SOCKET,
			       .cmsg_type = SCM_RIGHTS };
	memcpy(CMSG_DATA(c), (int[]){ p[0], ep }, sizeof(int) * 2);
	if (sendmsg(sv[1], &msg, 0) != 1)
		_exit(126);
	close(p[0]);
	close(ep);
	if (dup2(sv[0], ODD_FD) < 0)
		_exit(126);
	if (sv[0] != ODD_FD)
		close(sv[0]);
}

TEST(dump_refuses_an_epoll_in_flight_watching_a_file_only_in_flight_and_the_program_runs_on)
{
	struct prog p = { 0 };
	char expect[96];

	CHECK_GOTO(start_prog(&p, "prog_counter", open_epoll_in_flight_watching_a_file_in_flight,
			      NULL),
		   out, "%s", why);
	snprintf(expect, sizeof(expect), "pid %d fd %d message 1 (fd 2 of 2) (anon_inode:[eventpoll])",
		 p.pid, ODD_FD);
	CHECK_GOTO(dump_refused_unharmed(&p, expect,
					 "that no process of the dump holds in its fd table: only "
					 "the epoll (a message in flight, or a mapping) keeps it"),
		   out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}
