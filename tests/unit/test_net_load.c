/* files_load() checks the records of inet sockets before restore trusts
 * them: family, type and protocol, address lengths, ports, a TCP socket
 * that is not listening, options cryo does not know, queued datagrams on a
 * socket that was never bound, senders of the wrong family, and queued
 * sizes that disagree with the saved bytes. A good record loads. Images
 * are written by hand here, not by a dump. */
#include <netinet/in.h>
#include <sys/socket.h>

#include "test_files_util.h"
#include "images/proto/fds.pb-c.h"
#include "images/proto/files.pb-c.h"
#include "images/proto/inet_socket.pb-c.h"

#define PID 4242

static uint8_t loopback[4] = { 127, 0, 0, 1 };
static uint8_t sender[4] = { 127, 0, 0, 2 };
static uint8_t five[5] = { 1, 2, 3, 4, 5 };
static uint8_t v6_sender[16] = { [15] = 1 };

/* A UDP socket on 127.0.0.1:4000 with two datagrams (3 and 2 bytes,
 * "abcde" in the record) from 127.0.0.2:5000. The caller spoils a part. */
struct udp_record {
	FileEntry e;
	InetSocket s;
	QueuedDatagram q[2];
	QueuedDatagram *queue[2];
	FileChunk chunk;
	FileChunk *chunks[1];
};

static void udp_record(struct udp_record *r)
{
	inet_socket__init(&r->s);
	r->s.family = AF_INET;
	r->s.type = SOCK_DGRAM;
	r->s.protocol = IPPROTO_UDP;
	r->s.local_addr = (ProtobufCBinaryData){ 4, loopback };
	r->s.local_port = 4000;
	r->s.peek_off = -1;
	for (int i = 0; i < 2; i++) {
		queued_datagram__init(&r->q[i]);
		r->q[i].source_addr = (ProtobufCBinaryData){ 4, sender };
		r->q[i].source_port = 5000;
		r->q[i].size = 3 - i;
		r->queue[i] = &r->q[i];
	}
	r->s.n_queue = 2;
	r->s.queue = r->queue;
	file_chunk__init(&r->chunk);
	r->chunk.data = (ProtobufCBinaryData){ 5, (uint8_t *)"abcde" };
	r->chunks[0] = &r->chunk;
	file_entry__init(&r->e);
	r->e.id = 1;
	r->e.kind = FILE_ENTRY__KIND__INET_SOCKET;
	r->e.flags = O_RDWR;
	r->e.inet_socket = &r->s;
	r->e.n_contents = 1;
	r->e.contents = r->chunks;
}

static int write_one(struct image_dir *dir, enum image_kind kind, int id, ProtobufCMessage *m)
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
static int load_record(struct udp_record *r, char *err, size_t size)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct files_image *img = NULL;
	FdEntry fd = FD_ENTRY__INIT;
	int ret;

	fd.fd = 3;
	fd.file_id = 1;
	if (!dir_path || image_dir_open(dir_path, &dir) ||
	    write_one(dir, IMG_FILES, 0, &r->e.base) || write_one(dir, IMG_FDS, PID, &fd.base))
		return -EIO;
	log_capture_errors(err, size);
	ret = files_load(dir, PID, NULL, 0, &img);
	log_capture_errors(NULL, 0);
	files_image_free(img);
	return ret;
}

static void expect_refused(struct udp_record *r, const char *want)
{
	char err[1024] = "";

	CHECK(load_record(r, err, sizeof(err)) < 0, "loaded; want '%s'", want);
	CHECK(strstr(err, want), "error '%s' lacks '%s'", err, want);
}

TEST(good_udp_socket_record_loads)
{
	struct udp_record r;
	char err[1024] = "";

	udp_record(&r);
	CHECK(!load_record(&r, err, sizeof(err)), "load failed: %s", err);
}

TEST(bad_inet_socket_records_are_refused)
{
	struct udp_record r;
	SocketOption unknown = SOCKET_OPTION__INIT, *options[] = { &unknown };

	udp_record(&r);
	r.s.family = AF_UNIX;
	expect_refused(&r, "file 1 (inet socket): family is neither AF_INET nor AF_INET6");
	udp_record(&r);
	r.s.local_addr = (ProtobufCBinaryData){ 5, five };
	expect_refused(&r, "its local address does not fit its family");
	udp_record(&r);
	r.s.local_port = 70000;
	expect_refused(&r, "its local address does not fit its family");
	udp_record(&r);
	r.s.type = SOCK_STREAM;
	r.s.protocol = IPPROTO_TCP;
	expect_refused(&r, "a closed TCP socket has no peer and no datagrams");
	udp_record(&r);
	r.s.type = SOCK_STREAM;
	r.s.protocol = IPPROTO_TCP;
	r.s.n_queue = 0;
	r.s.has_backlog = true;
	r.s.shutdown = 1;
	expect_refused(&r, "a TCP socket must be listening");
	udp_record(&r);
	r.s.type = SOCK_STREAM;
	r.s.protocol = IPPROTO_TCP;
	r.s.n_queue = 0;
	r.s.has_tcp_closed = r.s.tcp_closed = true;
	expect_refused(&r, "a closed TCP connection needs a peer");
	udp_record(&r);
	r.s.has_tcp_closed = r.s.tcp_closed = true;
	expect_refused(&r, "a TCP connection on a socket that is not TCP");
	udp_record(&r);
	r.s.protocol = IPPROTO_SCTP;
	expect_refused(&r, "only UDP, UDP-lite, ping, raw and listening TCP sockets");
	udp_record(&r);
	unknown.level = SOL_SOCKET;
	unknown.name = 9999;
	r.s.n_options = 1;
	r.s.options = options;
	expect_refused(&r, "an option cryo does not know");
	udp_record(&r);
	r.s.shutdown = 4;
	expect_refused(&r, "shutdown bits beyond reading and writing");
	udp_record(&r);
	r.s.local_port = 0;
	expect_refused(&r, "datagrams queued on a socket that was never bound");
	udp_record(&r);
	r.q[1].source_addr = (ProtobufCBinaryData){ 16, v6_sender };
	expect_refused(&r, "a queued datagram's sender does not fit the socket's family");
	udp_record(&r);
	r.q[1].size = 3;
	expect_refused(&r, "its contents hold 5 bytes, its record says 6");
	udp_record(&r);
	r.s.n_queue = 0;
	expect_refused(&r, "contents without queued datagrams");
}
