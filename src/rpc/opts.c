/* criu_opts of a DUMP or RESTORE request → cryo's options. Every option a
 * client asks for either has its effect or fails the request, naming it:
 * fields this file does not handle are found through the schema's
 * descriptor, so an option added to rpc.proto is refused until handled. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "net/net.h"
#include "ns/externals.h"
#include "rpc/rpc.h"
#include "task/cpuinfo.h"

/* Options handled below, explicitly. */
static const char *const handled[] = {
	"images_dir_fd", "images_dir", "pid", "leave_running", "shell_job", "log_level",
	"log_file", "work_dir_fd", "log_to_stderr", "notify_scripts", "root", "rst_sibling",
	"tcp_established", "tcp_close", "ext_unix_sk", "tcp_skip_in_flight", "file_locks",
	"manage_cgroups", "manage_cgroups_mode",
	/* What runc sets on every checkpoint and restore (runtime_opts()). */
	"ext_mnt", "empty_ns", "freeze_cgroup", "orphan_pts_master", "inherit_fd", "cg_root",
	"evasive_devices",
	/* Veth ends whose peers are outside: --external veth[IN]:OUT. */
	"veths",
	/* --join-ns (net, ipc, uts). */
	"join_ns",
	/* Checked at restore against the host's LSMs (task/lsm.c). */
	"lsm_profile",
	/* Incremental dumps (PRE_DUMP, then DUMP with parent_img). */
	"pre_dump_mode", "parent_img", "track_mem",
	"network_lock", "config_file", "ghost_limit", "link_remap",
	/* runc's for a network namespace given by path (podman's netavark
	 * one): net[INODE]:extRootNetNS at dump, inherit_fd at restore. */
	"external",
	/* criu's cgroup options: what a dump saves, and the yard. */
	"cgroup_props", "cgroup_props_file", "cgroup_dump_controller", "cgroup_yard",
	/* As --timeout and --leave-stopped. */
	"timeout", "leave_stopped",
	/* --skip-mnt and --enable-fs: mounts left out or mounted anew. */
	"skip_mnt", "enable_fs",
	/* As restore's --status-fd and --exec-cmd (map_restore_runs()). */
	"status_fd", "exec_cmd",
	/* As --cpu-cap: criu's bits, as they are. */
	"cpu_cap",
};

/* Why some options cannot be honoured yet; the rest get a generic line. */
static const struct {
	const char *name;
	const char *why;
} reasons[] = {
	{ "lsm_mount_context", "a mount context is an SELinux label (the context= mount "
			       "option), and cryo neither saves nor sets SELinux labels" },
	{ "lazy_pages", "lazy restore is not available through RPC yet (cryo restore --lazy-pages)" },
	{ "ps", "the page server is not supported" },
	{ "auto_dedup", "punching pages out of the parent set's pages file would change the "
			"file its inventory's digest covers (unchanged pages are never written "
			"twice already)" },
	{ "unix_sk_ino", "unix sockets are not supported yet" },
};

static int fail(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

static bool is_handled(const char *name)
{
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		if (!strcmp(handled[i], name))
			return true;
	return false;
}

static const char *reason(const char *name)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(reasons[i].name, name))
			return reasons[i].why;
	return "not supported by cryo yet";
}

/* Whether field @f of @msg asks for something: present, and not its
 * default (false, 0, empty) value. */
static bool field_asks(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)msg;
	const void *value = base + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) > 0;
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(const char *const *)value;

		return s && *s;
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(const void *const *)value != NULL;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
	    !*(const protobuf_c_boolean *)(base + f->quantifier_offset))
		return false;
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)value;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM: {
		uint32_t v = *(const uint32_t *)value;

		return f->default_value ? v != *(const uint32_t *)f->default_value : v != 0;
	}
	default:
		return true;
	}
}

/* The directory an fd of the client's names, as a path cryo can open,
 * checked to be the same directory. */
