/* Signal state survives a round trip: every signal action (handler, flags,
 * mask, restorer) as the kernel reports it, and each one still works (on the
 * alternate stack, with SA_RESTART, SA_NODEFER, SA_RESETHAND, a restorer of
 * its own, SIG_IGN); the blocked mask; the alternate stack; and pending
 * signals, thread-private and process-wide, with their exact siginfo. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define ALTSTACK_SIZE (64 * 1024)
/* The kernel's flag for a restorer of one's own (x86_64 needs one). */
#define KERNEL_SA_RESTORER 0x04000000UL
#define NSIG_KERNEL 64
/* SS_AUTODISARM (4.7), which glibc's headers lack. */
#define SS_AUTODISARM_FLAG (1U << 31)

/* The kernel's x86_64 struct sigaction, as rt_sigaction reads it. */
struct kernel_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

struct handler_record {
	int count;
	int seq;		/* order among all handler runs */
	int code;
	pid_t pid;
	bool on_altstack;	/* every run so far was on the alternate stack */
	bool off_altstack;	/* every run so far was off it */
	bool self_blocked;	/* the signal was blocked while its handler ran */
	bool mask_blocked;	/* the action's sa_mask was blocked while it ran */
	void *uc_stack_sp;	/* the alternate stack the context saved */
};

static char *altstack;
static int rt_private, rt_shared, rt_own_restorer, rt_in_mask;
static volatile int handler_seq;
static volatile struct handler_record usr1 = { .on_altstack = true, .off_altstack = true };
static volatile struct handler_record usr2 = { .on_altstack = true, .off_altstack = true };
static volatile struct handler_record own = { .on_altstack = true, .off_altstack = true };
static volatile int restorer_calls __attribute__((used));

/* A restorer of the program's own: counts its calls, then rt_sigreturn. */
void own_restorer(void);
asm(".text\n"
    ".type own_restorer, @function\n"
    "own_restorer:\n"
    "\tlock incl restorer_calls(%rip)\n"
    "\tmov $15, %eax\n"
    "\tsyscall\n"
    "\thlt\n"
    ".size own_restorer, .-own_restorer\n");

static void record(volatile struct handler_record *r, int sig, int mask_sig, int code, pid_t pid)
{
	char here;
	bool on = &here >= altstack && &here < altstack + ALTSTACK_SIZE;
	sigset_t now;

	sigprocmask(SIG_BLOCK, NULL, &now);
	r->count++;
	r->seq = ++handler_seq;
	r->code = code;
	r->pid = pid;
	r->on_altstack &= on;
	r->off_altstack &= !on;
	r->self_blocked = sigismember(&now, sig);
	r->mask_blocked = mask_sig ? sigismember(&now, mask_sig) : false;
}

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	record(&usr1, sig, rt_in_mask, si->si_code, si->si_pid);
	usr1.uc_stack_sp = ((ucontext_t *)ctx)->uc_stack.ss_sp;
}

static void on_usr2(int sig)
{
	record(&usr2, sig, 0, 0, 0);
}

static void on_own(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	record(&own, sig, rt_in_mask, si->si_code, si->si_pid);
}

static int raw_sigaction(int sig, const struct kernel_sigaction *act, struct kernel_sigaction *old)
{
	return (int)syscall(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t));
}

static void read_actions(struct kernel_sigaction actions[NSIG_KERNEL])
{
	for (int sig = 1; sig <= NSIG_KERNEL; sig++) {
		memset(&actions[sig - 1], 0, sizeof(actions[0]));
		if (sig != SIGKILL && sig != SIGSTOP)
			raw_sigaction(sig, NULL, &actions[sig - 1]);
	}
}

/* The kernel's 64-bit blocked mask, as ptrace and the image hold it. */
static uint64_t blocked_mask(void)
{
	uint64_t mask = 0;

	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, sizeof(mask));
	return mask;
}

