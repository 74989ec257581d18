/* Unit tests of the pure parts of src/kabi: the ABI layouts kabi.h declares
 * (checked against the documented uapi values), the vDSO maps parser on
 * sample texts of old and new kernels, and the check verdict rules. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "harness.h"
#include "kabi/features.h"
#include "kabi/kabi.h"

TEST(pagemap_scan_abi_matches_uapi)
{
	CHECK(sizeof(struct pm_scan_arg) == 96, "%zu", sizeof(struct pm_scan_arg));
	CHECK(sizeof(struct page_region) == 24, "%zu", sizeof(struct page_region));
	CHECK(offsetof(struct pm_scan_arg, walk_end) == 32, "");
	CHECK(offsetof(struct pm_scan_arg, vec) == 40, "");
	CHECK(offsetof(struct pm_scan_arg, max_pages) == 56, "");
	CHECK(offsetof(struct pm_scan_arg, return_mask) == 88, "");
	CHECK(offsetof(struct page_region, categories) == 16, "");
	/* _IOWR('f', 16, 96 bytes) */
	CHECK(PAGEMAP_SCAN == 0xc0606610UL, "%#lx", (unsigned long)PAGEMAP_SCAN);
	CHECK(PAGE_IS_WPALLOWED == 0x1 && PAGE_IS_WRITTEN == 0x2 && PAGE_IS_FILE == 0x4 &&
		      PAGE_IS_PRESENT == 0x8 && PAGE_IS_SWAPPED == 0x10 && PAGE_IS_PFNZERO == 0x20 &&
		      PAGE_IS_HUGE == 0x40 && PAGE_IS_SOFT_DIRTY == 0x80 && PAGE_IS_GUARD == 0x100,
	      "PAGE_IS_* bits");
	CHECK(PM_SCAN_WP_MATCHING == 1 && PM_SCAN_CHECK_WPASYNC == 2, "PM_SCAN_* flags");
}

TEST(pagemap_entry_bits_match_documentation)
{
	CHECK(PME_SOFT_DIRTY == 1ULL << 55 && PME_EXCLUSIVE == 1ULL << 56 &&
		      PME_UFFD_WP == 1ULL << 57 && PME_GUARD_REGION == 1ULL << 58 &&
		      PME_FILE_OR_SHARED == 1ULL << 61 && PME_SWAP == 1ULL << 62 &&
		      PME_PRESENT == 1ULL << 63,
	      "pagemap entry bits");
}

TEST(uffd_features_match_uapi)
{
	CHECK(UFFD_FEATURE_WP_HUGETLBFS_SHMEM == 1 << 12, "6.0 neighbour moved?");
	CHECK(UFFD_FEATURE_WP_UNPOPULATED == 1 << 13, "%#x", UFFD_FEATURE_WP_UNPOPULATED);
	CHECK(UFFD_FEATURE_POISON == 1 << 14, "%#x", UFFD_FEATURE_POISON);
	CHECK(UFFD_FEATURE_WP_ASYNC == 1 << 15, "%#x", UFFD_FEATURE_WP_ASYNC);
	CHECK(UFFD_FEATURE_MOVE == 1 << 16, "%#x", UFFD_FEATURE_MOVE);
}

TEST(other_abi_values_match_uapi)
{
	CHECK(PTRACE_GET_RSEQ_CONFIGURATION == 0x420f, "%#x", PTRACE_GET_RSEQ_CONFIGURATION);
	CHECK(sizeof(struct __ptrace_rseq_configuration) == 24, "%zu",
	      sizeof(struct __ptrace_rseq_configuration));
	CHECK(ARCH_MAP_VDSO_64 == 0x2003, "%#x", ARCH_MAP_VDSO_64);
	CHECK(sizeof(struct clone_args) == CLONE_ARGS_SIZE_VER2 && CLONE_ARGS_SIZE_VER2 == 88,
	      "%zu", sizeof(struct clone_args));
	CHECK(offsetof(struct clone_args, set_tid) == 64 &&
		      offsetof(struct clone_args, set_tid_size) == 72,
	      "set_tid fields");
	CHECK(CLONE_NEWTIME == 0x80 && CLONE_PIDFD == 0x1000, "clone flags");
	CHECK(CAP_CHECKPOINT_RESTORE == 40, "%d", CAP_CHECKPOINT_RESTORE);
	/* uapi linux/pidfd.h (6.9): PIDFD_THREAD is O_EXCL, 0200 on x86. */
	CHECK(PIDFD_THREAD == 0200, "%#o", (unsigned int)PIDFD_THREAD);
	CHECK(KABI_PID_MAX_LIMIT == 4194304, "%d", KABI_PID_MAX_LIMIT);
	CHECK(PR_TIMER_CREATE_RESTORE_IDS == 77 && PR_TIMER_CREATE_RESTORE_IDS_OFF == 0 &&
		      PR_TIMER_CREATE_RESTORE_IDS_ON == 1,
	      "PR_TIMER_CREATE_RESTORE_IDS values");
	CHECK(SS_AUTODISARM == 1U << 31, "%#x", SS_AUTODISARM);
}

