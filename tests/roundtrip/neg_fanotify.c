/* A program holding a fanotify group with a mark on its directory: its
 * dump must be refused by name (fanotify groups are not restored) and
 * leave it whole. On SIGTERM it checks the group still reports an open of
 * a file in that directory. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/fanotify.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 1000000 };
	struct fanotify_event_metadata ev[16];
	char path[512];
	sigset_t term;
	ssize_t n;
	int group, fd;

	prog_init(argc, argv);
	group = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY);
	if (group < 0 || fanotify_mark(group, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD,
				       AT_FDCWD, prog_dir()))
		return 1;
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* Wakes every 1 ms, so the test sees it keep running. */
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	/* Drop what the runner's own opens left, then open a file there. */
	while ((n = read(group, ev, sizeof(ev))) > 0)
		for (struct fanotify_event_metadata *e = ev; FAN_EVENT_OK(e, n);
		     e = FAN_EVENT_NEXT(e, n))
			if (e->fd >= 0)
				close(e->fd);
	snprintf(path, sizeof(path), "%s/opened", prog_dir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	n = read(group, ev, sizeof(ev));
	PROG_CHECK(fd >= 0 && n >= (ssize_t)sizeof(ev[0]) && (ev[0].mask & FAN_OPEN),
		   "no FAN_OPEN event for an open in the marked directory (%zd bytes, errno %d)",
		   n, errno);
	prog_finish();
}
