/* A program holding a fanotify group that watches a mount namespace
 * (FAN_MARK_MNTNS, 6.14) other than its own: the one it left with
 * unshare(CLONE_NEWNS), which is outside the dump, so cryo cannot make it
 * again: its dump must be refused by name and leave it whole. On SIGTERM
 * it checks the group still has its mark, as fdinfo shows. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <time.h>
#include <unistd.h>

#include "kabi/kabi.h"
#include "prog.h"


/* Whether the group's fdinfo shows a mark of the mount namespace. */
static bool has_mntns_mark(int group)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", group);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "fanotify mnt_ns:", strlen("fanotify mnt_ns:")))
			found = true;
	if (f)
		fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 1000000 };
	sigset_t term;
	int group, left;

	prog_init(argc, argv);
	left = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	group = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_MNT | FAN_NONBLOCK, O_RDONLY);
	if (left < 0 || unshare(CLONE_NEWNS) || group < 0 ||
	    fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_MNTNS, FAN_MNT_ATTACH, left, NULL) ||
	    close(left) || !has_mntns_mark(group))
		return 1;
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* Wakes every 1 ms, so the test sees it keep running. */
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	PROG_CHECK(has_mntns_mark(group), "the group lost its mount namespace mark");
	prog_finish();
}
