/* A process and its child sharing anonymous memory (MAP_SHARED, inherited
 * over fork), which dump must refuse for now. Both keep writing to it; on
 * SIGTERM the parent checks that the child's writes still reach it. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	volatile uint64_t *shared;
	uint64_t seen;
	pid_t child;

	prog_init(argc, argv);
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			shared[0]++;
			usleep(1000);
		}
	}
	prog_ready();
	prog_wait_sigterm();
	seen = shared[0];
	usleep(50000);
	PROG_CHECK(shared[0] > seen, "the child's writes no longer reach the parent");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	prog_finish();
}
