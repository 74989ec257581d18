/* Tests of the injection library against a live, busy, multi-threaded
 * target (prog_busy): seizing, remote system calls, the parasite's channel
 * and commands, and a long run of infect/cure cycles after each of which the
 * target's registers, signal masks, mappings and memory must be exactly as
 * before, while the target keeps checking its own computations. */
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

static struct inj_blob blob(void)
{
	struct inj_blob b = parasite_blob;

	b.size = (size_t)(parasite_blob_end - parasite_blob_bytes);
	return b;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Starts prog_busy (next to this binary) with the status page on fd 3 and
 * waits until all its threads run. */
static int start_target(struct target *t)
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

static void stop_target(struct target *t)
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
static bool target_healthy(struct target *t, long ms, char *why, size_t why_len)
{
	struct busy_status before = *t->status;

	sleep_ms(ms);
	if (t->status->failed) {
		snprintf(why, why_len, "target reports: %s", t->status->why);
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

static bool all_threads_traced(pid_t pid, struct inj_task *task)
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

TEST(seize_refuses_self_missing_and_thread_ids)
{
	struct target t = {};
	struct inj_task *task = NULL;
	char path[64];
	pid_t tid = 0;
	FILE *f;

	CHECK(inj_seize(getpid(), &task) == -EDEADLK, "seizing ourselves must fail");
	CHECK(inj_seize(4194303, &task) == -ESRCH, "a missing pid must fail with ESRCH");
	CHECK(start_target(&t) == 0, "prog_busy did not start");
	/* Any thread id other than the leader's names a thread, not a process. */
	snprintf(path, sizeof(path), "ls /proc/%d/task | sort -n | tail -n 1", t.pid);
	f = popen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &tid) != 1)
			tid = 0;
		pclose(f);
	}
	CHECK_GOTO(tid > t.pid, out, "no thread id found");
	CHECK_GOTO(inj_seize(tid, &task) == -EINVAL, out, "thread %d must be refused", tid);
out:
	stop_target(&t);
}

