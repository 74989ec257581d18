/* Driving the cryo binary against test programs, for every runner: start
 * a program of the table and wait until it is ready, run cryo (with that
 * program's settings) and collect what it said, check that a program is
 * unharmed or passes, end what was started. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "programs.h"
#include "runner_util.h"
#include "userns_maps.h"

/* The namespaces start_prog() can make: with unshare() before the exec, and
 * a pid namespace with clone(), the program its init (its pid file then
 * says 1). A user namespace maps root to RUNNER_USERNS_ROOT outside (made
 * first, the others it unshares with it belong to it; with a pid namespace
 * both are cloned together, so that the pid namespace is the user
 * namespace's, as `unshare --user --pid --fork` makes it). */
#define RUNNER_NAMESPACES (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | \
			   CLONE_NEWCGROUP | CLONE_NEWPID | CLONE_NEWUSER)
#define RUNNER_USERNS_ROOT 100000
#define RUNNER_USERNS_IDS 65536
#define MAX_ARGS 64
#define MAX_ENV 1024

char bin_dir[PATH_MAX], cryo_path[PATH_MAX];
/* Why the last helper that returned false did so. */
char why[4096];

/* In the program's child, before the exec: unshare(@flags) with a user
 * namespace among them, whose maps a helper forked before writes from
 * outside; then root inside. Exits on failure. */
static void enter_user_namespace(unsigned long flags)
{
	int ret = userns_enter(flags, RUNNER_USERNS_ROOT, RUNNER_USERNS_IDS);

	if (ret) {
		fprintf(stderr, "test: unshare(%#lx) as root of a user namespace: %s\n", flags,
			strerror(-ret));
		_exit(124);
	}
}

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
bool proc_status_number(pid_t pid, const char *key, int base, unsigned long long *value)
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

/* The table's settings of @c's program for the stage args[0] names. */
static const struct cryo_settings *stage_settings(const struct cryo_call *c)
{
	if (!c->program || !c->args[0])
		return NULL;
	if (!strcmp(c->args[0], "dump"))
		return &c->program->dump;
	if (!strcmp(c->args[0], "restore"))
		return &c->program->restore;
	return NULL;
}

/* Whether @entry ("NAME=value") sets the same name as one of @list. */
static bool env_overridden(const char *entry, const char *const *list)
{
	size_t len = strcspn(entry, "=");

	for (; list && *list; list++)
		if (!strncmp(*list, entry, len) && (*list)[len] == '=')
			return true;
	return false;
}

/* Adds @list to @envp, which holds @n entries; returns the new count. */
static int env_add(char **envp, int n, const char *const *list)
{
	for (; list && *list && n < MAX_ENV - 1; list++)
		envp[n++] = (char *)*list;
	return n;
}

/* @argv as one sh command line, each word in single quotes; false if it
 * does not fit. */
static bool shell_words(char *const *argv, char *buf, size_t size)
{
	size_t used = 0;

	for (; *argv; argv++) {
		if (used + 3 >= size)
			return false;
		buf[used++] = '\'';
		for (const char *ch = *argv; *ch; ch++) {
			const char *text = *ch == '\'' ? "'\\''" : ch;
			size_t len = *ch == '\'' ? 4 : 1;

			if (used + len + 3 >= size)
				return false;
			memcpy(buf + used, text, len);
			used += len;
		}
		buf[used++] = '\'';
		buf[used++] = ' ';
	}
	buf[used] = '\0';
	return true;
}

void cryo_exec(int out_fd, const struct cryo_call *c)
{
	static char command[16384];
	const struct cryo_settings *stage = stage_settings(c);
	const char *const *extra_env[2] = { c->env, stage ? stage->env : NULL };
	/* Static: the child's own copy, and no allocation after fork. */
	static char *argv[MAX_ARGS], *envp[MAX_ENV];
	int in, n = 0;

	argv[n++] = cryo_path;
	for (const char *const *a = c->args; *a && n < MAX_ARGS - 1; a++)
		argv[n++] = (char *)*a;
	for (const char *const *a = stage ? stage->options : NULL; a && *a && n < MAX_ARGS - 1;
	     a++)
		argv[n++] = (char *)*a;
	argv[n] = NULL;
	n = 0;
	for (char **e = environ; *e && n < MAX_ENV - 1; e++)
		if (!env_overridden(*e, extra_env[0]) && !env_overridden(*e, extra_env[1]))
			envp[n++] = *e;
	n = env_add(envp, n, extra_env[0]);
	n = env_add(envp, n, extra_env[1]);
	envp[n] = NULL;

	if (out_fd >= 0) {
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		dup2(in, 0);
		dup2(out_fd, 1);
		dup2(out_fd, 2);
	}
	/* Nothing of the runner's leaks into cryo (a pipe kept open there
	 * would hide another cryo's end of output). */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (c->setup)
		c->setup(c->setup_arg);
	if (c->on_terminal) {
		char *script[] = { "script", "-qfec", command, "/dev/null", NULL };

		if (!shell_words(argv, command, sizeof(command)))
			_exit(126);
		execve("/usr/bin/script", script, envp);
		_exit(127);
	}
	execve(cryo_path, argv, envp);
	_exit(127);
}

