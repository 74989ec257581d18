/* Controlling terminals at dump: each process's, noted as its fds are
 * dumped, and checked once every process is, so that a dump never drops
 * one silently. A terminal comes back only through an object whose kind
 * says so (file_kind.restores_ctty: a pty whose master is in the dump and
 * that was the session's). With -j a terminal is taken to be the shell's,
 * and the check is left out, as before: a process in the caller's session
 * keeps cryo's terminal, and a session of the dump with the shell's
 * terminal comes back without one. How the session takes it again at restore is
 * session.c's. */
#include <errno.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

#include "files/dump_set.h"

struct noted_ctty {
	pid_t pid, sid;
	dev_t ctty;
	bool shell_job;
};

int ctty_note(struct files_dump_set *set, pid_t pid, pid_t sid, dev_t ctty, bool shell_job)
{
	struct noted_ctty *more = reallocarray(set->cttys, set->nr_cttys + 1, sizeof(*more));

	if (!more)
		return -ENOMEM;
	set->cttys = more;
	set->cttys[set->nr_cttys++] = (struct noted_ctty){ pid, sid, ctty, shell_job };
	return 0;
}

static bool restored(const struct files_dump_set *set, const struct noted_ctty *c)
{
	for (size_t i = 0; i < set->nr_objs; i++) {
		const FileEntry *fe = set->objs[i].fe;
		const struct file_kind *kind = file_kind_of(fe->kind);

		if (kind && kind->restores_ctty && kind->restores_ctty(fe, c->ctty, c->sid))
			return true;
	}
	return false;
}

int ctty_check(const struct files_dump_set *set)
{
	for (size_t i = 0; i < set->nr_cttys; i++) {
		const struct noted_ctty *c = &set->cttys[i];

		if (c->shell_job || restored(set, c))
			continue;
		pr_err("dump: pid %d: its controlling terminal %u:%u (of session %d) is not a pty "
		       "whose master the dump holds, the only kind cryo gives back (the shell's "
		       "terminal is kept with -j/--shell-job)", c->pid, major(c->ctty),
		       minor(c->ctty), c->sid);
		return -EOPNOTSUPP;
	}
	return 0;
}
