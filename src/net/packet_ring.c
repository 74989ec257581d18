/* A packet socket's mapped rings (PACKET_RX_RING, PACKET_TX_RING): their
 * geometry, bytes and the kernel's position in each, saved at dump and
 * made again at restore. The socket's other state is packet_socket.c's;
 * mapping the ring into the process is the memory code's (Vma kind
 * PACKET_RING, file_id naming the socket). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "net/internal.h"
#include "net/packet_ring.h"
#include "net/sock_diag.h"

#ifndef SOL_PACKET
#define SOL_PACKET 263
#endif
/* The ethertype of the frames restore sends over loopback to move a new
 * ring's kernel position (IEEE 802 local experimental ethertype 1). */
#define RING_STEP_ETHERTYPE 0x88b5
/* Bytes of one such frame (an Ethernet header and a little payload). */
#define RING_STEP_LEN 60
/* Larger rings are refused: they are saved whole in files.img. */
#define RING_BYTES_MAX (64u << 20)
/* How long restore may wait for the kernel to take the frames it sends. */
#define RING_STEP_WAIT_MS 5000

/* ---- frames and their status words ----------------------------------- */

/* The ring's frames (V1, V2, and V3 TX): frame @i's offset. */
static size_t frame_offset(const PacketRing *ring, uint32_t i)
{
	uint32_t per_block = ring->block_size / ring->frame_size;

	return (size_t)(i / per_block) * ring->block_size +
	       (size_t)(i % per_block) * ring->frame_size;
}

/* Where the status word of a frame header sits, by version. */
static size_t status_offset(int version)
{
	return version == TPACKET_V3 ? offsetof(struct tpacket3_hdr, tp_status) : 0;
}

static uint32_t frame_status(const uint8_t *frame, int version)
{
	uint32_t status;

	memcpy(&status, frame + status_offset(version), sizeof(status));
	return status;
}

static uint64_t ring_bytes(const PacketRing *ring)
{
	return ring ? (uint64_t)ring->block_size * ring->block_nr : 0;
}

uint64_t packet_rings_size(const PacketSocket *s)
{
	return ring_bytes(s->rx_ring) + ring_bytes(s->tx_ring);
}

/* A frame's receive time, in ns (V1 gives microseconds). */
static uint64_t frame_time(const uint8_t *frame, int version)
{
	if (version == TPACKET_V1) {
		struct tpacket_hdr h;

		memcpy(&h, frame, sizeof(h));
		return h.tp_sec * 1000000000ull + h.tp_usec * 1000ull;
	} else {
		struct tpacket2_hdr h;

		memcpy(&h, frame, sizeof(h));
		return h.tp_sec * 1000000000ull + h.tp_nsec;
	}
}

/* ---- dump -------------------------------------------------------------- */

/* V1/V2 RX: the kernel fills frames in order, stamping each with the time
 * it took the packet, and writes next after the newest one. */
