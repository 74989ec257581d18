/* files_load() refuses bad images with a clear error (bad fd numbers,
 * unknown file ids, kinds without their part, bad flags and inodes, epoll
 * targets missing, contents missing or short, damaged bytes, mappings of
 * files that are not memfds or deleted files, mappings past the end of
 * their object, SysV segment runs past the segment), accepts good ones, and
 * files_restore() names the fd and cause when it cannot open a file. Images
 * are written by hand here (test_files_load_util.h), not by a dump; pidfd
 * records are test_files_load_pidfd.c's. */
#include "test_files_load_util.h"
#include "files/kind.h"


/* Case @i of a table loaded with @ret and @err: as @want says (NULL:
 * loads, else refused with an error holding @want). */
static void expect_outcome(size_t i, int ret, const char *err, const char *want)
{
	if (!want) {
		CHECK(ret == 0, "case %zu: refused: %s", i, err);
		return;
	}
	CHECK(ret == -EBADMSG, "case %zu: loaded", i);
	CHECK(strstr(err, want), "case %zu: error '%s' lacks '%s'", i, err, want);
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
		expect_outcome(i, ret, err, cases[i].want);
	}
}

/* Writes a table whose fd 3 is @reg (file 2) and loads it for a task that
 * maps @mapped (@nr_mapped of them); 0 or the error (-EIO when the images
 * could not be written), its message in @err. */
static int load_reg(RegFile *reg, const struct files_mapping *mapped, size_t nr_mapped,
		    char *err, size_t size)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FileEntry files[] = { null_entry(1), null_entry(2) };
	FdEntry fds[] = { fd_entry(0, 1), fd_entry(3, 2) };
	struct files_image *img = NULL;
	int ret;

	files[1].kind = FILE_ENTRY__KIND__REG;
	files[1].chrdev = NULL;
	files[1].reg = reg;
	if (!dir_path || image_dir_open(dir_path, &dir) || write_images(dir, files, 2, fds, 2)) {
		snprintf(err, size, "cannot write the images");
		return -EIO;
	}
	ret = load_mapped(dir_path, mapped, nr_mapped, err, size, &img);
	files_image_free(img);
	return ret;
}

/* A deleted hugetlbfs file (RegFile.huge_page_size): its page size must be
 * one an image may hold and divide its size, a file opened by path has
 * none, and its mappings must have its page size. */
