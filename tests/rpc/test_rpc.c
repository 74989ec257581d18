/* criu's RPC, message by message, against `cryo swrk`: VERSION, CHECK and
 * FEATURE_CHECK answers; a DUMP of a running program with leave_running and
 * a RESTORE from the same images directory fd, each with its notifications
 * in criu's order and acked, after which the restored program passes;
 * requests and options cryo cannot serve refused by name, with the program
 * unharmed; a notification the client refuses fails the dump; a terminal
 * whose master the client holds comes back on a new master handed over
 * with the orphan-pts-master notification; status_fd and exec_cmd at a
 * restore. */
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "rpc_client.h"
#include "rpc_session.h"
#include "runner_util.h"
#include "session_util.h"

TEST(version_names_cryo)
{
	CriuReq req = CRIU_REQ__INIT;
	struct swrk s;
	CriuResp *resp;
	int status;

	CHECK(swrk_start(&s, -1), "%s", why);
	req.type = CRIU_REQ_TYPE__VERSION;
	resp = swrk_call(&s, &req);
	status = swrk_stop(&s);
	CHECK(resp, "%s", why);
	CHECK(resp->type == CRIU_REQ_TYPE__VERSION && resp->success, "type %d success %d",
	      resp->type, resp->success);
	CHECK(resp->version && resp->version->major_number >= 3 &&
	      has_text(resp->version->name, "cryo"), "version %d name %s",
	      resp->version ? resp->version->major_number : -1,
	      resp->version ? resp->version->name : "(none)");
	criu_resp__free_unpacked(resp, NULL);
	CHECK(status == 0, "cryo swrk exited with %d", status);
}

/* keep_open serves several requests on one connection; CHECK agrees with
 * `cryo check`. */
TEST(check_agrees_with_cryo_check_on_a_kept_connection)
{
	CriuReq req = CRIU_REQ__INIT;
	struct cryo_run r;
	struct swrk s;
	CriuResp *first, *second;

	run_cryo(&r, "check");
	CHECK(swrk_start(&s, -1), "%s", why);
	req.type = CRIU_REQ_TYPE__VERSION;
	req.has_keep_open = req.keep_open = true;
	first = swrk_call(&s, &req);
	req.type = CRIU_REQ_TYPE__CHECK;
	req.has_keep_open = req.keep_open = false;
	second = first ? swrk_call(&s, &req) : NULL;
	swrk_stop(&s);
	CHECK(first && first->success, "VERSION: %s", first ? "failed" : why);
	CHECK(second, "CHECK after a kept VERSION: %s", why);
	CHECK(second->type == CRIU_REQ_TYPE__CHECK, "answer type %d", second->type);
	CHECK(second->success == (r.status == 0), "CHECK says %d, cryo check exits %d (%s)",
	      second->success, r.status, second->cr_errmsg ? second->cr_errmsg : "");
	criu_resp__free_unpacked(first, NULL);
	criu_resp__free_unpacked(second, NULL);
}

TEST(feature_check_answers_every_feature_asked)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuFeatures asked = CRIU_FEATURES__INIT;
	CriuResp *resp;
	int status;

	req.type = CRIU_REQ_TYPE__FEATURE_CHECK;
	req.features = &asked;
	asked.has_mem_track = asked.has_lazy_pages = asked.has_pidfd_store = true;
	asked.mem_track = asked.lazy_pages = asked.pidfd_store = true;
	resp = one_request(&req, -1, NULL, 0, NULL, &status);
	CHECK(resp, "%s", why);
	CHECK(resp->type == CRIU_REQ_TYPE__FEATURE_CHECK && resp->success && resp->features,
	      "type %d success %d", resp->type, resp->success);
	/* Each is answered: incremental dumps are served (by page digests), the
	 * other two not yet. */
	CHECK(resp->features->has_mem_track && resp->features->mem_track, "mem_track");
	CHECK(resp->features->has_lazy_pages && !resp->features->lazy_pages, "lazy_pages");
	CHECK(resp->features->has_pidfd_store && !resp->features->pidfd_store, "pidfd_store");
	criu_resp__free_unpacked(resp, NULL);
}

