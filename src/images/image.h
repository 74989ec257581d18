/* The images library: the registry of image kinds, image directories, and
 * reading and writing image files (a checked header, then checksummed
 * protobuf-c records, then a trailer). It knows nothing of processes; the
 * pages store (pagemap + raw pages) is in images/pages.h. Every function
 * returns 0 or -errno and has logged why when it fails. */
#ifndef CRYO_IMAGES_IMAGE_H
#define CRYO_IMAGES_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>

#include <protobuf-c/protobuf-c.h>

/* The format version this cryo writes; it reads 1 up to this one.
 * 2: every header carries the id of its dump. */
#define IMG_FORMAT_VERSION 2
/* The random id of one dump, in every image header and the inventory. */
#define IMG_DUMP_ID_SIZE 16

/* Records are metadata; anything larger is corruption. */
#define IMG_RECORD_MAX (16u << 20)
/* A whole image of records is read into memory: its size is checked
 * against this before a byte is read. */
#define IMG_RECORDS_MAX_BYTES (1ull << 30)

/* Stored in image headers: never renumber or reuse a value. The numbers
 * are the format's, reserved here; each part registers the kinds it owns
 * (their names, files, schemas and checks) with image_kinds_register(). */
enum image_kind {
	IMG_INVENTORY = 1,
	IMG_PAGEMAP = 2,
	IMG_PAGES = 3,
	IMG_CORE = 4,
	IMG_MM = 5,
	IMG_FDS = 6,
	IMG_FILES = 7,
	IMG_FILE_DATA = 8,
	/* The queued bytes of a dump's sockets, pipes and ptys past what its
	 * records keep, each object's runs from an offset its record gives. */
	IMG_FILE_QUEUES = 9,
	IMG_PSTREE = 10,
	IMG_SYSV_SHM = 11,
	IMG_SYSV_SHM_DATA = 12,
	IMG_LOCKS = 13,
	IMG_MNT = 14,
	IMG_MNT_TMPFS = 15,
	IMG_UTSNS = 16,
	IMG_TIMENS = 17,
	/* A tree's own IPC namespace. */
	IMG_IPC_NS = 20,
	IMG_SYSV_SEM = 21,
	IMG_SYSV_MSG = 22,
	IMG_SYSV_MSG_DATA = 23,
	IMG_POSIX_MQ = 24,
	IMG_POSIX_MQ_DATA = 25,
	/* A tree's own network namespace. */
	IMG_NET_NS = 26,
	/* The controller settings of the tree's own cgroups. */
	IMG_CGROUPS = 27,
	/* The tree's cgroup v1 hierarchies: membership and settings. */
	IMG_CGROUPS_V1 = 28,
	/* A tree's own user namespace, and its own cgroup namespace's root. */
	IMG_USERNS = 34,
	IMG_CGROUPNS = 35,
	/* The CPU a tree was dumped on, for --cpu-cap. */
	IMG_CPUINFO = 36,
	/* Per-page digests of a pre-dump (or a dump with a parent set). */
	IMG_PAGE_DIGESTS = 48,
	/* A large dump's second pages file, written by a second thread
	 * (PagemapEntry.pages_file 1): raw, as pages-PID.img. */
	IMG_PAGES2 = 49,
};

struct image;
struct image_dir;

struct image_kind_desc {
	enum image_kind kind;
	const char *name;	/* "pagemap", as in messages and JSON */
	const char *pattern;	/* file name; "%d" stands for the id (a pid) */
	/* The schema of each record; NULL for a raw file without header. */
	const ProtobufCMessageDescriptor *desc;
	/* Checks what decoding cannot: counts, ranges, agreement with other
	 * files of @dir. @dir is NULL when the file is read on its own. */
	int (*check)(const struct image *img, const struct image_dir *dir, int id);
};

/* The image kinds of one part above the images library (files, mm, core,
 * ...), registered by the program before it reads or writes an image:
 * the images library names no part itself. */
struct image_kind_set {
	const char *part;	/* "files", in messages */
	const struct image_kind_desc *kinds;
	size_t nr;
};

/* Adds @set to the registry; -EEXIST (logged) when one of its kinds has
 * the number, name or file name of a kind already known. Registering the
 * same set again does nothing. Not thread-safe: call it before any image
 * is read or written. */
int image_kinds_register(const struct image_kind_set *set);

/* NULL (not logged) when no registered kind has that number. */
const struct image_kind_desc *image_kind_get(enum image_kind kind);

/* The kind whose pattern matches @file_name, with the id it names in *@id
 * (0 for a pattern without "%d"); NULL when no kind matches. */
const struct image_kind_desc *image_kind_match(const char *file_name, int *id);

/* The file name of image @kind for @id, e.g. "pagemap-42.img". */
int image_file_name(enum image_kind kind, int id, char *buf, size_t size);

