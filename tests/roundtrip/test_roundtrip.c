/* The round-trip runner of TESTING.md: starts each program of the table
 * (programs.c) next to this binary, waits for its pid file, checkpoints and
 * restores it with the cryo binary in each of its cycles (once, twice,
 * thrice, leave-running, lazy), then sends SIGTERM and reads its verdict.
 * The table says which cycles, what cryo needs at dump and restore, and
 * what is checked beyond the verdict; a prog_* or neg_* binary without an
 * entry there fails. It is a child subreaper: restored programs become its
 * children, and it reaps and ends all it started, the page servers of lazy
 * restores included (each must have exited once its program has).
 * Arguments select programs by name; CYCLES=once,twice limits the cycles. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kabi/kabi.h"
#include "cryo_driver.h"
#include "hugepages_util.h"
#include "programs.h"
#include "runner_util.h"

struct run {
	const struct test_program *tp;
	const char *cycle;
	struct prog p;		/* p.dir holds the images and logs; p.pid is the program */
	int wx_before;		/* its writable and executable anonymous mappings at dump */
	char why[1024];
};

#define failed(r, ...) note_why((r)->why, sizeof((r)->why), __VA_ARGS__)

static void path_in(const struct run *r, const char *name, char *buf)
{
	pathf(buf, "%s/%s", r->p.dir, name);
}

/* Runs cryo with @args and the program's settings from the table, its
 * output in @out and appended to cryo.out in the run's dir; its exit code,
 * or -1 if it hung. */
static int run_cryo_on(struct run *r, const char *const *args, struct cryo_run *out)
{
	char log[PATH_MAX];

	path_in(r, "cryo.out", log);
	cryo_call(out, &(struct cryo_call){ .args = args, .program = r->tp, .log_path = log });
	return out->status;
}

static bool read_pid(const char *path, pid_t *pid, long ms)
{
	for (long waited = 0; waited <= ms; waited += 5) {
		FILE *f = fopen(path, "r");
		int ok = 0;

		if (f) {
			ok = fscanf(f, "%d", pid);
			fclose(f);
		}
		if (ok == 1)
			return true;
		sleep_ms(5);
	}
	return false;
}

/* Whether a line of the file at @path holds @text. */
static bool file_has_line(const char *path, const char *text);
static size_t lines_with(const char *path, const char *text);

/* Whether image directory @dir holds a second pages file with pages. */
static bool has_second_pages_file(const char *dir)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	struct stat st;
	bool found = false;
	DIR *d = opendir(dir);

	while (d && !found && (de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		found = !strncmp(de->d_name, "pages2-", 7) && !stat(path, &st) && st.st_size > 0;
	}
	if (d)
		closedir(d);
	return found;
}

/* How many anonymous mappings of @pid are writable and executable (the
 * restorer's area is one, which must not outlive the restore); -1: unknown. */
static int wx_anon_mappings(pid_t pid)
{
	char path[64], line[512], perms[8];
	int n = 0, fields;
	unsigned long inode;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		fields = sscanf(line, "%*x-%*x %7s %*x %*s %lu %*s", perms, &inode);
		if (fields >= 2 && !inode && perms[1] == 'w' && perms[2] == 'x' &&
		    !strchr(line, '/') && !strchr(line, '['))
			n++;
	}
	fclose(f);
	return n;
}

/* Dumps the program into @img; without -R it must be gone afterwards. With
 * -R the pages are copied while it runs, whatever its size (--pre-copy). */
