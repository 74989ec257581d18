/* A large task's pages in two files (pages-PID.img and pages2-PID.img,
 * mem/pagesplice.c): the set restores whole, with cryo's filler or without,
 * and the second file is held to the same rules as the first: a byte
 * changed in it, or the file gone, refuses the restore by its name before
 * anything of the task runs; a dump whose two writers both meet a full
 * disk fails, leaves no image file and the program as it was. A set out
 * of the page cache is read ahead (restorer/fill_stream.c, and cryo's half
 * by restore/filler_direct.c) around the cache, and a byte changed in
 * either half is still refused. The round trips of every cycle are
 * test_roundtrip's (prog_counter_two_files). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "kabi/kabi.h"
#include "runner_util.h"

/* Flips one bit of the byte in the middle of @path. */
static int flip_middle_byte(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unsigned char byte;
	struct stat st;
	int ret = fd >= 0 && !fstat(fd, &st) && st.st_size > 1 ? 0 : -1;

	if (!ret && pread(fd, &byte, 1, st.st_size / 2) != 1)
		ret = -1;
	byte ^= 0x10;
	if (!ret && pwrite(fd, &byte, 1, st.st_size / 2) != 1)
		ret = -1;
	if (fd >= 0)
		close(fd);
	return ret;
}

static int remove_file(const char *path)
{
	return unlink(path);
}

/* prog_counter_two_files dumped into two pages files (the threshold moved
 * down to its 20 MiB), both holding pages. */
static bool make_two_file_image(struct prog *p, char *img, pid_t *pid, char *second)
{
	char first[PATH_MAX];
	struct stat st1, st2;
	bool ok;

	setenv("CRYO_TEST_TWO_FILES_MIN", "1", 1);
	ok = make_image(p, "prog_counter_two_files", img, pid);
	unsetenv("CRYO_TEST_TWO_FILES_MIN");
	if (!ok)
		return false;
	pathf(first, "%s/pages-%d.img", img, *pid);
	pathf(second, "%s/pages2-%d.img", img, *pid);
	if (stat(first, &st1) || stat(second, &st2))
		return fail_why("no two pages files in %s: %s", img, strerror(errno));
	if (!st1.st_size || !st2.st_size)
		return fail_why("a pages file is empty: %lld and %lld bytes",
				(long long)st1.st_size, (long long)st2.st_size);
	return true;
}

/* Restores a copy of @img (with cryo's filler if @filler) and checks the
 * program goes on from where it was. */
static bool restores_whole(struct prog *p, const char *img, pid_t pid, bool filler)
{
	char copy[PATH_MAX];
	struct cryo_run r;

	pathf(copy, "%s/clean-%d", p->dir, filler);
	if (!copy_images(img, copy))
		return false;
	if (filler)
		setenv("CRYO_TEST_FILLER", "1", 1);
	prog_cryo(&r, p, "restore", "-D", copy, "-d");
	unsetenv("CRYO_TEST_FILLER");
	if (r.status)
		return fail_why("restore (filler %d) failed (%d): %s", filler, r.status, r.out);
	p->pid = pid;
	return prog_passes(p);
}

TEST(a_set_of_two_pages_files_restores_with_and_without_the_filler)
{
	char img[PATH_MAX], second[PATH_MAX];
	struct prog p = { 0 };
	pid_t pid = 0;

	CHECK_GOTO(make_two_file_image(&p, img, &pid, second), out, "%s", why);
	CHECK_GOTO(restores_whole(&p, img, pid, false), out, "without the filler: %s", why);
	CHECK_GOTO(restores_whole(&p, img, pid, true), out, "with the filler: %s", why);
out:
	end_prog(&p);
}

/* Pages of @path in the page cache, and all its pages, into *@cached and
 * *@all; after fdatasync() and POSIX_FADV_DONTNEED first when @drop. */
static bool cache_state(const char *path, bool drop, uint64_t *cached, uint64_t *all)
{
	struct kabi_cachestat_range range = { 0, 0 };
	struct kabi_cachestat cs;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && !fstat(fd, &st) &&
		  (!drop || (!fdatasync(fd) && !posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))) &&
		  !syscall(__NR_cachestat, fd, &range, &cs, 0);

	if (fd >= 0)
		close(fd);
	if (!ok)
		return fail_why("%s: cannot %s: %s", path, drop ? "drop it from the page cache" :
				"learn how much of it is cached", strerror(errno));
	*cached = cs.nr_cache;
	*all = (uint64_t)st.st_size / 4096;
	return true;
}

