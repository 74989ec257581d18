/* Tests of the injection library against a live, busy, multi-threaded
 * target (test_inject_target.h): seizing, remote system calls, the
 * parasite's channel and commands. The long run of infect/cure cycles is
 * test_inject_cycles.c's; targets killed or stopped meanwhile
 * test_inject_faults.c's. */
#include <stdbool.h>

#define XXH_STATIC_LINKING_ONLY	/* the state's layout: it goes to the parasite */
#include <xxhash.h>

#include "test_inject_target.h"

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

/* Whether the library looked for a syscall site in the task (its debug
 * line says where remote syscalls run). */
static bool searched_site;

static void note_site_search(enum inj_log_level level, const char *message)
{
	(void)level;
	if (strstr(message, "remote syscalls run at"))
		searched_site = true;
}

/* The start of @pid's [vdso] and the offset of its first "syscall"
 * instruction; false when either is not found. */
static bool vdso_syscall_site(pid_t pid, unsigned long *base, unsigned long *site)
{
	unsigned char text[8192];
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "[vdso]") && sscanf(line, "%lx-", base) == 1;
	if (f)
		fclose(f);
	if (!found)
		return false;
	struct iovec local = { text, sizeof(text) }, remote = { (void *)*base, sizeof(text) };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	for (ssize_t i = 0; i + 1 < n; i++)
		if (text[i] == 0x0f && text[i + 1] == 0x05) {
			*site = *base + (unsigned long)i;
			return true;
		}
	return false;
}

/* inj_seize_threads() (a restored process's finish) seizes the threads it
 * is given and, in one pass over the thread list, those it was not; a
 * syscall site offered is taken only where the bytes say "syscall", and
 * then the task's mappings are not searched for one. */
TEST(seize_by_known_threads_takes_the_others_and_uses_an_offered_site)
{
	struct target t = {};
	struct inj_task *task = NULL;
	unsigned long vdso = 0, site = 0;
	char why[256];
	long ret;

	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(vdso_syscall_site(t.pid, &vdso, &site), out, "no syscall in pid %d's vDSO",
		   t.pid);
	/* Only the leader listed: the six others are found by the pass. */
	CHECK_GOTO(inj_seize_threads(t.pid, &t.pid, 1, &task) == 0, out, "seize failed");
	CHECK_GOTO(inj_thread_count(task) == 7, out, "seized %d threads, expected 7",
		   inj_thread_count(task));
	CHECK_GOTO(all_threads_traced(t.pid, task), out, "a thread is not in a tracing stop");
	inj_set_log(note_site_search);
	searched_site = false;
	/* The ELF header's first bytes are no syscall: refused, searched. */
	inj_task_offer_syscall_site(task, vdso);
	CHECK_GOTO(inj_syscall(task, &ret, SYS_getpid, 0, 0, 0, 0, 0, 0) == 0 && ret == t.pid,
		   out, "remote getpid gave %ld after a wrong site was offered", ret);
	CHECK_GOTO(searched_site, out, "a site that holds no syscall was taken");
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(inj_seize_threads(t.pid, &t.pid, 1, &task) == 0, out, "second seize failed");
	searched_site = false;
	inj_task_offer_syscall_site(task, site);
	CHECK_GOTO(inj_syscall(task, &ret, SYS_getpid, 0, 0, 0, 0, 0, 0) == 0 && ret == t.pid,
		   out, "remote getpid at the offered site gave %ld", ret);
	CHECK_GOTO(!searched_site, out, "the offered site %#lx was not used", site);
	CHECK_GOTO(inj_release(task) == 0, out, "release failed");
	task = NULL;
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "%s", why);
out:
	inj_set_log(NULL);
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

/* inj_threads_syscalls() of gettid and PR_GET_TID_ADDRESS in all @n
 * threads: each must answer its own tid and the address it gave alone. */
static bool all_threads_at_once(struct inj_task *task, int n, const unsigned long *alone)
{
	struct inj_call calls[MAX_THREADS][2];
	struct inj_thread_calls each[MAX_THREADS];
	unsigned long addrs[MAX_THREADS];

	for (int i = 0; i < n; i++) {
		each[i] = (struct inj_thread_calls){ .tid = inj_thread_tid(task, i),
						     .calls = calls[i], .n = 2 };
		addrs[i] = 0;
		calls[i][0] = (struct inj_call){ .nr = SYS_gettid, .result = -1 };
		calls[i][1] = (struct inj_call){ .nr = SYS_prctl,
						 .args = { 40 /* PR_GET_TID_ADDRESS */, INJ_ARG_BUF },
						 .buf = &addrs[i], .len = sizeof(addrs[i]),
						 .result = -1 };
	}
	if (inj_threads_syscalls(task, each, (size_t)n))
		return false;
	for (int i = 0; i < n; i++) {
		if (calls[i][0].result != each[i].tid || calls[i][1].result || addrs[i] != alone[i]) {
			fprintf(stderr, "thread %d answered %ld, %ld, %#lx (alone: %#lx)\n",
				each[i].tid, calls[i][0].result, calls[i][1].result, addrs[i],
				alone[i]);
			return false;
		}
	}
	return true;
}

