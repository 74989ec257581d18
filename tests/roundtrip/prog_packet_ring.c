/* Round-trip program: packet sockets with mapped rings, on the loopback.
 * A raw socket with a TPACKET_V1 RX ring: frame 0 read, 1 and 2 unread.
 * A raw socket with a TPACKET_V2 RX ring of 16 frames: frames 0-5 taken,
 * read and given back (5 came from the TX ring), 6-8 unread. A raw socket with a
 * TPACKET_V3 RX ring: block 0 retired with one frame in it, unread, the
 * kernel filling block 1. A raw socket with a TPACKET_V2 TX ring: frame 0
 * sent, frame 1 written and marked to send but not sent. Each receiving
 * socket's filter takes only frames that carry the program's pid and the
 * socket's tag, so that other runs' frames stay out. On SIGTERM: the rings
 * mapped where they were, the unread frames and blocks as they were, the
 * queued TX frame sent by send() and landing in the V2 ring where the
 * program reads next, and new frames landing where the program expects
 * them in both RX rings. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define ETHERTYPE 0x88b5
#define TAG_V2 0x7632
#define TAG_V3 0x7633
#define TAG_V1 0x7631
#define FRAME_LEN 64

/* V2 RX: 4 blocks of 4 frames. */
#define V2_BLOCK 4096
#define V2_FRAME 1024
#define V2_FRAMES 16
/* V3 RX: 4 blocks, retired after 10 ms. */
#define V3_BLOCK 4096
#define V3_BLOCKS 4
#define V3_TMO_MS 10
/* V2 TX: 2 blocks of 2 frames. */
#define TX_BLOCK 4096
#define TX_FRAME 2048
#define TX_FRAMES 4

static uint32_t token;
static int lo;

struct ring {
	int fd;
	uint8_t *mem;
	size_t size;
	unsigned int next;	/* the frame or block the program reads next */
};

static struct ring v1, v2, v3, tx;
static int sender;

/* Takes frames of ETHERTYPE whose payload starts with the token, then @tag. */
static int attach(int fd, uint32_t tag)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ETH_HLEN),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, token, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ETH_HLEN + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, tag, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0x40000),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* A frame for @tag numbered @seq: Ethernet header to lo, token, tag, seq. */
static void make_frame(uint8_t *buf, uint32_t tag, uint32_t seq)
{
	uint32_t words[3] = { htonl(token), htonl(tag), htonl(seq) };
	uint16_t type = htons(ETHERTYPE);

	memset(buf, 0, FRAME_LEN);
	memcpy(buf + 12, &type, sizeof(type));
	memcpy(buf + ETH_HLEN, words, sizeof(words));
}

static int send_frame(uint32_t tag, uint32_t seq)
{
	uint8_t buf[FRAME_LEN];
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = lo,
				  .sll_protocol = htons(ETHERTYPE) };

	make_frame(buf, tag, seq);
	return sendto(sender, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -1 :
											     0;
}

/* The seq of the frame at @pkt (its MAC header), or ~0 if not ours. */
static uint32_t frame_seq(const uint8_t *mac, uint32_t tag)
{
	uint32_t words[3];

	memcpy(words, mac + ETH_HLEN, sizeof(words));
	return ntohl(words[0]) == token && ntohl(words[1]) == tag ? ntohl(words[2]) : ~0u;
}

static int make_socket(int version, int which, void *req, socklen_t len, uint32_t tag)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = lo,
				  .sll_protocol = htons(ETHERTYPE) };
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	char c;

	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) ||
	    attach(fd, tag) || setsockopt(fd, SOL_PACKET, which, req, len) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	while (recv(fd, &c, 1, MSG_DONTWAIT) >= 0)
		;
	return fd;
}

static bool map_ring(struct ring *r, size_t size)
{
	r->size = size;
	r->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	return r->mem != MAP_FAILED;
}

static struct tpacket2_hdr *v2_frame(unsigned int i)
{
	return (struct tpacket2_hdr *)(v2.mem + (size_t)i * V2_FRAME);
}

static struct tpacket_hdr *v1_frame(unsigned int i)
{
	return (struct tpacket_hdr *)(v1.mem + (size_t)i * V2_FRAME);
}

static struct tpacket_block_desc *v3_block(unsigned int i)
{
	return (struct tpacket_block_desc *)(v3.mem + (size_t)i * V3_BLOCK);
}

static struct tpacket2_hdr *tx_frame(unsigned int i)
{
	return (struct tpacket2_hdr *)(tx.mem + (size_t)i * TX_FRAME);
}

static uint32_t load_status(const volatile uint32_t *status)
{
	return __atomic_load_n(status, __ATOMIC_ACQUIRE);
}

/* Waits up to 2 s for @status to have TP_STATUS_USER. */
static bool wait_user(const volatile uint32_t *status)
{
	for (int i = 0; i < 2000; i++) {
		if (load_status(status) & TP_STATUS_USER)
			return true;
		poll(NULL, 0, 1);
	}
	return false;
}

