/* Loading mm images for restore: mm_check() (called by the images library
 * for every mm image read) checks what one file can tell; mm_load() adds
 * the agreement of the pagemap with the mappings. Nothing here touches a
 * process, so the image fuzzer can link it alone. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/format.h"
#include "images/image.h"
#include "images/pages.h"
#include "images/proto/pagemap.pb-c.h"
#include "kabi/kabi.h"
#include "mem/mm.h"
#include "mem/hugetlb.h"
#include "mem/vma.h"

/* The kernel's limits: memfd names (MFD_NAME_MAX_LEN), anon vma names
 * (ANON_VMA_NAME_MAX_LEN, NUL included). */
#define MEMFD_NAME_MAX 249
#define ANON_NAME_MAX 79

#define PS IMG_PAGE_SIZE

static bool is_file_kind(Vma__Kind kind)
{
	return kind == VMA__KIND__FILE || kind == VMA__KIND__DELETED_FILE ||
	       kind == VMA__KIND__MEMFD || kind == VMA__KIND__SYSV_SHM;
}

static bool is_anon_kind(Vma__Kind kind)
{
	return kind == VMA__KIND__ANON || kind == VMA__KIND__HEAP || kind == VMA__KIND__STACK;
}

/* The kernel's own mappings: placed by it, never by mmap. */
static bool is_kernel_kind(Vma__Kind kind)
{
	return kind == VMA__KIND__VDSO || kind == VMA__KIND__VVAR ||
	       kind == VMA__KIND__VVAR_VCLOCK || kind == VMA__KIND__VSYSCALL;
}

/* PR_SET_VMA_ANON_NAME takes printable characters other than [ ] \ $ `. */
static bool anon_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > ANON_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!isprint((unsigned char)*p) || strchr("[]\\$`", *p))
			return false;
	return true;
}

