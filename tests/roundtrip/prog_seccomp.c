/* Seccomp, per thread and inherited (issue 11 item 8). The main thread
 * sets no_new_privs and installs filter A (mincore fails with errno 101),
 * then starts two threads that inherit it; thread 1 adds filter B of its
 * own with SECCOMP_FILTER_FLAG_LOG (sched_get_priority_max fails with 102).
 * A child process is in strict mode and echoes bytes over pipes. On
 * SIGTERM: each thread's Seccomp mode and filter count in its status, each
 * filter's effect in the thread that holds it and not in the others; a
 * TSYNC filter installed by the main thread once thread 1 is gone succeeds
 * only if thread 2 holds the very filter A the main thread holds (shared,
 * not a copy); the strict child still echoes and is killed by SIGKILL for
 * its first other syscall. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define ERRNO_A 101
#define ERRNO_B 102

struct worker {
	pthread_t thread;
	int cmd[2], reply[2];
	pid_t tid;
	bool own_filter;
};

static struct worker workers[2];

static int install(int nr, int err, unsigned int flags)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static int install_allow_all(unsigned int flags)
{
	struct sock_filter insns[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { 1, insns };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* errno of a failed call, 0 if it succeeded. */
static int err_of(long ret)
{
	return ret < 0 ? errno : 0;
}

/* Whether the calling thread sees exactly its filters' effects. */
static bool effects_right(bool own_filter, const char *who)
{
	int a = err_of(syscall(SYS_mincore, NULL, 0, NULL));
	int b = err_of(syscall(SYS_sched_get_priority_max, SCHED_OTHER));

	return PROG_CHECK(a == ERRNO_A, "%s: mincore failed with %d, filter A gives %d", who, a,
			  ERRNO_A) &
	       PROG_CHECK(b == (own_filter ? ERRNO_B : 0),
			  "%s: sched_get_priority_max gave errno %d, want %d", who, b,
			  own_filter ? ERRNO_B : 0);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char c;

	w->tid = (pid_t)syscall(SYS_gettid);
	if (w->own_filter && install(SYS_sched_get_priority_max, ERRNO_B,
				     SECCOMP_FILTER_FLAG_LOG))
		return NULL;
	if (write(w->reply[1], "r", 1) != 1)
		return NULL;
	while (read(w->cmd[0], &c, 1) == 1 && c == 'c') {
		char ok = effects_right(w->own_filter, w->own_filter ? "thread 1" : "thread 2") ?
				  'y' : 'n';

		if (write(w->reply[1], &ok, 1) != 1)
			break;
	}
	return NULL;
}

/* "Seccomp:" and "Seccomp_filters:" of thread @tid. */
static bool status_of(pid_t pid, pid_t tid, int *mode, int *filters)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	*mode = *filters = -1;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Seccomp: %d", mode);
		sscanf(line, "Seccomp_filters: %d", filters);
	}
	fclose(f);
	return true;
}

static bool check_status(pid_t pid, pid_t tid, int mode, int filters, const char *who)
{
	int m, n;

	status_of(pid, tid, &m, &n);
	return PROG_CHECK(m == mode && (mode != 2 || n == filters),
			  "%s: Seccomp %d with %d filters, want %d with %d", who, m, n, mode,
			  filters);
}

/* A strict-mode child: echoes bytes until one is not 'e', then makes a
 * call strict mode forbids. */
static void __attribute__((noreturn)) strict_child(int in, int out)
{
	char c;

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
		_exit(2);
	while (read(in, &c, 1) == 1 && c == 'e')
		if (write(out, &c, 1) != 1)
			break;
	syscall(SYS_getpid);
	syscall(SYS_exit, 3);
	for (;;)
		;
}

static bool ask(struct worker *w)
{
	char c = 'c';

	return write(w->cmd[1], &c, 1) == 1 && read(w->reply[0], &c, 1) == 1 && c == 'y';
}

int main(int argc, char **argv)
{
	int to_child[2], from_child[2], status = 0, ret;
	pid_t child, self;
	char c;

	prog_init(argc, argv);
	self = getpid();
	if (pipe(to_child) || pipe(from_child))
		return 1;
	child = fork();
	if (child == 0)
		strict_child(to_child[0], from_child[1]);
	if (child < 0)
		return 1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || install(SYS_mincore, ERRNO_A, 0))
		return 1;
	workers[0].own_filter = true;
	for (int i = 0; i < 2; i++) {
		if (pipe(workers[i].cmd) || pipe(workers[i].reply) ||
		    pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) ||
		    read(workers[i].reply[0], &c, 1) != 1)
			return 1;
	}
	/* The child is in strict mode once it echoes. */
	c = 'e';
	if (write(to_child[1], &c, 1) != 1 || read(from_child[0], &c, 1) != 1)
		return 1;
	prog_ready();
	prog_wait_sigterm();

	check_status(self, self, 2, 1, "main thread");
	check_status(self, workers[0].tid, 2, 2, "thread 1");
	check_status(self, workers[1].tid, 2, 1, "thread 2");
	check_status(child, child, 1, 0, "strict child");
	effects_right(false, "main thread");
	PROG_CHECK(ask(&workers[0]), "thread 1 saw other effects than its filters'");
	PROG_CHECK(ask(&workers[1]), "thread 2 saw other effects than its filter's");

	/* Thread 1 ends; thread 2 must hold filter A itself, not a copy. */
	close(workers[0].cmd[1]);
	pthread_join(workers[0].thread, NULL);
	ret = install_allow_all(SECCOMP_FILTER_FLAG_TSYNC);
	PROG_CHECK(ret == 0, "TSYNC gave %d (errno %d): thread 2's filters are not the main "
		   "thread's own", ret, errno);
	check_status(self, workers[1].tid, 2, 2, "thread 2 after TSYNC");
	close(workers[1].cmd[1]);
	pthread_join(workers[1].thread, NULL);

	c = 'e';
	PROG_CHECK(write(to_child[1], &c, 1) == 1 && read(from_child[0], &c, 1) == 1 && c == 'e',
		   "the strict child no longer echoes");
	c = 'x';
	PROG_CHECK(write(to_child[1], &c, 1) == 1, "cannot write to the strict child");
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status) &&
			   WTERMSIG(status) == SIGKILL,
		   "the strict child ended with status %#x, not by SIGKILL", status);
	prog_finish();
}