/* Reads frame @i of a V1 or V2 ring (@status, its status word's low
 * half, and @mac, its tp_mac): it must be ours with @seq; then gives it
 * back and moves @r on. */
static void frame_read(struct ring *r, uint8_t *frame, volatile uint32_t *status,
		       const volatile uint16_t *mac, uint32_t tag, uint32_t seq, const char *when)
{
	if (!PROG_CHECK(wait_user(status), "%s: frame %u (tag %#x) not filled (status %#x)", when,
			r->next, tag, *status))
		return;
	PROG_CHECK(frame_seq(frame + *mac, tag) == seq, "%s: frame %u (tag %#x) has seq %u, not %u",
		   when, r->next, tag, frame_seq(frame + *mac, tag), seq);
	__atomic_store_n(status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	r->next = (r->next + 1) % V2_FRAMES;
}

static void v2_read(uint32_t seq, const char *when)
{
	struct tpacket2_hdr *h = v2_frame(v2.next);

	frame_read(&v2, (uint8_t *)h, &h->tp_status, &h->tp_mac, TAG_V2, seq, when);
}

/* The V1 status word is a long, of which the kernel sets the low bits. */
static void v1_read(uint32_t seq, const char *when)
{
	struct tpacket_hdr *h = v1_frame(v1.next);

	frame_read(&v1, (uint8_t *)h, (uint32_t *)&h->tp_status, &h->tp_mac, TAG_V1, seq, when);
}

/* Reads the V3 block the program reads next: one frame of ours, @seq. */
static void v3_read(uint32_t seq, const char *when)
{
	struct tpacket_block_desc *b = v3_block(v3.next);
	struct tpacket3_hdr *h;

	if (!PROG_CHECK(wait_user(&b->hdr.bh1.block_status), "%s: V3 block %u not retired",
			when, v3.next))
		return;
	h = (struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
	PROG_CHECK(b->hdr.bh1.num_pkts == 1 &&
			   frame_seq((uint8_t *)h + h->tp_mac, TAG_V3) == seq,
		   "%s: V3 block %u has %u packets, the first with seq %u, not %u", when,
		   v3.next, b->hdr.bh1.num_pkts, frame_seq((uint8_t *)h + h->tp_mac, TAG_V3), seq);
	__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	v3.next = (v3.next + 1) % V3_BLOCKS;
}

/* Writes TX frame @i for the V2 ring with @seq and marks it to be sent. */
static void tx_write(unsigned int i, uint32_t seq)
{
	struct tpacket2_hdr *h = tx_frame(i);
	size_t off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);

	make_frame((uint8_t *)h + off, TAG_V2, seq);
	h->tp_len = FRAME_LEN;
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
}

/* The start of the mapping of socket @fd in /proc/self/maps, 0 if none. */
static uintptr_t mapped_at(int fd)
{
	char line[512], want[64];
	uintptr_t start = 0, s;
	struct stat st;
	FILE *f;

	if (fstat(fd, &st) || !(f = fopen("/proc/self/maps", "r")))
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", (unsigned long)st.st_ino);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want) && sscanf(line, "%" SCNxPTR "-", &s) == 1)
			start = s;
	fclose(f);
	return start;
}

static void setup(void)
{
	struct tpacket_req req2 = { V2_BLOCK, V2_FRAMES * V2_FRAME / V2_BLOCK, V2_FRAME,
				    V2_FRAMES };
	struct tpacket_req3 req3 = { .tp_block_size = V3_BLOCK, .tp_block_nr = V3_BLOCKS,
				     .tp_frame_size = 2048, .tp_frame_nr = V3_BLOCKS * 2,
				     .tp_retire_blk_tov = V3_TMO_MS };
	struct tpacket_req reqt = { TX_BLOCK, TX_FRAMES * TX_FRAME / TX_BLOCK, TX_FRAME,
				    TX_FRAMES };
	struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog drop = { .len = 1, .filter = &none };
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = lo,
				  .sll_protocol = htons(ETHERTYPE) };
	int version = TPACKET_V2;

	sender = socket(AF_PACKET, SOCK_RAW, 0);
	v2.fd = make_socket(TPACKET_V2, PACKET_RX_RING, &req2, sizeof(req2), TAG_V2);
	v3.fd = make_socket(TPACKET_V3, PACKET_RX_RING, &req3, sizeof(req3), TAG_V3);
	v1.fd = make_socket(TPACKET_V1, PACKET_RX_RING, &req2, sizeof(req2), TAG_V1);
	if (!PROG_CHECK(sender >= 0 && v1.fd >= 0 && v2.fd >= 0 && v3.fd >= 0, "sockets: %s",
			strerror(errno)) ||
	    !PROG_CHECK(map_ring(&v2, V2_FRAMES * V2_FRAME) &&
				map_ring(&v3, V3_BLOCK * V3_BLOCKS) &&
				map_ring(&v1, V2_FRAMES * V2_FRAME),
			"mmap: %s", strerror(errno)))
		return;
	/* V1: frame 0 read, 1 and 2 unread. */
	for (uint32_t seq = 20; seq < 23; seq++)
		PROG_CHECK(!send_frame(TAG_V1, seq), "send V1 %u: %s", seq, strerror(errno));
	v1_read(20, "setup");
	PROG_CHECK(wait_user((uint32_t *)&v1_frame(2)->tp_status), "setup: V1 frame 2 not filled");
	/* The TX socket receives nothing: its filter takes no frame. */
	tx.fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (!PROG_CHECK(tx.fd >= 0 &&
				!setsockopt(tx.fd, SOL_SOCKET, SO_ATTACH_FILTER, &drop,
					    sizeof(drop)) &&
				!setsockopt(tx.fd, SOL_PACKET, PACKET_VERSION, &version,
					    sizeof(version)) &&
				!setsockopt(tx.fd, SOL_PACKET, PACKET_TX_RING, &reqt, sizeof(reqt)) &&
				!bind(tx.fd, (struct sockaddr *)&sa, sizeof(sa)) &&
				map_ring(&tx, TX_FRAMES * TX_FRAME),
			"TX socket: %s", strerror(errno)))
		return;
	for (uint32_t seq = 0; seq < 5; seq++)
		PROG_CHECK(!send_frame(TAG_V2, seq), "send %u: %s", seq, strerror(errno));
	v2_read(0, "setup");
	v2_read(1, "setup");
	/* The unread ones are all in before the dump. */
	PROG_CHECK(wait_user(&v2_frame(4)->tp_status), "setup: V2 frame 4 not filled");
	PROG_CHECK(!send_frame(TAG_V3, 50), "send V3: %s", strerror(errno));
	PROG_CHECK(wait_user(&v3_block(0)->hdr.bh1.block_status), "setup: V3 block 0 not retired");
	/* Frame 0 sent (it lands in the V2 ring as frame 5, read here);
	 * frame 1 waits. */
	tx_write(0, 5);
	PROG_CHECK(send(tx.fd, NULL, 0, 0) >= 0, "TX send: %s", strerror(errno));
	PROG_CHECK(tx_frame(0)->tp_status == TP_STATUS_AVAILABLE, "setup: TX frame 0 not sent");
	tx_write(1, 6);
}

