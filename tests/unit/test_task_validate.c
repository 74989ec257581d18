/* Tests of task core validation: a valid core passes, each bad value is
 * refused with a message naming it, and the core image check refuses a
 * record for another pid or with a bad value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "harness.h"
#include "images/image.h"
#include "task/task.h"
#include "test_task_util.h"

struct bad_case {
	const char *name;
	void (*spoil)(struct sample *s);
	const char *message;	/* a part of the expected error */
};

static void signo_zero(struct sample *s) { s->action.signo = 0; }
static void signo_65(struct sample *s) { s->action.signo = 65; }
static void action_on_sigkill(struct sample *s) { s->action.signo = SIGKILL; }
static void action_on_sigstop(struct sample *s) { s->action.signo = SIGSTOP; }
static void handler_kernel_address(struct sample *s) { s->action.handler = 0xffffffff81000000ULL; }
static void mask_blocks_sigkill(struct sample *s) { s->action.mask |= 1ULL << (SIGKILL - 1); }
static void comm_too_long(struct sample *s) { s->core.comm = (char *)"sixteen-chars-xx"; }
static void thread_comm_too_long(struct sample *s) { s->threads[1].comm = (char *)"sixteen-chars-xx"; }
static void siginfo_127(struct sample *s) { s->pending.siginfo.len = 127; }
static void siginfo_signo_zero(struct sample *s) { s->siginfo[0] = 0; }
static void rlimit_resource_16(struct sample *s) { s->rlimit.resource = 16; }
static void rlimit_soft_above_hard(struct sample *s) { s->rlimit.cur = 8192; }
static void itimer_which_3(struct sample *s) { s->itimer.which = 3; }
static void timer_clock_raw(struct sample *s) { s->timer.clock_id = CLOCK_MONOTONIC_RAW; }
static void timer_clock_99(struct sample *s) { s->timer.clock_id = 99; }
static void timer_notify_3(struct sample *s) { s->timer.notify = 3; }
static void timer_signo_zero(struct sample *s) { s->timer.signo = 0; }
static void timer_negative_id(struct sample *s) { s->timer.id = -1; }
static void timer_unknown_thread(struct sample *s)
{
	s->timer.notify = SIGEV_SIGNAL | SIGEV_THREAD_ID;
	s->timer.has_notify_tid = true;
	s->timer.notify_tid = 999;
}
static void timer_tid_without_thread_id(struct sample *s)
{
	s->timer.has_notify_tid = true;
	s->timer.notify_tid = SAMPLE_PID;
}
static void umask_sticky(struct sample *s) { s->core.umask = 01022; }
static void exit_signal_65(struct sample *s) { s->core.exit_signal = 65; }
static void pdeath_65(struct sample *s) { s->prctl.pdeath_signal = 65; }
/* MEMBARRIER_CMD_PRIVATE_EXPEDITED (8) is a barrier, not a registration. */
static void membarrier_not_register(struct sample *s) { s->prctl.membarrier = 8 | 16; }
static void personality_query(struct sample *s) { s->core.personality = 0xffffffff; }
static void no_threads(struct sample *s) { s->core.n_threads = 0; }
static void main_thread_missing(struct sample *s) { s->threads[0].tid = SAMPLE_TID + 1; }
static void thread_twice(struct sample *s) { s->threads[1].tid = SAMPLE_PID; }
static void altstack_bad_flags(struct sample *s) { s->altstack.flags = SS_DISABLE; }
static void altstack_tiny(struct sample *s) { s->altstack.size = 100; }
static void rseq_misaligned(struct sample *s) { s->rseq.abi_pointer += 8; }
static void rseq_4097(struct sample *s) { s->rseq.abi_size = 4097; }
static void rseq_4gib(struct sample *s) { s->rseq.abi_size = 0xffffffe0u; }
static void cwd_relative(struct sample *s) { s->core.cwd = (char *)"tmp"; }
static void root_relative(struct sample *s) { s->core.root = (char *)""; }
static void effective_not_permitted(struct sample *s) { s->creds.cap_effective = 0x100; }
static void uid_minus_one(struct sample *s) { s->creds.euid = (uint32_t)-1; }
static void pid_zero(struct sample *s) { s->core.pid = 0; }
static void clear_tid_kernel(struct sample *s) { s->threads[1].clear_child_tid = 1ULL << 63; }
static void robust_list_len_16(struct sample *s) { s->threads[1].robust_list_len = 16; }
static void thread_cgroup_up(struct sample *s) { s->threads[1].cgroup = (char *)"/a/../b"; }
static void robust_list_null(struct sample *s) { s->threads[1].robust_list = 0; }
static void robust_list_without_len(struct sample *s) { s->threads[1].has_robust_list_len = false; }
static void too_many_threads(struct sample *s) { s->core.n_threads = TASK_MAX_THREADS + 1; }
static void stopped_by_sigkill(struct sample *s)
{
	s->core.has_stop_signal = true;
	s->core.stop_signal = SIGKILL;
}
static void stop_reported_but_not_stopped(struct sample *s)
{
	s->core.has_stop_reported = true;
	s->core.stop_reported = true;
}

