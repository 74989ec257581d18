/* files_load() checks a packet socket's record before restore trusts it:
 * type, protocol, interface index and name, memberships, fanout mode,
 * filter, options, and that a SOCK_PACKET one carries nothing it cannot
 * take. A good record loads. Images are written by hand here, not by a
 * dump. */
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/if_packet.h>

#include "test_files_util.h"
#include "images/proto/fds.pb-c.h"
#include "images/proto/files.pb-c.h"
#include "images/proto/packet_socket.pb-c.h"

#define PID 4545

/* A raw socket bound to "lo" (index 1) for 0x88b5 with one multicast
 * membership, a fanout group, a filter and one option of each level. The
 * caller spoils a part. */
struct packet_record {
	FileEntry e;
	PacketSocket s;
	PacketMembership m;
	PacketMembership *ms[1];
	SocketOption o, po;
	SocketOption *os[1], *pos[1];
	struct sock_filter insn[1];
	uint8_t addr[40];	/* room for a spoilt length */
};

static void packet_record(struct packet_record *r)
{
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

	memset(r, 0, sizeof(*r));
	packet_socket__init(&r->s);
	r->s.type = SOCK_RAW;
	r->s.ino = 100;
	r->s.protocol = 0xb588;
	r->s.ifindex = 1;
	r->s.ifname = "lo";
	packet_membership__init(&r->m);
	r->m.ifindex = 1;
	r->m.ifname = "lo";
	r->m.type = PACKET_MR_MULTICAST;
	memcpy(r->addr, mcast, sizeof(mcast));
	r->m.addr = (ProtobufCBinaryData){ sizeof(mcast), r->addr };
	r->m.count = 2;
	r->ms[0] = &r->m;
	r->s.n_memberships = 1;
	r->s.memberships = r->ms;
	r->s.has_fanout = true;
	r->s.fanout = 4321 | (PACKET_FANOUT_HASH << 16);
	r->insn[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffff);
	r->s.has_filter = true;
	r->s.filter = (ProtobufCBinaryData){ sizeof(r->insn), (uint8_t *)r->insn };
	socket_option__init(&r->o);
	r->o.level = SOL_SOCKET;
	r->o.name = SO_MARK;
	r->o.value = 7;
	r->os[0] = &r->o;
	r->s.n_options = 1;
	r->s.options = r->os;
	socket_option__init(&r->po);
	r->po.level = SOL_PACKET;
	r->po.name = PACKET_AUXDATA;
	r->po.value = 1;
	r->pos[0] = &r->po;
	r->s.n_packet_options = 1;
	r->s.packet_options = r->pos;
	file_entry__init(&r->e);
	r->e.id = 1;
	r->e.kind = FILE_ENTRY__KIND__PACKET_SOCKET;
	r->e.flags = O_RDWR;
	r->e.packet_socket = &r->s;
}

static int write_record(struct image_dir *dir, enum image_kind kind, int id, ProtobufCMessage *m)
{
	struct image_writer *w;
	int ret = image_open_write(dir, kind, id, &w);

	if (!ret)
		ret = image_write_record(w, m);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* Writes @r as the object of fd 3 and loads it: 0, or the error with its
 * message in @err. */
static int load_record(struct packet_record *r, char *err, size_t size)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct files_image *img = NULL;
	FdEntry fd = FD_ENTRY__INIT;
	int ret;

	fd.fd = 3;
	fd.file_id = 1;
	if (!dir_path || image_dir_open(dir_path, &dir) ||
	    write_record(dir, IMG_FILES, 0, &r->e.base) ||
	    write_record(dir, IMG_FDS, PID, &fd.base))
		return -EIO;
	log_capture_errors(err, size);
	ret = files_load(dir, PID, NULL, 0, &img);
	log_capture_errors(NULL, 0);
	files_image_free(img);
	return ret;
}

static void expect_refused(struct packet_record *r, const char *want)
{
	char err[1024] = "";

	CHECK(load_record(r, err, sizeof(err)) < 0, "loaded; want '%s'", want);
	CHECK(strstr(err, want), "error '%s' lacks '%s'", err, want);
}

