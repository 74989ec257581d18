/* The byte layout of an image file, shared by the reader and the writer of
 * the images library (not part of its public API). docs/IMAGES.md describes
 * the same layout for humans. All integers are little-endian.
 *
 *   header   magic[8] "CRYOIMG\0" | version u32 | kind u32 | dump id[16] | crc u32
 *   record   length u32 | crc u32 | payload[length]   (repeated)
 *   trailer  IMG_END_MARK u32 | number of records u32, then end of file
 *
 * Format 1 had no dump id (a 20-byte header); it is still read, and
 * refused by restore, which needs every file tied to its dump.
 * The header crc covers the bytes before it; a record crc covers its length
 * field and its payload, so a flipped length is caught as well. */
#ifndef CRYO_IMAGES_FORMAT_H
#define CRYO_IMAGES_FORMAT_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define IMG_MAGIC "CRYOIMG"	/* with its NUL, the 8 magic bytes */
#define IMG_MAGIC_LEN 8

#define IMG_HDR_VERSION_OFF 8
#define IMG_HDR_KIND_OFF 12
#define IMG_HDR_DUMP_ID_OFF 16
#define IMG_HDR_CRC_OFF 32
#define IMG_HDR_SIZE 36
/* Format 1: no dump id. */
#define IMG_V1_HDR_CRC_OFF 16
#define IMG_V1_HDR_SIZE 20

#define IMG_REC_HDR_SIZE 8

/* A length that no record may have marks the trailer. */
#define IMG_END_MARK 0xffffffffu
#define IMG_TRAILER_SIZE 8

static inline size_t img_hdr_size(uint32_t version)
{
	return version == 1 ? IMG_V1_HDR_SIZE : IMG_HDR_SIZE;
}

static inline uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

#endif