static void policy_4(struct sample *s) { s->sched.policy = 4; }
static void nice_20(struct sample *s) { s->sched.nice = 20; }
static void fifo_priority_0(struct sample *s) { s->sched.policy = 1; }
static void batch_priority_5(struct sample *s) { s->sched.priority = 5; }
static void deadline_without_policy(struct sample *s) { s->sched.period = 1000000; }
static void flags_reclaim(struct sample *s) { s->sched.flags = 2; }
static void affinity_empty(struct sample *s) { s->sched.affinity.len = 0; }
static void ioprio_class_4(struct sample *s) { s->sched.ioprio = 4 << 13; }
static void oom_score_adj_1001(struct sample *s) { s->core.oom_score_adj = 1001; }

static uint32_t seccomp_chain_0[] = { 0 };
static uint8_t seccomp_insns[16];
static SeccompFilter seccomp_filter = SECCOMP_FILTER__INIT;
static SeccompFilter *seccomp_filters[] = { &seccomp_filter };

/* Thread 4243 in filter mode with one filter of @len bytes. */
static void seccomp_one_filter(struct sample *s, size_t len)
{
	seccomp_filter.insns.data = seccomp_insns;
	seccomp_filter.insns.len = len;
	s->core.seccomp_filters = seccomp_filters;
	s->core.n_seccomp_filters = 1;
	s->threads[1].has_seccomp_mode = true;
	s->threads[1].seccomp_mode = 2;
	s->threads[1].seccomp_chain = seccomp_chain_0;
	s->threads[1].n_seccomp_chain = 1;
}
static void seccomp_mode_3(struct sample *s)
{
	seccomp_one_filter(s, 8);
	s->threads[1].seccomp_mode = 3;
}
static void seccomp_strict_with_filters(struct sample *s)
{
	seccomp_one_filter(s, 8);
	s->threads[1].seccomp_mode = 1;
}
static void seccomp_filter_12_bytes(struct sample *s) { seccomp_one_filter(s, 12); }
static void seccomp_filter_missing(struct sample *s)
{
	seccomp_one_filter(s, 8);
	s->core.n_seccomp_filters = 0;
}
static void seccomp_flag_tsync(struct sample *s)
{
	seccomp_one_filter(s, 8);
	seccomp_filter.flags = 1;
}

