/* libFuzzer target over whole image sets: one file of a real dump (made by
 * tests/run, named by $CRYO_FUZZ_SET) is edited, truncated, or swapped in
 * from elsewhere, optionally with its checksums and its inventory digest put
 * right as a forger would, and the restore's load-and-validate path runs on
 * the set (restore_check_image_dir, restore_load, restore_check_creds).
 * Nothing is created: the path must refuse or accept without a crash, leak
 * or undefined behaviour, and must refuse every set whose file (other than
 * the inventory) changed while its digest did not: that aborts, as a
 * finding. Not here: single files (fuzz_image.c). */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cli/image_kinds.h"
#include "common/log.h"
#include "images/crc32c.h"
#include "images/format.h"
#include "images/image.h"
#include "images/proto/inventory.pb-c.h"
#include "net/net.h"
#include "restore/restore.h"

#define MAX_FILES 32
#define EDIT_SIZE 4

/* Bits of the input's second byte. */
#define FIX_CHECKSUMS 1	/* recompute the edited file's CRCs */
#define FIX_DIGEST 2	/* and its digest in the inventory */
#define TRUNCATE 4	/* cut the file at the first edit's offset */

struct set_file {
	char name[64];
	uint8_t *bytes;
	size_t len;
};

static struct set_file files[MAX_FILES];
static size_t nr_files, inventory;
/* Mutated sets that loaded (a mutation that changed nothing the checks
 * read, or a forger's digest) and that were refused: shown at exit. */
static unsigned long nr_loaded, nr_refused;
/* In memory: the set is rewritten and hashed on every input. */
static char scratch[] = "/dev/shm/cryo-fuzz-set-XXXXXX";

static void die(const char *what)
{
	fprintf(stderr, "fuzz_set: %s\n", what);
	abort();
}

static void write_at(const char *name, const uint8_t *bytes, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (len && write(fd, bytes, len) != (ssize_t)len) || close(fd))
		die("cannot write the scratch set");
}

static void load_set(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		die("$CRYO_FUZZ_SET names no directory (tests/run makes one)");
	while ((de = readdir(d)) && nr_files < MAX_FILES) {
		struct set_file *f = &files[nr_files];
		char path[PATH_MAX];
		struct stat st;
		int fd;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(f->name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode))
			die("cannot open a file of the set");
		f->len = (size_t)st.st_size;
		f->bytes = malloc(f->len + 1);
		if (!f->bytes || read(fd, f->bytes, f->len) != (ssize_t)f->len)
			die("cannot read a file of the set");
		close(fd);
		snprintf(f->name, sizeof(f->name), "%s", de->d_name);
		if (!strcmp(f->name, "inventory.img"))
			inventory = nr_files;
		write_at(f->name, f->bytes, f->len);
		nr_files++;
	}
	closedir(d);
	if (nr_files < 2 || strcmp(files[inventory].name, "inventory.img"))
		die("the set has no inventory.img");
}

static void fix_checksums(uint8_t *buf, size_t len)
{
	size_t off = IMG_HDR_SIZE;

	if (len < IMG_HDR_SIZE || memcmp(buf, IMG_MAGIC, IMG_MAGIC_LEN))
		return;
	put_le32(buf + IMG_HDR_CRC_OFF, crc32c(0, buf, IMG_HDR_CRC_OFF));
	while (len - off >= IMG_REC_HDR_SIZE) {
		uint32_t rlen = get_le32(buf + off);

		if (rlen == IMG_END_MARK || rlen > len - off - IMG_REC_HDR_SIZE)
			return;
		put_le32(buf + off + 4,
			 crc32c(crc32c(0, buf + off, 4), buf + off + IMG_REC_HDR_SIZE, rlen));
		off += IMG_REC_HDR_SIZE + rlen;
	}
}

/* The inventory with @name's size and XXH3-128 made those of @bytes, and
 * its checksums put right: the forger of an unsigned set. */
