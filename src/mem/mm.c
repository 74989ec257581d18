/* Dumping the address space of a seized task: the mm fields (/proc/PID/stat,
 * a remote brk(0), auxv, exe), its mappings (vma.h) and its pages (pagescan.h
 * finds them, pagedump.h copies them). The files of memfd and deleted-file
 * mappings are saved as file objects (files.h). Loading and checking images
 * is in mm_image.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/procfs.h"
#include "common/textfile.h"
#include "files/files.h"
#include "images/page_digests.h"
#include "images/pages.h"
#include "inject/inject.h"
#include "kabi/kabi.h"
#include "mem/aio.h"
#include "mem/cow.h"
#include "mem/mm.h"
#include "mem/pagedump.h"
#include "mem/pagescan.h"
#include "mem/precopy.h"
#include "mem/track.h"
#include "mem/vma.h"
#include "stats/stats.h"

/* Fields 26-28 and 45-51 of /proc/PID/stat. */
static int read_stat(pid_t pid, Mm *mm)
{
	struct proc_stat st;
	int ret = proc_stat_read(pid, &st);

	if (ret) {
		pr_err("dump: pid %d: cannot read /proc/%d/stat: %s", pid, pid,
		       ret == -EIO ? "not the expected format" : strerror(-ret));
		return ret;
	}
	mm->start_code = st.start_code;
	mm->end_code = st.end_code;
	mm->start_stack = st.start_stack;
	mm->start_data = st.start_data;
	mm->end_data = st.end_data;
	mm->start_brk = st.start_brk;
	mm->arg_start = st.arg_start;
	mm->arg_end = st.arg_end;
	mm->env_start = st.env_start;
	mm->env_end = st.env_end;
	return 0;
}

/* The auxiliary vector up to and including its AT_NULL pair. */
static int read_auxv(pid_t pid, Mm *mm)
{
	uint64_t words[MM_AUXV_MAX_WORDS + 1];
	size_t n, len = 0;
	char path[64];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
	while (len < sizeof(words)) {
		ssize_t r = read(fd, (char *)words + len, sizeof(words) - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
		if (r == 0)
			break;
		len += r;
	}
	for (n = 0; n + 2 <= len / sizeof(uint64_t); n += 2)
		if (words[n] == 0)
			break;
	if (n + 2 > len / sizeof(uint64_t) || n + 2 > MM_AUXV_MAX_WORDS) {
		pr_err("dump: pid %d: %s has no AT_NULL entry within %d words", pid, path,
		       MM_AUXV_MAX_WORDS);
		return -EIO;
	}
	mm->n_auxv = n + 2;
	mm->auxv = malloc(mm->n_auxv * sizeof(*mm->auxv));
	if (!mm->auxv) {
		pr_err("dump: pid %d: out of memory for auxv", pid);
		return -ENOMEM;
	}
	memcpy(mm->auxv, words, mm->n_auxv * sizeof(*mm->auxv));
	return 0;
}

static int read_exe(pid_t pid, Mm *mm)
{
	char path[64], target[PATH_MAX + 1];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, target, sizeof(target));
	if (n < 0)
		return pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	if ((size_t)n == sizeof(target)) {
		pr_err("dump: pid %d: %s is longer than %d bytes", pid, path, PATH_MAX);
		return -ENAMETOOLONG;
	}
	mm->exe_path = strndup(target, n);
	if (!mm->exe_path) {
		pr_err("dump: pid %d: out of memory for the exe path", pid);
		return -ENOMEM;
	}
	return 0;
}

/* brk(0) changes nothing and returns the current break, which /proc
 * does not show. */
static int read_brk(struct inj_task *task, Mm *mm)
{
	pid_t pid = inj_task_pid(task);
	long ret;
	int err;

	err = inj_syscall(task, &ret, SYS_brk, 0, 0, 0, 0, 0, 0);
	if (err) {
		pr_err("dump: pid %d: cannot run brk(0) in the task: %s", pid, strerror(-err));
		return err;
	}
	mm->brk = (uint64_t)ret;
	return 0;
}

