/* The restorer's running XXH3-128 of the pages file it reads, so that the
 * pages are verified as they come in instead of in a pass of their own.
 * libxxhash's header, inlined whole and freestanding; this file alone is
 * built with SSE2 (Makefile): the scalar XXH3 is several times slower, and
 * the task's vector registers are cryo's to set after the restorer. The
 * AVX2 build (pages_hash_avx2.c) is taken where the CPU and the kernel
 * allow it: 57 GB/s against 20 over a 1 MiB chunk just copied, here. */
#define XXH_INLINE_ALL
#define XXH_FORCE_MEMORY_ACCESS 2	/* plain unaligned loads: no memcpy calls */
#define XXH_NO_STDLIB
#include <xxhash.h>

#include "restorer/restorer.h"

/* The blob's one digest, and which update feeds it. */
static struct {
	XXH3_state_t state;
	int avx2;
} digest;

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

/* AVX2 in the CPU (leaf 7, EBX bit 5), and the YMM state enabled by the
 * kernel (OSXSAVE, then XCR0's SSE and AVX bits), else an AVX2 instruction
 * would fault. */
static int cpu_has_avx2(void)
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

void pages_hash_begin(void)
{
	XXH3_INITSTATE(&digest.state);
	XXH3_128bits_reset(&digest.state);
	digest.avx2 = cpu_has_avx2();
}

void pages_hash_update(const void *buf, uint64_t len)
{
	if (digest.avx2)
		pages_hash_update_avx2(&digest.state, buf, len);
	else
		XXH3_128bits_update(&digest.state, buf, (size_t)len);
}

int pages_hash_matches(const uint8_t want[16])
{
	XXH128_canonical_t got;
	int diff = 0;

	XXH128_canonicalFromHash(&got, XXH3_128bits_digest(&digest.state));
	for (int i = 0; i < 16; i++)
		diff |= got.digest[i] ^ want[i];
	return !diff;
}