TEST(unsupported_requests_are_refused_by_name)
{
	static const CriuReqType types[] = { CRIU_REQ_TYPE__PAGE_SERVER, CRIU_REQ_TYPE__WAIT_PID,
					     (CriuReqType)99 };
	static const char *const names[] = { "PAGE_SERVER", "WAIT_PID", "99" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		CriuReq req = CRIU_REQ__INIT;
		CriuResp *resp;
		int status;

		req.type = types[i];
		resp = one_request(&req, -1, NULL, 0, NULL, &status);
		CHECK(resp, "%s: %s", names[i], why);
		CHECK(!resp->success && has_text(resp->cr_errmsg, names[i]),
		      "%s: success %d, message: %s", names[i], resp->success,
		      resp->cr_errmsg ? resp->cr_errmsg : "(none)");
		criu_resp__free_unpacked(resp, NULL);
	}
}

/* Options cryo cannot honour fail the dump, named, and the program runs on. */
TEST(unsupported_options_are_refused_by_name)
{
	struct prog p;
	char img[PATH_MAX];
	int dir_fd = -1;

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(!mkdir(img, 0700) && (dir_fd = open_dir(img)) >= 0, out, "%s", img);
	for (int i = 0; i < 9; i++) {
		CriuReq req = CRIU_REQ__INIT;
		CriuOpts opts = CRIU_OPTS__INIT;
		char *external[] = { "mnt[]:/x" }, *dev[] = { "dev[1:2]:x" };
		JoinNamespace join = JOIN_NAMESPACE__INIT, *joins[] = { &join };
		InheritFd inherit = INHERIT_FD__INIT, *inherits[] = { &inherit };
		const char *name;
		CriuResp *resp;
		int status;

		req.type = CRIU_REQ_TYPE__DUMP;
		req.opts = &opts;
		opts.images_dir_fd = dir_fd;
		opts.has_pid = true;
		opts.pid = p.pid;
		switch (i) {
		case 0:
			name = "auto_dedup";
			opts.has_auto_dedup = opts.auto_dedup = true;
			break;
		case 1:
		case 4:
			/* An empty key (1), criu's other kinds of externals (4). */
			name = "external";
			opts.n_external = 1;
			opts.external = i == 1 ? external : dev;
			break;
		case 2:
			name = "root";
			opts.root = "/var/empty-root";
			break;
		case 5:
		case 6:
			/* Joined at restore only (5); a mount namespace never (6). */
			name = "join_ns";
			if (i == 6)
				req.type = CRIU_REQ_TYPE__RESTORE;
			join.ns = i == 5 ? "uts" : "mnt";
			join.ns_file = i == 5 ? "/proc/self/ns/uts" : "/proc/self/ns/mnt";
			opts.n_join_ns = 1;
			opts.join_ns = joins;
			break;
		case 8:
			/* A label is set at restore, not at dump. */
			name = "lsm_profile";
			opts.lsm_profile = "apparmor:cryo-test";
			break;
		case 7:
			/* A file's key: only pipes' and namespaces' are taken. */
			name = "inherit_fd";
			req.type = CRIU_REQ_TYPE__RESTORE;
			inherit.key = "file:[12]";
			inherit.fd = 2;
			opts.n_inherit_fd = 1;
			opts.inherit_fd = inherits;
			break;
		default:
			name = "freeze_cgroup";
			opts.freeze_cgroup = "/sys/fs/cgroup/unified/x";
			break;
		}
		resp = one_request(&req, dir_fd, NULL, 0, NULL, &status);
		CHECK_GOTO(resp, out, "%s: %s", name, why);
		CHECK_GOTO(!resp->success && has_text(resp->cr_errmsg, name), out,
			   "%s: success %d, message: %s", name, resp->success,
			   resp->cr_errmsg ? resp->cr_errmsg : "(none)");
		criu_resp__free_unpacked(resp, NULL);
		CHECK_GOTO(no_inventory(img) && prog_unharmed(&p), out, "after %s: %s", name, why);
	}
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (dir_fd >= 0)
		close(dir_fd);
	end_prog(&p);
}

