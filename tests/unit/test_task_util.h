/* Helpers shared by the task attribute tests: a small valid TaskCore built
 * in place (every message on the stack), and capturing what a call prints
 * on stderr. Header-only because every tests/unit/test_*.c is its own
 * binary. */
#ifndef CRYO_TEST_TASK_UTIL_H
#define CRYO_TEST_TASK_UTIL_H

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "images/proto/core.pb-c.h"

/* The kernel's SA_RESTORER, which libc's headers keep to themselves. */
#define KERNEL_SA_RESTORER 0x04000000

#define SAMPLE_PID 4242
#define SAMPLE_TID 4243

/* A valid core: two threads (one with a pending signal, a sigaltstack and
 * rseq), one action, one limit, one itimer, one POSIX timer, creds. */
/* Bytes of the sample's CPU affinity: room for CPU 4000. */
#define TASK_AFFINITY_BYTES_SAMPLE 512

struct sample {
	TaskCore core;
	ThreadCore threads[2];
	ThreadCore *thread_ptrs[2];
	UserRegs regs;
	PendingSignal pending;
	PendingSignal *pending_ptrs[1];
	uint8_t siginfo[128];
	SigAltStack altstack;
	Rseq rseq;
	SigAction action;
	SigAction *action_ptrs[1];
	Rlimit rlimit;
	Rlimit *rlimit_ptrs[1];
	ITimer itimer;
	ITimer *itimer_ptrs[1];
	PosixTimer timer;
	PosixTimer *timer_ptrs[1];
	Creds creds;
	PrctlState prctl;
	SchedState sched;
	uint8_t affinity[TASK_AFFINITY_BYTES_SAMPLE];
};

static inline void sample_init(struct sample *s)
{
	siginfo_t si;

	memset(s, 0, sizeof(*s));
	task_core__init(&s->core);
	s->core.pid = SAMPLE_PID;
	s->core.ppid = 1;
	s->core.pgid = SAMPLE_PID;
	s->core.sid = SAMPLE_PID;
	s->core.comm = (char *)"sample";
	s->core.umask = 022;
	s->core.exit_signal = SIGCHLD;
	s->core.cwd = (char *)"/";
	s->core.root = (char *)"/";

	user_regs__init(&s->regs);
	for (int i = 0; i < 2; i++) {
		thread_core__init(&s->threads[i]);
		s->threads[i].regs = &s->regs;
		s->thread_ptrs[i] = &s->threads[i];
	}
	s->threads[0].tid = SAMPLE_PID;
	s->threads[1].tid = SAMPLE_TID;
	s->threads[1].comm = (char *)"sample-worker";
	/* A second thread as glibc leaves one: its tid word and robust list. */
	s->threads[1].has_clear_child_tid = true;
	s->threads[1].clear_child_tid = 0x7f0000001990ULL;
	s->threads[1].has_robust_list = s->threads[1].has_robust_list_len = true;
	s->threads[1].robust_list = 0x7f00000019a0ULL;
	s->threads[1].robust_list_len = 24;
	s->core.threads = s->thread_ptrs;
	s->core.n_threads = 2;
	/* The second thread: SCHED_BATCH at nice 5 on CPU 0, I/O class idle. */
	sched_state__init(&s->sched);
	s->sched.policy = 3;
	s->sched.nice = 5;
	s->affinity[0] = 1;
	s->sched.affinity.data = s->affinity;
	s->sched.affinity.len = 1;
	s->sched.ioprio = 3 << 13;
	s->sched.timer_slack_ns = 50000;
	s->threads[1].sched = &s->sched;
	s->core.has_oom_score_adj = true;
	s->core.oom_score_adj = 200;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	memcpy(s->siginfo, &si, sizeof(s->siginfo));
	pending_signal__init(&s->pending);
	s->pending.siginfo.data = s->siginfo;
	s->pending.siginfo.len = sizeof(s->siginfo);
	s->pending_ptrs[0] = &s->pending;
	s->threads[0].pending = s->pending_ptrs;
	s->threads[0].n_pending = 1;

	sig_alt_stack__init(&s->altstack);
	s->altstack.sp = 0x7f0000000000ULL;
	s->altstack.size = 65536;
	s->threads[0].altstack = &s->altstack;
	rseq__init(&s->rseq);
	s->rseq.abi_pointer = 0x7f0000100020ULL;
	s->rseq.abi_size = 32;
	s->rseq.signature = 0x53053053;
	s->threads[0].rseq = &s->rseq;

	sig_action__init(&s->action);
	s->action.signo = SIGUSR1;
	s->action.handler = 0x401000;
	s->action.flags = SA_SIGINFO | KERNEL_SA_RESTORER;
	s->action.restorer = 0x402000;
	s->action.mask = 1ULL << (SIGUSR2 - 1);
	s->action_ptrs[0] = &s->action;
	s->core.sigactions = s->action_ptrs;
	s->core.n_sigactions = 1;

	rlimit__init(&s->rlimit);
	s->rlimit.resource = RLIMIT_NOFILE;
	s->rlimit.cur = 1024;
	s->rlimit.max = 4096;
	s->rlimit_ptrs[0] = &s->rlimit;
	s->core.rlimits = s->rlimit_ptrs;
	s->core.n_rlimits = 1;

	itimer__init(&s->itimer);
	s->itimer.which = 0;
	s->itimer.interval_ns = 1000000000ULL;
	s->itimer.value_ns = 2000000000ULL;
	s->itimer_ptrs[0] = &s->itimer;
	s->core.itimers = s->itimer_ptrs;
	s->core.n_itimers = 1;

	posix_timer__init(&s->timer);
	s->timer.id = 3;
	s->timer.clock_id = CLOCK_MONOTONIC;
	s->timer.notify = SIGEV_SIGNAL;
	s->timer.signo = SIGALRM;
	s->timer.value_ns = 5000000000ULL;
	s->timer_ptrs[0] = &s->timer;
	s->core.posix_timers = s->timer_ptrs;
	s->core.n_posix_timers = 1;

	creds__init(&s->creds);
	s->creds.cap_permitted = 0xff;
	s->creds.cap_effective = 0x0f;
	s->creds.cap_bounding = 0xff;
	s->core.creds = &s->creds;
	prctl_state__init(&s->prctl);
	s->prctl.dumpable = true;
	s->core.prctl = &s->prctl;
}

/* Runs @stmt with stderr going to a memfd, then copies what it printed
 * into @buf (a char array). */
#define CAPTURE_STDERR(buf, stmt)                                              \
	do {                                                                   \
		int __saved = dup(STDERR_FILENO);                              \
		int __fd = memfd_create("stderr", MFD_CLOEXEC);                \
		ssize_t __n;                                                   \
		fflush(stderr);                                                \
		dup2(__fd, STDERR_FILENO);                                     \
		stmt;                                                          \
		fflush(stderr);                                                \
		dup2(__saved, STDERR_FILENO);                                  \
		close(__saved);                                                \
		__n = pread(__fd, (buf), sizeof(buf) - 1, 0);                  \
		(buf)[__n > 0 ? __n : 0] = '\0';                               \
		close(__fd);                                                   \
	} while (0)

#endif