/* XXH3-128 (fast, keyless) of an unsigned set; BLAKE2b-256 of a signed
 * one, where a forged file must not be able to match its digest. */
enum image_digest_kind {
	IMG_DIGEST_XXH3_128,
	IMG_DIGEST_BLAKE2B_256,
};
#define IMG_XXH3_SIZE 16
#define IMG_BLAKE2B_SIZE 32
#define IMG_DIGEST_MAX 32
size_t image_digest_size(enum image_digest_kind kind);

/* The digest of a file as its writer wrote it (known: it went through an
 * image writer whole). */
struct image_written_digest {
	bool known;
	uint64_t size;
	uint8_t digest[IMG_DIGEST_MAX];
};

/* Up to this many new files, image_dir_sync() syncs each; past it, the
 * whole filesystem at once. */
#define IMG_DIR_FSYNC_MAX 64

/* A pages file is written O_DIRECT from this size on (images/writer.c
 * says why not before). */
#define IMG_DIRECT_AFTER (64ull << 20)

/* An image directory: mode 0700, every file in it mode 0600. */
struct image_dir {
	int fd;
	char *path;
	/* IMG_DIRECT_AFTER; lower in the tests of both ways of writing. */
	uint64_t direct_after;
	/* Files finished since the last image_dir_sync(): their names while
	 * there are few, and how many. */
	char *unsynced[IMG_DIR_FSYNC_MAX];
	size_t nr_unsynced;
	/* Every file this run put in place, removed again if it fails. */
	char **written;
	size_t nr_written;
	/* Files this run made outside it that its images name (a link remap,
	 * files/link_remap.c): each a directory fd and a name in it, removed
	 * too if the run fails. */
	struct image_outside_file {
		int dir_fd;
		char *name;
	} *outside;
	size_t nr_outside;
	/* Their digests, of digest_kind, taken by the writers as they wrote. */
	struct image_written_digest *digests;
	enum image_digest_kind digest_kind;
	/* The dump the files belong to: drawn by image_dir_create() and written
	 * in every header; at restore, set from the inventory and then
	 * required of every file image_read() reads. */
	bool has_dump_id;
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	/* Guards the lists of files (written, unsynced, outside): a tree's
	 * dump writes from two threads (dump/pipeline.c). dir.c's. */
	struct image_dir_lock *lists_lock;
};

/* Creates @path (or takes an existing directory) and makes it mode 0700.
 * The writer holds an exclusive flock on it until image_dir_close(): a
 * second writer is refused, and the temporary files of one that died are
 * removed (image_dir_remove_stale()). */
int image_dir_create(const char *path, struct image_dir **out);
/* The same for directory @dir_fd (duplicated; @path names it in messages):
 * for a dumper in a mount namespace where the path leads elsewhere. */
int image_dir_create_fd(int dir_fd, const char *path, struct image_dir **out);
/* Removes the temporary image files (".NAME.tmp") a dumper that died left
 * in @dir, unless a live one holds its lock; with @dir NULL, opens @path. */
int image_dir_remove_stale(struct image_dir *dir, const char *path);
/* A failed run: removes every file it put in place in @dir, and those it
 * noted outside it. */
void image_dir_remove_written(struct image_dir *dir);
/* Notes @name in directory @dir_fd (taken, also on failure), a file this
 * run made outside @dir, to remove if the run fails. */
int image_dir_note_outside(struct image_dir *dir, int dir_fd, const char *name);
int image_dir_open(const char *path, struct image_dir **out);
/* As image_dir_open(), @path relative to @at_fd (AT_FDCWD: the cwd), named
 * @shown in messages: a parent set found from its child's fd, in whatever
 * mount namespace the dumper is. */
int image_dir_open_at(int at_fd, const char *path, const char *shown, struct image_dir **out);
void image_dir_close(struct image_dir *dir);
/* "0123...ef": @id in 32 hex digits, in @buf of at least 33 bytes. */
const char *image_dump_id_text(const uint8_t id[IMG_DUMP_ID_SIZE], char *buf);
/* Opens image file @name (in @dir_fd) to read: a regular file only, never
 * through a symlink and never blocking on a FIFO put in its place; each
 * refused by the name @shown. Returns the fd, with its stat in *@st. */
int image_open_regular(int dir_fd, const char *name, const char *shown, struct stat *st);
/* Logs and fails unless @mode is a regular file's, naming @shown. */
int image_check_regular(const char *shown, mode_t mode);
/* The same for file @name of @dir. */
int image_dir_open_file(const struct image_dir *dir, const char *name, struct stat *st);

/* Makes every file finished in @dir so far durable, and the directory
 * entries that name them: an fsync of each when they are few, else one
 * syncfs of the filesystem. */
int image_dir_sync(struct image_dir *dir);
/* Counts @name among the files image_dir_sync() must sync, with the
 * digest of its @size bytes when @digest is not NULL. */
