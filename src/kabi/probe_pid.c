/* Probes of how restore gives tasks their PIDs (clone3 with set_tid, the
 * ns_last_pid sysctl) and of pidfds, with which cryo holds on to a task
 * across steps. Each creates real children and reaps them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "kabi/kabi.h"
#include "kabi/probe.h"

/* Tries a few PIDs: another fork may take a free one between our check and
 * our use, which costs a retry, not a wrong answer. */
#define PID_ATTEMPTS 8

/* Returns the child's PID (the child exits at once), or -errno. */
static pid_t clone3_with_pid(pid_t want)
{
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&want,
		.set_tid_size = 1,
	};
	long ret = syscall(SYS_clone3, &args, sizeof(args));

	if (ret == 0)
		_exit(0);
	return ret < 0 ? -errno : (pid_t)ret;
}

int probe_clone3_set_tid(struct feature_result *res)
{
	int ret = -EAGAIN, status;
	pid_t want = 0, got;

	for (unsigned int attempt = 0; attempt < PID_ATTEMPTS; attempt++) {
		ret = pick_free_pid(attempt, &want);
		if (ret)
			break;
		got = clone3_with_pid(want);
		if (got == -EEXIST) {
			pr_debug("clone3: PID %d was taken meanwhile, trying another", want);
			ret = got;
			continue;
		}
		if (got < 0) {
			ret = got;
			break;
		}
		ret = child_reap(got, &status);
		if (!ret && got != want)
			ret = -EPROTO;
		break;
	}
	if (ret)
		return feature_missing(res, ret, "could not create a child with a chosen PID (%s); "
				       "restore falls back to ns_last_pid", strerror(-ret));
	return feature_ok(res, "created a child with the free PID %d chosen in advance; restore "
			       "gives tasks their saved PIDs", want);
}

int probe_ns_last_pid(struct feature_result *res)
{
	_cleanup_close_ int fd = -1;
	int ret = -EAGAIN, status;
	char text[24];
	pid_t want = 0, got;
	ssize_t n;

	fd = open("/proc/sys/kernel/ns_last_pid", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return feature_missing(res, -errno, "cannot open it for writing (%s); restore "
				       "needs clone3 set_tid", strerror(errno));
	n = pread(fd, text, sizeof(text) - 1, 0);
	if (n <= 0)
		return feature_missing(res, n < 0 ? -errno : -EIO, "cannot read it; restore needs "
				       "clone3 set_tid");
	text[n] = '\0';
	pr_debug("ns_last_pid: %s", text);
	/* Restorers that set PIDs this way agree to hold this lock meanwhile. */
	if (flock(fd, LOCK_EX))
		return feature_missing(res, -errno, "cannot lock it (%s); restore needs clone3 "
				       "set_tid", strerror(errno));
	for (unsigned int attempt = 0; attempt < PID_ATTEMPTS; attempt++) {
		int len;

		ret = pick_free_pid(attempt, &want);
		if (ret)
			break;
		len = snprintf(text, sizeof(text), "%d", want - 1);
		if (pwrite(fd, text, (size_t)len, 0) != len)
			return feature_missing(res, -errno, "cannot write it (%s); restore needs "
					       "clone3 set_tid", strerror(errno));
		got = fork();
		if (got < 0) {
			ret = -errno;
			break;
		}
		if (got == 0)
			_exit(0);
		ret = child_reap(got, &status);
		if (ret)
			break;
		if (got == want)
			break;
		pr_debug("ns_last_pid: wanted PID %d, got %d; trying another", want, got);
		ret = -EBUSY;
	}
	if (ret)
		return feature_missing(res, ret, "could not fork with a chosen PID through it (%s); "
				       "restore needs clone3 set_tid", strerror(-ret));
	return feature_ok(res, "read, written, and a fork got the PID %d chosen through it; "
			       "restore can use it where clone3 set_tid is refused", want);
}

int probe_pidfd(struct feature_result *res)
{
	_cleanup_close_ int pidfd = -1, taken = -1;
	int pipefd[2], ret = 0, target;
	const char *step;
	siginfo_t info;
	char byte = 0;
	pid_t pid;

	/* Non-blocking: a wrong fd from pidfd_getfd must fail the read, not
	 * hang it. */
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK))
		return feature_missing(res, -errno, "cannot make a pipe (%s)", strerror(errno));
	ret = child_spawn_paused(&pid);
	if (ret) {
		close(pipefd[0]);
		close(pipefd[1]);
		return feature_missing(res, ret, "cannot fork a child to try it on (%s)",
				       strerror(-ret));
	}
	/* From here on, only the child holds the pipe's write end under this
	 * number: writing into what pidfd_getfd returns proves it came from
	 * the child. */
	target = pipefd[1];
	close(pipefd[1]);
	step = "pidfd_open";
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		ret = -errno;
		goto out_kill;
	}
	step = "pidfd_getfd";
	taken = pidfd_getfd(pidfd, target, 0);
	if (taken < 0) {
		ret = -errno;
		goto out_kill;
	}
	step = "writing through the fd pidfd_getfd returned";
	if (write(taken, "x", 1) != 1 || read(pipefd[0], &byte, 1) != 1 || byte != 'x') {
		ret = -EIO;
		goto out_kill;
	}
	step = "pidfd_send_signal";
	if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0)) {
		ret = -errno;
		goto out_kill;
	}
	step = "waitid(P_PIDFD)";
	memset(&info, 0, sizeof(info));
	if (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED)) {
		ret = -errno;
		goto out_kill;
	}
	if (info.si_pid != pid || info.si_code != CLD_KILLED || info.si_status != SIGKILL)
		ret = -EPROTO;
	close(pipefd[0]);
	if (ret)
		return feature_missing(res, ret, "the child did not end as killed through its pidfd; "
				       "cryo refers to tasks by PID alone, open to PID reuse");
	return feature_ok(res, "took an fd from a child, killed and reaped it through its pidfd; "
			       "cryo can hold tasks without PID reuse races");
out_kill:
	child_kill_reap(pid);
	close(pipefd[0]);
	return feature_missing(res, ret, "%s failed (%s); cryo refers to tasks by PID alone, "
			       "open to PID reuse", step, strerror(-ret));
}
