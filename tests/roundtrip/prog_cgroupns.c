/* Round-trip program: a tree in a cgroup namespace of its own (the runner
 * starts it with unshare(CLONE_NEWCGROUP), in the runner's cgroups, which
 * on this machine are not every hierarchy's root). Each process sees its
 * cgroups from the namespace's root ("/"); after restore the parent and a
 * child see the same lines, so the namespace has its root where it had. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static bool read_cgroups(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	size_t n;

	if (!f)
		return prog_fail("cannot open /proc/self/cgroup: %s", strerror(errno));
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

static bool same_cgroups(const char *who, const char *before)
{
	char now[4096];

	return read_cgroups(now, sizeof(now)) &&
	       PROG_CHECK(!strcmp(now, before), "%s: /proc/self/cgroup is now\n%s\nwas\n%s", who,
			  now, before);
}

int main(int argc, char **argv)
{
	char before[4096];
	int ready[2], status = 0;
	pid_t child;
	char byte;

	prog_init(argc, argv);
	if (!read_cgroups(before, sizeof(before)))
		prog_finish();
	/* At the namespace's root on every hierarchy, as unshare() left it. */
	for (const char *line = before; *line; line = strchr(line, '\n') + 1) {
		const char *path = strchr(strchr(line, ':') + 1, ':') + 1;

		if (strncmp(path, "/\n", 2)) {
			prog_fail("not at its cgroup namespace's root: %.*s",
				  (int)strcspn(line, "\n"), line);
			prog_finish();
		}
	}
	if (pipe(ready))
		prog_finish();
	child = fork();
	if (child == 0) {
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(same_cgroups("child", before) ? 0 : 1);
	}
	close(ready[1]);
	while (read(ready[0], &byte, 1) > 0)
		;
	close(ready[0]);
	prog_ready();
	prog_wait_sigterm();
	same_cgroups("parent", before);
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "the child's cgroups changed (status %#x)", status);
	prog_finish();
}
