/* `cryo restore`: validate every image, create the task with its saved PID
 * (clone3 with set_tid), let it restore itself up to the restorer's report,
 * then give it its registers and let it run. Without -d cryo stays its
 * parent, waits for it and exits with its status, as criu does. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/log.h"
#include "inject/inject.h"
#include "kabi/kabi.h"
#include "restore/restore.h"
#include "restorer/args.h"

static const char *const step_names[] = {
	[RESTORER_STEP_DONE] = "done",
	[RESTORER_STEP_UNMAP] = "unmapping cryo",
	[RESTORER_STEP_MAP] = "mapping",
	[RESTORER_STEP_FILL] = "filling pages of",
	[RESTORER_STEP_PROTECT] = "protecting",
	[RESTORER_STEP_MADVISE] = "advising",
	[RESTORER_STEP_MM_MAP] = "setting the mm fields (PR_SET_MM_MAP)",
	[RESTORER_STEP_VDSO] = "mapping the vDSO at",
	[RESTORER_STEP_SIGNALS] = "queueing signal",
	[RESTORER_STEP_RSEQ] = "registering rseq at",
	[RESTORER_STEP_CREDS] = "setting credentials",
	[RESTORER_STEP_CLONE] = "creating the thread (a tid already taken fails with EEXIST)",
	[RESTORER_STEP_ALTSTACK] = "setting the sigaltstack at",
	[RESTORER_STEP_ROBUST_LIST] = "setting the robust futex list at",
	[RESTORER_STEP_NAME] = "setting the thread's name",
	[RESTORER_STEP_WAIT] = "waiting for the thread to set itself up",
};

static void inject_log(enum inj_log_level level, const char *message)
{
	log_msg((enum log_level)level, "restore: %s", message);
}

/* A PID is taken by a live task, or by a zombie its parent has not reaped. */
static int check_pid_free(pid_t pid)
{
	char path[64], comm[64] = "?";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(comm, sizeof(comm), f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
	pr_err("restore: pid %d is taken by a running process (%s): it must be free to restore "
	       "the task with its own PID", pid, comm);
	return -EBUSY;
}

static pid_t clone_with_pid(pid_t pid)
{
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&pid,
		.set_tid_size = 1,
	};

	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* Reads the one report the new task sends; EOF means it died before. */
static int read_report(int fd, pid_t pid, struct restorer_report *report)
{
	size_t got = 0;

	while (got < sizeof(*report)) {
		ssize_t n = read(fd, (char *)report + got, sizeof(*report) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_err("restore: pid %d died before it was restored", pid);
			return -ECHILD;
		}
		got += (size_t)n;
	}
	if (!report->err)
		return 0;
	if (report->step < 0) {
		pr_err("restore: pid %d: %s", pid,
		       report->message[0] ? report->message : strerror(-report->err));
	} else {
		size_t step = (size_t)report->step;
		char who[48], addr[24] = "";

		if (report->tid)
			snprintf(who, sizeof(who), "pid %d thread %d", pid, report->tid);
		else
			snprintf(who, sizeof(who), "pid %d", pid);
		if (report->addr)
			snprintf(addr, sizeof(addr), " %#llx", (unsigned long long)report->addr);
		pr_err("restore: %s: restorer failed %s%s: %s", who,
		       step < sizeof(step_names) / sizeof(step_names[0]) && step_names[step] ?
			       step_names[step] : "at an unknown step",
		       addr, strerror(-report->err));
	}
	return report->err;
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f)) {
		pr_err("restore: cannot write pid file %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int wait_exit_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int restore_task(struct restore_task *rt, const struct cryo_opts *opts)
{
	struct restorer_report report;
	int report_pipe[2], ret;
	pid_t child;

	ret = check_pid_free(rt->pid);
	if (ret)
		return ret;
	if (pipe2(report_pipe, O_CLOEXEC))
		return -errno;
	child = clone_with_pid(rt->pid);
	if (child < 0) {
		ret = -errno;
		pr_err("restore: cannot create pid %d: %s%s", rt->pid, strerror(-ret),
		       ret == -EEXIST ? " (taken, perhaps by a zombie not yet reaped)" : "");
		close(report_pipe[0]);
		close(report_pipe[1]);
		return ret;
	}
	if (child == 0) {
		close(report_pipe[0]);
		restore_child(rt, report_pipe[1], opts->shell_job);
	}
	close(report_pipe[1]);
	ret = read_report(report_pipe[0], child, &report);
	close(report_pipe[0]);
	if (!ret)
		ret = restore_finish(rt, report.addr);
	if (ret) {
		/* Nothing half-restored may stay behind. */
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return ret;
	}
	pr_info("restore: pid %d restored", child);
	if (opts->pidfile && write_pidfile(opts->pidfile, child) && !opts->restore_detached)
		pr_warn("restore: pid %d runs on without its pid file", child);
	return 0;
}

int cmd_restore(const struct cryo_opts *opts)
{
	struct image_dir *dir;
	struct restore_task rt;
	pid_t pid;
	int ret;

	if (!opts->images_dir) {
		pr_err("restore: -D DIR is required (cryo restore -D DIR)");
		return 1;
	}
	inj_set_log(inject_log);
	if (image_dir_open(opts->images_dir, &dir))
		return 1;
	ret = restore_load(dir, &rt);
	image_dir_close(dir);
	if (ret)
		return 1;
	pid = rt.pid;
	ret = restore_task(&rt, opts);
	restore_unload(&rt);
	if (ret)
		return 1;
	if (opts->restore_detached)
		return 0;
	return wait_exit_status(pid);
}
