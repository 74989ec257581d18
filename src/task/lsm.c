/* A task's LSM label (AppArmor profile, SELinux context): read at dump from
 * /proc/PID/attr/current into Creds.lsm_profile, checked at load, and
 * checked at restore against the host's LSMs. Setting a label at restore
 * is not done yet: a label is refused by name, naming why (no LSM here, or
 * not supported). Credentials themselves are dump_proc.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "task/task.h"

#define LSM_LABEL_MAX 4096

/* The text of @path (at most LSM_LABEL_MAX bytes, its trailing newline and
 * NUL dropped) in *@out; -errno of open or read, not logged. */
static int read_label(const char *path, char **out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[LSM_LABEL_MAX + 1];
	ssize_t n;

	*out = NULL;
	if (fd < 0)
		return -errno;
	n = read(fd, buf, LSM_LABEL_MAX);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	*out = n ? strdup(buf) : NULL;
	return n && !*out ? -ENOMEM : 0;
}

/* Without an LSM that labels processes the file answers EINVAL. */
static bool no_label(int err)
{
	return err == -EINVAL || err == -ENOENT || err == -EOPNOTSUPP;
}

int lsm_label_dump(pid_t pid, pid_t tid, Creds *creds)
{
	char path[64], *label;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/attr/current", pid, tid);
	ret = read_label(path, &label);
	if (no_label(ret))
		return 0;
	if (ret)
		return pr_errno_ret("dump: pid %d thread %d: cannot read its LSM label (%s)", pid,
				    tid, path);
	/* AppArmor's "unconfined" is no profile (as criu). */
	if (label && !strcmp(label, "unconfined")) {
		free(label);
		label = NULL;
	}
	creds->lsm_profile = label;
	return 0;
}

int lsm_label_check_settable(pid_t pid, const char *label, bool given)
{
	char *mine = NULL;
	int ret = read_label("/proc/self/attr/current", &mine);

	free(mine);
	if (no_label(ret)) {
		pr_err("restore: pid %d: %s LSM label '%s' cannot be set: no LSM on this host "
		       "labels processes (/proc/self/attr/current: %s)", pid,
		       given ? "the requested (lsm_profile)" : "its saved", label, strerror(-ret));
		return -EOPNOTSUPP;
	}
	pr_err("restore: pid %d: %s LSM label '%s': setting LSM labels at restore is not "
	       "supported by cryo yet", pid, given ? "the requested (lsm_profile)" : "its saved",
	       label);
	return -EOPNOTSUPP;
}
