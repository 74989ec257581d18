/* What the trust tests share (trust_util.c): images forged as an attacker
 * would, checksums and digests put right, and cryo run as another user.
 * The tests themselves are test_trust.c's and test_trust_threads.c's. */
#ifndef CRYO_TESTS_TRUST_UTIL_H
#define CRYO_TESTS_TRUST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <xxhash.h>

#include "cryo_driver.h"

/* Gives directory @dir and every file in it to @uid. */
bool give_tree(const char *dir, uid_t uid);
/* Replaces every @len bytes @from in the image files of @dir (only file
 * @only, unless NULL) by @to, and puts right the checksum of each record it
 * changed, as a forger would. */
bool forge_bytes(const char *dir, const char *only, const void *from, const void *to,
		 size_t len);
/* forge_bytes(), and then, the digests being keyless, the new digest of
 * each file it changed written into the inventory, as a forger would. */
bool forge_set_bytes(const char *dir, const char *only, const void *from, const void *to,
		     size_t len);
/* The XXH3-128 of file @name of @dir, canonical. */
bool digest_of(const char *dir, const char *name, XXH128_canonical_t *out);
/* In cryo's child before exec: uid and gid 1000, with no supplementary
 * group (@group NULL) or the gid_t @group points to, and
 * CAP_CHECKPOINT_RESTORE alone (ambient, so that it survives the exec). */
void become_unprivileged_restorer(void *group);
/* The group of become_unprivileged_restorer() that uid 1000 is not in. */
extern const gid_t root_group_id;
/* Restores @img as root and the program, now @image_pid again, passes. */
bool restores_as_dumped(struct prog *p, const char *img, pid_t image_pid);

#endif
