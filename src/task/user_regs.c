/* Register set <-> image record, field by field through one table, so the
 * two directions cannot drift apart. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "task/user_regs.h"

#define REG(name) { offsetof(struct user_regs_struct, name), offsetof(UserRegs, name) }

static const struct {
	size_t kernel, image;
} fields[] = {
	REG(r15), REG(r14), REG(r13), REG(r12), REG(rbp), REG(rbx), REG(r11),
	REG(r10), REG(r9), REG(r8), REG(rax), REG(rcx), REG(rdx), REG(rsi),
	REG(rdi), REG(orig_rax), REG(rip), REG(cs), REG(eflags), REG(rsp), REG(ss),
	REG(fs_base), REG(gs_base), REG(ds), REG(es), REG(fs), REG(gs),
};

_Static_assert(sizeof(fields) / sizeof(fields[0]) ==
		       sizeof(struct user_regs_struct) / sizeof(unsigned long long),
	       "every register has its field in the image");

void user_regs_to_image(const struct user_regs_struct *regs, UserRegs *out)
{
	user_regs__init(out);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		memcpy((char *)out + fields[i].image, (const char *)regs + fields[i].kernel,
		       sizeof(uint64_t));
}

void user_regs_from_image(const UserRegs *in, struct user_regs_struct *regs)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		memcpy((char *)regs + fields[i].kernel, (const char *)in + fields[i].image,
		       sizeof(uint64_t));
}
