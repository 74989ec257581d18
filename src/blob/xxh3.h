/* XXH3-128 for the freestanding blobs: the restorer's check of the pages it
 * reads, the parasite's digest of the pages it splices. Only the hashing:
 * where a state lives and what it covers is each caller's. The state is
 * libxxhash's XXH3_state_t, 64-byte aligned, so that cryo's libxxhash and
 * a blob can take turns on one digest (images/hasher.c). */
#ifndef CRYO_BLOB_XXH3_H
#define CRYO_BLOB_XXH3_H

#include <stdint.h>

/* sizeof(XXH3_state_t) of xxhash 0.8 (checked where the header is seen). */
#define BLOB_XXH3_STATE_SIZE 576

/* AVX2 in the CPU and its YMM state enabled by the kernel. */
int blob_cpu_has_avx2(void);
/* A fresh XXH3-128 state, self-contained: the default secret is copied
 * into it rather than pointed to, so the state may move between address
 * spaces. */
void blob_xxh3_reset(void *state);
void blob_xxh3_update(void *state, const void *buf, uint64_t len, int avx2);
/* xxh3_avx2.c: the same update built with AVX2. */
void blob_xxh3_update_avx2(void *state, const void *buf, uint64_t len);
/* The canonical (big-endian) XXH3-128 of what @state was fed. */
void blob_xxh3_digest(const void *state, uint8_t out[16]);

#endif
