/* The shared page between the injection tests and prog_busy: the target
 * reports its progress and any failed self-check here (fd 3, a memfd). */
#ifndef CRYO_TESTS_BUSY_H
#define CRYO_TESTS_BUSY_H

#include <stdint.h>

#define BUSY_COMPUTE_THREADS 2

struct busy_status {
	volatile int ready;
	volatile int failed;
	char why[256];
	volatile uint64_t compute_rounds[BUSY_COMPUTE_THREADS];
	volatile uint64_t sleeps;	/* nanosleeps that slept their full time */
	volatile uint64_t reads;	/* pipe reads that got the next number */
	volatile uint64_t futex_wakes;	/* futex waits that saw the next value */
	volatile uint64_t epoll_events;	/* eventfd counts seen through epoll */
	volatile uint64_t epoll_eintr;	/* epoll_wait may fail with EINTR after any stop */
	uint64_t sigusr1_handler;	/* what the target installed, to compare */
	uint64_t sigusr1_flags;
};

#endif
