/* files_load() refuses bad images with a clear error (bad fd numbers,
 * unknown file ids, kinds without their part, bad flags and inodes, epoll
 * targets missing, contents missing or short, damaged bytes, mappings of
 * files that are not memfds or deleted files, mappings past the end of
 * their object, SysV segment runs past the segment), accepts good ones, and
 * files_restore() names the fd and cause when it cannot open a
 * file. Images are written by hand here, not by a dump. */
#include <sys/epoll.h>
#include <sys/pidfd.h>

#include "test_files_util.h"
#include "images/proto/fds.pb-c.h"
#include "images/proto/filedata.pb-c.h"
#include "images/proto/files.pb-c.h"
#include "images/proto/memfd.pb-c.h"
#include "images/proto/shmem.pb-c.h"
#include "images/proto/sysv_shm.pb-c.h"
#include "ipc/sysv_shm.h"
#include "kabi/kabi.h"
#include "restore/restore.h"

#define PID 4242

static CharDev dev_null = CHAR_DEV__INIT;

/* A /dev/null object with @id, read-write. */
static FileEntry null_entry(uint32_t id)
{
	FileEntry e = FILE_ENTRY__INIT;

	dev_null.path = "/dev/null";
	dev_null.major = 1;
	dev_null.minor = 3;

	e.id = id;
	e.kind = FILE_ENTRY__KIND__CHRDEV;
	e.flags = O_RDWR;
	e.chrdev = &dev_null;
	return e;
}

static FdEntry fd_entry(int fd, uint32_t file_id)
{
	FdEntry e = FD_ENTRY__INIT;

	e.fd = fd;
	e.file_id = file_id;
	return e;
}

static int write_records(struct image_dir *dir, enum image_kind kind, int id,
			 ProtobufCMessage *const *msgs, size_t n)
{
	struct image_writer *w;
	int ret = image_open_write(dir, kind, id, &w);

	for (size_t i = 0; i < n && !ret; i++)
		ret = image_write_record(w, msgs[i]);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* Writes files.img with @files and fds-PID.img with @fds. */
static int write_images(struct image_dir *dir, FileEntry *files, size_t nr_files, FdEntry *fds,
			size_t nr_fds)
{
	ProtobufCMessage *msgs[16];

	for (size_t i = 0; i < nr_files; i++)
		msgs[i] = &files[i].base;
	if (write_records(dir, IMG_FILES, 0, msgs, nr_files))
		return -1;
	for (size_t i = 0; i < nr_fds; i++)
		msgs[i] = &fds[i].base;
	return write_records(dir, IMG_FDS, PID, msgs, nr_fds);
}

/* Loads the images of @dir_path for a task whose mappings map the files
 * @mapped; 0 or the error, with its message in @err. */
static int load_mapped(const char *dir_path, const struct files_mapping *mapped, size_t nr_mapped,
		       char *err, size_t size, struct files_image **out)
{
	struct image_dir *dir;
	int ret;

	if (image_dir_open(dir_path, &dir))
		return -EIO;
	log_capture_errors(err, size);
	ret = files_load(dir, PID, mapped, nr_mapped, out);
	log_capture_errors(NULL, 0);
	image_dir_close(dir);
	return ret;
}

static int load(const char *dir_path, char *err, size_t size, struct files_image **out)
{
	return load_mapped(dir_path, NULL, 0, err, size, out);
}

/* Writes @files and @fds, and expects files_load() to refuse them with an
 * error containing @want. */
static void expect_refused(FileEntry *files, size_t nr_files, FdEntry *fds, size_t nr_fds,
			   const char *want)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct files_image *img = NULL;
	char err[1024] = "";

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, files, nr_files, fds, nr_fds), "cannot write the images");
	CHECK(load(dir_path, err, sizeof(err), &img) < 0, "loaded; want '%s'", want);
	CHECK(strstr(err, want), "error '%s' lacks '%s'", err, want);
}