/* The parent of @pid, from /proc/PID/stat. */
static pid_t parent_of(pid_t pid)
{
	char path[64], text[512], *end;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!read_text(path, text, sizeof(text)) || !(end = strrchr(text, ')')) ||
	    sscanf(end + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/* The fds of @pid, as "N:target" lines (no inode numbers), in @buf. */
static bool fd_list(pid_t pid, char *buf, size_t size)
{
	char dir[64], path[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	size_t used = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return fail_why("cannot list %s", dir);
	buf[0] = '\0';
	while ((de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		pathf(path, "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		/* A pipe or socket is made anew: its kind must match, not its inode. */
		if (strstr(target, ":[") && isdigit((unsigned char)strstr(target, ":[")[2]))
			*strstr(target, ":[") = '\0';
		used += snprintf(buf + used, used < size ? size - used : 0, "%s:%s\n", de->d_name,
				 target);
	}
	closedir(d);
	return used < size ? true : fail_why("too many fds in %s", dir);
}

/* DUMP with leave_running, the original passes; RESTORE from the images
 * dir fd (with rst_sibling when @sibling: the root is our child at once),
 * the restored copy passes. */
static void dump_and_restore(bool sibling)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuResp *resp = NULL;
	struct prog p;
	char img[PATH_MAX];
	pid_t pid;
	int dir_fd = -1, status;
	static char fds_before[8192], fds_after[8192];

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pid = p.pid;
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(!mkdir(img, 0700) && (dir_fd = open_dir(img)) >= 0, out, "%s", img);
	CHECK_GOTO(fd_list(pid, fds_before, sizeof(fds_before)), out, "%s", why);
	dump_request(&req, &opts, dir_fd, pid);
	opts.has_leave_running = opts.leave_running = true;
	resp = one_request(&req, dir_fd, dump_notes, pid, NULL, &status);
	CHECK_GOTO(resp, out, "DUMP: %s", why);
	CHECK_GOTO(resp->type == CRIU_REQ_TYPE__DUMP && resp->success, out, "DUMP: %s",
		   resp->cr_errmsg ? resp->cr_errmsg : "failed with no message");
	CHECK_GOTO(resp->dump && !resp->dump->restored, out, "DUMP: no dump answer");
	CHECK_GOTO(status == 0, out, "cryo swrk exited with %d after DUMP", status);
	CHECK_GOTO(exists(img, "inventory.img") && exists(img, "dump.log"), out,
		   "no inventory.img or dump.log in %s", img);
	CHECK_GOTO(prog_unharmed(&p), out, "after leave_running: %s", why);
	kill_and_reap(p.pid);
	p.pid = 0;
	criu_resp__free_unpacked(resp, NULL);

	memset(&opts, 0, sizeof(opts));
	criu_opts__init(&opts);
	req.type = CRIU_REQ_TYPE__RESTORE;
	req.opts = &opts;
	opts.images_dir_fd = dir_fd;
	opts.log_file = "restore.log";
	opts.has_notify_scripts = opts.notify_scripts = true;
	opts.has_rst_sibling = true;
	opts.rst_sibling = sibling;
	resp = one_request(&req, dir_fd, restore_notes, pid, NULL, &status);
	CHECK_GOTO(resp, out, "RESTORE: %s", why);
	CHECK_GOTO(resp->type == CRIU_REQ_TYPE__RESTORE && resp->success, out, "RESTORE: %s",
		   resp->cr_errmsg ? resp->cr_errmsg : "failed with no message");
	CHECK_GOTO(resp->restore && resp->restore->pid == pid, out, "RESTORE answered pid %d, not %d",
		   resp->restore ? resp->restore->pid : 0, pid);
	CHECK_GOTO(status == 0, out, "cryo swrk exited with %d after RESTORE", status);
	p.pid = pid;
	/* Our child either way: at once as a sibling, or once cryo is gone. */
	CHECK_GOTO(parent_of(pid) == getpid(), out, "the restored root's parent is %d, not us (%d)",
		   parent_of(pid), getpid());
	CHECK_GOTO(exists(img, "restore.log"), out, "no restore.log");
	/* Nothing of the service (its socket, its captured stderr) leaks in. */
	CHECK_GOTO(fd_list(pid, fds_after, sizeof(fds_after)), out, "%s", why);
	CHECK_GOTO(!strcmp(fds_before, fds_after), out, "fds before the dump:\n%safter the "
		   "restore:\n%s", fds_before, fds_after);
	CHECK_GOTO(prog_passes(&p), out, "the restored program: %s", why);
out:
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	if (dir_fd >= 0)
		close(dir_fd);
	end_prog(&p);
}

TEST(dump_leave_running_then_restore_with_notifications)
{
	dump_and_restore(false);
}

TEST(restore_as_sibling_makes_the_root_the_clients_child)
{
	dump_and_restore(true);
}

/* runc's checkpoint --pre-dump, then --parent-path: PRE_DUMP leaves the
 * program running with a pre-dump's images; DUMP with parent_img "../pre"
 * (relative to the images, as criu's) links them and writes fewer pages;
 * the restored program passes. */
/* A client that refuses post-dump fails the dump, named; the program,
 * which a successful dump without leave_running would have ended, runs on. */
TEST(refused_notification_fails_the_dump)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuResp *resp = NULL;
	struct prog p;
	char img[PATH_MAX];
	int dir_fd = -1, status;

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(!mkdir(img, 0700) && (dir_fd = open_dir(img)) >= 0, out, "%s", img);
	dump_request(&req, &opts, dir_fd, p.pid);
	resp = one_request(&req, dir_fd, dump_notes, p.pid, "post-dump", &status);
	CHECK_GOTO(resp, out, "%s", why);
	CHECK_GOTO(!resp->success && has_text(resp->cr_errmsg, "post-dump"), out,
		   "success %d, message: %s", resp->success,
		   resp->cr_errmsg ? resp->cr_errmsg : "(none)");
	CHECK_GOTO(no_inventory(img), out, "a refused dump left inventory.img");
	CHECK_GOTO(prog_unharmed(&p), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	if (dir_fd >= 0)
		close(dir_fd);
	end_prog(&p);
}

/* ghost_limit as --ghost-limit: prog_ghost_files's deleted file of 64 MiB
 * is refused under a limit of 1 MiB, named, and the program runs on. With
 * link_remap as --link-remap, which its unlinked files (fd 3 first) need. */
TEST(ghost_limit_refuses_a_larger_deleted_file)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuResp *resp = NULL;
	struct prog p;
	char img[PATH_MAX];
	int dir_fd = -1, status;

	use_roundtrip_programs();
	CHECK(start_prog(&p, "prog_ghost_files", NULL, NULL), "%s", why);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(!mkdir(img, 0700) && (dir_fd = open_dir(img)) >= 0, out, "%s", img);
	dump_request(&req, &opts, dir_fd, p.pid);
	opts.has_ghost_limit = true;
	opts.ghost_limit = 1 << 20;
	opts.has_link_remap = opts.link_remap = true;
	/* The dump fails before post-dump: the network is unlocked at once. */
	resp = one_request(&req, dir_fd, failed_dump_notes, p.pid, NULL, &status);
	CHECK_GOTO(resp, out, "%s", why);
	CHECK_GOTO(!resp->success && has_text(resp->cr_errmsg, "more than --ghost-limit 1048576"),
		   out, "success %d, message: %s", resp->success,
		   resp->cr_errmsg ? resp->cr_errmsg : "(none)");
	CHECK_GOTO(no_inventory(img), out, "a refused dump left inventory.img");
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	if (dir_fd >= 0)
		close(dir_fd);
	end_prog(&p);
}

/* status_fd and exec_cmd at RESTORE, as criu's service takes them: the
 * status fd (ours, opened again by cryo through /proc) gets its zero byte,
 * and cryo swrk, once it has answered, becomes the command, the restored
 * root's parent. */
TEST(status_fd_and_exec_cmd_work_through_the_rpc)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	char *cmd[] = { "sleep", "1000" }, img[PATH_MAX], pid_text[16], comm[64], text[64] = "";
	struct swrk s = { .pid = 0, .sk = -1 };
	int dir_fd = -1, status[2] = { -1, -1 };
	CriuResp *resp = NULL;
	struct cryo_run r;
	struct prog p;
	char byte = 'x';
	pid_t pid;

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pid = p.pid;
	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0 && (dir_fd = open_dir(img)) >= 0, out, "dump: %s", r.out);
	kill_and_reap(pid);
	p.pid = 0;
	CHECK_GOTO(!pipe2(status, O_CLOEXEC) && swrk_start(&s, dir_fd), out, "%s", why);
	req.type = CRIU_REQ_TYPE__RESTORE;
	req.opts = &opts;
	opts.images_dir_fd = dir_fd;
	opts.log_file = "restore.log";
	opts.has_status_fd = true;
	opts.status_fd = status[1];
	opts.n_exec_cmd = 2;
	opts.exec_cmd = cmd;
	resp = swrk_call(&s, &req);
	CHECK_GOTO(resp && resp->success && resp->restore && resp->restore->pid == pid, out,
		   "RESTORE: %s", resp && resp->cr_errmsg ? resp->cr_errmsg : why);
	p.pid = pid;
	close(status[1]);
	status[1] = -1;
	CHECK_GOTO(read(status[0], &byte, 1) == 1 && byte == '\0' && read(status[0], &byte, 1) == 0,
		   out, "the status fd gave no zero byte then EOF");
	snprintf(comm, sizeof(comm), "/proc/%d/comm", s.pid);
	for (long deadline = now_ms() + CRYO_MS; strcmp(text, "sleep\n"); sleep_ms(10)) {
		CHECK_GOTO(now_ms() < deadline, out, "cryo swrk (pid %d) never became the command",
			   s.pid);
		read_text(comm, text, sizeof(text));
	}
	CHECK_GOTO(parent_of(pid) == s.pid, out, "the restored root's parent is %d, not the "
		   "command (%d)", parent_of(pid), s.pid);
	/* With the command gone the root comes back to us. */
	kill_and_reap(s.pid);
	s.pid = 0;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (s.pid > 0)
		kill_and_reap(s.pid);
	if (s.sk >= 0)
		close(s.sk);
	for (int i = 0; i < 2; i++)
		if (status[i] >= 0)
			close(status[i]);
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	if (dir_fd >= 0)
		close(dir_fd);
	end_prog(&p);
}

/* A shell in a session of its own whose terminal's master the test holds:
 * its pid, and the master in *@master. */
static pid_t start_terminal_shell(int *master)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	pid_t pid;

	if (m < 0 || grantpt(m) || unlockpt(m))
		return -1;
	pid = fork();
	if (pid == 0) {
		int s;

		setsid();
		s = open(ptsname(m), O_RDWR);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0))
			_exit(127);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		if (s > 2)
			close(s);
		execl("/bin/sh", "sh", "-c", "while read l; do echo got $l; done", (char *)NULL);
		_exit(127);
	}
	*master = m;
	return pid;
}

