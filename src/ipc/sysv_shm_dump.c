/* sysv_shm_dump(): the SysV segments that processes of a dump have
 * attached, found among their shared file mappings (a mapping named
 * "/SYSVkey (deleted)" whose inode is the segment's id), described by
 * shmctl(IPC_STAT) and read through /proc/PID/map_files, so that no
 * process of the dump is touched and no attachment is added. With a tree's
 * own IPC namespace, also every segment of it that nobody attaches: cryo
 * attaches it read-only for a moment and saves it whole. A segment of huge
 * pages (SHM_HUGETLB, on hugetlbfs) is saved with its page size. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/procmap.h"
#include "files/contents.h"
#include "images/proto/sysv_shm.pb-c.h"
#include "ipc/sysv_shm.h"
#include "mem/hugetlb.h"
#include "mem/mapped_ranges.h"
#include "ns/ns.h"

/* A segment as first seen, and how often the dump maps it. */
struct segment {
	int id;
	uint32_t key;
	pid_t pid;		/* a process that maps it, and where */
	uint64_t start, end;
	size_t nr_vmas;
};

struct segments {
	struct segment *v;
	size_t nr, cap;
};

static struct segment *find_or_add(struct segments *s, int id)
{
	for (size_t i = 0; i < s->nr; i++)
		if (s->v[i].id == id)
			return &s->v[i];
	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct segment *bigger = reallocarray(s->v, cap, sizeof(*bigger));

		if (!bigger)
			return NULL;
		s->v = bigger;
		s->cap = cap;
	}
	memset(&s->v[s->nr], 0, sizeof(s->v[s->nr]));
	s->v[s->nr].id = -1;
	return &s->v[s->nr++];
}

/* shmctl() reaches the segments of cryo's IPC namespace only. */
static int same_ipc_ns(pid_t pid)
{
	bool same;
	int ret = ns_same_as_cryo(pid, NS_IPC, "dump", &same);

	if (ret)
		return ret;
	if (!same) {
		pr_err("dump: pid %d: has SysV shared memory of another IPC namespace than "
		       "cryo's, which is not supported", pid);
		return -EOPNOTSUPP;
	}
	return 0;
}

struct process_scan {
	pid_t pid;
	struct segments *segments;
	bool checked_ns;
	bool said;		/* the failure is add_mapping()'s, logged */
};

#define SYSV_NAME_LEN (sizeof("/SYSV12345678") - 1)

/* Counts a mapping named "/SYSVkkkkkkkk (deleted)", kkkkkkkk its key in hex. */
static int add_mapping(const struct proc_maps_line *m, void *arg)
{
	struct process_scan *scan = arg;
	struct segment *seg;
	unsigned int key;
	int ret;

	if (strlen(m->name) != SYSV_NAME_LEN + strlen(" (deleted)") ||
	    sscanf(m->name, "/SYSV%8x", &key) != 1 ||
	    strcmp(m->name + SYSV_NAME_LEN, " (deleted)"))
		return 0;
	scan->said = true;
	if (!scan->checked_ns) {
		ret = same_ipc_ns(scan->pid);
		if (ret)
			return ret;
		scan->checked_ns = true;
	}
	seg = find_or_add(scan->segments, (int)m->ino);
	if (!seg) {
		pr_err("dump: pid %d: out of memory for its SysV segments", scan->pid);
		return -ENOMEM;
	}
	scan->said = false;
	if (seg->id < 0)
		*seg = (struct segment){ (int)m->ino, key, scan->pid, m->start, m->end, 0 };
	seg->nr_vmas++;
	return 0;
}

/* Adds the SysV mappings of @pid to @s: shared file mappings alone are
 * looked at (procmap.h), not the 50,000 lines of a process of as many
 * anonymous mappings. */
static int scan_process(pid_t pid, struct segments *s)
{
	struct process_scan scan = { pid, s, false, false };
	int ret = proc_each_mapping(pid, PROC_MAPPING_SHARED | PROC_MAPPING_FILE, add_mapping,
				    &scan);

	if (ret && !scan.said)
		pr_err("dump: pid %d: cannot read /proc/%d/maps: %s", pid, pid, strerror(-ret));
	return ret;
}

