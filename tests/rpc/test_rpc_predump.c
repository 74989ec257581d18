/* criu's pre-dumps through the RPC: a PRE_DUMP, then a DUMP naming it in
 * parent_img on another connection; iterations on one connection
 * (PRE_DUMP, PRE_DUMP, DUMP) and SINGLE_PRE_DUMP, as criu's service. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "rpc_session.h"
#include "runner_util.h"

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
