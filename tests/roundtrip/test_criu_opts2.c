/* criu's --timeout, --leave-stopped, --status-fd, --exec-cmd and
 * --evasive-devices through the real cryo binary (issue 11 item 12): a
 * vfork parent no ptrace stop reaches is given up on after the timeout and
 * runs on; a tree dumped and restored with -s is stopped and continues on
 * SIGCONT; the status fd gets its byte once the restored tree runs; the
 * command of --exec-cmd runs in cryo's place as the root's parent; device
 * nodes unlinked while open are saved as /dev/null with
 * --evasive-devices and refused without. Parsing is test_criu_options'. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

/* The state letter of @pid in /proc/PID/stat; '?' when unreadable. */
static char proc_state(pid_t pid)
{
	char path[64], text[512];
	const char *close_paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!read_text(path, text, sizeof(text)) || !(close_paren = strrchr(text, ')')))
		return '?';
	return close_paren[2];
}

/* Waits up to WAIT_MS for @path to exist. */
static bool appears(const char *path)
{
	for (long deadline = now_ms() + WAIT_MS; now_ms() < deadline; sleep_ms(10))
		if (!access(path, F_OK))
			return true;
	return fail_why("%s did not appear", path);
}

TEST(timeout_gives_up_on_a_vfork_parent_and_it_runs_on)
{
	char img[PATH_MAX], marker[PATH_MAX], pid_text[16];
	unsigned long long tracer = 1;
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "neg_vfork_parent", NULL, NULL), out, "%s", why);
	pathf(marker, "%s/vforked", p.dir);
	CHECK_GOTO(appears(marker), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--timeout", "1");
	CHECK_GOTO(refused(&r, "did not stop in time", "--timeout 1 s", "runs on", NULL), out,
		   "%s", why);
	CHECK_GOTO(names_pid(r.out, p.pid) && no_inventory(img), out, "%s: %s", why, r.out);
	/* cryo has exited: the kernel let go of the thread it could not stop. */
	CHECK_GOTO(proc_status_number(p.pid, "TracerPid", 10, &tracer) && tracer == 0, out,
		   "pid %d is still traced by %llu", p.pid, tracer);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* Child @pid must be in a stop by SIGSTOP, as /proc and waitpid(WUNTRACED)
 * tell, and run again on SIGCONT. */
static bool stopped_then_continued(pid_t pid, bool our_child)
{
	int status = 0;

	for (long deadline = now_ms() + WAIT_MS; proc_state(pid) != 'T'; sleep_ms(10))
		if (now_ms() > deadline)
			return fail_why("pid %d is in state %c, not stopped", pid, proc_state(pid));
	if (our_child && (waitpid(pid, &status, WUNTRACED | WNOHANG) != pid ||
			  !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP))
		return fail_why("waitpid(WUNTRACED) of pid %d gave %#x, not a stop by SIGSTOP",
				pid, status);
	kill(pid, SIGCONT);
	for (long deadline = now_ms() + WAIT_MS; proc_state(pid) == 'T'; sleep_ms(10))
		if (now_ms() > deadline)
			return fail_why("pid %d is still stopped after SIGCONT", pid);
	return true;
}

TEST(leave_stopped_leaves_the_dumped_and_the_restored_tree_stopped)
{
	char img[PATH_MAX], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--leave-stopped");
	CHECK_GOTO(r.status == 0, out, "dump -s failed (%d): %s", r.status, r.out);
	CHECK_GOTO(stopped_then_continued(p.pid, true), out, "after dump: %s", why);
	/* The original ran on: it passes, and its pid is free again. */
	CHECK_GOTO(prog_passes(&p), out, "%s", why);

	prog_cryo(&r, &p, "restore", "-D", img, "-d", "-s");
	CHECK_GOTO(r.status == 0, out, "restore -s failed (%d): %s", r.status, r.out);
	p.pid = atoi(pid_text);
	/* Its parent, cryo, has exited: the runner adopted it, already stopped. */
	CHECK_GOTO(stopped_then_continued(p.pid, false), out, "after restore: %s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* Dumps @p into @img, the program killed and reaped, for a restore. */
static bool dumped(struct prog *p, const char *img, const char *const *extra)
{
	if (!prog_dump(p, img, extra))
		return false;
	waitpid(p->pid, NULL, 0);
	return true;
}

/* In cryo's child: fd *@arg goes through exec (the driver closes the rest). */
static void keep_fd(void *arg)
{
	if (fcntl(*(int *)arg, F_SETFD, 0))
		_exit(126);
}

TEST(status_fd_gets_its_byte_once_the_restored_tree_runs)
{
	char img[PATH_MAX], fd_text[16], byte = 'x';
	struct prog p = { 0 };
	struct cryo_run r;
	int status[2] = { -1, -1 };
	pid_t pid;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pid = p.pid;
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(dumped(&p, img, NULL), out, "%s", why);
	CHECK_GOTO(!pipe2(status, O_CLOEXEC), out, "pipe: %s", strerror(errno));
	snprintf(fd_text, sizeof(fd_text), "%d", status[1]);
	cryo_call(&r, &(struct cryo_call){
		.args = CRYO_ARGS("restore", "-D", img, "-d", "--status-fd", fd_text),
		.program = p.program, .setup = keep_fd, .setup_arg = &status[1] });
	close(status[1]);
	status[1] = -1;
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	p.pid = pid;
	CHECK_GOTO(read(status[0], &byte, 1) == 1 && byte == '\0', out,
		   "the status fd gave no zero byte (%#x)", byte);
	CHECK_GOTO(read(status[0], &byte, 1) == 0, out, "the status fd was not closed");
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	for (int i = 0; i < 2; i++)
		if (status[i] >= 0)
			close(status[i]);
	end_prog(&p);
}

TEST(exec_cmd_runs_in_cryos_place_as_the_restored_roots_parent)
{
	char img[PATH_MAX], path[64], text[256] = "", log[PATH_MAX];
	unsigned long long ppid = 0;
	struct prog p = { 0 };
	pid_t pid, cmd = -1;
	int log_fd = -1;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pid = p.pid;
	pathf(img, "%s/img", p.dir);
	pathf(log, "%s/restore.out", p.dir);
	CHECK_GOTO(dumped(&p, img, NULL), out, "%s", why);
	log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK_GOTO(log_fd >= 0, out, "%s: %s", log, strerror(errno));
	cmd = cryo_spawn(log_fd, &(struct cryo_call){
		.args = CRYO_ARGS("restore", "-D", img, "--exec-cmd", "--", "sleep", "1000"),
		.program = p.program });
	CHECK_GOTO(cmd > 0, out, "fork: %s", strerror(errno));
	p.pid = pid;
	/* cryo's process becomes sleep once the tree runs. */
	snprintf(path, sizeof(path), "/proc/%d/comm", cmd);
	for (long deadline = now_ms() + CRYO_MS; strcmp(text, "sleep\n"); sleep_ms(10)) {
		CHECK_GOTO(now_ms() < deadline && waitpid(cmd, NULL, WNOHANG) == 0, out,
			   "cryo (pid %d) never became the command", cmd);
		read_text(path, text, sizeof(text));
	}
	CHECK_GOTO(proc_status_number(pid, "PPid", 10, &ppid) && ppid == (unsigned long long)cmd, out,
		   "the restored root's parent is %llu, not the command (pid %d)", ppid, cmd);
	/* With the command gone the root comes back to the runner. */
	kill(cmd, SIGKILL);
	waitpid(cmd, NULL, 0);
	cmd = -1;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (cmd > 0) {
		kill(cmd, SIGKILL);
		waitpid(cmd, NULL, 0);
	}
	if (log_fd >= 0)
		close(log_fd);
	end_prog(&p);
}

/* In prog_counter's child: fd 7 is a node for /dev/null's device that was
 * unlinked (no other link), fd 8 one whose other hard link remains. */
static void open_vanished_nodes(void *arg)
{
	const struct prog *p = arg;
	char gone[PATH_MAX], linked[PATH_MAX], other[PATH_MAX];
	int fd;

	pathf(gone, "%s/gone", p->dir);
	pathf(linked, "%s/linked", p->dir);
	pathf(other, "%s/other-link", p->dir);
	if (mknod(gone, S_IFCHR | 0666, makedev(1, 3)) || (fd = open(gone, O_RDWR)) < 0 ||
	    dup2(fd, 7) != 7 || close(fd) || unlink(gone))
		_exit(126);
	if (mknod(linked, S_IFCHR | 0666, makedev(1, 3)) || link(linked, other) ||
	    (fd = open(linked, O_RDWR)) < 0 || dup2(fd, 8) != 8 || close(fd) || unlink(linked))
		_exit(126);
}

static bool fd_leads_to(pid_t pid, int fd, const char *want)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return fail_why("%s: %s", link, strerror(errno));
	target[n] = '\0';
	return strcmp(target, want) ? fail_why("%s leads to %s, not %s", link, target, want) : true;
}

TEST(evasive_devices_saves_unlinked_device_nodes_by_a_node_of_dev)
{
	char img[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t pid;

	CHECK_GOTO(start_prog(&p, "prog_counter", open_vanished_nodes, &p), out, "%s", why);
	pid = p.pid;
	/* Without the option fd 8 (a path unlinked, the node kept by another
	 * link) is refused; fd 7 alone would be made again as a deleted node. */
	CHECK_GOTO(dump_refused_unharmed(&p, "no longer names device 1:3", "--evasive-devices"),
		   out, "%s", why);
	pathf(img, "%s/img2", p.dir);
	CHECK_GOTO(dumped(&p, img, CRYO_ARGS("--evasive-devices")), out, "%s", why);
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	p.pid = pid;
	CHECK_GOTO(fd_leads_to(pid, 7, "/dev/null") && fd_leads_to(pid, 8, "/dev/null"), out,
		   "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}