/* "/SYSV" and the key in 8 hex digits, as the kernel names a segment. */
static bool sysv_name_valid(const char *path)
{
	if (strncmp(path, "/SYSV", 5) || strlen(path) != 13)
		return false;
	for (const char *p = path + 5; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return false;
	return true;
}

/* Guard regions: [start, end) pairs, page-aligned, ascending, inside @v. */
static const char *guards_problem(const Vma *v)
{
	uint64_t last = v->start;

	if (v->n_guards % 2)
		return "guard regions are not start and end pairs";
	if (v->n_guards && (v->kind == VMA__KIND__SYSV_SHM || v->kind == VMA__KIND__VDSO ||
			    v->kind == VMA__KIND__VVAR || v->kind == VMA__KIND__VVAR_VCLOCK ||
			    v->kind == VMA__KIND__VSYSCALL || v->kind == VMA__KIND__PACKET_RING))
		return "guard regions in a mapping of a kind that cannot have them";
	for (size_t g = 0; g < v->n_guards; g += 2) {
		uint64_t start = v->guards[g], end = v->guards[g + 1];

		if (start % PS || end % PS || start < last || start >= end || end > v->end)
			return "a guard region is unaligned, out of order or outside the mapping";
		last = end;
	}
	return NULL;
}

/* An AIO ring: shared, with the size its mapping gives and a head and
 * tail inside it; no other kind has those fields. */
static const char *aio_problem(const Vma *v)
{
	uint64_t slots;

	if (v->kind != VMA__KIND__AIO)
		return v->has_aio_nr || v->has_aio_head || v->has_aio_tail ?
			       "AIO ring fields on a mapping that is no AIO ring" : NULL;
	if (!(v->flags & MAP_SHARED) || (v->flags & ~(uint32_t)(MAP_SHARED | MAP_NORESERVE)) ||
	    v->n_guards)
		return "an AIO ring not mapped shared, or with other flags or guards";
	if (!v->has_aio_nr || !v->has_aio_head || !v->has_aio_tail)
		return "an AIO ring without its size, head and tail";
	slots = (v->end - v->start - sizeof(struct kabi_aio_ring)) / KABI_AIO_EVENT_SIZE;
	if (v->aio_nr != slots || v->aio_head >= v->aio_nr || v->aio_tail >= v->aio_nr)
		return "an AIO ring whose size does not fit its mapping, or head or tail past it";
	return NULL;
}

/* A hugetlb mapping: anonymous memory, a memfd, a SysV segment or a file
 * of a hugetlbfs mount (deleted or not), aligned to its page size, which
 * is a power of two from 64 KiB to 1 GiB. */
static const char *huge_problem(const Vma *v)
{
	uint64_t hps = v->huge_page_size;

	if (!v->has_huge_page_size)
		return NULL;
	if (!huge_page_size_valid(hps, 0))
		return "a huge page size that is not a power of two from 64 KiB to 1 GiB";
	if (v->kind != VMA__KIND__ANON && v->kind != VMA__KIND__MEMFD &&
	    v->kind != VMA__KIND__FILE && v->kind != VMA__KIND__DELETED_FILE &&
	    v->kind != VMA__KIND__SYSV_SHM)
		return "hugetlb, which its kind cannot be";
	if (v->start % hps || v->end % hps || (v->has_pgoff && v->pgoff % hps))
		return "hugetlb, not aligned to its huge page size";
	if (v->n_guards || (v->flags & MAP_GROWSDOWN) ||
	    (v->has_madvise && (v->madvise & VMA_MADV_DROPPABLE)))
		return "hugetlb with guard regions, MAP_GROWSDOWN or MAP_DROPPABLE";
	return NULL;
}

/* Returns a description of what is wrong with @v, or NULL. */
static const char *vma_problem(const Vma *v)
{
	bool shared = v->flags & MAP_SHARED;

	if (v->kind < VMA__KIND__ANON || v->kind > VMA__KIND__PACKET_RING)
		return "unknown kind";
	if (v->start % PS || v->end % PS)
		return "not page-aligned";
	if (v->start >= v->end)
		return "empty or reversed";
	if (v->kind == VMA__KIND__VSYSCALL ?
	    v->start != VMA_VSYSCALL_START || v->end != VMA_VSYSCALL_END :
	    v->end > VMA_USER_END)
		return "outside the user address space";
	if (v->prot & ~VMA_PROT_ALL)
		return "unknown prot bits";
	if (v->flags & ~VMA_FLAGS_ALL)
		return "unknown flags";
	if (!(v->flags & MAP_SHARED) == !(v->flags & MAP_PRIVATE))
		return "neither or both of MAP_SHARED and MAP_PRIVATE";
	if (!(v->flags & MAP_ANONYMOUS) != !is_anon_kind(v->kind))
		return "MAP_ANONYMOUS does not match its kind";
	if (shared && (v->kind == VMA__KIND__HEAP || v->kind == VMA__KIND__STACK ||
		       is_kernel_kind(v->kind)))
		return "shared, which its kind cannot be";
	if (!shared && v->kind == VMA__KIND__SYSV_SHM)
		return "SysV shared memory mapped private";
	if (v->kind == VMA__KIND__PACKET_RING &&
	    (!shared || v->pgoff || (v->flags & ~(uint32_t)(MAP_SHARED | MAP_NORESERVE))))
		return "a packet ring not mapped shared from offset 0";
	if ((v->flags & MAP_GROWSDOWN) && (shared || v->kind == VMA__KIND__HEAP ||
					   is_kernel_kind(v->kind)))
		return "MAP_GROWSDOWN, which its kind cannot have";
	if (v->has_madvise && (v->madvise & ~VMA_MADV_ALL))
		return "unknown madvise bits";
	if (!is_file_kind(v->kind) && v->file_path)
		return "file path, which its kind cannot have";
	if (is_file_kind(v->kind) && (!v->file_path || !*v->file_path))
		return "no file path";
	if (v->file_path && strlen(v->file_path) >= PATH_MAX)
		return "file path longer than PATH_MAX";
	if ((v->kind == VMA__KIND__FILE || v->kind == VMA__KIND__DELETED_FILE) &&
	    v->file_path[0] != '/')
		return "relative file path";
	if (v->kind == VMA__KIND__MEMFD && strlen(v->file_path) > MEMFD_NAME_MAX)
		return "memfd name longer than the kernel allows";
	if (is_file_kind(v->kind) && !(v->has_file_dev && v->has_file_ino && v->has_file_size))
		return "no file identity (dev, ino, size)";
	if (v->kind == VMA__KIND__SYSV_SHM &&
	    (!sysv_name_valid(v->file_path) || v->file_ino > INT32_MAX))
		return "SysV segment without a kernel name (/SYSVkey) or id";
	if (v->has_file_id != vma_has_file_object(v))
		return v->has_file_id ? "file object, which its kind cannot have" :
					"no file object (file_id) for a memfd, deleted file or "
					"shared anonymous memory";
	if (v->has_pgoff && (v->pgoff % PS || v->pgoff > UINT64_MAX - (v->end - v->start)))
		return "invalid file offset";
	if (v->anon_name && (v->kind != VMA__KIND__ANON || !anon_name_valid(v->anon_name)))
		return "invalid anon name";
	if (v->has_file_writable && v->file_writable && !shared)
		return "file_writable on a mapping that is not shared";
	if ((v->madvise & VMA_MADV_LOCKONFAULT) && !(v->madvise & VMA_MADV_LOCKED))
		return "locked on fault but not locked";
	if ((v->madvise & VMA_MADV_DROPPABLE) && (shared || v->kind != VMA__KIND__ANON))
		return "MAP_DROPPABLE on a mapping that is not private anonymous memory";
	if (aio_problem(v))
		return aio_problem(v);
	if (huge_problem(v))
		return huge_problem(v);
	return guards_problem(v);
}

static int check_fields(const char *path, size_t off, const Mm *mm)
{
	const struct {
		const char *name;
		uint64_t start, end;
	} spans[] = {
		{ "code", mm->start_code, mm->end_code },
		{ "data", mm->start_data, mm->end_data },
		{ "heap", mm->start_brk, mm->brk },
		{ "arguments", mm->arg_start, mm->arg_end },
		{ "environment", mm->env_start, mm->env_end },
	};
	size_t n = mm->n_auxv;

	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		if (spans[i].start > spans[i].end || spans[i].end > VMA_USER_END) {
			image_error(path, off, "the %s area 0x%llx..0x%llx is reversed or outside user space",
				    spans[i].name, (unsigned long long)spans[i].start,
				    (unsigned long long)spans[i].end);
			return -EBADMSG;
		}
	}
	if (mm->has_mlockall && mm->mlockall && mm->mlockall != MCL_FUTURE &&
	    mm->mlockall != (MCL_FUTURE | MCL_ONFAULT)) {
		image_error(path, off, "mlockall flags %#x are not MCL_FUTURE with or without "
			    "MCL_ONFAULT", mm->mlockall);
		return -EBADMSG;
	}
	if (mm->start_stack > VMA_USER_END) {
		image_error(path, off, "the stack start 0x%llx is outside user space",
			    (unsigned long long)mm->start_stack);
		return -EBADMSG;
	}
	if (n < 2 || n % 2 || n > MM_AUXV_MAX_WORDS || mm->auxv[n - 2] != 0) {
		image_error(path, off, "auxv of %zu words is not pairs ending with AT_NULL (at most %d words)",
			    n, MM_AUXV_MAX_WORDS);
		return -EBADMSG;
	}
	for (size_t i = 0; i + 2 < n; i += 2) {
		if (mm->auxv[i] == 0) {
			image_error(path, off, "auxv has AT_NULL at word %zu, before its end", i);
			return -EBADMSG;
		}
	}
	if (mm->exe_path && (!*mm->exe_path || strlen(mm->exe_path) >= PATH_MAX)) {
		image_error(path, off, "exe path is empty or longer than PATH_MAX");
		return -EBADMSG;
	}
	return 0;
}

