/* One running digest: XXH3-128 (libxxhash) for an unsigned set, BLAKE2b-256
 * (libsodium) for a signed one. Knows nothing of files: the writer and the
 * digest pass feed it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
/* XXH3_state_t's layout: its state crosses into the parasite and back. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
/* The library's runtime dispatch: XXH3 with AVX2 where the CPU has it, about
 * three times the SSE2 baseline over a buffer in the cache (57 GB/s against
 * 20 here), which is what the page dump hashes right after each read. */
#include <xxh_x86dispatch.h>

#include "common/log.h"
#include "images/hasher.h"

struct image_hasher {
	enum image_digest_kind kind;
	XXH3_state_t *xxh3;
	crypto_generichash_state blake2b;
};

size_t image_digest_size(enum image_digest_kind kind)
{
	return kind == IMG_DIGEST_BLAKE2B_256 ? IMG_BLAKE2B_SIZE : IMG_XXH3_SIZE;
}

struct image_hasher *image_hasher_new(enum image_digest_kind kind)
{
	struct image_hasher *h = calloc(1, sizeof(*h));

	if (!h)
		goto fail;
	h->kind = kind;
	if (kind == IMG_DIGEST_BLAKE2B_256) {
		if (sodium_init() < 0 ||
		    crypto_generichash_init(&h->blake2b, NULL, 0, IMG_BLAKE2B_SIZE))
			goto fail;
		return h;
	}
	h->xxh3 = XXH3_createState();
	if (!h->xxh3)
		goto fail;
	XXH3_128bits_reset(h->xxh3);
	return h;
fail:
	free(h);
	pr_err("cannot start a file digest (out of memory, or libsodium failed)");
	return NULL;
}

int image_hasher_update(struct image_hasher *h, const void *buf, size_t len)
{
	if (h->kind == IMG_DIGEST_BLAKE2B_256)
		return crypto_generichash_update(&h->blake2b, buf, len) ? -EIO : 0;
	return XXH3_128bits_update(h->xxh3, buf, len) == XXH_OK ? 0 : -EIO;
}

void image_hasher_final(struct image_hasher *h, uint8_t digest[IMG_DIGEST_MAX])
{
	XXH128_canonical_t canonical;

	if (h->kind == IMG_DIGEST_BLAKE2B_256) {
		crypto_generichash_final(&h->blake2b, digest, IMG_BLAKE2B_SIZE);
	} else {
		XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(h->xxh3));
		memcpy(digest, canonical.digest, IMG_XXH3_SIZE);
	}
	image_hasher_free(h);
}

void image_hasher_free(struct image_hasher *h)
{
	if (!h)
		return;
	XXH3_freeState(h->xxh3);
	free(h);
}

int image_hasher_export(struct image_hasher *h, void *state, size_t size)
{
	XXH3_state_t *s = h->xxh3;

	if (h->kind != IMG_DIGEST_XXH3_128)
		return -EOPNOTSUPP;
	if (size != sizeof(*s))
		return -EINVAL;
	/* A reset state points at the library's default secret: the same
	 * bytes, copied in, serve anywhere. */
	if (s->extSecret) {
		memcpy(s->customSecret, s->extSecret, sizeof(s->customSecret));
		s->extSecret = NULL;
	}
	memcpy(state, s, sizeof(*s));
	return 0;
}

int image_hasher_import(struct image_hasher *h, const void *state, size_t size)
{
	XXH3_state_t *s = h->xxh3, in;

	if (h->kind != IMG_DIGEST_XXH3_128)
		return -EOPNOTSUPP;
	if (size != sizeof(in))
		return -EINVAL;
	memcpy(&in, state, sizeof(in));
	/* What bounds libxxhash's indexing must be as it was, or in range. */
	if (in.extSecret || in.useSeed != s->useSeed || in.seed != s->seed ||
	    in.secretLimit != s->secretLimit || in.nbStripesPerBlock != s->nbStripesPerBlock ||
	    in.bufferedSize > sizeof(in.buffer) || in.nbStripesSoFar >= in.nbStripesPerBlock ||
	    memcmp(in.customSecret, s->customSecret, sizeof(in.customSecret)) ||
	    in.totalLen < s->totalLen) {
		pr_err("a file digest came back from the parasite damaged");
		return -EPROTO;
	}
	memcpy(s, &in, sizeof(in));
	return 0;
}
