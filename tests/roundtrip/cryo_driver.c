/* Driving the cryo binary against test programs, for the runners that
 * check cryo's behaviour from outside (test_negative, test_freezer): start
 * a program and wait until it is ready, run cryo and collect what it said,
 * check that a program is unharmed or passes, end what was started. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "runner_util.h"

char bin_dir[PATH_MAX], cryo_path[PATH_MAX];
/* Why the last helper that returned false did so. */
char why[4096];

bool fail_why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

/* Formats a path into a PATH_MAX buffer; the test's paths are short, so
 * one that does not fit is a bug in the test. */
void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "test: path too long: %s...\n", buf);
		exit(2);
	}
}

void kill_and_reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

bool make_temp_dir(char *path)
{
	snprintf(path, PATH_MAX, "/tmp/cryo-test-XXXXXX");
	if (!mkdtemp(path))
		return fail_why("mkdtemp: %s", strerror(errno));
	return true;
}

void remove_temp_dir(const char *path)
{
	remove_tree(path);
}

bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	pathf(path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

bool no_inventory(const char *dir)
{
	if (exists(dir, "inventory.img"))
		return fail_why("a failed dump left %s/inventory.img", dir);
	return true;
}

/* One field of /proc/PID/status, as a number in @base; false if absent. */
bool status_field(pid_t pid, const char *key, int base, unsigned long long *value)
{
	char path[64], line[256];
	size_t len = strlen(key);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			*value = strtoull(line + len + 1, NULL, base);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* Reads a whole (small) file into @buf; false if it cannot be read. */
bool read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	ssize_t n = 0;

	if (fd < 0)
		return false;
	while (used + 1 < size && (n = read(fd, buf + used, size - 1 - used)) > 0)
		used += n;
	close(fd);
	buf[used] = '\0';
	return n >= 0;
}

/* ---- running cryo --------------------------------------------------------- */

pid_t spawn_cryo(int out_fd, child_setup_fn setup, void *arg, const char *const *args)
{
	char *argv[40];
	int n = 0;
	pid_t pid;

	argv[n++] = cryo_path;
	while (*args && n < 39)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);

		dup2(in, 0);
		dup2(out_fd, 1);
		dup2(out_fd, 2);
		if (setup)
			setup(arg);
		execv(cryo_path, argv);
		_exit(127);
	}
	return pid;
}

void run_cryo_with(struct cryo_run *r, child_setup_fn setup, void *arg,
			  const char *const *args)
{
	long deadline = now_ms() + CRYO_MS;
	size_t used = 0;
	int pipefd[2], status;
	pid_t pid;

	r->status = -1;
	r->out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(r->out, sizeof(r->out), "pipe: %s", strerror(errno));
		return;
	}
	pid = spawn_cryo(pipefd[1], setup, arg, args);
	r->pid = pid;
	close(pipefd[1]);
	/* Read to EOF: only cryo holds the write end. */
	while (pid > 0 && now_ms() < deadline) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		char scratch[512];
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (used + 1 < sizeof(r->out))
			n = read(pipefd[0], r->out + used, sizeof(r->out) - 1 - used);
		else
			n = read(pipefd[0], scratch, sizeof(scratch));
		if (n <= 0)
			break;
		if (used + 1 < sizeof(r->out))
			used += n;
	}
	r->out[used] = '\0';
	close(pipefd[0]);
	if (pid < 0)
		return;
	if (!wait_child(pid, deadline - now_ms() > 0 ? deadline - now_ms() : 0, &status)) {
		kill_and_reap(pid);
		return;
	}
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A clean refusal: an exit status of 1 to 127 (no crash, no hang) and a
 * message holding every one of the NULL-terminated @... parts. */
