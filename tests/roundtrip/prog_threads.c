/* A process of 65 threads survives a round trip, each thread as itself:
 * threads computing with AVX registers live (and checking them), waiting
 * in pthread_cond_wait, joining another thread, sleeping, blocked in
 * read() on a pipe, with an alternate signal stack, with a signal queued
 * for them alone. After restore each thread checks its tid, its TLS, its
 * name, its sigaltstack and its pending signal, answers a signal sent to it
 * alone (on its own alternate stack), and every thread is joined: a join
 * that hangs means its clear_child_tid was lost. With "pages N"
 * (prog_threads_spliced), N MiB of anonymous memory too, each page holding
 * its own number, checked after restore: enough for the dump to vmsplice
 * it, which copies only the parasite's thread's rseq page. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

enum kind { BUSY, COND, JOIN, SLEEP, READ, ALT, PENDING, NR_KINDS };

static const struct {
	const char *name;
	int count;
} kinds[NR_KINDS] = {
	[BUSY] = { "busy", 4 },	    [COND] = { "cond", 12 },  [JOIN] = { "join", 6 },
	[SLEEP] = { "sleep", 12 },  [READ] = { "read", 12 },  [ALT] = { "alt", 10 },
	[PENDING] = { "pend", 8 },
};

#define NR_WORKERS 64
#define ALTSTACK_SIZE (64 * 1024)
#define THREAD_STACK (256 * 1024)
#define SS_AUTODISARM_FLAG (1 << 31)
#define PENDING_SIGNAL (SIGRTMIN + 2)
#define TLS_BASE 0xc0ffee0000ULL

struct worker {
	int index;
	enum kind kind;
	int nth;			/* among the workers of its kind */
	pthread_t thread;
	pid_t tid;			/* gettid() when it started */
	char name[16];			/* "": keeps the process's name */
	int pipe[2];			/* READ: a byte arrives when it is time to end */
	char *altstack;			/* ALT: its own alternate stack */
	int altstack_flags;
	int join_target;		/* JOIN: the worker it joins */
	volatile pid_t usr1_tid;	/* the tid SIGUSR1's handler ran in */
	volatile int usr1_on_altstack;
	volatile uint64_t progress;
	char why[256];			/* its own first failed check */
};

static struct worker workers[NR_WORKERS];
static __thread int my_index = -1;
static __thread uint64_t tls_value;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static volatile int stop, ready_count, misdelivered;
static char process_name[16];
static bool have_avx2;

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void worker_fail(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void worker_fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	char here;
	struct worker *w;

	(void)sig, (void)si, (void)ctx;
	if (my_index < 0)
		return;
	w = &workers[my_index];
	w->usr1_on_altstack = w->altstack && &here >= w->altstack &&
			      &here < w->altstack + ALTSTACK_SIZE;
	w->usr1_tid = my_tid();
}

/* The queued signal is blocked where it was queued: any delivery is wrong. */
static void on_pending_signal(int sig)
{
	(void)sig;
	misdelivered = my_tid();
}

static void say_ready(void)
{
	__atomic_add_fetch(&ready_count, 1, __ATOMIC_SEQ_CST);
}

/* ymm8 += ymm9, @iters times, with both held in registers all along. */
static void avx_run(const uint64_t start[4], const uint64_t inc[4], uint64_t out[4], long iters)
{
	asm volatile("vmovdqu (%[s]), %%ymm8\n\t"
		     "vmovdqu (%[i]), %%ymm9\n\t"
		     "1:\n\t"
		     "vpaddq %%ymm9, %%ymm8, %%ymm8\n\t"
		     "dec %[n]\n\t"
		     "jnz 1b\n\t"
		     "vmovdqu %%ymm8, (%[o])\n\t"
		     "vzeroupper\n\t"
		     : [n] "+r"(iters)
		     : [s] "r"(start), [i] "r"(inc), [o] "r"(out)
		     : "xmm8", "xmm9", "memory", "cc");
}

