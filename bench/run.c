/* The benchmark runner (`make bench`): starts each workload of bench/,
 * checkpoints and restores it through the cryo binary (and through criu
 * when CRIU names one), checks every restored copy, and prints one table
 * line per workload. It owns every process it starts and everything they
 * become (it is a child subreaper), and removes its directories.
 *
 * Not its business: building anything, or knowing how cryo works inside;
 * it only runs the commands a user would. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "reference.h"

#define MIB (1ull << 20)
#define MAX_RUNS 15
/* Below this many bytes of pages, fixed costs (exec, seize, parasite) are
 * all a dump or restore measures, and a ratio to memcpy says nothing. */
#define RATIO_MIN_BYTES (4 * MIB)
#define TOOL_TIMEOUT_MS (180 * 1000)
#define PROG_TIMEOUT_MS (120 * 1000)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

struct workload {
	const char *name;
	const char *prog;	/* a program in the bench build directory */
	const char *args[3];
	bool memory;		/* mostly pages: run again with images in memory (-m) */
};

static const struct workload workloads[] = {
	{ "anon 256 MiB", "wl_anon", { "256" }, true },
	{ "anon 1 GiB", "wl_anon", { "1024" }, true },
	{ "anon 4 GiB", "wl_anon", { "4096" }, true },
	{ "1 TiB PROT_NONE, 4 windows, 16 MiB", "wl_sparse", { "windows" }, false },
	{ "1 TiB NORESERVE rw, 16 MiB scattered", "wl_sparse", { "scattered" }, false },
	{ "10,000 mappings", "wl_maps", { "10000" }, false },
	{ "50,000 mappings", "wl_maps", { "50000" }, false },
	{ "tree of 100 processes, 1 MiB each", "wl_tree", { "100" }, false },
	{ "tree of 500 processes, 1 MiB each", "wl_tree", { "500" }, false },
	{ "64 threads, 1 MiB each", "wl_threads", { "64" }, false },
	{ "10,000 fds, 2,500 pipe ends", "wl_fds", { "10000", "2500" }, false },
	{ "10,000 unix socketpairs, data queued, 10 processes (5,000 shared by 2)", "wl_unix_pairs",
	  { "10000", "10" }, false },
	{ "1,000 TCP connections, 64 KiB unread each end", "wl_tcp", { "1000", "64" }, false },
};
#define NR_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

/* One more option both tools' dumps of @w need, or NULL. */
static const char *dump_option(const struct workload *w)
{
	return !strcmp(w->prog, "wl_tcp") ? "--tcp-established" : NULL;
}

enum outcome { OUT_OK, OUT_UNSUPPORTED, OUT_FAILED };

struct sample {
	double dump_s, restore_s;
	double freeze_s;	/* the tree stopped during the dump; < 0: not told */
	double pass_s;		/* the workload's first pass after restore; < 0: not told */
	double dump_rss_mib, restore_rss_mib;
	uint64_t image_bytes, page_bytes;
};

/* The runs of one workload through one tool. */
struct result {
	enum outcome outcome;
	char why[512];		/* the refusal or the failure */
	int nr;
	struct sample s[MAX_RUNS];
};

struct tool {
	const char *name;	/* "cryo" or "criu" */
	const char *path;
};

