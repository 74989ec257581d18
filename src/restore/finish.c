/* The last step of a restore, done by cryo through ptrace once the restorer
 * has reported: the saved registers, xstate and signal mask of every
 * thread (each paused in the restorer until now), and the parent-death
 * signal of each (the main thread's kept at SIGKILL until now so that a
 * cryo that dies mid-restore takes the half-built task with it; from the
 * seize on, inj_seize_threads()'s PTRACE_O_EXITKILL does). The task runs
 * once cryo releases it, with all the others. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/procmap.h"
#include "ns/ns.h"
#include "inject/inject.h"
#include "restore/restore.h"
#include "task/task.h"
#include "task/user_regs.h"

/*
 * A task dumped inside a system call comes back about to enter it again,
 * with its original arguments. A call that was itself a restart_syscall has
 * lost its original number with the old task's restart block: it returns
 * EINTR instead.
 */
static void reenter_interrupted_syscall(struct user_regs_struct *r)
{
	if (r->orig_rax == __NR_restart_syscall && inj_syscall_interrupted(r)) {
		r->rax = (unsigned long)-EINTR;
		r->orig_rax = (unsigned long)-1;
		return;
	}
	inj_reenter_syscall(r);
}

/* The vDSO must sit where the restorer said it mapped it: the saved place,
 * or the new one next to a proxy. */
static int check_vdso_placed(const struct restore_task *rt, uint64_t want)
{
	struct proc_maps_line m;
	char name[16];
	int ret;

	if (!want)
		return 0;
	/* One query, not the whole maps text (procmap.h). */
	ret = proc_mapping_at(rt->host_pid, want, &m, name, sizeof(name));
	if (ret && ret != -ENOENT)
		return ret;
	if (ret || m.start != want || strcmp(m.name, "[vdso]")) {
		pr_err("restore: pid %d: [vdso] is not at %#llx, where it was mapped", rt->pid,
		       (unsigned long long)want);
		return -EFAULT;
	}
	return 0;
}

/* The tid cryo sees of thread @tid of @rt: another one only in a clone. */
static int host_tid(const struct restore_task *rt, pid_t tid, pid_t *out)
{
	int ret;

	*out = tid;
	if (rt->host_pid == rt->pid)
		return 0;
	if (tid == rt->pid) {
		*out = rt->host_pid;
		return 0;
	}
	ret = ns_find_thread(rt->host_pid, tid, out);
	if (ret)
		pr_err("restore: pid %d thread %d: not found in the clone (/proc/%d/task): %s",
		       rt->pid, tid, rt->host_pid, strerror(-ret));
	return ret;
}

static int set_thread_state(struct inj_task *task, const ThreadCore *t, pid_t tid)
{
	int ret;

	struct inj_regs *regs = aligned_alloc(64, sizeof(*regs));

	if (!regs)
		return -ENOMEM;
	memset(regs, 0, sizeof(*regs));
	user_regs_from_image(t->regs, &regs->gp);
	reenter_interrupted_syscall(&regs->gp);
	memcpy(regs->xstate, t->xstate.data, t->xstate.len);
	regs->xstate_size = (uint32_t)t->xstate.len;
	ret = inj_set_regs(task, tid, regs);
	if (ret)
		pr_err("restore: pid %d thread %d: the saved registers were refused (%s): was "
		       "the image made on a CPU with other extended state?", inj_task_pid(task),
		       t->tid, strerror(-ret));
	else
		ret = inj_set_sigmask(task, tid, t->sigmask);
	free(regs);
	return ret;
}

/* Closes @fd in the stopped restorer; with @may_be_gone, an fd already
 * closed is fine. */
static int close_in_task(struct inj_task *task, int fd, bool may_be_gone, const char *what)
{
	long result = 0;
	char path[64];
	int ret;

	if (fd < 0)
		return 0;
	/* The restorer closed its report fd, a process of its own fd table its
	 * gate: a look at the stopped task's table spares a remote call. */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", inj_task_pid(task), fd);
	if (may_be_gone && faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT)
		return 0;
	ret = inj_syscall(task, &result, SYS_close, (unsigned long)fd, 0, 0, 0, 0, 0);
	if (!ret && result && !(may_be_gone && result == -EBADF)) {
		pr_err("restore: pid %d: cannot close %s (fd %d): %s", inj_task_pid(task), what, fd,
		       strerror((int)-result));
		ret = (int)result;
	}
	return ret;
}

/* The parent-death signal of every thread: the kernel keeps one per
 * thread, and a thread the restorer made has none. The main thread's is
 * the process's; another's, saved where it differs, else the same. */
static int set_pdeath_signals(struct inj_task *task, const TaskCore *core, const pid_t *tids)
{
	uint32_t process = core->prctl ? core->prctl->pdeath_signal : 0;
	long result = 0;
	int ret = inj_syscall(task, &result, SYS_prctl, PR_SET_PDEATHSIG, process, 0, 0, 0, 0);

	for (size_t i = 0; !ret && !result && i < core->n_threads; i++) {
		const ThreadCore *t = core->threads[i];
		uint32_t signal = t->has_pdeath_signal ? t->pdeath_signal : process;
		const unsigned long args[6] = { PR_SET_PDEATHSIG, signal };

		if (t->tid != core->pid && signal)
			ret = inj_thread_syscall(task, tids[i], &result, NULL, 0, SYS_prctl, args);
		if (!ret && result)
			pr_err("restore: pid %d thread %d: cannot set its parent-death signal %u: "
			       "%s", core->pid, t->tid, signal, strerror((int)-result));
	}
	return ret ? ret : (int)result;
}

