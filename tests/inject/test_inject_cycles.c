/* A long run of infect/cure cycles on test_inject_target.h's target, after
 * each of which its registers, signal masks, mappings and memory must be
 * exactly as before, while the target keeps checking its own computations. */
#include "test_inject_target.h"

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
