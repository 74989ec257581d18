/* Restoring SysV segments: sysv-shm.img and the bytes of each segment are
 * read and checked with the other images, and the SysV mappings of every
 * process checked against them. Before any process exists, cryo makes
 * each segment with its saved id (/proc/sys/kernel/shm_next_id chooses the
 * id of the next segment made), key, size, mode, owner and huge page size
 * (SHM_HUGETLB), and fills it (only the pages its runs cover);
 * the restorers attach them; a segment that was marked for removal is
 * marked again once all are attached. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "common/log.h"
#include "files/contents.h"
#include "images/proto/sysv_shm.pb-c.h"
#include "ipc/sysv_shm.h"
#include "mem/hugetlb.h"

#define NEXT_ID_PATH "/proc/sys/kernel/shm_next_id"
#define PAGE 4096ULL

struct sysv_segment {
	const SysvShm *rec;
	struct image *data;	/* its sysv-shm-data-ID.img */
	const FileChunk **chunks;	/* the runs of @data */
	bool created;		/* made by this restore, not yet marked removed */
};

struct sysv_shm_set {
	struct image *img;	/* NULL: the dump has no segment */
	struct sysv_segment *segs;
	size_t nr;
};

void sysv_shm_free(struct sysv_shm_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->nr; i++) {
		free(set->segs[i].chunks);
		image_free(set->segs[i].data);
	}
	free(set->segs);
	image_free(set->img);
	free(set);
}

/* The runs of the segment's bytes lie within it. */
static int load_data(const struct image_dir *dir, struct sysv_segment *seg)
{
	int ret = image_read(dir, IMG_SYSV_SHM_DATA, seg->rec->id, &seg->data);
	const char *problem;
	size_t at;

	/* image_read() ran the runs' own check (the kind's, in the registry). */
	if (!ret)
		ret = contents_runs_of(seg->data, &seg->chunks);
	if (ret)
		return ret;
	problem = contents_runs_problem(seg->chunks, seg->data->nr_records, seg->rec->size, false,
					&at);
	if (problem) {
		image_error(seg->data->path, seg->data->records[at].offset,
			    "run %zu of SysV segment %d (%" PRIu64 " bytes): %s", at, seg->rec->id,
			    seg->rec->size, problem);
		return -EBADMSG;
	}
	return 0;
}

int sysv_shm_load(const struct image_dir *dir, struct sysv_shm_set **out)
{
	struct sysv_shm_set *set = calloc(1, sizeof(*set));
	int ret = 0;

	if (!set)
		return -ENOMEM;
	if (faccessat(dir->fd, "sysv-shm.img", F_OK, 0) && errno == ENOENT) {
		*out = set;
		return 0;
	}
	ret = image_read(dir, IMG_SYSV_SHM, 0, &set->img);
	if (!ret) {
		set->segs = calloc(set->img->nr_records + 1, sizeof(*set->segs));
		if (!set->segs)
			ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && i < set->img->nr_records; i++) {
		set->segs[i].rec = (const SysvShm *)set->img->records[i].msg;
		set->nr++;
		ret = load_data(dir, &set->segs[i]);
	}
	if (ret) {
		sysv_shm_free(set);
		return ret;
	}
	*out = set;
	return 0;
}

static const struct sysv_segment *find(const struct sysv_shm_set *set, uint64_t id)
{
	for (size_t i = 0; i < set->nr; i++)
		if ((uint64_t)set->segs[i].rec->id == id)
			return &set->segs[i];
	return NULL;
}

/* The page size of @s's memory: its huge pages', or the base page. */
static uint64_t segment_page(const SysvShm *s)
{
	return s->has_huge_page_size ? s->huge_page_size : PAGE;
}

/* What its attachments span: whole pages, huge ones for SHM_HUGETLB (whose
 * file, unlike tmpfs's, has that size too). */
static uint64_t segment_span(const SysvShm *s)
{
	return (s->size + segment_page(s) - 1) / segment_page(s) * segment_page(s);
}

int sysv_shm_check_vma(const struct sysv_shm_set *set, pid_t pid, const Vma *v)
{
	const struct sysv_segment *seg = find(set, v->file_ino);
	uint64_t file_size = 0, span = 0;
	unsigned int key = 0;
	const char *problem = NULL;

	sscanf(v->file_path, "/SYSV%8x", &key);
	if (seg) {
		span = segment_span(seg->rec);
		file_size = seg->rec->has_huge_page_size ? span : seg->rec->size;
	}
	if (!seg)
		problem = "sysv-shm.img does not hold it";
	else if (key != seg->rec->key || v->file_size != file_size)
		problem = "its key or size differ from sysv-shm.img's";
	else if (v->has_huge_page_size != seg->rec->has_huge_page_size ||
		 (v->has_huge_page_size && v->huge_page_size != seg->rec->huge_page_size))
		problem = "its huge page size differs from its segment's in sysv-shm.img";
	else if (v->pgoff > span || v->end - v->start > span - v->pgoff)
		problem = "it reaches past the end of the segment";
	if (problem) {
		pr_err("restore: pid %d mapping %#" PRIx64 "-%#" PRIx64 " of SysV segment %" PRIu64
		       ": %s", pid, v->start, v->end, v->file_ino, problem);
		return -EBADMSG;
	}
	return 0;
}

