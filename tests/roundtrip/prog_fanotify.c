/* A fanotify group with every kind of mark: its directory (FAN_OPEN of
 * children), a file in it whose opens are ignored (an ignored mask that
 * survives modification), the mount it is on (FAN_CLOSE_WRITE) and that
 * filesystem (FAN_MODIFY). After restore the group's marks, as fdinfo
 * shows them, must be the ones it had, and writing a file of the
 * directory must bring all three events, opening the ignored one none.
 * And a group of mount events (FAN_REPORT_MNT) that marks its own mount
 * namespace (FAN_MARK_MNTNS, 6.14): after restore it marks the namespace
 * the program is in, and a tmpfs mounted in its folder is reported. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kabi/kabi.h"
#include "prog.h"

#define WANTED (FAN_OPEN | FAN_MODIFY | FAN_CLOSE_WRITE)


static int group, mnt_group;

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

/* The mount group's mark: of the namespace the program is in now. */
static void check_mntns_mark(void)
{
	char path[64], line[512], want[128];
	bool found = false;
	struct stat ns;
	FILE *f;

	if (!PROG_CHECK(stat("/proc/self/ns/mnt", &ns) == 0, "stat the mount namespace"))
		return;
	snprintf(want, sizeof(want), "fanotify mnt_ns:%lu mflags:0 mask:%x ignored_mask:0\n",
		 (unsigned long)ns.st_ino, FAN_MNT_ATTACH | FAN_MNT_DETACH);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", mnt_group);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		found |= !strcmp(line, want);
	if (f)
		fclose(f);
	PROG_CHECK(found, "the mount group has no mark '%.*s'", (int)strlen(want) - 1, want);
}

/* A tmpfs mounted in the folder brings FAN_MNT_ATTACH to the mount group. */
static void check_mount_event(void)
{
	struct timespec tick = { 0, 10000000 };
	char dir[4096], buf[4096];
	unsigned seen = 0;

	snprintf(dir, sizeof(dir), "%s/mnt", prog_dir());
	while (read(mnt_group, buf, sizeof(buf)) > 0)
		;
	if (!PROG_CHECK((mkdir(dir, 0700) == 0 || errno == EEXIST) &&
			mount("cryo-test", dir, "tmpfs", 0, "size=64k") == 0, "mount %s: %m", dir))
		return;
	for (int tries = 0; tries < 100 && !(seen & FAN_MNT_ATTACH); tries++) {
		ssize_t n = read(mnt_group, buf, sizeof(buf));
		struct fanotify_event_metadata *e = (void *)buf;

		if (n <= 0)
			nanosleep(&tick, NULL);
		for (; n > 0 && FAN_EVENT_OK(e, n); e = FAN_EVENT_NEXT(e, n))
			seen |= (unsigned)e->mask;
	}
	umount2(dir, MNT_DETACH);
	PROG_CHECK(seen & FAN_MNT_ATTACH, "no mount event (%#x) for a tmpfs on %s", seen, dir);
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
	mnt_group = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_MNT | FAN_NONBLOCK | FAN_CLOEXEC,
				  O_RDONLY);
	if (mnt_group < 0 || fanotify_mark(mnt_group, FAN_MARK_ADD | FAN_MARK_MNTNS,
					   FAN_MNT_ATTACH | FAN_MNT_DETACH, AT_FDCWD,
					   "/proc/self/ns/mnt"))
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
	check_mntns_mark();
	check_mount_event();
	prog_finish();
}
