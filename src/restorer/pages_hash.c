/* The restorer's running XXH3-128 of the pages file it reads, so that the
 * pages are verified as they come in instead of in a pass of their own.
 * libxxhash's header, inlined whole and freestanding; this file alone is
 * built with SSE2 (Makefile): the scalar XXH3 is several times slower, and
 * the task's vector registers are cryo's to set after the restorer. */
#define XXH_INLINE_ALL
#define XXH_FORCE_MEMORY_ACCESS 2	/* plain unaligned loads: no memcpy calls */
#define XXH_NO_STDLIB
#include <xxhash.h>

#include "restorer/restorer.h"

static XXH3_state_t state;

void pages_hash_begin(void)
{
	XXH3_INITSTATE(&state);
	XXH3_128bits_reset(&state);
}

void pages_hash_update(const void *buf, uint64_t len)
{
	XXH3_128bits_update(&state, buf, (size_t)len);
}

int pages_hash_matches(const uint8_t want[16])
{
	XXH128_canonical_t got;
	int diff = 0;

	XXH128_canonicalFromHash(&got, XXH3_128bits_digest(&state));
	for (int i = 0; i < 16; i++)
		diff |= got.digest[i] ^ want[i];
	return !diff;
}