/* Thread @thread of the sample with credentials of its own: uid 1000. */
static Creds thread_creds;
static void own_creds(struct sample *s, size_t thread)
{
	thread_creds = s->creds;
	thread_creds.uid = thread_creds.euid = thread_creds.suid = thread_creds.fsuid = 1000;
	s->threads[thread].creds = &thread_creds;
}
static void thread_uid_minus_one(struct sample *s)
{
	own_creds(s, 1);
	thread_creds.fsuid = (uint32_t)-1;
}
static void thread_ambient_not_permitted(struct sample *s)
{
	own_creds(s, 1);
	thread_creds.cap_ambient = 0x100;
}
static void thread_creds_without_process_creds(struct sample *s)
{
	own_creds(s, 1);
	s->core.creds = NULL;
}
static void thread_label_of_its_own(struct sample *s)
{
	own_creds(s, 1);
	thread_creds.lsm_profile = (char *)"other";
}
static void main_thread_own_creds(struct sample *s) { own_creds(s, 0); }
static void main_thread_own_nnp(struct sample *s)
{
	s->threads[0].has_no_new_privs = true;
	s->threads[0].no_new_privs = true;
}
static void thread_pdeath_65(struct sample *s)
{
	s->threads[1].has_pdeath_signal = true;
	s->threads[1].pdeath_signal = 65;
}
static void main_thread_own_pdeath(struct sample *s)
{
	s->threads[0].has_pdeath_signal = true;
	s->threads[0].pdeath_signal = SIGURG;
}

static GhostDir removed_dir = GHOST_DIR__INIT;
static void root_ghost_without_root(struct sample *s)
{
	s->core.root_ghost = &removed_dir;
	s->core.root = NULL;
}
static void root_ghost_sticky_dir(struct sample *s)
{
	removed_dir.mode = 01777 | S_IFDIR;
	s->core.root_ghost = &removed_dir;
	s->core.root = (char *)"/jail";
}
static void cwd_is_root_not_removed(struct sample *s)
{
	s->core.has_cwd_is_root = s->core.cwd_is_root = true;
}
static void cwd_is_root_and_its_own_ghost(struct sample *s)
{
	removed_dir.mode = 0755;
	s->core.root_ghost = s->core.cwd_ghost = &removed_dir;
	s->core.root = (char *)"/jail";
	s->core.has_cwd_is_root = s->core.cwd_is_root = true;
}
static GhostDir removed_folder = GHOST_DIR__INIT;
static GhostDir *removed_folders[] = { &removed_folder, &removed_folder };
/* A removed cwd at @path with @folders removed folders above it. */
static void removed_cwd(struct sample *s, const char *path, size_t folders)
{
	removed_dir = (GhostDir)GHOST_DIR__INIT;
	removed_folder = (GhostDir)GHOST_DIR__INIT;
	removed_dir.mode = 0755;
	removed_dir.removed_folders = removed_folders;
	removed_dir.n_removed_folders = folders;
	s->core.cwd_ghost = &removed_dir;
	s->core.cwd = (char *)path;
}
/* The path names no third level. */
static void cwd_ghost_more_folders_than_names(struct sample *s) { removed_cwd(s, "/a/b", 2); }
static void cwd_ghost_folder_dotdot(struct sample *s) { removed_cwd(s, "/x/../b", 1); }
static void cwd_ghost_folder_of_folders(struct sample *s)
{
	removed_cwd(s, "/x/a/b", 1);
	removed_folder.removed_folders = removed_folders;
	removed_folder.n_removed_folders = 1;
}
/* The fd that holds a removed cwd, for a cwd not removed. */
static void cwd_fd_without_ghost(struct sample *s)
{
	s->core.has_cwd_fd = true;
	s->core.cwd_fd = 3;
}
/* The fd that holds a removed root, for a root not removed. */
static void root_fd_without_ghost(struct sample *s)
{
	s->core.has_root_fd = true;
	s->core.root_fd = 4;
}
static ThreadFs thread_fs = THREAD_FS__INIT;
static void main_thread_own_fs(struct sample *s)
{
	thread_fs = (ThreadFs)THREAD_FS__INIT;
	thread_fs.cwd = thread_fs.root = (char *)"/";
	thread_fs.has_umask = true;
	s->threads[0].fs = &thread_fs;
}
static void thread_fs_without_root(struct sample *s)
{
	thread_fs = (ThreadFs)THREAD_FS__INIT;
	thread_fs.cwd = (char *)"/";
	thread_fs.has_umask = true;
	s->threads[1].fs = &thread_fs;
}
static void cwd_file_not_removed(struct sample *s)
{
	s->core.has_cwd_file = true;
	s->core.cwd_file = 3;
}
static void root_file_and_root_fd(struct sample *s)
{
	removed_dir.mode = 0755;
	s->core.root_ghost = &removed_dir;
	s->core.root = (char *)"/jail";
	s->core.has_root_fd = s->core.has_root_file = true;
	s->core.root_fd = 4;
	s->core.root_file = 3;
}
static void thread_cwd_file_zero(struct sample *s)
{
	removed_dir.mode = 0755;
	thread_fs = (ThreadFs)THREAD_FS__INIT;
	thread_fs.cwd = (char *)"/gone";
	thread_fs.root = (char *)"/";
	thread_fs.has_umask = true;
	thread_fs.cwd_ghost = &removed_dir;
	thread_fs.has_cwd_file = true;
	s->threads[1].fs = &thread_fs;
}
static void thread_fs_umask_sticky(struct sample *s)
{
	thread_fs = (ThreadFs)THREAD_FS__INIT;
	thread_fs.cwd = thread_fs.root = (char *)"/";
	thread_fs.has_umask = true;
	thread_fs.umask = 01022;
	s->threads[1].fs = &thread_fs;
}
static void thread_fs_shared_with_none(struct sample *s)
{
	thread_fs = (ThreadFs)THREAD_FS__INIT;
	thread_fs.has_shared_with = true;
	thread_fs.shared_with = SAMPLE_PID;
	s->threads[1].fs = &thread_fs;
}

