/* A signal-return frame of the worker's saved state, written into the
 * parasite's area. If cryo dies while the task runs borrowed code, the
 * kernel lets the task go on from wherever it was: the parasite and the
 * remote-syscall gadget then end in rt_sigreturn on this frame, and the task
 * carries on with its own registers, xstate and signal mask. Normally it is
 * never used. A call frame makes the task run one syscall on its way back
 * (bootstrap.c's unmap of the parasite's area). Layouts are the kernel's
 * x86_64 rt_sigframe and ucontext. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "inject/internal.h"

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define SW_BYTES_OFFSET 464
#define X86_EFLAGS_TF 0x100UL
#define X86_EFLAGS_DF 0x400UL

struct frame_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved[8];
};

struct frame_ucontext {
	uint64_t flags;
	uint64_t link;
	uint64_t ss_sp;		/* stack_t: left empty, so the kernel keeps */
	int32_t ss_flags;	/* the task's sigaltstack as it is */
	int32_t ss_pad;
	uint64_t ss_size;
	struct frame_sigcontext mcontext;
	uint64_t sigmask;
};

struct frame {
	uint64_t pretcode;
	struct frame_ucontext uc;
	uint8_t siginfo[128];
};

_Static_assert(sizeof(struct frame_sigcontext) == 256, "x86_64 sigcontext");
_Static_assert(offsetof(struct frame, uc.mcontext) == 48, "x86_64 ucontext");
_Static_assert(sizeof(struct frame) == 440, "x86_64 rt_sigframe");

/* The xstate goes this far past the frame's start, 64-byte aligned. */
#define FPSTATE_OFFSET 512

size_t sigframe_size(const struct inj_regs *regs)
{
	return FPSTATE_OFFSET + regs->xstate_size + sizeof(uint32_t);
}

int sigframe_build(const struct inj_regs *regs, uint64_t sigmask, unsigned long frame_addr,
		   void *buf, size_t size)
{
	struct user_regs_struct r_copy = regs->gp, *r = &r_copy;
	struct frame *f = buf;
	uint8_t *fp = (uint8_t *)buf + FPSTATE_OFFSET;
	uint32_t magic2 = FP_XSTATE_MAGIC2, xstate_size = regs->xstate_size;
	struct {
		uint32_t magic1, extended_size;
		uint64_t xfeatures;
		uint32_t xstate_size;
	} sw;

	if (size < sigframe_size(regs) || (frame_addr & 63))
		return -EINVAL;
	memset(buf, 0, size);
	/* sigreturn restarts nothing: an interrupted call must be re-entered. */
	inj_reenter_syscall(r);
	f->uc.flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.mcontext = (struct frame_sigcontext){
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rdi = r->rdi, .rsi = r->rsi, .rbp = r->rbp, .rbx = r->rbx,
		.rdx = r->rdx, .rax = r->rax, .rcx = r->rcx, .rsp = r->rsp,
		.rip = r->rip, .eflags = r->eflags,
		.cs = (uint16_t)r->cs, .gs = (uint16_t)r->gs, .fs = (uint16_t)r->fs,
		.ss = (uint16_t)r->ss,
		.fpstate = frame_addr + FPSTATE_OFFSET,
	};
	f->uc.sigmask = sigmask;

	/* The XSAVE area as ptrace gave it, marked as a complete xstate frame. */
	memcpy(fp, regs->xstate, xstate_size);
	memcpy(&sw, fp + SW_BYTES_OFFSET, sizeof(sw));
	if (sw.magic1 != FP_XSTATE_MAGIC1) {
		uint64_t xstate_bv;

		memcpy(&xstate_bv, fp + 512, sizeof(xstate_bv));
		sw.xfeatures = xstate_bv | 3; /* x87 and SSE at least */
	}
	sw.magic1 = FP_XSTATE_MAGIC1;
	sw.extended_size = xstate_size + sizeof(magic2);
	sw.xstate_size = xstate_size;
	memcpy(fp + SW_BYTES_OFFSET, &sw, sizeof(sw));
	memcpy(fp + xstate_size, &magic2, sizeof(magic2));
	return 0;
}

int sigframe_build_call(const struct inj_regs *regs, unsigned long ip, unsigned long sp, long nr,
			unsigned long a0, unsigned long a1, void *buf)
{
	const struct user_regs_struct *r = &regs->gp;
	struct frame *f = buf;

	_Static_assert(sizeof(struct frame) <= SIGFRAME_CALL_SIZE, "call frame size");
	memset(buf, 0, SIGFRAME_CALL_SIZE);
	/* No fpstate: sigreturn clears the FPU; the next frame puts it back. */
	f->uc.flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.mcontext = (struct frame_sigcontext){
		.rdi = a0, .rsi = a1, .rax = (uint64_t)nr, .rsp = sp, .rip = ip,
		.eflags = r->eflags & ~(X86_EFLAGS_TF | X86_EFLAGS_DF),
		.cs = (uint16_t)r->cs, .gs = (uint16_t)r->gs, .fs = (uint16_t)r->fs,
		.ss = (uint16_t)r->ss,
	};
	f->uc.sigmask = ~0ULL;
	return 0;
}
