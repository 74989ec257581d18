/* Negative tests (test_negative.c says what they check): a dump that fails
 * or dies midway (a full disk, a dumper killed while it writes pages or at a
 * random moment) leaves the program as it was, and the temporary files of a
 * dead dumper are removed by the next run. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/sched.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"

/* ---- a failed dump never harms the dumped process ---------------------------- */

/* A tmpfs of a given size in a mount namespace of its own, held by a child
 * that waits for its pipe to close. Others enter it with setns(). */
struct small_disk {
	pid_t holder;
	int release_fd;
	char mnt[PATH_MAX];
	char seen[PATH_MAX];	/* the mount as seen from here */
};

static bool small_disk_start(struct small_disk *d, const char *mnt, unsigned long kib)
{
	int ready[2], release[2];
	char opts[64], byte;

	d->holder = -1;
	d->release_fd = -1;
	pathf(d->mnt, "%s", mnt);
	if (mkdir(mnt, 0700) && errno != EEXIST)
		return fail_why("mkdir %s: %s", mnt, strerror(errno));
	if (pipe2(ready, O_CLOEXEC) || pipe2(release, O_CLOEXEC))
		return fail_why("pipe: %s", strerror(errno));
	snprintf(opts, sizeof(opts), "size=%luk,mode=0700", kib);
	d->holder = fork();
	if (d->holder == 0) {
		close(ready[0]);
		close(release[1]);
		/* Never in the global namespace: a private copy first. */
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, opts))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (read(release[0], &byte, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	d->release_fd = release[1];
	if (d->holder < 0 || read(ready[0], &byte, 1) != 1) {
		close(ready[0]);
		return fail_why("cannot mount a %lu KiB tmpfs on %s in a new mount namespace", kib,
				mnt);
	}
	close(ready[0]);
	pathf(d->seen, "/proc/%d/root%s", d->holder, mnt);
	return true;
}

static void small_disk_end(struct small_disk *d)
{
	if (d->release_fd >= 0)
		close(d->release_fd);
	if (d->holder > 0 && !wait_child(d->holder, WAIT_MS, NULL))
		kill_and_reap(d->holder);
	d->holder = -1;
	d->release_fd = -1;
}

static void enter_small_disk(void *arg)
{
	const struct small_disk *d = arg;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", d->holder);
	fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNS)) {
		fprintf(stderr, "test: cannot enter the mount namespace of %s\n", path);
		_exit(126);
	}
}

/* Dumps with -R into ever larger tmpfs, one page more each time, until the
 * images fit: each dump that does not must fail naming the file it could
 * not write, leave no image file (inventory.img or other) and leave the
 * program as it was. */
TEST(dump_into_a_full_disk_fails_and_the_program_runs_on)
{
	struct prog p = { 0 };
	struct small_disk d = { .holder = -1, .release_fd = -1 };
	char mnt[PATH_MAX], img[PATH_MAX], pid[16], named[8][64];
	int nr_named = 0, failures = 0;
	bool fitted = false;
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pathf(mnt, "%s/mnt", p.dir);
	pathf(img, "%s/img", mnt);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	for (unsigned long kib = 4; !fitted && kib <= 2048; kib += 4) {
		char seen[PATH_MAX];
		const char *file, *end;

		CHECK_GOTO(small_disk_start(&d, mnt, kib), out, "%s", why);
		cryo_call(&r, &(struct cryo_call){ .args = CRYO_ARGS("dump", "-t", pid, "-D", img, "-R"),
						   .program = p.program,
						   .setup = enter_small_disk,
						   .setup_arg = &d });
		pathf(seen, "%s/img", d.seen);
		if (r.status == 0) {
			fitted = true;
			CHECK_GOTO(exists(seen, "inventory.img"), out,
				   "a dump that succeeded in %lu KiB left no inventory.img", kib);
		} else {
			failures++;
			CHECK_GOTO(refused(&r, "No space left on device", img, ".img", NULL), out,
				   "in %lu KiB: %s", kib, why);
			CHECK_GOTO(no_inventory(seen), out, "in %lu KiB: %s", kib, why);
			CHECK_GOTO(no_image_files(seen), out, "in %lu KiB: %s", kib, why);
			/* Note each file named, to see the failure move along the dump. */
			file = strstr(r.out, img) + strlen(img) + 1;
			end = strstr(file, ".img");
			if (end && nr_named < 8 && (nr_named == 0 ||
			    strncmp(named[nr_named - 1], file, end - file)))
				snprintf(named[nr_named++], sizeof(named[0]), "%.*s",
					 (int)(end - file), file);
		}
		small_disk_end(&d);
		CHECK_GOTO(prog_unharmed(&p), out, "after a dump into %lu KiB: %s", kib, why);
	}
	CHECK_GOTO(fitted, out, "the images never fitted in 2 MiB");
	CHECK_GOTO(failures > 0 && nr_named >= 3, out,
		   "%d failed dumps named only %d different files (%s...)", failures, nr_named,
		   nr_named ? named[0] : "none");
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	small_disk_end(&d);
	end_prog(&p);
}

