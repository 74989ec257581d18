/* Unit tests of signed image sets (images/sign.c): key files (raw, hex,
 * wrong length, too open, another user's, not a regular file) and the
 * inventory's MAC (made, checked, refused when changed, missing or not
 * expected). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "images/sign.h"
#include "test_images_util.h"

/* Writes @len bytes into @dir/@name with mode @mode; the path in @path. */
static int put_key(const char *dir, const char *name, const void *bytes, size_t len, mode_t mode,
		   char *path, size_t size)
{
	int fd;

	snprintf(path, size, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, bytes, len) != (ssize_t)len || fchmod(fd, mode)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

TEST(key_files_are_raw_or_hex_and_private)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	static const char hex[] = "000102030405060708090a0b0c0d0e0f"
				  "101112131415161718191a1b1c1d1e1f\n";
	uint8_t raw[SIGN_KEY_SIZE];
	struct sign_key a, b;
	char path[4096];

	CHECK(tmp, "scratch directory");
	for (int i = 0; i < SIGN_KEY_SIZE; i++)
		raw[i] = (uint8_t)i;
	CHECK(!put_key(tmp, "raw", raw, sizeof(raw), 0600, path, sizeof(path)), "write");
	CHECK(sign_key_load(path, &a) == 0, "a raw key refused");
	CHECK(!put_key(tmp, "hex", hex, strlen(hex), 0400, path, sizeof(path)), "write");
	CHECK(sign_key_load(path, &b) == 0, "a hex key refused");
	CHECK(!memcmp(a.bytes, raw, sizeof(raw)) && !memcmp(b.bytes, raw, sizeof(raw)),
	      "raw and hex keys differ");
	CHECK(!put_key(tmp, "short", raw, 31, 0600, path, sizeof(path)), "write");
	CHECK(sign_key_load(path, &a) == -EINVAL, "a 31-byte key accepted");
	CHECK(!put_key(tmp, "badhex", "zz", 2, 0600, path, sizeof(path)), "write");
	CHECK(sign_key_load(path, &a) == -EINVAL, "a 2-byte key accepted");
	CHECK(!put_key(tmp, "group", raw, sizeof(raw), 0640, path, sizeof(path)), "write");
	CHECK(sign_key_load(path, &a) == -EPERM, "a group-readable key accepted");
	CHECK(!put_key(tmp, "world", raw, sizeof(raw), 0602, path, sizeof(path)), "write");
	CHECK(sign_key_load(path, &a) == -EPERM, "a world-writable key accepted");
	CHECK(!put_key(tmp, "theirs", raw, sizeof(raw), 0600, path, sizeof(path)), "write");
	CHECK(!chown(path, 1000, 1000), "chown %s", path);
	CHECK(sign_key_load(path, &a) == (geteuid() == 1000 ? 0 : -EPERM),
	      "a key of another user accepted");
	CHECK(sign_key_load(tmp, &a) < 0, "a directory accepted as a key");
	snprintf(path, sizeof(path), "%s/missing", tmp);
	CHECK(sign_key_load(path, &a) == -ENOENT, "a missing key accepted");
}

TEST(inventory_mac_binds_every_field_to_the_key)
{
	uint8_t digest[32] = { 1, 2, 3 }, id[16] = { 9 }, mac[SIGN_MAC_SIZE];
	struct sign_key key = { { 1 } }, other = { { 2 } };
	FileDigest file = FILE_DIGEST__INIT, *files[] = { &file };
	Inventory inv = INVENTORY__INIT;

	file.name = "core-1.img";
	file.size = 100;
	file.has_blake2b_256 = true;
	file.blake2b_256.data = digest;
	file.blake2b_256.len = sizeof(digest);
	inv.format_version = 2;
	inv.cryo_version = "test";
	inv.root_pid = 1;
	inv.page_size = 4096;
	inv.arch = "x86_64";
	inv.has_dump_id = true;
	inv.dump_id.data = id;
	inv.dump_id.len = sizeof(id);
	inv.n_files = 1;
	inv.files = files;

	CHECK(image_set_check_signature("inv", &inv, NULL) == 0, "an unsigned set refused");
	CHECK(image_set_check_signature("inv", &inv, &key) == -EKEYREJECTED,
	      "a key accepted for an unsigned set");
	CHECK(image_set_sign(&inv, &key, mac) == 0 && inv.has_mac, "not signed");
	CHECK(image_set_check_signature("inv", &inv, &key) == 0, "its own key refused");
	CHECK(image_set_check_signature("inv", &inv, NULL) == -ENOKEY, "accepted without key");
	CHECK(image_set_check_signature("inv", &inv, &other) == -EKEYREJECTED,
	      "another key accepted");
	digest[5] ^= 1;
	CHECK(image_set_check_signature("inv", &inv, &key) == -EKEYREJECTED,
	      "a changed file digest accepted");
	digest[5] ^= 1;
	file.size++;
	CHECK(image_set_check_signature("inv", &inv, &key) == -EKEYREJECTED,
	      "a changed file size accepted");
	file.size--;
	inv.root_pid = 2;
	CHECK(image_set_check_signature("inv", &inv, &key) == -EKEYREJECTED,
	      "a changed root pid accepted");
	inv.root_pid = 1;
	inv.mac.len = 16;
	CHECK(image_set_check_signature("inv", &inv, &key) == -EBADMSG, "a short MAC accepted");
}