static uint64_t bit(int sig)
{
	return 1ULL << (sig - 1);
}

static void set_actions(void)
{
	struct sigaction sa;
	struct kernel_sigaction raw = {
		.handler = (uintptr_t)on_own,
		.flags = SA_SIGINFO | KERNEL_SA_RESTORER,
		.restorer = (uintptr_t)own_restorer,
		.mask = bit(rt_in_mask),
	};

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, rt_in_mask);
	sigaction(SIGUSR1, &sa, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_NODEFER | SA_RESETHAND;
	sigaction(SIGUSR2, &sa, NULL);

	raw_sigaction(rt_own_restorer, &raw, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);

	/* The default action, with flags and a mask that must still come back. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_RESTART;
	sigaddset(&sa.sa_mask, SIGINT);
	sigaction(SIGWINCH, &sa, NULL);
}

/* Blocked: SIGINT and SIGUSR2 (pending), two real-time signals (pending),
 * and SIGTERM (prog_init). SIGUSR1 and rt_own_restorer stay deliverable. */
static void block_and_queue(void)
{
	siginfo_t si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, rt_private);
	sigaddset(&set, rt_shared);
	sigprocmask(SIG_BLOCK, &set, NULL);

	kill(getpid(), SIGINT);
	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
	sigqueue(getpid(), rt_shared, (union sigval){ .sival_int = 11 });
	sigqueue(getpid(), rt_shared, (union sigval){ .sival_int = 22 });
	for (int value = 33; value <= 44; value += 11) {
		memset(&si, 0, sizeof(si));
		si.si_signo = rt_private;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value.sival_int = value;
		syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), rt_private, &si);
	}
}

/* SigPnd (this thread's queue) or ShdPnd (the process's) of /proc/self/status. */
static uint64_t pending_mask(const char *key)
{
	char line[256];
	unsigned long long mask = ~0ULL;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			sscanf(line + strlen(key) + 1, "%llx", &mask);
	if (f)
		fclose(f);
	return mask;
}

/* Takes one pending signal of @set without waiting; the raw call, because
 * glibc's sigtimedwait reports SI_TKILL as SI_USER. */
static int take_signal(uint64_t set, siginfo_t *si)
{
	struct timespec zero = { 0, 0 };

	return (int)syscall(SYS_rt_sigtimedwait, &set, si, &zero, sizeof(set));
}

static void expect_queued(int sig, int code, int value, bool has_value)
{
	siginfo_t si;

	if (take_signal(bit(sig), &si) != sig) {
		prog_fail("signal %d (value %d) is not pending: %s", sig, value, strerror(errno));
		return;
	}
	PROG_CHECK(si.si_signo == sig && si.si_code == code && si.si_pid == getpid() &&
			   si.si_uid == getuid(),
		   "signal %d: siginfo says signo %d code %d pid %d uid %d, expected code %d pid %d",
		   sig, si.si_signo, si.si_code, si.si_pid, si.si_uid, code, getpid());
	if (has_value)
		PROG_CHECK(si.si_value.sival_int == value, "signal %d: value %d, expected %d", sig,
			   si.si_value.sival_int, value);
}

static void check_pending(void)
{
	uint64_t private = pending_mask("SigPnd"), shared = pending_mask("ShdPnd");
	sigset_t pending;
	siginfo_t si;

	PROG_CHECK(private == (bit(SIGUSR2) | bit(rt_private)),
		   "thread-private pending mask %#llx, expected %#llx", (unsigned long long)private,
		   (unsigned long long)(bit(SIGUSR2) | bit(rt_private)));
	PROG_CHECK(shared == (bit(SIGINT) | bit(rt_shared)),
		   "process-wide pending mask %#llx, expected %#llx", (unsigned long long)shared,
		   (unsigned long long)(bit(SIGINT) | bit(rt_shared)));
	expect_queued(SIGUSR2, SI_TKILL, 0, false);
	expect_queued(rt_private, SI_QUEUE, 33, true);
	expect_queued(rt_private, SI_QUEUE, 44, true);
	expect_queued(SIGINT, SI_USER, 0, false);
	expect_queued(rt_shared, SI_QUEUE, 11, true);
	expect_queued(rt_shared, SI_QUEUE, 22, true);
	/* Nothing more of any signal: each was queued exactly as often as sent. */
	PROG_CHECK(take_signal(~0ULL, &si) < 0 && errno == EAGAIN,
		   "signal %d is pending, and it was never sent (or not that often)", si.si_signo);
	sigpending(&pending);
	PROG_CHECK(sigisemptyset(&pending), "signals still pending after all were taken");
}