pid_t cryo_spawn(int out_fd, const struct cryo_call *c)
{
	pid_t pid = fork();

	if (pid == 0)
		cryo_exec(out_fd, c);
	return pid;
}

/* Appends what was read to @r->out (as long as it fits) and to @log_fd. */
static void keep_output(struct cryo_run *r, size_t *used, const char *text, size_t len,
			int log_fd)
{
	size_t room = sizeof(r->out) - 1 - *used;

	memcpy(r->out + *used, text, len < room ? len : room);
	*used += len < room ? len : room;
	if (log_fd >= 0 && write(log_fd, text, len) != (ssize_t)len)
		fprintf(stderr, "test: cannot append to a log of cryo: %s\n", strerror(errno));
}

void cryo_call(struct cryo_run *r, const struct cryo_call *c)
{
	long deadline = now_ms() + CRYO_MS;
	int pipefd[2], status, log_fd = -1;
	bool ended = false, eof = false;
	size_t used = 0;
	pid_t pid;

	r->pid = -1;
	r->status = -1;
	r->out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(r->out, sizeof(r->out), "pipe: %s", strerror(errno));
		return;
	}
	if (c->log_path)
		log_fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	pid = cryo_spawn(pipefd[1], c);
	r->pid = pid;
	close(pipefd[1]);
	/* To EOF, or until cryo has ended: what it left running (the page
	 * server of a lazy restore) may hold the pipe on. */
	while (pid > 0 && !eof && now_ms() < deadline) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (poll(&pfd, 1, ended ? 0 : 20) > 0) {
			n = read(pipefd[0], buf, sizeof(buf));
			if (n > 0)
				keep_output(r, &used, buf, n, log_fd);
			eof = n <= 0;
		} else if (ended) {
			break;
		}
		if (!ended && waitpid(pid, &status, WNOHANG) == pid)
			ended = true;
	}
	r->out[used] = '\0';
	close(pipefd[0]);
	if (log_fd >= 0)
		close(log_fd);
	if (pid < 0)
		return;
	if (!ended && !wait_child(pid, deadline - now_ms() > 0 ? deadline - now_ms() : 0, &status)) {
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

/* The runner writes the maps of @child, cloned with its user namespace,
 * and tells it on @sync; false when it cannot. */
static bool map_cloned_user_namespace(pid_t child, int sync)
{
	bool ok = !userns_write_maps(child, RUNNER_USERNS_ROOT, RUNNER_USERNS_IDS) &&
		  write(sync, "u", 1) == 1;

	close(sync);
	return ok;
}

/* In the child cloned with its user namespace: root inside once mapped. */
static void become_root_when_mapped(int sync)
{
	char byte;

	if (read(sync, &byte, 1) != 1 || setgroups(0, NULL) || setresgid(0, 0, 0) ||
	    setresuid(0, 0, 0)) {
		fprintf(stderr, "test: cannot become root in the cloned user namespace: %s\n",
			strerror(errno));
		_exit(124);
	}
	close(sync);
}

/* Starts test program @name in a new temporary directory and waits until
 * it is ready; @setup runs in its child before the exec. */
/* start_prog(), or with @orphan in a session of its own whose parent
 * has exited. */
static bool start(struct prog *p, const char *name, child_setup_fn setup, void *arg, bool orphan)
{
	const struct test_program *tp = test_program(name);
	char pidfile[PATH_MAX], outfile[PATH_MAX], log[PATH_MAX], maps[64];
	long deadline = now_ms() + WAIT_MS;
	FILE *f;
	pid_t child, ready = 0;
	int status = 0, sync[2] = { -1, -1 };
	bool user_pid;

	p->pid = 0;
	p->dir[0] = '\0';
	p->program = tp;
	if (!tp)
		return fail_why("%s has no entry in the table of test programs "
				"(tests/roundtrip/programs.c)", name);
	if (tp->namespaces & ~(unsigned long)RUNNER_NAMESPACES)
		return fail_why("%s: the runner cannot start a program in namespaces %#lx (only "
				"mount, UTS, IPC, network, cgroup, pid and user ones)", name,
				tp->namespaces & ~(unsigned long)RUNNER_NAMESPACES);
	if (!make_temp_dir(p->dir))
		return false;
	/* Root inside writes its files there. */
	if ((tp->namespaces & CLONE_NEWUSER) &&
	    chown(p->dir, RUNNER_USERNS_ROOT, RUNNER_USERNS_ROOT))
		return fail_why("chown %s: %s", p->dir, strerror(errno));
	pathf(p->path, "%s/%s", bin_dir, tp->binary ? tp->binary : name);
	pathf(pidfile, "%s/pid", p->dir);
	pathf(outfile, "%s/out", p->dir);
	pathf(log, "%s/prog.out", p->dir);
	user_pid = (tp->namespaces & CLONE_NEWUSER) && (tp->namespaces & CLONE_NEWPID);
	/* Made here: the child, born in its user namespace, could not give
	 * it to root inside. */
	if (user_pid) {
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (out < 0 || fchown(out, RUNNER_USERNS_ROOT, RUNNER_USERNS_ROOT) ||
		    pipe2(sync, O_CLOEXEC))
			return fail_why("%s: %s", log, strerror(errno));
		close(out);
	}
	if (tp->namespaces & CLONE_NEWPID)
		child = (pid_t)syscall(SYS_clone,
				       CLONE_NEWPID | (user_pid ? CLONE_NEWUSER : 0) | SIGCHLD,
				       NULL, NULL, NULL, NULL);
	else
		child = fork();
	if (child == 0) {
		unsigned long unshared = tp->namespaces & ~(unsigned long)CLONE_NEWPID;

		if (user_pid) {
			close(sync[1]);
			become_root_when_mapped(sync[0]);
			unshared &= ~(unsigned long)CLONE_NEWUSER;
		}
		const char *argv[MAX_ARGS] = { p->path, "--pidfile", pidfile, "--outfile", outfile };
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int n = 5;

		for (const char *const *a = tp->args; a && *a && n < MAX_ARGS - 1; a++)
			argv[n++] = *a;
		argv[n] = NULL;
		if (setup)
			setup(arg);
		if (orphan) {
			pid_t grandchild;

			setsid();
			grandchild = fork();
			if (grandchild)
				_exit(grandchild < 0 ? 126 : 0);
		}
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		if (unshared & CLONE_NEWUSER) {
			if (fchown(out, RUNNER_USERNS_ROOT, RUNNER_USERNS_ROOT))
				_exit(124);
			enter_user_namespace(unshared);
		} else if (unshared && unshare((int)unshared)) {
			fprintf(stderr, "test: unshare(%#lx): %s\n", unshared, strerror(errno));
			_exit(124);
		}
		execv(p->path, (char *const *)argv);
		_exit(127);
	}
	if (user_pid) {
		close(sync[0]);
		if (child > 0 && !map_cloned_user_namespace(child, sync[1])) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			return fail_why("%s: cannot write the maps of its user namespace", name);
		}
		if (child < 0)
			close(sync[1]);
	}
	if (child < 0)
		return fail_why("fork: %s", strerror(errno));
	if (orphan && (!wait_child(child, WAIT_MS, &status) || status))
		return fail_why("%s: the parent of the orphan failed (status %#x)", name, status);
	p->pid = orphan ? 0 : child;
	p->peer = 0;
	if (tp->peer) {
		char peer_path[PATH_MAX];

		pathf(peer_path, "%s/%s", bin_dir, tp->peer);
		p->peer = fork();
		if (p->peer == 0) {
			int out = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);

			dup2(out, 1);
			dup2(out, 2);
			execl(peer_path, peer_path, "--dir", p->dir, (char *)NULL);
			_exit(127);
		}
		if (p->peer < 0)
			return fail_why("fork: %s", strerror(errno));
	}
	while (!ready && now_ms() < deadline) {
		if (!orphan && waitpid(child, &status, WNOHANG) == child) {
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
	if (orphan && ready > 0)
		p->pid = child = ready;
	/* The init of its own pid namespace knows itself as pid 1. */
	if ((tp->namespaces & CLONE_NEWPID) && ready == 1)
		ready = child;
	if (ready != child)
		return fail_why("%s did not get ready (pid file says %d, started %d)", name, ready,
				child);
	snprintf(maps, sizeof(maps), "/proc/%d/maps", child);
	if (!read_text(maps, p->maps, sizeof(p->maps)))
		return fail_why("cannot read %s", maps);
	return true;
}

bool peer_passes(struct prog *p, char *why, size_t size)
{
	char out[PATH_MAX], line[600] = "";
	int status;
	FILE *f;

	if (!p->peer)
		return true;
	pathf(out, "%s/peer.out", p->dir);
	kill(p->peer, SIGTERM);
	if (!wait_child(p->peer, WAIT_MS, &status)) {
		kill(p->peer, SIGKILL);
		waitpid(p->peer, NULL, 0);
		p->peer = 0;
		snprintf(why, size, "the peer %s did not end after SIGTERM", p->program->peer);
		return false;
	}
	p->peer = 0;
	f = fopen(out, "re");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	if (!strcmp(line, "PASS"))
		return true;
	snprintf(why, size, "the peer %s: %s", p->program->peer,
		 line[0] ? line : "no verdict written");
	return false;
}

bool start_prog(struct prog *p, const char *name, child_setup_fn setup, void *arg)
{
	return start(p, name, setup, arg, false);
}

bool start_orphan(struct prog *p, const char *name)
{
	return start(p, name, NULL, NULL, true);
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
bool prog_next_phase(struct prog *p, unsigned int n)
{
	char path[PATH_MAX];

	pathf(path, "%s/phase-%u", p->dir, n);
	if (kill(p->pid, SIGUSR1))
		return fail_why("kill: %s", strerror(errno));
	for (long deadline = now_ms() + WAIT_MS; now_ms() < deadline; sleep_ms(10))
		if (!access(path, F_OK))
			return true;
	return fail_why("pid %d did not reach phase %u", p->pid, n);
}

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
	/* A parasite left behind by a killed dumper sees its channel close and
	 * cures itself (mask and all), which under load takes a moment: the
	 * program must be whole once it has. */
	deadline = now_ms() + 2000;
	for (;;) {
		if (!proc_status_number(p->pid, "TracerPid", 10, &tracer) ||
		    !proc_status_number(p->pid, "SigBlk", 16, &blocked) ||
		    !proc_status_number(p->pid, "voluntary_ctxt_switches", 10, &switches))
			return fail_why("cannot read /proc/%d/status", p->pid);
		if ((!tracer && !(blocked & ~(1ULL << (SIGTERM - 1)))) || now_ms() >= deadline)
			break;
		sleep_ms(10);
	}
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
		if (!proc_status_number(p->pid, "voluntary_ctxt_switches", 10, &later))
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

bool prog_dump(struct prog *p, const char *img, const char *const *extra)
{
	const char *args[24] = { "dump", "-t", NULL, "-D", img };
	size_t n = 5;
	struct cryo_run r;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", p->pid);
	args[2] = pid;
	while (extra && *extra && n < sizeof(args) / sizeof(args[0]) - 1)
		args[n++] = *extra++;
	args[n] = NULL;
	cryo_call(&r, &(struct cryo_call){ .args = args, .program = p->program });
	return r.status ? fail_why("the dump failed (%d): %s", r.status, r.out) : true;
}

bool dump_refused_unharmed(struct prog *p, const char *key, const char *key2)
{
	char img[PATH_MAX], pid[16];
	struct cryo_run r;

	pathf(img, "%s/img", p->dir);
	snprintf(pid, sizeof(pid), "%d", p->pid);
	prog_cryo(&r, p, "dump", "-t", pid, "-D", img);
	return refused(&r, key, key2, NULL) && no_inventory(img) && prog_unharmed(p);
}

bool dump_refused_no_images(struct prog *p, const char *key)
{
	char img[PATH_MAX], pid[16];
	struct cryo_run r;

	pathf(img, "%s/img", p->dir);
	snprintf(pid, sizeof(pid), "%d", p->pid);
	prog_cryo(&r, p, "dump", "-t", pid, "-D", img);
	return refused(&r, key, NULL) && no_inventory(img);
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

bool socket_dump_refused(child_setup_fn open_fd, void *arg, int fd, const char *what)
{
	struct prog p = { 0 };
	char expect[64];
	bool ok = start_prog(&p, "prog_counter", open_fd, arg);

	if (ok) {
		snprintf(expect, sizeof(expect), "pid %d fd %d (socket:[", p.pid, fd);
		ok = dump_refused_unharmed(&p, expect, what) && prog_passes(&p);
	}
	end_prog(&p);
	return ok;
}
