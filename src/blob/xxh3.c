/* XXH3-128 for the blobs: libxxhash's header inlined whole and freestanding.
 * This file alone is built with SSE2 (Makefile): the scalar XXH3 is several
 * times slower, and the task's vector registers are cryo's to set back
 * after a blob. The AVX2 build (xxh3_avx2.c) is taken where the CPU and the
 * kernel allow it: 57 GB/s against 20 over a 1 MiB chunk just copied. */
#define XXH_INLINE_ALL
#define XXH_FORCE_MEMORY_ACCESS 2	/* plain unaligned loads: no memcpy calls */
#define XXH_NO_STDLIB
#include <xxhash.h>

#include "blob/xxh3.h"

_Static_assert(sizeof(XXH3_state_t) == BLOB_XXH3_STATE_SIZE, "XXH3_state_t changed size");

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

/* AVX2 in the CPU (leaf 7, EBX bit 5), and the YMM state enabled by the
 * kernel (OSXSAVE, then XCR0's SSE and AVX bits), else an AVX2 instruction
 * would fault. */
int blob_cpu_has_avx2(void)
{
	uint32_t r[4], lo, hi;

	cpuid(0, 0, r);
	if (r[0] < 7)
		return 0;
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 27)) || !(r[2] & (1u << 28)))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	(void)hi;
	if ((lo & 6) != 6)
		return 0;
	cpuid(7, 0, r);
	return !!(r[1] & (1u << 5));
}

void blob_xxh3_reset(void *state)
{
	XXH3_state_t *s = state;

	XXH3_INITSTATE(s);
	XXH3_128bits_reset(s);
	/* The reset points at the library's secret; a copy goes anywhere. */
	__builtin_memcpy(s->customSecret, XXH3_kSecret, sizeof(s->customSecret));
	s->extSecret = 0;
}

void blob_xxh3_update(void *state, const void *buf, uint64_t len, int avx2)
{
	if (avx2)
		blob_xxh3_update_avx2(state, buf, len);
	else
		XXH3_128bits_update(state, buf, (size_t)len);
}

void blob_xxh3_digest(const void *state, uint8_t out[16])
{
	XXH128_canonical_t got;

	XXH128_canonicalFromHash(&got, XXH3_128bits_digest(state));
	__builtin_memcpy(out, got.digest, sizeof(got.digest));
}