TEST(good_images_load_and_restore)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FileEntry files[] = { null_entry(1) };
	FdEntry fds[] = { fd_entry(0, 1), fd_entry(3, 1) };
	struct files_image *img = NULL;
	char err[1024] = "";
	pid_t child;
	int st;

	fds[1].cloexec = true;
	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, files, 1, fds, 2), "cannot write the images");
	CHECK(!load(dir_path, err, sizeof(err), &img), "load failed: %s", err);
	CHECK_GOTO(files_max_fd(img) == 3, out, "max fd %d", files_max_fd(img));
	shared_msg[0] = '\0';
	child = fork();
	if (child == 0) {
		log_capture_errors(shared_msg, MSG_SIZE);
		if (files_restore(img, NULL, false))
			_exit(2);
		_exit(expect_link(0, "/dev/null") || expect_cloexec(0, false) ||
		      expect_cloexec(3, true) || expect_flags(3, O_RDWR) ||
		      fcntl(1, F_GETFD) >= 0 || fcntl(2, F_GETFD) >= 0 ? 1 : 0);
	}
	st = wait_child(child, false);
	CHECK_GOTO(st == 0, out, "the restored child failed (%d): %s", st, shared_msg);
out:
	files_image_free(img);
}

TEST(mapping_of_unknown_or_unmappable_file_is_refused)
{
	static const struct {
		uint32_t id;
		const char *want;
	} cases[] = {
		{ 9, "refers to file 9, which files.img does not hold" },
		{ 1, "file 1 (chrdev): is mapped by pid 4242, but is neither a memfd, shared anonymous memory nor" },
	};
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FileEntry files[] = { null_entry(1) };
	FdEntry fds[] = { fd_entry(0, 1) };

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct files_image *img = NULL;
		char err[1024] = "";

		struct files_mapping m = { .start = 0x10000, .end = 0x11000,
					   .file_id = cases[i].id };

		CHECK(load_mapped(dir_path, &m, 1, err, sizeof(err), &img) == -EBADMSG,
		      "mapping of file %u loaded", cases[i].id);
		CHECK(strstr(err, cases[i].want), "error '%s' lacks '%s'", err, cases[i].want);
	}
}

/* Shared anonymous memory mapped past the end of its object (rounded up to
 * pages) was never so: refused at load, naming the mapping and the sizes;
 * one that ends within the last page loads. A memfd may be mapped past its
 * end, but not past the end of all offsets. */
TEST(mapping_past_the_end_of_its_object_is_refused)
{
	static const struct {
		uint32_t id;
		uint64_t pgoff, len;
		const char *want;	/* NULL: loads */
	} cases[] = {
		{ 2, 0, 2 * 4096, NULL },
		{ 2, 4096, 4096, NULL },
		{ 2, 0, 3 * 4096, "file 2 (shmem): pid 4242 mapping 0x10000-0x13000 maps 12288 "
				  "bytes from offset 0, past the end of its 8192 bytes" },
		{ 2, 2 * 4096, 4096, "maps 4096 bytes from offset 8192, past the end of its 8192" },
		{ 3, 4096, 4096, NULL },
		/* A memfd may be mapped past its end, as the kernel allows. */
		{ 3, 4096, 2 * 4096, NULL },
		{ 3, UINT64_MAX - 4095, 8192, "file 3 (memfd): pid 4242 mapping 0x10000-0x12000 "
					      "maps 8192 bytes from offset 18446744073709547520" },
	};
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	ShmemFile shmem = SHMEM_FILE__INIT;
	MemfdFile memfd = MEMFD_FILE__INIT;
	FileEntry files[] = { null_entry(1), null_entry(2), null_entry(3) };
	FdEntry fds[] = { fd_entry(0, 1) };

	files[1].kind = FILE_ENTRY__KIND__SHMEM;
	files[1].chrdev = NULL;
	files[1].shmem = &shmem;
	shmem.size = 2 * 4096;
	files[2].kind = FILE_ENTRY__KIND__MEMFD;
	files[2].chrdev = NULL;
	files[2].memfd = &memfd;
	memfd.name = "m";
	memfd.size = 5000;
	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, files, 3, fds, 1), "cannot write the images");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct files_mapping m = { .start = 0x10000, .end = 0x10000 + cases[i].len,
					   .pgoff = cases[i].pgoff, .file_id = cases[i].id };
		struct files_image *img = NULL;
		char err[1024] = "";
		int ret = load_mapped(dir_path, &m, 1, err, sizeof(err), &img);

		files_image_free(img);
		if (!cases[i].want) {
			CHECK(ret == 0, "case %zu: refused: %s", i, err);
			continue;
		}
		CHECK(ret == -EBADMSG, "case %zu: mapping past the end loaded", i);
		CHECK(strstr(err, cases[i].want), "case %zu: error '%s' lacks '%s'", i, err,
		      cases[i].want);
	}
}