/* As /proc/self/maps shows them on x86 kernels before 6.13. */
static const char maps_old_kernel[] =
	"5581f2a00000-5581f2a02000 r--p 00000000 fe:01 1312049                    /usr/bin/cat\n"
	"5581f2a02000-5581f2a07000 r-xp 00002000 fe:01 1312049                    /usr/bin/cat\n"
	"5581f3c1e000-5581f3c3f000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f3a6e1d2000-7f3a6e1f8000 r--p 00000000 fe:01 1311355                    /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffc1a5d2000-7ffc1a5f3000 rw-p 00000000 00:00 0                          [stack]\n"
	"7ffc1a5f3000-7ffc1a5f7000 r--p 00000000 00:00 0                          [vvar]\n"
	"7ffc1a5f7000-7ffc1a5f9000 r-xp 00000000 00:00 0                          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

/* As this machine's 6.18 kernel shows them. */
static const char maps_new_kernel[] =
	"55d0c8a00000-55d0c8a02000 r--p 00000000 fe:01 1312049                    /usr/bin/cat\n"
	"7f40b02b0000-7f40b02bd000 rw-p 00000000 00:00 0 \n"
	"7f40b02bd000-7f40b02c1000 r--p 00000000 00:00 0                          [vvar]\n"
	"7f40b02c1000-7f40b02c3000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
	"7f40b02c3000-7f40b02c5000 r-xp 00000000 00:00 0                          [vdso]\n"
	"7f40b02c5000-7f40b02c7000 r--p 00000000 fe:01 1311352                    /tmp/a file with [vdso] in it (deleted)\n"
	"7ffd3b0e4000-7ffd3b105000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

TEST(vdso_parser_reads_old_kernel_layout)
{
	struct vdso_layout l;
	int ret = vdso_layout_parse(maps_old_kernel, &l);

	CHECK(ret == 0, "%d", ret);
	CHECK(l.vvar.present && l.vvar.start == 0x7ffc1a5f3000 && l.vvar.end == 0x7ffc1a5f7000,
	      "vvar %#llx-%#llx", (unsigned long long)l.vvar.start, (unsigned long long)l.vvar.end);
	CHECK(!l.vvar_vclock.present, "no vvar_vclock before 6.13");
	CHECK(l.vdso.present && l.vdso.start == 0x7ffc1a5f7000 && l.vdso.end == 0x7ffc1a5f9000,
	      "vdso %#llx-%#llx", (unsigned long long)l.vdso.start, (unsigned long long)l.vdso.end);
	CHECK(vdso_layout_contiguous(&l), "vvar and vdso are adjacent");
}

TEST(vdso_parser_reads_vvar_vclock_layout)
{
	struct vdso_layout l;
	int ret = vdso_layout_parse(maps_new_kernel, &l);

	CHECK(ret == 0, "%d", ret);
	CHECK(l.vvar.present && l.vvar.end - l.vvar.start == 0x4000, "vvar");
	CHECK(l.vvar_vclock.present && l.vvar_vclock.start == 0x7f40b02c1000 &&
		      l.vvar_vclock.end == 0x7f40b02c3000,
	      "vvar_vclock");
	/* The file named "...[vdso]..." must not count as a second vDSO. */
	CHECK(l.vdso.present && l.vdso.start == 0x7f40b02c3000 && l.vdso.end == 0x7f40b02c5000,
	      "vdso");
	CHECK(vdso_layout_contiguous(&l), "three adjacent areas");
}

TEST(vdso_parser_reports_missing_vdso)
{
	static const char no_vdso[] =
		"5581f2a00000-5581f2a02000 r--p 00000000 fe:01 1312049  /usr/bin/cat\n"
		"7ffc1a5f3000-7ffc1a5f7000 r--p 00000000 00:00 0        [vvar]\n";
	struct vdso_layout l = { .vdso = { .present = true, .start = 1, .end = 2 } };

	CHECK(vdso_layout_parse(no_vdso, &l) == -ENOENT, "no [vdso] is -ENOENT");
	CHECK(l.vdso.start == 1, "layout untouched on failure");
	CHECK(vdso_layout_parse("", &l) == -ENOENT, "empty text");
}