static int fd_dir_path(const struct rpc_conn *conn, int fd, const char *option, char *path,
		       size_t size, char *why, size_t len)
{
	char link[64];
	struct stat by_fd, by_path;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", conn->fd_owner, fd);
	if (stat(link, &by_fd))
		return fail(why, len, -EBADF, "option %s: fd %d: %s", option, fd, strerror(errno));
	if (!S_ISDIR(by_fd.st_mode))
		return fail(why, len, -ENOTDIR, "option %s: fd %d is not a directory", option, fd);
	n = readlink(link, path, size - 1);
	if (n < 0)
		return fail(why, len, -errno, "option %s: fd %d: %s", option, fd, strerror(errno));
	path[n] = '\0';
	/* A directory of another mount namespace, or removed, has no usable path. */
	if (path[0] != '/' || stat(path, &by_path) || by_path.st_dev != by_fd.st_dev ||
	    by_path.st_ino != by_fd.st_ino)
		return fail(why, len, -ENOENT, "option %s: fd %d (%s) is not reachable by its path "
			    "from cryo", option, fd, path);
	return 0;
}

static int map_dirs(const struct rpc_conn *conn, const CriuOpts *o, struct rpc_action *a,
		    char *why, size_t len)
{
	int ret;

	if (o->images_dir_fd >= 0)
		ret = fd_dir_path(conn, o->images_dir_fd, "images_dir_fd", a->images_dir,
				  sizeof(a->images_dir), why, len);
	else if (o->images_dir && o->images_dir[0] == '/')
		ret = snprintf(a->images_dir, sizeof(a->images_dir), "%s", o->images_dir) <
		      (int)sizeof(a->images_dir) ? 0 : fail(why, len, -ENAMETOOLONG,
							      "option images_dir: too long");
	else
		ret = fail(why, len, -EINVAL, "option images_dir_fd: no images directory given "
			   "(images_dir_fd, or an absolute images_dir)");
	if (ret)
		return ret;
	a->opts.images_dir = a->images_dir;
	/* The work directory holds the log (cryo writes nothing else there). */
	if (o->has_work_dir_fd && o->work_dir_fd >= 0) {
		ret = fd_dir_path(conn, o->work_dir_fd, "work_dir_fd", a->work_dir,
				  sizeof(a->work_dir), why, len);
		if (ret)
			return ret;
	} else {
		snprintf(a->work_dir, sizeof(a->work_dir), "%s", a->images_dir);
	}

	if (o->has_log_to_stderr && o->log_to_stderr)
		return 0;
	if (!o->log_file || !*o->log_file)
		return 0;
	/* As criu: a name in the work directory, no subdirectories. */
	if (strchr(o->log_file, '/'))
		return fail(why, len, -EINVAL, "option log_file: '%s' has a '/': give a name in "
			    "the work directory", o->log_file);
	if (snprintf(a->log_file, sizeof(a->log_file), "%s/%s", a->work_dir, o->log_file) >=
	    (int)sizeof(a->log_file))
		return fail(why, len, -ENAMETOOLONG, "option log_file: path too long");
	a->opts.log_file = a->log_file;
	return 0;
}

/* criu's reading of manage_cgroups (true: soft) and manage_cgroups_mode
 * (which wins), as the --manage-cgroups mode; NULL: cgroups left alone. */
static const char *cgroup_mode(const CriuOpts *o)
{
	static const char *const modes[] = {
		[CRIU_CG_MODE__IGNORE] = "ignore", [CRIU_CG_MODE__CG_NONE] = "none",
		[CRIU_CG_MODE__PROPS] = "props", [CRIU_CG_MODE__SOFT] = "soft",
		[CRIU_CG_MODE__FULL] = "full", [CRIU_CG_MODE__STRICT] = "strict",
		[CRIU_CG_MODE__DEFAULT] = "soft",
	};

	if (o->has_manage_cgroups_mode && (unsigned int)o->manage_cgroups_mode < 7)
		return modes[o->manage_cgroups_mode];
	return o->has_manage_cgroups && o->manage_cgroups ? "soft" : NULL;
}

/* Adds option @name to the refusal in @why: the first with its reason,
 * the others by name, so that a client sees every gap at once. */
static void refuse(char *why, size_t len, unsigned int *nr, const char *name, const char *reason)
{
	size_t used = strlen(why);

	if (!(*nr)++)
		snprintf(why, len, "option %s: %s", name, reason);
	else
		snprintf(why + used, len - used, "%s%s", *nr == 2 ? "; also refused: " : ", ",
			 name);
}