/* How many bytes of cryo's own vDSO, at @vdso, its first loaded segment
 * spans from the start (0: no ELF header there). */
static size_t vdso_loaded_size(const unsigned char *vdso)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)vdso;

	if (!vdso || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_phentsize != sizeof(Elf64_Phdr))
		return 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(vdso + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD && ph->p_offset == 0)
			return ph->p_filesz;
	}
	return 0;
}

void restore_finish_known_find(struct restore_finish_known *known)
{
	const unsigned char *vdso = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	size_t size = vdso_loaded_size(vdso);

	/* Its syscall fallbacks lie in its text; every restorer maps this
	 * same vDSO (a task's is checked with a 2-byte read before use). */
	known->vdso_syscall_offset = 0;
	for (size_t i = 0; i + 1 < size && !known->vdso_syscall_offset; i++)
		if (vdso[i] == 0x0f && vdso[i + 1] == 0x05)
			known->vdso_syscall_offset = i;
	known->threads_known = prctl(PR_GET_SECCOMP) == 0;
}

/* Seizes @rt by the tids of its image where cryo sees them as saved (not
 * in a clone's pid namespace), else by reading its thread list. */
static int seize_restored(const struct restore_task *rt, uint64_t vdso_text,
			  const struct restore_finish_known *known, pid_t *tids,
			  struct inj_task **task)
{
	const TaskCore *core = rt->core;
	int ret;

	if (known->threads_known && rt->host_pid == rt->pid) {
		for (size_t i = 0; i < core->n_threads; i++)
			tids[i] = core->threads[i]->tid;
		ret = inj_seize_threads(rt->host_pid, tids, (int)core->n_threads, task);
	} else {
		ret = inj_seize(rt->host_pid, task);
	}
	if (!ret && vdso_text && known->vdso_syscall_offset)
		inj_task_offer_syscall_site(*task, vdso_text + known->vdso_syscall_offset);
	return ret;
}

int restore_finish(struct restore_task *rt, uint64_t vdso_text,
		   const struct restore_finish_known *known, int uffd,
		   const struct files_locks *locks, const int pipe_fds[2], struct inj_task **out)
{
	const TaskCore *core = rt->core;
	struct inj_task *task;
	pid_t *tids;
	int ret;

	ret = check_vdso_placed(rt, vdso_text);
	if (ret)
		return ret;
	tids = calloc(core->n_threads + 1, sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	ret = seize_restored(rt, vdso_text, known, tids, &task);
	if (ret) {
		free(tids);
		return ret;
	}
	/* The restorer made each thread or failed: anything else is a bug. */
	if (inj_thread_count(task) != (int)core->n_threads) {
		pr_err("restore: pid %d: %d threads after the restorer, the image has %zu",
		       rt->pid, inj_thread_count(task), core->n_threads);
		inj_release(task);
		free(tids);
		return -ESRCH;
	}
	/* The page server holds the userfaultfd now: the fd table is as saved. */
	ret = close_in_task(task, uffd, false, "its userfaultfd");
	/* The restorer may be stopped between its report and its close of the
	 * pipe, and the gate's fd stayed open past the last stage. */
	for (int i = 0; !ret && i < 2; i++)
		ret = close_in_task(task, pipe_fds[i], true, "the restore's pipe");
	if (!ret)
		ret = restore_thread_pidfds(task, rt->files);
	if (!ret)
		ret = restore_thread_owners(task, rt->pid, rt->files);
	/* Every thread exists, none runs yet: nothing of the restore is slowed
	 * by an idle policy or a narrow affinity. Before the registers: the
	 * timer slack is set by a syscall run in each thread. */
	for (size_t i = 0; !ret && i < core->n_threads; i++)
		ret = host_tid(rt, core->threads[i]->tid, &tids[i]);
	if (!ret)
		ret = task_restore_sched(task, core, tids);
	/* Last of what runs in the task: no close() of its may drop them. */
	if (!ret)
		ret = restore_take_locks(task, rt->pid, rt->host_pid, locks);
	/* After everything a filter may forbid; suspended until release. */
	if (!ret)
		ret = task_restore_seccomp(task, core, tids);
	/* After the seccomp filters, which may leave CAP_SYS_ADMIN until they
	 * are in: a cryo that dies before still takes the task with it. */
	if (!ret)
		ret = set_pdeath_signals(task, core, tids);
	for (size_t i = 0; !ret && i < core->n_threads; i++)
		ret = set_thread_state(task, core->threads[i], tids[i]);
	free(tids);
	if (ret) {
		inj_release(task);
		return ret;
	}
	*out = task;
	return 0;
}

int restore_unmap_area(struct inj_task *task, pid_t pid, uint64_t start, uint64_t end)
{
	long result;
	int ret;

	ret = inj_syscall(task, &result, SYS_munmap, start, end - start, 0, 0, 0, 0);
	if (!ret && result)
		ret = (int)result;
	if (ret)
		pr_err("restore: pid %d: cannot unmap the restorer's area %#llx-%#llx: %s", pid,
		       (unsigned long long)start, (unsigned long long)end, strerror(-ret));
	return ret;
}
