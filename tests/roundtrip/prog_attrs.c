/* Task attributes survive a round trip: rlimits, umask, cwd, comm,
 * personality, prctl state, interval timers, POSIX timers (with a gap in
 * their ids), rseq, the exact PID, and credentials that are no longer plain
 * root (other uids, gids, groups, capability sets and securebits). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define NS_PER_SEC 1000000000LL
/* Time a restored timer may lose beyond the wall time that passed, and
 * CPU time the round trip may charge to the process. */
#define SLACK_NS (NS_PER_SEC / 2)
/* The kernel adds one tick (1/HZ) to a CPU-time itimer each time it is
 * armed, so each restore may add that much to a virtual or profiling
 * timer: a few ticks, far from a timer reset to its full period. */
#define CPU_ITIMER_EXCESS_NS (NS_PER_SEC / 10)
#define NR_POSIX_TIMERS 3
#define MAX_GROUPS 16

static const struct {
	int resource;
	struct rlimit limit;
} rlimits[] = {
	{ RLIMIT_NOFILE, { 256, 512 } },
	{ RLIMIT_CORE, { 4096, 1 << 20 } },
	{ RLIMIT_CPU, { 7200, 7300 } },
	{ RLIMIT_MSGQUEUE, { 4096, 8192 } },
	{ RLIMIT_STACK, { 4 << 20, 32 << 20 } },
	{ RLIMIT_MEMLOCK, { 64 << 10, 128 << 10 } },
};

/* Everything that can be read back and must compare equal. */
struct attrs {
	struct rlimit limits[RLIM_NLIMITS];
	mode_t umask;
	char cwd[PATH_MAX];
	char comm[16];
	int personality;
	int pdeath_signal, child_subreaper, no_new_privs, dumpable;
	uid_t uid, euid, suid, fsuid;
	gid_t gid, egid, sgid, fsgid;
	int nr_groups;
	gid_t groups[MAX_GROUPS];
	struct __user_cap_data_struct caps[2];
	uint64_t bounding, ambient;
	int securebits;
	char timers[1024];	/* /proc/self/timers, one sorted line per timer */
};

static int timer_ids[NR_POSIX_TIMERS], deleted_timer_id;
static struct itimerspec posix_before[NR_POSIX_TIMERS];
static struct itimerval itimers_before[3];
static struct rseq *rseq_area;
static unsigned int rseq_len;
static int last_cap;

