/* Round-trip program: a tree in a UTS namespace of its own (the runner
 * starts it with unshare(CLONE_NEWUTS)) sets its host and domain names;
 * after restore both are still its own, in its process and in a child. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define HOST "cryo-prog-uts"
#define DOMAIN "uts.cryo.test"

static bool names_are_ours(const char *who)
{
	struct utsname u;

	if (uname(&u))
		return prog_fail("%s: uname: %s", who, strerror(errno));
	return PROG_CHECK(!strcmp(u.nodename, HOST), "%s: host name '%s'", who, u.nodename) &&
	       PROG_CHECK(!strcmp(u.domainname, DOMAIN), "%s: domain name '%s'", who,
			  u.domainname);
}

int main(int argc, char **argv)
{
	struct stat mine, theirs;
	char parents[64];
	int ready[2], status = 0;
	pid_t child;
	char byte;

	prog_init(argc, argv);
	/* Never rename the machine: only inside a namespace of its own (the
	 * runner's is the machine's). */
	snprintf(parents, sizeof(parents), "/proc/%d/ns/uts", getppid());
	if (stat("/proc/self/ns/uts", &mine) || stat(parents, &theirs) ||
	    mine.st_ino == theirs.st_ino) {
		prog_fail("not started in a UTS namespace of its own");
		prog_finish();
	}
	if (sethostname(HOST, strlen(HOST)) || setdomainname(DOMAIN, strlen(DOMAIN))) {
		prog_fail("cannot set the names: %s", strerror(errno));
		prog_finish();
	}
	if (pipe(ready))
		prog_finish();
	child = fork();
	if (child == 0) {
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(names_are_ours("the child") ? 0 : 1);
	}
	close(ready[1]);
	while (read(ready[0], &byte, 1) > 0)
		;
	close(ready[0]);
	prog_ready();
	prog_wait_sigterm();
	names_are_ours("the parent");
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "the child's names changed (status %#x)", status);
	prog_finish();
}