/* RESTORE with notifications acked; the fd of the orphan-pts-master one
 * goes to *@master. */
static CriuResp *restore_taking_master(const CriuReq *req, int dir_fd, int *master)
{
	struct swrk s;
	CriuResp *resp = NULL;

	*master = -1;
	if (!swrk_start(&s, dir_fd))
		return NULL;
	if (swrk_send(&s, req))
		for (;;) {
			int fd = -1;

			resp = swrk_recv_fd(&s, &fd);
			if (!resp || resp->type != CRIU_REQ_TYPE__NOTIFY)
				break;
			if (resp->notify && resp->notify->script &&
			    !strcmp(resp->notify->script, "orphan-pts-master") && *master < 0)
				*master = fd;
			else if (fd >= 0)
				close(fd);
			criu_resp__free_unpacked(resp, NULL);
			resp = NULL;
			if (!swrk_ack(&s, true))
				break;
		}
	swrk_stop(&s);
	return resp;
}

/* A session's terminal whose master is the client's (a runtime's console):
 * refused at dump without orphan_pts_master and at restore without it;
 * with it, the restore makes a new pair, sends its master with the
 * orphan-pts-master notification (SCM_RIGHTS), and the shell answers on it. */
TEST(orphan_pts_master_hands_the_new_terminal_master_to_the_client)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	static const char *const killing_dump_notes[] = { "pre-dump", "network-lock",
							   "post-dump", NULL };
	CriuResp *resp = NULL;
	char img[] = "/tmp/cryo-rpc-pty-XXXXXX";
	int master = -1, dir_fd = -1, status;
	pid_t pid;

	CHECK(mkdtemp(img), "mkdtemp: %s", strerror(errno));
	pid = start_terminal_shell(&master);
	CHECK_GOTO(pid > 0 && terminal_answers(master, "one"), out, "the shell does not answer");
	dir_fd = open_dir(img);
	dump_request(&req, &opts, dir_fd, pid);
	resp = one_request(&req, dir_fd, failed_dump_notes, pid, NULL, &status);
	CHECK_GOTO(resp && !resp->success && has_text(resp->cr_errmsg, "orphan_pts_master"), out,
		   "DUMP without orphan_pts_master: %s", resp ? resp->cr_errmsg : why);
	criu_resp__free_unpacked(resp, NULL);
	CHECK_GOTO(terminal_answers(master, "two"), out, "the refused dump harmed the shell");
	opts.has_orphan_pts_master = opts.orphan_pts_master = true;
	resp = one_request(&req, dir_fd, killing_dump_notes, pid, NULL, &status);
	CHECK_GOTO(resp && resp->success, out, "DUMP with orphan_pts_master: %s",
		   resp ? resp->cr_errmsg : why);
	criu_resp__free_unpacked(resp, NULL);
	resp = NULL;
	CHECK_GOTO(!kill(pid, 0) || errno == ESRCH, out, "kill");
	waitpid(pid, &status, 0);
	/* Its index is free again once the old master is closed. */
	close(master);
	master = -1;
	memset(&opts, 0, sizeof(opts));
	criu_opts__init(&opts);
	req.type = CRIU_REQ_TYPE__RESTORE;
	opts.images_dir_fd = dir_fd;
	opts.log_file = "restore.log";
	opts.has_notify_scripts = opts.notify_scripts = true;
	resp = restore_taking_master(&req, dir_fd, &master);
	CHECK_GOTO(resp && !resp->success && has_text(resp->cr_errmsg, "orphan_pts_master") &&
			   master < 0, out, "RESTORE without orphan_pts_master: %s",
		   resp ? resp->cr_errmsg : why);
	CHECK_GOTO(kill(pid, 0) && errno == ESRCH, out, "a refused restore left pid %d", pid);
	criu_resp__free_unpacked(resp, NULL);
	opts.has_orphan_pts_master = opts.orphan_pts_master = true;
	resp = restore_taking_master(&req, dir_fd, &master);
	CHECK_GOTO(resp && resp->success && resp->restore && resp->restore->pid == pid, out,
		   "RESTORE with orphan_pts_master: %s", resp ? resp->cr_errmsg : why);
	CHECK_GOTO(master >= 0, out, "no fd came with the orphan-pts-master notification");
	CHECK_GOTO(terminal_answers(master, "three"), out,
		   "the restored shell does not answer on the new master");
