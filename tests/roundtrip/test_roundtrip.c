/* The round-trip runner of TESTING.md: starts each test program next to
 * this binary (prog_*), waits for its pid file, checkpoints and restores it
 * with the cryo binary in each cycle (once, twice, thrice, leave-running,
 * lazy), then sends SIGTERM and reads its verdict. It is a child subreaper:
 * restored programs become its children, and it reaps and ends all it
 * started, the page servers of lazy restores included (each must have
 * exited once its program has). Programs named prog_lazy_* are about lazy
 * restore only and run in the lazy cycle alone, with the page server's
 * background pass slowed down so that they meet pages not yet served.
 * Arguments select programs by name; CYCLES=once,twice limits the cycles. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kabi/kabi.h"
#include "runner_util.h"

#define WAIT_MS 20000

static char bin_dir[2048], cryo[PATH_MAX];

struct run {
	const char *prog;
	const char *cycle;
	char dir[256];
	pid_t pid;
	char why[1024];
};

#define failed(r, ...) note_why((r)->why, sizeof((r)->why), __VA_ARGS__)

static void path_in(const struct run *r, const char *name, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s", r->dir, name);
}

/* Runs cryo with @args, its output appended to cryo.out in the run's dir.
 * A program named *vdso_proxy* is restored as on a kernel whose vDSO
 * differs from the dumped one (cryo's test switch for that path). */
