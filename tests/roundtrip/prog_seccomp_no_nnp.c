/* A program whose seccomp filter was installed with CAP_SYS_ADMIN and no
 * no_new_privs, and which then dropped CAP_SYS_ADMIN from its effective,
 * permitted and bounding sets, as a container runtime does (podman's
 * default profile): the kernel would not let it install the filter again,
 * so the restore must. On SIGTERM it checks that its filter still acts
 * (mincore fails with errno 101), that CAP_SYS_ADMIN is still gone from
 * every set, and that no_new_privs is still off. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
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

static int caps(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return (int)syscall(SYS_capget, &header, data);
}

static int drop_sys_admin(void)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (caps(data) || prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN_BIT, 0, 0, 0))
		return -1;
	data[0].effective &= ~(1u << CAP_SYS_ADMIN_BIT);
	data[0].permitted &= ~(1u << CAP_SYS_ADMIN_BIT);
	return (int)syscall(SYS_capset, &header, data);
}

int main(int argc, char **argv)
{
	struct __user_cap_data_struct before[2], after[2];
	struct timespec tick = { 0, 1000000 };
	sigset_t term;
	long ret;

	prog_init(argc, argv);
	if (install() || drop_sys_admin() || caps(before))
		return 1;
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* Wakes every 1 ms, so the test sees it keep running. */
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	ret = syscall(SYS_mincore, NULL, 0, NULL);
	PROG_CHECK(ret == -1 && errno == FILTER_ERRNO, "mincore gave %ld (errno %d)", ret, errno);
	PROG_CHECK(!caps(after), "capget: %m");
	for (int i = 0; i < 2; i++)
		PROG_CHECK(after[i].effective == before[i].effective &&
				   after[i].permitted == before[i].permitted &&
				   after[i].inheritable == before[i].inheritable,
			   "capabilities word %d: effective %#x permitted %#x, were %#x %#x", i,
			   after[i].effective, after[i].permitted, before[i].effective,
			   before[i].permitted);
	PROG_CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN_BIT, 0, 0, 0) == 0,
		   "CAP_SYS_ADMIN is back in the bounding set");
	PROG_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "no_new_privs is on");
	prog_finish();
}