/* Guard regions hold no pages; restore installs them again (Vma.guards). */
static int keep_guards(Vma *v, const struct page_ranges *guards)
{
	if (!guards->nr)
		return 0;
	v->guards = calloc(2 * guards->nr, sizeof(*v->guards));
	if (!v->guards)
		return -ENOMEM;
	for (size_t g = 0; g < guards->nr; g++) {
		v->guards[2 * g] = guards->v[g].start;
		v->guards[2 * g + 1] = guards->v[g].end;
	}
	v->n_guards = 2 * guards->nr;
	return 0;
}

/* Whether pre-copy or write tracking scans mapping @i itself. */
static bool scanned_apart(const struct vma_list *vmas, size_t i, const struct mm_dump_opts *opts)
{
	return (opts->precopy && precopy_tracks(opts->precopy, vmas->vmas[i], vmas->guarded[i])) ||
	       track_covers(opts->track, vmas->vmas[i], vmas->guarded[i]);
}

/* Lets one PAGEMAP_SCAN cover the mappings with pages from @i on, up to
 * one whose pages pre-copy or write tracking scans itself (a wide scan
 * would walk them twice). Returns the index where the next such run
 * starts. */
static size_t set_wide_scan(struct pagescan *ps, const struct vma_list *vmas, size_t i,
			    const struct mm_dump_opts *opts)
{
	uint64_t end = 0;

	for (; i < vmas->nr; i++) {
		if (!vmas->resident[i] || vma_pages(vmas->vmas[i]) == VMA_PAGES_NONE)
			continue;
		if (scanned_apart(vmas, i, opts))
			break;
		end = vmas->vmas[i]->end;
	}
	pagescan_set_end(ps, end);
	return i;
}

/* The kernel rewrites a thread's rseq area (cpu_id, mm_cid) each time
 * the thread returns to user mode after a preemption or a migration, as
 * the parasite's thread does while it splices: its pages are copied. The
 * other threads stay in their ptrace stops meanwhile, and their areas
 * hold still: copying theirs too cost a 64-thread dump 64 breaks in the
 * splicing, each a flush of the parasite's pipes. The registrations are
 * read before the parasite starts (ptrace answers only for a stopped
 * thread), into @areas (one per thread), and the parasite's thread's
 * kept by keep_rseq_area_unspliced(). */
static int read_rseq_areas(struct inj_task *task, struct __ptrace_rseq_configuration *areas)
{
	for (int i = 0; i < inj_thread_count(task); i++) {
		pid_t tid = inj_thread_tid(task, i);

		areas[i] = (struct __ptrace_rseq_configuration){ 0 };
		if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(areas[i]), &areas[i]) < 0)
			return pr_errno_ret("dump: pid %d thread %d: cannot read its rseq "
					    "registration", inj_task_pid(task), tid);
	}
	return 0;
}

static int keep_rseq_area_unspliced(struct inj_task *task,
				    const struct __ptrace_rseq_configuration *areas, pid_t tid,
				    struct pagedump *pd)
{
	for (int i = 0; i < inj_thread_count(task); i++)
		if (inj_thread_tid(task, i) == tid && areas[i].rseq_abi_pointer)
			return pagedump_copy_not_splice(pd, areas[i].rseq_abi_pointer,
							areas[i].rseq_abi_size);
	return 0;
}

/* A parasite of its own for the pages costs a few milliseconds to start;
 * the copy it saves is about 0.2 s a GiB, so it pays from about this much
 * private anonymous memory on. */
#define SPLICE_MIN_BYTES (16ull << 20)
/* From this much on, the pages go to two files on two writer threads (see
 * Benchmarks: a second lane costs two threads and three pipes). */
#define TWO_FILES_MIN_BYTES (64ull << 20)

/* CRYO_TEST_TWO_FILES_MIN (bytes) moves the threshold, for tests and
 * measurements. */
static uint64_t two_files_min_bytes(void)
{
	const char *env = getenv("CRYO_TEST_TWO_FILES_MIN");

	return env ? strtoull(env, NULL, 0) : TWO_FILES_MIN_BYTES;
}

/* Starts the parasite that vmsplices the pages (pagedump_splice_through())
 * when it pays: *@out stays NULL otherwise. The mappings were read
 * before, so its area is none of them. */