static int rx_frames_head(const struct fd_probe *p, const PacketRing *ring, const uint8_t *mem,
			  int version, uint32_t *head)
{
	uint64_t newest = 0;
	uint32_t ends = 0;

	for (uint32_t i = 0; i < ring->frame_nr; i++) {
		uint64_t t = frame_time(mem + frame_offset(ring, i), version);

		newest = t > newest ? t : newest;
	}
	*head = 0;
	if (!newest)
		return 0;
	for (uint32_t i = 0; i < ring->frame_nr; i++) {
		uint32_t next = (i + 1) % ring->frame_nr;

		if (frame_time(mem + frame_offset(ring, i), version) == newest &&
		    (ring->frame_nr == 1 || frame_time(mem + frame_offset(ring, next), version) !=
						    newest)) {
			*head = next;
			ends++;
		}
	}
	if (ends != 1) {
		pr_fd_err(p, "RX ring whose newest frames are not together (timestamps changed "
			  "by the process?): where the kernel writes next cannot be told: not "
			  "supported");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* TX: the kernel sends from its position on, while frames ask to be sent
 * (a frame of the wrong format stops it there). With none waiting, the
 * position shows only while the ring has not gone round: after the last
 * frame ever written (a frame never written has a header of zeros). */
static int tx_frames_head(const struct fd_probe *p, const PacketRing *ring, const uint8_t *mem,
			  int version, uint32_t *head)
{
	const uint32_t pending = TP_STATUS_SEND_REQUEST | TP_STATUS_WRONG_FORMAT;
	static const uint8_t unused[32];
	uint32_t starts = 0, waiting = 0, used = 0, n = ring->frame_nr;

	*head = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *f = mem + frame_offset(ring, i);
		uint32_t status = frame_status(f, version);
		uint32_t prev = frame_status(mem + frame_offset(ring, (i + n - 1) % n), version);

		if (status & TP_STATUS_SENDING) {
			pr_fd_err(p, "TX ring with frame %u being sent: not supported (dump again "
				  "once it is sent)", i);
			return -EBUSY;
		}
		waiting += !!(status & pending);
		if ((status & pending) && !(prev & pending)) {
			*head = i;
			starts++;
		}
	}
	if (starts == 1)
		return 0;
	if (starts > 1 || waiting) {
		pr_fd_err(p, "TX ring with frames to send %s: which one the kernel sends next "
			  "cannot be told: not supported",
			  waiting == n ? "in every frame" : "in more than one run");
		return -EOPNOTSUPP;
	}
	while (used < n && memcmp(mem + frame_offset(ring, used), unused, sizeof(unused)))
		used++;
	for (uint32_t i = used; i < n; i++) {
		if (memcmp(mem + frame_offset(ring, i), unused, sizeof(unused)))
			used = n;
	}
	if (used == n) {
		pr_fd_err(p, "TX ring gone round with every frame sent: the frame the kernel "
			  "sends next cannot be told: not supported");
		return -EOPNOTSUPP;
	}
	*head = used;
	return 0;
}

/* V3 RX: the kernel fills one block at a time, each opened with the next
 * sequence number; the newest block is the one it fills. */
static int rx_blocks_head(const struct fd_probe *p, const PacketRing *ring, const uint8_t *mem,
			  uint32_t *head)
{
	uint64_t newest = 0;
	struct tpacket_block_desc b;

	*head = 0;
	for (uint32_t i = 0; i < ring->block_nr; i++) {
		memcpy(&b, mem + (size_t)i * ring->block_size, sizeof(b));
		if (b.hdr.bh1.seq_num > newest) {
			newest = b.hdr.bh1.seq_num;
			*head = i;
		}
	}
	memcpy(&b, mem + (size_t)*head * ring->block_size, sizeof(b));
	if (b.hdr.bh1.block_status & TP_STATUS_USER) {
		pr_fd_err(p, "TPACKET_V3 RX ring whose kernel waits for block %u, still the "
			  "process's (the queue is frozen): not supported",
			  (*head + 1) % ring->block_nr);
		return -EOPNOTSUPP;
	}
	if (b.hdr.bh1.num_pkts) {
		pr_fd_err(p, "TPACKET_V3 RX ring with block %u partly filled (%u packets the "
			  "kernel has not handed over): its fill position cannot be set again: not "
			  "supported", *head, b.hdr.bh1.num_pkts);
		return -EOPNOTSUPP;
	}
	if ((uint64_t)*head * ring->retire_tmo > RING_STEP_WAIT_MS / 2) {
		pr_fd_err(p, "TPACKET_V3 RX ring filling block %u with a retire timeout of %u ms: "
			  "restore would wait %llu ms to bring a new ring there: not supported",
			  *head, ring->retire_tmo,
			  (unsigned long long)*head * ring->retire_tmo);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int dump_one_ring(const struct fd_probe *p, const struct packet_diag_ring *req,
			 const uint8_t *mem, int version, bool tx, PacketRing **out)
{
	PacketRing *ring = malloc(sizeof(*ring));
	int ret;

	if (!ring)
		return -ENOMEM;
	packet_ring__init(ring);
	*out = ring;
	ring->block_size = req->pdr_block_size;
	ring->block_nr = req->pdr_block_nr;
	ring->frame_size = req->pdr_frame_size;
	ring->frame_nr = req->pdr_frame_nr;
	ring->retire_tmo = req->pdr_retire_tmo;
	ring->sizeof_priv = req->pdr_sizeof_priv;
	ring->features = req->pdr_features;
	if (version == TPACKET_V3 && !tx)
		ret = rx_blocks_head(p, ring, mem, &ring->head);
	else if (tx)
		ret = tx_frames_head(p, ring, mem, version, &ring->head);
	else
		ret = rx_frames_head(p, ring, mem, version, &ring->head);
	if (ret)
		return ret;
	ring->data.len = ring_bytes(ring);
	ring->data.data = malloc(ring->data.len);
	if (!ring->data.data)
		return -ENOMEM;
	memcpy(ring->data.data, mem, ring->data.len);
	return 0;
}

int packet_rings_dump(const struct fd_probe *p, const struct packet_diag_state *st, int version,
		      PacketSocket *s)
{
	uint64_t rx = st->rx_ring ? (uint64_t)st->rx_req.pdr_block_size * st->rx_req.pdr_block_nr :
				    0;
	uint64_t tx = st->tx_ring ? (uint64_t)st->tx_req.pdr_block_size * st->tx_req.pdr_block_nr :
				    0;
	uint8_t *mem;
	int ret = 0;

	if (!rx && !tx)
		return 0;
	if (rx + tx > RING_BYTES_MAX) {
		pr_fd_err(p, "AF_PACKET rings of %llu bytes, over the %u MiB cryo saves: not "
			  "supported", (unsigned long long)(rx + tx), RING_BYTES_MAX >> 20);
		return -EOPNOTSUPP;
	}
	/* cryo maps the rings itself, read-only: the process's mapping and
	 * the kernel's positions stay as they are. */
	mem = mmap(NULL, rx + tx, PROT_READ, MAP_SHARED, p->dup, 0);
	if (mem == MAP_FAILED)
		return pr_errno_ret("dump: pid %d %s (%s): cannot map its rings to read them",
				    p->pid, p->name, p->link);
	if (rx)
		ret = dump_one_ring(p, &st->rx_req, mem, version, false, &s->rx_ring);
	if (!ret && tx)
		ret = dump_one_ring(p, &st->tx_req, mem + rx, version, true, &s->tx_ring);
	munmap(mem, rx + tx);
	return ret;
}

/* ---- load -------------------------------------------------------------- */

static const char *ring_problem(const PacketRing *ring, int version, bool tx)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (!ring)
		return NULL;
	if (version != TPACKET_V1 && version != TPACKET_V2 && version != TPACKET_V3)
		return "a ring of an unknown TPACKET version";
	if (!ring->block_size || ring->block_size % page || !ring->block_nr ||
	    !ring->frame_size || ring->frame_size % TPACKET_ALIGNMENT ||
	    ring->frame_size > ring->block_size ||
	    (uint64_t)ring->block_size * ring->block_nr > RING_BYTES_MAX)
		return "a ring whose geometry the kernel would not take";
	if ((version != TPACKET_V3 || tx) &&
	    (ring->frame_nr != (ring->block_size / ring->frame_size) * ring->block_nr ||
	     ring->head >= ring->frame_nr))
		return "a ring whose frame count or head does not fit its blocks";
	if (version == TPACKET_V3 && !tx && ring->head >= ring->block_nr)
		return "a ring whose head block is past its blocks";
	if (ring->data.len != ring_bytes(ring))
		return "a ring whose saved bytes are not its size";
	return NULL;
}

const char *packet_rings_problem(const PacketSocket *s, int version)
{
	const char *problem = ring_problem(s->rx_ring, version, false);

	/* The RX steps need a protocol to receive by, which it then has. */
	if (!problem && s->rx_ring && s->rx_ring->head && !s->protocol)
		return "an RX ring that took packets on a socket with no protocol";

	return problem ? problem : ring_problem(s->tx_ring, version, true);
}

/* ---- restore ----------------------------------------------------------- */

static int set_ring(int fd, const PacketRing *ring, int version, bool tx)
{
	struct tpacket_req3 req = {
		.tp_block_size = ring->block_size,
		.tp_block_nr = ring->block_nr,
		.tp_frame_size = ring->frame_size,
		.tp_frame_nr = ring->frame_nr,
	};
	socklen_t len = sizeof(struct tpacket_req);

	if (version == TPACKET_V3) {
		len = sizeof(req);
		/* The timeout is the kernel's only for RX. */
		req.tp_retire_blk_tov = tx ? 0 : ring->retire_tmo;
		req.tp_sizeof_priv = tx ? 0 : ring->sizeof_priv;
		req.tp_feature_req_word = tx ? 0 : ring->features;
	}
	return setsockopt(fd, SOL_PACKET, tx ? PACKET_TX_RING : PACKET_RX_RING, &req, len) ?
		       -errno : 0;
}

/* Waits until @done says the kernel took what was sent. */
static int wait_for(bool (*done)(const uint8_t *mem, const PacketRing *ring, int version,
				 uint32_t want),
		    const uint8_t *mem, const PacketRing *ring, int version, uint32_t want)
{
	for (int waited = 0; waited < RING_STEP_WAIT_MS; waited++) {
		if (done(mem, ring, version, want))
			return 0;
		poll(NULL, 0, 1);
	}
	return -ETIMEDOUT;
}

static bool rx_frame_filled(const uint8_t *mem, const PacketRing *ring, int version,
			    uint32_t want)
{
	return frame_status(mem + frame_offset(ring, want), version) & TP_STATUS_USER;
}

static bool rx_block_retired(const uint8_t *mem, const PacketRing *ring, int version,
			     uint32_t want)
{
	struct tpacket_block_desc b;

	(void)version;
	memcpy(&b, mem + (size_t)want * ring->block_size, sizeof(b));
	return b.hdr.bh1.block_status & TP_STATUS_USER;
}

/* While the RX ring steps: only frames of the step ethertype that carry
 * @cookie first (others may use the ethertype on loopback meanwhile). At
 * the network header, so that it reads the same for raw and datagram. */
static int filter_steps(int fd, uint32_t cookie)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RING_STEP_ETHERTYPE, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cookie, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ? -errno : 0;
}

/* One small frame over loopback, to the ring's socket bound there: an
 * Ethernet header to lo's own address (zeros), then the cookie. */
static int send_step(int sender, int lo, uint32_t cookie)
{
	uint8_t frame[RING_STEP_LEN] = { 0 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = lo,
				  .sll_protocol = htons(RING_STEP_ETHERTYPE) };
	uint16_t type = htons(RING_STEP_ETHERTYPE);

	cookie = htonl(cookie);
	memcpy(frame + 12, &type, sizeof(type));
	memcpy(frame + ETH_HLEN, &cookie, sizeof(cookie));
	return sendto(sender, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) < 0 ?
		       -errno : 0;
}

/* A fresh RX ring starts at frame (block) 0: frames sent to it over
 * loopback move the kernel to the saved head; their bytes are then
 * overwritten with the saved ones. */
static int advance_rx(int sender, int lo, uint32_t cookie, const PacketRing *ring, uint8_t *mem,
		      int version)
{
	bool blocks = version == TPACKET_V3;

	for (uint32_t i = 0; i < ring->head; i++) {
		int ret = send_step(sender, lo, cookie);

		/* Waits now and then, so that loopback's backlog never drops one. */
		if (!ret && (blocks || i + 1 == ring->head || i % 32 == 31))
			ret = wait_for(blocks ? rx_block_retired : rx_frame_filled, mem, ring,
				       version, i);
		if (ret)
			return ret;
	}
	return 0;
}

static bool tx_frames_sent(const uint8_t *mem, const PacketRing *ring, int version,
			   uint32_t want)
{
	for (uint32_t i = 0; i < want; i++)
		if (frame_status(mem + frame_offset(ring, i), version) != TP_STATUS_AVAILABLE)
			return false;
	return true;
}

/* A fresh TX ring sends from frame 0: small frames sent from it over
 * loopback move the kernel to the saved head. */
static int advance_tx(int fd, int lo, const PacketRing *ring, uint8_t *mem, int version)
{
	size_t hdr = version == TPACKET_V1 ? TPACKET_HDRLEN :
		     version == TPACKET_V2 ? TPACKET2_HDRLEN : TPACKET3_HDRLEN;
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = lo,
				  .sll_protocol = htons(RING_STEP_ETHERTYPE), .sll_halen = ETH_ALEN };
	uint16_t type = htons(RING_STEP_ETHERTYPE);

	hdr -= sizeof(struct sockaddr_ll);
	if (!ring->head)
		return 0;
	for (uint32_t i = 0; i < ring->head; i++) {
		uint8_t *f = mem + frame_offset(ring, i);
		uint32_t len = RING_STEP_LEN, status = TP_STATUS_SEND_REQUEST;

		memset(f, 0, ring->frame_size);
		memcpy(f + hdr + 12, &type, sizeof(type));
		if (version == TPACKET_V1) {
			struct tpacket_hdr *h = (struct tpacket_hdr *)f;

			h->tp_len = len;
			h->tp_mac = h->tp_net = (unsigned short)hdr;
		} else if (version == TPACKET_V2) {
			struct tpacket2_hdr *h = (struct tpacket2_hdr *)f;

			h->tp_len = len;
			h->tp_mac = h->tp_net = (uint16_t)hdr;
		} else {
			struct tpacket3_hdr *h = (struct tpacket3_hdr *)f;

			h->tp_len = len;
			h->tp_mac = h->tp_net = (uint16_t)hdr;
		}
		__atomic_store_n((uint32_t *)(f + status_offset(version)), status,
				 __ATOMIC_RELEASE);
	}
	/* Blocking: returns once every frame went out and is given back. */
	if (sendto(fd, NULL, 0, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return wait_for(tx_frames_sent, mem, ring, version, ring->head);
}

/* Copies the saved bytes back. A V3 RX ring's open block stays the
 * kernel's (it keeps where it fills in its own memory), and the blocks
 * before it are numbered down from the one it opened, so that the newest
 * number still marks where it fills. */
static void write_back(uint8_t *mem, const PacketRing *ring, int version, bool tx)
{
	struct tpacket_block_desc open, b;
	uint32_t n = ring->block_nr;

	if (version != TPACKET_V3 || tx) {
		memcpy(mem, ring->data.data, ring->data.len);
		return;
	}
	memcpy(&open, mem + (size_t)ring->head * ring->block_size, sizeof(open));
	for (uint32_t i = 0; i < n; i++) {
		size_t off = (size_t)i * ring->block_size;
		uint64_t behind = (ring->head + n - i) % n;

		if (i == ring->head)
			continue;
		memcpy(mem + off, ring->data.data + off, ring->block_size);
		memcpy(&b, mem + off, sizeof(b));
		if (b.hdr.bh1.seq_num) {
			b.hdr.bh1.seq_num = open.hdr.bh1.seq_num > behind ?
						    open.hdr.bh1.seq_num - behind : 0;
			memcpy(mem + off, &b, sizeof(b));
		}
	}
}

static int bind_to(int fd, int ifindex, uint16_t protocol)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = ifindex,
				  .sll_protocol = htons(protocol) };

	return bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
}

