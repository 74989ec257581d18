/* The AVX2 build of the blobs' XXH3 update, and nothing else: the state and
 * the choice between this and the SSE2 one are the caller's (xxh3.h). The
 * state's layout does not depend on the vector width, so either update may
 * feed it. */
#define XXH_INLINE_ALL
#define XXH_FORCE_MEMORY_ACCESS 2	/* plain unaligned loads: no memcpy calls */
#define XXH_NO_STDLIB
#include <xxhash.h>

#include "blob/xxh3.h"

void blob_xxh3_update_avx2(void *state, const void *buf, uint64_t len)
{
	XXH3_128bits_update(state, buf, (size_t)len);
}
