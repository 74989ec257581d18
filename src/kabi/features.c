/* The table of features `cryo check` probes, what each is needed for, and
 * the verdict over a set of results. Also the small helpers the probes
 * share. The probes themselves live in probe_*.c, one file per area. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/textfile.h"
#include "kabi/features.h"
#include "kabi/probe.h"

#define BOTH (FEATURE_FOR_DUMP | FEATURE_FOR_RESTORE)

const struct feature feature_table[] = {
	{ .name = "ptrace seize", .probe = probe_ptrace_seize, .needed_for = BOTH },
	{ .name = "ptrace rseq config", .probe = probe_ptrace_rseq },
	{ .name = "process_vm_readv", .probe = probe_process_vm_readv,
	  .needed_for = FEATURE_FOR_DUMP },
	{ .name = "PAGEMAP_SCAN", .probe = probe_pagemap_scan },
	{ .name = "soft-dirty", .probe = probe_soft_dirty, .info_only = true },
	{ .name = "userfaultfd write-protect", .probe = probe_uffd_wp },
	{ .name = "userfaultfd async write-protect", .probe = probe_uffd_wp_async },
	{ .name = "clone3 set_tid", .probe = probe_clone3_set_tid,
	  .needed_for = FEATURE_FOR_RESTORE, .group = "pid" },
	{ .name = "ns_last_pid", .probe = probe_ns_last_pid,
	  .needed_for = FEATURE_FOR_RESTORE, .group = "pid" },
	{ .name = "pidfd", .probe = probe_pidfd },
	{ .name = "vDSO layout", .probe = probe_vdso_layout, .needed_for = BOTH },
	{ .name = "vDSO remap", .probe = probe_vdso_remap },
	{ .name = "sock_diag AF_UNIX", .probe = probe_sock_diag_unix },
	{ .name = "sock_diag AF_INET", .probe = probe_sock_diag_inet },
	{ .name = "sock_diag AF_INET6", .probe = probe_sock_diag_inet6 },
	{ .name = "sock_diag AF_PACKET", .probe = probe_sock_diag_packet },
	{ .name = "sock_diag AF_NETLINK", .probe = probe_sock_diag_netlink },
	{ .name = "time namespace", .probe = probe_time_ns },
	{ .name = "CAP_CHECKPOINT_RESTORE", .probe = probe_cap_checkpoint_restore,
	  .needed_for = BOTH, .group = "privilege" },
	{ .name = "CAP_SYS_ADMIN", .probe = probe_cap_sys_admin, .needed_for = BOTH,
	  .group = "privilege" },
	{ .name = "CAP_SYS_PTRACE", .probe = probe_cap_sys_ptrace },
	{ .name = "CAP_SYS_RESOURCE", .probe = probe_cap_sys_resource, .info_only = true },
};
const size_t feature_count = ARRAY_SIZE(feature_table);

static bool same_group(const struct feature *a, const struct feature *b)
{
	return a->group && b->group && !strcmp(a->group, b->group);
}

static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strnlen(buf, size);
	va_list ap;

	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

unsigned int features_unmet(const struct feature *table, size_t count,
			    const struct feature_result *results, char *why, size_t why_size)
{
	unsigned int unmet = 0;

	if (why && why_size)
		why[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		bool met = false, first = true;

		if (!table[i].needed_for)
			continue;
		/* A group is judged once, at its first member. */
		for (size_t j = 0; j < i && first; j++)
			if (same_group(&table[i], &table[j]))
				first = false;
		if (!first)
			continue;
		for (size_t j = i; j < count; j++)
			if ((j == i || same_group(&table[i], &table[j])) && results[j].ok)
				met = true;
		if (met)
			continue;
		unmet |= table[i].needed_for;
		if (!why || !why_size)
			continue;
		append(why, why_size, "%s%s", why[0] ? ", " : "", table[i].name);
		for (size_t j = i + 1; j < count; j++)
			if (same_group(&table[i], &table[j]))
				append(why, why_size, " or %s", table[j].name);
		append(why, why_size, " (%s)",
		       table[i].needed_for == FEATURE_FOR_DUMP	  ? "dump" :
		       table[i].needed_for == FEATURE_FOR_RESTORE ? "restore" :
								    "dump, restore");
	}
	return unmet;
}

int feature_ok(struct feature_result *res, const char *fmt, ...)
{
	va_list ap;

	res->ok = true;
	res->err = 0;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return 0;
}

int feature_missing(struct feature_result *res, int err, const char *fmt, ...)
{
	va_list ap;

	res->ok = false;
	res->err = err;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return err;
}

int child_spawn_paused(pid_t *pid)
{
	pid_t child = fork();

	if (child < 0)
		return pr_errno_ret("fork of a probe child");
	if (child == 0) {
		for (;;)
			pause();
	}
	*pid = child;
	return 0;
}

int child_reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, __WALL) < 0) {
		if (errno != EINTR)
			return pr_errno_ret("waitpid %d", pid);
	}
	return 0;
}

void child_kill_reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	child_reap(pid, &status);
}

int run_in_child(int (*fn)(void *arg), void *arg)
{
	int pipefd[2], result = -ECHILD, status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return pr_errno_ret("pipe for a probe child");
	pid = fork();
	if (pid < 0) {
		int err = pr_errno_ret("fork of a probe child");

		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		int ret = fn(arg);

		_exit(write(pipefd[1], &ret, sizeof(ret)) == sizeof(ret) ? 0 : 1);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], &result, sizeof(result));
	while (n < 0 && errno == EINTR);
	/* A child that died before answering tells us nothing more precise. */
	if (n != sizeof(result))
		result = -ECHILD;
	close(pipefd[0]);
	child_reap(pid, &status);
	return result;
}

static int read_long(const char *path, long *value)
{
	_cleanup_free_ char *text = NULL;
	char *end;
	int ret;

	ret = read_text_file(path, &text);
	if (ret) {
		pr_err("cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	errno = 0;
	*value = strtol(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	return 0;
}

int pick_free_pid(unsigned int attempt, pid_t *pid)
{
	long last, max;
	int ret;

	ret = read_long("/proc/sys/kernel/ns_last_pid", &last);
	if (ret)
		return ret;
	ret = read_long("/proc/sys/kernel/pid_max", &max);
	if (ret)
		return ret;
	/* PIDs below 300 are only handed out before the first wrap. */
	if (max <= 300)
		return -EINVAL;
	if (last < 300)
		last = 300;
	/* Stay a little ahead of the allocator, so ordinary forks racing with
	 * us rarely land on our choice; retries go further apart. */
	for (long step = 0; step < max; step++) {
		long candidate = last + 200 + 97L * attempt + step;
		char path[32];

		candidate = 300 + (candidate - 300) % (max - 300);
		snprintf(path, sizeof(path), "/proc/%ld", candidate);
		/* Lookup finds threads too, which kill(pid, 0) would miss. */
		if (access(path, F_OK) && errno == ENOENT) {
			*pid = (pid_t)candidate;
			return 0;
		}
	}
	return -EAGAIN;
}
