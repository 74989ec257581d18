/* libFuzzer target for the image reader: whatever the bytes, image_parse()
 * must refuse them with an error or return records that passed every
 * check (every part's kinds are registered, so every check runs) and print
 * as JSON, with no crash, leak or undefined behaviour. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/image_kinds.h"
#include "images/crc32c.h"
#include "images/format.h"
#include "images/image.h"
#include "images/json.h"

/* Mutations almost never keep checksums right, so most inputs would stop
 * at the first CRC; a copy with the checksums recomputed reaches the
 * decoder, the kind checks and the JSON printer. */
static void fix_checksums(uint8_t *buf, size_t len)
{
	size_t off;

	if (len < IMG_HDR_VERSION_OFF + 4)
		return;
	off = img_hdr_size(get_le32(buf + IMG_HDR_VERSION_OFF));
	if (len < off)
		return;
	put_le32(buf + off - 4, crc32c(0, buf, off - 4));
	while (len - off >= IMG_REC_HDR_SIZE) {
		uint32_t rlen = get_le32(buf + off);

		if (rlen == IMG_END_MARK || rlen > len - off - IMG_REC_HDR_SIZE)
			return;
		put_le32(buf + off + 4,
			 crc32c(crc32c(0, buf + off, 4), buf + off + IMG_REC_HDR_SIZE, rlen));
		off += IMG_REC_HDR_SIZE + rlen;
	}
}

static void parse(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct image *img;

	if (!sink)
		sink = fopen("/dev/null", "we");
	if (image_parse("fuzz.img", data, size, &img))
		return;
	if (sink)
		json_print_image(sink, img, 0);
	image_free(img);
}

/* Every part's kinds, so that every check runs. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (cryo_register_image_kinds())
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed = malloc(size ? size : 1);

	parse(data, size);
	if (fixed) {
		memcpy(fixed, data, size);
		fix_checksums(fixed, size);
		parse(fixed, size);
		free(fixed);
	}
	return 0;
}