/* What the kernel says of @seg, and whether restore can make it again. */
static int describe(const struct segment *seg, SysvShm *rec)
{
	struct shmid_ds ds;

	if (shmctl(seg->id, IPC_STAT, &ds) < 0)
		return pr_errno_ret("dump: pid %d mapping %" PRIx64 "-%" PRIx64 ": cannot read "
				    "SysV segment %d (key %#x)", seg->pid, seg->start, seg->end,
				    seg->id, seg->key);
	if (!seg->nr_vmas && ds.shm_nattch) {
		pr_err("dump: SysV segment %d (key %#x) of the tree's IPC namespace was attached "
		       "while the dump ran", seg->id, seg->key);
		return -EBUSY;
	}
	if (ds.shm_perm.mode & SHM_LOCKED) {
		pr_err("dump: pid %d mapping %" PRIx64 "-%" PRIx64 ": SysV segment %d is locked in "
		       "memory (SHM_LOCK), which is not supported", seg->pid, seg->start, seg->end,
		       seg->id);
		return -EOPNOTSUPP;
	}
	/* Every mapping of a segment counts as one attachment. */
	if (ds.shm_nattch != seg->nr_vmas) {
		pr_err("dump: pid %d mapping %" PRIx64 "-%" PRIx64 ": SysV segment %d (key %#x) has "
		       "%lu attachments, %zu of them in the dump: one outside it cannot be shared "
		       "again", seg->pid, seg->start, seg->end, seg->id, seg->key,
		       (unsigned long)ds.shm_nattch, seg->nr_vmas);
		return -EOPNOTSUPP;
	}
	rec->id = seg->id;
	rec->key = seg->key;
	rec->size = ds.shm_segsz;
	rec->mode = ds.shm_perm.mode & 0777;
	rec->uid = ds.shm_perm.uid;
	rec->gid = ds.shm_perm.gid;
	rec->removed = ds.shm_perm.mode & SHM_DEST;
	return 0;
}

/* A segment made with SHM_HUGETLB is a file of the kernel's hugetlbfs
 * mount of its page size: the page size goes into @rec, to make it so
 * again. */
static void note_huge_pages(int fd, SysvShm *rec)
{
	uint64_t page_size = hugetlbfs_page_size(fd);

	rec->has_huge_page_size = page_size != 0;
	rec->huge_page_size = page_size;
}

/* Opens cryo's own attachment at @at through /proc/self/map_files, whose
 * entry must name the mapping's exact end: a SHM_HUGETLB attachment spans
 * whole huge pages, of a size not known yet, so the entry is looked up by
 * its start. @path gets the entry's path. */
static int open_own_attachment(const void *at, char *path, size_t size)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/map_files");
	char prefix[32];
	struct dirent *e;

	snprintf(path, size, "/proc/self/map_files/%lx-...", (unsigned long)at);
	if (!d)
		return -1;
	snprintf(prefix, sizeof(prefix), "%lx-", (unsigned long)at);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		if ((size_t)snprintf(path, size, "/proc/self/map_files/%s", e->d_name) >= size)
			break;
		return open(path, O_RDONLY | O_CLOEXEC);
	}
	errno = ENOENT;
	return -1;
}

/* A segment nobody attaches: cryo attaches it read-only and saves all of
 * it but its holes; the attachment goes at once (only shm_atime and
 * shm_lpid keep a trace of it). */
