/* Finding the pages of a mapping that dump must save (see vma_pages()):
 * with the PAGEMAP_SCAN ioctl, or by reading /proc/PID/pagemap in bounded
 * chunks where the kernel lacks it. Says which pages, never reads them. */
#ifndef CRYO_MEM_PAGESCAN_H
#define CRYO_MEM_PAGESCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/proto/mm.pb-c.h"

enum pagescan_method {
	PAGESCAN_AUTO,		/* the ioctl, or the pagemap file if the kernel lacks it */
	PAGESCAN_IOCTL,		/* PAGEMAP_SCAN only */
	PAGESCAN_PAGEMAP,	/* reading /proc/PID/pagemap only */
};

/* Page-aligned [start, end) runs in ascending order, adjacent runs merged. */
struct page_range {
	uint64_t start, end;
};

struct page_ranges {
	size_t nr, cap;
	struct page_range *v;
};

void page_ranges_free(struct page_ranges *ranges);
/* Appends [@start, @end), above every range of @r, merged with the last
 * when adjacent; -ENOMEM when there is no room. */
int page_ranges_push(struct page_ranges *r, uint64_t start, uint64_t end);

struct pagescan;

int pagescan_open(pid_t pid, enum pagescan_method method, struct pagescan **out);
void pagescan_close(struct pagescan *ps);

/* The method in use: AUTO has become IOCTL or PAGEMAP after the first scan. */
enum pagescan_method pagescan_method(const struct pagescan *ps);

/* Says that the mappings to scan, asked for in ascending order, end at
 * @end: one PAGEMAP_SCAN may then cover many of them. Without it each
 * mapping is scanned alone. */
void pagescan_set_end(struct pagescan *ps, uint64_t end);

/* Replaces the contents of @out with the pages of @vma to save. */
int pagescan_vma(struct pagescan *ps, const Vma *vma, struct page_ranges *out);

/* Replaces the contents of @out with the guard regions (MADV_GUARD_INSTALL)
 * of @vma, which pagescan_vma() never lists. */
int pagescan_guards(struct pagescan *ps, const Vma *vma, struct page_ranges *out);

#endif