static void check_actions(const struct kernel_sigaction before[NSIG_KERNEL])
{
	struct kernel_sigaction now[NSIG_KERNEL];

	read_actions(now);
	for (int sig = 1; sig <= NSIG_KERNEL; sig++) {
		const struct kernel_sigaction *a = &before[sig - 1], *b = &now[sig - 1];

		PROG_CHECK(!memcmp(a, b, sizeof(*a)),
			   "signal %d: action {%#llx, flags %#llx, restorer %#llx, mask %#llx} became {%#llx, %#llx, %#llx, %#llx}",
			   sig, (unsigned long long)a->handler, (unsigned long long)a->flags,
			   (unsigned long long)a->restorer, (unsigned long long)a->mask,
			   (unsigned long long)b->handler, (unsigned long long)b->flags,
			   (unsigned long long)b->restorer, (unsigned long long)b->mask);
	}
}

static timer_t arm_timer(int sig, long ms)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig };
	struct itimerspec spec = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };
	timer_t timer;

	if (timer_create(CLOCK_MONOTONIC, &ev, &timer) || timer_settime(timer, 0, &spec, NULL))
		prog_fail("cannot arm a timer for signal %d: %s", sig, strerror(errno));
	return timer;
}

/*
 * SIGUSR1 (SA_RESTART) interrupts a read on an empty pipe, which must go on
 * waiting; then rt_own_restorer (no SA_RESTART) interrupts it for good. Both
 * handlers must have run, SIGUSR1's first, on the alternate stack, and the
 * own restorer must have been used.
 */
static void check_restart_and_altstack(void)
{
	int before_usr1 = usr1.count, before_own = own.count, calls = restorer_calls;
	timer_t first, second;
	int pipefd[2];
	char c;
	ssize_t n;

	if (pipe(pipefd))
		return (void)prog_fail("pipe: %s", strerror(errno));
	first = arm_timer(SIGUSR1, 20);
	second = arm_timer(rt_own_restorer, 150);
	n = read(pipefd[0], &c, 1);
	PROG_CHECK(n < 0 && errno == EINTR, "the read ended with %zd (%s), not EINTR", n,
		   strerror(errno));
	PROG_CHECK(usr1.count == before_usr1 + 1 && own.count == before_own + 1,
		   "SIGUSR1 ran %d and signal %d ran %d times during the read, not once each",
		   usr1.count - before_usr1, rt_own_restorer, own.count - before_own);
	PROG_CHECK(usr1.seq < own.seq, "the read was not restarted after SIGUSR1 (SA_RESTART lost)");
	PROG_CHECK(usr1.code == SI_TIMER, "SIGUSR1 si_code %d, expected SI_TIMER", usr1.code);
	PROG_CHECK(restorer_calls == calls + 1, "signal %d returned without its own restorer",
		   rt_own_restorer);
	PROG_CHECK(own.self_blocked && own.mask_blocked,
		   "signal %d: itself or its sa_mask not blocked in its handler", rt_own_restorer);
	timer_delete(first);
	timer_delete(second);
	close(pipefd[0]);
	close(pipefd[1]);

	raise(SIGUSR1);
	PROG_CHECK(usr1.count == before_usr1 + 2 && usr1.code == SI_TKILL && usr1.pid == getpid(),
		   "raised SIGUSR1: ran %d times, si_code %d, si_pid %d", usr1.count - before_usr1,
		   usr1.code, usr1.pid);
	PROG_CHECK(usr1.on_altstack, "SIGUSR1 (SA_ONSTACK) ran off the alternate stack");
	PROG_CHECK(usr1.uc_stack_sp == altstack, "SIGUSR1: the saved context's stack is %p, not %p",
		   usr1.uc_stack_sp, altstack);
	PROG_CHECK(usr1.self_blocked, "SIGUSR1 was not blocked in its own handler");
	PROG_CHECK(usr1.mask_blocked, "SIGUSR1: its sa_mask was not blocked in its handler");
}