static int start_splice(struct inj_task *task, const struct vma_list *vmas,
			const struct mm_dump_opts *opts, struct pagedump *pd,
			struct inj_parasite **out)
{
	_cleanup_free_ struct __ptrace_rseq_configuration *areas = NULL;
	struct inj_parasite *parasite;
	uint64_t bytes = 0;
	int ret;

	*out = NULL;
	/* Pre-copy's pages go to its scratch store, through the writer. */
	if (!opts->parasite_blob || opts->parent || opts->has_children || opts->precopy ||
	    opts->digests || opts->parent_set)
		return 0;
	for (size_t i = 0; i < vmas->nr; i++)
		if (vma_pages(vmas->vmas[i]) == VMA_PAGES_ANON && (vmas->vmas[i]->prot & PROT_READ))
			bytes += vmas->resident[i];
	if (bytes < SPLICE_MIN_BYTES)
		return 0;
	areas = calloc((size_t)inj_thread_count(task), sizeof(*areas));
	if (!areas)
		return -ENOMEM;
	ret = read_rseq_areas(task, areas);
	if (!ret)
		ret = inj_parasite_start(task, opts->parasite_blob, &parasite);
	if (ret)
		return ret;
	ret = keep_rseq_area_unspliced(task, areas, inj_parasite_thread(parasite), pd);
	if (!ret)
		ret = pagedump_splice_through(pd, parasite,
					      bytes >= two_files_min_bytes() ? 2 : 1);
	if (ret) {
		int err = inj_parasite_cure(parasite);

		/* A signed set: its digest is not the parasite's to feed. */
		return ret == -EOPNOTSUPP ? err : ret;
	}
	*out = parasite;
	return 0;
}

static int copy_pages(struct inj_task *task, struct image_dir *dir, const struct vma_list *vmas,
		      const struct mm_dump_opts *opts, struct pages_writer *pw)
{
	pid_t pid = inj_task_pid(task);
	struct page_ranges ranges = { 0 }, unread = { 0 };
	struct inj_parasite *parasite = NULL;
	struct cow_parent *cp = NULL;
	struct pagescan *ps = NULL;
	struct pagedump *pd = NULL;
	struct page_digests parent_digests = { 0 };
	struct page_digests_writer *digests = NULL;
	struct pagedump_stats stats;
	int ret, err;

	/* A process the parent set does not hold is saved whole. */
	ret = opts->parent_set ? page_digests_load(opts->parent_set, pid, &parent_digests) : 0;
	if (ret == -ENOENT)
		pr_info("dump: pid %d: not in the parent image set %s: every page is saved", pid,
			opts->parent_set->path);
	ret = ret == -ENOENT ? 0 : ret;
	if (!ret && opts->digests)
		ret = page_digests_writer_open(dir, pid, &digests);
	if (!ret)
		ret = opts->parent ? cow_parent_open(pid, opts->parent, opts->siblings,
						     opts->nr_siblings, opts->has_children,
						     opts->cow_maps, &cp) :
				     0;
	if (!ret)
		ret = pagescan_open(pid, opts->scan, &ps);
	if (ret)
		goto out;
	ret = pagedump_open(pid, pw, opts->page_buffers, &pd);
	if (ret)
		goto out;
	pagedump_set_stats(pd, opts->stats);
	pagedump_set_parent(pd, parent_digests.nr ? &parent_digests : NULL, digests);
	if (opts->parent || opts->has_children)
		pagedump_read_unpinned(pd);
	ret = start_splice(task, vmas, opts, pd, &parasite);
	if (ret)
		goto out;
	for (size_t i = 0, wide_from = 0; i < vmas->nr && !ret; i++) {
		Vma *v = vmas->vmas[i];

		if (vmas->guarded[i]) {
			ret = pagescan_guards(ps, v, &ranges);
			if (!ret)
				ret = keep_guards(v, &ranges);
			if (ret)
				break;
		}
		/* smaps already counted the pages: a mapping without any
		 * (a large reservation) needs no scan at all. */
		if (!vmas->resident[i] || vma_pages(v) == VMA_PAGES_NONE)
			continue;
		pagedump_set_unread(pd, NULL);
		if (opts->precopy && precopy_tracks(opts->precopy, v, vmas->guarded[i])) {
			ret = precopy_scan_vma(opts->precopy, v, &ranges);
		} else if (track_covers(opts->track, v, vmas->guarded[i])) {
			ret = track_scan_vma(opts->track, v,
					     parent_digests.nr ? &parent_digests : NULL, &ranges,
					     &unread);
			pagedump_set_unread(pd, &unread);
		} else {
			if (i >= wide_from)
				wide_from = set_wide_scan(ps, vmas, i, opts);
			ret = pagescan_vma(ps, v, &ranges);
		}
		for (size_t r = 0; r < ranges.nr && !ret; r++)
			ret = cow_parent_add(cp, pd, v, ranges.v[r].start, ranges.v[r].end);
	}
	if (!ret)
		ret = pagedump_flush(pd);
	pagedump_set_unread(pd, NULL);
	if (!ret && digests) {
		ret = page_digests_writer_finish(digests);
		digests = NULL;
	}
	if (!ret) {
		pagedump_get_stats(pd, &stats);
		if (opts->parent_set)
			pr_info("dump: pid %d: %llu pages unchanged since the parent image set, "
				"left there (%llu of them unread: unwritten since, by write "
				"tracking)", pid, (unsigned long long)stats.pages_in_parent_image,
				(unsigned long long)stats.pages_unread);
		if (opts->track)
			opts->track->unread += stats.pages_unread;
		pr_info("dump: pid %d: %llu pages read, %llu saved, %llu zero, %llu its parent's "
			"(found with %s%s)", pid,
			(unsigned long long)stats.pages_read, (unsigned long long)stats.pages_saved,
			(unsigned long long)stats.pages_zero, (unsigned long long)stats.pages_in_parent,
			pagescan_method(ps) == PAGESCAN_PAGEMAP ? "/proc/PID/pagemap" : "PAGEMAP_SCAN",
			parasite ? ", anonymous memory vmspliced by the parasite" : "");
		stats_pages_saved(opts->stats, stats.pages_zero, stats.pages_in_parent_image,
				  stats.pages_unread, stats.pages_saved);
	}
out:
	page_ranges_free(&ranges);
	page_ranges_free(&unread);
	/* Every byte is in the pages file, or the dump failed, before the
	 * task can run and write to the pages the pipe referenced. */
	pagedump_close(pd);
	err = parasite ? inj_parasite_cure(parasite) : 0;
	pagescan_close(ps);
	cow_parent_close(cp);
	page_digests_writer_abort(digests);
	page_digests_free(&parent_digests);
	return ret ? ret : err;
}