TEST(fd_of_unknown_file_is_refused)
{
	FileEntry files[] = { null_entry(1) };
	FdEntry fds[] = { fd_entry(0, 1), fd_entry(3, 9) };

	expect_refused(files, 1, fds, 2, "fds-4242.img: offset");
	expect_refused(files, 1, fds, 2, "fd 3 refers to file 9, which files.img does not hold");
}

TEST(bad_fd_numbers_are_refused)
{
	FileEntry files[] = { null_entry(1) };
	FdEntry twice[] = { fd_entry(4, 1), fd_entry(4, 1) };
	FdEntry huge[] = { fd_entry(1 << 20, 1) };
	FdEntry negative[] = { fd_entry(-1, 1) };

	expect_refused(files, 1, twice, 2, "fd 4: fds must be unique and ascending");
	expect_refused(files, 1, huge, 1, "fd 1048576 is out of range");
	expect_refused(files, 1, negative, 1, "fd -1 is out of range");
}

TEST(record_without_its_kinds_part_is_refused)
{
	FileEntry files[] = { null_entry(1) };
	FdEntry fds[] = { fd_entry(0, 1) };
	EventfdFile ev = EVENTFD_FILE__INIT;

	files[0].kind = FILE_ENTRY__KIND__PIPE;
	expect_refused(files, 1, fds, 1, "file 1 (kind 2, flags 02): must hold one kind part");
	files[0].kind = FILE_ENTRY__KIND__CHRDEV;
	files[0].eventfd = &ev;
	expect_refused(files, 1, fds, 1, "must hold one kind part, its kind's");
	files[0].eventfd = NULL;
	files[0].kind = 77;
	expect_refused(files, 1, fds, 1, "unknown kind");
}

TEST(bad_flags_owners_ids_and_inodes_are_refused)
{
	FileEntry files[] = { null_entry(1), null_entry(2) };
	FdEntry fds[] = { fd_entry(0, 1) };

	FileOwner owner = FILE_OWNER__INIT;

	files[0].flags = O_RDWR | O_CREAT;
	expect_refused(files, 1, fds, 1, "unknown flags");
	files[0].flags = O_RDWR | O_ASYNC;
	files[0].owner = &owner;
	owner.type = 3;
	owner.pid = 12;
	expect_refused(files, 1, fds, 1, "its owner must be a thread, process or group");
	owner.type = F_OWNER_PGRP;
	owner.pid = 0;
	expect_refused(files, 1, fds, 1, "its owner must be a thread, process or group");
	owner.pid = 12;
	files[0].has_signal = true;
	files[0].signal = 65;
	expect_refused(files, 1, fds, 1, "its signal (F_SETSIG) must be 1-64");
	files[0].has_signal = false;
	files[0].owner = NULL;
	files[0].flags = O_ACCMODE;
	expect_refused(files, 1, fds, 1, "access mode 3");
	files[0].flags = O_RDWR;
	files[1].id = 1;
	expect_refused(files, 2, fds, 1, "ids must be above 0 and ascending");
	files[1].id = 2;
	files[0].has_inode_of = true;
	files[0].inode_of = 2;
	expect_refused(files, 2, fds, 1, "its inode must be that of an earlier object");
}

TEST(device_cryo_does_not_restore_is_refused)
{
	CharDev mem = CHAR_DEV__INIT;
	FileEntry files[] = { null_entry(1) };
	FdEntry fds[] = { fd_entry(0, 1) };

	mem.path = "/dev/mem";
	mem.major = 1;
	mem.minor = 1;
	files[0].chrdev = &mem;
	expect_refused(files, 1, fds, 1, "/dev/mem (1:1) is not a device cryo restores");
}

