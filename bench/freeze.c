/* The benchmark's freeze-time readers: the "frozen_us" of cryo's stats
 * JSON, and frozen_time (µs) of criu's stats-dump image, a protobuf
 * StatsEntry { DumpStatsEntry dump = 1 { uint32 frozen_time = 2; ... } }
 * after criu's two magic words and a 32-bit length. Nothing else of either
 * format is read. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freeze.h"

static size_t read_whole(const char *path, uint8_t *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

double cryo_frozen_seconds(const char *stats_json)
{
	char buf[8192];
	size_t n = read_whole(stats_json, (uint8_t *)buf, sizeof(buf) - 1);
	const char *at;

	buf[n] = '\0';
	at = strstr(buf, "\"frozen_us\":");
	return at ? strtod(at + 12, NULL) / 1e6 : -1;
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The value of varint field @want in the message [p, end), or of the
 * submessage field @want when @sub; false when absent or malformed. */
static bool find_field(const uint8_t *p, const uint8_t *end, uint64_t want, bool sub,
		       uint64_t *value, const uint8_t **sub_start, const uint8_t **sub_end)
{
	while (p < end) {
		uint64_t key, v;

		if (!varint(&p, end, &key))
			return false;
		switch (key & 7) {
		case 0:
			if (!varint(&p, end, &v))
				return false;
			if (!sub && key >> 3 == want) {
				*value = v;
				return true;
			}
			break;
		case 1:
			p += 8;
			break;
		case 2:
			if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
				return false;
			if (sub && key >> 3 == want) {
				*sub_start = p;
				*sub_end = p + v;
				return true;
			}
			p += v;
			break;
		case 5:
			p += 4;
			break;
		default:
			return false;
		}
	}
	return false;
}

double criu_frozen_seconds(const char *images_dir)
{
	uint8_t buf[4096];
	const uint8_t *dump, *dump_end;
	uint64_t us, len;
	char path[4200];
	size_t n;

	snprintf(path, sizeof(path), "%s/stats-dump", images_dir);
	n = read_whole(path, buf, sizeof(buf));
	if (n < 12)
		return -1;
	len = buf[8] | buf[9] << 8 | buf[10] << 16 | (uint64_t)buf[11] << 24;
	if (len > n - 12)
		return -1;
	if (!find_field(buf + 12, buf + 12 + len, 1, true, NULL, &dump, &dump_end) ||
	    !find_field(dump, dump_end, 2, false, &us, NULL, NULL))
		return -1;
	return us / 1e6;
}
