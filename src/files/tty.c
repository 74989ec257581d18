/* The "tty" kind: the task's controlling terminal when dumped with
 * --shell-job, the shell's terminal, which restore makes a copy of the
 * restoring cryo's own terminal. Other terminals are other kinds: ptys
 * whose master is in the dump (pty.c), and terminals reopened by path,
 * /dev/tty among them (ttydev.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/kind.h"

static bool tty_recognise(const struct fd_probe *p)
{
	/* isatty() is a TCGETS ioctl: it reads, changes nothing. */
	return S_ISCHR(p->st.st_mode) && probe_is_shell_terminal(p) && !(p->flags & O_PATH) &&
	       isatty(p->dup);
}

static int tty_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	TtyFile *t;

	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	tty_file__init(t);
	d->fe->tty = t;
	t->major = major(p->st.st_rdev);
	t->minor = minor(p->st.st_rdev);
	t->path = strdup(p->link);
	return t->path ? 0 : -ENOMEM;
}

static int tty_open(struct restore_ctx *r, const struct file_obj *f)
{
	int fd;

	if (r->tty < 0) {
		restore_err(r, f, "cryo has no terminal to give it");
		return -ENOTTY;
	}
	fd = fcntl(r->tty, F_DUPFD_CLOEXEC, r->high);
	if (fd < 0) {
		restore_err(r, f, "cannot copy cryo's terminal: %s", strerror(errno));
		return -errno;
	}
	return fd;
}

static int tty_check_restorable(const struct files_image *img, const struct file_obj *f,
				bool shell_job)
{
	if (shell_job)
		return 0;
	pr_err("restore: pid %d fd %d was the shell's terminal (%s): restore it with "
	       "-j/--shell-job", img->pid, f->fds[0], f->e->tty->path);
	return -EINVAL;
}

const struct file_kind tty_kind = {
	.name = "tty",
	.type = FILE_ENTRY__KIND__TTY,
	.recognise = tty_recognise,
	.dump = tty_dump,
	.open = tty_open,
	.shares_foreign_file = true,
	.uses_cryo_terminal = true,
	.check_restorable = tty_check_restorable,
};