static void __attribute__((noreturn)) setup_failed(const char *what)
{
	fprintf(stderr, "setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int64_t ns_of(struct timespec ts)
{
	return ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static int64_t ns_of_tv(struct timeval tv)
{
	return tv.tv_sec * NS_PER_SEC + tv.tv_usec * 1000LL;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ns_of(ts);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* /proc/self/timers lists timers in no set order: each one's four lines
 * become one, and those are sorted. */
static void read_timers(char *out, size_t size)
{
	char text[2048] = "", *timers[32], *save = NULL;
	int n = 0, fd = open("/proc/self/timers", O_RDONLY);
	ssize_t len = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);

	if (fd >= 0)
		close(fd);
	out[0] = '\0';
	if (len <= 0)
		return;
	text[len] = '\0';
	for (char *p = text; (p = strchr(p, '\n'));)
		*p = p[1] == 'I' || !p[1] ? '|' : ' ';
	for (char *t = strtok_r(text, "|", &save); t && n < 32; t = strtok_r(NULL, "|", &save))
		timers[n++] = t;
	qsort(timers, n, sizeof(timers[0]), cmp_lines);
	for (int i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s\n", timers[i]);
}

static void read_attrs(struct attrs *a)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };

	memset(a, 0, sizeof(*a));
	for (int r = 0; r < RLIM_NLIMITS; r++)
		getrlimit(r, &a->limits[r]);
	a->umask = umask(0);
	umask(a->umask);
	if (!getcwd(a->cwd, sizeof(a->cwd)))
		a->cwd[0] = '\0';
	prctl(PR_GET_NAME, a->comm, 0, 0, 0);
	a->personality = personality(0xffffffff);
	prctl(PR_GET_PDEATHSIG, &a->pdeath_signal, 0, 0, 0);
	prctl(PR_GET_CHILD_SUBREAPER, &a->child_subreaper, 0, 0, 0);
	a->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	a->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	getresuid(&a->uid, &a->euid, &a->suid);
	getresgid(&a->gid, &a->egid, &a->sgid);
	a->fsuid = setfsuid(-1);
	a->fsgid = setfsgid(-1);
	a->nr_groups = getgroups(MAX_GROUPS, a->groups);
	syscall(SYS_capget, &header, a->caps);
	for (int cap = 0; cap <= last_cap; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			a->bounding |= 1ULL << cap;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			a->ambient |= 1ULL << cap;
	}
	a->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	read_timers(a->timers, sizeof(a->timers));
}

static void compare_attrs(const struct attrs *b, const struct attrs *a)
{
	for (int r = 0; r < RLIM_NLIMITS; r++)
		PROG_CHECK(a->limits[r].rlim_cur == b->limits[r].rlim_cur &&
				   a->limits[r].rlim_max == b->limits[r].rlim_max,
			   "rlimit %d: {%llu, %llu} became {%llu, %llu}", r,
			   (unsigned long long)b->limits[r].rlim_cur,
			   (unsigned long long)b->limits[r].rlim_max,
			   (unsigned long long)a->limits[r].rlim_cur,
			   (unsigned long long)a->limits[r].rlim_max);
	PROG_CHECK(a->umask == b->umask, "umask %#o became %#o", b->umask, a->umask);
	PROG_CHECK(!strcmp(a->cwd, b->cwd), "cwd \"%s\" became \"%s\"", b->cwd, a->cwd);
	PROG_CHECK(!strcmp(a->comm, b->comm), "comm \"%s\" became \"%s\"", b->comm, a->comm);
	PROG_CHECK(a->personality == b->personality, "personality %#x became %#x",
		   b->personality, a->personality);
	PROG_CHECK(a->pdeath_signal == b->pdeath_signal, "parent-death signal %d became %d",
		   b->pdeath_signal, a->pdeath_signal);
	PROG_CHECK(a->child_subreaper == b->child_subreaper, "child subreaper %d became %d",
		   b->child_subreaper, a->child_subreaper);
	PROG_CHECK(a->no_new_privs == b->no_new_privs, "no_new_privs %d became %d",
		   b->no_new_privs, a->no_new_privs);
	PROG_CHECK(a->dumpable == b->dumpable, "dumpable %d became %d", b->dumpable, a->dumpable);
	PROG_CHECK(a->uid == b->uid && a->euid == b->euid && a->suid == b->suid &&
			   a->fsuid == b->fsuid,
		   "uids %u/%u/%u/%u became %u/%u/%u/%u", b->uid, b->euid, b->suid, b->fsuid,
		   a->uid, a->euid, a->suid, a->fsuid);
	PROG_CHECK(a->gid == b->gid && a->egid == b->egid && a->sgid == b->sgid &&
			   a->fsgid == b->fsgid,
		   "gids %u/%u/%u/%u became %u/%u/%u/%u", b->gid, b->egid, b->sgid, b->fsgid,
		   a->gid, a->egid, a->sgid, a->fsgid);
	PROG_CHECK(a->nr_groups == b->nr_groups &&
			   !memcmp(a->groups, b->groups, sizeof(a->groups[0]) * (size_t)b->nr_groups),
		   "%d supplementary groups (first %u) became %d (first %u)", b->nr_groups,
		   b->groups[0], a->nr_groups, a->groups[0]);
	for (int i = 0; i < 2; i++)
		PROG_CHECK(!memcmp(&a->caps[i], &b->caps[i], sizeof(a->caps[i])),
			   "capabilities (word %d) eff/prm/inh %#x/%#x/%#x became %#x/%#x/%#x", i,
			   b->caps[i].effective, b->caps[i].permitted, b->caps[i].inheritable,
			   a->caps[i].effective, a->caps[i].permitted, a->caps[i].inheritable);
	PROG_CHECK(a->bounding == b->bounding, "bounding set %#llx became %#llx",
		   (unsigned long long)b->bounding, (unsigned long long)a->bounding);
	PROG_CHECK(a->ambient == b->ambient, "ambient set %#llx became %#llx",
		   (unsigned long long)b->ambient, (unsigned long long)a->ambient);
	PROG_CHECK(a->securebits == b->securebits, "securebits %#x became %#x", b->securebits,
		   a->securebits);
	PROG_CHECK(!strcmp(a->timers, b->timers), "/proc/self/timers\n%s\nbecame\n%s", b->timers,
		   a->timers);
}

static void set_process_attrs(void)
{
	char cwd[PATH_MAX];

	for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++)
		if (setrlimit(rlimits[i].resource, &rlimits[i].limit))
			setup_failed("setrlimit");
	umask(027);
	snprintf(cwd, sizeof(cwd), "%s/cwd-of-attrs", prog_dir());
	if ((mkdir(cwd, 0755) && errno != EEXIST) || chdir(cwd))
		setup_failed("cwd");
	if (prctl(PR_SET_NAME, "cryo-attrs-t", 0, 0, 0))
		setup_failed("PR_SET_NAME");
	if (personality(ADDR_NO_RANDOMIZE | UNAME26) < 0)
		setup_failed("personality");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		setup_failed("subreaper or no_new_privs");
}

/* Real, virtual and profiling timers with long periods, none due during
 * the test; SIGALRM is blocked all the same. */
static void set_itimers(void)
{
	static const int seconds[3][2] = { { 30, 60 }, { 100, 200 }, { 150, 300 } };
	sigset_t alrm;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	for (int which = 0; which < 3; which++) {
		struct itimerval v = { { seconds[which][1], 0 }, { seconds[which][0], 0 } };

		if (setitimer(which, &v, NULL))
			setup_failed("setitimer");
	}
}

static int create_timer(clockid_t clock, int notify, int signo, int value, int tid)
{
	struct sigevent ev;
	int id = -1;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = notify;
	ev.sigev_signo = signo;
	ev.sigev_value.sival_int = value;
	ev._sigev_un._tid = tid;
	if (syscall(SYS_timer_create, clock, &ev, &id))
		setup_failed("timer_create");
	return id;
}

/* Three timers through the raw calls (their ids are the kernel's), and a
 * fourth, created second and deleted, that leaves a gap in the ids. */
static void set_posix_timers(void)
{
	static const struct itimerspec specs[NR_POSIX_TIMERS] = {
		{ { 400, 0 }, { 200, 0 } },
		{ { 0, 0 }, { 300, 0 } },
		{ { 1000, 0 }, { 100, 0 } },
	};
	sigset_t rt;

	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 1);
	sigaddset(&rt, SIGRTMIN + 6);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	timer_ids[0] = create_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 1, 0x1234, 0);
	deleted_timer_id = create_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 1, 0, 0);
	timer_ids[1] = create_timer(CLOCK_REALTIME, SIGEV_NONE, 0, 0, 0);
	timer_ids[2] = create_timer(CLOCK_BOOTTIME, SIGEV_SIGNAL | SIGEV_THREAD_ID, SIGRTMIN + 6,
				    77, gettid());
	if (syscall(SYS_timer_delete, deleted_timer_id))
		setup_failed("timer_delete");
	for (int i = 0; i < NR_POSIX_TIMERS; i++)
		if (syscall(SYS_timer_settime, timer_ids[i], 0, &specs[i], NULL))
			setup_failed("timer_settime");
}

