/* Names of anonymous mappings (PR_SET_VMA_ANON_NAME, "[anon:NAME]" in the
 * maps): the restorer gives each its name back (restorer/main.c). A kernel
 * built without CONFIG_ANON_VMA_NAME refuses every name, so an image that
 * has one is refused before anything is made, naming the first mapping,
 * rather than restored without its names. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "common/log.h"
#include "mem/vma.h"
#include "restore/restore.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

/* 0 when this kernel names a private anonymous page of cryo's, else the
 * errno of its refusal. */
static int kernel_refuses_names(void)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err = 0;

	if (page == MAP_FAILED)
		return errno;
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)page, 4096UL,
		  (unsigned long)"cryo-probe"))
		err = errno;
	munmap(page, 4096);
	return err;
}

int restore_check_anon_names(const struct restore_set *rs)
{
	char label[256];
	int err;

	for (size_t t = 0; t < rs->tree.nr; t++) {
		const Mm *mm = rs->tasks[t].mm;

		for (size_t i = 0; mm && i < mm->n_vmas; i++) {
			if (!mm->vmas[i]->anon_name)
				continue;
			err = kernel_refuses_names();
			if (!err)
				return 0;
			vma_label(mm->vmas[i], label, sizeof(label));
			pr_err("restore: pid %d vma %s: this kernel cannot name anonymous mappings "
			       "(PR_SET_VMA_ANON_NAME: %s; it needs CONFIG_ANON_VMA_NAME): not "
			       "supported", rs->tasks[t].pid, label, strerror(err));
			return -EOPNOTSUPP;
		}
	}
	return 0;
}
