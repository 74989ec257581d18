/* The terminals of restored sessions: a session leader takes back its
 * controlling terminal and gives it its foreground group, through the
 * objects cryo made before the tree (kinds with take_terminal and
 * set_foreground: a pty's master). Which objects those are is prepare.c's;
 * when the leader runs this is src/restore's. */
#include "files/internal.h"

static int each_prepared(const struct files_image *img, const struct files_prepared *prepared,
			 pid_t sid, bool foreground)
{
	for (size_t i = 0; i < img->nr_files; i++) {
		const struct file_obj *f = &img->files[i];
		int fd = files_prepared_fd(prepared, f, img), ret;

		if (fd < 0)
			continue;
		if (foreground)
			ret = f->kind->set_foreground ? f->kind->set_foreground(img, f, fd, sid) : 0;
		else
			ret = f->kind->take_terminal ? f->kind->take_terminal(img, f, fd, sid) : 0;
		if (ret)
			return ret;
	}
	return 0;
}

int files_take_terminal(const struct files_image *img, const struct files_prepared *prepared,
			pid_t sid)
{
	return each_prepared(img, prepared, sid, false);
}

int files_set_foreground(const struct files_image *img, const struct files_prepared *prepared,
			 pid_t sid)
{
	return each_prepared(img, prepared, sid, true);
}

const char *restore_devpts(const struct restore_ctx *r)
{
	return r->ns && r->ns->devpts ? r->ns->devpts : "/dev/pts";
}
