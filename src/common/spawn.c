/* Running a helper program with text on its stdin and its stdout read
 * back, in a given network namespace (see spawn.h). What the text means is
 * the caller's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/spawn.h"

#define MAX_ARGS 16

int spawn_find(const char *name, char *path, size_t size)
{
	const char *env = getenv("PATH");
	char dirs[4096], *dir, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:%s", env ? env : "", SPAWN_SBIN_DIRS);
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, size, "%s/%s", dir, name);
		if (!access(path, X_OK))
			return 0;
	}
	return -ENOENT;
}

/* Reads @fd to its end into *@buf (NUL-terminated); -ENOMEM if it cannot grow. */
static int read_all(int fd, char **buf)
{
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *bigger = realloc(*buf, cap * 2 + 4096 + 1);

			if (!bigger)
				return -ENOMEM;
			*buf = bigger;
			cap = cap * 2 + 4096 + 1;
		}
		n = read(fd, *buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	(*buf)[len] = '\0';
	return 0;
}

static void __attribute__((noreturn)) exec_child(const struct spawn_call *c, const char *path,
						  int in, int out, int err)
{
	const char *argv[MAX_ARGS + 2] = { c->program };
	int null = open("/dev/null", O_WRONLY), n = 1;
	sigset_t none;

	for (const char *const *a = c->args; a && *a && n < MAX_ARGS + 1; a++)
		argv[n++] = *a;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET)) || dup2(in, 0) < 0 ||
	    dup2(out >= 0 ? out : null, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	execv(path, (char *const *)argv);
	_exit(127);
}

/* Writes @input to @fd, stopping early when the program stops reading. */
static void feed(int fd, const char *input)
{
	for (size_t off = 0, total = input ? strlen(input) : 0; off < total;) {
		ssize_t n = send(fd, input + off, total - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = -1;
}

int spawn_run(const struct spawn_call *c)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, status, ret = 0;
	char path[4096 + 64], *text = NULL, *errs = NULL;
	pid_t child;

	if (spawn_find(c->program, path, sizeof(path))) {
		snprintf(c->err, c->err_size, "%s not found in PATH nor in %s", c->program,
			 SPAWN_SBIN_DIRS);
		return -ENOENT;
	}
	/* A socket, not a pipe: a program that stops reading fails the send
	 * with EPIPE instead of killing cryo with SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) ||
	    (c->out && pipe2(out, O_CLOEXEC)) || pipe2(err, O_CLOEXEC)) {
		ret = -errno;
		goto out;
	}
	child = fork();
	if (child < 0) {
		ret = -errno;
		goto out;
	}
	if (child == 0)
		exec_child(c, path, in[1], out[1], err[1]);
	close(in[1]);
	close(out[1]);
	close(err[1]);
	in[1] = out[1] = err[1] = -1;
	feed(in[0], c->input);
	close_pair(in);
	/* Its stdout, then its stderr: what these programs say on stderr
	 * (a line or two) never fills a pipe while stdout is read. */
	if (c->out)
		ret = read_all(out[0], &text);
	if (!ret)
		ret = read_all(err[0], &errs);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			ret = ret ? ret : -errno;
			goto out;
		}
	if (!ret && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		if (errs && errs[0])
			snprintf(c->err, c->err_size, "%s: %.*s", c->program,
				 (int)strcspn(errs, "\n"), errs);
		else
			snprintf(c->err, c->err_size, "%s: %s %d", c->program,
				 WIFEXITED(status) ? "exit status" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		ret = -EIO;
	}
	if (!ret && c->out) {
		*c->out = text;
		text = NULL;
	}
out:
	close_pair(in);
	close_pair(out);
	close_pair(err);
	free(text);
	free(errs);
	return ret;
}
