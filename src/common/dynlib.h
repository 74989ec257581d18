/* Libraries that few runs need (libnftables for the network lock and a
 * network namespace's ruleset, libarchive for tmpfs contents), loaded with
 * dlopen() the first time they are used instead of by the dynamic linker at
 * every start: together they bring 21 libraries (libstdc++ and ICU among
 * them) whose mapping and relocation were a sixth of a small dump's CPU,
 * and whose mappings every process a restore forks copies and unmaps.
 * Each library's functions are a struct of pointers, one member per
 * function, named as the function is. */
#ifndef CRYO_DYNLIB_H
#define CRYO_DYNLIB_H

#include <stddef.h>

struct dynlib_symbol {
	const char *name;
	size_t offset;		/* of its pointer in the library's struct */
};

/* Loads @soname and fills the pointers of @table (laid out by @symbols)
 * once; later calls return the first call's result. @use says what the
 * library is for, in the error. 0 or -errno (logged). */
int dynlib_load(const char *soname, const char *use, const struct dynlib_symbol *symbols,
		size_t nr, void *table, int *state);

/* For a struct of pointers declared by an X macro list: one entry. */
#define DYNLIB_MEMBER(f) __typeof__(f) *f;
#define DYNLIB_SYMBOL(type, f) { #f, offsetof(type, f) },

#endif