/* A memfd, a deleted file or shared anonymous memory has no path to map it
 * from at restore: the
 * files part saves it once per inode, or finds it already saved for an fd,
 * and each such mapping names that file object. */
static int dump_mapped_files(pid_t pid, struct files_dump_set *files, struct vma_list *vmas)
{
	_cleanup_free_ struct files_mapping *maps = NULL;
	size_t n = 0;
	int ret;

	for (size_t i = 0; i < vmas->nr; i++)
		n += vma_has_file_object(vmas->vmas[i]);
	if (!n)
		return 0;
	if (!files) {
		pr_err("dump: pid %d: %zu mappings need file objects, and this dump keeps none",
		       pid, n);
		return -EINVAL;
	}
	maps = calloc(n, sizeof(*maps));
	if (!maps) {
		pr_err("dump: pid %d: out of memory for %zu mapped files", pid, n);
		return -ENOMEM;
	}
	n = 0;
	for (size_t i = 0; i < vmas->nr; i++) {
		if (!vma_has_file_object(vmas->vmas[i]))
			continue;
		maps[n].start = vmas->vmas[i]->start;
		maps[n].end = vmas->vmas[i]->end;
		maps[n++].pgoff = vmas->vmas[i]->pgoff;
	}
	ret = files_dump_mappings(files, pid, maps, n);
	if (ret)
		return ret;
	n = 0;
	for (size_t i = 0; i < vmas->nr; i++) {
		if (!vma_has_file_object(vmas->vmas[i]))
			continue;
		vmas->vmas[i]->has_file_id = true;
		vmas->vmas[i]->file_id = maps[n++].file_id;
	}
	return 0;
}