TEST(dumper_killed_while_writing_pages_leaves_the_program_running)
{
	struct prog p = { 0 };
	char img[PATH_MAX], pages[PATH_MAX], done[64], pid[16];
	long deadline;
	struct stat st;
	pid_t dumper = -1;
	int null_fd, status;
	bool ended = false;

	CHECK_GOTO(start_prog(&p, "neg_big_memory", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	pathf(pages, "%s/.pages-%d.img.tmp", img, p.pid);
	snprintf(done, sizeof(done), "pages-%d.img", p.pid);
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	dumper = cryo_spawn(null_fd, &(struct cryo_call){ .args = CRYO_ARGS("dump", "-t", pid, "-D",
									   img),
							  .program = p.program });
	close(null_fd);
	CHECK_GOTO(dumper > 0, out, "fork: %s", strerror(errno));
	/* Killed once 16 MiB of pages are out, long before the 256 MiB are. */
	deadline = now_ms() + CRYO_MS;
	while ((stat(pages, &st) || st.st_size < (16 << 20)) && now_ms() < deadline && !ended)
		if (!(ended = waitpid(dumper, &status, WNOHANG) == dumper))
			sleep_ms(1);
	if (!ended)
		kill_and_reap(dumper);
	CHECK_GOTO(!ended && !stat(pages, &st) && st.st_size >= (16 << 20), out,
		   "the dumper was not caught writing pages (it ended or never wrote them)");
	CHECK_GOTO(!exists(img, done), out, "the pages file was complete when the dumper died");
	CHECK_GOTO(no_inventory(img), out, "%s", why);
	CHECK_GOTO(prog_unharmed(&p), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* No thread of @pid is traced any more (the kernel detaches them once
 * their tracer is gone, which takes a moment). */
static bool no_thread_traced(pid_t pid)
{
	char dir_path[64], path[PATH_MAX], text[4096], *field;
	long deadline = now_ms() + 2000;
	struct dirent *de;
	bool traced;
	DIR *d;

	snprintf(dir_path, sizeof(dir_path), "/proc/%d/task", pid);
	do {
		traced = false;
		d = opendir(dir_path);
		if (!d)
			return fail_why("the program went away");
		while (!traced && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/status", dir_path, de->d_name);
			field = read_text(path, text, sizeof(text)) ? strstr(text, "TracerPid:") : NULL;
			traced = field && atoi(field + 10) != 0;
		}
		closedir(d);
		if (traced)
			sleep_ms(5);
	} while (traced && now_ms() < deadline);
	return traced ? fail_why("a thread of pid %d is still traced", pid) : true;
}

/* @maps without its anonymous rwxp mappings: parasite areas (blob,
 * arguments, stack), which nothing else of these programs maps. Adjacent
 * areas merge, so they are told apart from the rest, not counted. */
/* How long a program let go mid-dump may take to run its way back (the
 * parasite sees its channel close, unmaps its area and returns) on a
 * loaded machine. */
#define WAY_BACK_MS 5000

/* The program's mappings are those of @p->maps once it has run its way
 * back: nothing a dumper mapped is left, the parasite's area (an anonymous
 * rwxp mapping) least of all. */
static bool maps_unchanged(struct prog *p)
{
	static char maps[sizeof(p->maps)];
	char path[64], line[256];
	long deadline = now_ms() + WAY_BACK_MS;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	do {
		if (!read_text(path, maps, sizeof(maps)))
			return fail_why("cannot read %s", path);
		if (!strcmp(maps, p->maps))
			return true;
		sleep_ms(1);
	} while (now_ms() < deadline);
	first_difference(maps, p->maps, line, sizeof(line));
	if (strstr(line, " rwxp 00000000 00:00 0 "))
		return fail_why("the parasite's area stayed mapped in the program: %s", line);
	return fail_why("the program's mappings changed, now: %s", line);
}

/* Kills @rounds dumps of @p at random moments from 0.5 ms to @window_us
 * in; after each the program must be untraced and its maps as they were. */
static bool kill_dumps_at_random(struct prog *p, int rounds, long window_us)
{
	char img[PATH_MAX], pid[16], cause[sizeof(why)];
	int null_fd, status;

	snprintf(pid, sizeof(pid), "%d", p->pid);
	for (int i = 0; i < rounds; i++) {
		long at = 500 + rand() % window_us;
		pid_t dumper;

		pathf(img, "%s/img%d", p->dir, i);
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		dumper = cryo_spawn(null_fd, &(struct cryo_call){
			.args = CRYO_ARGS("dump", "-t", pid, "-D", img, "-R"),
			.program = p->program,
		});
		close(null_fd);
		if (dumper <= 0)
			return fail_why("fork: %s", strerror(errno));
		usleep((useconds_t)at);
		kill_and_reap(dumper);
		if (waitpid(p->pid, &status, WNOHANG) != 0)
			return fail_why("the program died when dumper %d was killed %ld us in "
					"(round %d)", dumper, at, i);
		if (!no_thread_traced(p->pid) || !maps_unchanged(p)) {
			snprintf(cause, sizeof(cause), "%s", why);
			return fail_why("round %d, killed %ld us in: %s", i, at, cause);
		}
	}
	return true;
}

/* SIGKILL to the dumper at random moments of the whole dump of one thread
 * (about 30 ms), where the parasite's area is mapped and unmapped: the
 * maps after each are those before. */
TEST(dumper_killed_at_random_leaves_no_mapping_behind)
{
	struct prog p = { 0 };

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	srand((unsigned int)getpid());
	CHECK_GOTO(kill_dumps_at_random(&p, 60, 40000), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* SIGKILL to the dumper at random moments of the dump of 65 threads (the
 * per-thread remote syscalls included): every thread must run on as if
 * never seized, and the program passes all its checks at the end. */
TEST(dumper_killed_at_random_leaves_every_thread_whole)
{
	struct prog p = { 0 };

	CHECK_GOTO(start_prog(&p, "prog_threads", NULL, NULL), out, "%s", why);
	srand((unsigned int)getpid());
	/* A dump of it takes about 200 ms here. */
	CHECK_GOTO(kill_dumps_at_random(&p, 24, 200000), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* ---- no residue of a dumper that died ------------------------------------------- */

static bool plant_file(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	pathf(path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "stale", 5) != 5)
		return fail_why("cannot write %s: %s", path, strerror(errno));
	close(fd);
	return true;
}

/* A dumper's temporary files in an image directory (as one killed midway
 * leaves them) are removed by `cryo check -D` and by the next dump there;
 * a file that is no image's temporary is left alone. While another writer
 * holds the directory, a dump into it is refused. */
TEST(stale_temporary_files_of_a_dead_dumper_are_removed)
{
	char img[PATH_MAX], pid[16];
	struct prog p = { 0 };
	struct cryo_run r;
	int lock_fd = -1;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(!mkdir(img, 0700), out, "mkdir %s: %s", img, strerror(errno));
	CHECK_GOTO(plant_file(img, ".pages-4242.img.tmp") && plant_file(img, ".core-7.img.tmp") &&
			   plant_file(img, ".notes.tmp"),
		   out, "%s", why);
	run_cryo(&r, "check", "-D", img);
	CHECK_GOTO(!exists(img, ".pages-4242.img.tmp") && !exists(img, ".core-7.img.tmp"), out,
		   "cryo check -D left the stale temporary files: %s", r.out);
	CHECK_GOTO(exists(img, ".notes.tmp"), out, "cryo check -D removed a file not its own");
	CHECK_GOTO(plant_file(img, ".mm-4242.img.tmp"), out, "%s", why);
	/* A live writer's lock: the dump is refused and removes nothing. */
	lock_fd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_GOTO(lock_fd >= 0 && !flock(lock_fd, LOCK_EX), out, "cannot lock %s", img);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
	CHECK_GOTO(refused(&r, img, "another cryo is writing into it", NULL), out, "%s", why);
	CHECK_GOTO(exists(img, ".mm-4242.img.tmp"), out, "a refused dump removed a live writer's file");
	CHECK_GOTO(prog_unharmed(&p), out, "%s", why);
	close(lock_fd);
	lock_fd = -1;
	run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(!exists(img, ".mm-4242.img.tmp"), out, "the dump left a stale temporary file");
	CHECK_GOTO(prog_unharmed(&p), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	end_prog(&p);
}
