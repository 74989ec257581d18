/* A program one thread of which has credentials of its own (a raw
 * setresuid, which acts on the calling thread only), for the negative
 * tests: its dump must be refused, naming the thread, and leave it whole.
 * On SIGTERM it checks that the thread still runs with its own uid. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define THREAD_UID 65534

static volatile pid_t thread_tid;
static volatile int thread_ready;

static void *own_creds(void *arg)
{
	(void)arg;
	if (syscall(SYS_setresuid, THREAD_UID, THREAD_UID, THREAD_UID))
		return NULL;
	thread_tid = (pid_t)syscall(SYS_gettid);
	__atomic_store_n(&thread_ready, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 1000000 };
	char path[64], line[256];
	unsigned int uid = 0;
	pthread_t thread;
	sigset_t term;
	FILE *f;

	prog_init(argc, argv);
	if (pthread_create(&thread, NULL, own_creds, NULL))
		return 1;
	while (!__atomic_load_n(&thread_ready, __ATOMIC_SEQ_CST))
		nanosleep(&tick, NULL);
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* Counts in 1 ms steps, so the test sees it keep running. */
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", thread_tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4))
			sscanf(line + 4, "%u", &uid);
	if (f)
		fclose(f);
	PROG_CHECK(f && uid == THREAD_UID, "thread %d: uid %u, not %d", thread_tid, uid,
		   THREAD_UID);
	PROG_CHECK(getuid() == 0, "the main thread's uid is %u", getuid());
	prog_finish();
}
