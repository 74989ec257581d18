/* What the RPC tests share (rpc_session.h). */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cryo_driver.h"
#include "harness.h"
#include "rpc_session.h"
#include "runner_util.h"

void use_roundtrip_programs(void)
{
	static bool done;
	char here[PATH_MAX];

	if (done)
		return;
	snprintf(here, sizeof(here), "%s", bin_dir);
	pathf(bin_dir, "%s/../roundtrip", here);
	done = true;
}

const char *const dump_notes[] = { "pre-dump", "network-lock", "post-dump",
					  "network-unlock", NULL };
const char *const failed_dump_notes[] = { "pre-dump", "network-lock", "network-unlock",
						 NULL };
const char *const restore_notes[] = { "pre-restore", "setup-namespaces", "post-restore",
					     "network-unlock", "post-resume", NULL };

bool has_text(const char *text, const char *part)
{
	return text && strstr(text, part);
}

/* Sends @req and reads notifications until the final answer: each must be
 * the next of @expected (NULL: none may come), with the root's pid when it
 * is known, and is acked with success unless it is @refuse. */
CriuResp *call_with_notes(struct swrk *s, const CriuReq *req, const char *const *expected,
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

int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* One request on a fresh cryo swrk with @dir_fd inherited; the answer. */
CriuResp *one_request(const CriuReq *req, int dir_fd, const char *const *notes, pid_t pid,
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

void dump_request(CriuReq *req, CriuOpts *opts, int dir_fd, pid_t pid)
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