/* ext_mnt and inherit_fd entries cryo cannot take, named in @why. */
static void refuse_runtime_lists(const CriuOpts *o, char *why, size_t len, unsigned int *nr)
{
	unsigned int inode;
	char c;

	for (size_t i = 0; i < o->n_ext_mnt; i++)
		if (o->ext_mnt[i]->key[0] != '/' || !*o->ext_mnt[i]->val) {
			refuse(why, len, nr, "ext_mnt", "a key must be a mount point (absolute) and "
			       "a value not empty");
			break;
		}
	if (o->n_ext_mnt > ARRAY_SIZE(((struct cryo_opts *)0)->ext_mnt))
		refuse(why, len, nr, "ext_mnt", "too many entries");
	/* criu's pipe:[INODE] keys (runc's stdio), or a name (a namespace's
	 * key, runc's extRootNetNS); other keys are other kinds of files. */
	for (size_t i = 0; i < o->n_inherit_fd; i++) {
		const char *key = o->inherit_fd[i]->key;
		bool named = *key && !key[strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
						      "qrstuvwxyz0123456789_-")];

		if ((!named && (sscanf(key, "pipe:[%u%c", &inode, &c) != 2 || c != ']' ||
				strchr(key, ']')[1])) || o->inherit_fd[i]->fd < 0) {
			refuse(why, len, nr, "inherit_fd", "only pipe:[INODE] keys and namespace "
			       "keys (names) with an fd are supported");
			break;
		}
	}
	for (size_t i = 0; i < o->n_external; i++)
		if (strncmp(o->external[i], "net[", 4)) {
			refuse(why, len, nr, "external", "only net[INODE]:KEY (a network namespace "
			       "its owner keeps) is supported");
			break;
		}
	if (o->n_inherit_fd > ARRAY_SIZE(((struct cryo_opts *)0)->inherit_fd))
		refuse(why, len, nr, "inherit_fd", "too many entries");
}

/* Every option of @o that cryo cannot honour, named in @why. */
static int refuse_unsupported(const CriuOpts *o, char *why, size_t len)
{
	const ProtobufCMessageDescriptor *desc = &criu_opts__descriptor;
	unsigned int nr = 0;
	char root_why[PATH_MAX + 128];

	why[0] = '\0';
	for (unsigned int i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (!is_handled(f->name) && field_asks(&o->base, f))
			refuse(why, len, &nr, f->name, reason(f->name));
	}
	if (o->root && *o->root && o->root[0] != '/') {
		snprintf(root_why, sizeof(root_why), "'%s' is not an absolute path", o->root);
		refuse(why, len, &nr, "root", root_why);
	}
	if (o->freeze_cgroup && *o->freeze_cgroup && o->freeze_cgroup[0] != '/')
		refuse(why, len, &nr, "freeze_cgroup", "not an absolute path");
	/* runc's empty_ns is its network namespace, whose devices it sets up. */
	if (o->has_empty_ns && o->empty_ns & ~(uint32_t)CLONE_NEWNET)
		refuse(why, len, &nr, "empty_ns", "only CLONE_NEWNET (a network namespace the "
		       "runtime fills) is supported");
	refuse_runtime_lists(o, why, len, &nr);
	/* runc names one whether or not it exists: only an existing one asks. */
	if (o->config_file && *o->config_file && !access(o->config_file, F_OK))
		refuse(why, len, &nr, "config_file", "cryo does not read criu's configuration "
		       "files");
	if (o->has_manage_cgroups_mode && (unsigned int)o->manage_cgroups_mode > 6)
		refuse(why, len, &nr, "manage_cgroups_mode", "not one of criu's modes");
	return nr ? -EOPNOTSUPP : 0;
}

/* root, freeze_cgroup, empty_ns, ext_mnt, inherit_fd: what a container
 * runtime sets. */
static int map_runtime_opts(const struct rpc_conn *conn, const CriuOpts *o, bool dump,
			    struct rpc_action *a, char *why, size_t len)
{
	struct cryo_opts *c = &a->opts;