int main(int argc, char **argv)
{
	uintptr_t at[4];

	prog_init(argc, argv);
	token = (uint32_t)getpid();
	lo = (int)if_nametoindex("lo");
	setup();
	/* Frame 5, sent from the TX ring, is read before the dump. */
	v2_read(2, "setup");
	v2_read(3, "setup");
	v2_read(4, "setup");
	v2_read(5, "setup");
	/* Three unread again: 6 comes from the queued TX frame later. */
	for (uint32_t seq = 10; seq < 13; seq++)
		PROG_CHECK(!send_frame(TAG_V2, seq), "send %u: %s", seq, strerror(errno));
	PROG_CHECK(wait_user(&v2_frame(8)->tp_status), "setup: V2 frame 8 not filled");
	at[0] = mapped_at(v2.fd);
	at[1] = mapped_at(v3.fd);
	at[2] = mapped_at(tx.fd);
	at[3] = mapped_at(v1.fd);
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(mapped_at(v2.fd) == at[0] && at[0] == (uintptr_t)v2.mem &&
			   mapped_at(v3.fd) == at[1] && at[1] == (uintptr_t)v3.mem &&
			   mapped_at(tx.fd) == at[2] && at[2] == (uintptr_t)tx.mem &&
			   mapped_at(v1.fd) == at[3] && at[3] == (uintptr_t)v1.mem,
		   "rings mapped elsewhere");
	v1_read(21, "after");
	v1_read(22, "after");
	PROG_CHECK(!send_frame(TAG_V1, 23), "send V1 23: %s", strerror(errno));
	v1_read(23, "after");
	for (uint32_t seq = 10; seq < 13; seq++)
		v2_read(seq, "after");
	PROG_CHECK(load_status(&tx_frame(1)->tp_status) == TP_STATUS_SEND_REQUEST,
		   "TX frame 1 status %#x", tx_frame(1)->tp_status);
	PROG_CHECK(send(tx.fd, NULL, 0, 0) >= 0, "TX send after: %s", strerror(errno));
	PROG_CHECK(load_status(&tx_frame(1)->tp_status) == TP_STATUS_AVAILABLE,
		   "TX frame 1 not sent after");
	v2_read(6, "after (queued TX frame)");
	PROG_CHECK(!send_frame(TAG_V2, 7), "send 7: %s", strerror(errno));
	v2_read(7, "after");
	tx_write(2, 8);
	PROG_CHECK(send(tx.fd, NULL, 0, 0) >= 0, "TX send 2: %s", strerror(errno));
	v2_read(8, "after (new TX frame)");
	v3_read(50, "after");
	PROG_CHECK(!send_frame(TAG_V3, 51), "send V3 51: %s", strerror(errno));
	v3_read(51, "after");
	prog_finish();
}
