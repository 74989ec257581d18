/* A process that stays in vfork() for a while, for test_criu_opts2: a
 * vfork parent waits for its child in an uninterruptible sleep, where no
 * ptrace stop reaches it, so a dump with --timeout gives up on it. The
 * child writes prog_dir()/vforked (raw system calls: it shares the
 * parent's memory) once the parent is surely blocked, sleeps three
 * seconds and exits. The parent then checks that it runs untraced, and
 * waits for SIGTERM as every program does. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	static const struct timespec three_s = { 3, 0 };
	char marker[4096];
	int status;
	pid_t child;

	prog_init(argc, argv);
	snprintf(marker, sizeof(marker), "%s/vforked", prog_dir());
	prog_ready();
	child = vfork();
	if (child == 0) {
		long fd = syscall(SYS_openat, AT_FDCWD, marker, O_WRONLY | O_CREAT | O_CLOEXEC,
				  0644);

		if (fd >= 0)
			syscall(SYS_close, fd);
		syscall(SYS_nanosleep, &three_s, NULL);
		syscall(SYS_exit, 0);
	}
	PROG_CHECK(child > 0, "vfork failed");
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "the vfork child did not exit cleanly (%#x)", status);
	PROG_CHECK(prog_tracer_of(getpid()) == 0, "traced by %ld after the vfork", prog_tracer_of(getpid()));
	prog_wait_sigterm();
	prog_finish();
}
