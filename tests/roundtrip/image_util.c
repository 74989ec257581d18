/* Image sets as the negative and trust tests need them: made by a real
 * dump, copied, listed, changed, and restored to be refused with nothing
 * left behind. Not the forging of particular fields (each test's own). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "image_util.h"
#include "runner_util.h"

/* Starts test program @prog and dumps it (it is killed), leaving the images
 * in @p->dir/img and the image's pid in @pid. */
bool make_image(struct prog *p, const char *prog, char *img, pid_t *pid)
{
	return make_image_as(p, prog, NULL, NULL, img, pid);
}

bool make_image_as(struct prog *p, const char *prog, child_setup_fn setup, void *arg, char *img,
		   pid_t *pid)
{
	int status;

	if (!start_prog(p, prog, setup, arg))
		return false;
	pathf(img, "%s/img", p->dir);
	if (!prog_dump(p, img, NULL))
		return false;
	if (!wait_child(p->pid, WAIT_MS, &status))
		return fail_why("the program still runs after its dump");
	*pid = p->pid;
	p->pid = 0;
	return true;
}

/* After a failed restore: no task with the image's pid running our test
 * program, and no child of ours left at all but @keep (restored tasks
 * would be reparented to us). Anything found is ended. */
bool nothing_restored(const struct prog *p, pid_t image_pid, pid_t keep)
{
	char path[64], exe[PATH_MAX], stat_text[512];
	bool ok = true;
	pid_t stray;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", image_pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (image_pid != keep && n > 0) {
		exe[n] = '\0';
		if (!strcmp(exe, p->path))
			ok = fail_why("pid %d runs %s after a failed restore", image_pid, exe);
	}
	stray = end_children(keep, stat_text, sizeof(stat_text));
	if (stray && ok)
		ok = fail_why("a failed restore left pid %d behind: %.100s", stray, stat_text);
	return ok;
}

bool copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n = 0;
	bool ok = in >= 0 && out >= 0;

	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, n) == n;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		ok = false;
	return ok && n == 0 ? true : fail_why("cannot copy %s to %s", from, to);
}

/* A fresh copy of image directory @from in @to (removed first). */
bool copy_images(const char *from, const char *to)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct dirent *de;
	bool ok = true;
	DIR *d;

	remove_temp_dir(to);
	if (mkdir(to, 0700))
		return fail_why("mkdir %s: %s", to, strerror(errno));
	d = opendir(from);
	if (!d)
		return fail_why("opendir %s: %s", from, strerror(errno));
	while (ok && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		pathf(src, "%s/%s", from, de->d_name);
		pathf(dst, "%s/%s", to, de->d_name);
		ok = copy_file(src, dst);
	}
	closedir(d);
	return ok;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The names of the image files in @dir, sorted. */
int list_images(const char *dir, char names[][64], int max)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)) && n < max) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] != '.' && len > 4 && len < 64 &&
		    !strcmp(de->d_name + len - 4, ".img"))
			snprintf(names[n++], 64, "%s", de->d_name);
	}
	if (d)
		closedir(d);
	qsort(names, n, 64, compare_names);
	return n;
}

/* Restores @dir, which must be refused with a message holding @key and
 * @key2 (unless NULL); no process may be left behind. @what says what is
 * wrong with the images. */
bool restore_refused(const struct prog *p, const char *dir, pid_t image_pid,
			    const char *what, const char *key, const char *key2)
{
	char pidfile[PATH_MAX], cause[sizeof(why)] = "";
	struct cryo_run r;

	pathf(pidfile, "%s.pid", dir);
	prog_cryo(&r, p, "restore", "-D", dir, "-d", "--pidfile", pidfile);
	if (!refused(&r, key, key2, NULL))
		snprintf(cause, sizeof(cause), "%s", why);
	/* Even after a wrong success: whatever was restored must go. */
	if (!nothing_restored(p, image_pid, 0) && !cause[0])
		snprintf(cause, sizeof(cause), "%s", why);
	return cause[0] ? fail_why("%s: %s", what, cause) : true;
}

/* Restores a copy of @img after @change(path) made one thing wrong with
 * it: refused with @key naming @path. */
bool refused_after(const struct prog *p, const char *img, pid_t image_pid,
			  const char *name, int (*change)(const char *path), const char *key)
{
	char copy[PATH_MAX], path[PATH_MAX];

	pathf(copy, "%s/changed", p->dir);
	if (!copy_images(img, copy))
		return false;
	if (name)
		pathf(path, "%s/%s", copy, name);
	else
		pathf(path, "%s", copy);
	if (change(path))
		return fail_why("cannot change %s: %s", path, strerror(errno));
	return restore_refused(p, copy, image_pid, key, path, key);
}

/* A failed dump removes what it wrote: no image and no temporary file is
 * left in @dir (a log may be). */
bool no_image_files(const char *dir)
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
