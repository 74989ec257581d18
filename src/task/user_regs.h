/* Conversion between the kernel's x86_64 register set (struct
 * user_regs_struct, as ptrace reads it) and its image record (UserRegs). */
#ifndef CRYO_TASK_USER_REGS_H
#define CRYO_TASK_USER_REGS_H

#include <sys/user.h>

#include "images/proto/core.pb-c.h"

void user_regs_to_image(const struct user_regs_struct *regs, UserRegs *out);
void user_regs_from_image(const UserRegs *in, struct user_regs_struct *regs);

#endif
