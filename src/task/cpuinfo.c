/* This CPU's features as --cpu-cap compares them: the CPUID words read
 * (their leaves, registers and feature names), XCR0 and the xsave sizes,
 * criu's modes parsed, and a dump's CPU compared with this one, naming
 * what is missing. The image is cpuinfo_image.c's. */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "task/cpuinfo.h"

enum { REG_EAX, REG_EBX, REG_ECX, REG_EDX };

/* The words cryo saves: those that hold feature flags. */
static const struct {
	uint32_t leaf, subleaf, reg;
} word_list[] = {
	{ 1, 0, REG_EDX }, { 1, 0, REG_ECX }, { 7, 0, REG_EBX }, { 7, 0, REG_ECX },
	{ 7, 0, REG_EDX }, { 7, 1, REG_EAX }, { 0xd, 1, REG_EAX },
	{ 0x80000001, 0, REG_EDX }, { 0x80000001, 0, REG_ECX }, { 0x80000008, 0, REG_EBX },
};

/* Names of feature bits, as /proc/cpuinfo spells them; @ins: an
 * instruction-set feature, what --cpu-cap ins compares. */
struct feature_name {
	uint32_t leaf, subleaf, reg;
	uint8_t bit;
	bool ins;
	const char *name;
};

#define F(l, s, r, b, i, n) { l, s, REG_##r, b, i, n }
static const struct feature_name feature_names[] = {
	F(1, 0, EDX, 0, 1, "fpu"), F(1, 0, EDX, 1, 0, "vme"), F(1, 0, EDX, 2, 0, "de"),
	F(1, 0, EDX, 3, 0, "pse"), F(1, 0, EDX, 4, 1, "tsc"), F(1, 0, EDX, 5, 0, "msr"),
	F(1, 0, EDX, 6, 0, "pae"), F(1, 0, EDX, 7, 0, "mce"), F(1, 0, EDX, 8, 1, "cx8"),
	F(1, 0, EDX, 9, 0, "apic"), F(1, 0, EDX, 11, 1, "sep"), F(1, 0, EDX, 12, 0, "mtrr"),
	F(1, 0, EDX, 13, 0, "pge"), F(1, 0, EDX, 14, 0, "mca"), F(1, 0, EDX, 15, 1, "cmov"),
	F(1, 0, EDX, 16, 0, "pat"), F(1, 0, EDX, 17, 0, "pse36"), F(1, 0, EDX, 19, 1, "clflush"),
	F(1, 0, EDX, 23, 1, "mmx"), F(1, 0, EDX, 24, 1, "fxsr"), F(1, 0, EDX, 25, 1, "sse"),
	F(1, 0, EDX, 26, 1, "sse2"), F(1, 0, EDX, 28, 0, "ht"),
	F(1, 0, ECX, 0, 1, "pni"), F(1, 0, ECX, 1, 1, "pclmulqdq"), F(1, 0, ECX, 3, 1, "monitor"),
	F(1, 0, ECX, 5, 0, "vmx"), F(1, 0, ECX, 9, 1, "ssse3"), F(1, 0, ECX, 12, 1, "fma"),
	F(1, 0, ECX, 13, 1, "cx16"), F(1, 0, ECX, 17, 0, "pcid"), F(1, 0, ECX, 19, 1, "sse4_1"),
	F(1, 0, ECX, 20, 1, "sse4_2"), F(1, 0, ECX, 21, 0, "x2apic"), F(1, 0, ECX, 22, 1, "movbe"),
	F(1, 0, ECX, 23, 1, "popcnt"), F(1, 0, ECX, 25, 1, "aes"), F(1, 0, ECX, 26, 1, "xsave"),
	F(1, 0, ECX, 27, 1, "osxsave"), F(1, 0, ECX, 28, 1, "avx"), F(1, 0, ECX, 29, 1, "f16c"),
	F(1, 0, ECX, 30, 1, "rdrand"), F(1, 0, ECX, 31, 0, "hypervisor"),
	F(7, 0, EBX, 0, 1, "fsgsbase"), F(7, 0, EBX, 2, 0, "sgx"), F(7, 0, EBX, 3, 1, "bmi1"),
	F(7, 0, EBX, 4, 1, "hle"), F(7, 0, EBX, 5, 1, "avx2"), F(7, 0, EBX, 7, 0, "smep"),
	F(7, 0, EBX, 8, 1, "bmi2"), F(7, 0, EBX, 9, 1, "erms"), F(7, 0, EBX, 10, 0, "invpcid"),
	F(7, 0, EBX, 11, 1, "rtm"), F(7, 0, EBX, 14, 1, "mpx"), F(7, 0, EBX, 16, 1, "avx512f"),
	F(7, 0, EBX, 17, 1, "avx512dq"), F(7, 0, EBX, 18, 1, "rdseed"), F(7, 0, EBX, 19, 1, "adx"),
	F(7, 0, EBX, 20, 0, "smap"), F(7, 0, EBX, 21, 1, "avx512ifma"),
	F(7, 0, EBX, 23, 1, "clflushopt"), F(7, 0, EBX, 24, 1, "clwb"),
	F(7, 0, EBX, 25, 0, "intel_pt"), F(7, 0, EBX, 26, 1, "avx512pf"),
	F(7, 0, EBX, 27, 1, "avx512er"), F(7, 0, EBX, 28, 1, "avx512cd"),
	F(7, 0, EBX, 29, 1, "sha_ni"), F(7, 0, EBX, 30, 1, "avx512bw"),
	F(7, 0, EBX, 31, 1, "avx512vl"),
	F(7, 0, ECX, 0, 1, "prefetchwt1"), F(7, 0, ECX, 1, 1, "avx512vbmi"),
	F(7, 0, ECX, 2, 0, "umip"), F(7, 0, ECX, 3, 0, "pku"), F(7, 0, ECX, 4, 0, "ospke"),
	F(7, 0, ECX, 5, 1, "waitpkg"), F(7, 0, ECX, 6, 1, "avx512_vbmi2"),
	F(7, 0, ECX, 7, 0, "user_shstk"), F(7, 0, ECX, 8, 1, "gfni"), F(7, 0, ECX, 9, 1, "vaes"),
	F(7, 0, ECX, 10, 1, "vpclmulqdq"), F(7, 0, ECX, 11, 1, "avx512_vnni"),
	F(7, 0, ECX, 12, 1, "avx512_bitalg"), F(7, 0, ECX, 14, 1, "avx512_vpopcntdq"),
	F(7, 0, ECX, 16, 0, "la57"), F(7, 0, ECX, 22, 1, "rdpid"),
	F(7, 0, ECX, 25, 1, "cldemote"), F(7, 0, ECX, 27, 1, "movdiri"),
	F(7, 0, ECX, 28, 1, "movdir64b"), F(7, 0, ECX, 29, 1, "enqcmd"),
	F(7, 0, EDX, 2, 1, "avx512_4vnniw"), F(7, 0, EDX, 3, 1, "avx512_4fmaps"),
	F(7, 0, EDX, 4, 1, "fsrm"), F(7, 0, EDX, 8, 1, "avx512_vp2intersect"),
	F(7, 0, EDX, 10, 0, "md_clear"), F(7, 0, EDX, 14, 1, "serialize"),
	F(7, 0, EDX, 15, 0, "hybrid_cpu"), F(7, 0, EDX, 16, 1, "tsxldtrk"),
	F(7, 0, EDX, 20, 0, "ibt"), F(7, 0, EDX, 22, 1, "amx_bf16"),
	F(7, 0, EDX, 23, 1, "avx512_fp16"), F(7, 0, EDX, 24, 1, "amx_tile"),
	F(7, 0, EDX, 25, 1, "amx_int8"),
	F(7, 1, EAX, 4, 1, "avx_vnni"), F(7, 1, EAX, 5, 1, "avx512_bf16"),
	F(7, 1, EAX, 10, 1, "fzrm"), F(7, 1, EAX, 11, 1, "fsrs"), F(7, 1, EAX, 12, 1, "fsrc"),
	F(7, 1, EAX, 21, 1, "amx_fp16"), F(7, 1, EAX, 23, 1, "avx_ifma"),
	F(0xd, 1, EAX, 0, 1, "xsaveopt"), F(0xd, 1, EAX, 1, 1, "xsavec"),
	F(0xd, 1, EAX, 2, 1, "xgetbv1"), F(0xd, 1, EAX, 3, 1, "xsaves"),
	F(0x80000001, 0, EDX, 11, 1, "syscall"), F(0x80000001, 0, EDX, 20, 0, "nx"),
	F(0x80000001, 0, EDX, 22, 1, "mmxext"), F(0x80000001, 0, EDX, 26, 0, "pdpe1gb"),
	F(0x80000001, 0, EDX, 27, 1, "rdtscp"), F(0x80000001, 0, EDX, 29, 0, "lm"),
	F(0x80000001, 0, EDX, 30, 1, "3dnowext"), F(0x80000001, 0, EDX, 31, 1, "3dnow"),
	F(0x80000001, 0, ECX, 0, 1, "lahf_lm"), F(0x80000001, 0, ECX, 2, 0, "svm"),
	F(0x80000001, 0, ECX, 5, 1, "abm"), F(0x80000001, 0, ECX, 6, 1, "sse4a"),
	F(0x80000001, 0, ECX, 7, 1, "misalignsse"), F(0x80000001, 0, ECX, 8, 1, "3dnowprefetch"),
	F(0x80000001, 0, ECX, 11, 1, "xop"), F(0x80000001, 0, ECX, 16, 1, "fma4"),
	F(0x80000001, 0, ECX, 21, 1, "tbm"), F(0x80000001, 0, ECX, 29, 1, "mwaitx"),
	F(0x80000008, 0, EBX, 0, 1, "clzero"), F(0x80000008, 0, EBX, 4, 1, "rdpru"),
	F(0x80000008, 0, EBX, 9, 1, "wbnoinvd"),
};
#undef F

