/* Dump of each thread's seccomp state: its mode (/proc/PID/task/TID/status)
 * and, in filter mode, its filters as BPF programs read with
 * PTRACE_SECCOMP_GET_FILTER, with the flags PTRACE_SECCOMP_GET_METADATA
 * reports. A filter several threads hold (inherited) is saved once. Every
 * thread must be in a ptrace stop. Installing them again is
 * restore_seccomp.c's. */
#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>

#include "common/log.h"
#include "common/textfile.h"
#include "task/internal.h"
#include "task/task.h"

struct seccomp_meta {
	uint64_t filter_off;
	uint64_t flags;
};

/* A field of a status text, parsed as a number in @base; -EIO if absent. */
static int status_number(const char *status, const char *key, int base, uint64_t *out)
{
	size_t klen = strlen(key);

	for (const char *line = status; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *end;

			*out = strtoull(line + klen + 1, &end, base);
			return end == line + klen + 1 ? -EIO : 0;
		}
	}
	return -EIO;
}

/* The index of @insns in the process's table, added when new. */
static int filter_index(TaskCore *core, const void *insns, size_t len, uint32_t flags,
			uint32_t *index)
{
	SeccompFilter *f;

	for (size_t i = 0; i < core->n_seccomp_filters; i++) {
		f = core->seccomp_filters[i];
		if (f->insns.len == len && f->flags == flags && !memcmp(f->insns.data, insns, len)) {
			*index = (uint32_t)i;
			return 0;
		}
	}
	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	seccomp_filter__init(f);
	f->insns.data = malloc(len);
	if (!f->insns.data) {
		free(f);
		return -ENOMEM;
	}
	memcpy(f->insns.data, insns, len);
	f->insns.len = len;
	f->has_flags = flags != 0;
	f->flags = flags;
	*index = (uint32_t)core->n_seccomp_filters;
	if (task_push(core->seccomp_filters, core->n_seccomp_filters, f)) {
		free(f->insns.data);
		free(f);
		return -ENOMEM;
	}
	return 0;
}

/* The filters of @thread, oldest first: the kernel counts filter_off from
 * the first one installed. */
static int dump_filters(pid_t pid, TaskCore *core, ThreadCore *thread)
{
	struct sock_filter *insns = malloc(BPF_MAXINSNS * sizeof(*insns));
	uint32_t chain[256];
	size_t n = 0;
	int ret = 0;

	if (!insns)
		return -ENOMEM;
	for (;; n++) {
		struct seccomp_meta meta = { .filter_off = n };
		long count = ptrace(PTRACE_SECCOMP_GET_FILTER, thread->tid, n, NULL);

		if (count < 0 && errno == ENOENT)
			break;
		if (n == sizeof(chain) / sizeof(chain[0])) {
			pr_err("dump: pid %d thread %d: more than %zu seccomp filters: not supported",
			       pid, thread->tid, n);
			ret = -EOPNOTSUPP;
			break;
		}
		if (count > 0 && count <= BPF_MAXINSNS)
			count = ptrace(PTRACE_SECCOMP_GET_FILTER, thread->tid, n, insns);
		if (count <= 0 || count > BPF_MAXINSNS ||
		    ptrace(PTRACE_SECCOMP_GET_METADATA, thread->tid, sizeof(meta), &meta) < 0) {
			ret = count < 0 || errno ? -errno : -EIO;
			pr_err("dump: pid %d thread %d: cannot read its seccomp filter %zu "
			       "(PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN): %s", pid,
			       thread->tid, n, strerror(-ret));
			break;
		}
		ret = filter_index(core, insns, (size_t)count * sizeof(*insns),
				   (uint32_t)(meta.flags & SECCOMP_FILTER_FLAG_LOG), &chain[n]);
		if (ret)
			break;
	}
	free(insns);
	if (ret)
		return ret;
	thread->seccomp_chain = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!thread->seccomp_chain)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		thread->seccomp_chain[i] = chain[i];
	thread->n_seccomp_chain = n;
	return 0;
}

int dump_seccomp(struct inj_task *task, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);
	int ret = 0;

	for (int i = 0; !ret && i < inj_thread_count(task); i++) {
		pid_t tid = inj_thread_tid(task, i);
		ThreadCore *thread = task_thread_get(core, tid);
		char name[64], *status = NULL;
		uint64_t mode = 0;

		if (!thread)
			return -ENOMEM;
		snprintf(name, sizeof(name), "task/%d/status", tid);
		ret = proc_read(pid, name, &status);
		if (ret)
			return ret;
		if (status_number(status, "Seccomp", 10, &mode) || mode > SECCOMP_MODE_FILTER) {
			pr_err("dump: pid %d thread %d: no Seccomp mode cryo knows in its status "
			       "(%" PRIu64 ")", pid, tid, mode);
			ret = -EIO;
		}
		free(status);
		if (ret || mode == SECCOMP_MODE_DISABLED)
			continue;
		thread->has_seccomp_mode = true;
		thread->seccomp_mode = (uint32_t)mode;
		if (mode == SECCOMP_MODE_FILTER)
			ret = dump_filters(pid, core, thread);
	}
	return ret;
}