TEST(epoll_target_outside_fd_table_is_refused)
{
	EpollTarget target = EPOLL_TARGET__INIT;
	EpollTarget *targets[] = { &target };
	EpollFile ep = EPOLL_FILE__INIT;
	FileEntry files[] = { null_entry(1), null_entry(2) };
	FdEntry fds[] = { fd_entry(0, 1), fd_entry(5, 2) };

	target.fd = 7;
	target.file_id = 1;
	target.events = EPOLLIN;
	ep.n_targets = 1;
	ep.targets = targets;
	files[1].kind = FILE_ENTRY__KIND__EPOLL;
	files[1].chrdev = NULL;
	files[1].epoll = &ep;
	expect_refused(files, 2, fds, 2, "file 2 (epoll): target fd 7 is not file 1");
	/* At fd 7, but another file. */
	target.fd = 0;
	target.file_id = 2;
	expect_refused(files, 2, fds, 2, "target fd 0 is not file 2");
}

/* A pipe's read end at fd 0 that says it holds @data_size bytes, in a
 * data file if @in_file. */
static void pipe_with_data(FileEntry *e, PipeFile *pf, uint32_t data_size, bool in_file)
{
	*e = null_entry(1);
	e->kind = FILE_ENTRY__KIND__PIPE;
	e->flags = O_RDONLY;
	e->chrdev = NULL;
	e->has_contents_in_file = e->contents_in_file = in_file;
	pipe_file__init(pf);
	pf->ino = 1;
	pf->capacity = 65536;
	pf->has_data_size = true;
	pf->data_size = data_size;
	e->pipe = pf;
}

TEST(missing_or_short_contents_are_refused)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FileChunk chunk = FILE_CHUNK__INIT;
	ProtobufCMessage *chunks[] = { &chunk.base };
	FdEntry fds[] = { fd_entry(0, 1) };
	struct files_image *img = NULL;
	char err[1024] = "";
	FileEntry e;
	PipeFile pf;

	pipe_with_data(&e, &pf, 10, true);
	expect_refused(&e, 1, fds, 1, "file 1 (pipe): its contents cannot be read");
	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, &e, 1, fds, 1), "cannot write the images");
	chunk.data.data = (uint8_t *)"hello";
	chunk.data.len = 5;
	CHECK(!write_records(dir, IMG_FILE_DATA, 1, chunks, 1), "cannot write file-data-1.img");
	CHECK(load(dir_path, err, sizeof(err), &img) < 0, "loaded short contents");
	CHECK(strstr(err, "file 1 (pipe): its contents hold 5 bytes, its record says 10"),
	      "error: %s", err);
	/* The right length loads; a run out of order does not. */
	pipe_with_data(&e, &pf, 5, true);
	CHECK(!write_images(dir, &e, 1, fds, 1), "cannot write the images");
	CHECK(!load(dir_path, err, sizeof(err), &img), "load failed: %s", err);
	files_image_free(img);
	chunk.offset = 2;
	CHECK(!write_records(dir, IMG_FILE_DATA, 1, chunks, 1), "cannot write file-data-1.img");
	CHECK(load(dir_path, err, sizeof(err), &img) < 0, "loaded a gap in pipe data");
	CHECK(strstr(err, "runs must follow each other from 0"), "error: %s", err);
}

TEST(contents_in_the_record_are_checked)
{
	FileChunk a = FILE_CHUNK__INIT, b = FILE_CHUNK__INIT;
	FileChunk *runs[] = { &a, &b };
	FdEntry fds[] = { fd_entry(0, 1) };
	FileEntry e;
	PipeFile pf;

	a.data.data = (uint8_t *)"hello";
	a.data.len = 5;
	b.offset = 3;
	b.data.data = (uint8_t *)"xy";
	b.data.len = 2;
	pipe_with_data(&e, &pf, 7, false);
	e.n_contents = 2;
	e.contents = runs;
	expect_refused(&e, 1, fds, 1, "file 1 (kind 2, flags 0): runs must be sorted and not overlap");
	b.offset = 5;
	e.has_contents_in_file = e.contents_in_file = true;
	expect_refused(&e, 1, fds, 1, "contents both in the record and in a file");
	e.has_contents_in_file = e.contents_in_file = false;
	pf.data_size = 9;
	expect_refused(&e, 1, fds, 1, "file 1 (pipe): its contents hold 7 bytes, its record says 9");
}

