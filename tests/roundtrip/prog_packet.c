/* Round-trip program: packet sockets on the loopback. A raw socket made
 * with protocol 0 and bound to lo for ethertype 0x88b5 (a local
 * experimental one, so no other traffic is queued at dump), with a
 * promiscuous membership and a multicast one added twice, fanout group 4321
 * (hash, defrag), auxdata, origdev, qdisc bypass, ignore-outgoing, copy
 * threshold, a locked filter, a 2 s receive timeout, mark, priority and
 * receive buffer; a datagram socket bound to lo for 0x88b6 with
 * PACKET_TIMESTAMP; an unbound raw one with a 12-byte vnet header,
 * PACKET_LOSS, PACKET_RESERVE and TPACKET_V2; a SOCK_PACKET one for 0x88b7
 * bound to lo by name. Each receiving socket's filter takes only frames
 * that carry the program's pid, so that other runs' frames are not queued. On SIGTERM: every option read back, the memberships
 * with their counts (sock_diag), the filter the same and still locked, and
 * frames sent to lo received by the raw, datagram and SOCK_PACKET ones. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "prog.h"

#ifndef PACKET_VNET_HDR_SZ
#define PACKET_VNET_HDR_SZ 24
#endif
#define ETH_RAW 0x88b5
#define ETH_DGRAM 0x88b6
#define ETH_SPKT 0x88b7
#define FANOUT_ID 4321
#define FANOUT_VALUE (FANOUT_ID | (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16)

static const unsigned char mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

/* Every frame this program sends starts its payload with its pid: other
 * runs of it (a suite running beside another) send on lo too, and the
 * filters keep their frames out of this one's queues. */
static uint32_t token;

/* The raw socket's filter: ethertype ETH_RAW (offset 12) and the token
 * (offset 14); made in main(). */
static struct sock_filter filter[6];

/* Takes frames whose ethertype at 12 is @ethertype (when @header) and
 * whose payload, after @header bytes, starts with the token. */
static void make_filter(struct sock_filter *f, int header, int ethertype)
{
	int n = 0;

	if (header) {
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12);
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (uint32_t)ethertype, 0, 3);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)header);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(token), 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0x40000);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
}

static int attach(int fd, struct sock_filter *f, int header, int ethertype)
{
	struct sock_fprog prog = { .len = header ? 6 : 4, .filter = f };

	make_filter(f, header, ethertype);
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* Reads out what a socket took before its filter was on. */
static void drain(int fd)
{
	char c;

	while (recv(fd, &c, 1, MSG_DONTWAIT) >= 0)
		;
}

static int get_int(int fd, int level, int name)
{
	int value = -1;
	socklen_t len = sizeof(value);

	if (getsockopt(fd, level, name, &value, &len))
		return -errno - 1000;
	return value;
}

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

static int membership(int fd, int op, int ifindex, int type, const unsigned char *addr)
{
	struct packet_mreq mr = { .mr_ifindex = ifindex, .mr_type = (unsigned short)type };

	if (addr) {
		mr.mr_alen = 6;
		memcpy(mr.mr_address, addr, 6);
	}
	return setsockopt(fd, SOL_PACKET, op, &mr, sizeof(mr));
}

static int bind_lo(int fd, int ifindex, int protocol)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = ifindex,
				  .sll_protocol = htons((uint16_t)protocol) };

	return bind(fd, (struct sockaddr *)&sa, sizeof(sa));
}

static void check_bound(int fd, const char *what, int ifindex, int protocol)
{
	struct sockaddr_ll sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len)) {
		prog_fail("%s: getsockname: %s", what, strerror(errno));
		return;
	}
	PROG_CHECK(sa.sll_ifindex == ifindex && sa.sll_protocol == htons((uint16_t)protocol),
		   "%s: bound to %d protocol %#x", what, sa.sll_ifindex, ntohs(sa.sll_protocol));
}

/* The count of @fd's membership of @type on @ifindex, as sock_diag lists
 * it (PACKET_DIAG_MCLIST); -1 when it cannot be read. */
static int membership_count(int fd, int ifindex, int type)
{
	struct {
		struct nlmsghdr h;
		struct packet_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = AF_PACKET, .pdiag_show = PACKET_SHOW_MCLIST },
	};
	static char buf[65536];
	int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG), count = -1;
	struct stat st;
	ssize_t n;

	if (nl < 0 || fstat(fd, &st) || send(nl, &req, sizeof(req), 0) < 0)
		return -1;
	while ((n = recv(nl, buf, sizeof(buf), 0)) > 0) {
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct packet_diag_msg *m = NLMSG_DATA(h);
			struct rtattr *a = (void *)(m + 1);
			int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				goto out;
			if (m->pdiag_ino != st.st_ino)
				continue;
			count = 0;
			for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
				struct packet_diag_mclist *mc = RTA_DATA(a);

				if (a->rta_type != PACKET_DIAG_MCLIST)
					continue;
				for (size_t i = 0; i < RTA_PAYLOAD(a) / sizeof(*mc); i++)
					if ((int)mc[i].pdmc_index == ifindex &&
					    mc[i].pdmc_type == type)
						count = (int)mc[i].pdmc_count;
			}
		}
	}
