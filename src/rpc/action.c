/* DUMP and RESTORE requests (and CPUINFO_DUMP/CHECK, as cryo cpuinfo):
 * their options mapped to cryo's, the dump or restore run in this process
 * (as criu's swrk does), notifications sent to the client and acked at
 * each point, and the first error cryo reported returned as cr_errmsg. The
 * journeys themselves are src/dump, src/restore. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/log.h"
#include "rpc/rpc.h"
#include "rpc/wire.h"

#define ERROR_PREFIX "cryo: error: "

struct notify_ctx {
	const struct rpc_conn *conn;
	bool forward;
	pid_t root;		/* the root's pid, as the last notification said */
};

/* Sends one notification, with @fd attached when >= 0, and waits for the
 * client's ack, as criu does. */
static int notify_send(struct notify_ctx *ctx, const char *action, pid_t pid, int fd)
{
	CriuResp resp = CRIU_RESP__INIT;
	CriuNotify note = CRIU_NOTIFY__INIT;
	ProtobufCMessage *msg;
	CriuReq *ack;
	int ret;

	resp.type = CRIU_REQ_TYPE__NOTIFY;
	resp.success = true;
	resp.notify = &note;
	note.script = (char *)action;
	note.has_pid = pid > 0;
	note.pid = pid;
	ret = rpc_send(ctx->conn->sk, &resp.base, fd);
	if (ret) {
		pr_err("cannot send notification %s: %s", action, strerror(-ret));
		return ret;
	}
	ret = rpc_recv(ctx->conn->sk, &criu_req__descriptor, &msg, NULL);
	if (ret) {
		pr_err("no ack for notification %s: %s", action, strerror(-ret));
		return ret;
	}
	ack = (CriuReq *)msg;
	if (ack->type != CRIU_REQ_TYPE__NOTIFY)
		ret = -EPROTO;
	else if (!ack->has_notify_success || !ack->notify_success)
		ret = -ECANCELED;
	if (ret)
		pr_err("notification %s: the client %s", action,
		       ret == -EPROTO ? "answered with another request than NOTIFY" :
					"reported a failure");
	protobuf_c_message_free_unpacked(msg, NULL);
	return ret;
}

static int notify_client(const char *action, pid_t pid, void *arg)
{
	struct notify_ctx *ctx = arg;

	if (pid > 0)
		ctx->root = pid;
	return ctx->forward ? notify_send(ctx, action, pid, -1) : 0;
}

/* orphan_pts_master: the master of the pair made for the container's
 * terminal goes to the client (runc passes it on to its console socket). */
static int send_pts_master(int fd, void *arg)
{
	return notify_send(arg, "orphan-pts-master", 0, fd);
}

/* While a request runs, cryo's stderr (where every error goes) is a memfd,
 * so that the first error can be returned to the client; the text is then
 * passed on to the real stderr. */
struct capture {
	int saved_stderr;
	int memfd;
};

static int capture_start(struct capture *c)
{
	c->memfd = memfd_create("cryo-rpc-errors", MFD_CLOEXEC);
	if (c->memfd < 0)
		return -errno;
	c->saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (c->saved_stderr < 0 || dup2(c->memfd, STDERR_FILENO) < 0) {
		int err = -errno;

		if (c->saved_stderr >= 0)
			close(c->saved_stderr);
		close(c->memfd);
		return err;
	}
	return 0;
}

/* Restores stderr and copies the first error line into @errmsg. */
static void capture_end(struct capture *c, char *errmsg)
{
	off_t size = lseek(c->memfd, 0, SEEK_END);
	char *text = size > 0 ? malloc((size_t)size + 1) : NULL;
	ssize_t n = text ? pread(c->memfd, text, (size_t)size, 0) : -1;

	dup2(c->saved_stderr, STDERR_FILENO);
	close(c->saved_stderr);
	close(c->memfd);
	if (n > 0) {
		/* The client gets the message; a closed stderr loses only the copy. */
		ssize_t copied = write(STDERR_FILENO, text, (size_t)n);
		char *line;

		(void)copied;
		text[n] = '\0';
		line = strstr(text, ERROR_PREFIX);
		if (line) {
			line += strlen(ERROR_PREFIX);
			snprintf(errmsg, RPC_ERRMSG_MAX, "%.*s", (int)strcspn(line, "\n"), line);
		}
	}
	free(text);
}

/* A request refused before it ran still leaves its reason in the log the
 * client asked for: runc points its users there. */
static void log_refusal(const char *log_file, const char *errmsg)
{
	int fd = log_file ? open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;

	if (fd < 0)
		return;
	dprintf(fd, "Error: %s\n", errmsg);
	close(fd);
}

