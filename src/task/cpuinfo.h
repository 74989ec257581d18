/* criu's --cpu-cap: the CPU a tree was dumped on (cpuinfo.img: CPUID
 * feature words, xsave features and sizes), saved at dump and compared at
 * restore by mode (cpuinfo.c); the image kind and its check are
 * cpuinfo_image.c's. Registers and xstate themselves are dump/regs.c's. */
#ifndef CRYO_TASK_CPUINFO_H
#define CRYO_TASK_CPUINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/image.h"

/* The modes, criu's bits (its RPC's cpu_cap takes them as they are). */
#define CPU_CAP_FPU 1u	/* xsave features and sizes */
#define CPU_CAP_CPU 2u	/* every CPUID feature */
#define CPU_CAP_INS 4u	/* instruction-set features */
#define CPU_CAP_ALL (CPU_CAP_FPU | CPU_CAP_CPU | CPU_CAP_INS)
#define CPU_CAP_NONE 0u

/* The most words an image may hold. */
#define CPUINFO_WORDS_MAX 16

struct cpuid_word {
	uint32_t leaf, subleaf, reg, value;
};

/* One CPU, as read here or from an image. */
struct cpuinfo {
	char vendor[13];
	struct cpuid_word words[CPUINFO_WORDS_MAX];
	size_t nr_words;
	uint64_t xfeatures;
	uint32_t xsave_size, xsave_size_max;
};

/* Parses criu's --cpu-cap value ("fpu,ins", "all", "none", "^cpu", ...;
 * NULL: all) into *@caps; -EINVAL (said) for an unknown word. */
int cpu_cap_parse(const char *text, unsigned int *caps);
/* "fpu,cpu", "none": @caps for messages, in @buf. */
const char *cpu_cap_text(unsigned int caps, char *buf, size_t size);

/* This CPU. */
void cpuinfo_read(struct cpuinfo *ci);
/* Whether a saved word is one cryo reads (a leaf, subleaf and register of
 * its list). */
bool cpuid_word_known(uint32_t leaf, uint32_t subleaf, uint32_t reg);
/* Compares @saved (the dump's) with @here by @caps; -EOPNOTSUPP, said
 * (as @who: "restore"), naming what this CPU lacks. */
int cpuinfo_compare(const struct cpuinfo *saved, const struct cpuinfo *here, unsigned int caps,
		    const char *who);

/* cpuinfo_image.c: writes this CPU as cpuinfo.img of @dir. */
int cpuinfo_dump(struct image_dir *dir);
/* Reads and checks cpuinfo.img of @dir into @ci; -ENOENT (not said) when
 * the dump saved none. */
int cpuinfo_load(const struct image_dir *dir, struct cpuinfo *ci);
/* Restore's check: with @given (--cpu-cap was passed) a missing image is
 * refused; without it the default (fpu) applies to an image that exists. */
int cpuinfo_check_dir(const struct image_dir *dir, unsigned int caps, bool given,
		      const char *who);

extern const struct image_kind_set cpuinfo_image_kinds;

#endif
