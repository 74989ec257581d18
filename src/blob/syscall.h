/* Raw x86_64 system calls for the freestanding blobs (parasite, restorer),
 * which have no libc. Each returns the kernel's value: -errno on failure. */
#ifndef CRYO_BLOB_SYSCALL_H
#define CRYO_BLOB_SYSCALL_H

#include <asm/unistd.h>
#include <stddef.h>
#include <stdint.h>

static inline long blob_syscall6(long nr, unsigned long a1, unsigned long a2,
				 unsigned long a3, unsigned long a4, unsigned long a5,
				 unsigned long a6)
{
	register unsigned long r10 asm("r10") = a4;
	register unsigned long r8 asm("r8") = a5;
	register unsigned long r9 asm("r9") = a6;
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
		     : "rcx", "r11", "memory");
	return ret;
}

#define blob_syscall(nr, a1, a2, a3, a4, a5, a6)                                        \
	blob_syscall6(nr, (unsigned long)(a1), (unsigned long)(a2), (unsigned long)(a3), \
		      (unsigned long)(a4), (unsigned long)(a5), (unsigned long)(a6))

static inline long sys_close(int fd)
{
	return blob_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
}

static inline void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	return (void *)blob_syscall(__NR_mmap, addr, len, prot, flags, fd, off);
}

static inline long sys_munmap(void *addr, size_t len)
{
	return blob_syscall(__NR_munmap, addr, len, 0, 0, 0, 0);
}

static inline void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags,
				void *new_addr)
{
	return (void *)blob_syscall(__NR_mremap, old, old_len, new_len, flags, new_addr, 0);
}

static inline void *sys_shmat(int id, const void *addr, int flags)
{
	return (void *)blob_syscall(__NR_shmat, id, addr, flags, 0, 0, 0);
}

static inline long sys_recvmsg(int fd, void *msg, int flags)
{
	return blob_syscall(__NR_recvmsg, fd, msg, flags, 0, 0, 0);
}

static inline long sys_sendmsg(int fd, const void *msg, int flags)
{
	return blob_syscall(__NR_sendmsg, fd, msg, flags, 0, 0, 0);
}

static inline long sys_rt_sigaction(int sig, const void *act, void *old, size_t setsize)
{
	return blob_syscall(__NR_rt_sigaction, sig, act, old, setsize, 0, 0);
}

static inline long sys_fcntl(int fd, int cmd, unsigned long arg)
{
	return blob_syscall(__NR_fcntl, fd, cmd, arg, 0, 0, 0);
}

static inline long sys_brk(unsigned long addr)
{
	return blob_syscall(__NR_brk, addr, 0, 0, 0, 0, 0);
}

static inline long sys_getpid(void)
{
	return blob_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0);
}

static inline long sys_process_vm_readv(long pid, const void *local, unsigned long nlocal,
					const void *remote, unsigned long nremote)
{
	return blob_syscall(__NR_process_vm_readv, pid, local, nlocal, remote, nremote, 0);
}

static inline long sys_pause(void)
{
	return blob_syscall(__NR_pause, 0, 0, 0, 0, 0, 0);
}

static inline long sys_mprotect(void *addr, size_t len, int prot)
{
	return blob_syscall(__NR_mprotect, addr, len, prot, 0, 0, 0);
}

static inline long sys_madvise(void *addr, size_t len, int advice)
{
	return blob_syscall(__NR_madvise, addr, len, advice, 0, 0, 0);
}

static inline long sys_mlock2(void *addr, size_t len, unsigned int flags)
{
	return blob_syscall(__NR_mlock2, addr, len, flags, 0, 0, 0);
}

static inline long sys_pread64(int fd, void *buf, size_t len, uint64_t off)
{
	return blob_syscall(__NR_pread64, fd, buf, len, off, 0, 0);
}

static inline long sys_read(int fd, void *buf, size_t len)
{
	return blob_syscall(__NR_read, fd, buf, len, 0, 0, 0);
}

static inline long sys_write(int fd, const void *buf, size_t len)
{
	return blob_syscall(__NR_write, fd, buf, len, 0, 0, 0);
}

static inline long sys_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4,
			     unsigned long a5)
{
	return blob_syscall(__NR_prctl, option, a2, a3, a4, a5, 0);
}

static inline long sys_arch_prctl(int code, unsigned long addr)
{
	return blob_syscall(__NR_arch_prctl, code, addr, 0, 0, 0, 0);
}

static inline long sys_rt_sigqueueinfo(int pid, int sig, const void *info)
{
	return blob_syscall(__NR_rt_sigqueueinfo, pid, sig, info, 0, 0, 0);
}

static inline long sys_rt_tgsigqueueinfo(int tgid, int tid, int sig, const void *info)
{
	return blob_syscall(__NR_rt_tgsigqueueinfo, tgid, tid, sig, info, 0, 0);
}

static inline long sys_rseq(const void *abi, uint32_t len, int flags, uint32_t sig)
{
	return blob_syscall(__NR_rseq, abi, len, flags, sig, 0, 0);
}

static inline long sys_setgroups(size_t n, const uint32_t *groups)
{
	return blob_syscall(__NR_setgroups, n, groups, 0, 0, 0, 0);
}

static inline long sys_setresuid(uint32_t r, uint32_t e, uint32_t s)
{
	return blob_syscall(__NR_setresuid, r, e, s, 0, 0, 0);
}

static inline long sys_setresgid(uint32_t r, uint32_t e, uint32_t s)
{
	return blob_syscall(__NR_setresgid, r, e, s, 0, 0, 0);
}

static inline long sys_setfsuid(uint32_t id)
{
	return blob_syscall(__NR_setfsuid, id, 0, 0, 0, 0, 0);
}

static inline long sys_setfsgid(uint32_t id)
{
	return blob_syscall(__NR_setfsgid, id, 0, 0, 0, 0, 0);
}

static inline long sys_capget(void *header, void *data)
{
	return blob_syscall(__NR_capget, header, data, 0, 0, 0, 0);
}

static inline long sys_capset(const void *header, const void *data)
{
	return blob_syscall(__NR_capset, header, data, 0, 0, 0, 0);
}

static inline __attribute__((noreturn)) void sys_exit_group(int code)
{
	for (;;)
		blob_syscall(__NR_exit_group, code, 0, 0, 0, 0, 0);
}

/* Returns through the rt_sigframe whose ucontext starts at @sp: the task
 * takes on the registers, xstate and signal mask saved there. */
static inline __attribute__((noreturn)) void sys_rt_sigreturn_at(uint64_t sp)
{
	asm volatile("mov %0, %%rsp\n\t"
		     "mov $15, %%eax\n\t"
		     "syscall"
		     :
		     : "r"(sp)
		     : "memory");
	__builtin_unreachable();
}

static inline long sys_vmsplice(int fd, const void *iov, unsigned long nr_segs, unsigned int flags)
{
	return blob_syscall(__NR_vmsplice, fd, iov, nr_segs, flags, 0, 0);
}

static inline long sys_rt_sigpending(uint64_t *set)
{
	return blob_syscall(__NR_rt_sigpending, set, sizeof(*set), 0, 0, 0, 0);
}

/* With a zero @timeout, takes a pending signal of @set without waiting. */
static inline long sys_rt_sigtimedwait(const uint64_t *set, const void *timeout)
{
	return blob_syscall(__NR_rt_sigtimedwait, set, 0, timeout, sizeof(*set), 0, 0);
}

/* True when a raw return value is an error (-4095..-1), as the kernel defines it. */
static inline int blob_is_err(unsigned long ret)
{
	return ret > (unsigned long)-4096L;
}

#endif
