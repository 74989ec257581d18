/* libarchive loaded on first use (archive_lib.h). */
#include "common/archive_lib.h"

#define SYMBOL(f) DYNLIB_SYMBOL(struct archive_lib, f)
static const struct dynlib_symbol symbols[] = { ARCHIVE_LIB_FUNCTIONS(SYMBOL) };

const struct archive_lib *archive_lib(void)
{
	static struct archive_lib lib;
	static int state;

	if (dynlib_load("libarchive.so.13", "for the files of tmpfs mounts", symbols,
			sizeof(symbols) / sizeof(symbols[0]), &lib, &state))
		return NULL;
	return &lib;
}
