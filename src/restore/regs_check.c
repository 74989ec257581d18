/* The registers of every thread checked against its process's memory at
 * load, before anything is created: a rip the kernel would refuse, or that
 * points outside every saved executable mapping, restores "successfully"
 * into a crash. Not here: how registers are set (finish.c). */
#include <errno.h>
#include <sys/mman.h>

#include "common/log.h"
#include "restore/restore.h"

/* x86_64 selectors of 64-bit user code and data (__USER_CS, __USER_DS). */
#define USER_CS 0x33
#define USER_DS 0x2b
/* Above any user address, 5-level paging included. */
#define USER_ADDR_END (1ULL << 56)
/* Flags ptrace lets a tracer set (the kernel's FLAG_MASK), and those a
 * user task always has (bit 1, IF); TF would stop the task at once. */
#define EFLAGS_USER 0x254dd5ULL
#define EFLAGS_ALWAYS 0x202ULL
#define EFLAGS_TF 0x100ULL

static bool in_executable_mapping(const Mm *mm, uint64_t addr)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (addr >= mm->vmas[i]->start && addr < mm->vmas[i]->end)
			return mm->vmas[i]->prot & PROT_EXEC;
	return false;
}

static int check_thread_regs(const char *path, pid_t pid, const ThreadCore *t, const Mm *mm)
{
	const UserRegs *r = t->regs;
	const char *why = NULL;

	if (r->cs != USER_CS || r->ss != USER_DS)
		why = "segments are not 64-bit user code and data (cs 0x33, ss 0x2b)";
	else if (r->eflags & EFLAGS_TF)
		why = "the trap flag (TF) is set in eflags";
	else if ((r->eflags & ~EFLAGS_USER) != EFLAGS_ALWAYS)
		why = "eflags has bits a user task cannot have";
	else if (r->fs_base >= USER_ADDR_END || r->gs_base >= USER_ADDR_END)
		why = "fs_base or gs_base is not a user address";
	else if (!r->rip || r->rip >= USER_ADDR_END)
		why = "rip is not a user address";
	else if (!in_executable_mapping(mm, r->rip))
		why = "rip is in no saved executable mapping";
	if (!why)
		return 0;
	pr_err("%s: pid %d thread %d: rip %#llx, eflags %#llx, cs %#llx, ss %#llx: %s: refused",
	       path, pid, t->tid, (unsigned long long)r->rip, (unsigned long long)r->eflags,
	       (unsigned long long)r->cs, (unsigned long long)r->ss, why);
	return -EBADMSG;
}

int restore_check_registers(const char *path, const TaskCore *core, const Mm *mm)
{
	for (size_t i = 0; i < core->n_threads; i++) {
		int ret = check_thread_regs(path, core->pid, core->threads[i], mm);

		if (ret)
			return ret;
	}
	return 0;
}
