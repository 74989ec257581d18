/* Running a helper program (iptables-restore, iptables-save, ...) with
 * text on its stdin and its stdout read back, in a given network namespace.
 * What to run and what its text means is the caller's. */
#ifndef CRYO_COMMON_SPAWN_H
#define CRYO_COMMON_SPAWN_H

#include <stddef.h>

/* Where a program is looked for after PATH: root's sbin folders, which a
 * service's or a runtime's PATH often leaves out. */
#define SPAWN_SBIN_DIRS "/usr/local/sbin:/usr/sbin:/sbin"

/* Finds @name in PATH, then in SPAWN_SBIN_DIRS: 0 or -ENOENT. */
int spawn_find(const char *name, char *path, size_t size);

struct spawn_call {
	const char *program;		/* a name, looked up by spawn_find() */
	const char *const *args;	/* after the program's name, NULL-terminated */
	int netns_fd;			/* run in this network namespace; -1: cryo's */
	const char *input;		/* on its stdin (NULL: empty) */
	char **out;			/* its stdout, malloc'd (NULL: not kept) */
	char *err;			/* on failure, why: its first line of stderr */
	size_t err_size;
};

/* Runs @c to its end: 0 when it exits 0, -ENOENT when the program is not
 * found, -EIO when it fails (why in c->err), -errno otherwise. */
int spawn_run(const struct spawn_call *c);

#endif
