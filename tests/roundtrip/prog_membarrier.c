/* membarrier registrations (issue 11 item 6): the parent registers for
 * every expedited command (private, private with core sync, global and
 * rseq), its child, forked before, for the private one alone. After
 * restore each reads its registrations (MEMBARRIER_CMD_GET_REGISTRATIONS,
 * 6.3) and they are the same, and a private expedited barrier works
 * (EPERM without its registration). */
#include <errno.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define GET_REGISTRATIONS (1 << 9)
#define PARENTS                                                                            \
	(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED |                                       \
	 MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE |                             \
	 MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED |                                        \
	 MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ)

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

/* Whether the registrations are @want and a private barrier works. */
static bool registered(long want)
{
	return membarrier(GET_REGISTRATIONS) == want &&
	       membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
}

int main(int argc, char **argv)
{
	int ready[2], status = -1;
	pid_t child;
	char byte;

	prog_init(argc, argv);
	if (pipe(ready))
		return 1;
	child = fork();
	if (child == 0) {
		if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
			_exit(1);
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(registered(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ? 0 : 2);
	}
	close(ready[1]);
	while (child > 0 && read(ready[0], &byte, 1) == 1)
		;
	close(ready[0]);
	for (int cmd = 1; cmd <= MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ; cmd <<= 1)
		if ((cmd & PARENTS) && membarrier(cmd))
			return 1;
	if (child < 0 || !registered(PARENTS))
		return 1;
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(registered(PARENTS), "the parent's registrations are %#lx, not %#x",
		   membarrier(GET_REGISTRATIONS), PARENTS);
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && status == 0,
		   "the child's registrations were not its own (status %#x)", status);
	prog_finish();
}
