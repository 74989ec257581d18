/* Negative tests (test_negative.c says what they check): socket filters
 * dump cannot save, refused by name while the program runs on. Other
 * socket refusals are test_neg_fds.c's. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include "cryo_driver.h"
#include "harness.h"

/* The eBPF socket sits here in the dumped program. */
#define ODD_FD 5

/* A UDP socket (arg 0) or a unix datagram socket (arg 1) with an eBPF
 * program attached (SO_ATTACH_BPF) that takes every packet. */
static void open_socket_with_ebpf_filter(void *arg)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd = arg ? socket(AF_UNIX, SOCK_DGRAM, 0) : socket(AF_INET, SOCK_DGRAM, 0);
	int bpf_fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	bpf_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0 || bpf_fd < 0 || bpf_fd == ODD_FD ||
	    setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &bpf_fd, sizeof(bpf_fd)) ||
	    dup2(fd, ODD_FD) < 0)
		_exit(126);
	close(bpf_fd);
	if (fd != ODD_FD)
		close(fd);
}

static void check_ebpf_refused(void *arg)
{
	struct prog p = { 0 };
	char expect[64];

	CHECK_GOTO(start_prog(&p, "prog_counter", open_socket_with_ebpf_filter, arg), out, "%s",
		   why);
	snprintf(expect, sizeof(expect), "pid %d fd %d (socket:[", p.pid, ODD_FD);
	CHECK_GOTO(dump_refused_unharmed(&p, expect,
					 "): socket with an eBPF filter (SO_ATTACH_BPF): not supported"),
		   out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(dump_refuses_an_inet_socket_with_an_ebpf_filter_and_the_program_runs_on)
{
	check_ebpf_refused(NULL);
}

TEST(dump_refuses_a_unix_socket_with_an_ebpf_filter_and_the_program_runs_on)
{
	check_ebpf_refused((void *)1);
}
