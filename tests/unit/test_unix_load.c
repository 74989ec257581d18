/* files_load() checks the records of a unix listener and the clients
 * waiting in its accept queue before restore trusts them: the listener
 * must be named and listening, with no client of inode 0 and no more than
 * its backlog takes; a waiting client must be a stream or seqpacket
 * socket, neither connected nor listening, in a group with its listener.
 * A good pair loads. The fds a queued record carries in flight must be
 * objects of files.img of a kind that may be in flight. Images are written
 * by hand here, not by a dump. */
#include <sys/socket.h>

#include "test_files_util.h"
#include "images/proto/fds.pb-c.h"
#include "images/proto/files.pb-c.h"
#include "images/proto/fanotify.pb-c.h"
#include "images/proto/unix_socket.pb-c.h"

#define PID 4343

/* A listener on "@l" (file 1, fd 3, inode 100, backlog 4) with the client
 * of inode 200 (file 2, fd 4) waiting; one group, led by the listener. The
 * caller spoils a part. */
struct accept_records {
	FileEntry e[2];
	UnixSocket s[2];
	uint64_t waiting[1];
};

static void accept_records(struct accept_records *r)
{
	for (int i = 0; i < 2; i++) {
		unix_socket__init(&r->s[i]);
		r->s[i].type = SOCK_STREAM;
		r->s[i].peek_off = -1;
		file_entry__init(&r->e[i]);
		r->e[i].id = i + 1;
		r->e[i].kind = FILE_ENTRY__KIND__UNIX_SOCKET;
		r->e[i].flags = O_RDWR;
		r->e[i].unix_socket = &r->s[i];
	}
	r->s[0].ino = 100;
	r->s[0].has_name = true;
	r->s[0].name = (ProtobufCBinaryData){ 2, (uint8_t *)"\0l" };
	r->s[0].has_backlog = true;
	r->s[0].backlog = 4;
	r->waiting[0] = 200;
	r->s[0].n_waiting = 1;
	r->s[0].waiting = r->waiting;
	r->s[1].ino = 200;
	r->s[1].has_waiting_on = true;
	r->s[1].waiting_on = 100;
	r->e[1].has_group_of = true;
	r->e[1].group_of = 1;
}

static int write_records(struct image_dir *dir, enum image_kind kind, int id,
			 ProtobufCMessage *const *m, size_t n)
{
	struct image_writer *w;
	int ret = image_open_write(dir, kind, id, &w);

	for (size_t i = 0; !ret && i < n; i++)
		ret = image_write_record(w, m[i]);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* Writes @r as the objects of fds 3 and 4 and loads them: 0, or the error
 * with its message in @err. */
static int load_records(struct accept_records *r, char *err, size_t size)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct files_image *img = NULL;
	FdEntry fd[2] = { FD_ENTRY__INIT, FD_ENTRY__INIT };
	ProtobufCMessage *files[2] = { &r->e[0].base, &r->e[1].base };
	ProtobufCMessage *fds[2] = { &fd[0].base, &fd[1].base };
	int ret;

	for (int i = 0; i < 2; i++) {
		fd[i].fd = 3 + i;
		fd[i].file_id = i + 1;
	}
	if (!dir_path || image_dir_open(dir_path, &dir) ||
	    write_records(dir, IMG_FILES, 0, files, 2) || write_records(dir, IMG_FDS, PID, fds, 2))
		return -EIO;
	log_capture_errors(err, size);
	ret = files_load(dir, PID, NULL, 0, &img);
	log_capture_errors(NULL, 0);
	files_image_free(img);
	return ret;
}

static void expect_refused(struct accept_records *r, const char *want)
{
	char err[1024] = "";

	CHECK(load_records(r, err, sizeof(err)) < 0, "loaded; want '%s'", want);
	CHECK(strstr(err, want), "error '%s' lacks '%s'", err, want);
}

TEST(a_listener_and_its_waiting_client_load)
{
	struct accept_records r;
	char err[1024] = "";

	accept_records(&r);
	CHECK(load_records(&r, err, sizeof(err)) == 0, "refused: %s", err);
}