/* With the rings set, the socket bound to loopback alone for the step
 * frames, and the filter that takes nothing on during TX steps. */
static int fill_rings(const PacketSocket *s, int fd, int version, uint8_t *mem,
		      const char **what)
{
	_cleanup_close_ int sender = -1;
	size_t rx = ring_bytes(s->rx_ring);
	int lo = (int)if_nametoindex("lo"), ret = 0;
	uint32_t cookie = 0;

	*what = "the loopback interface to move the kernel's ring position";
	if (lo <= 0 && ((s->rx_ring && s->rx_ring->head) || (s->tx_ring && s->tx_ring->head)))
		return -ENODEV;
	/* Bound to loopback for the step frames alone; restore binds it as
	 * it was next (a socket with rings that moved has a protocol). */
	if (s->rx_ring && s->rx_ring->head) {
		*what = "frames over loopback to move the RX ring's position";
		sender = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (sender < 0)
			return -errno;
		if (getrandom(&cookie, sizeof(cookie), 0) != sizeof(cookie))
			return -errno;
		ret = filter_steps(fd, cookie);
		if (!ret)
			ret = bind_to(fd, lo, RING_STEP_ETHERTYPE);
		if (!ret)
			ret = advance_rx(sender, lo, cookie, s->rx_ring, mem, version);
		if (!ret)
			ret = packet_filter_nothing(fd);
		if (ret)
			return ret;
	}
	if (s->tx_ring && s->tx_ring->head) {
		*what = "frames over loopback to move the TX ring's position";
		ret = advance_tx(fd, lo, s->tx_ring, mem + rx, version);
		if (ret)
			return ret;
	}
	if (s->rx_ring)
		write_back(mem, s->rx_ring, version, false);
	if (s->tx_ring)
		write_back(mem + rx, s->tx_ring, version, true);
	return 0;
}

int packet_rings_restore(const PacketSocket *s, int fd, int version, const char **what)
{
	uint64_t size = packet_rings_size(s);
	uint8_t *mem;
	int ret = 0;

	if (!size)
		return 0;
	*what = "its RX ring (PACKET_RX_RING)";
	if (s->rx_ring)
		ret = set_ring(fd, s->rx_ring, version, false);
	if (!ret && s->tx_ring) {
		*what = "its TX ring (PACKET_TX_RING)";
		ret = set_ring(fd, s->tx_ring, version, true);
	}
	if (ret)
		return ret;
	*what = "a mapping of its rings";
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	ret = fill_rings(s, fd, version, mem, what);
	munmap(mem, size);
	return ret;
}