static const struct bad_case bad_cases[] = {
	{ "a removed cwd with more removed folders than names", cwd_ghost_more_folders_than_names,
	  "process: removed cwd \"/a/b\" has no name for its level 2" },
	{ "a removed cwd whose folder is ..", cwd_ghost_folder_dotdot, "has no name for its level 1" },
	{ "a removed folder with folders of its own", cwd_ghost_folder_of_folders,
	  "removed folder 1 of its cwd: a mode of other bits than permissions, or folders" },
	{ "an fd holding a cwd not removed", cwd_fd_without_ghost,
	  "process: fd 3 holds its cwd, which is no removed directory" },
	{ "an fd holding a root not removed", root_fd_without_ghost,
	  "process: fd 4 holds its root, which is no removed directory" },
	{ "fs info of its own on the main thread", main_thread_own_fs,
	  "fs info of its own on the main thread" },
	{ "a thread's own fs info without a root", thread_fs_without_root,
	  "thread 4243: fs info of its own needs a cwd, a root and a umask" },
	{ "a thread's own umask 01022", thread_fs_umask_sticky,
	  "thread 4243: fs info of its own needs a cwd, a root and a umask of permission bits" },
	{ "a thread sharing the main thread's fs info as its own", thread_fs_shared_with_none,
	  "thread 4243 shares the fs info of thread 4242, which has none of its own" },
	{ "a thread's parent-death signal 65", thread_pdeath_65,
	  "thread 4243: parent-death signal 65 is not 0-64" },
	{ "the main thread's own parent-death signal", main_thread_own_pdeath,
	  "thread 4242: a parent-death signal of its own, but it is the main thread" },
	{ "a removed root without a path", root_ghost_without_root,
	  "a removed root needs its path" },
	{ "a removed root of mode 041777", root_ghost_sticky_dir, "a mode of permission bits" },
	{ "a cwd that is a root not removed", cwd_is_root_not_removed,
	  "a cwd that is its removed root needs that root" },
	{ "a cwd that is the removed root and a ghost", cwd_is_root_and_its_own_ghost,
	  "and no removed cwd of its own" },
	{ "a cwd that is a file of the tree but not removed", cwd_file_not_removed,
	  "process: its cwd is file 3 of the tree, but no removed directory" },
	{ "a removed root both a file of the tree and its own fd's", root_file_and_root_fd,
	  "or one an fd of its own holds" },
	{ "a thread's removed cwd that is file 0", thread_cwd_file_zero,
	  "thread 4243: its cwd is file 0 of the tree" },
	{ "a thread's uid -1", thread_uid_minus_one, "thread 4243 creds: user or group id -1" },
	{ "a thread's ambient caps not permitted", thread_ambient_not_permitted,
	  "thread 4243 creds: ambient capabilities 0x100" },
	{ "a thread's creds without the process's", thread_creds_without_process_creds,
	  "thread 4243: credentials or no_new_privs of its own, but the process has none" },
	{ "a thread's own LSM label", thread_label_of_its_own,
	  "thread 4243: an LSM label other than its main thread's" },
	{ "the main thread's own creds", main_thread_own_creds,
	  "thread 4242: the main thread's credentials and no_new_privs are the process's" },
	{ "the main thread's own no_new_privs", main_thread_own_nnp,
	  "thread 4242: the main thread's credentials" },
	{ "a thread cgroup with ..", thread_cgroup_up, "thread 4243: cgroup \"/a/../b\" is not" },
	{ "seccomp mode 3", seccomp_mode_3, "thread 4243: seccomp mode 3 is none of 0-2" },
	{ "strict mode with filters", seccomp_strict_with_filters, "seccomp mode 1 with 1 filters" },
	{ "a filter of 12 bytes", seccomp_filter_12_bytes, "12 bytes are not 1 to 4096 BPF" },
	{ "a chain naming a missing filter", seccomp_filter_missing, "seccomp filter 0 of 0" },
	{ "a filter saved with TSYNC", seccomp_flag_tsync, "flags 0x1, only LOG is saved" },
	{ "policy 4", policy_4, "thread 4243: scheduling policy 4 is not one" },
	{ "nice 20", nice_20, "thread 4243: nice 20 is not -20 to 19" },
	{ "SCHED_FIFO at priority 0", fifo_priority_0, "priority 0 does not go with SCHED_FIFO" },
	{ "SCHED_BATCH at priority 5", batch_priority_5, "priority 5 does not go with SCHED_BATCH" },
	{ "a period without SCHED_DEADLINE", deadline_without_policy, "deadline parameters" },
	{ "scheduling flag 2", flags_reclaim, "scheduling flags 0x2" },
	{ "no CPU affinity", affinity_empty, "a CPU affinity of 0 bytes" },
	{ "I/O class 4", ioprio_class_4, "I/O priority 0x8000" },
	{ "oom_score_adj 1001", oom_score_adj_1001, "oom_score_adj 1001 is not -1000 to 1000" },
	{ "signal 0", signo_zero, "sigaction for signal 0: signal numbers are 1-64" },
	{ "signal 65", signo_65, "sigaction for signal 65" },
	{ "SIGKILL action", action_on_sigkill, "signal 9 (SIGKILL)" },
	{ "SIGSTOP action", action_on_sigstop, "signal 19 (SIGSTOP)" },
	{ "kernel handler", handler_kernel_address, "not a user address" },
	{ "mask with SIGKILL", mask_blocks_sigkill, "blocks SIGKILL" },
	{ "comm of 16 bytes", comm_too_long, "longer than 15 bytes" },
	{ "thread comm of 16 bytes", thread_comm_too_long, "thread 4243: name" },
	{ "siginfo of 127 bytes", siginfo_127, "siginfo of 127 bytes, not 128" },
	{ "siginfo for signal 0", siginfo_signo_zero, "signal number 0" },
	{ "rlimit 16", rlimit_resource_16, "rlimit 16: resources are 0-15" },
	{ "soft above hard", rlimit_soft_above_hard, "RLIMIT_NOFILE: soft limit 8192" },
	{ "itimer 3", itimer_which_3, "itimer 3" },
	{ "CLOCK_MONOTONIC_RAW timer", timer_clock_raw, "clock 4 is not one timers can use" },
	{ "clock 99 timer", timer_clock_99, "clock 99" },
	{ "notification 3", timer_notify_3, "notification 3 is unknown" },
	{ "timer signal 0", timer_signo_zero, "posix timer 3: signal number 0" },
	{ "negative timer id", timer_negative_id, "posix timer -1" },
	{ "timer for a missing thread", timer_unknown_thread, "thread 999" },
	{ "target thread without SIGEV_THREAD_ID", timer_tid_without_thread_id, "SIGEV_THREAD_ID" },
	{ "umask 01022", umask_sticky, "umask" },
	{ "exit signal 65", exit_signal_65, "exit signal 65" },
	{ "parent-death signal 65", pdeath_65, "parent-death signal 65" },
	{ "a membarrier command that is no registration", membarrier_not_register,
	  "membarrier registrations 0x18 are not REGISTER_* commands" },
	{ "personality 0xffffffff", personality_query, "personality" },
	{ "no threads", no_threads, "no threads" },
	{ "main thread missing", main_thread_missing, "main thread (tid 4242) is missing" },
	{ "thread twice", thread_twice, "appears twice" },
	{ "altstack flags", altstack_bad_flags, "sigaltstack flags" },
	{ "altstack of 100 bytes", altstack_tiny, "sigaltstack of 0x64 bytes" },
	{ "rseq misaligned", rseq_misaligned, "rseq area" },
	{ "rseq of 4097 bytes", rseq_4097, "rseq area of 4097 bytes" },
	{ "rseq of 4 GiB", rseq_4gib, "rseq area of 4294967264 bytes" },
	{ "relative cwd", cwd_relative, "cwd \"tmp\"" },
	{ "empty root", root_relative, "root" },
	{ "effective caps not permitted", effective_not_permitted, "effective capabilities" },
	{ "uid -1", uid_minus_one, "id -1" },
	{ "pid 0", pid_zero, "not a process id" },
	{ "clear_child_tid in the kernel", clear_tid_kernel,
	  "thread 4243: clear_child_tid 0x8000000000000000 is not a user address" },
	{ "robust list of 16 bytes", robust_list_len_16, "thread 4243: robust list of 16 bytes" },
	{ "robust list at 0", robust_list_null, "thread 4243: robust list of 24 bytes at 0" },
	{ "robust list without length", robust_list_without_len, "needs both its head and its length" },
	{ "16385 threads", too_many_threads, "16385 threads, at most 16384" },
	{ "stopped by SIGKILL", stopped_by_sigkill, "stopped by signal 9, which is no job-control" },
	{ "stop reported, not stopped", stop_reported_but_not_stopped, "but it was not stopped" },
};

