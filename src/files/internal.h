/* The files engine's own workings, shared by its files (dump.c, load.c,
 * prepare.c, restore.c, locks.c, table.c) and never by a kind: what a kind
 * sees is kind.h. Callers outside src/files use files.h. */
#ifndef CRYO_FILES_INTERNAL_H
#define CRYO_FILES_INTERNAL_H

#include "files/files.h"
#include "files/kind.h"

/* ---- dump -------------------------------------------------------------------- */

/* Fails, naming the fd, when @p's fdinfo shows a lock cryo cannot take
 * again (a lease): asked before anything else is refused, because a lease
 * also sets O_ASYNC (locks.c). */
int locks_check_fd(const struct fd_probe *p);

/* owner.c: the owner, signal and O_ASYNC of an open file. Reads them
 * through @p's copy into @fe; 0 or -errno, named. */
int owner_dump(const struct fd_probe *p, FileEntry *fe);

/* ---- restore ----------------------------------------------------------------- */

/* File objects opened by cryo for all processes (prepare.c): the fd of
 * object index i (the same record in every process's image), or -1. */
struct files_prepared {
	int *fds;
	size_t nr;
	/* late[i]: fds[i] is a placeholder until every process exists, when
	 * cryo puts the object there (files_prepare_late()); processes take
	 * it from cryo with pidfd_getfd() through @cryo_pidfd. */
	bool *late;
	int cryo_pidfd;		/* -1 when nothing is late */
	/* The caller's, for every context that opens with these (NULL: none). */
	const struct files_restore_env *env;
};

/* The fd in cryo of @f of @img, prepared late; -1 when it is not. */
int files_prepared_late_fd(const struct files_prepared *p, const struct file_obj *f,
			   const struct files_image *img);

/* Takes @f, which cryo opened at its fd @late once every process existed
 * (files_prepare_late()), with pidfd_getfd(), above r->high; -errno,
 * logged. */
int restore_take_late(const struct restore_ctx *r, const struct file_obj *f, int late);
/* Moves @fd to the lowest free number at or above r->high; the new fd, or
 * -errno (and @fd closed either way). */
int restore_move_high(const struct restore_ctx *r, int fd);
/* owner.c: gives @f, installed at @fd (its first fd), its saved owner and
 * signal, then O_ASYNC; once every process exists. */
int owner_restore(const struct restore_ctx *r, const struct file_obj *f, int fd);
/* Gives the new open file description @fd the saved status flags and
 * position of @f, and checks them. */
int restore_set_state(const struct restore_ctx *r, const struct file_obj *f, int fd);
/* Keeps a copy of cryo's terminal in r->tty when an object of r->img was
 * the shell's terminal. */
int restore_find_terminal(struct restore_ctx *r);
/* Closes what @r holds (inode and group handles, the terminal's copy). */
void restore_ctx_release(struct restore_ctx *r);
/* The fd cryo prepared for @f of @img; -1 when none. */
int files_prepared_fd(const struct files_prepared *p, const struct file_obj *f,
		      const struct files_image *img);
/* A new open file description of @f, by its kind: opened, taken from its
 * group or its inode. At any number; -errno, logged. */
int restore_open_object(struct restore_ctx *r, const struct file_obj *f);
/* After @f is installed: lets go of its inode if nothing more needs it. */
void restore_release_inode(struct restore_ctx *r, const struct file_obj *f);
/* The fd the group of @f made for it (the group is made on first use,
 * through make_in_namespaces()); -errno, logged. */
int restore_group_take(struct restore_ctx *r, const struct file_obj *f);
/* Runs @make for @first (the first object of an inode, or the leader of
 * a group) where it belongs: prepare.c. */
int make_in_namespaces(struct restore_ctx *r, const struct file_obj *first,
		       int (*make)(struct restore_ctx *r, const struct file_obj *first, void *arg),
		       void *arg);
/* What restore makes once for @f and the objects made with it: the
 * leader of its inode's group (the inode's first object when in none). */
static inline const struct file_obj *file_unit(const struct file_obj *f)
{
	return f->inode->group;
}

/* ---- files in flight (in_flight.c) ------------------------------------------ */

/* At load, after the fds are linked: marks in flight (and needed) every
 * object a socket the task needs carries, and what those carry. */
int in_flight_link(struct files_image *img);
/* The fd kept in @r for object @id, opened for a queue; -1 when none. */
int restore_kept_fd(const struct restore_ctx *r, uint32_t id);
/* Keeps @fd (of @f) in @r until it is released; takes @fd, also on failure. */
int restore_keep_fd(struct restore_ctx *r, const struct file_obj *f, int fd);
/* Closes the fds kept. */
void restore_kept_release(struct restore_ctx *r);
/* Once the task's fds are installed: each kept object's in_flight_ready. */
int restore_kept_ready(struct restore_ctx *r);

/* ---- the table of kinds (table.c) ------------------------------------------- */

/* The kind that recognises @p; NULL (and logged, naming the fd) if none. */
const struct file_kind *file_kind_recognise(const struct fd_probe *p);
/* The kind of @type; NULL when the table has none. */
const struct file_kind *file_kind_of(FileEntry__Kind type);
/* Every kind, in the table's order; returns how many. */
size_t file_kinds(const struct file_kind *const **out);

#endif