TEST(vdso_parser_rejects_garbage)
{
	static const char *const bad[] = {
		"hello world\n",
		"7ffc1a5f7000 r-xp 00000000 00:00 0 [vdso]\n",
		"7ffc1a5f7000-7ffc1a5f9000 r-xq 00000000 00:00 0 [vdso]\n",
		"7ffc1a5f7000-7ffc1a5f9000 r-xp 00000000 0000 0 [vdso]\n",
		"7ffc1a5f7000-7ffc1a5f9000 r-xp 00000000 00:00 x [vdso]\n",
		"7ffc1a5f9000-7ffc1a5f7000 r-xp 00000000 00:00 0 [vdso]\n",
		"7ffc1a5f7000-7ffc1a5f9000 r-",
		"7ffc1a5f7000-",
		"\n7ffc1a5f7000-7ffc1a5f9000 r-xp 00000000 00:00 0 [vdso]\n",
		"7ffc1a5f7000-7ffc1a5f9000 r-xp 00000000 00:00 0 [vdso]\n"
		"7ffc1a600000-7ffc1a602000 r-xp 00000000 00:00 0 [vdso]\n",
	};
	struct vdso_layout l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = vdso_layout_parse(bad[i], &l);

		CHECK(ret == -EINVAL, "sample %zu gave %d", i, ret);
	}
}

TEST(vdso_layout_with_gap_is_not_contiguous)
{
	static const char gap[] =
		"7f40b02bd000-7f40b02c1000 r--p 00000000 00:00 0 [vvar]\n"
		"7f40b02c1000-7f40b02c3000 r--p 00000000 00:00 0 [vvar_vclock]\n"
		"7f40b02c4000-7f40b02c6000 r-xp 00000000 00:00 0 [vdso]\n";
	static const char reversed[] =
		"7f40b02b9000-7f40b02bb000 r-xp 00000000 00:00 0 [vdso]\n"
		"7f40b02bb000-7f40b02bf000 r--p 00000000 00:00 0 [vvar]\n";
	struct vdso_layout l;

	CHECK(vdso_layout_parse(gap, &l) == 0, "parses");
	CHECK(!vdso_layout_contiguous(&l), "a page between vvar_vclock and vdso");
	CHECK(vdso_layout_parse(reversed, &l) == 0, "parses");
	CHECK(!vdso_layout_contiguous(&l), "vdso before vvar is not the known order");
}

static int fake_probe(struct feature_result *res)
{
	(void)res;
	return 0;
}

static const struct feature fake_table[] = {
	{ .name = "seize", .probe = fake_probe, .needed_for = FEATURE_FOR_DUMP },
	{ .name = "set_tid", .probe = fake_probe, .needed_for = FEATURE_FOR_RESTORE, .group = "pid" },
	{ .name = "optional", .probe = fake_probe },
	{ .name = "last_pid", .probe = fake_probe, .needed_for = FEATURE_FOR_RESTORE, .group = "pid" },
	{ .name = "note", .probe = fake_probe, .info_only = true },
};

TEST(verdict_needs_one_of_a_group)
{
	struct feature_result r[5] = { { .ok = true }, { .ok = false }, { .ok = false },
				       { .ok = true }, { .ok = false } };
	char why[128];

	CHECK(features_unmet(fake_table, 5, r, why, sizeof(why)) == 0,
	      "one pid way, optional and info missing: still works");
	CHECK(why[0] == '\0', "nothing unmet, got '%s'", why);
	r[3].ok = false;
	CHECK(features_unmet(fake_table, 5, r, why, sizeof(why)) == FEATURE_FOR_RESTORE,
	      "no pid way: restore cannot work");
	CHECK(!strcmp(why, "set_tid or last_pid (restore)"), "'%s'", why);
	r[0].ok = false;
	CHECK(features_unmet(fake_table, 5, r, why, sizeof(why)) ==
		      (FEATURE_FOR_DUMP | FEATURE_FOR_RESTORE),
	      "both");
	CHECK(!strcmp(why, "seize (dump), set_tid or last_pid (restore)"), "'%s'", why);
	CHECK(features_unmet(fake_table, 5, r, NULL, 0) == (FEATURE_FOR_DUMP | FEATURE_FOR_RESTORE),
	      "why is optional");
}

static const struct feature *find_feature(const char *name)
{
	for (size_t i = 0; i < feature_count; i++)
		if (!strcmp(feature_table[i].name, name))
			return &feature_table[i];
	return NULL;
}

TEST(check_requires_the_documented_set)
{
	static const char *const required[] = {
		"ptrace seize", "process_vm_readv", "clone3 set_tid", "ns_last_pid",
		"vDSO layout", "CAP_CHECKPOINT_RESTORE", "CAP_SYS_ADMIN",
	};
	size_t needed = 0;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const struct feature *f = find_feature(required[i]);

		CHECK(f && f->needed_for, "%s must be required", required[i]);
	}
	for (size_t i = 0; i < feature_count; i++)
		needed += feature_table[i].needed_for != 0;
	CHECK(needed == sizeof(required) / sizeof(required[0]), "%zu required features", needed);
	CHECK(find_feature("clone3 set_tid")->group &&
		      !strcmp(find_feature("clone3 set_tid")->group,
			      find_feature("ns_last_pid")->group),
	      "either way of choosing PIDs will do");
	CHECK(find_feature("soft-dirty")->info_only && find_feature("CAP_SYS_RESOURCE")->info_only,
	      "soft-dirty and CAP_SYS_RESOURCE are only information");
}
