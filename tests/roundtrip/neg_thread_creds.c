/* A program one thread of which has credentials of its own: keep-caps in
 * its securebits (PR_SET_KEEPCAPS, which any user may set and which acts on
 * the calling thread only). test_trust_threads runs it as uid 1000 and
 * forges that thread's credentials in its image. On SIGTERM the thread
 * checks it still has keep-caps, and the main thread that it has not. */
#include <linux/futex.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static atomic_int ready, go, thread_bits;

static void *keep_caps(void *arg)
{
	(void)arg;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
		atomic_store(&ready, -1);
		return NULL;
	}
	atomic_store(&ready, 1);
	while (!atomic_load(&go))
		syscall(SYS_futex, &go, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	atomic_store(&thread_bits, prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t thread;

	prog_init(argc, argv);
	if (pthread_create(&thread, NULL, keep_caps, NULL))
		return 1;
	while (!atomic_load(&ready))
		usleep(1000);
	if (atomic_load(&ready) < 0)
		return 1;
	prog_ready();
	prog_wait_sigterm();
	atomic_store(&go, 1);
	syscall(SYS_futex, &go, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_join(thread, NULL);
	PROG_CHECK(atomic_load(&thread_bits) == SECBIT_KEEP_CAPS, "the thread's securebits are %#x",
		   atomic_load(&thread_bits));
	PROG_CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) == 0, "the main thread's securebits are %#x",
		   prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
	PROG_CHECK(getuid() == 1000, "uid %u, not 1000", getuid());
	prog_finish();
}
