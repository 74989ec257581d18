/* The request loop of criu's RPC service: `cryo swrk FD` serves the socket
 * it inherits, `cryo service` the connections of a listening socket. The
 * simple requests (VERSION, CHECK, FEATURE_CHECK) are answered here, DUMP,
 * PRE_DUMP, RESTORE and CPUINFO by action.c, and every other one is refused
 * by name. As criu's, a PRE_DUMP keeps the connection for the next
 * iteration: more PRE_DUMPs, then the DUMP (SINGLE_PRE_DUMP ends it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "kabi/features.h"
#include "rpc/rpc.h"
#include "rpc/wire.h"

const char *rpc_req_name(CriuReqType type)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&criu_req_type__descriptor, (int)type);

	return v ? v->name : "unknown";
}

/* Why cryo refuses the request types it does not serve. */
static const char *refusal(CriuReqType type)
{
	switch (type) {
	case CRIU_REQ_TYPE__PAGE_SERVER:
	case CRIU_REQ_TYPE__PAGE_SERVER_CHLD:
		return "cryo has no page server for remote dumps yet";
	case CRIU_REQ_TYPE__WAIT_PID:
		return "cryo's service does not keep the restored processes as its children";
	case CRIU_REQ_TYPE__NOTIFY:
		return "a notification ack came when no notification was pending";
	default:
		return "not a request cryo knows";
	}
}

static void answer_version(struct rpc_answer *ans)
{
	ans->version.major_number = RPC_CRIU_MAJOR;
	ans->version.minor_number = RPC_CRIU_MINOR;
	ans->version.name = "cryo";
	ans->resp.version = &ans->version;
	ans->resp.success = true;
}

/* The probes of `cryo check`, with no output: a failure names what is missing. */
static void answer_check(struct rpc_answer *ans)
{
	_cleanup_free_ struct feature_result *results = calloc(feature_count, sizeof(*results));
	char why[512];
	unsigned int unmet;

	if (!results) {
		snprintf(ans->errmsg, sizeof(ans->errmsg), "CHECK: out of memory");
		return;
	}
	for (size_t i = 0; i < feature_count; i++)
		feature_table[i].probe(&results[i]);
	unmet = features_unmet(feature_table, feature_count, results, why, sizeof(why));
	ans->resp.success = !unmet;
	if (unmet)
		snprintf(ans->errmsg, sizeof(ans->errmsg), "CHECK: %s cannot work here: missing %s",
			 unmet == (FEATURE_FOR_DUMP | FEATURE_FOR_RESTORE) ? "dump and restore" :
			 unmet == FEATURE_FOR_DUMP ? "dump" : "restore", why);
}

/* Each feature asked for is answered, true or false; as criu, the request
 * itself succeeds. */
static void answer_features(const CriuReq *req, struct rpc_answer *ans)
{
	const CriuFeatures *asked = req->features;

	if (asked && asked->has_mem_track) {
		/* criu's mem_track (soft-dirty) is what runc asks before a
		 * pre-dump; cryo's incremental dumps compare page digests
		 * instead, so what the feature serves works. */
		ans->features.has_mem_track = true;
		ans->features.mem_track = true;
	}
	if (asked && asked->has_lazy_pages) {
		/* cryo restore --lazy-pages exists; the lazy_pages option does not. */
		ans->features.has_lazy_pages = true;
		ans->features.lazy_pages = false;
	}
	if (asked && asked->has_pidfd_store) {
		ans->features.has_pidfd_store = true;
		ans->features.pidfd_store = false;
	}
	ans->resp.features = &ans->features;
	ans->resp.success = true;
}

/* criu's exec_cmd: once the restore is answered, this process becomes the
 * command, the restored root's parent, its output going to the request's
 * log as criu's does. Returns only on failure, when the tree runs on. */
