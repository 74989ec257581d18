/* Round-trip program: a tree running as root in a user namespace of its own
 * (the runner maps root to uid and gid 100000 outside, 65536 of each). It
 * chowns a file to ids inside and forks a child; after restore both are
 * still root there with the same capabilities and maps, the file keeps its
 * owner, and what they create is owned by root inside. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define OWNER_INSIDE 1000

struct seen {
	char uid_map[256], gid_map[256], setgroups[16], cap_eff[32];
	ino_t userns;
};

static bool read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return prog_fail("cannot open %s: %s", path, strerror(errno));
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

static bool see(struct seen *s)
{
	char status[4096], *cap;
	struct stat st;

	if (!read_text("/proc/self/uid_map", s->uid_map, sizeof(s->uid_map)) ||
	    !read_text("/proc/self/gid_map", s->gid_map, sizeof(s->gid_map)) ||
	    !read_text("/proc/self/setgroups", s->setgroups, sizeof(s->setgroups)) ||
	    !read_text("/proc/self/status", status, sizeof(status)))
		return false;
	cap = strstr(status, "CapEff:");
	if (!cap)
		return prog_fail("no CapEff in /proc/self/status");
	snprintf(s->cap_eff, sizeof(s->cap_eff), "%.24s", cap + 7);
	if (stat("/proc/self/ns/user", &st))
		return prog_fail("stat /proc/self/ns/user: %s", strerror(errno));
	s->userns = st.st_ino;
	return true;
}

/* What must hold in the parent and the child, before and after restore. */
static bool check(const char *who, const struct seen *before, const char *file)
{
	char created[4200];
	struct seen now;
	struct stat st;
	int fd;

	if (!see(&now))
		return false;
	if (!PROG_CHECK(getuid() == 0 && geteuid() == 0 && getgid() == 0 && getegid() == 0,
			"%s: ids %u/%u %u/%u, not root inside", who, getuid(), geteuid(), getgid(),
			getegid()) ||
	    !PROG_CHECK(!strcmp(now.uid_map, before->uid_map), "%s: uid_map '%s', was '%s'", who,
			now.uid_map, before->uid_map) ||
	    !PROG_CHECK(!strcmp(now.gid_map, before->gid_map), "%s: gid_map '%s', was '%s'", who,
			now.gid_map, before->gid_map) ||
	    !PROG_CHECK(!strcmp(now.setgroups, before->setgroups), "%s: setgroups '%s', was '%s'",
			who, now.setgroups, before->setgroups) ||
	    !PROG_CHECK(!strcmp(now.cap_eff, before->cap_eff), "%s: CapEff '%s', was '%s'", who,
			now.cap_eff, before->cap_eff))
		return false;
	if (stat(file, &st))
		return prog_fail("%s: stat %s: %s", who, file, strerror(errno));
	if (!PROG_CHECK(st.st_uid == OWNER_INSIDE && st.st_gid == OWNER_INSIDE,
			"%s: %s owned by %u:%u inside", who, file, st.st_uid, st.st_gid))
		return false;
	snprintf(created, sizeof(created), "%s.%s", file, who);
	fd = open(created, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return prog_fail("%s: cannot create %s: %s", who, created, strerror(errno));
	fstat(fd, &st);
	close(fd);
	unlink(created);
	return PROG_CHECK(st.st_uid == 0 && st.st_gid == 0, "%s: a new file is owned by %u:%u",
			  who, st.st_uid, st.st_gid);
}

int main(int argc, char **argv)
{
	char file[4096];
	int ready[2], status = 0, fd;
	struct seen before;
	pid_t child;
	char byte;

	prog_init(argc, argv);
	/* The initial namespace maps every id onto itself. */
	if (!see(&before) || getuid() != 0 || !strstr(before.uid_map, "100000")) {
		prog_fail("not root mapped to 100000 (uid %u, map '%s')", getuid(),
			  before.uid_map);
		prog_finish();
	}
	snprintf(file, sizeof(file), "%s/owned", prog_dir());
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchown(fd, OWNER_INSIDE, OWNER_INSIDE) || close(fd)) {
		prog_fail("cannot make %s owned by %d: %s", file, OWNER_INSIDE, strerror(errno));
		prog_finish();
	}
	if (pipe(ready))
		prog_finish();
	child = fork();
	if (child == 0) {
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(check("child", &before, file) ? 0 : 1);
	}
	close(ready[1]);
	while (read(ready[0], &byte, 1) > 0)
		;
	close(ready[0]);
	prog_ready();
	prog_wait_sigterm();
	check("parent", &before, file);
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "the child's checks failed (status %#x)", status);
	prog_finish();
}