	if (o->root && *o->root && strcmp(o->root, "/"))
		c->root = o->root;
	if (dump && o->freeze_cgroup && *o->freeze_cgroup)
		c->freeze_cgroup = o->freeze_cgroup;
	c->empty_ns = o->has_empty_ns ? o->empty_ns : 0;
	c->orphan_pts_master = o->has_orphan_pts_master && o->orphan_pts_master;
	/* criu reads it at restore; a dump has no label to set. */
	if (!dump && o->lsm_profile && *o->lsm_profile)
		c->lsm_profile = o->lsm_profile;
	else if (dump && o->lsm_profile && *o->lsm_profile)
		return fail(why, len, -EINVAL, "option lsm_profile: a restore option (the label "
			    "the restored tasks get), not a dump's");
	for (size_t i = 0; i < o->n_ext_mnt; i++) {
		c->ext_mnt[i].key = o->ext_mnt[i]->key;
		c->ext_mnt[i].val = o->ext_mnt[i]->val;
	}
	c->nr_ext_mnt = (int)o->n_ext_mnt;
	/* Fds cryo inherited from the client that started it, as criu's. */
	if (o->n_inherit_fd && !conn->swrk)
		return fail(why, len, -EOPNOTSUPP, "option inherit_fd: only through `cryo swrk` "
			    "(an fd cryo inherited from its client)");
	for (size_t i = 0; i < o->n_inherit_fd; i++) {
		c->inherit_fd[i].key = o->inherit_fd[i]->key;
		c->inherit_fd[i].fd = o->inherit_fd[i]->fd;
	}
	c->nr_inherit_fd = (int)o->n_inherit_fd;
	for (size_t i = 0; i < o->n_external; i++)
		if (ns_external_add(&c->externals, o->external[i]))
			return fail(why, len, -EINVAL, "option external: %s: cryo takes "
				    "net[INODE]:KEY", o->external[i]);
	for (size_t i = 0; i < o->n_veths; i++) {
		char spec[2 * IFNAMSIZ + 16];

		/* Both are required strings, but proto2 lets a peer leave them out. */
		snprintf(spec, sizeof(spec), "veth[%.*s]:%.*s", IFNAMSIZ,
			 o->veths[i]->if_in ? o->veths[i]->if_in : "", IFNAMSIZ,
			 o->veths[i]->if_out ? o->veths[i]->if_out : "");
		if (ns_external_add(&c->externals, spec))
			return fail(why, len, -EINVAL, "option veths: %s: each end a device name "
				    "(at most %d characters, no '/', ' ' or ':')", spec,
				    IFNAMSIZ - 1);
	}
	/* As criu: namespaces are joined at restore; a dump has none to join. */
	if (dump && o->n_join_ns)
		return fail(why, len, -EINVAL, "option join_ns: namespaces are joined at restore, "
			    "not at dump");
	for (size_t i = 0; !dump && i < o->n_join_ns; i++) {
		char spec[PATH_MAX + 64];
		const JoinNamespace *j = o->join_ns[i];

		snprintf(spec, sizeof(spec), "%s:%s%s%s", j->ns ? j->ns : "",
			 j->ns_file ? j->ns_file : "", j->extra_opt && *j->extra_opt ? "," : "",
			 j->extra_opt && *j->extra_opt ? j->extra_opt : "");
		if (ns_join_add(&c->externals, spec))
			return fail(why, len, -EOPNOTSUPP, "option join_ns: '%s': cryo joins net, ipc "
				    "and uts namespaces given by path, without extra options", spec);
	}
	/* As --skip-mnt and --enable-fs: criu reads them at dump. */
	if (o->n_skip_mnt > NS_CHOICES_MAX || o->n_enable_fs > NS_CHOICES_MAX)
		return fail(why, len, -EINVAL, "option %s: more than %d entries",
			    o->n_skip_mnt > NS_CHOICES_MAX ? "skip_mnt" : "enable_fs",
			    NS_CHOICES_MAX);
	for (size_t i = 0; i < o->n_skip_mnt + o->n_enable_fs; i++) {
		bool skip = i < o->n_skip_mnt;
		const char *arg = skip ? o->skip_mnt[i] : o->enable_fs[i - o->n_skip_mnt];
		const char *bad = ns_choice_invalid(skip, arg);

		if (bad)
			return fail(why, len, -EINVAL, "option %s: '%s': %s",
				    skip ? "skip_mnt" : "enable_fs", arg, bad);
	}
	if (!dump && (o->n_skip_mnt || o->n_enable_fs))
		pr_warn("rpc: restore: skip_mnt and enable_fs choose what a dump saves: restore "
			"makes the mounts it saved");
	for (size_t i = 0; dump && i < o->n_skip_mnt; i++)
		c->skip_mnt[c->nr_skip_mnt++] = o->skip_mnt[i];
	for (size_t i = 0; dump && i < o->n_enable_fs; i++)
		c->enable_fs[c->nr_enable_fs++] = o->enable_fs[i];
	/* As --cgroup-props[-file], --cgroup-dump-controller (at dump: criu
	 * reads them there only) and --cgroup-yard (both). */
	if (o->n_cgroup_dump_controller > CGROUP_DUMP_CONTROLLERS_MAX)
		return fail(why, len, -EINVAL, "option cgroup_dump_controller: more than %d "
			    "entries", CGROUP_DUMP_CONTROLLERS_MAX);
	if (dump) {
		c->cgroup_props = o->cgroup_props && *o->cgroup_props ? o->cgroup_props : NULL;
		c->cgroup_props_file = o->cgroup_props_file && *o->cgroup_props_file ?
					       o->cgroup_props_file : NULL;
		for (size_t i = 0; i < o->n_cgroup_dump_controller; i++)
			c->cgroup_dump_controllers[i] = o->cgroup_dump_controller[i];
		c->nr_cgroup_dump_controllers = o->n_cgroup_dump_controller;
	}
	c->cgroup_yard = o->cgroup_yard && *o->cgroup_yard ? o->cgroup_yard : NULL;
	/* As --cgroup-root [CTRL:]PATH: runc names the cgroups it put cryo
	 * in, one entry per controller ("" the unified hierarchy). */
	if (!dump && o->n_cg_root > CGROUP_ROOTS_MAX)
		return fail(why, len, -EINVAL, "option cg_root: more than %d entries",
			    CGROUP_ROOTS_MAX);
	for (size_t i = 0; !dump && i < o->n_cg_root; i++) {
		struct cgroup_root_opt *r = &c->cgroup_roots[c->nr_cgroup_roots++];

		if (o->cg_root[i]->path[0] != '/' || (o->cg_root[i]->ctrl &&
		    strlen(o->cg_root[i]->ctrl) >= sizeof(r->controller)))
			return fail(why, len, -EINVAL, "option cg_root: '%s:%s': the path must be "
				    "absolute and the controller below %zu bytes",
				    o->cg_root[i]->ctrl ? o->cg_root[i]->ctrl : "",
				    o->cg_root[i]->path, sizeof(r->controller));
		r->path = o->cg_root[i]->path;
		r->any = !o->cg_root[i]->ctrl;
		snprintf(r->controller, sizeof(r->controller), "%s",
			 r->any ? "" : o->cg_root[i]->ctrl);
	}
	return 0;
}

