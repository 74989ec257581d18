/* The live target the injection tests share (prog_busy: busy, threaded,
 * checking its own computations), and helpers over its memory and the
 * parasite's channel. Header-only: each tests/inject/test_*.c is its own
 * binary. */
#ifndef CRYO_TEST_INJECT_TARGET_H
#define CRYO_TEST_INJECT_TARGET_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blobs/parasite-blob.h"
#include "busy.h"
#include "harness.h"
#include "inject/inject.h"
#include "parasite/checksum.h"
#include "parasite/commands.h"

#define INFECT_CYCLES 1000
#define MAX_THREADS 16
#define MAX_REGIONS 256

static const struct inj_blob parasite_blob = {
	.bytes = parasite_blob_bytes,
	.mem_size = PARASITE_BLOB_MEM_SIZE,
	.entry = PARASITE_BLOB_ENTRY,
};

struct target {
	pid_t pid;
	struct busy_status *status;
};

static inline struct inj_blob blob(void)
{
	struct inj_blob b = parasite_blob;

	b.size = (size_t)(parasite_blob_end - parasite_blob_bytes);
	return b;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Starts prog_busy (next to this binary) with the status page on fd 3 and
 * waits until all its threads run. */
static inline int start_target(struct target *t)
{
	char exe[PATH_MAX], prog[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int memfd;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(prog, sizeof(prog), "%s/prog_busy", exe);

	memfd = memfd_create("busy-status", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, sizeof(struct busy_status)))
		return -1;
	t->status = mmap(NULL, sizeof(*t->status), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (t->status == MAP_FAILED)
		return -1;
	t->pid = fork();
	if (t->pid == 0) {
		/* dup2 onto itself would keep close-on-exec: clear it by hand. */
		if (memfd == 3)
			fcntl(3, F_SETFD, 0);
		else
			dup2(memfd, 3);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	close(memfd);
	for (int i = 0; i < 500 && !t->status->ready; i++)
		sleep_ms(10);
	return t->status->ready ? 0 : -1;
}

static inline void stop_target(struct target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	if (t->status && t->status != MAP_FAILED)
		munmap(t->status, sizeof(*t->status));
	t->pid = 0;
	t->status = NULL;
}

/* The target's own verdict: no failed self-check, and all of its threads
 * made progress during the last @ms milliseconds. */
static inline bool target_healthy(struct target *t, long ms, char *why, size_t why_len)
{
	struct busy_status before = *t->status;

	sleep_ms(ms);
	if (t->status->failed) {
		snprintf(why, why_len, "target reports: %.200s", t->status->why);
		return false;
	}
	for (int i = 0; i < BUSY_COMPUTE_THREADS; i++) {
		if (t->status->compute_rounds[i] == before.compute_rounds[i]) {
			snprintf(why, why_len, "compute thread %d made no progress", i);
			return false;
		}
	}
	if (t->status->sleeps == before.sleeps || t->status->reads == before.reads ||
	    t->status->futex_wakes == before.futex_wakes ||
	    t->status->epoll_events == before.epoll_events) {
		snprintf(why, why_len, "a blocked thread made no progress");
		return false;
	}
	return true;
}

static inline bool all_threads_traced(pid_t pid, struct inj_task *task)
{
	for (int i = 0; i < inj_thread_count(task); i++) {
		char path[64], buf[512], *state;
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, inj_thread_tid(task, i));
		f = fopen(path, "r");
		if (!f)
			return false;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		state = strrchr(buf, ')');
		if (!state || state[2] != 't')
			return false;
	}
	return true;
}

static inline void fill_pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
}

/* Sends @len pattern bytes through ECHO and checks they all come back. */
static inline bool echo_roundtrip(struct inj_parasite *p, size_t len, unsigned int seed, char *why,
				  size_t why_len)
{
	unsigned char *in = malloc(len + 1), *out = malloc(len + 1);
	size_t out_len = 0;
	bool ok = false;
	int ret;

	if (!in || !out)
		goto done;
	fill_pattern(in, len, seed);
	ret = inj_parasite_call(p, PARASITE_CMD_ECHO, in, len, out, len + 1, &out_len, NULL);
	if (ret)
		snprintf(why, why_len, "echo of %zu bytes failed: %d", len, ret);
	else if (out_len != len)
		snprintf(why, why_len, "echo of %zu bytes came back with %zu", len, out_len);
	else if (memcmp(in, out, len))
		snprintf(why, why_len, "echo of %zu bytes came back different", len);
	else
		ok = true;
done:
	free(in);
	free(out);
	return ok;
}

static inline bool first_writable_region(pid_t pid, unsigned long *start, unsigned long *end)
{
	char path[64], line[512], perms[8];
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%lx-%lx %7s", start, end, perms) == 3 && perms[0] == 'r' &&
			perms[1] == 'w' && perms[3] == 'p';
	fclose(f);
	return found;
}

static inline bool read_remote_checksum(pid_t pid, unsigned long start, size_t len, uint64_t *sum)
{
	unsigned char *buf = malloc(len);
	struct iovec local = { buf, len }, remote = { (void *)start, len };
	bool ok = buf && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;

	if (ok)
		*sum = memory_checksum(buf, len);
	free(buf);
	return ok;
}

#endif