out:
	close(nl);
	return count;
}

static void check_memberships(int fd, int lo)
{
	PROG_CHECK(membership_count(fd, lo, PACKET_MR_PROMISC) == 1,
		   "promiscuous membership: count %d", membership_count(fd, lo, PACKET_MR_PROMISC));
	PROG_CHECK(membership_count(fd, lo, PACKET_MR_MULTICAST) == 2,
		   "multicast membership: count %d", membership_count(fd, lo, PACKET_MR_MULTICAST));
	PROG_CHECK(!membership(fd, PACKET_DROP_MEMBERSHIP, lo, PACKET_MR_MULTICAST, mcast) &&
			   membership_count(fd, lo, PACKET_MR_MULTICAST) == 1,
		   "multicast membership: not one left after a drop");
}

static void check_filter(int fd)
{
	struct sock_filter now[8];
	socklen_t len = 8;
	struct sock_fprog prog = { .len = 1, .filter = filter };

	PROG_CHECK(!getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, now, &len) &&
			   len == sizeof(filter) / sizeof(filter[0]) &&
			   !memcmp(now, filter, sizeof(filter)),
		   "filter: %u instructions", len);
	PROG_CHECK(get_int(fd, SOL_SOCKET, SO_LOCK_FILTER) == 1, "SO_LOCK_FILTER");
	PROG_CHECK(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) &&
			   errno == EPERM,
		   "the locked filter was replaced");
}

/* Sends a frame of @ethertype from @from to lo's address, and checks that
 * @to receives it after @header bytes (with auxdata when @aux). */
static void send_and_receive(int from, bool raw_from, int to, size_t header, bool aux, int lo,
			     int ethertype, const char *what)
{
	unsigned char frame[64] = { 0 }, got[128], control[256];
	struct sockaddr_ll dest = { .sll_family = AF_PACKET, .sll_ifindex = lo,
				    .sll_protocol = htons((uint16_t)ethertype), .sll_halen = 6 };
	unsigned char payload[16] = "....cryo packet";
	size_t off = raw_from ? 14 : 0;
	struct iovec iov = { got, sizeof(got) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	ssize_t n;

	if (raw_from) {
		frame[12] = (unsigned char)(ethertype >> 8);
		frame[13] = (unsigned char)ethertype;
	}
	memcpy(payload, &token, sizeof(token));
	memcpy(frame + off, payload, sizeof(payload));
	if (sendto(from, frame, off + 46, 0, (struct sockaddr *)&dest, sizeof(dest)) < 0) {
		prog_fail("%s: send: %s", what, strerror(errno));
		return;
	}
	n = recvmsg(to, &msg, 0);
	if (n < 0) {
		prog_fail("%s: nothing received: %s", what, strerror(errno));
		return;
	}
	off = header;
	PROG_CHECK((size_t)n >= off + sizeof(payload) &&
			   !memcmp(got + off, payload, sizeof(payload)),
		   "%s: received %zd other bytes", what, n);
	if (aux) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

		PROG_CHECK(c && c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA,
			   "%s: no auxdata", what);
	}
}