TEST(valid_core_passes)
{
	struct sample s;
	char err[512];
	int ret;

	sample_init(&s);
	CAPTURE_STDERR(err, ret = task_validate(&s.core));
	CHECK(ret == 0, "refused: %s", err);
}

TEST(core_of_a_process_stopped_by_sigtstp_passes)
{
	struct sample s;
	char err[512];
	int ret;

	sample_init(&s);
	s.core.has_stop_signal = true;
	s.core.stop_signal = SIGTSTP;
	s.core.has_stop_reported = true;
	CAPTURE_STDERR(err, ret = task_validate(&s.core));
	CHECK(ret == 0, "refused: %s", err);
}

TEST(core_with_a_thread_of_its_own_credentials_passes)
{
	struct sample s;
	char err[512];
	int ret;

	sample_init(&s);
	own_creds(&s, 1);
	s.threads[1].has_no_new_privs = true;
	s.threads[1].no_new_privs = true;
	CAPTURE_STDERR(err, ret = task_validate(&s.core));
	CHECK(ret == 0, "refused: %s", err);
}

TEST(each_bad_value_is_refused_with_a_message)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct sample s;
		char err[512];
		int ret;

		sample_init(&s);
		seccomp_filter.flags = 0;
		c->spoil(&s);
		CAPTURE_STDERR(err, ret = task_validate(&s.core));
		CHECK(ret == -EINVAL, "%s: accepted (%d)", c->name, ret);
		CHECK(strstr(err, c->message), "%s: message \"%s\" lacks \"%s\"", c->name, err,
		      c->message);
	}
}