void rpc_run_action(const struct rpc_conn *conn, const CriuReq *req, struct rpc_answer *ans)
{
	char *errmsg = ans->errmsg;
	struct notify_ctx ctx = { .conn = conn };
	bool pre = req->type == CRIU_REQ_TYPE__PRE_DUMP ||
		   req->type == CRIU_REQ_TYPE__SINGLE_PRE_DUMP;
	bool dump = req->type == CRIU_REQ_TYPE__DUMP || pre;
	bool cpuinfo = req->type == CRIU_REQ_TYPE__CPUINFO_DUMP ||
		       req->type == CRIU_REQ_TYPE__CPUINFO_CHECK;
	static char *cpuinfo_words[][2] = { { "dump", NULL }, { "check", NULL } };
	struct rpc_action *a = calloc(1, sizeof(*a));
	struct capture cap = { .saved_stderr = -1, .memfd = -1 };
	int ret, status;

	ans->resp.success = false;
	if (!a) {
		snprintf(errmsg, RPC_ERRMSG_MAX, "%s: out of memory", rpc_req_name(req->type));
		return;
	}
	a->opts.status_fd = -1;
	if (!req->opts) {
		snprintf(errmsg, RPC_ERRMSG_MAX, "%s: the request has no options (criu_opts)",
			 rpc_req_name(req->type));
		goto out;
	}
	/* CPUINFO: images_dir, log and cpu_cap, as a restore takes them. */
	ret = rpc_map_opts(conn, req->opts,
			   cpuinfo ? CRIU_REQ_TYPE__RESTORE : pre ? CRIU_REQ_TYPE__PRE_DUMP : req->type,
			   a, errmsg, RPC_ERRMSG_MAX);
	if (ret) {
		log_refusal(a->opts.log_file, errmsg);
		goto out;
	}
	if (cpuinfo) {
		a->opts.command = "cpuinfo";
		a->opts.args = cpuinfo_words[req->type == CRIU_REQ_TYPE__CPUINFO_CHECK];
		a->opts.nargs = 1;
	}
	/* As criu: its statistics file, which podman reads, goes to the work
	 * directory; opened here, since a dump ends in the tree's mounts. */
	a->opts.criu_stats_fd = open(a->work_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	a->opts.criu_stats = a->opts.criu_stats_fd >= 0;
	ctx.forward = a->forward_notify;
	a->opts.notify = notify_client;
	a->opts.notify_arg = &ctx;
	/* As criu: the master goes out as a notification, so only to a client
	 * that takes them. */
	if (!dump && a->opts.orphan_pts_master && ctx.forward)
		a->opts.pts_master = send_pts_master;
	ret = capture_start(&cap);
	if (ret) {
		snprintf(errmsg, RPC_ERRMSG_MAX, "%s: cannot capture cryo's errors: %s",
			 rpc_req_name(req->type), strerror(-ret));
		goto out;
	}
	ret = log_init(a->opts.log_file, a->opts.verbosity);
	status = ret ? 1 : pre ? cmd_pre_dump(&a->opts) : dump ? cmd_dump(&a->opts) :
		 cpuinfo ? cmd_cpuinfo(&a->opts) : cmd_restore(&a->opts);
	log_close();
	capture_end(&cap, errmsg);
	/* A restore that ran has written and closed it. */
	if (!status && !dump && !cpuinfo)
		a->opts.status_fd = -1;
	if (status) {
		if (!errmsg[0])
			snprintf(errmsg, RPC_ERRMSG_MAX, "%s failed (see the log)",
				 pre ? "pre-dump" : dump ? "dump" : cpuinfo ? "cpuinfo" : "restore");
		goto out;
	}
	ans->resp.success = true;
	if (dump) {
		/* Set only when this process was restored from the images it
		 * just wrote, which a dump by another process never is. */
		ans->dump.has_restored = true;
		ans->dump.restored = false;
		ans->resp.dump = &ans->dump;
	} else if (!cpuinfo) {
		ans->restore.pid = ctx.root;
		ans->resp.restore = &ans->restore;
		ans->exec_argv = a->exec_argv;
		a->exec_argv = NULL;
		snprintf(ans->exec_log, sizeof(ans->exec_log), "%s", a->log_file);
	}
out:
	if (a->opts.status_fd >= 0)
		close(a->opts.status_fd);
	free(a->exec_argv);
	if (a->opts.criu_stats)
		close(a->opts.criu_stats_fd);
	ns_externals_free(&a->opts.externals);
	free(a);
}
