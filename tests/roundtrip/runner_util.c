/* Helpers shared by the runners (see runner_util.h). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner_util.h"

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

bool wait_child(pid_t pid, long ms, int *status)
{
	long deadline = now_ms() + ms;

	do {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return true;
		if (w < 0)
			return false;
		sleep_ms(2);
	} while (now_ms() < deadline);
	return false;
}

bool reap_all_children(long ms)
{
	long deadline = now_ms() + ms;

	do {
		pid_t w = waitpid(-1, NULL, WNOHANG);

		if (w < 0)
			return errno == ECHILD;
		if (w == 0)
			sleep_ms(2);
	} while (now_ms() < deadline);
	return false;
}

bool reap_children_but(pid_t keep, long ms)
{
	long deadline = now_ms() + ms;
	char path[64];
	int child;

	if (!keep)
		return reap_all_children(ms);
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", getpid());
	do {
		FILE *f;
		bool others = false;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		f = fopen(path, "r");
		while (f && fscanf(f, "%d", &child) == 1)
			others |= child != keep;
		if (f)
			fclose(f);
		if (!others)
			return true;
		sleep_ms(2);
	} while (now_ms() < deadline);
	return false;
}

void end_all_children(void)
{
	long deadline = now_ms() + 5000;
	char path[64];
	int child;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", getpid());
	do {
		FILE *f = fopen(path, "r");
		bool any = false;

		while (f && fscanf(f, "%d", &child) == 1) {
			kill(child, SIGKILL);
			any = true;
		}
		if (f)
			fclose(f);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!any)
			return;
		sleep_ms(2);
	} while (now_ms() < deadline);
}

/* Goes on past an entry it cannot remove, so one busy folder does not
 * leave the rest behind. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* A folder that a mount of a dying process's namespace still covers
 * cannot be removed until the kernel has torn that namespace down, a
 * moment after the process was reaped: tried again for up to a second. */
void remove_tree(const char *path)
{
	struct stat st;

	if (!path[0])
		return;
	for (int tries = 0; tries < 100; tries++) {
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (lstat(path, &st))
			return;
		sleep_ms(10);
	}
}

bool note_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why[0])
		return false;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return false;
}

/* A thread of @pid other than its leader; 0 if none. */
pid_t other_thread(pid_t pid)
{
	char dir_path[64];
	struct dirent *de;
	pid_t tid = 0;
	DIR *d;

	snprintf(dir_path, sizeof(dir_path), "/proc/%d/task", pid);
	d = opendir(dir_path);
	while (d && (de = readdir(d)))
		if (atoi(de->d_name) > 0 && atoi(de->d_name) != pid)
			tid = atoi(de->d_name);
	if (d)
		closedir(d);
	return tid;
}

/* The id of the segment neg_sysv_shm made for @pid, or -1. */
int sysv_segment_of(pid_t pid)
{
	return shmget((key_t)(0x5f000000 | pid), 0, 0);
}

int enter_private_netns(void)
{
	int saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), err;

	if (saved < 0)
		return -errno;
	if (unshare(CLONE_NEWNET) || system("ip link set lo up")) {
		err = errno ? -errno : -EIO;
		leave_private_netns(saved);
		return err;
	}
	return saved;
}

void leave_private_netns(int saved)
{
	if (setns(saved, CLONE_NEWNET))
		fprintf(stderr, "test: cannot go back to the runner's network namespace: %s\n",
			strerror(errno));
	close(saved);
}
