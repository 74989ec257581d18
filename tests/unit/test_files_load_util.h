/* Images written by hand for the files_load() tests: records of /dev/null
 * objects and fds, written as files.img and fds-PID.img, loaded, and
 * expected to be refused with a given error. Header-only: each
 * test_files_load*.c is its own binary. */
#ifndef CRYO_TEST_FILES_LOAD_UTIL_H
#define CRYO_TEST_FILES_LOAD_UTIL_H

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
static inline FileEntry null_entry(uint32_t id)
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

static inline FdEntry fd_entry(int fd, uint32_t file_id)
{
	FdEntry e = FD_ENTRY__INIT;

	e.fd = fd;
	e.file_id = file_id;
	return e;
}

static inline int write_records(struct image_dir *dir, enum image_kind kind, int id,
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
static inline int write_images(struct image_dir *dir, FileEntry *files, size_t nr_files,
			       FdEntry *fds, size_t nr_fds)
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
static inline int load_mapped(const char *dir_path, const struct files_mapping *mapped,
			      size_t nr_mapped, char *err, size_t size, struct files_image **out)
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

static inline int load(const char *dir_path, char *err, size_t size, struct files_image **out)
{
	return load_mapped(dir_path, NULL, 0, err, size, out);
}

/* Writes @files and @fds, and expects files_load() to refuse them with an
 * error containing @want. */
static inline void expect_refused(FileEntry *files, size_t nr_files, FdEntry *fds, size_t nr_fds,
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

#endif
