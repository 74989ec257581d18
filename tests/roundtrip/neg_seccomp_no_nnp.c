/* A program whose seccomp filter was installed with CAP_SYS_ADMIN and no
 * no_new_privs, and which then dropped CAP_SYS_ADMIN from its effective
 * set: the kernel would not let it install the filter again, so its dump
 * must be refused by name and leave it whole. On SIGTERM it checks that
 * its filter still acts (mincore fails with errno 101). */
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define FILTER_ERRNO 101
#define CAP_SYS_ADMIN_BIT 21

static int install(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mincore, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | FILTER_ERRNO),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static int drop_sys_admin(void)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &header, data))
		return -1;
	data[0].effective &= ~(1u << CAP_SYS_ADMIN_BIT);
	return (int)syscall(SYS_capset, &header, data);
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 1000000 };
	sigset_t term;
	long ret;

	prog_init(argc, argv);
	if (install() || drop_sys_admin())
		return 1;
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* Wakes every 1 ms, so the test sees it keep running. */
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	ret = syscall(SYS_mincore, NULL, 0, NULL);
	PROG_CHECK(ret == -1 && errno == FILTER_ERRNO, "mincore gave %ld (errno %d)", ret, errno);
	prog_finish();
}
