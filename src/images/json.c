/* Generic protobuf-c to JSON: walks ProtobufCFieldDescriptors to find each
 * field in the message struct, so it prints any schema. It trusts only what
 * protobuf-c guarantees after unpacking; values are not interpreted. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "images/json.h"

/* Length of the valid UTF-8 sequence at @s, or 0. Overlong forms,
 * surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	uint32_t c;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void json_print_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	while (len) {
		size_t n = utf8_seq_len(p, len);

		if (n == 0) {
			fputs("\\ufffd", out);
			n = 1;
		} else if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p);
		} else if (*p == '\n') {
			fputs("\\n", out);
		} else if (*p == '\t') {
			fputs("\\t", out);
		} else if (*p < 0x20) {
			fprintf(out, "\\u%04x", *p);
		} else {
			fwrite(p, 1, n, out);
		}
		p += n;
		len -= n;
	}
	fputc('"', out);
}

static void print_double(FILE *out, double v, int digits)
{
	if (isnan(v))
		fputs("\"nan\"", out);
	else if (isinf(v))
		fputs(v > 0 ? "\"inf\"" : "\"-inf\"", out);
	else
		fprintf(out, "%.*g", digits, v);
}

static void print_enum(FILE *out, const ProtobufCEnumDescriptor *ed, int value)
{
	for (unsigned i = 0; i < ed->n_values; i++) {
		if (ed->values[i].value == value) {
			json_print_string(out, ed->values[i].name, strlen(ed->values[i].name));
			return;
		}
	}
	/* A value from a newer schema: the number is all there is. */
	fprintf(out, "%d", value);
}

static size_t value_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static void print_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(out, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(out, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(out, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(out, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		print_double(out, *(const float *)p, 9);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		print_double(out, *(const double *)p, 17);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", out);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		print_enum(out, f->descriptor, *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		if (s)
			json_print_string(out, s, strlen(s));
		else
			fputs("null", out);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		fputc('"', out);
		for (size_t i = 0; i < b->len; i++)
			fprintf(out, "%02x", b->data[i]);
		fputc('"', out);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;

		if (m)
			json_print_message(out, m);
		else
			fputs("null", out);
		break;
	}
	}
}

/* Presence as protobuf-c's own packer decides it. */
static bool field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)msg;
	const void *member = base + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE ||
	    (f->type == PROTOBUF_C_TYPE_STRING && f->label == PROTOBUF_C_LABEL_OPTIONAL)) {
		const void *ptr = *(const void *const *)member;

		return ptr && ptr != f->default_value;
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	return true;
}

void json_print_message(FILE *out, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const char *base = (const char *)msg;
	bool first = true;

	fputc('{', out);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->label != PROTOBUF_C_LABEL_REPEATED && !field_present(msg, f))
			continue;
		if (!first)
			fputs(", ", out);
		first = false;
		json_print_string(out, f->name, strlen(f->name));
		fputs(": ", out);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *items = *(char *const *)(base + f->offset);

			fputc('[', out);
			for (size_t j = 0; j < n; j++) {
				if (j)
					fputs(", ", out);
				print_value(out, f, items + j * value_size(f->type));
			}
			fputc(']', out);
		} else {
			print_value(out, f, base + f->offset);
		}
	}
	fputc('}', out);
}

static void indent(FILE *out, int depth)
{
	fprintf(out, "%*s", depth * 2, "");
}

void json_print_image(FILE *out, const struct image *img, int depth)
{
	fputs("{\n", out);
	indent(out, depth + 1);
	fputs("\"kind\": ", out);
	json_print_string(out, img->kind->name, strlen(img->kind->name));
	fputs(",\n", out);
	indent(out, depth + 1);
	fprintf(out, "\"version\": %" PRIu32 ",\n", img->version);
	if (img->has_dump_id) {
		char id[2 * IMG_DUMP_ID_SIZE + 1];

		indent(out, depth + 1);
		fprintf(out, "\"dump_id\": \"%s\",\n", image_dump_id_text(img->dump_id, id));
	}
	indent(out, depth + 1);
	fputs("\"records\": [", out);
	for (size_t i = 0; i < img->nr_records; i++) {
		fputs(i ? ",\n" : "\n", out);
		indent(out, depth + 2);
		json_print_message(out, img->records[i].msg);
	}
	if (img->nr_records) {
		fputc('\n', out);
		indent(out, depth + 1);
	}
	fputs("]\n", out);
	indent(out, depth);
	fputc('}', out);
}
