/* Helpers shared by the image and show unit tests: scratch directories,
 * capturing what a function prints on a descriptor, whole-file reads and
 * writes, the sample images both suites check, and forged headers.
 * Header-only because
 * every tests/unit/test_*.c is its own binary. */
#ifndef CRYO_TEST_IMAGES_UTIL_H
#define CRYO_TEST_IMAGES_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "images/crc32c.h"
#include "images/format.h"
#include "images/image.h"
#include "images/pages.h"
#include "images/proto/inventory.pb-c.h"

/* A fresh directory under $TMPDIR or /tmp; the caller frees the name. */
static inline char *make_temp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *path;

	if (asprintf(&path, "%s/cryo-test-XXXXXX", tmp ? tmp : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

static inline int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void remove_tree(char *path)
{
	if (path)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(path);
}

static inline void remove_treep(char **path)
{
	remove_tree(*path);
}

static inline void image_dir_closep(struct image_dir **dir)
{
	image_dir_close(*dir);
}

static inline void image_freep(struct image **img)
{
	image_free(*img);
}

/* A scratch directory removed, and an image directory closed, at scope end. */
#define _cleanup_tree_ __attribute__((cleanup(remove_treep)))
#define _cleanup_image_dir_ __attribute__((cleanup(image_dir_closep)))
#define _cleanup_image_ __attribute__((cleanup(image_freep)))

/* What is written to @fd between capture_begin() and capture_end(). */
struct capture {
	int fd;
	int saved;
	int file;
};

static inline void capture_begin(struct capture *c, int fd)
{
	fflush(fd == 1 ? stdout : stderr);
	c->fd = fd;
	c->file = memfd_create("capture", MFD_CLOEXEC);
	c->saved = dup(fd);
	dup2(c->file, fd);
}

/* The captured text, NUL-terminated; the caller frees it. */
static inline char *capture_end(struct capture *c)
{
	off_t len;
	char *text;

	fflush(c->fd == 1 ? stdout : stderr);
	dup2(c->saved, c->fd);
	close(c->saved);
	len = lseek(c->file, 0, SEEK_END);
	text = calloc(1, len + 1);
	if (text && pread(c->file, text, len, 0) != len)
		text[0] = '\0';
	close(c->file);
	return text;
}

/* Finishes @w, then reads image @kind @id of @dir back through its
 * checks: their error, and in *@msg what they said (the caller frees it). */
static inline int image_finish_and_read(struct image_writer *w, struct image_dir *dir,
					enum image_kind kind, int id, char **msg)
{
	struct image *img = NULL;
	struct capture cap;
	int ret;

	*msg = NULL;
	if (image_finish(w))
		return -EIO;
	capture_begin(&cap, 2);
	ret = image_read(dir, kind, id, &img);
	*msg = capture_end(&cap);
	image_free(img);
	return ret;
}

/* The whole file at @path, or NULL; *@len is set. */
static inline unsigned char *read_file(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st))
		buf = malloc(st.st_size + 1);
	if (buf && read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	if (buf)
		*len = st.st_size;
	return buf;
}

static inline int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, buf, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return ret;
}

static inline char *path_join(const char *dir, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

static inline int file_exists(const char *dir, const char *name)
{
	struct stat st;
	char *path = path_join(dir, name);
	int ret = path && !lstat(path, &st);

	free(path);
	return ret;
}

/* ---- sample images ---------------------------------------------------------- */

#define SAMPLE_CREATED 1700000000ull
#define SAMPLE_BASE 0x400000ull

static inline int write_inventory(struct image_dir *dir, int root_pid)
{
	Inventory inv = INVENTORY__INIT;
	struct image_writer *w;
	int ret;

	inv.format_version = IMG_FORMAT_VERSION;
	inv.cryo_version = "0.1-test";
	inv.root_pid = root_pid;
	inv.created = SAMPLE_CREATED;
	inv.page_size = IMG_PAGE_SIZE;
	inv.arch = "x86_64";
	inv.kernel_release = "6.1.0-test";
	ret = image_open_write(dir, IMG_INVENTORY, 0, &w);
	if (ret)
		return ret;
	/* A failed record fails the finish too. */
	image_write_record(w, &inv.base);
	return image_finish(w);
}

/* The byte at @i of page @page of the sample pages file. */
static inline unsigned char sample_byte(unsigned page, size_t i)
{
	return (unsigned char)(page * 37 + i * 7 + 1);
}

/* Pages 0-1 present, 2-4 zero, 5 present, 8-9 present (written as two
 * calls that the writer merges): four entries, five pages of data. */
static inline int write_sample_pages(struct image_dir *dir, int pid)
{
	static unsigned char data[5][IMG_PAGE_SIZE];
	struct pages_writer *pw;
	int ret;

	for (unsigned p = 0; p < 5; p++)
		for (size_t i = 0; i < IMG_PAGE_SIZE; i++)
			data[p][i] = sample_byte(p, i);
	ret = pages_writer_open(dir, pid, &pw);
	if (ret)
		return ret;
	if (pages_write(pw, SAMPLE_BASE, 2, data[0]) ||
	    pages_write_zero(pw, SAMPLE_BASE + 2 * IMG_PAGE_SIZE, 3) ||
	    pages_write(pw, SAMPLE_BASE + 5 * IMG_PAGE_SIZE, 1, data[2]) ||
	    pages_write(pw, SAMPLE_BASE + 8 * IMG_PAGE_SIZE, 1, data[3]) ||
	    pages_write(pw, SAMPLE_BASE + 9 * IMG_PAGE_SIZE, 1, data[4])) {
		pages_writer_abort(pw);
		return -EIO;
	}
	return pages_writer_finish(pw);
}

/* ---- sample files and forged headers, for the format tests ---------------- */

/* The bytes of a file written into a scratch directory by @write. */
static inline unsigned char *sample_file(int (*write)(struct image_dir *, int), const char *name,
					 size_t *len)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ char *path = NULL;

	if (!tmp || image_dir_create(tmp, &dir) || write(dir, 7))
		return NULL;
	path = path_join(tmp, name);
	return path ? read_file(path, len) : NULL;
}

/* Parses @len bytes copied to a buffer of exactly that size, so the
 * sanitizer sees any read past the end; returns the error and, in *@msg,
 * what was logged. */
static inline int parse_copy(const unsigned char *bytes, size_t len, char **msg)
{
	unsigned char *copy = malloc(len ? len : 1);
	struct image *img = NULL;
	struct capture cap;
	int ret;

	memcpy(copy, bytes, len);
	capture_begin(&cap, 2);
	ret = image_parse("sample.img", copy, len, &img);
	*msg = capture_end(&cap);
	image_free(img);
	free(copy);
	return ret;
}

static inline void forge_header(unsigned char *buf, uint32_t version, uint32_t kind)
{
	memcpy(buf, IMG_MAGIC, IMG_MAGIC_LEN);
	put_le32(buf + IMG_HDR_VERSION_OFF, version);
	put_le32(buf + IMG_HDR_KIND_OFF, kind);
	put_le32(buf + IMG_HDR_CRC_OFF, crc32c(0, buf, IMG_HDR_CRC_OFF));
}

#endif
