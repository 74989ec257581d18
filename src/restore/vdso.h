/* Placing the vDSO at restore: in its saved place when this kernel's is the
 * saved one, or elsewhere with the saved one proxying to it (vdso.c). */
#ifndef CRYO_RESTORE_VDSO_H
#define CRYO_RESTORE_VDSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/pages.h"
#include "images/proto/mm.pb-c.h"
#include "restorer/args.h"

struct maps_now;

struct vdso_plan {
	bool proxy;			/* the saved vDSO comes back as a proxy */
	uint64_t block_start;		/* where ARCH_MAP_VDSO_64 maps the new block */
	uint64_t block_size;		/* this kernel's [vvar]...[vdso] block */
	uint64_t text_offset;		/* of [vdso] within that block */
	uint64_t old_text, old_text_end;	/* the saved [vdso], proxy only */
	struct restorer_patch *patches;
	size_t nr_patches;
	unsigned char *saved;		/* the saved [vdso] bytes */
	size_t saved_size;
};

/* Decides in place or proxy; a task without a vDSO gets a zeroed plan.
 * @now: cryo's mappings, where this kernel's block is. */
int vdso_plan_make(const Mm *mm, const struct pages_reader *pr, const struct maps_now *now,
		   struct vdso_plan *plan);
/* For a proxy, sets where the new block goes and computes the jumps. */
int vdso_plan_place(struct vdso_plan *plan, uint64_t block_start);
void vdso_plan_free(struct vdso_plan *plan);

#endif
