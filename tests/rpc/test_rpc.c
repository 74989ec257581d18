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
#include "runner_util.h"
#include "session_util.h"

#define PROG "prog_counter"

/* The programs of the table live beside test_roundtrip, not here. */
static void use_roundtrip_programs(void)
{
	static bool done;
	char here[PATH_MAX];

	if (done)
		return;
	snprintf(here, sizeof(here), "%s", bin_dir);
	pathf(bin_dir, "%s/../roundtrip", here);
	done = true;
}

static const char *const dump_notes[] = { "pre-dump", "network-lock", "post-dump",
					  "network-unlock", NULL };
static const char *const failed_dump_notes[] = { "pre-dump", "network-lock", "network-unlock",
						 NULL };
static const char *const restore_notes[] = { "pre-restore", "setup-namespaces", "post-restore",
					     "network-unlock", "post-resume", NULL };

static bool has_text(const char *text, const char *part)
{
	return text && strstr(text, part);
}

/* Sends @req and reads notifications until the final answer: each must be
 * the next of @expected (NULL: none may come), with the root's pid when it
 * is known, and is acked with success unless it is @refuse. */
static CriuResp *call_with_notes(struct swrk *s, const CriuReq *req, const char *const *expected,
				 pid_t pid, const char *refuse)
{
	size_t seen = 0;

	if (!swrk_send(s, req))
		return NULL;
	for (;;) {
		CriuResp *resp = swrk_recv(s);
		const char *script;
		bool ok;

		if (!resp || resp->type != CRIU_REQ_TYPE__NOTIFY) {
			if (resp && expected && expected[seen] && resp->success) {
				fail_why("notification %s never came (answer: success %d %s)", expected[seen], resp->success, resp->cr_errmsg ? resp->cr_errmsg : "");
				criu_resp__free_unpacked(resp, NULL);
				return NULL;
			}
			return resp;
		}
		script = resp->notify ? resp->notify->script : NULL;
		if (!script || !expected || !expected[seen] || strcmp(script, expected[seen])) {
			fail_why("notification %s came where %s was expected", script ? script : "?",
				 expected && expected[seen] ? expected[seen] : "none");
			criu_resp__free_unpacked(resp, NULL);
			return NULL;
		}
		if (pid && strcmp(script, "pre-restore") &&
		    (!resp->notify->has_pid || resp->notify->pid != pid)) {
			fail_why("notification %s names pid %d, not %d", script,
				 resp->notify->has_pid ? resp->notify->pid : 0, pid);
			criu_resp__free_unpacked(resp, NULL);
			return NULL;
		}
		seen++;
		ok = !refuse || strcmp(script, refuse);
		criu_resp__free_unpacked(resp, NULL);
		if (!swrk_ack(s, ok))
			return NULL;
	}
}

static int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* One request on a fresh cryo swrk with @dir_fd inherited; the answer. */
static CriuResp *one_request(const CriuReq *req, int dir_fd, const char *const *notes, pid_t pid,
			     const char *refuse, int *swrk_status)
{
	struct swrk s;
	CriuResp *resp;

	if (!swrk_start(&s, dir_fd))
		return NULL;
	resp = call_with_notes(&s, req, notes, pid, refuse);
	*swrk_status = swrk_stop(&s);
	return resp;
}

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