out:
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	if (pid > 0)
		kill_and_reap(pid);
	if (master >= 0)
		close(master);
	if (dir_fd >= 0)
		close(dir_fd);
	remove_tree(img);
}

/* RESTORE with join_ns net and uts: the program is restored into those
 * existing namespaces (made by the test, bound to files), not into new ones
 * nor cryo's, and passes. */
TEST(join_ns_restores_into_existing_namespaces)
{
	static const char *const killing_dump_notes[] = { "pre-dump", "network-lock",
							   "post-dump", NULL };
	static const char *const pre_restore_only[] = { "pre-restore", NULL };
	JoinNamespace net = JOIN_NAMESPACE__INIT, uts = JOIN_NAMESPACE__INIT;
	JoinNamespace *joins[] = { &net, &uts };
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuResp *resp = NULL;
	char img[PATH_MAX], netns[64], utsns[80], cmd[256];
	bool made_net = false, made_uts = false;
	int dir_fd = -1, status;
	struct prog p;
	pid_t pid;

	use_roundtrip_programs();
	snprintf(netns, sizeof(netns), "/run/netns/cryo-rpc-%d", getpid());
	snprintf(utsns, sizeof(utsns), "%s.uts", netns);
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pid = p.pid;
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(!mkdir(img, 0700) && (dir_fd = open_dir(img)) >= 0, out, "%s", img);
	snprintf(cmd, sizeof(cmd), "ip netns add %s && ip -n %s link set lo up",
		 strrchr(netns, '/') + 1, strrchr(netns, '/') + 1);
	made_net = !system(cmd);
	CHECK_GOTO(made_net, out, "ip netns add failed");
	snprintf(cmd, sizeof(cmd), "touch %s && unshare --uts=%s hostname joined-host", utsns,
		 utsns);
	made_uts = !system(cmd);
	CHECK_GOTO(made_uts, out, "cannot make a UTS namespace at %s", utsns);
	dump_request(&req, &opts, dir_fd, pid);
	resp = one_request(&req, dir_fd, killing_dump_notes, pid, NULL, &status);
	CHECK_GOTO(resp && resp->success, out, "DUMP: %s", resp ? resp->cr_errmsg : why);
	criu_resp__free_unpacked(resp, NULL);
	resp = NULL;
	p.pid = 0;
	CHECK_GOTO(wait_child(pid, 5000, &status), out, "the dumped program did not end");
	memset(&opts, 0, sizeof(opts));
	criu_opts__init(&opts);
	req.type = CRIU_REQ_TYPE__RESTORE;
	opts.images_dir_fd = dir_fd;
	opts.log_file = "restore.log";
	opts.has_notify_scripts = opts.notify_scripts = true;
	net.ns = "net";
	net.ns_file = netns;
	uts.ns = "uts";
	uts.ns_file = utsns;
	/* No LSM labels processes on this host: a label asked is refused. */
	opts.lsm_profile = "apparmor:cryo-test";
	resp = one_request(&req, dir_fd, pre_restore_only, pid, NULL, &status);
	if (access("/sys/kernel/security/lsm", F_OK) && !access("/proc/self/attr/current", F_OK))
		CHECK_GOTO(resp && !resp->success && has_text(resp->cr_errmsg, "lsm_profile") &&
				   has_text(resp->cr_errmsg, "no LSM"), out,
			   "RESTORE with lsm_profile: %s", resp ? resp->cr_errmsg : why);
	CHECK_GOTO(resp && !resp->success && (kill(pid, 0) && errno == ESRCH), out,
		   "a restore with an LSM label cryo cannot set was not refused");
	criu_resp__free_unpacked(resp, NULL);
	opts.lsm_profile = NULL;
	opts.n_join_ns = 2;
	opts.join_ns = joins;
	resp = one_request(&req, dir_fd, restore_notes, pid, NULL, &status);
	CHECK_GOTO(resp && resp->success, out, "RESTORE: %s", resp ? resp->cr_errmsg : why);
	p.pid = pid;
	CHECK_GOTO(in_namespace(pid, "net", netns) && in_namespace(pid, "uts", utsns), out,
		   "the restored pid %d is not in the namespaces joined", pid);
	CHECK_GOTO(prog_passes(&p), out, "the restored program: %s", why);
out:
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	if (dir_fd >= 0)
		close(dir_fd);
	end_prog(&p);
	snprintf(cmd, sizeof(cmd), "umount %s", utsns);
	if (made_uts && system(cmd))
		fprintf(stderr, "cannot unmount %s\n", utsns);
	unlink(utsns);
	snprintf(cmd, sizeof(cmd), "ip netns del %s", strrchr(netns, '/') + 1);
	if (made_net && system(cmd))
		fprintf(stderr, "cannot delete %s\n", netns);
}
