/* The runner of `make bench`: one workload through cryo or criu, each run
 * in a directory of its own (started, dumped, restored, its verdict read,
 * timed, everything it left reaped and removed). Not its business: the
 * table of workloads (workloads.c) or what is printed of them (report.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "runner.h"
#include "workloads.h"

#define TOOL_TIMEOUT_MS (180 * 1000)
#define PROG_TIMEOUT_MS (120 * 1000)

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
		/* Nothing more: a container's workload must hold only its own. */
		if (in > 2)
			close(in);
		if (fd > 2)
			close(fd);
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
 * or criu's in its log, but its rlimit one, which it goes on after (here
 * it cannot raise RLIMIT_NOFILE, in every run); the prefix up to "error: "
 * is left out. criu's first line may only say that a child it ran failed
 * ("exited, status=2"): the next one, which says what that child did, is
 * added. */
static void error_line(const char *out, const char *log, char *why, size_t size)
{
	const char *files[] = { out, log };
	char buf[65536];

	why[0] = '\0';
	for (size_t f = 0; f < 2; f++) {
		char *line, *save = NULL;

		if (!read_file(files[f], buf, sizeof(buf)))
			continue;
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *e = strstr(line, "error: ");
			size_t used = strlen(why);

			if (e) {
				snprintf(why, size, "%s", e + 7);
				return;
			}
			if (!(e = strstr(line, "Error")) || strstr(e, "rlimit: "))
				continue;
			snprintf(why + used, size - used, "%s%s", used ? " / " : "", e);
			if (!strstr(e, "exited, status="))
				return;
		}
	}
	if (!why[0])
		snprintf(why, size, "no error message (see %s)", log);
}
/* ---- one checkpoint and restore --------------------------------------- */

struct run_ctx {
	const struct tool *tool;
	const struct workload *w;
	const char *bench_bin;	/* where the workload programs are */
	bool lazy;		/* restore --lazy-pages */
	bool leave_running;	/* dump -R; the original is killed after */
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

	join(prog, sizeof(prog), c->bench_bin, c->w->prog);
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

/* A criu that failed between its dump (which kills the tree and keeps
 * its connections locked for the restore) and the end of its restore
 * leaves its lock: DROP rules marked with criu's 0xC114 in INPUT and
 * OUTPUT of each family's filter table. Removed, so that no run's
 * firewall rules outlive it. */
static void remove_criu_lock(void)
{
	static const char *const script =
		"for t in iptables ip6tables; do command -v $t-save >/dev/null || continue; "
		"$t-save -t filter 2>/dev/null | grep -i -e '--mark 0xc114' | "
		"sed 's/^-A /-D /' | while read -r rule; do $t -w -t filter $rule; done; done";

	if (system(script))
		fprintf(stderr, "bench: cannot remove the network lock criu left\n");
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
		char *running = c->leave_running ? "-R" : NULL;
		char *cryo_argv[] = { (char *)tp, "dump", "-t", pid_arg, "-D", c->images,
				      "-o", dump_log, "--stats-file", stats, opt ? opt : running,
				      opt ? running : NULL, NULL };
		char *criu_argv[] = { (char *)tp, "dump", "-t", pid_arg, "-D", c->images,
				      "-j", "-o", dump_log, opt ? opt : running,
				      opt ? running : NULL, NULL };

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
	 * tree (here, after a dump with -R); only they can be our children now. */
	if (c->leave_running)
		kill_workload(c->pid);
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
		/* criu wants --tcp-established at restore too. */
		char *criu_argv[] = { (char *)tp, "restore", "-D", c->images, "-j", "-d",
				      "-o", restore_log, (char *)dump_option(c->w), NULL };

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

bool run_workload_once(const struct tool *tool, const struct workload *w, const char *bench_bin,
		       const char *parent, bool lazy, bool leave_running, struct result *r)
{
	struct run_ctx c = { .tool = tool, .w = w, .bench_bin = bench_bin, .lazy = lazy,
			     .leave_running = leave_running };
	bool more;

	snprintf(c.work, sizeof(c.work), "%s/cryo-bench-XXXXXX", parent);
	if (!mkdtemp(c.work)) {
		set_why(r, OUT_FAILED, "cannot make a directory in %s: %s", parent,
			strerror(errno));
		return false;
	}
	join(c.pidfile, sizeof(c.pidfile), c.work, "prog.pid");
	join(c.outfile, sizeof(c.outfile), c.work, "prog.out");
	more = run_once(&c, r);
	if (!more && !strcmp(tool->name, "criu"))
		remove_criu_lock();
	if (more)
		fprintf(stderr, "  %s %s run %d: dump %.3f s, restore %.3f s\n", tool->name,
			w->name, r->nr, r->s[r->nr - 1].dump_s, r->s[r->nr - 1].restore_s);
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
	return more;
}