static bool dump(struct run *r, const char *img, bool leave_running)
{
	char dir[PATH_MAX], pid[16], log[PATH_MAX + 16];
	const char *args[] = { "dump", "-t", pid, "-D", dir, "-o", "dump.log", "-v4",
			       leave_running ? "-R" : NULL, leave_running ? "--pre-copy" : NULL, NULL };
	struct cryo_run out;
	int code, status;

	path_in(r, img, dir);
	snprintf(pid, sizeof(pid), "%d", r->p.pid);
	r->wx_before = wx_anon_mappings(r->p.pid);
	code = run_cryo_on(r, args, &out);
	if (code)
		return failed(r, "cryo dump exited with %d (see %s/dump.log)", code, dir);
	snprintf(log, sizeof(log), "%s/dump.log", dir);
	if (!leave_running && (r->tp->expect & EXPECT_SPLICED_BUT_RSEQ) &&
	    (!file_has_line(log, "vmspliced by the parasite") ||
	     !file_has_line(log, "copied, not spliced")))
		return failed(r, "its memory was not vmspliced, or its rseq page was (see %s)", log);
	if (!leave_running && (r->tp->expect & EXPECT_ONE_PAGE_COPIED) &&
	    lines_with(log, "copied, not spliced") != 1)
		return failed(r, "%zu pages copied, not spliced, where only the parasite's thread's "
			      "rseq page should be (see %s)", lines_with(log, "copied, not spliced"),
			      log);
	if (!leave_running && (r->tp->expect & EXPECT_TWO_PAGES_FILES) &&
	    !has_second_pages_file(dir))
		return failed(r, "its pages were not written to two files (no pages2 file in %s)",
			      dir);
	if (leave_running) {
		if (kill(r->p.pid, 0))
			return failed(r, "the program died in a dump with -R");
		if ((r->tp->expect & EXPECT_PRE_COPIED) &&
		    !file_has_line(log, "pages from the pass while it ran"))
			return failed(r, "its pages were not copied while it ran (see %s)", log);
		if ((r->tp->expect & EXPECT_PRE_COPY_MOVED) &&
		    !file_has_line(log, "of the pass while it ran moved past its bytes"))
			return failed(r, "no pre-copied page was moved (see %s)", log);
		return true;
	}
	if (!wait_child(r->p.pid, WAIT_MS, &status))
		return failed(r, "the program still runs after dump");
	r->p.pid = 0;
	/* Its killed descendants came back to this subreaper: their pids
	 * must be free again for the restore. */
	if (!reap_children_but(r->p.peer, WAIT_MS))
		return failed(r, "processes of the dumped tree still run after dump");
	return true;
}

/* A process whose pages a lazy restore has not all served yet cannot be
 * dumped (they are not in its memory): the dump must say so and leave it
 * running. */
static bool dump_refused_while_lazy(struct run *r)
{
	char dir[PATH_MAX], pid[16];
	const char *args[] = { "dump", "-t", pid, "-D", dir, "-o", "dump.log", "-R", NULL };
	struct cryo_run out;

	path_in(r, "img2", dir);
	snprintf(pid, sizeof(pid), "%d", r->p.pid);
	if (!run_cryo_on(r, args, &out))
		return failed(r, "a dump with pages still to be served by the lazy restore "
			      "succeeded");
	if (kill(r->p.pid, 0))
		return failed(r, "the program died in the refused dump");
	if (!strstr(out.out, "registered with a userfaultfd"))
		return failed(r, "the dump was refused for another reason: %s", out.out);
	return true;
}

/* Whether a line of the file at @path holds @text. */
static bool file_has_line(const char *path, const char *text)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* How many lines of @path hold @text. */
static size_t lines_with(const char *path, const char *text)
{
	char line[1024];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* EXPECT_KILLED_WHEN_SERVING_FAILS: the page server is made to fail (after 100 copies)
 * while the program, and the child and grandchild it forks on SIGTERM,
 * still have pages pending. All must die by SIGKILL; none may run on and
 * read zeros where its data was (it would write FAIL and exit). */
static bool killed_when_serving_fails(struct run *r)
{
	char outfile[PATH_MAX], marker[PATH_MAX], log[PATH_MAX], line[600] = "";
	int status, forked[2];
	FILE *f;

	path_in(r, "out", outfile);
	path_in(r, "forked", marker);
	path_in(r, "img1/restore.log", log);
	kill(r->p.pid, SIGTERM);
	if (!wait_child(r->p.pid, WAIT_MS, &status))
		return failed(r, "the program still runs %d s after its page server was made to fail",
			      WAIT_MS / 1000);
	r->p.pid = 0;
	if (!reap_all_children(WAIT_MS))
		return failed(r, "processes forked after the restore still run after the page "
			      "server failed");
	f = fopen(outfile, "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\n")] = '\0';
		return failed(r, "a process ran on after the page server failed: %s", line);
	}
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		return failed(r, "the program ended with status %#x, not by SIGKILL", status);
	f = fopen(marker, "r");
	if (!f || fscanf(f, "%d %d", &forked[0], &forked[1]) != 2) {
		if (f)
			fclose(f);
		return failed(r, "the program's child did not fork before the page server failed");
	}
	fclose(f);
	if (!file_has_line(log, "killed: its pages can no longer be served"))
		return failed(r, "the page server did not say it killed the processes (see %s)", log);
	return true;
}

