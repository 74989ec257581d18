/* The table of test programs: every prog_* and neg_* binary the runners
 * start, with its arguments, the cycles test_roundtrip puts it through and
 * what it needs from cryo at dump and restore. Not how cryo is run
 * (cryo_driver.c) nor what each cycle does (test_roundtrip.c). */
#ifndef CRYO_TESTS_PROGRAMS_H
#define CRYO_TESTS_PROGRAMS_H

#include <stddef.h>

/* The cycles of TESTING.md, in the order the runner goes through them. */
enum cycle {
	CYCLE_ONCE = 1 << 0,
	CYCLE_TWICE = 1 << 1,
	CYCLE_THRICE = 1 << 2,
	CYCLE_LEAVE_RUNNING = 1 << 3,
	CYCLE_LAZY = 1 << 4,
};
#define NR_CYCLES 5
#define CYCLES_ALL ((1u << NR_CYCLES) - 1)
/* "once", "twice", ...: bit i of a cycle mask is cycle_names[i]. */
extern const char *const cycle_names[NR_CYCLES];

/* What the round-trip runner checks beyond the program's own verdict. */
enum expect {
	/* Restored as on a kernel with another vDSO: it must have moved. */
	EXPECT_VDSO_MOVED = 1 << 0,
	/* Its pages are served slowly: after a lazy restore, a dump of it
	 * must be refused, naming the userfaultfd, and leave it running. */
	EXPECT_DUMP_REFUSED_WHILE_LAZY = 1 << 1,
	/* Its page server is made to fail: the program and what it forked
	 * must die by SIGKILL, none writing a verdict. */
	EXPECT_KILLED_WHEN_SERVING_FAILS = 1 << 2,
	/* Its dump with -R must have copied its pages while it ran (every
	 * program's is asked to, with --pre-copy): dump.log says so. */
	EXPECT_PRE_COPIED = 1 << 3,
	/* ... and pages of that first pass moved in its pages file. */
	EXPECT_PRE_COPY_MOVED = 1 << 4,
	/* Its dumps without -R must have vmspliced its memory (the parasite's
	 * path) and copied, not spliced, its rseq page, which the kernel
	 * rewrites when the parasite's thread migrates: dump.log says both. */
	EXPECT_SPLICED_BUT_RSEQ = 1 << 5,
	/* Its dumps without -R must have written two pages files (a large
	 * task's, mem/pagesplice.c): pages2-PID.img is there, not empty. A
	 * dump with -R never splices (dump.c): one file. */
	EXPECT_TWO_PAGES_FILES = 1 << 6,
	/* With EXPECT_SPLICED_BUT_RSEQ, of a program of many threads: one
	 * page copied, the parasite's thread's rseq page; the other threads
	 * stay stopped, and their rseq pages are spliced with the rest. */
	EXPECT_ONE_PAGE_COPIED = 1 << 7,
};

/* What cryo needs, at one stage, for one program. */
struct cryo_settings {
	const char *const *options;	/* added after the runner's arguments */
	const char *const *env;		/* NAME=VALUE added to cryo's environment */
};

struct test_program {
	const char *name;
	const char *const *args;	/* after --pidfile FILE --outfile FILE */
	unsigned int cycles;		/* enum cycle; 0: only test_negative starts it */
	struct cryo_settings dump, restore;
	/* The CLONE_NEW* namespaces it starts in (unshare() before exec). */
	unsigned long namespaces;
	unsigned int expect;		/* enum expect */
	/* A binary the runner starts beside it, outside the dump, with
	 * --dir and the program's directory: its other end of a connection.
	 * After the program's verdict it gets SIGTERM and writes its own to
	 * peer.out there. */
	const char *peer;
	/* The binary it runs when not its own name: another entry's, run
	 * with other settings (a variant). */
	const char *binary;
	/* A program cryo runs for it (found in PATH or /usr/sbin): without
	 * it the test is skipped, saying so. */
	const char *needs;
	/* 2 MiB huge pages it needs in the pool (vm.nr_hugepages): the
	 * runner raises the pool around it and puts the old size back. */
	long huge_pages;
};

extern const struct test_program test_programs[];
extern const size_t nr_test_programs;

/* The entry of @name, or NULL: a program without one is not run, and the
 * runner that looks for it fails, naming this table. */
const struct test_program *test_program(const char *name);

#endif
