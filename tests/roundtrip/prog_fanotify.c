/* A fanotify group with every kind of mark: its directory (FAN_OPEN of
 * children), a file in it whose opens are ignored (an ignored mask that
 * survives modification), the mount it is on (FAN_CLOSE_WRITE) and that
 * filesystem (FAN_MODIFY). After restore the group's marks, as fdinfo
 * shows them, must be the ones it had, and writing a file of the
 * directory must bring all three events, opening the ignored one none. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define WANTED (FAN_OPEN | FAN_MODIFY | FAN_CLOSE_WRITE)

static int group;

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The group's mark lines of fdinfo, sorted (the kernel lists marks newest
 * first, and restore adds them in the order they were listed). */
static char *mark_lines(void)
{
	static char text[8192];
	char path[64], *lines[64], *out;
	size_t n = 0, len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", group);
	f = fopen(path, "r");
	while (f && n < 64 && fgets(text + len, (int)(sizeof(text) - len), f)) {
		size_t line_len = strlen(text + len);

		/* One line of text for messages: "; " ends each mark. */
		if (line_len && text[len + line_len - 1] == '\n')
			text[len + line_len - 1] = ';';
		if (!strncmp(text + len, "fanotify ", 9))
			lines[n++] = text + len;
		len += line_len + 1;
	}
	if (f)
		fclose(f);
	qsort(lines, n, sizeof(*lines), cmp_lines);
	out = calloc(1, len + 1);
	for (size_t i = 0; out && i < n; i++)
		strcat(out, lines[i]);
	return out;
}

/* Reads events for up to a second, until @wanted were all seen for files
 * named @path; what other processes do on the mount comes too. */
static unsigned events_on(const char *path, unsigned wanted)
{
	struct fanotify_event_metadata ev[64];
	struct timespec tick = { 0, 10000000 };
	unsigned seen = 0;

	for (int tries = 0; tries < 100 && (seen & wanted) != wanted; tries++) {
		ssize_t n = read(group, ev, sizeof(ev));

		if (n <= 0) {
			nanosleep(&tick, NULL);
			continue;
		}
		for (struct fanotify_event_metadata *e = ev; FAN_EVENT_OK(e, n);
		     e = FAN_EVENT_NEXT(e, n)) {
			char link[64], target[4096];
			ssize_t len;

			if (e->fd < 0)
				continue;
			snprintf(link, sizeof(link), "/proc/self/fd/%d", e->fd);
			len = readlink(link, target, sizeof(target) - 1);
			if (len > 0 && (target[len] = '\0', !strcmp(target, path)))
				seen |= (unsigned)e->mask;
			close(e->fd);
		}
	}
	return seen;
}

static void drain(void)
{
	char buf[4096];

	for (int i = 0; i < 10000 && read(group, buf, sizeof(buf)) > 0; i++)
		;
	/* The events' fds were opened for this process: close what came. */
	events_on("", 0);
}

int main(int argc, char **argv)
{
	char loud[4096], quiet[4096], *before, *after;
	unsigned seen;
	int fd;

	prog_init(argc, argv);
	snprintf(loud, sizeof(loud), "%s/loud", prog_dir());
	snprintf(quiet, sizeof(quiet), "%s/quiet", prog_dir());
	fd = open(quiet, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd))
		return 1;
	group = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	if (group < 0 ||
	    fanotify_mark(group, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD, AT_FDCWD,
			  prog_dir()) ||
	    fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK |
				 FAN_MARK_IGNORED_SURV_MODIFY, FAN_OPEN, AT_FDCWD, quiet) ||
	    fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, AT_FDCWD,
			  prog_dir()) ||
	    fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_MODIFY, AT_FDCWD,
			  prog_dir()))
		return 1;
	before = mark_lines();
	if (!before || !strstr(before, "mnt_id:") || !strstr(before, "ignored_mask:20 "))
		return 1;
	prog_ready();
	prog_wait_sigterm();

	after = mark_lines();
	PROG_CHECK(after && !strcmp(before, after), "the group's marks are [%s] not [%s]",
		   after ? after : "(none)", before);
	drain();
	fd = open(quiet, O_RDONLY | O_CLOEXEC);
	PROG_CHECK(fd >= 0 && !close(fd), "cannot open %s: %m", quiet);
	fd = open(loud, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	PROG_CHECK(fd >= 0 && write(fd, "x", 1) == 1 && !close(fd), "cannot write %s: %m", loud);
	seen = events_on(loud, WANTED);
	PROG_CHECK((seen & WANTED) == WANTED, "events %#x for writing %s, not %#x", seen, loud,
		   WANTED);
	fd = open(quiet, O_RDONLY | O_CLOEXEC);
	PROG_CHECK(fd >= 0 && !close(fd), "cannot open %s: %m", quiet);
	seen = events_on(quiet, FAN_OPEN);
	PROG_CHECK(!(seen & FAN_OPEN), "an open of %s, whose opens are ignored, was reported",
		   quiet);
	prog_finish();
}
