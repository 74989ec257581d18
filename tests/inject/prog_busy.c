/* A target for the injection tests that keeps busy and checks itself: two
 * threads compute with vector registers (AVX2, AVX-512 where the CPU has it)
 * and compare against a scalar recomputation; other threads sit blocked in
 * nanosleep, read, futex and epoll_wait and check that each call behaves as
 * if no one had ever stopped them. Progress and failures go to the shared
 * page on fd 3 (struct busy_status). */
#include <errno.h>
#include <fcntl.h>
#include <immintrin.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "busy.h"

static struct busy_status *status;
static int pipe_fds[2], event_fd;
static uint32_t futex_word;

static void fail(const char *fmt, ...)
{
	va_list ap;

	if (__sync_lock_test_and_set(&status->failed, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(status->why, sizeof(status->why), fmt, ap);
	va_end(ap);
}

static uint64_t scalar_step(uint64_t x, uint64_t k)
{
	return (x ^ k) + 0x9e3779b97f4a7c15ULL;
}

/* Keeps four lanes in a ymm register for the whole run and checks them
 * against the same arithmetic done in general registers. */
__attribute__((target("avx2"))) static void *compute_avx2(void *arg)
{
	int index = (int)(long)arg;
	uint64_t lanes[4] = { 1, 2, 3, 4 }, check[4];
	__m256i k = _mm256_set1_epi64x(0x5bd1e995);
	__m256i inc = _mm256_set1_epi64x((long long)0x9e3779b97f4a7c15ULL);
	__m256i acc = _mm256_loadu_si256((const __m256i *)lanes);

	for (uint64_t round = 1;; round++) {
		for (int i = 0; i < 4096; i++) {
			acc = _mm256_add_epi64(_mm256_xor_si256(acc, k), inc);
			for (int l = 0; l < 4; l++)
				lanes[l] = scalar_step(lanes[l], 0x5bd1e995);
		}
		_mm256_storeu_si256((__m256i *)check, acc);
		if (memcmp(check, lanes, sizeof(lanes)))
			fail("thread %d: AVX2 lanes differ from scalar in round %llu", index,
			     (unsigned long long)round);
		status->compute_rounds[index] = round;
	}
	return NULL;
}

__attribute__((target("avx512f"))) static void *compute_avx512(void *arg)
{
	int index = (int)(long)arg;
	uint64_t lanes[8] = { 11, 12, 13, 14, 15, 16, 17, 18 }, check[8];
	__m512i k = _mm512_set1_epi64(0x1b873593);
	__m512i inc = _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ULL);
	__m512i acc = _mm512_loadu_si512(lanes);

	for (uint64_t round = 1;; round++) {
		for (int i = 0; i < 4096; i++) {
			acc = _mm512_add_epi64(_mm512_xor_si512(acc, k), inc);
			for (int l = 0; l < 8; l++)
				lanes[l] = scalar_step(lanes[l], 0x1b873593);
		}
		_mm512_storeu_si512(check, acc);
		if (memcmp(check, lanes, sizeof(lanes)))
			fail("thread %d: AVX-512 lanes differ from scalar in round %llu", index,
			     (unsigned long long)round);
		status->compute_rounds[index] = round;
	}
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* nanosleep is restarted with its remaining time: it must never fail with
 * EINTR nor return before the full time has passed. */
static void *sleeper(void *arg)
{
	const struct timespec nap = { 0, 30 * 1000 * 1000 };

	(void)arg;
	for (;;) {
		uint64_t start = now_ns();

		if (nanosleep(&nap, NULL))
			fail("nanosleep failed: %s", strerror(errno));
		else if (now_ns() - start < 30 * 1000 * 1000ULL)
			fail("nanosleep returned after %llu ns of 30 ms",
			     (unsigned long long)(now_ns() - start));
		status->sleeps++;
	}
	return NULL;
}

/* A blocked pipe read is restarted: never EINTR, never a short read. */
static void *reader(void *arg)
{
	(void)arg;
	for (uint64_t expected = 0;; expected++) {
		uint64_t value;
		ssize_t n = read(pipe_fds[0], &value, sizeof(value));

		if (n != sizeof(value))
			fail("pipe read returned %zd (%s)", n, n < 0 ? strerror(errno) : "short");
		else if (value != expected)
			fail("pipe read %llu, expected %llu", (unsigned long long)value,
			     (unsigned long long)expected);
		status->reads++;
	}
	return NULL;
}

/* FUTEX_WAIT without timeout is restarted too: never EINTR. */
static void *futex_waiter(void *arg)
{
	(void)arg;
	for (uint32_t seen = 0;;) {
		long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT, seen, NULL, NULL, 0);

		if (r && errno != EAGAIN)
			fail("futex wait failed: %s", strerror(errno));
		uint32_t now = __atomic_load_n(&futex_word, __ATOMIC_ACQUIRE);
		if (now != seen) {
			if (now < seen)
				fail("futex word went back from %u to %u", seen, now);
			seen = now;
			status->futex_wakes++;
		}
	}
	return NULL;
}

/* epoll_wait is documented to fail with EINTR after a stop: count those,
 * but every event must still arrive. */
static void *epoller(void *arg)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };

	(void)arg;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, event_fd, &ev))
		fail("epoll setup: %s", strerror(errno));
	for (;;) {
		uint64_t count;
		int n = epoll_wait(ep, &ev, 1, -1);

		if (n < 0 && errno == EINTR) {
			status->epoll_eintr++;
			continue;
		}
		if (n != 1 || read(event_fd, &count, sizeof(count)) != sizeof(count))
			fail("epoll_wait returned %d (%s)", n, strerror(errno));
		else
			status->epoll_events += count;
	}
	return NULL;
}

