/* criu's --action-script: each script named is run, through /bin/sh, at
 * every point where criu runs them (pre-dump, network-lock, post-dump,
 * network-unlock, pre-restore, setup-namespaces, post-restore,
 * post-resume), with CRTOOLS_SCRIPT_ACTION naming the point and
 * CRTOOLS_INIT_PID the root's pid; a script that fails fails the dump or
 * restore there. It is struct cryo_opts' notify() of the command line; RPC
 * clients get notifications instead (src/rpc). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/options.h"
#include "common/log.h"

static int run_script(const char *script, const char *action, pid_t pid)
{
	char pid_text[16];
	int status;
	pid_t child;

	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		setenv("CRTOOLS_SCRIPT_ACTION", action, 1);
		if (pid > 0)
			setenv("CRTOOLS_INIT_PID", pid_text, 1);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	pr_err("action script %s failed at %s (%s %d)", script, action,
	       WIFEXITED(status) ? "exit status" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -ECANCELED;
}

int action_scripts_notify(const char *action, pid_t pid, void *arg)
{
	const struct cryo_opts *opts = arg;

	for (int i = 0; i < opts->nr_action_scripts; i++) {
		int ret = run_script(opts->action_scripts[i], action, pid);

		if (ret)
			return ret;
	}
	return 0;
}