static const char *bench_bin;	/* where the workload programs are */
static const char *image_parent, *memory_parent;
static int nr_runs = 3;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void set_why(struct result *r, enum outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_why(struct result *r, enum outcome o, const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* ---- processes -------------------------------------------------------- */

/* Forks and execs @argv with stdin from /dev/null and stdout and stderr to
 * @out; -1 on failure. */
static pid_t spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (in < 0 || fd < 0 || dup2(in, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Waits up to @ms for our child @pid, with its resource usage; false on
 * timeout, the child then being left as it is. */
static bool wait_child(pid_t pid, long ms, int *status, struct rusage *ru)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool done;

	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int n;

		while ((n = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
			;
		close(pidfd);
		if (n == 0)
			return false;
	}
	/* Ready through the pidfd, or without one (then this blocks). */
	do
		done = wait4(pid, status, 0, ru) == pid;
	while (!done && errno == EINTR);
	return done;
}

/* Ends @pid and whatever still runs in its process group (a workload is
 * a session and group leader, and so is its restored copy). */
static void kill_workload(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

/* Waits up to @ms until we have no child left, reaping them all: the
 * orphans of a workload's tree come to us, as the subreaper. */
static bool reap_all(long ms)
{
	for (long waited = 0; waited < ms; waited += 1) {
		pid_t pid;

		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (pid < 0 && errno == ECHILD)
			return true;
		sleep_ms(1);
	}
	return false;
}

/* Waits up to @ms for @pid to be gone, whether it is our child or not. */
static bool wait_gone(pid_t pid, long ms)
{
	for (long waited = 0; waited < ms; waited += 2) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return true;
		if (kill(pid, 0) && errno == ESRCH)
			return true;
		sleep_ms(2);
	}
	return false;
}

/* ---- files ------------------------------------------------------------ */

/* @dir/@name into @buf; a path too long for it is cut, and then simply
 * not found. */
static void join(char *buf, size_t size, const char *dir, const char *name)
{
	if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size)
		buf[size - 1] = '\0';
}

static bool read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Waits up to @ms for @path to exist while @pid lives; false otherwise. */
static bool wait_file(const char *path, pid_t pid, long ms)
{
	for (long waited = 0; waited < ms; waited += 2) {
		if (!access(path, F_OK))
			return true;
		if (pid > 0 && kill(pid, 0) && errno == ESRCH)
			return !access(path, F_OK);
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return !access(path, F_OK);
		sleep_ms(2);
	}
	return false;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d))) {
			char sub[PATH_MAX];

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			join(sub, sizeof(sub), path, e->d_name);
			if (e->d_type == DT_DIR)
				remove_tree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

/* Sums the sizes of the files in @dir: all of them, and the page data
 * (pages-*.img, the same name in cryo's and criu's images). */
static void image_size(const char *dir, uint64_t *all, uint64_t *pages)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	*all = *pages = 0;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		join(path, sizeof(path), dir, e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		*all += st.st_size;
		if (!strncmp(e->d_name, "pages-", 6))
			*pages += st.st_size;
	}
	closedir(d);
}

/* Drops the files of @dir from the page cache, so that a restore reads
 * them from the disk, as it would after a reboot or on another host. The
 * dump fsync'ed them, so they are clean and go at once; a tmpfs keeps
 * them, as it must. */
static void drop_cached(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		int fd;

		join(path, sizeof(path), dir, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	closedir(d);
}

/* The first error line of a failed command: the one cryo prints on stderr,
 * or criu's in its log; the prefix up to "error: " is left out. */
static void error_line(const char *out, const char *log, char *why, size_t size)
{
	const char *files[] = { out, log };
	char buf[65536];

	for (size_t f = 0; f < 2; f++) {
		char *line, *save = NULL;

		if (!read_file(files[f], buf, sizeof(buf)))
			continue;
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *e = strstr(line, "error: ");

			if (e) {
				snprintf(why, size, "%s", e + 7);
				return;
			}
			if ((e = strstr(line, "Error"))) {
				snprintf(why, size, "%s", e);
				return;
			}
		}
	}
	snprintf(why, size, "no error message (see %s)", log);
}

/* ---- one checkpoint and restore --------------------------------------- */

struct run_ctx {
	const struct tool *tool;
	const struct workload *w;
	bool lazy;		/* restore --lazy-pages */
	char work[PATH_MAX];	/* pid file, out file, logs */
	char images[PATH_MAX];
	char pidfile[PATH_MAX], outfile[PATH_MAX];
	pid_t pid;		/* the workload, original or restored */
};

/* Runs the tool with @argv and times it; false when it failed. */
static bool run_tool(struct run_ctx *c, char *const argv[], const char *out, double *secs,
		     double *rss_mib, int *status)
{
	struct rusage ru;
	double start = now();
	pid_t pid = spawn(argv, out);

	if (pid < 0)
		return false;
	if (!wait_child(pid, TOOL_TIMEOUT_MS, status, &ru)) {
		kill(pid, SIGKILL);
		wait_child(pid, TOOL_TIMEOUT_MS, status, &ru);
		fprintf(stderr, "%s %s: %s timed out\n", c->tool->name, c->w->name, argv[1]);
		*status = -1;
		return false;
	}
	*secs = now() - start;
	*rss_mib = ru.ru_maxrss / 1024.0;	/* ru_maxrss is in KiB */
	return WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

/* Sends SIGTERM to the workload and waits for its verdict. */
static bool workload_verdict(struct run_ctx *c, char *verdict, size_t size)
{
	kill(c->pid, SIGTERM);
	if (!wait_file(c->outfile, c->pid, PROG_TIMEOUT_MS)) {
		snprintf(verdict, size, "no verdict from the workload (pid %d)", c->pid);
		return false;
	}
	if (!read_file(c->outfile, verdict, size)) {
		snprintf(verdict, size, "unreadable verdict");
		return false;
	}
	verdict[strcspn(verdict, "\n")] = '\0';
	return !strcmp(verdict, "PASS");
}

static bool start_workload(struct run_ctx *c, struct result *r)
{
	char prog[PATH_MAX], log[PATH_MAX];
	char *argv[8] = { prog, "--pidfile", c->pidfile, "--outfile", c->outfile };
	char buf[64];
	int n = 5;

	join(prog, sizeof(prog), bench_bin, c->w->prog);
	for (int i = 0; c->w->args[i]; i++)
		argv[n++] = (char *)c->w->args[i];
	join(log, sizeof(log), c->work, "workload.log");
	c->pid = spawn(argv, log);
	if (c->pid < 0 || !wait_file(c->pidfile, c->pid, PROG_TIMEOUT_MS)) {
		set_why(r, OUT_FAILED, "the workload did not start (see %s)", log);
		return false;
	}
	/* The pid file is written aside and renamed: it is whole. */
	if (!read_file(c->pidfile, buf, sizeof(buf)) || atoi(buf) != c->pid) {
		set_why(r, OUT_FAILED, "the workload wrote a wrong pid file");
		return false;
	}
	unlink(c->pidfile);
	return true;
}

/* One run: start the workload, dump it, restore it, check it. Returns
 * false when the workload must not be run again (refused or failed). */
static bool run_once(struct run_ctx *c, struct result *r)
{
	struct sample *s = &r->s[r->nr];
	char dump_log[PATH_MAX], restore_log[PATH_MAX], out[PATH_MAX], pid_arg[16];
	char restored_pidfile[PATH_MAX], verdict[600], buf[64], stats[PATH_MAX];
	const char *tp = c->tool->path;
	bool criu = !strcmp(c->tool->name, "criu");
	int status;

	join(c->images, sizeof(c->images), c->work, "images");
	join(dump_log, sizeof(dump_log), c->work, "dump.log");
	join(restore_log, sizeof(restore_log), c->work, "restore.log");
	join(restored_pidfile, sizeof(restored_pidfile), c->work, "restored.pid");
	join(stats, sizeof(stats), c->work, "dump-stats.json");
	if (!start_workload(c, r))
		return false;
	snprintf(pid_arg, sizeof(pid_arg), "%d", c->pid);

	/* Dump. criu wants the directory to exist; cryo makes it. */
	if (criu)
		mkdir(c->images, 0700);
	join(out, sizeof(out), c->work, "dump.out");
	{
		char *opt = (char *)dump_option(c->w);
		char *cryo_argv[] = { (char *)tp, "dump", "-t", pid_arg, "-D", c->images,
				      "-o", dump_log, "--stats-file", stats, opt, NULL };
		char *criu_argv[] = { (char *)tp, "dump", "-t", pid_arg, "-D", c->images,
				      "-j", "-o", dump_log, opt, NULL };

		if (!run_tool(c, criu ? criu_argv : cryo_argv, out, &s->dump_s, &s->dump_rss_mib,
			      &status)) {
			char why[400];

			error_line(out, dump_log, why, sizeof(why));
			/* A refusal is an exit with a message, and must leave the
			 * workload whole; a crash or a hang is a failure. */
			if (status == -1 || !WIFEXITED(status))
				set_why(r, OUT_FAILED, "dump %s (%s)",
					status == -1 ? "timed out" : "was killed by a signal", why);
			else if (workload_verdict(c, verdict, sizeof(verdict)))
				set_why(r, OUT_UNSUPPORTED, "%s", why);
			else
				set_why(r, OUT_FAILED, "dump failed (%s) and the workload then said %s",
					why, verdict);
			return false;
		}
	}
	/* The original is killed once its images are complete, with all its
	 * tree; only they can be our children now. */
	if (!reap_all(10000)) {
		set_why(r, OUT_FAILED, "the dumped workload %d or one of its tree still runs", c->pid);
		return false;
	}
	s->freeze_s = criu ? criu_frozen_seconds(c->images) : cryo_frozen_seconds(stats);
	image_size(c->images, &s->image_bytes, &s->page_bytes);
	drop_cached(c->images);

	join(out, sizeof(out), c->work, "restore.out");
	{
		char *cryo_argv[] = { (char *)tp, "restore", "-D", c->images, "-d", "--pidfile",
				      restored_pidfile, "-o", restore_log,
				      c->lazy ? "--lazy-pages" : NULL, NULL };
		char *criu_argv[] = { (char *)tp, "restore", "-D", c->images, "-j", "-d",
				      "-o", restore_log, NULL };

		if (!run_tool(c, criu ? criu_argv : cryo_argv, out, &s->restore_s,
			      &s->restore_rss_mib, &status)) {
			char why[400];

			error_line(out, restore_log, why, sizeof(why));
			set_why(r, OUT_FAILED, "restore failed: %s", why);
			return false;
		}
	}
	/* criu restores the same pid and writes no pid file here. */
	if (!criu) {
		if (!read_file(restored_pidfile, buf, sizeof(buf)) || atoi(buf) <= 0) {
			set_why(r, OUT_FAILED, "restore wrote no pid file");
			return false;
		}
		c->pid = atoi(buf);
	}
	if (!workload_verdict(c, verdict, sizeof(verdict))) {
		set_why(r, OUT_FAILED, "the restored workload said: %s", verdict);
		return false;
	}
	join(out, sizeof(out), c->work, "first_pass_s");
	s->pass_s = read_file(out, buf, sizeof(buf)) ? atof(buf) : -1;
	/* The restored copy is ours now, through the subreaper. */
	if (!wait_gone(c->pid, PROG_TIMEOUT_MS)) {
		set_why(r, OUT_FAILED, "the restored workload %d did not exit", c->pid);
		return false;
	}
	c->pid = 0;
	r->nr++;
	return true;
}

static void run_workload(const struct tool *tool, const struct workload *w, const char *parent,
			 bool lazy, struct result *r)
{
	struct run_ctx c = { .tool = tool, .w = w, .lazy = lazy };

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < nr_runs; i++) {
		bool more;

		snprintf(c.work, sizeof(c.work), "%s/cryo-bench-XXXXXX", parent);
		if (!mkdtemp(c.work)) {
			set_why(r, OUT_FAILED, "cannot make a directory in %s: %s", parent,
				strerror(errno));
			return;
		}
		join(c.pidfile, sizeof(c.pidfile), c.work, "prog.pid");
		join(c.outfile, sizeof(c.outfile), c.work, "prog.out");
		c.pid = 0;
		more = run_once(&c, r);
		if (more)
			fprintf(stderr, "  %s %s run %d: dump %.3f s, restore %.3f s\n", tool->name,
				w->name, i + 1, r->s[r->nr - 1].dump_s, r->s[r->nr - 1].restore_s);
		kill_workload(c.pid);
		if (c.pid > 0)
			wait_gone(c.pid, 10000);
		/* Nothing of this run may outlive it. */
		if (!reap_all(10000)) {
			if (r->outcome != OUT_FAILED)
				set_why(r, OUT_FAILED, "processes of this run outlived it");
			more = false;
		}
		remove_tree(c.work);
		if (!more)
			return;
	}
}

/* ---- the reference: memcpy ------------------------------------------ */

/* Seconds to memcpy @bytes between two populated buffers of at most
 * 1 GiB each (the 4 GiB workload is copied in four passes: the same
 * bandwidth, without 8 GiB of buffers). Median and minimum of @runs. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- the table ------------------------------------------------------- */

enum field { F_DUMP, F_RESTORE, F_DUMP_RSS, F_RESTORE_RSS, F_IMAGE, F_PAGES, F_PASS, F_FREEZE };

static double field(const struct sample *s, enum field f)
{
	switch (f) {
	case F_DUMP: return s->dump_s;
	case F_RESTORE: return s->restore_s;
	case F_DUMP_RSS: return s->dump_rss_mib;
	case F_RESTORE_RSS: return s->restore_rss_mib;
	case F_IMAGE: return s->image_bytes / (double)MIB;
	case F_PAGES: return s->page_bytes;
	case F_PASS: return s->pass_s;
	case F_FREEZE: return s->freeze_s;
	}
	return 0;
}

static void stats(const struct result *r, enum field f, double *median, double *min)
{
	double v[MAX_RUNS];

	for (int i = 0; i < r->nr; i++)
		v[i] = field(&r->s[i], f);
	qsort(v, r->nr, sizeof(v[0]), cmp_double);
	*median = v[r->nr / 2];
	*min = v[0];
}

static const char *fs_name(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return "unknown";
	switch ((unsigned long)st.f_type) {
	case TMPFS_MAGIC: return "tmpfs, in memory";
	case 0xEF53: return "ext4, on disk";
	case 0x58465342: return "xfs, on disk";
	case 0x9123683E: return "btrfs, on disk";
	default: return "on disk?";
	}
}

#define COL_NAME 38

static void print_header(bool with_criu)
{
	printf("%-*s %9s %17s %8s %17s %9s %8s %8s %8s %8s %8s", COL_NAME, "workload",
	       "image MiB", "dump s (min)", "frozen s", "restore s (min)", "memcpy s", "dump/cp",
	       "rest/cp", "RSS dmp", "RSS rst", "pass s");
	if (with_criu)
		printf(" %17s %8s %17s %8s %8s %8s", "criu dump s", "frozen s", "criu restore s",
		       "dump c/c", "rest c/c", "frz c/c");
	printf("\n");
}

static void print_row(const char *name, const struct result *cryo,
		      const struct result *criu, bool *footnote_small)
{
	double dump, dump_min, rest, rest_min, img, img_min, rss_d, rss_r, pages, pass, frz, x;
	double cp = 0, cp_min = 0;
	char ratio_d[16] = "-", ratio_r[16] = "-", cpbuf[16] = "-", passbuf[16] = "-";
	char frzbuf[16] = "-";

	printf("%-*s ", COL_NAME, name);
	if (cryo->outcome != OUT_OK) {
		printf("%s: %s\n", cryo->outcome == OUT_UNSUPPORTED ? "unsupported" : "FAIL",
		       cryo->why);
		return;
	}
	stats(cryo, F_DUMP, &dump, &dump_min);
	stats(cryo, F_RESTORE, &rest, &rest_min);
	stats(cryo, F_IMAGE, &img, &img_min);
	stats(cryo, F_DUMP_RSS, &rss_d, &x);
	stats(cryo, F_RESTORE_RSS, &rss_r, &x);
	stats(cryo, F_PAGES, &pages, &x);
	stats(cryo, F_PASS, &pass, &x);
	stats(cryo, F_FREEZE, &frz, &x);
	if (frz >= 0)
		snprintf(frzbuf, sizeof(frzbuf), "%.3f", frz);
	if (pass >= 0)
		snprintf(passbuf, sizeof(passbuf), "%.3f", pass);
	if (pages >= RATIO_MIN_BYTES && memcpy_seconds((uint64_t)pages, nr_runs, &cp, &cp_min)) {
		snprintf(cpbuf, sizeof(cpbuf), "%.4f", cp);
		snprintf(ratio_d, sizeof(ratio_d), "%.1f", dump / cp);
		snprintf(ratio_r, sizeof(ratio_r), "%.1f", rest / cp);
	} else {
		snprintf(ratio_d, sizeof(ratio_d), "-");
		snprintf(ratio_r, sizeof(ratio_r), "-");
		*footnote_small = true;
	}
	printf("%9.1f %8.3f (%6.3f) %8s %8.3f (%6.3f) %9s %8s %8s %8.0f %8.0f %8s", img, dump,
	       dump_min, frzbuf, rest, rest_min, cpbuf, ratio_d, ratio_r, rss_d, rss_r, passbuf);
	if (criu) {
		double cd, cd_min, cr, cr_min, cf;
		char cfbuf[16] = "-", frz_ratio[16] = "-";

		if (criu->outcome != OUT_OK) {
			printf("  criu %s: %s", criu->outcome == OUT_UNSUPPORTED ? "refused" : "FAIL",
			       criu->why);
		} else {
			stats(criu, F_DUMP, &cd, &cd_min);
			stats(criu, F_RESTORE, &cr, &cr_min);
			stats(criu, F_FREEZE, &cf, &x);
			if (cf >= 0)
				snprintf(cfbuf, sizeof(cfbuf), "%.3f", cf);
			if (cf > 0 && frz >= 0)
				snprintf(frz_ratio, sizeof(frz_ratio), "%.2f", frz / cf);
			printf(" %8.3f (%6.3f) %8s %8.3f (%6.3f) %8.2f %8.2f %8s", cd, cd_min,
			       cfbuf, cr, cr_min, dump / cd, rest / cr, frz_ratio);
		}
	}
	printf("\n");
	fflush(stdout);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-n RUNS] [-d IMAGE_PARENT] [-m MEMORY_PARENT] [-w NAME_PART]\n"
		"          BENCH_BIN_DIR CRYO\n"
		"  runs each workload RUNS times (default 3) through CRYO, and through\n"
		"  $CRIU too when it is set; images go under IMAGE_PARENT (default /var/tmp);\n"
		"  the memory workloads run again with images under MEMORY_PARENT (a tmpfs);\n"
		"  -w keeps only the workloads whose name contains NAME_PART\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *only = NULL, *criu_path = getenv("CRIU");
	struct tool cryo, criu;
	bool failed = false, small = false, refused = false;
	double start = now();
	static struct result res_cryo, res_criu;
	int c;

	image_parent = "/var/tmp";
	while ((c = getopt(argc, argv, "n:d:m:w:")) != -1) {
		if (c == 'n')
			nr_runs = atoi(optarg);
		else if (c == 'd')
			image_parent = optarg;
		else if (c == 'm')
			memory_parent = optarg;
		else if (c == 'w')
			only = optarg;
		else
			usage(argv[0]);
	}
	if (optind + 2 != argc || nr_runs < 1 || nr_runs > MAX_RUNS)
		usage(argv[0]);
	bench_bin = argv[optind];
	if (criu_path && !*criu_path)
		criu_path = NULL;
	cryo = (struct tool){ "cryo", argv[optind + 1] };
	criu = (struct tool){ "criu", criu_path };
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	/* Our output goes through a pipe to make: write each line as it comes. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("cryo bench: %d runs each, median (min); images in %s (%s)", nr_runs, image_parent,
	       fs_name(image_parent));
	if (memory_parent)
		printf(", rows [-m] in %s (%s)", memory_parent, fs_name(memory_parent));
	printf("\n");
	if (criu_path)
		printf("criu: %s\n", criu_path);
	print_header(criu_path);
	for (size_t i = 0; i < NR_WORKLOADS; i++) {
		const struct workload *w = &workloads[i];

		if (only && !strstr(w->name, only))
			continue;
		/* Memory workloads: each place again with --lazy-pages (cryo only). */
		for (int run = 0; run < 4; run++) {
			bool in_memory = run & 1, lazy = run & 2;
			const char *parent = in_memory ? memory_parent : image_parent;
			char name[128];

			if ((in_memory || lazy) && !w->memory)
				continue;
			if (in_memory && !memory_parent)
				continue;
			snprintf(name, sizeof(name), "%s%s%s", w->name, in_memory ? " [-m]" : "",
				 lazy ? " [lazy]" : "");
			run_workload(&cryo, w, parent, lazy, &res_cryo);
			if (criu_path && !lazy)
				run_workload(&criu, w, parent, false, &res_criu);
			print_row(name, &res_cryo, criu_path && !lazy ? &res_criu : NULL, &small);
			failed |= res_cryo.outcome == OUT_FAILED;
			refused |= res_cryo.outcome == OUT_UNSUPPORTED;
			if (criu_path && !lazy)
				failed |= res_criu.outcome == OUT_FAILED;
		}
	}
	printf("\nimage MiB: every file of the image. dump s, restore s: wall time of the "
	       "command, from fork to exit.\n"
	       "frozen s: how long the dump kept the tree stopped (first seize or freeze to "
	       "release or kill), as the tool reports it\n(cryo --stats-file, criu stats-dump); "
	       "-: not reported.\n"
	       "memcpy s: memcpy of as many bytes as the image's pages, between populated "
	       "buffers, in this run;\n"
	       "dump/cp, rest/cp: dump and restore time over that. RSS dmp, RSS rst: peak RSS "
	       "of the cryo process in MiB (wait4).\n"
	       "[lazy]: restored with --lazy-pages (the memory comes in from a page server). "
	       "pass s: the workload's first pass\n"
	       "over its memory after the restore (the check of every word), as it timed it.\n");
	printf("%s\n", failed ? "FAIL: a run failed, as its row says; the other rows' restored copies "
				"all checked their state and said PASS."
			      : "Every restored copy checked all its memory and state and said PASS.");
	if (small)
		printf("-: under %llu MiB of pages, fixed costs (exec, seize, parasite) are all "
		       "a ratio to memcpy would measure.\n", RATIO_MIN_BYTES / MIB);
	if (refused)
		printf("unsupported: cryo refused the dump with that message, and the workload "
		       "then checked it was left whole.\n");
	if (criu_path)
		printf("c/c: cryo time over criu time.\n");
	printf("%s in %.0f s\n", failed ? "bench FAILED" : "bench done", now() - start);
	return failed ? 1 : 0;
}
