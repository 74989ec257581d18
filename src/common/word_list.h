/* Comma-separated lists of words, as options and the kernel write them
 * ("cpu,cpuacct", --enable-fs "nfs,fuse"): whether one holds a word. Not
 * their parsing into arrays. */
#ifndef CRYO_COMMON_WORD_LIST_H
#define CRYO_COMMON_WORD_LIST_H

#include <stdbool.h>
#include <string.h>

/* The word after @w in a comma-separated list ("" after the last). */
static inline const char *word_list_next(const char *w)
{
	w += strcspn(w, ",");
	return *w ? w + 1 : w;
}

/* Whether the comma-separated list @list holds @word (its first @len bytes). */
static inline bool word_list_has(const char *list, const char *word, size_t len)
{
	for (const char *at = list; *at; at = word_list_next(at))
		if (strcspn(at, ",") == len && !strncmp(at, word, len))
			return true;
	return false;
}

#endif