/* criu's status_fd and exec_cmd, restore's only, as on the command line:
 * status_fd is an fd of the client's, opened again through /proc as criu
 * does, and gets its byte once the tree runs; exec_cmd runs in this
 * process's place once the answer is sent (swrk.c), so the command is the
 * restored root's parent, which a root made the client's sibling is not. */
static int map_restore_runs(const struct rpc_conn *conn, const CriuOpts *o, bool dump,
			    struct rpc_action *a, char *why, size_t len)
{
	char link[64];

	if (dump && o->has_status_fd)
		return fail(why, len, -EINVAL, "option status_fd: dump has no server to be ready "
			    "(criu writes it from its page server, lazy-pages daemon and "
			    "restore)");
	if (dump && o->n_exec_cmd)
		return fail(why, len, -EINVAL, "option exec_cmd: an option of restore only (the "
			    "command becomes the restored root's parent)");
	if (o->n_exec_cmd && o->has_rst_sibling && o->rst_sibling)
		return fail(why, len, -EINVAL, "option exec_cmd: with rst_sibling the root is the "
			    "client's child, and the command could not be its parent");
	if (o->n_exec_cmd) {
		a->exec_argv = calloc(o->n_exec_cmd + 1, sizeof(char *));
		if (!a->exec_argv)
			return fail(why, len, -ENOMEM, "option exec_cmd: out of memory");
		memcpy(a->exec_argv, o->exec_cmd, o->n_exec_cmd * sizeof(char *));
	}
	if (!o->has_status_fd)
		return 0;
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", conn->fd_owner, o->status_fd);
	a->opts.status_fd = o->status_fd < 0 ? -1 : open(link, O_WRONLY | O_CLOEXEC);
	if (a->opts.status_fd < 0)
		return fail(why, len, -EBADF, "option status_fd: fd %d of the client (pid %d) "
			    "cannot be opened for writing: %s", o->status_fd, conn->fd_owner,
			    o->status_fd < 0 ? "not an fd number" : strerror(errno));
	return 0;
}

int rpc_map_opts(const struct rpc_conn *conn, const CriuOpts *o, CriuReqType type,
		 struct rpc_action *a, char *why, size_t len)
{
	bool dump = type == CRIU_REQ_TYPE__DUMP || type == CRIU_REQ_TYPE__PRE_DUMP;
	int ret;