static int write_unattached(const struct segment *seg, SysvShm *rec, struct image_dir *dir)
{
	struct byte_range whole = { 0, rec->size };
	_cleanup_close_ int fd = -1;
	char path[96], who[96];
	void *at = shmat(seg->id, NULL, SHM_RDONLY);
	int ret;

	snprintf(who, sizeof(who), "SysV segment %d (key %#x), attached by no process", seg->id,
		 seg->key);
	if (at == (void *)-1)
		return pr_errno_ret("dump: %s: cannot attach it to read it", who);
	/* map_files names the mapping exactly: a SHM_HUGETLB one spans whole
	 * huge pages, the attachment's size, which its file's is. */
	fd = open_own_attachment(at, path, sizeof(path));
	if (fd < 0) {
		ret = pr_errno_ret("dump: %s: cannot open it through %s", who, path);
	} else {
		note_huge_pages(fd, rec);
		ret = contents_dump_to_image(dir, IMG_SYSV_SHM_DATA, seg->id, fd, &whole, 1,
					     rec->has_huge_page_size, who);
	}
	shmdt(at);
	return ret;
}

static int write_data(const pid_t *pids, size_t n, const struct segment *seg, SysvShm *rec,
		      struct image_dir *dir)
{
	_cleanup_free_ struct byte_range *ranges = NULL;
	_cleanup_close_ int fd = -1;
	size_t nr_ranges;
	struct stat st;
	char path[96], who[128];
	int ret;

	if (!seg->nr_vmas)
		return write_unattached(seg, rec, dir);
	snprintf(who, sizeof(who), "pid %d mapping %" PRIx64 "-%" PRIx64 " (SysV segment %d)",
		 seg->pid, seg->start, seg->end, seg->id);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, seg->pid,
		 seg->start, seg->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		return pr_errno_ret("dump: %s: cannot open the segment through %s", who, path);
	note_huge_pages(fd, rec);
	ret = mapped_ranges_of(pids, n, st.st_dev, st.st_ino, rec->size, &ranges, &nr_ranges);
	if (ret == -ENOMEM)
		pr_err("dump: %s: out of memory for the mapped parts of the segment", who);
	if (ret)
		return ret;
	return contents_dump_to_image(dir, IMG_SYSV_SHM_DATA, seg->id, fd, ranges, nr_ranges,
				      rec->has_huge_page_size, who);
}

static int write_segments(const SysvShm *recs, size_t n, struct image_dir *dir)
{
	struct image_writer *w;
	int ret = image_open_write(dir, IMG_SYSV_SHM, 0, &w);

	if (ret)
		return ret;
	for (size_t i = 0; i < n && !ret; i++)
		ret = image_write_record(w, &recs[i].base);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

static int cmp_id(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

/* Adds every segment of cryo's IPC namespace that nobody attaches. */
static int add_unattached(struct segments *s)
{
	struct shm_info info;
	int max_index = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

	if (max_index < 0)
		return pr_errno_ret("dump: cannot list the SysV segments (SHM_INFO)");
	for (int index = 0; index <= max_index; index++) {
		struct shmid_ds ds;
		int id = shmctl(index, SHM_STAT_ANY, &ds);
		struct segment *seg;

		if (id < 0 || ds.shm_nattch)
			continue;
		seg = find_or_add(s, id);
		if (!seg) {
			pr_err("dump: out of memory for the SysV segments");
			return -ENOMEM;
		}
		if (seg->id < 0)
			*seg = (struct segment){ id, (uint32_t)ds.shm_perm.__key, 0, 0, 0, 0 };
	}
	return 0;
}

int sysv_shm_dump(const pid_t *pids, size_t n, bool whole_namespace, struct image_dir *dir)
{
	struct segments segs = { 0 };
	SysvShm *recs = NULL;
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = scan_process(pids[i], &segs);
	if (!ret && whole_namespace)
		ret = add_unattached(&segs);
	if (ret || !segs.nr)
		goto out;
	qsort(segs.v, segs.nr, sizeof(*segs.v), cmp_id);
	recs = calloc(segs.nr, sizeof(*recs));
	if (!recs) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < segs.nr && !ret; i++) {
		sysv_shm__init(&recs[i]);
		ret = describe(&segs.v[i], &recs[i]);
		if (!ret)
			ret = write_data(pids, n, &segs.v[i], &recs[i], dir);
	}
	if (!ret)
		ret = write_segments(recs, segs.nr, dir);
	if (!ret)
		pr_info("dump: %zu SysV segments", segs.nr);
out:
	free(recs);
	free(segs.v);
	return ret;
}
