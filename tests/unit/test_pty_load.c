/* files_load() checks the records of pty pairs (src/files/pty.c): a group
 * has exactly one master, every member is an end of the same index, the
 * pair's state (termios, session, lock, packet mode, hang-up) is in the
 * master's record only and sound, and a hung-up pty has no slave open. A
 * good pair loads. Images are written by hand (test_files_load_util.h), not
 * by a dump. */
#include "test_files_load_util.h"
#include "images/proto/pty.pb-c.h"

static uint8_t cc[19];

static void master(FileEntry *e, PtyFile *pf, PtyTermios *t, uint32_t id, uint32_t index)
{
	file_entry__init(e);
	pty_file__init(pf);
	pty_termios__init(t);
	t->cc.data = cc;
	t->cc.len = sizeof(cc);
	t->rows = 24;
	t->cols = 80;
	pf->master = true;
	pf->index = index;
	pf->termios = t;
	pf->has_slave_closed = true;
	e->id = id;
	e->kind = FILE_ENTRY__KIND__PTY;
	e->flags = O_RDWR;
	e->pty = pf;
}

static void slave(FileEntry *e, PtyFile *pf, uint32_t id, uint32_t index, uint32_t group_of)
{
	file_entry__init(e);
	pty_file__init(pf);
	pf->index = index;
	e->id = id;
	e->kind = FILE_ENTRY__KIND__PTY;
	e->flags = O_RDWR;
	e->pty = pf;
	if (group_of) {
		e->has_group_of = true;
		e->group_of = group_of;
	}
}

/* Writes @files with an fd (3, 4, ...) for each, and loads them: 0 or the
 * error, with its message in @err. */
static int write_and_load(FileEntry *files, size_t n, char *err, size_t size)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	ProtobufCMessage *msgs[8];
	FdEntry fds[8];
	struct files_image *img = NULL;
	int ret;

	if (!dir_path || image_dir_open(dir_path, &dir))
		return -EIO;
	for (size_t i = 0; i < n; i++)
		msgs[i] = &files[i].base;
	if (write_records(dir, IMG_FILES, 0, msgs, n))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		fd_entry__init(&fds[i]);
		fds[i].fd = 3 + (int)i;
		fds[i].file_id = files[i].id;
		msgs[i] = &fds[i].base;
	}
	if (write_records(dir, IMG_FDS, PID, msgs, n))
		return -EIO;
	log_capture_errors(err, size);
	ret = files_load(dir, PID, NULL, 0, &img);
	log_capture_errors(NULL, 0);
	files_image_free(img);
	return ret;
}

/* Whether loading @files is refused with an error holding @want; the
 * reason why not in shared_msg. */
static bool refused_with(FileEntry *files, size_t n, const char *want)
{
	char err[1024] = "";

	if (!write_and_load(files, n, err, sizeof(err)))
		fail("loaded; want '%s'", want);
	else if (!strstr(err, want))
		fail("error '%s' lacks '%s'", err, want);
	else
		return true;
	return false;
}

TEST(a_pty_pair_loads)
{
	FileEntry e[3];
	PtyFile pf[3];
	PtyTermios t;
	char err[1024] = "";

	master(&e[0], &pf[0], &t, 1, 7);
	slave(&e[1], &pf[1], 2, 7, 1);
	slave(&e[2], &pf[2], 3, 7, 1);
	CHECK(!write_and_load(e, 3, err, sizeof(err)), "refused: %s", err);
}

TEST(a_pty_group_needs_one_master_of_one_index)
{
	FileEntry e[3];
	PtyFile pf[3];
	PtyTermios t, t2;

	slave(&e[0], &pf[0], 1, 7, 0);
	CHECK(refused_with(e, 1, "its group has 0 masters of pty 7"), "%s", shared_msg);
	master(&e[0], &pf[0], &t, 1, 7);
	master(&e[1], &pf[1], &t2, 2, 7);
	e[1].has_group_of = true;
	e[1].group_of = 1;
	CHECK(refused_with(e, 2, "its group has 2 masters of pty 7"), "%s", shared_msg);
	slave(&e[1], &pf[1], 2, 8, 1);
	CHECK(refused_with(e, 2, "its group holds file 2, not an end of pty 7"), "%s",
	      shared_msg);
}

TEST(the_pairs_state_must_be_the_masters_and_sound)
{
	FileEntry e[2];
	PtyFile pf[2];
	PtyTermios t;

	master(&e[0], &pf[0], &t, 1, 7);
	slave(&e[1], &pf[1], 2, 7, 1);
	pf[1].has_locked = true;
	CHECK(refused_with(e, 2, "a slave carries the pair's state"), "%s", shared_msg);
	slave(&e[1], &pf[1], 2, 7, 1);
	pf[1].termios = &t;
	CHECK(refused_with(e, 2, "the pty's termios are not the master's to carry"), "%s",
	      shared_msg);
	slave(&e[1], &pf[1], 2, 7, 1);
	t.cc.len = 5;
	CHECK(refused_with(e, 2, "the pty's termios are invalid"), "%s", shared_msg);
	master(&e[0], &pf[0], &t, 1, 7);
	pf[0].has_session = pf[0].has_foreground = true;
	CHECK(refused_with(e, 2, "session 0, foreground group 0"), "%s", shared_msg);
	master(&e[0], &pf[0], &t, 1, 7);
	pf[0].slave_closed = true;
	CHECK(refused_with(e, 2, "pty 7 is hung up, yet 1 opens of its slave are saved"), "%s",
	      shared_msg);
	master(&e[0], &pf[0], &t, 1, 1u << 20);
	CHECK(refused_with(e, 1, "pty index 1048576 is out of range"), "%s", shared_msg);
}

TEST(a_pairs_devpts_instance_is_a_masters_absolute_path)
{
	FileEntry e[2];
	PtyFile pf[2];
	PtyTermios t;
	char err[1024] = "", where[] = "/run/pts", relative[] = "pts", up[] = "/a/../pts";

	master(&e[0], &pf[0], &t, 1, 7);
	slave(&e[1], &pf[1], 2, 7, 1);
	pf[0].devpts = where;
	CHECK(!write_and_load(e, 2, err, sizeof(err)), "refused: %s", err);
	pf[0].devpts = relative;
	CHECK(refused_with(e, 2, "devpts instance 'pts'"), "%s", shared_msg);
	pf[0].devpts = up;
	CHECK(refused_with(e, 2, "devpts instance '/a/../pts'"), "%s", shared_msg);
	master(&e[0], &pf[0], &t, 1, 7);
	pf[1].devpts = where;
	CHECK(refused_with(e, 2, "devpts instance '/run/pts'"), "%s", shared_msg);
}
