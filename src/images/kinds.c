/* The registry of image kinds: for each, its number in headers, its file
 * name, its schema and its check. The images library's own kinds (the
 * inventory, the pages store) are here; every other part registers its
 * kinds with image_kinds_register(), so nothing here names a part above. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/kinds.h"
#include "images/page_digests.h"
#include "images/proto/inventory.pb-c.h"
#include "images/proto/pagemap.pb-c.h"

static const struct image_kind_desc own_kinds[] = {
	{ IMG_INVENTORY, "inventory", "inventory.img", &inventory__descriptor, inventory_check },
	{ IMG_PAGEMAP, "pagemap", "pagemap-%d.img", &pagemap_entry__descriptor, pagemap_check },
	{ IMG_PAGES, "pages", "pages-%d.img", NULL, NULL },
	{ IMG_PAGES2, "pages2", "pages2-%d.img", NULL, NULL },
	{ IMG_PAGE_DIGESTS, "pagedigest", "pagedigest-%d.img", &page_digests__descriptor,
	  page_digests_check },
};

static const struct image_kind_set own_set = { "images", own_kinds, ARRAY_SIZE(own_kinds) };

/* A handful of parts register; more is a bug, said at registration. */
#define IMG_KIND_SETS_MAX 16

static const struct image_kind_set *sets[IMG_KIND_SETS_MAX] = { &own_set };
static size_t nr_sets = 1;

/* Two kinds clash when they share a number, a name or a file name. */
static bool clashes(const struct image_kind_desc *a, const struct image_kind_desc *b)
{
	return a->kind == b->kind || !strcmp(a->name, b->name) || !strcmp(a->pattern, b->pattern);
}

/* The kind that kind @n of @set clashes with, registered or before it in
 * @set; NULL if none. */
static const struct image_kind_desc *clash(const struct image_kind_set *set, size_t n)
{
	const struct image_kind_desc *k = &set->kinds[n];

	for (size_t s = 0; s < nr_sets; s++)
		for (size_t i = 0; i < sets[s]->nr; i++)
			if (clashes(&sets[s]->kinds[i], k))
				return &sets[s]->kinds[i];
	for (size_t i = 0; i < n; i++)
		if (clashes(&set->kinds[i], k))
			return &set->kinds[i];
	return NULL;
}

int image_kinds_register(const struct image_kind_set *set)
{
	for (size_t s = 0; s < nr_sets; s++)
		if (sets[s] == set)
			return 0;
	if (nr_sets == IMG_KIND_SETS_MAX) {
		pr_err("images: no room to register the image kinds of %s (%d sets at most)",
		       set->part, IMG_KIND_SETS_MAX);
		return -ENOSPC;
	}
	for (size_t i = 0; i < set->nr; i++) {
		const struct image_kind_desc *k = &set->kinds[i], *o = clash(set, i);

		if (o) {
			pr_err("images: %s registers image kind %d '%s' (%s), which clashes with "
			       "kind %d '%s' (%s)", set->part, k->kind, k->name, k->pattern, o->kind,
			       o->name, o->pattern);
			return -EEXIST;
		}
	}
	sets[nr_sets++] = set;
	return 0;
}

const struct image_kind_desc *image_kind_get(enum image_kind kind)
{
	for (size_t s = 0; s < nr_sets; s++)
		for (size_t i = 0; i < sets[s]->nr; i++)
			if (sets[s]->kinds[i].kind == kind)
				return &sets[s]->kinds[i];
	return NULL;
}

/* Matches @name against @pattern, where "%d" stands for a decimal id
 * without sign or leading zero, so that each id has exactly one name. */
static int match_pattern(const char *pattern, const char *name, int *id)
{
	const char *hole = strstr(pattern, "%d");
	size_t prefix, suffix, len = strlen(name);
	long value = 0;

	if (!hole) {
		if (strcmp(pattern, name))
			return -ENOENT;
		*id = 0;
		return 0;
	}
	prefix = hole - pattern;
	suffix = strlen(hole + 2);
	if (len <= prefix + suffix || strncmp(name, pattern, prefix) ||
	    strcmp(name + len - suffix, hole + 2))
		return -ENOENT;
	if (name[prefix] == '0' && len - suffix > prefix + 1)
		return -ENOENT;
	for (size_t i = prefix; i < len - suffix; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -ENOENT;
		value = value * 10 + (name[i] - '0');
		if (value > INT32_MAX)
			return -ENOENT;
	}
	*id = (int)value;
	return 0;
}

const struct image_kind_desc *image_kind_match(const char *file_name, int *id)
{
	for (size_t s = 0; s < nr_sets; s++)
		for (size_t i = 0; i < sets[s]->nr; i++)
			if (!match_pattern(sets[s]->kinds[i].pattern, file_name, id))
				return &sets[s]->kinds[i];
	return NULL;
}

int image_file_name(enum image_kind kind, int id, char *buf, size_t size)
{
	const struct image_kind_desc *k = image_kind_get(kind);
	const char *hole;
	int len;

	if (!k || id < 0)
		return -EINVAL;
	hole = strstr(k->pattern, "%d");
	if (hole)
		len = snprintf(buf, size, "%.*s%d%s", (int)(hole - k->pattern), k->pattern, id,
			       hole + 2);
	else
		len = snprintf(buf, size, "%s", k->pattern);
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}