TEST(contents_past_the_size_are_refused)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	MemfdFile m = MEMFD_FILE__INIT;
	FileChunk chunk = FILE_CHUNK__INIT;
	ProtobufCMessage *chunks[] = { &chunk.base };
	FdEntry fds[] = { fd_entry(0, 1) };
	FileEntry files[] = { null_entry(1) };
	struct files_image *img = NULL;
	char err[1024] = "";

	m.name = "m";
	m.size = 8;
	m.mode = 0600;
	files[0].kind = FILE_ENTRY__KIND__MEMFD;
	files[0].chrdev = NULL;
	files[0].memfd = &m;
	files[0].has_contents_in_file = files[0].contents_in_file = true;
	chunk.offset = 6;
	chunk.data.data = (uint8_t *)"abc";
	chunk.data.len = 3;
	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
	CHECK(!write_records(dir, IMG_FILE_DATA, 1, chunks, 1), "cannot write file-data-1.img");
	CHECK(load(dir_path, err, sizeof(err), &img) < 0, "loaded contents past the size");
	CHECK(strstr(err, "run 0 (offset 6, 3 bytes): the run ends past the file's size"),
	      "error: %s", err);
}

/* A SysV segment's runs are checked by the same code as file contents: a
 * run past the segment's size is refused, naming the segment; one within
 * it loads. */
TEST(sysv_segment_runs_past_its_size_are_refused)
{
	static const struct {
		uint64_t offset;
		const char *want;	/* NULL: loads */
	} cases[] = {
		{ 4093, NULL },
		{ 4094, "run 0 of SysV segment 7 (4096 bytes): the run ends past the file's size" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_tree_ char *dir_path = make_temp_dir();
		_cleanup_image_dir_ struct image_dir *dir = NULL;
		SysvShm seg = SYSV_SHM__INIT;
		FileChunk chunk = FILE_CHUNK__INIT;
		ProtobufCMessage *segs[] = { &seg.base }, *chunks[] = { &chunk.base };
		struct sysv_shm_set *set = NULL;
		char err[1024] = "";
		int ret;

		seg.id = 7;
		seg.key = 0x1234;
		seg.size = 4096;
		seg.mode = 0600;
		chunk.offset = cases[i].offset;
		chunk.data.data = (uint8_t *)"abc";
		chunk.data.len = 3;
		CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
		CHECK(!write_records(dir, IMG_SYSV_SHM, 0, segs, 1), "cannot write sysv-shm.img");
		CHECK(!write_records(dir, IMG_SYSV_SHM_DATA, 7, chunks, 1),
		      "cannot write sysv-shm-data-7.img");
		log_capture_errors(err, sizeof(err));
		ret = sysv_shm_load(dir, &set);
		log_capture_errors(NULL, 0);
		sysv_shm_free(set);
		if (!cases[i].want) {
			CHECK(ret == 0, "case %zu: refused: %s", i, err);
			continue;
		}
		CHECK(ret == -EBADMSG, "case %zu: a run past the segment loaded", i);
		CHECK(strstr(err, cases[i].want), "case %zu: error '%s' lacks '%s'", i, err,
		      cases[i].want);
	}
}

TEST(damaged_files_image_is_refused)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ unsigned char *buf = NULL;
	FileEntry files[] = { null_entry(1) };
	FdEntry fds[] = { fd_entry(0, 1) };
	struct files_image *img = NULL;
	char err[1024] = "";
	size_t len;

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
	path = path_join(dir_path, "files.img");
	buf = read_file(path, &len);
	CHECK(buf && len > 46, "cannot read %s", path);
	buf[46] ^= 0x10;
	CHECK(!write_file(path, buf, len), "cannot write %s", path);
	CHECK(load(dir_path, err, sizeof(err), &img) < 0, "loaded a damaged files.img");
	CHECK(strstr(err, "files.img: offset 36: record 0: checksum"), "error: %s", err);
}

