/* Restore of each thread's seccomp state, from cryo, last of what runs in
 * the seized task (restore_finish()): the saved BPF programs are written
 * into a scratch mapping of the task, and each thread installs its own by
 * a remote seccomp() run in it. Filters every thread shares (the oldest
 * ones of each chain) are installed once by the main thread with
 * SECCOMP_FILTER_FLAG_TSYNC, so the threads hold the same filters as
 * before; the rest are installed by each thread alone. Filters are
 * suspended (PTRACE_O_SUSPEND_SECCOMP) while cryo holds the task, so no
 * filter judges the calls that follow. A thread that needs CAP_SYS_ADMIN
 * to install them gets its saved capabilities after. Reading them is
 * dump_seccomp.c's. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "common/log.h"
#include "task/internal.h"
#include "task/task.h"

static bool has_seccomp(const TaskCore *core)
{
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->seccomp_mode)
			return true;
	return false;
}

bool task_seccomp_needs_admin(const TaskCore *core)
{
	if (!core->creds)
		return false;
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCore *t = core->threads[i];

		if (t->seccomp_mode == SECCOMP_MODE_FILTER && !task_thread_nnp(core, t) &&
		    !(task_thread_creds(core, t)->cap_effective & (1ULL << CAP_SYS_ADMIN)))
			return true;
	}
	return false;
}

/* Each thread's saved capability sets (its own, or the process's), by a
 * capset() run in it: the restorer left CAP_SYS_ADMIN for the filters.
 * Dropping needs no privilege. */
