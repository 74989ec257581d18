/* Loading a library on first use (see dynlib.h); what each library offers
 * is its own header's (nft_lib.h, archive_lib.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "common/dynlib.h"
#include "common/log.h"

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static int load(const char *soname, const char *use, const struct dynlib_symbol *symbols,
		size_t nr, void *table)
{
	/* Never closed: a library's exit handlers may run at cryo's exit. */
	void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!handle) {
		pr_err("cannot load %s, needed %s: %s", soname, use, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < nr; i++) {
		void *fn = dlsym(handle, symbols[i].name);

		if (!fn) {
			pr_err("cannot load %s, needed %s: it has no %s", soname, use,
			       symbols[i].name);
			return -ENOENT;
		}
		memcpy((char *)table + symbols[i].offset, &fn, sizeof(fn));
	}
	return 0;
}

int dynlib_load(const char *soname, const char *use, const struct dynlib_symbol *symbols,
		size_t nr, void *table, int *state)
{
	int ret;

	/* *state: 0 not tried, 1 loaded, -errno failed. */
	pthread_mutex_lock(&load_lock);
	if (!*state)
		*state = load(soname, use, symbols, nr, table) ?: 1;
	ret = *state < 0 ? *state : 0;
	pthread_mutex_unlock(&load_lock);
	return ret;
}