	memset(a, 0, sizeof(*a));
	a->opts.status_fd = -1;
	/* First, so that a refusal can still go to the log the client reads. */
	ret = map_dirs(conn, o, a, why, len);
	if (!ret)
		ret = refuse_unsupported(o, why, len);
	if (ret)
		return ret;
	a->opts.command = dump ? "dump" : "restore";
	/* As from the command line: a zombie holding a pid gets its time. */
	a->opts.pid_wait_ms = RESTORE_PID_WAIT_MS;
	a->opts.verbosity = o->log_level < LOG_ERROR ? LOG_ERROR :
			    o->log_level > LOG_DEBUG ? LOG_DEBUG : o->log_level;
	a->opts.shell_job = o->has_shell_job && o->shell_job;
	/* Dump refuses established TCP by name, so this permission never widens
	 * what is dumped; taken as the command line takes --tcp-established. */
	if (o->has_network_lock)
		a->opts.network_lock =
			o->network_lock == CRIU_NETWORK_LOCK_METHOD__SKIP     ? NET_LOCK_SKIP :
			o->network_lock == CRIU_NETWORK_LOCK_METHOD__IPTABLES ? NET_LOCK_IPTABLES :
										 NET_LOCK_NFTABLES;
	a->opts.tcp_established = o->has_tcp_established && o->tcp_established;
	a->opts.tcp_close = o->has_tcp_close && o->tcp_close;
	a->opts.ext_unix_sk = o->has_ext_unix_sk && o->ext_unix_sk;
	/* criu's one option for TCP and unix connections not yet accepted;
	 * cryo refuses a TCP listener with any, so it widens only unix ones. */
	a->opts.skip_in_flight = o->has_tcp_skip_in_flight && o->tcp_skip_in_flight;
	/* file_locks: cryo always saves and takes again the tree's file locks. */
	a->forward_notify = o->has_notify_scripts && o->notify_scripts;
	if (o->has_cpu_cap) {
		a->opts.cpu_cap = o->cpu_cap & CPU_CAP_ALL;
		a->opts.cpu_cap_given = true;
	}
	ret = map_runtime_opts(conn, o, dump, a, why, len);
	if (!ret)
		ret = map_restore_runs(conn, o, dump, a, why, len);
	if (ret)
		return ret;
	if (dump) {
		if (!o->has_pid || o->pid <= 0)
			return fail(why, len, -EINVAL, "option pid: not given (dumping the "
				    "requesting process itself is not supported)");
		a->opts.pid = o->pid;
		a->opts.leave_running = o->has_leave_running && o->leave_running;
		/* As -s after -R: criu's last word is its final state. */
		if (o->has_leave_stopped && o->leave_stopped)
			a->opts.leave_stopped = true;
		/* criu's 0 (or none) is its default of 10 s. */
		a->opts.timeout_s = o->has_timeout && o->timeout ?
					    (o->timeout > 86400 ? 86400 : (int)o->timeout) :
					    DUMP_TIMEOUT_S;
		a->opts.evasive_devices = o->has_evasive_devices && o->evasive_devices;
		/* As --ghost-limit; 0 is taken as no limit, as on the command line. */
		a->opts.ghost_limit = o->has_ghost_limit ? o->ghost_limit : 0;
		a->opts.link_remap = o->has_link_remap && o->link_remap;
		/* As --prev-images-dir (relative to the images), --track-mem and
		 * --pre-dump-mode. */
		a->opts.prev_images_dir = o->parent_img && o->parent_img[0] ? o->parent_img : NULL;
		a->opts.track_mem = o->has_track_mem && o->track_mem;
		if (o->has_pre_dump_mode)
			a->opts.pre_dump_mode = o->pre_dump_mode == CRIU_PRE_DUMP_MODE__VM_READ ?
							PRE_DUMP_READ : PRE_DUMP_SPLICE;
	} else {
		/* Detached: the service answers with the root's pid, never waits. */
		a->opts.restore_detached = true;
		a->opts.leave_stopped = o->has_leave_stopped && o->leave_stopped;
		a->opts.restore_sibling = o->has_rst_sibling && o->rst_sibling;
		/* As --manage-cgroups; a dump saves the cgroups in any mode. */
		a->opts.manage_cgroups = cgroup_mode(o);
	}
	return 0;
}
