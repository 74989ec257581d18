/* Every unix socket sock_diag lists, read once per dump: asking the kernel
 * for one socket by inode walks all of them, so a dump of many sockets
 * that asked once per socket (and once per peer) took quadratic time
 * (10,000 socketpairs: 70% of the dump in unix_diag_handler_dump). The
 * tree is frozen meanwhile, so one listing answers for the whole dump.
 * The unix kind keeps beside it the options its sockets do not answer
 * (options.c learns them). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "files/kind.h"
#include "net/internal.h"
#include "net/sock_diag.h"
#include "net/unix_internal.h"

struct unix_entry {
	uint32_t ino;
	struct unix_diag_state st;	/* st.icons: a copy, or NULL */
};

struct unix_table {
	struct unix_entry *e;
	size_t nr, cap;
	struct sockopt_unanswered *unanswered;
};

static int add_one(uint32_t ino, const struct unix_diag_state *st, void *arg)
{
	struct unix_table *t = arg;
	struct unix_entry *e;

	/* Connections not yet accepted have no inode: no one asks for them. */
	if (!ino)
		return 0;
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;

		e = reallocarray(t->e, cap, sizeof(*e));
		if (!e)
			return -ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	e = &t->e[t->nr];
	e->ino = ino;
	e->st = *st;
	e->st.icons = NULL;
	if (st->nr_icons) {
		uint32_t *icons = malloc(st->nr_icons * sizeof(*icons));

		if (!icons)
			return -ENOMEM;
		memcpy(icons, st->icons, st->nr_icons * sizeof(*icons));
		e->st.icons = icons;
	}
	t->nr++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	uint32_t x = ((const struct unix_entry *)a)->ino, y = ((const struct unix_entry *)b)->ino;

	return x < y ? -1 : x > y;
}

static void drop_table(void *state)
{
	struct unix_table *t = state;

	for (size_t i = 0; i < t->nr; i++)
		free((void *)t->e[i].st.icons);
	free(t->e);
	sockopt_unanswered_free(t->unanswered);
	free(t);
}

static void *make_table(const struct file_dump *d)
{
	struct unix_table *t = calloc(1, sizeof(*t));
	int ret = t ? sock_diag_unix_each(add_one, t) : -ENOMEM;

	if (!ret && !(t->unanswered = sockopt_unanswered_new()))
		ret = -ENOMEM;

	if (ret) {
		pr_fd_err(d->p, "cannot list the unix sockets through sock_diag: %s",
			  strerror(-ret));
		if (t)
			drop_table(t);
		return NULL;
	}
	qsort(t->e, t->nr, sizeof(*t->e), cmp_entry);
	return t;
}

static const struct unix_table *table(const struct file_dump *d)
{
	return file_dump_kind_state(d, FILE_ENTRY__KIND__UNIX_SOCKET, make_table, drop_table);
}

struct sockopt_unanswered *unix_unanswered_options(const struct file_dump *d)
{
	const struct unix_table *t = table(d);

	return t ? t->unanswered : NULL;
}

int unix_diag_lookup(const struct file_dump *d, uint64_t ino, struct unix_diag_state *out)
{
	const struct unix_table *t = table(d);
	struct unix_entry key = { .ino = (uint32_t)ino };
	const struct unix_entry *e;

	if (!t)
		return -ENOMEM;
	if (ino > UINT32_MAX)
		return -ERANGE;
	e = bsearch(&key, t->e, t->nr, sizeof(*t->e), cmp_entry);
	if (!e)
		return sock_diag_unix_find(ino, out);
	*out = e->st;
	return 0;
}

int unix_diag_listener_of(const struct file_dump *d, uint32_t client, uint32_t *listener,
			  struct unix_diag_state *out)
{
	const struct unix_table *t = table(d);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < t->nr; i++) {
		const struct unix_diag_state *st = &t->e[i].st;

		for (uint32_t j = 0; j < st->nr_icons; j++) {
			if (st->icons[j] != client)
				continue;
			*listener = t->e[i].ino;
			*out = *st;
			return 0;
		}
	}
	return -ENOENT;
}

bool unix_diag_listening_on(const struct file_dump *d, const char *name, size_t len)
{
	const struct unix_table *t = table(d);

	for (size_t i = 0; t && i < t->nr; i++) {
		const struct unix_diag_state *st = &t->e[i].st;

		if (st->state == UNIX_LISTEN && st->name_len == len && !memcmp(st->name, name, len))
			return true;
	}
	return false;
}
