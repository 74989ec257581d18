/* Tests of the register check at restore load: registers as a dump saves
 * them pass; a rip of 0, in the kernel, in a mapping that is not
 * executable or in none, the trap flag, other privileged flags and
 * foreign segments are each refused, naming the thread and the cause. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "harness.h"
#include "restore/restore.h"
#include "test_task_util.h"

struct regs_sample {
	UserRegs regs;
	ThreadCore thread, *threads[1];
	TaskCore core;
	Vma text, data, *vmas[2];
	Mm mm;
};

static void regs_sample_init(struct regs_sample *s)
{
	user_regs__init(&s->regs);
	s->regs.cs = 0x33;
	s->regs.ss = 0x2b;
	s->regs.eflags = 0x246;
	s->regs.rip = 0x401234;
	s->regs.rsp = 0x7ffc0000f000;
	s->regs.fs_base = 0x7f0000001000;
	thread_core__init(&s->thread);
	s->thread.tid = 4242;
	s->thread.regs = &s->regs;
	s->threads[0] = &s->thread;
	task_core__init(&s->core);
	s->core.pid = 4242;
	s->core.n_threads = 1;
	s->core.threads = s->threads;
	vma__init(&s->text);
	s->text.start = 0x400000;
	s->text.end = 0x402000;
	s->text.prot = PROT_READ | PROT_EXEC;
	vma__init(&s->data);
	s->data.start = 0x600000;
	s->data.end = 0x601000;
	s->data.prot = PROT_READ | PROT_WRITE;
	s->vmas[0] = &s->text;
	s->vmas[1] = &s->data;
	mm__init(&s->mm);
	s->mm.n_vmas = 2;
	s->mm.vmas = s->vmas;
}

static void rip_zero(struct regs_sample *s) { s->regs.rip = 0; }
static void rip_kernel(struct regs_sample *s) { s->regs.rip = 0xffffffff81000000ULL; }
static void rip_in_data(struct regs_sample *s) { s->regs.rip = 0x600010; }
static void rip_unmapped(struct regs_sample *s) { s->regs.rip = 0x500000; }
static void trap_flag(struct regs_sample *s) { s->regs.eflags |= 0x100; }
static void iopl_3(struct regs_sample *s) { s->regs.eflags |= 0x3000; }
static void compat_cs(struct regs_sample *s) { s->regs.cs = 0x23; }
static void kernel_gs_base(struct regs_sample *s) { s->regs.gs_base = 0xffff888000000000ULL; }

static const struct {
	const char *name;
	void (*spoil)(struct regs_sample *s);
	const char *message;
} bad_regs[] = {
	{ "rip 0", rip_zero, "rip is not a user address" },
	{ "kernel rip", rip_kernel, "rip is not a user address" },
	{ "rip in data", rip_in_data, "rip is in no saved executable mapping" },
	{ "rip unmapped", rip_unmapped, "rip is in no saved executable mapping" },
	{ "TF", trap_flag, "the trap flag (TF) is set" },
	{ "IOPL 3", iopl_3, "eflags has bits a user task cannot have" },
	{ "compat cs", compat_cs, "segments are not 64-bit user code and data" },
	{ "kernel gs_base", kernel_gs_base, "fs_base or gs_base is not a user address" },
};

TEST(registers_as_dumped_pass)
{
	struct regs_sample s;
	char err[512];
	int ret;

	regs_sample_init(&s);
	CAPTURE_STDERR(err, ret = restore_check_registers("core-4242.img", &s.core, &s.mm));
	CHECK(ret == 0, "refused: %s", err);
}

TEST(registers_the_kernel_would_refuse_or_that_crash_are_refused)
{
	for (size_t i = 0; i < sizeof(bad_regs) / sizeof(bad_regs[0]); i++) {
		struct regs_sample s;
		char err[512];
		int ret;

		regs_sample_init(&s);
		bad_regs[i].spoil(&s);
		CAPTURE_STDERR(err, ret = restore_check_registers("core-4242.img", &s.core, &s.mm));
		CHECK(ret == -EBADMSG, "%s: accepted (%d)", bad_regs[i].name, ret);
		CHECK(strstr(err, bad_regs[i].message) && strstr(err, "pid 4242 thread 4242"),
		      "%s: message \"%s\" lacks \"%s\"", bad_regs[i].name, err, bad_regs[i].message);
	}
}