static int exec_after_answer(const struct rpc_conn *conn, struct rpc_answer *ans)
{
	int log_fd = ans->exec_log[0] ? open(ans->exec_log, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
	int err;

	close(conn->sk);
	if (log_fd >= 0 && (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0))
		pr_warn("rpc: exec_cmd: its output cannot go to %s: %s", ans->exec_log,
			strerror(errno));
	if (log_fd >= 0)
		close(log_fd);
	execvp(ans->exec_argv[0], ans->exec_argv);
	err = -errno;
	pr_err("rpc: exec_cmd %s: %s; the restored tree runs on without it", ans->exec_argv[0],
	       strerror(-err));
	free(ans->exec_argv);
	return err;
}

static int serve_one(const struct rpc_conn *conn, const CriuReq *req, bool *last,
		     bool *succeeded);

/* One iteration of criu's pre-dump loop, answered by a child: a journey
 * keeps state per run, and the connection outlives this one. 0 when the
 * pre-dump succeeded and was answered. */
static int serve_pre_dump_iteration(const struct rpc_conn *conn, const CriuReq *req)
{
	pid_t child = fork();
	bool last, succeeded = false;
	int status;

	if (child < 0) {
		pr_err("rpc: PRE_DUMP: cannot fork: %s", strerror(errno));
		return -errno;
	}
	if (!child)
		_exit(serve_one(conn, req, &last, &succeeded) || !succeeded ? 1 : 0);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -ECANCELED;
}

/* Answers one request; *@last: the session ends after it; *@succeeded:
 * the answer said success. */
static int serve_one(const struct rpc_conn *conn, const CriuReq *req, bool *last,
		     bool *succeeded)
{
	struct rpc_answer ans = {
		.resp = CRIU_RESP__INIT,
		.dump = CRIU_DUMP_RESP__INIT,
		.restore = CRIU_RESTORE_RESP__INIT,
		.version = CRIU_VERSION__INIT,
		.features = CRIU_FEATURES__INIT,
	};
	int ret;

	ans.resp.type = req->type;
	*last = !req->has_keep_open || !req->keep_open;
	switch (req->type) {
	case CRIU_REQ_TYPE__VERSION:
		answer_version(&ans);
		break;
	case CRIU_REQ_TYPE__CHECK:
		answer_check(&ans);
		break;
	case CRIU_REQ_TYPE__FEATURE_CHECK:
		answer_features(req, &ans);
		break;
	case CRIU_REQ_TYPE__DUMP:
	case CRIU_REQ_TYPE__PRE_DUMP:
	case CRIU_REQ_TYPE__SINGLE_PRE_DUMP:
	case CRIU_REQ_TYPE__RESTORE:
	case CRIU_REQ_TYPE__CPUINFO_DUMP:
	case CRIU_REQ_TYPE__CPUINFO_CHECK:
		/* One per process: the journeys keep some state per run. */
		*last = true;
		rpc_run_action(conn, req, &ans);
		break;
	default:
		if (!protobuf_c_enum_descriptor_get_value(&criu_req_type__descriptor,
							  (int)req->type)) {
			ans.resp.type = CRIU_REQ_TYPE__EMPTY;
			snprintf(ans.errmsg, sizeof(ans.errmsg),
				 "request type %d: not a request cryo knows", (int)req->type);
		} else {
			snprintf(ans.errmsg, sizeof(ans.errmsg), "request %s: %s",
				 rpc_req_name(req->type), refusal(req->type));
		}
		break;
	}
	if (!ans.resp.success) {
		if (!ans.errmsg[0])
			snprintf(ans.errmsg, sizeof(ans.errmsg), "request %s failed",
				 rpc_req_name(req->type));
		ans.resp.cr_errmsg = ans.errmsg;
		ans.resp.has_cr_errno = true;
		ans.resp.cr_errno = 0;
		pr_err("rpc: %s", ans.errmsg);
	}
	*succeeded = ans.resp.success;
	ret = rpc_send(conn->sk, &ans.resp.base, -1);
	if (ret)
		pr_err("rpc: cannot answer request %s: %s", rpc_req_name(req->type), strerror(-ret));
	if (ans.exec_argv && !ret)
		return exec_after_answer(conn, &ans);
	free(ans.exec_argv);
	return ret;
}

int rpc_serve(const struct rpc_conn *conn)
{
	bool last = false, iterating = false;

	while (!last) {
		ProtobufCMessage *msg;
		CriuReq *req;
		int ret = rpc_recv(conn->sk, &criu_req__descriptor, &msg, NULL);

		if (ret == -ENOTCONN)
			return 0;
		if (ret) {
			pr_err("rpc: cannot read a request: %s", ret == -EBADMSG ?
			       "not a criu_req message" : strerror(-ret));
			return ret;
		}
		req = (CriuReq *)msg;
		if (req->type == CRIU_REQ_TYPE__PRE_DUMP) {
			/* A failed iteration ends the session, as criu's. */
			ret = serve_pre_dump_iteration(conn, req);
			iterating = true;
			last = ret != 0;
			ret = 0;
		} else if (iterating && req->type != CRIU_REQ_TYPE__DUMP) {
			pr_err("rpc: request %s after a PRE_DUMP: only PRE_DUMP or DUMP may follow "
			       "one; the session ends", rpc_req_name(req->type));
			ret = -EPROTO;
		} else {
			bool succeeded;

			ret = serve_one(conn, req, &last, &succeeded);
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* As criu: the fds a request names are the client's, the process that
 * made the socketpair or connected (runc and libcriu pass their own fd
 * numbers); read through /proc/PID/fd. */
pid_t rpc_peer_pid(int sk)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid <= 0)
		return getpid();
	return cred.pid;
}

int cmd_swrk(const struct cryo_opts *opts)
{
	struct rpc_conn conn = { 0 };
	char *end;
	long fd;

	if (opts->nargs != 1) {
		pr_err("swrk: usage: cryo swrk FD (a connected SOCK_SEQPACKET socket)");
		return 1;
	}
	errno = 0;
	fd = strtol(opts->args[0], &end, 10);
	if (errno || *end || end == opts->args[0] || fd < 0 || fd > INT_MAX) {
		pr_err("swrk: '%s' is not an fd number", opts->args[0]);
		return 1;
	}
	conn.sk = (int)fd;
	conn.fd_owner = rpc_peer_pid(conn.sk);
	conn.swrk = true;
	return rpc_serve(&conn) ? 1 : 0;
}