int image_dir_note_unsynced(struct image_dir *dir, const char *name, const uint8_t *digest,
			    uint64_t size);

/* "DIR/NAME" for messages; the caller frees it. NULL (logged) without memory. */
char *image_dir_file_path(const struct image_dir *dir, const char *name);

/* ---- writing ---------------------------------------------------------------
 * A writer fills a hidden temporary file; image_finish() makes it appear
 * under its final name only when everything was written and synced. After
 * an error every call fails and the temporary file is removed. */
struct image_writer;

int image_open_write(struct image_dir *dir, enum image_kind kind, int id,
		     struct image_writer **out);
/* Appends one record; @msg must be of the kind's message type. */
int image_write_record(struct image_writer *w, const ProtobufCMessage *msg);
/* Appends bytes to a raw file (the pages file); large writes go straight
 * to the kernel without a copy. Past its first 4 MiB, the pages file is
 * written with O_DIRECT where the filesystem takes it: @buf page-aligned
 * and @len whole pages keep it direct, anything else returns it to the
 * page cache for good. */
int image_write_raw(struct image_writer *w, const void *buf, size_t len);
/* From now on the writer of this raw image hashes nothing: the caller
 * hands every byte it will write to image_hash_raw(), in file order, from
 * one thread, possibly ahead of the writes and from another thread than
 * theirs (the page dump hashes beside the copy, not beside the write). */
int image_hash_by_caller(struct image_writer *w);
int image_hash_raw(struct image_writer *w, const void *buf, size_t len);
/* A raw image its caller writes at offsets of its own (pre-copy's pages
 * file, patched in place): *@fd is the file, to pwrite, punch and
 * truncate; the caller hashes it (as image_hash_by_caller()), it never
 * goes O_DIRECT, and image_finish() takes its size as it is then. */
int image_raw_positioned(struct image_writer *w, int *fd);
/* The caller's running digest, handed to code that feeds it elsewhere (the
 * parasite) and taken back: image_hasher_export(), image_hasher_import(). */
int image_hash_export(struct image_writer *w, void *state, size_t size);
int image_hash_import(struct image_writer *w, const void *state, size_t size);
/* Moves up to @max bytes from the pipe @pipe_fd to the end of a raw image
 * hashed by its caller, in one splice (O_DIRECT as for image_write_raw()
 * when the pipe holds whole pages): the bytes moved, 0 once the pipe is
 * empty with no writer left, -EAGAIN when it is empty (it never waits:
 * poll first), or -errno. Not beside any other write. */
ssize_t image_splice_raw(struct image_writer *w, int pipe_fd, size_t max);
/* An image of one record, @msg, written whole (opened, written, finished)
 * or not at all. */
int image_write_single(struct image_dir *dir, enum image_kind kind, int id,
		       const ProtobufCMessage *msg);
/* Writes the trailer, renames into place and frees @w, whatever the
 * outcome. The file is not durable until image_dir_sync(): one sync of the
 * whole set costs far less than one per file. */
int image_finish(struct image_writer *w);
/* Drops the file being written and frees @w. */
void image_abort(struct image_writer *w);
/* Where in the file the next record written will start. */
uint64_t image_write_offset(const struct image_writer *w);

/* ---- reading -------------------------------------------------------------- */
struct image_record {
	size_t offset;		/* of the record in the file, for messages */
	ProtobufCMessage *msg;
};

struct image {
	const struct image_kind_desc *kind;
	char *path;
	uint32_t version;
	bool has_dump_id;	/* format 1 had none */
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	size_t nr_records;
	struct image_record *records;
};

/* Reads and checks image @kind of @id in @dir, including its agreement with
 * the other files of the directory (a pagemap with its pages file) and,
 * once @dir has a dump id, that the file's header names the same dump. */
int image_read(const struct image_dir *dir, enum image_kind kind, int id, struct image **out);

/* Reads an image file of any kind with records, whatever its name, and
 * runs the checks that need no other file. */
int image_read_file(const char *path, struct image **out);

/* The same for a file held in memory; @path names it in messages. */
int image_parse(const char *path, const void *buf, size_t len, struct image **out);

void image_free(struct image *img);

/* A file of records read piecemeal, never whole (a dump's queued bytes):
 * opens image @kind of @id in @dir and checks its header (kind, format,
 * that it belongs to @dir's dump); the fd in *@fd_out. */
int image_open_records(const struct image_dir *dir, enum image_kind kind, int id, int *fd_out);
/* Reads, checks (length, checksum) and decodes the one record at byte
 * @off of such a file (@shown names it in messages); *@next is where the
 * following one starts. The trailer is no record. */
int image_read_record_at(int fd, const char *shown, enum image_kind kind, uint64_t off,
			 ProtobufCMessage **msg, uint64_t *next);

/* Logs "PATH: offset OFF: ..." as an error. */
void image_error(const char *path, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
