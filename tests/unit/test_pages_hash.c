/* The restorer's pages digest (src/restorer/pages_hash.c, blob/xxh3*.c)
 * against libxxhash: the same XXH3-128 whichever update runs, alone or
 * alternating on one state, and the CPU check agrees with the compiler's.
 * A digest that differed would fail every restore, or pass a damaged one. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "harness.h"
#include "images/hasher.h"

/* The blob files themselves, built hosted: the state is static. */
#include "blob/xxh3.c"
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

/* The dump's digest of a pages file is libxxhash's, fed in cryo, then by
 * the parasite (blob/xxh3.c) for the pages it splices, then in cryo again:
 * the state crosses address spaces, so it must not point into either. */
TEST(pages_digest_goes_from_libxxhash_to_the_blob_and_back)
{
	uint8_t *buf = sample();
	struct image_hasher *h = image_hasher_new(IMG_DIGEST_XXH3_128);
	uint8_t state[BLOB_XXH3_STATE_SIZE] __attribute__((aligned(64)));
	uint8_t got[IMG_DIGEST_MAX];
	XXH128_canonical_t want;
	uint32_t buffered;

	CHECK(buf && h, "out of memory");
	XXH128_canonicalFromHash(&want, XXH3_128bits(buf, BYTES));
	/* Uneven pieces, so that the state holds buffered bytes at each turn. */
	CHECK(!image_hasher_update(h, buf, 1000), "libxxhash refused bytes");
	CHECK(!image_hasher_export(h, state, sizeof(state)), "the state was not handed out");
	CHECK(!((XXH3_state_t *)state)->extSecret, "the state handed out points at a secret");
	blob_xxh3_update(state, buf + 1000, PAGE * 100, __builtin_cpu_supports("avx2"));
	CHECK(!image_hasher_import(h, state, sizeof(state)), "the state was not taken back");
	CHECK(!image_hasher_update(h, buf + 1000 + PAGE * 100, BYTES - 1000 - PAGE * 100),
	      "libxxhash refused bytes");
	/* A damaged state is refused, and the digest keeps its own. */
	CHECK(!image_hasher_export(h, state, sizeof(state)), "the state was not handed out");
	buffered = 100000;
	memcpy(state + offsetof(XXH3_state_t, bufferedSize), &buffered, sizeof(buffered));
	CHECK(image_hasher_import(h, state, sizeof(state)) == -EPROTO,
	      "a state with 100000 bytes buffered was taken");
	image_hasher_final(h, got);
	CHECK(!memcmp(got, want.digest, 16), "the digest fed in turns differs from libxxhash's");
	free(buf);
}