TEST(a_packet_socket_record_loads)
{
	struct packet_record r;
	char err[1024] = "";

	packet_record(&r);
	CHECK(load_record(&r, err, sizeof(err)) == 0, "refused: %s", err);
	/* The kernel locks a socket with no filter too: nothing can be attached. */
	packet_record(&r);
	r.s.has_filter = false;
	r.s.has_filter_locked = r.s.filter_locked = true;
	CHECK(load_record(&r, err, sizeof(err)) == 0, "locked with no filter refused: %s", err);
}

TEST(bad_packet_socket_records_are_refused)
{
	static struct sock_filter too_long[4097];
	struct packet_record r;

	packet_record(&r);
	r.s.type = SOCK_STREAM;
	expect_refused(&r, "type is neither raw, datagram nor SOCK_PACKET");

	packet_record(&r);
	r.s.protocol = 0x10000;
	expect_refused(&r, "a protocol beyond 16 bits");

	packet_record(&r);
	r.s.ifname = NULL;
	expect_refused(&r, "an interface index without a valid name");

	packet_record(&r);
	r.s.ifname = "../lo";
	expect_refused(&r, "an interface index without a valid name");

	packet_record(&r);
	r.m.type = 9;
	expect_refused(&r, "a membership of an unknown type");

	packet_record(&r);
	r.m.count = 0;
	expect_refused(&r, "a membership count out of range");

	packet_record(&r);
	r.m.addr.len = 33;
	expect_refused(&r, "a membership address longer than 32 bytes");

	packet_record(&r);
	r.s.fanout = 4321 | (PACKET_FANOUT_EBPF << 16);
	expect_refused(&r, "a fanout mode cryo cannot restore");

	packet_record(&r);
	r.s.filter.len = 5;
	expect_refused(&r, "a filter that is no whole number of instructions");

	packet_record(&r);
	r.s.filter = (ProtobufCBinaryData){ sizeof(too_long), (uint8_t *)too_long };
	expect_refused(&r, "a filter that is no whole number of instructions, or too long");

	packet_record(&r);
	r.o.name = 9999;
	expect_refused(&r, "an option cryo does not know");

	packet_record(&r);
	r.po.name = PACKET_RX_RING;
	expect_refused(&r, "a packet option cryo does not know");

	packet_record(&r);
	r.s.type = SOCK_PACKET;
	expect_refused(&r, "a SOCK_PACKET socket with packet options, memberships or fanout");
}

/* @r with an RX ring of one 4096-byte block of two frames, head at frame 1,
 * its bytes in @data. */
static void add_ring(struct packet_record *r, PacketRing *ring, uint8_t *data)
{
	packet_ring__init(ring);
	ring->block_size = 4096;
	ring->block_nr = 1;
	ring->frame_size = 2048;
	ring->frame_nr = 2;
	ring->head = 1;
	ring->data = (ProtobufCBinaryData){ 4096, data };
	r->s.rx_ring = ring;
}

TEST(packet_ring_records_are_checked)
{
	static uint8_t data[8192];
	struct packet_record r;
	PacketRing ring;
	char err[1024] = "";

	packet_record(&r);
	add_ring(&r, &ring, data);
	CHECK(load_record(&r, err, sizeof(err)) == 0, "a sound ring refused: %s", err);

	add_ring(&r, &ring, data);
	ring.block_size = 4000;
	expect_refused(&r, "a ring whose geometry the kernel would not take");

	add_ring(&r, &ring, data);
	ring.frame_nr = 3;
	expect_refused(&r, "a ring whose frame count or head does not fit its blocks");

	add_ring(&r, &ring, data);
	ring.head = 2;
	expect_refused(&r, "a ring whose frame count or head does not fit its blocks");

	add_ring(&r, &ring, data);
	ring.data.len = 8192;
	expect_refused(&r, "a ring whose saved bytes are not its size");

	add_ring(&r, &ring, data);
	r.s.protocol = 0;
	expect_refused(&r, "an RX ring that took packets on a socket with no protocol");
}