/* Refuses before anything is made: every id must be free, and the key of
 * every segment not marked for removal. A removed segment's key is
 * private to it since IPC_RMID: it need not be free (see make_segment). */
static int check_free(const struct sysv_shm_set *set)
{
	for (size_t i = 0; i < set->nr; i++) {
		const SysvShm *s = set->segs[i].rec;
		struct shmid_ds ds;
		int other;

		if (shmctl(s->id, IPC_STAT, &ds) >= 0) {
			pr_err("restore: SysV segment %d (key %#x): a segment with that id already "
			       "exists (key %#x): remove it (ipcrm -m %d) to restore", s->id,
			       s->key, (unsigned int)ds.shm_perm.__key, s->id);
			return -EEXIST;
		}
		other = s->key && !s->removed ? shmget((key_t)s->key, 0, 0) : -1;
		if (other >= 0) {
			pr_err("restore: SysV segment %d (key %#x): a segment with that key already "
			       "exists (id %d): remove it (ipcrm -m %d) to restore", s->id, s->key,
			       other, other);
			return -EEXIST;
		}
	}
	return 0;
}

/* The value of shm_next_id, read as text. */
static int read_next_id(int *out)
{
	int fd = open(NEXT_ID_PATH, O_RDONLY | O_CLOEXEC);
	char text[16];
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	text[n] = '\0';
	if (sscanf(text, "%d", out) != 1)
		return -EINVAL;
	return 0;
}