/* An affinity naming a CPU this machine does not have cannot be given
 * back: restore refuses it by name before anything is made. */
TEST(affinity_beyond_this_machine_is_refused_by_name)
{
	struct sample s;
	char err[512];
	int ret;

	sample_init(&s);
	CAPTURE_STDERR(err, ret = task_check_sched(&s.core, sysconf(_SC_NPROCESSORS_CONF)));
	CHECK(ret == 0, "CPU 0 refused: %s", err);
	s.affinity[4000 / 8] = 1 << (4000 % 8);
	s.sched.affinity.len = 4000 / 8 + 1;
	CAPTURE_STDERR(err, ret = task_check_sched(&s.core, sysconf(_SC_NPROCESSORS_CONF)));
	CHECK(ret == -EINVAL && strstr(err, "restore: pid 4242 thread 4243: its CPU affinity "
				       "names CPU 4000, which this machine does not have"),
	      "CPU 4000: %d, %s", ret, err);
}

/* Writes @core as core-@id.img in a fresh directory and reads it back. */
static int write_and_read(const TaskCore *core, int id, struct image **img, char **dir_path)
{
	char tmpl[] = "/tmp/cryo-task-img-XXXXXX";
	struct image_dir *dir = NULL;
	struct image_writer *w;
	int ret;

	if (!mkdtemp(tmpl))
		return -errno;
	*dir_path = strdup(tmpl);
	if (!*dir_path)
		return -ENOMEM;
	ret = image_dir_create(tmpl, &dir);
	if (!ret)
		ret = image_open_write(dir, IMG_CORE, id, &w);
	if (!ret) {
		ret = image_write_record(w, &core->base);
		if (ret)
			image_abort(w);
		else
			ret = image_finish(w);
	}
	if (!ret)
		ret = image_read(dir, IMG_CORE, id, img);
	image_dir_close(dir);
	return ret;
}