static void forge_inventory(const char *name, const uint8_t *bytes, size_t len)
{
	const struct set_file *inv_file = &files[inventory];
	struct image *img = NULL;
	XXH128_canonical_t digest;
	Inventory *inv;
	uint8_t *out;
	size_t size;

	if (image_parse("inventory.img", inv_file->bytes, inv_file->len, &img))
		return;
	inv = (Inventory *)img->records[0].msg;
	XXH128_canonicalFromHash(&digest, XXH3_128bits(bytes, len));
	for (size_t i = 0; i < inv->n_files; i++) {
		if (strcmp(inv->files[i]->name, name) || inv->files[i]->xxh3_128.len != 16)
			continue;
		inv->files[i]->size = len;
		memcpy(inv->files[i]->xxh3_128.data, digest.digest, 16);
	}
	size = inventory__get_packed_size(inv);
	out = malloc(IMG_HDR_SIZE + IMG_REC_HDR_SIZE + size + IMG_TRAILER_SIZE);
	if (out) {
		memcpy(out, inv_file->bytes, IMG_HDR_SIZE);
		put_le32(out + IMG_HDR_SIZE, (uint32_t)size);
		inventory__pack(inv, out + IMG_HDR_SIZE + IMG_REC_HDR_SIZE);
		put_le32(out + IMG_HDR_SIZE + IMG_REC_HDR_SIZE + size, IMG_END_MARK);
		put_le32(out + IMG_HDR_SIZE + IMG_REC_HDR_SIZE + size + 4, 1);
		size += IMG_HDR_SIZE + IMG_REC_HDR_SIZE + IMG_TRAILER_SIZE;
		fix_checksums(out, size);
		write_at("inventory.img", out, size);
		free(out);
	}
	image_free(img);
}

/* What restore does before it creates anything; 0 if it would go on. */
static int load_and_validate(void)
{
	struct image_dir *dir;
	struct net_run net = { 0 };
	struct restore_set rs;
	uid_t owner = 0;
	int ret = image_dir_open(scratch, &dir);

	if (ret)
		return ret;
	ret = restore_check_image_dir(dir, &owner);
	if (!ret)
		ret = restore_load(dir, NULL, false, false, &net, &rs);
	if (!ret) {
		ret = restore_check_creds(&rs, owner);
		restore_unload(&rs);
	}
	image_dir_close(dir);
	return ret;
}

/* Removes the scratch set when libFuzzer exits, and says what became of
 * the sets. */
static void remove_scratch(void)
{
	fprintf(stderr, "fuzz_set: %lu mutated sets loaded, %lu refused\n", nr_loaded,
		nr_refused);
	for (size_t i = 0; i < nr_files; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", scratch, files[i].name);
		unlink(path);
	}
	rmdir(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *set = getenv("CRYO_FUZZ_SET");

	(void)argc;
	(void)argv;
	if (cryo_register_image_kinds())
		abort();
	/* Refusals are the expected outcome: only a crash or a report counts. */
	log_set_level(0);
	if (!set || !mkdtemp(scratch))
		die("set CRYO_FUZZ_SET to an image directory");
	chmod(scratch, 0700);
	atexit(remove_scratch);
	load_set(set);
	/* Mutants of a set that loads reach every check; of one that does not,
	 * only the first. */
	if (load_and_validate())
		die("the set as dumped does not load");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct set_file *f;
	uint8_t *bytes;
	size_t len;

	if (size < 2)
		return 0;
	f = &files[data[0] % nr_files];
	bytes = malloc(f->len + 1);
	if (!bytes)
		return 0;
	memcpy(bytes, f->bytes, f->len);
	len = f->len;
	for (size_t i = 2; len && i + EDIT_SIZE <= size; i += EDIT_SIZE) {
		size_t at = (data[i] | data[i + 1] << 8 | (size_t)data[i + 2] << 16) % len;

		if ((data[1] & TRUNCATE) && i == 2)
			len = at;
		else
			bytes[at] ^= data[i + 3];
	}
	if (data[1] & FIX_CHECKSUMS)
		fix_checksums(bytes, len);
	write_at(f->name, bytes, len);
	if ((data[1] & FIX_DIGEST) && f != &files[inventory])
		forge_inventory(f->name, bytes, len);
	if (load_and_validate()) {
		nr_refused++;
	} else {
		nr_loaded++;
		/* The digests exist to refuse exactly this. */
		if (!(data[1] & FIX_DIGEST) && f != &files[inventory] &&
		    (len != f->len || memcmp(bytes, f->bytes, len)))
			die("a set with a changed file and its old digest loaded");
	}
	write_at(f->name, f->bytes, f->len);
	write_at("inventory.img", files[inventory].bytes, files[inventory].len);
	free(bytes);
	return 0;
}
