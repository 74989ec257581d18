/* Probes of time namespaces (restore keeps CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME continuous with them) and of the capabilities cryo runs
 * with, read from the effective set of this process. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "common/log.h"
#include "kabi/kabi.h"
#include "kabi/probe.h"

/* In a forked child: a new time namespace for its future children, with a
 * monotonic offset set before anyone enters it, as restore will do. */
static int time_ns_child(void *arg)
{
	static const char offsets[] = "monotonic 86400 0\n";
	int fd, ret = 0;

	(void)arg;
	if (unshare(CLONE_NEWTIME))
		return -errno;
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, offsets, sizeof(offsets) - 1) != sizeof(offsets) - 1)
		ret = -errno;
	close(fd);
	return ret;
}

int probe_time_ns(struct feature_result *res)
{
	int ret;

	if (access("/proc/self/ns/time", F_OK))
		return feature_missing(res, -errno, "no /proc/self/ns/time; restored tasks see "
				       "CLOCK_MONOTONIC and CLOCK_BOOTTIME jump");
	ret = run_in_child(time_ns_child, NULL);
	if (ret)
		return feature_missing(res, ret, "unshare(CLONE_NEWTIME) or setting its offsets "
				       "failed (%s); restored tasks see CLOCK_MONOTONIC and "
				       "CLOCK_BOOTTIME jump", strerror(-ret));
	return feature_ok(res, "a child made one and set its clock offsets; restore keeps "
			       "CLOCK_MONOTONIC and CLOCK_BOOTTIME continuous");
}

/* The effective set, from capget: it is what the kernel checks, whatever
 * /proc/self/status shows of ambient or bounding sets. */
static int effective_caps(uint64_t *caps)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &header, data))
		return pr_errno_ret("capget");
	*caps = (uint64_t)data[1].effective << 32 | data[0].effective;
	return 0;
}

static int probe_cap(struct feature_result *res, int cap, const char *if_ok,
		     const char *if_missing)
{
	uint64_t caps = 0;
	int ret;

	ret = effective_caps(&caps);
	if (ret)
		return feature_missing(res, ret, "cannot read the capabilities (%s)",
				       strerror(-ret));
	pr_debug("effective capabilities: %#llx", (unsigned long long)caps);
	if (!(caps & (1ULL << cap)))
		return feature_missing(res, -EPERM, "not in the effective set; %s", if_missing);
	return feature_ok(res, "in the effective set; %s", if_ok);
}

int probe_cap_checkpoint_restore(struct feature_result *res)
{
	return probe_cap(res, CAP_CHECKPOINT_RESTORE,
			 "cryo may choose PIDs and read /proc/PID/map_files",
			 "CAP_SYS_ADMIN must stand in for it");
}

int probe_cap_sys_admin(struct feature_result *res)
{
	return probe_cap(res, CAP_SYS_ADMIN, "cryo may restore namespaces and mounts",
			 "trees with their own namespaces or mounts cannot be restored");
}

int probe_cap_sys_ptrace(struct feature_result *res)
{
	return probe_cap(res, CAP_SYS_PTRACE, "cryo may dump tasks of any user",
			 "only tasks of this user that ptrace allows can be dumped");
}

int probe_cap_sys_resource(struct feature_result *res)
{
	return probe_cap(res, CAP_SYS_RESOURCE, "restore may also exceed resource limits",
			 "restore uses PR_SET_MM_MAP, which does not need it");
}
