/* `cryo swrk` and `cryo service`: criu's RPC service, answering criu_req
 * with criu_resp. This header is the service's own; the wire format is in
 * wire.h, the schema in proto/rpc.proto, libcriu's API in src/lib. */
#ifndef CRYO_RPC_H
#define CRYO_RPC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cli/options.h"
#include "rpc/proto/rpc.pb-c.h"

/* The version cryo answers VERSION with: that of the criu protocol it
 * speaks (runc and go-criu check it against their minimums), named "cryo". */
#define RPC_CRIU_MAJOR 4
#define RPC_CRIU_MINOR 0

#define RPC_ERRMSG_MAX 1024

/* One connection: the socket, and whose fd numbers the options name
 * (swrk: cryo's own; service: the client's, through /proc). */
struct rpc_conn {
	int sk;
	pid_t fd_owner;
	bool swrk;	/* cryo was started by the client: inherit_fd names cryo's fds */
};

/* What a DUMP or RESTORE request asks, as cryo's options. */
struct rpc_action {
	struct cryo_opts opts;
	bool forward_notify;	/* notify_scripts: the client is told */
	char images_dir[PATH_MAX];
	char work_dir[PATH_MAX];	/* work_dir_fd's, else images_dir */
	char log_file[PATH_MAX];
	char **exec_argv;	/* exec_cmd, NULL-ended: run once the answer is sent */
};

/* opts.c: maps @o to @a for a @type (DUMP or RESTORE) request. An option
 * cryo cannot honour makes it fail: -EOPNOTSUPP or -EINVAL, with @why
 * naming the option; a->opts.log_file is set by then if the directories
 * and the log were valid. */
int rpc_map_opts(const struct rpc_conn *conn, const CriuOpts *o, CriuReqType type,
		 struct rpc_action *a, char *why, size_t len);

/* One answer, with the parts it points to, as a request's handler fills it. */
struct rpc_answer {
	CriuResp resp;
	CriuDumpResp dump;
	CriuRestoreResp restore;
	CriuVersion version;
	CriuFeatures features;
	char errmsg[RPC_ERRMSG_MAX];	/* why it failed; "" when it did not say */
	char **exec_argv;	/* a restore's exec_cmd, which swrk.c runs after the answer */
	char exec_log[PATH_MAX];	/* where the command's output goes; "": unchanged */
};

/* action.c: runs a DUMP, RESTORE, CPUINFO_DUMP or CPUINFO_CHECK request
 * and fills @ans (success, the restored pid, or errmsg). */
void rpc_run_action(const struct rpc_conn *conn, const CriuReq *req, struct rpc_answer *ans);

/* swrk.c: serves requests on @conn until the client closes it or a request
 * that ends the session (not keep_open, a DUMP or RESTORE, a failed PRE_DUMP
 * or SINGLE_PRE_DUMP; a PRE_DUMP keeps it for more PRE_DUMPs and the DUMP)
 * is answered.
 * 0, or -errno when the connection failed. */
int rpc_serve(const struct rpc_conn *conn);

/* The pid whose fd numbers a client's options name: the peer of @sk. */
pid_t rpc_peer_pid(int sk);

/* The name of a request type for messages, e.g. "PRE_DUMP". */
const char *rpc_req_name(CriuReqType type);

#endif
