/* Time namespaces: a tree's CLOCK_MONOTONIC and CLOCK_BOOTTIME as it saw
 * them at dump (timens.img), and a new time namespace at restore whose
 * offsets make them go on from there, as criu does: the time the tree
 * spent dumped does not count, and no clock goes back. When the namespace
 * is made is own.c's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/time_units.h"
#include "images/proto/own_ns.pb-c.h"
#include "ns/ns.h"
#include "ns/user.h"

/* The offsets of @path (a timens_offsets file) in nanoseconds. */
static int read_offsets(const char *path, long long *monotonic, long long *boottime)
{
	FILE *f = fopen(path, "re");
	char name[32];
	long long sec, nsec;
	int found = 0;

	if (!f)
		return -errno;
	while (fscanf(f, "%31s %lld %lld", name, &sec, &nsec) == 3) {
		if (!strcmp(name, "monotonic") || !strcmp(name, "1")) {
			*monotonic = sec * NSEC_PER_SEC + nsec;
			found |= 1;
		} else if (!strcmp(name, "boottime") || !strcmp(name, "7")) {
			*boottime = sec * NSEC_PER_SEC + nsec;
			found |= 2;
		}
	}
	fclose(f);
	return found == 3 ? 0 : -EIO;
}

static long long now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int ns_time_dump(pid_t pid, struct image_dir *dir)
{
	TimeNs msg = TIME_NS__INIT;
	long long mine[2], theirs[2], mono, boot;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	ret = read_offsets(path, &theirs[0], &theirs[1]);
	if (!ret)
		ret = read_offsets("/proc/self/timens_offsets", &mine[0], &mine[1]);
	if (ret) {
		pr_err("dump: pid %d: cannot read the offsets of its time namespace (%s): %s", pid,
		       path, strerror(-ret));
		return ret;
	}
	/* What its clocks read: cryo's, less cryo's offsets, plus its own. */
	mono = now_ns(CLOCK_MONOTONIC) - mine[0] + theirs[0];
	boot = now_ns(CLOCK_BOOTTIME) - mine[1] + theirs[1];
	msg.monotonic_sec = mono / NSEC_PER_SEC;
	msg.monotonic_nsec = (uint32_t)(mono % NSEC_PER_SEC);
	msg.boottime_sec = boot / NSEC_PER_SEC;
	msg.boottime_nsec = (uint32_t)(boot % NSEC_PER_SEC);
	ret = image_write_single(dir, IMG_TIMENS, 0, &msg.base);
	if (!ret)
		pr_info("dump: pid %d: its own time namespace: monotonic %lld.%09u s, boottime "
			"%lld.%09u s", pid, (long long)msg.monotonic_sec, msg.monotonic_nsec,
			(long long)msg.boottime_sec, msg.boottime_nsec);
	return ret;
}

int ns_time_load(const struct image_dir *dir, struct ns_own *own)
{
	struct image *img;
	const TimeNs *t;
	int ret;

	if (faccessat(dir->fd, "timens.img", F_OK, 0) && errno == ENOENT)
		return 0;
	ret = image_read(dir, IMG_TIMENS, 0, &img);
	if (ret)
		return ret;
	/* Refused before anything is made, by name. */
	if (access("/proc/self/timens_offsets", F_OK)) {
		image_free(img);
		pr_err("restore: the tree had a time namespace of its own (timens.img), and this "
		       "kernel makes none (CONFIG_TIME_NS)");
		return -EOPNOTSUPP;
	}
	t = (const TimeNs *)img->records[0].msg;
	own->time = true;
	own->monotonic = (struct timespec){ t->monotonic_sec, t->monotonic_nsec };
	own->boottime = (struct timespec){ t->boottime_sec, t->boottime_nsec };
	image_free(img);
	return 0;
}

/* "CLOCK SEC NSEC" with 0 <= NSEC < 1e9, as the kernel reads an offset. */
static int format_offset(char *buf, size_t size, const char *clock, long long ns)
{
	long long sec = ns / NSEC_PER_SEC, nsec = ns % NSEC_PER_SEC;

	if (nsec < 0) {
		nsec += NSEC_PER_SEC;
		sec--;
	}
	return snprintf(buf, size, "%s %lld %lld\n", clock, sec, nsec);
}

int ns_time_make(const struct ns_own *own)
{
	long long mine[2], mono, boot;
	char text[128];
	int len, ret;

	ret = read_offsets("/proc/self/timens_offsets", &mine[0], &mine[1]);
	if (ret) {
		pr_err("restore: cannot read cryo's time namespace offsets: %s", strerror(-ret));
		return ret;
	}
	/* The saved clock less what the clock of the initial namespace reads
	 * now: the offset that makes the new namespace read the saved value. */
	mono = own->monotonic.tv_sec * NSEC_PER_SEC + own->monotonic.tv_nsec -
	       (now_ns(CLOCK_MONOTONIC) - mine[0]);
	boot = own->boottime.tv_sec * NSEC_PER_SEC + own->boottime.tv_nsec -
	       (now_ns(CLOCK_BOOTTIME) - mine[1]);
	len = format_offset(text, sizeof(text), "monotonic", mono);
	format_offset(text + len, sizeof(text) - len, "boottime", boot);
	/* Made inside the tree's user namespace when that one owned it. */
	ret = ns_user_make_time(own->userns, text);
	if (ret)
		pr_err("restore: cannot make a time namespace: %s", strerror(-ret));
	return ret;
}
