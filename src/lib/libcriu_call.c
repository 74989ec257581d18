/* libcriu's requests: reach cryo (start `cryo swrk` on a socketpair, or
 * connect to a service socket, or use a given fd), send one criu_req,
 * answer notifications through the caller's callback, and turn the final
 * criu_resp into libcriu's return values. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/internal.h"
#include "rpc/wire.h"

/* The fd of the last 'orphan-pts-master' notification, or -1. */
static int orphan_pts_master_fd = -1;

struct link {
	int sk;
	pid_t swrk;	/* the cryo we started, 0: none */
};

static int start_swrk(const criu_opts *opts, struct link *l)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -ECONNREFUSED;
	l->swrk = fork();
	if (l->swrk == 0) {
		char fd_text[16];
		sigset_t none;
		int sk = dup(sv[1]);	/* without O_CLOEXEC: cryo inherits it */

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		snprintf(fd_text, sizeof(fd_text), "%d", sk);
		execlp(opts->service_binary, opts->service_binary, "swrk", fd_text, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (l->swrk < 0) {
		close(sv[0]);
		l->swrk = 0;
		return -ECONNREFUSED;
	}
	l->sk = sv[0];
	return 0;
}

static int connect_service(const criu_opts *opts, struct link *l)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(opts->service_address) >= sizeof(addr.sun_path))
		return -ECONNREFUSED;
	strcpy(addr.sun_path, opts->service_address);
	l->sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l->sk < 0)
		return -ECONNREFUSED;
	if (connect(l->sk, (struct sockaddr *)&addr, sizeof(addr))) {
		close(l->sk);
		l->sk = -1;
		return -ECONNREFUSED;
	}
	return 0;
}

static int open_link(const criu_opts *opts, struct link *l)
{
	l->sk = -1;
	l->swrk = 0;
	switch (opts->comm) {
	case CRIU_COMM_FD:
		l->sk = opts->service_fd;
		return l->sk >= 0 ? 0 : -ECONNREFUSED;
	case CRIU_COMM_SK:
		return connect_service(opts, l);
	default:
		return start_swrk(opts, l);
	}
}

static void close_link(const criu_opts *opts, struct link *l)
{
	int status;

	if (opts->comm != CRIU_COMM_FD && l->sk >= 0)
		close(l->sk);
	if (l->swrk > 0)
		while (waitpid(l->swrk, &status, 0) < 0 && errno == EINTR)
			;
}

static int send_ack(int sk, bool success)
{
	CriuReq ack = CRIU_REQ__INIT;

	ack.type = CRIU_REQ_TYPE__NOTIFY;
	ack.has_notify_success = true;
	ack.notify_success = success;
	return rpc_send(sk, &ack.base, -1) ? -ECOMM : 0;
}

/* Sends @req and returns the final answer in *@out, answering every
 * notification on the way with the caller's callback. */
static int exchange(const criu_opts *opts, int sk, const CriuReq *req, CriuResp **out)
{
	if (rpc_send(sk, &req->base, -1))
		return -ECOMM;
	for (;;) {
		ProtobufCMessage *msg;
		CriuResp *resp;
		int fd = -1, ret;

		if (rpc_recv(sk, &criu_resp__descriptor, &msg, &fd))
			return -ECOMM;
		resp = (CriuResp *)msg;
		if (resp->type != CRIU_REQ_TYPE__NOTIFY) {
			if (fd >= 0)
				close(fd);
			*out = resp;
			return 0;
		}
		if (resp->notify && resp->notify->script &&
		    !strcmp(resp->notify->script, "orphan-pts-master") && fd >= 0) {
			if (orphan_pts_master_fd >= 0)
				close(orphan_pts_master_fd);
			orphan_pts_master_fd = fd;
			fd = -1;
		}
		if (fd >= 0)
			close(fd);
		ret = opts->notify && resp->notify ?
			      opts->notify(resp->notify->script, resp->notify) : 0;
		criu_resp__free_unpacked(resp, NULL);
		if (send_ack(sk, ret == 0))
			return -ECOMM;
	}
}

/* One request of @type with @opts' options; the answer in *@out. */
static int call(criu_opts *opts, CriuReqType type, CriuFeatures *features, CriuResp **out)
{
	CriuReq req = CRIU_REQ__INIT;
	struct link l;
	int ret;

	if (!opts)
		return -EINVAL;
	req.type = type;
	req.opts = opts->rpc;
	req.features = features;
	ret = open_link(opts, &l);
	if (!ret)
		ret = exchange(opts, l.sk, &req, out);
	close_link(opts, &l);
	if (!ret && (*out)->type != type && (*out)->success) {
		criu_resp__free_unpacked(*out, NULL);
		ret = -EBADMSG;
	}
	return ret;
}

/* libcriu's convention for a refused or failed request: -EBADE, errno set. */
static int failed(CriuResp *resp)
{
	errno = resp->has_cr_errno ? resp->cr_errno : 0;
	criu_resp__free_unpacked(resp, NULL);
	return -EBADE;
}

int criu_local_check(criu_opts *opts)
{
	CriuResp *resp;
	int ret = call(opts, CRIU_REQ_TYPE__CHECK, NULL, &resp);

	if (ret)
		return ret;
	if (!resp->success)
		return failed(resp);
	criu_resp__free_unpacked(resp, NULL);
	return 0;
}

int criu_local_dump(criu_opts *opts)
{
	CriuResp *resp;
	int ret = call(opts, CRIU_REQ_TYPE__DUMP, NULL, &resp);

	if (ret)
		return ret;
	if (!resp->success)
		return failed(resp);
	ret = resp->dump && resp->dump->has_restored && resp->dump->restored ? 1 : 0;
	criu_resp__free_unpacked(resp, NULL);
	return ret;
}