static int write_mm(struct image_dir *dir, pid_t pid, const Mm *mm)
{
	struct image_writer *w;
	int ret;

	ret = image_open_write(dir, IMG_MM, pid, &w);
	if (ret)
		return ret;
	ret = image_write_record(w, &mm->base);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

static void remove_image(struct image_dir *dir, enum image_kind kind, int pid)
{
	char name[64];

	if (!image_file_name(kind, pid, name, sizeof(name)))
		unlinkat(dir->fd, name, 0);
}

/* VmLck of /proc/@pid/status, in kB, into *@kb: 0 or -errno. */
static int read_locked_kb(pid_t pid, unsigned long long *kb)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	const char *line;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ret = read_text_file(path, &text);
	if (ret)
		return pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	line = status_field(text, "VmLck");
	if (!line || sscanf(line, "%llu kB", kb) != 1) {
		pr_err("dump: pid %d: %s shows no VmLck", pid, path);
		return -EIO;
	}
	return 0;
}

int mm_read_mlockall(pid_t pid, uint64_t fresh, uint32_t *mcl)
{
	unsigned long long locked_kb;
	uint32_t madvise = 0;
	int ret;

	/* With MCL_FUTURE the fresh mapping is locked, so VmLck counts it:
	 * none locked, and smaps (the whole of it: 50,000 mappings cost a
	 * tenth of their dump) need not be read for the one mapping. */
	*mcl = 0;
	ret = read_locked_kb(pid, &locked_kb);
	if (ret || !locked_kb)
		return ret;
	ret = vma_madvise_at(pid, fresh, &madvise);
	if (ret)
		return ret;
	if (madvise & VMA_MADV_LOCKED)
		*mcl = MCL_FUTURE | (madvise & VMA_MADV_LOCKONFAULT ? MCL_ONFAULT : 0);
	return 0;
}

int mm_dump_with(struct inj_task *task, struct image_dir *dir, const struct mm_dump_opts *opts)
{
	pid_t pid = inj_task_pid(task);
	struct vma_list vmas = { 0 };
	struct pages_writer *pw;
	Mm mm = MM__INIT;
	int ret;

	if (opts->vmas) {
		vmas = *opts->vmas;
		*opts->vmas = (struct vma_list){ 0 };
	} else {
		ret = vma_list_read(pid, &vmas);
		if (ret)
			return ret;
	}
	ret = read_stat(pid, &mm);
	if (!ret)
		ret = read_auxv(pid, &mm);
	if (!ret)
		ret = read_exe(pid, &mm);
	if (!ret && opts->have_brk)
		mm.brk = opts->brk;
	else if (!ret)
		ret = read_brk(task, &mm);
	mm.has_mlockall = opts->mlockall != 0;
	mm.mlockall = opts->mlockall;
	if (!ret && mm.brk < mm.start_brk) {
		pr_err("dump: pid %d: the program break %#llx is below the heap start %#llx", pid,
		       (unsigned long long)mm.brk, (unsigned long long)mm.start_brk);
		ret = -EIO;
	}
	if (ret)
		goto out;

	ret = opts->precopy ? precopy_frozen_open(opts->precopy, &pw) :
			      pages_writer_open(dir, pid, &pw);
	if (ret)
		goto out;
	ret = copy_pages(task, dir, &vmas, opts, pw);
	if (!ret)
		ret = aio_rings_unchanged(pid, &vmas);
	if (ret) {
		pages_writer_abort(pw);
		goto out;
	}
	/* A pre-copied task's pages store is written after the release. */
	ret = opts->precopy ? precopy_frozen_done(opts->precopy, pw) : pages_writer_finish(pw);
	if (ret)
		goto out;

	mm.n_vmas = vmas.nr;
	mm.vmas = vmas.vmas;
	if (opts->pages_only)
		goto out;
	ret = dump_mapped_files(pid, opts->files, &vmas);
	if (!ret)
		ret = write_mm(dir, pid, &mm);
	if (ret) {
		/* Pages without their mappings are no image. */
		remove_image(dir, IMG_PAGEMAP, pid);
		remove_image(dir, IMG_PAGES, pid);
		remove_image(dir, IMG_PAGES2, pid);
	}
out:
	free(mm.auxv);
	free(mm.exe_path);
	vma_list_free(&vmas);
	return ret;
}