static void remove_dir(char *path, int id)
{
	char file[PATH_MAX];

	if (!path)
		return;
	snprintf(file, sizeof(file), "%s/core-%d.img", path, id);
	unlink(file);
	rmdir(path);
	free(path);
}

TEST(core_image_check_refuses_other_pid_and_bad_values)
{
	struct sample s;
	struct image *img = NULL;
	char *dir = NULL, err[512];
	int ret;

	sample_init(&s);
	ret = write_and_read(&s.core, SAMPLE_PID, &img, &dir);
	CHECK_GOTO(ret == 0, out, "write/read failed: %d", ret);
	CAPTURE_STDERR(err, ret = task_core_check(img, NULL, SAMPLE_PID));
	CHECK_GOTO(ret == 0, out, "a good core is refused: %s", err);
	CAPTURE_STDERR(err, ret = task_core_check(img, NULL, SAMPLE_PID + 1));
	CHECK_GOTO(ret == -EBADMSG && strstr(err, "named for pid 4243"), out,
		   "a core for another pid: %d %s", ret, err);
	image_free(img);
	img = NULL;
	remove_dir(dir, SAMPLE_PID);
	dir = NULL;

	/* Refused when read if the registry runs the check, else by the check. */
	action_on_sigkill(&s);
	CAPTURE_STDERR(err, ret = write_and_read(&s.core, SAMPLE_PID, &img, &dir));
	if (!ret)
		CAPTURE_STDERR(err, ret = task_core_check(img, NULL, SAMPLE_PID));
	CHECK_GOTO(ret == -EBADMSG && strstr(err, "core-4242.img: offset") &&
			   strstr(err, "SIGKILL"),
		   out, "a SIGKILL action: %d %s", ret, err);
out:
	image_free(img);
	remove_dir(dir, SAMPLE_PID);
}