/* glibc registered rseq; find the length it used, the one that makes a
 * second registration of the same area fail with EBUSY. */
static void find_rseq(void)
{
	if (__rseq_size == 0) {
		errno = ENOSYS;
		setup_failed("glibc did not register rseq");
	}
	rseq_area = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	for (rseq_len = __rseq_size; rseq_len <= 32; rseq_len = 32) {
		if (syscall(SYS_rseq, rseq_area, rseq_len, 0, RSEQ_SIG) < 0 && errno == EBUSY)
			return;
		if (rseq_len == 32)
			break;
	}
	setup_failed("rseq registration does not answer EBUSY");
}

/*
 * The non-root credentials, last: ruid 1000, euid 1001, suid 0, fsuid 1002
 * (and gids 1000-1003). suid 0 keeps the permitted set; the effective set
 * the uid change cleared is raised again, with CAP_DAC_OVERRIDE, so the
 * program can still write its out file in the runner's root-only dir.
 */
static void set_creds(void)
{
	static const gid_t groups[] = { 4, 5, 27 };
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];
	uint64_t permitted, effective, inheritable;
	uid_t uid, euid, suid;
	gid_t gid, egid, sgid;
	int dumpable;

	if (setgroups(3, groups) || setresgid(1000, 1001, 1002) ||
	    prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0) ||
	    prctl(PR_CAPBSET_DROP, CAP_MKNOD, 0, 0, 0) ||
	    prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) || setresuid(1000, 1001, 0))
		setup_failed("ids, groups or bounding set");
	if (syscall(SYS_capget, &header, caps))
		setup_failed("capget");
	permitted = (caps[0].permitted | (uint64_t)caps[1].permitted << 32) &
		    ~(1ULL << CAP_SYS_BOOT | 1ULL << CAP_SYS_MODULE);
	effective = permitted & ~(1ULL << CAP_NET_RAW);
	inheritable = 1ULL << CAP_KILL | 1ULL << CAP_NET_BIND_SERVICE;
	caps[0] = (struct __user_cap_data_struct){ (uint32_t)effective, (uint32_t)permitted,
						   (uint32_t)inheritable };
	caps[1] = (struct __user_cap_data_struct){ (uint32_t)(effective >> 32),
						   (uint32_t)(permitted >> 32),
						   (uint32_t)(inheritable >> 32) };
	if (syscall(SYS_capset, &header, caps) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) ||
	    prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NO_CAP_AMBIENT_RAISE, 0, 0, 0))
		setup_failed("capabilities or securebits");
	/* The fs ids last: they need CAP_SETUID and CAP_SETGID in effect. */
	setfsuid(1002);
	setfsgid(1003);
	getresuid(&uid, &euid, &suid);
	getresgid(&gid, &egid, &sgid);
	if (uid != 1000 || euid != 1001 || suid != 0 || setfsuid(-1) != 1002 || gid != 1000 ||
	    egid != 1001 || sgid != 1002 || setfsgid(-1) != 1003) {
		errno = EPERM;
		setup_failed("the ids are not the ones set");
	}
	/* The id changes reset dumpable (and the parent-death signal): both
	 * are set after, dumpable to what the same change would not give.
	 * The signal is one ignored by default, because cryo, the restored
	 * task's parent, exits after restore -d and so sends it. */
	dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (prctl(PR_SET_DUMPABLE, !dumpable, 0, 0, 0) || prctl(PR_SET_PDEATHSIG, SIGURG, 0, 0, 0))
		setup_failed("dumpable or parent-death signal");
}