TEST(restore_names_fd_and_cause_when_a_file_is_gone)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	RegFile reg = REG_FILE__INIT;
	FileEntry files[] = { null_entry(1) };
	FdEntry fds[] = { fd_entry(6, 1) };
	struct files_image *img = NULL;
	char err[1024] = "";
	pid_t child;
	int st;

	reg.path = "/nonexistent/cryo-file";
	reg.mode = S_IFREG | 0600;
	files[0].kind = FILE_ENTRY__KIND__REG;
	files[0].chrdev = NULL;
	files[0].reg = &reg;
	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
	CHECK(!load(dir_path, err, sizeof(err), &img), "load failed: %s", err);
	shared_msg[0] = '\0';
	child = fork();
	if (child == 0) {
		log_capture_errors(shared_msg, MSG_SIZE);
		_exit(files_restore(img, NULL, false) ? 2 : 0);
	}
	st = wait_child(child, false);
	files_image_free(img);
	CHECK(st == 2, "restore status %d", st);
	CHECK(strstr(shared_msg, "restore: pid 4242 fd 6 (reg file 1): cannot open "
				 "/nonexistent/cryo-file: No such file or directory"),
	      "error: %s", shared_msg);
}

TEST(shell_terminal_needs_shell_job_at_restore)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	TtyFile tty = TTY_FILE__INIT;
	FileEntry files[] = { null_entry(1) };
	FdEntry fds[] = { fd_entry(1, 1) };
	struct files_image *img = NULL;
	char err[1024] = "";
	int ret;

	tty.path = "/dev/pts/9";
	tty.major = 136;
	tty.minor = 9;
	files[0].kind = FILE_ENTRY__KIND__TTY;
	files[0].chrdev = NULL;
	files[0].tty = &tty;
	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
	CHECK(!load(dir_path, err, sizeof(err), &img), "load failed: %s", err);
	log_capture_errors(err, sizeof(err));
	ret = files_check_restorable(img, false);
	log_capture_errors(NULL, 0);
	files_image_free(img);
	CHECK(ret < 0, "a shell terminal passed without --shell-job");
	CHECK(strstr(err, "restore: pid 4242 fd 1 was the shell's terminal (/dev/pts/9): restore "
			  "it with -j/--shell-job"), "error: %s", err);
}

/* ---- pidfds ------------------------------------------------------------------------ */

static PidfdFile pidfd_part = PIDFD_FILE__INIT;

/* A pidfd object with @id of pid @pid, with @flags. */
static FileEntry pidfd_entry(uint32_t id, int pid, unsigned int flags)
{
	FileEntry e = FILE_ENTRY__INIT;

	pidfd_part.pid = pid;
	e.id = id;
	e.kind = FILE_ENTRY__KIND__PIDFD;
	e.flags = flags;
	e.pidfd = &pidfd_part;
	return e;
}

TEST(bad_pidfd_records_are_refused)
{
	static const struct {
		int pid;
		unsigned int flags;
		uint64_t pos;
		const char *want;
	} cases[] = {
		{ PID, O_RDONLY, 0, "file 1 (pidfd): flags 0 are not a pidfd's" },
		{ PID, O_RDWR | O_DIRECT, 0, "flags 040002 are not a pidfd's" },
		{ PID, O_RDWR | O_CREAT, 0, "file 1 (kind 11, flags 0102): unknown flags" },
		{ PID, O_RDWR, 8, "file 1 (pidfd): a pidfd has no position" },
		{ 0, O_RDWR, 0, "file 1 (pidfd): pid 0 is out of range" },
		{ -2, O_RDWR, 0, "pid -2 is out of range (1 to 4194304, or -1 for a reaped" },
		{ 4194305, O_RDWR, 0, "pid 4194305 is out of range" },
	};
	FdEntry fds[] = { fd_entry(3, 1) };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		FileEntry files[] = { pidfd_entry(1, cases[i].pid, cases[i].flags) };

		files[0].pos = cases[i].pos;
		expect_refused(files, 1, fds, 1, cases[i].want);
		if (harness_failed())
			return;
	}
	/* PIDFD_THREAD is O_EXCL: a pidfd's flag, no other kind's. */
	{
		FileEntry files[] = { null_entry(1) };

		files[0].flags = O_RDWR | PIDFD_THREAD;
		expect_refused(files, 1, fds, 1, "file 1 (kind 3, flags 0202): unknown flags");
	}
}