/* Whether @pid's [vdso] is no longer where its auxv says it was mapped. */
static bool vdso_moved(pid_t pid)
{
	char path[64], line[512];
	unsigned long long aux[2], ehdr = 0, start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	f = fopen(path, "r");
	while (f && fread(aux, sizeof(aux), 1, f) == 1 && aux[0])
		if (aux[0] == 33 /* AT_SYSINFO_EHDR */)
			ehdr = aux[1];
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]"))
			sscanf(line, "%llx-", &start);
	if (f)
		fclose(f);
	return ehdr && start && ehdr != start;
}

/* The pages of image @img's pages files in the page cache, and in all;
 * with @drop, each file is first dropped from the cache, as on a host
 * that has just received it. */
static bool pages_cached(struct run *r, const char *img, bool drop, uint64_t *cached,
			 uint64_t *all)
{
	struct kabi_cachestat_range range = { 0, 0 };
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct kabi_cachestat cs;
	struct dirent *de;
	struct stat st;
	bool ok = true;
	DIR *d;

	*cached = *all = 0;
	path_in(r, img, dir);
	d = opendir(dir);
	while (ok && d && (de = readdir(d))) {
		int fd;

		if (strncmp(de->d_name, "pages-", 6) && strncmp(de->d_name, "pages2-", 7))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) ||
		    (drop && (fdatasync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))) ||
		    syscall(__NR_cachestat, fd, &range, &cs, 0))
			ok = failed(r, "cannot %s %s: %s", drop ? "drop from the page cache" :
				    "learn how much is cached of", path, strerror(errno));
		if (ok) {
			*cached += cs.nr_cache;
			*all += (uint64_t)st.st_size / 4096;
		}
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	if (ok && !*all)
		return failed(r, "%s has no pages to read", img);
	return ok;
}

/* Makes image @img's pages cold, so that restore reads them from the disk. */
static bool drop_pages_from_cache(struct run *r, const char *img)
{
	uint64_t cached, all;

	if (!pages_cached(r, img, true, &cached, &all))
		return false;
	return cached * 8 <= all ? true :
	       failed(r, "%s stays in the page cache (%llu of %llu pages) after "
		      "POSIX_FADV_DONTNEED: its filesystem cannot make it cold", img,
		      (unsigned long long)cached, (unsigned long long)all);
}

/* A restore from pages files that were not in the page cache reads them
 * with O_DIRECT, around the cache: most of them is still not cached. */
static bool read_around_the_cache(struct run *r, const char *img)
{
	uint64_t cached, all;

	if (!pages_cached(r, img, false, &cached, &all))
		return false;
	if (cached * 2 > all)
		return failed(r, "restore read %s through the page cache (%llu of %llu pages "
			      "cached), not with O_DIRECT", img, (unsigned long long)cached,
			      (unsigned long long)all);
	return true;
}

static bool restore(struct run *r, const char *img, bool lazy)
{
	char dir[PATH_MAX], pidfile[PATH_MAX];
	const char *args[] = { "restore", "-D", dir, "-d", "--pidfile", pidfile, "-o",
			       "restore.log", "-v4", lazy ? "--lazy-pages" : NULL, NULL };
	struct cryo_run out;
	pid_t pid;
	int code;

	path_in(r, img, dir);
	path_in(r, "restored.pid", pidfile);
	unlink(pidfile);
	code = run_cryo_on(r, args, &out);
	if (code)
		return failed(r, "cryo restore exited with %d (see %s/restore.log)", code, dir);
	if (!read_pid(pidfile, &pid, 0))
		return failed(r, "restore wrote no pid file");
	r->p.pid = pid;
	if (wx_anon_mappings(pid) > r->wx_before)
		return failed(r, "the restored program has a writable and executable anonymous "
			      "mapping it did not have (%d, was %d): the restorer's area?",
			      wx_anon_mappings(pid), r->wx_before);
	if ((r->tp->expect & EXPECT_VDSO_MOVED) && !vdso_moved(pid))
		return failed(r, "the vDSO was restored in place: the proxy was not used");
	return true;
}