static void check_itimers(int64_t elapsed)
{
	for (int which = 0; which < 3; which++) {
		struct itimerval now;
		int64_t before, after;

		getitimer(which, &now);
		before = ns_of_tv(itimers_before[which].it_value);
		after = ns_of_tv(now.it_value);
		PROG_CHECK(ns_of_tv(now.it_interval) == ns_of_tv(itimers_before[which].it_interval),
			   "itimer %d: interval %lld ns became %lld ns", which,
			   (long long)ns_of_tv(itimers_before[which].it_interval),
			   (long long)ns_of_tv(now.it_interval));
		/* Only the real timer runs while the program waits. */
		PROG_CHECK(after <= before + (which ? CPU_ITIMER_EXCESS_NS : 0) &&
				   after >= before - SLACK_NS - (which ? 0 : elapsed),
			   "itimer %d: %lld ns were left, now %lld ns (%lld ns later)", which,
			   (long long)before, (long long)after, (long long)elapsed);
	}
}

static void check_posix_timers(int64_t elapsed)
{
	struct itimerspec now;

	for (int i = 0; i < NR_POSIX_TIMERS; i++) {
		int64_t before = ns_of(posix_before[i].it_value), after;

		if (syscall(SYS_timer_gettime, timer_ids[i], &now)) {
			prog_fail("posix timer %d is gone: %s", timer_ids[i], strerror(errno));
			continue;
		}
		after = ns_of(now.it_value);
		PROG_CHECK(ns_of(now.it_interval) == ns_of(posix_before[i].it_interval),
			   "posix timer %d: interval %lld ns became %lld ns", timer_ids[i],
			   (long long)ns_of(posix_before[i].it_interval),
			   (long long)ns_of(now.it_interval));
		PROG_CHECK(after <= before && after >= before - elapsed - SLACK_NS,
			   "posix timer %d: %lld ns were left, now %lld ns (%lld ns later)",
			   timer_ids[i], (long long)before, (long long)after, (long long)elapsed);
	}
	PROG_CHECK(syscall(SYS_timer_gettime, deleted_timer_id, &now) < 0 && errno == EINVAL,
		   "the deleted posix timer %d exists again", deleted_timer_id);
}

