/* CRC32C (Castagnoli), the checksum that protects image headers and records.
 * Only a checksum: it detects corruption, not tampering. */
#ifndef CRYO_IMAGES_CRC32C_H
#define CRYO_IMAGES_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Continues @crc (0 to start) over @len bytes, so that
 * crc32c(crc32c(0, a), b) == crc32c(0, a followed by b). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The same, a byte at a time, on any CPU (what crc32c() falls back to). */
uint32_t crc32c_bytewise(uint32_t crc, const void *buf, size_t len);

#endif
