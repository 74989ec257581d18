/* CPU state across a checkpoint: general registers, all 32 AVX-512
 * registers and the opmask registers (or the 16 AVX registers on a CPU
 * without AVX-512), MXCSR and the x87 control word hold known values while
 * the program waits in a raw system call; after restore they must be
 * exactly what they were. */
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include "prog.h"

#define VEC_BYTES (32 * 64)
#define STATE_BYTES (VEC_BYTES + 8 * 8 + 5 * 8)

static uint8_t in[STATE_BYTES] __attribute__((aligned(64)));
static uint8_t out[STATE_BYTES] __attribute__((aligned(64)));
static sigset_t term;

/* Waits for SIGTERM with raw rt_sigtimedwait; EINTR (a stop) just loops. */
#define WAIT_LOOP                                 \
	"1:\n\t"                                  \
	"mov $" SYSNR ", %%eax\n\t"               \
	"mov %[set], %%rdi\n\t"                   \
	"xor %%esi, %%esi\n\t"                    \
	"xor %%edx, %%edx\n\t"                    \
	"mov $8, %%r10d\n\t"                      \
	"syscall\n\t"                             \
	"cmp $15, %%eax\n\t"                      \
	"jne 1b\n\t"
#define SYSNR "128"

#define LOAD_GP                          \
	"mov 2112(%[in]), %%rbx\n\t"     \
	"mov 2120(%[in]), %%r12\n\t"     \
	"mov 2128(%[in]), %%r13\n\t"     \
	"mov 2136(%[in]), %%r14\n\t"     \
	"mov 2144(%[in]), %%r15\n\t"
#define STORE_GP                         \
	"mov %%rbx, 2112(%[out])\n\t"    \
	"mov %%r12, 2120(%[out])\n\t"    \
	"mov %%r13, 2128(%[out])\n\t"    \
	"mov %%r14, 2136(%[out])\n\t"    \
	"mov %%r15, 2144(%[out])\n\t"

#define Z(n) "vmovdqu64 " #n "*64(%[in]), %%zmm" #n "\n\t"
#define ZS(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%[out])\n\t"
#define K(n) "kmovq 2048+" #n "*8(%[in]), %%k" #n "\n\t"
#define KS(n) "kmovq %%k" #n ", 2048+" #n "*8(%[out])\n\t"

__attribute__((target("avx512f,avx512bw"))) static void hold_avx512(void)
{
	asm volatile(Z(0) Z(1) Z(2) Z(3) Z(4) Z(5) Z(6) Z(7) Z(8) Z(9) Z(10) Z(11) Z(12) Z(13)
		     Z(14) Z(15) Z(16) Z(17) Z(18) Z(19) Z(20) Z(21) Z(22) Z(23) Z(24) Z(25)
		     Z(26) Z(27) Z(28) Z(29) Z(30) Z(31) K(1) K(2) K(3) K(4) K(5) K(6) K(7)
		     LOAD_GP WAIT_LOOP
		     ZS(0) ZS(1) ZS(2) ZS(3) ZS(4) ZS(5) ZS(6) ZS(7) ZS(8) ZS(9) ZS(10) ZS(11)
		     ZS(12) ZS(13) ZS(14) ZS(15) ZS(16) ZS(17) ZS(18) ZS(19) ZS(20) ZS(21) ZS(22)
		     ZS(23) ZS(24) ZS(25) ZS(26) ZS(27) ZS(28) ZS(29) ZS(30) ZS(31) KS(1) KS(2)
		     KS(3) KS(4) KS(5) KS(6) KS(7) STORE_GP
		     :
		     : [in] "r"(in), [out] "r"(out), [set] "r"(&term)
		     : "rax", "rcx", "rdx", "rsi", "rdi", "r10", "r11", "rbx", "r12", "r13", "r14",
		       "r15", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		       "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		       "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
		       "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1",
		       "k2", "k3", "k4", "k5", "k6", "k7");
}

#define Y(n) "vmovdqu " #n "*64(%[in]), %%ymm" #n "\n\t"
#define YS(n) "vmovdqu %%ymm" #n ", " #n "*64(%[out])\n\t"

__attribute__((target("avx"))) static void hold_avx(void)
{
	asm volatile(Y(0) Y(1) Y(2) Y(3) Y(4) Y(5) Y(6) Y(7) Y(8) Y(9) Y(10) Y(11) Y(12) Y(13)
		     Y(14) Y(15) LOAD_GP WAIT_LOOP
		     YS(0) YS(1) YS(2) YS(3) YS(4) YS(5) YS(6) YS(7) YS(8) YS(9) YS(10) YS(11)
		     YS(12) YS(13) YS(14) YS(15) STORE_GP
		     :
		     : [in] "r"(in), [out] "r"(out), [set] "r"(&term)
		     : "rax", "rcx", "rdx", "rsi", "rdi", "r10", "r11", "rbx", "r12", "r13", "r14",
		       "r15", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		       "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
		       "xmm15");
}

int main(int argc, char **argv)
{
	bool avx512 = __builtin_cpu_supports("avx512bw");
	uint32_t mxcsr_in = 0x7f80 | 0x6000, mxcsr_out = 0; /* round toward zero */
	uint16_t fcw_in = 0x0c7f, fcw_out = 0;	 /* x87: round toward zero */
	size_t vec_len = avx512 ? VEC_BYTES : 16 * 64;

	prog_init(argc, argv);
	for (size_t i = 0; i < STATE_BYTES; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	asm volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(mxcsr_in), "m"(fcw_in));
	prog_ready();
	if (avx512)
		hold_avx512();
	else
		hold_avx();
	asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr_out), "=m"(fcw_out));

	for (size_t i = 0; i < vec_len; i += avx512 ? 64 : 64) {
		size_t len = avx512 ? 64 : 32;

		if (memcmp(in + i, out + i, len)) {
			prog_fail("%s%zu differs after restore", avx512 ? "zmm" : "ymm", i / 64);
			break;
		}
	}
	if (avx512)
		PROG_CHECK(!memcmp(in + 2048 + 8, out + 2048 + 8, 7 * 8), "opmask registers differ");
	PROG_CHECK(!memcmp(in + 2112, out + 2112, 5 * 8), "rbx/r12-r15 differ");
	PROG_CHECK(mxcsr_out == mxcsr_in, "MXCSR %#x, was %#x", mxcsr_out, mxcsr_in);
	PROG_CHECK(fcw_out == fcw_in, "x87 control word %#x, was %#x", fcw_out, fcw_in);
	prog_finish();
}
