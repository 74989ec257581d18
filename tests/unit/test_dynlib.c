/* Unit tests of the libraries loaded on first use (src/common/dynlib.c,
 * nft_lib.c, archive_lib.c): each loads and works, a missing library or
 * function fails once with its name and stays failed, and the cryo binary
 * does not ask the dynamic linker for them at start. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "common/archive_lib.h"
#include "common/dynlib.h"
#include "common/nft_lib.h"

TEST(libnftables_and_libarchive_load_on_first_use_and_work)
{
	const struct nft_lib *nl = nft_lib();
	const struct archive_lib *ar = archive_lib();
	struct nft_ctx *ctx;
	struct archive *a;

	CHECK(nl && ar, "nft_lib %p, archive_lib %p", (void *)nl, (void *)ar);
	CHECK(nft_lib() == nl && archive_lib() == ar, "a second call loaded again");
	ctx = nl->nft_ctx_new(NFT_CTX_DEFAULT);
	CHECK(ctx, "nft_ctx_new");
	CHECK(!nl->nft_ctx_buffer_output(ctx), "nft_ctx_buffer_output");
	nl->nft_ctx_free(ctx);
	a = ar->archive_write_new();
	CHECK(a && ar->archive_write_set_format_pax_restricted(a) == ARCHIVE_OK, "libarchive");
	ar->archive_write_free(a);
}

struct zlib_table {
	void *zlibVersion;
	void *no_such_function;
};

TEST(a_missing_library_or_function_fails_and_stays_failed)
{
	static const struct dynlib_symbol none[] = { { "nft_ctx_new", 0 } };
	static const struct dynlib_symbol zlib[] = {
		{ "zlibVersion", offsetof(struct zlib_table, zlibVersion) },
		{ "cryo_no_such_function", offsetof(struct zlib_table, no_such_function) },
	};
	struct zlib_table table = { 0 };
	void *slot = NULL;
	int state = 0;

	CHECK(dynlib_load("libcryo-no-such-library.so.9", "for a test", none, 1, &slot,
			  &state) == -ENOENT && !slot, "a missing library loaded");
	CHECK(state < 0, "state %d after a failure", state);
	CHECK(dynlib_load("libcryo-no-such-library.so.9", "for a test", none, 1, &slot,
			  &state) == -ENOENT, "a second try did not fail");
	state = 0;
	CHECK(dynlib_load("libz.so.1", "for a test", zlib, 2, &table, &state) == -ENOENT,
	      "a library without one of the functions loaded");
	CHECK(table.zlibVersion && !table.no_such_function, "the functions found");
}

/* The DT_NEEDED names of the ELF file at @path, joined by spaces. */
static int needed_libraries(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	struct stat st;
	void *map;

	out[0] = '\0';
	if (fd < 0 || fstat(fd, &st))
		return -errno;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	eh = map;
	sh = (const Elf64_Shdr *)((const char *)map + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Dyn *d = (const Elf64_Dyn *)((const char *)map + sh[i].sh_offset);
		const char *strtab = (const char *)map + sh[sh[i].sh_link].sh_offset;

		if (sh[i].sh_type != SHT_DYNAMIC)
			continue;
		for (; d->d_tag != DT_NULL; d++)
			if (d->d_tag == DT_NEEDED)
				snprintf(out + strlen(out), size - strlen(out), "%s ",
					 strtab + d->d_un.d_val);
	}
	munmap(map, (size_t)st.st_size);
	return 0;
}

TEST(cryo_does_not_link_the_libraries_it_loads_on_first_use)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char path[4096], needed[4096];

	snprintf(path, sizeof(path), "%s/cryo", build);
	CHECK(!needed_libraries(path, needed, sizeof(needed)), "cannot read %s", path);
	CHECK(strstr(needed, "libc.so.6"), "no DT_NEEDED read from %s: '%s'", path, needed);
	CHECK(!strstr(needed, "libnftables") && !strstr(needed, "libarchive"),
	      "%s links them: %s", path, needed);
}