static void busy(struct worker *w)
{
	const long iters = 1 << 20;
	uint64_t start[4], inc[4], out[4];
	uint64_t scalar = (uint64_t)w->index * 0x9e3779b97f4a7c15ULL;

	say_ready();
	while (!stop) {
		for (int l = 0; l < 4; l++) {
			start[l] = scalar + (uint64_t)l;
			inc[l] = 0x100000001ULL * (uint64_t)(w->index + l + 1);
		}
		if (have_avx2)
			avx_run(start, inc, out, iters);
		for (int l = 0; have_avx2 && l < 4; l++)
			if (out[l] != start[l] + inc[l] * (uint64_t)iters)
				worker_fail(w, "worker %d (busy): AVX lane %d is %#llx, not %#llx",
					    w->index, l, (unsigned long long)out[l],
					    (unsigned long long)(start[l] + inc[l] * (uint64_t)iters));
		scalar = scalar * 6364136223846793005ULL + 1442695040888963407ULL;
		w->progress++;
		if (!have_avx2)
			sched_yield();
	}
}

static void wait_for_stop(void)
{
	pthread_mutex_lock(&lock);
	say_ready();
	while (!stop)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void join_other(struct worker *w)
{
	struct worker *target = &workers[w->join_target];
	void *value = NULL;
	int err;

	say_ready();
	err = pthread_join(target->thread, &value);
	if (err)
		worker_fail(w, "worker %d: pthread_join of worker %d: %s", w->index, target->index,
			    strerror(err));
	else if ((long)value != 1000 + target->index)
		worker_fail(w, "worker %d: worker %d ended with %ld, not %d", w->index,
			    target->index, (long)value, 1000 + target->index);
	if (target->why[0])
		worker_fail(w, "%s", target->why);
}

static void sleep_until_stop(struct worker *w)
{
	struct timespec ts = { 0, (w->nth % 2 ? 200 : 20) * 1000000L };

	say_ready();
	while (!stop) {
		/* A sleep cut short by a signal (or a restore) just goes on. */
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		w->progress++;
	}
}

static void read_until_stop(struct worker *w)
{
	char c = 0;
	ssize_t n;

	say_ready();
	n = read(w->pipe[0], &c, 1);
	if (n != 1 || c != 'x')
		worker_fail(w, "worker %d: read on its pipe gave %zd ('%c'): %s", w->index, n, c,
			    n < 0 ? strerror(errno) : "no error");
}

static void set_altstack(struct worker *w)
{
	stack_t ss = { .ss_sp = w->altstack, .ss_size = ALTSTACK_SIZE,
		       .ss_flags = w->altstack_flags };

	if (sigaltstack(&ss, NULL))
		worker_fail(w, "worker %d: sigaltstack: %s", w->index, strerror(errno));
}

static void block_pending_signal(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, PENDING_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* The signal queued for this thread alone, with its value, exactly once. */
static void check_pending(struct worker *w)
{
	struct timespec zero = { 0, 0 };
	sigset_t set, pending;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, PENDING_SIGNAL);
	sigpending(&pending);
	if (!sigismember(&pending, PENDING_SIGNAL)) {
		worker_fail(w, "worker %d: its queued signal %d is no longer pending", w->index,
			    PENDING_SIGNAL);
		return;
	}
	if (sigtimedwait(&set, &si, &zero) != PENDING_SIGNAL) {
		worker_fail(w, "worker %d: sigtimedwait: %s", w->index, strerror(errno));
		return;
	}
	if (si.si_code != SI_QUEUE || si.si_value.sival_int != 5000 + w->index ||
	    si.si_pid != getpid()) {
		worker_fail(w, "worker %d: queued signal came back with code %d, value %d, pid %d",
			    w->index, si.si_code, si.si_value.sival_int, si.si_pid);
		return;
	}
	if (sigtimedwait(&set, &si, &zero) != -1)
		worker_fail(w, "worker %d: its signal was queued twice", w->index);
}

/* What every thread checks of itself once it is told to end. */
static void final_check(struct worker *w)
{
	char name[16] = "";
	stack_t ss;

	if (my_tid() != w->tid)
		worker_fail(w, "worker %d: gettid() is %d, it was %d", w->index, my_tid(), w->tid);
	if (my_index != w->index || tls_value != TLS_BASE + (uint64_t)w->index * 7919)
		worker_fail(w, "worker %d: TLS holds index %d, value %#llx", w->index, my_index,
			    (unsigned long long)tls_value);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	if (strcmp(name, w->name[0] ? w->name : process_name))
		worker_fail(w, "worker %d: named \"%s\", not \"%s\"", w->index, name,
			    w->name[0] ? w->name : process_name);
	if (sigaltstack(NULL, &ss))
		worker_fail(w, "worker %d: sigaltstack: %s", w->index, strerror(errno));
	else if (w->altstack && (ss.ss_sp != w->altstack || ss.ss_size != ALTSTACK_SIZE ||
				 (ss.ss_flags & SS_AUTODISARM_FLAG) != w->altstack_flags))
		worker_fail(w, "worker %d: sigaltstack is %p (%zu bytes, flags %#x), not %p (flags %#x)",
			    w->index, ss.ss_sp, ss.ss_size, ss.ss_flags, (void *)w->altstack,
			    w->altstack_flags);
	else if (!w->altstack && !(ss.ss_flags & SS_DISABLE))
		worker_fail(w, "worker %d: has sigaltstack %p, it had none", w->index, ss.ss_sp);
	if (w->kind == PENDING)
		check_pending(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	my_index = w->index;
	tls_value = TLS_BASE + (uint64_t)w->index * 7919;
	w->tid = my_tid();
	if (w->name[0])
		pthread_setname_np(pthread_self(), w->name);
	switch (w->kind) {
	case BUSY:
		busy(w);
		break;
	case JOIN:
		join_other(w);
		break;
	case SLEEP:
		sleep_until_stop(w);
		break;
	case READ:
		read_until_stop(w);
		break;
	case ALT:
		set_altstack(w);
		wait_for_stop();
		break;
	case PENDING:
		block_pending_signal();
		wait_for_stop();
		break;
	default:
		wait_for_stop();
		break;
	}
	final_check(w);
	return (void *)(long)(1000 + w->index);
}

static void start_workers(void)
{
	pthread_attr_t attr;
	int index = 0, first_cond = -1;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	for (int k = 0; k < NR_KINDS; k++) {
		if (k == COND)
			first_cond = index;
		for (int n = 0; n < kinds[k].count; n++, index++) {
			struct worker *w = &workers[index];

			w->index = index;
			w->kind = (enum kind)k;
			w->nth = n;
			/* Every other thread has a name of its own. */
			if (index % 2)
				snprintf(w->name, sizeof(w->name), "w%02d-%s", index, kinds[k].name);
			if (k == READ && pipe(w->pipe))
				exit(2);
			if (k == ALT) {
				w->altstack = malloc(ALTSTACK_SIZE);
				w->altstack_flags = n % 2 ? SS_AUTODISARM_FLAG : 0;
			}
			/* The cond waiters are made first: their handles exist. */
			if (k == JOIN)
				w->join_target = first_cond + n;
			if (pthread_create(&w->thread, &attr, worker_main, w))
				exit(2);
		}
	}
	pthread_attr_destroy(&attr);
}

static bool joined_by_a_worker(int index)
{
	for (int i = 0; i < NR_WORKERS; i++)
		if (workers[i].kind == JOIN && workers[i].join_target == index)
			return true;
	return false;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Each thread's handler runs in that thread, and on its own altstack. */
static void check_signal_delivery(void)
{
	long deadline = now_ms() + 10000;

	for (int i = 0; i < NR_WORKERS; i++)
		pthread_kill(workers[i].thread, SIGUSR1);
	for (int i = 0; i < NR_WORKERS; i++) {
		struct worker *w = &workers[i];

		while (!w->usr1_tid && now_ms() < deadline)
			usleep(1000);
		PROG_CHECK(w->usr1_tid == w->tid, "worker %d (tid %d): SIGUSR1 ran in thread %d",
			   i, w->tid, w->usr1_tid);
		PROG_CHECK(w->usr1_on_altstack == (w->altstack != NULL),
			   "worker %d: SIGUSR1 ran %s its alternate stack", i,
			   w->usr1_on_altstack ? "on" : "off");
	}
}

static void end_and_join(void)
{
	struct timespec deadline;

	pthread_mutex_lock(&lock);
	stop = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < NR_WORKERS; i++)
		if (workers[i].kind == READ && write(workers[i].pipe[1], "x", 1) != 1)
			prog_fail("worker %d: cannot write to its pipe", i);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	for (int i = 0; i < NR_WORKERS; i++) {
		void *value = NULL;
		int err;

		if (joined_by_a_worker(i))
			continue;
		/* A lost clear_child_tid leaves the join waiting for ever. */
		err = pthread_timedjoin_np(workers[i].thread, &value, &deadline);
		PROG_CHECK(!err, "worker %d (%s): pthread_join: %s", i, kinds[workers[i].kind].name,
			   strerror(err));
		if (!err)
			PROG_CHECK((long)value == 1000 + i, "worker %d ended with %ld", i,
				   (long)value);
	}
	for (int i = 0; i < NR_WORKERS; i++)
		PROG_CHECK(!workers[i].why[0], "%s", workers[i].why);
}

/* "pages N": N MiB, each page's first word its number plus a seed. */
#define PAGES_SEED 0x5eed000000000000ull

static volatile uint64_t *pages;
static size_t nr_pages;

static void map_pages(int argc, char **argv)
{
	if (optind + 1 >= argc || strcmp(argv[optind], "pages"))
		return;
	nr_pages = strtoul(argv[optind + 1], NULL, 10) * (1u << 20) / 4096;
	pages = mmap(NULL, nr_pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (pages == MAP_FAILED)
		exit(2);
	for (size_t i = 0; i < nr_pages; i++)
		pages[i * 4096 / sizeof(*pages)] = PAGES_SEED + i;
}

static void check_pages(void)
{
	for (size_t i = 0; i < nr_pages; i++)
		if (pages[i * 4096 / sizeof(*pages)] != PAGES_SEED + i) {
			prog_fail("page %zu of the %zu holds %#llx", i, nr_pages,
				  (unsigned long long)pages[i * 4096 / sizeof(*pages)]);
			return;
		}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t pending;
	pid_t pid;
	FILE *f;

	prog_init(argc, argv);
	map_pages(argc, argv);
	pid = getpid();
	have_avx2 = __builtin_cpu_supports("avx2");
	f = fopen("/proc/self/comm", "r");
	if (!f || !fgets(process_name, sizeof(process_name), f))
		return 2;
	fclose(f);
	process_name[strcspn(process_name, "\n")] = '\0';
	tls_value = TLS_BASE - 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_pending_signal;
	sigaction(PENDING_SIGNAL, &sa, NULL);

	start_workers();
	while (__atomic_load_n(&ready_count, __ATOMIC_SEQ_CST) < NR_WORKERS)
		usleep(1000);
	for (int i = 0; i < NR_WORKERS; i++)
		if (workers[i].kind == PENDING)
			pthread_sigqueue(workers[i].thread, PENDING_SIGNAL,
					 (union sigval){ .sival_int = 5000 + i });
	/* Let each one get into its blocking call. */
	usleep(50000);
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(getpid() == pid && my_tid() == pid, "main thread is pid %d tid %d, was %d",
		   getpid(), my_tid(), pid);
	PROG_CHECK(tls_value == TLS_BASE - 1, "main thread's TLS is %#llx",
		   (unsigned long long)tls_value);
	sigpending(&pending);
	PROG_CHECK(!sigismember(&pending, PENDING_SIGNAL),
		   "a signal queued for one thread is pending in the main thread");
	for (int i = 0; i < NR_WORKERS; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/task/%d", workers[i].tid);
		PROG_CHECK(access(path, F_OK) == 0, "worker %d: no thread %d any more", i,
			   workers[i].tid);
	}
	check_pages();
	check_signal_delivery();
	end_and_join();
	PROG_CHECK(!misdelivered, "a queued signal was delivered in thread %d", misdelivered);
	prog_finish();
}
