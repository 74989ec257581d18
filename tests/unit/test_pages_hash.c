/* The restorer's pages digest (src/restorer/pages_hash.c and its AVX2 twin)
 * against libxxhash: the same XXH3-128 whichever update runs, alone or
 * alternating on one state, and the CPU check agrees with the compiler's.
 * A digest that differed would fail every restore, or pass a damaged one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "harness.h"

/* The blob file itself, built hosted: its state and CPU check are static. */
#include "restorer/pages_hash.c"

#define BYTES (3u << 20)
#define PAGE 4096u

static uint8_t *sample(void)
{
	uint8_t *buf = aligned_alloc(PAGE, BYTES);
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; buf && i < BYTES; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	return buf;
}

/* Feeds @buf in runs of pages of growing size, as the fills do; @mode 0:
 * the SSE2 update, 1: the AVX2 one, 2: the two in turn. */
static int digest_matches(const uint8_t *buf, int mode, const uint8_t want[16])
{
	uint64_t off = 0, run = PAGE;

	pages_hash_begin();
	for (int turn = 0; off < BYTES; turn++, run += PAGE) {
		uint64_t len = BYTES - off < run ? BYTES - off : run;

		digest.avx2 = mode == 2 ? turn & 1 : mode;
		pages_hash_update(buf + off, len);
		off += len;
	}
	return pages_hash_matches(want);
}

TEST(restorer_digest_is_xxh3_128_with_sse2_and_avx2)
{
	uint8_t *buf = sample();
	XXH128_canonical_t want;

	CHECK(buf, "out of memory");
	XXH128_canonicalFromHash(&want, XXH3_128bits(buf, BYTES));
	CHECK(digest_matches(buf, 0, want.digest), "the SSE2 update differs from libxxhash");
	if (!__builtin_cpu_supports("avx2")) {
		free(buf);
		harness_skip("this CPU has no AVX2: its update cannot run here");
		return;
	}
	CHECK(digest_matches(buf, 1, want.digest), "the AVX2 update differs from libxxhash");
	CHECK(digest_matches(buf, 2, want.digest), "SSE2 and AVX2 in turn differ from libxxhash");
	buf[BYTES / 2] ^= 1;
	CHECK(!digest_matches(buf, 1, want.digest), "a flipped byte went unseen");
	free(buf);
}

TEST(restorer_takes_avx2_where_the_cpu_has_it)
{
	int has_avx2 = !!__builtin_cpu_supports("avx2");

	pages_hash_begin();
	CHECK(digest.avx2 == has_avx2, "the restorer chose %s, the CPU has %s",
	      digest.avx2 ? "AVX2" : "SSE2", has_avx2 ? "AVX2" : "no AVX2");
}
