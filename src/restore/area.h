/* The restorer's area as area.c builds it: a bump allocator for the
 * argument arrays, and the parts of the arguments other files fill.
 * Private to src/restore; the blob's side is restorer/args.h. */
#ifndef CRYO_RESTORE_AREA_H
#define CRYO_RESTORE_AREA_H

#include <stddef.h>
#include <stdint.h>

#include "restore/restore.h"
#include "restorer/args.h"

struct area {
	char *next;
	char *end;
};

/* @size bytes, 64-byte aligned, or NULL when the area is full. */
static inline void *area_alloc(struct area *a, size_t size)
{
	char *p = (char *)(((uintptr_t)a->next + 63) & ~63UL);

	if (p + size > a->end)
		return NULL;
	a->next = p + size;
	return p;
}

/* area_creds.c: the process's credentials into @args->creds and each
 * thread's own into @threads[i].creds (@threads in the order of the core's
 * threads), no_new_privs where a thread sets it itself; ids as the tree's
 * user namespace sees them when it has one. 0 or -errno, logged. */
int area_fill_creds(struct restorer_args *args, struct restorer_thread *threads,
		    struct area *area, const struct restore_task *rt);
/* The room area_fill_creds() takes from the area at most. */
size_t area_creds_room(const TaskCore *core);

#endif