/* Both pages files of @dir (the image of @pid) out of the page cache:
 * before the restore when @drop, else still mostly after it (read
 * O_DIRECT, not through the cache). */
static bool pages_cold(const char *dir, pid_t pid, bool drop)
{
	const char *names[] = { "pages", "pages2" };

	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX];
		uint64_t cached = 0, all = 0;

		pathf(path, "%s/%s-%d.img", dir, names[i], pid);
		if (!cache_state(path, drop, &cached, &all))
			return false;
		if (cached * (drop ? 8 : 2) > all)
			return fail_why("%s: %llu of its %llu pages in the page cache %s", path,
					(unsigned long long)cached, (unsigned long long)all,
					drop ? "after POSIX_FADV_DONTNEED: this filesystem cannot "
					"make it cold" : "after the restore: not read O_DIRECT");
	}
	return true;
}

/* Whether a line of @dir/@name holds @text. */
static bool log_says(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], line[1024];
	bool found = false;
	FILE *f;

	pathf(path, "%s/%s", dir, name);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* Restores a cold copy of @img with cryo's filler forced on, or on one CPU
 * (no filler), and checks the program goes on from where it was and the
 * files were read around the page cache. */
static bool restores_cold(struct prog *p, const char *img, pid_t pid, bool filler)
{
	char copy[PATH_MAX];
	cpu_set_t all, one;
	struct cryo_run r;

	pathf(copy, "%s/cold-%d", p->dir, filler);
	if (!copy_images(img, copy) || !pages_cold(copy, pid, true))
		return false;
	if (sched_getaffinity(0, sizeof(all), &all))
		return fail_why("sched_getaffinity: %s", strerror(errno));
	CPU_ZERO(&one);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &all)) {
			CPU_SET(cpu, &one);
			break;
		}
	if (filler)
		setenv("CRYO_TEST_FILLER", "1", 1);
	else if (sched_setaffinity(0, sizeof(one), &one))
		return fail_why("sched_setaffinity: %s", strerror(errno));
	/* 20 MiB: under the threshold of read-ahead, moved down to it. */
	setenv("CRYO_TEST_READ_AHEAD_MIN", "1", 1);
	prog_cryo(&r, p, "restore", "-D", copy, "-d", "-v4", "-o", "cold.log");
	unsetenv("CRYO_TEST_READ_AHEAD_MIN");
	unsetenv("CRYO_TEST_FILLER");
	if (!filler && sched_setaffinity(0, sizeof(all), &all))
		return fail_why("sched_setaffinity back: %s", strerror(errno));
	if (r.status)
		return fail_why("cold restore (filler %d) failed (%d): %s", filler, r.status, r.out);
	if (!pages_cold(copy, pid, false))
		return false;
	/* A cold file gets cryo's filler only through the read-ahead stream. */
	if (filler && !log_says(copy, "cold.log", "cryo's filler copied"))
		return fail_why("cryo's filler copied nothing of the cold set: not read ahead");
	p->pid = pid;
	return prog_passes(p);
}

TEST(a_cold_set_of_two_pages_files_is_read_ahead_around_the_cache_with_and_without_the_filler)
{
	char img[PATH_MAX], second[PATH_MAX];
	struct prog p = { 0 };
	pid_t pid = 0;

	CHECK_GOTO(make_two_file_image(&p, img, &pid, second), out, "%s", why);
	CHECK_GOTO(restores_cold(&p, img, pid, true), out, "with the filler: %s", why);
	CHECK_GOTO(restores_cold(&p, img, pid, false), out, "on one CPU: %s", why);
out:
	end_prog(&p);
}

/* Flips one bit at @off of @path and drops the file from the page cache. */
static int flip_cold_byte_at(const char *path, off_t off)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unsigned char byte;
	int ret = fd >= 0 && pread(fd, &byte, 1, off) == 1 ? 0 : -1;

	byte ^= 0x10;
	if (!ret && (pwrite(fd, &byte, 1, off) != 1 || fdatasync(fd) ||
		     posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)))
		ret = -1;
	if (fd >= 0)
		close(fd);
	return ret;
}