int criu_local_pre_dump(criu_opts *opts)
{
	CriuResp *resp;
	int ret = call(opts, CRIU_REQ_TYPE__PRE_DUMP, NULL, &resp);

	if (ret)
		return ret;
	if (!resp->success)
		return failed(resp);
	criu_resp__free_unpacked(resp, NULL);
	return 0;
}

/* Pre-dumps while @more asks for them, then dumps, each into the images
 * the options name at that time (@more moves them on, and names the last
 * as parent_img, as with criu). */
int criu_local_dump_iters(criu_opts *opts, int (*more)(criu_predump_info pi))
{
	int ret;

	if (!more)
		return -EINVAL;
	do {
		ret = criu_local_pre_dump(opts);
		if (ret)
			return ret;
		ret = more(NULL);
	} while (ret > 0);
	return ret < 0 ? ret : criu_local_dump(opts);
}

int criu_local_restore(criu_opts *opts)
{
	CriuResp *resp;
	int ret = call(opts, CRIU_REQ_TYPE__RESTORE, NULL, &resp);

	if (ret)
		return ret;
	if (!resp->success || !resp->restore)
		return failed(resp);
	ret = resp->restore->pid;
	criu_resp__free_unpacked(resp, NULL);
	return ret;
}

/* The restored root becomes the caller's child: cryo makes it its own
 * sibling (rst_sibling), and cryo is the caller's child. */
int criu_local_restore_child(criu_opts *opts)
{
	protobuf_c_boolean had = opts->rpc->has_rst_sibling, was = opts->rpc->rst_sibling;
	enum criu_service_comm comm = opts->comm;
	int ret;

	/* Only a cryo started here is the caller's child. */
	opts->comm = CRIU_COMM_BIN;
	opts->rpc->has_rst_sibling = opts->rpc->rst_sibling = true;
	ret = criu_local_restore(opts);
	opts->rpc->has_rst_sibling = had;
	opts->rpc->rst_sibling = was;
	opts->comm = comm;
	return ret;
}

int criu_local_get_version(criu_opts *opts)
{
	CriuResp *resp;
	int ret = call(opts, CRIU_REQ_TYPE__VERSION, NULL, &resp);

	if (ret)
		return ret;
	if (!resp->success || !resp->version)
		return failed(resp);
	ret = resp->version->major_number * 10000 + resp->version->minor_number * 100 +
	      (resp->version->has_sublevel ? resp->version->sublevel : 0);
	/* As libcriu: a build from git counts as the next minor version. */
	if (resp->version->gitid && *resp->version->gitid)
		ret = ret - ret % 100 + 100;
	criu_resp__free_unpacked(resp, NULL);
	return ret;
}

int criu_local_check_version(criu_opts *opts, int minimum)
{
	int version = criu_local_get_version(opts);

	if (version < 0)
		return version;
	return version >= minimum ? 1 : 0;
}

int criu_local_feature_check(criu_opts *opts, struct criu_feature_check *features, size_t size)
{
	struct criu_feature_check asked = { 0 };
	CriuFeatures req = CRIU_FEATURES__INIT;
	CriuResp *resp;
	int ret;

	if (!features || size > sizeof(asked))
		return -EINVAL;
	memcpy(&asked, features, size);
	req.has_mem_track = asked.mem_track;
	req.mem_track = asked.mem_track;
	req.has_lazy_pages = asked.lazy_pages;
	req.lazy_pages = asked.lazy_pages;
	req.has_pidfd_store = asked.pidfd_store;
	req.pidfd_store = asked.pidfd_store;
	ret = call(opts, CRIU_REQ_TYPE__FEATURE_CHECK, &req, &resp);
	if (ret)
		return ret;
	if (!resp->success || !resp->features)
		return failed(resp);
	asked.mem_track = asked.mem_track && resp->features->has_mem_track &&
			  resp->features->mem_track;
	asked.lazy_pages = asked.lazy_pages && resp->features->has_lazy_pages &&
			   resp->features->lazy_pages;
	asked.pidfd_store = asked.pidfd_store && resp->features->has_pidfd_store &&
			    resp->features->pidfd_store;
	memcpy(features, &asked, size);
	criu_resp__free_unpacked(resp, NULL);
	return 0;
}

int criu_notify_pid(criu_notify_arg_t na)
{
	return na && na->has_pid ? na->pid : 0;
}

int criu_get_orphan_pts_master_fd(void)
{
	return orphan_pts_master_fd;
}

/* ---- the global forms -------------------------------------------------------- */
int criu_check(void)
{
	return criu_local_check(libcryo_global_opts);
}

int criu_dump(void)
{
	return criu_local_dump(libcryo_global_opts);
}

int criu_pre_dump(void)
{
	return criu_local_pre_dump(libcryo_global_opts);
}

int criu_dump_iters(int (*more)(criu_predump_info pi))
{
	return criu_local_dump_iters(libcryo_global_opts, more);
}

int criu_restore(void)
{
	return criu_local_restore(libcryo_global_opts);
}

int criu_restore_child(void)
{
	return criu_local_restore_child(libcryo_global_opts);
}

int criu_get_version(void)
{
	return criu_local_get_version(libcryo_global_opts);
}

int criu_check_version(int minimum)
{
	return criu_local_check_version(libcryo_global_opts, minimum);
}

int criu_feature_check(struct criu_feature_check *features, size_t size)
{
	return criu_local_feature_check(libcryo_global_opts, features, size);
}