bool refused(const struct cryo_run *r, ...)
{
	const char *key;
	va_list ap;
	bool ok = true;

	if (r->status < 1 || r->status > 127)
		return fail_why("cryo %s (expected a refusal); it said: %s",
				r->status < 0 ? "hung" : r->status ? "crashed" : "succeeded",
				r->out);
	va_start(ap, r);
	while (ok && (key = va_arg(ap, const char *)))
		if (!strstr(r->out, key))
			ok = fail_why("cryo's message lacks '%s'; it said: %s", key, r->out);
	va_end(ap);
	return ok;
}

/* Whether @text names "pid @pid" (and not a longer number starting so). */
bool names_pid(const char *text, pid_t pid)
{
	char key[32];
	int len = snprintf(key, sizeof(key), "pid %d", pid);

	for (const char *at = strstr(text, key); at; at = strstr(at + 1, key))
		if (!isdigit((unsigned char)at[len]))
			return true;
	return fail_why("cryo's message does not name pid %d; it said: %s", pid, text);
}

/* ---- the dumped programs ---------------------------------------------------- */

/* Starts test program @name in a new temporary directory and waits until
 * it is ready; @setup runs in its child before the exec. */
bool start_prog(struct prog *p, const char *name, child_setup_fn setup, void *arg)
{
	char pidfile[PATH_MAX], outfile[PATH_MAX], log[PATH_MAX], maps[64];
	long deadline = now_ms() + WAIT_MS;
	FILE *f;
	pid_t child, ready = 0;
	int status;

	p->pid = 0;
	if (!make_temp_dir(p->dir))
		return false;
	pathf(p->path, "%s/%s", bin_dir, name);
	pathf(pidfile, "%s/pid", p->dir);
	pathf(outfile, "%s/out", p->dir);
	pathf(log, "%s/prog.out", p->dir);
	child = fork();
	if (child == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (setup)
			setup(arg);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execl(p->path, p->path, "--pidfile", pidfile, "--outfile", outfile, (char *)NULL);
		_exit(127);
	}
	if (child < 0)
		return fail_why("fork: %s", strerror(errno));
	p->pid = child;
	while (!ready && now_ms() < deadline) {
		if (waitpid(child, &status, WNOHANG) == child) {
			p->pid = 0;
			return fail_why("%s exited before it was ready (see %s)", name, log);
		}
		f = fopen(pidfile, "re");
		if (!f || fscanf(f, "%d", &ready) != 1)
			ready = 0;
		if (f)
			fclose(f);
		if (!ready)
			sleep_ms(2);
	}
	if (ready != child)
		return fail_why("%s did not get ready (pid file says %d, started %d)", name, ready,
				child);
	snprintf(maps, sizeof(maps), "/proc/%d/maps", child);
	if (!read_text(maps, p->maps, sizeof(p->maps)))
		return fail_why("cannot read %s", maps);
	return true;
}

/* The first line of @now that differs from @before. */
void first_difference(const char *now, const char *before, char *out, size_t size)
{
	size_t i = 0, line = 0;

	while (now[i] && now[i] == before[i])
		if (now[i++] == '\n')
			line = i;
	snprintf(out, size, "%.200s", now + line);
	out[strcspn(out, "\n")] = '\0';
}

/* The program must be as it was: alive, untraced, its mappings unchanged
 * (no parasite left), no signal blocked but its own SIGTERM, and running
 * (it counts with a 1 ms sleep, so it keeps switching context). */
