/* Round-trip program (test_clone's slave_of_a_callers_peer_group): in a
 * mount namespace of its own, a bind of PROG_DIR/src, a tmpfs that the
 * runner made shared in its own namespace, made a slave of that peer
 * group. After restore it must be a slave of the same group, and a mount
 * the runner makes in src meanwhile (late, holding a file x) shows in it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

/* Its peer group in /proc/self/mountinfo ("shared:" or "master:"), 0: none. */
static int group_of(const char *mountpoint, const char *tag)
{
	char line[4096], target[4096];
	int group = 0;
	FILE *mi = fopen("/proc/self/mountinfo", "re");

	while (mi && fgets(line, sizeof(line), mi)) {
		char *p;

		if (sscanf(line, "%*d %*d %*s %*s %4095s", target) != 1 || strcmp(target, mountpoint))
			continue;
		p = strstr(line, tag);
		group = p ? atoi(p + strlen(tag)) : 0;
	}
	if (mi)
		fclose(mi);
	return group;
}

int main(int argc, char **argv)
{
	char src[4096], dst[4096], late[4200], text[16] = "";
	int group;
	FILE *fp;

	prog_init(argc, argv);
	snprintf(src, sizeof(src), "%s/src", prog_dir());
	snprintf(dst, sizeof(dst), "%s/dst", prog_dir());
	snprintf(late, sizeof(late), "%s/late/x", dst);
	group = group_of(src, "shared:");
	if (!group || mkdir(dst, 0755) || mount(src, dst, NULL, MS_BIND, NULL) ||
	    mount(NULL, dst, NULL, MS_SLAVE, NULL) || group_of(dst, "master:") != group) {
		prog_fail("setup: %s is not shared (group %d), or its bind no slave of it: %s", src,
			  group, strerror(errno));
		prog_finish();
	}
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(group_of(dst, "master:") == group && !group_of(dst, "shared:"),
		   "%s is a slave of group %d, not %d (shared:%d)", dst, group_of(dst, "master:"),
		   group, group_of(dst, "shared:"));
	fp = fopen(late, "re");
	PROG_CHECK(fp && fgets(text, sizeof(text), fp) && !strcmp(text, "late"),
		   "%s: '%s' (%s): the caller's mount did not propagate", late, text,
		   fp ? "read" : strerror(errno));
	if (fp)
		fclose(fp);
	prog_finish();
}