/* Every thread answers its own gettid and its own set_tid_address value,
 * through scratch memory below its stack, alone, in one batch
 * (inj_thread_syscalls) and with all threads borrowed at once
 * (inj_threads_syscalls), and the busy target carries on unharmed (its
 * blocked calls resume as if never touched). */
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
			/* The same two in one batch, the thread borrowed once. */
			unsigned long batched = 0;
			struct inj_call calls[2] = {
				{ .nr = SYS_gettid },
				{ .nr = SYS_prctl, .args = { 40, INJ_ARG_BUF }, .buf = &batched,
				  .len = sizeof(batched) },
			};

			CHECK_GOTO(inj_thread_syscalls(task, tid, calls, 2) == 0 &&
					   calls[0].result == tid && calls[1].result == 0 &&
					   batched == addr,
				   out, "a batch in thread %d gave %ld, %ld, %#lx (alone: %#lx)", tid,
				   calls[0].result, calls[1].result, batched, addr);
			/* glibc points each thread's at its own descriptor. */
			for (int j = 0; j < i; j++)
				CHECK_GOTO(addrs[j] != addr, out,
					   "threads share clear_child_tid %#lx", addr);
			addrs[i] = addr;
		}
		CHECK_GOTO(all_threads_at_once(task, n, addrs), out,
			   "all threads at once did not answer as each alone");
		CHECK_GOTO(inj_release(task) == 0, out, "release failed");
		task = NULL;
	}
	CHECK_GOTO(target_healthy(&t, 300, why, sizeof(why)), out, "%s", why);
out:
	if (task)
		inj_release(task);
	stop_target(&t);
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

static bool read_remote(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* The entries of /proc/PID/fd, "." and ".." aside. */
static int count_fds(pid_t pid)
{
	struct dirent **names;
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	n = scandir(path, &names, NULL, NULL);
	for (int i = 0; i < n; i++)
		free(names[i]);
	if (n >= 0)
		free(names);
	return n - 2;
}

/* A pipe passed along with a command (inj_parasite_call_with_fd()) reaches
 * the parasite, which vmsplices the target's non-zero pages into it, says
 * which were zero, feeds the XXH3 state it was given, and closes its copy. */
TEST(parasite_vmsplices_pages_into_a_pipe_passed_to_it)
{
	enum { PAGES = 8 };
	struct target t = {};
	struct inj_task *task = NULL;
	struct inj_parasite *p = NULL;
	static struct {
		struct parasite_vmsplice_arg a;
		struct parasite_page_range r;
	} arg __attribute__((aligned(64)));
	static struct parasite_vmsplice_reply reply;
	static uint8_t inside[PAGES * 4096], spliced[PAGES * 4096], want[PAGES * 4096];
	XXH3_state_t *state = XXH3_createState();
	unsigned long start, end;
	size_t len = 0, nr_want = 0;
	int pipefd[2] = { -1, -1 }, fds, ret;
	ssize_t got;

	CHECK(state && pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) == 0, "no pipe or state");
	CHECK(start_target(&t) == 0, "prog_busy did not start");
	CHECK_GOTO(inj_seize(t.pid, &task) == 0, out, "seize failed");
	struct inj_blob b = blob();
	CHECK_GOTO(inj_parasite_start(task, &b, &p) == 0, out, "parasite did not start");
	CHECK_GOTO(first_writable_region(t.pid, &start, &end), out, "no writable mapping");
	/* The same self-contained state cryo hands over (images/hasher.c). */
	XXH3_128bits_reset(state);
	memcpy(state->customSecret, state->extSecret, sizeof(state->customSecret));
	state->extSecret = NULL;
	memcpy(arg.a.digest, state, sizeof(arg.a.digest));
	arg.a.nr_ranges = 1;
	arg.r = (struct parasite_page_range){ start, (end - start) / 4096 < PAGES ? end - start :
										    PAGES * 4096 };
	ret = inj_parasite_call(p, PARASITE_CMD_VMSPLICE_PAGES, &arg, sizeof(arg), &reply,
				sizeof(reply), &len, NULL);
	CHECK_GOTO(ret == -EBADF, out, "without a pipe the command gave %d, not -EBADF", ret);
	fds = count_fds(t.pid);
	ret = inj_parasite_call_with_fd(p, PARASITE_CMD_VMSPLICE_PAGES, pipefd[1], &arg,
					sizeof(arg), &reply, sizeof(reply), &len);
	CHECK_GOTO(ret == 0, out, "the vmsplice command failed: %d", ret);
	CHECK_GOTO(count_fds(t.pid) == fds, out, "the target kept the pipe: %d fds, %d before",
		   count_fds(t.pid), fds);
	CHECK_GOTO(read_remote(t.pid, start, inside, arg.r.len), out, "cannot read the target");
	for (size_t i = 0; i < arg.r.len / 4096; i++) {
		bool zero = reply.zero[0] >> i & 1, is_zero = true;

		for (size_t k = 0; k < 4096; k++)
			is_zero &= !inside[i * 4096 + k];
		CHECK_GOTO(zero == is_zero, out, "page %zu: reported %s, it is %s", i,
			   zero ? "zero" : "not zero", is_zero ? "zero" : "not zero");
		if (!zero)
			memcpy(want + nr_want++ * 4096, inside + i * 4096, 4096);
	}
	CHECK_GOTO(reply.pages_spliced == nr_want, out, "%llu pages spliced, %zu not zero",
		   (unsigned long long)reply.pages_spliced, nr_want);
	got = read(pipefd[0], spliced, sizeof(spliced));
	CHECK_GOTO(got == (ssize_t)(nr_want * 4096) && !memcmp(spliced, want, got), out,
		   "the pipe held %zd bytes, not the %zu non-zero pages", got, nr_want);
	memcpy(state, reply.digest, sizeof(reply.digest));
	CHECK_GOTO(XXH3_128bits_digest(state).low64 == XXH3_128bits(want, got).low64, out,
		   "the digest the parasite fed is not XXH3 of the pages it spliced");
	CHECK_GOTO(inj_parasite_cure(p) == 0, out, "cure failed");
	p = NULL;
out:
	close(pipefd[0]);
	close(pipefd[1]);
	XXH3_freeState(state);
	if (task)
		inj_release(task);
	stop_target(&t);
}

/* Everything about the target that a cure must leave as it found it. */
