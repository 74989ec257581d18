/* Round-trip program: scheduling and accounting state, per thread where the
 * kernel keeps it per thread. The main thread runs SCHED_BATCH at nice 7 on
 * CPU 0, I/O class best-effort level 2, timer slack 123456 ns; a second
 * thread SCHED_IDLE at nice 3 on the last CPU, I/O class idle, slack
 * 777777 ns; a third SCHED_FIFO priority 10 with reset-on-fork, nice -2, on
 * every CPU, I/O class real-time level 4; a fourth SCHED_RR priority 5,
 * nice 4, I/O class best-effort level 7; a fifth SCHED_DEADLINE (runtime
 * 1 ms every 20 ms, deadline 10 ms) on every CPU (a deadline thread may
 * not narrow its affinity). The process has oom_score_adj 321
 * and login uid 4321. The main thread's utilization clamps are 100..900
 * where the kernel has uclamp (CONFIG_UCLAMP_TASK; without, it shows 0..0
 * and must still after restore). After restore every value is checked, the timer slack
 * by each thread itself (PR_GET_TIMERSLACK), the rest by tid. */
#include <errno.h>
#include <fcntl.h>
#include <linux/ioprio.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

/* linux/sched/types.h's, which clashes with glibc's sched.h. */
struct sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

#define OOM_SCORE_ADJ 321
#define LOGINUID 4321u

struct thread_want {
	const char *what;
	uint32_t policy, flags, priority;
	int nice;
	int cpu;		/* -1: every CPU */
	uint32_t ioprio;
	unsigned long slack;
	uint64_t runtime, deadline, period;	/* SCHED_DEADLINE's, in ns */
	_Atomic pid_t tid;
	atomic_ulong slack_seen;	/* its PR_GET_TIMERSLACK, when asked */
};

enum { MAIN, IDLE_THREAD, FIFO_THREAD, RR_THREAD, DEADLINE_THREAD, NR_THREADS };

static struct thread_want want[NR_THREADS] = {
	[MAIN] = { "main thread", SCHED_BATCH, 0, 0, 7, 0,
		   IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 2), 123456 },
	[IDLE_THREAD] = { "idle thread", SCHED_IDLE, 0, 0, 3, -2,
			  IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0), 777777 },
	[FIFO_THREAD] = { "FIFO thread", SCHED_FIFO, SCHED_FLAG_RESET_ON_FORK, 10, -2, -1,
			  IOPRIO_PRIO_VALUE(IOPRIO_CLASS_RT, 4), 0 },
	[RR_THREAD] = { "RR thread", SCHED_RR, 0, 5, 4, -1, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7),
			0 },
	[DEADLINE_THREAD] = { "deadline thread", SCHED_DEADLINE, 0, 0, 0, -1,
			      IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4), 0, .runtime = 1000000,
			      .deadline = 10000000, .period = 20000000 },
};

#define UTIL_MIN 100
#define UTIL_MAX 900

static long nr_cpus;
static bool uclamp;		/* the kernel has it, and the main thread's are set */
static atomic_int asked;	/* bumped to ask every thread for its slack */

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "prog_sched: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void affinity_of(const struct thread_want *w, cpu_set_t *set)
{
	CPU_ZERO(set);
	for (long cpu = 0; cpu < nr_cpus; cpu++)
		if (w->cpu == -1 || cpu == (w->cpu == -2 ? nr_cpus - 1 : w->cpu))
			CPU_SET(cpu, set);
}

/* Sets @w on the calling thread; the timer slack only the thread itself
 * can set. */
static void apply(struct thread_want *w)
{
	struct sched_attr attr = { .size = sizeof(attr), .sched_policy = w->policy,
				   .sched_flags = w->flags, .sched_nice = w->nice,
				   .sched_priority = w->priority, .sched_runtime = w->runtime,
				   .sched_deadline = w->deadline, .sched_period = w->period };
	pid_t tid = gettid();
	cpu_set_t set;

	affinity_of(w, &set);
	if (sched_setaffinity(tid, sizeof(set), &set))
		die("sched_setaffinity");
	if (syscall(SYS_sched_setattr, tid, &attr, 0))
		die(w->what);
	if (setpriority(PRIO_PROCESS, tid, w->nice))
		die("setpriority");
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid, w->ioprio))
		die("ioprio_set");
	if (w->slack && prctl(PR_SET_TIMERSLACK, w->slack, 0, 0, 0))
		die("PR_SET_TIMERSLACK");
	w->tid = tid;
}