static int write_next_id(int id)
{
	int fd = open(NEXT_ID_PATH, O_WRONLY | O_CLOEXEC), ret = 0;
	char text[16];
	int len = snprintf(text, sizeof(text), "%d\n", id);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/* The key to make @s with: its own, except for a segment marked for
 * removal whose key another segment holds now (the kernel made the key
 * private at IPC_RMID, so nobody could find it by its key anyway). */
static key_t key_to_make(const SysvShm *s)
{
	int other;

	if (!s->key)
		return IPC_PRIVATE;
	if (!s->removed)
		return (key_t)s->key;
	other = shmget((key_t)s->key, 0, 0);
	if (other < 0)
		return (key_t)s->key;
	pr_info("restore: SysV segment %d was marked for removal and its key %#x is now held by "
		"segment %d: made with IPC_PRIVATE (its mappings are named /SYSV00000000)",
		s->id, s->key, other);
	return IPC_PRIVATE;
}

/* Makes the segment with its id: shmget takes the id shm_next_id names.
 * @old_next_id is put back afterwards, whatever happens. */
static int make_segment(const SysvShm *s, int old_next_id)
{
	int ret = write_next_id(s->id), id, flags = IPC_CREAT | IPC_EXCL | 0600;

	if (ret) {
		pr_err("restore: SysV segment %d: cannot choose its id through %s: %s", s->id,
		       NEXT_ID_PATH, strerror(-ret));
		return ret;
	}
	/* SHM_HUGETLB reserves the whole segment's huge pages now, as the
	 * original's did (hugetlb_pool.c counted them). */
	if (s->has_huge_page_size)
		flags |= SHM_HUGETLB | huge_page_size_flag(s->huge_page_size, SHM_HUGE_SHIFT);
	id = shmget(key_to_make(s), s->size, flags);
	ret = id < 0 ? -errno : 0;
	/* SHM_NORESERVE is kept on the segment's file only, which nothing
	 * shows: a segment the kernel will not reserve now was likely made
	 * with it (the original has no more reserved than that). */
	if (ret == -ENOMEM && !s->has_huge_page_size && !write_next_id(s->id)) {
		id = shmget(key_to_make(s), s->size, flags | SHM_NORESERVE);
		ret = id < 0 ? -errno : 0;
		if (!ret)
			pr_info("restore: SysV segment %d (%" PRIu64 " bytes): made with "
				"SHM_NORESERVE, as the kernel would not reserve its pages", s->id,
				s->size);
	}
	/* Whether or not shmget took the id, the next segment of anyone
	 * gets what it would have got without cryo. */
	write_next_id(old_next_id);
	if (ret) {
		pr_err("restore: SysV segment %d (key %#x, %" PRIu64 " bytes%s): cannot make it%s: "
		       "%s", s->id, s->key, s->size, s->has_huge_page_size ? ", SHM_HUGETLB" : "",
		       ret == -ENOSPC ? " (its id is taken)" :
		       ret == -ENOMEM && s->has_huge_page_size ?
				       " (not enough free huge pages: see /proc/sys/vm/nr_hugepages)" :
				       "",
		       strerror(-ret));
		return ret;
	}
	if (id != s->id) {
		shmctl(id, IPC_RMID, NULL);
		pr_err("restore: SysV segment %d: made with id %d instead (is %s honoured here?)",
		       s->id, id, NEXT_ID_PATH);
		return -EEXIST;
	}
	return 0;
}

/* Its bytes, then its owner and mode (which may forbid cryo nothing: root). */
static int fill_segment(const struct sysv_segment *seg)
{
	const SysvShm *s = seg->rec;
	struct shmid_ds ds;
	char *mem = shmat(s->id, NULL, 0);

	if (mem == (void *)-1)
		return pr_errno_ret("restore: SysV segment %d: cannot attach it to fill it", s->id);
	/* A segment's file has no write(): its bytes go in through memory. */
	contents_copy_runs((uint8_t *)mem, seg->chunks, seg->data->nr_records);
	shmdt(mem);
	if (shmctl(s->id, IPC_STAT, &ds) < 0)
		return pr_errno_ret("restore: SysV segment %d: cannot read it back", s->id);
	ds.shm_perm.uid = s->uid;
	ds.shm_perm.gid = s->gid;
	ds.shm_perm.mode = s->mode;
	if (shmctl(s->id, IPC_SET, &ds) < 0)
		return pr_errno_ret("restore: SysV segment %d: cannot set owner %u:%u and mode %o",
				    s->id, s->uid, s->gid, s->mode);
	return 0;
}

/* Makes and fills the segments that were (@removed) or were not marked for
 * removal. */
static int make_segments(struct sysv_shm_set *set, bool removed, int old_next_id)
{
	int ret = 0;

	for (size_t i = 0; i < set->nr && !ret; i++) {
		if (!set->segs[i].rec->removed != !removed)
			continue;
		ret = make_segment(set->segs[i].rec, old_next_id);
		if (!ret) {
			set->segs[i].created = true;
			ret = fill_segment(&set->segs[i]);
		}
	}
	return ret;
}

int sysv_shm_create(struct sysv_shm_set *set)
{
	int old_next_id, ret;

	if (!set->nr)
		return 0;
	ret = read_next_id(&old_next_id);
	if (ret) {
		pr_err("restore: cannot read %s to make %zu SysV segments: %s", NEXT_ID_PATH,
		       set->nr, strerror(-ret));
		return ret;
	}
	ret = check_free(set);
	/* The live ones first: they must have their keys, which a removed
	 * one would otherwise take when the dump holds both. */
	if (!ret)
		ret = make_segments(set, false, old_next_id);
	if (!ret)
		ret = make_segments(set, true, old_next_id);
	if (ret)
		sysv_shm_remove_created(set);
	else
		pr_info("restore: %zu SysV segments made", set->nr);
	return ret;
}

int sysv_shm_each_huge(const struct sysv_shm_set *set,
		       int (*add)(void *ctx, int id, uint64_t page_size, uint64_t pages), void *ctx)
{
	int ret = 0;

	for (size_t i = 0; set && i < set->nr && !ret; i++) {
		const SysvShm *s = set->segs[i].rec;

		if (s->has_huge_page_size)
			ret = add(ctx, s->id, s->huge_page_size, segment_span(s) / s->huge_page_size);
	}
	return ret;
}

int sysv_shm_finish(struct sysv_shm_set *set)
{
	for (size_t i = 0; i < set->nr; i++) {
		const SysvShm *s = set->segs[i].rec;

		if (!s->removed)
			continue;
		if (shmctl(s->id, IPC_RMID, NULL) < 0)
			return pr_errno_ret("restore: SysV segment %d: cannot mark it removed",
					    s->id);
		/* Gone with its last attachment: the id is no longer ours. */
		set->segs[i].created = false;
	}
	return 0;
}

void sysv_shm_remove_created(struct sysv_shm_set *set)
{
	for (size_t i = 0; set && i < set->nr; i++) {
		if (!set->segs[i].created)
			continue;
		shmctl(set->segs[i].rec->id, IPC_RMID, NULL);
		set->segs[i].created = false;
	}
}