int mm_check(const struct image *img, const struct image_dir *dir, int id)
{
	const Mm *mm;
	size_t off;
	int ret;

	(void)dir;
	(void)id;
	if (img->nr_records != 1) {
		off = img->nr_records ? img->records[1].offset : IMG_HDR_SIZE;
		image_error(img->path, off, "an mm image holds one record, this one holds %zu",
			    img->nr_records);
		return -EBADMSG;
	}
	mm = (const Mm *)img->records[0].msg;
	off = img->records[0].offset;
	ret = check_fields(img->path, off, mm);
	if (ret)
		return ret;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Vma *v = mm->vmas[i];
		const char *problem = vma_problem(v);

		if (problem) {
			image_error(img->path, off, "mapping %zu (0x%llx..0x%llx, kind %d): %s", i,
				    (unsigned long long)v->start, (unsigned long long)v->end, v->kind,
				    problem);
			return -EBADMSG;
		}
		if (i && v->start < mm->vmas[i - 1]->end) {
			image_error(img->path, off,
				    "mapping %zu (0x%llx..0x%llx) is not after the one before, which ends at 0x%llx",
				    i, (unsigned long long)v->start, (unsigned long long)v->end,
				    (unsigned long long)mm->vmas[i - 1]->end);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Every range of the pagemap must lie in mappings, without gaps, whose
 * pages dump saves: restore has nowhere else to put them. */
static int check_pagemap(const struct image *pagemap, const Mm *mm)
{
	size_t v = 0;

	for (size_t i = 0; i < pagemap->nr_records; i++) {
		const PagemapEntry *e = (const PagemapEntry *)pagemap->records[i].msg;
		uint64_t addr = e->vaddr, end = e->vaddr + e->nr_pages * PS;

		while (addr < end) {
			while (v < mm->n_vmas && mm->vmas[v]->end <= addr)
				v++;
			if (v == mm->n_vmas || mm->vmas[v]->start > addr ||
			    vma_pages(mm->vmas[v]) == VMA_PAGES_NONE) {
				image_error(pagemap->path, pagemap->records[i].offset,
					    "pages at 0x%llx (in range 0x%llx..0x%llx) lie in no mapping whose pages are saved",
					    (unsigned long long)addr, (unsigned long long)e->vaddr,
					    (unsigned long long)end);
				return -EBADMSG;
			}
			addr = mm->vmas[v]->end < end ? mm->vmas[v]->end : end;
		}
	}
	return 0;
}

int mm_load(const struct image_dir *dir, int pid, Mm **out)
{
	struct image *img = NULL, *pagemap = NULL;
	int ret;

	ret = image_read(dir, IMG_MM, pid, &img);
	if (ret)
		return ret;
	ret = image_read(dir, IMG_PAGEMAP, pid, &pagemap);
	if (!ret)
		ret = check_pagemap(pagemap, (const Mm *)img->records[0].msg);
	if (!ret) {
		/* The record outlives its image. */
		*out = (Mm *)img->records[0].msg;
		img->nr_records = 0;
	}
	image_free(pagemap);
	image_free(img);
	return ret;
}

size_t mm_vma_at(const Mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void mm_free(Mm *mm)
{
	if (mm)
		protobuf_c_message_free_unpacked(&mm->base, NULL);
}

static const struct image_kind_desc mem_kinds[] = {
	{ IMG_MM, "mm", "mm-%d.img", &mm__descriptor, mm_check },
};

const struct image_kind_set mem_image_kinds = { "mem", mem_kinds, ARRAY_SIZE(mem_kinds) };
