/* criu's command line through the real cryo binary (issue 11 item 12): a
 * dump and a restore of prog_counter with --action-script (each point in
 * criu's order, with the root's pid), --work-dir (the log and the pid file
 * land there), a --config file (its log-file taken), and the restored
 * program passes. The parsing itself is tests/unit/test_criu_options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	bool ok = f && fputs(text, f) >= 0;

	if (f)
		ok &= fclose(f) == 0;
	return ok;
}

TEST(action_scripts_work_dir_and_config_file_through_dump_and_restore)
{
	char img[PATH_MAX], work[PATH_MAX], conf[PATH_MAX], script[2 * PATH_MAX];
	char actions[PATH_MAX], path[PATH_MAX], text[1024] = "", pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t pid;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pid = p.pid;
	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	pathf(img, "%s/img", p.dir);
	pathf(work, "%s/work", p.dir);
	pathf(conf, "%s/cryo.conf", p.dir);
	pathf(actions, "%s/actions", p.dir);
	snprintf(script, sizeof(script), "echo \"$CRTOOLS_SCRIPT_ACTION $CRTOOLS_INIT_PID\" >> %s",
		 actions);
	CHECK_GOTO(!mkdir(work, 0700) && write_file(conf, "# criu's format\nlog-file dump.log\n"),
		   out, "cannot set up %s: %s", p.dir, strerror(errno));

	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "-W", work, "--config", conf,
		  "--action-script", script);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	pathf(path, "%s/dump.log", work);
	CHECK_GOTO(access(path, F_OK) == 0, out, "no log in the work dir (%s)", path);
	read_text(actions, text, sizeof(text));
	snprintf(path, sizeof(path), "pre-dump %d\nnetwork-lock %d\npost-dump %d\n", pid, pid,
		 pid);
	CHECK_GOTO(!strncmp(text, path, strlen(path)), out, "dump ran \"%s\", want \"%s...\"", text,
		   path);
	unlink(actions);
	/* The dumped program was our child: reap it, freeing its pid. */
	waitpid(pid, NULL, 0);

	prog_cryo(&r, &p, "restore", "-D", img, "-W", work, "-d", "--pidfile", "root.pid", "-o",
		  "restore.log", "--no-default-config", "--action-script", script);
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	pathf(path, "%s/root.pid", work);
	CHECK_GOTO(read_text(path, text, sizeof(text)) && atoi(text) == pid, out,
		   "the pid file in the work dir says '%s', want %d", text, pid);
	pathf(path, "%s/restore.log", work);
	CHECK_GOTO(access(path, F_OK) == 0, out, "no restore log in the work dir");
	read_text(actions, text, sizeof(text));
	snprintf(path, sizeof(path), "post-restore %d\n", pid);
	CHECK_GOTO(strstr(text, path) && strstr(text, "setup-namespaces"), out,
		   "restore ran \"%s\"", text);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(a_failing_action_script_fails_the_dump_and_the_program_runs_on)
{
	char img[PATH_MAX], pid_text[16], inventory[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--action-script",
		  "test \"$CRTOOLS_SCRIPT_ACTION\" != post-dump");
	CHECK_GOTO(r.status > 0 && r.status < 128 && strstr(r.out, "failed at post-dump"), out,
		   "dump exited %d: %s", r.status, r.out);
	pathf(inventory, "%s/inventory.img", img);
	CHECK_GOTO(access(inventory, F_OK) && errno == ENOENT, out, "the refused dump left %s",
		   inventory);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}
