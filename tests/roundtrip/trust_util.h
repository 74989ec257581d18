/* What the trust tests share (trust_util.c): images forged as an attacker
 * would, checksums and digests put right, and cryo run as another user.
 * The tests themselves are test_trust.c's and test_trust_threads.c's. */
#ifndef CRYO_TESTS_TRUST_UTIL_H
#define CRYO_TESTS_TRUST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <xxhash.h>

/* Gives directory @dir and every file in it to @uid. */
bool give_tree(const char *dir, uid_t uid);
/* Replaces every @len bytes @from in the image files of @dir by @to, and
 * puts right the checksum of each record it changed, as a forger would. */
bool forge_bytes(const char *dir, const void *from, const void *to, size_t len);
/* The XXH3-128 of file @name of @dir, canonical. */
bool digest_of(const char *dir, const char *name, XXH128_canonical_t *out);
/* In cryo's child before exec: uid 1000, in group 0 too, with
 * CAP_CHECKPOINT_RESTORE alone. */
void become_restorer_in_group_0(void *arg);

#endif