/* XCR0's user features, by bit. */
static const char *const xfeature_names[] = {
	[0] = "x87", [1] = "sse", [2] = "avx", [3] = "mpx_bndregs", [4] = "mpx_bndcsr",
	[5] = "avx512_opmask", [6] = "avx512_zmm_hi256", [7] = "avx512_hi16_zmm",
	[9] = "pkru", [17] = "amx_tilecfg", [18] = "amx_tiledata", [19] = "apx",
};

static const char *const reg_names[] = { "eax", "ebx", "ecx", "edx" };

bool cpuid_word_known(uint32_t leaf, uint32_t subleaf, uint32_t reg)
{
	for (size_t i = 0; i < ARRAY_SIZE(word_list); i++)
		if (word_list[i].leaf == leaf && word_list[i].subleaf == subleaf &&
		    word_list[i].reg == reg)
			return true;
	return false;
}

/* Register @reg of CPUID @leaf.@subleaf; 0 past the CPU's last leaf. */
static uint32_t cpuid_reg(uint32_t leaf, uint32_t subleaf, uint32_t reg)
{
	unsigned int r[4] = { 0 };

	if (!__get_cpuid_count(leaf, subleaf, &r[0], &r[1], &r[2], &r[3]))
		return 0;
	return r[reg];
}