static int drop_admin(struct inj_task *task, const TaskCore *core, const pid_t *tids)
{
	const unsigned long args[6] = { INJ_ARG_BUF,
					INJ_ARG_BUF_AT(sizeof(struct __user_cap_header_struct)) };

	for (size_t i = 0; i < core->n_threads; i++) {
		const Creds *c = task_thread_creds(core, core->threads[i]);
		struct {
			struct __user_cap_header_struct header;
			struct __user_cap_data_struct data[2];
		} caps = {
			{ _LINUX_CAPABILITY_VERSION_3, 0 },
			{ { (uint32_t)c->cap_effective, (uint32_t)c->cap_permitted,
			    (uint32_t)c->cap_inheritable },
			  { (uint32_t)(c->cap_effective >> 32), (uint32_t)(c->cap_permitted >> 32),
			    (uint32_t)(c->cap_inheritable >> 32) } },
		};
		long result;
		int ret = inj_thread_syscall(task, tids[i], &result, &caps, sizeof(caps),
					     SYS_capset, args);

		if (!ret && result)
			ret = (int)result;
		if (ret) {
			pr_err("restore: pid %d thread %d: cannot set its saved capabilities after "
			       "its seccomp filters: %s", core->pid, core->threads[i]->tid,
			       strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* How many of the oldest filters every thread holds: installed once, with
 * TSYNC. 0 for a single thread, or when one has none or strict mode. */
static size_t shared_prefix(const TaskCore *core)
{
	size_t n = core->threads[0]->n_seccomp_chain;

	if (core->n_threads < 2)
		return 0;
	for (size_t i = 1; i < core->n_threads; i++) {
		const ThreadCore *t = core->threads[i];
		size_t j = 0;

		while (j < n && j < t->n_seccomp_chain &&
		       t->seccomp_chain[j] == core->threads[0]->seccomp_chain[j])
			j++;
		n = j;
	}
	return n;
}

static int install(struct inj_task *task, const TaskCore *core, pid_t pid, pid_t tid,
		   size_t thread, uint32_t index, uint64_t addr, bool tsync)
{
	const SeccompFilter *f = core->seccomp_filters[index];
	struct sock_fprog prog = { .len = (unsigned short)(f->insns.len / 8),
				   .filter = (struct sock_filter *)(uintptr_t)addr };
	unsigned long flags = (f->flags & SECCOMP_FILTER_FLAG_LOG) |
			      (tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0);
	const unsigned long args[6] = { SECCOMP_SET_MODE_FILTER, flags, INJ_ARG_BUF };
	long result;
	int ret = inj_thread_syscall(task, tid, &result, &prog, sizeof(prog), SYS_seccomp, args);

	if (!ret && result > 0) {
		pr_err("restore: pid %d: seccomp filter %u: thread %ld could not take it with "
		       "TSYNC", pid, index, result);
		return -EBUSY;
	}
	if (!ret && result)
		ret = (int)result;
	if (ret)
		pr_err("restore: pid %d thread %d: cannot install seccomp filter %u (%zu "
		       "instructions): %s", pid, core->threads[thread]->tid, index,
		       f->insns.len / 8, strerror(-ret));
	return ret;
}

/* Writes every filter into a fresh mapping of the task; its address in
 * @map, each filter's in @addrs. */
static int place_filters(struct inj_task *task, const TaskCore *core, pid_t pid,
			 uint64_t *addrs, unsigned long *map, size_t *map_len)
{
	size_t total = 0;
	long result;
	int ret;

	for (size_t i = 0; i < core->n_seccomp_filters; i++)
		total += core->seccomp_filters[i]->insns.len;
	*map_len = (total + 4095) & ~4095UL;
	ret = inj_syscall(task, &result, SYS_mmap, 0, *map_len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long)-1, 0);
	if (!ret && result < 0 && result > -4096)
		ret = (int)result;
	if (ret) {
		pr_err("restore: pid %d: no room for its seccomp filters: %s", pid,
		       strerror(-ret));
		return ret;
	}
	*map = (unsigned long)result;
	total = 0;
	for (size_t i = 0; i < core->n_seccomp_filters; i++) {
		const SeccompFilter *f = core->seccomp_filters[i];
		struct iovec local = { f->insns.data, f->insns.len };
		struct iovec remote = { (void *)(*map + total), f->insns.len };

		addrs[i] = *map + total;
		if (process_vm_writev(inj_task_pid(task), &local, 1, &remote, 1, 0) !=
		    (ssize_t)f->insns.len) {
			ret = -errno;
			pr_err("restore: pid %d: cannot write its seccomp filters: %s", pid,
			       strerror(errno));
			return ret ? ret : -EIO;
		}
		total += f->insns.len;
	}
	return 0;
}

static int install_all(struct inj_task *task, const TaskCore *core, const pid_t *tids,
		       const uint64_t *addrs)
{
	pid_t pid = core->pid;
	size_t shared = shared_prefix(core);
	size_t main = 0;
	int ret = 0;

	while (core->threads[main]->tid != core->pid)
		main++;
	for (size_t j = 0; !ret && j < shared; j++) {
		uint32_t index = core->threads[0]->seccomp_chain[j];

		ret = install(task, core, pid, tids[main], main, index, addrs[index], true);
	}
	for (size_t i = 0; !ret && i < core->n_threads; i++) {
		const ThreadCore *t = core->threads[i];

		for (size_t j = shared; !ret && j < t->n_seccomp_chain; j++)
			ret = install(task, core, pid, tids[i], i, t->seccomp_chain[j],
				      addrs[t->seccomp_chain[j]], false);
		if (!ret && t->seccomp_mode == SECCOMP_MODE_STRICT) {
			const unsigned long args[6] = { SECCOMP_SET_MODE_STRICT };
			long result;

			ret = inj_thread_syscall(task, tids[i], &result, NULL, 0, SYS_seccomp,
						 args);
			if (!ret && result)
				ret = (int)result;
			if (ret)
				pr_err("restore: pid %d thread %d: cannot enter seccomp strict "
				       "mode: %s", pid, t->tid, strerror(-ret));
		}
	}
	return ret;
}

int task_restore_seccomp(struct inj_task *task, const TaskCore *core, const pid_t *tids)
{
	unsigned long map = 0;
	size_t map_len = 0;
	uint64_t *addrs;
	long result;
	int ret;

	if (!has_seccomp(core))
		return 0;
	ret = inj_suspend_seccomp(task);
	if (ret)
		return ret;
	addrs = calloc(core->n_seccomp_filters + 1, sizeof(*addrs));
	if (!addrs)
		return -ENOMEM;
	if (core->n_seccomp_filters)
		ret = place_filters(task, core, core->pid, addrs, &map, &map_len);
	if (!ret)
		ret = install_all(task, core, tids, addrs);
	if (!ret && task_seccomp_needs_admin(core))
		ret = drop_admin(task, core, tids);
	free(addrs);
	if (map) {
		int err = inj_syscall(task, &result, SYS_munmap, map, map_len, 0, 0, 0, 0);

		if (!err && result)
			err = (int)result;
		if (err && !ret) {
			pr_err("restore: pid %d: cannot unmap its seccomp filters' scratch: %s",
			       core->pid, strerror(-err));
			ret = err;
		}
	}
	return ret;
}