/* In the restorer's first 4 MiB segment, and in cryo's first
 * (RESTORER_FILLER_SEGMENT: the filler's are the odd ones). */
static int flip_in_restorers_half(const char *path)
{
	return flip_cold_byte_at(path, (1 << 20) + 100);
}

static int flip_in_fillers_half(const char *path)
{
	return flip_cold_byte_at(path, (5 << 20) + 100);
}

TEST(a_byte_changed_in_either_half_of_a_cold_pages_file_is_refused)
{
	char img[PATH_MAX], second[PATH_MAX], name[64], first[PATH_MAX];
	struct prog p = { 0 };
	struct stat st;
	pid_t pid = 0;

	CHECK_GOTO(make_two_file_image(&p, img, &pid, second), out, "%s", why);
	snprintf(name, sizeof(name), "pages-%d.img", pid);
	pathf(first, "%s/%s", img, name);
	CHECK_GOTO(!stat(first, &st) && st.st_size > (6 << 20), out,
		   "%s holds no 6 MiB (%lld bytes): no segment of cryo's to change", first,
		   (long long)st.st_size);
	setenv("CRYO_TEST_FILLER", "1", 1);
	setenv("CRYO_TEST_READ_AHEAD_MIN", "1", 1);
	CHECK_GOTO(refused_after(&p, img, pid, name, flip_in_restorers_half,
				 "its digest differs from the inventory's"),
		   out, "a byte of the restorer's half: %s", why);
	CHECK_GOTO(refused_after(&p, img, pid, name, flip_in_fillers_half,
				 "its digest differs from the inventory's"),
		   out, "a byte of cryo's half: %s", why);
out:
	unsetenv("CRYO_TEST_READ_AHEAD_MIN");
	unsetenv("CRYO_TEST_FILLER");
	end_prog(&p);
}

TEST(a_changed_or_missing_second_pages_file_is_refused_by_name)
{
	char img[PATH_MAX], second[PATH_MAX], name[64];
	struct prog p = { 0 };
	pid_t pid = 0;

	CHECK_GOTO(make_two_file_image(&p, img, &pid, second), out, "%s", why);
	snprintf(name, sizeof(name), "pages2-%d.img", pid);
	/* The restorer hashes the second file as it fills from it. */
	CHECK_GOTO(refused_after(&p, img, pid, name, flip_middle_byte,
				 "its digest differs from the inventory's"),
		   out, "a flipped byte in the second file: %s", why);
	/* Its pagemap names it: the check against the file finds none. */
	CHECK_GOTO(refused_after(&p, img, pid, name, remove_file, "cannot stat"), out,
		   "the second file gone: %s", why);
out:
	end_prog(&p);
}

TEST(a_dump_of_two_pages_files_into_a_full_disk_fails_and_the_program_runs_on)
{
	char mnt[PATH_MAX], img[PATH_MAX], pid[16];
	struct prog p = { 0 };
	struct cryo_run r;
	bool mounted = false;

	CHECK_GOTO(start_prog(&p, "prog_counter_two_files", NULL, NULL), out, "%s", why);
	pathf(mnt, "%s/small", p.dir);
	pathf(img, "%s/img", mnt);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	CHECK_GOTO(!mkdir(mnt, 0700) && !mount("tmpfs", mnt, "tmpfs", 0, "size=8m"), out,
		   "mount a tmpfs of 8 MiB on %s: %s", mnt, strerror(errno));
	mounted = true;
	/* 20 MiB of pages into 8: both writers fail. */
	setenv("CRYO_TEST_TWO_FILES_MIN", "1", 1);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-v3");
	unsetenv("CRYO_TEST_TWO_FILES_MIN");
	CHECK_GOTO(strstr(r.out, "two pages files on two threads"), out,
		   "the dump did not write two files: %s", r.out);
	CHECK_GOTO(refused(&r, "No space left on device", "pages", NULL), out, "%s", why);
	CHECK_GOTO(no_inventory(img) && no_image_files(img), out, "%s", why);
	CHECK_GOTO(prog_unharmed(&p), out, "after the failed dump: %s", why);
out:
	if (mounted && umount2(mnt, MNT_DETACH))
		harness_fail(__FILE__, __LINE__, "umount %s: %s", mnt, strerror(errno));
	end_prog(&p);
}