void cpuinfo_read(struct cpuinfo *ci)
{
	unsigned int max, vendor[3];

	memset(ci, 0, sizeof(*ci));
	__cpuid(0, max, vendor[0], vendor[2], vendor[1]);
	(void)max;
	memcpy(ci->vendor, vendor, 12);
	for (size_t i = 0; i < ARRAY_SIZE(word_list); i++)
		ci->words[ci->nr_words++] = (struct cpuid_word){
			word_list[i].leaf, word_list[i].subleaf, word_list[i].reg,
			cpuid_reg(word_list[i].leaf, word_list[i].subleaf, word_list[i].reg) };
	/* Without OSXSAVE the kernel saves x87 and SSE with fxsave. */
	ci->xfeatures = 3;
	if (cpuid_reg(1, 0, REG_ECX) & (1u << 27)) {
		uint32_t lo, hi;

		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		ci->xfeatures = (uint64_t)hi << 32 | lo;
		ci->xsave_size = cpuid_reg(0xd, 0, REG_EBX);
		ci->xsave_size_max = cpuid_reg(0xd, 0, REG_ECX);
	}
}

/* Adds @name to the list in @buf (", " between). */
static void list_add(char *buf, size_t size, const char *name)
{
	size_t used = strlen(buf);

	snprintf(buf + used, size - used, "%s%s", used ? ", " : "", name);
}

static uint32_t word_here(const struct cpuinfo *here, const struct cpuid_word *w)
{
	for (size_t i = 0; i < here->nr_words; i++)
		if (here->words[i].leaf == w->leaf && here->words[i].subleaf == w->subleaf &&
		    here->words[i].reg == w->reg)
			return here->words[i].value;
	return cpuid_reg(w->leaf, w->subleaf, w->reg);
}

/* The name of bit @bit of word @w, with whether it is an instruction
 * feature; an unnamed bit is "cpuid LEAF.SUB REG bit N" and not one. */
static const char *bit_name(const struct cpuid_word *w, unsigned int bit, bool *ins, char *buf,
			    size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(feature_names); i++) {
		const struct feature_name *f = &feature_names[i];

		if (f->leaf == w->leaf && f->subleaf == w->subleaf && f->reg == w->reg &&
		    f->bit == bit) {
			*ins = f->ins;
			return f->name;
		}
	}
	*ins = false;
	snprintf(buf, size, "cpuid %#x.%u %s bit %u", w->leaf, w->subleaf, reg_names[w->reg & 3],
		 bit);
	return buf;
}

/* The features of @saved's words that @here lacks (instruction-set ones
 * only with @ins_only), listed in @buf; their number. */