TEST(bad_accept_queue_records_are_refused)
{
	struct accept_records r;

	accept_records(&r);
	r.s[0].has_name = false;
	expect_refused(&r, "connections waiting on a socket that is not a named listener");

	accept_records(&r);
	r.s[0].has_backlog = false;
	expect_refused(&r, "connections waiting on a socket that is not a named listener");

	accept_records(&r);
	r.waiting[0] = 0;
	expect_refused(&r, "a waiting connection with no client");

	accept_records(&r);
	r.s[1].type = SOCK_DGRAM;
	expect_refused(&r, "waiting in an accept queue, but a datagram socket");

	accept_records(&r);
	r.s[1].has_connected = r.s[1].connected = true;
	expect_refused(&r, "waiting in an accept queue, but a datagram socket, connected");

	accept_records(&r);
	r.e[1].has_group_of = false;
	expect_refused(&r, "waiting in an accept queue, but in no group with its listener");
}

/* A connected datagram pair (files 1 and 2, fds 3 and 4) whose file 1 has
 * one byte queued carrying file @right in flight, and a fanotify (file 3,
 * fd 5): 0, or the error with its message in @err. */
static int load_rights(uint32_t right, char *err, size_t size)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct files_image *img = NULL;
	FileEntry e[3];
	UnixSocket s[2];
	UnixRecord rec = UNIX_RECORD__INIT, *queue[1] = { &rec };
	FanotifyFile fan = FANOTIFY_FILE__INIT;
	FileChunk chunk = FILE_CHUNK__INIT, *chunks[1] = { &chunk };
	FdEntry fd[3] = { FD_ENTRY__INIT, FD_ENTRY__INIT, FD_ENTRY__INIT };
	ProtobufCMessage *files[3] = { &e[0].base, &e[1].base, &e[2].base };
	ProtobufCMessage *fds[3] = { &fd[0].base, &fd[1].base, &fd[2].base };
	int ret;

	for (int i = 0; i < 3; i++) {
		file_entry__init(&e[i]);
		e[i].id = i + 1;
		e[i].kind = i < 2 ? FILE_ENTRY__KIND__UNIX_SOCKET : FILE_ENTRY__KIND__FANOTIFY;
		e[i].flags = O_RDWR;
		fd[i].fd = 3 + i;
		fd[i].file_id = i + 1;
	}
	for (int i = 0; i < 2; i++) {
		unix_socket__init(&s[i]);
		s[i].type = SOCK_DGRAM;
		s[i].peek_off = -1;
		s[i].ino = 100 + i;
		s[i].has_peer_ino = true;
		s[i].peer_ino = 101 - i;
		s[i].has_connected = s[i].connected = true;
		e[i].unix_socket = &s[i];
	}
	e[1].has_group_of = true;
	e[1].group_of = 1;
	e[2].fanotify = &fan;
	rec.size = 1;
	rec.n_rights = 1;
	rec.rights = &right;
	s[0].n_queue = 1;
	s[0].queue = queue;
	chunk.data = (ProtobufCBinaryData){ 1, (uint8_t *)"x" };
	e[0].n_contents = 1;
	e[0].contents = chunks;
	if (!dir_path || image_dir_open(dir_path, &dir) ||
	    write_records(dir, IMG_FILES, 0, files, 3) || write_records(dir, IMG_FDS, PID, fds, 3))
		return -EIO;
	log_capture_errors(err, size);
	ret = files_load(dir, PID, NULL, 0, &img);
	log_capture_errors(NULL, 0);
	files_image_free(img);
	return ret;
}

TEST(fds_in_flight_must_be_objects_that_may_be_in_flight)
{
	char err[1024] = "";

	CHECK(load_rights(2, err, sizeof(err)) == 0, "a pair carrying its peer refused: %s", err);
	err[0] = 0;
	CHECK(load_rights(9, err, sizeof(err)) < 0 &&
	      strstr(err, "carries file 9 in flight, which is not in files.img"),
	      "a record carrying a file files.img lacks: '%s'", err);
	err[0] = 0;
	CHECK(load_rights(3, err, sizeof(err)) < 0 &&
	      strstr(err, "carries file 3 in flight, which is of a kind that cannot be in flight"),
	      "a record carrying a fanotify: '%s'", err);
}
