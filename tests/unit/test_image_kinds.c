/* Unit tests of the registry of image kinds: every part's kinds are
 * registered, each with a check when it has records, and the registry
 * refuses a kind whose number, name or file name is taken. */
#include <errno.h>

#include "harness.h"
#include "test_images_util.h"
#include "images/image.h"
#include "images/proto/inventory.pb-c.h"

/* The numbers image.h reserves; 9 was never given out. */
static const enum image_kind reserved_kinds[] = {
	IMG_INVENTORY, IMG_PAGEMAP, IMG_PAGES, IMG_CORE, IMG_MM, IMG_FDS, IMG_FILES,
	IMG_FILE_DATA, IMG_PSTREE, IMG_SYSV_SHM, IMG_SYSV_SHM_DATA, IMG_LOCKS,
};

/* cryo_register_image_kinds() ran (tests/unit/image_kinds_setup.c): every
 * reserved number has its part's kind, and every kind with records a
 * check, so that `cryo show` and the fuzz target run them all. */
TEST(every_part_registers_its_kinds_each_with_a_check)
{
	char name[64];
	int id;

	for (size_t i = 0; i < ARRAY_SIZE(reserved_kinds); i++) {
		const struct image_kind_desc *k = image_kind_get(reserved_kinds[i]);

		CHECK(k, "kind %d is not registered", reserved_kinds[i]);
		CHECK(!k->desc || k->check, "kind '%s' has records but no check", k->name);
		CHECK(!image_file_name(k->kind, 77, name, sizeof(name)), "kind '%s'", k->name);
		CHECK(image_kind_match(name, &id) == k, "%s does not match back", name);
	}
}

TEST(registry_refuses_kinds_that_clash)
{
	static const struct image_kind_desc same_number[] = {
		{ IMG_FILES, "other", "other.img", &inventory__descriptor, NULL },
	};
	static const struct image_kind_desc same_name[] = {
		{ 98, "files", "other.img", &inventory__descriptor, NULL },
	};
	static const struct image_kind_desc same_file[] = {
		{ 98, "other", "core-%d.img", &inventory__descriptor, NULL },
	};
	static const struct image_kind_desc twice_in_one[] = {
		{ 98, "other", "other.img", &inventory__descriptor, NULL },
		{ 99, "other", "other2.img", &inventory__descriptor, NULL },
	};
	static const struct image_kind_desc fine[] = {
		{ 98, "test-only", "test-only-%d.img", &inventory__descriptor, NULL },
	};
	static const struct image_kind_set bad[] = {
		{ "number", same_number, 1 }, { "name", same_name, 1 },
		{ "file", same_file, 1 }, { "twice", twice_in_one, 2 },
	};
	static const struct image_kind_set good = { "test", fine, 1 };
	struct capture cap;
	char *msg;
	int ret, id;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		capture_begin(&cap, 2);
		ret = image_kinds_register(&bad[i]);
		msg = capture_end(&cap);
		CHECK(ret == -EEXIST && msg && strstr(msg, "clashes with kind"),
		      "%s: %d, said: %s", bad[i].part, ret, msg);
		free(msg);
		CHECK(!image_kind_match("other.img", &id), "%s was registered", bad[i].part);
	}
	CHECK(image_kind_get(IMG_FILES) && !strcmp(image_kind_get(IMG_FILES)->name, "files"),
	      "files.img lost its kind");
	CHECK(!image_kinds_register(&good) && !image_kinds_register(&good), "good set refused");
	CHECK(image_kind_get(98) == &fine[0], "kind 98 not found");
}
