/* The "timerfd" kind: clock, settime flags, time left, interval and ticks
 * not read yet. Restore arms a new timer for the time that was left (an
 * absolute timer at now plus that) and sets the ticks back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/time_units.h"
#include "files/kind.h"

/* In <linux/timerfd.h> (3.17), which cannot be included beside glibc's
 * <sys/timerfd.h>: it belongs in kabi.h. */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, __u64)
#endif

/* Times past this many nanoseconds (about 292 years) overflow the sums. */
#define TIMERFD_NS_MAX (1ull << 63)

static bool timerfd_recognise(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[timerfd]");
}

static uint64_t ts_to_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };
}

static int timerfd_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	uint64_t clockid, ticks, flags;
	struct itimerspec its;
	TimerfdFile *t;
	int ret;

	/* Reading the time left changes no setting of the timer. */
	if (timerfd_gettime(p->dup, &its))
		return pr_errno_ret("dump: pid %d fd %d (%s): cannot read the timer", p->pid,
				    p->fd, p->link);
	ret = fdinfo_u64(p, "clockid", 10, &clockid);
	if (!ret)
		ret = fdinfo_u64(p, "ticks", 10, &ticks);
	if (!ret)
		ret = fdinfo_u64(p, "settime flags", 8, &flags);
	if (ret)
		return ret;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	timerfd_file__init(t);
	d->fe->timerfd = t;
	t->clockid = clockid;
	t->settime_flags = flags;
	t->value_ns = ts_to_ns(&its.it_value);
	t->interval_ns = ts_to_ns(&its.it_interval);
	t->ticks = ticks;
	return 0;
}

static bool known_clock(int clockid)
{
	return clockid == CLOCK_REALTIME || clockid == CLOCK_MONOTONIC ||
	       clockid == CLOCK_BOOTTIME || clockid == CLOCK_REALTIME_ALARM ||
	       clockid == CLOCK_BOOTTIME_ALARM;
}

static int timerfd_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const TimerfdFile *t = f->e->timerfd;
	unsigned int known = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;

	(void)dir;
	if (!known_clock(t->clockid) || (t->settime_flags & ~known)) {
		load_err(img, f, "clock %d or settime flags %#o unknown", t->clockid,
			 t->settime_flags);
		return -EBADMSG;
	}
	if (t->value_ns >= TIMERFD_NS_MAX || t->interval_ns >= TIMERFD_NS_MAX) {
		load_err(img, f, "time left or interval out of range");
		return -EBADMSG;
	}
	return 0;
}

/* The clock an _ALARM clock reads. */
static clockid_t base_clock(clockid_t clockid)
{
	if (clockid == CLOCK_REALTIME_ALARM)
		return CLOCK_REALTIME;
	if (clockid == CLOCK_BOOTTIME_ALARM)
		return CLOCK_BOOTTIME;
	return clockid;
}

static int arm(const TimerfdFile *t, int fd)
{
	struct itimerspec its = { .it_interval = ns_to_ts(t->interval_ns) };
	uint64_t value = t->value_ns;

	if (value && (t->settime_flags & TFD_TIMER_ABSTIME)) {
		struct timespec now;

		if (clock_gettime(base_clock(t->clockid), &now))
			return -errno;
		value += ts_to_ns(&now);
	}
	its.it_value = ns_to_ts(value);
	if (timerfd_settime(fd, t->settime_flags, &its, NULL))
		return -errno;
	if (t->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &t->ticks))
		return -errno;
	return 0;
}

static int timerfd_open(struct restore_ctx *r, const struct file_obj *f)
{
	const TimerfdFile *t = f->e->timerfd;
	int fd, ret;

	fd = timerfd_create(t->clockid, TFD_CLOEXEC);
	if (fd < 0) {
		restore_err(r, f, "cannot create a timerfd on clock %d: %s", t->clockid,
			    strerror(errno));
		return -errno;
	}
	ret = arm(t, fd);
	if (ret) {
		restore_err(r, f, "cannot arm it (%llu ns left, every %llu ns, %llu ticks): %s",
			    (unsigned long long)t->value_ns, (unsigned long long)t->interval_ns,
			    (unsigned long long)t->ticks, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

const struct file_kind timerfd_kind = {
	.name = "timerfd",
	.type = FILE_ENTRY__KIND__TIMERFD,
	.recognise = timerfd_recognise,
	.dump = timerfd_dump,
	.check = timerfd_check,
	.open = timerfd_open,
	.in_flight_ok = true,
};
