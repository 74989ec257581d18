/* Restoring from a chain of image sets (criu's parent links, made by
 * --prev-images-dir): the parent sets opened and checked as whole sets,
 * and a task's pages store whose pagemap leaves pages in a parent made
 * whole. Not the writing of such a store (mem/pagedump.c). */
#ifndef CRYO_IMAGES_PAGES_CHAIN_H
#define CRYO_IMAGES_PAGES_CHAIN_H

#include <stdbool.h>

#include "images/image.h"
#include "images/pages.h"
#include "images/proto/inventory.pb-c.h"

struct sign_key;

/* The longest chain followed: criu's migrations use a few pre-dumps. */
#define PAGES_CHAIN_MAX 16

struct pages_chain {
	size_t nr;
	struct image_dir *dirs[PAGES_CHAIN_MAX];	/* [0] the parent, [1] its parent, ... */
};

/* Follows DIR/parent while @inv (the set's checked inventory) names a
 * parent: each parent must carry that dump id, be a set of the same tree
 * (root pid), pass the signature check with @key, and have every file
 * listed and equal to its digest, else the restore is refused naming it. */
int pages_chain_open(const struct image_dir *dir, const Inventory *inv,
		     const struct sign_key *key, struct pages_chain *out);
void pages_chain_close(struct pages_chain *c);

/* When @pr (task @pid of @dir) has pages IN_PARENT_IMAGE: a new unnamed
 * pages file (in @dir, else in memory) gets every present page, each from
 * the set that holds it, and the pagemap is made PRESENT; *@merged says
 * so. A page no parent holds fails the restore, naming it. */
int pages_chain_resolve(const struct pages_chain *c, const struct image_dir *dir,
			struct pages_reader *pr, int pid, bool *merged);

#endif