/* The same area is registered (a second registration is refused with
 * EBUSY, not EINVAL), and the kernel keeps its cpu_id current: after a
 * move to each allowed CPU it names that CPU. */
static void check_rseq(void)
{
	volatile struct rseq *area = rseq_area;
	cpu_set_t allowed, one;
	unsigned int cpu = ~0U;

	PROG_CHECK(syscall(SYS_rseq, rseq_area, rseq_len, 0, RSEQ_SIG) < 0 && errno == EBUSY,
		   "rseq: the area at %p (%u bytes) is no longer the registered one (%s)",
		   (void *)rseq_area, rseq_len, strerror(errno));
	syscall(SYS_getcpu, &cpu, NULL, NULL);
	PROG_CHECK(area->cpu_id == cpu, "rseq cpu_id %u, but the task runs on cpu %u",
		   area->cpu_id, cpu);
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return (void)prog_fail("sched_getaffinity: %s", strerror(errno));
	for (int pass = 0; pass < 2; pass++) {
		for (int c = 0; c < CPU_SETSIZE; c++) {
			if (!CPU_ISSET(c, &allowed))
				continue;
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			if (sched_setaffinity(0, sizeof(one), &one))
				return (void)prog_fail("sched_setaffinity: %s", strerror(errno));
			syscall(SYS_getcpu, &cpu, NULL, NULL);
			PROG_CHECK(cpu == (unsigned int)c && area->cpu_id == cpu,
				   "moved to cpu %d: getcpu says %u, rseq cpu_id %u", c, cpu,
				   area->cpu_id);
		}
	}
	sched_setaffinity(0, sizeof(allowed), &allowed);
}

/* The pid file the runner named; the runner checks it against the pid it
 * restored, the program checks it against itself. */
static pid_t pid_in_file(int argc, char **argv)
{
	pid_t pid = 0;
	FILE *f = NULL;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--pidfile"))
			f = fopen(argv[i + 1], "r");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

int main(int argc, char **argv)
{
	struct attrs before, after;
	pid_t pid;
	int64_t start;
	FILE *f;

	prog_init(argc, argv);
	f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	if (!f || fscanf(f, "%d", &last_cap) != 1 || last_cap > 63)
		setup_failed("cap_last_cap");
	fclose(f);
	find_rseq();
	set_process_attrs();
	set_itimers();
	set_posix_timers();
	set_creds();
	pid = getpid();
	read_attrs(&before);
	start = now_ns();
	for (int which = 0; which < 3; which++)
		getitimer(which, &itimers_before[which]);
	for (int i = 0; i < NR_POSIX_TIMERS; i++)
		syscall(SYS_timer_gettime, timer_ids[i], &posix_before[i]);
	prog_ready();
	prog_wait_sigterm();

	read_attrs(&after);
	check_itimers(now_ns() - start);
	check_posix_timers(now_ns() - start);
	compare_attrs(&before, &after);
	PROG_CHECK(getpid() == pid && pid_in_file(argc, argv) == pid,
		   "getpid() is %d; it was %d, and the pid file says %d", getpid(), pid,
		   pid_in_file(argc, argv));
	check_rseq();
	prog_finish();
}