/* Ends the program with SIGTERM and reads its verdict. */
static bool verdict(struct run *r)
{
	char outfile[PATH_MAX], line[600] = "", peer_why[600] = "";
	bool peer_ok;
	int status;
	FILE *f;

	path_in(r, "out", outfile);
	unlink(outfile);
	kill(r->p.pid, SIGTERM);
	if (!wait_child(r->p.pid, WAIT_MS, &status)) {
		kill(r->p.pid, SIGKILL);
		waitpid(r->p.pid, NULL, 0);
		r->p.pid = 0;
		return failed(r, "the program did not end after SIGTERM");
	}
	r->p.pid = 0;
	/* The peer, if any, is checked after the program's own verdict. */
	peer_ok = peer_passes(&r->p, peer_why, sizeof(peer_why));
	if (!reap_all_children(WAIT_MS))
		return failed(r, "processes of the program's tree still run after it ended");
	f = fopen(outfile, "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "PASS"))
		return failed(r, "%s%s%s", line[0] ? line : (WIFSIGNALED(status) ?
				"killed by a signal, no verdict" : "no verdict written"),
			      peer_ok ? "" : "; ", peer_why);
	if (!peer_ok)
		return failed(r, "%s", peer_why);
	return true;
}

static bool run_cycle(struct run *r)
{
	unsigned int expect = r->tp->expect;

	if (!start_prog(&r->p, r->tp->name, NULL, NULL))
		return failed(r, "%s", why);
	if (!strcmp(r->cycle, "once"))
		return dump(r, "img1", false) && restore(r, "img1", false) && verdict(r);
	if (!strcmp(r->cycle, "twice"))
		return dump(r, "img1", false) && restore(r, "img1", false) &&
		       dump(r, "img2", false) && restore(r, "img2", false) && verdict(r);
	/* A restored task dumped again, and again: each image is of a restored
	 * task. The last one is restored from the disk, not the page cache. */
	if (!strcmp(r->cycle, "thrice"))
		return dump(r, "img1", false) && restore(r, "img1", false) &&
		       dump(r, "img2", false) && restore(r, "img2", false) &&
		       dump(r, "img3", false) && drop_pages_from_cache(r, "img3") &&
		       restore(r, "img3", false) && read_around_the_cache(r, "img3") && verdict(r);
	/* Its memory comes in from a page server as the program checks it.
	 * Programs served slowly (the table's restore environment) meet pages
	 * still missing: a dump of them is refused. */
	if (!strcmp(r->cycle, "lazy") && (expect & EXPECT_KILLED_WHEN_SERVING_FAILS))
		return dump(r, "img1", false) && restore(r, "img1", true) &&
		       killed_when_serving_fails(r);
	if (!strcmp(r->cycle, "lazy"))
		return dump(r, "img1", false) && restore(r, "img1", true) &&
		       (!(expect & EXPECT_DUMP_REFUSED_WHILE_LAZY) || dump_refused_while_lazy(r)) &&
		       verdict(r);
	/* leave-running: the original must still pass, then the image must too. */
	return dump(r, "img1", true) && verdict(r) && restore(r, "img1", false) && verdict(r);
}

static void show_tail(const char *dir, const char *name)
{
	char path[PATH_MAX + 64], line[512];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		n++;
	rewind(f);
	for (long i = 0; fgets(line, sizeof(line), f); i++)
		if (i >= n - 8)
			printf("      %s: %s", name, line);
	fclose(f);
}

static bool run_one(const struct test_program *tp, const char *cycle)
{
	struct run *r = calloc(1, sizeof(*r));
	long old_huge_pages = -1;
	int netns = -1;
	bool ok = false;

	if (!r) {
		printf("FAIL %s/%s: out of memory\n", tp->name, cycle);
		return false;
	}
	/* iptables-nft makes the filter tables it touches, which would
	 * outlive the test in the runner's network namespace. */
	if (tp->needs && strstr(tp->needs, "iptables")) {
		netns = enter_private_netns();
		if (netns < 0) {
			printf("FAIL %s/%s: cannot make a network namespace: %s\n", tp->name, cycle,
			       strerror(-netns));
			free(r);
			return false;
		}
	}
	r->tp = tp;
	r->cycle = cycle;
	if (tp->huge_pages && !hugepages_raise(tp->huge_pages, &old_huge_pages))
		snprintf(r->why, sizeof(r->why), "cannot raise %s to %ld pages", NR_HUGEPAGES,
			 tp->huge_pages);
	else
		ok = run_cycle(r);
	end_all_children();
	if (netns >= 0)
		leave_private_netns(netns);
	/* A program given huge pages may mount hugetlbfs at huge in its
	 * folder: its files' pages go back to the pool with the mount. */
	if (tp->huge_pages && r->p.dir[0]) {
		char mnt[PATH_MAX + 8];

		snprintf(mnt, sizeof(mnt), "%s/huge", r->p.dir);
		umount2(mnt, MNT_DETACH);
	}
	/* Once its processes are gone: their pages are free again. */
	if (old_huge_pages >= 0 && !hugepages_set(old_huge_pages)) {
		printf("FAIL %s/%s: cannot put %s back to %ld\n", tp->name, cycle, NR_HUGEPAGES,
		       old_huge_pages);
		ok = false;
	}
	if (ok) {
		printf("PASS %s/%s\n", tp->name, cycle);
	} else {
		char img[PATH_MAX + 8];

		printf("FAIL %s/%s: %s\n", tp->name, cycle, r->why);
		show_tail(r->p.dir, "cryo.out");
		show_tail(r->p.dir, "prog.out");
		for (int i = 1; i <= 3 && r->p.dir[0]; i++) {
			snprintf(img, sizeof(img), "%s/img%d", r->p.dir, i);
			show_tail(img, "dump.log");
			show_tail(img, "restore.log");
		}
	}
	remove_temp_dir(r->p.dir);
	free(r);
	return ok;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* Every test program built next to this runner has an entry in the table,
 * and every entry a program: one without would never run. Prints a FAIL
 * line for each; returns how many. */
static int table_mismatches(int argc, char **argv)
{
	struct dirent *de;
	int bad = 0;
	DIR *d = opendir(bin_dir);

	if (!d) {
		printf("FAIL table: cannot list %s: %s\n", bin_dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		if ((strncmp(de->d_name, "prog_", 5) && strncmp(de->d_name, "neg_", 4)) ||
		    strchr(de->d_name, '.') || test_program(de->d_name))
			continue;
		printf("FAIL %s: no entry in the table of test programs "
		       "(tests/roundtrip/programs.c): it is never run\n", de->d_name);
		bad++;
	}
	closedir(d);
	for (size_t i = 0; i < nr_test_programs; i++) {
		char path[PATH_MAX];

		pathf(path, "%s/%s", bin_dir,
		      test_programs[i].binary ? test_programs[i].binary : test_programs[i].name);
		if (access(path, X_OK)) {
			printf("FAIL %s: in the table, but %s: %s\n", test_programs[i].name, path,
			       strerror(errno));
			bad++;
		}
	}
	for (int i = 1; i < argc; i++)
		if (!test_program(argv[i])) {
			printf("FAIL %s: asked for, but not in the table of test programs\n",
			       argv[i]);
			bad++;
		}
	return bad;
}

/* Whether @program is in PATH or root's sbin folders, where cryo looks. */
static bool installed(const char *program)
{
	char dirs[4096], path[PATH_MAX], *dir, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:/usr/local/sbin:/usr/sbin:/sbin",
		 getenv("PATH") ? getenv("PATH") : "");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		pathf(path, "%s/%s", dir, program);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *cycles_env = getenv("CYCLES");
	int passed = 0, skipped = 0, failed_count;

	setvbuf(stdout, NULL, _IOLBF, 0);
	failed_count = table_mismatches(argc, argv);
	for (size_t i = 0; i < nr_test_programs; i++) {
		const struct test_program *tp = &test_programs[i];

		if (!selected(tp->name, argc, argv))
			continue;
		if (tp->needs && !installed(tp->needs)) {
			printf("SKIP %s: needs %s, which is not installed\n", tp->name, tp->needs);
			skipped++;
			continue;
		}
		for (int c = 0; c < NR_CYCLES; c++) {
			if (!(tp->cycles & (1u << c)) ||
			    (cycles_env && !strstr(cycles_env, cycle_names[c])))
				continue;
			if (run_one(tp, cycle_names[c]))
				passed++;
			else
				failed_count++;
		}
	}
	/* Anything else that ended up ours is reaped before we go. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed_count, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed_count);
	return failed_count ? 1 : 0;
}
