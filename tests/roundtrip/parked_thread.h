/* A second thread that only waits, for test programs about a thread other
 * than the main one (a pidfd of it, say): park_a_thread() starts it and
 * returns its tid. Header-only: each program includes it once. */
#ifndef CRYO_TESTS_PARKED_THREAD_H
#define CRYO_TESTS_PARKED_THREAD_H

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static _Atomic pid_t parked_tid;

static void *parked(void *arg)
{
	(void)arg;
	parked_tid = gettid();
	for (;;)
		pause();
	return NULL;
}

/* The tid of a new thread that waits for ever; -1 when none started. */
static inline pid_t park_a_thread(void)
{
	pthread_t thread;

	if (pthread_create(&thread, NULL, parked, NULL))
		return -1;
	while (!parked_tid)
		usleep(1000);
	return parked_tid;
}

#endif