/* SIGUSR2: off the alternate stack, not blocked in its handler (SA_NODEFER),
 * and back to the default action after it ran (SA_RESETHAND). */
static void check_nodefer_resethand(void)
{
	struct sigaction now;
	sigset_t usr2_set;

	sigemptyset(&usr2_set);
	sigaddset(&usr2_set, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &usr2_set, NULL);
	raise(SIGUSR2);
	PROG_CHECK(usr2.count == 1, "SIGUSR2 handler ran %d times", usr2.count);
	PROG_CHECK(usr2.off_altstack, "SIGUSR2 (no SA_ONSTACK) ran on the alternate stack");
	PROG_CHECK(!usr2.self_blocked, "SIGUSR2 (SA_NODEFER) was blocked in its handler");
	sigaction(SIGUSR2, NULL, &now);
	PROG_CHECK(now.sa_handler == SIG_DFL, "SIGUSR2 (SA_RESETHAND) kept its handler");
	/* SIGHUP is ignored: raising it changes nothing. */
	raise(SIGHUP);
}

int main(int argc, char **argv)
{
	struct kernel_sigaction actions[NSIG_KERNEL];
	stack_t stack = { .ss_flags = (int)SS_AUTODISARM_FLAG, .ss_size = ALTSTACK_SIZE }, now_stack;
	uint64_t mask;

	prog_init(argc, argv);
	rt_shared = SIGRTMIN + 2;
	rt_private = SIGRTMIN + 3;
	rt_own_restorer = SIGRTMIN + 4;
	rt_in_mask = SIGRTMIN + 5;
	altstack = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	stack.ss_sp = altstack;
	if (altstack == MAP_FAILED || sigaltstack(&stack, NULL))
		return 2;
	set_actions();
	block_and_queue();
	read_actions(actions);
	if (actions[SIGUSR1 - 1].handler != (uintptr_t)on_usr1 ||
	    actions[rt_own_restorer - 1].restorer != (uintptr_t)own_restorer ||
	    actions[SIGHUP - 1].handler != (uintptr_t)SIG_IGN)
		return 2;
	mask = blocked_mask();
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(blocked_mask() == mask, "blocked mask %#llx became %#llx",
		   (unsigned long long)mask, (unsigned long long)blocked_mask());
	sigaltstack(NULL, &now_stack);
	PROG_CHECK(now_stack.ss_sp == altstack && now_stack.ss_size == ALTSTACK_SIZE &&
			   now_stack.ss_flags == (int)SS_AUTODISARM_FLAG,
		   "sigaltstack {%p, %zu, %#x} became {%p, %zu, %#x}", (void *)altstack,
		   (size_t)ALTSTACK_SIZE, SS_AUTODISARM_FLAG, now_stack.ss_sp, now_stack.ss_size,
		   now_stack.ss_flags);
	check_actions(actions);
	check_pending();
	check_restart_and_altstack();
	check_nodefer_resethand();
	sigaltstack(NULL, &now_stack);
	PROG_CHECK(now_stack.ss_sp == altstack && now_stack.ss_flags == (int)SS_AUTODISARM_FLAG,
		   "the alternate stack was not given back after its handler ran");
	prog_finish();
}
