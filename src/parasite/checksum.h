/* The memory checksum the parasite computes for PARASITE_CMD_CHECKSUM, in a
 * header so that callers can compute the same value from outside and
 * compare. Not cryptographic: it detects changes, fast. Data may be fed in
 * pieces of any size that are multiples of 8 bytes, the last one excepted. */
#ifndef CRYO_PARASITE_CHECKSUM_H
#define CRYO_PARASITE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t checksum_mix(uint64_t h, uint64_t word)
{
	h ^= word;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static inline uint64_t checksum_start(uint64_t total_len)
{
	return 0xcbf29ce484222325ULL ^ total_len;
}

static inline uint64_t checksum_update(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;

	/* The 8-byte __builtin_memcpy is one unaligned load. */
	for (; i + 8 <= len; i += 8) {
		uint64_t word;

		__builtin_memcpy(&word, p + i, 8);
		h = checksum_mix(h, word);
	}
	for (; i < len; i++)
		h = checksum_mix(h, p[i]);
	return h;
}

static inline uint64_t memory_checksum(const void *data, size_t len)
{
	return checksum_update(checksum_start(len), data, len);
}

#endif