/* Pidfds of one inode name one task; a thread's names its process. */
TEST(bad_pidfd_identities_are_refused)
{
	PidfdFile a = PIDFD_FILE__INIT, b = PIDFD_FILE__INIT;
	FileEntry files[] = { pidfd_entry(1, PID, O_RDWR), pidfd_entry(2, PID, O_RDWR) };
	FdEntry fds[] = { fd_entry(3, 1), fd_entry(4, 2) };

	files[0].pidfd = &a;
	files[1].pidfd = &b;
	a.pid = -1;
	b.pid = PID;
	files[1].has_inode_of = true;
	files[1].inode_of = 1;
	expect_refused(files, 2, fds, 2, "file 2 (pidfd): refers to pid 4242, but shares the "
		       "inode of file 1, which refers to pid -1");
	if (harness_failed())
		return;
	files[1].has_inode_of = false;
	b.pid = PID + 1;
	b.has_thread_of = true;
	b.thread_of = PID;
	expect_refused(files, 2, fds, 2, "file 2 (pidfd): refers to pid 4243 as a thread of pid "
		       "4242: not a thread other than a main thread, opened with PIDFD_THREAD");
	if (harness_failed())
		return;
	files[1].flags = O_RDWR | PIDFD_THREAD;
	b.thread_of = PID + 1;
	expect_refused(files, 2, fds, 2, "refers to pid 4243 as a thread of pid 4243");
}

/* The task a pidfd names must be one the restore makes: a process of the
 * tree, or a thread other than the main one of the process it names. */
TEST(pidfd_targets_are_checked_against_the_tree)
{
	static const struct {
		int pid, thread_of;
		const char *want;	/* NULL: accepted */
	} cases[] = {
		{ PID, 0, NULL },
		{ PID + 1, PID, NULL },
		{ 5000, 0, "restore: pid 4242 fd 3: a pidfd of pid 5000, which the images do not "
			   "hold" },
		{ PID + 2, PID, "restore: pid 4242 fd 3: a pidfd of thread 4244 of pid 4242, "
				"which the images do not hold" },
		{ PID, 5000, "a pidfd of thread 4242 of pid 5000, which the images do not hold" },
	};
	pid_t threads[] = { PID, PID + 1 };
	struct tree_task task = { .pid = PID, .state = TREE_ALIVE, .threads = threads,
				  .nr_threads = 2, .parent = -1 };
	FdEntry fds[] = { fd_entry(3, 1) };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_tree_ char *dir_path = make_temp_dir();
		_cleanup_image_dir_ struct image_dir *dir = NULL;
		FileEntry files[] = { pidfd_entry(1, cases[i].pid, O_RDWR | PIDFD_THREAD) };
		struct restore_task rt = { .pid = PID };
		struct restore_set rs = { .tree = { .tasks = &task, .nr = 1 }, .tasks = &rt };
		char err[1024] = "";
		int ret;

		pidfd_part.has_thread_of = cases[i].thread_of != 0;
		pidfd_part.thread_of = cases[i].thread_of;
		CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
		CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
		ret = load(dir_path, err, sizeof(err), &rt.files);
		pidfd_part.has_thread_of = false;
		CHECK(!ret, "case %zu: load failed: %s", i, err);
		log_capture_errors(err, sizeof(err));
		ret = restore_check_pidfds(&rs);
		log_capture_errors(NULL, 0);
		files_image_free(rt.files);
		if (!cases[i].want)
			CHECK(!ret, "case %zu: refused: %s", i, err);
		else
			CHECK(ret < 0 && strstr(err, cases[i].want), "case %zu: error '%s', want '%s'",
			      i, err, cases[i].want);
	}
}

TEST(pidfds_of_the_task_itself_or_a_reaped_process_load)
{
	static const int pids[] = { PID, -1 };
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FdEntry fds[] = { fd_entry(3, 1) };

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
		FileEntry files[] = { pidfd_entry(1, pids[i], O_RDWR | O_NONBLOCK | PIDFD_THREAD) };
		struct files_image *img = NULL;
		char err[1024] = "";

		CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
		CHECK(!load(dir_path, err, sizeof(err), &img), "pid %d: load failed: %s", pids[i],
		      err);
		files_image_free(img);
	}
}

/* Restore opens a pidfd of a task of the dump by its pid, with its flags:
 * here a helper that stands for another task of the tree. */
