/* A large task's pages in two files (pages-PID.img and pages2-PID.img,
 * mem/pagesplice.c): the set restores whole, with cryo's filler or without,
 * and the second file is held to the same rules as the first: a byte
 * changed in it, or the file gone, refuses the restore by its name before
 * anything of the task runs; a dump whose two writers both meet a full
 * disk fails, leaves no image file and the program as it was. The round trips of every cycle are
 * test_roundtrip's (prog_counter_two_files). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
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

/* Whether @dir holds no image file (nor a temporary one). */
static bool no_image_file(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool ok = true;

	while (ok && d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > 4 && (!strcmp(de->d_name + len - 4, ".img") ||
				!strcmp(de->d_name + len - 4, ".tmp")))
			ok = fail_why("the failed dump left %s/%s", dir, de->d_name);
	}
	if (d)
		closedir(d);
	return ok;
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
	CHECK_GOTO(no_inventory(img) && no_image_file(img), out, "%s", why);
	CHECK_GOTO(prog_unharmed(&p), out, "after the failed dump: %s", why);
out:
	if (mounted && umount2(mnt, MNT_DETACH))
		harness_fail(__FILE__, __LINE__, "umount %s: %s", mnt, strerror(errno));
	end_prog(&p);
}