bool prog_unharmed(struct prog *p)
{
	unsigned long long tracer, blocked, switches, later;
	char path[64], *maps;
	long deadline;
	int status;
	bool same;

	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		p->pid = 0;
		if (WIFSIGNALED(status))
			return fail_why("the program was killed by signal %d (%s)",
					WTERMSIG(status), strsignal(WTERMSIG(status)));
		return fail_why("the program exited with %d", WEXITSTATUS(status));
	}
	if (!status_field(p->pid, "TracerPid", 10, &tracer) ||
	    !status_field(p->pid, "SigBlk", 16, &blocked) ||
	    !status_field(p->pid, "voluntary_ctxt_switches", 10, &switches))
		return fail_why("cannot read /proc/%d/status", p->pid);
	if (tracer)
		return fail_why("the program is still traced by pid %llu", tracer);
	if (blocked & ~(1ULL << (SIGTERM - 1)))
		return fail_why("the program has signals %#llx blocked", blocked);
	maps = malloc(sizeof(p->maps));
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	if (!maps || !read_text(path, maps, sizeof(p->maps))) {
		free(maps);
		return fail_why("cannot read %s", path);
	}
	same = !strcmp(maps, p->maps);
	if (!same) {
		char line[256];

		first_difference(maps, p->maps, line, sizeof(line));
		fail_why("the program's mappings changed, now: %s", line);
	}
	free(maps);
	if (!same)
		return false;
	deadline = now_ms() + 2000;
	do {
		sleep_ms(10);
		if (!status_field(p->pid, "voluntary_ctxt_switches", 10, &later))
			return fail_why("the program went away");
	} while (later == switches && now_ms() < deadline);
	if (later == switches)
		return fail_why("the program stopped running (no context switch in 2 s)");
	return true;
}

/* Ends the program with SIGTERM; its verdict must be PASS. */
bool prog_passes(struct prog *p)
{
	char outfile[PATH_MAX], line[600] = "";
	int status;

	pathf(outfile, "%s/out", p->dir);
	kill(p->pid, SIGTERM);
	if (!wait_child(p->pid, WAIT_MS, &status)) {
		kill_and_reap(p->pid);
		p->pid = 0;
		return fail_why("the program did not end after SIGTERM");
	}
	p->pid = 0;
	read_text(outfile, line, sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "PASS"))
		return fail_why("the program says: %s", line[0] ? line :
				WIFSIGNALED(status) ? "(killed by a signal, no verdict)" :
						      "(no verdict)");
	return true;
}

bool dump_refused_unharmed(struct prog *p, const char *key, const char *key2)
{
	char img[PATH_MAX], pid[16];
	struct cryo_run r;

	pathf(img, "%s/img", p->dir);
	snprintf(pid, sizeof(pid), "%d", p->pid);
	run_cryo(&r, "dump", "-t", pid, "-D", img);
	return refused(&r, key, key2, NULL) && no_inventory(img) && prog_unharmed(p);
}

/* Ends and reaps every child of ours but @keep (restored tasks whose cryo
 * is gone are ours too). Returns the first found, or 0, with its
 * /proc/PID/stat line in @seen. */
pid_t end_children(pid_t keep, char *seen, size_t size)
{
	char path[64], stat_text[512];
	struct dirent *de;
	pid_t first = 0;
	DIR *proc = opendir("/proc");

	while (proc && (de = readdir(proc))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		const char *after;
		int ppid;

		if (pid <= 0 || pid == keep)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (!read_text(path, stat_text, sizeof(stat_text)) ||
		    !(after = strrchr(stat_text, ')')) || sscanf(after, ") %*c %d", &ppid) != 1 ||
		    ppid != getpid())
			continue;
		if (!first && seen)
			snprintf(seen, size, "%s", stat_text);
		if (!first)
			first = pid;
		kill_and_reap(pid);
	}
	if (proc)
		closedir(proc);
	return first;
}

void end_prog(struct prog *p)
{
	kill_and_reap(p->pid);
	p->pid = 0;
	end_children(0, NULL, 0);
	remove_temp_dir(p->dir);
}

/* Finds cryo next to ../../cryo (or $CRYO) and makes the runner a child
 * subreaper: restored tasks whose cryo is gone become its own, to be
 * found and reaped. */
__attribute__((constructor)) static void setup(void)
{
	ssize_t n = readlink("/proc/self/exe", bin_dir, sizeof(bin_dir) - 1);

	if (n <= 0) {
		perror("readlink /proc/self/exe");
		exit(2);
	}
	bin_dir[n] = '\0';
	*strrchr(bin_dir, '/') = '\0';
	pathf(cryo_path, "%s/../../cryo", bin_dir);
	if (getenv("CRYO"))
		pathf(cryo_path, "%s", getenv("CRYO"));
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}