TEST(pidfd_of_a_task_of_the_dump_is_opened_by_its_pid)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FdEntry fds[] = { fd_entry(5, 1) };
	struct files_image *img = NULL;
	char err[1024] = "", want[64];
	pid_t helper, child;
	int st;

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	helper = fork();
	if (helper == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	CHECK(helper > 0, "fork: %s", strerror(errno));
	{
		FileEntry files[] = { pidfd_entry(1, helper, O_RDWR | O_NONBLOCK | PIDFD_THREAD) };

		CHECK_GOTO(!write_images(dir, files, 1, fds, 1), out, "cannot write the images");
	}
	/* The helper is a task of the dump: it has an fd table. */
	CHECK_GOTO(!write_records(dir, IMG_FDS, helper, NULL, 0), out, "cannot write its fds");
	CHECK_GOTO(!load(dir_path, err, sizeof(err), &img), out, "load failed: %s", err);
	snprintf(want, sizeof(want), "Pid:\t%d", helper);
	shared_msg[0] = '\0';
	child = fork();
	if (child == 0) {
		log_capture_errors(shared_msg, MSG_SIZE);
		if (files_restore(img, NULL, false))
			_exit(2);
		if (expect_link(5, "anon_inode:[pidfd]") || expect_fdinfo(5, want) ||
		    expect_flags(5, O_RDWR | O_NONBLOCK) || expect_cloexec(5, false))
			_exit(1);
		if (!(fcntl(5, F_GETFL) & PIDFD_THREAD)) {
			fail("fd 5: no PIDFD_THREAD");
			_exit(1);
		}
		if (pidfd_send_signal(5, 0, NULL, 0)) {
			fail("fd 5: signal 0: %s", strerror(errno));
			_exit(1);
		}
		_exit(0);
	}
	st = wait_child(child, false);
	CHECK_GOTO(st == 0, out, "the restored child failed (%d): %s", st, shared_msg);
out:
	files_image_free(img);
	kill(helper, SIGKILL);
	waitpid(helper, NULL, 0);
}

/* Loads @fds (of the objects @files) from a directory of its own. */
static int load_table(FileEntry *files, size_t nr_files, FdEntry *fds, size_t nr_fds,
		      struct files_image **out)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	char err[1024] = "";

	if (!dir_path || image_dir_open(dir_path, &dir) ||
	    write_images(dir, files, nr_files, fds, nr_fds))
		return -EIO;
	return load(dir_path, err, sizeof(err), out);
}

/* A process that shares its parent's fd table (CLONE_FILES) must have
 * saved the very same fds: numbers, files and close-on-exec. */
TEST(shared_fd_table_must_hold_the_same_fds)
{
	FileEntry files[] = { null_entry(1), null_entry(2) };
	FdEntry owner_fds[] = { fd_entry(0, 1), fd_entry(3, 2) };
	FdEntry same[] = { fd_entry(0, 1), fd_entry(3, 2) };
	FdEntry other_file[] = { fd_entry(0, 1), fd_entry(3, 1) };
	FdEntry other_cloexec[] = { fd_entry(0, 1), fd_entry(3, 2) };
	FdEntry extra[] = { fd_entry(0, 1), fd_entry(3, 2), fd_entry(4, 2) };
	struct {
		FdEntry *fds;
		size_t nr;
		bool good;
	} cases[] = {
		{ same, 2, true }, { other_file, 2, false }, { other_cloexec, 2, false },
		{ extra, 3, false },
	};
	struct files_image *owner = NULL;
	char err[1024];

	owner_fds[1].cloexec = same[1].cloexec = other_file[1].cloexec = extra[1].cloexec = true;
	CHECK(!load_table(files, 2, owner_fds, 2, &owner), "the owner's table did not load");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct files_image *member = NULL;
		int ret;

		CHECK_GOTO(!load_table(files, 2, cases[i].fds, cases[i].nr, &member), out,
			   "case %zu did not load", i);
		err[0] = '\0';
		log_capture_errors(err, sizeof(err));
		ret = files_share_table(member, owner);
		log_capture_errors(NULL, 0);
		files_image_free(member);
		CHECK_GOTO(cases[i].good ? ret == 0 : ret == -EBADMSG, out,
			   "case %zu: files_share_table returned %d (%s)", i, ret, err);
		CHECK_GOTO(cases[i].good || strstr(err, "shares its fd table with pid 4242, but "
						   "their saved fds differ"),
			   out, "case %zu: error '%s'", i, err);
	}
out:
	files_image_free(owner);
}