int main(int argc, char **argv)
{
	struct timeval tv = { 2, 0 }, tv_now;
	struct sock_filter dgram_filter[4], spkt_filter[6];
	socklen_t len = sizeof(tv_now);
	struct sockaddr spkt_name = { .sa_family = AF_PACKET, .sa_data = "lo" }, spkt_now;
	int lo, raw, dgram, vnet, spkt, rcv_now;

	prog_init(argc, argv);
	token = htonl((uint32_t)getpid());
	lo = (int)if_nametoindex("lo");
	raw = socket(AF_PACKET, SOCK_RAW, 0);
	dgram = socket(AF_PACKET, SOCK_DGRAM, 0);
	vnet = socket(AF_PACKET, SOCK_RAW, 0);
	/* SOCK_PACKET takes its protocol at socket() only, and receives at once. */
	spkt = socket(AF_PACKET, SOCK_PACKET, htons(ETH_SPKT));
	if (!lo || raw < 0 || dgram < 0 || vnet < 0 || spkt < 0 ||
	    attach(spkt, spkt_filter, 14, ETH_SPKT) || bind(spkt, &spkt_name, sizeof(spkt_name)) ||
	    setsockopt(spkt, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    set_int(raw, SOL_PACKET, PACKET_AUXDATA, 1) ||
	    set_int(raw, SOL_PACKET, PACKET_ORIGDEV, 1) ||
	    set_int(raw, SOL_PACKET, PACKET_QDISC_BYPASS, 1) ||
	    set_int(raw, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) ||
	    set_int(raw, SOL_PACKET, PACKET_COPY_THRESH, 1) ||
	    set_int(raw, SOL_SOCKET, SO_MARK, 77) || set_int(raw, SOL_SOCKET, SO_PRIORITY, 5) ||
	    set_int(raw, SOL_SOCKET, SO_RCVBUF, 300000) ||
	    setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    attach(raw, filter, 14, ETH_RAW) || bind_lo(raw, lo, ETH_RAW) ||
	    membership(raw, PACKET_ADD_MEMBERSHIP, lo, PACKET_MR_PROMISC, NULL) ||
	    membership(raw, PACKET_ADD_MEMBERSHIP, lo, PACKET_MR_MULTICAST, mcast) ||
	    membership(raw, PACKET_ADD_MEMBERSHIP, lo, PACKET_MR_MULTICAST, mcast) ||
	    set_int(raw, SOL_PACKET, PACKET_FANOUT, FANOUT_VALUE) ||
	    set_int(raw, SOL_SOCKET, SO_LOCK_FILTER, 1) ||
	    set_int(dgram, SOL_PACKET, PACKET_TIMESTAMP, 1) ||
	    setsockopt(dgram, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    attach(dgram, dgram_filter, 0, 0) || bind_lo(dgram, lo, ETH_DGRAM) || set_int(vnet, SOL_PACKET, PACKET_VNET_HDR, 1) ||
	    set_int(vnet, SOL_PACKET, PACKET_VNET_HDR_SZ, 12) ||
	    set_int(vnet, SOL_PACKET, PACKET_LOSS, 1) ||
	    set_int(vnet, SOL_PACKET, PACKET_RESERVE, 64) ||
	    set_int(vnet, SOL_PACKET, PACKET_VERSION, TPACKET_V2))
		return 1;
	drain(spkt);
	rcv_now = get_int(raw, SOL_SOCKET, SO_RCVBUF);
	prog_ready();
	prog_wait_sigterm();

	check_bound(raw, "raw", lo, ETH_RAW);
	check_bound(dgram, "datagram", lo, ETH_DGRAM);
	check_bound(vnet, "vnet", 0, 0);
	PROG_CHECK(get_int(dgram, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM, "datagram: type");
	PROG_CHECK(get_int(raw, SOL_PACKET, PACKET_AUXDATA) == 1, "PACKET_AUXDATA");
	PROG_CHECK(get_int(raw, SOL_PACKET, PACKET_ORIGDEV) == 1, "PACKET_ORIGDEV");
	PROG_CHECK(get_int(raw, SOL_PACKET, PACKET_QDISC_BYPASS) == 1, "PACKET_QDISC_BYPASS");
	PROG_CHECK(get_int(raw, SOL_PACKET, PACKET_IGNORE_OUTGOING) == 1,
		   "PACKET_IGNORE_OUTGOING");
	PROG_CHECK(get_int(raw, SOL_PACKET, PACKET_FANOUT) == FANOUT_VALUE, "PACKET_FANOUT %#x",
		   get_int(raw, SOL_PACKET, PACKET_FANOUT));
	PROG_CHECK(get_int(raw, SOL_SOCKET, SO_MARK) == 77, "SO_MARK");
	PROG_CHECK(get_int(raw, SOL_SOCKET, SO_PRIORITY) == 5, "SO_PRIORITY");
	PROG_CHECK(get_int(raw, SOL_SOCKET, SO_RCVBUF) == rcv_now, "SO_RCVBUF");
	PROG_CHECK(!getsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &tv_now, &len) && tv_now.tv_sec == 2,
		   "SO_RCVTIMEO");
	PROG_CHECK(get_int(dgram, SOL_PACKET, PACKET_TIMESTAMP) == 1, "PACKET_TIMESTAMP");
	PROG_CHECK(get_int(vnet, SOL_PACKET, PACKET_VNET_HDR) == 1, "PACKET_VNET_HDR");
	PROG_CHECK(get_int(vnet, SOL_PACKET, PACKET_VNET_HDR_SZ) == 12, "PACKET_VNET_HDR_SZ");
	PROG_CHECK(get_int(vnet, SOL_PACKET, PACKET_LOSS) == 1, "PACKET_LOSS");
	PROG_CHECK(get_int(vnet, SOL_PACKET, PACKET_RESERVE) == 64, "PACKET_RESERVE");
	PROG_CHECK(get_int(vnet, SOL_PACKET, PACKET_VERSION) == TPACKET_V2, "PACKET_VERSION");
	len = sizeof(spkt_now);
	PROG_CHECK(!getsockname(spkt, &spkt_now, &len) && !strcmp(spkt_now.sa_data, "lo") &&
			   get_int(spkt, SOL_SOCKET, SO_TYPE) == SOCK_PACKET,
		   "SOCK_PACKET: not bound to lo");
	check_filter(raw);
	send_and_receive(dgram, false, raw, 14, true, lo, ETH_RAW, "datagram to raw");
	send_and_receive(raw, true, dgram, 0, false, lo, ETH_DGRAM, "raw to datagram");
	send_and_receive(raw, true, spkt, 14, false, lo, ETH_SPKT, "raw to SOCK_PACKET");
	check_memberships(raw, lo);
	prog_finish();
}
