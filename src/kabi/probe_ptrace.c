/* Probes of what dump does to a task from outside: seize and interrupt it
 * with ptrace, read its rseq registration, read its memory with
 * process_vm_readv. Each works on a child forked for the purpose. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "kabi/kabi.h"
#include "kabi/probe.h"

/* Seizes @pid and brings it to a group-stop-like halt without a signal it
 * could observe, as dump does. */
static int seize_and_interrupt(pid_t pid, const char **step)
{
	int status, ret;

	*step = "PTRACE_SEIZE";
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL))
		return -errno;
	*step = "PTRACE_INTERRUPT";
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL))
		return -errno;
	*step = "waiting for the interrupt stop";
	ret = child_reap(pid, &status);
	if (ret)
		return ret;
	if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP) {
		pr_debug("probe child %d: status %#x after PTRACE_INTERRUPT", pid, status);
		return -EPROTO;
	}
	return 0;
}

int probe_ptrace_seize(struct feature_result *res)
{
	const char *step;
	pid_t pid;
	int ret;

	ret = child_spawn_paused(&pid);
	if (ret)
		return feature_missing(res, ret, "cannot fork a child to try it on (%s)",
				       strerror(-ret));
	ret = seize_and_interrupt(pid, &step);
	if (!ret && ptrace(PTRACE_DETACH, pid, NULL, NULL)) {
		step = "PTRACE_DETACH";
		ret = -errno;
	}
	child_kill_reap(pid);
	if (ret)
		return feature_missing(res, ret, "%s failed on a child (%s); dump cannot freeze tasks",
				       step, strerror(-ret));
	pr_debug("ptrace: seized, interrupted and detached child %d", pid);
	return feature_ok(res, "seized, interrupted and detached a child; dump can freeze tasks "
			       "without sending them signals");
}

int probe_ptrace_rseq(struct feature_result *res)
{
	struct __ptrace_rseq_configuration conf;
	const char *step;
	long size = 0;
	pid_t pid;
	int ret;

	ret = child_spawn_paused(&pid);
	if (ret)
		return feature_missing(res, ret, "cannot fork a child to try it on (%s)",
				       strerror(-ret));
	ret = seize_and_interrupt(pid, &step);
	if (!ret) {
		step = "PTRACE_GET_RSEQ_CONFIGURATION";
		size = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(conf), &conf);
		if (size < 0)
			ret = -errno;
		else if ((size_t)size < offsetof(struct __ptrace_rseq_configuration, flags))
			ret = -EPROTO;
	}
	child_kill_reap(pid);
	if (ret)
		return feature_missing(res, ret, "%s failed (%s); dump cannot save rseq "
				       "registrations, which glibc 2.35+ makes in every thread",
				       step, strerror(-ret));
	pr_debug("rseq of child %d: area %#llx size %u signature %#x", pid,
		 (unsigned long long)conf.rseq_abi_pointer, conf.rseq_abi_size, conf.signature);
	if (!conf.rseq_abi_pointer)
		return feature_ok(res, "readable (this child had no rseq area); dump can save "
				       "and restore rseq registrations");
	return feature_ok(res, "read a child's rseq area (%u bytes, signature %#x); dump can "
			       "save and restore rseq registrations",
			  conf.rseq_abi_size, conf.signature);
}

/* What the child writes into its copy of the page, which the parent never
 * writes: finding it proves the read came from the child. */
static uint8_t child_pattern(size_t i)
{
	return (uint8_t)(i * 31 + 7);
}

int probe_process_vm_readv(struct feature_result *res)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int ready[2], ret = 0;
	uint8_t *shared, *copy = NULL;
	struct iovec local, remote;
	ssize_t n;
	char byte;
	pid_t pid;

	shared = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return feature_missing(res, -errno, "cannot map a test page (%s)", strerror(errno));
	if (pipe2(ready, O_CLOEXEC)) {
		ret = -errno;
		goto out_unmap;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out_close;
	}
	if (pid == 0) {
		for (size_t i = 0; i < page; i++)
			shared[i] = child_pattern(i);
		byte = 1;
		if (write(ready[1], &byte, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	ready[1] = -1;
	do
		n = read(ready[0], &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		ret = -ECHILD;
		goto out_kill;
	}
	copy = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED) {
		ret = -errno;
		copy = NULL;
		goto out_kill;
	}
	local = (struct iovec){ copy, page };
	remote = (struct iovec){ shared, page };
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != page)
		ret = -EIO;
	for (size_t i = 0; !ret && i < page; i++)
		if (copy[i] != child_pattern(i))
			ret = -EIO;
	munmap(copy, page);
out_kill:
	child_kill_reap(pid);
out_close:
	close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
out_unmap:
	munmap(shared, page);
	if (ret)
		return feature_missing(res, ret, "reading a child's page failed (%s); dump must "
				       "copy memory through the parasite", strerror(-ret));
	return feature_ok(res, "read a page a child wrote, byte for byte; dump can copy "
			       "memory in one step");
}