static void dump_request(CriuReq *req, CriuOpts *opts, int dir_fd, pid_t pid)
{
	req->type = CRIU_REQ_TYPE__DUMP;
	req->opts = opts;
	opts->images_dir_fd = dir_fd;
	opts->has_pid = true;
	opts->pid = pid;
	opts->log_file = "dump.log";
	opts->has_log_level = true;
	opts->log_level = 4;
	opts->has_notify_scripts = opts->notify_scripts = true;
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
TEST(pre_dump_then_dump_with_parent_img)
{
	static const char *const killing_dump_notes[] = { "pre-dump", "network-lock",
							   "post-dump", NULL };
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuResp *resp = NULL;
	char pre[PATH_MAX], img[PATH_MAX], pages[PATH_MAX];
	struct stat pre_st, st;
	struct cryo_run r;
	struct prog p;
	int pre_fd = -1, dir_fd = -1, status;
	pid_t pid;

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pid = p.pid;
	pathf(pre, "%s/pre", p.dir);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(!mkdir(pre, 0700) && (pre_fd = open_dir(pre)) >= 0, out, "%s", pre);
	CHECK_GOTO(!mkdir(img, 0700) && (dir_fd = open_dir(img)) >= 0, out, "%s", img);
	dump_request(&req, &opts, pre_fd, pid);
	req.type = CRIU_REQ_TYPE__PRE_DUMP;
	opts.has_track_mem = opts.track_mem = true;
	opts.has_pre_dump_mode = true;
	opts.pre_dump_mode = CRIU_PRE_DUMP_MODE__VM_READ;
	resp = one_request(&req, pre_fd, dump_notes, pid, NULL, &status);
	CHECK_GOTO(resp && resp->type == CRIU_REQ_TYPE__PRE_DUMP && resp->success, out,
		   "PRE_DUMP: %s", resp && resp->cr_errmsg ? resp->cr_errmsg : why);
	CHECK_GOTO(exists(pre, "inventory.img") && prog_unharmed(&p), out, "after PRE_DUMP: %s",
		   why);
	criu_resp__free_unpacked(resp, NULL);
	dump_request(&req, &opts, dir_fd, pid);
	opts.parent_img = "../pre";
	resp = one_request(&req, dir_fd, killing_dump_notes, pid, NULL, &status);
	CHECK_GOTO(resp && resp->type == CRIU_REQ_TYPE__DUMP && resp->success, out, "DUMP: %s",
		   resp && resp->cr_errmsg ? resp->cr_errmsg : why);
	waitpid(pid, NULL, 0);
	pathf(pages, "%s/pages-%d.img", pre, pid);
	CHECK_GOTO(!stat(pages, &pre_st) && !lstat(img, &st), out, "%s: %s", pages,
		   strerror(errno));
	pathf(pages, "%s/pages-%d.img", img, pid);
	CHECK_GOTO(!stat(pages, &st) && st.st_size < pre_st.st_size, out,
		   "the dump's pages (%lld bytes) are not fewer than the pre-dump's (%lld)",
		   (long long)st.st_size, (long long)pre_st.st_size);
	pathf(pages, "%s/parent", img);
	CHECK_GOTO(!lstat(pages, &st) && S_ISLNK(st.st_mode), out, "no %s", pages);
	run_cryo(&r, "restore", "-D", img, "-d");
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	p.pid = pid;
	CHECK_GOTO(prog_passes(&p), out, "the restored program: %s", why);
out:
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	if (pre_fd >= 0)
		close(pre_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	end_prog(&p);
}

/* criu's iterative migration: PRE_DUMPs and the final DUMP on one
 * connection, each naming the previous set; the chain restores. A
 * SINGLE_PRE_DUMP ends its session; a RESTORE after a PRE_DUMP is refused. */
TEST(pre_dump_iterations_share_one_connection)
{
	static const char *const killing_dump_notes[] = { "pre-dump", "network-lock",
							   "post-dump", NULL };
	static const char *const sets[] = { "pre1", "pre2", "img" };
	static const char *const parents[] = { NULL, "../pre1", "../pre2" };
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuResp *resp = NULL;
	char path[PATH_MAX];
	int fds[3] = { -1, -1, -1 }, single_fd = -1, status;
	struct cryo_run r;
	struct swrk s = { .sk = -1 };
	struct prog p;
	pid_t pid;

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pid = p.pid;
	for (int i = 0; i < 3; i++) {
		pathf(path, "%s/%s", p.dir, sets[i]);
		CHECK_GOTO(!mkdir(path, 0700) && (fds[i] = open_dir(path)) >= 0, out, "%s", path);
	}
	pathf(path, "%s/single", p.dir);
	CHECK_GOTO(!mkdir(path, 0700) && (single_fd = open_dir(path)) >= 0, out, "%s", path);
	dump_request(&req, &opts, single_fd, pid);
	req.type = CRIU_REQ_TYPE__SINGLE_PRE_DUMP;
	CHECK_GOTO(swrk_start(&s, -1), out, "%s", why);
	resp = call_with_notes(&s, &req, dump_notes, pid, NULL);
	CHECK_GOTO(resp && resp->type == CRIU_REQ_TYPE__SINGLE_PRE_DUMP && resp->success, out,
		   "SINGLE_PRE_DUMP: %s", resp && resp->cr_errmsg ? resp->cr_errmsg : why);
	criu_resp__free_unpacked(resp, NULL);
	req.type = CRIU_REQ_TYPE__VERSION;
	resp = swrk_call(&s, &req);
	CHECK_GOTO(!resp, out, "the session went on after a SINGLE_PRE_DUMP");
	status = swrk_stop(&s);
	CHECK_GOTO(status == 0 && exists(path, "inventory.img") && prog_unharmed(&p), out,
		   "after SINGLE_PRE_DUMP: swrk status %d, %s", status, why);

	CHECK_GOTO(swrk_start(&s, -1), out, "%s", why);
	for (int i = 0; i < 3; i++) {
		dump_request(&req, &opts, fds[i], pid);
		req.type = i < 2 ? CRIU_REQ_TYPE__PRE_DUMP : CRIU_REQ_TYPE__DUMP;
		opts.parent_img = (char *)parents[i];
		resp = call_with_notes(&s, &req, i < 2 ? dump_notes : killing_dump_notes, pid,
				       NULL);
		CHECK_GOTO(resp && resp->type == req.type && resp->success, out, "%s %s: %s",
			   i < 2 ? "PRE_DUMP" : "DUMP", sets[i],
			   resp && resp->cr_errmsg ? resp->cr_errmsg : why);
		criu_resp__free_unpacked(resp, NULL);
		resp = NULL;
		if (i < 2)
			CHECK_GOTO(prog_unharmed(&p), out, "after PRE_DUMP %s: %s", sets[i], why);
	}
	status = swrk_stop(&s);
	CHECK_GOTO(status == 0, out, "cryo swrk exited with %d after the DUMP", status);
	waitpid(pid, NULL, 0);
	for (int i = 1; i < 3; i++) {
		struct stat st;

		pathf(path, "%s/%s/parent", p.dir, sets[i]);
		CHECK_GOTO(!lstat(path, &st) && S_ISLNK(st.st_mode), out, "no %s", path);
	}
	pathf(path, "%s/img", p.dir);
	run_cryo(&r, "restore", "-D", path, "-d");
	CHECK_GOTO(r.status == 0, out, "restore through two pre-dumps failed (%d): %s", r.status,
		   r.out);
	p.pid = pid;
	CHECK_GOTO(prog_passes(&p), out, "the restored program: %s", why);

	/* Only PRE_DUMP or DUMP may follow a PRE_DUMP. */
	for (int i = 0; i < 3; i++) {
		close(fds[i]);
		fds[i] = -1;
	}
	end_prog(&p);
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pathf(path, "%s/pre", p.dir);
	CHECK_GOTO(!mkdir(path, 0700) && (fds[0] = open_dir(path)) >= 0, out, "%s", path);
	CHECK_GOTO(swrk_start(&s, -1), out, "%s", why);
	dump_request(&req, &opts, fds[0], p.pid);
	req.type = CRIU_REQ_TYPE__PRE_DUMP;
	opts.parent_img = NULL;
	resp = call_with_notes(&s, &req, dump_notes, p.pid, NULL);
	CHECK_GOTO(resp && resp->success, out, "PRE_DUMP: %s",
		   resp && resp->cr_errmsg ? resp->cr_errmsg : why);
	criu_resp__free_unpacked(resp, NULL);
	req.type = CRIU_REQ_TYPE__VERSION;
	resp = swrk_call(&s, &req);
	status = swrk_stop(&s);
	CHECK_GOTO(!resp && status != 0, out, "VERSION after a PRE_DUMP: answered %d, status %d",
		   resp ? resp->success : -1, status);
	CHECK_GOTO(prog_unharmed(&p) && prog_passes(&p), out, "%s", why);
out:
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	if (s.sk >= 0)
		swrk_stop(&s);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (single_fd >= 0)
		close(single_fd);
	end_prog(&p);
}

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
