/* The restorer's running XXH3-128 of the pages file it reads, so that the
 * pages are verified as they come in instead of in a pass of their own.
 * The hashing is the blobs' (blob/xxh3.c, SSE2 or AVX2 as the CPU and the
 * kernel allow); this file keeps the one state of the restore. */
#include "blob/xxh3.h"
#include "restorer/restorer.h"

/* The blob's one digest, and which update feeds it. */
static struct {
	uint8_t state[BLOB_XXH3_STATE_SIZE] __attribute__((aligned(64)));
	int avx2;
} digest;

void pages_hash_begin(void)
{
	blob_xxh3_reset(digest.state);
	digest.avx2 = blob_cpu_has_avx2();
}

void pages_hash_update(const void *buf, uint64_t len)
{
	blob_xxh3_update(digest.state, buf, len, digest.avx2);
}

int pages_hash_matches(const uint8_t want[16])
{
	uint8_t got[16];
	int diff = 0;

	blob_xxh3_digest(digest.state, got);
	for (int i = 0; i < 16; i++)
		diff |= got[i] ^ want[i];
	return !diff;
}