TEST(deleted_hugetlbfs_file_page_size_is_checked)
{
	static const struct {
		uint64_t page_size, size, mapped;	/* mapped: the mapping's page size */
		bool deleted;
		const char *want;			/* NULL: loads */
	} cases[] = {
		{ 2 << 20, 4 << 20, 2 << 20, true, NULL },
		{ 2 << 20, 4 << 20, 0, true, "has pages of 0 bytes, not its object's 2097152" },
		{ 3 << 20, 6 << 20, 3 << 20, true, "huge page size 3145728: not a power of two" },
		{ 2 << 20, 3 << 20, 2 << 20, true, "divides the size 3145728 of a deleted" },
		{ 2 << 20, 4 << 20, 2 << 20, false, "of a deleted or unlinked regular file" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		RegFile reg = REG_FILE__INIT;
		struct files_mapping m = { .start = 0x200000, .end = 0x400000,
					   .huge_page_size = cases[i].mapped, .file_id = 2 };
		char err[1024] = "";
		int ret;

		reg.path = "/mnt/huge/file";
		reg.mode = S_IFREG | 0600;
		reg.size = cases[i].size;
		reg.has_deleted = reg.deleted = cases[i].deleted;
		reg.has_uid = reg.has_gid = true;
		reg.has_huge_page_size = true;
		reg.huge_page_size = cases[i].page_size;
		ret = load_reg(&reg, &m, cases[i].deleted ? 1 : 0, err, sizeof(err));
		CHECK(ret != -EIO, "case %zu: %s", i, err);
		expect_outcome(i, ret, err, cases[i].want);
	}
}

/* The removed folders of a deleted directory (with their metadata) or
 * regular file (a count): plain names of its path that restore makes and
 * removes, only on a deleted file of that type. */
TEST(removed_folders_of_a_deleted_file_are_checked)
{
	static const struct {
		const char *path;
		mode_t mode, folder_mode;
		size_t folders;
		uint32_t levels;
		bool deleted;
		const char *want;	/* NULL: loads */
	} cases[] = {
		{ "/a/b", S_IFDIR | 0700, 0755, 1, 0, true, NULL },
		{ "/b", S_IFDIR | 0700, 0755, 2, 0, true, "removed folders:" },
		{ "/a/../b", S_IFDIR | 0700, 0755, 1, 0, true, "removed folders:" },
		{ "/a/b", S_IFDIR | 0700, S_IFDIR | 0755, 1, 0, true, "removed folders:" },
		{ "/a/b", S_IFDIR | 0700, 0755, 1, 0, false, "removed folders:" },
		{ "/f", S_IFREG | 0600, 0, 0, 1, true, "removed folders:" },
		{ "/a/b", S_IFDIR | 0700, 0, 0, 1, true, "removed folders:" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		RegFile reg = REG_FILE__INIT;
		GhostDir folder = GHOST_DIR__INIT, *folders[] = { &folder, &folder };
		char err[1024] = "";
		int ret;

		reg.path = (char *)cases[i].path;
		reg.mode = cases[i].mode;
		reg.has_deleted = reg.deleted = cases[i].deleted;
		reg.has_uid = reg.has_gid = true;
		folder.mode = cases[i].folder_mode;
		reg.n_removed_folders = cases[i].folders;
		reg.removed_folders = folders;
		reg.has_removed_levels = cases[i].levels != 0;
		reg.removed_levels = cases[i].levels;
		ret = load_reg(&reg, NULL, 0, err, sizeof(err));
		CHECK(ret != -EIO, "case %zu: %s", i, err);
		expect_outcome(i, ret, err, cases[i].want);
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

/* Queued bytes in file-queues.img (FileEntry.contents_at) are read and
 * checked at load, then let go: a wrong offset, or fewer bytes than the
 * record says, is refused naming the object. */
TEST(queued_bytes_in_file_queues_are_checked_at_load_and_not_kept)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FileChunk a = FILE_CHUNK__INIT, b = FILE_CHUNK__INIT;
	ProtobufCMessage *runs[] = { &a.base, &b.base };
	FdEntry fds[] = { fd_entry(0, 1) };
	struct files_image *img = NULL;
	const struct file_obj *queued;
	char err[1024] = "";
	FileEntry e;
	PipeFile pf;

	a.data.data = (uint8_t *)"hello";
	a.data.len = 5;
	b.offset = 5;
	b.data.data = (uint8_t *)"world";
	b.data.len = 5;
	pipe_with_data(&e, &pf, 10, true);
	e.has_contents_at = true;
	e.contents_at = 36;	/* the first record, right after the header */
	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	CHECK(!write_images(dir, &e, 1, fds, 1), "cannot write the images");
	CHECK(!write_records(dir, IMG_FILE_QUEUES, 0, runs, 2), "cannot write file-queues.img");
	CHECK(!load(dir_path, err, sizeof(err), &img), "load failed: %s", err);
	queued = files_find(img, 1);
	CHECK(queued && queued->nr_chunks == 2 && !queued->chunks && queued->queues_fd,
	      "the runs were kept, or not counted");
	files_image_free(img);
	e.contents_at = 37;
	CHECK(!write_images(dir, &e, 1, fds, 1), "cannot write the images");
	CHECK(load(dir_path, err, sizeof(err), &img) < 0, "loaded from inside a record");
	CHECK(strstr(err, "file 1 (pipe): run 0 of its contents cannot be read"), "error: %s", err);
	pipe_with_data(&e, &pf, 12, true);
	e.has_contents_at = true;
	e.contents_at = 36;
	CHECK(!write_images(dir, &e, 1, fds, 1), "cannot write the images");
	CHECK(load(dir_path, err, sizeof(err), &img) < 0, "loaded 10 bytes for 12");
	CHECK(strstr(err, "run 2 of its contents cannot be read"), "error: %s", err);
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

/* Segment 7 of @size bytes, mode 0600. */
static SysvShm segment_of(uint64_t size)
{
	SysvShm seg = SYSV_SHM__INIT;

	seg.id = 7;
	seg.size = size;
	seg.mode = 0600;
	return seg;
}

/* Writes @seg (with @chunk as its one run, when not NULL) as a dump's
 * sysv-shm images and loads them, then checks @v (when not NULL) against
 * the segment: 0, or the error, said into @err. */
static int load_segment(SysvShm *seg, FileChunk *chunk, const Vma *v, char *err, size_t size)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	ProtobufCMessage *segs[] = { &seg->base }, *chunks[] = { chunk ? &chunk->base : NULL };
	struct sysv_shm_set *set = NULL;
	int ret;

	if (!dir_path || image_dir_open(dir_path, &dir) ||
	    write_records(dir, IMG_SYSV_SHM, 0, segs, 1) ||
	    write_records(dir, IMG_SYSV_SHM_DATA, seg->id, chunks, chunk ? 1 : 0)) {
		snprintf(err, size, "cannot write the images");
		return -EIO;
	}
	log_capture_errors(err, size);
	ret = sysv_shm_load(dir, &set);
	if (!ret && v)
		ret = sysv_shm_check_vma(set, 12, v);
	log_capture_errors(NULL, 0);
	sysv_shm_free(set);
	return ret;
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
		SysvShm seg = segment_of(4096);
		FileChunk chunk = FILE_CHUNK__INIT;
		char err[1024] = "";
		int ret;

		seg.key = 0x1234;
		chunk.offset = cases[i].offset;
		chunk.data.data = (uint8_t *)"abc";
		chunk.data.len = 3;
		ret = load_segment(&seg, &chunk, NULL, err, sizeof(err));
		if (!cases[i].want) {
			CHECK(ret == 0, "case %zu: refused: %s", i, err);
			continue;
		}
		CHECK(ret == -EBADMSG, "case %zu: a run past the segment loaded", i);
		CHECK(strstr(err, cases[i].want), "case %zu: error '%s' lacks '%s'", i, err,
		      cases[i].want);
	}
}

/* A SHM_HUGETLB segment: its page size must be one a kernel has, and its
 * mappings must be of that page size and span its whole huge pages (the
 * size of its hugetlbfs file), though its own size need not. */
TEST(sysv_segment_of_huge_pages_and_its_mappings_are_checked)
{
	static const struct {
		uint64_t page_size, vma_page_size, file_size;
		const char *want;	/* NULL: loads and the mapping passes */
	} cases[] = {
		{ 2u << 20, 2u << 20, 4u << 20, NULL },
		{ 3u << 20, 3u << 20, 6u << 20, "a huge page size that is not a power of two" },
		{ 2u << 20, 0, 4u << 20, "its huge page size differs from its segment's" },
		{ 2u << 20, 2u << 20, (2u << 20) + 4096, "its key or size differ" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		SysvShm seg = segment_of((2u << 20) + 100);
		Vma v = VMA__INIT;
		char err[1024] = "";
		int ret;

		seg.has_huge_page_size = true;
		seg.huge_page_size = cases[i].page_size;
		v.kind = VMA__KIND__SYSV_SHM;
		v.start = 0x40000000;
		v.end = v.start + (4u << 20);
		v.file_path = "/SYSV00000000";
		v.file_ino = 7;
		v.file_size = cases[i].file_size;
		v.has_huge_page_size = cases[i].vma_page_size != 0;
		v.huge_page_size = cases[i].vma_page_size;
		ret = load_segment(&seg, NULL, &v, err, sizeof(err));
		if (!cases[i].want) {
			CHECK(ret == 0, "case %zu: refused: %s", i, err);
			continue;
		}
		CHECK(ret == -EBADMSG, "case %zu: taken", i);
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