static void on_sigusr1(int sig, siginfo_t *info, void *ctx)
{
	(void)sig, (void)info, (void)ctx;
}

static void start_thread(void *(*fn)(void *), long arg)
{
	pthread_attr_t attr;
	pthread_t thread;

	/* Small stacks keep the tests' memory checksums quick. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&thread, &attr, fn, (void *)arg)) {
		fail("pthread_create failed");
		exit(1);
	}
	pthread_attr_destroy(&attr);
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigusr1, .sa_flags = SA_SIGINFO | SA_RESTART };
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	status = mmap(NULL, sizeof(*status), PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0);
	if (status == MAP_FAILED)
		return 1;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	if (sigaction(SIGUSR1, &sa, NULL) || signal(SIGUSR2, SIG_IGN) == SIG_ERR)
		fail("sigaction: %s", strerror(errno));
	status->sigusr1_handler = (uint64_t)(uintptr_t)on_sigusr1;
	status->sigusr1_flags = SA_SIGINFO | SA_RESTART;
	if (pipe2(pipe_fds, O_CLOEXEC) || (event_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		fail("pipe/eventfd: %s", strerror(errno));

	start_thread(compute_avx2, 0);
	start_thread(__builtin_cpu_supports("avx512f") ? compute_avx512 : compute_avx2, 1);
	start_thread(sleeper, 0);
	start_thread(reader, 0);
	start_thread(futex_waiter, 0);
	start_thread(epoller, 0);
	status->ready = 1;

	/* The main thread feeds the blocked ones, sleeping in between. */
	for (uint64_t n = 0;; n++) {
		uint64_t one = 1;

		if (write(pipe_fds[1], &n, sizeof(n)) != sizeof(n) ||
		    write(event_fd, &one, sizeof(one)) != sizeof(one))
			fail("feeding write failed: %s", strerror(errno));
		__atomic_add_fetch(&futex_word, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
		if (nanosleep(&tick, NULL))
			fail("main nanosleep failed: %s", strerror(errno));
	}
}