TEST(seize_stops_every_thread_and_release_resumes)
{
	struct target t = {};
	struct inj_task *task = NULL;
	char why[256];

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	/* main + 2 compute + sleeper, reader, futex, epoll */
	CHECK_GOTO(inj_thread_count(task) == 7, out, "seized %d threads, expected 7",
		   inj_thread_count(task));
	CHECK_GOTO(all_threads_traced(t.pid, task), out, "a thread is not in a tracing stop");
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "%s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}

TEST(remote_syscalls_return_checked_results)
{
	struct target t = {};
	struct inj_task *task = NULL;
	const char dev_null[] = "/dev/null";
	char link[64], target_path[64], why[256];
	long ret, fd, page = 0;
	struct iovec local, remote;
	ssize_t n;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	CHECK_GOTO(inj_syscall(task, &ret, SYS_getpid, 0, 0, 0, 0, 0, 0) == 0 && ret == t.pid,
		   out, "remote getpid gave %ld, expected %d", ret, t.pid);
	CHECK_GOTO(inj_syscall(task, &ret, SYS_gettid, 0, 0, 0, 0, 0, 0) == 0 && ret == t.pid,
		   out, "remote gettid gave %ld: the main thread should run remote code", ret);
	CHECK_GOTO(inj_syscall(task, &ret, SYS_getppid, 0, 0, 0, 0, 0, 0) == 0 && ret == getpid(),
		   out, "remote getppid gave %ld, expected %d", ret, getpid());
	CHECK_GOTO(inj_syscall(task, &ret, SYS_close, 12345, 0, 0, 0, 0, 0) == 0 && ret == -EBADF,
		   out, "remote close of a bad fd gave %ld, expected -EBADF", ret);

	CHECK_GOTO(inj_syscall(task, &page, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1UL, 0) == 0 && page > 0,
		   out, "remote mmap gave %ld", page);
	local = (struct iovec){ (void *)dev_null, sizeof(dev_null) };
	remote = (struct iovec){ (void *)page, sizeof(dev_null) };
	n = process_vm_writev(t.pid, &local, 1, &remote, 1, 0);
	CHECK_GOTO(n == sizeof(dev_null), out, "cannot write into the remote page");
	CHECK_GOTO(inj_syscall(task, &fd, SYS_openat, AT_FDCWD, page, O_RDONLY, 0, 0, 0) == 0 &&
			   fd >= 0,
		   out, "remote openat gave %ld", fd);
	snprintf(link, sizeof(link), "/proc/%d/fd/%ld", t.pid, fd);
	n = readlink(link, target_path, sizeof(target_path) - 1);
	CHECK_GOTO(n == 9 && !memcmp(target_path, "/dev/null", 9), out,
		   "fd %ld in the target is not /dev/null", fd);
	CHECK_GOTO(inj_syscall(task, &ret, SYS_close, fd, 0, 0, 0, 0, 0) == 0 && ret == 0, out,
		   "remote close gave %ld", ret);
	CHECK_GOTO(inj_syscall(task, &ret, SYS_munmap, page, 4096, 0, 0, 0, 0) == 0 && ret == 0,
		   out, "remote munmap gave %ld", ret);
	CHECK_GOTO(access(link, F_OK) != 0, out, "fd %ld still open in the target", fd);
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "%s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* Every thread answers its own gettid and its own set_tid_address value,
 * through scratch memory below its stack, and the busy target carries on
 * unharmed (its blocked calls resume as if never touched). */
TEST(thread_syscalls_run_in_the_thread_asked_for)
{
	struct target t = {};
	struct inj_task *task = NULL;
	const unsigned long none[6] = { 0 };
	const unsigned long get_tid_address[6] = { 40 /* PR_GET_TID_ADDRESS */, INJ_ARG_BUF };
	unsigned long addrs[MAX_THREADS];
	char why[256];
	int n = 0;
	long ret;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	for (int round = 0; round < 20; round++) {
		CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
		n = inj_thread_count(task);
		CHECK_GOTO(n > 1 && n <= MAX_THREADS, out, "%d threads", n);
		for (int i = 0; i < n; i++) {
			pid_t tid = inj_thread_tid(task, i);
			unsigned long addr = 0x1234;

			CHECK_GOTO(inj_thread_syscall(task, tid, &ret, NULL, 0, SYS_gettid, none) ==
						   0 && ret == tid,
				   out, "gettid in thread %d gave %ld", tid, ret);
			CHECK_GOTO(inj_thread_syscall(task, tid, &ret, &addr, sizeof(addr),
						      SYS_prctl, get_tid_address) == 0 && ret == 0,
				   out, "PR_GET_TID_ADDRESS in thread %d gave %ld", tid, ret);
			/* glibc points each thread's at its own descriptor. */
			for (int j = 0; j < i; j++)
				CHECK_GOTO(addrs[j] != addr, out,
					   "threads share clear_child_tid %#lx", addr);
			addrs[i] = addr;
		}
		CHECK_GOTO(inj_release(task) == 0, out, "release failed");
		task = NULL;
	}
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "%s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}

static void fill_pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
}

/* Sends @len pattern bytes through ECHO and checks they all come back. */
static bool echo_roundtrip(struct inj_parasite *p, size_t len, unsigned int seed, char *why,
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

TEST(parasite_channel_moves_every_size_intact)
{
	static const size_t sizes[] = { 1, 2, 7, 8, 15, 16, 17, 4095, 4096, 4097, 65535,
					65536, 212993, 1 << 20, (3 << 20) + 1, 8 << 20 };
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	char why[256] = "";

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		CHECK_GOTO(echo_roundtrip(p, sizes[i], (unsigned int)i, why, sizeof(why)), out,
			   "%s", why);
	CHECK_GOTO(inj_parasite_cure(p) == 0, out, "cure failed");
	p = NULL;
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "%s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* Finds the first private writable mapping of @pid (a region surely mapped). */
static bool first_writable_region(pid_t pid, unsigned long *start, unsigned long *end)
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

static bool read_remote_checksum(pid_t pid, unsigned long start, size_t len, uint64_t *sum)
{
	unsigned char *buf = malloc(len);
	struct iovec local = { buf, len }, remote = { (void *)start, len };
	bool ok = buf && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;

	if (ok)
		*sum = memory_checksum(buf, len);
	free(buf);
	return ok;
}

TEST(parasite_commands_checksum_sigactions_and_fd)
{
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	struct parasite_sigaction actions[PARASITE_NSIG];
	struct parasite_checksum_arg range;
	unsigned long start, end;
	uint64_t inside = 0, outside = 0;
	size_t len = 0;
	char link[64];
	struct stat ours, theirs;
	int fd = -1, ret;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");

	CHECK_GOTO(first_writable_region(t.pid, &start, &end), out, "no writable mapping");
	range = (struct parasite_checksum_arg){ start, end - start };
	ret = inj_parasite_call(p, PARASITE_CMD_CHECKSUM, &range, sizeof(range), &inside,
				sizeof(inside), &len, NULL);
	CHECK_GOTO(ret == 0 && len == sizeof(inside), out, "checksum command failed: %d", ret);
	CHECK_GOTO(read_remote_checksum(t.pid, start, end - start, &outside), out,
		   "cannot read the region from outside");
	CHECK_GOTO(inside == outside, out, "checksum inside %#llx, outside %#llx",
		   (unsigned long long)inside, (unsigned long long)outside);
	range = (struct parasite_checksum_arg){ 4096, 4096 };
	ret = inj_parasite_call(p, PARASITE_CMD_CHECKSUM, &range, sizeof(range), &inside,
				sizeof(inside), &len, NULL);
	CHECK_GOTO(ret == -EFAULT, out, "checksum of an unmapped page gave %d, not -EFAULT", ret);

	ret = inj_parasite_call(p, PARASITE_CMD_SIGACTIONS, NULL, 0, actions, sizeof(actions),
				&len, NULL);
	CHECK_GOTO(ret == 0 && len == sizeof(actions), out, "sigactions failed: %d", ret);
	CHECK_GOTO(actions[SIGUSR1 - 1].handler == t.status->sigusr1_handler, out,
		   "SIGUSR1 handler %#llx, target installed %#llx",
		   (unsigned long long)actions[SIGUSR1 - 1].handler,
		   (unsigned long long)t.status->sigusr1_handler);
	CHECK_GOTO((actions[SIGUSR1 - 1].flags & t.status->sigusr1_flags) == t.status->sigusr1_flags,
		   out, "SIGUSR1 flags %#llx", (unsigned long long)actions[SIGUSR1 - 1].flags);
	CHECK_GOTO(actions[SIGUSR1 - 1].mask == 1ULL << (SIGUSR2 - 1), out, "SIGUSR1 mask %#llx",
		   (unsigned long long)actions[SIGUSR1 - 1].mask);
	CHECK_GOTO(actions[SIGUSR2 - 1].handler == (uint64_t)(uintptr_t)SIG_IGN, out,
		   "SIGUSR2 should be ignored");
	CHECK_GOTO(actions[SIGTERM - 1].handler == (uint64_t)(uintptr_t)SIG_DFL, out,
		   "SIGTERM should be default");

	int32_t want = 3;
	ret = inj_parasite_call(p, PARASITE_CMD_SEND_FD, &want, sizeof(want), NULL, 0, &len, &fd);
	CHECK_GOTO(ret == 0 && fd >= 0, out, "send fd failed: %d", ret);
	snprintf(link, sizeof(link), "/proc/%d/fd/3", t.pid);
	CHECK_GOTO(fstat(fd, &ours) == 0 && stat(link, &theirs) == 0, out, "stat failed");
	CHECK_GOTO(ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev, out,
		   "received fd is inode %lu, the target's fd 3 is inode %lu",
		   (unsigned long)ours.st_ino, (unsigned long)theirs.st_ino);
	want = 999;
	ret = inj_parasite_call(p, PARASITE_CMD_SEND_FD, &want, sizeof(want), NULL, 0, &len, &fd);
	CHECK_GOTO(ret != 0 && fd == -1, out, "sending a closed fd should fail, gave %d", ret);

	ret = inj_parasite_call(p, 4242, NULL, 0, NULL, 0, &len, NULL);
	CHECK_GOTO(ret == -ENOSYS, out, "unknown command gave %d, not -ENOSYS", ret);
	ret = inj_parasite_call(p, PARASITE_CMD_ECHO, "0123456789", 10, actions, 4, &len, NULL);
	CHECK_GOTO(ret == -EMSGSIZE, out, "a reply larger than the buffer gave %d", ret);
	ret = inj_parasite_call(p, PARASITE_CMD_ECHO, "abc", 3, actions, sizeof(actions), &len,
				NULL);
	CHECK_GOTO(ret == 0 && len == 3 && !memcmp(actions, "abc", 3), out,
		   "channel unusable after an oversize reply");
	CHECK_GOTO(inj_parasite_cure(p) == 0, out, "cure failed");
	p = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* Everything about the target that a cure must leave as it found it. */
struct snapshot {
	int nr_threads;
	pid_t tids[MAX_THREADS];
	uint64_t sigmasks[MAX_THREADS];
	struct inj_regs *regs;	/* nr_threads entries */
	char maps[16384];
	int nr_regions;
	uint64_t region_sums[MAX_REGIONS];
};

static bool skip_region(const char *line)
{
	/* vvar areas are not readable through process_vm_readv. */
	return strstr(line, "[vvar") || strstr(line, "[vsyscall]");
}

static int checksum_regions(pid_t pid, struct snapshot *s, char *why, size_t why_len)
{
	static unsigned char buf[1 << 20];
	char *line = s->maps, *next;

	s->nr_regions = 0;
	for (; *line; line = next) {
		unsigned long start, end;
		char perms[8];
		uint64_t sum;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || perms[0] != 'r' ||
		    skip_region(line))
			continue;
		if (s->nr_regions == MAX_REGIONS)
			return snprintf(why, why_len, "too many regions"), -1;
		sum = checksum_start(end - start);
		for (unsigned long a = start; a < end; a += sizeof(buf)) {
			size_t len = end - a < sizeof(buf) ? end - a : sizeof(buf);
			struct iovec local = { buf, len }, remote = { (void *)a, len };

			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
				return snprintf(why, why_len, "cannot read %lx-%lx", start, end), -1;
			sum = checksum_update(sum, buf, len);
		}
		s->region_sums[s->nr_regions++] = sum;
	}
	return 0;
}

static int take_snapshot(struct inj_task *task, struct snapshot *s, char *why, size_t why_len)
{
	pid_t pid = inj_task_pid(task);
	char path[64];
	size_t n;
	FILE *f;

	s->nr_threads = inj_thread_count(task);
	if (s->nr_threads > MAX_THREADS)
		return snprintf(why, why_len, "too many threads"), -1;
	for (int i = 0; i < s->nr_threads; i++) {
		s->tids[i] = inj_thread_tid(task, i);
		if (inj_get_regs(task, s->tids[i], &s->regs[i]) ||
		    inj_get_sigmask(task, s->tids[i], &s->sigmasks[i]))
			return snprintf(why, why_len, "cannot read thread %d", s->tids[i]), -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return snprintf(why, why_len, "cannot open maps"), -1;
	n = fread(s->maps, 1, sizeof(s->maps) - 1, f);
	fclose(f);
	s->maps[n] = '\0';
	return checksum_regions(pid, s, why, why_len);
}

static bool same_snapshot(const struct snapshot *a, const struct snapshot *b, char *why,
			  size_t why_len)
{
	if (a->nr_threads != b->nr_threads)
		return snprintf(why, why_len, "thread count changed"), false;
	for (int i = 0; i < a->nr_threads; i++) {
		const struct inj_regs *x = &a->regs[i], *y = &b->regs[i];

		if (a->tids[i] != b->tids[i])
			return snprintf(why, why_len, "thread list changed"), false;
		if (memcmp(&x->gp, &y->gp, sizeof(x->gp)))
			return snprintf(why, why_len, "thread %d: general registers changed (rip "
				"%#llx -> %#llx, rax %#llx -> %#llx)", a->tids[i], x->gp.rip,
				y->gp.rip, x->gp.rax, y->gp.rax), false;
		if (x->xstate_size != y->xstate_size ||
		    memcmp(x->xstate, y->xstate, x->xstate_size))
			return snprintf(why, why_len, "thread %d: xstate changed", a->tids[i]), false;
		if (a->sigmasks[i] != b->sigmasks[i])
			return snprintf(why, why_len, "thread %d: signal mask changed", a->tids[i]),
			       false;
	}
	if (strcmp(a->maps, b->maps))
		return snprintf(why, why_len, "the memory map changed"), false;
	if (a->nr_regions != b->nr_regions ||
	    memcmp(a->region_sums, b->region_sums, a->nr_regions * sizeof(uint64_t)))
		return snprintf(why, why_len, "memory contents changed"), false;
	return true;
}

static void free_snapshot(struct snapshot *s)
{
	free(s->regs);
}

static bool alloc_snapshot(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->regs = aligned_alloc(64, MAX_THREADS * sizeof(struct inj_regs));
	return s->regs != NULL;
}

/* One infect/cure cycle with checks; the message size grows and wraps so
 * that every power of two up to 4 MiB is crossed many times. */
static bool infect_cure_cycle(struct target *t, int cycle, struct snapshot *before,
			      struct snapshot *after, char *why, size_t why_len)
{
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	size_t echo_len = ((size_t)1 << (cycle % 23)) + (size_t)(cycle % 5);
	struct inj_blob b = blob();
	bool ok = false;
	long ret;

	if (inj_seize(t->pid, &task))
		return snprintf(why, why_len, "cycle %d: seize failed", cycle), false;
	if (take_snapshot(task, before, why, why_len))
		goto out;
	if (cycle % 3 == 0 && (inj_syscall(task, &ret, SYS_getpid, 0, 0, 0, 0, 0, 0) || ret != t->pid)) {
		snprintf(why, why_len, "cycle %d: remote getpid gave %ld", cycle, ret);
		goto out;
	}
	if (inj_parasite_start(task, &b, &p)) {
		snprintf(why, why_len, "cycle %d: parasite did not start", cycle);
		goto out;
	}
	if (!echo_roundtrip(p, echo_len, (unsigned int)cycle, why, why_len))
		goto out;
	if (inj_parasite_cure(p)) {
		p = NULL;
		snprintf(why, why_len, "cycle %d: cure failed", cycle);
		goto out;
	}
	p = NULL;
	if (take_snapshot(task, after, why, why_len))
		goto out;
	if (!same_snapshot(before, after, why, why_len))
		goto out;
	ok = true;
out:
	if (p)
		inj_parasite_cure(p);
	if (inj_release(task) && ok) {
		snprintf(why, why_len, "cycle %d: release failed", cycle);
		ok = false;
	}
	return ok;
}

TEST(infect_and_cure_1000_times_leaves_no_trace)
{
	struct target t = {};
	struct snapshot before, after;
	char why[512] = "";
	int cycle;

	CHECK(alloc_snapshot(&before) && alloc_snapshot(&after), "out of memory");
	CHECK_GOTO(start_target(&t) == 0, out, "prog_busy did not start");
	for (cycle = 0; cycle < INFECT_CYCLES; cycle++) {
		CHECK_GOTO(infect_cure_cycle(&t, cycle, &before, &after, why, sizeof(why)), out,
			   "%s", why);
		CHECK_GOTO(!t.status->failed, out, "after cycle %d the target reports: %s", cycle,
			   t.status->why);
	}
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "after %d cycles: %s",
		   INFECT_CYCLES, why);
	printf("    %d cycles; target: %llu sleeps, %llu reads, %llu futex wakes, %llu epoll "
	       "events (%llu EINTR)\n", INFECT_CYCLES, (unsigned long long)t.status->sleeps,
	       (unsigned long long)t.status->reads, (unsigned long long)t.status->futex_wakes,
	       (unsigned long long)t.status->epoll_events,
	       (unsigned long long)t.status->epoll_eintr);
out:
	stop_target(&t);
	free_snapshot(&before);
	free_snapshot(&after);
}

TEST(target_killed_during_parasite_call_is_reported)
{
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	struct parasite_checksum_arg range;
	unsigned long start, end;
	size_t len;
	uint64_t sum;
	int ret;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");
	CHECK_GOTO(first_writable_region(t.pid, &start, &end), out, "no writable mapping");
	kill(t.pid, SIGKILL);
	range = (struct parasite_checksum_arg){ start, end - start };
	ret = inj_parasite_call(p, PARASITE_CMD_CHECKSUM, &range, sizeof(range), &sum,
				sizeof(sum), &len, NULL);
	CHECK_GOTO(ret < 0, out, "a call into a killed task returned %d", ret);
	/* Cure and release must come back promptly with an error, not hang. */
	ret = inj_parasite_cure(p);
	p = NULL;
	CHECK_GOTO(ret < 0, out, "cure of a killed task returned %d", ret);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}

static char thread_state(pid_t pid)
{
	char path[64], buf[512], *state;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	state = strrchr(buf, ')');
	return state ? state[2] : '?';
}

TEST(sigstop_during_infection_is_kept_for_after)
{
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	char why[256] = "";
	char state = '?';

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");
	kill(t.pid, SIGSTOP);
	sleep_ms(150);
	CHECK_GOTO(echo_roundtrip(p, 100000, 7, why, sizeof(why)), out, "%s", why);
	CHECK_GOTO(inj_parasite_cure(p) == 0, out, "cure failed");
	p = NULL;
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	for (int i = 0; i < 100 && state != 'T'; i++) {
		sleep_ms(10);
		state = thread_state(t.pid);
	}
	CHECK_GOTO(state == 'T', out, "the target should be stopped after release, state %c",
		   state);
	kill(t.pid, SIGCONT);
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "after SIGCONT: %s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* The tests start processes: reap whatever they leave behind. */
__attribute__((constructor)) static void become_subreaper(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static bool read_sigblk(pid_t pid, char *out, size_t size)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "SigBlk:", 7)) {
			snprintf(out, size, "%s", line);
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

/* A dumper that dies while its parasite runs must not take the task with
 * it: the parasite returns through the saved state's signal frame. */
TEST(task_survives_a_dumper_killed_while_the_parasite_runs)
{
	struct target t = {};
	char blocked_before[256], blocked_after[256], why[256];
	int status;
	pid_t dumper;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(read_sigblk(t.pid, blocked_before, sizeof(blocked_before)), out, "no SigBlk");
	dumper = fork();
	if (dumper == 0) {
		struct inj_task *task;
		struct inj_parasite *p;
		struct inj_blob b = blob();

		if (inj_seize(t.pid, &task) || inj_parasite_start(task, &b, &p))
			_exit(1);
		/* Gone without a word: the kernel detaches the task as it is. */
		kill(getpid(), SIGKILL);
	}
	CHECK_GOTO(dumper > 0 && waitpid(dumper, &status, 0) == dumper, out, "fork failed");
	CHECK_GOTO(WIFSIGNALED(status), out, "the dumper could not start the parasite");
	CHECK_GOTO(target_healthy(&t, 400, why, sizeof(why)), out, "%s", why);
	CHECK_GOTO(read_sigblk(t.pid, blocked_after, sizeof(blocked_after)) &&
			   !strcmp(blocked_before, blocked_after),
		   out, "signal mask was %s now %s", blocked_before, blocked_after);
out:
	stop_target(&t);
}

/* Every thread of @pid in state T, read from /proc/PID/task. */
static bool all_threads_stopped(pid_t pid, int *threads)
{
	char path[64], state_path[384], buf[512];
	struct dirent *de;
	bool all = true;
	DIR *d;

	*threads = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *state;
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(state_path, sizeof(state_path), "%s/%s/stat", path, de->d_name);
		f = fopen(state_path, "r");
		n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		state = strrchr(buf, ')');
		all &= state && state[2] == 'T';
		(*threads)++;
	}
	if (d)
		closedir(d);
	return all && *threads > 0;
}

static bool compute_frozen(struct target *t, char *why, size_t why_len)
{
	uint64_t before[BUSY_COMPUTE_THREADS];

	for (int i = 0; i < BUSY_COMPUTE_THREADS; i++)
		before[i] = t->status->compute_rounds[i];
	sleep_ms(100);
	for (int i = 0; i < BUSY_COMPUTE_THREADS; i++)
		if (t->status->compute_rounds[i] != before[i]) {
			snprintf(why, why_len, "compute thread %d ran while stopped", i);
			return false;
		}
	return true;
}

/* A target in a job-control stop is seized with the stop's signal, runs
 * remote syscalls and a parasite, and is stopped again the moment it is
 * released, its parent told nothing new. */
TEST(stopped_target_runs_borrowed_code_and_stays_stopped)
{
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	char why[256] = "";
	siginfo_t info;
	int threads = 0;
	long result = 0;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	kill(t.pid, SIGSTOP);
	for (int i = 0; i < 200 && !all_threads_stopped(t.pid, &threads); i++)
		sleep_ms(5);
	CHECK_GOTO(all_threads_stopped(t.pid, &threads), out, "the target did not stop");
	/* We are its parent: the stop is reported to us, and taken. */
	memset(&info, 0, sizeof(info));
	CHECK_GOTO(!waitid(P_PID, t.pid, &info, WSTOPPED | WNOHANG) && info.si_pid == t.pid, out,
		   "the stop was not reported");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize of a stopped target failed");
	CHECK_GOTO(inj_stop_signal(task) == SIGSTOP, out, "stop signal %d, not SIGSTOP",
		   inj_stop_signal(task));
	CHECK_GOTO(inj_syscall(task, &result, SYS_getpid, 0, 0, 0, 0, 0, 0) == 0 &&
			   result == t.pid, out, "remote getpid gave %ld", result);
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");
	CHECK_GOTO(echo_roundtrip(p, 70000, 3, why, sizeof(why)), out, "%s", why);
	CHECK_GOTO(inj_parasite_cure(p) == 0, out, "cure failed");
	p = NULL;
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(all_threads_stopped(t.pid, &threads), out,
		   "not every one of its %d threads is stopped right after release", threads);
	CHECK_GOTO(compute_frozen(&t, why, sizeof(why)), out, "%s", why);
	memset(&info, 0, sizeof(info));
	CHECK_GOTO(!waitid(P_PID, t.pid, &info, WSTOPPED | WNOHANG) && !info.si_pid, out,
		   "the stop was reported again after release");
	kill(t.pid, SIGCONT);
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "after SIGCONT: %s", why);
out:
	if (p)
		inj_parasite_cure(p);
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* inj_stop() stops a running target with every thread, keeps its signal
 * mask, and the stop is reported once, with its signal. */
TEST(inj_stop_stops_every_thread_and_the_stop_is_reported)
{
	char blocked_before[256], blocked_after[256], why[256] = "";
	struct target t = {};
	struct inj_task *task = NULL;
	siginfo_t info;
	int threads = 0;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(read_sigblk(t.pid, blocked_before, sizeof(blocked_before)), out, "no SigBlk");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	CHECK_GOTO(inj_stop_signal(task) == 0, out, "a running target seen stopped");
	CHECK_GOTO(inj_stop(task, SIGKILL) == -EINVAL, out, "SIGKILL taken as a stop signal");
	CHECK_GOTO(inj_stop(task, SIGSTOP) == 0, out, "inj_stop failed");
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(all_threads_stopped(t.pid, &threads), out,
		   "not every one of its %d threads is stopped after release", threads);
	CHECK_GOTO(compute_frozen(&t, why, sizeof(why)), out, "%s", why);
	CHECK_GOTO(read_sigblk(t.pid, blocked_after, sizeof(blocked_after)) &&
			   !strcmp(blocked_before, blocked_after), out,
		   "its signal mask changed: %s became %s", blocked_before, blocked_after);
	memset(&info, 0, sizeof(info));
	CHECK_GOTO(!waitid(P_PID, t.pid, &info, WSTOPPED | WNOHANG) && info.si_pid == t.pid &&
			   info.si_code == CLD_STOPPED && info.si_status == SIGSTOP, out,
		   "the stop is not reported to the parent (pid %d code %d status %d)",
		   info.si_pid, info.si_code, info.si_status);
	kill(t.pid, SIGCONT);
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "after SIGCONT: %s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
}