static int run_cryo(struct run *r, const char *const *args)
{
	char out[PATH_MAX], *argv[32];
	int status, n = 0;
	pid_t pid;

	path_in(r, "cryo.out", out);
	argv[n++] = cryo;
	while (*args && n < 30)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		if (strstr(r->prog, "vdso_proxy") && !strcmp(argv[1], "restore"))
			setenv("CRYO_TEST_VDSO_PROXY", "1", 1);
		if (!strncmp(r->prog, "prog_lazy_", 10) && !strcmp(argv[1], "restore"))
			setenv("CRYO_TEST_LAZY_TRICKLE", "1", 1);
		if (!strncmp(r->prog, "prog_lazy_fail_", 15) && !strcmp(argv[1], "restore"))
			setenv("CRYO_TEST_LAZY_FAIL_AFTER", "100", 1);
		execv(cryo, argv);
		_exit(127);
	}
	if (pid < 0 || !wait_child(pid, 60000, &status)) {
		if (pid > 0)
			kill(pid, SIGKILL);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

static bool start_program(struct run *r)
{
	char prog[PATH_MAX], pidfile[PATH_MAX], outfile[PATH_MAX], out[PATH_MAX];
	pid_t child, pid;
	int status;

	snprintf(prog, sizeof(prog), "%s/%s", bin_dir, r->prog);
	path_in(r, "pid", pidfile);
	path_in(r, "out", outfile);
	path_in(r, "prog.out", out);
	child = fork();
	if (child == 0) {
		int in = open("/dev/null", O_RDONLY), fd = open(out, O_WRONLY | O_CREAT, 0644);

		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(prog, prog, "--pidfile", pidfile, "--outfile", outfile, (char *)NULL);
		_exit(127);
	}
	if (child < 0)
		return failed(r, "fork: %s", strerror(errno));
	r->pid = child;
	if (!read_pid(pidfile, &pid, WAIT_MS)) {
		if (waitpid(child, &status, WNOHANG) == child)
			r->pid = 0;
		return failed(r, "the program did not get ready (see %s)", out);
	}
	if (pid != child)
		return failed(r, "pid file says %d, started %d", pid, child);
	return true;
}

/* Dumps the program into @img; without -R it must be gone afterwards. */
static bool dump(struct run *r, const char *img, bool leave_running)
{
	char dir[PATH_MAX], pid[16];
	const char *args[] = { "dump", "-t", pid, "-D", dir, "-o", "dump.log", "-v4",
			       leave_running ? "-R" : NULL, NULL };
	int code, status;

	path_in(r, img, dir);
	snprintf(pid, sizeof(pid), "%d", r->pid);
	code = run_cryo(r, args);
	if (code)
		return failed(r, "cryo dump exited with %d (see %s/dump.log)", code, dir);
	if (leave_running) {
		if (kill(r->pid, 0))
			return failed(r, "the program died in a dump with -R");
		return true;
	}
	if (!wait_child(r->pid, WAIT_MS, &status))
		return failed(r, "the program still runs after dump");
	r->pid = 0;
	/* Its killed descendants came back to this subreaper: their pids
	 * must be free again for the restore. */
	if (!reap_all_children(WAIT_MS))
		return failed(r, "processes of the dumped tree still run after dump");
	return true;
}

/* A process whose pages a lazy restore has not all served yet cannot be
 * dumped (they are not in its memory): the dump must say so and leave it
 * running. */
static bool dump_refused_while_lazy(struct run *r)
{
	char dir[PATH_MAX], pid[16], out[PATH_MAX], text[4096] = "";
	const char *args[] = { "dump", "-t", pid, "-D", dir, "-o", "dump.log", "-R", NULL };
	size_t n;
	FILE *f;

	path_in(r, "img2", dir);
	path_in(r, "cryo.out", out);
	snprintf(pid, sizeof(pid), "%d", r->pid);
	if (!run_cryo(r, args))
		return failed(r, "a dump with pages still to be served by the lazy restore "
			      "succeeded");
	if (kill(r->pid, 0))
		return failed(r, "the program died in the refused dump");
	f = fopen(out, "r");
	n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[n] = '\0';
	if (!strstr(text, "registered with a userfaultfd"))
		return failed(r, "the dump was refused for another reason (see %s)", out);
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

/* prog_lazy_fail_*: the page server is made to fail (after 100 copies)
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
	kill(r->pid, SIGTERM);
	if (!wait_child(r->pid, WAIT_MS, &status))
		return failed(r, "the program still runs %d s after its page server was made to fail",
			      WAIT_MS / 1000);
	r->pid = 0;
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

		if (strncmp(de->d_name, "pages-", 6))
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
	pid_t pid;
	int code;

	path_in(r, img, dir);
	path_in(r, "restored.pid", pidfile);
	unlink(pidfile);
	code = run_cryo(r, args);
	if (code)
		return failed(r, "cryo restore exited with %d (see %s/restore.log)", code, dir);
	if (!read_pid(pidfile, &pid, 0))
		return failed(r, "restore wrote no pid file");
	r->pid = pid;
	if (strstr(r->prog, "vdso_proxy") && !vdso_moved(pid))
		return failed(r, "the vDSO was restored in place: the proxy was not used");
	return true;
}

/* Ends the program with SIGTERM and reads its verdict. */
static bool verdict(struct run *r)
{
	char outfile[PATH_MAX], line[600] = "";
	int status;
	FILE *f;

	path_in(r, "out", outfile);
	unlink(outfile);
	kill(r->pid, SIGTERM);
	if (!wait_child(r->pid, WAIT_MS, &status)) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
		return failed(r, "the program did not end after SIGTERM");
	}
	r->pid = 0;
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
		return failed(r, "%s", line[0] ? line : (WIFSIGNALED(status) ?
				"killed by a signal, no verdict" : "no verdict written"));
	return true;
}

static bool run_cycle(struct run *r)
{
	if (!start_program(r))
		return false;
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
	 * The prog_lazy_* programs are served slowly: a dump meets pages
	 * still missing. */
	if (!strcmp(r->cycle, "lazy") && !strncmp(r->prog, "prog_lazy_fail_", 15))
		return dump(r, "img1", false) && restore(r, "img1", true) &&
		       killed_when_serving_fails(r);
	if (!strcmp(r->cycle, "lazy"))
		return dump(r, "img1", false) && restore(r, "img1", true) &&
		       (strncmp(r->prog, "prog_lazy_", 10) || dump_refused_while_lazy(r)) &&
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

static bool run_one(const char *prog, const char *cycle)
{
	struct run r = { .prog = prog, .cycle = cycle };
	bool ok;

	snprintf(r.dir, sizeof(r.dir), "/tmp/cryo-rt-XXXXXX");
	if (!mkdtemp(r.dir)) {
		printf("FAIL %s/%s: mkdtemp: %s\n", prog, cycle, strerror(errno));
		return false;
	}
	ok = run_cycle(&r);
	end_all_children();
	if (ok) {
		printf("PASS %s/%s\n", prog, cycle);
	} else {
		char img[PATH_MAX + 8];

		printf("FAIL %s/%s: %s\n", prog, cycle, r.why);
		show_tail(r.dir, "cryo.out");
		show_tail(r.dir, "prog.out");
		for (int i = 1; i <= 3; i++) {
			snprintf(img, sizeof(img), "%s/img%d", r.dir, i);
			show_tail(img, "dump.log");
			show_tail(img, "restore.log");
		}
	}
	remove_tree(r.dir);
	return ok;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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

int main(int argc, char **argv)
{
	static const char *const all_cycles[] = { "once", "twice", "thrice", "leave-running",
						  "lazy" };
	const char *cycles_env = getenv("CYCLES");
	char *progs[128];
	int nprogs = 0, passed = 0, failed_count = 0;
	struct dirent *de;
	ssize_t n;
	DIR *d;

	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	n = readlink("/proc/self/exe", bin_dir, sizeof(bin_dir) - 1);
	if (n <= 0)
		return 2;
	bin_dir[n] = '\0';
	*strrchr(bin_dir, '/') = '\0';
	snprintf(cryo, sizeof(cryo), "%s/../../cryo", bin_dir);
	if (getenv("CRYO"))
		snprintf(cryo, sizeof(cryo), "%s", getenv("CRYO"));

	d = opendir(bin_dir);
	while (d && (de = readdir(d)) && nprogs < 128)
		if (!strncmp(de->d_name, "prog_", 5) && !strchr(de->d_name, '.') &&
		    selected(de->d_name, argc, argv))
			progs[nprogs++] = strdup(de->d_name);
	if (d)
		closedir(d);
	qsort(progs, nprogs, sizeof(progs[0]), cmp_names);

	for (int i = 0; i < nprogs; i++) {
		for (size_t c = 0; c < sizeof(all_cycles) / sizeof(all_cycles[0]); c++) {
			if (cycles_env && !strstr(cycles_env, all_cycles[c]))
				continue;
			if (!strncmp(progs[i], "prog_lazy_", 10) && strcmp(all_cycles[c], "lazy"))
				continue;
			if (run_one(progs[i], all_cycles[c]))
				passed++;
			else
				failed_count++;
		}
		free(progs[i]);
	}
	/* Anything else that ended up ours is reaped before we go. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	printf("%d passed, %d failed\n", passed, failed_count);
	return failed_count ? 1 : 0;
}
