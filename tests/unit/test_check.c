/* Tests of the feature probes on this machine's kernel (6.18, root with
 * CAP_CHECKPOINT_RESTORE, no soft-dirty, no CAP_SYS_RESOURCE): each probe
 * must report what the kernel is known to have, leave nothing behind, and
 * `cryo check` must print one line per feature and a verdict. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/cleanup.h"
#include "harness.h"
#include "kabi/features.h"

#define CHECK_PROBE_OK(probe)                                                    \
	do {                                                                     \
		struct feature_result r;                                         \
		int ret;                                                         \
									         \
		memset(&r, 0, sizeof(r));                                        \
		ret = probe(&r);                                                 \
		CHECK(ret == 0 && r.ok && r.err == 0, "%d: %s", ret, r.detail);  \
		CHECK(r.detail[0], "an ok result still explains itself");       \
	} while (0)

TEST(ptrace_seize_works)
{
	CHECK_PROBE_OK(probe_ptrace_seize);
}

TEST(ptrace_rseq_config_works)
{
	CHECK_PROBE_OK(probe_ptrace_rseq);
}

TEST(process_vm_readv_reads_a_child)
{
	CHECK_PROBE_OK(probe_process_vm_readv);
}

TEST(pagemap_scan_reports_touched_pages)
{
	CHECK_PROBE_OK(probe_pagemap_scan);
}

TEST(uffd_wp_works_and_async_is_available)
{
	struct feature_result r;

	CHECK_PROBE_OK(probe_uffd_wp);
	probe_uffd_wp(&r);
	CHECK(strstr(r.detail, "async mode available"), "%s", r.detail);
}

TEST(uffd_wp_async_tracks_written_pages)
{
	CHECK_PROBE_OK(probe_uffd_wp_async);
}

TEST(clone3_set_tid_creates_a_chosen_pid)
{
	CHECK_PROBE_OK(probe_clone3_set_tid);
}

TEST(ns_last_pid_sets_the_next_pid)
{
	CHECK_PROBE_OK(probe_ns_last_pid);
}

TEST(pidfd_open_getfd_signal_work)
{
	CHECK_PROBE_OK(probe_pidfd);
}

TEST(vdso_layout_is_understood)
{
	CHECK_PROBE_OK(probe_vdso_layout);
}

TEST(vdso_can_be_moved)
{
	CHECK_PROBE_OK(probe_vdso_remap);
}

TEST(this_kernel_has_vvar_vclock)
{
	_cleanup_free_ char *maps = NULL;
	struct vdso_layout l;
	FILE *f = fopen("/proc/self/maps", "re");
	size_t size = 0;

	CHECK(f, "open maps");
	/* getdelim with '\0' reads the whole text in one go. */
	CHECK(getdelim(&maps, &size, '\0', f) > 0, "read maps");
	fclose(f);
	CHECK(vdso_layout_parse(maps, &l) == 0, "parse");
	CHECK(l.vvar.present && l.vvar_vclock.present && l.vdso.present, "three areas");
	CHECK(vdso_layout_contiguous(&l), "adjacent");
}

TEST(sock_diag_answers_for_every_family)
{
	CHECK_PROBE_OK(probe_sock_diag_unix);
	CHECK_PROBE_OK(probe_sock_diag_inet);
	CHECK_PROBE_OK(probe_sock_diag_inet6);
	CHECK_PROBE_OK(probe_sock_diag_packet);
	CHECK_PROBE_OK(probe_sock_diag_netlink);
}

TEST(time_namespace_can_be_created)
{
	CHECK_PROBE_OK(probe_time_ns);
}

TEST(capabilities_match_this_machine)
{
	struct feature_result r;

	CHECK_PROBE_OK(probe_cap_checkpoint_restore);
	CHECK_PROBE_OK(probe_cap_sys_admin);
	CHECK_PROBE_OK(probe_cap_sys_ptrace);
	CHECK(probe_cap_sys_resource(&r) == -EPERM && !r.ok, "CAP_SYS_RESOURCE is not granted here");
}

TEST(soft_dirty_is_absent_here)
{
	struct feature_result r;

	CHECK(probe_soft_dirty(&r) < 0 && !r.ok, "this kernel has no soft-dirty bits");
	CHECK(strstr(r.detail, "userfaultfd write-protect"), "%s", r.detail);
}

static int count_fds(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	return n;
}

TEST(probes_leave_no_fds_or_children)
{
	_cleanup_free_ struct feature_result *r = calloc(feature_count, sizeof(*r));
	int before, after;

	CHECK(r, "calloc");
	before = count_fds();
	for (size_t i = 0; i < feature_count; i++)
		feature_table[i].probe(&r[i]);
	after = count_fds();
	CHECK(before > 0 && before == after, "%d fds before, %d after", before, after);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child was left unreaped");
}

/* Runs cmd_check with its stdout captured into @out, NUL-terminated and
 * after a '\n' of ours, so that every line, the first too, follows one. */
static int run_check(const struct cryo_opts *opts, char *out, size_t size)
{
	char path[] = "/tmp/cryo-test-check-XXXXXX";
	int fd = mkstemp(path), saved, status;
	ssize_t n;

	if (fd < 0)
		return -1;
	unlink(path);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	status = cmd_check(opts);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	out[0] = '\n';
	n = pread(fd, out + 1, size - 2, 0);
	out[1 + (n > 0 ? n : 0)] = '\0';
	close(fd);
	return status;
}

TEST(cryo_check_prints_every_feature_and_a_verdict)
{
	static char out[16384];
	struct cryo_opts opts;
	const char *last;
	int status;

	memset(&opts, 0, sizeof(opts));
	status = run_check(&opts, out, sizeof(out));
	CHECK(status == 0, "exit status %d, output:\n%s", status, out);
	for (size_t i = 0; i < feature_count; i++) {
		char ok_line[128], info_line[128], missing_line[128];

		snprintf(ok_line, sizeof(ok_line), "\nok      %s: ", feature_table[i].name);
		snprintf(info_line, sizeof(info_line), "\ninfo    %s: ", feature_table[i].name);
		snprintf(missing_line, sizeof(missing_line), "\nmissing %s: ", feature_table[i].name);
		CHECK(strstr(out, ok_line) || strstr(out, info_line) || strstr(out, missing_line),
		      "no line for %s", feature_table[i].name);
	}
	CHECK(strstr(out, "\ninfo    soft-dirty: not available, incremental dumps use "
			  "userfaultfd write-protect instead\n"),
	      "soft-dirty line:\n%s", out);
	CHECK(strstr(out, "\ninfo    CAP_SYS_RESOURCE: "), "CAP_SYS_RESOURCE line");
	CHECK(!strstr(out, "missing "), "nothing missing on this machine:\n%s", out);
	last = strrchr(out, '\n');
	CHECK(last && last[1] == '\0', "output ends with a newline");
	while (last > out && last[-1] != '\n')
		last--;
	CHECK(!strcmp(last, "dump and restore can work on this system\n"), "verdict: %s", last);
}

TEST(cryo_check_refuses_arguments)
{
	static char out[16384];
	char *args[] = { "extra" };
	struct cryo_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.args = args;
	opts.nargs = 1;
	CHECK(run_check(&opts, out, sizeof(out)) == 1, "exit status");
	CHECK(out[1] == '\0', "no probing: %s", out);
}