static unsigned int missing_features(const struct cpuinfo *saved, const struct cpuinfo *here,
				     bool ins_only, char *buf, size_t size)
{
	unsigned int nr = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < saved->nr_words; i++) {
		const struct cpuid_word *w = &saved->words[i];
		uint32_t lacking = w->value & ~word_here(here, w);

		for (unsigned int bit = 0; bit < 32; bit++) {
			char unnamed[64];
			const char *name;
			bool ins;

			if (!(lacking & (1u << bit)))
				continue;
			name = bit_name(w, bit, &ins, unnamed, sizeof(unnamed));
			if (ins_only && !ins)
				continue;
			list_add(buf, size, name);
			nr++;
		}
	}
	return nr;
}

/* criu's fpu check: the dump's xsave features are here, and the xsave
 * area has the same size (a libc sizes its own saves by it at start). */
static int compare_fpu(const struct cpuinfo *saved, const struct cpuinfo *here, const char *who)
{
	uint64_t lacking = saved->xfeatures & ~here->xfeatures;
	char list[512] = "", unnamed[32];

	for (unsigned int bit = 0; bit < 64; bit++) {
		if (!(lacking & (1ull << bit)))
			continue;
		if (bit < ARRAY_SIZE(xfeature_names) && xfeature_names[bit])
			list_add(list, sizeof(list), xfeature_names[bit]);
		else
			list_add(list, sizeof(list), (snprintf(unnamed, sizeof(unnamed),
							       "xfeature %u", bit), unnamed));
	}
	if (lacking) {
		pr_err("%s: --cpu-cap fpu: this CPU lacks the xsave features %s that the dump's "
		       "CPU had (XCR0 %#llx here, %#llx there)", who, list,
		       (unsigned long long)here->xfeatures, (unsigned long long)saved->xfeatures);
		return -EOPNOTSUPP;
	}
	if (saved->xsave_size != here->xsave_size ||
	    saved->xsave_size_max != here->xsave_size_max) {
		pr_err("%s: --cpu-cap fpu: the dump's CPU has an xsave area of %u bytes (%u with "
		       "every feature), this one of %u (%u): its programs sized their saves for "
		       "the other", who, saved->xsave_size, saved->xsave_size_max,
		       here->xsave_size, here->xsave_size_max);
		return -EOPNOTSUPP;
	}
	return 0;
}

int cpuinfo_compare(const struct cpuinfo *saved, const struct cpuinfo *here, unsigned int caps,
		    const char *who)
{
	char list[2048];
	unsigned int nr;

	if ((caps & CPU_CAP_FPU) && compare_fpu(saved, here, who))
		return -EOPNOTSUPP;
	if (caps & (CPU_CAP_CPU | CPU_CAP_INS)) {
		bool ins_only = !(caps & CPU_CAP_CPU);

		nr = missing_features(saved, here, ins_only, list, sizeof(list));
		if (nr) {
			pr_err("%s: --cpu-cap %s: this CPU lacks %s that the dump's CPU (%s) had",
			       who, ins_only ? "ins" : "cpu", list, saved->vendor);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned int caps;
} cap_words[] = {
	{ "fpu", CPU_CAP_FPU }, { "cpu", CPU_CAP_CPU }, { "ins", CPU_CAP_INS },
	{ "all", CPU_CAP_ALL }, { "none", CPU_CAP_NONE },
};

int cpu_cap_parse(const char *text, unsigned int *caps)
{
	const char *at = text;

	if (!text) {
		*caps = CPU_CAP_ALL;
		return 0;
	}
	*caps = CPU_CAP_NONE;
	/* Once at least: an empty value is no mode. */
	do {
		bool inverse = false;
		size_t i, len;

		/* As criu: "^cpu" takes a mode away. */
		for (; *at == '^'; at++)
			inverse = !inverse;
		len = strcspn(at, ",");
		for (i = 0; i < ARRAY_SIZE(cap_words); i++)
			if (strlen(cap_words[i].name) == len &&
			    !strncmp(at, cap_words[i].name, len))
				break;
		if (i == ARRAY_SIZE(cap_words)) {
			pr_err("--cpu-cap %s: '%.*s' is not a mode (fpu, cpu, ins, all, none)",
			       text, (int)len, at);
			return -EINVAL;
		}
		if (cap_words[i].caps == CPU_CAP_NONE)
			*caps = inverse ? CPU_CAP_ALL : CPU_CAP_NONE;
		else if (inverse)
			*caps &= ~cap_words[i].caps;
		else
			*caps |= cap_words[i].caps;
		at += len;
		at += *at == ',';
	} while (*at);
	return 0;
}

const char *cpu_cap_text(unsigned int caps, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 3; i++)
		if ((caps & cap_words[i].caps) && used < size)
			used += snprintf(buf + used, size - used, "%s%s", used ? "," : "",
					 cap_words[i].name);
	if (!buf[0])
		snprintf(buf, size, "none");
	return buf;
}