static void *thread_main(void *arg)
{
	struct thread_want *w = arg;
	struct timespec pause = { 0, 1000000 };
	int seen = 0;

	apply(w);
	for (;;) {
		if (asked != seen) {
			seen = asked;
			w->slack_seen = (unsigned long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void write_proc(const char *name, unsigned long value)
{
	char path[64], text[32];
	int fd, len;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	len = snprintf(text, sizeof(text), "%lu", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != len)
		die(path);
	close(fd);
}

static long read_proc(const char *name)
{
	char path[64], text[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(text, NULL, 10) : -1;
}

static void set_uclamp(void)
{
	struct sched_attr attr = { .size = sizeof(attr),
				   .sched_flags = SCHED_FLAG_KEEP_ALL | SCHED_FLAG_UTIL_CLAMP,
				   .sched_util_min = UTIL_MIN, .sched_util_max = UTIL_MAX };

	if (!syscall(SYS_sched_setattr, 0, &attr, 0))
		uclamp = true;
	else if (errno != EOPNOTSUPP)
		die("sched_setattr with utilization clamps");
	else
		fprintf(stderr, "prog_sched: no uclamp in this kernel: its clamps are checked "
			"to stay 0..0\n");
}

static void setup(void)
{
	pthread_t t;

	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	write_proc("oom_score_adj", OOM_SCORE_ADJ);
	/* Root may set it (CAP_AUDIT_CONTROL), and change it later. */
	write_proc("loginuid", LOGINUID);
	apply(&want[MAIN]);
	set_uclamp();
	for (int i = IDLE_THREAD; i < NR_THREADS; i++)
		if (pthread_create(&t, NULL, thread_main, &want[i]))
			die("pthread_create");
	for (int i = IDLE_THREAD; i < NR_THREADS; i++)
		while (!want[i].tid)
			usleep(1000);
}

static void check_thread(const struct thread_want *w)
{
	struct sched_attr attr = { 0 };
	cpu_set_t set, expect;
	long ioprio;
	int nice;

	if (!PROG_CHECK(!syscall(SYS_sched_getattr, w->tid, &attr, sizeof(attr), 0),
			"%s: sched_getattr: %s", w->what, strerror(errno)))
		return;
	PROG_CHECK(attr.sched_policy == w->policy && attr.sched_priority == w->priority &&
			   (attr.sched_flags & SCHED_FLAG_RESET_ON_FORK) == w->flags,
		   "%s: policy %u priority %u flags %#llx, want %u %u %#x", w->what,
		   attr.sched_policy, attr.sched_priority, (unsigned long long)attr.sched_flags,
		   w->policy, w->priority, w->flags);
	/* A fair thread's runtime is its slice (6.6), which is the kernel's. */
	PROG_CHECK(w->policy != SCHED_DEADLINE ||
			   (attr.sched_runtime == w->runtime && attr.sched_deadline == w->deadline &&
			    attr.sched_period == w->period),
		   "%s: runtime %llu deadline %llu period %llu, want %llu %llu %llu", w->what,
		   (unsigned long long)attr.sched_runtime, (unsigned long long)attr.sched_deadline,
		   (unsigned long long)attr.sched_period, (unsigned long long)w->runtime,
		   (unsigned long long)w->deadline, (unsigned long long)w->period);
	/* A real-time thread keeps a nice that sched_getattr() does not show. */
	errno = 0;
	nice = getpriority(PRIO_PROCESS, w->tid);
	PROG_CHECK(!errno && nice == w->nice, "%s: nice %d, want %d", w->what, nice, w->nice);
	affinity_of(w, &expect);
	PROG_CHECK(!sched_getaffinity(w->tid, sizeof(set), &set) && CPU_EQUAL(&set, &expect),
		   "%s: CPU affinity has %d CPUs, want %d", w->what, CPU_COUNT(&set),
		   CPU_COUNT(&expect));
	if (w == &want[MAIN])
		PROG_CHECK(uclamp ? attr.sched_util_min == UTIL_MIN && attr.sched_util_max == UTIL_MAX
				  : !attr.sched_util_min && !attr.sched_util_max,
			   "%s: utilization clamps %u..%u, want %u..%u", w->what,
			   attr.sched_util_min, attr.sched_util_max, uclamp ? UTIL_MIN : 0,
			   uclamp ? UTIL_MAX : 0);
	ioprio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, w->tid);
	PROG_CHECK(ioprio == (long)w->ioprio, "%s: I/O priority %#lx, want %#x", w->what, ioprio,
		   w->ioprio);
}

static void check(void)
{
	struct timespec pause = { 0, 1000000 };
	unsigned long slack;

	for (int i = 0; i < NR_THREADS; i++)
		check_thread(&want[i]);
	slack = (unsigned long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	PROG_CHECK(slack == want[MAIN].slack, "main thread: timer slack %lu ns, want %lu", slack,
		   want[MAIN].slack);
	asked++;
	for (int waited = 0; !want[IDLE_THREAD].slack_seen && waited < 5000; waited++)
		nanosleep(&pause, NULL);
	PROG_CHECK(want[IDLE_THREAD].slack_seen == want[IDLE_THREAD].slack,
		   "idle thread: timer slack %lu ns, want %lu",
		   (unsigned long)want[IDLE_THREAD].slack_seen, want[IDLE_THREAD].slack);
	PROG_CHECK(read_proc("oom_score_adj") == OOM_SCORE_ADJ, "oom_score_adj %ld, want %d",
		   read_proc("oom_score_adj"), OOM_SCORE_ADJ);
	PROG_CHECK(read_proc("loginuid") == LOGINUID, "login uid %ld, want %u",
		   read_proc("loginuid"), LOGINUID);
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	setup();
	prog_ready();
	prog_wait_sigterm();
	check();
	prog_finish();
}
